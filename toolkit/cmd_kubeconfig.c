/*
 * krescue kubeconfig: mint a client kubeconfig signed by the cluster CA,
 * offline, like `kubeadm kubeconfig user`.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "extern.h"
#include "pki.h"

#define BACKDATE	(5 * 60)

static void
kubeconfig_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: krescue kubeconfig --user NAME [--group GROUP]... "
	    "[--server URL]\n"
	    "                          [--cluster-name NAME] [--validity "
	    "DURATION]\n"
	    "                          [--key-type TYPE] [--root DIR] "
	    "[--ca-from DIR]\n"
	    "                          [-o FILE]\n"
	    "\n"
	    "Writes a kubeconfig for a client certificate CN=NAME, O=GROUP... "
	    "signed by the\ncluster CA (the node's ca.crt/ca.key, or DIR/ca.crt "
	    "and DIR/ca.key), to\nstandard output or to a new file (0600). "
	    "Defaults come from the node:\nadmin.conf's server and cluster "
	    "name, the kubeadm config's key type and\nvalidity (else RSA-2048, "
	    "8760h).\n"
	    "\n  --key-type TYPE   RSA-2048, RSA-3072, RSA-4096, ECDSA-P256, "
	    "ECDSA-P384\n"
	    "\nexit status: 0 written, 1 refused, 100 usage, 111 I/O error\n");
}

/*
 * Write a secret file the operator asked for: new, 0600, no links.
 * -2 when the file exists (a refusal), -1 on I/O errors.
 */
static int
write_new_secret(const char *path, const struct buf *b)
{
	size_t	 off = 0;
	ssize_t	 n;
	int	 fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1 && errno == EEXIST) {
		warnx("refusing: %s exists; krescue does not overwrite a "
		    "kubeconfig", path);
		return -2;
	}
	if (fd == -1) {
		warn("%s", path);
		return -1;
	}
	if (fchmod(fd, 0600) == -1)
		goto fail;
	while (off < b->len) {
		n = write(fd, b->data + off, b->len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		off += (size_t)n;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		warn("%s", path);
		(void)unlink(path);
		return -1;
	}
	return 0;
fail:
	warn("%s", path);
	close(fd);
	(void)unlink(path);
	return -1;
}

/* admin.conf says where the API server is and what the cluster is called. */
static void
defaults_from_admin(const struct root *r, char *server, size_t slen,
    char *cluster, size_t clen)
{
	struct buf		 b = { NULL, 0 };
	struct kubeconfig	 kc;
	char			 why[256];

	if (root_readfile(r, "/etc/kubernetes/admin.conf", &b, NULL) == 0 &&
	    kubeconfig_parse(&b, &kc, why, sizeof(why)) == 0) {
		if (server[0] == '\0' && kc.server != NULL)
			(void)xsnprintf(server, slen, "%s", kc.server);
		if (cluster[0] == '\0' && kc.cluster != NULL)
			(void)xsnprintf(cluster, clen, "%s", kc.cluster);
		kubeconfig_free(&kc);
	}
	buf_free(&b);
}

