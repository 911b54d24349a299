/*
 * root.c: every path krescue touches is a path on the node, resolved inside
 * --root.  A rescue system mounts the node's disk somewhere; an absolute
 * symlink on that disk (Kubespray's /etc/kubernetes/pki -> /etc/kubernetes/ssl)
 * means the node's /etc/kubernetes/ssl, never the rescue system's.  So we
 * walk the path ourselves, one component at a time, re-rooting absolute
 * link targets, and refuse a ".." that would climb above the root.
 * The walk is what openat2(RESOLVE_IN_ROOT) does, with one difference on
 * purpose: a link climbing out is an error, not silently clamped.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"

#define ROOT_MAXLINKS	40

int
root_open(struct root *r, const char *dir)
{
	char		 real[PATH_MAX];
	struct stat	 st;

	if (realpath(dir, real) == NULL)
		return -1;
	if (stat(real, &st) == -1)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	if (strcmp(real, "/") == 0)
		real[0] = '\0';		/* so that dir + "/etc" is "/etc" */
	if (xsnprintf(r->dir, sizeof(r->dir), "%s", real) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * Push the components of `path` in front of the pending list `rest`
 * (a '/'-separated string), giving "path/rest".
 */
static int
prepend(char *rest, size_t size, const char *path)
{
	char	 tmp[PATH_MAX];

	if (rest[0] == '\0')
		return xsnprintf(rest, size, "%s", path);
	if (xsnprintf(tmp, sizeof(tmp), "%s/%s", path, rest) == -1)
		return -1;
	return xsnprintf(rest, size, "%s", tmp);
}

/*
 * Resolve the node path `path` to a host path in `out`.
 * Returns 0, or -1 with errno: ENOENT (a component is missing), ELOOP,
 * EXDEV (a link leaves the root), ENAMETOOLONG, ENOTDIR.
 */
int
root_resolve(const struct root *r, const char *path, int flags, char *out,
    size_t outsz)
{
	char		 done[PATH_MAX], rest[PATH_MAX], comp[NAME_MAX + 1];
	char		 host[PATH_MAX], target[PATH_MAX];
	const char	*slash;
	struct stat	 st;
	size_t		 n;
	ssize_t		 tl;
	int		 links = 0, last;

	done[0] = '\0';
	if (xsnprintf(rest, sizeof(rest), "%s", path) == -1)
		goto toolong;

	for (;;) {
		while (rest[0] == '/')
			memmove(rest, rest + 1, strlen(rest));
		if (rest[0] == '\0')
			break;
		slash = strchr(rest, '/');
		n = slash == NULL ? strlen(rest) : (size_t)(slash - rest);
		if (n > NAME_MAX)
			goto toolong;
		memcpy(comp, rest, n);
		comp[n] = '\0';
		memmove(rest, rest + n, strlen(rest + n) + 1);
		while (rest[0] == '/')
			memmove(rest, rest + 1, strlen(rest));
		last = rest[0] == '\0';

		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			char *p;

			if (done[0] == '\0') {
				errno = EXDEV;
				return -1;
			}
			p = strrchr(done, '/');
			*p = '\0';
			continue;
		}
		if (xsnprintf(host, sizeof(host), "%s%s/%s", r->dir, done,
		    comp) == -1)
			goto toolong;
		if (lstat(host, &st) == -1) {
			if (errno == ENOENT && last &&
			    (flags & ROOT_MAY_NOT_EXIST)) {
				if (xsnprintf(done + strlen(done),
				    sizeof(done) - strlen(done), "/%s",
				    comp) == -1)
					goto toolong;
				break;
			}
			return -1;
		}
		if (S_ISLNK(st.st_mode) &&
		    !(last && (flags & ROOT_NOFOLLOW_LAST))) {
			if (++links > ROOT_MAXLINKS) {
				errno = ELOOP;
				return -1;
			}
			tl = readlink(host, target, sizeof(target) - 1);
			if (tl == -1)
				return -1;
			if ((size_t)tl >= sizeof(target) - 1)
				goto toolong;
			target[tl] = '\0';
			if (target[0] == '/')
				done[0] = '\0';	/* absolute: from the node's / */
			if (prepend(rest, sizeof(rest), target) == -1)
				goto toolong;
			continue;
		}
		if (!last && !S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			return -1;
		}
		if (xsnprintf(done + strlen(done), sizeof(done) - strlen(done),
		    "/%s", comp) == -1)
			goto toolong;
	}
	if (xsnprintf(out, outsz, "%s%s", r->dir[0] == '\0' && done[0] ==
	    '\0' ? "/" : r->dir, done) == -1)
		goto toolong;
	return 0;
toolong:
	errno = ENAMETOOLONG;
	return -1;
}

