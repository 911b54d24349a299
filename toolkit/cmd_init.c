/*
 * krescue init: write a complete kubeadm PKI and the kubeconfigs, as
 * `kubeadm init phase certs all` + `kubeadm init phase kubeconfig all`
 * would, offline, from the node's kubeadm config or from flags.  Existing
 * CAs, sa.key and valid files are kept, as kubeadm keeps them; --force
 * replaces leaves and kubeconfigs.  Everything goes through the same
 * transaction as renew: backup, atomic, rollback works.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

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

#define BACKDATE	(5 * 60)
#define KUBE_DIR	"/etc/kubernetes"
#define MAXFILES	48
/*
 * kubeadm 1.20 wrote leaves without basic constraints and CAs without the
 * DNS:<CN> SAN; 1.28 writes both.  Which minor release changed it is not
 * pinned down by our fixtures: we take 1.22 (see docs/renewal.md).
 */
#define LEGACY_BEFORE	22

/* One CA, leaf or kubeconfig of kubeadm's tree. */
enum kind { K_CA, K_LEAF, K_CONF, K_SA };
enum sans { S_NONE, S_APISERVER, S_ETCD };

struct def {
	const char	*name;
	enum kind	 kind;
	const char	*base;		/* under the cert dir, or the .conf */
	const char	*ca;		/* issuer's name */
	const char	*cn;		/* NULL: system:node:<node> / <node> */
	int		 server_auth, client_auth;
	enum sans	 sans;
	int		 etcd;		/* stacked etcd only */
	int		 local;		/* kubeconfig: local endpoint */
};

static const struct def defs[] = {
	{ "ca", K_CA, "ca", "ca", "kubernetes", 0, 0, S_NONE, 0, 0 },
	{ "front-proxy-ca", K_CA, "front-proxy-ca", "front-proxy-ca",
	    "front-proxy-ca", 0, 0, S_NONE, 0, 0 },
	{ "etcd-ca", K_CA, "etcd/ca", "etcd-ca", "etcd-ca", 0, 0, S_NONE, 1,
	    0 },
	{ "apiserver", K_LEAF, "apiserver", "ca", "kube-apiserver", 1, 0,
	    S_APISERVER, 0, 0 },
	{ "apiserver-kubelet-client", K_LEAF, "apiserver-kubelet-client", "ca",
	    "kube-apiserver-kubelet-client", 0, 1, S_NONE, 0, 0 },
	{ "front-proxy-client", K_LEAF, "front-proxy-client", "front-proxy-ca",
	    "front-proxy-client", 0, 1, S_NONE, 0, 0 },
	{ "etcd-server", K_LEAF, "etcd/server", "etcd-ca", NULL, 1, 1, S_ETCD,
	    1, 0 },
	{ "etcd-peer", K_LEAF, "etcd/peer", "etcd-ca", NULL, 1, 1, S_ETCD, 1,
	    0 },
	{ "etcd-healthcheck-client", K_LEAF, "etcd/healthcheck-client",
	    "etcd-ca", "kube-etcd-healthcheck-client", 0, 1, S_NONE, 1, 0 },
	{ "apiserver-etcd-client", K_LEAF, "apiserver-etcd-client", "etcd-ca",
	    "kube-apiserver-etcd-client", 0, 1, S_NONE, 1, 0 },
	{ "sa", K_SA, "sa", NULL, NULL, 0, 0, S_NONE, 0, 0 },
	{ "admin.conf", K_CONF, "admin.conf", "ca", "kubernetes-admin", 0, 1,
	    S_NONE, 0, 0 },
	{ "super-admin.conf", K_CONF, "super-admin.conf", "ca",
	    "kubernetes-super-admin", 0, 1, S_NONE, 0, 0 },
	{ "kubelet.conf", K_CONF, "kubelet.conf", "ca", NULL, 0, 1, S_NONE, 0,
	    0 },
	{ "controller-manager.conf", K_CONF, "controller-manager.conf", "ca",
	    "system:kube-controller-manager", 0, 1, S_NONE, 0, 1 },
	{ "scheduler.conf", K_CONF, "scheduler.conf", "ca",
	    "system:kube-scheduler", 0, 1, S_NONE, 0, 1 },
};
#define NDEFS	(sizeof(defs) / sizeof(defs[0]))

struct opts {
	const char	*rootdir, *config, *from_node, *key_type;
	const char	*node, *advertise, *cpe, *service_cidr, *dns_domain;
	const char	*cluster_name, *version, *cert_sans;
	int		 bind_port;
	int64_t		 validity, ca_validity;
	int		 force, dry_run;
};

