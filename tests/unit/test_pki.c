/*
 * test_pki.c: pki.c against real kubeadm v1.28.4 certificates.
 * Renews every fixture leaf with its fixture CA and checks, byte for
 * byte where Go clients care, that the result is what kubeadm writes.
 * Run from the repository root.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/asn1.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <mbedtls/x509_crt.h>

#include "extern.h"
#include "pki.h"
#include "unit.h"

#define FIX	"../shared/fixtures/kubeadm-v1.28.4/pki/"
#define OIDLEN(o)	(sizeof(o) - 1)
#define RSAHDR		"-----BEGIN RSA PRIVATE KEY-----\n"
#define ECHDR		"-----BEGIN EC PRIVATE KEY-----\n"

/* One extension as found in a parsed certificate. */
struct ext {
	const unsigned char	*oid;
	size_t			 oidlen;
	int			 critical;
	const unsigned char	*val;
	size_t			 vallen;
};

static int
readfile(const char *path, struct buf *b)
{
	FILE		*f;
	unsigned char	 tmp[65536];
	size_t		 n;

	if ((f = fopen(path, "rb")) == NULL) {
		printf("# cannot open %s\n", path);
		return -1;
	}
	n = fread(tmp, 1, sizeof(tmp) - 1, f);
	fclose(f);
	buf_set(b, tmp, n);	/* adds the NUL that PEM parsing wants */
	wipe(tmp, sizeof(tmp));
	return 0;
}

static int
load_crt(const char *path, mbedtls_x509_crt *crt)
{
	struct buf	 b = { NULL, 0 };
	int		 rc;

	if (readfile(path, &b) == -1)
		return -1;
	rc = mbedtls_x509_crt_parse(crt, b.data, b.len + 1);
	buf_free(&b);
	return rc == 0 ? 0 : -1;
}

static int
load_key(const char *path, mbedtls_pk_context *pk)
{
	struct buf	 b = { NULL, 0 };
	int		 rc;

	if (readfile(path, &b) == -1)
		return -1;
	rc = mbedtls_pk_parse_key(pk, b.data, b.len + 1, NULL, 0, NULL, NULL);
	buf_free(&b);
	return rc == 0 ? 0 : -1;
}

static int
parse_pem_crt(const struct buf *pem, mbedtls_x509_crt *crt)
{
	if (pem->data == NULL)
		return -1;
	return mbedtls_x509_crt_parse(crt, pem->data, pem->len + 1) == 0 ?
	    0 : -1;
}

