/*
 * krescue renew: renew the node's leaf certificates and kubeconfig client
 * certificates offline, as kubeadm certs renew would, plus what kubeadm
 * leaves alone (the kubelet's client certificate, Kubespray's host etcd),
 * all or nothing, with a backup.  CAs are never touched here.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "extern.h"
#include "pki.h"
#include "txn.h"

#define RENEW_MAXONLY		32
#define BACKDATE		(5 * 60)	/* kubeadm's CertificateBackdate */
#define DEFAULT_VALIDITY	(8760 * 3600)

struct opts {
	const char	*rootdir;
	const char	*config;
	const char	*now;
	const char	*only[RENEW_MAXONLY];
	int		 nonly;
	int64_t		 validity;	/* 0: from config, else 1 year */
	int64_t		 within;	/* --expiring-within, -1 unset */
	int		 reuse_keys;
	int		 dry_run;
};

/* A CA's certificate and key, loaded once. */
struct signer {
	const char		*name;
	mbedtls_x509_crt	 crt;
	mbedtls_pk_context	 key;
	struct buf		 pem;	/* ca file as on disk */
	int			 ready;
};

/* One thing to renew and what it becomes. */
struct target {
	const struct item	*item;
	struct finding		*f;
	struct signer		*ca;
	mbedtls_x509_crt	 old;
	struct buf		 old_key;	/* secret */
	struct buf		 conf;		/* kubeconfig text */
	struct buf		 cert_pem;
	struct buf		 key_pem;	/* secret */
	const struct target	*copy_of;	/* root kubeconfig = admin.conf */
	char			 keydesc[32];
	char			 new_file[PATH_MAX];	/* kubelet: new pem */
	mode_t			 key_mode;	/* etcd host: old & 0640 */
	time_t			 new_not_after;
};

struct renew {
	struct opts		 o;
	struct root		 root;
	struct check		*c;
	struct signer		 signers[8];
	int			 nsigners;
	struct target		 t[LAYOUT_MAXITEMS];
	int			 n;
	time_t			 now;		/* the real clock: what we sign */
	int64_t			 validity;
};

static void
renew_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: krescue renew [--root DIR] [--dry-run] [--only NAME,...]\n"
	    "                     [--expiring-within DURATION] "
	    "[--validity DURATION]\n"
	    "                     [--reuse-keys] [--config FILE] [--now TIME]\n"
	    "\n"
	    "Renews every leaf certificate and kubeconfig client certificate "
	    "of the node\n(what kubeadm certs renew all renews), and the "
	    "kubelet client and Kubespray\nhost etcd certificates when they "
	    "expire within 30 days or are named.\nCAs are never touched. "
	    "Everything changes or nothing does; the old files\nare backed up "
	    "under /var/lib/krescue/backup/ (see krescue rollback).\n"
	    "\n"
	    "  --dry-run              print the plan, write nothing\n"
	    "  --only NAME,...        only these (names as krescue check "
	    "prints them)\n"
	    "  --expiring-within DUR  only what expires within DUR "
	    "(e.g. 30d)\n"
	    "  --validity DUR         new validity (default: "
	    "certificateValidityPeriod\n"
	    "                         of the kubeadm config, else 8760h)\n"
	    "  --reuse-keys           keep the existing private keys\n"
	    "  --now TIME             choose what to renew as of TIME "
	    "(certificates are\n"
	    "                         always signed with the real clock)\n"
	    "\nexit status: 0 renewed, 2 nothing to do, 1 refused (nothing "
	    "changed),\n100 usage, 111 I/O error\n");
}

static void
parse_only(struct opts *o, char *arg)
{
	char	*tok;

	for (tok = strtok(arg, ","); tok != NULL; tok = strtok(NULL, ",")) {
		if (o->nonly == RENEW_MAXONLY)
			usage_error("renew", "too many --only names");
		o->only[o->nonly++] = tok;
	}
}