/* The CAs as loaded or made in this run: signing needs them in memory. */
struct caslot {
	const char	*name;
	struct ca	 ca;
	int		 ready;
};

struct init {
	struct opts		 o;
	struct root		 root, from;
	struct layout		*lo;
	struct kubeadm_config	*cfg;
	struct caslot		 cas[3];
	enum pki_keytype	 kt;
	int			 minor;		/* Kubernetes 1.<minor> */
	time_t			 now;
	struct txn		*tx;
	int			 nwrite, nkeep;
};

static void
init_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: krescue init [--root DIR] [--config FILE] [--force] "
	    "[--dry-run]\n"
	    "                    [--node-name NAME] [--advertise-address IP] "
	    "[--bind-port N]\n"
	    "                    [--control-plane-endpoint HOST[:PORT]] "
	    "[--service-cidr CIDR]\n"
	    "                    [--dns-domain D] [--cert-sans A,B] "
	    "[--cluster-name N]\n"
	    "                    [--kubernetes-version V] [--key-type T] "
	    "[--from-node DIR]\n"
	    "                    [--validity D] [--ca-validity D]\n"
	    "\n"
	    "Writes kubeadm's PKI and kubeconfigs (init phase certs all + "
	    "kubeconfig all)\nfrom the node's kubeadm config (default "
	    KUBE_DIR "/kubeadm-config.yaml,\nv1beta2/3/4) and the flags, "
	    "which win. Existing CAs, sa.key and valid files\nare kept; "
	    "--force replaces leaves and kubeconfigs. --from-node DIR takes the "
	    "CAs\nand sa keys from another control plane's root (HA), like "
	    "kubeadm join\n--control-plane.\n"
	    "\nexit status: 0 written, 2 nothing to do, 1 refused, 100 usage, "
	    "111 I/O error\n");
}

static int
is_ip(const char *s)
{
	unsigned char	 b[16];

	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

static int
valid_cidr(const char *s)
{
	char		 tmp[128], *slash, *end;
	long		 bits;
	size_t		 n;

	/* every comma-separated CIDR must parse */
	while (*s != '\0') {
		n = strcspn(s, ",");
		if (n == 0 || n >= sizeof(tmp))
			return 0;
		memcpy(tmp, s, n);
		tmp[n] = '\0';
		if ((slash = strchr(tmp, '/')) == NULL)
			return 0;
		*slash = '\0';
		bits = strtol(slash + 1, &end, 10);
		if (*end != '\0' || slash[1] == '\0' || !is_ip(tmp) || bits < 0 ||
		    bits > (strchr(tmp, ':') != NULL ? 128 : 32))
			return 0;
		s += n;
		if (*s == ',')
			s++;
	}
	return 1;
}

/* Fold flags over the config: flags win, then kubeadm's defaults. */
static void
settle_config(struct init *in)
{
	struct kubeadm_config	*c = in->cfg;
	struct opts		*o = &in->o;
	char			*tok, *list;

#define OVERRIDE(field, val) do {					\
	if ((val) != NULL) {						\
		free(c->field);						\
		c->field = xstrdup(val);				\
	}								\
} while (0)
	OVERRIDE(node_name, o->node);
	OVERRIDE(advertise_address, o->advertise);
	OVERRIDE(control_plane_endpoint, o->cpe);
	OVERRIDE(service_subnet, o->service_cidr);
	OVERRIDE(dns_domain, o->dns_domain);
	OVERRIDE(cluster_name, o->cluster_name);
	OVERRIDE(k8s_version, o->version);
	OVERRIDE(encryption_algorithm, o->key_type);
#undef OVERRIDE
	if (o->bind_port > 0)
		c->bind_port = o->bind_port;
	if (o->cert_sans != NULL) {
		list = xstrdup(o->cert_sans);
		for (tok = strtok(list, ","); tok != NULL;
		    tok = strtok(NULL, ",")) {
			if (c->ncert_sans == KCFG_MAXSANS)
				usage_error("init", "--cert-sans: at most %d "
				    "names", KCFG_MAXSANS);
			c->cert_sans[c->ncert_sans++] = xstrdup(tok);
		}
		free(list);
	}
	if (c->service_subnet == NULL)
		c->service_subnet = xstrdup("10.96.0.0/12");
	if (c->dns_domain == NULL)
		c->dns_domain = xstrdup("cluster.local");
	if (c->cluster_name == NULL)
		c->cluster_name = xstrdup("kubernetes");
	if (c->bind_port == 0)
		c->bind_port = 6443;
	if (c->cert_dir == NULL)
		c->cert_dir = xstrdup(KUBE_DIR "/pki");
	if (o->validity != 0)
		c->cert_validity = o->validity;
	if (c->cert_validity == 0)
		c->cert_validity = (int64_t)8760 * 3600;
	if (o->ca_validity != 0)
		c->ca_validity = o->ca_validity;
	if (c->ca_validity == 0)
		c->ca_validity = (int64_t)87600 * 3600;
}