/* Walk the extensions; returns how many were stored in e[]. */
static int
exts(const mbedtls_x509_crt *crt, struct ext *e, int max)
{
	unsigned char	*p = crt->v3_ext.p, *end, *eend;
	size_t		 len;
	int		 n = 0, crit;

	if (p == NULL)
		return 0;
	end = p + crt->v3_ext.len;
	if (mbedtls_asn1_get_tag(&p, end, &len,
	    MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0)
		return -1;
	while (p < end && n < max) {
		if (mbedtls_asn1_get_tag(&p, end, &len,
		    MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0)
			return -1;
		eend = p + len;
		if (mbedtls_asn1_get_tag(&p, eend, &len, MBEDTLS_ASN1_OID) != 0)
			return -1;
		e[n].oid = p;
		e[n].oidlen = len;
		p += len;
		crit = 0;
		if (mbedtls_asn1_get_bool(&p, eend, &crit) != 0)
			crit = 0;
		e[n].critical = crit;
		if (mbedtls_asn1_get_tag(&p, eend, &len,
		    MBEDTLS_ASN1_OCTET_STRING) != 0)
			return -1;
		e[n].val = p;
		e[n].vallen = len;
		p += len;
		n++;
	}
	return n;
}

static const struct ext *
find_ext(const struct ext *e, int n, const char *oid, size_t oidlen)
{
	int	 i;

	for (i = 0; i < n; i++)
		if (e[i].oidlen == oidlen && memcmp(e[i].oid, oid, oidlen) == 0)
			return &e[i];
	return NULL;
}

static int
same(const void *a, size_t alen, const void *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static int
time_is(const mbedtls_x509_time *xt, time_t t)
{
	struct tm	 tm;

	gmtime_r(&t, &tm);
	return xt->year == tm.tm_year + 1900 && xt->mon == tm.tm_mon + 1 &&
	    xt->day == tm.tm_mday && xt->hour == tm.tm_hour &&
	    xt->min == tm.tm_min && xt->sec == tm.tm_sec;
}

/* The tags of NotBefore and NotAfter, read from the TBS. */
static int
validity_tags(const mbedtls_x509_crt *crt, int *t1, int *t2)
{
	unsigned char	*p = crt->tbs.p, *end = p + crt->tbs.len;
	size_t		 len;
	int		 i;

	if (mbedtls_asn1_get_tag(&p, end, &len,
	    MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0)
		return -1;
	/* version [0], serial, signature, issuer: skip four elements */
	for (i = 0; i < 4; i++) {
		p++;
		if (mbedtls_asn1_get_len(&p, end, &len) != 0)
			return -1;
		p += len;
	}
	if (mbedtls_asn1_get_tag(&p, end, &len,
	    MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0)
		return -1;
	*t1 = *p;
	p++;
	if (mbedtls_asn1_get_len(&p, end, &len) != 0)
		return -1;
	p += len;
	*t2 = *p;
	return 0;
}

static int
pub_equal(const mbedtls_pk_context *a, const mbedtls_pk_context *b)
{
	unsigned char	 x[4096], y[4096];
	int		 n, m;

	n = mbedtls_pk_write_pubkey_der(a, x, sizeof(x));
	m = mbedtls_pk_write_pubkey_der(b, y, sizeof(y));
	return n > 0 && n == m &&
	    memcmp(x + sizeof(x) - n, y + sizeof(y) - m, n) == 0;
}

static int
serial_ok(const mbedtls_x509_crt *crt)
{
	size_t	 i;
	int	 nonzero = 0;

	if (crt->serial.len == 0 || crt->serial.len > 8)
		return 0;
	if (crt->serial.p[0] & 0x80)
		return 0;		/* negative */
	for (i = 0; i < crt->serial.len; i++)
		nonzero |= crt->serial.p[i];
	return nonzero != 0;
}

static int
verify(mbedtls_x509_crt *crt, mbedtls_x509_crt *ca)
{
	uint32_t	 flags = 0;

	mbedtls_x509_crt_verify(crt, ca, NULL, NULL, &flags, NULL, NULL);
	/* only the clock may complain */
	return (flags & ~(uint32_t)(MBEDTLS_X509_BADCERT_FUTURE |
	    MBEDTLS_X509_BADCERT_EXPIRED)) == 0;
}

static int
key_id_of(const mbedtls_pk_context *pk, unsigned char id[20])
{
	unsigned char	 b[4096], *c = b + sizeof(b);
	int		 n;

	if ((n = mbedtls_pk_write_pubkey(&c, b, pk)) <= 0)
		return -1;
	return mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA1), c,
	    (size_t)n, id);
}

static const struct {
	const char	*leaf;
	const char	*ca;
} leaves[] = {
	{ "apiserver",			"ca" },
	{ "apiserver-kubelet-client",	"ca" },
	{ "front-proxy-client",		"front-proxy-ca" },
	{ "etcd/server",		"etcd/ca" },
	{ "etcd/peer",			"etcd/ca" },
	{ "etcd/healthcheck-client",	"etcd/ca" },
	{ "apiserver-etcd-client",	"etcd/ca" },
};

static void
test_renew(const char *name, const char *caname, time_t nb, time_t na)
{
	mbedtls_x509_crt	 old, ca, got;
	mbedtls_pk_context	 cakey, key;
	struct pki_spec		 spec;
	struct buf		 pem = { NULL, 0 };
	struct ext		 oe[16], ne[16];
	const struct ext	*x, *y;
	enum pki_keytype	 kt;
	char			 path[256], t[128], why[256];
	int			 on, nn, i, ok;

	mbedtls_x509_crt_init(&old);
	mbedtls_x509_crt_init(&ca);
	mbedtls_x509_crt_init(&got);
	mbedtls_pk_init(&cakey);
	mbedtls_pk_init(&key);

#define T(s)	(snprintf(t, sizeof(t), "%s: %s", name, s), t)
	snprintf(path, sizeof(path), FIX "%s.crt", name);
	CHECK(T("old cert loads"), load_crt(path, &old) == 0);
	snprintf(path, sizeof(path), FIX "%s.crt", caname);
	CHECK(T("CA cert loads"), load_crt(path, &ca) == 0);
	snprintf(path, sizeof(path), FIX "%s.key", caname);
	CHECK(T("CA key loads"), load_key(path, &cakey) == 0);
	CHECK(T("old key type known"), pki_keytype(&old.pk, &kt) == 0);
	CHECK(T("new key"), pki_genkey(kt, &key) == 0);

	memset(&spec, 0, sizeof(spec));
	spec.like = &old;
	spec.not_before = nb;
	spec.not_after = na;
	why[0] = '\0';
	ok = pki_sign(&spec, &key, &ca, &cakey, &pem, why, sizeof(why));
	if (ok != 0)
		printf("# pki_sign: %s\n", why);
	CHECK(T("pki_sign"), ok == 0);
	CHECK(T("PEM armour"), pem.data != NULL && strncmp((char *)pem.data,
	    "-----BEGIN CERTIFICATE-----\n", 28) == 0);
	CHECK(T("result parses"), parse_pem_crt(&pem, &got) == 0);
	if (got.raw.p == NULL)
		goto out;

	CHECK(T("version 3"), got.version == 3);
	CHECK(T("issuer bytes = CA subject bytes"), same(got.issuer_raw.p,
	    got.issuer_raw.len, ca.subject_raw.p, ca.subject_raw.len));
	CHECK(T("subject bytes = old subject bytes"), same(got.subject_raw.p,
	    got.subject_raw.len, old.subject_raw.p, old.subject_raw.len));
	CHECK(T("signature algorithm as old"), same(got.sig_oid.p,
	    got.sig_oid.len, old.sig_oid.p, old.sig_oid.len));
	CHECK(T("serial positive, at most 63 bits"), serial_ok(&got));
	CHECK(T("serial differs from old"), !same(got.serial.p,
	    got.serial.len, old.serial.p, old.serial.len));
	CHECK(T("NotBefore as given"), time_is(&got.valid_from, nb));
	CHECK(T("NotAfter as given"), time_is(&got.valid_to, na));
	CHECK(T("key matches"), pub_equal(&got.pk, &key));
	CHECK(T("verifies against the CA"), verify(&got, &ca));

	on = exts(&old, oe, 16);
	nn = exts(&got, ne, 16);
	CHECK(T("extension count as kubeadm's"), on > 0 && nn == on);
	ok = on == nn;
	for (i = 0; ok && i < nn; i++)
		ok = same(oe[i].oid, oe[i].oidlen, ne[i].oid, ne[i].oidlen) &&
		    oe[i].critical == ne[i].critical &&
		    same(oe[i].val, oe[i].vallen, ne[i].val, ne[i].vallen);
	CHECK(T("extensions byte-identical to kubeadm's, same order"), ok);
	CHECK(T("whole extension block identical"), same(got.v3_ext.p,
	    got.v3_ext.len, old.v3_ext.p, old.v3_ext.len));

	x = find_ext(oe, on, MBEDTLS_OID_SUBJECT_ALT_NAME,
	    OIDLEN(MBEDTLS_OID_SUBJECT_ALT_NAME));
	y = find_ext(ne, nn, MBEDTLS_OID_SUBJECT_ALT_NAME,
	    OIDLEN(MBEDTLS_OID_SUBJECT_ALT_NAME));
	CHECK(T("SAN bytes equal"), (x == NULL && y == NULL) || (x != NULL &&
	    y != NULL && same(x->val, x->vallen, y->val, y->vallen) &&
	    !y->critical));
	y = find_ext(ne, nn, MBEDTLS_OID_EXTENDED_KEY_USAGE,
	    OIDLEN(MBEDTLS_OID_EXTENDED_KEY_USAGE));
	CHECK(T("EKU present, non-critical"), y != NULL && !y->critical);
	y = find_ext(ne, nn, MBEDTLS_OID_KEY_USAGE,
	    OIDLEN(MBEDTLS_OID_KEY_USAGE));
	CHECK(T("KU critical, digitalSignature+keyEncipherment"), y != NULL &&
	    y->critical && same(y->val, y->vallen, "\x03\x02\x05\xa0", 4));
	y = find_ext(ne, nn, MBEDTLS_OID_BASIC_CONSTRAINTS,
	    OIDLEN(MBEDTLS_OID_BASIC_CONSTRAINTS));
	CHECK(T("BC critical, CA:FALSE"), y != NULL && y->critical &&
	    same(y->val, y->vallen, "\x30\x00", 2));
	CHECK(T("no SKI"), find_ext(ne, nn, MBEDTLS_OID_SUBJECT_KEY_IDENTIFIER,
	    OIDLEN(MBEDTLS_OID_SUBJECT_KEY_IDENTIFIER)) == NULL &&
	    got.subject_key_id.len == 0);
	CHECK(T("AKI = CA SKI"), ca.subject_key_id.len == 20 &&
	    same(got.authority_key_id.keyIdentifier.p,
	    got.authority_key_id.keyIdentifier.len, ca.subject_key_id.p,
	    ca.subject_key_id.len));
#undef T
out:
	buf_free(&pem);
	mbedtls_x509_crt_free(&old);
	mbedtls_x509_crt_free(&ca);
	mbedtls_x509_crt_free(&got);
	mbedtls_pk_free(&cakey);
	mbedtls_pk_free(&key);
}

static void
test_keys(void)
{
	static const struct {
		enum pki_keytype	 type;
		const char		*name;
		const char		*header;
	} k[] = {
		{ PKI_RSA2048, "RSA-2048", RSAHDR },
		{ PKI_RSA3072, "RSA-3072", RSAHDR },
		{ PKI_RSA4096, "RSA-4096", RSAHDR },
		{ PKI_EC256, "ECDSA-P256", ECHDR },
		{ PKI_EC384, "ECDSA-P384", ECHDR },
	};
	mbedtls_pk_context	 pk, back, pub;
	struct buf		 pem = { NULL, 0 }, ppem = { NULL, 0 };
	enum pki_keytype	 t;
	char			 n[128];
	size_t			 i;

	for (i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		mbedtls_pk_init(&pk);
		mbedtls_pk_init(&back);
		mbedtls_pk_init(&pub);
#define T(s)	(snprintf(n, sizeof(n), "%s: %s", k[i].name, s), n)
		CHECK(T("parse name"), pki_keytype_parse(k[i].name, &t) == 0 &&
		    t == k[i].type);
		CHECK_STR(T("name"), pki_keytype_name(k[i].type), k[i].name);
		CHECK(T("generate"), pki_genkey(k[i].type, &pk) == 0);
		CHECK(T("type of generated key"), pki_keytype(&pk, &t) == 0 &&
		    t == k[i].type);
		CHECK(T("key PEM"), pki_key_pem(&pk, &pem) == 0);
		CHECK(T("key PEM header"), pem.data != NULL &&
		    strncmp((char *)pem.data, k[i].header,
		    strlen(k[i].header)) == 0);
		CHECK(T("key PEM round trip"), pem.data != NULL &&
		    mbedtls_pk_parse_key(&back, pem.data, pem.len + 1, NULL, 0,
		    NULL, NULL) == 0 && pub_equal(&pk, &back) &&
		    pki_keytype(&back, &t) == 0 && t == k[i].type);
		CHECK(T("public PEM"), pki_pubkey_pem(&pk, &ppem) == 0 &&
		    strncmp((char *)ppem.data, "-----BEGIN PUBLIC KEY-----\n",
		    27) == 0 && mbedtls_pk_parse_public_key(&pub, ppem.data,
		    ppem.len + 1) == 0 && pub_equal(&pk, &pub));
#undef T
		buf_free(&pem);
		buf_free(&ppem);
		mbedtls_pk_free(&pk);
		mbedtls_pk_free(&back);
		mbedtls_pk_free(&pub);
	}
	CHECK("keytype: empty is RSA-2048", pki_keytype_parse("", &t) == 0 &&
	    t == PKI_RSA2048);
	CHECK("keytype: NULL is RSA-2048", pki_keytype_parse(NULL, &t) == 0 &&
	    t == PKI_RSA2048);
	CHECK("keytype: RSA-1024 refused", pki_keytype_parse("RSA-1024",
	    &t) == -1);
	CHECK("keytype: case matters", pki_keytype_parse("ecdsa-p256",
	    &t) == -1);
	mbedtls_pk_init(&pk);
	CHECK("genkey: unknown type refused",
	    pki_genkey((enum pki_keytype)99, &pk) == -1);
	mbedtls_pk_free(&pk);
}

static int
failing_rng(void *ctx, unsigned char *out, size_t len)
{
	(void)ctx;
	(void)out;
	(void)len;
	return MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
}

/*
 * RSA keys from the sieve (rsakey.c): mbedtls' own check of the private
 * key, a modulus of exactly the size asked for (both primes above
 * sqrt(2) * 2^(bits/2 - 1)), E = 65537, P > Q and far apart, and a
 * signature that verifies; a failing random generator fails cleanly.
 */
static void
test_rsa_genkey(void)
{
	static const unsigned int sizes[] = { 2048, 2048, 2048, 3072 };
	mbedtls_entropy_context	 entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_rsa_context	 rsa;
	mbedtls_mpi		 n, p, q, e, h;
	unsigned char		 hash[32], sig[512];
	char			 t[96];
	size_t			 i;

	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	CHECK("rsa_genkey: test generator", mbedtls_ctr_drbg_seed(&drbg,
	    mbedtls_entropy_func, &entropy, NULL, 0) == 0);
	memset(hash, 0x5a, sizeof(hash));
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		mbedtls_rsa_init(&rsa);
		mbedtls_mpi_init(&n);
		mbedtls_mpi_init(&p);
		mbedtls_mpi_init(&q);
		mbedtls_mpi_init(&e);
		mbedtls_mpi_init(&h);
#define T(s)	(snprintf(t, sizeof(t), "rsa_genkey %u #%zu: %s", sizes[i], i, s), t)
		CHECK(T("made"), rsa_genkey(&rsa, sizes[i], 65537,
		    mbedtls_ctr_drbg_random, &drbg) == 0);
		CHECK(T("mbedtls_rsa_check_privkey"),
		    mbedtls_rsa_check_privkey(&rsa) == 0);
		CHECK(T("export"), mbedtls_rsa_export(&rsa, &n, &p, &q, NULL,
		    &e) == 0);
		CHECK(T("modulus of exactly the size"),
		    mbedtls_mpi_bitlen(&n) == sizes[i]);
		CHECK(T("primes of half the size"),
		    mbedtls_mpi_bitlen(&p) == sizes[i] / 2 &&
		    mbedtls_mpi_bitlen(&q) == sizes[i] / 2);
		CHECK(T("E = 65537"), mbedtls_mpi_cmp_int(&e, 65537) == 0);
		CHECK(T("P > Q, |P-Q| > 2^(bits/2-100)"),
		    mbedtls_mpi_sub_mpi(&h, &p, &q) == 0 &&
		    mbedtls_mpi_cmp_int(&h, 0) > 0 &&
		    mbedtls_mpi_bitlen(&h) > sizes[i] / 2 - 99);
		CHECK(T("signs and verifies"),
		    mbedtls_rsa_pkcs1_sign(&rsa, mbedtls_ctr_drbg_random, &drbg,
		    MBEDTLS_MD_SHA256, sizeof(hash), hash, sig) == 0 &&
		    mbedtls_rsa_pkcs1_verify(&rsa, MBEDTLS_MD_SHA256,
		    sizeof(hash), hash, sig) == 0);
#undef T
		mbedtls_rsa_free(&rsa);
		mbedtls_mpi_free(&n);
		mbedtls_mpi_free(&p);
		mbedtls_mpi_free(&q);
		mbedtls_mpi_free(&e);
		mbedtls_mpi_free(&h);
	}
	mbedtls_rsa_init(&rsa);
	CHECK("rsa_genkey: a failing random generator fails",
	    rsa_genkey(&rsa, 2048, 65537, failing_rng, NULL) != 0);
	CHECK("rsa_genkey: and leaves the context empty",
	    mbedtls_rsa_get_len(&rsa) == 0);
	mbedtls_rsa_free(&rsa);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&entropy);
}

/*
 * Many keys at once (pki_genkeys, one worker per CPU): each of its type,
 * each pair-consistent, no two alike; one bad type fails them all and
 * leaves every context empty.
 */
static void
test_genkeys(void)
{
	static const enum pki_keytype types[] = { PKI_RSA2048, PKI_EC256,
	    PKI_RSA2048, PKI_EC384, PKI_RSA2048, PKI_EC256, PKI_RSA2048 };
	enum { N = sizeof(types) / sizeof(types[0]) };
	mbedtls_pk_context	 k[N];
	enum pki_keytype	 t, bad[3] = { PKI_EC256, (enum pki_keytype)99,
	    PKI_EC256 };
	const enum pki_keytype	 two256[2] = { PKI_EC256, PKI_EC256 };
	const enum pki_keytype	 mixed[2] = { PKI_EC384, PKI_EC256 };
	mbedtls_entropy_context	 entropy;
	mbedtls_ctr_drbg_context drbg;
	size_t			 i, j;
	int			 ok = 1, distinct = 1, pairs = 1;

	/* the pair check blinds with random numbers */
	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	CHECK("genkeys: test generator", mbedtls_ctr_drbg_seed(&drbg,
	    mbedtls_entropy_func, &entropy, NULL, 0) == 0);
	for (i = 0; i < N; i++)
		mbedtls_pk_init(&k[i]);
	CHECK("genkeys: 7 keys", pki_genkeys(types, k, N) == 0);
	for (i = 0; i < N; i++) {
		if (pki_keytype(&k[i], &t) == -1 || t != types[i])
			ok = 0;
		if (mbedtls_pk_check_pair(&k[i], &k[i],
		    mbedtls_ctr_drbg_random, &drbg) != 0)
			pairs = 0;
		for (j = 0; j < i; j++)
			if (pub_equal(&k[i], &k[j]))
				distinct = 0;
	}
	CHECK("genkeys: each key of the type asked for, in order", ok);
	CHECK("genkeys: each key consistent", pairs);
	CHECK("genkeys: no two keys alike", distinct);
	for (i = 0; i < N; i++)
		mbedtls_pk_free(&k[i]);

	for (i = 0; i < 3; i++)
		mbedtls_pk_init(&k[i]);
	CHECK("genkeys: none asked, none made", pki_genkeys(types, k, 0) == 0 &&
	    mbedtls_pk_get_type(&k[0]) == MBEDTLS_PK_NONE);
	CHECK("genkeys: an unknown type fails the lot",
	    pki_genkeys(bad, k, 3) == -1);
	ok = 1;
	for (i = 0; i < 3; i++)
		if (mbedtls_pk_get_type(&k[i]) != MBEDTLS_PK_NONE)
			ok = 0;
	CHECK("genkeys: after a failure every context is empty", ok);
	for (i = 0; i < 3; i++)
		mbedtls_pk_free(&k[i]);

	/* made ahead (pki_prefill), handed out by pki_genkey by type */
	for (i = 0; i < 4; i++)
		mbedtls_pk_init(&k[i]);
	CHECK("prefill: 2 ECDSA-P256 keys", pki_prefill(two256, 2) == 0);
	CHECK("prefill: another type is made, not taken",
	    pki_genkey(PKI_EC384, &k[0]) == 0 &&
	    pki_keytype(&k[0], &t) == 0 && t == PKI_EC384);
	ok = 1;
	for (i = 1; i < 4; i++)		/* 2 from the pool, 1 made */
		if (pki_genkey(PKI_EC256, &k[i]) != 0 ||
		    pki_keytype(&k[i], &t) != 0 || t != PKI_EC256 ||
		    mbedtls_pk_check_pair(&k[i], &k[i],
		    mbedtls_ctr_drbg_random, &drbg) != 0)
			ok = 0;
	CHECK("prefill: then taken in turn, then made again", ok &&
	    !pub_equal(&k[1], &k[2]) && !pub_equal(&k[2], &k[3]) &&
	    !pub_equal(&k[1], &k[3]));
	for (i = 0; i < 4; i++)
		mbedtls_pk_free(&k[i]);
	/* mixed types: each call takes one of its own type */
	for (i = 0; i < 2; i++)
		mbedtls_pk_init(&k[i]);
	CHECK("prefill: P-384 and P-256", pki_prefill(mixed, 2) == 0);
	CHECK("prefill: each type from its own slot",
	    pki_genkey(PKI_EC256, &k[0]) == 0 &&
	    pki_keytype(&k[0], &t) == 0 && t == PKI_EC256 &&
	    pki_genkey(PKI_EC384, &k[1]) == 0 &&
	    pki_keytype(&k[1], &t) == 0 && t == PKI_EC384);
	for (i = 0; i < 2; i++)
		mbedtls_pk_free(&k[i]);
	CHECK("prefill: an unknown type fails", pki_prefill(bad, 3) == -1);
	CHECK("prefill: leftovers freed", pki_prefill(mixed, 2) == 0);
	pki_pool_free();
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&entropy);
}

