/*
 * txn_driver: drives txn.c for tests/faults/txn_faults.sh.
 *
 *   txn_driver steps              every concrete fault step, "<when> <step>"
 *   txn_driver setup ROOT         build the old set in ROOT (an empty dir)
 *   txn_driver commit ROOT        commit the 4-file change (the new set)
 *   txn_driver recover ROOT       txn_recover; prints none|forward|back
 *   txn_driver rollback ROOT      txn_rollback of the newest backup
 *   txn_driver state ROOT         prints old|new|mixed; exit 0 when the tree
 *                                 is exactly the old or the new set and no
 *                                 temp file or journal is left
 *   txn_driver damage ROOT NAME   append a byte to the temp of target NAME
 *
 * The change, with /etc/kubernetes/pki -> /etc/kubernetes/ssl (absolute,
 * Kubespray style) to exercise re-rooting:
 *   1 /etc/kubernetes/pki/apiserver.crt          replaced, 0644, owner kept
 *   2 /etc/kubernetes/pki/apiserver.key          replaced, 0600, secret
 *   3 /var/lib/kubelet/pki/kubelet-client-2026.pem   created, 0600
 *   4 /var/lib/kubelet/pki/kubelet-client-current.pem symlink switched
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "extern.h"
#include "txn.h"

#define SSL	"/etc/kubernetes/ssl"
#define KPKI	"/var/lib/kubelet/pki"
#define L2025	KPKI "/kubelet-client-2025.pem"
#define L2026	KPKI "/kubelet-client-2026.pem"
#define LCUR	KPKI "/kubelet-client-current.pem"


struct want {
	const char	*path;		/* host path below ROOT */
	int		 type;		/* 0 absent, 1 file, 2 link */
	const char	*data;		/* content or link target */
	mode_t		 mode;
	uid_t		 uid;
};

static uid_t	 owner;		/* apiserver.crt's owner: 1000 if root */

static void
mk(const char *root, const char *rel, const char *data, mode_t mode,
    uid_t uid)
{
	char	 p[PATH_MAX];
	int	 fd;

	snprintf(p, sizeof(p), "%s%s", root, rel);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode)) == -1)
		err(1, "%s", p);
	if (write(fd, data, strlen(data)) != (ssize_t)strlen(data))
		err(1, "%s", p);
	if (fchmod(fd, mode) == -1)
		err(1, "%s", p);
	if (geteuid() == 0 && fchown(fd, uid, uid) == -1)
		err(1, "%s", p);
	close(fd);
}

static void
mkd(const char *root, const char *rel)
{
	char	 p[PATH_MAX];

	snprintf(p, sizeof(p), "%s%s", root, rel);
	if (mkdir(p, 0755) == -1 && errno != EEXIST)
		err(1, "%s", p);
}

static void
setup(const char *root)
{
	char	 p[PATH_MAX];

	mkd(root, "/etc");
	mkd(root, "/etc/kubernetes");
	mkd(root, SSL);
	snprintf(p, sizeof(p), "%s/etc/kubernetes/pki", root);
	if (symlink(SSL, p) == -1)
		err(1, "%s", p);
	mkd(root, "/var");
	mkd(root, "/var/lib");
	mkd(root, "/var/lib/kubelet");
	mkd(root, KPKI);
	mk(root, SSL "/apiserver.crt", "OLD CERT\n", 0644, owner);
	mk(root, SSL "/apiserver.key", "OLD KEY\n", 0600, 0);
	mk(root, L2025, "OLD KUBELET\n", 0600, 0);
	snprintf(p, sizeof(p), "%s%s", root, LCUR);
	if (symlink(L2025, p) == -1)
		err(1, "%s", p);
}

