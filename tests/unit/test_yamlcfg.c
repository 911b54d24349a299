/*
 * test_yamlcfg.c: kubeconfig_parse and kubeadm_config_parse on the real
 * kubeadm fixtures, on inline v1beta4 / Kubespray / kubelet-finalize
 * documents, and on documents that must be refused.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "unit.h"

#define FIX	"../shared/fixtures"

static const char *versions[] = { "kubeadm-v1.28.4", "kubeadm-v1.20.2" };


static void
str_buf(const char *s, struct buf *b)
{
	(void)buf_set(b, s, strlen(s));
}

static int
starts(const struct buf *b, const char *prefix)
{
	return b->data != NULL && b->len >= strlen(prefix) &&
	    memcmp(b->data, prefix, strlen(prefix)) == 0;
}

static int
eq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static void
test_fixture_kubeconfigs(void)
{
	static const struct {
		const char	*file, *user, *server;
	} tab[] = {
		{ "admin.conf", "kubernetes-admin",
		    "https://cp.example.test:6443" },
		{ "kubelet.conf", "system:node:cp-1",
		    "https://cp.example.test:6443" },
		{ "controller-manager.conf", "system:kube-controller-manager",
		    "https://192.0.2.10:6443" },
		{ "scheduler.conf", "system:kube-scheduler",
		    "https://192.0.2.10:6443" },
	};
	struct kubeconfig	 kc;
	struct buf		 b = { NULL, 0 }, ca = { NULL, 0 };
	char			 path[256], name[256], why[256];
	size_t			 v, i;
	int			 rc;

	for (v = 0; v < 2; v++) {
		(void)snprintf(path, sizeof(path), FIX "/%s/pki/ca.crt",
		    versions[v]);
		if (unit_slurp(path, &ca) == -1)
			buf_free(&ca);
		for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
			(void)snprintf(path, sizeof(path), FIX "/%s/%s",
			    versions[v], tab[i].file);
			(void)snprintf(name, sizeof(name), "%s/%s: read",
			    versions[v], tab[i].file);
			CHECK(name, unit_slurp(path, &b) == 0);
			why[0] = '\0';
			rc = kubeconfig_parse(&b, &kc, why, sizeof(why));
			(void)snprintf(name, sizeof(name), "%s/%s: parses",
			    versions[v], tab[i].file);
			CHECK(name, rc == 0 && why[0] == '\0');
			(void)snprintf(name, sizeof(name), "%s/%s: cluster",
			    versions[v], tab[i].file);
			CHECK_STR(name, kc.cluster, "rescue-test");
			(void)snprintf(name, sizeof(name), "%s/%s: user",
			    versions[v], tab[i].file);
			CHECK_STR(name, kc.user, tab[i].user);
			(void)snprintf(name, sizeof(name), "%s/%s: server",
			    versions[v], tab[i].file);
			CHECK_STR(name, kc.server, tab[i].server);
			(void)snprintf(name, sizeof(name),
			    "%s/%s: CA data is pki/ca.crt, byte for byte",
			    versions[v], tab[i].file);
			CHECK(name, starts(&kc.ca_data,
			    "-----BEGIN CERTIFICATE-----") &&
			    ca.data != NULL && kc.ca_data.len == ca.len &&
			    memcmp(kc.ca_data.data, ca.data, ca.len) == 0);
			(void)snprintf(name, sizeof(name),
			    "%s/%s: embedded client cert", versions[v],
			    tab[i].file);
			CHECK(name, starts(&kc.cert_data,
			    "-----BEGIN CERTIFICATE-----") &&
			    kc.cert_data.data[kc.cert_data.len] == '\0');
			(void)snprintf(name, sizeof(name),
			    "%s/%s: embedded PKCS#1 key", versions[v],
			    tab[i].file);
			CHECK(name, starts(&kc.key_data,
			    "-----BEGIN RSA PRIVATE KEY-----"));
			(void)snprintf(name, sizeof(name),
			    "%s/%s: no file references", versions[v],
			    tab[i].file);
			CHECK(name, kc.ca_file == NULL && kc.cert_file == NULL &&
			    kc.key_file == NULL);
			kubeconfig_free(&kc);
			(void)snprintf(name, sizeof(name),
			    "%s/%s: kubeconfig_free clears", versions[v],
			    tab[i].file);
			CHECK(name, kc.cluster == NULL &&
			    kc.key_data.data == NULL && kc.key_data.len == 0);
		}
	}
	buf_free(&b);
	buf_free(&ca);
}

/* What kubeadm's kubelet-finalize phase leaves: the rotated cert by path. */
static const char finalize_conf[] =
"apiVersion: v1\n"
"clusters:\n"
"- cluster:\n"
"    certificate-authority: /etc/kubernetes/pki/ca.crt\n"
"    server: https://cp.example.test:6443\n"
"  name: rescue-test\n"
"contexts:\n"
"- context:\n"
"    cluster: rescue-test\n"
"    user: system:node:cp-1\n"
"  name: system:node:cp-1@rescue-test\n"
"current-context: system:node:cp-1@rescue-test\n"
"kind: Config\n"
"preferences: {}\n"
"users:\n"
"- name: system:node:cp-1\n"
"  user:\n"
"    client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem\n"
"    client-key: /var/lib/kubelet/pki/kubelet-client-current.pem\n";

