/*
 * pki.c: keys and certificates, made the way kubeadm makes them.
 *
 * kubeadm writes certificates with Go's crypto/x509, and Go clients are
 * picky about bytes: a child's issuer must equal its parent's subject DER
 * exactly (CertPool.byName), string types follow encoding/asn1, and the
 * criticality of each extension follows crypto/x509.  mbedTLS's
 * x509write_crt gets several of these different (UTF8String names from
 * strings, critical EKU, non-critical CA:FALSE, no multi-valued RDNs), so
 * the TBSCertificate is assembled here, DER element by DER element, and
 * mbedTLS only hashes, signs and parses it back.
 *
 * No file I/O: callers hand in parsed certificates and keys and get PEM
 * back in a struct buf.
 */
#include <sys/types.h>

#include <arpa/inet.h>

#include <err.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/asn1.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <mbedtls/x509_crt.h>

#include "extern.h"
#include "pki.h"

#define SEQUENCE	(MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)
#define SET		(MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SET)
#define GN_DNS		(MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2)
#define GN_IP		(MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7)
#define OIDLEN(o)	(sizeof(o) - 1)

#define PEM_CRT_BEGIN	"-----BEGIN CERTIFICATE-----\n"
#define PEM_CRT_END	"-----END CERTIFICATE-----\n"

static mbedtls_entropy_context	 entropy;
static mbedtls_ctr_drbg_context	 drbg;
static int			 rng_ready;

/* A growing DER buffer, written front to back.  Holds no secrets. */
struct der {
	unsigned char	*p;
	size_t		 len;
	size_t		 cap;
};

struct dnsname {
	const unsigned char	*p;
	size_t			 len;
};

struct ipaddr {
	unsigned char	 a[16];
	size_t		 len;
};

/* SANs the way kubeadm's RemoveDuplicateAltNames leaves them. */
struct altnames {
	struct dnsname	*dns;
	size_t		 ndns;
	struct ipaddr	*ip;
	size_t		 nip;
};

static void
fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	if (n < 0)
		why[0] = '\0';
	else if ((size_t)n >= whylen && whylen > 4)
		memcpy(why + whylen - 4, "...", 4);	/* say it was cut */
}

int
pki_rng_init(void)
{
	static const char	 pers[] = "krescue pki";
	int			 rc;

	if (rng_ready)
		return 0;
	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	rc = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
	    (const unsigned char *)pers, sizeof(pers) - 1);
	if (rc != 0) {
		warnx("random generator: seeding failed (-0x%04x)",
		    (unsigned int)-rc);
		mbedtls_ctr_drbg_free(&drbg);
		mbedtls_entropy_free(&entropy);
		return -1;
	}
	rng_ready = 1;
	return 0;
}

void
pki_rng_free(void)
{
	pki_pool_free();
	if (!rng_ready)
		return;
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&entropy);
	rng_ready = 0;
}

int
pki_keytype(const mbedtls_pk_context *pk, enum pki_keytype *t)
{
	mbedtls_ecp_group_id	 gid;

	switch (mbedtls_pk_get_type(pk)) {
	case MBEDTLS_PK_RSA:
		switch (mbedtls_pk_get_bitlen(pk)) {
		case 2048:
			*t = PKI_RSA2048;
			return 0;
		case 3072:
			*t = PKI_RSA3072;
			return 0;
		case 4096:
			*t = PKI_RSA4096;
			return 0;
		}
		return -1;
	case MBEDTLS_PK_ECKEY:
	case MBEDTLS_PK_ECDSA:
		gid = mbedtls_ecp_keypair_get_group_id(mbedtls_pk_ec(*pk));
		if (gid == MBEDTLS_ECP_DP_SECP256R1) {
			*t = PKI_EC256;
			return 0;
		}
		if (gid == MBEDTLS_ECP_DP_SECP384R1) {
			*t = PKI_EC384;
			return 0;
		}
		return -1;
	default:
		return -1;
	}
}

static const struct {
	const char		*name;
	enum pki_keytype	 type;
} keytypes[] = {
	{ "RSA-2048",	PKI_RSA2048 },
	{ "RSA-3072",	PKI_RSA3072 },
	{ "RSA-4096",	PKI_RSA4096 },
	{ "ECDSA-P256",	PKI_EC256 },
	{ "ECDSA-P384",	PKI_EC384 },
};

int
pki_keytype_parse(const char *s, enum pki_keytype *t)
{
	size_t	 i;

	if (s == NULL || *s == '\0') {
		*t = PKI_RSA2048;	/* kubeadm's default */
		return 0;
	}
	for (i = 0; i < sizeof(keytypes) / sizeof(keytypes[0]); i++)
		if (strcmp(s, keytypes[i].name) == 0) {
			*t = keytypes[i].type;
			return 0;
		}
	return -1;
}

const char *
pki_keytype_name(enum pki_keytype t)
{
	size_t	 i;

	for (i = 0; i < sizeof(keytypes) / sizeof(keytypes[0]); i++)
		if (keytypes[i].type == t)
			return keytypes[i].name;
	return "unknown";
}

/*
 * Keys made ahead, side by side (pki_prefill), for a caller that knows
 * which it is about to need; pki_genkey hands out one of the type asked.
 */
#define POOL_MAX	LAYOUT_MAXITEMS
static mbedtls_pk_context	 pool[POOL_MAX];
static enum pki_keytype		 pool_type[POOL_MAX];
static unsigned char		 pool_full[POOL_MAX];
static size_t			 pool_n;

int
pki_prefill(const enum pki_keytype *types, size_t n)
{
	size_t	 i;

	pki_pool_free();
	if (n > POOL_MAX)
		n = POOL_MAX;	/* the rest are made when asked for */
	for (i = 0; i < n; i++) {
		pool_type[i] = types[i];
		mbedtls_pk_init(&pool[i]);
	}
	if (pki_genkeys(pool_type, pool, n) == -1)
		return -1;
	for (i = 0; i < n; i++)
		pool_full[i] = 1;
	pool_n = n;
	return 0;
}

