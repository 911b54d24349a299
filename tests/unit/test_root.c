/*
 * test_root.c: node paths resolve inside --root.  A temporary node root
 * holds the traps a mounted disk can hold: an absolute symlink (Kubespray's
 * pki -> /etc/kubernetes/ssl), links climbing out, loops, a FIFO, a
 * directory where a file is expected, an oversized file.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"
#include "unit.h"

static char	 top[256];		/* the node root on the host */

static void
mk(const char *rel, const char *content)
{
	char	 p[PATH_MAX];
	FILE	*f;

	(void)snprintf(p, sizeof(p), "%s/%s", top, rel);
	if ((f = fopen(p, "w")) == NULL) {
		perror(p);
		exit(1);
	}
	fputs(content, f);
	fclose(f);
}

static void
mkd(const char *rel)
{
	char	 p[PATH_MAX];

	(void)snprintf(p, sizeof(p), "%s/%s", top, rel);
	if (mkdir(p, 0755) == -1) {
		perror(p);
		exit(1);
	}
}

static void
ln(const char *target, const char *rel)
{
	char	 p[PATH_MAX];

	(void)snprintf(p, sizeof(p), "%s/%s", top, rel);
	if (symlink(target, p) == -1) {
		perror(p);
		exit(1);
	}
}

static void
build_tree(void)
{
	char	 p[PATH_MAX];
	int	 fd;

	mkd("etc");
	mkd("etc/kubernetes");
	mkd("etc/kubernetes/ssl");
	mkd("var");
	mk("etc/hostname", "node-1\n");
	mk("etc/kubernetes/ssl/ca.crt", "CA-IN-ROOT");
	/* Kubespray: an absolute link meant for the node's own / */
	ln("/etc/kubernetes/ssl", "etc/kubernetes/pki");
	/* relative links that stay inside */
	ln("ssl/ca.crt", "etc/kubernetes/ca-rel.crt");
	ln("../kubernetes/./ssl", "etc/kubernetes/pki-rel");
	ln("../../etc/hostname", "etc/kubernetes/hostname-up");
	/* links that climb above the node's / */
	ln("../../outside", "etc/escape");
	ln("/../etc/hostname", "etc/escape-abs");
	/* loops */
	ln("loop-b", "etc/loop-a");
	ln("loop-a", "etc/loop-b");
	ln("self", "etc/self");
	/* dangling, pointing at an absolute node path */
	ln("/var/lib/absent.pem", "etc/dangling");
	ln("/var/absent.pem", "etc/dangling-last");
	/* a FIFO and an oversized (sparse) file */
	(void)snprintf(p, sizeof(p), "%s/etc/fifo", top);
	if (mkfifo(p, 0600) == -1) {
		perror(p);
		exit(1);
	}
	(void)snprintf(p, sizeof(p), "%s/var/huge", top);
	if ((fd = open(p, O_WRONLY | O_CREAT, 0600)) == -1 ||
	    ftruncate(fd, (off_t)KR_MAXFILE + 1) == -1) {
		perror(p);
		exit(1);
	}
	close(fd);
	mk("var/empty", "");
}

/* Resolve and compare with `want` under the root ("" = expect failure). */
static void
check_resolve(const struct root *r, const char *path, int flags,
    const char *want_rel, int want_errno)
{
	char	 out[PATH_MAX], want[PATH_MAX], name[PATH_MAX + 64];
	int	 rc, e;

	errno = 0;
	rc = root_resolve(r, path, flags, out, sizeof(out));
	e = errno;
	if (want_rel != NULL) {
		(void)snprintf(want, sizeof(want), "%s%s", r->dir, want_rel);
		(void)snprintf(name, sizeof(name), "root_resolve(\"%s\", %d)",
		    path, flags);
		CHECK_STR(name, rc == 0 ? out : "(failed)", want);
	} else {
		(void)snprintf(name, sizeof(name),
		    "root_resolve(\"%s\", %d) fails with %s", path, flags,
		    strerror(want_errno));
		CHECK(name, rc == -1 && e == want_errno);
	}
}

/* root_readfile in a child, so that a blocking open cannot hang the test. */
static int
readfile_in_child(const struct root *r, const char *path, int *err)
{
	struct buf	 b = { NULL, 0 };
	pid_t		 pid;
	int		 st;

	fflush(stdout);
	if ((pid = fork()) == -1)
		return -2;
	if (pid == 0) {
		alarm(3);
		if (root_readfile(r, path, &b, NULL) == 0)
			_exit(0);
		_exit(errno > 0 && errno < 120 ? errno : 120);
	}
	if (waitpid(pid, &st, 0) == -1)
		return -2;
	if (WIFSIGNALED(st)) {
		*err = -WTERMSIG(st);
		return -1;
	}
	*err = WEXITSTATUS(st);
	return WEXITSTATUS(st) == 0 ? 0 : -1;
}

