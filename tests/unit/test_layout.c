/*
 * test_layout.c: layout_discover on node roots built from the kubeadm
 * fixtures: a kubeadm control plane (v1.28.4 and v1.20.2), a Kubespray
 * one (ssl/ + absolute pki symlink + host etcd in /etc/ssl/etcd/ssl), a
 * kubelet-finalize node, a worker, and roots with no Kubernetes at all;
 * then layout_expected_sans against kubeadm-pki.md section 3.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/x509_crt.h>

#include "extern.h"
#include "unit.h"

#define FIX	"../shared/fixtures"

static char	 fixabs[PATH_MAX];
static char	 tmpdir[64];

static int
sh(const char *fmt, const char *dir, const char *ver)
{
	char	 cmd[3 * PATH_MAX + 4096];

	(void)snprintf(cmd, sizeof(cmd), "set -e; F='%s/%s'; R='%s'; %s",
	    fixabs, ver, dir, fmt);
	return system(cmd) == 0 ? 0 : -1;
}

static int
write_file(const char *dir, const char *rel, const char *content)
{
	char	 p[PATH_MAX];
	FILE	*f;

	(void)snprintf(p, sizeof(p), "%s/%s", dir, rel);
	if ((f = fopen(p, "w")) == NULL)
		return -1;
	fputs(content, f);
	return fclose(f) == 0 ? 0 : -1;
}

static const char *
kind_name(enum item_kind k)
{
	switch (k) {
	case ITEM_CA:		return "CA";
	case ITEM_LEAF:		return "LEAF";
	case ITEM_KUBECONFIG:	return "KUBECONFIG";
	case ITEM_KUBELET:	return "KUBELET";
	case ITEM_ETCD_HOST_CA:	return "ETCD_HOST_CA";
	case ITEM_ETCD_HOST:	return "ETCD_HOST";
	}
	return "?";
}

struct want {
	const char	*name;
	enum item_kind	 kind;
	const char	*ca, *path, *key;	/* key "" = embedded */
	int		 kubeadm, required;
};

/* Exactly these items, each once, each as described. */
static void
check_items(const char *label, struct layout *lo, const struct want *w,
    size_t nw)
{
	char		 name[512], got[3 * PATH_MAX], want[3 * PATH_MAX];
	struct item	*it;
	size_t		 i;
	int		 j, seen;

	(void)snprintf(name, sizeof(name), "%s: %zu items", label, nw);
	CHECK(name, lo->nitems == (int)nw);
	for (i = 0; i < nw; i++) {
		for (j = 0, seen = 0; j < lo->nitems; j++)
			seen += strcmp(lo->items[j].name, w[i].name) == 0;
		it = layout_find(lo, w[i].name);
		(void)snprintf(name, sizeof(name), "%s: item %s", label,
		    w[i].name);
		if (it == NULL || seen != 1) {
			CHECK(name, it != NULL && seen == 1);
			continue;
		}
		(void)snprintf(got, sizeof(got), "%s ca=%s %s key=%s kubeadm=%d "
		    "required=%d", kind_name(it->kind), it->ca, it->path,
		    it->key_path, it->kubeadm, it->required);
		(void)snprintf(want, sizeof(want), "%s ca=%s %s key=%s "
		    "kubeadm=%d required=%d", kind_name(w[i].kind), w[i].ca,
		    w[i].path, w[i].key, w[i].kubeadm, w[i].required);
		CHECK_STR(name, got, want);
	}
	for (j = 0; j < lo->nitems; j++) {
		for (i = 0; i < nw; i++)
			if (strcmp(lo->items[j].name, w[i].name) == 0)
				break;
		if (i == nw) {
			(void)snprintf(name, sizeof(name),
			    "%s: unexpected item %s", label, lo->items[j].name);
			CHECK(name, 0);
		}
	}
}

#define P	"/etc/kubernetes/pki/"
#define S	"/etc/kubernetes/ssl/"
#define K	"/etc/kubernetes/"
#define E	"/etc/ssl/etcd/ssl/"

