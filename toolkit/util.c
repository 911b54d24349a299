/*
 * util.c: memory, bounded formatting, time and duration helpers shared by
 * every module.  Nothing here touches the node's files.
 */
#include <sys/types.h>

#include <ctype.h>
#include <err.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/base64.h>
#include <mbedtls/platform_util.h>

#include "extern.h"

void *
xmalloc(size_t n)
{
	void	*p;

	if ((p = malloc(n == 0 ? 1 : n)) == NULL)
		err(KR_IO, "malloc %zu", n);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size)) == NULL)
		err(KR_IO, "calloc %zu", n);
	return p;
}

void *
xrealloc(void *old, size_t n, size_t size)
{
	void	*p;

	if (size != 0 && n > SIZE_MAX / size)
		errx(KR_IO, "realloc %zu * %zu overflows", n, size);
	if ((p = realloc(old, n * size == 0 ? 1 : n * size)) == NULL)
		err(KR_IO, "realloc %zu", n * size);
	return p;
}

char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		err(KR_IO, "strdup");
	return p;
}

/* The one wrapper every secret goes through on its way out. */
void
wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		mbedtls_platform_zeroize(p, n);
}

void
buf_free(struct buf *b)
{
	if (b->data != NULL) {
		wipe(b->data, b->len);
		free(b->data);
	}
	b->data = NULL;
	b->len = 0;
}

int
buf_set(struct buf *b, const void *p, size_t n)
{
	buf_free(b);
	b->data = xmalloc(n + 1);
	memcpy(b->data, p, n);
	b->data[n] = '\0';
	b->len = n;
	return 0;
}

/*
 * snprintf that treats truncation as an error: returns 0 when everything
 * fit, -1 (with a warning) otherwise.
 */
int
xsnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size) {
		warnx("internal: string too long (%d bytes, room for %zu)",
		    n, size);
		return -1;
	}
	return 0;
}

/*
 * Durations as Go writes them ("8760h0m0s", "30m", "1h30m") plus "d" for
 * days and "y" for 365 days, which operators type: "30d", "1y".
 */
int
parse_duration(const char *s, int64_t *out)
{
	int64_t	 total = 0, n, unit;
	int	 any = 0;

	if (s == NULL || *s == '\0')
		return -1;
	if (strcmp(s, "0") == 0) {
		*out = 0;
		return 0;
	}
	while (*s != '\0') {
		if (!isdigit((unsigned char)*s))
			return -1;
		n = 0;
		while (isdigit((unsigned char)*s)) {
			if (n > (INT64_MAX - 9) / 10)
				return -1;
			n = n * 10 + (*s++ - '0');
		}
		switch (*s) {
		case 's':
			unit = 1;
			break;
		case 'm':
			unit = 60;
			break;
		case 'h':
			unit = 3600;
			break;
		case 'd':
			unit = 86400;
			break;
		case 'y':
			unit = 365 * 86400;
			break;
		default:
			return -1;
		}
		s++;
		if (n > (INT64_MAX - total) / unit)
			return -1;
		total += n * unit;
		any = 1;
	}
	if (!any)
		return -1;
	*out = total;
	return 0;
}

/* n decimal digits at p, or -1 */
static int
digits(const char *p, int n)
{
	int	 v = 0;

	while (n-- > 0) {
		if (!isdigit((unsigned char)*p))
			return -1;
		v = v * 10 + (*p++ - '0');
	}
	return v;
}

/*
 * RFC 3339: 2026-11-24T11:41:55Z, fractions and numeric offsets allowed;
 * exactly two digits per field, and the date must exist.
 */
int
parse_rfc3339(const char *s, time_t *out)
{
	struct tm	 tm, back;
	const char	*p;
	long		 off = 0;
	int		 y, mo, d, h, mi, sec, oh, om;
	time_t		 t;

	if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' ||
	    s[16] != ':')
		return -1;
	if ((y = digits(s, 4)) < 0 || (mo = digits(s + 5, 2)) < 0 ||
	    (d = digits(s + 8, 2)) < 0 || (h = digits(s + 11, 2)) < 0 ||
	    (mi = digits(s + 14, 2)) < 0 || (sec = digits(s + 17, 2)) < 0)
		return -1;
	p = s + 19;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		if (strlen(p) != 6 || p[3] != ':' ||
		    (oh = digits(p + 1, 2)) < 0 || (om = digits(p + 4, 2)) < 0 ||
		    oh > 23 || om > 59)
			return -1;
		off = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
		p += 6;
	} else
		return -1;
	if (*p != '\0')
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 59)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	/* 2026-02-30 normalises to March: not a date */
	if (gmtime_r(&t, &back) == NULL || back.tm_mday != d ||
	    back.tm_mon != mo - 1)
		return -1;
	*out = t - off;
	return 0;
}

void
fmt_rfc3339(time_t t, char *buf, size_t size)
{
	struct tm	 tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)xsnprintf(buf, size, "?");
}

/* Go's "Jan 02, 2006 15:04 MST" layout, always in UTC, as kubeadm prints. */
void
fmt_kubeadm_date(time_t t, char *buf, size_t size)
{
	static const char *mon[] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm	 tm;

	if (gmtime_r(&t, &tm) == NULL) {
		(void)xsnprintf(buf, size, "?");
		return;
	}
	(void)xsnprintf(buf, size, "%s %02d, %04d %02d:%02d UTC",
	    mon[tm.tm_mon], tm.tm_mday, tm.tm_year + 1900, tm.tm_hour,
	    tm.tm_min);
}

