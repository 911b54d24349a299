/*
 * krescue stage: prepare the node's next boot after an offline renewal.
 *
 * Writes, inside --root, each file atomically and durably (temp file in
 * the same directory, O_CREAT|O_EXCL|O_NOFOLLOW, fsync, rename, fsync of
 * the directory):
 *
 *   /etc/systemd/system/krescue-finish.service      the oneshot unit
 *   /etc/systemd/system/multi-user.target.wants/krescue-finish.service
 *                                    -> ../krescue-finish.service
 *   /var/lib/krescue/finish.sh       what the unit runs
 *   /var/lib/krescue/finish-pending  the flag, written last
 *   /.autorelabel                    only when the node runs SELinux
 *
 * The unit runs only while the flag exists, removes it before anything
 * else (no loop if the script fails), runs before kubelet.service and
 * records its outcome in /var/lib/krescue/finish.log and finish-result.
 *
 * Not a transaction of txn.c on purpose: a backup of kind "commit" made
 * here would become the one `krescue rollback` restores by default, and
 * an operator rolling back a renewal must get the certificates back, not
 * merely lose the staged unit.  Staging is idempotent; --remove undoes it.
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

#define STAGE_UNITDIR	"/etc/systemd/system"
#define STAGE_UNIT	"krescue-finish.service"
#define STAGE_WANTS	STAGE_UNITDIR "/multi-user.target.wants"
#define STAGE_STATE	"/var/lib/krescue"
#define STAGE_SCRIPT	STAGE_STATE "/finish.sh"
#define STAGE_FLAG	STAGE_STATE "/finish-pending"
#define HEALTH_UNIT	"krescue-health.service"
#define HEALTH_SCRIPT	STAGE_STATE "/health.sh"
#define HEALTH_FLAG	STAGE_STATE "/health-pending"
#define HEALTH_BINARY	STAGE_STATE "/krescue"

static const char unit_text[] =
"# Written by krescue stage after an offline certificate renewal.\n"
"# Runs once, on the next boot, before the kubelet; remove with\n"
"# 'krescue stage --remove'.  Enabled by the link in\n"
"# multi-user.target.wants/ (no [Install] section on purpose).\n"
"[Unit]\n"
"Description=Finish the certificate renewal staged by krescue\n"
"ConditionPathExists=" STAGE_FLAG "\n"
"RequiresMountsFor=" STAGE_STATE "\n"
"After=local-fs.target\n"
"Before=kubelet.service\n"
"\n"
"[Service]\n"
"Type=oneshot\n"
"ExecStartPre=/bin/rm -f " STAGE_FLAG "\n"
"ExecStart=/bin/sh " STAGE_SCRIPT "\n"
"TimeoutStartSec=120\n";

static const char script_text[] =
"#!/bin/sh\n"
"# Written by krescue stage; run once by krescue-finish.service on the\n"
"# first boot after an offline certificate renewal, before the kubelet.\n"
"umask 077\n"
"state=" STAGE_STATE "\n"
"rm -f \"$state/finish-pending\"\n"
"log=\"$state/finish.log\"\n"
"status=ok\n"
"say() {\n"
"\techo \"krescue-finish: $*\"\n"
"\techo \"$(date -u +%Y-%m-%dT%H:%M:%SZ) $*\" >>\"$log\"\n"
"}\n"
"say \"start (staged: $(cat \"$state/staged\" 2>/dev/null))\"\n"
"\n"
"# the kubelet must start with the new files\n"
"if command -v systemctl >/dev/null 2>&1; then\n"
"\tif ! systemctl is-enabled --quiet kubelet.service 2>/dev/null; then\n"
"\t\tif systemctl enable kubelet.service >/dev/null 2>&1; then\n"
"\t\t\tsay \"kubelet.service was not enabled: enabled it\"\n"
"\t\t\tsystemctl start --no-block kubelet.service\n"
"\t\telse\n"
"\t\t\tsay \"cannot enable kubelet.service\"\n"
"\t\t\tstatus=failed\n"
"\t\tfi\n"
"\tfi\n"
"fi\n"
"\n"
"# kubelet-client-current.pem must point at a file that exists\n"
"kpem=/var/lib/kubelet/pki/kubelet-client-current.pem\n"
"if [ -L \"$kpem\" ] && [ ! -e \"$kpem\" ]; then\n"
"\tsay \"$kpem is a dangling link\"\n"
"\tstatus=failed\n"
"fi\n"
"\n"
"# /root/.kube/config: refresh it when it is the admin.conf user\n"
"admin=/etc/kubernetes/admin.conf\n"
"cfg=/root/.kube/config\n"
"if [ -f \"$admin\" ] && [ -f \"$cfg\" ] && ! cmp -s \"$admin\" \"$cfg\" &&\n"
"    grep -q 'name: kubernetes-admin' \"$cfg\" &&\n"
"    [ \"$(grep -m 1 'server:' \"$cfg\")\" = \"$(grep -m 1 'server:' \"$admin\")\" ]\n"
"then\n"
"\trm -f \"$cfg.krescue-new\"\n"
"\tif cp \"$admin\" \"$cfg.krescue-new\" && chmod 0600 \"$cfg.krescue-new\" &&\n"
"\t    mv -f \"$cfg.krescue-new\" \"$cfg\"; then\n"
"\t\tsay \"refreshed $cfg from $admin\"\n"
"\telse\n"
"\t\trm -f \"$cfg.krescue-new\"\n"
"\t\tsay \"cannot refresh $cfg\"\n"
"\t\tstatus=failed\n"
"\tfi\n"
"fi\n"
"\n"
"# files written from the rescue image carry no SELinux label\n"
"if command -v restorecon >/dev/null 2>&1 &&\n"
"    [ -e /sys/fs/selinux/enforce ]; then\n"
"\trestorecon -R /etc/kubernetes /var/lib/kubelet/pki /root/.kube \\\n"
"\t    /etc/systemd/system/" STAGE_UNIT " \"$state\" 2>/dev/null\n"
"\tsay \"restored SELinux labels\"\n"
"fi\n"
"\n"
"say \"done: $status\"\n"
"echo \"$status $(date -u +%Y-%m-%dT%H:%M:%SZ)\" >\"$state/finish-result\"\n"
"sync\n"
"[ \"$status\" = ok ]\n";

/*
 * After the kubelet has started the control plane: probe the API server
 * with the krescue binary staged beside it, for up to ten minutes, and
 * record the outcome.  A service of its own (not the oneshot above) so
 * that the boot does not wait for it.
 */