void
pki_pool_free(void)
{
	size_t	 i;

	for (i = 0; i < pool_n; i++)
		if (pool_full[i]) {
			mbedtls_pk_free(&pool[i]);	/* wipes */
			pool_full[i] = 0;
		}
	pool_n = 0;
}

int
pki_genkey(enum pki_keytype t, mbedtls_pk_context *pk)
{
	size_t	 i;

	for (i = 0; i < pool_n; i++)
		if (pool_full[i] && pool_type[i] == t) {
			*pk = pool[i];		/* the context moves */
			mbedtls_pk_init(&pool[i]);
			pool_full[i] = 0;
			return 0;
		}
	if (pki_rng_init() == -1)
		return -1;
	return pki_genkey_rng(t, pk, mbedtls_ctr_drbg_random, &drbg);
}

int
pki_genkey_rng(enum pki_keytype t, mbedtls_pk_context *pk,
    int (*f_rng)(void *, unsigned char *, size_t), void *p_rng)
{
	unsigned int		 bits = 0;
	mbedtls_ecp_group_id	 gid = MBEDTLS_ECP_DP_NONE;
	int			 rc;

	switch (t) {
	case PKI_RSA2048:
		bits = 2048;
		break;
	case PKI_RSA3072:
		bits = 3072;
		break;
	case PKI_RSA4096:
		bits = 4096;
		break;
	case PKI_EC256:
		gid = MBEDTLS_ECP_DP_SECP256R1;
		break;
	case PKI_EC384:
		gid = MBEDTLS_ECP_DP_SECP384R1;
		break;
	default:
		warnx("key generation: unknown key type %d", (int)t);
		return -1;
	}
	if (bits != 0) {
		rc = mbedtls_pk_setup(pk,
		    mbedtls_pk_info_from_type(MBEDTLS_PK_RSA));
		if (rc == 0)
			rc = rsa_genkey(mbedtls_pk_rsa(*pk), bits, 65537,
			    f_rng, p_rng);
	} else {
		rc = mbedtls_pk_setup(pk,
		    mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
		if (rc == 0)
			rc = mbedtls_ecp_gen_key(gid, mbedtls_pk_ec(*pk),
			    f_rng, p_rng);
	}
	if (rc != 0) {
		warnx("key generation: %s failed (-0x%04x)",
		    pki_keytype_name(t), (unsigned int)-rc);
		mbedtls_pk_free(pk);
		mbedtls_pk_init(pk);
		return -1;
	}
	return 0;
}

int
pki_key_pem(const mbedtls_pk_context *pk, struct buf *out)
{
	unsigned char	 pem[16384];
	int		 rc, ret = -1;

	if ((rc = mbedtls_pk_write_key_pem(pk, pem, sizeof(pem))) != 0) {
		warnx("private key: PEM encoding failed (-0x%04x)",
		    (unsigned int)-rc);
		goto out;
	}
	buf_set(out, pem, strlen((char *)pem));
	ret = 0;
out:
	wipe(pem, sizeof(pem));
	return ret;
}

int
pki_pubkey_pem(const mbedtls_pk_context *pk, struct buf *out)
{
	unsigned char	 pem[8192];
	int		 rc;

	if ((rc = mbedtls_pk_write_pubkey_pem(pk, pem, sizeof(pem))) != 0) {
		warnx("public key: PEM encoding failed (-0x%04x)",
		    (unsigned int)-rc);
		return -1;
	}
	buf_set(out, pem, strlen((char *)pem));
	return 0;
}

static int
der_to_pem(const unsigned char *der, size_t len, struct buf *out)
{
	unsigned char	*pem;
	size_t		 size, olen = 0;
	int		 rc;

	/* base64 is 4/3, plus a newline per 64 characters and the armour */
	size = len / 3 * 4 + len / 32 + 128;
	pem = xmalloc(size);
	rc = mbedtls_pem_write_buffer(PEM_CRT_BEGIN, PEM_CRT_END, der, len,
	    pem, size, &olen);
	if (rc != 0) {
		warnx("certificate: PEM encoding failed (-0x%04x)",
		    (unsigned int)-rc);
		free(pem);
		return -1;
	}
	buf_set(out, pem, strlen((char *)pem));
	free(pem);
	return 0;
}

int
pki_cert_pem(const mbedtls_x509_crt *crt, struct buf *out)
{
	if (crt == NULL || crt->raw.p == NULL || crt->raw.len == 0) {
		warnx("certificate: nothing to encode");
		return -1;
	}
	return der_to_pem(crt->raw.p, crt->raw.len, out);
}

/*
 * DER building blocks.
 */

static void
der_raw(struct der *d, const void *p, size_t n)
{
	size_t	 cap;

	if (n == 0)
		return;
	if (d->cap - d->len < n) {
		cap = d->cap == 0 ? 256 : d->cap;
		while (cap - d->len < n) {
			if (cap > SIZE_MAX / 2)
				errx(KR_IO, "der: %zu bytes is too much", n);
			cap *= 2;
		}
		d->p = xrealloc(d->p, cap, 1);
		d->cap = cap;
	}
	memcpy(d->p + d->len, p, n);
	d->len += n;
}

/* Tag and definite length, in the shortest form as DER requires. */
static void
der_head(struct der *d, unsigned char tag, size_t n)
{
	unsigned char	 h[6];
	size_t		 i = 0, k, nb;

	h[i++] = tag;
	if (n < 0x80)
		h[i++] = (unsigned char)n;
	else {
		if (n > 0xffffffffUL)
			errx(KR_IO, "der: element of %zu bytes", n);
		for (nb = 1; nb < 4 && (n >> (8 * nb)) != 0; nb++)
			;
		h[i++] = (unsigned char)(0x80 | nb);
		for (k = nb; k > 0; k--)
			h[i++] = (unsigned char)(n >> (8 * (k - 1)));
	}
	der_raw(d, h, i);
}

static void
der_tlv(struct der *d, unsigned char tag, const void *p, size_t n)
{
	der_head(d, tag, n);
	der_raw(d, p, n);
}

static void
der_free(struct der *d)
{
	free(d->p);
	d->p = NULL;
	d->len = d->cap = 0;
}

/* Go's bytes.Compare, which is how encoding/asn1 orders a SET OF. */
static int
bytes_cmp(const unsigned char *a, size_t alen, const unsigned char *b,
    size_t blen)
{
	int	 c;

	if ((c = memcmp(a, b, alen < blen ? alen : blen)) != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static int
der_cmp(const void *a, const void *b)
{
	const struct der	*x = a, *y = b;

	return bytes_cmp(x->p, x->len, y->p, y->len);
}

/* The PrintableString alphabet, as Go's encoding/asn1 isPrintable. */
static int
printable(const char *s)
{
	unsigned char	 c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (c >= '\'' && c <= ')') ||
		    (c >= '+' && c <= '/') || c == ' ' || c == ':' ||
		    c == '=' || c == '?')
			continue;
		return 0;
	}
	return 1;
}

/* Strict UTF-8, as Go's utf8.ValidString: no overlongs, no surrogates. */
static int
utf8_valid(const char *str)
{
	const unsigned char	*s = (const unsigned char *)str;
	unsigned char		 lo, hi;
	int			 n, i;

	while (*s != '\0') {
		lo = 0x80;
		hi = 0xbf;
		if (*s < 0x80) {
			s++;
			continue;
		} else if (*s >= 0xc2 && *s <= 0xdf)
			n = 1;
		else if (*s >= 0xe0 && *s <= 0xef) {
			n = 2;
			if (*s == 0xe0)
				lo = 0xa0;
			else if (*s == 0xed)
				hi = 0x9f;
		} else if (*s >= 0xf0 && *s <= 0xf4) {
			n = 3;
			if (*s == 0xf0)
				lo = 0x90;
			else if (*s == 0xf4)
				hi = 0x8f;
		} else
			return 0;
		if (s[1] < lo || s[1] > hi)
			return 0;
		for (i = 2; i <= n; i++)
			if (s[i] < 0x80 || s[i] > 0xbf)
				return 0;
		s += n + 1;
	}
	return 1;
}

/* AttributeTypeAndValue ::= SEQUENCE { type OID, value DirectoryString } */
static void
der_atv(struct der *d, const char *oid, size_t oidlen, const char *val)
{
	struct der	 in = { 0 };

	der_tlv(&in, MBEDTLS_ASN1_OID, oid, oidlen);
	der_tlv(&in, printable(val) ? MBEDTLS_ASN1_PRINTABLE_STRING :
	    MBEDTLS_ASN1_UTF8_STRING, val, strlen(val));
	der_tlv(d, SEQUENCE, in.p, in.len);
	der_free(&in);
}

/*
 * Name from strings, as Go's pkix.Name.ToRDNSequence: all O values in one
 * RDN (a SET OF, sorted), then CN in its own.
 */
static int
name_der(const struct pki_name *n, struct der *out, char *why,
    size_t whylen)
{
	struct der	 atv[PKI_MAXORG], rdns = { 0 }, set = { 0 };
	int		 i, ret = -1;

	memset(atv, 0, sizeof(atv));
	if (n->norg < 0 || n->norg > PKI_MAXORG) {
		fail(why, whylen, "subject: %d organizations (at most %d)",
		    n->norg, PKI_MAXORG);
		goto out;
	}
	for (i = 0; i < n->norg; i++)
		if (n->org[i] == NULL || !utf8_valid(n->org[i])) {
			fail(why, whylen, "subject: organization %d is not "
			    "valid UTF-8", i + 1);
			goto out;
		}
	if (n->cn != NULL && !utf8_valid(n->cn)) {
		fail(why, whylen, "subject: CN is not valid UTF-8");
		goto out;
	}

	if (n->norg > 0) {
		for (i = 0; i < n->norg; i++)
			der_atv(&atv[i], MBEDTLS_OID_AT_ORGANIZATION,
			    OIDLEN(MBEDTLS_OID_AT_ORGANIZATION), n->org[i]);
		qsort(atv, n->norg, sizeof(atv[0]), der_cmp);
		for (i = 0; i < n->norg; i++)
			der_raw(&set, atv[i].p, atv[i].len);
		der_tlv(&rdns, SET, set.p, set.len);
	}
	if (n->cn != NULL && n->cn[0] != '\0') {
		der_free(&set);
		der_atv(&set, MBEDTLS_OID_AT_CN, OIDLEN(MBEDTLS_OID_AT_CN),
		    n->cn);
		der_tlv(&rdns, SET, set.p, set.len);
	}
	der_tlv(out, SEQUENCE, rdns.p, rdns.len);
	ret = 0;
out:
	for (i = 0; i < PKI_MAXORG; i++)
		der_free(&atv[i]);
	der_free(&rdns);
	der_free(&set);
	return ret;
}

/* UTCTime for 1950..2049, GeneralizedTime otherwise (RFC 5280, Go). */
static int
der_time(struct der *d, time_t t, char *why, size_t whylen)
{
	struct tm	 tm;
	char		 s[32];
	int		 y;

	if (gmtime_r(&t, &tm) == NULL) {
		fail(why, whylen, "time %lld out of range", (long long)t);
		return -1;
	}
	y = tm.tm_year + 1900;
	if (y < 0 || y > 9999) {
		fail(why, whylen, "year %d out of range", y);
		return -1;
	}
	if (y >= 1950 && y < 2050) {
		if (xsnprintf(s, sizeof(s), "%02d%02d%02d%02d%02d%02dZ",
		    y % 100, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec) == -1)
			return -1;
		der_tlv(d, MBEDTLS_ASN1_UTC_TIME, s, strlen(s));
	} else {
		if (xsnprintf(s, sizeof(s), "%04d%02d%02d%02d%02d%02dZ",
		    y, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		    tm.tm_sec) == -1)
			return -1;
		der_tlv(d, MBEDTLS_ASN1_GENERALIZED_TIME, s, strlen(s));
	}
	return 0;
}

/* INTEGER from an unsigned big-endian magnitude. */
static int
der_serial(struct der *d, const unsigned char *p, size_t n, char *why,
    size_t whylen)
{
	unsigned char	 v[21];
	size_t		 off = 0;

	while (n > 0 && *p == 0) {
		p++;
		n--;
	}
	if (n == 0) {
		fail(why, whylen, "serial number must not be zero");
		return -1;
	}
	if (*p & 0x80)
		v[off++] = 0;		/* keep it positive */
	if (off + n > 20) {
		fail(why, whylen, "serial number longer than 20 octets");
		return -1;
	}
	memcpy(v + off, p, n);
	der_tlv(d, MBEDTLS_ASN1_INTEGER, v, off + n);
	return 0;
}

/* kubeadm: crypto/rand.Int(MaxInt64 - 1) + 1, so [1, 2^63 - 1). */
static int
random_serial(unsigned char out[8], char *why, size_t whylen)
{
	unsigned char	 r[8];
	uint64_t	 v;
	int		 i, rc;

	do {
		if ((rc = mbedtls_ctr_drbg_random(&drbg, r, sizeof(r))) != 0) {
			fail(why, whylen, "random serial (-0x%04x)",
			    (unsigned int)-rc);
			return -1;
		}
		r[0] &= 0x7f;
		for (v = 0, i = 0; i < 8; i++)
			v = v << 8 | r[i];
	} while (v >= INT64_MAX - 1);
	v++;
	for (i = 7; i >= 0; i--) {
		out[i] = (unsigned char)v;
		v >>= 8;
	}
	return 0;
}

static void
alt_free(struct altnames *a)
{
	free(a->dns);
	free(a->ip);
	memset(a, 0, sizeof(*a));
}

static int
alt_dns(struct altnames *a, const unsigned char *p, size_t n, char *why,
    size_t whylen)
{
	size_t	 i;

	/* Go refuses a dNSName that is not IA5 (ASCII). */
	for (i = 0; i < n; i++)
		if (p[i] >= 0x80 || p[i] == '\0') {
			fail(why, whylen, "DNS name %.*s is not ASCII",
			    (int)n, (const char *)p);
			return -1;
		}
	a->dns = xrealloc(a->dns, a->ndns + 1, sizeof(a->dns[0]));
	a->dns[a->ndns].p = p;
	a->dns[a->ndns].len = n;
	a->ndns++;
	return 0;
}

static int
alt_ip(struct altnames *a, const unsigned char *p, size_t n, char *why,
    size_t whylen)
{
	static const unsigned char	 v4mapped[12] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
	};
	struct ipaddr			 ip;
	size_t				 i;

	if (n != 4 && n != 16) {
		fail(why, whylen, "IP address of %zu bytes", n);
		return -1;
	}
	/* Go's To4(): an IPv4-mapped IPv6 address is written as IPv4. */
	if (n == 16 && memcmp(p, v4mapped, sizeof(v4mapped)) == 0) {
		p += 12;
		n = 4;
	}
	memset(&ip, 0, sizeof(ip));
	memcpy(ip.a, p, n);
	ip.len = n;
	for (i = 0; i < a->nip; i++)
		if (a->ip[i].len == n && memcmp(a->ip[i].a, p, n) == 0)
			return 0;	/* first one wins */
	a->ip = xrealloc(a->ip, a->nip + 1, sizeof(a->ip[0]));
	a->ip[a->nip++] = ip;
	return 0;
}