/* Refuse what kubeadm refuses, before anything is signed. */
static int
validate(struct init *in, char *why, size_t whylen)
{
	struct kubeadm_config	*c = in->cfg;

	if (c->api_version != NULL &&
	    strcmp(c->api_version, "kubeadm.k8s.io/v1beta2") != 0 &&
	    strcmp(c->api_version, "kubeadm.k8s.io/v1beta3") != 0 &&
	    strcmp(c->api_version, "kubeadm.k8s.io/v1beta4") != 0)
		return xsnprintf(why, whylen, "apiVersion %s: krescue reads "
		    "kubeadm.k8s.io/v1beta2, v1beta3 and v1beta4",
		    c->api_version), -1;
	/* bounded here, so that the paths and names built below always fit */
	if (strlen(c->cert_dir) > PATH_MAX - 64 || c->cert_dir[0] != '/')
		return xsnprintf(why, whylen, "certificatesDir must be an "
		    "absolute path of at most %d bytes", PATH_MAX - 64), -1;
	if (strlen(c->cluster_name) > 200 || c->cluster_name[0] == '\0')
		return xsnprintf(why, whylen, "clusterName must have 1 to 200 "
		    "characters"), -1;
	if (c->node_name == NULL)
		return xsnprintf(why, whylen, "no node name: set "
		    "nodeRegistration.name or --node-name"), -1;
	if (!valid_node_name(c->node_name))
		return xsnprintf(why, whylen, "node name \"%s\" is not a "
		    "lower-case RFC 1123 name", c->node_name), -1;
	if (c->advertise_address == NULL)
		return xsnprintf(why, whylen, "no advertise address: set "
		    "localAPIEndpoint.advertiseAddress or --advertise-address"),
		    -1;
	if (!is_ip(c->advertise_address))
		return xsnprintf(why, whylen, "advertise address \"%s\" is not "
		    "an IP address", c->advertise_address), -1;
	if (!valid_cidr(c->service_subnet))
		return xsnprintf(why, whylen, "service subnet \"%s\" is not a "
		    "CIDR list", c->service_subnet), -1;
	if (c->bind_port < 1 || c->bind_port > 65535)
		return xsnprintf(why, whylen, "bind port %d", c->bind_port), -1;
	if (pki_keytype_parse(c->encryption_algorithm != NULL ?
	    c->encryption_algorithm : "", &in->kt) == -1)
		return xsnprintf(why, whylen, "encryptionAlgorithm \"%s\": want "
		    "RSA-2048, RSA-3072, RSA-4096, ECDSA-P256 or ECDSA-P384",
		    c->encryption_algorithm), -1;
	in->minor = version_minor(c->k8s_version);
	if (c->k8s_version != NULL && in->minor < 0)
		return xsnprintf(why, whylen, "kubernetesVersion \"%s\" is not "
		    "a 1.x version", c->k8s_version), -1;
	if (in->minor < 0)
		in->minor = 34;		/* newest kubeadm we know */
	return 0;
}

