/*
 * krescue health: is the API server up, and does it serve a certificate
 * that verifies?  A TLS client probe (mbedTLS) of /healthz: the full chain
 * against the cluster CA, the server name, our client certificate if the
 * kubeconfig has one, then one HTTP request and its status line.
 *
 * Exit: 0 HTTP 200; 3 the TLS handshake or the server certificate failed
 * (expired, unknown CA, name mismatch); 1 a non-200 answer or no answer
 * (refused, timeout); 100 usage; 111 I/O error reading the credentials.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <psa/crypto.h>

#include "extern.h"

#define HEALTH_KUBECONFIG	"/etc/kubernetes/admin.conf"
#define HEALTH_TIMEOUT		10		/* seconds, the whole probe */
#define HEALTH_MAXTIMEOUT	3600
#define HEALTH_RESP		16384		/* we read at most this much */
#define HEALTH_SHORTBODY	80		/* print a body up to this */

struct url {
	char	 host[256];	/* without brackets */
	char	 port[8];
	char	 hostport[272];	/* for the Host: header */
};

/* The socket and the deadline every read and write of the probe shares. */
struct conn {
	int		 fd;
	int64_t		 deadline;	/* monotonic ms */
	int		 timed_out;
};

/* TLS 1.2 signatures that work without MBEDTLS_USE_PSA_CRYPTO. */
static const uint16_t tls12_sig_algs[] = {
	MBEDTLS_TLS1_3_SIG_ECDSA_SECP256R1_SHA256,
	MBEDTLS_TLS1_3_SIG_ECDSA_SECP384R1_SHA384,
	MBEDTLS_TLS1_3_SIG_RSA_PKCS1_SHA256,
	MBEDTLS_TLS1_3_SIG_RSA_PKCS1_SHA384,
	MBEDTLS_TLS1_3_SIG_RSA_PKCS1_SHA512,
	MBEDTLS_TLS1_3_SIG_NONE
};

/* What the verify callback saw of the server's own certificate. */
struct peer {
	int		 seen;
	char		 subject[256];
	time_t		 not_after;
	uint32_t	 flags;
};

static void
health_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: krescue health [--root DIR] [--kubeconfig FILE | --ca FILE "
	    "[--cert FILE --key FILE]]\n"
	    "                      [--server URL] [--tls-server-name NAME] "
	    "[--path PATH]\n"
	    "                      [--timeout SECONDS]\n"
	    "\n"
	    "Probes the API server over TLS: verifies its certificate chain "
	    "against the\ncluster CA and its name, presents the client "
	    "certificate if there is one,\nsends GET PATH (default /healthz) "
	    "and prints one line: server, TLS version,\nserver certificate "
	    "subject and expiry, HTTP status and a short body.\n"
	    "\n"
	    "  --kubeconfig FILE  CA, client certificate and server from a "
	    "kubeconfig\n"
	    "                     (default %s when no --ca is given)\n"
	    "  --ca FILE          the CA to verify the server with (overrides "
	    "the kubeconfig's)\n"
	    "  --cert, --key      a client certificate and key (PEM files)\n"
	    "  --server URL       https://HOST[:PORT] (default: the "
	    "kubeconfig's server)\n"
	    "  --tls-server-name  the name the certificate must carry "
	    "(default: HOST);\n"
	    "                     e.g. 'kubernetes' for https://127.0.0.1:6443\n"
	    "  --timeout SECONDS  for the whole probe (default %d)\n"
	    "\nFile names are paths on the node under --root (default /).\n"
	    "\nexit status: 0 HTTP 200, 1 another status or no answer, "
	    "3 TLS or certificate\nverification failed, 100 usage, "
	    "111 I/O error\n", HEALTH_KUBECONFIG, HEALTH_TIMEOUT);
}

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
ms_left(const struct conn *c)
{
	int64_t	 left = c->deadline - now_ms();

	if (left <= 0)
		return 0;
	return left > INT32_MAX ? INT32_MAX : (int)left;
}