static int
alt_iptext(struct altnames *a, const char *s, char *why, size_t whylen)
{
	unsigned char	 b[16];

	if (s != NULL && inet_pton(AF_INET, s, b) == 1)
		return alt_ip(a, b, 4, why, whylen);
	if (s != NULL && inet_pton(AF_INET6, s, b) == 1)
		return alt_ip(a, b, 16, why, whylen);
	fail(why, whylen, "not an IP address: %s", s == NULL ? "(null)" : s);
	return -1;
}

static int
dns_cmp(const void *a, const void *b)
{
	const struct dnsname	*x = a, *y = b;

	return bytes_cmp(x->p, x->len, y->p, y->len);
}

/* DNS names sorted and unique, as sets.List(sets.New(...)). */
static void
alt_sort(struct altnames *a)
{
	size_t	 i, j;

	if (a->ndns < 2)
		return;
	qsort(a->dns, a->ndns, sizeof(a->dns[0]), dns_cmp);
	for (i = 1, j = 1; i < a->ndns; i++)
		if (dns_cmp(&a->dns[i], &a->dns[j - 1]) != 0)
			a->dns[j++] = a->dns[i];
	a->ndns = j;
}

/* GeneralNames: every dNSName, then every iPAddress (Go's marshalSANs). */
static void
alt_der(const struct altnames *a, struct der *out)
{
	struct der	 in = { 0 };
	size_t		 i;

	for (i = 0; i < a->ndns; i++)
		der_tlv(&in, GN_DNS, a->dns[i].p, a->dns[i].len);
	for (i = 0; i < a->nip; i++)
		der_tlv(&in, GN_IP, a->ip[i].a, a->ip[i].len);
	der_tlv(out, SEQUENCE, in.p, in.len);
	der_free(&in);
}

