/*
 * layout.c: find what is on the node, and where: the kubeadm or Kubespray
 * certificate directory, the kubeadm config, stacked or external etcd,
 * Kubespray's host etcd certificates, the kubeconfigs and the kubelet's
 * client certificate.  Reads through root.c only; judges nothing.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"

#define KUBE_DIR	"/etc/kubernetes"
#define KUBEADM_CONFIG	"/etc/kubernetes/kubeadm-config.yaml"
#define ETCD_HOST_DIR	"/etc/ssl/etcd/ssl"
#define ROOT_KUBECONFIG	"/root/.kube/config"

static struct item *
add(struct layout *lo, const char *name, enum item_kind kind, const char *ca,
    const char *path, const char *key_path, int kubeadm, int required)
{
	struct item	*it;

	if (lo->nitems == LAYOUT_MAXITEMS)
		return NULL;
	it = &lo->items[lo->nitems];
	memset(it, 0, sizeof(*it));
	if (xsnprintf(it->name, sizeof(it->name), "%s", name) == -1 ||
	    xsnprintf(it->ca, sizeof(it->ca), "%s", ca) == -1 ||
	    xsnprintf(it->path, sizeof(it->path), "%s", path) == -1 ||
	    xsnprintf(it->key_path, sizeof(it->key_path), "%s",
	    key_path == NULL ? "" : key_path) == -1)
		return NULL;
	it->kind = kind;
	it->kubeadm = kubeadm;
	it->required = required;
	lo->nitems++;
	return it;
}

/* A kubeadm cert pair under the cert dir: "<dir>/<base>.crt" + ".key". */
static void
add_pair(struct layout *lo, const char *name, enum item_kind kind,
    const char *ca, const char *base, int required)
{
	char	 crt[PATH_MAX], key[PATH_MAX];

	if (xsnprintf(crt, sizeof(crt), "%s/%s.crt", lo->cert_dir, base) ==
	    -1 || xsnprintf(key, sizeof(key), "%s/%s.key", lo->cert_dir,
	    base) == -1)
		return;
	(void)add(lo, name, kind, ca, crt, key, 1, required);
}

static void
add_kubeconfig(struct layout *lo, const char *file, int required)
{
	char	 path[PATH_MAX];

	if (xsnprintf(path, sizeof(path), "%s/%s", KUBE_DIR, file) == -1)
		return;
	if (!required && !root_exists(lo->root, path))
		return;
	(void)add(lo, file, ITEM_KUBECONFIG, "ca", path, NULL, 1, required);
}

/*
 * kubelet.conf either embeds its client cert (as kubeadm init writes it)
 * or points at the kubelet's rotated kubelet-client-current.pem.
 */
