/*
 * report.c: render a check as a table for people, as kubeadm's
 * check-expiration tables, as JSON, or as Prometheus text.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extern.h"

#define TAB_MAXLINES	(LAYOUT_MAXITEMS + 8)
#define TAB_MAXCELLS	8

/*
 * Go's text/tabwriter as kubeadm uses it (minwidth 10, padding 3, spaces):
 * a cell ended by a tab belongs to a column; a column's width is set by the
 * run of adjacent lines that have that cell; the last cell of a line is
 * printed as it is.
 */
struct tab {
	char	*cell[TAB_MAXLINES][TAB_MAXCELLS];
	int	 ncell[TAB_MAXLINES];
	int	 n;
};

static void
tab_add(struct tab *t, const char *line)
{
	const char	*p = line, *tabc;
	int		 c = 0;

	if (t->n == TAB_MAXLINES)
		return;
	while (c < TAB_MAXCELLS - 1 && (tabc = strchr(p, '\t')) != NULL) {
		t->cell[t->n][c] = xmalloc((size_t)(tabc - p) + 1);
		memcpy(t->cell[t->n][c], p, (size_t)(tabc - p));
		t->cell[t->n][c][tabc - p] = '\0';
		c++;
		p = tabc + 1;
	}
	t->cell[t->n][c++] = xstrdup(p);
	t->ncell[t->n++] = c;
}

static void
tab_flush(FILE *fp, struct tab *t, size_t minwidth, size_t padding)
{
	size_t	 w, width;
	int	 i, c, lo, hi, k;

	for (i = 0; i < t->n; i++) {
		for (c = 0; c < t->ncell[i]; c++) {
			if (c == t->ncell[i] - 1) {
				fputs(t->cell[i][c], fp);
				break;
			}
			for (lo = i; lo > 0 && t->ncell[lo - 1] - 1 > c; lo--)
				;
			for (hi = i; hi + 1 < t->n && t->ncell[hi + 1] - 1 > c;
			    hi++)
				;
			width = minwidth;
			for (k = lo; k <= hi; k++) {
				w = strlen(t->cell[k][c]) + padding;
				if (w > width)
					width = w;
			}
			fprintf(fp, "%-*s", (int)width, t->cell[i][c]);
		}
		fputc('\n', fp);
	}
	/* only now: widths of later rows look back at earlier ones */
	for (i = 0; i < t->n; i++)
		for (c = 0; c < t->ncell[i]; c++)
			free(t->cell[i][c]);
	t->n = 0;
}

static int
by_name(const void *a, const void *b)
{
	const struct finding *const *fa = a, *const *fb = b;

	return strcmp((*fa)->item->name, (*fb)->item->name);
}

static int
is_ca(const struct finding *f)
{
	return f->item->kind == ITEM_CA || f->item->kind == ITEM_ETCD_HOST_CA;
}

static void
residual(const struct check *c, const struct finding *f, int kubeadm_style,
    char *out, size_t outlen)
{
	int	 minor = version_minor(c->lo.cfg.k8s_version);

	if (!kubeadm_style)
		fmt_duration_days(f->not_after - c->now, out, outlen);
	else if (minor >= 0 && minor <= 30)
		short_human_duration(f->not_after - c->now, out, outlen);
	else
		human_duration(f->not_after - c->now, out, outlen);
}