/*
 * Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE,
 *     extnValue OCTET STRING }
 */
static void
der_ext(struct der *exts, const char *oid, size_t oidlen, int critical,
    const unsigned char *val, size_t vallen)
{
	static const unsigned char	 crit[] = { 0x01, 0x01, 0xff };
	struct der			 e = { 0 };

	der_tlv(&e, MBEDTLS_ASN1_OID, oid, oidlen);
	if (critical)
		der_raw(&e, crit, sizeof(crit));
	der_tlv(&e, MBEDTLS_ASN1_OCTET_STRING, val, vallen);
	der_tlv(exts, SEQUENCE, e.p, e.len);
	der_free(&e);
}

/* Go's subject key id: SHA-1 of the subjectPublicKey BIT STRING contents. */
static int
key_id(const mbedtls_pk_context *pk, unsigned char id[20], char *why,
    size_t whylen)
{
	unsigned char	 b[4096], *c = b + sizeof(b);
	int		 n, rc;

	if ((n = mbedtls_pk_write_pubkey(&c, b, pk)) < 0) {
		fail(why, whylen, "public key encoding (-0x%04x)",
		    (unsigned int)-n);
		return -1;
	}
	rc = mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA1), c,
	    (size_t)n, id);
	if (rc != 0) {
		fail(why, whylen, "SHA-1 (-0x%04x)", (unsigned int)-rc);
		return -1;
	}
	return 0;
}