/* kubeadm-pki.md §3: which SANs each cert carries. */
static void
sans_for(const struct init *in, const struct def *d, struct pki_spec *sp,
    char store[][256])
{
	const struct kubeadm_config	*c = in->cfg;
	int				 n = 0, i;

#define ADD_DNS(v) do {							\
	if (sp->ndns < PKI_MAXSAN && n < 48 &&				\
	    xsnprintf(store[n], 256, "%s", (v)) == 0)			\
		sp->dns[sp->ndns++] = store[n++];			\
} while (0)
#define ADD_IP(v) do {							\
	if (sp->nip < PKI_MAXSAN && n < 48 &&				\
	    xsnprintf(store[n], 256, "%s", (v)) == 0)			\
		sp->ip[sp->nip++] = store[n++];				\
} while (0)
	if (d->sans == S_APISERVER) {
		char tmp[256];

		ADD_DNS(c->node_name);
		ADD_DNS("kubernetes");
		ADD_DNS("kubernetes.default");
		ADD_DNS("kubernetes.default.svc");
		if (xsnprintf(tmp, sizeof(tmp), "kubernetes.default.svc.%s",
		    c->dns_domain) == 0)
			ADD_DNS(tmp);
		if (service_vip(c->service_subnet, tmp, sizeof(tmp)) == 0)
			ADD_IP(tmp);
		ADD_IP(c->advertise_address);
		if (c->control_plane_endpoint != NULL) {
			endpoint_host(c->control_plane_endpoint, tmp,
			    sizeof(tmp));
			if (is_ip(tmp))
				ADD_IP(tmp);
			else
				ADD_DNS(tmp);
		}
		for (i = 0; i < c->ncert_sans; i++) {
			if (is_ip(c->cert_sans[i]))
				ADD_IP(c->cert_sans[i]);
			else if (is_san_name(c->cert_sans[i]))
				ADD_DNS(c->cert_sans[i]);
			else
				warnx("warning: certSAN \"%s\" is neither an IP "
				    "nor a DNS name; not added to apiserver.crt "
				    "(kubeadm drops it too)", c->cert_sans[i]);
		}
	} else if (d->sans == S_ETCD) {
		char *const *extra = strcmp(d->name, "etcd-server") == 0 ?
		    c->etcd_server_sans : c->etcd_peer_sans;
		int nextra = strcmp(d->name, "etcd-server") == 0 ?
		    c->netcd_server_sans : c->netcd_peer_sans;

		ADD_DNS(c->node_name);
		ADD_DNS("localhost");
		ADD_IP(c->advertise_address);
		ADD_IP("127.0.0.1");
		ADD_IP("::1");
		/* etcd.local.serverCertSANs / peerCertSANs, as kubeadm */
		for (i = 0; i < nextra; i++) {
			if (is_ip(extra[i]))
				ADD_IP(extra[i]);
			else if (is_san_name(extra[i]))
				ADD_DNS(extra[i]);
			else
				warnx("warning: etcd SAN \"%s\" is neither an IP "
				    "nor a DNS name; dropped", extra[i]);
		}
	}
#undef ADD_DNS
#undef ADD_IP
}

static struct caslot *
slot(struct init *in, const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(in->cas) / sizeof(in->cas[0]); i++)
		if (in->cas[i].name != NULL && strcmp(in->cas[i].name, name) == 0)
			return &in->cas[i];
	return NULL;
}

static int
put(struct init *in, const char *path, const struct buf *b, mode_t mode,
    int secret, const char *what)
{
	if (!quiet)
		printf("  write %-36s %s\n", path, what);
	in->nwrite++;
	if (in->o.dry_run)
		return 0;
	return txn_put_file(in->tx, path, b, mode, secret);
}

/* NotBefore by version (kubeadm-pki.md §1.3). */
static time_t
not_before(const struct init *in, const struct def *d)
{
	const struct caslot	*s;

	if (d->kind == K_CA)
		return in->minor >= 25 ? in->now - BACKDATE : in->now;
	if (in->minor >= 31)
		return in->now - BACKDATE;
	/* before 1.31 a leaf starts when its CA did */
	s = slot((struct init *)in, d->ca);
	return s != NULL && s->ready ? x509_time(&s->ca.crt.valid_from) :
	    in->now - BACKDATE;
}

static void
subject_for(const struct init *in, const struct def *d, struct pki_spec *sp,
    char *cnbuf, size_t cnlen)
{
	int	 old = in->minor < 29;

	sp->subject.norg = 0;
	if (d->cn != NULL)
		sp->subject.cn = d->cn;
	else {
		(void)xsnprintf(cnbuf, cnlen, strcmp(d->name, "kubelet.conf") ==
		    0 ? "system:node:%s" : "%s", in->cfg->node_name);
		sp->subject.cn = cnbuf;
	}
	if (strcmp(d->name, "kubelet.conf") == 0)
		sp->subject.org[sp->subject.norg++] = "system:nodes";
	else if (strcmp(d->name, "super-admin.conf") == 0)
		sp->subject.org[sp->subject.norg++] = "system:masters";
	else if (strcmp(d->name, "admin.conf") == 0 ||
	    strcmp(d->name, "apiserver-kubelet-client") == 0)
		sp->subject.org[sp->subject.norg++] = old ? "system:masters" :
		    "kubeadm:cluster-admins";
	else if (old && (strcmp(d->name, "etcd-healthcheck-client") == 0 ||
	    strcmp(d->name, "apiserver-etcd-client") == 0))
		sp->subject.org[sp->subject.norg++] = "system:masters";
}