/* Exactly the two tables of `kubeadm certs check-expiration`. */
void
report_kubeadm(FILE *fp, const struct check *c)
{
	const struct finding	*rows[LAYOUT_MAXITEMS];
	struct tab		 t;
	char			 line[512], date[64], res[32];
	int			 i, n, pass;

	memset(&t, 0, sizeof(t));
	for (pass = 0; pass < 2; pass++) {
		n = 0;
		for (i = 0; i < c->n; i++)
			if (c->f[i].item->kubeadm && is_ca(&c->f[i]) == pass)
				rows[n++] = &c->f[i];
		qsort(rows, (size_t)n, sizeof(rows[0]), by_name);
		if (pass == 0)
			tab_add(&t, "CERTIFICATE\tEXPIRES\tRESIDUAL TIME\t"
			    "CERTIFICATE AUTHORITY\tEXTERNALLY MANAGED");
		else
			tab_add(&t, "CERTIFICATE AUTHORITY\tEXPIRES\t"
			    "RESIDUAL TIME\tEXTERNALLY MANAGED");
		for (i = 0; i < n; i++) {
			if (!rows[i]->have_cert) {
				(void)xsnprintf(line, sizeof(line),
				    "!MISSING! %s", rows[i]->item->name);
				tab_add(&t, line);
				continue;
			}
			fmt_kubeadm_date(rows[i]->not_after, date, sizeof(date));
			residual(c, rows[i], 1, res, sizeof(res));
			if (pass == 0)
				(void)xsnprintf(line, sizeof(line),
				    "%s\t%s\t%s\t%s\t%-8s", rows[i]->item->name,
				    date, res, rows[i]->item->ca,
				    rows[i]->external ? "yes" : "no");
			else
				(void)xsnprintf(line, sizeof(line),
				    "%s\t%s\t%s\t%-8s", rows[i]->item->name,
				    date, res, rows[i]->external ? "yes" : "no");
			tab_add(&t, line);
		}
		if (pass == 0)
			tab_add(&t, "");
	}
	tab_flush(fp, &t, 10, 3);
}

static void
counts(const struct check *c, int cnt[ST_MISSING + 1])
{
	int	 i;

	memset(cnt, 0, sizeof(int) * (ST_MISSING + 1));
	for (i = 0; i < c->n; i++)
		cnt[c->f[i].status]++;
}

static const char *
kind_name(enum item_kind k)
{
	switch (k) {
	case ITEM_CA:
		return "ca";
	case ITEM_LEAF:
		return "leaf";
	case ITEM_KUBECONFIG:
		return "kubeconfig";
	case ITEM_KUBELET:
		return "kubelet";
	case ITEM_ETCD_HOST_CA:
		return "etcd-host-ca";
	case ITEM_ETCD_HOST:
		return "etcd-host";
	}
	return "?";
}

static const char *
overall(const struct check *c)
{
	switch (check_exit_code(c)) {
	case KR_OK:
		return "ok";
	case KR_WARN:
		return "expiring";
	default:
		break;
	}
	for (int i = 0; i < c->n; i++)
		if (c->f[i].status == ST_EXPIRED || c->f[i].status == ST_NOTYET)
			return "expired";
	return "invalid";
}

/* The readable default: every certificate, then every problem. */
void
report_table(FILE *fp, const struct check *c)
{
	struct tab	 t;
	char		 line[1024], date[64], res[48], now[32];
	int		 i, j, cnt[ST_MISSING + 1], np = 0;

	memset(&t, 0, sizeof(t));
	fmt_rfc3339(c->now, now, sizeof(now));
	fprintf(fp, "krescue check: root %s, %s layout, certificates in %s, "
	    "as of %s\n", c->root_arg, c->lo.kubespray ? "kubespray" :
	    "kubeadm", c->lo.cert_dir, now);
	if (c->lo.config_path[0] != '\0')
		fprintf(fp, "kubeadm config: %s%s\n", c->lo.config_path,
		    c->lo.config_error[0] != '\0' ? " (unreadable)" : "");
	fputc('\n', fp);
	tab_add(&t, "NAME\tEXPIRES\tRESIDUAL\tCA\tKEY\tSTATUS");
	for (i = 0; i < c->n; i++) {
		const struct finding *f = &c->f[i];

		if (f->have_cert) {
			fmt_kubeadm_date(f->not_after, date, sizeof(date));
			residual(c, f, 0, res, sizeof(res));
		} else {
			(void)xsnprintf(date, sizeof(date), "-");
			(void)xsnprintf(res, sizeof(res), "-");
		}
		(void)xsnprintf(line, sizeof(line), "%s\t%s\t%s\t%s%s\t%s\t%s",
		    f->item->name, date, res, f->item->ca,
		    f->external ? " (external)" : "",
		    f->key_type[0] != '\0' ? f->key_type : "-",
		    status_name(f->status));
		tab_add(&t, line);
	}
	tab_flush(fp, &t, 4, 2);
	for (i = 0; i < c->n; i++)
		np += c->f[i].nproblems;
	if (np > 0 || c->lo.layout_error[0] != '\0' ||
	    c->lo.config_error[0] != '\0') {
		fprintf(fp, "\nProblems:\n");
		if (c->lo.layout_error[0] != '\0')
			fprintf(fp, "  %s\n", c->lo.layout_error);
		if (c->lo.config_error[0] != '\0')
			fprintf(fp, "  %s\n", c->lo.config_error);
		for (i = 0; i < c->n; i++)
			for (j = 0; j < c->f[i].nproblems; j++)
				fprintf(fp, "  %s: %s\n", c->f[i].item->name,
				    c->f[i].problems[j]);
	}
	if (c->compare_arg != NULL) {
		fprintf(fp, "\nShared with %s:\n", c->compare_arg);
		for (i = 0; i < c->nshared; i++) {
			const struct shared_file *sf = &c->shared[i];

			fprintf(fp, "  %-40s %s\n", sf->path, sf->same ? "same" :
			    !sf->here && !sf->there ? "absent on both" :
			    !sf->here ? "MISSING HERE" : !sf->there ?
			    "MISSING THERE" : "DIFFERENT");
		}
	}
	counts(c, cnt);
	fprintf(fp, "\n%d certificates: %d ok, %d expiring, %d expired, "
	    "%d not yet valid, %d invalid, %d missing\n", c->n, cnt[ST_OK],
	    cnt[ST_EXPIRING], cnt[ST_EXPIRED], cnt[ST_NOTYET], cnt[ST_INVALID],
	    cnt[ST_MISSING]);
}

