/*
 * test_util.c: durations, RFC 3339 times, kubeadm's date and residual-time
 * formats, base64, version_minor and xsnprintf.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "extern.h"
#include "unit.h"

#define MIN	60LL
#define HOUR	(60 * MIN)
#define DAY	(24 * HOUR)
#define YEAR	(365 * DAY)

static void
test_parse_duration(void)
{
	static const struct {
		const char	*in;
		int64_t		 want;
	} good[] = {
		{ "8760h0m0s",		8760 * HOUR },
		{ "87600h0m0s",		87600 * HOUR },
		{ "30d",		30 * DAY },
		{ "1y",			YEAR },
		{ "1h30m",		HOUR + 30 * MIN },
		{ "0",			0 },
		{ "0s",			0 },
		{ "90s",		90 },
		{ "2h3m4s",		2 * HOUR + 3 * MIN + 4 },
		{ "1y1d",		YEAR + DAY },
		{ "106751991167300d",	106751991167300LL * DAY },
	};
	static const char *bad[] = {
		"",			/* empty */
		"h",			/* unit without a number */
		"10x",			/* unknown unit */
		"-5m",			/* negative */
		"5",			/* number without a unit */
		"00",			/* only "0" may go without a unit */
		"5m ",			/* trailing blank */
		" 5m",			/* leading blank */
		"5mm",			/* doubled unit */
		"1h-30m",		/* sign inside */
		"9223372036854775808s",	/* the number overflows int64 */
		"99999999999999999999s",	/* far too many digits */
		"106751991167301d",	/* the product overflows */
		"9223372036854775807y",	/* the product overflows */
		"9223372036854775807s1s",	/* the sum overflows */
	};
	char	 name[128];
	int64_t	 got;
	size_t	 i;
	int	 rc;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		got = -42;
		rc = parse_duration(good[i].in, &got);
		(void)snprintf(name, sizeof(name), "parse_duration(\"%s\") = "
		    "%lld", good[i].in, (long long)good[i].want);
		CHECK(name, rc == 0 && got == good[i].want);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		(void)snprintf(name, sizeof(name),
		    "parse_duration(\"%s\") fails", bad[i]);
		CHECK(name, parse_duration(bad[i], &got) == -1);
	}
	CHECK("parse_duration(NULL) fails", parse_duration(NULL, &got) == -1);
}

static void
test_parse_rfc3339(void)
{
	static const struct {
		const char	*in;
		long long	 want;
	} good[] = {
		{ "1970-01-01T00:00:00Z",		0 },
		{ "2000-02-29T12:00:00Z",		951825600 },
		{ "2026-11-24T11:41:55Z",		1795520515 },
		{ "2026-11-24t11:41:55z",		1795520515 },
		{ "2026-11-24 11:41:55Z",		1795520515 },
		{ "2026-11-24T11:41:55.5Z",		1795520515 },
		{ "2026-11-24T11:41:55.123456789Z",	1795520515 },
		{ "2026-11-24T12:41:55+01:00",		1795520515 },
		{ "2026-11-24T06:11:55-05:30",		1795520515 },
		{ "2026-11-24T12:41:55.25+01:00",	1795520515 },
		{ "2026-11-24T11:41:55+00:00",		1795520515 },
		{ "2026-11-25T00:41:55+13:00",		1795520515 },
	};
	static const char *bad[] = {
		"",
		"2026-11-24",				/* date only */
		"2026-11-24T11:41Z",			/* no seconds */
		"2026-11-24T11:41:55",			/* no zone */
		"2026-11-24X11:41:55Z",			/* bad separator */
		"2026-13-01T00:00:00Z",			/* month 13 */
		"2026-00-10T00:00:00Z",			/* month 0 */
		"2026-11-32T00:00:00Z",			/* day 32 */
		"2026-11-24T24:00:00Z",			/* hour 24 */
		"2026-11-24T11:60:00Z",			/* minute 60 */
		"2026-11-24T11:41:55.Z",		/* empty fraction */
		"2026-11-24T11:41:55+0100",		/* offset without colon */
		"2026-11-24T11:41:55+01",		/* offset without minutes */
		"2026-11-24T11:41:55Zjunk",		/* trailing text */
		"2026-11-24T11:41:55+01:00junk",	/* trailing text */
		"2026-11-24T11:41:55 UTC",		/* a zone name */
		"next tuesday",
		/* the checks below are RFC 3339 rules the parser must keep too */
		"2026-11-24T-1:41:55Z",			/* negative hour */
		"2026-11-24T11:-1:55Z",			/* negative minute */
		"2026-11-24T11:41:-5Z",			/* negative second */
		"2026-1-24T11:41:55Z",			/* one-digit month */
		"2026-02-30T00:00:00Z",			/* no 30 February */
		"2026-11-24T11:41:55+25:00",		/* offset hour 25 */
	};
	char	 name[128];
	time_t	 got;
	size_t	 i;
	int	 rc;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		got = (time_t)-42;
		rc = parse_rfc3339(good[i].in, &got);
		(void)snprintf(name, sizeof(name), "parse_rfc3339(\"%s\") = %lld",
		    good[i].in, good[i].want);
		CHECK(name, rc == 0 && (long long)got == good[i].want);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		(void)snprintf(name, sizeof(name), "parse_rfc3339(\"%s\") fails",
		    bad[i]);
		CHECK(name, parse_rfc3339(bad[i], &got) == -1);
	}
}

