/*
 * krescue: bring a Kubernetes control plane back when its certificates
 * expired, offline.  main() dispatches to one verb per file (cmd_*.c).
 */
#include <sys/resource.h>
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "extern.h"

struct verb {
	const char	*name;
	int		(*run)(int, char **);
	const char	*synopsis;
};

static const struct verb verbs[] = {
	{ "check", cmd_check,
	    "check [--root DIR] [--now TIME] [--warn DURATION]\n"
	    "                [-o table|kubeadm|json|prometheus] [--config FILE]" },
	{ "renew", cmd_renew,
	    "renew [--root DIR] [--dry-run] [--only NAME,...]\n"
	    "                [--expiring-within DURATION] [--validity DURATION]\n"
	    "                [--reuse-keys] [--config FILE]" },
	{ "init", cmd_init,
	    "init [--root DIR] [--config FILE] [--force] [--dry-run] "
	    "[--from-node DIR]\n"
	    "                [--node-name NAME] [--advertise-address IP] ..." },
	{ "kubeconfig", cmd_kubeconfig,
	    "kubeconfig --user NAME [--group GROUP]... [--server URL]\n"
	    "                [--validity DURATION] [--key-type TYPE] "
	    "[--ca-from DIR] [-o FILE]" },
	{ "kubelet", cmd_kubelet,
	    "kubelet --node NAME [--server URL] [--ca-from DIR] [--dry-run]" },
	{ "renew-ca", cmd_renew_ca,
	    "renew-ca [--root DIR] [--ca NAME|all] [--validity DURATION] "
	    "[--dry-run]" },
	{ "rollback", cmd_rollback, "rollback [--root DIR] [--list] [BACKUP]" },
	{ "recover", cmd_recover, "recover [--root DIR]" },
	{ "stage", cmd_stage, "stage [--root DIR] [--remove]" },
	{ "restart", cmd_restart,
	    "restart [--root DIR] [--wait SECONDS] [--no-kubelet] [--dry-run]\n"
	    "                [--server URL] [--tls-server-name NAME]" },
	{ "health", cmd_health,
	    "health [--root DIR] [--kubeconfig FILE | --ca FILE "
	    "[--cert FILE --key FILE]]\n"
	    "                [--server URL] [--tls-server-name NAME] "
	    "[--path PATH] [--timeout SECONDS]" },
	{ "version", cmd_version, "version" },
};

static void
usage(FILE *fp)
{
	size_t	 i;

	fprintf(fp, "usage: krescue [-q | -v] VERB [options]\n\n");
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(fp, "  krescue %s\n", verbs[i].synopsis);
	fprintf(fp,
	    "\nkrescue checks and renews the certificates of a kubeadm or "
	    "Kubespray\ncontrol-plane node offline, with no API server "
	    "running.\n"
	    "\nexit status:\n"
	    "  0    done, or every certificate is fine\n"
	    "  1    failed (nothing changed), or no Kubernetes found\n"
	    "  2    a certificate expires within the warning window, or "
	    "nothing to do\n"
	    "  3    a certificate expired or is invalid\n"
	    "  100  usage error\n"
	    "  111  system or I/O error\n");
}

int
main(int argc, char *argv[])
{
	static const struct rlimit nocore = { 0, 0 };
	size_t	 i;
	int	 a = 1;

	/* a crash must not leave a core file full of CA keys */
	(void)setrlimit(RLIMIT_CORE, &nocore);
	/* every line we print goes out in one piece, even into a pipe */
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (; a < argc && argv[a][0] == '-'; a++) {
		if (strcmp(argv[a], "-v") == 0)
			verbose = 1;
		else if (strcmp(argv[a], "-q") == 0)
			quiet = 1;
		else if (strcmp(argv[a], "-h") == 0 ||
		    strcmp(argv[a], "--help") == 0) {
			usage(stdout);
			return KR_OK;
		} else if (strcmp(argv[a], "--version") == 0)
			return cmd_version(1, argv);
		else
			usage_error(NULL, "unknown option %s", argv[a]);
	}
	if (a == argc) {
		usage(stderr);
		return KR_USAGE;
	}
	if (strcmp(argv[a], "help") == 0) {
		usage(stdout);
		return KR_OK;
	}
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(argv[a], verbs[i].name) == 0)
			return verbs[i].run(argc - a, argv + a);
	usage_error(NULL, "unknown verb '%s'", argv[a]);
}