static int
same_pubkey(const mbedtls_pk_context *a, const mbedtls_pk_context *b)
{
	unsigned char	 x[4096], y[4096];
	int		 n, m;

	n = mbedtls_pk_write_pubkey_der(a, x, sizeof(x));
	m = mbedtls_pk_write_pubkey_der(b, y, sizeof(y));
	return n > 0 && n == m &&
	    memcmp(x + sizeof(x) - n, y + sizeof(y) - m, (size_t)n) == 0;
}

/*
 * The extension `oid` of a parsed certificate, as its DER says: 1 when
 * present (criticality and value returned), 0 when absent, -1 when the
 * extensions do not parse.
 */
static int
old_ext(const mbedtls_x509_crt *c, const char *oid, size_t oidlen,
    int *crit, const unsigned char **val, size_t *vallen)
{
	unsigned char	*p, *end, *eend;
	size_t		 len;
	int		 b;

	if (c->v3_ext.p == NULL || c->v3_ext.len == 0)
		return 0;
	p = c->v3_ext.p;
	end = p + c->v3_ext.len;
	if (mbedtls_asn1_get_tag(&p, end, &len, SEQUENCE) != 0)
		return -1;
	end = p + len;
	while (p < end) {
		if (mbedtls_asn1_get_tag(&p, end, &len, SEQUENCE) != 0)
			return -1;
		eend = p + len;
		if (mbedtls_asn1_get_tag(&p, eend, &len, MBEDTLS_ASN1_OID) != 0)
			return -1;
		if (len != oidlen || memcmp(p, oid, oidlen) != 0) {
			p = eend;
			continue;
		}
		p += len;
		b = 0;
		if (p < eend && *p == MBEDTLS_ASN1_BOOLEAN &&
		    mbedtls_asn1_get_bool(&p, eend, &b) != 0)
			return -1;
		if (mbedtls_asn1_get_tag(&p, eend, &len,
		    MBEDTLS_ASN1_OCTET_STRING) != 0)
			return -1;
		*crit = b != 0;
		*val = p;
		*vallen = len;
		return 1;
	}
	return 0;
}

/*
 * Key usage or basic constraints: a renewal keeps the old certificate's
 * extension as it was (present or not, critical or not, same value), as
 * kubeadm 1.20 certificates without basic constraints, the kubelet's
 * DigitalSignature-only key usage and Kubespray's etcd certificates need;
 * a new certificate gets kubeadm's template.
 */
static int
kept_or_template(struct der *exts, const struct pki_spec *spec,
    const char *oid, size_t oidlen, const unsigned char *tmpl,
    size_t tmpllen, char *why, size_t whylen)
{
	const unsigned char	*val;
	size_t			 vallen;
	int			 crit, found;

	if (spec->like == NULL) {
		der_ext(exts, oid, oidlen, 1, tmpl, tmpllen);
		return 0;
	}
	found = old_ext(spec->like, oid, oidlen, &crit, &val, &vallen);
	if (found == -1) {
		fail(why, whylen, "the certificate's extensions do not parse");
		return -1;
	}
	if (found)
		der_ext(exts, oid, oidlen, crit, val, vallen);
	return 0;
}

/*
 * The extensions, in the order crypto/x509's buildCertExtensions writes
 * them: KU, EKU, BC, SKI, AKI, SAN.
 */