static void
test_formats(void)
{
	static const struct {
		long long	 t;
		const char	*kubeadm;
		const char	*rfc;
	} tab[] = {
		{ 0,		"Jan 01, 1970 00:00 UTC", "1970-01-01T00:00:00Z" },
		{ 1795520515,	"Nov 24, 2026 11:41 UTC", "2026-11-24T11:41:55Z" },
		/* apiserver.crt NotAfter in the v1.28.4 fixture */
		{ 1827056457,	"Nov 24, 2027 11:40 UTC", "2027-11-24T11:40:57Z" },
		{ 951825600,	"Feb 29, 2000 12:00 UTC", "2000-02-29T12:00:00Z" },
		{ 2524607999,	"Dec 31, 2049 23:59 UTC", "2049-12-31T23:59:59Z" },
	};
	char	 buf[64], name[128];
	time_t	 back;
	size_t	 i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		fmt_kubeadm_date((time_t)tab[i].t, buf, sizeof(buf));
		(void)snprintf(name, sizeof(name), "fmt_kubeadm_date(%lld)",
		    tab[i].t);
		CHECK_STR(name, buf, tab[i].kubeadm);
		fmt_rfc3339((time_t)tab[i].t, buf, sizeof(buf));
		(void)snprintf(name, sizeof(name), "fmt_rfc3339(%lld)",
		    tab[i].t);
		CHECK_STR(name, buf, tab[i].rfc);
		(void)snprintf(name, sizeof(name),
		    "parse_rfc3339(fmt_rfc3339(%lld)) round trip", tab[i].t);
		CHECK(name, parse_rfc3339(buf, &back) == 0 &&
		    (long long)back == tab[i].t);
	}
}

/*
 * k8s.io/apimachinery/pkg/util/duration: HumanDuration (kubeadm >= 1.31)
 * and ShortHumanDuration (kubeadm <= 1.30).
 */