/* Several contexts, clusters and users: only the current one counts. */
static const char multi_conf[] =
"apiVersion: v1\n"
"kind: Config\n"
"clusters:\n"
"- name: old\n"
"  cluster:\n"
"    server: https://old.example.test:6443\n"
"    certificate-authority-data: Zm9v\n"
"- name: new\n"
"  cluster:\n"
"    server: https://new.example.test:6443\n"
"    certificate-authority-data: YmFy\n"
"users:\n"
"- name: alice\n"
"  user:\n"
"    client-certificate-data: YWxpY2U=\n"
"    client-key-data: a2V5LWE=\n"
"- name: bob\n"
"  user:\n"
"    client-certificate-data: Ym9i\n"
"    client-key-data: a2V5LWI=\n"
"contexts:\n"
"- name: a@old\n"
"  context: {cluster: old, user: alice}\n"
"- name: b@new\n"
"  context: {cluster: new, user: bob}\n"
"current-context: b@new\n";

static void
test_other_kubeconfigs(void)
{
	struct kubeconfig	 kc;
	struct buf		 b = { NULL, 0 };
	char			 why[256];
	int			 rc;

	str_buf(finalize_conf, &b);
	rc = kubeconfig_parse(&b, &kc, why, sizeof(why));
	CHECK("kubelet-finalize kubeconfig parses", rc == 0);
	CHECK_STR("kubelet-finalize: client-certificate path", kc.cert_file,
	    "/var/lib/kubelet/pki/kubelet-client-current.pem");
	CHECK_STR("kubelet-finalize: client-key path", kc.key_file,
	    "/var/lib/kubelet/pki/kubelet-client-current.pem");
	CHECK_STR("kubelet-finalize: certificate-authority path", kc.ca_file,
	    "/etc/kubernetes/pki/ca.crt");
	CHECK("kubelet-finalize: nothing embedded", kc.cert_data.len == 0 &&
	    kc.key_data.len == 0 && kc.ca_data.len == 0);
	CHECK_STR("kubelet-finalize: user", kc.user, "system:node:cp-1");
	kubeconfig_free(&kc);

	str_buf(multi_conf, &b);
	rc = kubeconfig_parse(&b, &kc, why, sizeof(why));
	CHECK("multi-context kubeconfig parses", rc == 0);
	CHECK_STR("multi-context: current cluster", kc.cluster, "new");
	CHECK_STR("multi-context: current user", kc.user, "bob");
	CHECK_STR("multi-context: the current cluster's server", kc.server,
	    "https://new.example.test:6443");
	CHECK("multi-context: the current cluster's CA", kc.ca_data.len == 3 &&
	    memcmp(kc.ca_data.data, "bar", 3) == 0);
	CHECK("multi-context: the current user's cert and key",
	    kc.cert_data.len == 3 && memcmp(kc.cert_data.data, "bob", 3) == 0 &&
	    kc.key_data.len == 5 && memcmp(kc.key_data.data, "key-b", 5) == 0);
	kubeconfig_free(&kc);
	buf_free(&b);
}

