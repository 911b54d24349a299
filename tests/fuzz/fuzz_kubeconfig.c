/*
 * fuzz_kubeconfig.c: libFuzzer target for kubeconfig_parse, and for the
 * certificate and key a parsed kubeconfig embeds (the path check takes).
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
	struct kubeconfig	 kc;
	mbedtls_x509_crt	 crt;
	mbedtls_pk_context	 pk;
	char			 why[256];
	volatile size_t		 sink = 0;

	if (size > KR_MAXFILE)
		return 0;
	(void)buf_set(&b, data, size);	/* NUL-terminated, as root_readfile */
	if (kubeconfig_parse(&b, &kc, why, sizeof(why)) == 0) {
		sink += strlen(kc.cluster) + strlen(kc.user);
		if (kc.server != NULL)
			sink += strlen(kc.server);
		if (kc.cert_file != NULL)
			sink += strlen(kc.cert_file);
		if (kc.key_file != NULL)
			sink += strlen(kc.key_file);
		if (kc.ca_file != NULL)
			sink += strlen(kc.ca_file);
		mbedtls_x509_crt_init(&crt);
		mbedtls_pk_init(&pk);
		if (kc.cert_data.len > 0 &&
		    x509_parse_certs(&kc.cert_data, &crt, why, sizeof(why)) ==
		    0 && kc.key_data.len > 0 &&
		    x509_parse_key(&kc.key_data, &pk, why, sizeof(why)) == 0)
			sink += (size_t)x509_key_matches(&crt, &pk);
		mbedtls_x509_crt_free(&crt);
		mbedtls_pk_free(&pk);
		kubeconfig_free(&kc);
	} else
		sink += strlen(why);
	buf_free(&b);
	(void)sink;
	return 0;
}