static const struct want kubeadm_items[] = {
	{ "ca", ITEM_CA, "ca", P "ca.crt", P "ca.key", 1, 1 },
	{ "front-proxy-ca", ITEM_CA, "front-proxy-ca", P "front-proxy-ca.crt",
	    P "front-proxy-ca.key", 1, 1 },
	{ "etcd-ca", ITEM_CA, "etcd-ca", P "etcd/ca.crt", P "etcd/ca.key", 1,
	    1 },
	{ "apiserver", ITEM_LEAF, "ca", P "apiserver.crt", P "apiserver.key",
	    1, 1 },
	{ "apiserver-kubelet-client", ITEM_LEAF, "ca",
	    P "apiserver-kubelet-client.crt", P "apiserver-kubelet-client.key",
	    1, 1 },
	{ "front-proxy-client", ITEM_LEAF, "front-proxy-ca",
	    P "front-proxy-client.crt", P "front-proxy-client.key", 1, 1 },
	{ "etcd-server", ITEM_LEAF, "etcd-ca", P "etcd/server.crt",
	    P "etcd/server.key", 1, 1 },
	{ "etcd-peer", ITEM_LEAF, "etcd-ca", P "etcd/peer.crt",
	    P "etcd/peer.key", 1, 1 },
	{ "etcd-healthcheck-client", ITEM_LEAF, "etcd-ca",
	    P "etcd/healthcheck-client.crt", P "etcd/healthcheck-client.key",
	    1, 1 },
	{ "apiserver-etcd-client", ITEM_LEAF, "etcd-ca",
	    P "apiserver-etcd-client.crt", P "apiserver-etcd-client.key", 1,
	    1 },
	{ "admin.conf", ITEM_KUBECONFIG, "ca", K "admin.conf", "", 1, 1 },
	{ "controller-manager.conf", ITEM_KUBECONFIG, "ca",
	    K "controller-manager.conf", "", 1, 1 },
	{ "scheduler.conf", ITEM_KUBECONFIG, "ca", K "scheduler.conf", "", 1,
	    1 },
	{ "kubelet.conf", ITEM_KUBECONFIG, "ca", K "kubelet.conf", "", 0, 1 },
};

static const struct want kubespray_items[] = {
	{ "ca", ITEM_CA, "ca", S "ca.crt", S "ca.key", 1, 1 },
	{ "front-proxy-ca", ITEM_CA, "front-proxy-ca", S "front-proxy-ca.crt",
	    S "front-proxy-ca.key", 1, 1 },
	{ "apiserver", ITEM_LEAF, "ca", S "apiserver.crt", S "apiserver.key",
	    1, 1 },
	{ "apiserver-kubelet-client", ITEM_LEAF, "ca",
	    S "apiserver-kubelet-client.crt", S "apiserver-kubelet-client.key",
	    1, 1 },
	{ "front-proxy-client", ITEM_LEAF, "front-proxy-ca",
	    S "front-proxy-client.crt", S "front-proxy-client.key", 1, 1 },
	{ "admin.conf", ITEM_KUBECONFIG, "ca", K "admin.conf", "", 1, 1 },
	{ "super-admin.conf", ITEM_KUBECONFIG, "ca", K "super-admin.conf", "",
	    1, 0 },
	{ "controller-manager.conf", ITEM_KUBECONFIG, "ca",
	    K "controller-manager.conf", "", 1, 1 },
	{ "scheduler.conf", ITEM_KUBECONFIG, "ca", K "scheduler.conf", "", 1,
	    1 },
	{ "kubelet-client", ITEM_KUBELET, "ca",
	    "/var/lib/kubelet/pki/kubelet-client-current.pem",
	    "/var/lib/kubelet/pki/kubelet-client-current.pem", 0, 1 },
	{ "root-kubeconfig", ITEM_KUBECONFIG, "ca", "/root/.kube/config", "",
	    0, 0 },
	{ "etcd-host-ca", ITEM_ETCD_HOST_CA, "etcd-host-ca", E "ca.pem",
	    E "ca-key.pem", 0, 1 },
	{ "etcd-admin-node1", ITEM_ETCD_HOST, "etcd-host-ca",
	    E "admin-node1.pem", E "admin-node1-key.pem", 0, 1 },
	{ "etcd-member-node1", ITEM_ETCD_HOST, "etcd-host-ca",
	    E "member-node1.pem", E "member-node1-key.pem", 0, 1 },
	{ "etcd-node-node1", ITEM_ETCD_HOST, "etcd-host-ca",
	    E "node-node1.pem", E "node-node1-key.pem", 0, 1 },
};

