/*
 * fuzz_x509.c: libFuzzer target for the PEM/DER path: x509_parse_certs
 * and x509_parse_key on the same bytes (a kubelet-client-current.pem holds
 * both), then everything check asks of a parsed certificate.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf		 b = { NULL, 0 };
	mbedtls_x509_crt	 chain;
	const mbedtls_x509_crt	*c;
	mbedtls_pk_context	 pk;
	char			 why[256], text[2048];
	volatile size_t		 sink = 0;
	int			 have_crt, have_key;

	if (size > KR_MAXFILE)
		return 0;
	(void)buf_set(&b, data, size);
	mbedtls_x509_crt_init(&chain);
	mbedtls_pk_init(&pk);
	have_crt = x509_parse_certs(&b, &chain, why, sizeof(why)) == 0;
	have_key = x509_parse_key(&b, &pk, why, sizeof(why)) == 0;
	if (have_crt) {
		for (c = &chain; c != NULL; c = c->next) {
			if (c->raw.p == NULL)
				continue;
			sink += (size_t)x509_time(&c->valid_from);
			sink += (size_t)x509_time(&c->valid_to);
			sink += (size_t)x509_is_ca(c);
			if (x509_subject(c, text, sizeof(text)) == 0)
				sink += strlen(text);
			if (x509_cn(c, text, sizeof(text)) == 0)
				sink += (size_t)x509_has_san(c, text);
			if (x509_sans(c, text, sizeof(text)) == 0)
				sink += strlen(text);
			sink += (size_t)x509_has_san(c, "kubernetes");
			sink += (size_t)x509_has_san(c, "a.example.test");
			sink += (size_t)x509_has_san(c, "10.96.0.1");
			sink += (size_t)x509_has_san(c, "::1");
			sink += (size_t)x509_signed_by(c, &chain, why,
			    sizeof(why));
		}
	}
	if (have_key) {
		if (x509_key_desc(&pk, text, sizeof(text)) == 0)
			sink += strlen(text);
		if (have_crt)
			sink += (size_t)x509_key_matches(&chain, &pk);
	}
	mbedtls_x509_crt_free(&chain);
	mbedtls_pk_free(&pk);
	buf_free(&b);
	(void)sink;
	return 0;
}