static void
test_bad_kubeconfigs(void)
{
	static const struct {
		const char	*name, *doc, *why;
	} tab[] = {
		{ "not YAML", "{{{: [\n  - ]]]\n", "YAML" },
		{ "binary junk", "\x01\x02\xff\xfe\x80", NULL },
		{ "empty", "", NULL },
		{ "a bare scalar", "hello\n", NULL },
		{ "a sequence", "- a\n- b\n", NULL },
		{ "two documents", "current-context: x\n---\nkind: Config\n",
		    NULL },
		{ "current-context names no context",
		    "current-context: nope\n"
		    "contexts:\n- name: yes\n  context: {cluster: c, user: u}\n"
		    "clusters:\n- name: c\n  cluster: {server: s}\n"
		    "users:\n- name: u\n  user: {}\n", "nope" },
		{ "context names a missing user",
		    "current-context: x\n"
		    "contexts:\n- name: x\n  context: {cluster: c, user: ghost}\n"
		    "clusters:\n- name: c\n  cluster: {server: s}\n"
		    "users:\n- name: u\n  user: {}\n", "ghost" },
		{ "context without a cluster",
		    "current-context: x\n"
		    "contexts:\n- name: x\n  context: {user: u}\n"
		    "users:\n- name: u\n  user: {}\n", NULL },
		{ "bad base64 in client-key-data",
		    "current-context: x\n"
		    "contexts:\n- name: x\n  context: {cluster: c, user: u}\n"
		    "clusters:\n- name: c\n  cluster: {server: s}\n"
		    "users:\n- name: u\n  user:\n"
		    "    client-certificate-data: Zm9v\n"
		    "    client-key-data: \"!!not base64!!\"\n",
		    "client-key-data" },
		{ "bad base64 in certificate-authority-data",
		    "current-context: x\n"
		    "contexts:\n- name: x\n  context: {cluster: c, user: u}\n"
		    "clusters:\n- name: c\n  cluster:\n"
		    "    server: s\n    certificate-authority-data: Zm9\n"
		    "users:\n- name: u\n  user: {}\n",
		    "certificate-authority-data" },
		{ "client-certificate-data is a mapping",
		    "current-context: x\n"
		    "contexts:\n- name: x\n  context: {cluster: c, user: u}\n"
		    "clusters:\n- name: c\n  cluster: {server: s}\n"
		    "users:\n- name: u\n  user:\n"
		    "    client-certificate-data: {a: b}\n",
		    "client-certificate-data" },
	};
	struct kubeconfig	 kc;
	struct buf		 b = { NULL, 0 };
	char			 why[256], name[256];
	size_t			 i;
	int			 rc;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		str_buf(tab[i].doc, &b);
		why[0] = '\0';
		rc = kubeconfig_parse(&b, &kc, why, sizeof(why));
		(void)snprintf(name, sizeof(name),
		    "kubeconfig_parse refuses: %s", tab[i].name);
		CHECK(name, rc == -1 && why[0] != '\0' &&
		    (tab[i].why == NULL || strstr(why, tab[i].why) != NULL));
		(void)snprintf(name, sizeof(name),
		    "kubeconfig_parse leaves nothing behind: %s", tab[i].name);
		CHECK(name, kc.cluster == NULL && kc.user == NULL &&
		    kc.server == NULL && kc.cert_data.data == NULL &&
		    kc.key_data.data == NULL);
	}
	buf_free(&b);
}

