/*
 * test_report.c: the four renderings of a check of the fixture tree,
 * under AddressSanitizer (the kubeadm table's column widths look back at
 * earlier rows), and the kubeadm table byte for byte.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extern.h"
#include "unit.h"

#define FIX "../shared/fixtures/kubeadm-v1.28.4"

static int
sh(const char *cmd)
{
	return system(cmd) == 0;
}

static char *
render(void (*fn)(FILE *, const struct check *), const struct check *c)
{
	char	*mem = NULL;
	size_t	 len = 0;
	FILE	*fp;

	if ((fp = open_memstream(&mem, &len)) == NULL)
		return NULL;
	fn(fp, c);
	fclose(fp);
	return mem;
}

/* The text with every run of blanks before a newline removed. */
static void
rstrip_lines(char *s)
{
	char	*r = s, *w = s, *blank = NULL;

	for (; *r != '\0'; r++) {
		if (*r == ' ') {
			if (blank == NULL)
				blank = w;
		} else if (*r == '\n') {
			if (blank != NULL)
				w = blank;
			blank = NULL;
		} else
			blank = NULL;
		*w++ = *r;
	}
	*w = '\0';
}

int
main(void)
{
	char		 dir[] = "/tmp/krescue-report.XXXXXX", cmd[1024];
	char		*out, *want;
	struct root	 r;
	struct check	*c;
	FILE		*fp;
	long		 n;

	CHECK("temp dir", mkdtemp(dir) != NULL);
	(void)snprintf(cmd, sizeof(cmd), "mkdir -p %s/etc/kubernetes && "
	    "cp -r " FIX "/pki " FIX "/admin.conf " FIX "/kubelet.conf "
	    FIX "/controller-manager.conf " FIX "/scheduler.conf "
	    FIX "/kubeadm-config.yaml %s/etc/kubernetes/ && "
	    "chmod -R u+w %s && chmod 600 %s/etc/kubernetes/pki/*.key "
	    "%s/etc/kubernetes/pki/etcd/*.key %s/etc/kubernetes/*.conf",
	    dir, dir, dir, dir, dir, dir);
	CHECK("fixture laid out as a node", sh(cmd));

	c = calloc(1, sizeof(*c));
	CHECK("root opens", root_open(&r, dir) == 0);
	c->root_arg = dir;
	CHECK("--now parses", parse_rfc3339("2026-11-24T11:41:55Z", &c->now) ==
	    0);
	c->warn = 30 * 86400;
	CHECK("layout found", layout_discover(&r, NULL, &c->lo) == 0);
	check_run(c);
	CHECK("all fine at that time", check_exit_code(c) == KR_OK);

	out = render(report_kubeadm, c);
	CHECK("kubeadm table rendered", out != NULL);
	fp = fopen(FIX "/check-expiration.txt", "r");
	CHECK("reference table read", fp != NULL);
	want = calloc(1, 8192);
	n = fp != NULL ? (long)fread(want, 1, 8191, fp) : 0;
	if (fp != NULL)
		fclose(fp);
	want[n] = '\0';
	if (out != NULL) {
		rstrip_lines(out);
		rstrip_lines(want);
		CHECK_STR("kubeadm table equals kubeadm's (trailing blanks aside)",
		    out, want);
	}
	free(out);
	free(want);

	out = render(report_table, c);
	CHECK("table names apiserver", out != NULL &&
	    strstr(out, "apiserver ") != NULL);
	free(out);
	out = render(report_json, c);
	CHECK("json has the certificates array", out != NULL &&
	    strstr(out, "\"certificates\": [") != NULL);
	free(out);
	out = render(report_prometheus, c);
	CHECK("prometheus has one expiry series for apiserver", out != NULL &&
	    strstr(out, "krescue_certificate_expiry_timestamp_seconds{name="
	    "\"apiserver\"") != NULL);
	free(out);

	layout_free(&c->lo);
	free(c);
	(void)snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)sh(cmd);
	UNIT_DONE();
}
