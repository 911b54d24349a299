/*
 * krescue check: find and judge every certificate of the node.
 */
#include <sys/types.h>

#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "extern.h"

static void
check_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: krescue check [--root DIR] [--now TIME] [--warn DURATION]\n"
	    "                     [-o table|kubeadm|json|prometheus] "
	    "[--config FILE]\n"
	    "                     [--compare OTHER_ROOT]\n"
	    "\n"
	    "  --root DIR      the node's root directory (default /)\n"
	    "  --now TIME      judge as of this RFC 3339 time\n"
	    "  --warn DUR      'expiring soon' window (default 30d)\n"
	    "  -o FORMAT       table (default), kubeadm (as kubeadm certs "
	    "check-expiration),\n"
	    "                  json, prometheus (textfile collector)\n"
	    "  --config FILE   kubeadm config on the node (default\n"
	    "                  /etc/kubernetes/kubeadm-config.yaml when "
	    "present)\n"
	    "  --compare DIR   also compare the files control planes share "
	    "(CAs, sa keys)\n"
	    "                  with another node's root mounted at DIR\n"
	    "\nexit status: 0 all fine, 2 expiring within the window, "
	    "3 expired or invalid,\n"
	    "1 no Kubernetes found, 100 usage, 111 I/O error\n");
}

int
cmd_check(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "now", required_argument, NULL, 'n' },
		{ "warn", required_argument, NULL, 'w' },
		{ "output", required_argument, NULL, 'o' },
		{ "config", required_argument, NULL, 'c' },
		{ "compare", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct root	 r;
	struct check	*c;
	const char	*rootdir = "/", *now = NULL, *warn = "30d";
	const char	*fmt = "table", *config = NULL, *compare = NULL;
	struct root	 other;
	int		 ch, rc;

	while ((ch = getopt_long(argc, argv, ":ho:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'C':
			compare = optarg;
			break;
		case 'h':
			check_usage(stdout);
			return KR_OK;
		case 'n':
			now = optarg;
			break;
		case 'o':
			fmt = optarg;
			break;
		case 'r':
			rootdir = optarg;
			break;
		case 'w':
			warn = optarg;
			break;
		default:
			bad_option("check", ch, argv);
		}
	}
	if (optind != argc)
		usage_error("check", "unexpected argument '%s'", argv[optind]);
	if (strcmp(fmt, "table") != 0 && strcmp(fmt, "kubeadm") != 0 &&
	    strcmp(fmt, "json") != 0 && strcmp(fmt, "prometheus") != 0)
		usage_error("check", "-o %s: want table, kubeadm, json or "
		    "prometheus", fmt);

	c = xcalloc(1, sizeof(*c));
	c->root_arg = rootdir;
	c->now = parse_now_or_exit("check", now);
	if (parse_duration(warn, &c->warn) == -1)
		usage_error("check", "--warn %s: not a duration (e.g. 30d, "
		    "720h)", warn);
	open_root_or_exit(&r, rootdir);
	if (layout_discover(&r, config, &c->lo) == -1) {
		warnx("%s", c->lo.layout_error);
		free(c);
		return KR_FAIL;
	}
	check_run(c);
	if (compare != NULL) {
		open_root_or_exit(&other, compare);
		c->compare_arg = compare;
		if (check_compare(c, &r, &other) > 0 && !quiet)
			warnx("shared CA or service-account files differ from "
			    "%s: every control plane must hold the same ones",
			    compare);
	}
	if (root_exists(&r, "/var/lib/krescue/journal"))
		warnx("an interrupted krescue change is pending on %s: run "
		    "'krescue recover' (or renew, or rollback) to settle it",
		    rootdir);
	if (strcmp(fmt, "kubeadm") == 0)
		report_kubeadm(stdout, c);
	else if (strcmp(fmt, "json") == 0)
		report_json(stdout, c);
	else if (strcmp(fmt, "prometheus") == 0)
		report_prometheus(stdout, c);
	else
		report_table(stdout, c);
	rc = check_exit_code(c);
	if (fflush(stdout) == EOF)
		err(KR_IO, "stdout");
	if (rc == KR_BAD && !quiet && strcmp(fmt, "table") != 0)
		warnx("problems found; run 'krescue check' for details");
	layout_free(&c->lo);
	free(c);
	return rc;
}
