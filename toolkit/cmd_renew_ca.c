/*
 * krescue renew-ca: re-issue a CA certificate with the same key, subject,
 * SKI and extensions and a new validity, so that every certificate it
 * signed, every kubeconfig and every worker that trusts it keeps working.
 * The node's kubeconfigs get the new certificate-authority-data.
 */
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "extern.h"
#include "pki.h"
#include "txn.h"

#define CA_VALIDITY	((int64_t)87600 * 3600)	/* kubeadm's 10 years */
#define BACKDATE	(5 * 60)

struct reissue {
	const struct item	*item;
	const struct finding	*f;
	mbedtls_x509_crt	 old;
	struct buf		 pem;		/* new certificate */
	time_t			 not_after;
};

static void
renew_ca_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: krescue renew-ca [--root DIR] [--ca NAME|all] "
	    "[--validity DURATION]\n"
	    "                        [--dry-run]\n"
	    "\n"
	    "Re-issues CA certificates with the same key, subject, SKI and "
	    "extensions and a\nnew validity (default 87600h, kubeadm's ten "
	    "years): every certificate they\nsigned stays valid. NAME: ca, "
	    "front-proxy-ca, etcd-ca, etcd-host-ca (Kubespray),\nor all "
	    "(default). Kubeconfigs on the node get the new "
	    "certificate-authority-data.\n"
	    "\nexit status: 0 re-issued, 1 refused (nothing changed), 100 "
	    "usage, 111 I/O error\n");
}

static int
is_ca_item(const struct item *it)
{
	return it->kind == ITEM_CA || it->kind == ITEM_ETCD_HOST_CA;
}

/* Load the CA and its key; refuse what cannot be re-issued faithfully. */
static int
load_ca(const struct root *r, struct reissue *ri, mbedtls_pk_context *key,
    char *why, size_t whylen)
{
	struct buf	 b = { NULL, 0 };
	char		 tmp[256];
	int		 rc = -1;

	if (!ri->f->have_cert) {
		(void)xsnprintf(why, whylen, "%s: %s", ri->item->name,
		    ri->f->nproblems > 0 ? ri->f->problems[0] : "unreadable");
		goto out;
	}
	if (ri->f->external) {
		(void)xsnprintf(why, whylen, "%s has no key on this node (%s): "
		    "an externally managed CA is re-issued by its owner",
		    ri->item->name, ri->item->key_path);
		goto out;
	}
	if (root_readfile(r, ri->item->path, &b, NULL) == -1 ||
	    x509_parse_certs(&b, &ri->old, tmp, sizeof(tmp)) == -1) {
		(void)xsnprintf(why, whylen, "cannot load %s", ri->item->path);
		goto out;
	}
	buf_free(&b);
	if (root_readfile(r, ri->item->key_path, &b, NULL) == -1 ||
	    x509_parse_key(&b, key, tmp, sizeof(tmp)) == -1) {
		(void)xsnprintf(why, whylen, "cannot load the key %s",
		    ri->item->key_path);
		goto out;
	}
	if (!x509_key_matches(&ri->old, key)) {
		(void)xsnprintf(why, whylen, "%s: the key %s does not match "
		    "the certificate; re-issuing would make a different CA",
		    ri->item->name, ri->item->key_path);
		goto out;
	}
	rc = 0;
out:
	buf_free(&b);
	return rc;
}

static int
same_ski(const mbedtls_x509_crt *a, const mbedtls_x509_crt *b)
{
	return a->subject_key_id.len == b->subject_key_id.len &&
	    (a->subject_key_id.len == 0 || memcmp(a->subject_key_id.p,
	    b->subject_key_id.p, a->subject_key_id.len) == 0);
}

/* Sign the new CA certificate and check it is the same CA. */
static int
reissue(struct reissue *ri, mbedtls_pk_context *key, time_t now,
    int64_t validity, char *why, size_t whylen)
{
	struct pki_spec		 spec;
	mbedtls_x509_crt	 neu;
	char			 tmp[256];
	int			 rc = -1;

	mbedtls_x509_crt_init(&neu);
	memset(&spec, 0, sizeof(spec));
	spec.like = &ri->old;
	spec.is_ca = 1;
	spec.not_before = now - BACKDATE;
	spec.not_after = now + validity;
	if (pki_sign(&spec, key, NULL, NULL, &ri->pem, tmp, sizeof(tmp)) ==
	    -1) {
		(void)xsnprintf(why, whylen, "%s: %s", ri->item->name, tmp);
		goto out;
	}
	if (x509_parse_certs(&ri->pem, &neu, tmp, sizeof(tmp)) == -1) {
		(void)xsnprintf(why, whylen, "%s: the new certificate does not "
		    "parse: %s", ri->item->name, tmp);
		goto out;
	}
	if (neu.subject_raw.len != ri->old.subject_raw.len ||
	    memcmp(neu.subject_raw.p, ri->old.subject_raw.p,
	    neu.subject_raw.len) != 0) {
		(void)xsnprintf(why, whylen, "%s: subject would change",
		    ri->item->name);
		goto out;
	}
	if (ri->old.subject_key_id.len > 0 && !same_ski(&neu, &ri->old)) {
		(void)xsnprintf(why, whylen, "%s: its SKI was not computed the "
		    "usual way (SHA-1 of the key); refusing to change it",
		    ri->item->name);
		goto out;
	}
	ri->not_after = spec.not_after;
	rc = 0;
out:
	mbedtls_x509_crt_free(&neu);
	return rc;
}