/* Kubespray's kubeadm config, as its v1beta3 template renders it. */
static const char kubespray_config[] =
"apiVersion: kubeadm.k8s.io/v1beta3\n"
"kind: InitConfiguration\n"
"localAPIEndpoint:\n"
"  advertiseAddress: 192.0.2.11\n"
"  bindPort: 6443\n"
"nodeRegistration:\n"
"  name: \"node1\"\n"
"---\n"
"apiVersion: kubeadm.k8s.io/v1beta3\n"
"kind: ClusterConfiguration\n"
"clusterName: cluster.local\n"
"etcd:\n"
"  external:\n"
"      endpoints:\n"
"      - https://192.0.2.11:2379\n"
"      caFile: /etc/ssl/etcd/ssl/ca.pem\n"
"      certFile: /etc/ssl/etcd/ssl/node-node1.pem\n"
"      keyFile: /etc/ssl/etcd/ssl/node-node1-key.pem\n"
"networking:\n"
"  dnsDomain: cluster.local\n"
"  serviceSubnet: \"10.233.0.0/18\"\n"
"kubernetesVersion: v1.29.5\n"
"controlPlaneEndpoint: 192.0.2.11:6443\n"
"certificatesDir: /etc/kubernetes/ssl\n"
"apiServer:\n"
"  certSANs:\n"
"  - \"kubernetes\"\n"
"  - \"kubernetes.default\"\n"
"  - \"kubernetes.default.svc\"\n"
"  - \"kubernetes.default.svc.cluster.local\"\n"
"  - \"10.233.0.1\"\n"
"  - \"localhost\"\n"
"  - \"127.0.0.1\"\n"
"  - \"node1\"\n"
"  - \"lb-apiserver.kubernetes.local\"\n"
"  - \"192.0.2.11\"\n"
"---\n"
"apiVersion: kubelet.config.k8s.io/v1beta1\n"
"kind: KubeletConfiguration\n"
"clusterDomain: cluster.local\n";

static const char finalize_kubelet_conf[] =
"apiVersion: v1\n"
"kind: Config\n"
"clusters:\n"
"- name: cluster.local\n"
"  cluster:\n"
"    certificate-authority-data: Zm9v\n"
"    server: https://127.0.0.1:6443\n"
"contexts:\n"
"- name: system:node:node1@cluster.local\n"
"  context: {cluster: cluster.local, user: system:node:node1}\n"
"current-context: system:node:node1@cluster.local\n"
"users:\n"
"- name: system:node:node1\n"
"  user:\n"
"    client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem\n"
"    client-key: /var/lib/kubelet/pki/kubelet-client-current.pem\n";

/* How many times `s` is among the n strings of `set`. */
static int
count(char set[][256], int n, const char *s)
{
	int	 i, c = 0;

	for (i = 0; i < n; i++)
		c += strcmp(set[i], s) == 0;
	return c;
}

/*
 * layout_expected_sans(item) is the set `want`: each of them, nothing
 * else, and (as kubeadm's RemoveDuplicateAltNames) nothing twice.
 */