/*
 * Init: a self-signed CA of each curve, then a leaf from strings, checked
 * against the fixture CA's layout.
 */
static void
test_ca(enum pki_keytype kt, const char *label, const char *sigoid,
    size_t sigoidlen)
{
	mbedtls_x509_crt	 fix, ca, leaf;
	mbedtls_pk_context	 cakey, key;
	struct pki_spec		 spec;
	struct buf		 pem = { NULL, 0 }, lpem = { NULL, 0 };
	struct ext		 fe[16], e[16];
	const struct ext	*x;
	unsigned char		 id[20];
	char			 why[256], t[128];
	time_t			 now = time(NULL);
	int			 fn, n, i, ok, t1 = 0, t2 = 0;
	static const unsigned char	 want_san[] = {
		0x30, 0x2f,
		0x82, 0x01, 'a',
		0x82, 0x09, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't',
		0x82, 0x01, 'z',
		0x87, 0x04, 192, 0, 2, 10,
		0x87, 0x04, 127, 0, 0, 1,
		0x87, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	};
	static const unsigned char	 want_eku[] = {
		0x30, 0x14,
		0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01,
		0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02,
	};
	/* O=system:masters + O=b\xc3\xa9 in one sorted SET, then CN */
	static const unsigned char	 want_subject[] = {
		0x30, 0x3a,
		0x31, 0x23,
		0x30, 0x0a, 0x06, 0x03, 0x55, 0x04, 0x0a,
		0x0c, 0x03, 'b', 0xc3, 0xa9,
		0x30, 0x15, 0x06, 0x03, 0x55, 0x04, 0x0a,
		0x13, 0x0e, 's', 'y', 's', 't', 'e', 'm', ':', 'm', 'a', 's',
		't', 'e', 'r', 's',
		0x31, 0x13, 0x30, 0x11, 0x06, 0x03, 0x55, 0x04, 0x03,
		0x13, 0x0a, 'k', 'u', 'b', 'e', '-', 'a', 'd', 'm', 'i', 'n',
	};

	mbedtls_x509_crt_init(&fix);
	mbedtls_x509_crt_init(&ca);
	mbedtls_x509_crt_init(&leaf);
	mbedtls_pk_init(&cakey);
	mbedtls_pk_init(&key);

#define T(s)	(snprintf(t, sizeof(t), "init %s: %s", label, s), t)
	CHECK(T("fixture CA loads"), load_crt(FIX "ca.crt", &fix) == 0);
	CHECK(T("CA key"), pki_genkey(kt, &cakey) == 0);
	memset(&spec, 0, sizeof(spec));
	spec.subject.cn = "kubernetes";
	spec.is_ca = 1;
	spec.not_before = now - 300;
	spec.not_after = now + 3650 * 86400;
	ok = pki_sign(&spec, &cakey, NULL, NULL, &pem, why, sizeof(why));
	if (ok != 0)
		printf("# pki_sign: %s\n", why);
	CHECK(T("self-signed CA"), ok == 0);
	CHECK(T("CA parses"), parse_pem_crt(&pem, &ca) == 0);
	if (ca.raw.p == NULL)
		goto out;
	CHECK(T("subject bytes as kubeadm's CA"), same(ca.subject_raw.p,
	    ca.subject_raw.len, fix.subject_raw.p, fix.subject_raw.len));
	CHECK(T("issuer = subject"), same(ca.issuer_raw.p, ca.issuer_raw.len,
	    ca.subject_raw.p, ca.subject_raw.len));
	CHECK(T("is a CA"), mbedtls_x509_crt_get_ca_istrue(&ca) == 1);
	CHECK(T("signature algorithm"), same(ca.sig_oid.p, ca.sig_oid.len,
	    sigoid, sigoidlen));
	CHECK(T("serial positive, at most 63 bits"), serial_ok(&ca));
	CHECK(T("self-verifies"), verify(&ca, &ca));

	fn = exts(&fix, fe, 16);
	n = exts(&ca, e, 16);
	ok = fn == n && n == 4;
	for (i = 0; ok && i < n; i++)
		ok = same(fe[i].oid, fe[i].oidlen, e[i].oid, e[i].oidlen) &&
		    fe[i].critical == e[i].critical;
	CHECK(T("extension order and criticality as kubeadm's CA"), ok);
	x = find_ext(e, n, MBEDTLS_OID_BASIC_CONSTRAINTS,
	    OIDLEN(MBEDTLS_OID_BASIC_CONSTRAINTS));
	CHECK(T("BC critical CA:TRUE, no pathlen"), x != NULL && x->critical &&
	    same(x->val, x->vallen, "\x30\x03\x01\x01\xff", 5));
	x = find_ext(e, n, MBEDTLS_OID_KEY_USAGE,
	    OIDLEN(MBEDTLS_OID_KEY_USAGE));
	CHECK(T("KU critical, + certSign"), x != NULL && x->critical &&
	    same(x->val, x->vallen, "\x03\x02\x02\xa4", 4));
	CHECK(T("SKI = SHA-1 of the public key"), key_id_of(&cakey, id) == 0 &&
	    same(ca.subject_key_id.p, ca.subject_key_id.len, id, 20));
	x = find_ext(e, n, MBEDTLS_OID_SUBJECT_ALT_NAME,
	    OIDLEN(MBEDTLS_OID_SUBJECT_ALT_NAME));
	CHECK(T("SAN DNS:kubernetes"), x != NULL && !x->critical &&
	    same(x->val, x->vallen, "\x30\x0c\x82\x0akubernetes", 14));
	CHECK(T("no AKI, no EKU"), find_ext(e, n,
	    MBEDTLS_OID_AUTHORITY_KEY_IDENTIFIER,
	    OIDLEN(MBEDTLS_OID_AUTHORITY_KEY_IDENTIFIER)) == NULL &&
	    find_ext(e, n, MBEDTLS_OID_EXTENDED_KEY_USAGE,
	    OIDLEN(MBEDTLS_OID_EXTENDED_KEY_USAGE)) == NULL);

	/* A leaf from strings, far in the future (GeneralizedTime). */
	CHECK(T("leaf key"), pki_genkey(PKI_EC256, &key) == 0);
	memset(&spec, 0, sizeof(spec));
	spec.subject.org[0] = "system:masters";
	spec.subject.org[1] = "b\xc3\xa9";
	spec.subject.norg = 2;
	spec.subject.cn = "kube-admin";
	spec.dns[0] = "z";
	spec.dns[1] = "localhost";
	spec.dns[2] = "a";
	spec.dns[3] = "z";
	spec.ndns = 4;
	spec.ip[0] = "192.0.2.10";
	spec.ip[1] = "127.0.0.1";
	spec.ip[2] = "::1";
	spec.ip[3] = "::ffff:192.0.2.10";
	spec.nip = 4;
	spec.server_auth = spec.client_auth = 1;
	spec.not_before = now - 300;
	spec.not_after = 2556144000;	/* 2051-01-01 */
	ok = pki_sign(&spec, &key, &ca, &cakey, &lpem, why, sizeof(why));
	if (ok != 0)
		printf("# pki_sign: %s\n", why);
	CHECK(T("leaf from strings"), ok == 0);
	CHECK(T("leaf parses"), parse_pem_crt(&lpem, &leaf) == 0);
	if (leaf.raw.p == NULL)
		goto out;
	CHECK(T("leaf verifies"), verify(&leaf, &ca));
	CHECK(T("leaf issuer = CA subject"), same(leaf.issuer_raw.p,
	    leaf.issuer_raw.len, ca.subject_raw.p, ca.subject_raw.len));
	CHECK(T("subject: Printable/UTF8, O set sorted, then CN"),
	    same(leaf.subject_raw.p, leaf.subject_raw.len, want_subject,
	    sizeof(want_subject)));
	n = exts(&leaf, e, 16);
	x = find_ext(e, n, MBEDTLS_OID_SUBJECT_ALT_NAME,
	    OIDLEN(MBEDTLS_OID_SUBJECT_ALT_NAME));
	CHECK(T("SAN: DNS sorted+unique, IPs unique first-seen, v4 in 4"),
	    x != NULL && same(x->val, x->vallen, want_san, sizeof(want_san)));
	x = find_ext(e, n, MBEDTLS_OID_EXTENDED_KEY_USAGE,
	    OIDLEN(MBEDTLS_OID_EXTENDED_KEY_USAGE));
	CHECK(T("EKU serverAuth, clientAuth, non-critical"), x != NULL &&
	    !x->critical && same(x->val, x->vallen, want_eku,
	    sizeof(want_eku)));
	CHECK(T("AKI = new CA SKI"), same(leaf.authority_key_id.keyIdentifier.p,
	    leaf.authority_key_id.keyIdentifier.len, ca.subject_key_id.p,
	    ca.subject_key_id.len));
	CHECK(T("validity tags UTCTime, GeneralizedTime"),
	    validity_tags(&leaf, &t1, &t2) == 0 &&
	    t1 == MBEDTLS_ASN1_UTC_TIME && t2 == MBEDTLS_ASN1_GENERALIZED_TIME);
	CHECK(T("NotAfter 2051"), time_is(&leaf.valid_to, 2556144000));
#undef T
out:
	buf_free(&pem);
	buf_free(&lpem);
	mbedtls_x509_crt_free(&fix);
	mbedtls_x509_crt_free(&ca);
	mbedtls_x509_crt_free(&leaf);
	mbedtls_pk_free(&cakey);
	mbedtls_pk_free(&key);
}