int
cmd_kubeconfig(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "user", required_argument, NULL, 'u' },
		{ "group", required_argument, NULL, 'g' },
		{ "server", required_argument, NULL, 's' },
		{ "cluster-name", required_argument, NULL, 'C' },
		{ "validity", required_argument, NULL, 'V' },
		{ "key-type", required_argument, NULL, 'k' },
		{ "root", required_argument, NULL, 'r' },
		{ "ca-from", required_argument, NULL, 'f' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct root		 r;
	struct layout		*lo;
	struct ca		 ca;
	struct pki_spec		 spec;
	struct kcgen		 g;
	enum pki_keytype	 kt = PKI_RSA2048;
	struct buf		 crt = { NULL, 0 }, kpem = { NULL, 0 };
	struct buf		 out = { NULL, 0 };
	const char		*user = NULL, *groups[PKI_MAXORG], *file = NULL;
	const char		*rootdir = "/", *from = NULL, *config = NULL;
	const char		*ktype = NULL;
	char			 server[512] = "", cluster[256] = "";
	char			 context[600], why[512];
	int64_t			 validity = 0;
	time_t			 now;
	int			 ch, n, ngroups = 0, rc = KR_FAIL;

	while ((ch = getopt_long(argc, argv, ":ho:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'C':
			if (xsnprintf(cluster, sizeof(cluster), "%s", optarg) == -1)
				usage_error("kubeconfig", "--cluster-name too long");
			break;
		case 'f':
			from = optarg;
			break;
		case 'g':
			if (ngroups == PKI_MAXORG)
				usage_error("kubeconfig", "at most %d groups",
				    PKI_MAXORG);
			groups[ngroups++] = optarg;
			break;
		case 'h':
			kubeconfig_usage(stdout);
			return KR_OK;
		case 'k':
			ktype = optarg;
			break;
		case 'o':
			file = optarg;
			break;
		case 'r':
			rootdir = optarg;
			break;
		case 's':
			if (xsnprintf(server, sizeof(server), "%s", optarg) == -1)
				usage_error("kubeconfig", "--server too long");
			break;
		case 'u':
			user = optarg;
			break;
		case 'V':
			if (parse_duration(optarg, &validity) == -1 ||
			    validity <= BACKDATE)
				usage_error("kubeconfig", "--validity %s: not a "
				    "usable duration", optarg);
			break;
		default:
			bad_option("kubeconfig", ch, argv);
		}
	}
	if (optind != argc)
		usage_error("kubeconfig", "unexpected argument '%s'",
		    argv[optind]);
	if (user == NULL || *user == '\0')
		usage_error("kubeconfig", "--user NAME is required");
	if (ktype != NULL && pki_keytype_parse(ktype, &kt) == -1)
		usage_error("kubeconfig", "--key-type %s: want RSA-2048, "
		    "RSA-3072, RSA-4096, ECDSA-P256 or ECDSA-P384", ktype);

	lo = xcalloc(1, sizeof(*lo));
	ca_init(&ca);
	open_root_or_exit(&r, rootdir);
	if (layout_discover(&r, config, lo) == -1 && from == NULL) {
		warnx("%s", lo->layout_error);
		goto out;
	}
	if (ca_load(&r, lo->cert_dir, from, "ca", &ca, why, sizeof(why)) ==
	    -1) {
		warnx("refusing: %s", why);
		goto out;
	}
	defaults_from_admin(&r, server, sizeof(server), cluster,
	    sizeof(cluster));
	if (server[0] == '\0' &&
	    layout_server_url(&lo->cfg, 0, server, sizeof(server)) == -1)
		usage_error("kubeconfig", "no API server known on this node: "
		    "give --server https://HOST:6443");
	if (cluster[0] == '\0')
		(void)xsnprintf(cluster, sizeof(cluster), "%s",
		    lo->cfg.cluster_name != NULL ? lo->cfg.cluster_name :
		    "kubernetes");
	if (ktype == NULL && lo->cfg.encryption_algorithm != NULL &&
	    pki_keytype_parse(lo->cfg.encryption_algorithm, &kt) == -1) {
		warnx("refusing: encryptionAlgorithm %s in the kubeadm config "
		    "is unknown; give --key-type", lo->cfg.encryption_algorithm);
		goto out;
	}
	if (validity == 0)
		validity = lo->cfg.cert_validity != 0 ? lo->cfg.cert_validity :
		    (int64_t)8760 * 3600;

	now = time(NULL);
	memset(&spec, 0, sizeof(spec));
	memcpy(spec.subject.org, groups, sizeof(groups[0]) * (size_t)ngroups);
	spec.subject.norg = ngroups;
	spec.subject.cn = user;
	spec.client_auth = 1;
	spec.not_before = now - BACKDATE;
	spec.not_after = now + validity;
	if (pki_issue(&spec, kt, &ca.crt, &ca.key, &crt, &kpem, why,
	    sizeof(why)) == -1) {
		warnx("cannot sign: %s", why);
		rc = KR_IO;
		goto out;
	}
	if (xsnprintf(context, sizeof(context), "%s@%s", user, cluster) == -1)
		goto out;
	memset(&g, 0, sizeof(g));
	g.cluster = cluster;
	g.server = server;
	g.user = user;
	g.context = context;
	g.ca_pem = &ca.pem;
	g.cert_pem = &crt;
	g.key_pem = &kpem;
	if (kubeconfig_generate(&g, &out) == -1)
		goto out;
	if (file != NULL) {
		if ((n = write_new_secret(file, &out)) < 0) {
			rc = n == -2 ? KR_FAIL : KR_IO;
			goto out;
		}
		fprintf(stderr, "krescue: wrote %s (0600) for %s, server %s\n",
		    file, user, server);
	} else if (fwrite(out.data, 1, out.len, stdout) != out.len ||
	    fflush(stdout) == EOF) {
		warn("stdout");
		rc = KR_IO;
		goto out;
	}
	rc = KR_OK;
out:
	buf_free(&out);
	buf_free(&crt);
	buf_free(&kpem);
	ca_free(&ca);
	layout_free(lo);
	free(lo);
	pki_rng_free();
	return rc;
}
