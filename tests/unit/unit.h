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

#endif /* KRESCUE_UNIT_H */
