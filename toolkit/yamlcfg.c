/*
 * yamlcfg.c: readers for the two YAML files krescue trusts for structure:
 * kubeconfigs and the kubeadm config (v1beta2, v1beta3, v1beta4).  Both
 * are loaded into libyaml's document tree and looked up by key; nothing
 * here writes files.
 */
#include <sys/types.h>

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "extern.h"

#define YAML_MAXDOCS	16

struct ydocs {
	yaml_document_t	 doc[YAML_MAXDOCS];
	int		 n;
};

/*
 * Kubeconfigs hold private keys (client-key-data): every scalar is wiped
 * before libyaml frees it.  XXX copies libyaml's scanner made while it
 * grew its own buffers are out of reach (it has no allocator hook).
 */
static void
ydocs_free(struct ydocs *d)
{
	yaml_node_t	*n;
	int		 i;

	for (i = 0; i < d->n; i++) {
		for (n = d->doc[i].nodes.start; n != NULL &&
		    n < d->doc[i].nodes.top; n++)
			if (n->type == YAML_SCALAR_NODE)
				wipe(n->data.scalar.value,
				    n->data.scalar.length);
		yaml_document_delete(&d->doc[i]);
	}
	d->n = 0;
}

static void
parser_wipe_delete(yaml_parser_t *p)
{
	if (p->raw_buffer.start != NULL)
		wipe(p->raw_buffer.start,
		    (size_t)(p->raw_buffer.end - p->raw_buffer.start));
	if (p->buffer.start != NULL)
		wipe(p->buffer.start,
		    (size_t)(p->buffer.end - p->buffer.start));
	yaml_parser_delete(p);
}

static int
ydocs_load(const struct buf *b, struct ydocs *d, char *why, size_t whylen)
{
	yaml_parser_t	 parser;
	yaml_node_t	*root;
	int		 rc = -1;

	d->n = 0;
	if (!yaml_parser_initialize(&parser)) {
		(void)xsnprintf(why, whylen, "cannot start the YAML parser");
		return -1;
	}
	yaml_parser_set_input_string(&parser, b->data, b->len);
	for (;;) {
		if (d->n == YAML_MAXDOCS) {
			(void)xsnprintf(why, whylen, "more than %d YAML documents",
			    YAML_MAXDOCS);
			goto out;
		}
		if (!yaml_parser_load(&parser, &d->doc[d->n])) {
			(void)xsnprintf(why, whylen, "YAML error at line %zu: %s",
			    parser.problem_mark.line + 1,
			    parser.problem != NULL ? parser.problem : "?");
			goto out;
		}
		root = yaml_document_get_root_node(&d->doc[d->n]);
		if (root == NULL) {
			yaml_document_delete(&d->doc[d->n]);
			break;
		}
		d->n++;
	}
	rc = 0;
out:
	parser_wipe_delete(&parser);
	if (rc == -1)
		ydocs_free(d);
	return rc;
}

/* Is n the scalar s, byte for byte? */
static int
scalar_is(const yaml_node_t *n, const char *s)
{
	return n != NULL && n->type == YAML_SCALAR_NODE &&
	    n->data.scalar.length == strlen(s) &&
	    memcmp(n->data.scalar.value, s, strlen(s)) == 0;
}

/* Value node of `key` in the mapping `map`, or NULL. */
static yaml_node_t *
yget(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t	*p;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; p++) {
		if (scalar_is(yaml_document_get_node(doc, p->key), key))
			return yaml_document_get_node(doc, p->value);
	}
	return NULL;
}

/* Follow a dotted path of mapping keys: "localAPIEndpoint.advertiseAddress". */
static yaml_node_t *
ypath(yaml_document_t *doc, yaml_node_t *n, const char *path)
{
	char	 key[128];
	size_t	 len;

	while (n != NULL && *path != '\0') {
		len = strcspn(path, ".");
		if (len >= sizeof(key))
			return NULL;
		memcpy(key, path, len);
		key[len] = '\0';
		n = yget(doc, n, key);
		path += len;
		if (*path == '.')
			path++;
	}
	return n;
}

