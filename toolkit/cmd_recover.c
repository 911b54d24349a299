/*
 * krescue recover: finish or undo a change that a crash or power loss
 * interrupted.  renew and rollback do this first on their own; this verb
 * does only that, for an operator who wants to see the node settle.
 */
#include <sys/types.h>

#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "extern.h"
#include "txn.h"

static void
recover_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: krescue recover [--root DIR]\n"
	    "\n"
	    "Finishes (when every new file was complete) or undoes (from the "
	    "backup) a\nchange that was interrupted, so the node holds either "
	    "the complete old set\nof files or the complete new set.\n"
	    "\nexit status: 0 settled (or nothing was pending), 1 refused, "
	    "100 usage,\n111 I/O error\n");
}

int
cmd_recover(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct root	 r;
	const char	*rootdir = "/";
	int		 ch, how = TXN_RECOVER_NONE;

	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			recover_usage(stdout);
			return KR_OK;
		case 'r':
			rootdir = optarg;
			break;
		default:
			bad_option("recover", ch, argv);
		}
	}
	if (optind != argc)
		usage_error("recover", "unexpected argument '%s'",
		    argv[optind]);
	open_root_or_exit(&r, rootdir);
	if (txn_recover(&r, &how) == -1) {
		warnx("recovery failed; the journal stays for the next run");
		return KR_IO;
	}
	switch (how) {
	case TXN_RECOVER_FORWARD:
		printf("finished an interrupted change: the new files are in "
		    "place\n");
		break;
	case TXN_RECOVER_BACK:
		printf("undid an interrupted change: the old files are in "
		    "place\n");
		break;
	default:
		printf("nothing to recover on %s\n", rootdir);
		break;
	}
	return KR_OK;
}