static void
add_kubelet(struct layout *lo)
{
	struct buf		 b = { NULL, 0 };
	struct kubeconfig	 kc;
	char			 why[256];
	const char		*conf = KUBE_DIR "/kubelet.conf";
	struct item		*it;

	if (!root_exists(lo->root, conf))
		return;
	if (root_readfile(lo->root, conf, &b, NULL) == 0 &&
	    kubeconfig_parse(&b, &kc, why, sizeof(why)) == 0) {
		if (kc.cert_data.len == 0 && kc.cert_file != NULL) {
			it = add(lo, "kubelet-client", ITEM_KUBELET, "ca",
			    kc.cert_file, kc.key_file != NULL ? kc.key_file :
			    kc.cert_file, 0, 1);
			kubeconfig_free(&kc);
			buf_free(&b);
			(void)it;
			return;
		}
		kubeconfig_free(&kc);
	}
	buf_free(&b);
	/* embedded, or unreadable: judged (and reported) as a kubeconfig */
	(void)add(lo, "kubelet.conf", ITEM_KUBECONFIG, "ca", conf, NULL, 0, 1);
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Kubespray's host etcd: ca.pem, member-/admin-/node-<host>.pem. */
static void
add_etcd_host(struct layout *lo)
{
	static const char	*kinds[] = { "member-", "admin-", "node-" };
	char			 host[PATH_MAX], crt[PATH_MAX], key[PATH_MAX];
	char			 name[96], *names[LAYOUT_MAXITEMS];
	struct dirent		*de;
	DIR			*dir;
	size_t			 len, k;
	int			 n = 0, i;

	if (root_resolve(lo->root, ETCD_HOST_DIR, 0, host, sizeof(host)) == -1)
		return;
	(void)xsnprintf(lo->etcd_host_dir, sizeof(lo->etcd_host_dir), "%s",
	    ETCD_HOST_DIR);
	(void)add(lo, "etcd-host-ca", ITEM_ETCD_HOST_CA, "etcd-host-ca",
	    ETCD_HOST_DIR "/ca.pem", ETCD_HOST_DIR "/ca-key.pem", 0, 1);
	if ((dir = opendir(host)) == NULL) {
		(void)xsnprintf(lo->layout_error, sizeof(lo->layout_error),
		    "cannot list %s: %s", ETCD_HOST_DIR, path_error(errno));
		return;
	}
	while ((de = readdir(dir)) != NULL && n < LAYOUT_MAXITEMS) {
		len = strlen(de->d_name);
		if (len < 5 || strcmp(de->d_name + len - 4, ".pem") != 0 ||
		    (len > 8 && strcmp(de->d_name + len - 8, "-key.pem") == 0))
			continue;
		for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			if (strncmp(de->d_name, kinds[k], strlen(kinds[k])) == 0)
				break;
		if (k == sizeof(kinds) / sizeof(kinds[0]))
			continue;
		names[n++] = xstrdup(de->d_name);
	}
	closedir(dir);
	qsort(names, (size_t)n, sizeof(names[0]), cmp_name);
	for (i = 0; i < n; i++) {
		len = strlen(names[i]) - 4;
		if (xsnprintf(crt, sizeof(crt), "%s/%s", ETCD_HOST_DIR,
		    names[i]) == 0 &&
		    xsnprintf(key, sizeof(key), "%s/%.*s-key.pem", ETCD_HOST_DIR,
		    (int)len, names[i]) == 0 &&
		    xsnprintf(name, sizeof(name), "etcd-%.*s", (int)len,
		    names[i]) == 0)
			(void)add(lo, name, ITEM_ETCD_HOST, "etcd-host-ca", crt,
			    key, 0, 1);
		free(names[i]);
	}
}

static void
read_config(struct layout *lo, const char *config)
{
	struct buf	 b = { NULL, 0 };
	const char	*path = config;

	if (path == NULL) {
		if (!root_exists(lo->root, KUBEADM_CONFIG))
			return;
		path = KUBEADM_CONFIG;
	}
	(void)xsnprintf(lo->config_path, sizeof(lo->config_path), "%s", path);
	if (root_readfile(lo->root, path, &b, NULL) == -1) {
		(void)xsnprintf(lo->config_error, sizeof(lo->config_error),
		    "cannot read %s: %s", path, path_error(errno));
		return;
	}
	if (kubeadm_config_parse(&b, &lo->cfg, lo->config_error,
	    sizeof(lo->config_error)) == -1) {
		char tmp[256];

		(void)xsnprintf(tmp, sizeof(tmp), "%s", lo->config_error);
		(void)xsnprintf(lo->config_error, sizeof(lo->config_error),
		    "%s: %s", path, tmp);
	}
	buf_free(&b);
}

/*
 * Returns 0, or -1 when the root holds no Kubernetes at all
 * (lo->layout_error says why).
 */
int
layout_discover(const struct root *r, const char *config, struct layout *lo)
{
	struct stat	 st;
	char		 host[PATH_MAX], path[PATH_MAX];

	memset(lo, 0, sizeof(*lo));
	lo->root = r;
	if (root_lstat(r, KUBE_DIR, &st) == -1 &&
	    root_lstat(r, ETCD_HOST_DIR, &st) == -1) {
		(void)xsnprintf(lo->layout_error, sizeof(lo->layout_error),
		    "no Kubernetes under %s: neither %s nor %s exists",
		    r->dir[0] == '\0' ? "/" : r->dir, KUBE_DIR, ETCD_HOST_DIR);
		return -1;
	}
	read_config(lo, config);

	/* The cert dir: kubeadm's pki/, or Kubespray's ssl/ behind it. */
	if (lo->cfg.cert_dir != NULL)
		(void)xsnprintf(lo->cert_dir, sizeof(lo->cert_dir), "%s",
		    lo->cfg.cert_dir);
	else if (root_lstat(r, KUBE_DIR "/pki", &st) == -1 &&
	    root_lstat(r, KUBE_DIR "/ssl", &st) == 0)
		(void)xsnprintf(lo->cert_dir, sizeof(lo->cert_dir), "%s",
		    KUBE_DIR "/ssl");
	else
		(void)xsnprintf(lo->cert_dir, sizeof(lo->cert_dir), "%s",
		    KUBE_DIR "/pki");
	if (root_lstat(r, KUBE_DIR "/pki", &st) == 0 && S_ISLNK(st.st_mode))
		lo->kubespray = 1;
	if (strcmp(lo->cert_dir, KUBE_DIR "/ssl") == 0)
		lo->kubespray = 1;
	if (root_resolve(r, lo->cert_dir, 0, host, sizeof(host)) == -1 &&
	    errno == EXDEV)
		(void)xsnprintf(lo->layout_error, sizeof(lo->layout_error),
		    "%s: a symlink leaves the root", lo->cert_dir);

	(void)xsnprintf(path, sizeof(path), "%s/ca.key", lo->cert_dir);
	lo->control_plane = root_exists(r, path) ||
	    root_exists(r, KUBE_DIR "/manifests/kube-apiserver.yaml") ||
	    root_exists(r, KUBE_DIR "/admin.conf");
	(void)xsnprintf(path, sizeof(path), "%s/etcd", lo->cert_dir);
	if (lo->cfg.found)
		lo->external_etcd = lo->cfg.external_etcd;
	else
		lo->external_etcd = !root_exists(r, path) &&
		    root_exists(r, ETCD_HOST_DIR);

	add_pair(lo, "ca", ITEM_CA, "ca", "ca", 1);
	if (lo->control_plane) {
		add_pair(lo, "front-proxy-ca", ITEM_CA, "front-proxy-ca",
		    "front-proxy-ca", 1);
		if (!lo->external_etcd)
			add_pair(lo, "etcd-ca", ITEM_CA, "etcd-ca", "etcd/ca",
			    1);
		add_pair(lo, "apiserver", ITEM_LEAF, "ca", "apiserver", 1);
		add_pair(lo, "apiserver-kubelet-client", ITEM_LEAF, "ca",
		    "apiserver-kubelet-client", 1);
		add_pair(lo, "front-proxy-client", ITEM_LEAF, "front-proxy-ca",
		    "front-proxy-client", 1);
		if (!lo->external_etcd) {
			add_pair(lo, "etcd-server", ITEM_LEAF, "etcd-ca",
			    "etcd/server", 1);
			add_pair(lo, "etcd-peer", ITEM_LEAF, "etcd-ca",
			    "etcd/peer", 1);
			add_pair(lo, "etcd-healthcheck-client", ITEM_LEAF,
			    "etcd-ca", "etcd/healthcheck-client", 1);
			add_pair(lo, "apiserver-etcd-client", ITEM_LEAF,
			    "etcd-ca", "apiserver-etcd-client", 1);
		}
		add_kubeconfig(lo, "admin.conf", 1);
		add_kubeconfig(lo, "super-admin.conf", 0);
		add_kubeconfig(lo, "controller-manager.conf", 1);
		add_kubeconfig(lo, "scheduler.conf", 1);
	}
	add_kubelet(lo);
	if (root_exists(r, ROOT_KUBECONFIG))
		(void)add(lo, "root-kubeconfig", ITEM_KUBECONFIG, "ca",
		    ROOT_KUBECONFIG, NULL, 0, 0);
	add_etcd_host(lo);
	return 0;
}

void
layout_free(struct layout *lo)
{
	kubeadm_config_free(&lo->cfg);
}

struct item *
layout_find(struct layout *lo, const char *name)
{
	int	 i;

	for (i = 0; i < lo->nitems; i++)
		if (strcmp(lo->items[i].name, name) == 0)
			return &lo->items[i];
	return NULL;
}

/* The first address of the first CIDR of serviceSubnet, plus one. */
int
service_vip(const char *subnets, char *out, size_t outlen)
{
	char		 cidr[128], *slash;
	unsigned char	 a[16];
	int		 af, bits, nbytes, i, carry;
	size_t		 n;

	n = strcspn(subnets, ",");
	if (n >= sizeof(cidr))
		return -1;
	memcpy(cidr, subnets, n);
	cidr[n] = '\0';
	if ((slash = strchr(cidr, '/')) == NULL)
		return -1;
	*slash = '\0';
	bits = atoi(slash + 1);
	af = strchr(cidr, ':') != NULL ? AF_INET6 : AF_INET;
	nbytes = af == AF_INET ? 4 : 16;
	if (inet_pton(af, cidr, a) != 1 || bits < 0 || bits > nbytes * 8)
		return -1;
	for (i = 0; i < nbytes; i++) {
		int keep = bits - i * 8;

		if (keep <= 0)
			a[i] = 0;
		else if (keep < 8)
			a[i] &= (unsigned char)(0xff << (8 - keep));
	}
	for (i = nbytes - 1, carry = 1; i >= 0 && carry; i--) {
		a[i]++;
		carry = a[i] == 0;
	}
	return inet_ntop(af, a, out, (socklen_t)outlen) == NULL ? -1 : 0;
}

/* "host:port" or "[v6]:port" or "host" -> host */
void
endpoint_host(const char *ep, char *out, size_t outlen)
{
	const char	*end;

	if (ep[0] == '[' && (end = strchr(ep, ']')) != NULL) {
		(void)xsnprintf(out, outlen, "%.*s", (int)(end - ep - 1), ep + 1);
		return;
	}
	end = strrchr(ep, ':');
	if (end != NULL && strchr(ep, ':') == end)
		(void)xsnprintf(out, outlen, "%.*s", (int)(end - ep), ep);
	else
		(void)xsnprintf(out, outlen, "%s", ep);
}

/* An IP, an RFC 1123 subdomain, or a wildcard one: what kubeadm accepts. */
int
is_san_name(const char *s)
{
	unsigned char	 b[16];
	const char	*p;

	if (inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1)
		return 1;
	if (strncmp(s, "*.", 2) == 0)
		s += 2;
	for (p = s; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '.'))
			return 0;
	return valid_node_name(s);
}