static int
extensions_der(const struct pki_spec *spec, const mbedtls_pk_context *key,
    const mbedtls_x509_crt *ca, const struct der *subject,
    const struct der *issuer, struct der *out, char *why, size_t whylen)
{
	/* BIT STRINGs as Go writes them: trailing zero bits unused. */
	static const unsigned char	 ku_leaf[] = { 3, 2, 0x05, 0xa0 };
	static const unsigned char	 ku_ca[] = { 3, 2, 0x02, 0xa4 };
	static const unsigned char	 bc_leaf[] = { 0x30, 0 };
	static const unsigned char	 bc_ca[] = { 0x30, 3, 1, 1, 0xff };
	static const char		 server[] = MBEDTLS_OID_SERVER_AUTH;
	static const char		 client[] = MBEDTLS_OID_CLIENT_AUTH;
	const mbedtls_x509_sequence	*seq;
	const mbedtls_x509_buf		*gn;
	struct altnames			 alt;
	struct der			 exts = { 0 }, v = { 0 }, in = { 0 };
	unsigned char			 id[20];
	int				 i, ret = -1;

	memset(&alt, 0, sizeof(alt));

	if (kept_or_template(&exts, spec, MBEDTLS_OID_KEY_USAGE,
	    OIDLEN(MBEDTLS_OID_KEY_USAGE), spec->is_ca ? ku_ca : ku_leaf,
	    spec->is_ca ? sizeof(ku_ca) : sizeof(ku_leaf), why, whylen) == -1)
		goto out;

	/* Extended key usage, never critical (x509write's would be). */
	if (spec->like != NULL) {
		for (seq = &spec->like->ext_key_usage; seq != NULL;
		    seq = seq->next)
			if (seq->buf.p != NULL && seq->buf.len > 0)
				der_tlv(&in, MBEDTLS_ASN1_OID, seq->buf.p,
				    seq->buf.len);
	} else {
		if (spec->server_auth)
			der_tlv(&in, MBEDTLS_ASN1_OID, server, OIDLEN(server));
		if (spec->client_auth)
			der_tlv(&in, MBEDTLS_ASN1_OID, client, OIDLEN(client));
	}
	if (in.len > 0) {
		der_tlv(&v, SEQUENCE, in.p, in.len);
		der_ext(&exts, MBEDTLS_OID_EXTENDED_KEY_USAGE,
		    OIDLEN(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0, v.p, v.len);
	}

	/* Basic constraints, critical on leaves too (CA:FALSE). */
	if ((spec->is_ca || !spec->legacy) && kept_or_template(&exts, spec, MBEDTLS_OID_BASIC_CONSTRAINTS,
	    OIDLEN(MBEDTLS_OID_BASIC_CONSTRAINTS), spec->is_ca ? bc_ca :
	    bc_leaf, spec->is_ca ? sizeof(bc_ca) : sizeof(bc_leaf), why,
	    whylen) == -1)
		goto out;

	/*
	 * Go makes a subject key id only for CAs.  A CA re-issued with its
	 * old key keeps its old id, so that the AKI of every leaf it signed
	 * still points at it (Go >= 1.25 may have used another method).
	 */
	if (spec->is_ca || (spec->like != NULL &&
	    spec->like->subject_key_id.len > 0)) {
		/*
		 * Leaves renewed from one that had an SKI (Kubespray's
		 * openssl-made etcd certificates) keep one, for the new key.
		 */
		der_free(&v);
		if (spec->like != NULL && spec->like->subject_key_id.len > 0 &&
		    same_pubkey(&spec->like->pk, key))
			der_tlv(&v, MBEDTLS_ASN1_OCTET_STRING,
			    spec->like->subject_key_id.p,
			    spec->like->subject_key_id.len);
		else {
			if (key_id(key, id, why, whylen) == -1)
				goto out;
			der_tlv(&v, MBEDTLS_ASN1_OCTET_STRING, id, sizeof(id));
		}
		der_ext(&exts, MBEDTLS_OID_SUBJECT_KEY_IDENTIFIER,
		    OIDLEN(MBEDTLS_OID_SUBJECT_KEY_IDENTIFIER), 0, v.p, v.len);
	}

	/* The issuer's key id, unless self-issued; keyIdentifier only. */
	if (ca != NULL && ca->subject_key_id.p != NULL &&
	    ca->subject_key_id.len > 0 &&
	    bytes_cmp(issuer->p, issuer->len, subject->p, subject->len) != 0) {
		der_free(&v);
		der_free(&in);
		der_tlv(&in, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 0,
		    ca->subject_key_id.p, ca->subject_key_id.len);
		der_tlv(&v, SEQUENCE, in.p, in.len);
		der_ext(&exts, MBEDTLS_OID_AUTHORITY_KEY_IDENTIFIER,
		    OIDLEN(MBEDTLS_OID_AUTHORITY_KEY_IDENTIFIER), 0,
		    v.p, v.len);
	}

	/* Subject alternative names. */
	if (spec->like != NULL) {
		for (seq = &spec->like->subject_alt_names; seq != NULL;
		    seq = seq->next) {
			gn = &seq->buf;
			if (gn->p == NULL)
				continue;
			if (gn->tag == GN_DNS &&
			    alt_dns(&alt, gn->p, gn->len, why, whylen) == -1)
				goto out;
			if (gn->tag == GN_IP &&
			    alt_ip(&alt, gn->p, gn->len, why, whylen) == -1)
				goto out;
			/* kubeadm keeps only DNS names and IPs */
		}
	} else {
		if (spec->ndns < 0 || spec->ndns > PKI_MAXSAN ||
		    spec->nip < 0 || spec->nip > PKI_MAXSAN) {
			fail(why, whylen, "too many SANs (at most %d each)",
			    PKI_MAXSAN);
			goto out;
		}
		for (i = 0; i < spec->ndns; i++) {
			if (spec->dns[i] == NULL) {
				fail(why, whylen, "DNS name %d is NULL", i + 1);
				goto out;
			}
			if (alt_dns(&alt, (const unsigned char *)spec->dns[i],
			    strlen(spec->dns[i]), why, whylen) == -1)
				goto out;
		}
		for (i = 0; i < spec->nip; i++)
			if (alt_iptext(&alt, spec->ip[i], why, whylen) == -1)
				goto out;
		/* NewSelfSignedCACert: DNSNames = { CommonName } */
		if (spec->is_ca && !spec->legacy && alt.ndns == 0 &&
		    alt.nip == 0 &&
		    spec->subject.cn != NULL && spec->subject.cn[0] != '\0' &&
		    alt_dns(&alt, (const unsigned char *)spec->subject.cn,
		    strlen(spec->subject.cn), why, whylen) == -1)
			goto out;
	}
	alt_sort(&alt);
	if (alt.ndns > 0 || alt.nip > 0) {
		der_free(&v);
		alt_der(&alt, &v);
		/* Go: critical only when the subject is empty */
		der_ext(&exts, MBEDTLS_OID_SUBJECT_ALT_NAME,
		    OIDLEN(MBEDTLS_OID_SUBJECT_ALT_NAME), subject->len == 2,
		    v.p, v.len);
	}

	/* [3] EXPLICIT Extensions ::= SEQUENCE OF Extension */
	der_free(&v);
	der_tlv(&v, SEQUENCE, exts.p, exts.len);
	der_tlv(out, MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED |
	    3, v.p, v.len);
	ret = 0;
out:
	alt_free(&alt);
	der_free(&exts);
	der_free(&v);
	der_free(&in);
	return ret;
}

/*
 * The signature algorithm Go picks for the issuer key: SHA-256 with any
 * RSA key, SHA-256 with P-256 and SHA-384 with P-384.
 */
static int
sig_alg(const mbedtls_pk_context *key, mbedtls_pk_type_t *pkt,
    mbedtls_md_type_t *md, char *why, size_t whylen)
{
	mbedtls_ecp_group_id	 gid;

	if (mbedtls_pk_get_type(key) == MBEDTLS_PK_RSA) {
		*pkt = MBEDTLS_PK_RSA;
		*md = MBEDTLS_MD_SHA256;
		return 0;
	}
	if (mbedtls_pk_can_do(key, MBEDTLS_PK_ECDSA)) {
		gid = mbedtls_ecp_keypair_get_group_id(mbedtls_pk_ec(*key));
		*pkt = MBEDTLS_PK_ECDSA;
		if (gid == MBEDTLS_ECP_DP_SECP256R1) {
			*md = MBEDTLS_MD_SHA256;
			return 0;
		}
		if (gid == MBEDTLS_ECP_DP_SECP384R1) {
			*md = MBEDTLS_MD_SHA384;
			return 0;
		}
	}
	fail(why, whylen, "signing key is neither RSA nor ECDSA P-256/P-384");
	return -1;
}

/* AlgorithmIdentifier: NULL parameters for RSA, none for ECDSA. */
static int
algid_der(mbedtls_pk_type_t pkt, mbedtls_md_type_t md, struct der *out,
    char *why, size_t whylen)
{
	static const unsigned char	 null[] = { 0x05, 0x00 };
	struct der			 in = { 0 };
	const char			*oid;
	size_t				 oidlen;
	int				 rc;

	if ((rc = mbedtls_oid_get_oid_by_sig_alg(pkt, md, &oid,
	    &oidlen)) != 0) {
		fail(why, whylen, "no signature algorithm (-0x%04x)",
		    (unsigned int)-rc);
		return -1;
	}
	der_tlv(&in, MBEDTLS_ASN1_OID, oid, oidlen);
	if (pkt == MBEDTLS_PK_RSA)
		der_raw(&in, null, sizeof(null));
	der_tlv(out, SEQUENCE, in.p, in.len);
	der_free(&in);
	return 0;
}

/*
 * Parse what we made and check the signature over the parsed TBS with
 * the public half of the signing key, as Go's CreateCertificate does
 * before returning.
 */
static int
self_check(const struct der *cert, const struct der *issuer,
    const struct der *subject, const mbedtls_pk_context *signer,
    mbedtls_md_type_t md, const unsigned char *sig, size_t siglen,
    char *why, size_t whylen)
{
	mbedtls_x509_crt	 crt;
	mbedtls_pk_context	 pub;
	unsigned char		 b[4096], hash[MBEDTLS_MD_MAX_SIZE];
	const mbedtls_md_info_t	*mdi;
	int			 n, rc, ret = -1;

	mbedtls_x509_crt_init(&crt);
	mbedtls_pk_init(&pub);

	if ((rc = mbedtls_x509_crt_parse_der(&crt, cert->p, cert->len)) != 0) {
		fail(why, whylen, "the new certificate does not parse "
		    "(-0x%04x)", (unsigned int)-rc);
		goto out;
	}
	if (bytes_cmp(crt.issuer_raw.p, crt.issuer_raw.len, issuer->p,
	    issuer->len) != 0 || bytes_cmp(crt.subject_raw.p,
	    crt.subject_raw.len, subject->p, subject->len) != 0) {
		fail(why, whylen, "the new certificate's names changed");
		goto out;
	}
	if ((n = mbedtls_pk_write_pubkey_der(signer, b, sizeof(b))) < 0 ||
	    (rc = mbedtls_pk_parse_public_key(&pub, b + sizeof(b) - n,
	    (size_t)n)) != 0) {
		fail(why, whylen, "cannot take the signer's public key");
		goto out;
	}
	mdi = mbedtls_md_info_from_type(md);
	if ((rc = mbedtls_md(mdi, crt.tbs.p, crt.tbs.len, hash)) != 0 ||
	    (rc = mbedtls_pk_verify(&pub, md, hash, mbedtls_md_get_size(mdi),
	    sig, siglen)) != 0) {
		fail(why, whylen, "the new certificate's signature does not "
		    "verify (-0x%04x)", (unsigned int)-rc);
		goto out;
	}
	ret = 0;
out:
	mbedtls_pk_free(&pub);
	mbedtls_x509_crt_free(&crt);
	return ret;
}

int
pki_sign(const struct pki_spec *spec, mbedtls_pk_context *subject_key,
    const mbedtls_x509_crt *ca, mbedtls_pk_context *ca_key,
    struct buf *pem_out, char *why, size_t whylen)
{
	struct der		 tbs = { 0 }, body = { 0 }, cert = { 0 };
	struct der		 subject = { 0 }, issuer = { 0 }, t = { 0 };
	mbedtls_pk_context	*signer;
	mbedtls_pk_type_t	 pkt;
	mbedtls_md_type_t	 md;
	const mbedtls_md_info_t	*mdi;
	unsigned char		 serial[8], hash[MBEDTLS_MD_MAX_SIZE];
	unsigned char		 sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE + 1];
	unsigned char		 spki[4096];
	size_t			 siglen = 0;
	int			 n, rc, ret = -1;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (spec == NULL || subject_key == NULL || pem_out == NULL) {
		fail(why, whylen, "internal: missing argument");
		goto out;
	}
	if (pki_rng_init() == -1) {
		fail(why, whylen, "no random generator");
		goto out;
	}
	if (spec->not_after <= spec->not_before) {
		fail(why, whylen, "NotAfter is not after NotBefore");
		goto out;
	}

	/* Who signs. */
	if (ca == NULL) {
		if (!spec->is_ca) {
			fail(why, whylen, "a leaf certificate needs a CA");
			goto out;
		}
		signer = subject_key;
	} else {
		if (ca_key == NULL) {
			fail(why, whylen, "the CA's private key is missing");
			goto out;
		}
		if (mbedtls_x509_crt_get_ca_istrue(ca) != 1) {
			fail(why, whylen, "the issuer certificate is not a CA");
			goto out;
		}
		if ((rc = mbedtls_pk_check_pair(&ca->pk, ca_key,
		    mbedtls_ctr_drbg_random, &drbg)) != 0) {
			fail(why, whylen, "the CA key does not match the CA "
			    "certificate (-0x%04x)", (unsigned int)-rc);
			goto out;
		}
		signer = ca_key;
	}
	if (sig_alg(signer, &pkt, &md, why, whylen) == -1)
		goto out;
	mdi = mbedtls_md_info_from_type(md);

	/* Subject, and the issuer: the CA's subject bytes, untouched. */
	if (spec->like != NULL) {
		if (spec->like->subject_raw.p == NULL) {
			fail(why, whylen, "the old certificate has no subject");
			goto out;
		}
		der_raw(&subject, spec->like->subject_raw.p,
		    spec->like->subject_raw.len);
	} else if (name_der(&spec->subject, &subject, why, whylen) == -1)
		goto out;
	if (ca != NULL)
		der_raw(&issuer, ca->subject_raw.p, ca->subject_raw.len);
	else
		der_raw(&issuer, subject.p, subject.len);

	/* version [0] EXPLICIT v3 */
	der_raw(&body, "\xa0\x03\x02\x01\x02", 5);
	if (spec->serial != NULL) {
		if (der_serial(&body, spec->serial, spec->serial_len, why,
		    whylen) == -1)
			goto out;
	} else if (random_serial(serial, why, whylen) == -1 ||
	    der_serial(&body, serial, sizeof(serial), why, whylen) == -1)
		goto out;
	if (algid_der(pkt, md, &body, why, whylen) == -1)
		goto out;
	der_raw(&body, issuer.p, issuer.len);
	if (der_time(&t, spec->not_before, why, whylen) == -1 ||
	    der_time(&t, spec->not_after, why, whylen) == -1)
		goto out;
	der_tlv(&body, SEQUENCE, t.p, t.len);
	der_raw(&body, subject.p, subject.len);
	if ((n = mbedtls_pk_write_pubkey_der(subject_key, spki,
	    sizeof(spki))) <= 0) {
		fail(why, whylen, "cannot encode the public key (-0x%04x)",
		    (unsigned int)-n);
		goto out;
	}
	der_raw(&body, spki + sizeof(spki) - n, (size_t)n);
	if (extensions_der(spec, subject_key, ca, &subject, &issuer, &body,
	    why, whylen) == -1)
		goto out;
	der_tlv(&tbs, SEQUENCE, body.p, body.len);

	/* Sign. */
	if ((rc = mbedtls_md(mdi, tbs.p, tbs.len, hash)) != 0) {
		fail(why, whylen, "hash (-0x%04x)", (unsigned int)-rc);
		goto out;
	}
	rc = mbedtls_pk_sign(signer, md, hash, mbedtls_md_get_size(mdi),
	    sig + 1, sizeof(sig) - 1, &siglen, mbedtls_ctr_drbg_random, &drbg);
	if (rc != 0) {
		fail(why, whylen, "signing failed (-0x%04x)",
		    (unsigned int)-rc);
		goto out;
	}
	sig[0] = 0;			/* BIT STRING: no unused bits */

	der_free(&body);
	der_raw(&body, tbs.p, tbs.len);
	if (algid_der(pkt, md, &body, why, whylen) == -1)
		goto out;
	der_tlv(&body, MBEDTLS_ASN1_BIT_STRING, sig, siglen + 1);
	der_tlv(&cert, SEQUENCE, body.p, body.len);

	if (self_check(&cert, &issuer, &subject, signer, md, sig + 1, siglen,
	    why, whylen) == -1)
		goto out;
	if (der_to_pem(cert.p, cert.len, pem_out) == -1) {
		fail(why, whylen, "PEM encoding failed");
		goto out;
	}
	ret = 0;
out:
	wipe(hash, sizeof(hash));
	der_free(&tbs);
	der_free(&body);
	der_free(&cert);
	der_free(&subject);
	der_free(&issuer);
	der_free(&t);
	return ret;
}

int
pki_issue(const struct pki_spec *spec, enum pki_keytype type,
    const mbedtls_x509_crt *ca, mbedtls_pk_context *ca_key,
    struct buf *cert_pem, struct buf *key_pem, char *why, size_t whylen)
{
	mbedtls_pk_context	 key;
	int			 rc = -1;

	mbedtls_pk_init(&key);
	if (pki_genkey(type, &key) == -1) {
		fail(why, whylen, "key generation failed");
		goto out;
	}
	if (pki_sign(spec, &key, ca, ca_key, cert_pem, why, whylen) == -1)
		goto out;
	if (pki_key_pem(&key, key_pem) == -1) {
		fail(why, whylen, "key encoding failed");
		goto out;
	}
	rc = 0;
out:
	mbedtls_pk_free(&key);
	return rc;
}