static void
test_human_duration(void)
{
	static const struct {
		int64_t		 secs;
		const char	*want;
	} human[] = {
		{ -3600,			"<invalid>" },
		{ -2,				"<invalid>" },
		{ -1,				"0s" },
		{ 0,				"0s" },
		{ 1,				"1s" },
		{ 59,				"59s" },
		{ 60,				"60s" },
		{ 119,				"119s" },
		{ 2 * MIN,			"2m" },
		{ 2 * MIN + 1,			"2m1s" },
		{ 9 * MIN + 59,			"9m59s" },
		{ 10 * MIN,			"10m" },
		{ 10 * MIN + 59,		"10m" },
		{ 179 * MIN + 59,		"179m" },
		{ 3 * HOUR,			"3h" },
		{ 3 * HOUR + MIN,		"3h1m" },
		{ 3 * HOUR + 59,		"3h" },
		{ 7 * HOUR + 59 * MIN,		"7h59m" },
		{ 7 * HOUR + 59 * MIN + 59,	"7h59m" },
		{ 8 * HOUR,			"8h" },
		{ 8 * HOUR + 59 * MIN,		"8h" },
		{ 47 * HOUR + 59 * MIN,		"47h" },
		{ 2 * DAY,			"2d" },
		{ 2 * DAY + HOUR,		"2d1h" },
		{ 7 * DAY + 23 * HOUR,		"7d23h" },
		{ 7 * DAY + 23 * HOUR + 59 * MIN, "7d23h" },
		{ 8 * DAY,			"8d" },
		{ 8 * DAY + 23 * HOUR,		"8d" },
		{ 364 * DAY,			"364d" },
		{ 365 * DAY,			"365d" },
		{ 729 * DAY + 23 * HOUR,	"729d" },
		{ 2 * YEAR,			"2y" },
		{ 2 * YEAR + DAY,		"2y1d" },
		{ 2 * YEAR + DAY + 23 * HOUR,	"2y1d" },
		{ 7 * YEAR + 364 * DAY,		"7y364d" },
		{ 8 * YEAR,			"8y" },
		{ 8 * YEAR + 200 * DAY,		"8y" },
		{ 10 * YEAR,			"10y" },
		{ 10 * YEAR + 2 * DAY,		"10y" },
		{ 100 * YEAR,			"100y" },
	}, shorthd[] = {
		{ -3600,			"<invalid>" },
		{ -2,				"<invalid>" },
		{ -1,				"0s" },
		{ 0,				"0s" },
		{ 59,				"59s" },
		{ 60,				"1m" },
		{ 119,				"1m" },
		{ 59 * MIN + 59,		"59m" },
		{ HOUR,				"1h" },
		{ 23 * HOUR + 59 * MIN,		"23h" },
		{ DAY,				"1d" },
		{ 47 * HOUR,			"1d" },
		{ 364 * DAY + 23 * HOUR,	"364d" },
		{ YEAR,				"1y" },
		{ 2 * YEAR - 1,			"1y" },
		{ 2 * YEAR,			"2y" },
		{ 9 * YEAR + 364 * DAY,		"9y" },
		{ 10 * YEAR,			"10y" },
	}, days[] = {
		{ 364 * DAY,			"364d" },
		{ 2 * HOUR,			"2h" },
		{ -12 * DAY,			"expired 12d ago" },
		{ -30,				"expired 30s ago" },
		{ -2 * YEAR,			"expired 2y ago" },
	};
	char	 buf[64], name[128];
	size_t	 i;

	for (i = 0; i < sizeof(human) / sizeof(human[0]); i++) {
		human_duration(human[i].secs, buf, sizeof(buf));
		(void)snprintf(name, sizeof(name), "human_duration(%lld)",
		    (long long)human[i].secs);
		CHECK_STR(name, buf, human[i].want);
	}
	for (i = 0; i < sizeof(shorthd) / sizeof(shorthd[0]); i++) {
		short_human_duration(shorthd[i].secs, buf, sizeof(buf));
		(void)snprintf(name, sizeof(name), "short_human_duration(%lld)",
		    (long long)shorthd[i].secs);
		CHECK_STR(name, buf, shorthd[i].want);
	}
	for (i = 0; i < sizeof(days) / sizeof(days[0]); i++) {
		fmt_duration_days(days[i].secs, buf, sizeof(buf));
		(void)snprintf(name, sizeof(name), "fmt_duration_days(%lld)",
		    (long long)days[i].secs);
		CHECK_STR(name, buf, days[i].want);
	}
}

