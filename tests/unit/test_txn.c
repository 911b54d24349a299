/*
 * test_txn.c: txn.c against a temporary directory used as --root.
 * Commit, backup + manifest, modes and owners, rollback byte for byte,
 * symlink switch, the lock, and every refusal of txn_check (with the tree
 * hashed before and after: a refusal writes nothing).  The read-only and
 * small file systems are tmpfs mounts; skipped when mount is not allowed.
 */
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/sha256.h>

#include "extern.h"
#include "txn.h"
#include "unit.h"


static char	 top[128];		/* the temp dir */
static char	 rootdir[256];	/* top/root: the node */
static struct root r;

static void
path(char *out, const char *rel)
{
	snprintf(out, PATH_MAX, "%s%s", rootdir, rel);
}

static void
put(const char *rel, const char *data, size_t len, mode_t mode, uid_t uid)
{
	char	 p[PATH_MAX];
	int	 fd;

	path(p, rel);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode)) == -1 ||
	    write(fd, data, len) != (ssize_t)len || fchmod(fd, mode) == -1 ||
	    (geteuid() == 0 && fchown(fd, uid, uid) == -1)) {
		perror(p);
		exit(2);
	}
	close(fd);
}

static void
dir(const char *rel)
{
	char	 p[PATH_MAX];

	path(p, rel);
	if (mkdir(p, 0755) == -1 && errno != EEXIST) {
		perror(p);
		exit(2);
	}
}

static void
link_(const char *target, const char *rel)
{
	char	 p[PATH_MAX];

	path(p, rel);
	if (symlink(target, p) == -1) {
		perror(p);
		exit(2);
	}
}

/* Whole file content (as a string: tests use text). */
static char *
slurp(const char *rel, struct stat *st)
{
	static char	 b[256 * 1024];
	char		 p[PATH_MAX];
	ssize_t		 n;
	int		 fd;

	path(p, rel);
	if (lstat(p, st) == -1)
		return NULL;
	if ((fd = open(p, O_RDONLY | O_NOFOLLOW)) == -1)
		return NULL;
	n = read(fd, b, sizeof(b) - 1);
	close(fd);
	b[n < 0 ? 0 : n] = '\0';
	return b;
}

static const char *
linkof(const char *rel)
{
	static char	 b[PATH_MAX];
	char		 p[PATH_MAX];
	ssize_t		 n;

	path(p, rel);
	if ((n = readlink(p, b, sizeof(b) - 1)) == -1)
		return "(not a link)";
	b[n] = '\0';
	return b;
}