/* https://HOST[:PORT][/...] with HOST a name, an IPv4 or [IPv6]. */
static int
parse_url(const char *s, struct url *u)
{
	const char	*p, *end, *colon;
	size_t		 n;

	if (strncmp(s, "https://", 8) != 0)
		return -1;
	p = s + 8;
	end = p + strcspn(p, "/?#");
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(end - p));

		if (rb == NULL || rb == p + 1)
			return -1;
		n = (size_t)(rb - p - 1);
		if (n >= sizeof(u->host))
			return -1;
		memcpy(u->host, p + 1, n);
		u->host[n] = '\0';
		colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
		if (colon == NULL && rb + 1 != end)
			return -1;
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		n = (size_t)((colon != NULL ? colon : end) - p);
		if (n == 0 || n >= sizeof(u->host))
			return -1;
		memcpy(u->host, p, n);
		u->host[n] = '\0';
	}
	if (strchr(u->host, '@') != NULL)
		return -1;
	if (colon != NULL) {
		n = (size_t)(end - colon - 1);
		if (n == 0 || n >= sizeof(u->port) ||
		    strspn(colon + 1, "0123456789") < n)
			return -1;
		memcpy(u->port, colon + 1, n);
		u->port[n] = '\0';
		if (atoi(u->port) < 1 || atoi(u->port) > 65535)
			return -1;
	} else if (xsnprintf(u->port, sizeof(u->port), "443") == -1)
		return -1;
	if (strchr(u->host, ':') != NULL)
		return xsnprintf(u->hostport, sizeof(u->hostport), "[%s]:%s",
		    u->host, u->port);
	return xsnprintf(u->hostport, sizeof(u->hostport), "%s:%s", u->host,
	    u->port);
}

/*
 * A TCP connection to host:port within the deadline, trying each address.
 * Returns the socket, or -1 with `why` set (*refused when every address
 * refused).
 */
static int
tcp_connect(const struct url *u, struct conn *c, char *why, size_t whylen)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	struct pollfd	 pfd;
	socklen_t	 sl;
	int		 fd = -1, rc, soerr = 0, last = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(u->host, u->port, &hints, &res)) != 0) {
		(void)xsnprintf(why, whylen, "cannot resolve %s: %s", u->host,
		    gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd == -1) {
			last = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno != EINPROGRESS) {
			last = errno;
			goto next;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		do {
			rc = poll(&pfd, 1, ms_left(c));
		} while (rc == -1 && errno == EINTR);
		if (rc == 0) {
			c->timed_out = 1;
			last = ETIMEDOUT;
			goto next;
		}
		sl = sizeof(soerr);
		if (rc == -1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
		    &sl) == -1) {
			last = errno;
			goto next;
		}
		if (soerr == 0)
			break;
		last = soerr;
next:
		close(fd);
		fd = -1;
		if (c->timed_out)
			break;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		if (last == ETIMEDOUT)
			(void)xsnprintf(why, whylen, "no answer within the "
			    "timeout (connecting)");
		else
			(void)xsnprintf(why, whylen, "cannot connect: %s",
			    strerror(last));
	}
	return fd;
}

/* Wait, within the deadline, until the socket is ready for `events`. */
static int
bio_wait(struct conn *c, short events, int failure)
{
	struct pollfd	 pfd;
	int		 rc;

	for (;;) {
		pfd.fd = c->fd;
		pfd.events = events;
		rc = poll(&pfd, 1, ms_left(c));
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc == 0) {
			c->timed_out = 1;
			return MBEDTLS_ERR_SSL_TIMEOUT;
		}
		return rc == -1 ? failure : 0;
	}
}

static int
bio_send(void *ctx, const unsigned char *p, size_t len)
{
	struct conn	*c = ctx;
	ssize_t		 n;
	int		 rc;

	for (;;) {
		if ((rc = bio_wait(c, POLLOUT, MBEDTLS_ERR_NET_SEND_FAILED)) != 0)
			return rc;
		n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n >= 0)
			return (int)n;
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			continue;
		if (errno == EPIPE || errno == ECONNRESET)
			return MBEDTLS_ERR_NET_CONN_RESET;
		return MBEDTLS_ERR_NET_SEND_FAILED;
	}
}

static int
bio_recv(void *ctx, unsigned char *p, size_t len)
{
	struct conn	*c = ctx;
	ssize_t		 n;
	int		 rc;

	for (;;) {
		if ((rc = bio_wait(c, POLLIN, MBEDTLS_ERR_NET_RECV_FAILED)) != 0)
			return rc;
		n = recv(c->fd, p, len, 0);
		if (n >= 0)
			return (int)n;
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			continue;
		if (errno == ECONNRESET)
			return MBEDTLS_ERR_NET_CONN_RESET;
		return MBEDTLS_ERR_NET_RECV_FAILED;
	}
}

