/*
 * kcgen.c: writing new kubeconfigs in kubeadm's layout (the order and
 * names clientcmd writes), with embedded data or with the kubelet's file
 * references.  Existing kubeconfigs are never rewritten here: see
 * kubeconfig_update() in yamlcfg.c.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"

/*
 * A growing buffer that wipes what it leaves behind: kubeconfigs carry
 * private keys, and realloc(3) would drop copies in freed memory.
 */
struct sbuf {
	char	*p;
	size_t	 len, cap;
};

static void
sb_add(struct sbuf *sb, const char *s)
{
	size_t	 n = strlen(s), cap;
	char	*np;

	if (sb->len + n + 1 > sb->cap) {
		cap = (sb->len + n + 1) * 2;
		np = xmalloc(cap);
		if (sb->p != NULL) {
			memcpy(np, sb->p, sb->len);
			wipe(sb->p, sb->cap);
			free(sb->p);
		}
		sb->p = np;
		sb->cap = cap;
	}
	memcpy(sb->p + sb->len, s, n + 1);
	sb->len += n;
}

/*
 * Names in kubeconfigs are YAML plain scalars in kubeadm's output
 * (system:node:cp-1 is fine unquoted); anything odd is single-quoted.
 */
static void
sb_scalar(struct sbuf *sb, const char *s)
{
	const char	*p;
	char		 one[2] = { 0, 0 };
	int		 plain = *s != '\0';

	for (p = s; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr(":-._/@", *p) != NULL))
			plain = 0;
	if (*s != '\0' && strchr("-:@", *s) != NULL)
		plain = 0;
	if (plain) {
		sb_add(sb, s);
		return;
	}
	sb_add(sb, "'");
	for (p = s; *p != '\0'; p++) {
		if (*p == '\'')
			sb_add(sb, "'");
		one[0] = *p;
		sb_add(sb, one);
	}
	sb_add(sb, "'");
}

/*
 * A kubeconfig with one cluster, one user and one context, as kubeadm's
 * CreateWithCerts writes it.  With client_file set, the user points at
 * that file for both cert and key (the kubelet-finalize layout);
 * otherwise cert and key are embedded.  The result holds a key: free it
 * with buf_free.
 */
int
kubeconfig_generate(const struct kcgen *g, struct buf *out)
{
	struct sbuf	 sb = { NULL, 0, 0 };
	char		*b64;

	sb_add(&sb, "apiVersion: v1\nclusters:\n- cluster:\n"
	    "    certificate-authority-data: ");
	b64 = b64_encode(g->ca_pem->data, g->ca_pem->len);
	sb_add(&sb, b64);
	free(b64);
	sb_add(&sb, "\n    server: ");
	sb_scalar(&sb, g->server);
	sb_add(&sb, "\n  name: ");
	sb_scalar(&sb, g->cluster);
	sb_add(&sb, "\ncontexts:\n- context:\n    cluster: ");
	sb_scalar(&sb, g->cluster);
	sb_add(&sb, "\n    user: ");
	sb_scalar(&sb, g->user);
	sb_add(&sb, "\n  name: ");
	sb_scalar(&sb, g->context);
	sb_add(&sb, "\ncurrent-context: ");
	sb_scalar(&sb, g->context);
	sb_add(&sb, "\nkind: Config\npreferences: {}\nusers:\n- name: ");
	sb_scalar(&sb, g->user);
	sb_add(&sb, "\n  user:\n");
	if (g->client_file != NULL) {
		sb_add(&sb, "    client-certificate: ");
		sb_scalar(&sb, g->client_file);
		sb_add(&sb, "\n    client-key: ");
		sb_scalar(&sb, g->client_file);
		sb_add(&sb, "\n");
	} else {
		sb_add(&sb, "    client-certificate-data: ");
		b64 = b64_encode(g->cert_pem->data, g->cert_pem->len);
		sb_add(&sb, b64);
		free(b64);
		sb_add(&sb, "\n    client-key-data: ");
		b64 = b64_encode(g->key_pem->data, g->key_pem->len);
		sb_add(&sb, b64);
		wipe(b64, strlen(b64));
		free(b64);
		sb_add(&sb, "\n");
	}
	buf_free(out);
	out->data = (unsigned char *)sb.p;
	out->len = sb.len;
	return 0;
}