/* A fresh copy of a scalar's text, or NULL when it is not a scalar. */
static char *
ystr(yaml_node_t *n)
{
	char	*s;

	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return NULL;
	s = xmalloc(n->data.scalar.length + 1);
	memcpy(s, n->data.scalar.value, n->data.scalar.length);
	s[n->data.scalar.length] = '\0';
	return s;
}

/* The entry of a named list (clusters, users, contexts) called `name`. */
static yaml_node_t *
ynamed(yaml_document_t *doc, yaml_node_t *seq, const char *name,
    const char *inner)
{
	yaml_node_item_t	*it;
	yaml_node_t		*e, *nm;

	if (seq == NULL || seq->type != YAML_SEQUENCE_NODE)
		return NULL;
	for (it = seq->data.sequence.items.start;
	    it < seq->data.sequence.items.top; it++) {
		e = yaml_document_get_node(doc, *it);
		nm = yget(doc, e, "name");
		if (nm == NULL || nm->type != YAML_SCALAR_NODE)
			continue;
		if (name == NULL || scalar_is(nm, name))
			return yget(doc, e, inner);
	}
	return NULL;
}

static int
ydata(yaml_node_t *n, struct buf *out, const char *field, char *why,
    size_t whylen)
{
	if (n == NULL)
		return 0;
	if (n->type != YAML_SCALAR_NODE ||
	    b64_decode((const char *)n->data.scalar.value,
	    n->data.scalar.length, out) == -1) {
		(void)xsnprintf(why, whylen, "%s is not valid base64", field);
		return -1;
	}
	return 0;
}

/*
 * Read the current context of a kubeconfig: its cluster (server, CA) and
 * user (client cert and key, embedded or as file references).
 */
int
kubeconfig_parse(const struct buf *b, struct kubeconfig *kc, char *why,
    size_t whylen)
{
	struct ydocs	 d;
	yaml_document_t	*doc;
	yaml_node_t	*root, *ctx, *cl, *us;
	char		*cur = NULL;
	int		 rc = -1;

	memset(kc, 0, sizeof(*kc));
	if (ydocs_load(b, &d, why, whylen) == -1)
		return -1;
	if (d.n != 1) {
		(void)xsnprintf(why, whylen, "not a kubeconfig (%d documents)",
		    d.n);
		goto out;
	}
	doc = &d.doc[0];
	root = yaml_document_get_root_node(doc);
	if (root->type != YAML_MAPPING_NODE) {
		(void)xsnprintf(why, whylen, "not a kubeconfig");
		goto out;
	}
	cur = ystr(yget(doc, root, "current-context"));
	ctx = ynamed(doc, yget(doc, root, "contexts"),
	    cur != NULL && *cur != '\0' ? cur : NULL, "context");
	if (ctx == NULL) {
		(void)xsnprintf(why, whylen, "kubeconfig has no context %s",
		    cur != NULL ? cur : "");
		goto out;
	}
	kc->cluster = ystr(yget(doc, ctx, "cluster"));
	kc->user = ystr(yget(doc, ctx, "user"));
	if (kc->cluster == NULL || kc->user == NULL) {
		(void)xsnprintf(why, whylen,
		    "kubeconfig context lacks a cluster or a user");
		goto out;
	}
	cl = ynamed(doc, yget(doc, root, "clusters"), kc->cluster, "cluster");
	us = ynamed(doc, yget(doc, root, "users"), kc->user, "user");
	if (cl == NULL || us == NULL) {
		(void)xsnprintf(why, whylen, "kubeconfig lacks cluster %s or "
		    "user %s", kc->cluster, kc->user);
		goto out;
	}
	kc->server = ystr(yget(doc, cl, "server"));
	kc->ca_file = ystr(yget(doc, cl, "certificate-authority"));
	kc->cert_file = ystr(yget(doc, us, "client-certificate"));
	kc->key_file = ystr(yget(doc, us, "client-key"));
	if (ydata(yget(doc, cl, "certificate-authority-data"), &kc->ca_data,
	    "certificate-authority-data", why, whylen) == -1 ||
	    ydata(yget(doc, us, "client-certificate-data"), &kc->cert_data,
	    "client-certificate-data", why, whylen) == -1 ||
	    ydata(yget(doc, us, "client-key-data"), &kc->key_data,
	    "client-key-data", why, whylen) == -1)
		goto out;
	rc = 0;
out:
	free(cur);
	ydocs_free(&d);
	if (rc == -1)
		kubeconfig_free(kc);
	return rc;
}

