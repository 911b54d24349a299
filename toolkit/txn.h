/*
 * txn.h: applying a set of file changes to the node all or nothing.
 *
 * Every path is a node path, resolved inside --root with root_resolve();
 * a path whose resolution leaves the root (EXDEV) is refused.  The
 * directories of the targets must exist.  Everything krescue keeps lives
 * on the node under /var/lib/krescue (mode 0700):
 *
 *   lock                 honoured (flock(2)) when it exists; the lock krescue
 *                        always takes is flock(2) on the root directory
 *                        itself, which writes nothing: one krescue at a time
 *   journal              the transaction in flight (absent when idle)
 *   backup/<UTC time>/   one directory per change (0700): "manifest" and
 *                        one file per entry ("1", "2", ...; 0600) holding
 *                        the old content or the old link target
 *
 * Manifest ("krescue-backup 1", then "kind commit|rollback", "seq N"
 * (1, 2, ...: the order of the backups, whatever the clock said),
 * "version", "time", then one line per entry, then
 * "end <sha256 of the lines above>"):
 *
 *   file    0644 0 0 <sha256 of content> 1 /etc/kubernetes/pki/apiserver.crt
 *   symlink 0777 0 0 <sha256 of target>  2 /var/lib/kubelet/pki/kubelet-client-current.pem
 *   absent  -    - - -                   - /var/lib/kubelet/pki/kubelet-client-2026.pem
 *
 * "absent" means the change created the file; rolling back removes it.
 * Paths are resolved ("canonical") node paths; control characters in
 * paths are refused.
 *
 * Commit, in this order (each a fault step, see below):
 *   1. journal "staging" (backup name, every target, its temp name and the
 *      sha256 of its new content), written to journal.tmp, fsync'd,
 *      renamed to journal, directory fsync'd;
 *   2. the backup directory, every old file, the manifest, all fsync'd;
 *   3. every new file to ".<name>.krescue-XXXXXX" in the target's own
 *      directory (O_CREAT|O_EXCL|O_NOFOLLOW, fchown to the kept owner,
 *      fchmod to the given mode, write, fsync); symlinks as temp symlinks;
 *   4. the journal again, state "prepared";
 *   5. rename every temp over its target (unlink for removals);
 *   6. fsync every touched directory;
 *   7. unlink the journal, fsync /var/lib/krescue.
 *
 * Recovery rule (txn_recover, run first by txn_begin and txn_rollback):
 *   - no journal: nothing to do (a torn journal.tmp is removed: the crash
 *     came before step 1 completed and nothing was touched);
 *   - journal "staging" (crash in steps 1-4): no target was touched yet.
 *     The temps and the backup directory are removed: the OLD set stays;
 *   - journal "prepared" (crash in steps 5-7): every temp was complete and
 *     fsync'd before the journal said so.  If every entry is either a temp
 *     whose sha256 matches the journal or an already renamed target whose
 *     sha256 matches, ROLL FORWARD (finish the renames): the NEW set.
 *     Otherwise (a temp was damaged or removed by hand) UNDO: verify the
 *     backup and restore every entry from it: the OLD set.  Both are
 *     idempotent, so a crash during recovery is recovered the same way.
 * A failure (not a crash) during txn_commit undoes the same way before
 * txn_commit returns -1.
 *
 * Rollback restores a backup as a new transaction of kind "rollback": the
 * same checks, its own backup of the current state, the same journal and
 * recovery.  The default backup is the complete one of kind "commit" with
 * the highest seq (not the newest name: the clock may be wrong), so
 * rolling back twice restores the same old set again.
 *
 * Fault injection: KRESCUE_FAULT=<step> makes the process _exit(99) at
 * that step; per-entry steps take "-N" (1-based entry order).  Data
 * writes (journal-*, backup-*, temp-write, undo-write) crash after half
 * of the bytes; the other steps crash just before their system call.
 *
 * Secrets: every content buffer is wiped when freed, whatever `secret`
 * says; contents are never printed.
 *
 * Conventions: functions return 0 or -1; system errors are reported with
 * warn()/warnx() naming the node path; refusals of txn_check and
 * txn_rollback are returned in `why`.  Only one lock holder per process:
 * do not call txn_recover/txn_rollback while a struct txn is alive.
 */
#ifndef KRESCUE_TXN_H
#define KRESCUE_TXN_H