static const char health_unit_text[] =
"# Written by krescue stage: checks the API server once after the\n"
"# first boot following an offline certificate renewal.\n"
"[Unit]\n"
"Description=Check the API server after the renewal staged by krescue\n"
"ConditionPathExists=" HEALTH_FLAG "\n"
"RequiresMountsFor=" STAGE_STATE "\n"
"After=kubelet.service " STAGE_UNIT "\n"
"\n"
"[Service]\n"
"Type=exec\n"
"ExecStartPre=/bin/rm -f " HEALTH_FLAG "\n"
"ExecStart=/bin/sh " HEALTH_SCRIPT "\n";

static const char health_script_text[] =
"#!/bin/sh\n"
"# Written by krescue stage; run once by krescue-health.service.\n"
"state=" STAGE_STATE "\n"
"log=\"$state/finish.log\"\n"
"port=$(sed -n 's/.*--secure-port=\\([0-9]*\\).*/\\1/p' \\\n"
"    /etc/kubernetes/manifests/kube-apiserver.yaml 2>/dev/null | head -n 1)\n"
"url=https://127.0.0.1:${port:-6443}\n"
"i=0\n"
"while [ $i -lt 60 ]; do\n"
"\tif out=$(\"$state/krescue\" -q health --server \"$url\" \\\n"
"\t    --tls-server-name kubernetes --timeout 5 2>&1); then\n"
"\t\techo \"$(date -u +%Y-%m-%dT%H:%M:%SZ) health ok: $out\" >>\"$log\"\n"
"\t\techo \"ok $(date -u +%Y-%m-%dT%H:%M:%SZ)\" >\"$state/health-result\"\n"
"\t\texit 0\n"
"\tfi\n"
"\ti=$((i + 1))\n"
"\tsleep 10\n"
"done\n"
"echo \"$(date -u +%Y-%m-%dT%H:%M:%SZ) health failed: $out\" >>\"$log\"\n"
"echo \"failed $(date -u +%Y-%m-%dT%H:%M:%SZ)\" >\"$state/health-result\"\n"
"exit 1\n";