/* Remember the server's own certificate; the chain's verdict stays. */
static int
verify_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	struct peer	*pe = ctx;

	if (depth == 0) {
		pe->seen = 1;
		(void)x509_subject(crt, pe->subject, sizeof(pe->subject));
		pe->not_after = x509_time(&crt->valid_to);
	}
	pe->flags |= *flags;
	return 0;
}

/* The verification flags in words, the common ones first. */
static void
verify_why(uint32_t flags, const struct peer *pe, const char *name,
    char *out, size_t outlen)
{
	char	 when[32], info[512];
	size_t	 off = 0;
	int	 n;

	out[0] = '\0';
#define ADD(...) do {							\
	n = snprintf(out + off, outlen - off, __VA_ARGS__);		\
	if (n < 0 || (size_t)n >= outlen - off)				\
		return;							\
	off += (size_t)n;						\
} while (0)
	fmt_rfc3339(pe->not_after, when, sizeof(when));
	if (flags & MBEDTLS_X509_BADCERT_EXPIRED) {
		ADD("%scertificate expired", off ? "; " : "");
		if (pe->seen && pe->not_after < time(NULL))
			ADD(" (server certificate not after %s)", when);
		flags &= ~MBEDTLS_X509_BADCERT_EXPIRED;
	}
	if (flags & MBEDTLS_X509_BADCERT_FUTURE) {
		ADD("%scertificate not valid yet", off ? "; " : "");
		flags &= ~MBEDTLS_X509_BADCERT_FUTURE;
	}
	if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED) {
		ADD("%sunknown CA: the chain does not lead to the given CA",
		    off ? "; " : "");
		flags &= ~MBEDTLS_X509_BADCERT_NOT_TRUSTED;
	}
	if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH) {
		ADD("%sname mismatch: the certificate is not for '%s'",
		    off ? "; " : "", name);
		flags &= ~MBEDTLS_X509_BADCERT_CN_MISMATCH;
	}
	if (flags != 0 && mbedtls_x509_crt_verify_info(info, sizeof(info), "",
	    flags) > 0) {
		info[strcspn(info, "\n")] = '\0';
		ADD("%s%s", off ? "; " : "", info);
	}
#undef ADD
}

/* A short body, printable, for the one line. */
static void
short_body(const char *b, size_t len, char *out, size_t outlen)
{
	size_t	 i, o = 0;

	while (len > 0 && (b[len - 1] == '\n' || b[len - 1] == '\r'))
		len--;
	if (len > HEALTH_SHORTBODY) {
		(void)xsnprintf(out, outlen, "(%zu bytes)", len);
		return;
	}
	out[o++] = '"';
	for (i = 0; i < len && o + 3 < outlen; i++)
		out[o++] = b[i] >= 0x20 && b[i] < 0x7f ? b[i] : '.';
	out[o++] = '"';
	out[o] = '\0';
}

/* The value of header `name` (lower case), or NULL. */
static const char *
header(const char *head, const char *name)
{
	const char	*p = head;
	size_t		 n = strlen(name);

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 1;
			return p + strspn(p, " \t");
		}
	}
	return NULL;
}

/*
 * Credentials: the CA (required), a client certificate and key (optional),
 * and the server from the kubeconfig when none was given.
 */
struct creds {
	const char	*kubeconfig;
	const char	*ca;
	const char	*cert;
	const char	*key;
	char		 server[512];
	char		 src[PATH_MAX];		/* where the CA came from */
};

/* A file named by a kubeconfig is relative to the kubeconfig. */
static int
kc_path(const char *kcpath, const char *file, char *out, size_t outlen)
{
	const char	*slash;

	if (file[0] == '/')
		return xsnprintf(out, outlen, "%s", file);
	slash = strrchr(kcpath, '/');
	if (slash == NULL)
		return xsnprintf(out, outlen, "%s", file);
	return xsnprintf(out, outlen, "%.*s/%s", (int)(slash - kcpath),
	    kcpath, file);
}

