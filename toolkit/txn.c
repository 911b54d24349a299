/*
 * txn.c: the transaction that applies a set of file changes to the node
 * all or nothing: backup, journal, atomic durable apply, crash recovery,
 * rollback.  The rules are in txn.h.
 *
 * Every directory we write in is opened once (O_DIRECTORY|O_NOFOLLOW)
 * after root_resolve() and then only used through *at() calls on plain
 * names, so no symlink is followed after the resolution was checked.
 * Renames never cross directories.
 */
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/sha256.h>

#include "extern.h"
#include "txn.h"

#ifndef KRESCUE_VERSION
#define KRESCUE_VERSION	"unknown"
#endif

#define TXN_MAXENTS	1024
#define SUFFIXLEN	6

enum kind {
	K_FILE,
	K_LINK,
	K_ABSENT
};

static const char *const kind_name[] = { "file", "symlink", "absent" };

/* One planned change. */
struct entry {
	enum kind	 kind;		/* what the path becomes */
	char		*path;		/* node path as the caller gave it */
	struct buf	 data;		/* new content or link target */
	mode_t		 mode;		/* or TXN_KEEP_MODE */
	int		 has_owner;	/* uid/gid given (rollback) */
	uid_t		 uid;
	gid_t		 gid;
	/* set by txn_check */
	char		 canon[PATH_MAX];	/* resolved node path */
	mode_t		 emode;
	uid_t		 euid;
	gid_t		 egid;
};

/* One journal line. */
struct jent {
	enum kind	 kind;
	char		 suffix[SUFFIXLEN + 1];
	char		 sha[65];
	char		 canon[PATH_MAX];
};

struct journal {
	int		 prepared;
	char		 kind[16];
	char		 backup[TXN_NAMELEN];
	struct jent	*ents;
	size_t		 n;
};

/* One manifest line, plus the backed up content once loaded. */
struct ment {
	enum kind	 kind;
	mode_t		 mode;
	uid_t		 uid;
	gid_t		 gid;
	char		 sha[65];
	char		 file[16];
	char		 canon[PATH_MAX];
	struct buf	 data;
};

struct manifest {
	char		 kind[16];
	unsigned long	 seq;		/* 1, 2, ...: order of the backups */
	struct ment	*ents;
	size_t		 n;
};

struct txn {
	struct root	 root;
	char		*version;
	time_t		 now;
	int		 lockfd;
	int		 rollback;	/* may replace a symlink by a file */
	struct entry	*ents;
	size_t		 n;
	char		 backup[TXN_NAMELEN];
};

static const struct txn_fault faults[] = {
	{ "journal-staging",	0, TXN_FAULT_COMMIT },
	{ "backup-dir",		0, TXN_FAULT_COMMIT },
	{ "backup-file",	1, TXN_FAULT_COMMIT },
	{ "backup-manifest",	0, TXN_FAULT_COMMIT },
	{ "temp-write",		1, TXN_FAULT_COMMIT },
	{ "temp-fsync",		1, TXN_FAULT_COMMIT },
	{ "journal-prepared",	0, TXN_FAULT_COMMIT },
	{ "rename",		1, TXN_FAULT_COMMIT },
	{ "dirsync",		0, TXN_FAULT_COMMIT },
	{ "journal-done",	0, TXN_FAULT_COMMIT },
	{ "done",		0, TXN_FAULT_COMMIT },
	{ "recover-rename",	1, TXN_FAULT_RECOVER },
	{ "recover-dirsync",	0, TXN_FAULT_RECOVER },
	{ "recover-done",	0, TXN_FAULT_RECOVER },
	{ "undo-write",		1, TXN_FAULT_UNDO },
	{ "undo-rename",	1, TXN_FAULT_UNDO },
	{ "undo-dirsync",	0, TXN_FAULT_UNDO },
	{ "undo-done",		0, TXN_FAULT_UNDO },
	{ "abort-done",		0, TXN_FAULT_ABORT },
};

size_t
txn_fault_steps(const struct txn_fault **out)
{
	*out = faults;
	return sizeof(faults) / sizeof(faults[0]);
}

/* Is KRESCUE_FAULT this step ("name" or "name-N")? */
static int
fault_hit(const char *step, size_t n)
{
	const char	*f;
	char		 name[64];

	if ((f = getenv("KRESCUE_FAULT")) == NULL || *f == '\0')
		return 0;
	if (n == 0)
		return strcmp(f, step) == 0;
	if (snprintf(name, sizeof(name), "%s-%zu", step, n) >=
	    (int)sizeof(name))
		return 0;
	return strcmp(f, name) == 0;
}

static void
fault(const char *step, size_t n)
{
	if (fault_hit(step, n)) {
		warnx("fault injected at %s (%zu)", step, n);
		_exit(99);
	}
}

static void
sha_hex(const void *p, size_t n, char out[65])
{
	static const char	 hx[] = "0123456789abcdef";
	unsigned char		 md[32];
	size_t			 i;

	(void)mbedtls_sha256(p, n, md, 0);
	for (i = 0; i < sizeof(md); i++) {
		out[2 * i] = hx[md[i] >> 4];
		out[2 * i + 1] = hx[md[i] & 0xf];
	}
	out[64] = '\0';
}

static void
bprintf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
bprintf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		errx(KR_IO, "internal: vsnprintf");
	b->data = xrealloc(b->data, b->len + (size_t)n + 1, 1);
	va_start(ap, fmt);
	(void)vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Append "end <sha256 of everything above>". */
static void
seal(struct buf *b)
{
	char	 sha[65];

	sha_hex(b->data, b->len, sha);
	bprintf(b, "end %s\n", sha);
}

/* Check the "end" line; *bodylen gets the length of what it covers. */
static int
unseal(const struct buf *b, size_t *bodylen)
{
	const char	*s = (const char *)b->data;
	size_t		 i;
	char		 sha[65];

	if (b->len < 70 || s[b->len - 1] != '\n')
		return -1;
	for (i = b->len - 1; i > 0 && s[i - 1] != '\n'; i--)
		;
	if (b->len - i != 69 || strncmp(s + i, "end ", 4) != 0)
		return -1;
	sha_hex(b->data, i, sha);
	if (strncmp(s + i + 4, sha, 64) != 0)
		return -1;
	*bodylen = i;
	return 0;
}