/* "3h" or "3h5m": the smaller unit only when it is not zero. */
static void
units2(char *buf, size_t size, int64_t a, const char *ua, int64_t b,
    const char *ub)
{
	if (b == 0)
		(void)xsnprintf(buf, size, "%lld%s", (long long)a, ua);
	else
		(void)xsnprintf(buf, size, "%lld%s%lld%s", (long long)a, ua,
		    (long long)b, ub);
}

/*
 * The residual time as Kubernetes' duration.HumanDuration prints it
 * (kubeadm >= 1.31): precise for short spans, coarse for long ones.
 */
void
human_duration(int64_t secs, char *buf, size_t size)
{
	int64_t	 mins = secs / 60, hours = secs / 3600, days = secs / 86400;

	if (secs < -1)
		(void)xsnprintf(buf, size, "<invalid>");
	else if (secs < 0)
		(void)xsnprintf(buf, size, "0s");
	else if (secs < 120)
		units2(buf, size, secs, "s", 0, "");
	else if (mins < 10)
		units2(buf, size, mins, "m", secs % 60, "s");
	else if (mins < 180)
		units2(buf, size, mins, "m", 0, "");
	else if (hours < 8)
		units2(buf, size, hours, "h", mins % 60, "m");
	else if (hours < 48)
		units2(buf, size, hours, "h", 0, "");
	else if (hours < 24 * 8)
		units2(buf, size, days, "d", hours % 24, "h");
	else if (hours < 24 * 365 * 2)
		units2(buf, size, days, "d", 0, "");
	else if (hours < 24 * 365 * 8)
		units2(buf, size, days / 365, "y", days % 365, "d");
	else
		units2(buf, size, days / 365, "y", 0, "");
}

/* duration.ShortHumanDuration, which kubeadm <= 1.30 prints. */
void
short_human_duration(int64_t secs, char *buf, size_t size)
{
	int64_t	 hours;

	if (secs < -1) {
		(void)xsnprintf(buf, size, "<invalid>");
		return;
	}
	if (secs < 0) {
		(void)xsnprintf(buf, size, "0s");
		return;
	}
	if (secs < 60) {
		(void)xsnprintf(buf, size, "%llds", (long long)secs);
		return;
	}
	if (secs / 60 < 60) {
		(void)xsnprintf(buf, size, "%lldm", (long long)(secs / 60));
		return;
	}
	hours = secs / 3600;
	if (hours < 24) {
		(void)xsnprintf(buf, size, "%lldh", (long long)hours);
		return;
	}
	if (hours < 24 * 365) {
		(void)xsnprintf(buf, size, "%lldd", (long long)(hours / 24));
		return;
	}
	(void)xsnprintf(buf, size, "%lldy", (long long)(hours / 24 / 365));
}

/* A residual for people: "364d", "2h", "expired 12d ago". */
void
fmt_duration_days(int64_t secs, char *buf, size_t size)
{
	char	 tmp[32];

	if (secs < 0) {
		short_human_duration(-secs, tmp, sizeof(tmp));
		(void)xsnprintf(buf, size, "expired %s ago", tmp);
	} else
		short_human_duration(secs, buf, size);
}

/* Decode base64 (whitespace ignored) into a fresh, NUL-terminated buffer. */
int
b64_decode(const char *s, size_t n, struct buf *out)
{
	unsigned char	*clean = NULL, *dst = NULL;
	size_t		 i, m = 0, olen = 0;
	int		 rc = -1;

	clean = xmalloc(n + 1);
	for (i = 0; i < n; i++)
		if (!isspace((unsigned char)s[i]))
			clean[m++] = (unsigned char)s[i];
	dst = xmalloc(m + 1);
	if (mbedtls_base64_decode(dst, m + 1, &olen, clean, m) != 0)
		goto out;
	buf_free(out);
	dst[olen] = '\0';
	out->data = dst;
	out->len = olen;
	dst = NULL;
	rc = 0;
out:
	wipe(clean, n + 1);
	free(clean);
	if (dst != NULL) {
		wipe(dst, m + 1);
		free(dst);
	}
	return rc;
}

char *
b64_encode(const unsigned char *p, size_t n)
{
	char	*dst;
	size_t	 cap, olen = 0;

	cap = 4 * ((n + 2) / 3) + 1;
	dst = xmalloc(cap);
	if (mbedtls_base64_encode((unsigned char *)dst, cap, &olen, p, n) != 0)
		errx(KR_IO, "internal: base64 encoding failed");
	dst[olen] = '\0';
	return dst;
}

/* "v1.28.4" or "1.28" -> 28; -1 when it is not a 1.x version. */
int
version_minor(const char *v)
{
	int	 major, minor;

	if (v == NULL)
		return -1;
	if (*v == 'v' || *v == 'V')
		v++;
	if (sscanf(v, "%d.%d", &major, &minor) != 2 || major != 1 ||
	    minor < 0)
		return -1;
	return minor;
}

/* strerror, but a path that climbed out of --root says so. */
const char *
path_error(int e)
{
	if (e == EXDEV)
		return "a symlink on the way leaves the root";
	return strerror(e);
}

/* A Kubernetes node name: a lower-case RFC 1123 subdomain. */
int
valid_node_name(const char *s)
{
	size_t	 n = strlen(s), i, label = 0;

	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
		if (s[i] == '-' && label == 0)
			return 0;
		if (++label > 63)
			return 0;
	}
	return s[n - 1] != '-' && s[n - 1] != '.';
}