static void
json_str(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; s != NULL && *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(fp, "\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", fp);
		else if (ch < 0x20)
			fprintf(fp, "\\u%04x", ch);
		else
			fputc(ch, fp);
	}
	fputc('"', fp);
}

static void
json_str_or_null(FILE *fp, const char *s)
{
	if (s == NULL || *s == '\0')
		fputs("null", fp);
	else
		json_str(fp, s);
}

void
report_json(FILE *fp, const struct check *c)
{
	char	 t[32];
	int	 i, j;

	fputs("{\n  \"krescue\": ", fp);
	json_str(fp, KRESCUE_VERSION);
	fputs(",\n  \"root\": ", fp);
	json_str(fp, c->root_arg);
	fmt_rfc3339(c->now, t, sizeof(t));
	fputs(",\n  \"now\": ", fp);
	json_str(fp, t);
	fprintf(fp, ",\n  \"layout\": \"%s\",\n  \"cert_dir\": ",
	    c->lo.kubespray ? "kubespray" : "kubeadm");
	json_str(fp, c->lo.cert_dir);
	fputs(",\n  \"kubeadm_config\": ", fp);
	json_str_or_null(fp, c->lo.config_path);
	fprintf(fp, ",\n  \"status\": \"%s\",\n  \"errors\": [", overall(c));
	j = 0;
	if (c->lo.layout_error[0] != '\0') {
		json_str(fp, c->lo.layout_error);
		j++;
	}
	if (c->lo.config_error[0] != '\0') {
		fputs(j ? ", " : "", fp);
		json_str(fp, c->lo.config_error);
	}
	fputs("],\n  \"shared\": [", fp);
	for (i = 0; i < c->nshared; i++) {
		fprintf(fp, "%s\n    {\"path\": ", i ? "," : "");
		json_str(fp, c->shared[i].path);
		fprintf(fp, ", \"here\": %s, \"there\": %s, \"same\": %s}",
		    c->shared[i].here ? "true" : "false",
		    c->shared[i].there ? "true" : "false",
		    c->shared[i].same ? "true" : "false");
	}
	fputs(c->nshared > 0 ? "\n  ]" : "]", fp);
	fputs(",\n  \"certificates\": [", fp);
	for (i = 0; i < c->n; i++) {
		const struct finding *f = &c->f[i];

		fprintf(fp, "%s\n    {\"name\": ", i ? "," : "");
		json_str(fp, f->item->name);
		fprintf(fp, ", \"kind\": \"%s\", \"path\": ",
		    kind_name(f->item->kind));
		json_str(fp, f->item->path);
		fputs(", \"key_path\": ", fp);
		json_str_or_null(fp, f->item->key_path);
		fputs(", \"ca\": ", fp);
		json_str_or_null(fp, is_ca(f) ? NULL : f->item->ca);
		fputs(", \"subject\": ", fp);
		json_str_or_null(fp, f->subject);
		fputs(", \"key_type\": ", fp);
		json_str_or_null(fp, f->key_type);
		if (f->have_cert) {
			fmt_rfc3339(f->not_before, t, sizeof(t));
			fputs(", \"not_before\": ", fp);
			json_str(fp, t);
			fmt_rfc3339(f->not_after, t, sizeof(t));
			fputs(", \"not_after\": ", fp);
			json_str(fp, t);
			fprintf(fp, ", \"not_after_unix\": %lld, "
			    "\"residual_seconds\": %lld",
			    (long long)f->not_after,
			    (long long)(f->not_after - c->now));
		} else
			fputs(", \"not_before\": null, \"not_after\": null, "
			    "\"not_after_unix\": null, "
			    "\"residual_seconds\": null", fp);
		fprintf(fp, ", \"status\": \"%s\", \"externally_managed\": %s, "
		    "\"problems\": [", status_name(f->status),
		    f->external ? "true" : "false");
		for (j = 0; j < f->nproblems; j++) {
			fputs(j ? ", " : "", fp);
			json_str(fp, f->problems[j]);
		}
		fputs("]}", fp);
	}
	fputs("\n  ]\n}\n", fp);
}

