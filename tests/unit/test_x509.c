/*
 * test_x509.c: certificates and keys from real kubeadm output, judged
 * against what openssl says about the same files (the fixtures' .txt
 * dumps, and openssl run here): nothing about a certificate is typed in.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "extern.h"
#include "unit.h"

#define FIX	"../shared/fixtures"

static const char *versions[] = { "kubeadm-v1.28.4", "kubeadm-v1.20.2" };

/* Every certificate file of a version dir, with its CA and its key. */
static const struct {
	const char	*crt, *ca, *key, *row;	/* row: check-expiration name */
} certs[] = {
	{ "pki/ca", "pki/ca", "pki/ca", "ca" },
	{ "pki/front-proxy-ca", "pki/front-proxy-ca", "pki/front-proxy-ca",
	    "front-proxy-ca" },
	{ "pki/etcd/ca", "pki/etcd/ca", "pki/etcd/ca", "etcd-ca" },
	{ "pki/apiserver", "pki/ca", "pki/apiserver", "apiserver" },
	{ "pki/apiserver-kubelet-client", "pki/ca",
	    "pki/apiserver-kubelet-client", "apiserver-kubelet-client" },
	{ "pki/apiserver-etcd-client", "pki/etcd/ca",
	    "pki/apiserver-etcd-client", "apiserver-etcd-client" },
	{ "pki/front-proxy-client", "pki/front-proxy-ca",
	    "pki/front-proxy-client", "front-proxy-client" },
	{ "pki/etcd/server", "pki/etcd/ca", "pki/etcd/server", "etcd-server" },
	{ "pki/etcd/peer", "pki/etcd/ca", "pki/etcd/peer", "etcd-peer" },
	{ "pki/etcd/healthcheck-client", "pki/etcd/ca",
	    "pki/etcd/healthcheck-client", "etcd-healthcheck-client" },
};

static const char *kubeconfigs[] = { "admin.conf", "controller-manager.conf",
    "scheduler.conf", "kubelet.conf" };

static char	 tmpdir[64];
static char	 fixabs[PATH_MAX];	/* FIX as an absolute path */


static int
load_crt(const char *path, mbedtls_x509_crt *crt)
{
	struct buf	 b = { NULL, 0 };
	char		 why[256];
	int		 rc;

	mbedtls_x509_crt_init(crt);
	if (unit_slurp(path, &b) == -1)
		return -1;
	rc = x509_parse_certs(&b, crt, why, sizeof(why));
	buf_free(&b);
	return rc;
}

static int
load_key(const char *path, mbedtls_pk_context *pk)
{
	struct buf	 b = { NULL, 0 };
	char		 why[256];
	int		 rc;

	mbedtls_pk_init(pk);
	if (unit_slurp(path, &b) == -1)
		return -1;
	rc = x509_parse_key(&b, pk, why, sizeof(why));
	buf_free(&b);
	return rc;
}

/* The value after "key" on the first line of `dump` that holds it. */
static int
dump_field(const char *dump, const char *key, char *out, size_t outlen)
{
	const char	*p, *e;

	if ((p = strstr(dump, key)) == NULL)
		return -1;
	p += strlen(key);
	while (*p == ' ')
		p++;
	e = strchr(p, '\n');
	if (e == NULL)
		e = p + strlen(p);
	while (e > p && e[-1] == ' ')
		e--;
	if ((size_t)(e - p) >= outlen)
		return -1;
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
	return 0;
}

/* openssl's "Nov 24 11:40:57 2027 GMT" */
static time_t
openssl_time(const char *s)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct tm	 tm;
	char		 mon[4], zone[4];
	const char	*m;
	int		 n = 0;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%3s %d %d:%d:%d %d %3s%n", mon, &tm.tm_mday,
	    &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &tm.tm_year, zone, &n) != 7 ||
	    s[n] != '\0' || strcmp(zone, "GMT") != 0 || strlen(mon) != 3 ||
	    (m = strstr(months, mon)) == NULL || (m - months) % 3 != 0)
		return (time_t)-1;
	tm.tm_mon = (int)(m - months) / 3;
	tm.tm_year -= 1900;
	return timegm(&tm);
}

