/*
 * krescue restart: on a live node, make the control plane load renewed
 * files.  Static pods restart when their manifests leave the kubelet's
 * manifest directory and come back; then the kubelet restarts (for its own
 * client certificate and kubelet.conf), and a health probe of the local
 * API server says whether it worked.  The manifests are held in a
 * krescue-owned directory beside the real one, never left there: every
 * way out, a failure or a signal included, moves them back first.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "extern.h"

#define RS_MANIFESTS	"/etc/kubernetes/manifests"
#define RS_KDIR		"/etc/kubernetes"
#define RS_HOLD		"manifests.krescue-"
#define RS_WAIT		60	/* default --wait, seconds */
#define RS_MAXWAIT	3600
#define RS_PAUSE	25	/* no crictl: the kubelet rereads every 20 s */
#define RS_CMDTIME	120	/* systemctl restart kubelet, at most */
#define RS_CRITIME	15	/* one crictl call, at most */
#define RS_NCOMP	4
#define RS_MAXIDS	8

/* In the order they come back: etcd first, the API server next. */
static const char *const components[RS_NCOMP] = {
	"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"
};
#define RS_APISERVER	1	/* its index */

struct comp {
	const char	*name;
	int		 present;		/* its manifest is there */
	int		 moved;			/* it is in the hold dir now */
	char		 ids[RS_MAXIDS][80];	/* running containers before */
	int		 nids;
};

struct rs {
	struct root	 r;
	int		 dry_run;
	int		 no_kubelet;
	int		 wait;
	const char	*server;
	const char	*name;		/* --tls-server-name */
	const char	*systemctl;
	const char	*crictl;	/* NULL: none, a fixed pause instead */
	char		 mdir[PATH_MAX];	/* host path of manifests/ */
	char		 kdir[PATH_MAX];	/* host path of /etc/kubernetes */
	char		 hold[PATH_MAX];	/* host path of the hold dir */
	struct comp	 c[RS_NCOMP];
};

static volatile sig_atomic_t	 stop_signal;

static void
restart_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: krescue restart [--root DIR] [--wait SECONDS] "
	    "[--no-kubelet] [--dry-run]\n"
	    "                       [--server URL] [--tls-server-name NAME]\n"
	    "\n"
	    "On a live control-plane node: restarts the static pods "
	    "(etcd, kube-apiserver,\nkube-controller-manager, kube-scheduler, "
	    "whichever have a manifest) by moving\ntheir manifests out of %s "
	    "into a 0700 directory\n%s/%sTIME and back, waiting for the "
	    "kubelet to stop and start\nthem (watched with crictl when there "
	    "is one, else a fixed pause of %d s),\nthen `systemctl restart "
	    "kubelet`, then probes the API server like\n`krescue health` "
	    "(https://127.0.0.1:PORT, name 'kubernetes', admin.conf).\n"
	    "The manifests are moved back on every failure and on SIGINT/"
	    "SIGTERM; a\nhold directory left by a killed run is emptied back "
	    "on the next run.\n"
	    "\n"
	    "  --root DIR        must be / unless --dry-run (which prints "
	    "the plan)\n"
	    "  --wait SECONDS    the longest each step waits (default %d; "
	    "0: no waiting)\n"
	    "  --no-kubelet      do not restart the kubelet\n"
	    "  --server URL      the API server to probe (default "
	    "https://127.0.0.1:PORT,\n"
	    "                    PORT from kube-apiserver's --secure-port, "
	    "else 6443)\n"
	    "  --tls-server-name NAME  the name its certificate must carry "
	    "(default:\n"
	    "                    'kubernetes' for the local default, else "
	    "the URL's host)\n"
	    "\ntest aids (environment): KRESCUE_SYSTEMCTL and KRESCUE_CRICTL "
	    "name the\nprograms to run (KRESCUE_CRICTL empty: no crictl); "
	    "KRESCUE_RESTART_ANY_ROOT=1\nallows a --root other than / without "
	    "--dry-run.\n"
	    "\nexit status: 0 restarted and healthy, 1 failed (manifests "
	    "back in place),\n3 the API server's TLS certificate does not "
	    "verify, 100 usage, 111 I/O error\n", RS_MANIFESTS, RS_KDIR,
	    RS_HOLD, RS_PAUSE, RS_WAIT);
}