static void
check_sans(const char *label, const struct layout *lo, const char *item,
    const char *const *want, int nwant, const char *crt_path)
{
	char			 got[KCFG_MAXSANS + 16][256], name[512];
	char			 extra[1024];
	struct item		 it;
	struct buf		 b = { NULL, 0 };
	mbedtls_x509_crt	 crt;
	FILE			*f;
	int			 n, i, j, all;
	long			 sz;

	memset(&it, 0, sizeof(it));
	(void)snprintf(it.name, sizeof(it.name), "%s", item);
	n = layout_expected_sans(lo, &it, got, KCFG_MAXSANS + 16);
	for (i = 0; i < nwant; i++) {
		(void)snprintf(name, sizeof(name),
		    "%s: %s is expected for %s", label, want[i], item);
		CHECK(name, count(got, n, want[i]) > 0);
	}
	extra[0] = '\0';
	for (i = 0; i < n; i++) {
		for (j = 0; j < nwant; j++)
			if (strcmp(got[i], want[j]) == 0)
				break;
		if (j == nwant && strlen(extra) + strlen(got[i]) + 2 <
		    sizeof(extra)) {
			strcat(extra, " ");
			strcat(extra, got[i]);
		}
	}
	(void)snprintf(name, sizeof(name), "%s: nothing else is expected for "
	    "%s", label, item);
	if (extra[0] != '\0') {
		fflush(stdout);
		fprintf(stderr, "%s: unexpected:%s\n", name, extra);
	}
	CHECK(name, extra[0] == '\0');
	extra[0] = '\0';
	for (i = 0; i < n; i++)
		if (count(got, i, got[i]) == 1 && strlen(extra) +
		    strlen(got[i]) + 2 < sizeof(extra)) {
			strcat(extra, " ");
			strcat(extra, got[i]);
		}
	(void)snprintf(name, sizeof(name), "%s: no expected SAN repeated for "
	    "%s", label, item);
	if (extra[0] != '\0') {
		fflush(stdout);
		fprintf(stderr, "%s: repeated:%s\n", name, extra);
	}
	CHECK(name, extra[0] == '\0');
	if (crt_path == NULL)
		return;
	/* kubeadm really put every expected SAN into its certificate */
	mbedtls_x509_crt_init(&crt);
	all = 0;
	if ((f = fopen(crt_path, "rb")) != NULL) {
		if (fseek(f, 0, SEEK_END) == 0 && (sz = ftell(f)) > 0 &&
		    fseek(f, 0, SEEK_SET) == 0) {
			b.data = xmalloc((size_t)sz + 1);
			b.len = fread(b.data, 1, (size_t)sz, f);
			b.data[b.len] = '\0';
		}
		fclose(f);
	}
	if (b.data != NULL && x509_parse_certs(&b, &crt, name,
	    sizeof(name)) == 0) {
		all = n > 0;
		for (i = 0; i < n; i++)
			if (!x509_has_san(&crt, got[i]))
				all = 0;
	}
	(void)snprintf(name, sizeof(name), "%s: kubeadm's %s carries every "
	    "expected SAN", label, item);
	CHECK(name, all);
	mbedtls_x509_crt_free(&crt);
	buf_free(&b);
}