static int
read_node_file(const struct root *r, const char *path, struct buf *b)
{
	if (root_readfile(r, path, b, NULL) == -1) {
		warnx("%s: %s", path, path_error(errno));
		return -1;
	}
	return 0;
}

/* Returns KR_OK, or KR_FAIL / KR_IO after saying why. */
static int
load_creds(const struct root *r, struct creds *cr, mbedtls_x509_crt *ca,
    mbedtls_x509_crt *cli, mbedtls_pk_context *key, int *have_cli)
{
	struct kubeconfig	 kc;
	struct buf		 cab = { NULL, 0 }, certb = { NULL, 0 };
	struct buf		 keyb = { NULL, 0 }, kcb = { NULL, 0 };
	char			 why[512], p[PATH_MAX];
	int			 rc = KR_IO, have_kc = 0;

	memset(&kc, 0, sizeof(kc));
	*have_cli = 0;
	if (cr->kubeconfig != NULL) {
		if (read_node_file(r, cr->kubeconfig, &kcb) == -1)
			goto out;
		if (kubeconfig_parse(&kcb, &kc, why, sizeof(why)) == -1) {
			warnx("%s: %s", cr->kubeconfig, why);
			rc = KR_FAIL;
			goto out;
		}
		have_kc = 1;
		if (cr->server[0] == '\0' && kc.server != NULL &&
		    xsnprintf(cr->server, sizeof(cr->server), "%s",
		    kc.server) == -1)
			goto out;
	}

	/* the CA: --ca, else the kubeconfig's data or file */
	if (cr->ca != NULL) {
		if (read_node_file(r, cr->ca, &cab) == -1)
			goto out;
		(void)xsnprintf(cr->src, sizeof(cr->src), "%s", cr->ca);
	} else if (have_kc && kc.ca_data.data != NULL) {
		if (buf_set(&cab, kc.ca_data.data, kc.ca_data.len) == -1)
			goto out;
		(void)xsnprintf(cr->src, sizeof(cr->src), "%s "
		    "certificate-authority-data", cr->kubeconfig);
	} else if (have_kc && kc.ca_file != NULL) {
		if (kc_path(cr->kubeconfig, kc.ca_file, p, sizeof(p)) == -1 ||
		    read_node_file(r, p, &cab) == -1)
			goto out;
		(void)xsnprintf(cr->src, sizeof(cr->src), "%s", p);
	} else {
		warnx("no CA to verify the server with: give --ca FILE or a "
		    "kubeconfig with certificate-authority-data");
		rc = KR_FAIL;
		goto out;
	}
	if (x509_parse_certs(&cab, ca, why, sizeof(why)) == -1) {
		warnx("CA %s: %s", cr->src, why);
		rc = KR_FAIL;
		goto out;
	}

	/* the client certificate: --cert/--key, else the kubeconfig's */
	if (cr->cert != NULL) {
		if (read_node_file(r, cr->cert, &certb) == -1 ||
		    read_node_file(r, cr->key, &keyb) == -1)
			goto out;
	} else if (have_kc) {
		if (kc.cert_data.data != NULL) {
			if (buf_set(&certb, kc.cert_data.data,
			    kc.cert_data.len) == -1)
				goto out;
		} else if (kc.cert_file != NULL) {
			if (kc_path(cr->kubeconfig, kc.cert_file, p,
			    sizeof(p)) == -1 || read_node_file(r, p, &certb) ==
			    -1)
				goto out;
		}
		if (kc.key_data.data != NULL) {
			if (buf_set(&keyb, kc.key_data.data,
			    kc.key_data.len) == -1)
				goto out;
		} else if (kc.key_file != NULL) {
			if (kc_path(cr->kubeconfig, kc.key_file, p,
			    sizeof(p)) == -1 || read_node_file(r, p, &keyb) ==
			    -1)
				goto out;
		}
	}
	if (certb.data != NULL && keyb.data == NULL) {
		warnx("a client certificate without its key");
		rc = KR_FAIL;
		goto out;
	}
	if (certb.data != NULL) {
		if (x509_parse_certs(&certb, cli, why, sizeof(why)) == -1) {
			warnx("client certificate: %s", why);
			rc = KR_FAIL;
			goto out;
		}
		if (x509_parse_key(&keyb, key, why, sizeof(why)) == -1) {
			warnx("client key: %s", why);
			rc = KR_FAIL;
			goto out;
		}
		if (!x509_key_matches(cli, key)) {
			warnx("the client key does not match the client "
			    "certificate");
			rc = KR_FAIL;
			goto out;
		}
		*have_cli = 1;
	}
	rc = KR_OK;
out:
	if (have_kc)
		kubeconfig_free(&kc);
	buf_free(&kcb);
	buf_free(&cab);
	buf_free(&certb);
	buf_free(&keyb);
	return rc;
}