/* "host:port" or "[v6]:port" -> port; NULL when there is none */
static const char *
endpoint_port(const char *ep)
{
	const char	*p;

	if (ep[0] == '[') {
		p = strchr(ep, ']');
		return p != NULL && p[1] == ':' ? p + 2 : NULL;
	}
	p = strchr(ep, ':');
	return p != NULL && strchr(p + 1, ':') == NULL ? p + 1 : NULL;
}

static int
put(char out[][256], int max, int n, const char *s)
{
	int	 i;

	if (s == NULL || *s == '\0' || n >= max)
		return n;
	for (i = 0; i < n; i++)
		if (strcmp(out[i], s) == 0)
			return n;	/* kubeadm de-duplicates */
	if (xsnprintf(out[n], 256, "%s", s) == -1)
		return n;
	return n + 1;
}

/*
 * The SANs kubeadm would put into this cert for the node's kubeadm config
 * (kubeadm-pki.md §3), so that check can say which ones are missing.
 * Returns how many were written; 0 when there is nothing to compare with.
 */
int
layout_expected_sans(const struct layout *lo, const struct item *it,
    char out[][256], int max)
{
	const struct kubeadm_config	*c = &lo->cfg;
	char				 tmp[256];
	int				 n = 0, i;

	if (!c->found)
		return 0;
	if (strcmp(it->name, "apiserver") == 0) {
		n = put(out, max, n, c->node_name);
		n = put(out, max, n, "kubernetes");
		n = put(out, max, n, "kubernetes.default");
		n = put(out, max, n, "kubernetes.default.svc");
		if (xsnprintf(tmp, sizeof(tmp), "kubernetes.default.svc.%s",
		    c->dns_domain != NULL ? c->dns_domain : "cluster.local") == 0)
			n = put(out, max, n, tmp);
		if (service_vip(c->service_subnet != NULL ? c->service_subnet :
		    "10.96.0.0/12", tmp, sizeof(tmp)) == 0)
			n = put(out, max, n, tmp);
		n = put(out, max, n, c->advertise_address);
		if (c->control_plane_endpoint != NULL) {
			endpoint_host(c->control_plane_endpoint, tmp,
			    sizeof(tmp));
			n = put(out, max, n, tmp);
		}
		/* kubeadm drops certSANs that are neither IP nor DNS name */
		for (i = 0; i < c->ncert_sans; i++)
			if (is_san_name(c->cert_sans[i]))
				n = put(out, max, n, c->cert_sans[i]);
	} else if (strcmp(it->name, "etcd-server") == 0 ||
	    strcmp(it->name, "etcd-peer") == 0) {
		n = put(out, max, n, c->node_name);
		n = put(out, max, n, "localhost");
		n = put(out, max, n, c->advertise_address);
		n = put(out, max, n, "127.0.0.1");
		n = put(out, max, n, "::1");
		if (strcmp(it->name, "etcd-server") == 0)
			for (i = 0; i < c->netcd_server_sans; i++)
				if (is_san_name(c->etcd_server_sans[i]))
					n = put(out, max, n,
					    c->etcd_server_sans[i]);
		if (strcmp(it->name, "etcd-peer") == 0)
			for (i = 0; i < c->netcd_peer_sans; i++)
				if (is_san_name(c->etcd_peer_sans[i]))
					n = put(out, max, n,
					    c->etcd_peer_sans[i]);
	}
	return n;
}