static void
test_kubeadm_roots(void)
{
	static const char *versions[] = { "kubeadm-v1.28.4",
	    "kubeadm-v1.20.2" };
	static const char *api_sans[] = { "cp-1", "kubernetes",
	    "kubernetes.default", "kubernetes.default.svc",
	    "kubernetes.default.svc.cluster.local", "10.233.0.1", "192.0.2.10",
	    "cp.example.test", "cp-1.example.test", "192.0.2.100" };
	static const char *etcd_sans[] = { "cp-1", "localhost", "192.0.2.10",
	    "127.0.0.1", "::1" };
	struct root	 r;
	struct layout	 lo;
	char		 dir[PATH_MAX], label[128], crt[PATH_MAX];
	size_t		 v, i;
	int		 rc, all;

	for (v = 0; v < 2; v++) {
		(void)snprintf(dir, sizeof(dir), "%s/%s", tmpdir, versions[v]);
		rc = sh("mkdir -p \"$R/etc/kubernetes\"; "
		    "cp -R \"$F/pki\" \"$F/manifests\" \"$F\"/*.conf "
		    "\"$F/kubeadm-config.yaml\" \"$R/etc/kubernetes/\"; "
		    "chmod -R u+w \"$R\"", dir, versions[v]);
		(void)snprintf(label, sizeof(label), "%s root", versions[v]);
		CHECK(label, rc == 0 && root_open(&r, dir) == 0);
		rc = layout_discover(&r, NULL, &lo);
		(void)snprintf(label, sizeof(label), "%s: discovered",
		    versions[v]);
		CHECK(label, rc == 0 && lo.layout_error[0] == '\0');
		(void)snprintf(label, sizeof(label), "%s: config read",
		    versions[v]);
		CHECK(label, lo.cfg.found &&
		    strcmp(lo.config_path, K "kubeadm-config.yaml") == 0 &&
		    lo.config_error[0] == '\0');
		(void)snprintf(label, sizeof(label), "%s: cert dir",
		    versions[v]);
		CHECK_STR(label, lo.cert_dir, "/etc/kubernetes/pki");
		(void)snprintf(label, sizeof(label),
		    "%s: control plane, stacked etcd, not Kubespray",
		    versions[v]);
		CHECK(label, lo.control_plane == 1 && lo.external_etcd == 0 &&
		    lo.kubespray == 0 && lo.etcd_host_dir[0] == '\0');
		check_items(versions[v], &lo, kubeadm_items,
		    sizeof(kubeadm_items) / sizeof(kubeadm_items[0]));
		for (i = 0, all = 1; i < (size_t)lo.nitems; i++) {
			if (!root_exists(&r, lo.items[i].path) ||
			    (lo.items[i].key_path[0] != '\0' &&
			    !root_exists(&r, lo.items[i].key_path)))
				all = 0;
		}
		(void)snprintf(label, sizeof(label),
		    "%s: every item's files exist in the root", versions[v]);
		CHECK(label, all);
		(void)snprintf(crt, sizeof(crt), FIX "/%s/pki/apiserver.crt",
		    versions[v]);
		check_sans(versions[v], &lo, "apiserver", api_sans,
		    sizeof(api_sans) / sizeof(api_sans[0]), crt);
		(void)snprintf(crt, sizeof(crt), FIX "/%s/pki/etcd/server.crt",
		    versions[v]);
		check_sans(versions[v], &lo, "etcd-server", etcd_sans,
		    sizeof(etcd_sans) / sizeof(etcd_sans[0]), crt);
		(void)snprintf(crt, sizeof(crt), FIX "/%s/pki/etcd/peer.crt",
		    versions[v]);
		check_sans(versions[v], &lo, "etcd-peer", etcd_sans,
		    sizeof(etcd_sans) / sizeof(etcd_sans[0]), crt);
		check_sans(versions[v], &lo, "ca", NULL, 0, NULL);
		check_sans(versions[v], &lo, "front-proxy-client", NULL, 0,
		    NULL);
		layout_free(&lo);
	}

	/* --config elsewhere: the root's own file is not read */
	(void)snprintf(dir, sizeof(dir), "%s/%s", tmpdir, versions[0]);
	rc = sh("mv \"$R/etc/kubernetes/kubeadm-config.yaml\" \"$R/cfg.yaml\"",
	    dir, versions[0]);
	CHECK("explicit config: root", rc == 0 && root_open(&r, dir) == 0);
	rc = layout_discover(&r, "/cfg.yaml", &lo);
	CHECK("explicit config: read", rc == 0 && lo.cfg.found &&
	    strcmp(lo.config_path, "/cfg.yaml") == 0 &&
	    strcmp(lo.cfg.node_name, "cp-1") == 0);
	layout_free(&lo);
	rc = layout_discover(&r, NULL, &lo);
	CHECK("no config: still a kubeadm layout, nothing to compare SANs to",
	    rc == 0 && !lo.cfg.found && lo.config_path[0] == '\0' &&
	    lo.nitems == (int)(sizeof(kubeadm_items) /
	    sizeof(kubeadm_items[0])) && lo.external_etcd == 0 &&
	    strcmp(lo.cert_dir, "/etc/kubernetes/pki") == 0);
	check_sans("no config", &lo, "apiserver", NULL, 0, NULL);
	layout_free(&lo);
	rc = layout_discover(&r, "/absent.yaml", &lo);
	CHECK("missing --config: reported, discovery goes on",
	    rc == 0 && !lo.cfg.found && lo.config_error[0] != '\0' &&
	    lo.nitems > 0);
	layout_free(&lo);
}