static void
test_fixture_kubeadm_configs(void)
{
	static const char *api[] = { "kubeadm.k8s.io/v1beta3",
	    "kubeadm.k8s.io/v1beta2" };
	static const char *k8s[] = { "v1.28.4", "v1.20.2" };
	struct kubeadm_config	 c;
	struct buf		 b = { NULL, 0 };
	char			 path[256], name[256], why[256];
	size_t			 v;
	int			 rc;

	for (v = 0; v < 2; v++) {
		(void)snprintf(path, sizeof(path), FIX "/%s/kubeadm-config.yaml",
		    versions[v]);
		if (unit_slurp(path, &b) == -1)
			buf_free(&b);
		rc = kubeadm_config_parse(&b, &c, why, sizeof(why));
#define KC(what, cond) do {						\
	(void)snprintf(name, sizeof(name), "%s kubeadm-config: %s",	\
	    versions[v], what);						\
	CHECK(name, cond);						\
} while (0)
		KC("parses", rc == 0 && c.found);
		KC("apiVersion", eq(c.api_version, api[v]));
		KC("kubernetesVersion", eq(c.k8s_version, k8s[v]));
		KC("node name", eq(c.node_name, "cp-1"));
		KC("advertise address", eq(c.advertise_address, "192.0.2.10"));
		KC("bindPort", c.bind_port == 6443);
		KC("controlPlaneEndpoint",
		    eq(c.control_plane_endpoint, "cp.example.test:6443"));
		KC("serviceSubnet", eq(c.service_subnet, "10.233.0.0/18"));
		KC("dnsDomain", eq(c.dns_domain, "cluster.local"));
		KC("clusterName", eq(c.cluster_name, "rescue-test"));
		KC("certificatesDir", eq(c.cert_dir, "/etc/kubernetes/pki"));
		KC("certSANs", c.ncert_sans == 2 &&
		    eq(c.cert_sans[0], "cp-1.example.test") &&
		    eq(c.cert_sans[1], "192.0.2.100"));
		KC("stacked etcd", c.external_etcd == 0 &&
		    c.etcd_ca_file == NULL);
		KC("no validity periods, no algorithm", c.cert_validity == 0 &&
		    c.ca_validity == 0 && c.encryption_algorithm == NULL);
#undef KC
		kubeadm_config_free(&c);
		(void)snprintf(name, sizeof(name),
		    "%s kubeadm-config: kubeadm_config_free clears",
		    versions[v]);
		CHECK(name, c.found == 0 &&
		    c.node_name == NULL && c.ncert_sans == 0);
	}
	buf_free(&b);
}

static const char v1beta4_doc[] =
"apiVersion: kubeadm.k8s.io/v1beta4\n"
"kind: InitConfiguration\n"
"localAPIEndpoint:\n"
"  advertiseAddress: 192.0.2.20\n"
"  bindPort: 16443\n"
"nodeRegistration:\n"
"  name: cp-2\n"
"  kubeletExtraArgs:\n"
"  - name: node-ip\n"
"    value: 192.0.2.20\n"
"---\n"
"apiVersion: kubeadm.k8s.io/v1beta4\n"
"kind: ClusterConfiguration\n"
"kubernetesVersion: v1.31.2\n"
"clusterName: v4\n"
"certificateValidityPeriod: 8760h0m0s\n"
"caCertificateValidityPeriod: 87600h0m0s\n"
"encryptionAlgorithm: ECDSA-P256\n"
"certificatesDir: /etc/kubernetes/pki\n"
"etcd:\n"
"  external:\n"
"    endpoints:\n"
"    - https://192.0.2.31:2379\n"
"    caFile: /etc/ssl/etcd/ssl/ca.pem\n"
"    certFile: /etc/ssl/etcd/ssl/node-cp-2.pem\n"
"    keyFile: /etc/ssl/etcd/ssl/node-cp-2-key.pem\n"
"networking:\n"
"  serviceSubnet: \"fd00:10:96::/108,10.96.0.0/12\"\n"
"  dnsDomain: k8s.example\n"
"apiServer:\n"
"  extraArgs:\n"
"  - name: audit-log-maxage\n"
"    value: \"30\"\n"
"  certSANs: [\"*.api.example.test\", \"2001:db8::10\"]\n";