void
kubeconfig_free(struct kubeconfig *kc)
{
	free(kc->cluster);
	free(kc->user);
	free(kc->server);
	free(kc->ca_file);
	free(kc->cert_file);
	free(kc->key_file);
	buf_free(&kc->ca_data);
	buf_free(&kc->cert_data);
	buf_free(&kc->key_data);
	memset(kc, 0, sizeof(*kc));
}

static int
is_kind(yaml_document_t *doc, yaml_node_t *root, const char *kind)
{
	char	*k, *v;
	int	 yes;

	k = ystr(yget(doc, root, "kind"));
	v = ystr(yget(doc, root, "apiVersion"));
	yes = k != NULL && v != NULL && strcmp(k, kind) == 0 &&
	    strncmp(v, "kubeadm.k8s.io/", 15) == 0;
	free(k);
	free(v);
	return yes;
}

static void
set_str(char **dst, char *val)
{
	if (val == NULL)
		return;
	free(*dst);
	*dst = val;
}

static int
set_duration(int64_t *dst, yaml_node_t *n, const char *field, char *why,
    size_t whylen)
{
	char	*s;
	int	 rc = 0;

	if ((s = ystr(n)) == NULL)
		return 0;
	if (parse_duration(s, dst) == -1) {
		(void)xsnprintf(why, whylen, "%s: bad duration \"%s\"", field, s);
		rc = -1;
	}
	free(s);
	return rc;
}

static void
read_node_part(yaml_document_t *doc, yaml_node_t *root,
    struct kubeadm_config *c)
{
	char	*port;

	set_str(&c->node_name, ystr(ypath(doc, root, "nodeRegistration.name")));
	set_str(&c->advertise_address, ystr(ypath(doc, root,
	    "localAPIEndpoint.advertiseAddress")));
	set_str(&c->advertise_address, ystr(ypath(doc, root,
	    "controlPlane.localAPIEndpoint.advertiseAddress")));
	port = ystr(ypath(doc, root, "localAPIEndpoint.bindPort"));
	if (port == NULL)
		port = ystr(ypath(doc, root,
		    "controlPlane.localAPIEndpoint.bindPort"));
	if (port != NULL) {
		char *end;
		long v = strtol(port, &end, 10);

		/* out of range or not a number: left for validation to refuse */
		c->bind_port = *end == '\0' && v > 0 && v <= 65535 ? (int)v : -1;
	}
	free(port);
}

/* A list of strings at a dotted path, into out[] (KCFG_MAXSANS at most). */
static int
ylist(yaml_document_t *doc, yaml_node_t *root, const char *path,
    char *out[], int *n, char *why, size_t whylen)
{
	yaml_node_t		*seq;
	yaml_node_item_t	*it;
	char			*s;

	seq = ypath(doc, root, path);
	if (seq == NULL || seq->type != YAML_SEQUENCE_NODE)
		return 0;
	for (it = seq->data.sequence.items.start;
	    it < seq->data.sequence.items.top; it++) {
		if ((s = ystr(yaml_document_get_node(doc, *it))) == NULL)
			continue;
		if (*n == KCFG_MAXSANS) {
			free(s);
			(void)xsnprintf(why, whylen, "more than %d entries in %s",
			    KCFG_MAXSANS, path);
			return -1;
		}
		out[(*n)++] = s;
	}
	return 0;
}

