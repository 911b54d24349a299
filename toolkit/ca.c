/*
 * ca.c: loading a CA (certificate + key) to sign with, from the node's
 * cert dir or from a directory given on the command line (--ca-from, a
 * path on this machine, e.g. a control plane's pki copied next to a
 * worker's disk).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"

void
ca_init(struct ca *ca)
{
	memset(ca, 0, sizeof(*ca));
	mbedtls_x509_crt_init(&ca->crt);
	mbedtls_pk_init(&ca->key);
}

void
ca_free(struct ca *ca)
{
	mbedtls_x509_crt_free(&ca->crt);
	mbedtls_pk_free(&ca->key);
	buf_free(&ca->pem);
}

/*
 * Load <dir>/<base>.crt and .key.  With from == NULL, dir is a node path
 * inside r; otherwise from is a directory on this machine and dir is
 * ignored.  Refuses a missing key, a key that does not match, a non-CA.
 */
int
ca_load(const struct root *r, const char *dir, const char *from,
    const char *base, struct ca *ca, char *why, size_t whylen)
{
	struct root	 fr;
	struct buf	 kb = { NULL, 0 };
	char		 crt[PATH_MAX], key[PATH_MAX], tmp[256];
	int		 rc = -1;

	if (from != NULL) {
		if (root_open(&fr, from) == -1) {
			(void)xsnprintf(why, whylen, "--ca-from %s: %s", from,
			    path_error(errno));
			return -1;
		}
		r = &fr;
		dir = "";
	}
	if (xsnprintf(crt, sizeof(crt), "%s/%s.crt", dir, base) == -1 ||
	    xsnprintf(key, sizeof(key), "%s/%s.key", dir, base) == -1)
		goto out;
	(void)xsnprintf(ca->path, sizeof(ca->path), "%s%s", from != NULL ?
	    from : "", crt);
	if (root_readfile(r, crt, &ca->pem, NULL) == -1) {
		(void)xsnprintf(why, whylen, "cannot read the CA %s%s: %s",
		    from != NULL ? from : "", crt, path_error(errno));
		goto out;
	}
	if (x509_parse_certs(&ca->pem, &ca->crt, tmp, sizeof(tmp)) == -1) {
		(void)xsnprintf(why, whylen, "%s%s: %s", from != NULL ? from :
		    "", crt, tmp);
		goto out;
	}
	if (!x509_is_ca(&ca->crt)) {
		(void)xsnprintf(why, whylen, "%s%s is not a CA certificate",
		    from != NULL ? from : "", crt);
		goto out;
	}
	if (root_readfile(r, key, &kb, NULL) == -1) {
		(void)xsnprintf(why, whylen, "the CA key %s%s is not there (%s): "
		    "an externally managed CA cannot sign here", from != NULL ?
		    from : "", key, path_error(errno));
		goto out;
	}
	if (x509_parse_key(&kb, &ca->key, tmp, sizeof(tmp)) == -1) {
		(void)xsnprintf(why, whylen, "%s%s: %s", from != NULL ? from :
		    "", key, tmp);
		goto out;
	}
	if (!x509_key_matches(&ca->crt, &ca->key)) {
		(void)xsnprintf(why, whylen, "the CA key %s%s does not match "
		    "its certificate", from != NULL ? from : "", key);
		goto out;
	}
	rc = 0;
out:
	buf_free(&kb);
	return rc;
}