/* The shape Kubespray renders (kubeadm-config.v1beta3.yaml.j2). */
static const char kubespray_doc[] =
"apiVersion: kubeadm.k8s.io/v1beta3\n"
"kind: InitConfiguration\n"
"localAPIEndpoint:\n"
"  advertiseAddress: 192.0.2.11\n"
"  bindPort: 6443\n"
"certificateKey: 0123456789abcdef\n"
"nodeRegistration:\n"
"  name: \"node1\"\n"
"  criSocket: unix:///var/run/containerd/containerd.sock\n"
"  taints:\n"
"  - effect: NoSchedule\n"
"    key: node-role.kubernetes.io/control-plane\n"
"  kubeletExtraArgs:\n"
"    cgroup-driver: systemd\n"
"---\n"
"apiVersion: kubeadm.k8s.io/v1beta3\n"
"kind: ClusterConfiguration\n"
"clusterName: cluster.local\n"
"etcd:\n"
"  external:\n"
"      endpoints:\n"
"      - https://192.0.2.11:2379\n"
"      - https://192.0.2.12:2379\n"
"      caFile: /etc/ssl/etcd/ssl/ca.pem\n"
"      certFile: /etc/ssl/etcd/ssl/node-node1.pem\n"
"      keyFile: /etc/ssl/etcd/ssl/node-node1-key.pem\n"
"dns:\n"
"  imageRepository: registry.k8s.io/coredns\n"
"  imageTag: v1.10.1\n"
"networking:\n"
"  dnsDomain: cluster.local\n"
"  serviceSubnet: \"10.233.0.0/18\"\n"
"  podSubnet: \"10.233.64.0/18\"\n"
"kubernetesVersion: v1.28.6\n"
"controlPlaneEndpoint: 192.0.2.11:6443\n"
"certificatesDir: /etc/kubernetes/ssl\n"
"imageRepository: registry.k8s.io\n"
"apiServer:\n"
"  extraArgs:\n"
"    anonymous-auth: \"True\"\n"
"    authorization-mode: Node,RBAC\n"
"    bind-address: 0.0.0.0\n"
"  extraVolumes:\n"
"  - name: usr-share-ca-certificates\n"
"    hostPath: /usr/share/ca-certificates\n"
"    mountPath: /usr/share/ca-certificates\n"
"    readOnly: true\n"
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
"  timeoutForControlPlane: 5m0s\n"
"controllerManager:\n"
"  extraArgs:\n"
"    node-monitor-grace-period: 40s\n"
"scheduler:\n"
"  extraArgs:\n"
"    bind-address: 0.0.0.0\n"
"---\n"
"apiVersion: kubeproxy.config.k8s.io/v1alpha1\n"
"kind: KubeProxyConfiguration\n"
"bindAddress: 0.0.0.0\n"
"clusterCIDR: 10.233.64.0/18\n"
"mode: ipvs\n"
"---\n"
"apiVersion: kubelet.config.k8s.io/v1beta1\n"
"kind: KubeletConfiguration\n"
"clusterDNS:\n"
"- 169.254.25.10\n"
"clusterDomain: cluster.local\n"
"---\n"
"# a ClusterConfiguration of another API group is not kubeadm's\n"
"apiVersion: example.test/v1\n"
"kind: ClusterConfiguration\n"
"certificatesDir: /wrong\n"
"clusterName: wrong\n";

static const char join_doc[] =
"apiVersion: kubeadm.k8s.io/v1beta3\n"
"kind: JoinConfiguration\n"
"discovery:\n"
"  bootstrapToken:\n"
"    apiServerEndpoint: 192.0.2.11:6443\n"
"    token: abcdef.0123456789abcdef\n"
"    unsafeSkipCAVerification: true\n"
"controlPlane:\n"
"  localAPIEndpoint:\n"
"    advertiseAddress: 192.0.2.13\n"
"    bindPort: 7443\n"
"nodeRegistration:\n"
"  name: node3\n";