/*
 * Read a whole regular file of the node into memory.  Refuses anything
 * but a regular file and anything larger than KR_MAXFILE.  The buffer is
 * NUL-terminated (not counted in len) and is wiped on free.
 */
int
root_readfile(const struct root *r, const char *path, struct buf *out,
    struct stat *stp)
{
	char		 host[PATH_MAX];
	struct stat	 st;
	unsigned char	*p = NULL;
	size_t		 got = 0;
	ssize_t		 n;
	int		 fd = -1, rc = -1, saved;

	if (root_resolve(r, path, 0, host, sizeof(host)) == -1)
		return -1;
	/* O_NONBLOCK: a FIFO planted on the disk must not hang us */
	if ((fd = open(host, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) ==
	    -1)
		goto out;
	if (fstat(fd, &st) == -1)
		goto out;
	if (!S_ISREG(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		goto out;
	}
	if (st.st_size > KR_MAXFILE) {
		errno = EFBIG;
		goto out;
	}
	p = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		n = read(fd, p + got, (size_t)st.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto out;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	p[got] = '\0';
	buf_free(out);
	out->data = p;
	out->len = got;
	p = NULL;
	if (stp != NULL)
		*stp = st;
	rc = 0;
out:
	saved = errno;
	if (p != NULL) {
		wipe(p, (size_t)st.st_size + 1);
		free(p);
	}
	if (fd != -1)
		close(fd);
	errno = saved;
	return rc;
}

int
root_exists(const struct root *r, const char *path)
{
	char	 host[PATH_MAX];

	return root_resolve(r, path, 0, host, sizeof(host)) == 0;
}

/* lstat of the final component (the link itself when it is one). */
int
root_lstat(const struct root *r, const char *path, struct stat *st)
{
	char	 host[PATH_MAX];

	if (root_resolve(r, path, ROOT_NOFOLLOW_LAST, host, sizeof(host)) ==
	    -1)
		return -1;
	return lstat(host, st);
}

int
root_readlink(const struct root *r, const char *path, char *out,
    size_t outsz)
{
	char	 host[PATH_MAX];
	ssize_t	 n;

	if (root_resolve(r, path, ROOT_NOFOLLOW_LAST, host, sizeof(host)) ==
	    -1)
		return -1;
	if ((n = readlink(host, out, outsz - 1)) == -1)
		return -1;
	if ((size_t)n >= outsz - 1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	out[n] = '\0';
	return 0;
}

/*
 * mkdir -p inside the root: every missing directory of the node path is
 * created with `mode` (exact, umask aside).  Existing ones are left as
 * they are.  Links are followed inside the root, as everywhere.
 */
int
root_mkdirs(const struct root *r, const char *path, mode_t mode)
{
	char		 partial[PATH_MAX], host[PATH_MAX];
	const char	*p = path;
	size_t		 n;

	while (*p != '\0') {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		n = strcspn(p, "/");
		p += n;
		if ((size_t)(p - path) >= sizeof(partial)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(partial, path, (size_t)(p - path));
		partial[p - path] = '\0';
		if (root_resolve(r, partial, ROOT_MAY_NOT_EXIST, host,
		    sizeof(host)) == -1)
			return -1;
		if (mkdir(host, mode) == -1) {
			if (errno != EEXIST)
				return -1;
			continue;
		}
		if (chmod(host, mode) == -1)
			return -1;
	}
	return 0;
}