static void
test_kubespray_root(void)
{
	static const char *api_sans[] = { "node1", "kubernetes",
	    "kubernetes.default", "kubernetes.default.svc",
	    "kubernetes.default.svc.cluster.local", "10.233.0.1", "192.0.2.11",
	    "localhost", "127.0.0.1", "lb-apiserver.kubernetes.local" };
	struct root	 r;
	struct layout	 lo;
	char		 dir[PATH_MAX];
	int		 rc, i, all;

	(void)snprintf(dir, sizeof(dir), "%s/kubespray", tmpdir);
	rc = sh("mkdir -p \"$R/etc/kubernetes/ssl\" \"$R/etc/ssl/etcd/ssl\" "
	    "\"$R/root/.kube\" \"$R/var/lib/kubelet/pki\"; "
	    "cp \"$F\"/pki/*.crt \"$F\"/pki/*.key \"$F\"/pki/sa.pub "
	    "\"$R/etc/kubernetes/ssl/\"; "
	    "ln -s /etc/kubernetes/ssl \"$R/etc/kubernetes/pki\"; "
	    "cp \"$F/admin.conf\" \"$F/controller-manager.conf\" "
	    "\"$F/scheduler.conf\" \"$R/etc/kubernetes/\"; "
	    "cp \"$F/admin.conf\" \"$R/etc/kubernetes/super-admin.conf\"; "
	    "cp \"$F/admin.conf\" \"$R/root/.kube/config\"; "
	    "cd \"$R/etc/ssl/etcd/ssl\"; "
	    "for f in ca ca-key admin-node1 admin-node1-key member-node1 "
	    "member-node1-key node-node1 node-node1-key other node-x-key; "
	    "do echo dummy > $f.pem; done; "
	    "echo dummy > README; echo dummy > member-node1.pem.bak; "
	    "cd \"$R/var/lib/kubelet/pki\"; echo dummy > "
	    "kubelet-client-current.pem; chmod -R u+w \"$R\"",
	    dir, "kubeadm-v1.28.4");
	rc |= write_file(dir, "etc/kubernetes/kubeadm-config.yaml",
	    kubespray_config);
	rc |= write_file(dir, "etc/kubernetes/kubelet.conf",
	    finalize_kubelet_conf);
	CHECK("kubespray root", rc == 0 && root_open(&r, dir) == 0);

	rc = layout_discover(&r, NULL, &lo);
	CHECK("kubespray: discovered", rc == 0 && lo.layout_error[0] == '\0');
	CHECK("kubespray: config read", lo.cfg.found &&
	    lo.config_error[0] == '\0');
	CHECK_STR("kubespray: cert dir from certificatesDir", lo.cert_dir,
	    "/etc/kubernetes/ssl");
	CHECK("kubespray: flagged as Kubespray", lo.kubespray == 1);
	CHECK("kubespray: external etcd", lo.external_etcd == 1);
	CHECK("kubespray: control plane", lo.control_plane == 1);
	CHECK_STR("kubespray: host etcd dir", lo.etcd_host_dir,
	    "/etc/ssl/etcd/ssl");
	check_items("kubespray", &lo, kubespray_items,
	    sizeof(kubespray_items) / sizeof(kubespray_items[0]));
	for (i = 0, all = 1; i < lo.nitems; i++)
		if (!root_exists(&r, lo.items[i].path))
			all = 0;
	CHECK("kubespray: every item's file exists in the root", all);
	check_sans("kubespray", &lo, "apiserver", api_sans,
	    sizeof(api_sans) / sizeof(api_sans[0]), NULL);
	layout_free(&lo);

	/* without its config: found by the symlink and the host etcd dir */
	rc = sh("rm \"$R/etc/kubernetes/kubeadm-config.yaml\"", dir, "x");
	rc = rc == 0 ? layout_discover(&r, NULL, &lo) : -1;
	CHECK("kubespray without config: discovered", rc == 0 &&
	    !lo.cfg.found);
	CHECK("kubespray without config: Kubespray, external etcd",
	    lo.kubespray == 1 && lo.external_etcd == 1 &&
	    layout_find(&lo, "etcd-ca") == NULL &&
	    layout_find(&lo, "etcd-member-node1") != NULL);
	CHECK("kubespray without config: the pki link reaches the root's ssl/",
	    layout_find(&lo, "apiserver") != NULL &&
	    root_exists(&r, layout_find(&lo, "apiserver")->path) &&
	    root_exists(&r, layout_find(&lo, "ca")->key_path));
	layout_free(&lo);
}

