/*
 * cli.c: what every verb's option handling shares: usage errors, opening
 * --root, parsing --now.
 */
#include <sys/types.h>

#include <err.h>
#include <getopt.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "extern.h"

int verbose;
int quiet;

void
usage_error(const char *verb, const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "krescue: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (verb != NULL)
		fprintf(stderr, "\ntry 'krescue %s --help'\n", verb);
	else
		fprintf(stderr, "\ntry 'krescue --help'\n");
	exit(KR_USAGE);
}

int
open_root_or_exit(struct root *r, const char *dir)
{
	if (root_open(r, dir) == -1)
		err(KR_IO, "--root %s", dir);
	return 0;
}

time_t
parse_now_or_exit(const char *verb, const char *arg)
{
	time_t	 t;

	if (arg == NULL)
		return time(NULL);
	if (parse_rfc3339(arg, &t) == -1)
		usage_error(verb, "--now %s: not an RFC 3339 time "
		    "(e.g. 2026-11-24T11:41:55Z)", arg);
	return t;
}

/* getopt(3) reported a bad option (opterr is off: we say it our way). */
void
bad_option(const char *verb, int ch, char *argv[])
{
	const char	*arg = argv[optind - 1];

	if (ch == ':')
		usage_error(verb, "%s: option %s needs a value", verb, arg);
	usage_error(verb, "%s: unknown option %s", verb, arg);
}