/* One line on standard output (unless -q): the probe's result. */
static void
say(const char *url, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
say(const char *url, const char *fmt, ...)
{
	va_list	 ap;

	if (quiet)
		return;
	printf("health %s: ", url);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

int
cmd_health(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "kubeconfig", required_argument, NULL, 'k' },
		{ "ca", required_argument, NULL, 'a' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'K' },
		{ "server", required_argument, NULL, 's' },
		{ "tls-server-name", required_argument, NULL, 'n' },
		{ "path", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	mbedtls_entropy_context	 entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_context	 ssl;
	mbedtls_ssl_config	 conf;
	mbedtls_x509_crt	 ca, cli;
	mbedtls_pk_context	 key;
	struct root		 r;
	struct creds		 cr;
	struct url		 u;
	struct conn		 c = { -1, 0, 0 };
	struct peer		 pe;
	const char		*rootdir = "/", *name = NULL, *path = "/healthz";
	const char		*ver, *p, *cl;
	char			 req[1024], why[768], when[32], left[32];
	char			 body[HEALTH_SHORTBODY + 8], errbuf[160];
	char			*resp = NULL, *eol, *endp;
	size_t			 got = 0, need = 0;
	long			 timeout = HEALTH_TIMEOUT, status;
	int			 ch, ret, rc = KR_FAIL, have_cli = 0, off;
	int			 attempt;
	static const char	 pers[] = "krescue-health";

	memset(&cr, 0, sizeof(cr));
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			cr.ca = optarg;
			break;
		case 'c':
			cr.cert = optarg;
			break;
		case 'h':
			health_usage(stdout);
			return KR_OK;
		case 'k':
			cr.kubeconfig = optarg;
			break;
		case 'K':
			cr.key = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'p':
			path = optarg;
			break;
		case 'r':
			rootdir = optarg;
			break;
		case 's':
			if (xsnprintf(cr.server, sizeof(cr.server), "%s",
			    optarg) == -1)
				usage_error("health", "--server too long");
			break;
		case 't':
			errno = 0;
			timeout = strtol(optarg, &endp, 10);
			if (errno != 0 || endp == optarg || *endp != '\0' ||
			    timeout < 1 || timeout > HEALTH_MAXTIMEOUT)
				usage_error("health", "--timeout %s: want "
				    "1..%d seconds", optarg, HEALTH_MAXTIMEOUT);
			break;
		default:
			bad_option("health", ch, argv);
		}
	}
	if (optind != argc)
		usage_error("health", "unexpected argument '%s'", argv[optind]);
	if ((cr.cert == NULL) != (cr.key == NULL))
		usage_error("health", "--cert and --key go together");
	if (path[0] != '/' || strpbrk(path, " \r\n") != NULL)
		usage_error("health", "--path %s: want an absolute path such "
		    "as /healthz or /readyz", path);
	if (name != NULL && (*name == '\0' || strpbrk(name, " /") != NULL))
		usage_error("health", "--tls-server-name '%s': not a name",
		    name);
	if (cr.kubeconfig == NULL && cr.ca == NULL)
		cr.kubeconfig = HEALTH_KUBECONFIG;
	if (cr.server[0] != '\0' && parse_url(cr.server, &u) == -1)
		usage_error("health", "--server %s: want https://HOST[:PORT]",
		    cr.server);

	memset(&pe, 0, sizeof(pe));
	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_ssl_init(&ssl);
	mbedtls_ssl_config_init(&conf);
	mbedtls_x509_crt_init(&ca);
	mbedtls_x509_crt_init(&cli);
	mbedtls_pk_init(&key);

	open_root_or_exit(&r, rootdir);
	if ((rc = load_creds(&r, &cr, &ca, &cli, &key, &have_cli)) != KR_OK)
		goto out;
	rc = KR_FAIL;
	if (cr.server[0] == '\0')
		usage_error("health", "no server: give --server "
		    "https://HOST:PORT");
	if (parse_url(cr.server, &u) == -1) {
		warnx("%s: server %s is not https://HOST[:PORT]",
		    cr.kubeconfig, cr.server);
		goto out;
	}
	if (name == NULL)
		name = u.host;
	if (have_cli && x509_time(&cli.valid_to) < time(NULL) && !quiet) {
		fmt_rfc3339(x509_time(&cli.valid_to), when, sizeof(when));
		warnx("note: the client certificate expired %s; the server "
		    "will refuse it", when);
	}

	/* 1. TLS configuration: verify everything, TLS 1.2 or 1.3 */
	if ((ret = psa_crypto_init()) != PSA_SUCCESS) {
		warnx("cannot initialise PSA crypto (%d)", ret);
		rc = KR_IO;
		goto out;
	}
	if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
	    (const unsigned char *)pers, sizeof(pers) - 1) != 0) {
		warnx("cannot seed the random number generator");
		rc = KR_IO;
		goto out;
	}
	if ((ret = mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT,
	    MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT)) != 0)
		goto tlserr;
	mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&conf, &ca, NULL);
	mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
	mbedtls_ssl_conf_verify(&conf, verify_cb, &pe);
	if (have_cli &&
	    (ret = mbedtls_ssl_conf_own_cert(&conf, &cli, &key)) != 0)
		goto tlserr;

	/*
	 * 2. connect and shake hands, all within the deadline.  Without
	 * MBEDTLS_USE_PSA_CRYPTO our TLS 1.2 cannot do RSA-PSS, yet the
	 * default list offers it (for 1.3): a 1.2-only server that picks it
	 * fails the handshake.  So a protocol failure is retried once as
	 * TLS 1.2 offering only what 1.2 can do here.
	 */
	c.deadline = now_ms() + (int64_t)timeout * 1000;
	for (attempt = 0;; attempt++) {
		if ((ret = mbedtls_ssl_setup(&ssl, &conf)) != 0 ||
		    (ret = mbedtls_ssl_set_hostname(&ssl, name)) != 0)
			goto tlserr;
		if ((c.fd = tcp_connect(&u, &c, why, sizeof(why))) == -1) {
			say(cr.server, "%s", why);
			goto out;
		}
		mbedtls_ssl_set_bio(&ssl, &c, bio_send, bio_recv, NULL);
		do {
			ret = mbedtls_ssl_handshake(&ssl);
		} while (ret == MBEDTLS_ERR_SSL_WANT_READ ||
		    ret == MBEDTLS_ERR_SSL_WANT_WRITE);
		if (ret == 0)
			break;
		if (c.timed_out) {
			say(cr.server, "no answer within %lds (TLS handshake)",
			    timeout);
			goto out;
		}
		if (ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED ||
		    (pe.flags != 0 && pe.seen)) {
			verify_why(pe.flags != 0 ? pe.flags :
			    mbedtls_ssl_get_verify_result(&ssl), &pe, name,
			    why, sizeof(why));
			say(cr.server, "TLS verification failed: %s; server "
			    "%s, CA from %s", why, pe.seen ? pe.subject : "?",
			    cr.src);
			rc = KR_BAD;
			goto out;
		}
		if (ret == MBEDTLS_ERR_NET_CONN_RESET ||
		    ret == MBEDTLS_ERR_NET_RECV_FAILED ||
		    ret == MBEDTLS_ERR_NET_SEND_FAILED ||
		    ret == MBEDTLS_ERR_SSL_CONN_EOF) {
			say(cr.server, "the connection closed during the TLS "
			    "handshake: not a TLS server, or it refused us");
			goto out;
		}
		if (attempt == 1) {
			mbedtls_strerror(ret, errbuf, sizeof(errbuf));
			say(cr.server, "TLS handshake failed: %s%s", errbuf,
			    ret == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE ?
			    " (the server refused the session: our client "
			    "certificate?)" : "");
			rc = KR_BAD;
			goto out;
		}
		close(c.fd);
		c.fd = -1;
		mbedtls_ssl_free(&ssl);
		mbedtls_ssl_init(&ssl);
		memset(&pe, 0, sizeof(pe));
		mbedtls_ssl_conf_max_tls_version(&conf,
		    MBEDTLS_SSL_VERSION_TLS1_2);
		mbedtls_ssl_conf_sig_algs(&conf, tls12_sig_algs);
	}
	ver = mbedtls_ssl_get_version(&ssl);

	/* 3. one request, and the status line of the answer */
	if (xsnprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n"
	    "User-Agent: krescue/%s\r\nAccept: */*\r\nConnection: close\r\n"
	    "\r\n", path, u.hostport, KRESCUE_VERSION) == -1)
		goto out;
	for (off = 0; off < (int)strlen(req); ) {
		ret = mbedtls_ssl_write(&ssl, (const unsigned char *)req + off,
		    strlen(req) - (size_t)off);
		if (ret == MBEDTLS_ERR_SSL_WANT_READ ||
		    ret == MBEDTLS_ERR_SSL_WANT_WRITE)
			continue;
		if (ret < 0) {
			mbedtls_strerror(ret, errbuf, sizeof(errbuf));
			say(cr.server, "%s: no answer (%s)", ver, c.timed_out ?
			    "timeout" : errbuf);
			rc = ret == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE ?
			    KR_BAD : KR_FAIL;
			goto out;
		}
		off += ret;
	}
	resp = xmalloc(HEALTH_RESP + 1);
	for (;;) {
		if (got == HEALTH_RESP)
			break;
		ret = mbedtls_ssl_read(&ssl, (unsigned char *)resp + got,
		    HEALTH_RESP - got);
		if (ret == MBEDTLS_ERR_SSL_WANT_READ ||
		    ret == MBEDTLS_ERR_SSL_WANT_WRITE)
			continue;
		if (ret <= 0)
			break;
		got += (size_t)ret;
		resp[got] = '\0';
		/* stop once Content-Length bytes of body are in */
		if (need == 0 && (p = strstr(resp, "\r\n\r\n")) != NULL) {
			need = (size_t)(p + 4 - resp);
			if ((cl = header(resp, "content-length")) != NULL &&
			    (size_t)(p + 4 - resp) < SIZE_MAX - 1)
				need += (size_t)strtoul(cl, NULL, 10);
			else
				need = SIZE_MAX;
		}
		if (need != 0 && got >= need)
			break;
	}
	resp[got] = '\0';
	if (got == 0 || strncmp(resp, "HTTP/", 5) != 0 ||
	    (p = strchr(resp, ' ')) == NULL) {
		if (ret == MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE) {
			say(cr.server, "%s: the server ended the session with "
			    "an alert (it refused our client certificate?)",
			    ver);
			rc = KR_BAD;
		} else
			say(cr.server, "%s: no HTTP answer%s", ver,
			    c.timed_out ? " within the timeout" : "");
		goto out;
	}
	status = strtol(p + 1, NULL, 10);
	if ((p = strstr(resp, "\r\n\r\n")) != NULL)
		p += 4;
	else
		p = resp + got;
	short_body(p, got - (size_t)(p - resp), body, sizeof(body));
	if ((eol = strstr(resp, "\r\n")) != NULL)
		*eol = '\0';
	fmt_rfc3339(pe.not_after, when, sizeof(when));
	human_duration((int64_t)(pe.not_after - time(NULL)), left,
	    sizeof(left));
	say(cr.server, "%s, server %s (name %s verified), expires %s "
	    "(in %s), HTTP %ld %s", ver, pe.subject, name, when, left,
	    status, body);
	rc = status == 200 ? KR_OK : KR_FAIL;
	(void)mbedtls_ssl_close_notify(&ssl);
out:
	if (c.fd != -1)
		close(c.fd);
	free(resp);
	mbedtls_ssl_free(&ssl);
	mbedtls_ssl_config_free(&conf);
	mbedtls_x509_crt_free(&cli);
	mbedtls_x509_crt_free(&ca);
	mbedtls_pk_free(&key);		/* wipes the client key */
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&entropy);
	return rc;
tlserr:
	mbedtls_strerror(ret, errbuf, sizeof(errbuf));
	warnx("TLS setup: %s", errbuf);
	rc = KR_IO;
	goto out;
}