/* 0 when the path is as wanted. */
static int
same(const char *root, const struct want *w, char *why, size_t sz)
{
	char		 p[PATH_MAX], buf[256];
	struct stat	 st;
	ssize_t		 n;
	int		 fd;

	snprintf(p, sizeof(p), "%s%s", root, w->path);
	if (lstat(p, &st) == -1) {
		if (w->type == 0)
			return 0;
		snprintf(why, sz, "%s missing", w->path);
		return -1;
	}
	if (w->type == 0) {
		snprintf(why, sz, "%s present", w->path);
		return -1;
	}
	if (w->type == 2) {
		if (!S_ISLNK(st.st_mode) ||
		    (n = readlink(p, buf, sizeof(buf) - 1)) == -1) {
			snprintf(why, sz, "%s not a link", w->path);
			return -1;
		}
		buf[n] = '\0';
	} else {
		if (!S_ISREG(st.st_mode) ||
		    (fd = open(p, O_RDONLY | O_NOFOLLOW)) == -1) {
			snprintf(why, sz, "%s not a file", w->path);
			return -1;
		}
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n < 0)
			n = 0;
		buf[n] = '\0';
		if ((st.st_mode & 07777) != w->mode) {
			snprintf(why, sz, "%s mode %o", w->path,
			    (unsigned)(st.st_mode & 07777));
			return -1;
		}
	}
	if (strcmp(buf, w->data) != 0) {
		snprintf(why, sz, "%s holds \"%s\"", w->path, buf);
		return -1;
	}
	if (geteuid() == 0 && st.st_uid != w->uid) {
		snprintf(why, sz, "%s owner %u", w->path,
		    (unsigned)st.st_uid);
		return -1;
	}
	return 0;
}

/* Temp files or a journal left behind? */
static int
leftovers(const char *root, char *why, size_t sz)
{
	static const char *const dirs[] = { SSL, KPKI };
	char		 p[PATH_MAX];
	DIR		*d;
	struct dirent	*de;
	size_t		 i;

	for (i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s%s", root, dirs[i]);
		if ((d = opendir(p)) == NULL)
			err(1, "%s", p);
		while ((de = readdir(d)) != NULL)
			if (strstr(de->d_name, ".krescue-") != NULL) {
				snprintf(why, sz, "temp left: %s/%s", dirs[i],
				    de->d_name);
				closedir(d);
				return -1;
			}
		closedir(d);
	}
	snprintf(p, sizeof(p), "%s%s", root, TXN_JOURNAL);
	if (access(p, F_OK) == 0) {
		snprintf(why, sz, "journal left");
		return -1;
	}
	return 0;
}

static int
state(const char *root)
{
	const struct want old[] = {
		{ SSL "/apiserver.crt", 1, "OLD CERT\n", 0644, owner },
		{ SSL "/apiserver.key", 1, "OLD KEY\n", 0600, 0 },
		{ L2026, 0, NULL, 0, 0 },
		{ LCUR, 2, L2025, 0, 0 },
		{ L2025, 1, "OLD KUBELET\n", 0600, 0 },
	}, new[] = {
		{ SSL "/apiserver.crt", 1, "NEW CERT\n", 0644, owner },
		{ SSL "/apiserver.key", 1, "NEW KEY\n", 0600, 0 },
		{ L2026, 1, "NEW KUBELET\n", 0600, 0 },
		{ LCUR, 2, L2026, 0, 0 },
		{ L2025, 1, "OLD KUBELET\n", 0600, 0 },
	};
	char	 w1[256] = "", w2[256] = "", w3[256] = "";
	size_t	 i;
	int	 isold = 1, isnew = 1;

	for (i = 0; i < 5; i++) {
		if (isold && same(root, &old[i], w1, sizeof(w1)) == -1)
			isold = 0;
		if (isnew && same(root, &new[i], w2, sizeof(w2)) == -1)
			isnew = 0;
	}
	if (leftovers(root, w3, sizeof(w3)) == -1) {
		printf("%s (%s)\n", isold ? "old" : isnew ? "new" : "mixed",
		    w3);
		return 1;
	}
	if (isold)
		printf("old\n");
	else if (isnew)
		printf("new\n");
	else {
		printf("mixed (not old: %s; not new: %s)\n", w1, w2);
		return 1;
	}
	return 0;
}