/* A CA: keep it (from here, or --from-node), or make it. */
static int
do_ca(struct init *in, const struct def *d, struct caslot *s, char *why,
    size_t whylen)
{
	struct pki_spec		 spec;
	struct buf		 kpem = { NULL, 0 };
	char			 crt[PATH_MAX], key[PATH_MAX], tmp[256];
	int			 rc = -1;

	s->name = d->name;
	ca_init(&s->ca);
	(void)xsnprintf(crt, sizeof(crt), "%s/%s.crt", in->cfg->cert_dir,
	    d->base);
	(void)xsnprintf(key, sizeof(key), "%s/%s.key", in->cfg->cert_dir,
	    d->base);
	if (root_exists(&in->root, crt)) {
		if (ca_load(&in->root, in->cfg->cert_dir, NULL, d->base, &s->ca,
		    tmp, sizeof(tmp)) == -1) {
			(void)xsnprintf(why, whylen, "%s exists but cannot sign: "
			    "%s", crt, tmp);
			goto out;
		}
		if (!quiet)
			printf("  keep  %-36s existing CA\n", crt);
		in->nkeep++;
		s->ready = 1;
		rc = 0;
		goto out;
	}
	if (in->o.from_node != NULL) {
		struct buf kb = { NULL, 0 };
		char fdir[PATH_MAX];

		(void)xsnprintf(fdir, sizeof(fdir), "%s", in->cfg->cert_dir);
		if (ca_load(&in->from, fdir, NULL, d->base, &s->ca, tmp,
		    sizeof(tmp)) == -1) {
			(void)xsnprintf(why, whylen, "--from-node: %s", tmp);
			goto out;
		}
		if (root_readfile(&in->from, key, &kb, NULL) == -1 ||
		    put(in, crt, &s->ca.pem, 0644, 0, "CA from --from-node") ==
		    -1 || put(in, key, &kb, 0600, 1, "its key") == -1) {
			buf_free(&kb);
			(void)xsnprintf(why, whylen, "cannot copy %s", key);
			goto out;
		}
		buf_free(&kb);
		s->ready = 1;
		rc = 0;
		goto out;
	}
	(void)xsnprintf(tmp, sizeof(tmp), "key generation or encoding failed");
	memset(&spec, 0, sizeof(spec));
	spec.subject.cn = d->cn;
	spec.is_ca = 1;
	spec.legacy = in->minor < LEGACY_BEFORE;
	spec.not_before = not_before(in, d);
	spec.not_after = in->now + in->cfg->ca_validity;
	if (pki_genkey(in->kt, &s->ca.key) == -1 ||
	    pki_sign(&spec, &s->ca.key, NULL, NULL, &s->ca.pem, tmp,
	    sizeof(tmp)) == -1 || pki_key_pem(&s->ca.key, &kpem) == -1 ||
	    x509_parse_certs(&s->ca.pem, &s->ca.crt, tmp, sizeof(tmp)) == -1) {
		(void)xsnprintf(why, whylen, "%s: %s", d->name, tmp);
		goto out;
	}
	if (put(in, key, &kpem, 0600, 1, "new CA key") == -1 ||
	    put(in, crt, &s->ca.pem, 0644, 0, "new CA") == -1)
		goto out;
	s->ready = 1;
	rc = 0;
out:
	buf_free(&kpem);
	return rc;
}

/*
 * An existing leaf or kubeconfig stays when check finds nothing wrong
 * with it (valid, chains, key matches, SANs present), as kubeadm keeps it.
 */
static int
keep_existing(struct init *in, const char *name, const char *path)
{
	struct check	*c;
	int		 i, keep = 0;

	if (in->o.force || !root_exists(&in->root, path))
		return 0;
	c = xcalloc(1, sizeof(*c));
	c->now = in->now;
	c->warn = 0;
	c->root_arg = in->o.rootdir;
	if (layout_discover(&in->root, in->o.config, &c->lo) == 0) {
		check_run(c);
		for (i = 0; i < c->n; i++)
			if (strcmp(c->f[i].item->name, name) == 0)
				keep = c->f[i].status == ST_OK;
	}
	layout_free(&c->lo);
	free(c);
	if (keep) {
		if (!quiet)
			printf("  keep  %-36s valid\n", path);
		in->nkeep++;
	} else if (!quiet)
		printf("  (%s is not valid: replacing it)\n", path);
	return keep;
}