static int
read_cluster_part(yaml_document_t *doc, yaml_node_t *root,
    struct kubeadm_config *c, char *why, size_t whylen)
{
	yaml_node_t		*ext;

	set_str(&c->api_version, ystr(yget(doc, root, "apiVersion")));
	set_str(&c->k8s_version, ystr(yget(doc, root, "kubernetesVersion")));
	set_str(&c->cluster_name, ystr(yget(doc, root, "clusterName")));
	set_str(&c->control_plane_endpoint, ystr(yget(doc, root,
	    "controlPlaneEndpoint")));
	set_str(&c->cert_dir, ystr(yget(doc, root, "certificatesDir")));
	set_str(&c->service_subnet, ystr(ypath(doc, root,
	    "networking.serviceSubnet")));
	set_str(&c->dns_domain, ystr(ypath(doc, root, "networking.dnsDomain")));
	set_str(&c->encryption_algorithm, ystr(yget(doc, root,
	    "encryptionAlgorithm")));
	if (set_duration(&c->cert_validity, yget(doc, root,
	    "certificateValidityPeriod"), "certificateValidityPeriod", why,
	    whylen) == -1 ||
	    set_duration(&c->ca_validity, yget(doc, root,
	    "caCertificateValidityPeriod"), "caCertificateValidityPeriod", why,
	    whylen) == -1)
		return -1;
	if (ylist(doc, root, "apiServer.certSANs", c->cert_sans,
	    &c->ncert_sans, why, whylen) == -1 ||
	    ylist(doc, root, "etcd.local.serverCertSANs", c->etcd_server_sans,
	    &c->netcd_server_sans, why, whylen) == -1 ||
	    ylist(doc, root, "etcd.local.peerCertSANs", c->etcd_peer_sans,
	    &c->netcd_peer_sans, why, whylen) == -1)
		return -1;
	ext = ypath(doc, root, "etcd.external");
	if (ext != NULL && ext->type == YAML_MAPPING_NODE) {
		c->external_etcd = 1;
		set_str(&c->etcd_ca_file, ystr(yget(doc, ext, "caFile")));
		set_str(&c->etcd_cert_file, ystr(yget(doc, ext, "certFile")));
		set_str(&c->etcd_key_file, ystr(yget(doc, ext, "keyFile")));
	}
	return 0;
}

/*
 * The kubeadm config as Kubespray and kubeadm leave it on the node: an
 * InitConfiguration (or JoinConfiguration) and a ClusterConfiguration,
 * among other documents we skip (KubeletConfiguration, …).
 */
int
kubeadm_config_parse(const struct buf *b, struct kubeadm_config *c,
    char *why, size_t whylen)
{
	struct ydocs	 d;
	yaml_document_t	*doc;
	yaml_node_t	*root;
	int		 i, rc = -1, any = 0;

	memset(c, 0, sizeof(*c));
	if (ydocs_load(b, &d, why, whylen) == -1)
		return -1;
	for (i = 0; i < d.n; i++) {
		doc = &d.doc[i];
		root = yaml_document_get_root_node(doc);
		if (is_kind(doc, root, "InitConfiguration") ||
		    is_kind(doc, root, "JoinConfiguration")) {
			read_node_part(doc, root, c);
			any = 1;
		} else if (is_kind(doc, root, "ClusterConfiguration")) {
			if (read_cluster_part(doc, root, c, why, whylen) == -1)
				goto out;
			any = 1;
		}
	}
	if (!any) {
		(void)xsnprintf(why, whylen,
		    "no kubeadm.k8s.io Init/Join/ClusterConfiguration in it");
		goto out;
	}
	c->found = 1;
	rc = 0;
out:
	ydocs_free(&d);
	if (rc == -1)
		kubeadm_config_free(c);
	return rc;
}

