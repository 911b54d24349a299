/*
 * krescue kubelet: a new kubelet client certificate and kubelet.conf for
 * any node, control plane or worker, offline, in the layout kubeadm's
 * kubelet-finalize leaves: /var/lib/kubelet/pki/kubelet-client-<time>.pem
 * (certificate + ECDSA P-256 key, like the kubelet's own), the symlink
 * kubelet-client-current.pem, and kubelet.conf pointing at it.
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

#define BACKDATE	(5 * 60)
#define KUBELET_CONF	"/etc/kubernetes/kubelet.conf"
#define KUBELET_PKI	"/var/lib/kubelet/pki"
#define KUBELET_CURRENT	KUBELET_PKI "/kubelet-client-current.pem"

static void
kubelet_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: krescue kubelet --node NAME [--server URL] [--root DIR]\n"
	    "                       [--ca-from DIR] [--validity DURATION] "
	    "[--dry-run]\n"
	    "\n"
	    "Mints the kubelet's client certificate (CN=system:node:NAME, "
	    "O=system:nodes)\nsigned by the cluster CA and writes it in "
	    "kubelet-finalize layout:\n" KUBELET_PKI "/kubelet-client-<time>.pem,"
	    " the kubelet-client-current.pem\nsymlink, and " KUBELET_CONF
	    " pointing at it. On a worker, give a control\nplane's CA with "
	    "--ca-from DIR (DIR/ca.crt and DIR/ca.key, on this machine).\n"
	    "\nexit status: 0 written, 1 refused (nothing changed), 100 usage, "
	    "111 I/O error\n");
}

/* What kubelet.conf should say: keep what the node has, else kubeadm's. */
struct kubelet_names {
	char	 server[512];
	char	 cluster[256];
	char	 user[300];
	char	 context[600];
	int	 finalized;	/* already points at kubelet-client-current */
};

static void
read_names(const struct root *r, const struct kubeadm_config *cfg,
    const char *node, struct kubelet_names *kn)
{
	struct buf		 b = { NULL, 0 };
	struct kubeconfig	 kc;
	char			 why[256];

	if (root_readfile(r, KUBELET_CONF, &b, NULL) == 0 &&
	    kubeconfig_parse(&b, &kc, why, sizeof(why)) == 0) {
		if (kn->server[0] == '\0' && kc.server != NULL)
			(void)xsnprintf(kn->server, sizeof(kn->server), "%s",
			    kc.server);
		(void)xsnprintf(kn->cluster, sizeof(kn->cluster), "%s",
		    kc.cluster);
		(void)xsnprintf(kn->user, sizeof(kn->user), "%s", kc.user);
		kn->finalized = kc.cert_file != NULL &&
		    strcmp(kc.cert_file, KUBELET_CURRENT) == 0;
		kubeconfig_free(&kc);
	}
	buf_free(&b);
	if (kn->cluster[0] == '\0')
		(void)xsnprintf(kn->cluster, sizeof(kn->cluster), "%s",
		    cfg->cluster_name != NULL ? cfg->cluster_name : "kubernetes");
	if (kn->user[0] == '\0')
		(void)xsnprintf(kn->user, sizeof(kn->user), "system:node:%s",
		    node);
	(void)xsnprintf(kn->context, sizeof(kn->context), "%s@%s", kn->user,
	    kn->cluster);
	if (kn->server[0] == '\0')
		(void)layout_server_url(cfg, 0, kn->server, sizeof(kn->server));
}

