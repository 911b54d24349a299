/*
 * unit.h: the tiny unit-test harness.  Each check prints one line,
 * "PASS name" or "FAIL name: why", which tests/run.sh counts; the
 * program exits non-zero when any check failed.
 */
#ifndef KRESCUE_UNIT_H
#define KRESCUE_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_failed;

#define UNIT_PREFIX(file) (strrchr(file, '/') ? strrchr(file, '/') + 1 : file)

#define CHECK(name, cond) do {						\
	if (cond)							\
		printf("PASS %s: %s\n", UNIT_PREFIX(__FILE__), name);	\
	else {								\
		printf("FAIL %s: %s (%s, line %d)\n",			\
		    UNIT_PREFIX(__FILE__), name, #cond, __LINE__);	\
		unit_failed = 1;					\
	}								\
} while (0)

#define CHECK_STR(name, got, want) do {					\
	const char *g_ = (got), *w_ = (want);				\
	if (g_ != NULL && strcmp(g_, w_) == 0)				\
		printf("PASS %s: %s\n", UNIT_PREFIX(__FILE__), name);	\
	else {								\
		printf("FAIL %s: %s: got \"%s\", want \"%s\" (line %d)\n",	\
		    UNIT_PREFIX(__FILE__), name, g_ ? g_ : "(null)", w_,	\
		    __LINE__);						\
		unit_failed = 1;					\
	}								\
} while (0)

#define UNIT_DONE() return unit_failed ? 1 : 0

#ifdef KRESCUE_EXTERN_H
/* A whole file into a NUL-terminated buffer (tests read fixtures). */
static int __attribute__((unused))
unit_slurp(const char *path, struct buf *b)
{
	FILE	*f;
	long	 n;

	buf_free(b);
	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	if (fseek(f, 0, SEEK_END) == -1 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) == -1) {
		fclose(f);
		return -1;
	}
	b->data = xmalloc((size_t)n + 1);
	b->len = fread(b->data, 1, (size_t)n, f);
	b->data[b->len] = '\0';
	fclose(f);
	return b->len == (size_t)n ? 0 : -1;
}
#endif

#endif /* KRESCUE_UNIT_H */
