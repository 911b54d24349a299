/*
 * check.c: judge every certificate the layout found: validity against
 * --now, chain to its CA (by Go's rules), key match, expected SANs, file
 * modes, and the kubeconfig's CA data.  Shared by `check` and `renew`.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"

/* The CA certificates, loaded once and shared by every leaf. */
struct cas {
	const char		*name[LAYOUT_MAXITEMS];
	mbedtls_x509_crt	 crt[LAYOUT_MAXITEMS];
	int			 ok[LAYOUT_MAXITEMS];
	int			 n;
};

const char *
status_name(enum status s)
{
	switch (s) {
	case ST_OK:
		return "ok";
	case ST_EXPIRING:
		return "expiring";
	case ST_EXPIRED:
		return "expired";
	case ST_NOTYET:
		return "not-yet-valid";
	case ST_INVALID:
		return "invalid";
	case ST_MISSING:
		return "missing";
	}
	return "?";
}

static void
problem(struct finding *f, enum status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
problem(struct finding *f, enum status s, const char *fmt, ...)
{
	va_list	 ap;
	char	*p;
	int	 n;

	if (s > f->status)
		f->status = s;
	if (f->nproblems == FINDING_MAXPROBLEMS)
		return;
	va_start(ap, fmt);
	n = vsnprintf(f->problems[f->nproblems],
	    sizeof(f->problems[f->nproblems]), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* names come from the disk: no control characters to the terminal */
	for (p = f->problems[f->nproblems]; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	f->nproblems++;
}

/* Read a node file, turning every failure into a finding. */
static int
read_or_report(struct check *c, struct finding *f, const char *path,
    struct buf *b, struct stat *st, const char *what)
{
	if (root_readfile(c->lo.root, path, b, st) == 0)
		return 0;
	if (errno == ENOENT)
		problem(f, ST_MISSING, "%s missing: %s", what, path);
	else if (errno == EXDEV)
		problem(f, ST_INVALID, "%s: a symlink leaves the root", path);
	else
		problem(f, ST_INVALID, "cannot read %s: %s", path,
		    path_error(errno));
	return -1;
}

/*
 * Secrets must not be readable by others nor writable by the group;
 * Kubespray's 0640 etcd keys (group root) are fine, kubeadm's are 0600.
 */
static void
check_mode(struct finding *f, const char *path, const struct stat *st)
{
	if ((st->st_mode & 0027) != 0)
		problem(f, ST_INVALID, "unsafe mode %04o on %s (holds a "
		    "private key; want 0600)", (unsigned)(st->st_mode & 07777),
		    path);
}

static void
load_cas(struct check *c, struct cas *cas)
{
	struct buf	 b = { NULL, 0 };
	struct item	*it;
	char		 why[256];
	int		 i;

	memset(cas, 0, sizeof(*cas));
	for (i = 0; i < c->lo.nitems; i++) {
		it = &c->lo.items[i];
		if (it->kind != ITEM_CA && it->kind != ITEM_ETCD_HOST_CA)
			continue;
		cas->name[cas->n] = it->name;
		mbedtls_x509_crt_init(&cas->crt[cas->n]);
		if (root_readfile(c->lo.root, it->path, &b, NULL) == 0 &&
		    x509_parse_certs(&b, &cas->crt[cas->n], why,
		    sizeof(why)) == 0)
			cas->ok[cas->n] = 1;
		buf_free(&b);
		cas->n++;
	}
}

static void
free_cas(struct cas *cas)
{
	int	 i;

	for (i = 0; i < cas->n; i++)
		mbedtls_x509_crt_free(&cas->crt[i]);
}

static const mbedtls_x509_crt *
find_ca(const struct cas *cas, const char *name)
{
	int	 i;

	for (i = 0; i < cas->n; i++)
		if (strcmp(cas->name[i], name) == 0)
			return cas->ok[i] ? &cas->crt[i] : NULL;
	return NULL;
}

static void
judge_time(const struct check *c, struct finding *f,
    const mbedtls_x509_crt *crt)
{
	char	 when[32];

	f->not_before = x509_time(&crt->valid_from);
	f->not_after = x509_time(&crt->valid_to);
	if (c->now > f->not_after) {
		fmt_rfc3339(f->not_after, when, sizeof(when));
		problem(f, ST_EXPIRED, "expired on %s", when);
	} else if (c->now < f->not_before) {
		fmt_rfc3339(f->not_before, when, sizeof(when));
		problem(f, ST_NOTYET, "not valid before %s", when);
	} else if (f->not_after - c->now < c->warn && f->status < ST_EXPIRING)
		f->status = ST_EXPIRING;
}

static void
judge_sans(const struct check *c, struct finding *f,
    const mbedtls_x509_crt *crt)
{
	char	 want[KCFG_MAXSANS + 16][256];
	int	 n, i;

	n = layout_expected_sans(&c->lo, f->item, want, KCFG_MAXSANS + 16);
	for (i = 0; i < n; i++)
		if (!x509_has_san(crt, want[i]))
			problem(f, ST_INVALID, "missing SAN %s (from %s)",
			    want[i], c->lo.config_path);
}

/* The private key: load it, compare with the cert, then wipe it. */
static void
judge_key(struct check *c, struct finding *f, const mbedtls_x509_crt *crt,
    const struct buf *embedded, const char *key_path)
{
	struct buf		 b = { NULL, 0 };
	struct stat		 st;
	mbedtls_pk_context	 pk;
	char			 why[256];

	mbedtls_pk_init(&pk);
	if (embedded == NULL) {
		if (read_or_report(c, f, key_path, &b, &st, "key") == -1)
			goto out;
		check_mode(f, key_path, &st);
	}
	if (x509_parse_key(embedded != NULL ? embedded : &b, &pk, why,
	    sizeof(why)) == -1) {
		problem(f, ST_INVALID, "%s: %s", embedded != NULL ?
		    "client-key-data" : key_path, why);
		goto out;
	}
	(void)x509_key_desc(&pk, f->key_type, sizeof(f->key_type));
	if (!x509_key_matches(crt, &pk))
		problem(f, ST_INVALID, "private key %s does not match the "
		    "certificate", embedded != NULL ? "(client-key-data)" :
		    key_path);
out:
	mbedtls_pk_free(&pk);
	buf_free(&b);
}

static void
judge_chain(struct check *c, struct finding *f, const struct cas *cas,
    const mbedtls_x509_crt *crt)
{
	const mbedtls_x509_crt	*ca;
	const struct item	*ci;
	char			 why[256];

	if (f->item->kind == ITEM_CA || f->item->kind == ITEM_ETCD_HOST_CA) {
		if (!x509_is_ca(crt))
			problem(f, ST_INVALID, "not a CA certificate "
			    "(basicConstraints CA:FALSE)");
		return;
	}
	if ((ca = find_ca(cas, f->item->ca)) == NULL) {
		ci = layout_find(&c->lo, f->item->ca);
		problem(f, ST_INVALID, "cannot verify: CA %s unusable (%s)",
		    f->item->ca, ci != NULL ? ci->path : "not found");
		return;
	}
	if (!x509_signed_by(crt, ca, why, sizeof(why)))
		problem(f, ST_INVALID, "does not chain to %s: %s", f->item->ca,
		    why);
}

/* A CA with no key here is managed elsewhere (kubeadm's external CA). */
static void
judge_ca_key(struct check *c, struct finding *f, const mbedtls_x509_crt *crt)
{
	struct stat	 st;

	if (root_lstat(c->lo.root, f->item->key_path, &st) == -1 &&
	    errno == ENOENT) {
		f->external = 1;
		return;
	}
	judge_key(c, f, crt, NULL, f->item->key_path);
}

/* The kubeconfig's CA data must be the node's ca.crt. */
static void
judge_kubeconfig_ca(struct finding *f, const struct cas *cas,
    const struct kubeconfig *kc)
{
	mbedtls_x509_crt	 kca;
	const mbedtls_x509_crt	*ca;
	char			 why[256];

	if (kc->ca_data.len == 0 || (ca = find_ca(cas, "ca")) == NULL)
		return;
	mbedtls_x509_crt_init(&kca);
	if (x509_parse_certs(&kc->ca_data, &kca, why, sizeof(why)) == -1)
		problem(f, ST_INVALID, "certificate-authority-data: %s", why);
	else if (kca.raw.len != ca->raw.len ||
	    memcmp(kca.raw.p, ca->raw.p, ca->raw.len) != 0)
		problem(f, ST_INVALID,
		    "certificate-authority-data is not the node's ca.crt");
	mbedtls_x509_crt_free(&kca);
}

static void
judge(struct check *c, struct finding *f, const struct cas *cas)
{
	const struct item	*it = f->item;
	struct buf		 b = { NULL, 0 }, side = { NULL, 0 };
	struct stat		 st;
	struct kubeconfig	 kc;
	mbedtls_x509_crt	 crt;
	const struct buf	*certbuf = &b, *keybuf = NULL;
	const char		*key_path = it->key_path;
	char			 why[256];

	memset(&kc, 0, sizeof(kc));
	mbedtls_x509_crt_init(&crt);
	if (read_or_report(c, f, it->path, &b, &st,
	    it->kind == ITEM_KUBECONFIG ? "kubeconfig" : "certificate") == -1) {
		if (!it->required && f->status == ST_MISSING) {
			f->status = ST_OK;
			f->nproblems = 0;
		}
		goto out;
	}
	if (it->kind == ITEM_KUBECONFIG) {
		check_mode(f, it->path, &st);
		if (kubeconfig_parse(&b, &kc, why, sizeof(why)) == -1) {
			problem(f, ST_INVALID, "%s: %s", it->path, why);
			goto out;
		}
		if (kc.cert_data.len > 0)
			certbuf = &kc.cert_data;
		else if (kc.cert_file != NULL) {
			if (read_or_report(c, f, kc.cert_file, &side, NULL,
			    "client certificate") == -1)
				goto out;
			certbuf = &side;
		} else {
			problem(f, ST_INVALID, "%s has no client certificate",
			    it->path);
			goto out;
		}
		if (kc.key_data.len > 0)
			keybuf = &kc.key_data;
		else
			key_path = kc.key_file != NULL ? kc.key_file : "";
	}
	if (x509_parse_certs(certbuf, &crt, why, sizeof(why)) == -1) {
		problem(f, ST_INVALID, "%s: %s", it->path, why);
		goto out;
	}
	f->have_cert = 1;
	(void)x509_subject(&crt, f->subject, sizeof(f->subject));
	judge_time(c, f, &crt);
	judge_chain(c, f, cas, &crt);
	if (it->kind == ITEM_CA || it->kind == ITEM_ETCD_HOST_CA)
		judge_ca_key(c, f, &crt);
	else if (it->kind == ITEM_KUBELET &&
	    strcmp(key_path, it->path) == 0) {
		/* cert and key in one file, as the kubelet writes it */
		check_mode(f, it->path, &st);
		judge_key(c, f, &crt, &b, NULL);
	} else if (keybuf != NULL || *key_path != '\0')
		judge_key(c, f, &crt, keybuf, key_path);
	judge_sans(c, f, &crt);
	if (it->kind == ITEM_KUBECONFIG)
		judge_kubeconfig_ca(f, cas, &kc);
out:
	mbedtls_x509_crt_free(&crt);
	kubeconfig_free(&kc);
	buf_free(&side);
	buf_free(&b);
}

void
check_run(struct check *c)
{
	struct cas	 cas;
	struct finding	*f;
	const struct finding *caf;
	int		 i, j;

	load_cas(c, &cas);
	c->n = c->lo.nitems;
	for (i = 0; i < c->n; i++) {
		f = &c->f[i];
		memset(f, 0, sizeof(*f));
		f->item = &c->lo.items[i];
		judge(c, f, &cas);
	}
	/* leaves of an external CA are externally managed too */
	for (i = 0; i < c->n; i++) {
		for (j = 0; j < c->n; j++) {
			caf = &c->f[j];
			if ((caf->item->kind == ITEM_CA ||
			    caf->item->kind == ITEM_ETCD_HOST_CA) &&
			    strcmp(caf->item->name, c->f[i].item->ca) == 0 &&
			    caf->external)
				c->f[i].external = 1;
		}
	}
	free_cas(&cas);
}

/*
 * The files kubeadm shares between control planes (the CAs with their
 * keys, the service-account keys) compared with another node's root:
 * "renewed on one master, broke the others".  Returns how many differ.
 */
int
check_compare(struct check *c, const struct root *here,
    const struct root *there)
{
	static const char	*files[] = { "ca.crt", "ca.key",
	    "front-proxy-ca.crt", "front-proxy-ca.key", "etcd/ca.crt",
	    "etcd/ca.key", "sa.key", "sa.pub" };
	struct buf		 a = { NULL, 0 }, b = { NULL, 0 };
	struct shared_file	*sf;
	size_t			 i;
	int			 differ = 0;

	c->nshared = 0;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (strncmp(files[i], "etcd/", 5) == 0 && c->lo.external_etcd)
			continue;
		sf = &c->shared[c->nshared];
		memset(sf, 0, sizeof(*sf));
		if (xsnprintf(sf->path, sizeof(sf->path), "%s/%s",
		    c->lo.cert_dir, files[i]) == -1)
			continue;
		sf->here = root_readfile(here, sf->path, &a, NULL) == 0;
		sf->there = root_readfile(there, sf->path, &b, NULL) == 0;
		sf->same = sf->here && sf->there && a.len == b.len &&
		    memcmp(a.data, b.data, a.len) == 0;
		if ((sf->here || sf->there) && !sf->same)
			differ++;
		buf_free(&a);
		buf_free(&b);
		c->nshared++;
	}
	return differ;
}

int
check_exit_code(const struct check *c)
{
	enum status	 worst = ST_OK;
	int		 i;

	for (i = 0; i < c->nshared; i++)
		if ((c->shared[i].here || c->shared[i].there) &&
		    !c->shared[i].same)
			return KR_BAD;

	for (i = 0; i < c->n; i++)
		if (c->f[i].status > worst)
			worst = c->f[i].status;
	if (c->lo.layout_error[0] != '\0' || c->lo.config_error[0] != '\0')
		return KR_BAD;
	if (worst >= ST_EXPIRED)
		return KR_BAD;
	if (worst == ST_EXPIRING)
		return KR_WARN;
	return KR_OK;
}