/* Every kubeconfig of the node that carries this CA gets the new one. */
static int
plan_kubeconfigs(const struct root *r, struct txn *tx, const struct check *c,
    const struct reissue *ri, int dry_run, int *count)
{
	static const char	*extra[] = { "/etc/kubernetes/kubelet.conf",
	    "/etc/kubernetes/bootstrap-kubelet.conf" };
	const char		*paths[LAYOUT_MAXITEMS + 2];
	struct buf		 b = { NULL, 0 }, out = { NULL, 0 };
	struct kubeconfig	 kc;
	mbedtls_x509_crt	 kca;
	char			*ca64 = NULL, why[256];
	int			 i, j, n = 0, rc = -1, dup;

	for (i = 0; i < c->n; i++)
		if (c->f[i].item->kind == ITEM_KUBECONFIG)
			paths[n++] = c->f[i].item->path;
	for (i = 0; i < 2; i++) {
		for (dup = 0, j = 0; j < n; j++)
			dup |= strcmp(paths[j], extra[i]) == 0;
		if (!dup && root_exists(r, extra[i]))
			paths[n++] = extra[i];
	}
	ca64 = b64_encode(ri->pem.data, ri->pem.len);
	for (i = 0; i < n; i++) {
		memset(&kc, 0, sizeof(kc));
		mbedtls_x509_crt_init(&kca);
		if (root_readfile(r, paths[i], &b, NULL) == -1 ||
		    kubeconfig_parse(&b, &kc, why, sizeof(why)) == -1 ||
		    kc.ca_data.len == 0 ||
		    x509_parse_certs(&kc.ca_data, &kca, why, sizeof(why)) == -1 ||
		    kca.subject_raw.len != ri->old.subject_raw.len ||
		    memcmp(kca.subject_raw.p, ri->old.subject_raw.p,
		    kca.subject_raw.len) != 0) {
			kubeconfig_free(&kc);
			mbedtls_x509_crt_free(&kca);
			continue;	/* not embedding this CA */
		}
		kubeconfig_free(&kc);
		mbedtls_x509_crt_free(&kca);
		if (kubeconfig_update(&b, NULL, NULL, ca64, &out, why,
		    sizeof(why)) == -1) {
			warnx("%s: %s", paths[i], why);
			goto out;
		}
		printf("  %s: certificate-authority-data\n", paths[i]);
		if (!dry_run && txn_put_file(tx, paths[i], &out, 0600, 1) == -1)
			goto out;
		(*count)++;
	}
	rc = 0;
out:
	free(ca64);
	buf_free(&b);
	buf_free(&out);
	return rc;
}

static int
commit_all(const struct root *r, struct check *c, struct reissue *ri, int n,
    int dry_run, time_t now)
{
	struct txn	*tx = NULL;
	char		 why[512], backup[PATH_MAX], date[64];
	int		 i, kc = 0, rc = KR_FAIL;

	if (!dry_run && (tx = txn_begin(r, KRESCUE_VERSION, now)) == NULL)
		return errno == EWOULDBLOCK ? KR_FAIL : KR_IO;
	printf("%s:\n", dry_run ? "dry run: would write (nothing written)" :
	    "plan");
	for (i = 0; i < n; i++) {
		fmt_kubeadm_date(ri[i].not_after, date, sizeof(date));
		printf("  %s: %s, expires %s, same key, subject and SKI\n",
		    ri[i].item->name, ri[i].item->path, date);
		if (!dry_run && txn_put_file(tx, ri[i].item->path, &ri[i].pem,
		    ri[i].item->kind == ITEM_ETCD_HOST_CA ? TXN_KEEP_MODE :
		    0644, 0) == -1)
			goto out;
		if (strcmp(ri[i].item->name, "ca") == 0 &&
		    plan_kubeconfigs(r, tx, c, &ri[i], dry_run, &kc) == -1)
			goto out;
	}
	if (dry_run) {
		rc = KR_OK;
		goto out;
	}
	if (txn_check(tx, why, sizeof(why)) == -1) {
		warnx("refusing to write: %s; nothing changed", why);
		goto out;
	}
	if (txn_commit(tx, backup, sizeof(backup)) == -1) {
		rc = KR_IO;
		goto out;
	}
	printf("re-issued %d CA%s, updated %d kubeconfig%s; backup in %s\n",
	    n, n == 1 ? "" : "s", kc, kc == 1 ? "" : "s", backup);
	rc = KR_OK;
out:
	if (tx != NULL)
		txn_free(tx);
	return rc;
}