static int
writeall(int fd, const void *p, size_t n)
{
	const unsigned char	*c = p;
	ssize_t			 w;

	while (n > 0) {
		if ((w = write(fd, c, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Create `name` in `dfd` exclusively, owner (when chown) and mode set
 * explicitly, write it (crashing after half of it at fault step wstep),
 * fsync (crashing before it at sstep).  Removes it on failure.
 */
static int
write_new_at(int dfd, const char *name, const void *p, size_t n, mode_t mode,
    int chown, uid_t uid, gid_t gid, const char *wstep, const char *sstep,
    size_t idx)
{
	struct stat	 st;
	int		 fd, saved;

	fd = openat(dfd, name, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY |
	    O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (chown && (st.st_uid != uid || st.st_gid != gid) &&
	    fchown(fd, uid, gid) == -1)
		goto fail;
	if (fchmod(fd, mode & 07777) == -1)
		goto fail;
	if (wstep != NULL && fault_hit(wstep, idx)) {
		(void)writeall(fd, p, n / 2);
		fault(wstep, idx);
	}
	if (writeall(fd, p, n) == -1)
		goto fail;
	if (sstep != NULL)
		fault(sstep, idx);
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	(void)unlinkat(dfd, name, 0);
	errno = saved;
	return -1;
}

/* Read a regular file (not a link) of at most KR_MAXFILE, NUL-terminated. */
static int
read_at(int dfd, const char *name, struct buf *out)
{
	struct stat	 st;
	unsigned char	*p = NULL;
	size_t		 got = 0;
	ssize_t		 r;
	int		 fd, saved;

	if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if (st.st_size > KR_MAXFILE) {
		errno = EFBIG;
		goto fail;
	}
	p = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		if ((r = read(fd, p + got, (size_t)st.st_size - got)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	p[got] = '\0';
	close(fd);
	buf_free(out);
	out->data = p;
	out->len = got;
	return 0;
fail:
	saved = errno;
	if (p != NULL) {
		wipe(p, (size_t)st.st_size + 1);
		free(p);
	}
	close(fd);
	errno = saved;
	return -1;
}

static int
readlink_at(int dfd, const char *name, struct buf *out)
{
	char	 target[PATH_MAX];
	ssize_t	 n;

	if ((n = readlinkat(dfd, name, target, sizeof(target))) == -1)
		return -1;
	if ((size_t)n >= sizeof(target)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return buf_set(out, target, (size_t)n);
}

/* Open a node directory: resolved inside the root, then no links. */
static int
open_node_dir(const struct root *r, const char *nodepath)
{
	char	 host[PATH_MAX];

	if (root_resolve(r, nodepath, 0, host, sizeof(host)) == -1)
		return -1;
	return open(host, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* "/a/b/c" -> "/a/b" and "c". */
static int
split_path(const char *path, char *dir, size_t dsz, char *base, size_t bsz)
{
	const char	*s;

	if ((s = strrchr(path, '/')) == NULL || s[1] == '\0') {
		errno = EINVAL;
		return -1;
	}
	if (xsnprintf(base, bsz, "%s", s + 1) == -1 ||
	    xsnprintf(dir, dsz, "%.*s", s == path ? 1 : (int)(s - path),
	    path) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Open the directory of a canonical node path; its last component in base. */
static int
open_parent(const struct root *r, const char *canon, char *base, size_t bsz)
{
	char	 dir[PATH_MAX];
	int	 fd;

	if (split_path(canon, dir, sizeof(dir), base, bsz) == -1) {
		warn("%s", canon);
		return -1;
	}
	if ((fd = open_node_dir(r, dir)) == -1)
		warn("%s", dir);
	return fd;
}

static int
tmp_name(char *out, size_t sz, const char *base, const char *suffix,
    int undo)
{
	return xsnprintf(out, sz, ".%s.krescue-%s%s", base, suffix,
	    undo ? "-undo" : "");
}

static int
unlink_quiet(int dfd, const char *name)
{
	if (unlinkat(dfd, name, 0) == -1 && errno != ENOENT)
		return -1;
	return 0;
}

static int	 backup_name_ok(const char *);

static void
random_suffix(char out[SUFFIXLEN + 1])
{
	static const char	 al[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	static unsigned		 counter;
	unsigned char		 rnd[SUFFIXLEN];
	struct timespec		 ts;
	size_t			 i;

	if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
		(void)clock_gettime(CLOCK_REALTIME, &ts);
		for (i = 0; i < sizeof(rnd); i++)
			rnd[i] = (unsigned char)((unsigned long)ts.tv_nsec >>
			    (i * 5) ^ (unsigned long)getpid() >> i ^
			    ++counter * 131);
	}
	for (i = 0; i < SUFFIXLEN; i++)
		out[i] = al[rnd[i] % (sizeof(al) - 1)];
	out[SUFFIXLEN] = '\0';
}

/* Node paths we write into the manifest and the journal: one line each. */
static int
path_ok(const char *p)
{
	if (p == NULL || p[0] != '/' || strlen(p) >= PATH_MAX)
		return 0;
	for (; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

static void
journal_free(struct journal *j)
{
	free(j->ents);
	j->ents = NULL;
	j->n = 0;
}

static void
manifest_free(struct manifest *m)
{
	size_t	 i;

	for (i = 0; i < m->n; i++)
		buf_free(&m->ents[i].data);
	free(m->ents);
	m->ents = NULL;
	m->n = 0;
}

static void
journal_text(const struct journal *j, const char *state, struct buf *b)
{
	size_t	 i;

	bprintf(b, "krescue-journal 1\nstate %s\nkind %s\nbackup %s\n",
	    state, j->kind, j->backup);
	for (i = 0; i < j->n; i++)
		bprintf(b, "%s %s %s %s\n", kind_name[j->ents[i].kind],
		    j->ents[i].kind == K_ABSENT ? "-" : j->ents[i].suffix,
		    j->ents[i].kind == K_ABSENT ? "-" : j->ents[i].sha,
		    j->ents[i].canon);
	seal(b);
}

static int
parse_kind(const char *s, enum kind *k)
{
	int	 i;

	for (i = 0; i < 3; i++)
		if (strcmp(s, kind_name[i]) == 0) {
			*k = (enum kind)i;
			return 0;
		}
	return -1;
}

static int
is_hex64(const char *s)
{
	size_t	 i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[64] == '\0';
}

/*
 * Split a sealed text into lines (in place); calls fn for each line after
 * the fixed header.  Returns -1 on any malformed line.
 */
static int
next_line(char **cur, char *end, char **line)
{
	char	*nl;

	if (*cur >= end)
		return -1;
	if ((nl = memchr(*cur, '\n', (size_t)(end - *cur))) == NULL)
		return -1;
	*nl = '\0';
	*line = *cur;
	*cur = nl + 1;
	return 0;
}

static int
header_value(char **cur, char *end, const char *key, char *out, size_t sz)
{
	char	*line;
	size_t	 kl = strlen(key);

	if (next_line(cur, end, &line) == -1 || strncmp(line, key, kl) != 0 ||
	    line[kl] != ' ' || strlen(line + kl + 1) >= sz ||
	    line[kl + 1] == '\0')
		return -1;
	memcpy(out, line + kl + 1, strlen(line + kl + 1) + 1);
	return 0;
}

static int
journal_parse(struct buf *b, struct journal *j)
{
	char		*cur, *end, *line, state[16], kind[16], suf[16];
	char		 sha[80];
	size_t		 body;
	int		 off;
	struct jent	*e;

	memset(j, 0, sizeof(*j));
	if (unseal(b, &body) == -1)
		return -1;
	cur = (char *)b->data;
	end = cur + body;
	if (next_line(&cur, end, &line) == -1 ||
	    strcmp(line, "krescue-journal 1") != 0)
		return -1;
	if (header_value(&cur, end, "state", state, sizeof(state)) == -1 ||
	    header_value(&cur, end, "kind", j->kind, sizeof(j->kind)) == -1 ||
	    header_value(&cur, end, "backup", j->backup,
	    sizeof(j->backup)) == -1)
		return -1;
	/* the journal comes from the disk: its names must be ours */
	if (!backup_name_ok(j->backup))
		return -1;
	if (strcmp(state, "prepared") == 0)
		j->prepared = 1;
	else if (strcmp(state, "staging") != 0)
		return -1;
	while (cur < end) {
		if (next_line(&cur, end, &line) == -1)
			goto bad;
		if (j->n >= TXN_MAXENTS)
			goto bad;
		j->ents = xrealloc(j->ents, j->n + 1, sizeof(*j->ents));
		e = &j->ents[j->n];
		memset(e, 0, sizeof(*e));
		off = 0;
		if (sscanf(line, "%15s %15s %79s %n", kind, suf, sha, &off) !=
		    3 || off == 0 || parse_kind(kind, &e->kind) == -1 ||
		    !path_ok(line + off))
			goto bad;
		memcpy(e->canon, line + off, strlen(line + off) + 1);
		if (e->kind != K_ABSENT) {
			if (strlen(suf) != SUFFIXLEN || strspn(suf,
			    "abcdefghijklmnopqrstuvwxyz0123456789") !=
			    SUFFIXLEN || !is_hex64(sha))
				goto bad;
			memcpy(e->suffix, suf, SUFFIXLEN + 1);
			memcpy(e->sha, sha, 65);
		}
		j->n++;
	}
	return 0;
bad:
	journal_free(j);
	return -1;
}

static void
manifest_text(const struct manifest *m, const char *version, time_t now,
    struct buf *b)
{
	char		 ts[32];
	size_t		 i;
	struct ment	*e;

	fmt_rfc3339(now, ts, sizeof(ts));
	bprintf(b, "krescue-backup 1\nkind %s\nseq %lu\nversion %s\n"
	    "time %s\n", m->kind, m->seq, version, ts);
	for (i = 0; i < m->n; i++) {
		e = &m->ents[i];
		if (e->kind == K_ABSENT)
			bprintf(b, "absent - - - - - %s\n", e->canon);
		else
			bprintf(b, "%s %04o %lu %lu %s %s %s\n",
			    kind_name[e->kind], (unsigned)(e->mode & 07777),
			    (unsigned long)e->uid, (unsigned long)e->gid,
			    e->sha, e->file, e->canon);
	}
	seal(b);
}

static int
parse_ulong(const char *s, int base, unsigned long max, unsigned long *out)
{
	char		*ep;
	unsigned long	 v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &ep, base);
	if (errno != 0 || *ep != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

/*
 * Load the manifest of backup `name` (opened as bdfd).  With `verify`,
 * load every backed up content and check it against its sha256.
 * Returns 0, or -1 with the reason in why.
 */
static int
manifest_load(int bdfd, const char *name, struct manifest *m, int verify,
    char *why, size_t whysz)
{
	struct buf	 b = { NULL, 0 };
	char		*cur, *end, *line, tmp[80], type[16], mode[16];
	char		 uid[24], gid[24], sha[80], file[16];
	unsigned long	 v;
	size_t		 body;
	int		 off, rc = -1;
	struct ment	*e;

	memset(m, 0, sizeof(*m));
	if (read_at(bdfd, "manifest", &b) == -1) {
		(void)xsnprintf(why, whysz, "%s/%s/manifest: %s%s",
		    TXN_BACKUPS, name, strerror(errno), errno == ENOENT ?
		    " (incomplete backup)" : "");
		goto out;
	}
	if (unseal(&b, &body) == -1) {
		(void)xsnprintf(why, whysz, "%s/%s/manifest: damaged "
		    "(its checksum line does not match)", TXN_BACKUPS, name);
		goto out;
	}
	cur = (char *)b.data;
	end = cur + body;
	if (next_line(&cur, end, &line) == -1 ||
	    strcmp(line, "krescue-backup 1") != 0 ||
	    header_value(&cur, end, "kind", m->kind, sizeof(m->kind)) == -1 ||
	    header_value(&cur, end, "seq", tmp, sizeof(tmp)) == -1 ||
	    parse_ulong(tmp, 10, ULONG_MAX - 1, &m->seq) == -1 ||
	    header_value(&cur, end, "version", tmp, sizeof(tmp)) == -1 ||
	    header_value(&cur, end, "time", tmp, sizeof(tmp)) == -1)
		goto bad;
	while (cur < end) {
		if (next_line(&cur, end, &line) == -1 || m->n >= TXN_MAXENTS)
			goto bad;
		m->ents = xrealloc(m->ents, m->n + 1, sizeof(*m->ents));
		e = &m->ents[m->n];
		memset(e, 0, sizeof(*e));
		m->n++;
		off = 0;
		if (sscanf(line, "%15s %15s %23s %23s %79s %15s %n", type,
		    mode, uid, gid, sha, file, &off) != 6 || off == 0 ||
		    parse_kind(type, &e->kind) == -1 || !path_ok(line + off))
			goto bad;
		memcpy(e->canon, line + off, strlen(line + off) + 1);
		if (e->kind == K_ABSENT)
			continue;
		if (parse_ulong(mode, 8, 07777, &v) == -1)
			goto bad;
		e->mode = (mode_t)v;
		if (parse_ulong(uid, 10, (uid_t)-1 - 1, &v) == -1)
			goto bad;
		e->uid = (uid_t)v;
		if (parse_ulong(gid, 10, (gid_t)-1 - 1, &v) == -1)
			goto bad;
		e->gid = (gid_t)v;
		if (!is_hex64(sha) || strspn(file, "0123456789") !=
		    strlen(file))
			goto bad;
		memcpy(e->sha, sha, 65);
		memcpy(e->file, file, strlen(file) + 1);
		if (!verify)
			continue;
		if (read_at(bdfd, file, &e->data) == -1) {
			/* the backup dir fd is the backup itself */
			(void)xsnprintf(why, whysz, "%s/%s/%s (backup of %s): "
			    "%s", TXN_BACKUPS, name, file, e->canon,
			    strerror(errno));
			goto out;
		}
		sha_hex(e->data.data, e->data.len, tmp);
		if (strcmp(tmp, e->sha) != 0) {
			(void)xsnprintf(why, whysz, "%s/%s/%s (backup of %s): "
			    "sha256 does not match the manifest", TXN_BACKUPS,
			    name, file, e->canon);
			goto out;
		}
		if (e->kind == K_LINK && (e->data.len == 0 ||
		    memchr(e->data.data, '\0', e->data.len) != NULL)) {
			(void)xsnprintf(why, whysz, "%s/%s/%s: not a link "
			    "target", TXN_BACKUPS, name, file);
			goto out;
		}
	}
	rc = 0;
	goto out;
bad:
	(void)xsnprintf(why, whysz, "%s/%s/manifest: malformed", TXN_BACKUPS,
	    name);
out:
	buf_free(&b);
	if (rc == -1)
		manifest_free(m);
	return rc;
}

/*
 * Write a text atomically into dfd: name.tmp (torn at wstep), fsync,
 * rename, fsync the directory.
 */
static int
write_atomic_at(int dfd, const char *name, const struct buf *b,
    const char *wstep)
{
	char	 tmp[NAME_MAX + 1];

	if (xsnprintf(tmp, sizeof(tmp), "%s.tmp", name) == -1)
		return -1;
	if (unlink_quiet(dfd, tmp) == -1)
		return -1;
	if (write_new_at(dfd, tmp, b->data, b->len, 0600, 0, 0, 0, wstep,
	    NULL, 0) == -1)
		return -1;
	if (renameat(dfd, tmp, dfd, name) == -1)
		return -1;
	return fsync(dfd);
}

static int
journal_write(int kfd, const struct journal *j, const char *state,
    const char *step)
{
	struct buf	 b = { NULL, 0 };
	int		 rc;

	journal_text(j, state, &b);
	if ((rc = write_atomic_at(kfd, "journal", &b, step)) == -1)
		warn("%s", TXN_JOURNAL);
	buf_free(&b);
	return rc;
}

static int
journal_clear(int kfd, const char *step)
{
	fault(step, 0);
	if (unlinkat(kfd, "journal", 0) == -1 || fsync(kfd) == -1) {
		warn("%s", TXN_JOURNAL);
		return -1;
	}
	return 0;
}

/* Remove a backup directory we made (flat: manifest first). */
static void
backup_remove(const struct root *r, const char *name)
{
	DIR		*d = NULL;
	struct dirent	*de;
	int		 bfd, dfd;

	if (!backup_name_ok(name)) {
		warnx("%s/%s: not a backup name of ours; left alone",
		    TXN_BACKUPS, name);
		return;
	}
	if ((bfd = open_node_dir(r, TXN_BACKUPS)) == -1)
		return;
	if ((dfd = openat(bfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			warn("%s/%s", TXN_BACKUPS, name);
		close(bfd);
		return;
	}
	(void)unlink_quiet(dfd, "manifest");
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		close(bfd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == -1)
			warn("%s/%s/%s", TXN_BACKUPS, name, de->d_name);
	}
	closedir(d);
	if (unlinkat(bfd, name, AT_REMOVEDIR) == -1)
		warn("%s/%s", TXN_BACKUPS, name);
	(void)fsync(bfd);
	close(bfd);
}

/* sha256 of what a target or temp holds, if it is of the kind expected. */
static int
hash_at(int dfd, const char *name, enum kind kind, char sha[65])
{
	struct buf	 b = { NULL, 0 };
	int		 rc;

	if (kind == K_LINK)
		rc = readlink_at(dfd, name, &b);
	else
		rc = read_at(dfd, name, &b);
	if (rc == 0)
		sha_hex(b.data, b.len, sha);
	buf_free(&b);
	return rc;
}

/*
 * Crash in staging (or a failure before the journal said prepared): no
 * target was touched.  Remove temps, the journal, the backup.
 */
static int
abandon(const struct root *r, int kfd, const struct journal *j)
{
	char	 base[NAME_MAX + 1], tmp[NAME_MAX + 1];
	size_t	 i;
	int	 dfd, rc = 0;

	for (i = 0; i < j->n; i++) {
		if (j->ents[i].kind == K_ABSENT)
			continue;
		if ((dfd = open_parent(r, j->ents[i].canon, base,
		    sizeof(base))) == -1) {
			if (errno == ENOENT)
				continue;
			return -1;
		}
		if (tmp_name(tmp, sizeof(tmp), base, j->ents[i].suffix,
		    0) == -1 || unlink_quiet(dfd, tmp) == -1 ||
		    tmp_name(tmp, sizeof(tmp), base, j->ents[i].suffix,
		    1) == -1 || unlink_quiet(dfd, tmp) == -1 ||
		    fsync(dfd) == -1) {
			warn("%s: temp file", j->ents[i].canon);
			rc = -1;
		}
		close(dfd);
	}
	if (rc == -1)
		return -1;
	if (journal_clear(kfd, "abort-done") == -1)
		return -1;
	backup_remove(r, j->backup);
	return 0;
}

/* Can every entry be finished?  (temp or target holds the new content) */
static int
forward_ok(const struct root *r, const struct journal *j)
{
	char	 base[NAME_MAX + 1], tmp[NAME_MAX + 1], sha[65];
	size_t	 i;
	int	 dfd, ok;

	for (i = 0; i < j->n; i++) {
		if (j->ents[i].kind == K_ABSENT)
			continue;
		if ((dfd = open_parent(r, j->ents[i].canon, base,
		    sizeof(base))) == -1)
			return 0;
		ok = 0;
		if (tmp_name(tmp, sizeof(tmp), base, j->ents[i].suffix,
		    0) == -1)
			ok = 0;
		else if (hash_at(dfd, tmp, j->ents[i].kind, sha) == 0)
			ok = strcmp(sha, j->ents[i].sha) == 0;	/* temp */
		else if (errno == ENOENT &&
		    hash_at(dfd, base, j->ents[i].kind, sha) == 0)
			ok = strcmp(sha, j->ents[i].sha) == 0;	/* renamed */
		close(dfd);
		if (!ok) {
			warnx("%s: the interrupted change cannot be finished "
			    "(its new content is not intact)",
			    j->ents[i].canon);
			return 0;
		}
	}
	return 1;
}

/* Finish the renames of a prepared journal. */
static int
roll_forward(const struct root *r, int kfd, const struct journal *j)
{
	char	 base[NAME_MAX + 1], tmp[NAME_MAX + 1];
	size_t	 i;
	int	 dfd, rc = 0;

	for (i = 0; i < j->n && rc == 0; i++) {
		if ((dfd = open_parent(r, j->ents[i].canon, base,
		    sizeof(base))) == -1)
			return -1;
		fault("recover-rename", i + 1);
		if (j->ents[i].kind == K_ABSENT) {
			if (unlink_quiet(dfd, base) == -1) {
				warn("%s", j->ents[i].canon);
				rc = -1;
			}
		} else if (tmp_name(tmp, sizeof(tmp), base,
		    j->ents[i].suffix, 0) == -1)
			rc = -1;
		else if (renameat(dfd, tmp, dfd, base) == -1 &&
		    errno != ENOENT) {
			warn("%s", j->ents[i].canon);
			rc = -1;
		}
		if (rc == 0 && j->ents[i].kind != K_ABSENT &&
		    (tmp_name(tmp, sizeof(tmp), base, j->ents[i].suffix,
		    1) == -1 || unlink_quiet(dfd, tmp) == -1))
			rc = -1;
		close(dfd);
	}
	if (rc == -1)
		return -1;
	fault("recover-dirsync", 0);
	for (i = 0; i < j->n; i++) {
		if ((dfd = open_parent(r, j->ents[i].canon, base,
		    sizeof(base))) == -1)
			return -1;
		if (fsync(dfd) == -1) {
			warn("%s: fsync of its directory", j->ents[i].canon);
			rc = -1;
		}
		close(dfd);
	}
	if (rc == -1)
		return -1;
	return journal_clear(kfd, "recover-done");
}

/* Put one manifest entry back with a temp and a rename. */
static int
restore_one(const struct root *r, const struct ment *m, const char *suffix,
    size_t idx)
{
	char	 base[NAME_MAX + 1], tmp[NAME_MAX + 1];
	int	 dfd, rc = -1;

	if ((dfd = open_parent(r, m->canon, base, sizeof(base))) == -1)
		return -1;
	if (m->kind == K_ABSENT) {
		fault("undo-write", idx);
		fault("undo-rename", idx);
		if (unlink_quiet(dfd, base) == -1) {
			warn("%s", m->canon);
			goto out;
		}
		rc = 0;
		goto out;
	}
	if (tmp_name(tmp, sizeof(tmp), base, suffix, 1) == -1)
		goto out;
	if (unlink_quiet(dfd, tmp) == -1) {
		warn("%s: stale temp file", m->canon);
		goto out;
	}
	if (m->kind == K_FILE) {
		if (write_new_at(dfd, tmp, m->data.data, m->data.len, m->mode,
		    1, m->uid, m->gid, "undo-write", NULL, idx) == -1) {
			warn("%s: restoring", m->canon);
			goto out;
		}
	} else {
		fault("undo-write", idx);
		if (symlinkat((const char *)m->data.data, dfd, tmp) == -1 ||
		    fchownat(dfd, tmp, m->uid, m->gid,
		    AT_SYMLINK_NOFOLLOW) == -1) {
			warn("%s: restoring the link", m->canon);
			(void)unlinkat(dfd, tmp, 0);
			goto out;
		}
	}
	fault("undo-rename", idx);
	if (renameat(dfd, tmp, dfd, base) == -1) {
		warn("%s: restoring", m->canon);
		(void)unlinkat(dfd, tmp, 0);
		goto out;
	}
	rc = 0;
out:
	close(dfd);
	return rc;
}

/*
 * Undo a prepared journal: verify its backup, remove the temps, restore
 * every entry from the backup, fsync, clear the journal.
 */
static int
undo(const struct root *r, int kfd, const struct journal *j)
{
	struct manifest	 m = { "", 0, NULL, 0 };
	char		 why[PATH_MAX + 128], base[NAME_MAX + 1];
	char		 tmp[NAME_MAX + 1];
	size_t		 i;
	int		 bfd = -1, bdfd = -1, dfd, rc = -1;

	if ((bfd = open_node_dir(r, TXN_BACKUPS)) == -1 ||
	    (bdfd = openat(bfd, j->backup, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1) {
		warn("%s/%s", TXN_BACKUPS, j->backup);
		goto out;
	}
	if (manifest_load(bdfd, j->backup, &m, 1, why, sizeof(why)) == -1) {
		warnx("cannot undo: %s", why);
		goto out;
	}
	if (m.n != j->n) {
		warnx("cannot undo: %s/%s does not match %s", TXN_BACKUPS,
		    j->backup, TXN_JOURNAL);
		goto out;
	}
	for (i = 0; i < j->n; i++)
		if (strcmp(m.ents[i].canon, j->ents[i].canon) != 0) {
			warnx("cannot undo: %s/%s does not match %s",
			    TXN_BACKUPS, j->backup, TXN_JOURNAL);
			goto out;
		}
	for (i = 0; i < j->n; i++) {
		if (j->ents[i].kind == K_ABSENT)
			continue;
		if ((dfd = open_parent(r, j->ents[i].canon, base,
		    sizeof(base))) == -1)
			goto out;
		if (tmp_name(tmp, sizeof(tmp), base, j->ents[i].suffix,
		    0) == -1 || unlink_quiet(dfd, tmp) == -1) {
			warn("%s: temp file", j->ents[i].canon);
			close(dfd);
			goto out;
		}
		close(dfd);
	}
	for (i = 0; i < m.n; i++)
		if (restore_one(r, &m.ents[i], j->ents[i].kind == K_ABSENT ?
		    "absent" : j->ents[i].suffix, i + 1) == -1)
			goto out;
	fault("undo-dirsync", 0);
	for (i = 0; i < m.n; i++) {
		if ((dfd = open_parent(r, m.ents[i].canon, base,
		    sizeof(base))) == -1)
			goto out;
		if (fsync(dfd) == -1) {
			warn("%s: fsync of its directory", m.ents[i].canon);
			close(dfd);
			goto out;
		}
		close(dfd);
	}
	if (journal_clear(kfd, "undo-done") == -1)
		goto out;
	backup_remove(r, j->backup);
	rc = 0;
out:
	manifest_free(&m);
	if (bdfd != -1)
		close(bdfd);
	if (bfd != -1)
		close(bfd);
	return rc;
}

/* With the lock held: look at the journal and finish or undo it. */
static int
recover_locked(const struct root *r, int kfd, int *recovered)
{
	struct buf	 b = { NULL, 0 };
	struct journal	 j;
	int		 rc = -1;

	memset(&j, 0, sizeof(j));
	*recovered = TXN_RECOVER_NONE;
	if (unlink_quiet(kfd, "journal.tmp") == -1) {
		warn("%s.tmp", TXN_JOURNAL);
		return -1;
	}
	if (read_at(kfd, "journal", &b) == -1) {
		if (errno == ENOENT)
			return 0;
		warn("%s", TXN_JOURNAL);
		return -1;
	}
	if (journal_parse(&b, &j) == -1) {
		warnx("%s is damaged; refusing to guess: compare the files it "
		    "names with the newest backup in %s by hand", TXN_JOURNAL,
		    TXN_BACKUPS);
		goto out;
	}
	if (!j.prepared) {
		if (abandon(r, kfd, &j) == -1)
			goto out;
		*recovered = TXN_RECOVER_BACK;
		warnx("recovered: an interrupted %s had not touched any file "
		    "yet; it was abandoned", j.kind);
	} else if (forward_ok(r, &j)) {
		if (roll_forward(r, kfd, &j) == -1)
			goto out;
		*recovered = TXN_RECOVER_FORWARD;
		warnx("recovered: an interrupted %s was finished (backup %s/%s)",
		    j.kind, TXN_BACKUPS, j.backup);
	} else {
		if (undo(r, kfd, &j) == -1)
			goto out;
		*recovered = TXN_RECOVER_BACK;
		warnx("recovered: an interrupted %s was undone from its backup",
		    j.kind);
	}
	rc = 0;
out:
	if (rc == -1)
		warnx("an interrupted change is still pending in %s",
		    TXN_JOURNAL);
	journal_free(&j);
	buf_free(&b);
	return rc;
}

/* mkdir -p for our own directories. */
static int
ensure_dirs(const struct root *r)
{
	static const struct {
		const char	*path;
		mode_t		 mode;
	} dirs[] = {
		{ "/var", 0755 },
		{ "/var/lib", 0755 },
		{ TXN_DIR, 0700 },
		{ TXN_BACKUPS, 0700 },
	};
	char		 host[PATH_MAX];
	struct stat	 st;
	size_t		 i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (root_resolve(r, dirs[i].path, ROOT_MAY_NOT_EXIST, host,
		    sizeof(host)) == -1) {
			warn("%s", dirs[i].path);
			return -1;
		}
		if (mkdir(host, dirs[i].mode) == -1 && errno != EEXIST) {
			warn("%s", dirs[i].path);
			return -1;
		}
		if (lstat(host, &st) == -1 || !S_ISDIR(st.st_mode)) {
			warnx("%s: not a directory", dirs[i].path);
			return -1;
		}
		/* ours hold backups of keys: never wider than wanted */
		if ((st.st_mode & 07777 & ~dirs[i].mode) != 0 &&
		    dirs[i].mode == 0700 && chmod(host, 0700) == -1) {
			warn("%s", dirs[i].path);
			return -1;
		}
	}
	return 0;
}

/*
 * The lock: flock(2) on the root directory itself, so that taking it
 * writes nothing (a refusal must leave the disk as it was); and on
 * /var/lib/krescue/lock too when that file exists, for whoever holds it
 * from outside.  *kfd: /var/lib/krescue's fd, or -1 when it does not
 * exist yet (then there is nothing to recover either).
 */
static int	 lockfile_fd = -1;

static void
lock_release(int fd)
{
	if (lockfile_fd != -1) {
		close(lockfile_fd);
		lockfile_fd = -1;
	}
	if (fd != -1)
		close(fd);
}

static int
lock_busy(int fd, const char *what)
{
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno == EWOULDBLOCK)
		warnx("%s: another krescue is running (it holds the lock); "
		    "refusing to start", what);
	else
		warn("%s", what);
	errno = EWOULDBLOCK;
	return -1;
}

static int
lock_take(const struct root *r, int *kfd)
{
	int	 fd, lf = -1, saved;

	*kfd = -1;
	if ((fd = open(r->dir[0] != '\0' ? r->dir : "/", O_RDONLY |
	    O_DIRECTORY | O_CLOEXEC)) == -1) {
		warn("%s", r->dir[0] != '\0' ? r->dir : "/");
		return -1;
	}
	if (lock_busy(fd, "the root directory") == -1)
		goto fail;
	if ((*kfd = open_node_dir(r, TXN_DIR)) == -1) {
		if (errno == ENOENT)
			return fd;
		warn("%s", TXN_DIR);
		goto fail;
	}
	lf = openat(*kfd, "lock", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (lf == -1 && errno != ENOENT) {
		warn("%s", TXN_LOCK);
		goto fail;
	}
	if (lf != -1 && lock_busy(lf, TXN_LOCK) == -1)
		goto fail;
	lockfile_fd = lf;
	return fd;
fail:
	saved = errno;
	if (*kfd != -1)
		close(*kfd);
	*kfd = -1;
	if (lf != -1)
		close(lf);
	close(fd);
	errno = saved;
	return -1;
}

static struct txn *
txn_new(const struct root *r, const char *version, time_t now, int lockfd)
{
	struct txn	*t;

	t = xcalloc(1, sizeof(*t));
	t->root = *r;
	t->version = xstrdup(version != NULL ? version : "unknown");
	t->now = now;
	t->lockfd = lockfd;
	return t;
}

struct txn *
txn_begin(const struct root *r, const char *version, time_t now)
{
	int	 lockfd, kfd, rec, saved;

	if ((lockfd = lock_take(r, &kfd)) == -1)
		return NULL;
	if (kfd != -1 && recover_locked(r, kfd, &rec) == -1) {
		saved = errno;
		close(kfd);
		lock_release(lockfd);
		errno = saved != EWOULDBLOCK ? saved : EIO;
		return NULL;
	}
	if (kfd != -1)
		close(kfd);
	return txn_new(r, version, now, lockfd);
}

static struct entry *
add_entry(struct txn *t, const char *path, enum kind kind)
{
	struct entry	*e;

	if (path == NULL || path[0] != '/') {
		warnx("%s: not an absolute node path", path ? path : "(null)");
		return NULL;
	}
	if (!path_ok(path)) {
		warnx("a node path with control characters: refused");
		return NULL;
	}
	if (t->n >= TXN_MAXENTS) {
		warnx("%s: too many files in one change", path);
		return NULL;
	}
	t->ents = xrealloc(t->ents, t->n + 1, sizeof(*t->ents));
	e = &t->ents[t->n++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->path = xstrdup(path);
	e->mode = TXN_KEEP_MODE;
	return e;
}

int
txn_put_file(struct txn *t, const char *path, const struct buf *content,
    mode_t mode, int secret)
{
	struct entry	*e;

	(void)secret;		/* every content is wiped anyway */
	if (content->len > KR_MAXFILE) {
		warnx("%s: new content too large", path);
		return -1;
	}
	if ((e = add_entry(t, path, K_FILE)) == NULL)
		return -1;
	buf_set(&e->data, content->data != NULL ? content->data :
	    (const unsigned char *)"", content->len);
	e->mode = mode;
	return 0;
}

int
txn_put_symlink(struct txn *t, const char *path, const char *target)
{
	struct entry	*e;

	if (target == NULL || *target == '\0' || strlen(target) >= PATH_MAX) {
		warnx("%s: bad link target", path);
		return -1;
	}
	if ((e = add_entry(t, path, K_LINK)) == NULL)
		return -1;
	buf_set(&e->data, target, strlen(target));
	return 0;
}

int
txn_put_absent(struct txn *t, const char *path)
{
	return add_entry(t, path, K_ABSENT) == NULL ? -1 : 0;
}

/*
 * The directory the backups will live in, or the nearest one above it
 * that exists yet (nothing is created before a change is known to fit):
 * its file system is the one that must have room and be writable.
 */
static int
backup_anchor(const struct root *r, char *host, size_t hostsz)
{
	static const char	*up[] = { TXN_BACKUPS, TXN_DIR, "/var/lib",
	    "/var", "/" };
	size_t			 i;

	for (i = 0; i < sizeof(up) / sizeof(up[0]); i++)
		if (root_resolve(r, up[i], 0, host, hostsz) == 0)
			return 0;
	return -1;
}

/* Free space and inodes needed per file system. */
struct fsneed {
	dev_t			 dev;
	unsigned long long	 bytes;
	unsigned long long	 files;
	char			 where[PATH_MAX];	/* a node path on it */
	char			 host[PATH_MAX];	/* a directory on it */
};

static int
need_add(struct fsneed *fs, size_t *nfs, const char *host, const char *where,
    unsigned long long bytes, unsigned long long files, char *why,
    size_t whysz)
{
	struct stat	 st;
	size_t		 i;

	if (stat(host, &st) == -1) {
		(void)xsnprintf(why, whysz, "%s: %s", where, strerror(errno));
		return -1;
	}
	for (i = 0; i < *nfs; i++)
		if (fs[i].dev == st.st_dev)
			break;
	if (i == *nfs) {
		memset(&fs[i], 0, sizeof(fs[i]));
		fs[i].dev = st.st_dev;
		if (xsnprintf(fs[i].where, sizeof(fs[i].where), "%s",
		    where) == -1 || xsnprintf(fs[i].host, sizeof(fs[i].host),
		    "%s", host) == -1)
			return -1;
		(*nfs)++;
	}
	fs[i].bytes += bytes;
	fs[i].files += files;
	return 0;
}

static unsigned long long
blocks(unsigned long long n, unsigned long long bs)
{
	return (n + bs - 1) / bs * bs + bs;	/* + one for luck (metadata) */
}

/* Resolve one entry; refusals into why. */
static int
check_entry(struct txn *t, struct entry *e, struct stat *old, int *exists,
    char *hdir, size_t hdsz, char *why, size_t whysz)
{
	char		 host[PATH_MAX], base[NAME_MAX + 1], lt[PATH_MAX * 2];
	char		 lhost[PATH_MAX];
	const char	*canon;
	struct stat	 dst;

	if (root_resolve(&t->root, e->path, ROOT_NOFOLLOW_LAST |
	    ROOT_MAY_NOT_EXIST, host, sizeof(host)) == -1) {
		if (errno == EXDEV)
			(void)xsnprintf(why, whysz, "%s: leaves the root %s "
			    "(a symbolic link climbs out of it)", e->path,
			    t->root.dir[0] == '\0' ? "/" : t->root.dir);
		else if (errno == ENOENT)
			(void)xsnprintf(why, whysz, "%s: its directory does "
			    "not exist", e->path);
		else
			(void)xsnprintf(why, whysz, "%s: %s", e->path,
			    strerror(errno));
		return -1;
	}
	canon = host + strlen(t->root.dir);
	if (!path_ok(canon) || strcmp(canon, "/") == 0 ||
	    xsnprintf(e->canon, sizeof(e->canon), "%s", canon) == -1 ||
	    split_path(host, hdir, hdsz, base, sizeof(base)) == -1) {
		(void)xsnprintf(why, whysz, "%s: not a usable path", e->path);
		return -1;
	}
	if (strlen(base) + sizeof(".krescue-XXXXXX-undo.tmp") > NAME_MAX) {
		(void)xsnprintf(why, whysz, "%s: name too long", e->path);
		return -1;
	}
	*exists = 1;
	if (lstat(host, old) == -1) {
		if (errno != ENOENT) {
			(void)xsnprintf(why, whysz, "%s: %s", e->path,
			    strerror(errno));
			return -1;
		}
		*exists = 0;
	} else if (!S_ISREG(old->st_mode) && !S_ISLNK(old->st_mode)) {
		(void)xsnprintf(why, whysz, "%s: neither a file nor a symbolic "
		    "link; refusing to replace it", e->path);
		return -1;
	} else if (S_ISLNK(old->st_mode) && e->kind == K_FILE &&
	    !t->rollback) {
		(void)xsnprintf(why, whysz, "%s: is a symbolic link; refusing "
		    "to replace it by a file", e->path);
		return -1;
	}
	if (stat(hdir, &dst) == -1) {
		(void)xsnprintf(why, whysz, "%s: %s", e->path,
		    strerror(errno));
		return -1;
	}
	if (e->mode != TXN_KEEP_MODE)
		e->emode = e->mode & 07777;
	else
		e->emode = *exists && S_ISREG(old->st_mode) ?
		    old->st_mode & 07777 : 0600;
	if (e->has_owner) {
		e->euid = e->uid;
		e->egid = e->gid;
	} else if (*exists) {
		e->euid = old->st_uid;
		e->egid = old->st_gid;
	} else {
		e->euid = dst.st_uid;
		e->egid = dst.st_gid;
	}
	/* A new link must not point out of the root. */
	if (e->kind == K_LINK && !t->rollback) {
		const char *tg = (const char *)e->data.data;
		char pdir[PATH_MAX], pbase[NAME_MAX + 1];

		if (split_path(e->canon, pdir, sizeof(pdir), pbase,
		    sizeof(pbase)) == -1 ||
		    xsnprintf(lt, sizeof(lt), "%s/%s", tg[0] == '/' ? "" :
		    pdir, tg) == -1) {
			(void)xsnprintf(why, whysz, "%s: bad link target",
			    e->path);
			return -1;
		}
		if (root_resolve(&t->root, lt, ROOT_MAY_NOT_EXIST, lhost,
		    sizeof(lhost)) == -1 && errno == EXDEV) {
			(void)xsnprintf(why, whysz, "%s: link target %s "
			    "leaves the root", e->path, tg);
			return -1;
		}
	}
	return 0;
}

int
txn_check(struct txn *t, char *why, size_t whysz)
{
	struct fsneed	*fs = NULL;
	struct statvfs	 sv;
	struct stat	 old;
	char		 hdir[PATH_MAX], bhost[PATH_MAX];
	unsigned long long avail, bs = 4096;
	size_t		 i, k, nfs = 0;
	int		 exists, rc = -1;

	why[0] = '\0';
	fs = xcalloc(t->n + 1, sizeof(*fs));
	if (backup_anchor(&t->root, bhost, sizeof(bhost)) == -1) {
		(void)xsnprintf(why, whysz, "%s: %s", TXN_BACKUPS,
		    path_error(errno));
		goto out;
	}
	if (need_add(fs, &nfs, bhost, TXN_BACKUPS, 4 * bs, 4, why,
	    whysz) == -1)
		goto out;
	for (i = 0; i < t->n; i++) {
		struct entry *e = &t->ents[i];

		if (check_entry(t, e, &old, &exists, hdir, sizeof(hdir), why,
		    whysz) == -1)
			goto out;
		for (k = 0; k < i; k++)
			if (strcmp(t->ents[k].canon, e->canon) == 0) {
				(void)xsnprintf(why, whysz, "%s: listed twice "
				    "(as %s)", e->path, t->ents[k].path);
				goto out;
			}
		/* the backup copy */
		if (exists && need_add(fs, &nfs, bhost, TXN_BACKUPS,
		    blocks(S_ISREG(old.st_mode) ? (unsigned long long)
		    old.st_size : PATH_MAX, bs), 1, why, whysz) == -1)
			goto out;
		/* the temp (the old file stays until the rename) */
		if (need_add(fs, &nfs, hdir, e->path, e->kind == K_ABSENT ?
		    0 : blocks(e->data.len, bs), e->kind == K_ABSENT ? 0 : 2,
		    why, whysz) == -1)
			goto out;
	}
	for (i = 0; i < nfs; i++) {
		if (statvfs(fs[i].host, &sv) == -1) {
			(void)xsnprintf(why, whysz, "%s: %s", fs[i].where,
			    strerror(errno));
			goto out;
		}
		if ((sv.f_flag & ST_RDONLY) || (faccessat(AT_FDCWD,
		    fs[i].host, W_OK, AT_EACCESS) == -1 && errno == EROFS)) {
			(void)xsnprintf(why, whysz, "%s: read-only file "
			    "system", fs[i].where);
			goto out;
		}
		avail = (unsigned long long)sv.f_bavail * sv.f_frsize;
		if (avail < fs[i].bytes) {
			(void)xsnprintf(why, whysz, "%s: not enough free space "
			    "for the backup and the new files (need %llu "
			    "bytes, %llu available)",
			    fs[i].where, fs[i].bytes, avail);
			goto out;
		}
		if (sv.f_files != 0 && sv.f_favail < fs[i].files) {
			(void)xsnprintf(why, whysz, "%s: no free inodes; "
			    "nothing was changed", fs[i].where);
			goto out;
		}
	}
	rc = 0;
out:
	free(fs);
	return rc;
}

/* Copy the current state of entry idx into the backup directory. */
static int
backup_entry(struct entry *e, int tdfd, const char *base, int bdfd,
    struct ment *m, size_t idx)
{
	struct buf	 b = { NULL, 0 };
	struct stat	 st;
	int		 rc = -1;

	memset(m, 0, sizeof(*m));
	memcpy(m->canon, e->canon, sizeof(m->canon));
	if (fstatat(tdfd, base, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno != ENOENT) {
			warn("%s", e->canon);
			return -1;
		}
		m->kind = K_ABSENT;
		fault("backup-file", idx);
		return 0;
	}
	if (S_ISREG(st.st_mode)) {
		m->kind = K_FILE;
		if (read_at(tdfd, base, &b) == -1) {
			warn("%s", e->canon);
			goto out;
		}
	} else if (S_ISLNK(st.st_mode)) {
		m->kind = K_LINK;
		if (readlink_at(tdfd, base, &b) == -1) {
			warn("%s", e->canon);
			goto out;
		}
	} else {
		warnx("%s: neither a file nor a symbolic link", e->canon);
		goto out;
	}
	m->mode = st.st_mode & 07777;
	m->uid = st.st_uid;
	m->gid = st.st_gid;
	sha_hex(b.data, b.len, m->sha);
	(void)xsnprintf(m->file, sizeof(m->file), "%zu", idx);
	if (write_new_at(bdfd, m->file, b.data, b.len, 0600, 0, 0, 0,
	    "backup-file", NULL, idx) == -1) {
		warn("%s/%s: backup of %s", TXN_BACKUPS, m->file, e->canon);
		goto out;
	}
	rc = 0;
out:
	buf_free(&b);
	return rc;
}

/* Write the temp of entry idx next to its target. */
static int
make_temp(const struct entry *e, int dfd, const char *tmp, size_t idx)
{
	if (e->kind == K_FILE) {
		if (write_new_at(dfd, tmp, e->data.data, e->data.len, e->emode,
		    1, e->euid, e->egid, "temp-write", "temp-fsync",
		    idx) == -1) {
			warn("%s: writing the new file", e->canon);
			return -1;
		}
		return 0;
	}
	if (e->kind == K_LINK) {
		fault("temp-write", idx);
		if (symlinkat((const char *)e->data.data, dfd, tmp) == -1 ||
		    fchownat(dfd, tmp, e->euid, e->egid,
		    AT_SYMLINK_NOFOLLOW) == -1) {
			warn("%s: making the new link", e->canon);
			(void)unlinkat(dfd, tmp, 0);
			return -1;
		}
		fault("temp-fsync", idx);
		return 0;
	}
	fault("temp-write", idx);
	fault("temp-fsync", idx);
	return 0;
}

static int
name_backup(struct txn *t, int bfd)
{
	struct tm	 tm;
	struct stat	 st;
	char		 stamp[32];
	int		 i;

	if (gmtime_r(&t->now, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0) {
		warnx("bad time for the backup name");
		return -1;
	}
	for (i = 0; i < 100; i++) {
		if (i == 0)
			(void)xsnprintf(t->backup, sizeof(t->backup), "%s",
			    stamp);
		else
			(void)xsnprintf(t->backup, sizeof(t->backup),
			    "%s-%02d", stamp, i);
		if (fstatat(bfd, t->backup, &st, AT_SYMLINK_NOFOLLOW) == -1 &&
		    errno == ENOENT)
			return 0;
	}
	warnx("%s: too many backups named %s", TXN_BACKUPS, stamp);
	return -1;
}

static int	 backup_names(int, char ***, size_t *);
static void	 names_free(char **, size_t);

/*
 * The next sequence number: backups are ordered by it, not by their
 * names, which come from a clock that may be wrong (or --now).
 */
static unsigned long
next_seq(int bfd)
{
	struct manifest	 m;
	char		**names = NULL, why[PATH_MAX + 128];
	size_t		 i, n = 0;
	unsigned long	 max = 0;
	int		 bdfd;

	if (backup_names(bfd, &names, &n) == -1)
		return 1;
	for (i = 0; i < n; i++) {
		if ((bdfd = openat(bfd, names[i], O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) == -1)
			continue;
		if (manifest_load(bdfd, names[i], &m, 0, why,
		    sizeof(why)) == 0) {
			if (m.seq > max)
				max = m.seq;
			manifest_free(&m);
		}
		close(bdfd);
	}
	names_free(names, n);
	return max + 1;
}

/* The core of txn_commit, after txn_check said yes. */
static int
apply(struct txn *t)
{
	struct journal	 j;
	struct manifest	 m = { "", 0, NULL, 0 };
	struct buf	 mt = { NULL, 0 };
	char		 base[NAME_MAX + 1], tmp[NAME_MAX + 1];
	char		 tmp2[NAME_MAX + 1];
	int		 kfd = -1, bfd = -1, bdfd = -1, *dfds = NULL;
	int		 stage = 0, rc = -1;
	size_t		 i, k, tries;
	struct stat	 st;

	memset(&j, 0, sizeof(j));
	(void)xsnprintf(j.kind, sizeof(j.kind), "%s", t->rollback ?
	    "rollback" : "commit");
	(void)xsnprintf(m.kind, sizeof(m.kind), "%s", j.kind);
	dfds = xcalloc(t->n + 1, sizeof(*dfds));
	for (i = 0; i < t->n; i++)
		dfds[i] = -1;
	/* our directories appear only now that the change is known to fit */
	if (ensure_dirs(&t->root) == -1)
		goto out;
	if ((kfd = open_node_dir(&t->root, TXN_DIR)) == -1) {
		warn("%s", TXN_DIR);
		goto out;
	}
	if ((bfd = open_node_dir(&t->root, TXN_BACKUPS)) == -1) {
		warn("%s", TXN_BACKUPS);
		goto out;
	}
	if (name_backup(t, bfd) == -1)
		goto out;
	m.seq = next_seq(bfd);
	memcpy(j.backup, t->backup, sizeof(j.backup));
	j.n = t->n;
	j.ents = xcalloc(t->n + 1, sizeof(*j.ents));
	m.n = 0;
	m.ents = xcalloc(t->n + 1, sizeof(*m.ents));

	/* Open every directory, pick temp names nobody uses. */
	for (i = 0; i < t->n; i++) {
		struct jent *je = &j.ents[i];

		if ((dfds[i] = open_parent(&t->root, t->ents[i].canon, base,
		    sizeof(base))) == -1)
			goto out;
		je->kind = t->ents[i].kind;
		memcpy(je->canon, t->ents[i].canon, sizeof(je->canon));
		if (je->kind == K_ABSENT)
			continue;
		sha_hex(t->ents[i].data.data, t->ents[i].data.len, je->sha);
		for (tries = 0; tries < 100; tries++) {
			random_suffix(je->suffix);
			if (tmp_name(tmp, sizeof(tmp), base, je->suffix,
			    0) == -1 || tmp_name(tmp2, sizeof(tmp2), base,
			    je->suffix, 1) == -1)
				goto out;
			for (k = 0; k < i; k++)
				if (strcmp(j.ents[k].suffix, je->suffix) == 0)
					break;
			if (k == i && fstatat(dfds[i], tmp, &st,
			    AT_SYMLINK_NOFOLLOW) == -1 && errno == ENOENT &&
			    fstatat(dfds[i], tmp2, &st,
			    AT_SYMLINK_NOFOLLOW) == -1 && errno == ENOENT)
				break;
		}
		if (tries == 100) {
			warnx("%s: cannot find a free temp name", je->canon);
			goto out;
		}
	}

	/* 1. journal, staging */
	if (journal_write(kfd, &j, "staging", "journal-staging") == -1)
		goto out;
	stage = 1;

	/* 2. backup */
	fault("backup-dir", 0);
	if (mkdirat(bfd, t->backup, 0700) == -1 || fsync(bfd) == -1 ||
	    (bdfd = openat(bfd, t->backup, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1) {
		warn("%s/%s", TXN_BACKUPS, t->backup);
		goto out;
	}
	for (i = 0; i < t->n; i++) {
		if (split_path(t->ents[i].canon, tmp, sizeof(tmp), base,
		    sizeof(base)) == -1)
			goto out;
		if (backup_entry(&t->ents[i], dfds[i], base, bdfd, &m.ents[i],
		    i + 1) == -1)
			goto out;
		m.n++;
	}
	manifest_text(&m, t->version, t->now, &mt);
	if (write_atomic_at(bdfd, "manifest", &mt, "backup-manifest") == -1 ||
	    fsync(bdfd) == -1) {
		warn("%s/%s/manifest", TXN_BACKUPS, t->backup);
		goto out;
	}

	/* 3. temps */
	for (i = 0; i < t->n; i++) {
		if (split_path(t->ents[i].canon, tmp, sizeof(tmp), base,
		    sizeof(base)) == -1)
			goto out;
		if (tmp_name(tmp, sizeof(tmp), base, j.ents[i].suffix,
		    0) == -1)
			goto out;
		if (make_temp(&t->ents[i], dfds[i], tmp, i + 1) == -1)
			goto out;
	}

	/* 4. journal, prepared: from here on the change is decided */
	if (journal_write(kfd, &j, "prepared", "journal-prepared") == -1)
		goto out;
	stage = 2;

	/* 5. renames */
	for (i = 0; i < t->n; i++) {
		if (split_path(t->ents[i].canon, tmp, sizeof(tmp), base,
		    sizeof(base)) == -1)
			goto out;
		fault("rename", i + 1);
		if (t->ents[i].kind == K_ABSENT) {
			if (unlink_quiet(dfds[i], base) == -1) {
				warn("%s", t->ents[i].canon);
				goto out;
			}
			continue;
		}
		if (tmp_name(tmp, sizeof(tmp), base, j.ents[i].suffix,
		    0) == -1)
			goto out;
		if (renameat(dfds[i], tmp, dfds[i], base) == -1) {
			warn("%s", t->ents[i].canon);
			goto out;
		}
	}

	/* 6. directories */
	fault("dirsync", 0);
	for (i = 0; i < t->n; i++)
		if (fsync(dfds[i]) == -1) {
			warn("%s: fsync of its directory", t->ents[i].canon);
			goto out;
		}

	/* 7. done */
	if (journal_clear(kfd, "journal-done") == -1)
		goto out;
	stage = 0;
	fault("done", 0);
	rc = 0;
out:
	if (stage == 1) {
		if (abandon(&t->root, kfd, &j) == -1)
			warnx("could not clean up; the next krescue run will");
		else
			warnx("nothing was changed");
	} else if (stage == 2) {
		if (undo(&t->root, kfd, &j) == -1)
			warnx("the change is half done and could not be "
			    "undone; the next krescue run (or `krescue "
			    "rollback`) finishes it from %s", TXN_JOURNAL);
		else
			warnx("the change was undone; the old files are back");
	}
	for (i = 0; i < t->n; i++)
		if (dfds[i] != -1)
			close(dfds[i]);
	free(dfds);
	if (bdfd != -1)
		close(bdfd);
	if (bfd != -1)
		close(bfd);
	if (kfd != -1)
		close(kfd);
	manifest_free(&m);
	journal_free(&j);
	buf_free(&mt);
	return rc;
}

int
txn_commit(struct txn *t, char *backup, size_t bsz)
{
	char	 why[PATH_MAX + 256];

	if (txn_check(t, why, sizeof(why)) == -1) {
		warnx("%s", why);
		return -1;
	}
	if (apply(t) == -1)
		return -1;
	if (backup != NULL && xsnprintf(backup, bsz, "%s/%s", TXN_BACKUPS,
	    t->backup) == -1)
		return -1;
	return 0;
}

void
txn_free(struct txn *t)
{
	size_t	 i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++) {
		buf_free(&t->ents[i].data);
		free(t->ents[i].path);
	}
	free(t->ents);
	free(t->version);
	if (t->lockfd != -1)
		lock_release(t->lockfd);
	wipe(t, sizeof(*t));
	free(t);
}

int
txn_recover(const struct root *r, int *recovered)
{
	char	 host[PATH_MAX];
	int	 lockfd, kfd, rc;

	*recovered = TXN_RECOVER_NONE;
	if (root_resolve(r, TXN_DIR, 0, host, sizeof(host)) == -1) {
		if (errno == ENOENT)
			return 0;	/* krescue never wrote here */
		warn("%s", TXN_DIR);
		return -1;
	}
	if ((lockfd = lock_take(r, &kfd)) == -1)
		return -1;
	rc = kfd != -1 ? recover_locked(r, kfd, recovered) : 0;
	if (kfd != -1)
		close(kfd);
	lock_release(lockfd);
	return rc;
}

/* Backup names are ours: digits, letters, '-'; no dots, no slashes. */
static int
backup_name_ok(const char *s)
{
	return *s != '\0' && strlen(s) < TXN_NAMELEN &&
	    strspn(s, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz-") == strlen(s);
}

static int
namecmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every backup name, sorted (oldest first). */
static int
backup_names(int bfd, char ***out, size_t *n)
{
	DIR		*d;
	struct dirent	*de;
	int		 fd;

	*out = NULL;
	*n = 0;
	if ((fd = dup(bfd)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (!backup_name_ok(de->d_name))
			continue;
		*out = xrealloc(*out, *n + 1, sizeof(**out));
		(*out)[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (*n > 0)
		qsort(*out, *n, sizeof(**out), namecmp);
	return 0;
}

static void
names_free(char **names, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int
txn_list_backups(const struct root *r, FILE *fp)
{
	struct manifest	 m;
	char		**names = NULL, why[PATH_MAX + 128];
	size_t		 i, n = 0;
	int		 bfd, bdfd, rc = -1;

	if ((bfd = open_node_dir(r, TXN_BACKUPS)) == -1) {
		if (errno == ENOENT)
			return 0;
		warn("%s", TXN_BACKUPS);
		return -1;
	}
	if (backup_names(bfd, &names, &n) == -1) {
		warn("%s", TXN_BACKUPS);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((bdfd = openat(bfd, names[i], O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) == -1)
			continue;
		if (manifest_load(bdfd, names[i], &m, 1, why,
		    sizeof(why)) == 0) {
			fprintf(fp, "%s\t%s\t%zu\tok\n", names[i], m.kind, m.n);
			manifest_free(&m);
		} else if (manifest_load(bdfd, names[i], &m, 0, why,
		    sizeof(why)) == 0) {
			fprintf(fp, "%s\t%s\t%zu\tcorrupt\n", names[i], m.kind,
			    m.n);
			manifest_free(&m);
		} else
			fprintf(fp, "%s\t?\t0\t%s\n", names[i],
			    faccessat(bdfd, "manifest", F_OK,
			    AT_SYMLINK_NOFOLLOW) == 0 ? "corrupt" :
			    "incomplete");
		close(bdfd);
	}
	rc = (int)n;
out:
	names_free(names, n);
	close(bfd);
	return rc;
}

/* The newest (highest seq) complete backup of kind commit. */
static int
backup_latest(int bfd, char *out, size_t sz)
{
	struct manifest	 m;
	char		**names = NULL, why[PATH_MAX + 128];
	size_t		 i, n = 0;
	unsigned long	 best = 0;
	int		 bdfd, found = 0;

	if (backup_names(bfd, &names, &n) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if ((bdfd = openat(bfd, names[i], O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) == -1)
			continue;
		if (manifest_load(bdfd, names[i], &m, 0, why,
		    sizeof(why)) == 0) {
			if (strcmp(m.kind, "commit") == 0 && m.seq >= best &&
			    xsnprintf(out, sz, "%s", names[i]) == 0) {
				best = m.seq;
				found = 1;
			}
			manifest_free(&m);
		}
		close(bdfd);
	}
	names_free(names, n);
	return found ? 0 : -1;
}

int
txn_rollback(const struct root *r, const char *which, char *why,
    size_t whysz)
{
	struct manifest	 m = { "", 0, NULL, 0 };
	struct txn	*t = NULL;
	struct entry	*e;
	char		 name[TXN_NAMELEN], what[PATH_MAX + 128];
	char		 host[PATH_MAX];
	size_t		 i;
	int		 lockfd = -1, kfd = -1, bfd = -1, bdfd = -1, rec;
	int		 rc = -1, err = EINVAL;

	why[0] = '\0';
	if ((lockfd = lock_take(r, &kfd)) == -1) {
		err = errno == EWOULDBLOCK ? EWOULDBLOCK : EIO;
		(void)xsnprintf(why, whysz, "%s", err == EWOULDBLOCK ?
		    "another krescue is running" : "cannot take the lock");
		errno = err;
		return -1;
	}
	if (root_resolve(r, TXN_BACKUPS, 0, host, sizeof(host)) == -1) {
		(void)xsnprintf(why, whysz, "no backups: %s: %s", TXN_BACKUPS,
		    strerror(errno));
		goto out;
	}
	if (kfd != -1 && recover_locked(r, kfd, &rec) == -1) {
		err = EIO;
		(void)xsnprintf(why, whysz, "an interrupted change could not "
		    "be recovered");
		goto out;
	}
	if ((bfd = open_node_dir(r, TXN_BACKUPS)) == -1) {
		(void)xsnprintf(why, whysz, "%s: %s", TXN_BACKUPS,
		    strerror(errno));
		goto out;
	}
	if (which == NULL) {
		if (backup_latest(bfd, name, sizeof(name)) == -1) {
			(void)xsnprintf(why, whysz, "no complete backup in %s "
			    "to roll back to", TXN_BACKUPS);
			goto out;
		}
	} else {
		if (strncmp(which, TXN_BACKUPS "/",
		    sizeof(TXN_BACKUPS)) == 0)
			which += sizeof(TXN_BACKUPS);
		if (!backup_name_ok(which) || xsnprintf(name, sizeof(name),
		    "%s", which) == -1) {
			(void)xsnprintf(why, whysz, "%s: not a backup name",
			    which);
			goto out;
		}
	}
	if ((bdfd = openat(bfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		(void)xsnprintf(why, whysz, "%s/%s: %s", TXN_BACKUPS, name,
		    strerror(errno));
		goto out;
	}
	if (manifest_load(bdfd, name, &m, 1, what, sizeof(what)) == -1) {
		(void)xsnprintf(why, whysz, "backup %s is corrupt, refusing "
		    "to restore it: %s", name, what);
		goto out;
	}
	t = txn_new(r, KRESCUE_VERSION, time(NULL), lockfd);
	lockfd = -1;
	t->rollback = 1;
	for (i = 0; i < m.n; i++) {
		if ((e = add_entry(t, m.ents[i].canon, m.ents[i].kind)) ==
		    NULL) {
			(void)xsnprintf(why, whysz, "%s: cannot restore",
			    m.ents[i].canon);
			goto out;
		}
		if (m.ents[i].kind == K_ABSENT)
			continue;
		buf_set(&e->data, m.ents[i].data.data, m.ents[i].data.len);
		e->mode = m.ents[i].mode;
		e->has_owner = 1;
		e->uid = m.ents[i].uid;
		e->gid = m.ents[i].gid;
	}
	if (txn_check(t, what, sizeof(what)) == -1) {
		(void)xsnprintf(why, whysz, "%s", what);
		goto out;
	}
	if (apply(t) == -1) {
		err = EIO;
		(void)xsnprintf(why, whysz, "restoring backup %s failed",
		    name);
		goto out;
	}
	rc = 0;
out:
	manifest_free(&m);
	txn_free(t);
	errno = rc == 0 ? 0 : err;
	if (bdfd != -1)
		close(bdfd);
	if (bfd != -1)
		close(bfd);
	if (kfd != -1)
		close(kfd);
	if (lockfd != -1)
		lock_release(lockfd);
	return rc;
}
