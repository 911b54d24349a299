/*
 * krescue rollback: put back the files of an earlier run from its backup,
 * all or nothing.
 */
#include <sys/types.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"
#include "txn.h"

static void
rollback_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: krescue rollback [--root DIR] [--list] [BACKUP]\n"
	    "\n"
	    "Restores the newest backup made by 'krescue renew' (or BACKUP, a "
	    "name from\n--list) byte for byte: contents, modes, owners and "
	    "symlinks; files the\nrenewal created are removed. The restore is "
	    "itself backed up first.\n"
	    "\n"
	    "  --list       list the backups under /var/lib/krescue/backup\n"
	    "\nexit status: 0 restored, 1 refused (nothing changed), 100 "
	    "usage, 111 I/O error\n");
}

int
cmd_rollback(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct root	 r;
	const char	*rootdir = "/", *backup = NULL;
	char		 why[512];
	int		 ch, list = 0, n;

	while ((ch = getopt_long(argc, argv, ":hl", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			rollback_usage(stdout);
			return KR_OK;
		case 'l':
			list = 1;
			break;
		case 'r':
			rootdir = optarg;
			break;
		default:
			bad_option("rollback", ch, argv);
		}
	}
	if (argc - optind > 1)
		usage_error("rollback", "at most one BACKUP");
	if (optind < argc)
		backup = argv[optind];
	open_root_or_exit(&r, rootdir);
	if (list) {
		if ((n = txn_list_backups(&r, stdout)) == -1)
			return KR_IO;
		if (n == 0)
			printf("no backups under %s\n", TXN_BACKUPS);
		return KR_OK;
	}
	if (txn_rollback(&r, backup, why, sizeof(why)) == -1) {
		warnx("rollback refused: %s; nothing changed", why);
		return errno == EIO ? KR_IO : KR_FAIL;
	}
	printf("restored %s on %s\n", backup != NULL ? backup :
	    "the newest backup", rootdir);
	printf("Next: restart the control plane and the kubelet so they "
	    "load the restored files.\n");
	return KR_OK;
}
