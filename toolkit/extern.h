/*
 * krescue: shared prototypes of the toolkit's modules.
 * Everything not listed here is static to its file.
 */
#ifndef KRESCUE_EXTERN_H
#define KRESCUE_EXTERN_H

#include <sys/stat.h>
#include <sys/types.h>

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <time.h>

#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

/*
 * Exit codes: one contract for every verb (see docs/krescue.8).
 */
#define KR_OK		0	/* done, or every certificate is fine */
#define KR_FAIL		1	/* failed, nothing changed */
#define KR_WARN		2	/* expiring soon / nothing to do */
#define KR_BAD		3	/* expired or invalid certificates */
#define KR_USAGE	100	/* wrong usage */
#define KR_IO		111	/* system or I/O error */

#define KR_MAXFILE	(4 * 1024 * 1024)	/* largest file we read */

extern int verbose;			/* -v */
extern int quiet;			/* -q */

/* A heap buffer; free with buf_free (wipes it: it may hold a key). */
struct buf {
	unsigned char	*data;
	size_t		 len;
};

/* util.c */
void		*xmalloc(size_t);
void		*xcalloc(size_t, size_t);
void		*xrealloc(void *, size_t, size_t);
char		*xstrdup(const char *);
void		 wipe(void *, size_t);
void		 buf_free(struct buf *);
int		 buf_set(struct buf *, const void *, size_t);
int		 xsnprintf(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
int		 parse_duration(const char *, int64_t *);
int		 parse_rfc3339(const char *, time_t *);
void		 fmt_rfc3339(time_t, char *, size_t);
void		 fmt_kubeadm_date(time_t, char *, size_t);
void		 human_duration(int64_t, char *, size_t);
void		 short_human_duration(int64_t, char *, size_t);
void		 fmt_duration_days(int64_t, char *, size_t);
int		 b64_decode(const char *, size_t, struct buf *);
char		*b64_encode(const unsigned char *, size_t);
int		 version_minor(const char *);
const char	*path_error(int);
int		 valid_node_name(const char *);

/* root.c: every node path resolves inside --root. */
struct root {
	char	 dir[PATH_MAX];		/* host path of the node's "/" */
};
#define ROOT_NOFOLLOW_LAST	0x1	/* do not follow a final symlink */
#define ROOT_MAY_NOT_EXIST	0x2	/* the last component may be absent */

int		 root_open(struct root *, const char *);
int		 root_resolve(const struct root *, const char *, int,
		    char *, size_t);
int		 root_readfile(const struct root *, const char *, struct buf *,
		    struct stat *);
int		 root_exists(const struct root *, const char *);
int		 root_lstat(const struct root *, const char *, struct stat *);
int		 root_readlink(const struct root *, const char *, char *,
		    size_t);
int		 root_mkdirs(const struct root *, const char *, mode_t);

/* x509.c: parsing and judging certificates and keys (no file I/O). */
int		 x509_parse_certs(const struct buf *, mbedtls_x509_crt *,
		    char *, size_t);
int		 x509_parse_key(const struct buf *, mbedtls_pk_context *,
		    char *, size_t);
time_t		 x509_time(const mbedtls_x509_time *);
int		 x509_key_matches(const mbedtls_x509_crt *,
		    const mbedtls_pk_context *);
int		 x509_signed_by(const mbedtls_x509_crt *,
		    const mbedtls_x509_crt *, char *, size_t);
int		 x509_is_ca(const mbedtls_x509_crt *);
int		 x509_subject(const mbedtls_x509_crt *, char *, size_t);
int		 x509_cn(const mbedtls_x509_crt *, char *, size_t);
int		 x509_has_san(const mbedtls_x509_crt *, const char *);
int		 x509_sans(const mbedtls_x509_crt *, char *, size_t);
int		 x509_key_desc(const mbedtls_pk_context *, char *, size_t);
int		 pem_find(const struct buf *, const char *);

/* yamlcfg.c: kubeconfig and kubeadm config readers (no file I/O). */
struct kubeconfig {
	char		*cluster;	/* current context's cluster name */
	char		*user;		/* current context's user name */
	char		*server;
	struct buf	 ca_data;	/* certificate-authority-data, decoded */
	char		*ca_file;	/* certificate-authority */
	struct buf	 cert_data;	/* client-certificate-data, decoded */
	char		*cert_file;	/* client-certificate */
	struct buf	 key_data;	/* client-key-data, decoded: secret */
	char		*key_file;	/* client-key */
};

#define KCFG_MAXSANS	64
struct kubeadm_config {
	int		 found;
	char		*api_version;	/* kubeadm.k8s.io/v1beta2|3|4 */
	char		*k8s_version;	/* kubernetesVersion */
	char		*node_name;
	char		*advertise_address;
	int		 bind_port;
	char		*control_plane_endpoint;
	char		*service_subnet;
	char		*dns_domain;
	char		*cluster_name;
	char		*cert_dir;
	char		*encryption_algorithm;
	int64_t		 cert_validity;		/* seconds, 0 = unset */
	int64_t		 ca_validity;		/* seconds, 0 = unset */
	char		*cert_sans[KCFG_MAXSANS];
	int		 ncert_sans;
	char		*etcd_server_sans[KCFG_MAXSANS];	/* etcd.local */
	int		 netcd_server_sans;
	char		*etcd_peer_sans[KCFG_MAXSANS];
	int		 netcd_peer_sans;
	int		 external_etcd;
	char		*etcd_ca_file;
	char		*etcd_cert_file;
	char		*etcd_key_file;
};

int		 kubeconfig_parse(const struct buf *, struct kubeconfig *,
		    char *, size_t);
void		 kubeconfig_free(struct kubeconfig *);
int		 kubeconfig_update(const struct buf *, const char *,
		    const char *, const char *, struct buf *, char *, size_t);
int		 kubeadm_config_parse(const struct buf *,
		    struct kubeadm_config *, char *, size_t);
void		 kubeadm_config_free(struct kubeadm_config *);


/* kcgen.c: new kubeconfigs in kubeadm's layout. */
struct kcgen {
	const char		*cluster;	/* "kubernetes" by default */
	const char		*server;
	const char		*user;		/* "system:node:cp-1" */
	const char		*context;	/* "<user>@<cluster>" */
	const struct buf	*ca_pem;
	const struct buf	*cert_pem;	/* embedded, or ... */
	const struct buf	*key_pem;
	const char		*client_file;	/* ... both from this file */
};

int		 kubeconfig_generate(const struct kcgen *, struct buf *);

/* ca.c: a CA to sign with. */
struct ca {
	mbedtls_x509_crt	 crt;
	mbedtls_pk_context	 key;	/* secret */
	struct buf		 pem;	/* the certificate file as it is */
	char			 path[PATH_MAX];
};

void		 ca_init(struct ca *);
void		 ca_free(struct ca *);
int		 ca_load(const struct root *, const char *, const char *,
		    const char *, struct ca *, char *, size_t);

/* layout.c: what is on the node, and where. */
enum item_kind {
	ITEM_CA,		/* kubeadm CA: ca, front-proxy-ca, etcd-ca */
	ITEM_LEAF,		/* kubeadm leaf cert + key files */
	ITEM_KUBECONFIG,	/* kubeconfig with an embedded client cert */
	ITEM_KUBELET,		/* kubelet-client-current.pem (cert + key) */
	ITEM_ETCD_HOST_CA,	/* Kubespray host etcd ca.pem */
	ITEM_ETCD_HOST		/* Kubespray host etcd member/admin/node */
};

struct item {
	char		 name[96];	/* kubeadm's name, or ours */
	enum item_kind	 kind;
	char		 ca[32];	/* the issuing CA's item name */
	char		 path[PATH_MAX];	/* cert file or kubeconfig */
	char		 key_path[PATH_MAX];	/* "" when embedded */
	int		 kubeadm;	/* a row of kubeadm check-expiration */
	int		 required;	/* its absence is a problem */
};

#define LAYOUT_MAXITEMS	64
struct layout {
	const struct root	*root;
	int			 kubespray;	/* ssl/ with the pki symlink */
	int			 control_plane;
	int			 external_etcd;
	char			 cert_dir[PATH_MAX];
	char			 etcd_host_dir[PATH_MAX];	/* "" if none */
	char			 config_path[PATH_MAX];	/* "" if none */
	char			 config_error[256];
	char			 layout_error[256];
	struct kubeadm_config	 cfg;
	struct item		 items[LAYOUT_MAXITEMS];
	int			 nitems;
};

int		 layout_discover(const struct root *, const char *,
		    struct layout *);
void		 layout_free(struct layout *);
struct item	*layout_find(struct layout *, const char *);
int		 layout_server_url(const struct kubeadm_config *, int, char *,
		    size_t);
int		 service_vip(const char *, char *, size_t);
int		 is_san_name(const char *);
void		 endpoint_host(const char *, char *, size_t);
int		 layout_expected_sans(const struct layout *,
		    const struct item *, char [][256], int);


/* check.c: judging every item of the layout against a point in time. */
enum status {
	ST_OK,
	ST_EXPIRING,
	ST_EXPIRED,
	ST_NOTYET,
	ST_INVALID,
	ST_MISSING
};

#define FINDING_MAXPROBLEMS	8
struct finding {
	const struct item	*item;
	enum status		 status;
	int			 have_cert;
	time_t			 not_before;
	time_t			 not_after;
	char			 subject[256];
	char			 key_type[32];
	int			 external;	/* its CA has no key here */
	char			 problems[FINDING_MAXPROBLEMS][320];
	int			 nproblems;
};

/* A file every control plane must hold identically (check --compare). */
struct shared_file {
	char			 path[PATH_MAX];	/* node path */
	int			 here, there;		/* present */
	int			 same;
};

#define CHECK_MAXSHARED	12
struct check {
	const char		*root_arg;
	const char		*compare_arg;		/* NULL: no compare */
	struct shared_file	 shared[CHECK_MAXSHARED];
	int			 nshared;
	time_t			 now;
	int64_t			 warn;		/* seconds */
	struct layout		 lo;
	struct finding		 f[LAYOUT_MAXITEMS];
	int			 n;
};

void		 check_run(struct check *);
int		 check_compare(struct check *, const struct root *,
		    const struct root *);
int		 check_exit_code(const struct check *);
const char	*status_name(enum status);

/* report.c: rendering a check (no I/O but the stream given). */
void		 report_table(FILE *, const struct check *);
void		 report_kubeadm(FILE *, const struct check *);
void		 report_json(FILE *, const struct check *);
void		 report_prometheus(FILE *, const struct check *);


/* main.c and the verbs, one file each (cmd_*.c). */
void		 usage_error(const char *, const char *, ...)
		    __attribute__((format(printf, 2, 3), noreturn));
void		 bad_option(const char *, int, char *[])
		    __attribute__((noreturn));
int		 open_root_or_exit(struct root *, const char *);
time_t		 parse_now_or_exit(const char *, const char *);
int		 cmd_check(int, char **);
int		 cmd_version(int, char **);
int		 cmd_renew(int, char **);
int		 cmd_rollback(int, char **);
int		 cmd_recover(int, char **);
int		 cmd_renew_ca(int, char **);
int		 cmd_kubeconfig(int, char **);
int		 cmd_kubelet(int, char **);
int		 cmd_init(int, char **);
int		 cmd_stage(int, char **);
int		 cmd_restart(int, char **);
int		 cmd_health(int, char **);

#endif /* KRESCUE_EXTERN_H */