static void
hexsha(const void *p, size_t n, char out[65])
{
	unsigned char	 md[32];
	int		 i;

	mbedtls_sha256(p, n, md, 0);
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Hash a whole tree: names, types, modes, owners, contents, link targets. */
static void
walk(mbedtls_sha256_context *c, const char *host)
{
	char		 p[PATH_MAX], b[4096], meta[128];
	struct dirent	**ents;
	struct stat	 st;
	ssize_t		 n;
	int		 i, k, fd;

	if ((k = scandir(host, &ents, NULL, alphasort)) < 0)
		return;
	for (i = 0; i < k; i++) {
		if (strcmp(ents[i]->d_name, ".") == 0 ||
		    strcmp(ents[i]->d_name, "..") == 0 ||
		    strcmp(ents[i]->d_name, "lock") == 0) {
			free(ents[i]);
			continue;
		}
		snprintf(p, sizeof(p), "%s/%s", host, ents[i]->d_name);
		free(ents[i]);
		if (lstat(p, &st) == -1)
			continue;
		snprintf(meta, sizeof(meta), "|%o|%u|%u|", (unsigned)st.st_mode,
		    (unsigned)st.st_uid, (unsigned)st.st_gid);
		mbedtls_sha256_update(c, (unsigned char *)p, strlen(p));
		mbedtls_sha256_update(c, (unsigned char *)meta, strlen(meta));
		if (S_ISDIR(st.st_mode))
			walk(c, p);
		else if (S_ISLNK(st.st_mode)) {
			if ((n = readlink(p, b, sizeof(b))) > 0)
				mbedtls_sha256_update(c, (unsigned char *)b,
				    (size_t)n);
		} else if (S_ISREG(st.st_mode) &&
		    (fd = open(p, O_RDONLY)) != -1) {
			while ((n = read(fd, b, sizeof(b))) > 0)
				mbedtls_sha256_update(c, (unsigned char *)b,
				    (size_t)n);
			close(fd);
		}
	}
	free(ents);
}

static void
tree_hash(unsigned char out[32])
{
	mbedtls_sha256_context	 c;

	mbedtls_sha256_init(&c);
	mbedtls_sha256_starts(&c, 0);
	walk(&c, rootdir);
	mbedtls_sha256_finish(&c, out);
	mbedtls_sha256_free(&c);
}

static struct buf
mkbuf(const char *s)
{
	struct buf	 b = { NULL, 0 };

	buf_set(&b, s, strlen(s));
	return b;
}

#define OLD_CRT	"-----BEGIN CERTIFICATE-----\nold apiserver\n"
#define OLD_KEY	"-----BEGIN PRIVATE KEY-----\nold key\n"
#define NEW_CRT	"-----BEGIN CERTIFICATE-----\nnew apiserver\n"
#define NEW_KEY	"-----BEGIN PRIVATE KEY-----\nnew key\n"
#define KPKI	"/var/lib/kubelet/pki"
#define L2025	KPKI "/kubelet-client-2025.pem"
#define L2026	KPKI "/kubelet-client-2026.pem"
#define LCUR	KPKI "/kubelet-client-current.pem"

static void
setup(void)
{
	dir("/etc");
	dir("/etc/kubernetes");
	dir("/etc/kubernetes/ssl");
	link_("/etc/kubernetes/ssl", "/etc/kubernetes/pki");
	dir("/var");
	dir("/var/lib");
	dir("/var/lib/kubelet");
	dir(KPKI);
	put("/etc/kubernetes/ssl/apiserver.crt", OLD_CRT, strlen(OLD_CRT),
	    0644, 1000);
	put("/etc/kubernetes/ssl/apiserver.key", OLD_KEY, strlen(OLD_KEY),
	    0600, 0);
	put("/etc/kubernetes/admin.conf", "old conf\n", 9, 0640, 0);
	put(L2025, "old kubelet\n", 12, 0600, 0);
	link_(L2025, LCUR);
}

/* Does the manifest hold a line with this sha256 and this path? */
static int
manifest_has(const char *bkdir, const char *type, const char *sha,
    const char *canon)
{
	char	 p[PATH_MAX], line[PATH_MAX + 256];
	FILE	*fp;
	int	 found = 0;

	snprintf(p, sizeof(p), "%s%s/manifest", rootdir, bkdir);
	if ((fp = fopen(p, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, type, strlen(type)) == 0 &&
		    strstr(line, canon) != NULL &&
		    (sha == NULL || strstr(line, sha) != NULL))
			found = 1;
	}
	fclose(fp);
	return found;
}

static int
no_temps(const char *rel)
{
	char		 p[PATH_MAX];
	DIR		*d;
	struct dirent	*de;
	int		 clean = 1;

	path(p, rel);
	if ((d = opendir(p)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".krescue-") != NULL)
			clean = 0;
	closedir(d);
	return clean;
}

static void
test_commit_and_rollback(void)
{
	struct txn	*t, *t2;
	struct buf	 crt = mkbuf(NEW_CRT), key = mkbuf(NEW_KEY);
	struct buf	 kub = mkbuf("new kubelet\n"), conf = mkbuf("new conf\n");
	struct stat	 st;
	char		 bk[512], why[1024], sha[65], p[PATH_MAX];
	const char	*s;
	int		 rec, rc;
	FILE		*fp;
	char		 listing[4096];
	size_t		 nl;

	CHECK("recover with nothing to do",
	    txn_recover(&r, &rec) == 0 && rec == TXN_RECOVER_NONE);
	t = txn_begin(&r, "test", time(NULL));
	CHECK("txn_begin", t != NULL);
	if (t == NULL)
		return;

	/* the lock: a second krescue is refused */
	errno = 0;
	t2 = txn_begin(&r, "test", time(NULL));
	CHECK("a second txn_begin is refused (lock held)",
	    t2 == NULL && errno == EWOULDBLOCK);
	txn_free(t2);
	CHECK("rollback is refused while the lock is held",
	    txn_rollback(&r, NULL, why, sizeof(why)) == -1 &&
	    strstr(why, "another krescue") != NULL);

	CHECK("bad node paths refused",
	    txn_put_file(t, "etc/relative", &crt, 0644, 0) == -1 &&
	    txn_put_file(t, "/etc/new\nline", &crt, 0644, 0) == -1);
	rc = txn_put_file(t, "/etc/kubernetes/pki/apiserver.crt", &crt, 0644,
	    0);
	rc |= txn_put_file(t, "/etc/kubernetes/pki/apiserver.key", &key,
	    0600, 1);
	rc |= txn_put_file(t, "/etc/kubernetes/admin.conf", &conf,
	    TXN_KEEP_MODE, 1);
	rc |= txn_put_file(t, L2026, &kub, 0600, 1);
	rc |= txn_put_symlink(t, LCUR, L2026);
	CHECK("txn_put_*", rc == 0);
	CHECK("txn_check passes", txn_check(t, why, sizeof(why)) == 0);
	CHECK("txn_commit", txn_commit(t, bk, sizeof(bk)) == 0);
	CHECK("backup is under " TXN_BACKUPS,
	    strncmp(bk, TXN_BACKUPS "/", sizeof(TXN_BACKUPS)) == 0);
	txn_free(t);

	s = slurp("/etc/kubernetes/ssl/apiserver.crt", &st);
	CHECK_STR("new cert content", s, NEW_CRT);
	CHECK("cert mode 0644", (st.st_mode & 07777) == 0644);
	CHECK("cert owner kept", geteuid() != 0 || (st.st_uid == 1000 &&
	    st.st_gid == 1000));
	s = slurp("/etc/kubernetes/ssl/apiserver.key", &st);
	CHECK_STR("new key content", s, NEW_KEY);
	CHECK("key mode 0600", (st.st_mode & 07777) == 0600);
	s = slurp("/etc/kubernetes/admin.conf", &st);
	CHECK_STR("kubeconfig content", s, "new conf\n");
	CHECK("TXN_KEEP_MODE keeps 0640", (st.st_mode & 07777) == 0640);
	s = slurp(L2026, &st);
	CHECK_STR("created file content", s, "new kubelet\n");
	CHECK("created file 0600, owner of its directory",
	    (st.st_mode & 07777) == 0600 && st.st_uid == geteuid());
	CHECK_STR("symlink switched", linkof(LCUR), L2026);
	CHECK("no temp files left", no_temps("/etc/kubernetes/ssl") &&
	    no_temps(KPKI) && no_temps("/etc/kubernetes"));
	path(p, TXN_JOURNAL);
	CHECK("no journal left", access(p, F_OK) == -1 && errno == ENOENT);

	/* the backup: dir 0700, files 0600, manifest sha256 right */
	snprintf(p, sizeof(p), "%s%s", rootdir, bk);
	CHECK("backup dir 0700", stat(p, &st) == 0 &&
	    (st.st_mode & 07777) == 0700);
	snprintf(p, sizeof(p), "%s%s/2", rootdir, bk);
	CHECK("backup of the key 0600", stat(p, &st) == 0 &&
	    (st.st_mode & 07777) == 0600);
	hexsha(OLD_CRT, strlen(OLD_CRT), sha);
	CHECK("manifest: cert sha256, mode, owner", manifest_has(bk,
	    geteuid() == 0 ? "file 0644 1000 1000" : "file 0644", sha,
	    "/etc/kubernetes/ssl/apiserver.crt"));
	hexsha(OLD_KEY, strlen(OLD_KEY), sha);
	CHECK("manifest: key sha256", manifest_has(bk, "file 0600", sha,
	    "/etc/kubernetes/ssl/apiserver.key"));
	hexsha(L2025, strlen(L2025), sha);
	CHECK("manifest: symlink target sha256", manifest_has(bk, "symlink",
	    sha, LCUR));
	CHECK("manifest: created file is absent", manifest_has(bk, "absent",
	    NULL, L2026));

	/* rollback: byte for byte, created file removed, old link */
	CHECK("rollback by a bad name refused",
	    txn_rollback(&r, "../etc", why, sizeof(why)) == -1);
	CHECK("rollback", txn_rollback(&r, NULL, why, sizeof(why)) == 0);
	s = slurp("/etc/kubernetes/ssl/apiserver.crt", &st);
	CHECK_STR("rollback: cert", s, OLD_CRT);
	CHECK("rollback: cert mode and owner", (st.st_mode & 07777) == 0644 &&
	    (geteuid() != 0 || st.st_uid == 1000));
	s = slurp("/etc/kubernetes/ssl/apiserver.key", &st);
	CHECK_STR("rollback: key", s, OLD_KEY);
	CHECK("rollback: key mode", (st.st_mode & 07777) == 0600);
	s = slurp("/etc/kubernetes/admin.conf", &st);
	CHECK_STR("rollback: kubeconfig", s, "old conf\n");
	CHECK("rollback: created file removed", slurp(L2026, &st) == NULL);
	CHECK_STR("rollback: old link target", linkof(LCUR), L2025);
	CHECK("rollback: no temps", no_temps("/etc/kubernetes/ssl") &&
	    no_temps(KPKI));

	/* a second rollback picks the same (commit) backup again */
	CHECK("rollback twice is idempotent",
	    txn_rollback(&r, bk, why, sizeof(why)) == 0 &&
	    strcmp(linkof(LCUR), L2025) == 0);

	fp = fmemopen(listing, sizeof(listing), "w");
	rc = txn_list_backups(&r, fp);
	fclose(fp);
	nl = 0;
	for (s = listing; (s = strchr(s, '\n')) != NULL; s++)
		nl++;
	CHECK("list: 3 backups, all ok", rc == 3 && nl == 3 &&
	    strstr(listing, "\tcommit\t5\tok") != NULL &&
	    strstr(listing, "\trollback\t5\tok") != NULL);

	buf_free(&crt);
	buf_free(&key);
	buf_free(&kub);
	buf_free(&conf);
}

/* A refusal: check says no with `want` in the reason, nothing changes. */
static void
refused(const char *name, struct txn *t, const char *want)
{
	unsigned char	 h1[32], h2[32], h3[32];
	char		 why[1024], msg[256];

	tree_hash(h1);
	snprintf(msg, sizeof(msg), "refused: %s", name);
	CHECK(msg, txn_check(t, why, sizeof(why)) == -1 &&
	    strstr(why, want) != NULL);
	if (strstr(why, want) == NULL)
		printf("# why: %s\n", why);
	tree_hash(h2);
	snprintf(msg, sizeof(msg), "refused: %s: commit fails too", name);
	CHECK(msg, txn_commit(t, NULL, 0) == -1);
	tree_hash(h3);
	snprintf(msg, sizeof(msg), "refused: %s: nothing on disk changed",
	    name);
	CHECK(msg, memcmp(h1, h2, 32) == 0 && memcmp(h1, h3, 32) == 0);
}

static void
test_refusals(void)
{
	struct txn	*t;
	struct buf	 b = mkbuf("x\n"), big = { NULL, 0 };
	char		 p[PATH_MAX], why[1024];
	int		 mounted;

	/* a symlink climbing out of the root */
	snprintf(p, sizeof(p), "%s/outside", top);
	mkdir(p, 0755);
	link_("../../outside", "/etc/escape");
	t = txn_begin(&r, "test", time(NULL));
	txn_put_file(t, "/etc/escape/x.crt", &b, 0644, 0);
	refused("path leaving the root", t, "leaves the root");
	txn_free(t);
	snprintf(p, sizeof(p), "%s/outside/x.crt", top);
	CHECK("nothing written outside the root", access(p, F_OK) == -1);

	t = txn_begin(&r, "test", time(NULL));
	txn_put_symlink(t, "/etc/kubernetes/evil.pem", "../../../../x");
	refused("link target leaving the root", t, "leaves the root");
	txn_free(t);

	t = txn_begin(&r, "test", time(NULL));
	txn_put_file(t, "/etc/nope/x.crt", &b, 0644, 0);
	refused("parent directory missing", t, "does not exist");
	txn_free(t);

	t = txn_begin(&r, "test", time(NULL));
	txn_put_file(t, "/etc/kubernetes/ssl", &b, 0644, 0);
	refused("a directory as target", t, "neither a file");
	txn_free(t);

	t = txn_begin(&r, "test", time(NULL));
	txn_put_file(t, LCUR, &b, 0600, 1);
	refused("a file over a symlink", t, "symbolic link");
	txn_free(t);

	t = txn_begin(&r, "test", time(NULL));
	txn_put_file(t, "/etc/kubernetes/pki/apiserver.crt", &b, 0644, 0);
	txn_put_file(t, "/etc/kubernetes/ssl/apiserver.crt", &b, 0644, 0);
	refused("the same file twice (through a link)", t, "listed twice");
	txn_free(t);

	/* a read-only file system */
	dir("/etc/ro");
	path(p, "/etc/ro");
	mounted = mount("tmpfs", p, "tmpfs", MS_RDONLY, "size=64k") == 0;
	if (!mounted)
		printf("SKIP test_txn.c: read-only file system (mount: %s)\n",
		    strerror(errno));
	else {
		t = txn_begin(&r, "test", time(NULL));
		txn_put_file(t, "/etc/ro/x.crt", &b, 0644, 0);
		refused("read-only file system", t, "read-only");
		txn_free(t);
		umount(p);
	}

	/* a small file system: 64k cannot hold a 200k file */
	dir("/etc/small");
	path(p, "/etc/small");
	mounted = mount("tmpfs", p, "tmpfs", 0, "size=64k") == 0;
	if (!mounted)
		printf("SKIP test_txn.c: small file system (mount: %s)\n",
		    strerror(errno));
	else {
		put("/etc/small/a.crt", "old\n", 4, 0644, 0);
		big.data = xmalloc(200 * 1024 + 1);
		memset(big.data, 'A', 200 * 1024);
		big.len = 200 * 1024;
		t = txn_begin(&r, "test", time(NULL));
		txn_put_file(t, "/etc/small/a.crt", &big, 0644, 0);
		refused("not enough free space", t, "not enough free space");
		txn_free(t);
		/* a change that fits goes through on the same fs */
		t = txn_begin(&r, "test", time(NULL));
		txn_put_file(t, "/etc/small/a.crt", &b, 0644, 0);
		CHECK("a small change on the small fs commits",
		    t != NULL && txn_commit(t, NULL, 0) == 0);
		txn_free(t);
		umount(p);
		buf_free(&big);
	}

	/* a corrupt backup is refused, nothing changes */
	{
		unsigned char h1[32], h2[32];
		char bk[512];
		struct buf nb = mkbuf("newer\n");
		int fd;

		t = txn_begin(&r, "test", time(NULL) + 7200);
		txn_put_file(t, "/etc/kubernetes/admin.conf", &nb, 0600, 1);
		CHECK("commit for the corrupt-backup test",
		    txn_commit(t, bk, sizeof(bk)) == 0);
		txn_free(t);
		snprintf(p, sizeof(p), "%s%s/1", rootdir, bk);
		if ((fd = open(p, O_WRONLY | O_APPEND)) != -1) {
			(void)write(fd, "x", 1);
			close(fd);
		}
		tree_hash(h1);
		CHECK("corrupt backup refused",
		    txn_rollback(&r, bk, why, sizeof(why)) == -1 &&
		    strstr(why, "corrupt") != NULL &&
		    strstr(why, "sha256") != NULL);
		tree_hash(h2);
		CHECK("corrupt backup: nothing changed",
		    memcmp(h1, h2, 32) == 0);
		buf_free(&nb);
	}
	buf_free(&b);
}

/*
 * The default rollback is the newest backup by seq, not by name: a commit
 * made with a clock in 1971 comes after the (corrupt) one named 2 hours
 * ahead by the test above.
 */
static void
test_latest_by_seq(void)
{
	struct txn	*t;
	struct buf	 b = mkbuf("from 1971\n");
	struct stat	 st;
	char		 bk[512], why[1024];
	const char	*s;

	t = txn_begin(&r, "test", 365 * 86400);
	CHECK("commit with a clock in 1971", t != NULL &&
	    txn_put_file(t, "/etc/kubernetes/admin.conf", &b, 0600, 1) == 0 &&
	    txn_commit(t, bk, sizeof(bk)) == 0 &&
	    strstr(bk, "19710101T000000Z") != NULL);
	txn_free(t);
	CHECK("default rollback takes the highest seq, not the newest name",
	    txn_rollback(&r, NULL, why, sizeof(why)) == 0);
	s = slurp("/etc/kubernetes/admin.conf", &st);
	CHECK_STR("rollback by seq restored the content before it", s,
	    "newer\n");
	buf_free(&b);
}

int
main(void)
{
	char	 cmd[PATH_MAX + 32], p[PATH_MAX];

	snprintf(top, sizeof(top), "/tmp/test_txn.XXXXXX");
	if (mkdtemp(top) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(rootdir, sizeof(rootdir), "%s/root", top);
	mkdir(rootdir, 0755);
	setup();
	if (root_open(&r, rootdir) == -1) {
		perror(rootdir);
		return 2;
	}
	test_commit_and_rollback();
	test_refusals();
	test_latest_by_seq();

	path(p, "/etc/ro");
	(void)umount(p);
	path(p, "/etc/small");
	(void)umount(p);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", top);
	UNIT_DONE();
}