static void
test_b64(void)
{
	static const struct {
		const char	*plain, *enc;
	} vec[] = {		/* RFC 4648 section 10 */
		{ "",		"" },
		{ "f",		"Zg==" },
		{ "fo",		"Zm8=" },
		{ "foo",	"Zm9v" },
		{ "foob",	"Zm9vYg==" },
		{ "fooba",	"Zm9vYmE=" },
		{ "foobar",	"Zm9vYmFy" },
	};
	static const char *bad[] = { "Zm9", "Zm9v!", "@@@@", "Zg=a", "Z===" };
	unsigned char	 bin[256];
	struct buf	 b = { NULL, 0 };
	char		*e, name[128];
	size_t		 i, n;
	int		 ok;

	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		e = b64_encode((const unsigned char *)vec[i].plain,
		    strlen(vec[i].plain));
		(void)snprintf(name, sizeof(name), "b64_encode(\"%s\")",
		    vec[i].plain);
		CHECK_STR(name, e, vec[i].enc);
		free(e);
		(void)snprintf(name, sizeof(name), "b64_decode(\"%s\")",
		    vec[i].enc);
		CHECK(name, b64_decode(vec[i].enc, strlen(vec[i].enc), &b) == 0 &&
		    b.len == strlen(vec[i].plain) &&
		    memcmp(b.data, vec[i].plain, b.len) == 0 &&
		    b.data[b.len] == '\0');
		buf_free(&b);
	}

	/* every length 0..255 of binary data survives the round trip */
	for (i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)(i * 37 + 11);
	ok = 1;
	for (n = 0; n <= sizeof(bin); n++) {
		e = b64_encode(bin, n);
		if (strlen(e) != 4 * ((n + 2) / 3) ||
		    b64_decode(e, strlen(e), &b) != 0 || b.len != n ||
		    (n > 0 && memcmp(b.data, bin, n) != 0))
			ok = 0;
		free(e);
		buf_free(&b);
	}
	CHECK("b64 round trip of 0..256 binary bytes", ok);

	/* kubeconfigs wrap nothing, but PEM-ish input may carry blanks */
	CHECK("b64_decode ignores newlines and blanks",
	    b64_decode("Zm9v\nYmFy\r\n ", 12, &b) == 0 && b.len == 6 &&
	    memcmp(b.data, "foobar", 6) == 0);
	buf_free(&b);
	CHECK("b64_decode honours the length argument",
	    b64_decode("Zm9vYmFyZm9v", 8, &b) == 0 && b.len == 6 &&
	    memcmp(b.data, "foobar", 6) == 0);
	buf_free(&b);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		(void)snprintf(name, sizeof(name), "b64_decode(\"%s\") fails",
		    bad[i]);
		CHECK(name, b64_decode(bad[i], strlen(bad[i]), &b) == -1);
		buf_free(&b);
	}

	/* a failed decode leaves the previous contents alone */
	(void)buf_set(&b, "keep", 4);
	CHECK("b64_decode failure keeps the old buffer",
	    b64_decode("!!!!", 4, &b) == -1 && b.len == 4 &&
	    memcmp(b.data, "keep", 5) == 0);
	buf_free(&b);
	CHECK("buf_free empties", b.data == NULL && b.len == 0);
}

static void
test_version_minor(void)
{
	static const struct {
		const char	*in;
		int		 want;
	} tab[] = {
		{ "v1.28.4",		28 },
		{ "1.20",		20 },
		{ "v1.20.2",		20 },
		{ "V1.9",		9 },
		{ "v1.31.0-rc.1",	31 },
		{ "1.0",		0 },
		{ "2.0",		-1 },
		{ "v2.1.0",		-1 },
		{ "1",			-1 },
		{ "v1",			-1 },
		{ "",			-1 },
		{ "latest",		-1 },
		{ "1.-3",		-1 },
	};
	char	 name[128];
	size_t	 i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		(void)snprintf(name, sizeof(name), "version_minor(\"%s\") = %d",
		    tab[i].in, tab[i].want);
		CHECK(name, version_minor(tab[i].in) == tab[i].want);
	}
	CHECK("version_minor(NULL) = -1", version_minor(NULL) == -1);
}

static void
test_xsnprintf(void)
{
	char	 buf[6];

	CHECK("xsnprintf that fits returns 0",
	    xsnprintf(buf, sizeof(buf), "%s", "hello") == 0 &&
	    strcmp(buf, "hello") == 0);
	CHECK("xsnprintf one byte too long returns -1",
	    xsnprintf(buf, sizeof(buf), "%s!", "hello") == -1);
	CHECK("xsnprintf truncated output stays NUL-terminated",
	    memchr(buf, '\0', sizeof(buf)) != NULL);
	CHECK("xsnprintf into 1 byte: only the empty string fits",
	    xsnprintf(buf, 1, "%s", "") == 0 &&
	    xsnprintf(buf, 1, "%d", 7) == -1);
	CHECK("xsnprintf formats numbers",
	    xsnprintf(buf, sizeof(buf), "%d-%d", 12, 34) == 0 &&
	    strcmp(buf, "12-34") == 0);
}

static void
test_buf_set(void)
{
	struct buf	 b = { NULL, 0 };

	(void)buf_set(&b, "abc\0def", 7);
	CHECK("buf_set copies binary data and NUL-terminates",
	    b.len == 7 && memcmp(b.data, "abc\0def", 7) == 0 &&
	    b.data[7] == '\0');
	(void)buf_set(&b, "x", 1);
	CHECK("buf_set replaces", b.len == 1 && strcmp((char *)b.data, "x") == 0);
	buf_free(&b);
}

int
main(void)
{
	test_parse_duration();
	test_parse_rfc3339();
	test_formats();
	test_human_duration();
	test_b64();
	test_version_minor();
	test_xsnprintf();
	test_buf_set();
	UNIT_DONE();
}