static void
on_signal(int sig)
{
	stop_signal = sig;
}

static void
progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
progress(const char *fmt, ...)
{
	va_list	 ap;

	if (quiet)
		return;
	printf("restart: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* Sleep `secs`, waking early for a signal; 0 if a signal came. */
static int
pause_for(int secs)
{
	int	 i;

	for (i = 0; i < secs * 5; i++) {
		if (stop_signal)
			return 0;
		(void)poll(NULL, 0, 200);
	}
	return stop_signal == 0;
}

/*
 * Run argv (PATH searched when argv[0] has no '/'), at most `secs`,
 * with its standard output in out (NUL-terminated, may be cut) unless out
 * is NULL.  Returns its exit status, or -1 (could not run, killed, timed
 * out) after saying why unless `silent`.
 */
static int
run(char *const argv[], int secs, char *out, size_t outlen, int silent)
{
	struct pollfd	 pfd;
	pid_t		 pid;
	size_t		 got = 0;
	ssize_t		 n;
	char		 sink[512];
	int		 p[2], status, rc, left = secs * 1000, timed_out = 0;
	struct timespec	 t0, t1;

	if (pipe(p) == -1) {
		warn("pipe");
		return -1;
	}
	(void)fcntl(p[0], F_SETFD, FD_CLOEXEC);
	(void)fcntl(p[1], F_SETFD, FD_CLOEXEC);
	if ((pid = fork()) == -1) {
		warn("fork");
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		int fd;

		if (dup2(p[1], STDOUT_FILENO) == -1)
			_exit(127);
		if (out != NULL && (fd = open("/dev/null", O_WRONLY)) != -1)
			(void)dup2(fd, STDERR_FILENO);
		execvp(argv[0], argv);
		if (!silent)
			fprintf(stderr, "krescue: %s: %s\n", argv[0],
			    strerror(errno));
		_exit(127);
	}
	close(p[1]);
	if (out != NULL)
		out[0] = '\0';
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		pfd.fd = p[0];
		pfd.events = POLLIN;
		rc = poll(&pfd, 1, left);
		if (rc == -1 && errno == EINTR)
			goto tick;
		if (rc <= 0) {
			timed_out = rc == 0;
			break;
		}
		if (out != NULL && got + 1 < outlen)
			n = read(p[0], out + got, outlen - got - 1);
		else
			n = read(p[0], sink, sizeof(sink));
		if (n == -1 && errno == EINTR)
			goto tick;
		if (n <= 0)
			break;
		if (out == NULL)
			(void)fwrite(sink, 1, (size_t)n, stdout);
		else if (got + 1 < outlen) {
			got += (size_t)n;
			out[got] = '\0';
		}
tick:
		(void)clock_gettime(CLOCK_MONOTONIC, &t1);
		left = secs * 1000 - (int)((t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0) {
			timed_out = 1;
			break;
		}
	}
	close(p[0]);
	if (timed_out)
		(void)kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			warn("waitpid");
			return -1;
		}
	if (timed_out) {
		if (!silent)
			warnx("%s: no result within %d s, killed", argv[0],
			    secs);
		return -1;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (!silent)
		warnx("%s: killed by signal %d", argv[0], WTERMSIG(status));
	return -1;
}

/* The running containers named `name`, by crictl; -1 if crictl fails. */
static int
crictl_ids(const struct rs *s, const char *name, char ids[][80], int max)
{
	char	 out[4096], filter[96], *line, *save = NULL;
	char	*argv[] = { (char *)s->crictl, "ps", "-q", "--state",
	    "running", "--name", filter, NULL };
	int	 n = 0;

	if (xsnprintf(filter, sizeof(filter), "^%s$", name) == -1)
		return -1;
	if (run(argv, RS_CRITIME, out, sizeof(out), 1) != 0)
		return -1;
	for (line = strtok_r(out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		line[strcspn(line, " \t\r")] = '\0';
		if (line[0] == '\0' || n == max)
			continue;
		if (xsnprintf(ids[n], 80, "%s", line) == 0)
			n++;
	}
	return n;
}

static int
had_id(const struct comp *c, const char *id)
{
	int	 i;

	for (i = 0; i < c->nids; i++)
		if (strcmp(c->ids[i], id) == 0)
			return 1;
	return 0;
}

/*
 * Wait until every moved component is gone (starting == 0) or runs a new
 * container (starting == 1), at most s->wait seconds.  Returns 0 when all
 * did, 1 on timeout or a crictl failure (said), -1 on a signal.
 */
static int
wait_pods(struct rs *s, int starting)
{
	char	 now[RS_MAXIDS][80];
	int	 i, j, n, waited = 0, pending;

	for (;;) {
		pending = 0;
		for (i = 0; i < RS_NCOMP; i++) {
			if (!s->c[i].present)
				continue;
			if ((n = crictl_ids(s, s->c[i].name, now,
			    RS_MAXIDS)) == -1) {
				warnx("crictl failed; not watching the pods");
				return 1;
			}
			for (j = 0; j < n; j++)
				if (had_id(&s->c[i], now[j]) != starting)
					break;
			/* stopping: none of the old ones; starting: a new one */
			if (starting ? j == n : j < n) {
				pending++;
				if (waited >= s->wait)
					warnx("%s: %s after %d s", s->c[i].name,
					    starting ? "not running again" :
					    "still running", waited);
			}
		}
		if (pending == 0)
			return 0;
		if (waited >= s->wait)
			return 1;
		if (!pause_for(1))
			return -1;
		waited++;
	}
}

static int
fsync_dir(const char *dir)
{
	int	 fd, rc;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static int
hold_path(const char *dir, const char *name, char *out, size_t outlen)
{
	return xsnprintf(out, outlen, "%s/%s.yaml", dir, name);
}

/* Move every held manifest back; -1 if one could not be (said loudly). */
static int
move_back(struct rs *s)
{
	char	 from[PATH_MAX], to[PATH_MAX];
	int	 i, rc = 0;

	for (i = 0; i < RS_NCOMP; i++) {
		if (!s->c[i].moved)
			continue;
		if (hold_path(s->hold, s->c[i].name, from, sizeof(from)) ==
		    -1 || hold_path(s->mdir, s->c[i].name, to, sizeof(to)) ==
		    -1 || rename(from, to) == -1) {
			warn("cannot move %s back: it is still in %s; move it "
			    "to %s by hand", s->c[i].name, s->hold, s->mdir);
			rc = -1;
			continue;
		}
		s->c[i].moved = 0;
	}
	(void)fsync_dir(s->mdir);
	if (rc == 0 && s->hold[0] != '\0') {
		if (rmdir(s->hold) == -1)
			warn("rmdir %s", s->hold);
		(void)fsync_dir(s->kdir);
	}
	return rc;
}

/*
 * A hold directory a killed run left behind: move its manifests back
 * where nothing took their place.  -1 if one stays out.
 */
static int
recover_leftovers(struct rs *s)
{
	DIR		*d, *h;
	struct dirent	*de, *he;
	char		 hd[PATH_MAX], from[PATH_MAX], to[PATH_MAX];
	struct stat	 st;
	int		 rc = 0;

	if ((d = opendir(s->kdir)) == NULL) {
		warn("%s", s->kdir);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, RS_HOLD, strlen(RS_HOLD)) != 0)
			continue;
		if (xsnprintf(hd, sizeof(hd), "%s/%s", s->kdir,
		    de->d_name) == -1 || lstat(hd, &st) == -1 ||
		    !S_ISDIR(st.st_mode) || (h = opendir(hd)) == NULL)
			continue;
		while ((he = readdir(h)) != NULL) {
			if (he->d_name[0] == '.')
				continue;
			if (xsnprintf(from, sizeof(from), "%s/%s", hd,
			    he->d_name) == -1 || xsnprintf(to, sizeof(to),
			    "%s/%s", s->mdir, he->d_name) == -1)
				continue;
			if (lstat(to, &st) == 0) {
				warnx("%s: left by an earlier run, but %s "
				    "exists: left alone", from, to);
				rc = -1;
				continue;
			}
			if (s->dry_run) {
				progress("would move %s back (left by an "
				    "earlier run)", he->d_name);
				continue;
			}
			if (rename(from, to) == -1) {
				warn("cannot move %s back to %s", from, to);
				rc = -1;
				continue;
			}
			progress("moved %s back (left out by an earlier run)",
			    he->d_name);
		}
		closedir(h);
		if (!s->dry_run && rmdir(hd) == -1 && errno != ENOTEMPTY)
			warn("rmdir %s", hd);
	}
	closedir(d);
	if (!s->dry_run)
		(void)fsync_dir(s->mdir);
	return rc;
}

/* kube-apiserver's --secure-port, from its manifest; 6443 otherwise. */
static int
secure_port(const struct rs *s)
{
	struct buf	 b = { NULL, 0 };
	const char	*p;
	int		 port = 6443;

	if (root_readfile(&s->r, RS_MANIFESTS "/kube-apiserver.yaml", &b,
	    NULL) == 0 && (p = strstr((const char *)b.data,
	    "--secure-port=")) != NULL) {
		port = atoi(p + strlen("--secure-port="));
		if (port < 1 || port > 65535)
			port = 6443;
	}
	buf_free(&b);
	return port;
}

/*
 * The health probe, by `krescue health` itself.  Retries quietly until
 * the API server answers 200 or s->wait passes, then says the last word.
 */
static int
probe(struct rs *s)
{
	char	 url[512], rootarg[PATH_MAX], tmo[16];
	char	*argv[16];
	int	 argc = 0, rc, waited = 0, was_quiet = quiet, t;

	if (s->server != NULL) {
		if (xsnprintf(url, sizeof(url), "%s", s->server) == -1)
			return KR_FAIL;
	} else if (xsnprintf(url, sizeof(url), "https://127.0.0.1:%d",
	    secure_port(s)) == -1)
		return KR_FAIL;
	if (xsnprintf(rootarg, sizeof(rootarg), "%s",
	    s->r.dir[0] == '\0' ? "/" : s->r.dir) == -1)
		return KR_FAIL;
	t = s->wait < 10 ? (s->wait < 1 ? 1 : s->wait) : 10;
	if (xsnprintf(tmo, sizeof(tmo), "%d", t) == -1)
		return KR_FAIL;
	argv[argc++] = "health";
	argv[argc++] = "--root";
	argv[argc++] = rootarg;
	argv[argc++] = "--server";
	argv[argc++] = url;
	if (s->name != NULL || s->server == NULL) {
		argv[argc++] = "--tls-server-name";
		argv[argc++] = (char *)(s->name != NULL ? s->name :
		    "kubernetes");
	}
	if (root_exists(&s->r, "/etc/kubernetes/admin.conf")) {
		argv[argc++] = "--kubeconfig";
		argv[argc++] = "/etc/kubernetes/admin.conf";
	} else {
		argv[argc++] = "--ca";
		argv[argc++] = "/etc/kubernetes/pki/ca.crt";
	}
	argv[argc++] = "--timeout";
	argv[argc++] = tmo;
	argv[argc] = NULL;

	progress("probing the API server at %s (up to %d s)", url, s->wait);
	quiet = 1;
	for (;;) {
		optind = 0;	/* getopt starts afresh */
		rc = cmd_health(argc, argv);
		if (rc == KR_OK || rc == KR_USAGE || rc == KR_IO ||
		    waited >= s->wait || stop_signal)
			break;
		if (!pause_for(2))
			break;
		waited += 2;
		if (waited % 10 == 0 && !was_quiet)
			printf("restart: waiting for the API server (%d s)\n",
			    waited);
	}
	quiet = was_quiet;
	optind = 0;
	return cmd_health(argc, argv);	/* once more, out loud */
}

static int
do_restart(struct rs *s)
{
	char		 from[PATH_MAX], to[PATH_MAX], stamp[32];
	struct tm	 tm;
	time_t		 now = time(NULL);
	int		 i, rc = KR_FAIL, n, any = 0;
	char		*sysargv[] = { (char *)s->systemctl, "restart",
	    "kubelet", NULL };

	/* 1. hold the manifests in a directory of our own */
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0 ||
	    xsnprintf(s->hold, sizeof(s->hold), "%s/%s%s", s->kdir, RS_HOLD,
	    stamp) == -1)
		return KR_FAIL;
	for (i = 0; i < RS_NCOMP; i++)
		any |= s->c[i].present;
	if (any) {
		if (mkdir(s->hold, 0700) == -1) {
			warn("mkdir %s", s->hold);
			s->hold[0] = '\0';
			return KR_IO;
		}
		if (s->crictl != NULL)
			for (i = 0; i < RS_NCOMP; i++) {
				if (!s->c[i].present)
					continue;
				n = crictl_ids(s, s->c[i].name, s->c[i].ids,
				    RS_MAXIDS);
				s->c[i].nids = n < 0 ? 0 : n;
			}
		for (i = RS_NCOMP - 1; i >= 0; i--) {
			if (!s->c[i].present)
				continue;
			if (hold_path(s->mdir, s->c[i].name, from,
			    sizeof(from)) == -1 || hold_path(s->hold,
			    s->c[i].name, to, sizeof(to)) == -1)
				goto back;
			if (rename(from, to) == -1) {
				warn("cannot move %s out", from);
				rc = KR_IO;
				goto back;
			}
			s->c[i].moved = 1;
			progress("%s: manifest moved out", s->c[i].name);
		}
		(void)fsync_dir(s->mdir);

		/* 2. the kubelet stops them */
		if (s->crictl != NULL) {
			progress("waiting for the kubelet to stop them "
			    "(crictl, up to %d s)", s->wait);
			if (wait_pods(s, 0) == -1)
				goto signalled;
		} else if (s->wait > 0) {
			n = s->wait < RS_PAUSE ? s->wait : RS_PAUSE;
			progress("no crictl: pausing %d s for the kubelet", n);
			if (!pause_for(n))
				goto signalled;
		}

		/* 3. and starts them again */
		if (move_back(s) == -1) {
			rc = KR_IO;
			goto out;
		}
		progress("manifests moved back");
		if (s->crictl != NULL) {
			progress("waiting for the kubelet to start them "
			    "(crictl, up to %d s)", s->wait);
			if (wait_pods(s, 1) == -1)
				goto signalled;
		}
	} else
		progress("no control-plane manifests in %s", RS_MANIFESTS);

	/* 4. the kubelet itself */
	if (!s->no_kubelet) {
		progress("%s restart kubelet", s->systemctl);
		if ((n = run(sysargv, RS_CMDTIME, NULL, 0, 0)) != 0) {
			if (n > 0)
				warnx("%s restart kubelet: exit %d",
				    s->systemctl, n);
			warnx("the kubelet did not restart; the manifests are "
			    "in place");
			rc = KR_FAIL;
			goto out;
		}
	}
	if (stop_signal)
		goto signalled;

	/* 5. the API server answers with a certificate that verifies */
	if (s->c[RS_APISERVER].present || s->server != NULL) {
		rc = probe(s);
		if (rc == KR_OK)
			progress("done: the control plane restarted and the "
			    "API server is healthy");
		else
			warnx("the API server is not healthy after the restart");
	} else {
		progress("done (no API server on this node to probe)");
		rc = KR_OK;
	}
	goto out;

signalled:
	warnx("interrupted by signal %d: moving the manifests back",
	    (int)stop_signal);
	rc = KR_FAIL;
back:
	if (move_back(s) == -1)
		rc = KR_IO;
	else
		progress("manifests moved back");
out:
	return rc;
}

int
cmd_restart(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "wait", required_argument, NULL, 'w' },
		{ "no-kubelet", no_argument, NULL, 'K' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "server", required_argument, NULL, 's' },
		{ "tls-server-name", required_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct sigaction	 sa, old[3];
	static const int	 sigs[3] = { SIGINT, SIGTERM, SIGHUP };
	struct rs		*s;
	const char		*rootdir = "/", *env;
	char			 path[PATH_MAX], *endp;
	long			 l;
	int			 ch, i, rc;

	s = xcalloc(1, sizeof(*s));
	s->wait = RS_WAIT;
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			restart_usage(stdout);
			free(s);
			return KR_OK;
		case 'K':
			s->no_kubelet = 1;
			break;
		case 'n':
			s->dry_run = 1;
			break;
		case 'N':
			s->name = optarg;
			break;
		case 'r':
			rootdir = optarg;
			break;
		case 's':
			if (strncmp(optarg, "https://", 8) != 0)
				usage_error("restart", "--server %s: want "
				    "https://HOST[:PORT]", optarg);
			s->server = optarg;
			break;
		case 'w':
			errno = 0;
			l = strtol(optarg, &endp, 10);
			if (errno != 0 || endp == optarg || *endp != '\0' ||
			    l < 0 || l > RS_MAXWAIT)
				usage_error("restart", "--wait %s: want 0..%d "
				    "seconds", optarg, RS_MAXWAIT);
			s->wait = (int)l;
			break;
		default:
			bad_option("restart", ch, argv);
		}
	}
	if (optind != argc)
		usage_error("restart", "unexpected argument '%s'",
		    argv[optind]);
	open_root_or_exit(&s->r, rootdir);
	env = getenv("KRESCUE_RESTART_ANY_ROOT");
	if (s->r.dir[0] != '\0' && !s->dry_run &&
	    (env == NULL || strcmp(env, "1") != 0))
		usage_error("restart", "--root %s is not /: restart works on "
		    "the live node it runs on (use --dry-run to see the plan "
		    "for a mounted node)", rootdir);

	s->systemctl = (env = getenv("KRESCUE_SYSTEMCTL")) != NULL &&
	    *env != '\0' ? env : "systemctl";
	if ((env = getenv("KRESCUE_CRICTL")) != NULL)
		s->crictl = *env != '\0' ? env : NULL;
	else if (s->r.dir[0] == '\0')
		s->crictl = "crictl";
	if (s->crictl != NULL) {
		char *cargv[] = { (char *)s->crictl, "ps", "-q", NULL };

		if (run(cargv, RS_CRITIME, path, sizeof(path), 1) != 0) {
			if (getenv("KRESCUE_CRICTL") != NULL)
				warnx("%s ps fails: not watching the pods",
				    s->crictl);
			s->crictl = NULL;
		}
	}

	if (root_resolve(&s->r, RS_MANIFESTS, 0, s->mdir,
	    sizeof(s->mdir)) == -1 || root_resolve(&s->r, RS_KDIR, 0, s->kdir,
	    sizeof(s->kdir)) == -1) {
		warnx("%s: %s: not a Kubernetes node", RS_MANIFESTS,
		    path_error(errno));
		free(s);
		return KR_FAIL;
	}
	for (i = 0; i < RS_NCOMP; i++) {
		s->c[i].name = components[i];
		if (xsnprintf(path, sizeof(path), "%s/%s.yaml", RS_MANIFESTS,
		    components[i]) == -1) {
			free(s);
			return KR_FAIL;
		}
		s->c[i].present = root_exists(&s->r, path);
	}

	/* what happens, in order */
	progress("%s%s on %s", s->dry_run ? "plan (dry run)" : "plan",
	    s->no_kubelet ? ", kubelet left alone" : "", rootdir);
	for (i = 0; i < RS_NCOMP; i++)
		if (s->c[i].present)
			progress("  %s: move %s/%s.yaml out to %s/%sTIME/ "
			    "(0700) and back", s->c[i].name, RS_MANIFESTS,
			    s->c[i].name, RS_KDIR, RS_HOLD);
	if (s->crictl != NULL)
		progress("  wait for the pods to stop and start: %s, up to "
		    "%d s each", s->crictl, s->wait);
	else
		progress("  no crictl: pause %d s with the manifests out",
		    s->wait < RS_PAUSE ? s->wait : RS_PAUSE);
	if (!s->no_kubelet)
		progress("  %s restart kubelet", s->systemctl);
	if (s->c[RS_APISERVER].present || s->server != NULL)
		progress("  probe %s (up to %d s)", s->server != NULL ?
		    s->server : "https://127.0.0.1:PORT /healthz", s->wait);

	rc = recover_leftovers(s);
	if (s->dry_run) {
		free(s);
		return rc == 0 ? KR_OK : KR_FAIL;
	}
	if (rc == -1) {
		warnx("refusing: an earlier run's manifests are still out");
		free(s);
		return KR_FAIL;
	}

	/* a signal now means: put everything back, then stop */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < 3; i++)
		(void)sigaction(sigs[i], &sa, &old[i]);
	rc = do_restart(s);
	for (i = 0; i < 3; i++)
		(void)sigaction(sigs[i], &old[i], NULL);
	free(s);
	return rc;
}