static void
prom_label(FILE *fp, const char *name, const char *val, int first)
{
	fprintf(fp, "%s%s=\"", first ? "" : ",", name);
	for (; val != NULL && *val != '\0'; val++) {
		if (*val == '\\' || *val == '"')
			fprintf(fp, "\\%c", *val);
		else if (*val == '\n')
			fputs("\\n", fp);
		else
			fputc(*val, fp);
	}
	fputc('"', fp);
}

static void
prom_series(FILE *fp, const char *metric, const struct finding *f,
    long long value)
{
	fprintf(fp, "%s{", metric);
	prom_label(fp, "name", f->item->name, 1);
	prom_label(fp, "path", f->item->path, 0);
	prom_label(fp, "ca", is_ca(f) ? "" : f->item->ca, 0);
	fprintf(fp, "} %lld\n", value);
}

/* Text exposition format, for node_exporter's textfile collector. */
void
report_prometheus(FILE *fp, const struct check *c)
{
	int	 i;

	fputs("# HELP krescue_certificate_expiry_timestamp_seconds "
	    "NotAfter of the certificate, as a Unix time.\n"
	    "# TYPE krescue_certificate_expiry_timestamp_seconds gauge\n", fp);
	for (i = 0; i < c->n; i++)
		if (c->f[i].have_cert)
			prom_series(fp,
			    "krescue_certificate_expiry_timestamp_seconds",
			    &c->f[i], (long long)c->f[i].not_after);
	fputs("# HELP krescue_certificate_not_before_timestamp_seconds "
	    "NotBefore of the certificate, as a Unix time.\n"
	    "# TYPE krescue_certificate_not_before_timestamp_seconds gauge\n",
	    fp);
	for (i = 0; i < c->n; i++)
		if (c->f[i].have_cert)
			prom_series(fp,
			    "krescue_certificate_not_before_timestamp_seconds",
			    &c->f[i], (long long)c->f[i].not_before);
	fputs("# HELP krescue_certificate_valid 1 when the certificate is "
	    "present, in its validity period, chains to its CA and matches "
	    "its key.\n# TYPE krescue_certificate_valid gauge\n", fp);
	for (i = 0; i < c->n; i++)
		prom_series(fp, "krescue_certificate_valid", &c->f[i],
		    c->f[i].status <= ST_EXPIRING ? 1 : 0);
	fprintf(fp, "# HELP krescue_check_timestamp_seconds When the check "
	    "ran (or --now), as a Unix time.\n"
	    "# TYPE krescue_check_timestamp_seconds gauge\n"
	    "krescue_check_timestamp_seconds %lld\n", (long long)c->now);
}