int
cmd_kubelet(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "node", required_argument, NULL, 'n' },
		{ "server", required_argument, NULL, 's' },
		{ "root", required_argument, NULL, 'r' },
		{ "ca-from", required_argument, NULL, 'f' },
		{ "validity", required_argument, NULL, 'V' },
		{ "config", required_argument, NULL, 'c' },
		{ "dry-run", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct root		 r;
	struct layout		*lo;
	struct kubelet_names	 kn;
	struct ca		 ca;
	struct pki_spec		 spec;
	struct kcgen		 g;
	struct txn		*tx = NULL;
	struct buf		 crt = { NULL, 0 }, kpem = { NULL, 0 };
	struct buf		 pem = { NULL, 0 }, conf = { NULL, 0 };
	const char		*node = NULL, *rootdir = "/", *from = NULL;
	const char		*config = NULL;
	char			 cn[300], file[PATH_MAX], stamp[32], why[512];
	char			 backup[PATH_MAX], date[64];
	struct tm		 tm;
	int64_t			 validity = 0;
	time_t			 now;
	int			 ch, dry_run = 0, rc = KR_FAIL;

	memset(&kn, 0, sizeof(kn));
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'd':
			dry_run = 1;
			break;
		case 'f':
			from = optarg;
			break;
		case 'h':
			kubelet_usage(stdout);
			return KR_OK;
		case 'n':
			node = optarg;
			break;
		case 'r':
			rootdir = optarg;
			break;
		case 's':
			if (xsnprintf(kn.server, sizeof(kn.server), "%s",
			    optarg) == -1)
				usage_error("kubelet", "--server too long");
			break;
		case 'V':
			if (parse_duration(optarg, &validity) == -1 ||
			    validity <= BACKDATE)
				usage_error("kubelet", "--validity %s: not a "
				    "usable duration", optarg);
			break;
		default:
			bad_option("kubelet", ch, argv);
		}
	}
	if (optind != argc)
		usage_error("kubelet", "unexpected argument '%s'", argv[optind]);
	if (node == NULL)
		usage_error("kubelet", "--node NAME is required");
	if (!valid_node_name(node))
		usage_error("kubelet", "--node %s: not a node name (lower-case "
		    "letters, digits, '-' and '.')", node);

	lo = xcalloc(1, sizeof(*lo));
	ca_init(&ca);
	open_root_or_exit(&r, rootdir);
	(void)layout_discover(&r, config, lo);
	if (ca_load(&r, lo->cert_dir[0] != '\0' ? lo->cert_dir :
	    "/etc/kubernetes/pki", from, "ca", &ca, why, sizeof(why)) == -1) {
		warnx("refusing: %s; nothing changed", why);
		goto out;
	}
	read_names(&r, &lo->cfg, node, &kn);
	if (kn.server[0] == '\0')
		usage_error("kubelet", "no API server known on this node: give "
		    "--server https://HOST:6443");
	if (!root_exists(&r, KUBELET_PKI)) {
		warnx("refusing: %s does not exist under %s (is this a "
		    "node's disk?)", KUBELET_PKI, rootdir);
		goto out;
	}
	if (validity == 0)
		validity = lo->cfg.cert_validity != 0 ? lo->cfg.cert_validity :
		    (int64_t)8760 * 3600;

	now = time(NULL);
	if (xsnprintf(cn, sizeof(cn), "system:node:%s", node) == -1 ||
	    gmtime_r(&now, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y-%m-%d-%H-%M-%S", &tm) == 0 ||
	    xsnprintf(file, sizeof(file), "%s/kubelet-client-%s.pem",
	    KUBELET_PKI, stamp) == -1)
		goto out;
	memset(&spec, 0, sizeof(spec));
	spec.subject.org[0] = "system:nodes";
	spec.subject.norg = 1;
	spec.subject.cn = cn;
	spec.client_auth = 1;
	spec.not_before = now - BACKDATE;
	spec.not_after = now + validity;
	if (pki_issue(&spec, PKI_EC256, &ca.crt, &ca.key, &crt, &kpem, why,
	    sizeof(why)) == -1) {
		warnx("cannot sign: %s", why);
		rc = KR_IO;
		goto out;
	}
	pem.len = crt.len + kpem.len;
	pem.data = xmalloc(pem.len + 1);
	memcpy(pem.data, crt.data, crt.len);
	memcpy(pem.data + crt.len, kpem.data, kpem.len);
	pem.data[pem.len] = '\0';

	memset(&g, 0, sizeof(g));
	g.cluster = kn.cluster;
	g.server = kn.server;
	g.user = kn.user;
	g.context = kn.context;
	g.ca_pem = &ca.pem;
	g.client_file = KUBELET_CURRENT;
	if (kubeconfig_generate(&g, &conf) == -1)
		goto out;

	fmt_kubeadm_date(spec.not_after, date, sizeof(date));
	printf("%s: %s for %s, signed by %s, expires %s\n", dry_run ?
	    "dry run: would write" : "writing", file, cn, ca.path, date);
	printf("  %s -> %s\n  %s (server %s, user %s)\n", KUBELET_CURRENT,
	    file, KUBELET_CONF, kn.server, kn.user);
	if (dry_run) {
		rc = KR_OK;
		goto out;
	}
	if ((tx = txn_begin(&r, KRESCUE_VERSION, now)) == NULL) {
		rc = errno == EWOULDBLOCK ? KR_FAIL : KR_IO;
		goto out;
	}
	if (txn_put_file(tx, file, &pem, 0600, 1) == -1 ||
	    txn_put_symlink(tx, KUBELET_CURRENT, file) == -1 ||
	    txn_put_file(tx, KUBELET_CONF, &conf, 0600, 1) == -1)
		goto out;
	if (txn_check(tx, why, sizeof(why)) == -1) {
		warnx("refusing to write: %s; nothing changed", why);
		goto out;
	}
	if (txn_commit(tx, backup, sizeof(backup)) == -1) {
		rc = KR_IO;
		goto out;
	}
	printf("done; backup in %s\nNext: restart the kubelet "
	    "(systemctl restart kubelet) on %s.\n", backup, node);
	rc = KR_OK;
out:
	if (tx != NULL)
		txn_free(tx);
	buf_free(&pem);
	buf_free(&conf);
	buf_free(&crt);
	buf_free(&kpem);
	ca_free(&ca);
	layout_free(lo);
	free(lo);
	pki_rng_free();
	return rc;
}