static int
named(const struct opts *o, const char *name)
{
	int	 i;

	for (i = 0; i < o->nonly; i++)
		if (strcmp(o->only[i], name) == 0)
			return 1;
	return 0;
}

static int
renewable(const struct item *it)
{
	return it->kind == ITEM_LEAF || it->kind == ITEM_KUBECONFIG ||
	    it->kind == ITEM_KUBELET || it->kind == ITEM_ETCD_HOST;
}

/* kubeadm's set is renewed by default; the rest when it is due. */
static int
selected(const struct renew *rn, const struct finding *f)
{
	const struct item	*it = f->item;
	int64_t			 left = f->not_after - rn->c->now;

	if (!renewable(it))
		return 0;
	if (rn->o.nonly > 0)
		return named(&rn->o, it->name);
	if (!f->have_cert)
		return 0;
	if (rn->o.within >= 0)
		return left < rn->o.within;
	if (it->kubeadm)
		return 1;
	if (strcmp(it->name, "root-kubeconfig") == 0)
		return 1;
	return left < rn->c->warn;
}

static struct signer *
signer_get(struct renew *rn, const char *name, char *why, size_t whylen)
{
	struct signer		*s;
	struct item		*it;
	struct finding		*f = NULL;
	int			 i;
	char			 tmp[256];

	for (i = 0; i < rn->nsigners; i++)
		if (strcmp(rn->signers[i].name, name) == 0)
			return rn->signers[i].ready ? &rn->signers[i] : NULL;
	if (rn->nsigners == (int)(sizeof(rn->signers) /
	    sizeof(rn->signers[0]))) {
		(void)xsnprintf(why, whylen, "too many CAs");
		return NULL;
	}
	s = &rn->signers[rn->nsigners++];
	s->name = name;
	mbedtls_x509_crt_init(&s->crt);
	mbedtls_pk_init(&s->key);
	if ((it = layout_find(&rn->c->lo, name)) == NULL) {
		(void)xsnprintf(why, whylen, "no CA %s on this node", name);
		return NULL;
	}
	for (i = 0; i < rn->c->n; i++)
		if (rn->c->f[i].item == it)
			f = &rn->c->f[i];
	if (f == NULL || !f->have_cert) {
		(void)xsnprintf(why, whylen, "CA %s (%s) is missing or "
		    "unreadable", name, it->path);
		return NULL;
	}
	if (f->external) {
		/* a lost key and an external CA look the same on disk */
		(void)xsnprintf(why, whylen, "CA %s has no key: %s has no "
		    "key beside it (%s); restore the key from a backup or "
		    "another control plane, or (external CA) renew with the "
		    "CA's owner", name, it->path, it->key_path);
		return NULL;
	}
	if (f->status == ST_EXPIRED || f->status == ST_NOTYET) {
		(void)xsnprintf(why, whylen, "CA %s (%s) %s: renew it first "
		    "with 'krescue renew-ca', keeping its key", name, it->path,
		    f->status == ST_EXPIRED ? "expired" : "is not valid yet");
		return NULL;
	}
	if (f->status == ST_INVALID) {
		(void)xsnprintf(why, whylen, "CA %s is invalid: %s", name,
		    f->nproblems > 0 ? f->problems[0] : "?");
		return NULL;
	}
	if (root_readfile(&rn->root, it->path, &s->pem, NULL) == -1 ||
	    x509_parse_certs(&s->pem, &s->crt, tmp, sizeof(tmp)) == -1) {
		(void)xsnprintf(why, whylen, "cannot load CA %s", it->path);
		return NULL;
	}
	{
		struct buf kb = { NULL, 0 };
		int bad;

		bad = root_readfile(&rn->root, it->key_path, &kb, NULL) == -1 ||
		    x509_parse_key(&kb, &s->key, tmp, sizeof(tmp)) == -1;
		buf_free(&kb);
		if (bad) {
			(void)xsnprintf(why, whylen, "cannot load CA key %s",
			    it->key_path);
			return NULL;
		}
	}
	s->ready = 1;
	return s;
}