static void
test_other_kubeadm_configs(void)
{
	struct kubeadm_config	 c;
	struct buf		 b = { NULL, 0 };
	char			 why[256];
	int			 rc;

	str_buf(v1beta4_doc, &b);
	rc = kubeadm_config_parse(&b, &c, why, sizeof(why));
	CHECK("v1beta4: parses", rc == 0 && c.found);
	CHECK_STR("v1beta4: apiVersion", c.api_version,
	    "kubeadm.k8s.io/v1beta4");
	CHECK("v1beta4: certificateValidityPeriod 8760h0m0s",
	    c.cert_validity == 8760LL * 3600);
	CHECK("v1beta4: caCertificateValidityPeriod 87600h0m0s",
	    c.ca_validity == 87600LL * 3600);
	CHECK_STR("v1beta4: encryptionAlgorithm", c.encryption_algorithm,
	    "ECDSA-P256");
	CHECK("v1beta4: external etcd", c.external_etcd == 1);
	CHECK_STR("v1beta4: etcd caFile", c.etcd_ca_file,
	    "/etc/ssl/etcd/ssl/ca.pem");
	CHECK_STR("v1beta4: etcd certFile", c.etcd_cert_file,
	    "/etc/ssl/etcd/ssl/node-cp-2.pem");
	CHECK_STR("v1beta4: etcd keyFile", c.etcd_key_file,
	    "/etc/ssl/etcd/ssl/node-cp-2-key.pem");
	CHECK_STR("v1beta4: node name", c.node_name, "cp-2");
	CHECK_STR("v1beta4: advertise address", c.advertise_address,
	    "192.0.2.20");
	CHECK("v1beta4: bindPort", c.bind_port == 16443);
	CHECK_STR("v1beta4: dual-stack serviceSubnet", c.service_subnet,
	    "fd00:10:96::/108,10.96.0.0/12");
	CHECK_STR("v1beta4: dnsDomain", c.dns_domain, "k8s.example");
	CHECK("v1beta4: flow-style certSANs", c.ncert_sans == 2 &&
	    eq(c.cert_sans[0], "*.api.example.test") &&
	    eq(c.cert_sans[1], "2001:db8::10"));
	CHECK("v1beta4: no controlPlaneEndpoint",
	    c.control_plane_endpoint == NULL);
	kubeadm_config_free(&c);

	str_buf(kubespray_doc, &b);
	rc = kubeadm_config_parse(&b, &c, why, sizeof(why));
	CHECK("kubespray: parses", rc == 0 && c.found);
	CHECK_STR("kubespray: certificatesDir from kubeadm's document",
	    c.cert_dir, "/etc/kubernetes/ssl");
	CHECK_STR("kubespray: clusterName from kubeadm's document",
	    c.cluster_name, "cluster.local");
	CHECK_STR("kubespray: quoted node name", c.node_name, "node1");
	CHECK_STR("kubespray: advertise address", c.advertise_address,
	    "192.0.2.11");
	CHECK_STR("kubespray: controlPlaneEndpoint", c.control_plane_endpoint,
	    "192.0.2.11:6443");
	CHECK_STR("kubespray: kubernetesVersion", c.k8s_version, "v1.28.6");
	CHECK_STR("kubespray: serviceSubnet", c.service_subnet,
	    "10.233.0.0/18");
	CHECK("kubespray: external etcd with files", c.external_etcd == 1 &&
	    eq(c.etcd_ca_file, "/etc/ssl/etcd/ssl/ca.pem") &&
	    eq(c.etcd_cert_file, "/etc/ssl/etcd/ssl/node-node1.pem") &&
	    eq(c.etcd_key_file, "/etc/ssl/etcd/ssl/node-node1-key.pem"));
	CHECK("kubespray: 10 certSANs in order", c.ncert_sans == 10 &&
	    eq(c.cert_sans[0], "kubernetes") &&
	    eq(c.cert_sans[5], "localhost") &&
	    eq(c.cert_sans[8], "lb-apiserver.kubernetes.local") &&
	    eq(c.cert_sans[9], "192.0.2.11"));
	CHECK("kubespray: no validity fields", c.cert_validity == 0 &&
	    c.ca_validity == 0);
	kubeadm_config_free(&c);

	str_buf(join_doc, &b);
	rc = kubeadm_config_parse(&b, &c, why, sizeof(why));
	CHECK("JoinConfiguration: parses", rc == 0 && c.found);
	CHECK_STR("JoinConfiguration: node name", c.node_name, "node3");
	CHECK_STR("JoinConfiguration: controlPlane advertise address",
	    c.advertise_address, "192.0.2.13");
	CHECK("JoinConfiguration: controlPlane bindPort", c.bind_port == 7443);
	CHECK("JoinConfiguration: no cluster part", c.api_version == NULL &&
	    c.cert_dir == NULL);
	kubeadm_config_free(&c);
	buf_free(&b);
}