void
kubeadm_config_free(struct kubeadm_config *c)
{
	int	 i;

	free(c->api_version);
	free(c->k8s_version);
	free(c->node_name);
	free(c->advertise_address);
	free(c->control_plane_endpoint);
	free(c->service_subnet);
	free(c->dns_domain);
	free(c->cluster_name);
	free(c->cert_dir);
	free(c->encryption_algorithm);
	for (i = 0; i < c->ncert_sans; i++)
		free(c->cert_sans[i]);
	for (i = 0; i < c->netcd_server_sans; i++)
		free(c->etcd_server_sans[i]);
	for (i = 0; i < c->netcd_peer_sans; i++)
		free(c->etcd_peer_sans[i]);
	free(c->etcd_ca_file);
	free(c->etcd_cert_file);
	free(c->etcd_key_file);
	memset(c, 0, sizeof(*c));
}

/*
 * libyaml marks count characters, and not a leading byte-order mark;
 * the splice below needs bytes.
 */
static size_t
char_to_byte(const unsigned char *p, size_t len, size_t chars)
{
	size_t	 i = 0, c = 0;

	if (len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
		i = 3;

	while (i < len && c < chars) {
		i++;
		while (i < len && (p[i] & 0xc0) == 0x80)
			i++;
		c++;
	}
	return i;
}

struct span {
	size_t		 start, end;
	const char	*text;
};

/* How many times `key` appears in the mapping `map`. */
static int
ykeys(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
	yaml_node_pair_t	*p;
	int			 n = 0;

	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return 0;
	for (p = map->data.mapping.pairs.start;
	    p < map->data.mapping.pairs.top; p++) {
		if (scalar_is(yaml_document_get_node(doc, p->key), key))
			n++;
	}
	return n;
}

/* Does the rewritten kubeconfig carry exactly these base64 values? */
static int
kubeconfig_says(const struct buf *b, const char *val[3], char *why,
    size_t whylen)
{
	struct kubeconfig	 kc;
	const struct buf	*got[3];
	struct buf		 want = { NULL, 0 };
	int			 i, rc = -1;

	if (kubeconfig_parse(b, &kc, why, whylen) == -1)
		return -1;
	got[0] = &kc.cert_data;
	got[1] = &kc.key_data;
	got[2] = &kc.ca_data;
	for (i = 0; i < 3; i++) {
		if (val[i] == NULL)
			continue;
		if (b64_decode(val[i], strlen(val[i]), &want) == -1 ||
		    want.len != got[i]->len ||
		    memcmp(want.data, got[i]->data, want.len) != 0) {
			(void)xsnprintf(why, whylen, "the rewritten kubeconfig "
			    "does not read back as written");
			goto out;
		}
	}
	rc = 0;
out:
	buf_free(&want);
	kubeconfig_free(&kc);
	return rc;
}

static int
by_start(const void *a, const void *b)
{
	const struct span *sa = a, *sb = b;

	return sa->start < sb->start ? -1 : sa->start > sb->start;
}

/*
 * Rewrite a kubeconfig in place, textually: only the values of the
 * current context's client-certificate-data and client-key-data (user)
 * and certificate-authority-data (cluster) change; every other byte of
 * the file (order, comments, unknown fields, other users) stays.  A NULL
 * value leaves that field alone; a field to set must already exist.
 * The result may hold a key: the caller frees it with buf_free.
 */
int
kubeconfig_update(const struct buf *in, const char *cert_b64,
    const char *key_b64, const char *ca_b64, struct buf *out, char *why,
    size_t whylen)
{
	static const char	*field[3] = { "client-certificate-data",
	    "client-key-data", "certificate-authority-data" };
	struct ydocs		 d;
	yaml_document_t		*doc;
	yaml_node_t		*root, *ctx, *cl, *us, *v;
	struct span		 sp[3];
	const char		*val[3];
	char			*cur = NULL, *cname = NULL, *uname = NULL;
	unsigned char		*dst;
	size_t			 cap, pos = 0, at = 0;
	int			 i, n = 0, rc = -1;

	val[0] = cert_b64;
	val[1] = key_b64;
	val[2] = ca_b64;
	if (ydocs_load(in, &d, why, whylen) == -1)
		return -1;
	if (d.n != 1) {
		(void)xsnprintf(why, whylen, "not a kubeconfig");
		goto out;
	}
	doc = &d.doc[0];
	root = yaml_document_get_root_node(doc);
	cur = ystr(yget(doc, root, "current-context"));
	ctx = ynamed(doc, yget(doc, root, "contexts"),
	    cur != NULL && *cur != '\0' ? cur : NULL, "context");
	cname = ystr(yget(doc, ctx, "cluster"));
	uname = ystr(yget(doc, ctx, "user"));
	if (cname == NULL || uname == NULL) {
		(void)xsnprintf(why, whylen, "kubeconfig has no usable "
		    "current context");
		goto out;
	}
	us = ynamed(doc, yget(doc, root, "users"), uname, "user");
	cl = ynamed(doc, yget(doc, root, "clusters"), cname, "cluster");
	for (i = 0; i < 3; i++) {
		if (val[i] == NULL)
			continue;
		v = yget(doc, i < 2 ? us : cl, field[i]);
		if (v == NULL || v->type != YAML_SCALAR_NODE) {
			(void)xsnprintf(why, whylen, "kubeconfig has no %s "
			    "to replace", field[i]);
			goto out;
		}
		if (ykeys(doc, i < 2 ? us : cl, field[i]) != 1) {
			(void)xsnprintf(why, whylen, "kubeconfig has %s more "
			    "than once", field[i]);
			goto out;
		}
		/* only a value written out in place can be replaced there */
		if (v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE &&
		    v->data.scalar.style != YAML_SINGLE_QUOTED_SCALAR_STYLE &&
		    v->data.scalar.style != YAML_DOUBLE_QUOTED_SCALAR_STYLE) {
			(void)xsnprintf(why, whylen, "%s is a block scalar; "
			    "krescue rewrites only plain or quoted values",
			    field[i]);
			goto out;
		}
		sp[n].start = char_to_byte(in->data, in->len,
		    v->start_mark.index);
		sp[n].end = char_to_byte(in->data, in->len, v->end_mark.index);
		if (sp[n].end <= sp[n].start || sp[n].end > in->len ||
		    in->data[sp[n].start] == '&' || in->data[sp[n].start] == '!' ||
		    in->data[sp[n].start] == '*') {
			(void)xsnprintf(why, whylen, "%s carries an anchor, a "
			    "tag or an alias; krescue does not rewrite it",
			    field[i]);
			goto out;
		}
		sp[n].text = val[i];
		n++;
	}
	qsort(sp, (size_t)n, sizeof(sp[0]), by_start);
	for (i = 1; i < n; i++)
		if (sp[i].start < sp[i - 1].end) {
			(void)xsnprintf(why, whylen, "two fields of the "
			    "kubeconfig share one value (an alias?)");
			goto out;
		}
	cap = in->len + 1;
	for (i = 0; i < n; i++)
		cap += strlen(sp[i].text);
	dst = xmalloc(cap);
	for (i = 0; i < n; i++) {
		memcpy(dst + pos, in->data + at, sp[i].start - at);
		pos += sp[i].start - at;
		memcpy(dst + pos, sp[i].text, strlen(sp[i].text));
		pos += strlen(sp[i].text);
		at = sp[i].end;
	}
	memcpy(dst + pos, in->data + at, in->len - at);
	pos += in->len - at;
	dst[pos] = '\0';
	buf_free(out);
	out->data = dst;
	out->len = pos;
	/* read it back: the three fields must now say what we wrote */
	if (kubeconfig_says(out, val, why, whylen) == -1) {
		buf_free(out);
		goto out;
	}
	rc = 0;
out:
	free(cur);
	free(cname);
	free(uname);
	ydocs_free(&d);
	return rc;
}
