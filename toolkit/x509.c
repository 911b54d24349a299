/*
 * x509.c: parsing and judging certificates and keys with mbedTLS.
 * No file I/O: callers hand in buffers read through root.c.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "extern.h"

static void
mbed_why(int ret, const char *what, char *why, size_t whylen)
{
	char	 msg[128];

	mbedtls_strerror(ret, msg, sizeof(msg));
	(void)xsnprintf(why, whylen, "%s: %s", what, msg);
}

/* Does the buffer hold a PEM block of this type ("CERTIFICATE", …)? */
int
pem_find(const struct buf *b, const char *type)
{
	char	 hdr[96];

	if (b->data == NULL ||
	    xsnprintf(hdr, sizeof(hdr), "-----BEGIN %s-----", type) == -1)
		return 0;
	return strstr((const char *)b->data, hdr) != NULL;
}

static int
count_str(const struct buf *b, const char *needle)
{
	const char	*p = (const char *)b->data;
	int		 n = 0;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return n;
}

static int
chain_len(const mbedtls_x509_crt *c)
{
	int	 n = 0;

	for (; c != NULL && c->raw.p != NULL; c = c->next)
		n++;
	return n;
}

/*
 * Parse one or more certificates (PEM, possibly beside a key as in the
 * kubelet's cert+key file, or DER) into chain.  Any block that fails to
 * parse makes the whole buffer corrupt: we never judge half a file.
 */
int
x509_parse_certs(const struct buf *b, mbedtls_x509_crt *chain, char *why,
    size_t whylen)
{
	int	 ret;

	if (b->data == NULL || b->len == 0) {
		(void)xsnprintf(why, whylen, "empty file");
		return -1;
	}
	if (memchr(b->data, '\0', b->len) == NULL &&
	    strstr((const char *)b->data, "-----BEGIN") != NULL) {
		if (!pem_find(b, "CERTIFICATE")) {
			(void)xsnprintf(why, whylen,
			    "no CERTIFICATE block in the PEM data");
			return -1;
		}
		ret = mbedtls_x509_crt_parse(chain, b->data, b->len + 1);
		/*
		 * mbedTLS skips a trailing BEGIN without its END once an
		 * earlier block parsed: count the blocks ourselves.
		 */
		if (ret == 0 && count_str(b, "-----BEGIN CERTIFICATE-----") !=
		    chain_len(chain)) {
			(void)xsnprintf(why, whylen, "corrupt certificate: a "
			    "CERTIFICATE block is cut off");
			return -1;
		}
	} else
		ret = mbedtls_x509_crt_parse_der(chain, b->data, b->len);
	if (ret < 0) {
		mbed_why(ret, "corrupt certificate", why, whylen);
		return -1;
	}
	if (ret > 0) {
		(void)xsnprintf(why, whylen,
		    "corrupt certificate: %d PEM block(s) do not parse", ret);
		return -1;
	}
	return 0;
}

static mbedtls_ctr_drbg_context	 check_drbg;
static mbedtls_entropy_context	 check_entropy;
static int			 check_drbg_ready;

/* Randomness for key checks (RSA blinding); keys are never made here. */
static mbedtls_ctr_drbg_context *
check_rng(void)
{
	static const char pers[] = "krescue-x509";

	if (check_drbg_ready)
		return &check_drbg;
	mbedtls_entropy_init(&check_entropy);
	mbedtls_ctr_drbg_init(&check_drbg);
	if (mbedtls_ctr_drbg_seed(&check_drbg, mbedtls_entropy_func,
	    &check_entropy, (const unsigned char *)pers, sizeof(pers) - 1) != 0)
		errx(KR_IO, "cannot seed the random number generator");
	check_drbg_ready = 1;
	return &check_drbg;
}

/* Parse a private key (PKCS#1, SEC1 or PKCS#8, PEM or DER). */
int
x509_parse_key(const struct buf *b, mbedtls_pk_context *pk, char *why,
    size_t whylen)
{
	int	 ret;
	size_t	 len = b->len;

	if (b->data == NULL || b->len == 0) {
		(void)xsnprintf(why, whylen, "empty key");
		return -1;
	}
	if (strstr((const char *)b->data, "-----BEGIN") != NULL)
		len = b->len + 1;	/* PEM wants the NUL counted */
	ret = mbedtls_pk_parse_key(pk, b->data, len, NULL, 0,
	    mbedtls_ctr_drbg_random, check_rng());
	if (ret != 0) {
		/* never echo key bytes: the message names the problem only */
		mbed_why(ret, "unreadable private key", why, whylen);
		return -1;
	}
	return 0;
}