#include <sys/types.h>

#include <stdio.h>
#include <time.h>

#include "extern.h"

#define TXN_DIR		"/var/lib/krescue"
#define TXN_LOCK	TXN_DIR "/lock"
#define TXN_JOURNAL	TXN_DIR "/journal"
#define TXN_BACKUPS	TXN_DIR "/backup"
#define TXN_NAMELEN	64		/* room for a backup name */
#define TXN_KEEP_MODE	((mode_t)-1)	/* keep the old mode (0600 if new) */

/* *recovered after txn_recover */
#define TXN_RECOVER_NONE	0	/* no unfinished journal */
#define TXN_RECOVER_FORWARD	1	/* finished: the new set is in place */
#define TXN_RECOVER_BACK	2	/* abandoned or undone: the old set */

struct txn;

/*
 * Take the lock, recover any unfinished journal, start an empty
 * transaction.  Nothing is written until txn_commit (which creates
 * /var/lib/krescue and its backup directory once txn_check passed).
 * `now` names the backup and is its "time"; ordering uses seq, so a
 * wrong clock or --now only gives an odd name.  NULL on failure; errno is
 * EWOULDBLOCK when another krescue holds the lock (exit KR_FAIL), anything
 * else is a system error (exit KR_IO).
 */
struct txn	*txn_begin(const struct root *, const char *, time_t);

/*
 * Plan a regular file: content (copied), mode (or TXN_KEEP_MODE).  The
 * owner is kept from the file replaced; a new file gets the owner of its
 * directory.  A target that is a symlink is refused by txn_check: write
 * to the link's target instead, or use txn_put_symlink.
 */
int		 txn_put_file(struct txn *, const char *, const struct buf *,
		    mode_t, int);
/* Plan a symlink (replacing a file or link); owner kept as above. */
int		 txn_put_symlink(struct txn *, const char *, const char *);
/* Plan the removal of a file or symlink (absent is fine). */
int		 txn_put_absent(struct txn *, const char *);

/*
 * Refusals before any write: a path leaving the root, a missing parent
 * directory, a directory or device as target, the same target twice, a
 * symlink target climbing out of the root, a read-only file system (for a
 * target or for /var/lib/krescue), not enough free space or inodes for
 * backup + temps.  Returns 0, or -1 with the reason in `why`.  Writes
 * nothing.  txn_commit runs it again.
 */
int		 txn_check(struct txn *, char *, size_t);

/*
 * Apply.  0: the new set is in place and durable, the backup's node path
 * is in `backup` (may be NULL).  -1: the old set is in place (or, if even
 * the undo failed, the journal stays for the next run to finish).
 */
int		 txn_commit(struct txn *, char *, size_t);

/* Wipe every content, release the lock. */
void		 txn_free(struct txn *);

/* Take the lock, finish or undo an unfinished journal (rule above). */
int		 txn_recover(const struct root *, int *);

/*
 * Restore a backup (its name, its node path, or NULL for the newest of
 * kind commit) byte for byte: content, mode, owner, link targets; remove
 * what it records as absent.  The whole backup is verified against its
 * manifest first; a corrupt backup is refused.  0, or -1 with `why` and
 * errno: EIO when writing failed (KR_IO), EWOULDBLOCK when another
 * krescue holds the lock, EINVAL for a refusal (KR_FAIL).
 */
int		 txn_rollback(const struct root *, const char *, char *, size_t);

/*
 * Print one line per backup, oldest first:
 * "<name>\t<kind>\t<entries>\t<ok|corrupt|incomplete>".
 * Returns the number of backups, or -1.
 */
int		 txn_list_backups(const struct root *, FILE *);

/* Every fault step, in the order a commit (then recovery, undo) meets them. */
#define TXN_FAULT_COMMIT	0	/* met by txn_commit / txn_rollback */
#define TXN_FAULT_RECOVER	1	/* met when recovery rolls forward */
#define TXN_FAULT_UNDO		2	/* met when recovery undoes */
#define TXN_FAULT_ABORT		3	/* met when recovery abandons */
struct txn_fault {
	const char	*name;
	int		 per_entry;	/* takes "-N" */
	int		 when;		/* TXN_FAULT_* */
};
size_t		 txn_fault_steps(const struct txn_fault **);

#endif /* KRESCUE_TXN_H */