static void
signers_free(struct renew *rn)
{
	int	 i;

	for (i = 0; i < rn->nsigners; i++) {
		mbedtls_x509_crt_free(&rn->signers[i].crt);
		mbedtls_pk_free(&rn->signers[i].key);
		buf_free(&rn->signers[i].pem);
	}
}

static void
target_free(struct target *t)
{
	mbedtls_x509_crt_free(&t->old);
	buf_free(&t->old_key);
	buf_free(&t->conf);
	buf_free(&t->cert_pem);
	buf_free(&t->key_pem);
}

/*
 * Load what a target is now: its certificate, its key (if any), and for
 * a kubeconfig its text.  Refuse what cannot be renewed faithfully.
 */
static int
load_target(struct renew *rn, struct target *t, char *why, size_t whylen)
{
	const struct item	*it = t->item;
	struct kubeconfig	 kc;
	struct buf		 b = { NULL, 0 };
	mbedtls_pk_context	 pk;
	const struct buf	*cert = &b;
	struct stat		 kst;
	char			 tmp[256];
	int			 rc = -1;

	memset(&kc, 0, sizeof(kc));
	memset(&kst, 0, sizeof(kst));
	mbedtls_pk_init(&pk);
	if (!t->f->have_cert) {
		(void)xsnprintf(why, whylen, "%s: %s", it->name,
		    t->f->nproblems > 0 ? t->f->problems[0] :
		    "no readable certificate");
		goto out;
	}
	if (root_readfile(&rn->root, it->path, &b, NULL) == -1) {
		(void)xsnprintf(why, whylen, "cannot read %s: %s", it->path,
		    path_error(errno));
		goto out;
	}
	if (it->kind == ITEM_KUBECONFIG) {
		if (kubeconfig_parse(&b, &kc, tmp, sizeof(tmp)) == -1) {
			(void)xsnprintf(why, whylen, "%s: %s", it->path, tmp);
			goto out;
		}
		if (kc.cert_data.len == 0 || kc.key_data.len == 0) {
			(void)xsnprintf(why, whylen, "%s does not embed its "
			    "client certificate and key", it->path);
			goto out;
		}
		cert = &kc.cert_data;
		(void)buf_set(&t->old_key, kc.key_data.data, kc.key_data.len);
		(void)buf_set(&t->conf, b.data, b.len);
	} else if (it->kind == ITEM_KUBELET) {
		if (strcmp(it->key_path, it->path) != 0) {
			(void)xsnprintf(why, whylen, "kubelet.conf names a "
			    "separate client key (%s): krescue renews the "
			    "kubelet's one-file layout only; write a new one "
			    "with 'krescue kubelet --node NAME'", it->key_path);
			goto out;
		}
		(void)buf_set(&t->old_key, b.data, b.len);
	} else if (root_readfile(&rn->root, it->key_path, &t->old_key,
	    &kst) == -1 && (rn->o.reuse_keys || errno != ENOENT)) {
		(void)xsnprintf(why, whylen, "cannot read %s: %s",
		    it->key_path, path_error(errno));
		goto out;
	}
	/* a key never gets a wider mode than the owner's and group's read */
	t->key_mode = t->old_key.len > 0 && kst.st_mode != 0 ?
	    (kst.st_mode & 0640) | 0400 : 0600;
	if (x509_parse_certs(cert, &t->old, tmp, sizeof(tmp)) == -1) {
		(void)xsnprintf(why, whylen, "%s: %s", it->path, tmp);
		goto out;
	}
	if (t->old_key.len > 0) {
		if (x509_parse_key(&t->old_key, &pk, tmp, sizeof(tmp)) == -1) {
			(void)xsnprintf(why, whylen, "%s: %s", it->key_path[0] ?
			    it->key_path : it->path, tmp);
			goto out;
		}
		if (!x509_key_matches(&t->old, &pk)) {
			(void)xsnprintf(why, whylen, "%s: the private key does "
			    "not match the certificate; fix or remove it first",
			    it->name);
			goto out;
		}
	}
	if ((t->ca = signer_get(rn, it->ca, why, whylen)) == NULL)
		goto out;
	if (!x509_signed_by(&t->old, &t->ca->crt, tmp, sizeof(tmp))) {
		(void)xsnprintf(why, whylen, "%s does not chain to CA %s (%s); "
		    "not renewing a certificate of another CA", it->name,
		    it->ca, tmp);
		goto out;
	}
	rc = 0;
out:
	mbedtls_pk_free(&pk);
	kubeconfig_free(&kc);
	buf_free(&b);
	return rc;
}