time_t
x509_time(const mbedtls_x509_time *t)
{
	struct tm	 tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = t->year - 1900;
	tm.tm_mon = t->mon - 1;
	tm.tm_mday = t->day;
	tm.tm_hour = t->hour;
	tm.tm_min = t->min;
	tm.tm_sec = t->sec;
	return timegm(&tm);
}

int
x509_key_matches(const mbedtls_x509_crt *crt, const mbedtls_pk_context *key)
{
	return mbedtls_pk_check_pair(&crt->pk, key, mbedtls_ctr_drbg_random,
	    check_rng()) == 0;
}

/*
 * Is `leaf` signed by `ca`?  Go clients find the parent by the raw issuer
 * bytes, so those must equal the CA's raw subject; then the signature must
 * verify.  Validity periods are judged elsewhere, against --now.
 */
int
x509_signed_by(const mbedtls_x509_crt *leaf, const mbedtls_x509_crt *ca,
    char *why, size_t whylen)
{
	mbedtls_x509_crt	 one, trust;
	uint32_t		 flags = 0;
	char			 info[256];
	int			 ret, rc = 0;

	if (leaf->issuer_raw.len != ca->subject_raw.len ||
	    memcmp(leaf->issuer_raw.p, ca->subject_raw.p,
	    ca->subject_raw.len) != 0) {
		(void)xsnprintf(why, whylen,
		    "issuer is not its CA's subject: signed by another CA");
		return 0;
	}
	/* verify needs mutable chains of their own */
	mbedtls_x509_crt_init(&one);
	mbedtls_x509_crt_init(&trust);
	if (mbedtls_x509_crt_parse_der(&one, leaf->raw.p, leaf->raw.len) != 0 ||
	    mbedtls_x509_crt_parse_der(&trust, ca->raw.p, ca->raw.len) != 0) {
		(void)xsnprintf(why, whylen, "cannot re-read certificate");
		goto out;
	}
	ret = mbedtls_x509_crt_verify(&one, &trust, NULL, NULL, &flags, NULL,
	    NULL);
	flags &= ~(uint32_t)(MBEDTLS_X509_BADCERT_EXPIRED |
	    MBEDTLS_X509_BADCERT_FUTURE);
	if (ret != 0 && flags != 0) {
		if (mbedtls_x509_crt_verify_info(info, sizeof(info), "",
		    flags) > 0) {
			info[strcspn(info, "\n")] = '\0';
			(void)xsnprintf(why, whylen,
			    "does not verify against its CA: %s", info);
		} else
			(void)xsnprintf(why, whylen,
			    "does not verify against its CA");
		goto out;
	}
	rc = 1;
out:
	mbedtls_x509_crt_free(&one);
	mbedtls_x509_crt_free(&trust);
	return rc;
}

int
x509_is_ca(const mbedtls_x509_crt *crt)
{
	return crt->MBEDTLS_PRIVATE(ca_istrue) != 0;
}

int
x509_subject(const mbedtls_x509_crt *crt, char *out, size_t outlen)
{
	if (mbedtls_x509_dn_gets(out, outlen, &crt->subject) < 0) {
		(void)xsnprintf(out, outlen, "?");
		return -1;
	}
	return 0;
}

int
x509_cn(const mbedtls_x509_crt *crt, char *out, size_t outlen)
{
	const mbedtls_x509_name	*n;

	for (n = &crt->subject; n != NULL; n = n->next) {
		if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0) {
			if (n->val.len >= outlen)
				return -1;
			memcpy(out, n->val.p, n->val.len);
			out[n->val.len] = '\0';
			return 0;
		}
	}
	out[0] = '\0';
	return -1;
}