static int
commit(const struct root *r)
{
	struct txn	*t;
	struct buf	 crt = { NULL, 0 }, key = { NULL, 0 };
	struct buf	 kub = { NULL, 0 };
	char		 bk[PATH_MAX], why[512];
	int		 rc = 1;

	buf_set(&crt, "NEW CERT\n", 9);
	buf_set(&key, "NEW KEY\n", 8);
	buf_set(&kub, "NEW KUBELET\n", 12);
	if ((t = txn_begin(r, "test", time(NULL))) == NULL)
		goto out;
	if (txn_put_file(t, "/etc/kubernetes/pki/apiserver.crt", &crt, 0644,
	    0) == -1 ||
	    txn_put_file(t, "/etc/kubernetes/pki/apiserver.key", &key, 0600,
	    1) == -1 ||
	    txn_put_file(t, L2026, &kub, 0600, 1) == -1 ||
	    txn_put_symlink(t, LCUR, L2026) == -1)
		goto out;
	if (txn_check(t, why, sizeof(why)) == -1) {
		warnx("check: %s", why);
		goto out;
	}
	if (txn_commit(t, bk, sizeof(bk)) == -1)
		goto out;
	printf("%s\n", bk);
	rc = 0;
out:
	txn_free(t);
	buf_free(&crt);
	buf_free(&key);
	buf_free(&kub);
	return rc;
}

static int
damage(const char *root, const char *name)
{
	static const char *const dirs[] = { SSL, KPKI };
	char		 p[PATH_MAX], pre[NAME_MAX + 1];
	DIR		*d;
	struct dirent	*de;
	size_t		 i;
	int		 fd, done = 0;

	snprintf(pre, sizeof(pre), ".%s.krescue-", name);
	for (i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s%s", root, dirs[i]);
		if ((d = opendir(p)) == NULL)
			err(1, "%s", p);
		while ((de = readdir(d)) != NULL) {
			if (strncmp(de->d_name, pre, strlen(pre)) != 0)
				continue;
			snprintf(p, sizeof(p), "%s%s/%s", root, dirs[i],
			    de->d_name);
			if ((fd = open(p, O_WRONLY | O_APPEND)) == -1)
				err(1, "%s", p);
			if (write(fd, "X", 1) != 1)
				err(1, "%s", p);
			close(fd);
			done = 1;
		}
		closedir(d);
	}
	return done ? 0 : 1;
}

int
main(int argc, char *argv[])
{
	const struct txn_fault	*f;
	struct root		 r;
	char			 why[1024];
	size_t			 i, n, k;
	int			 rec;
	static const char *const when[] = { "commit", "recover", "undo",
	    "abort" };

	owner = geteuid() == 0 ? 1000 : geteuid();
	if (argc == 2 && strcmp(argv[1], "steps") == 0) {
		n = txn_fault_steps(&f);
		for (i = 0; i < n; i++) {
			if (!f[i].per_entry) {
				printf("%s %s\n", when[f[i].when], f[i].name);
				continue;
			}
			for (k = 1; k <= 4; k++)
				printf("%s %s-%zu\n", when[f[i].when],
				    f[i].name, k);
		}
		return 0;
	}
	if (argc < 3)
		errx(100, "usage: txn_driver steps|setup|commit|recover|"
		    "rollback|state|damage ROOT [NAME]");
	if (strcmp(argv[1], "setup") == 0) {
		setup(argv[2]);
		return 0;
	}
	if (strcmp(argv[1], "state") == 0)
		return state(argv[2]);
	if (strcmp(argv[1], "damage") == 0 && argc == 4)
		return damage(argv[2], argv[3]);
	if (root_open(&r, argv[2]) == -1)
		err(1, "%s", argv[2]);
	if (strcmp(argv[1], "commit") == 0)
		return commit(&r);
	if (strcmp(argv[1], "recover") == 0) {
		if (txn_recover(&r, &rec) == -1)
			return 1;
		printf("%s\n", rec == TXN_RECOVER_NONE ? "none" :
		    rec == TXN_RECOVER_FORWARD ? "forward" : "back");
		return 0;
	}
	if (strcmp(argv[1], "rollback") == 0) {
		if (txn_rollback(&r, argc > 3 ? argv[3] : NULL, why,
		    sizeof(why)) == -1) {
			warnx("rollback: %s", why);
			return 1;
		}
		return 0;
	}
	errx(100, "unknown command %s", argv[1]);
}