/*
 * renew-ca: the fixture CA re-issued with its own key keeps subject, SKI
 * and SAN, and the old leaves still chain to it.
 */
static void
test_reissue_ca(void)
{
	mbedtls_x509_crt	 old, leaf, neu;
	mbedtls_pk_context	 key;
	struct pki_spec		 spec;
	struct buf		 pem = { NULL, 0 };
	struct ext		 oe[16], ne[16];
	char			 why[256];
	time_t			 now = time(NULL);
	int			 on, nn, i, ok;

	mbedtls_x509_crt_init(&old);
	mbedtls_x509_crt_init(&leaf);
	mbedtls_x509_crt_init(&neu);
	mbedtls_pk_init(&key);
	CHECK("reissue CA: fixtures load", load_crt(FIX "ca.crt", &old) == 0 &&
	    load_crt(FIX "apiserver.crt", &leaf) == 0 &&
	    load_key(FIX "ca.key", &key) == 0);
	memset(&spec, 0, sizeof(spec));
	spec.like = &old;
	spec.is_ca = 1;
	spec.not_before = now - 300;
	spec.not_after = now + 3650 * 86400;
	ok = pki_sign(&spec, &key, NULL, NULL, &pem, why, sizeof(why));
	if (ok != 0)
		printf("# pki_sign: %s\n", why);
	CHECK("reissue CA: signed", ok == 0);
	CHECK("reissue CA: parses", parse_pem_crt(&pem, &neu) == 0);
	if (neu.raw.p == NULL)
		goto out;
	CHECK("reissue CA: subject and issuer bytes kept",
	    same(neu.subject_raw.p, neu.subject_raw.len, old.subject_raw.p,
	    old.subject_raw.len) && same(neu.issuer_raw.p, neu.issuer_raw.len,
	    old.subject_raw.p, old.subject_raw.len));
	on = exts(&old, oe, 16);
	nn = exts(&neu, ne, 16);
	ok = on == nn && on == 4;
	for (i = 0; ok && i < nn; i++)
		ok = same(oe[i].oid, oe[i].oidlen, ne[i].oid, ne[i].oidlen) &&
		    oe[i].critical == ne[i].critical &&
		    same(oe[i].val, oe[i].vallen, ne[i].val, ne[i].vallen);
	CHECK("reissue CA: extensions byte-identical (SKI kept)", ok);
	CHECK("reissue CA: new serial", !same(neu.serial.p, neu.serial.len,
	    old.serial.p, old.serial.len) && serial_ok(&neu));
	CHECK("reissue CA: old leaf verifies against it", verify(&leaf, &neu));
out:
	buf_free(&pem);
	mbedtls_x509_crt_free(&old);
	mbedtls_x509_crt_free(&leaf);
	mbedtls_x509_crt_free(&neu);
	mbedtls_pk_free(&key);
}