/* A DNS name matches exactly (case-insensitive) or by a leading "*." label. */
static int
dns_match(const unsigned char *p, size_t len, const char *name)
{
	const char	*dot;

	if (strlen(name) == len && strncasecmp((const char *)p, name, len) == 0)
		return 1;
	if (len > 2 && p[0] == '*' && p[1] == '.' &&
	    (dot = strchr(name, '.')) != NULL && strlen(dot + 1) == len - 2 &&
	    strncasecmp(dot + 1, (const char *)p + 2, len - 2) == 0)
		return 1;
	return 0;
}

/* Does the certificate carry `name` (a DNS name or an IP) as a SAN? */
int
x509_has_san(const mbedtls_x509_crt *crt, const char *name)
{
	const mbedtls_x509_sequence		*s;
	mbedtls_x509_subject_alternative_name	 san;
	unsigned char				 ip[16];
	size_t					 iplen = 0;
	int					 found = 0;

	if (inet_pton(AF_INET, name, ip) == 1)
		iplen = 4;
	else if (inet_pton(AF_INET6, name, ip) == 1)
		iplen = 16;
	for (s = &crt->subject_alt_names; s != NULL && !found; s = s->next) {
		if (s->buf.p == NULL)
			continue;
		memset(&san, 0, sizeof(san));
		if (mbedtls_x509_parse_subject_alt_name(&s->buf, &san) != 0)
			continue;
		if (iplen == 0 && san.type == MBEDTLS_X509_SAN_DNS_NAME)
			found = dns_match(san.san.unstructured_name.p,
			    san.san.unstructured_name.len, name);
		else if (iplen != 0 && san.type == MBEDTLS_X509_SAN_IP_ADDRESS)
			found = san.san.unstructured_name.len == iplen &&
			    memcmp(san.san.unstructured_name.p, ip, iplen) == 0;
		mbedtls_x509_free_subject_alt_name(&san);
	}
	return found;
}

/* "DNS:a, DNS:b, IP:192.0.2.1" */
int
x509_sans(const mbedtls_x509_crt *crt, char *out, size_t outlen)
{
	const mbedtls_x509_sequence		*s;
	mbedtls_x509_subject_alternative_name	 san;
	char					 one[300], ipbuf[64];
	size_t					 used = 0;

	out[0] = '\0';
	for (s = &crt->subject_alt_names; s != NULL; s = s->next) {
		if (s->buf.p == NULL)
			continue;
		memset(&san, 0, sizeof(san));
		if (mbedtls_x509_parse_subject_alt_name(&s->buf, &san) != 0)
			continue;
		one[0] = '\0';
		if (san.type == MBEDTLS_X509_SAN_DNS_NAME &&
		    san.san.unstructured_name.len < 256)
			(void)xsnprintf(one, sizeof(one), "DNS:%.*s",
			    (int)san.san.unstructured_name.len,
			    san.san.unstructured_name.p);
		else if (san.type == MBEDTLS_X509_SAN_IP_ADDRESS &&
		    (san.san.unstructured_name.len == 4 ||
		    san.san.unstructured_name.len == 16) &&
		    inet_ntop(san.san.unstructured_name.len == 4 ? AF_INET :
		    AF_INET6, san.san.unstructured_name.p, ipbuf,
		    sizeof(ipbuf)) != NULL)
			(void)xsnprintf(one, sizeof(one), "IP:%s", ipbuf);
		mbedtls_x509_free_subject_alt_name(&san);
		if (one[0] == '\0')
			continue;
		if (used + strlen(one) + 3 > outlen)
			return -1;
		if (used > 0) {
			memcpy(out + used, ", ", 2);
			used += 2;
		}
		memcpy(out + used, one, strlen(one) + 1);
		used += strlen(one);
	}
	return 0;
}

/* "RSA-2048", "ECDSA-P256": kubeadm's encryptionAlgorithm names. */
int
x509_key_desc(const mbedtls_pk_context *pk, char *out, size_t outlen)
{
	mbedtls_pk_type_t	 t;
	size_t			 bits;

	t = mbedtls_pk_get_type(pk);
	bits = mbedtls_pk_get_bitlen(pk);
	if (t == MBEDTLS_PK_RSA)
		return xsnprintf(out, outlen, "RSA-%zu", bits);
	if (t == MBEDTLS_PK_ECKEY || t == MBEDTLS_PK_ECDSA)
		return xsnprintf(out, outlen, "ECDSA-P%zu", bits);
	return xsnprintf(out, outlen, "unknown");
}