/* The kubelet names its rotated files kubelet-client-<time>.pem. */
static int
kubelet_new_file(struct renew *rn, struct target *t)
{
	char		 dir[PATH_MAX], stamp[32];
	struct tm	 tm;

	if (xsnprintf(dir, sizeof(dir), "%s", t->item->path) == -1 ||
	    gmtime_r(&rn->now, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y-%m-%d-%H-%M-%S", &tm) == 0)
		return -1;
	return xsnprintf(t->new_file, sizeof(t->new_file),
	    "%s/kubelet-client-%s.pem", dirname(dir), stamp);
}

/* The type of a target's new key: the same algorithm and size as now. */
static int
new_keytype(const struct target *t, enum pki_keytype *kt)
{
	if (t->item->kind == ITEM_KUBELET) {
		*kt = PKI_EC256;	/* what the kubelet makes itself */
		return 0;
	}
	return pki_keytype(&t->old.pk, kt);
}

/* A target gets a new key unless it copies another or keeps its own. */
static int
needs_key(const struct renew *rn, const struct target *t)
{
	return t->copy_of == NULL &&
	    !(rn->o.reuse_keys && t->old_key.len > 0);
}

/*
 * Every new key of the renewal, made up front and side by side
 * (pki_prefill): the signing that follows takes milliseconds.
 */
static int
make_keys(struct renew *rn, char *why, size_t whylen)
{
	enum pki_keytype	 types[LAYOUT_MAXITEMS];
	size_t			 n = 0, j, k;
	int			 i;
	struct timespec		 t0, t1;

	for (i = 0; i < rn->n; i++) {
		if (!needs_key(rn, &rn->t[i]))
			continue;
		if (new_keytype(&rn->t[i], &types[n]) == -1) {
			(void)xsnprintf(why, whylen, "%s: unsupported key "
			    "type", rn->t[i].item->name);
			return -1;
		}
		n++;
	}
	if (n == 0)
		return 0;
	if (!quiet) {
		printf("making %zu new key%s", n, n == 1 ? "" : "s");
		for (k = 0; k < n; k++) {
			for (j = 0; j < k && types[j] != types[k]; j++)
				;
			if (j == k)	/* the first of its type */
				printf("%s%s", k == 0 ? " (" : ", ",
				    pki_keytype_name(types[k]));
		}
		printf(")...\n");
		fflush(stdout);
	}
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	if (pki_prefill(types, n) == -1) {
		(void)xsnprintf(why, whylen, "key generation failed");
		return -1;
	}
	(void)clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!quiet)
		printf("made %zu key%s in %.1f s\n", n, n == 1 ? "" : "s",
		    (double)(t1.tv_sec - t0.tv_sec) +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}

/* Make the new key (made ahead by make_keys) and certificate of a target. */
static int
make_target(struct renew *rn, struct target *t, char *why, size_t whylen)
{
	struct pki_spec		 spec;
	mbedtls_pk_context	 key;
	enum pki_keytype	 kt;
	char			 tmp[256];
	int			 rc = -1;

	mbedtls_pk_init(&key);
	if (!needs_key(rn, t)) {
		/* --reuse-keys: the key on disk */
		if (x509_parse_key(&t->old_key, &key, tmp, sizeof(tmp)) == -1) {
			(void)xsnprintf(why, whylen, "%s: %s", t->item->name,
			    tmp);
			goto out;
		}
	} else if (new_keytype(t, &kt) == -1 || pki_genkey(kt, &key) == -1) {
		(void)xsnprintf(why, whylen, "%s: key generation failed",
		    t->item->name);
		goto out;
	}
	(void)x509_key_desc(&key, t->keydesc, sizeof(t->keydesc));
	memset(&spec, 0, sizeof(spec));
	spec.like = &t->old;
	spec.not_before = rn->now - BACKDATE;
	spec.not_after = rn->now + rn->validity;
	if (pki_sign(&spec, &key, &t->ca->crt, &t->ca->key, &t->cert_pem,
	    tmp, sizeof(tmp)) == -1) {
		(void)xsnprintf(why, whylen, "%s: %s", t->item->name, tmp);
		goto out;
	}
	if (pki_key_pem(&key, &t->key_pem) == -1) {
		(void)xsnprintf(why, whylen, "%s: cannot encode the key",
		    t->item->name);
		goto out;
	}
	t->new_not_after = spec.not_after;
	if (t->item->kind == ITEM_KUBELET && kubelet_new_file(rn, t) == -1) {
		(void)xsnprintf(why, whylen, "kubelet file name too long");
		goto out;
	}
	rc = 0;
out:
	mbedtls_pk_free(&key);
	return rc;
}

/* The new kubeconfig text: new client cert and key, CA from ca.crt. */
static int
kubeconfig_text(struct renew *rn, const struct target *t,
    const struct target *src, struct buf *out, char *why, size_t whylen)
{
	struct signer	*ca;
	char		*cert64 = NULL, *key64 = NULL, *ca64 = NULL;
	int		 rc;

	if ((ca = signer_get(rn, "ca", why, whylen)) == NULL)
		return -1;
	cert64 = b64_encode(src->cert_pem.data, src->cert_pem.len);
	key64 = b64_encode(src->key_pem.data, src->key_pem.len);
	ca64 = b64_encode(ca->pem.data, ca->pem.len);
	rc = kubeconfig_update(&t->conf, cert64, key64, ca64, out, why,
	    whylen);
	wipe(key64, strlen(key64));
	free(key64);
	free(cert64);
	free(ca64);
	return rc;
}

/* Hand every new file of one target to the transaction. */
static int
plan_target(struct renew *rn, struct txn *tx, const struct target *t,
    char *why, size_t whylen)
{
	const struct item	*it = t->item;
	const struct target	*src = t->copy_of != NULL ? t->copy_of : t;
	struct buf		 b = { NULL, 0 };
	mode_t			 crt_mode, key_mode;
	int			 rc = -1;

	switch (it->kind) {
	case ITEM_KUBECONFIG:
		if (kubeconfig_text(rn, t, src, &b, why, whylen) == -1)
			goto out;
		if (txn_put_file(tx, it->path, &b, 0600, 1) == -1)
			goto fail;
		break;
	case ITEM_KUBELET:
		b.len = t->cert_pem.len + t->key_pem.len;
		b.data = xmalloc(b.len + 1);
		memcpy(b.data, t->cert_pem.data, t->cert_pem.len);
		memcpy(b.data + t->cert_pem.len, t->key_pem.data,
		    t->key_pem.len);
		b.data[b.len] = '\0';
		if (txn_put_file(tx, t->new_file, &b, 0600, 1) == -1 ||
		    txn_put_symlink(tx, it->path, t->new_file) == -1)
			goto fail;
		break;
	default:
		/* Kubespray's etcd files keep their 0640; kubeadm's are set */
		crt_mode = it->kind == ITEM_ETCD_HOST ? TXN_KEEP_MODE : 0644;
		key_mode = it->kind == ITEM_ETCD_HOST ? t->key_mode : 0600;
		if (txn_put_file(tx, it->path, &t->cert_pem, crt_mode, 0) == -1)
			goto fail;
		if (!rn->o.reuse_keys || t->old_key.len == 0)
			if (txn_put_file(tx, it->key_path, &t->key_pem,
			    key_mode, 1) == -1)
				goto fail;
		break;
	}
	rc = 0;
	goto out;
fail:
	(void)xsnprintf(why, whylen, "cannot plan the files of %s", it->name);
out:
	buf_free(&b);
	return rc;
}

static void
print_plan(const struct renew *rn)
{
	char	 old[64], new[64];
	int	 i;

	for (i = 0; i < rn->n; i++) {
		const struct target *t = &rn->t[i];

		fmt_kubeadm_date(t->f->not_after, old, sizeof(old));
		fmt_kubeadm_date(t->new_not_after, new, sizeof(new));
		printf("  %-26s %s\n", t->item->name, t->item->path);
		printf("  %-26s expires %s -> %s, %s %s, signed by %s\n", "",
		    old, new, t->copy_of != NULL ? "same cert as" :
		    rn->o.reuse_keys ? "kept" : "new", t->copy_of != NULL ?
		    t->copy_of->item->name : t->keydesc, t->item->ca);
		if (t->item->kind == ITEM_KUBELET)
			printf("  %-26s writes %s and points the link at it\n",
			    "", t->new_file);
		if (t->item->kind == ITEM_KUBECONFIG)
			printf("  %-26s only client-certificate-data, "
			    "client-key-data and certificate-authority-data "
			    "change\n", "");
	}
}

static void
next_steps(const struct renew *rn)
{
	int	 i, kubelet = 0;

	for (i = 0; i < rn->n; i++)
		if (strcmp(rn->t[i].item->name, "kubelet.conf") == 0 ||
		    rn->t[i].item->kind == ITEM_KUBELET)
			kubelet = 1;
	printf("\nNext: the running components still hold the old "
	    "certificates.\n");
	if (strcmp(rn->o.rootdir, "/") != 0)
		printf("  This is a mounted node disk: boot the node; the "
		    "kubelet starts the\n  control plane with the new files.\n");
	else
		printf("  Restart the control plane: 'krescue restart' moves "
		    "the static-pod\n  manifests out and back, restarts the "
		    "kubelet%s and checks the\n  API server.\n", kubelet ?
		    " (its client certificate changed)" : "");
	printf("  Undo everything with: krescue rollback%s%s\n",
	    strcmp(rn->o.rootdir, "/") != 0 ? " --root " : "",
	    strcmp(rn->o.rootdir, "/") != 0 ? rn->o.rootdir : "");
}

static int
select_targets(struct renew *rn)
{
	struct check	*c = rn->c;
	int		 i, j, found;

	for (j = 0; j < rn->o.nonly; j++) {
		found = 0;
		for (i = 0; i < c->n; i++)
			if (strcmp(c->f[i].item->name, rn->o.only[j]) == 0)
				found = renewable(c->f[i].item) ? 1 : -1;
		if (found == -1)
			usage_error("renew", "--only %s: a CA; CAs are renewed "
			    "with 'krescue renew-ca'", rn->o.only[j]);
		if (found == 0)
			usage_error("renew", "--only %s: no such certificate "
			    "on this node (see 'krescue check')",
			    rn->o.only[j]);
	}
	for (i = 0; i < c->n; i++) {
		if (!selected(rn, &c->f[i])) {
			if (!renewable(c->f[i].item) || c->f[i].have_cert ||
			    !c->f[i].item->required || rn->o.nonly != 0)
				continue;
			/* missing: kubeadm's "MISSING!"; anything else stops us */
			if (c->f[i].status != ST_MISSING) {
				warnx("refusing: %s: %s; nothing changed",
				    c->f[i].item->name, c->f[i].nproblems > 0 ?
				    c->f[i].problems[0] : "unreadable");
				return -1;
			}
			warnx("skipping %s: %s", c->f[i].item->name,
			    c->f[i].problems[0]);
			continue;
		}
		rn->t[rn->n].item = c->f[i].item;
		rn->t[rn->n].f = &c->f[i];
		mbedtls_x509_crt_init(&rn->t[rn->n].old);
		rn->n++;
	}
	return rn->n;
}

/* /root/.kube/config carrying admin.conf's identity gets admin's cert. */
static void
link_copies(struct renew *rn)
{
	struct target	*admin = NULL;
	int		 i;

	for (i = 0; i < rn->n; i++)
		if (strcmp(rn->t[i].item->name, "admin.conf") == 0)
			admin = &rn->t[i];
	if (admin == NULL)
		return;
	for (i = 0; i < rn->n; i++) {
		struct target *t = &rn->t[i];

		if (t == admin || t->item->kind != ITEM_KUBECONFIG ||
		    t->old.subject_raw.len != admin->old.subject_raw.len ||
		    memcmp(t->old.subject_raw.p, admin->old.subject_raw.p,
		    admin->old.subject_raw.len) != 0 ||
		    strcmp(t->item->name, "root-kubeconfig") != 0)
			continue;
		t->copy_of = admin;
	}
}

static int
commit(struct renew *rn)
{
	struct txn	*tx;
	char		 why[512], backup[PATH_MAX], date[64];
	int		 i, rc = KR_FAIL;

	if ((tx = txn_begin(&rn->root, KRESCUE_VERSION, rn->now)) == NULL) {
		if (errno == EWOULDBLOCK) {
			warnx("another krescue is working on this root; "
			    "nothing changed");
			return KR_FAIL;
		}
		return KR_IO;
	}
	for (i = 0; i < rn->n; i++)
		if (plan_target(rn, tx, &rn->t[i], why, sizeof(why)) == -1) {
			warnx("%s; nothing changed", why);
			goto out;
		}
	if (txn_check(tx, why, sizeof(why)) == -1) {
		warnx("refusing to write: %s; nothing changed", why);
		goto out;
	}
	if (!quiet)
		printf("writing %d certificate%s (backup first) ...\n", rn->n,
		    rn->n == 1 ? "" : "s");
	if (txn_commit(tx, backup, sizeof(backup)) == -1) {
		warnx("renewal failed and was undone; the old files are in "
		    "place");
		rc = KR_IO;
		goto out;
	}
	for (i = 0; i < rn->n && !quiet; i++) {
		fmt_kubeadm_date(rn->t[i].new_not_after, date, sizeof(date));
		printf("  renewed %-26s expires %s\n", rn->t[i].item->name,
		    date);
	}
	printf("renewed %d certificate%s; backup in %s\n", rn->n,
	    rn->n == 1 ? "" : "s", backup);
	rc = KR_OK;
out:
	txn_free(tx);
	return rc;
}

int
cmd_renew(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "config", required_argument, NULL, 'c' },
		{ "now", required_argument, NULL, 'n' },
		{ "only", required_argument, NULL, 'O' },
		{ "validity", required_argument, NULL, 'V' },
		{ "expiring-within", required_argument, NULL, 'e' },
		{ "reuse-keys", no_argument, NULL, 'k' },
		{ "dry-run", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct renew	*rn;
	char		 why[512];
	int		 ch, i, rc = KR_FAIL;

	rn = xcalloc(1, sizeof(*rn));
	rn->o.rootdir = "/";
	rn->o.within = -1;
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			rn->o.config = optarg;
			break;
		case 'd':
			rn->o.dry_run = 1;
			break;
		case 'e':
			if (parse_duration(optarg, &rn->o.within) == -1)
				usage_error("renew", "--expiring-within %s: "
				    "not a duration", optarg);
			break;
		case 'h':
			renew_usage(stdout);
			free(rn);
			return KR_OK;
		case 'k':
			rn->o.reuse_keys = 1;
			break;
		case 'n':
			rn->o.now = optarg;
			break;
		case 'O':
			parse_only(&rn->o, optarg);
			break;
		case 'r':
			rn->o.rootdir = optarg;
			break;
		case 'V':
			if (parse_duration(optarg, &rn->o.validity) == -1 ||
			    rn->o.validity <= BACKDATE)
				usage_error("renew", "--validity %s: not a "
				    "usable duration (e.g. 8760h, 365d)", optarg);
			break;
		default:
			bad_option("renew", ch, argv);
		}
	}
	if (optind != argc)
		usage_error("renew", "unexpected argument '%s'", argv[optind]);

	rn->now = time(NULL);
	rn->c = xcalloc(1, sizeof(*rn->c));
	rn->c->root_arg = rn->o.rootdir;
	rn->c->now = parse_now_or_exit("renew", rn->o.now);
	rn->c->warn = 30 * 86400;
	open_root_or_exit(&rn->root, rn->o.rootdir);
	if (layout_discover(&rn->root, rn->o.config, &rn->c->lo) == -1) {
		warnx("%s", rn->c->lo.layout_error);
		goto out;
	}
	if (rn->c->lo.layout_error[0] != '\0') {
		warnx("refusing: %s; nothing changed", rn->c->lo.layout_error);
		goto out;
	}
	if (rn->c->lo.config_error[0] != '\0' && rn->o.validity == 0) {
		warnx("refusing: %s; fix it, or name another with --config, "
		    "or give --validity", rn->c->lo.config_error);
		goto out;
	}
	rn->validity = rn->o.validity != 0 ? rn->o.validity :
	    rn->c->lo.cfg.cert_validity != 0 ? rn->c->lo.cfg.cert_validity :
	    DEFAULT_VALIDITY;
	check_run(rn->c);

	if ((i = select_targets(rn)) == -1)
		goto out;
	if (i == 0) {
		printf("nothing to renew on %s\n", rn->o.rootdir);
		rc = KR_WARN;
		goto out;
	}
	if (pki_rng_init() == -1) {
		rc = KR_IO;
		goto out;
	}
	for (i = 0; i < rn->n; i++)
		if (load_target(rn, &rn->t[i], why, sizeof(why)) == -1) {
			warnx("refusing: %s; nothing changed", why);
			goto out;
		}
	link_copies(rn);
	if (make_keys(rn, why, sizeof(why)) == -1) {
		warnx("refusing: %s; nothing changed", why);
		goto out;
	}
	for (i = 0; i < rn->n; i++) {
		if (rn->t[i].copy_of != NULL) {
			rn->t[i].new_not_after = rn->t[i].copy_of->new_not_after;
			continue;
		}
		if (!quiet)
			printf("[%d/%d] %s: signing\n", i + 1, rn->n,
			    rn->t[i].item->name);
		if (make_target(rn, &rn->t[i], why, sizeof(why)) == -1) {
			warnx("refusing: %s; nothing changed", why);
			goto out;
		}
	}
	for (i = 0; i < rn->n; i++)
		if (rn->t[i].copy_of != NULL)
			rn->t[i].new_not_after = rn->t[i].copy_of->new_not_after;
	if (rn->o.dry_run) {
		printf("dry run: would renew %d certificate%s on %s "
		    "(nothing written):\n", rn->n, rn->n == 1 ? "" : "s",
		    rn->o.rootdir);
		print_plan(rn);
		rc = KR_OK;
		goto out;
	}
	if (!quiet) {
		printf("plan:\n");
		print_plan(rn);
	}
	rc = commit(rn);
	if (rc == KR_OK)
		next_steps(rn);
out:
	for (i = 0; i < rn->n; i++)
		target_free(&rn->t[i]);
	signers_free(rn);
	if (rn->c != NULL) {
		layout_free(&rn->c->lo);
		free(rn->c);
	}
	pki_rng_free();
	free(rn);
	return rc;
}