/* Things that must not produce a certificate. */
static void
test_refusals(void)
{
	mbedtls_x509_crt	 ca, fpca, leaf, got;
	mbedtls_pk_context	 cakey, fpkey, leafkey, key;
	struct pki_spec		 spec;
	struct buf		 pem = { NULL, 0 };
	char			 why[256];
	time_t			 now = time(NULL);
	int			 rc;

	mbedtls_x509_crt_init(&ca);
	mbedtls_x509_crt_init(&fpca);
	mbedtls_x509_crt_init(&leaf);
	mbedtls_x509_crt_init(&got);
	mbedtls_pk_init(&cakey);
	mbedtls_pk_init(&fpkey);
	mbedtls_pk_init(&leafkey);
	mbedtls_pk_init(&key);

	CHECK("refuse: fixtures load", load_crt(FIX "ca.crt", &ca) == 0 &&
	    load_crt(FIX "apiserver.crt", &leaf) == 0 &&
	    load_key(FIX "ca.key", &cakey) == 0 &&
	    load_key(FIX "front-proxy-ca.key", &fpkey) == 0 &&
	    load_key(FIX "apiserver.key", &leafkey) == 0);
	CHECK("refuse: key", pki_genkey(PKI_EC256, &key) == 0);

	memset(&spec, 0, sizeof(spec));
	spec.like = &leaf;
	spec.not_before = now - 300;
	spec.not_after = now + 86400;

	why[0] = '\0';
	rc = pki_sign(&spec, &key, &ca, &fpkey, &pem, why, sizeof(why));
	printf("# wrong CA key: %s\n", why);
	CHECK("refuse: CA key of another CA", rc == -1 && why[0] != '\0' &&
	    pem.data == NULL);

	why[0] = '\0';
	rc = pki_sign(&spec, &key, &leaf, &leafkey, &pem, why, sizeof(why));
	printf("# leaf as CA: %s\n", why);
	CHECK("refuse: a leaf as issuer", rc == -1 && why[0] != '\0' &&
	    pem.data == NULL);

	why[0] = '\0';
	rc = pki_sign(&spec, &key, NULL, NULL, &pem, why, sizeof(why));
	CHECK("refuse: leaf without CA", rc == -1 && why[0] != '\0');

	why[0] = '\0';
	rc = pki_sign(&spec, &key, &ca, NULL, &pem, why, sizeof(why));
	CHECK("refuse: CA without key", rc == -1 && why[0] != '\0');

	spec.not_after = spec.not_before;
	why[0] = '\0';
	rc = pki_sign(&spec, &key, &ca, &cakey, &pem, why, sizeof(why));
	CHECK("refuse: empty validity", rc == -1 && why[0] != '\0');
	spec.not_after = now + 86400;

	spec.serial = (const unsigned char *)"\0\0";
	spec.serial_len = 2;
	why[0] = '\0';
	rc = pki_sign(&spec, &key, &ca, &cakey, &pem, why, sizeof(why));
	CHECK("refuse: serial zero", rc == -1 && why[0] != '\0');

	spec.serial = (const unsigned char *)"\x00\x80";
	spec.serial_len = 2;
	rc = pki_sign(&spec, &key, &ca, &cakey, &pem, why, sizeof(why));
	CHECK("given serial 0x80 accepted", rc == 0);
	CHECK("given serial encoded 00 80", parse_pem_crt(&pem, &got) == 0 &&
	    same(got.serial.p, got.serial.len, "\x00\x80", 2));
	buf_free(&pem);
	spec.serial = NULL;
	spec.serial_len = 0;

	spec.like = NULL;
	spec.subject.cn = "x";
	spec.ip[0] = "10.0.0.256";
	spec.nip = 1;
	why[0] = '\0';
	rc = pki_sign(&spec, &key, &ca, &cakey, &pem, why, sizeof(why));
	CHECK("refuse: bad IP address", rc == -1 && why[0] != '\0');
	spec.nip = 0;

	spec.dns[0] = "b\xc3\xa9.example";
	spec.ndns = 1;
	why[0] = '\0';
	rc = pki_sign(&spec, &key, &ca, &cakey, &pem, why, sizeof(why));
	CHECK("refuse: non-ASCII DNS name", rc == -1 && why[0] != '\0');
	spec.ndns = 0;

	spec.subject.cn = "bad \xc3\x28";
	why[0] = '\0';
	rc = pki_sign(&spec, &key, &ca, &cakey, &pem, why, sizeof(why));
	CHECK("refuse: invalid UTF-8 in CN", rc == -1 && why[0] != '\0');
	CHECK("refusals left no output", pem.data == NULL);

	buf_free(&pem);
	mbedtls_x509_crt_free(&ca);
	mbedtls_x509_crt_free(&fpca);
	mbedtls_x509_crt_free(&leaf);
	mbedtls_x509_crt_free(&got);
	mbedtls_pk_free(&cakey);
	mbedtls_pk_free(&fpkey);
	mbedtls_pk_free(&leafkey);
	mbedtls_pk_free(&key);
}

int
main(void)
{
	time_t	 now = time(NULL);
	size_t	 i;

	CHECK("rng init", pki_rng_init() == 0);
	CHECK("rng init is idempotent", pki_rng_init() == 0);

	/* kubeadm >= 1.31: start - 5m, start + 1y */
	for (i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++)
		test_renew(leaves[i].leaf, leaves[i].ca, now - 300,
		    now + 365 * 86400);
	test_keys();
	test_rsa_genkey();
	test_genkeys();
	test_ca(PKI_RSA2048, "RSA-2048", MBEDTLS_OID_PKCS1_SHA256,
	    OIDLEN(MBEDTLS_OID_PKCS1_SHA256));
	test_ca(PKI_EC256, "P-256", MBEDTLS_OID_ECDSA_SHA256,
	    OIDLEN(MBEDTLS_OID_ECDSA_SHA256));
	test_ca(PKI_EC384, "P-384", MBEDTLS_OID_ECDSA_SHA384,
	    OIDLEN(MBEDTLS_OID_ECDSA_SHA384));
	test_reissue_ca();
	test_refusals();

	pki_rng_free();
	UNIT_DONE();
}