/*
 * The API server URL kubeadm puts into kubeconfigs: the control-plane
 * endpoint (port defaulting to bindPort) or, with local set or without an
 * endpoint, https://<advertiseAddress>:<bindPort>.  IPv6 hosts bracketed.
 * Returns -1 when the config does not say enough.
 */
int
layout_server_url(const struct kubeadm_config *c, int local, char *out,
    size_t outlen)
{
	char		 host[256];
	const char	*ep = c->control_plane_endpoint, *port;
	int		 bind = c->bind_port > 0 ? c->bind_port : 6443;

	if (!local && ep != NULL && *ep != '\0') {
		endpoint_host(ep, host, sizeof(host));
		port = endpoint_port(ep);
		if (strchr(host, ':') != NULL)
			return port != NULL ? xsnprintf(out, outlen,
			    "https://[%s]:%s", host, port) : xsnprintf(out, outlen,
			    "https://[%s]:%d", host, bind);
		return port != NULL ? xsnprintf(out, outlen, "https://%s:%s",
		    host, port) : xsnprintf(out, outlen, "https://%s:%d", host,
		    bind);
	}
	if (c->advertise_address == NULL)
		return -1;
	if (strchr(c->advertise_address, ':') != NULL)
		return xsnprintf(out, outlen, "https://[%s]:%d",
		    c->advertise_address, bind);
	return xsnprintf(out, outlen, "https://%s:%d", c->advertise_address,
	    bind);
}