static int
do_leaf(struct init *in, const struct def *d, char *why, size_t whylen)
{
	struct pki_spec		 spec;
	struct caslot		*s;
	struct buf		 crt = { NULL, 0 }, kpem = { NULL, 0 };
	struct buf		 conf = { NULL, 0 };
	struct kcgen		 g;
	char			 store[48][256], cn[300], path[PATH_MAX];
	char			 keypath[PATH_MAX], server[512], ctx[600];
	char			 tmp[256];
	int			 rc = -1;

	if (d->kind == K_CONF)
		(void)xsnprintf(path, sizeof(path), "%s/%s", KUBE_DIR, d->base);
	else {
		(void)xsnprintf(path, sizeof(path), "%s/%s.crt",
		    in->cfg->cert_dir, d->base);
		(void)xsnprintf(keypath, sizeof(keypath), "%s/%s.key",
		    in->cfg->cert_dir, d->base);
	}
	if (keep_existing(in, d->name, path)) {
		rc = 0;
		goto out;
	}
	if ((s = slot(in, d->ca)) == NULL || !s->ready) {
		(void)xsnprintf(why, whylen, "%s: no CA %s", d->name, d->ca);
		goto out;
	}
	memset(&spec, 0, sizeof(spec));
	spec.legacy = in->minor < LEGACY_BEFORE;
	subject_for(in, d, &spec, cn, sizeof(cn));
	spec.server_auth = d->server_auth;
	spec.client_auth = d->client_auth;
	spec.not_before = not_before(in, d);
	spec.not_after = in->now + in->cfg->cert_validity;
	sans_for(in, d, &spec, store);
	if (pki_issue(&spec, in->kt, &s->ca.crt, &s->ca.key, &crt, &kpem, tmp,
	    sizeof(tmp)) == -1) {
		(void)xsnprintf(why, whylen, "%s: %s", d->name, tmp);
		goto out;
	}
	if (d->kind == K_LEAF) {
		if (put(in, keypath, &kpem, 0600, 1, "new key") == -1 ||
		    put(in, path, &crt, 0644, 0, spec.subject.cn) == -1)
			goto out;
		rc = 0;
		goto out;
	}
	/* kubeconfigs: kubelet.conf follows the local endpoint from 1.33 */
	if (layout_server_url(in->cfg, d->local ||
	    (strcmp(d->name, "kubelet.conf") == 0 && in->minor >= 33), server,
	    sizeof(server)) == -1)
		goto out;
	(void)xsnprintf(ctx, sizeof(ctx), "%s@%s", spec.subject.cn,
	    in->cfg->cluster_name);
	memset(&g, 0, sizeof(g));
	g.cluster = in->cfg->cluster_name;
	g.server = server;
	g.user = spec.subject.cn;
	g.context = ctx;
	g.ca_pem = &slot(in, "ca")->ca.pem;
	g.cert_pem = &crt;
	g.key_pem = &kpem;
	if (kubeconfig_generate(&g, &conf) == -1 ||
	    put(in, path, &conf, 0600, 1, server) == -1)
		goto out;
	rc = 0;
out:
	buf_free(&crt);
	buf_free(&kpem);
	buf_free(&conf);
	return rc;
}

/* sa.key/sa.pub: kept; sa.pub re-derived when only it is missing. */
static int
do_sa(struct init *in, char *why, size_t whylen)
{
	mbedtls_pk_context	 key;
	struct buf		 kb = { NULL, 0 }, pub = { NULL, 0 };
	struct root		*src = &in->root;
	char			 kpath[PATH_MAX], ppath[PATH_MAX], tmp[256];
	int			 rc = -1, have_key, have_pub;

	mbedtls_pk_init(&key);
	(void)xsnprintf(kpath, sizeof(kpath), "%s/sa.key", in->cfg->cert_dir);
	(void)xsnprintf(ppath, sizeof(ppath), "%s/sa.pub", in->cfg->cert_dir);
	have_key = root_exists(&in->root, kpath);
	have_pub = root_exists(&in->root, ppath);
	if (have_key && have_pub) {
		if (!quiet)
			printf("  keep  %-36s existing service-account "
			    "keys\n", kpath);
		in->nkeep++;
		rc = 0;
		goto out;
	}
	if (!have_key && in->o.from_node != NULL)
		src = &in->from;
	if (have_key || src == &in->from) {
		if (root_readfile(src, kpath, &kb, NULL) == -1 ||
		    x509_parse_key(&kb, &key, tmp, sizeof(tmp)) == -1) {
			(void)xsnprintf(why, whylen, "cannot load %s%s",
			    src == &in->from ? "--from-node " : "", kpath);
			goto out;
		}
		if (src == &in->from && put(in, kpath, &kb, 0600, 1,
		    "from --from-node") == -1)
			goto out;
		if (!have_key && src != &in->from)
			goto out;
		if (src != &in->from)
			printf("  (sa.pub is missing: derived from sa.key; "
			    "kubeadm would leave it missing)\n");
	} else {
		if (pki_genkey(in->kt, &key) == -1 ||
		    pki_key_pem(&key, &kb) == -1)
			goto out;
		if (put(in, kpath, &kb, 0600, 1, "new service-account key") ==
		    -1)
			goto out;
	}
	if (pki_pubkey_pem(&key, &pub) == -1 ||
	    put(in, ppath, &pub, 0600, 0, "service-account public key") == -1)
		goto out;
	rc = 0;
out:
	mbedtls_pk_free(&key);
	buf_free(&kb);
	buf_free(&pub);
	return rc;
}