/* This very binary, to be staged on the node for the health check. */
static int
self_content(struct buf *b)
{
	struct root	 sys;

	if (root_open(&sys, "/") == -1 ||
	    root_readfile(&sys, "/proc/self/exe", b, NULL) == -1) {
		warn("/proc/self/exe");
		return -1;
	}
	return 0;
}

static void
stage_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: krescue stage [--root DIR] [--remove]\n"
	    "\n"
	    "Stages the node's next boot after an offline renewal: a oneshot\n"
	    "unit, " STAGE_UNITDIR "/" STAGE_UNIT ", that runs once\n"
	    "before kubelet.service (kubelet enabled, /root/.kube/config "
	    "refreshed,\nSELinux labels restored), its script and its flag "
	    STAGE_FLAG ".\n"
	    "Every file is written atomically and durably.\n"
	    "\n"
	    "  --remove     take the staged unit, link, script and flag away\n"
	    "\nexit status: 0 staged (or removed), 1 refused (no systemd on "
	    "the node),\n100 usage, 111 I/O error\n");
}

/*
 * Open the node directory `node` (created with mode `create` when that
 * is not 0 and it is missing; its parent must exist).  Its host path goes to
 * `host`.  Returns a directory fd or -1.
 */
static int
open_dir(const struct root *r, const char *node, mode_t create, char *host,
    size_t hostsz)
{
	char	 parent[PATH_MAX];
	char	*slash;
	int	 fd, pfd;

	if (root_resolve(r, node, ROOT_MAY_NOT_EXIST, host, hostsz) == -1) {
		warn("%s", node);
		return -1;
	}
	if (create != 0 && mkdir(host, create) == 0) {
		/* make the new entry durable in its parent */
		if (xsnprintf(parent, sizeof(parent), "%s", host) == -1)
			return -1;
		if ((slash = strrchr(parent, '/')) != NULL && slash != parent)
			*slash = '\0';
		if ((pfd = open(parent, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) == -1 || fsync(pfd) == -1) {
			warn("%s: fsync of the parent", node);
			if (pfd != -1)
				close(pfd);
			return -1;
		}
		close(pfd);
	} else if (create != 0 && errno != EEXIST) {
		warn("mkdir %s", node);
		return -1;
	}
	if ((fd = open(host, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		warn("%s", node);
	return fd;
}

/*
 * Put `name` in the open directory `dfd` (node path `node` for
 * messages): a regular file with `data` and `mode`, or, when `link` is
 * not NULL, a symlink to `link`.  Atomic and durable.
 */
static int
put_entry(int dfd, const char *node, const char *name, const char *data,
    mode_t mode, const char *link)
{
	char		 tmp[NAME_MAX + 1];
	size_t		 len, off = 0;
	ssize_t		 n;
	int		 fd = -1, made = 0, rc = -1;
	static unsigned	 seq;

	if (xsnprintf(tmp, sizeof(tmp), ".%s.krescue-%ld-%u", name,
	    (long)getpid(), seq++) == -1)
		return -1;
	if (link != NULL) {
		if (symlinkat(link, dfd, tmp) == -1) {
			warn("%s: symlink", node);
			goto out;
		}
		made = 1;
	} else {
		if ((fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1) {
			warn("%s: create", node);
			goto out;
		}
		made = 1;
		if (fchmod(fd, mode) == -1) {
			warn("%s: chmod", node);
			goto out;
		}
		for (len = strlen(data); off < len; off += (size_t)n) {
			if ((n = write(fd, data + off, len - off)) == -1) {
				if (errno == EINTR) {
					n = 0;
					continue;
				}
				warn("%s: write", node);
				goto out;
			}
		}
		if (fsync(fd) == -1) {
			warn("%s: fsync", node);
			goto out;
		}
		if (close(fd) == -1) {
			fd = -1;
			warn("%s: close", node);
			goto out;
		}
		fd = -1;
	}
	if (renameat(dfd, tmp, dfd, name) == -1) {
		warn("%s: rename", node);
		goto out;
	}
	made = 0;
	if (fsync(dfd) == -1) {
		warn("%s: fsync of the directory", node);
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (made)
		(void)unlinkat(dfd, tmp, 0);
	return rc;
}

/* put_entry for binary content (the staged krescue, 0755). */
static int
put_bytes(int dfd, const char *node, const char *name, const struct buf *b)
{
	char		 tmp[NAME_MAX + 1];
	size_t		 off = 0;
	ssize_t		 n;
	int		 fd = -1, rc = -1;

	if (xsnprintf(tmp, sizeof(tmp), ".%s.krescue-%ld", name,
	    (long)getpid()) == -1)
		return -1;
	if ((fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		warn("%s: create", node);
		return -1;
	}
	if (fchmod(fd, 0755) == -1)
		goto out;
	while (off < b->len) {
		if ((n = write(fd, b->data + off, b->len - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) == -1)
		goto out;
	if (close(fd) == -1) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (renameat(dfd, tmp, dfd, name) == -1 || fsync(dfd) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1) {
		warn("%s", node);
		(void)unlinkat(dfd, tmp, 0);
	}
	if (fd != -1)
		close(fd);
	return rc;
}

/* Remove `name` from `dir` (absent is fine), durably. */
static int
remove_entry(const struct root *r, const char *dir, const char *name)
{
	char	 host[PATH_MAX];
	int	 dfd, rc = 0;

	if (root_resolve(r, dir, 0, host, sizeof(host)) == -1) {
		if (errno == ENOENT)
			return 0;
		warn("%s", dir);
		return -1;
	}
	if ((dfd = open(host, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		warn("%s", dir);
		return -1;
	}
	if (unlinkat(dfd, name, 0) == -1 && errno != ENOENT) {
		warn("%s/%s", dir, name);
		rc = -1;
	} else if (fsync(dfd) == -1) {
		warn("%s", dir);
		rc = -1;
	}
	close(dfd);
	return rc;
}

/* Does the node run SELinux (enforcing or permissive)? */
static int
node_selinux(const struct root *r)
{
	struct buf	 b = { NULL, 0 };
	const char	*p, *nl, *end;
	size_t		 n;
	int		 on = 0;

	if (root_readfile(r, "/etc/selinux/config", &b, NULL) == -1)
		return 0;
	end = (const char *)b.data + b.len;
	for (p = (const char *)b.data; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		n = (size_t)(nl - p);
		if ((n >= 17 && memcmp(p, "SELINUX=enforcing", 17) == 0) ||
		    (n >= 18 && memcmp(p, "SELINUX=permissive", 18) == 0))
			on = 1;
	}
	buf_free(&b);
	return on;
}

static int
stage_remove(const struct root *r)
{
	if (remove_entry(r, STAGE_STATE, "finish-pending") == -1 ||
	    remove_entry(r, STAGE_STATE, "health-pending") == -1 ||
	    remove_entry(r, STAGE_WANTS, STAGE_UNIT) == -1 ||
	    remove_entry(r, STAGE_WANTS, HEALTH_UNIT) == -1 ||
	    remove_entry(r, STAGE_UNITDIR, STAGE_UNIT) == -1 ||
	    remove_entry(r, STAGE_UNITDIR, HEALTH_UNIT) == -1 ||
	    remove_entry(r, STAGE_STATE, "finish.sh") == -1 ||
	    remove_entry(r, STAGE_STATE, "health.sh") == -1 ||
	    remove_entry(r, STAGE_STATE, "krescue") == -1)
		return KR_IO;
	if (!quiet)
		printf("removed the staged %s\n", STAGE_UNIT);
	return KR_OK;
}

static int
stage_write(const struct root *r, const char *rootdir)
{
	static const char *const statedirs[] = {
		"/var", "/var/lib", STAGE_STATE
	};
	char	 host[PATH_MAX], stamp[64], flag[160];
	size_t	 i;
	struct buf	 self = { NULL, 0 };
	int	 unitfd = -1, wantsfd = -1, statefd = -1, rootfd = -1;
	int	 rc = KR_IO, selinux;

	if (root_resolve(r, STAGE_UNITDIR, 0, host, sizeof(host)) == -1) {
		warn("%s on %s: not a systemd node? nothing staged",
		    STAGE_UNITDIR, rootdir);
		return KR_FAIL;
	}
	selinux = node_selinux(r);
	fmt_rfc3339(time(NULL), stamp, sizeof(stamp));
	if (xsnprintf(flag, sizeof(flag), "staged %s by krescue %s\n",
	    stamp, KRESCUE_VERSION) == -1)
		return KR_FAIL;

	if ((unitfd = open_dir(r, STAGE_UNITDIR, 0, host, sizeof(host))) ==
	    -1 || (wantsfd = open_dir(r, STAGE_WANTS, 0755, host,
	    sizeof(host))) == -1)
		goto out;
	for (i = 0; i < sizeof(statedirs) / sizeof(statedirs[0]); i++) {
		if (statefd != -1)
			close(statefd);
		/* krescue's own directory holds backups of keys: 0700 */
		if ((statefd = open_dir(r, statedirs[i], strcmp(statedirs[i],
		    STAGE_STATE) == 0 ? 0700 : 0755, host, sizeof(host))) == -1)
			goto out;
	}

	/* the flag last: until it exists the unit does nothing */
	if (put_entry(unitfd, STAGE_UNITDIR "/" STAGE_UNIT, STAGE_UNIT,
	    unit_text, 0644, NULL) == -1 ||
	    put_entry(statefd, STAGE_SCRIPT, "finish.sh", script_text, 0755,
	    NULL) == -1 ||
	    put_entry(statefd, STAGE_STATE "/staged", "staged", flag, 0644,
	    NULL) == -1 ||
	    put_entry(wantsfd, STAGE_WANTS "/" STAGE_UNIT, STAGE_UNIT, NULL,
	    0, "../" STAGE_UNIT) == -1)
		goto out;
	/* the health check after boot: its unit, script, binary and link */
	if (self_content(&self) == -1 ||
	    put_entry(unitfd, STAGE_UNITDIR "/" HEALTH_UNIT, HEALTH_UNIT,
	    health_unit_text, 0644, NULL) == -1 ||
	    put_entry(statefd, HEALTH_SCRIPT, "health.sh", health_script_text,
	    0755, NULL) == -1 ||
	    put_bytes(statefd, HEALTH_BINARY, "krescue", &self) == -1 ||
	    put_entry(wantsfd, STAGE_WANTS "/" HEALTH_UNIT, HEALTH_UNIT, NULL,
	    0, "../" HEALTH_UNIT) == -1 ||
	    put_entry(statefd, HEALTH_FLAG, "health-pending", flag, 0644,
	    NULL) == -1)
		goto out;
	if (selinux) {
		if ((rootfd = open_dir(r, "/", 0, host, sizeof(host))) == -1 ||
		    put_entry(rootfd, "/.autorelabel", ".autorelabel", "",
		    0644, NULL) == -1)
			goto out;
	}
	if (put_entry(statefd, STAGE_FLAG, "finish-pending", flag, 0644,
	    NULL) == -1)
		goto out;

	if (!quiet) {
		printf("staged %s on %s\n", STAGE_UNIT, rootdir);
		printf("  %s/%s (oneshot, before kubelet.service)\n",
		    STAGE_UNITDIR, STAGE_UNIT);
		printf("  %s/%s -> ../%s\n", STAGE_WANTS, STAGE_UNIT,
		    STAGE_UNIT);
		printf("  %s, %s\n", STAGE_SCRIPT, STAGE_FLAG);
		printf("  %s/%s (after kubelet.service: krescue health of the "
		    "API server)\n", STAGE_UNITDIR, HEALTH_UNIT);
		if (selinux)
			printf("  /.autorelabel (the node runs SELinux)\n");
		printf("It runs once on the next boot; its log is "
		    STAGE_STATE "/finish.log.\n");
	}
	rc = KR_OK;
out:
	buf_free(&self);
	if (unitfd != -1)
		close(unitfd);
	if (wantsfd != -1)
		close(wantsfd);
	if (statefd != -1)
		close(statefd);
	if (rootfd != -1)
		close(rootfd);
	if (rc != KR_OK)
		warnx("staging failed on %s: the unit may be incomplete but "
		    "does nothing without its flag", rootdir);
	return rc;
}

int
cmd_stage(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "remove", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct root	 r;
	const char	*rootdir = "/";
	int		 ch, remove = 0;

	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			stage_usage(stdout);
			return KR_OK;
		case 'r':
			rootdir = optarg;
			break;
		case 'R':
			remove = 1;
			break;
		default:
			bad_option("stage", ch, argv);
		}
	}
	if (optind < argc)
		usage_error("stage", "unexpected argument %s", argv[optind]);
	open_root_or_exit(&r, rootdir);
	if (remove)
		return stage_remove(&r);
	return stage_write(&r, rootdir);
}