static void
test_other_roots(void)
{
	struct root	 r;
	struct layout	 lo;
	char		 dir[PATH_MAX];
	int		 rc;

	/* a worker: ca.crt and kubelet.conf only */
	(void)snprintf(dir, sizeof(dir), "%s/worker", tmpdir);
	rc = sh("mkdir -p \"$R/etc/kubernetes/pki\"; "
	    "cp \"$F/pki/ca.crt\" \"$R/etc/kubernetes/pki/\"; "
	    "cp \"$F/kubelet.conf\" \"$R/etc/kubernetes/\"; "
	    "chmod -R u+w \"$R\"", dir, "kubeadm-v1.28.4");
	CHECK("worker root", rc == 0 && root_open(&r, dir) == 0);
	rc = layout_discover(&r, NULL, &lo);
	CHECK("worker: discovered, not a control plane", rc == 0 &&
	    lo.control_plane == 0 && lo.kubespray == 0);
	CHECK("worker: only ca and kubelet.conf", lo.nitems == 2 &&
	    layout_find(&lo, "ca") != NULL &&
	    layout_find(&lo, "kubelet.conf") != NULL &&
	    layout_find(&lo, "kubelet.conf")->kind == ITEM_KUBECONFIG);
	layout_free(&lo);

	/* an empty root, and one with an /etc but no Kubernetes */
	(void)snprintf(dir, sizeof(dir), "%s/empty", tmpdir);
	rc = sh("mkdir -p \"$R\"", dir, "x");
	CHECK("empty root", rc == 0 && root_open(&r, dir) == 0);
	rc = layout_discover(&r, NULL, &lo);
	CHECK("empty root: -1 with a reason", rc == -1 &&
	    lo.layout_error[0] != '\0' && lo.nitems == 0);
	layout_free(&lo);
	rc = sh("mkdir -p \"$R/etc/ssl/certs\"", dir, "x");
	rc = rc == 0 ? layout_discover(&r, NULL, &lo) : 0;
	CHECK("root with /etc but no Kubernetes: -1", rc == -1 &&
	    lo.layout_error[0] != '\0');
	layout_free(&lo);

	/* a pki link that climbs out of the root is reported */
	(void)snprintf(dir, sizeof(dir), "%s/escape", tmpdir);
	rc = sh("mkdir -p \"$R/etc/kubernetes\"; "
	    "ln -s ../../../../../../../tmp \"$R/etc/kubernetes/pki\"",
	    dir, "x");
	CHECK("escaping root", rc == 0 && root_open(&r, dir) == 0);
	rc = layout_discover(&r, NULL, &lo);
	CHECK("escaping pki link: reported in layout_error", rc == 0 &&
	    strstr(lo.layout_error, "leaves the root") != NULL);
	layout_free(&lo);
}