static int
wanted(const struct init *in, const struct def *d)
{
	if (d->etcd && in->cfg->external_etcd)
		return 0;
	if (strcmp(d->name, "super-admin.conf") == 0)
		return in->minor >= 29 && in->o.from_node == NULL;
	/* join --control-plane gets kubelet.conf from TLS bootstrap */
	if (strcmp(d->name, "kubelet.conf") == 0)
		return in->o.from_node == NULL;
	return 1;
}

/*
 * How many new keys the run will certainly make: the CAs, the
 * service-account key and the leaves whose files are missing (or all
 * leaves with --force).  Existing but invalid leaves are found out only
 * as the run goes; their keys are made then.
 */
static size_t
keys_needed(struct init *in)
{
	char	 path[PATH_MAX];
	size_t	 i, n = 0;

	for (i = 0; i < NDEFS; i++) {
		const struct def *d = &defs[i];

		if (!wanted(in, d))
			continue;
		switch (d->kind) {
		case K_CA:
		case K_LEAF:
			(void)xsnprintf(path, sizeof(path), "%s/%s.crt",
			    in->cfg->cert_dir, d->base);
			break;
		case K_SA:
			(void)xsnprintf(path, sizeof(path), "%s/sa.key",
			    in->cfg->cert_dir);
			break;
		case K_CONF:
			(void)xsnprintf(path, sizeof(path), "%s/%s", KUBE_DIR,
			    d->base);
			break;
		}
		if (root_exists(&in->root, path))
			n += d->kind != K_CA && d->kind != K_SA && in->o.force;
		else
			n += in->o.from_node == NULL ||
			    (d->kind != K_CA && d->kind != K_SA);
	}
	return n;
}

static int
run(struct init *in)
{
	enum pki_keytype types[NDEFS];
	char		 why[512], backup[PATH_MAX], dir[PATH_MAX];
	size_t		 i, ncas = 0;
	int		 rc = KR_FAIL;

	why[0] = '\0';

	if (!quiet)
		printf("%s kubeadm %s tree for %s (%s), Kubernetes 1.%d, %s "
		    "keys:\n", in->o.dry_run ? "dry run: would write the" :
		    "writing the", in->cfg->external_etcd ? "external-etcd" :
		    "stacked-etcd", in->cfg->node_name,
		    in->cfg->advertise_address, in->minor,
		    pki_keytype_name(in->kt));
	if (!in->o.dry_run && (in->tx = txn_begin(&in->root, KRESCUE_VERSION,
	    in->now)) == NULL)
		return errno == EWOULDBLOCK ? KR_FAIL : KR_IO;
	/* the keys first, on every CPU (pki_genkey takes them in turn) */
	for (i = 0; i < NDEFS; i++)
		types[i] = in->kt;
	if (pki_prefill(types, keys_needed(in)) == -1) {
		warnx("refusing: key generation failed; nothing changed");
		goto out;
	}
	for (i = 0; i < NDEFS; i++) {
		const struct def *d = &defs[i];
		int r;

		if (!wanted(in, d))
			continue;
		if (d->kind == K_CA)
			r = do_ca(in, d, &in->cas[ncas++], why, sizeof(why));
		else if (d->kind == K_SA)
			r = do_sa(in, why, sizeof(why));
		else
			r = do_leaf(in, d, why, sizeof(why));
		if (r == -1) {
			warnx("refusing: %s; nothing changed", why[0] != '\0' ?
			    why : "see the message above");
			goto out;
		}
	}
	if (in->nwrite == 0) {
		printf("nothing to do: every file is there and valid "
		    "(--force replaces leaves and kubeconfigs)\n");
		rc = KR_WARN;
		goto out;
	}
	if (in->o.dry_run) {
		rc = KR_OK;
		goto out;
	}
	/* the directories the new files go into (0755, as kubeadm) */
	(void)xsnprintf(dir, sizeof(dir), "%s/etcd", in->cfg->cert_dir);
	if (root_mkdirs(&in->root, in->cfg->external_etcd ?
	    in->cfg->cert_dir : dir, 0755) == -1) {
		warn("cannot create %s", in->cfg->cert_dir);
		rc = KR_IO;
		goto out;
	}
	if (txn_check(in->tx, why, sizeof(why)) == -1) {
		warnx("refusing to write: %s; nothing changed", why);
		goto out;
	}
	if (txn_commit(in->tx, backup, sizeof(backup)) == -1) {
		rc = KR_IO;
		goto out;
	}
	printf("wrote %d files, kept %d; backup in %s\n", in->nwrite,
	    in->nkeep, backup);
	rc = KR_OK;
out:
	pki_pool_free();
	for (i = 0; i < ncas; i++)
		ca_free(&in->cas[i].ca);
	if (in->tx != NULL)
		txn_free(in->tx);
	return rc;
}