static void
distribution_note(const struct reissue *ri, int n)
{
	int	 i;

	printf("\nThe same key signs as before, so every certificate keeps "
	    "verifying. Still,\ncopy the new files where copies of the old ones "
	    "live:\n");
	for (i = 0; i < n; i++) {
		printf("  %s -> the same path on every other control-plane "
		    "node", ri[i].item->path);
		if (strcmp(ri[i].item->name, "ca") == 0)
			printf(",\n    every worker's /etc/kubernetes/pki/ca.crt "
			    "(the kubelet's clientCAFile),\n    and "
			    "certificate-authority-data of kubeconfigs off this "
			    "node");
		printf("\n");
		if (ri[i].f->status == ST_EXPIRED)
			printf("  %s had EXPIRED: nodes that still hold the old "
			    "file reject it until\n  they get the new one.\n",
			    ri[i].item->name);
	}
}

int
cmd_renew_ca(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "ca", required_argument, NULL, 'a' },
		{ "validity", required_argument, NULL, 'V' },
		{ "dry-run", no_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct root		 r;
	struct check		*c;
	struct reissue		 ri[LAYOUT_MAXITEMS];
	mbedtls_pk_context	 key;
	const char		*rootdir = "/", *which = "all", *config = NULL;
	char			 why[512];
	int64_t			 validity = CA_VALIDITY;
	time_t			 now;
	int			 ch, i, n = 0, dry_run = 0, rc = KR_FAIL;

	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			which = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'd':
			dry_run = 1;
			break;
		case 'h':
			renew_ca_usage(stdout);
			return KR_OK;
		case 'r':
			rootdir = optarg;
			break;
		case 'V':
			if (parse_duration(optarg, &validity) == -1 ||
			    validity <= BACKDATE)
				usage_error("renew-ca", "--validity %s: not a "
				    "usable duration", optarg);
			break;
		default:
			bad_option("renew-ca", ch, argv);
		}
	}
	if (optind != argc)
		usage_error("renew-ca", "unexpected argument '%s'",
		    argv[optind]);
	now = time(NULL);
	c = xcalloc(1, sizeof(*c));
	c->root_arg = rootdir;
	c->now = now;
	c->warn = 30 * 86400;
	open_root_or_exit(&r, rootdir);
	if (layout_discover(&r, config, &c->lo) == -1) {
		warnx("%s", c->lo.layout_error);
		layout_free(&c->lo);
		free(c);
		return KR_FAIL;
	}
	check_run(c);
	for (i = 0; i < c->n; i++)
		if (is_ca_item(c->f[i].item) && (strcmp(which, "all") == 0 ||
		    strcmp(which, c->f[i].item->name) == 0)) {
			memset(&ri[n], 0, sizeof(ri[n]));
			ri[n].item = c->f[i].item;
			ri[n].f = &c->f[i];
			mbedtls_x509_crt_init(&ri[n].old);
			n++;
		}
	if (n == 0)
		usage_error("renew-ca", "--ca %s: no such CA on this node "
		    "(see 'krescue check')", which);
	if (pki_rng_init() == -1) {
		rc = KR_IO;
		goto out;
	}
	for (i = 0; i < n; i++) {
		mbedtls_pk_init(&key);
		if (load_ca(&r, &ri[i], &key, why, sizeof(why)) == -1 ||
		    reissue(&ri[i], &key, now, validity, why, sizeof(why)) ==
		    -1) {
			mbedtls_pk_free(&key);
			warnx("refusing: %s; nothing changed", why);
			goto out;
		}
		mbedtls_pk_free(&key);
	}
	rc = commit_all(&r, c, ri, n, dry_run, now);
	if (rc == KR_OK && !dry_run)
		distribution_note(ri, n);
out:
	for (i = 0; i < n; i++) {
		mbedtls_x509_crt_free(&ri[i].old);
		buf_free(&ri[i].pem);
	}
	pki_rng_free();
	layout_free(&c->lo);
	free(c);
	return rc;
}