static void
test_bad_kubeadm_configs(void)
{
	static const struct {
		const char	*name, *doc, *why;
	} tab[] = {
		{ "no kubeadm kinds",
		    "apiVersion: kubelet.config.k8s.io/v1beta1\n"
		    "kind: KubeletConfiguration\n---\n"
		    "apiVersion: kubeproxy.config.k8s.io/v1alpha1\n"
		    "kind: KubeProxyConfiguration\n", "kubeadm" },
		{ "a kubeadm kind of another group",
		    "apiVersion: v1\nkind: ClusterConfiguration\n", NULL },
		{ "a kubeadm group with an unknown kind",
		    "apiVersion: kubeadm.k8s.io/v1beta3\n"
		    "kind: UpgradeConfiguration\n", NULL },
		{ "empty", "", NULL },
		{ "not YAML", "kind: [unclosed\n", "YAML" },
		{ "bad certificateValidityPeriod",
		    "apiVersion: kubeadm.k8s.io/v1beta4\n"
		    "kind: ClusterConfiguration\n"
		    "certificateValidityPeriod: one year\n",
		    "certificateValidityPeriod" },
		{ "negative caCertificateValidityPeriod",
		    "apiVersion: kubeadm.k8s.io/v1beta4\n"
		    "kind: ClusterConfiguration\n"
		    "caCertificateValidityPeriod: -87600h\n",
		    "caCertificateValidityPeriod" },
		{ "17 documents",
		    "a: 1\n---\na: 1\n---\na: 1\n---\na: 1\n---\na: 1\n---\n"
		    "a: 1\n---\na: 1\n---\na: 1\n---\na: 1\n---\na: 1\n---\n"
		    "a: 1\n---\na: 1\n---\na: 1\n---\na: 1\n---\na: 1\n---\n"
		    "a: 1\n---\n"
		    "apiVersion: kubeadm.k8s.io/v1beta3\n"
		    "kind: ClusterConfiguration\n", NULL },
	};
	struct kubeadm_config	 c;
	struct buf		 b = { NULL, 0 };
	char			 why[256], name[256];
	size_t			 i;
	int			 rc;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		str_buf(tab[i].doc, &b);
		why[0] = '\0';
		rc = kubeadm_config_parse(&b, &c, why, sizeof(why));
		(void)snprintf(name, sizeof(name),
		    "kubeadm_config_parse refuses: %s", tab[i].name);
		CHECK(name, rc == -1 && why[0] != '\0' &&
		    (tab[i].why == NULL || strstr(why, tab[i].why) != NULL));
		(void)snprintf(name, sizeof(name),
		    "kubeadm_config_parse leaves nothing behind: %s",
		    tab[i].name);
		CHECK(name, c.found == 0 && c.api_version == NULL &&
		    c.ncert_sans == 0);
	}
	buf_free(&b);
}

int
main(void)
{
	test_fixture_kubeconfigs();
	test_other_kubeconfigs();
	test_bad_kubeconfigs();
	test_fixture_kubeadm_configs();
	test_other_kubeadm_configs();
	test_bad_kubeadm_configs();
	UNIT_DONE();
}