int
cmd_init(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "config", required_argument, NULL, 'c' },
		{ "from-node", required_argument, NULL, 'F' },
		{ "node-name", required_argument, NULL, 'n' },
		{ "advertise-address", required_argument, NULL, 'a' },
		{ "bind-port", required_argument, NULL, 'p' },
		{ "control-plane-endpoint", required_argument, NULL, 'e' },
		{ "service-cidr", required_argument, NULL, 's' },
		{ "dns-domain", required_argument, NULL, 'D' },
		{ "cert-sans", required_argument, NULL, 'S' },
		{ "cluster-name", required_argument, NULL, 'C' },
		{ "kubernetes-version", required_argument, NULL, 'k' },
		{ "key-type", required_argument, NULL, 't' },
		{ "validity", required_argument, NULL, 'V' },
		{ "ca-validity", required_argument, NULL, 'W' },
		{ "force", no_argument, NULL, 'f' },
		{ "dry-run", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct init	*in;
	char		 why[512], *end;
	int		 ch, rc = KR_FAIL;
	long		 port;

	in = xcalloc(1, sizeof(*in));
	in->o.rootdir = "/";
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a': in->o.advertise = optarg; break;
		case 'c': in->o.config = optarg; break;
		case 'C': in->o.cluster_name = optarg; break;
		case 'd': in->o.dry_run = 1; break;
		case 'D': in->o.dns_domain = optarg; break;
		case 'e': in->o.cpe = optarg; break;
		case 'f': in->o.force = 1; break;
		case 'F': in->o.from_node = optarg; break;
		case 'k': in->o.version = optarg; break;
		case 'n': in->o.node = optarg; break;
		case 'r': in->o.rootdir = optarg; break;
		case 's': in->o.service_cidr = optarg; break;
		case 'S': in->o.cert_sans = optarg; break;
		case 't': in->o.key_type = optarg; break;
		case 'h':
			init_usage(stdout);
			free(in);
			return KR_OK;
		case 'p':
			port = strtol(optarg, &end, 10);
			if (*end != '\0' || port < 1 || port > 65535)
				usage_error("init", "--bind-port %s", optarg);
			in->o.bind_port = (int)port;
			break;
		case 'V':
		case 'W':
			if (parse_duration(optarg, ch == 'V' ? &in->o.validity :
			    &in->o.ca_validity) == -1)
				usage_error("init", "not a duration: %s", optarg);
			break;
		default:
			bad_option("init", ch, argv);
		}
	}
	if (optind != argc)
		usage_error("init", "unexpected argument '%s'", argv[optind]);

	in->now = time(NULL);
	in->lo = xcalloc(1, sizeof(*in->lo));
	open_root_or_exit(&in->root, in->o.rootdir);
	if (in->o.from_node != NULL)
		open_root_or_exit(&in->from, in->o.from_node);
	/* a missing /etc/kubernetes is fine: init is how it gets there */
	(void)layout_discover(&in->root, in->o.config, in->lo);
	if (in->lo->config_error[0] != '\0') {
		warnx("refusing: %s", in->lo->config_error);
		goto out;
	}
	if (in->o.config != NULL && !in->lo->cfg.found) {
		warnx("refusing: cannot read --config %s", in->o.config);
		goto out;
	}
	in->cfg = &in->lo->cfg;
	settle_config(in);
	if (validate(in, why, sizeof(why)) == -1) {
		warnx("refusing: %s", why);
		goto out;
	}
	if (pki_rng_init() == -1) {
		rc = KR_IO;
		goto out;
	}
	rc = run(in);
out:
	layout_free(in->lo);
	free(in->lo);
	pki_rng_free();
	free(in);
	return rc;
}
