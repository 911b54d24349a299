/*
 * mkcpio: write a newc cpio archive from a text list, without root.
 *
 *	mkcpio [-t MTIME] < LIST > ARCHIVE
 *
 * One entry per line, fields separated by single spaces, paths without
 * spaces (the leading "/" is dropped in the archive):
 *
 *	dir   PATH MODE
 *	file  PATH MODE SOURCE
 *	slink PATH MODE TARGET
 *	nod   PATH MODE c|b MAJOR MINOR
 *
 * MODE is octal permission bits.  Every entry is owned by 0:0 and gets
 * MTIME (default 0); inode numbers count up from 1 in list order.  The
 * list is written as given: sort it first for a reproducible archive.
 * Blank lines and lines starting with '#' are skipped.
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

static unsigned long	 ino = 1;
static unsigned long	 mtime;
static unsigned long long offset;

static int
out(const void *p, size_t len)
{
	if (len > 0 && fwrite(p, 1, len, stdout) != len) {
		warn("write");
		return -1;
	}
	offset += len;
	return 0;
}

static int
pad(void)
{
	static const char	 zero[4];

	return out(zero, (4 - offset % 4) % 4);
}

/* One header and the name, padded; `name` without a leading '/'. */
static int
header(const char *name, unsigned long mode, unsigned long nlink,
    unsigned long size, unsigned long rmaj, unsigned long rmin,
    unsigned long this_ino)
{
	char	 h[111];
	size_t	 nlen = strlen(name) + 1;
	int	 n;

	n = snprintf(h, sizeof(h),
	    "070701%08lX%08lX%08lX%08lX%08lX%08lX%08lX"
	    "%08lX%08lX%08lX%08lX%08lX%08lX",
	    this_ino, mode, 0UL, 0UL, nlink, mtime, size,
	    0UL, 0UL, rmaj, rmin, (unsigned long)nlen, 0UL);
	if (n != 110) {
		warnx("%s: header does not fit", name);
		return -1;
	}
	if (out(h, 110) == -1 || out(name, nlen) == -1)
		return -1;
	return pad();
}

static int
parse_mode(const char *s, unsigned long *mode)
{
	char	*end;

	errno = 0;
	*mode = strtoul(s, &end, 8);
	if (errno != 0 || *end != '\0' || end == s || *mode > 07777)
		return -1;
	return 0;
}

static int
copy_file(const char *name, unsigned long mode, const char *src)
{
	struct stat	 st;
	char		 buf[65536];
	ssize_t		 n;
	off_t		 left;
	int		 fd, rc = -1;

	if ((fd = open(src, O_RDONLY | O_CLOEXEC)) == -1) {
		warn("%s", src);
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		warn("%s", src);
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > 0xffffffffLL) {
		warnx("%s: not a regular file below 4 GiB", src);
		goto out;
	}
	if (header(name, S_IFREG | mode, 1, (unsigned long)st.st_size, 0, 0,
	    ino++) == -1)
		goto out;
	for (left = st.st_size; left > 0; left -= n) {
		n = read(fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0) {
			warnx("%s: short read", src);
			goto out;
		}
		if (n > left)
			n = left;
		if (out(buf, (size_t)n) == -1)
			goto out;
	}
	rc = pad();
out:
	close(fd);
	return rc;
}

static int
entry(char *line, unsigned long lineno)
{
	char		*f[7], *p = line;
	unsigned long	 mode, maj, min;
	int		 nf = 0;
	const char	*name;

	while (nf < 7 && (f[nf] = strsep(&p, " ")) != NULL)
		nf++;
	if (p != NULL || nf < 3) {
		warnx("line %lu: wrong number of fields", lineno);
		return -1;
	}
	if (parse_mode(f[2], &mode) == -1) {
		warnx("line %lu: bad mode %s", lineno, f[2]);
		return -1;
	}
	for (name = f[1]; *name == '/'; name++)
		;
	if (*name == '\0') {
		warnx("line %lu: empty path", lineno);
		return -1;
	}
	if (strcmp(f[0], "dir") == 0 && nf == 3)
		return header(name, S_IFDIR | mode, 2, 0, 0, 0, ino++);
	if (strcmp(f[0], "file") == 0 && nf == 4)
		return copy_file(name, mode, f[3]);
	if (strcmp(f[0], "slink") == 0 && nf == 4) {
		if (header(name, S_IFLNK | mode, 1, strlen(f[3]), 0, 0,
		    ino++) == -1 || out(f[3], strlen(f[3])) == -1)
			return -1;
		return pad();
	}
	if (strcmp(f[0], "nod") == 0 && nf == 6 &&
	    (strcmp(f[3], "c") == 0 || strcmp(f[3], "b") == 0)) {
		maj = strtoul(f[4], NULL, 10);
		min = strtoul(f[5], NULL, 10);
		return header(name, (f[3][0] == 'c' ? S_IFCHR : S_IFBLK) |
		    mode, 1, 0, maj, min, ino++);
	}
	warnx("line %lu: cannot parse '%s' entry", lineno, f[0]);
	return -1;
}

int
main(int argc, char *argv[])
{
	static const char	 zero[512];
	char			*line = NULL, *end;
	size_t			 cap = 0;
	ssize_t			 len;
	unsigned long		 lineno = 0;
	int			 ch;

	while ((ch = getopt(argc, argv, "t:")) != -1) {
		switch (ch) {
		case 't':
			errno = 0;
			mtime = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || mtime > 0xffffffffUL)
				errx(100, "bad mtime %s", optarg);
			break;
		default:
			fprintf(stderr, "usage: mkcpio [-t MTIME] < LIST\n");
			return 100;
		}
	}
	while ((len = getline(&line, &cap, stdin)) != -1) {
		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		if (entry(line, lineno) == -1)
			return 1;
	}
	free(line);
	if (ferror(stdin))
		err(111, "stdin");
	if (header("TRAILER!!!", 0, 1, 0, 0, 0, 0) == -1 ||
	    out(zero, (512 - offset % 512) % 512) == -1)
		return 111;
	if (fflush(stdout) == EOF)
		err(111, "stdout");
	return 0;
}