/* layout_expected_sans from a config alone (no files needed). */
static void
test_expected_sans_rules(void)
{
	static const struct {
		const char	*label, *cluster;
		const char	*want[12];
		int		 nwant;
	} tab[] = {
		{ "defaults (10.96.0.0/12, cluster.local)", "",
		    { "n1", "kubernetes", "kubernetes.default",
		    "kubernetes.default.svc",
		    "kubernetes.default.svc.cluster.local", "10.96.0.1",
		    "192.0.2.5" }, 7 },
		{ "dnsDomain and an IPv6-first dual-stack subnet",
		    "networking:\n  dnsDomain: k8s.example\n"
		    "  serviceSubnet: fd00:10:96::/108,10.96.0.0/12\n",
		    { "n1", "kubernetes", "kubernetes.default",
		    "kubernetes.default.svc", "kubernetes.default.svc.k8s.example",
		    "fd00:10:96::1", "192.0.2.5" }, 7 },
		{ "an unaligned subnet is masked first",
		    "networking:\n  serviceSubnet: 10.233.5.7/18\n",
		    { "n1", "kubernetes", "kubernetes.default",
		    "kubernetes.default.svc",
		    "kubernetes.default.svc.cluster.local", "10.233.0.1",
		    "192.0.2.5" }, 7 },
		{ "IPv6 controlPlaneEndpoint in brackets",
		    "controlPlaneEndpoint: \"[2001:db8::7]:6443\"\n",
		    { "n1", "kubernetes", "kubernetes.default",
		    "kubernetes.default.svc",
		    "kubernetes.default.svc.cluster.local", "10.96.0.1",
		    "192.0.2.5", "2001:db8::7" }, 8 },
		{ "controlPlaneEndpoint without a port",
		    "controlPlaneEndpoint: lb.example.test\n",
		    { "n1", "kubernetes", "kubernetes.default",
		    "kubernetes.default.svc",
		    "kubernetes.default.svc.cluster.local", "10.96.0.1",
		    "192.0.2.5", "lb.example.test" }, 8 },
		/* kubeadm de-duplicates (RemoveDuplicateAltNames) ... */
		{ "certSANs repeating the defaults are not repeated",
		    "apiServer:\n  certSANs: [kubernetes, 10.96.0.1, n1]\n",
		    { "n1", "kubernetes", "kubernetes.default",
		    "kubernetes.default.svc",
		    "kubernetes.default.svc.cluster.local", "10.96.0.1",
		    "192.0.2.5" }, 7 },
		/* ... and drops a certSAN that is no IP and no DNS name */
		{ "a certSAN that is neither IP nor DNS name is not expected",
		    "apiServer:\n  certSANs: [\"bad_name!\", ok.example.test]\n",
		    { "n1", "kubernetes", "kubernetes.default",
		    "kubernetes.default.svc",
		    "kubernetes.default.svc.cluster.local", "10.96.0.1",
		    "192.0.2.5", "ok.example.test" }, 8 },
	};
	struct layout	 lo;
	struct buf	 b = { NULL, 0 };
	char		 doc[2048], why[256], name[256];
	size_t		 i;
	int		 rc;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		(void)snprintf(doc, sizeof(doc),
		    "apiVersion: kubeadm.k8s.io/v1beta3\n"
		    "kind: InitConfiguration\n"
		    "localAPIEndpoint: {advertiseAddress: 192.0.2.5}\n"
		    "nodeRegistration: {name: n1}\n---\n"
		    "apiVersion: kubeadm.k8s.io/v1beta3\n"
		    "kind: ClusterConfiguration\n%s", tab[i].cluster);
		(void)buf_set(&b, doc, strlen(doc));
		memset(&lo, 0, sizeof(lo));
		rc = kubeadm_config_parse(&b, &lo.cfg, why, sizeof(why));
		(void)snprintf(name, sizeof(name), "SAN rules: %s: config",
		    tab[i].label);
		CHECK(name, rc == 0);
		(void)snprintf(name, sizeof(name), "SAN rules: %s",
		    tab[i].label);
		check_sans(name, &lo, "apiserver", tab[i].want, tab[i].nwant,
		    NULL);
		layout_free(&lo);
	}
	buf_free(&b);
}

int
main(void)
{
	char	 cmd[128];

	if (realpath(FIX, fixabs) == NULL) {
		perror(FIX);
		return 1;
	}
	(void)snprintf(tmpdir, sizeof(tmpdir), "/tmp/krescue-layout.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_kubeadm_roots();
	test_kubespray_root();
	test_other_roots();
	test_expected_sans_rules();
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	UNIT_DONE();
}