int
main(void)
{
	struct root	 r, slash, bad;
	struct buf	 b = { NULL, 0 };
	struct stat	 st;
	char		 tmpl[] = "/tmp/krescue-root.XXXXXX", path[PATH_MAX];
	char		 link[PATH_MAX], cmd[PATH_MAX + 16], real[PATH_MAX];
	int		 rc, e;

	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	if (realpath(tmpl, real) == NULL || strlen(real) >= sizeof(top)) {
		perror("realpath");
		return 1;
	}
	memcpy(top, real, strlen(real) + 1);
	build_tree();

	/* root_open */
	CHECK("root_open on the temporary root", root_open(&r, tmpl) == 0);
	CHECK_STR("root_open stores the real path", r.dir, top);
	(void)snprintf(path, sizeof(path), "%s/etc/hostname", top);
	errno = 0;
	CHECK("root_open on a file fails with ENOTDIR",
	    root_open(&bad, path) == -1 && errno == ENOTDIR);
	(void)snprintf(path, sizeof(path), "%s/absent", top);
	errno = 0;
	CHECK("root_open on a missing dir fails with ENOENT",
	    root_open(&bad, path) == -1 && errno == ENOENT);
	(void)snprintf(path, sizeof(path), "%s/etc/../", top);
	CHECK("root_open normalises \"root/etc/../\"",
	    root_open(&bad, path) == 0 && strcmp(bad.dir, top) == 0);

	/* plain paths */
	check_resolve(&r, "/etc/hostname", 0, "/etc/hostname", 0);
	check_resolve(&r, "etc/hostname", 0, "/etc/hostname", 0);
	check_resolve(&r, "//etc///./hostname", 0, "/etc/hostname", 0);
	check_resolve(&r, "/var/../etc/hostname", 0, "/etc/hostname", 0);
	check_resolve(&r, "/", 0, "", 0);
	check_resolve(&r, "/etc/", 0, "/etc", 0);

	/* the absolute link resolves inside the root, not on the host */
	check_resolve(&r, "/etc/kubernetes/pki/ca.crt", 0,
	    "/etc/kubernetes/ssl/ca.crt", 0);
	check_resolve(&r, "/etc/kubernetes/pki", 0, "/etc/kubernetes/ssl", 0);
	check_resolve(&r, "/etc/kubernetes/pki/../pki/ca.crt", 0,
	    "/etc/kubernetes/ssl/ca.crt", 0);
	CHECK("root_readfile through the absolute link reads the node's file",
	    root_readfile(&r, "/etc/kubernetes/pki/ca.crt", &b, NULL) == 0 &&
	    b.len == 10 && strcmp((char *)b.data, "CA-IN-ROOT") == 0);
	buf_free(&b);

	/* relative links that stay inside */
	check_resolve(&r, "/etc/kubernetes/ca-rel.crt", 0,
	    "/etc/kubernetes/ssl/ca.crt", 0);
	check_resolve(&r, "/etc/kubernetes/pki-rel/ca.crt", 0,
	    "/etc/kubernetes/ssl/ca.crt", 0);
	check_resolve(&r, "/etc/kubernetes/hostname-up", 0, "/etc/hostname",
	    0);

	/* climbing out */
	check_resolve(&r, "/etc/escape", 0, NULL, EXDEV);
	check_resolve(&r, "/etc/escape", ROOT_MAY_NOT_EXIST, NULL, EXDEV);
	check_resolve(&r, "/etc/escape-abs", 0, NULL, EXDEV);
	check_resolve(&r, "/../etc/hostname", 0, NULL, EXDEV);
	check_resolve(&r, "/etc/../../etc/hostname", 0, NULL, EXDEV);
	CHECK("root_exists is false for a link leaving the root",
	    !root_exists(&r, "/etc/escape"));

	/* loops */
	check_resolve(&r, "/etc/loop-a", 0, NULL, ELOOP);
	check_resolve(&r, "/etc/self", 0, NULL, ELOOP);
	check_resolve(&r, "/etc/self/x", 0, NULL, ELOOP);

	/* missing components */
	check_resolve(&r, "/etc/absent", 0, NULL, ENOENT);
	check_resolve(&r, "/absent/hostname", 0, NULL, ENOENT);
	check_resolve(&r, "/absent/hostname", ROOT_MAY_NOT_EXIST, NULL, ENOENT);
	check_resolve(&r, "/etc/absent", ROOT_MAY_NOT_EXIST, "/etc/absent", 0);
	check_resolve(&r, "/etc/kubernetes/pki/new.crt", ROOT_MAY_NOT_EXIST,
	    "/etc/kubernetes/ssl/new.crt", 0);
	check_resolve(&r, "/etc/dangling", 0, NULL, ENOENT);
	check_resolve(&r, "/etc/dangling", ROOT_MAY_NOT_EXIST, NULL, ENOENT);
	check_resolve(&r, "/etc/dangling-last", 0, NULL, ENOENT);
	check_resolve(&r, "/etc/dangling-last", ROOT_MAY_NOT_EXIST,
	    "/var/absent.pem", 0);
	check_resolve(&r, "/etc/hostname/x", 0, NULL, ENOTDIR);

	/* the last link itself */
	check_resolve(&r, "/etc/kubernetes/pki", ROOT_NOFOLLOW_LAST,
	    "/etc/kubernetes/pki", 0);
	check_resolve(&r, "/etc/loop-a", ROOT_NOFOLLOW_LAST, "/etc/loop-a", 0);
	check_resolve(&r, "/etc/escape", ROOT_NOFOLLOW_LAST, "/etc/escape", 0);
	check_resolve(&r, "/etc/kubernetes/pki/ca.crt", ROOT_NOFOLLOW_LAST,
	    "/etc/kubernetes/ssl/ca.crt", 0);
	CHECK("root_lstat sees the link",
	    root_lstat(&r, "/etc/kubernetes/pki", &st) == 0 &&
	    S_ISLNK(st.st_mode));
	CHECK("root_readlink returns the raw target",
	    root_readlink(&r, "/etc/kubernetes/pki", link, sizeof(link)) == 0 &&
	    strcmp(link, "/etc/kubernetes/ssl") == 0);
	errno = 0;
	CHECK("root_readlink with too small a buffer fails",
	    root_readlink(&r, "/etc/kubernetes/pki", link, 8) == -1 &&
	    errno == ENAMETOOLONG);
	CHECK("root_exists follows the link",
	    root_exists(&r, "/etc/kubernetes/pki/ca.crt"));
	CHECK("root_exists is false for a missing file",
	    !root_exists(&r, "/etc/kubernetes/pki/absent.crt"));

	/* root_readfile */
	memset(&st, 0, sizeof(st));
	rc = root_readfile(&r, "/etc/hostname", &b, &st);
	CHECK("root_readfile reads a plain file",
	    rc == 0 && b.len == 7 && memcmp(b.data, "node-1\n", 7) == 0);
	CHECK("root_readfile NUL-terminates", rc == 0 && b.data[b.len] == '\0');
	CHECK("root_readfile fills the stat", rc == 0 && st.st_size == 7 &&
	    S_ISREG(st.st_mode));
	buf_free(&b);
	CHECK("root_readfile of an empty file",
	    root_readfile(&r, "/var/empty", &b, NULL) == 0 && b.len == 0 &&
	    b.data != NULL && b.data[0] == '\0');
	buf_free(&b);
	errno = 0;
	rc = root_readfile(&r, "/etc/kubernetes/ssl", &b, NULL);
	e = errno;
	CHECK("root_readfile refuses a directory (EISDIR)",
	    rc == -1 && e == EISDIR && b.data == NULL);
	errno = 0;
	rc = root_readfile(&r, "/var/huge", &b, NULL);
	e = errno;
	CHECK("root_readfile refuses a file over KR_MAXFILE (EFBIG)",
	    rc == -1 && e == EFBIG && b.data == NULL);
	errno = 0;
	rc = root_readfile(&r, "/etc/escape", &b, NULL);
	e = errno;
	CHECK("root_readfile refuses a link leaving the root (EXDEV)",
	    rc == -1 && e == EXDEV);
	rc = readfile_in_child(&r, "/etc/fifo", &e);
	CHECK("root_readfile refuses a FIFO promptly (no blocking open)",
	    rc == -1 && e > 0);

	/* root "/" itself */
	CHECK("root_open(\"/\")", root_open(&slash, "/") == 0);
	(void)snprintf(path, sizeof(path), "%s/etc/hostname", top);
	check_resolve(&slash, path, 0, path, 0);
	check_resolve(&slash, "/", 0, "/", 0);
	check_resolve(&slash, "/..", 0, NULL, EXDEV);
	CHECK("root_readfile with root \"/\" reads a host path",
	    root_readfile(&slash, path, &b, NULL) == 0 &&
	    strcmp((char *)b.data, "node-1\n") == 0);
	buf_free(&b);
	/* from "/", an absolute link means the host's own / */
	(void)snprintf(path, sizeof(path), "%s/etc/to-tmp", top);
	if (symlink("/tmp", path) == -1)
		perror(path);
	check_resolve(&slash, path, 0, "/tmp", 0);
	check_resolve(&r, "/etc/to-tmp", ROOT_MAY_NOT_EXIST, "/tmp", 0);

	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", top);
	UNIT_DONE();
}