/* Ask openssl itself: `openssl x509 -noout -enddate` (or -startdate). */
static time_t
openssl_cmd_time(const char *path, const char *opt)
{
	char	 cmd[512], line[256], *p;
	FILE	*f;
	time_t	 t = (time_t)-1;

	(void)snprintf(cmd, sizeof(cmd), "openssl x509 -noout %s -in '%s'",
	    opt, path);
	if ((f = popen(cmd, "r")) == NULL)
		return t;
	if (fgets(line, sizeof(line), f) != NULL &&
	    (p = strchr(line, '=')) != NULL) {
		p[strcspn(p, "\n")] = '\0';
		t = openssl_time(p + 1);
	}
	if (pclose(f) != 0)
		t = (time_t)-1;
	return t;
}

/*
 * The SAN line of an openssl dump as x509_sans writes it: "IP Address:"
 * becomes "IP:", and IPv6 goes through inet_ntop (openssl prints
 * 0:0:0:0:0:0:0:1).
 */
static int
dump_sans(const char *dump, char *out, size_t outlen)
{
	char		 line[2048], *tok, *save, ip[64];
	unsigned char	 a[16];
	const char	*p;
	size_t		 used = 0;
	int		 n;

	out[0] = '\0';
	if ((p = strstr(dump, "X509v3 Subject Alternative Name:")) == NULL)
		return 0;
	if ((p = strchr(p, '\n')) == NULL ||
	    dump_field(p + 1, "", line, sizeof(line)) == -1)
		return -1;
	for (tok = strtok_r(line, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		if (strncmp(tok, "IP Address:", 11) == 0) {
			tok += 11;
			if (inet_pton(strchr(tok, ':') ? AF_INET6 : AF_INET, tok,
			    a) != 1 || inet_ntop(strchr(tok, ':') ? AF_INET6 :
			    AF_INET, a, ip, sizeof(ip)) == NULL)
				return -1;
			n = snprintf(out + used, outlen - used, "%sIP:%s",
			    used ? ", " : "", ip);
		} else
			n = snprintf(out + used, outlen - used, "%s%s",
			    used ? ", " : "", tok);
		if (n < 0 || (size_t)n >= outlen - used)
			return -1;
		used += (size_t)n;
	}
	return 0;
}

/* "O = system:masters, CN = x" -> "O=system:masters, CN=x" */
static void
squeeze_dn(char *s)
{
	char	*p;

	while ((p = strstr(s, " = ")) != NULL) {
		*p = '=';
		memmove(p + 1, p + 3, strlen(p + 3) + 1);
	}
}

/* Everything about one cert, compared with its openssl dump. */
static void
judge(const char *label, const mbedtls_x509_crt *crt, const char *dump,
    const char *crt_path, const mbedtls_x509_crt *ca,
    const mbedtls_pk_context *key)
{
	char	 name[256], want[2048], got[2048], why[256], *tok, *save;
	time_t	 t;

#define N(what) (void)snprintf(name, sizeof(name), "%s: %s", label, what)
	N("NotAfter = the dump's Not After");
	CHECK(name, dump_field(dump, "Not After :", want, sizeof(want)) == 0 &&
	    (t = openssl_time(want)) != (time_t)-1 &&
	    x509_time(&crt->valid_to) == t);
	N("NotBefore = the dump's Not Before");
	CHECK(name, dump_field(dump, "Not Before:", want, sizeof(want)) == 0 &&
	    (t = openssl_time(want)) != (time_t)-1 &&
	    x509_time(&crt->valid_from) == t);
	if (crt_path != NULL) {
		N("NotAfter = openssl x509 -enddate");
		t = openssl_cmd_time(crt_path, "-enddate");
		CHECK(name, t != (time_t)-1 && x509_time(&crt->valid_to) == t);
		N("NotBefore = openssl x509 -startdate");
		t = openssl_cmd_time(crt_path, "-startdate");
		CHECK(name, t != (time_t)-1 &&
		    x509_time(&crt->valid_from) == t);
	}

	N("subject = the dump's Subject");
	if (dump_field(dump, "Subject:", want, sizeof(want)) == -1)
		want[0] = '\0';
	squeeze_dn(want);
	if (x509_subject(crt, got, sizeof(got)) == -1)
		got[0] = '\0';
	CHECK_STR(name, got, want);
	N("CN = the dump's CN");
	tok = strstr(want, "CN=");
	CHECK(name, tok != NULL && x509_cn(crt, got, sizeof(got)) == 0 &&
	    strcmp(got, tok + 3) == 0);
	N("x509_cn refuses a short buffer");
	CHECK(name, x509_cn(crt, got, 3) == -1);

	N("is_ca = the dump's CA:TRUE");
	CHECK(name, x509_is_ca(crt) == (strstr(dump, "CA:TRUE") != NULL));

	N("x509_sans = the dump's SAN line");
	if (dump_sans(dump, want, sizeof(want)) == -1)
		(void)snprintf(want, sizeof(want), "(bad dump)");
	if (x509_sans(crt, got, sizeof(got)) == -1)
		got[0] = '\0';
	CHECK_STR(name, got, want);
	if (want[0] == '\0') {
		N("no SAN: x509_sans is empty, the CN is not a SAN");
		CHECK(name, got[0] == '\0' && x509_cn(crt, got, sizeof(got)) ==
		    0 && !x509_has_san(crt, got));
	} else {
		N("x509_has_san for every SAN in the dump");
		int	 all = 1, n = 0;
		char	 one[300];

		for (tok = strtok_r(want, ",", &save); tok != NULL;
		    tok = strtok_r(NULL, ",", &save), n++) {
			while (*tok == ' ')
				tok++;
			(void)snprintf(one, sizeof(one), "%s",
			    strchr(tok, ':') + 1);
			if (!x509_has_san(crt, one))
				all = 0;
		}
		CHECK(name, all && n > 0);
		N("x509_sans fails when the buffer is too small");
		CHECK(name, x509_sans(crt, got, 8) == -1);
	}

	if (ca != NULL) {
		N("signed by its CA");
		why[0] = '\0';
		CHECK(name, x509_signed_by(crt, ca, why, sizeof(why)) == 1);
	}
	if (key != NULL) {
		N("its key matches");
		CHECK(name, x509_key_matches(crt, key));
		N("key description = the dump's Public-Key");
		CHECK(name, dump_field(dump, "Public-Key: (", want,
		    sizeof(want)) == 0 && strcmp(want, "2048 bit)") == 0 &&
		    x509_key_desc(key, got, sizeof(got)) == 0 &&
		    strcmp(got, "RSA-2048") == 0);
	}
#undef N
}

/* The check-expiration row `row` shows this date, as kubeadm wrote it. */
static int
expiration_row_has(const struct buf *table, const char *row, time_t t)
{
	char		 date[64], key[128];
	const char	*p, *e;

	fmt_kubeadm_date(t, date, sizeof(date));
	(void)snprintf(key, sizeof(key), "\n%s ", row);
	if ((p = strstr((const char *)table->data, key)) == NULL)
		return 0;
	e = strchr(p + 1, '\n');
	p = strstr(p, date);
	return p != NULL && (e == NULL || p < e);
}

static void
test_fixture_certs(void)
{
	mbedtls_x509_crt	 crt, ca;
	mbedtls_pk_context	 key;
	struct buf		 dump = { NULL, 0 }, table = { NULL, 0 };
	struct buf		 b = { NULL, 0 };
	struct kubeconfig	 kc;
	char			 path[256], label[128], why[256];
	size_t			 v, i;
	int			 rc;

	for (v = 0; v < 2; v++) {
		(void)snprintf(path, sizeof(path), FIX "/%s/check-expiration.txt",
		    versions[v]);
		if (unit_slurp(path, &table) == -1)
			(void)buf_set(&table, "", 0);
		for (i = 0; i < sizeof(certs) / sizeof(certs[0]); i++) {
			(void)snprintf(label, sizeof(label), "%s/%s.crt",
			    versions[v], certs[i].crt);
			(void)snprintf(path, sizeof(path), FIX "/%s/%s.crt",
			    versions[v], certs[i].ca);
			rc = load_crt(path, &ca);
			(void)snprintf(path, sizeof(path), FIX "/%s/%s.key",
			    versions[v], certs[i].key);
			rc |= load_key(path, &key);
			(void)snprintf(path, sizeof(path), FIX "/%s/%s.crt.txt",
			    versions[v], certs[i].crt);
			rc |= unit_slurp(path, &dump);
			(void)snprintf(path, sizeof(path), FIX "/%s/%s.crt",
			    versions[v], certs[i].crt);
			rc |= load_crt(path, &crt);
			CHECK(label, rc == 0 && crt.next == NULL);
			if (rc == 0) {
				judge(label, &crt, (const char *)dump.data, path,
				    &ca, &key);
				(void)snprintf(label, sizeof(label),
				    "%s/%s.crt: check-expiration row %s shows "
				    "fmt_kubeadm_date(NotAfter)", versions[v],
				    certs[i].crt, certs[i].row);
				CHECK(label, expiration_row_has(&table,
				    certs[i].row, x509_time(&crt.valid_to)));
			}
			mbedtls_x509_crt_free(&crt);
			mbedtls_x509_crt_free(&ca);
			mbedtls_pk_free(&key);
		}

		/* the client certs embedded in the kubeconfigs */
		(void)snprintf(path, sizeof(path), FIX "/%s/pki/ca.crt",
		    versions[v]);
		rc = load_crt(path, &ca);
		for (i = 0; i < sizeof(kubeconfigs) / sizeof(kubeconfigs[0]);
		    i++) {
			(void)snprintf(label, sizeof(label), "%s/%s client cert",
			    versions[v], kubeconfigs[i]);
			(void)snprintf(path, sizeof(path), FIX "/%s/%s",
			    versions[v], kubeconfigs[i]);
			mbedtls_x509_crt_init(&crt);
			mbedtls_pk_init(&key);
			memset(&kc, 0, sizeof(kc));
			rc = unit_slurp(path, &b);
			rc |= kubeconfig_parse(&b, &kc, why, sizeof(why));
			(void)snprintf(path, sizeof(path),
			    FIX "/%s/%s.client-crt.txt", versions[v],
			    kubeconfigs[i]);
			rc |= unit_slurp(path, &dump);
			if (rc == 0)
				rc = x509_parse_certs(&kc.cert_data, &crt, why,
				    sizeof(why)) | x509_parse_key(&kc.key_data,
				    &key, why, sizeof(why));
			CHECK(label, rc == 0);
			if (rc == 0) {
				judge(label, &crt, (const char *)dump.data, NULL,
				    &ca, &key);
				if (strcmp(kubeconfigs[i], "kubelet.conf") != 0) {
					(void)snprintf(label, sizeof(label),
					    "%s/%s: check-expiration row shows "
					    "fmt_kubeadm_date(NotAfter)",
					    versions[v], kubeconfigs[i]);
					CHECK(label, expiration_row_has(&table,
					    kubeconfigs[i],
					    x509_time(&crt.valid_to)));
				}
			}
			kubeconfig_free(&kc);
			mbedtls_x509_crt_free(&crt);
			mbedtls_pk_free(&key);
		}
		mbedtls_x509_crt_free(&ca);
	}
	buf_free(&b);
	buf_free(&dump);
	buf_free(&table);
}

static void
test_negative_judgements(void)
{
	mbedtls_x509_crt	 api, ca, fpca, api20, ca20, tampered;
	mbedtls_pk_context	 apikey, fpkey, apikey20;
	char			 why[256];
	int			 rc;

	rc = load_crt(FIX "/kubeadm-v1.28.4/pki/apiserver.crt", &api);
	rc |= load_crt(FIX "/kubeadm-v1.28.4/pki/ca.crt", &ca);
	rc |= load_crt(FIX "/kubeadm-v1.28.4/pki/front-proxy-ca.crt", &fpca);
	rc |= load_crt(FIX "/kubeadm-v1.20.2/pki/apiserver.crt", &api20);
	rc |= load_crt(FIX "/kubeadm-v1.20.2/pki/ca.crt", &ca20);
	rc |= load_key(FIX "/kubeadm-v1.28.4/pki/apiserver.key", &apikey);
	rc |= load_key(FIX "/kubeadm-v1.28.4/pki/front-proxy-client.key",
	    &fpkey);
	rc |= load_key(FIX "/kubeadm-v1.20.2/pki/apiserver.key", &apikey20);
	CHECK("negative judgements: fixtures load", rc == 0);

	CHECK("apiserver.crt matches apiserver.key",
	    x509_key_matches(&api, &apikey));
	CHECK("apiserver.crt does not match front-proxy-client.key",
	    !x509_key_matches(&api, &fpkey));
	CHECK("v1.28.4 apiserver.crt does not match v1.20.2 apiserver.key",
	    !x509_key_matches(&api, &apikey20));

	why[0] = '\0';
	CHECK("apiserver is not signed by front-proxy-ca",
	    x509_signed_by(&api, &fpca, why, sizeof(why)) == 0 &&
	    strstr(why, "issuer") != NULL);
	why[0] = '\0';
	CHECK("apiserver is not signed by itself",
	    x509_signed_by(&api, &api, why, sizeof(why)) == 0 &&
	    why[0] != '\0');
	CHECK("ca.crt is signed by itself",
	    x509_signed_by(&ca, &ca, why, sizeof(why)) == 1);

	/* Same issuer bytes (CN=kubernetes), a different CA key. */
	CHECK("v1.20.2 apiserver's issuer equals v1.28.4 ca's subject, "
	    "byte for byte", api20.issuer_raw.len == ca.subject_raw.len &&
	    memcmp(api20.issuer_raw.p, ca.subject_raw.p,
	    ca.subject_raw.len) == 0);
	why[0] = '\0';
	CHECK("v1.20.2 apiserver is not signed by the v1.28.4 ca",
	    x509_signed_by(&api20, &ca, why, sizeof(why)) == 0 &&
	    strstr(why, "verify") != NULL);
	why[0] = '\0';
	CHECK("v1.28.4 apiserver is not signed by the v1.20.2 ca",
	    x509_signed_by(&api, &ca20, why, sizeof(why)) == 0 &&
	    why[0] != '\0');
	CHECK("v1.20.2 apiserver is signed by the v1.20.2 ca",
	    x509_signed_by(&api20, &ca20, why, sizeof(why)) == 1);

	/* A flipped bit in the signature. */
	mbedtls_x509_crt_init(&tampered);
	{
		unsigned char	*der = xmalloc(api.raw.len);

		memcpy(der, api.raw.p, api.raw.len);
		der[api.raw.len - 1] ^= 0x01;
		rc = mbedtls_x509_crt_parse_der(&tampered, der, api.raw.len);
		free(der);
	}
	why[0] = '\0';
	CHECK("apiserver with a flipped signature bit is not signed by ca",
	    rc == 0 && x509_signed_by(&tampered, &ca, why, sizeof(why)) == 0 &&
	    strstr(why, "verify") != NULL);

	CHECK("apiserver has no 127.0.0.1 SAN", !x509_has_san(&api, "127.0.0.1"));
	CHECK("apiserver has no localhost SAN", !x509_has_san(&api, "localhost"));
	CHECK("apiserver has no ::1 SAN", !x509_has_san(&api, "::1"));
	CHECK("apiserver: a prefix of a DNS SAN is not a SAN",
	    !x509_has_san(&api, "kubernetes.default.svc.cluster"));
	CHECK("apiserver: a suffix of a DNS SAN is not a SAN",
	    !x509_has_san(&api, "ubernetes"));
	CHECK("apiserver: 192.0.2.1 is not 192.0.2.10",
	    !x509_has_san(&api, "192.0.2.1"));
	CHECK("apiserver: an IP SAN is not a DNS name",
	    !x509_has_san(&api, "cp-2"));
	CHECK("apiserver: DNS SANs match case-insensitively",
	    x509_has_san(&api, "KUBERNETES.Default"));
	CHECK("apiserver: empty name", !x509_has_san(&api, ""));
	CHECK("ca is a CA, apiserver is not", x509_is_ca(&ca) &&
	    !x509_is_ca(&api));

	mbedtls_x509_crt_free(&api);
	mbedtls_x509_crt_free(&ca);
	mbedtls_x509_crt_free(&fpca);
	mbedtls_x509_crt_free(&api20);
	mbedtls_x509_crt_free(&ca20);
	mbedtls_x509_crt_free(&tampered);
	mbedtls_pk_free(&apikey);
	mbedtls_pk_free(&fpkey);
	mbedtls_pk_free(&apikey20);
}

static int
run(const char *cmd)
{
	char	 full[PATH_MAX + 2048];

	(void)snprintf(full, sizeof(full), "F='%s'; cd '%s' && "
	    "{ %s; } >/dev/null 2>&1", fixabs, tmpdir, cmd);
	return system(full) == 0 ? 0 : -1;
}

static int
tmpfile_buf(const char *name, struct buf *b)
{
	char	 path[256];

	(void)snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return unit_slurp(path, b);
}

static void
cat_buf(struct buf *dst, const struct buf *a, size_t alen, const struct buf *c,
    size_t clen)
{
	unsigned char	*p = xmalloc(alen + clen + 1);

	memcpy(p, a->data, alen);
	if (clen > 0)
		memcpy(p + alen, c->data, clen);
	p[alen + clen] = '\0';
	buf_free(dst);
	dst->data = p;
	dst->len = alen + clen;
}

static void
test_encodings(void)
{
	mbedtls_x509_crt	 pem, der, both, ec;
	mbedtls_pk_context	 key, eckey;
	struct buf		 crtb = { NULL, 0 }, keyb = { NULL, 0 };
	struct buf		 cab = { NULL, 0 }, b = { NULL, 0 };
	char			 why[256], got[512];
	const char		*p;
	int			 rc;

	rc = load_crt(FIX "/kubeadm-v1.28.4/pki/apiserver.crt", &pem);
	rc |= unit_slurp(FIX "/kubeadm-v1.28.4/pki/apiserver.crt", &crtb);
	rc |= unit_slurp(FIX "/kubeadm-v1.28.4/pki/apiserver.key", &keyb);
	rc |= unit_slurp(FIX "/kubeadm-v1.28.4/pki/ca.crt", &cab);
	CHECK("encodings: fixtures load", rc == 0);

	/* DER, as openssl converts it */
	mbedtls_x509_crt_init(&der);
	rc = run("openssl x509 -in \"$F/kubeadm-v1.28.4/pki/apiserver.crt\""
	    " -outform DER -out apiserver.der");
	CHECK("openssl converts apiserver.crt to DER", rc == 0 &&
	    tmpfile_buf("apiserver.der", &b) == 0);
	why[0] = '\0';
	CHECK("x509_parse_certs reads DER",
	    x509_parse_certs(&b, &der, why, sizeof(why)) == 0);
	CHECK("DER and PEM give the same certificate",
	    der.raw.len == pem.raw.len && der.raw.len == b.len &&
	    memcmp(der.raw.p, pem.raw.p, pem.raw.len) == 0);
	mbedtls_x509_crt_free(&der);
	mbedtls_x509_crt_init(&der);
	b.len = b.len / 2;
	CHECK("truncated DER is refused",
	    x509_parse_certs(&b, &der, why, sizeof(why)) == -1 &&
	    strstr(why, "corrupt") != NULL);
	mbedtls_x509_crt_free(&der);

	/* DER key (PKCS#1) */
	rc = run("openssl rsa -in \"$F/kubeadm-v1.28.4/pki/apiserver.key\""
	    " -outform DER -out apiserver.key.der");
	mbedtls_pk_init(&key);
	CHECK("x509_parse_key reads a DER key", rc == 0 &&
	    tmpfile_buf("apiserver.key.der", &b) == 0 &&
	    x509_parse_key(&b, &key, why, sizeof(why)) == 0 &&
	    x509_key_matches(&pem, &key));
	mbedtls_pk_free(&key);

	/* cert + key in one file, as kubelet-client-current.pem */
	mbedtls_x509_crt_init(&both);
	mbedtls_pk_init(&key);
	cat_buf(&b, &crtb, crtb.len, &keyb, keyb.len);
	CHECK("cert+key file: the cert parses",
	    x509_parse_certs(&b, &both, why, sizeof(why)) == 0 &&
	    both.next == NULL && both.raw.len == pem.raw.len &&
	    memcmp(both.raw.p, pem.raw.p, pem.raw.len) == 0);
	CHECK("cert+key file: the key parses and matches",
	    x509_parse_key(&b, &key, why, sizeof(why)) == 0 &&
	    x509_key_matches(&both, &key));
	mbedtls_x509_crt_free(&both);
	mbedtls_pk_free(&key);
	mbedtls_x509_crt_init(&both);
	mbedtls_pk_init(&key);
	cat_buf(&b, &keyb, keyb.len, &crtb, crtb.len);
	CHECK("key+cert file: both parse and match",
	    x509_parse_certs(&b, &both, why, sizeof(why)) == 0 &&
	    x509_parse_key(&b, &key, why, sizeof(why)) == 0 &&
	    x509_key_matches(&both, &key));
	mbedtls_x509_crt_free(&both);
	mbedtls_pk_free(&key);

	/* a bundle */
	mbedtls_x509_crt_init(&both);
	cat_buf(&b, &cab, cab.len, &crtb, crtb.len);
	CHECK("ca+apiserver bundle gives a chain of two",
	    x509_parse_certs(&b, &both, why, sizeof(why)) == 0 &&
	    both.next != NULL && both.next->next == NULL &&
	    both.next->raw.len == pem.raw.len);
	mbedtls_x509_crt_free(&both);

	/* truncated PEM */
	mbedtls_x509_crt_init(&both);
	cat_buf(&b, &crtb, crtb.len / 2, &crtb, 0);
	CHECK("PEM cut in half is refused",
	    x509_parse_certs(&b, &both, why, sizeof(why)) == -1);
	mbedtls_x509_crt_free(&both);
	mbedtls_x509_crt_init(&both);
	/* header, two base64 lines, footer: a short, corrupt body */
	p = strstr((const char *)crtb.data, "-----END");
	{
		struct buf	 head = { NULL, 0 }, tail = { NULL, 0 };

		(void)buf_set(&head, crtb.data, 28 + 65 * 2);
		(void)buf_set(&tail, p, strlen(p));
		cat_buf(&b, &head, head.len, &tail, tail.len);
		buf_free(&head);
		buf_free(&tail);
	}
	CHECK("PEM with its body cut short is refused",
	    x509_parse_certs(&b, &both, why, sizeof(why)) == -1 &&
	    strstr(why, "corrupt") != NULL);
	mbedtls_x509_crt_free(&both);
	mbedtls_x509_crt_init(&both);
	cat_buf(&b, &cab, cab.len, &crtb, crtb.len / 2);
	why[0] = '\0';
	rc = x509_parse_certs(&b, &both, why, sizeof(why));
	CHECK("a bundle whose second cert is cut in half is refused "
	    "(never judge half a file)", rc == -1);
	mbedtls_x509_crt_free(&both);

	/* garbage */
	mbedtls_x509_crt_init(&both);
	(void)buf_set(&b, "hello world\n", 12);
	CHECK("text that is not PEM is refused",
	    x509_parse_certs(&b, &both, why, sizeof(why)) == -1);
	(void)buf_set(&b, "\x30\x82\x01\x00\x01\x02\x03", 7);
	CHECK("a DER-looking prefix is refused",
	    x509_parse_certs(&b, &both, why, sizeof(why)) == -1);
	(void)buf_set(&b, "", 0);
	CHECK("an empty buffer is refused",
	    x509_parse_certs(&b, &both, why, sizeof(why)) == -1 &&
	    strstr(why, "empty") != NULL);
	CHECK("a key alone is not a certificate",
	    x509_parse_certs(&keyb, &both, why, sizeof(why)) == -1 &&
	    strstr(why, "CERTIFICATE") != NULL);
	p = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
	(void)buf_set(&b, p, strlen(p));
	CHECK("a CERTIFICATE block of junk is refused",
	    x509_parse_certs(&b, &both, why, sizeof(why)) == -1);
	mbedtls_x509_crt_free(&both);

	/* keys that must be refused, without echoing key material */
	mbedtls_pk_init(&key);
	cat_buf(&b, &keyb, keyb.len / 2, &keyb, 0);
	why[0] = '\0';
	CHECK("a key cut in half is refused",
	    x509_parse_key(&b, &key, why, sizeof(why)) == -1 &&
	    why[0] != '\0' && strstr(why, "MII") == NULL);
	mbedtls_pk_free(&key);
	mbedtls_pk_init(&key);
	CHECK("a certificate is not a private key",
	    x509_parse_key(&crtb, &key, why, sizeof(why)) == -1);
	mbedtls_pk_free(&key);
	mbedtls_pk_init(&key);
	(void)buf_set(&b, "", 0);
	CHECK("an empty key is refused",
	    x509_parse_key(&b, &key, why, sizeof(why)) == -1);
	mbedtls_pk_free(&key);

	CHECK("pem_find finds CERTIFICATE in a cert",
	    pem_find(&crtb, "CERTIFICATE"));
	CHECK("pem_find finds RSA PRIVATE KEY in a key",
	    pem_find(&keyb, "RSA PRIVATE KEY"));
	CHECK("pem_find: no CERTIFICATE in a key",
	    !pem_find(&keyb, "CERTIFICATE"));

	/* ECDSA P-256 with a wildcard and IPv6, made by openssl here */
	rc = run("openssl req -x509 -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-256 -nodes -subj /CN=wild -days 2 "
	    "-addext 'subjectAltName=DNS:*.example.test,IP:2001:db8::1,"
	    "IP:192.0.2.7' -keyout ec.key -out ec.crt && "
	    "openssl ec -in ec.key -out ec-sec1.key");
	CHECK("openssl makes an ECDSA test cert", rc == 0);
	mbedtls_x509_crt_init(&ec);
	mbedtls_pk_init(&eckey);
	CHECK("ECDSA cert parses", tmpfile_buf("ec.crt", &b) == 0 &&
	    x509_parse_certs(&b, &ec, why, sizeof(why)) == 0);
	CHECK("PKCS#8 EC key parses", tmpfile_buf("ec.key", &b) == 0 &&
	    pem_find(&b, "PRIVATE KEY") &&
	    x509_parse_key(&b, &eckey, why, sizeof(why)) == 0);
	CHECK_STR("x509_key_desc of P-256",
	    x509_key_desc(&eckey, got, sizeof(got)) == 0 ? got : "(failed)",
	    "ECDSA-P256");
	CHECK("ECDSA key matches its cert", x509_key_matches(&ec, &eckey));
	mbedtls_pk_free(&eckey);
	mbedtls_pk_init(&eckey);
	CHECK("SEC1 EC key parses and matches",
	    tmpfile_buf("ec-sec1.key", &b) == 0 &&
	    pem_find(&b, "EC PRIVATE KEY") &&
	    x509_parse_key(&b, &eckey, why, sizeof(why)) == 0 &&
	    x509_key_matches(&ec, &eckey));
	CHECK("an RSA cert does not match an EC key",
	    !x509_key_matches(&pem, &eckey));
	CHECK_STR("x509_sans with a wildcard and IPv6",
	    x509_sans(&ec, got, sizeof(got)) == 0 ? got : "(failed)",
	    "DNS:*.example.test, IP:2001:db8::1, IP:192.0.2.7");
	CHECK("wildcard matches one label", x509_has_san(&ec, "a.example.test"));
	CHECK("wildcard does not match two labels",
	    !x509_has_san(&ec, "a.b.example.test"));
	CHECK("wildcard does not match the bare domain",
	    !x509_has_san(&ec, "example.test"));
	CHECK("wildcard does not match another domain",
	    !x509_has_san(&ec, "a.example.org"));
	CHECK("IPv6 SAN matches in any spelling",
	    x509_has_san(&ec, "2001:db8::1") &&
	    x509_has_san(&ec, "2001:0db8:0:0::0001"));
	CHECK("IPv6 SAN: another address does not match",
	    !x509_has_san(&ec, "2001:db8::2"));
	CHECK("IPv4 SAN next to IPv6", x509_has_san(&ec, "192.0.2.7"));
	CHECK("openssl's self-signed ECDSA cert is a CA signed by itself",
	    x509_is_ca(&ec) && x509_signed_by(&ec, &ec, why, sizeof(why)) == 1);
	mbedtls_x509_crt_free(&ec);
	mbedtls_pk_free(&eckey);

	mbedtls_x509_crt_free(&pem);
	buf_free(&b);
	buf_free(&crtb);
	buf_free(&keyb);
	buf_free(&cab);
}

int
main(void)
{
	char	 cmd[128];

	(void)snprintf(tmpdir, sizeof(tmpdir), "/tmp/krescue-x509.XXXXXX");
	if (realpath(FIX, fixabs) == NULL) {
		perror(FIX);
		return 1;
	}
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_fixture_certs();
	test_negative_judgements();
	test_encodings();
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	UNIT_DONE();
}
