/*
 * cmd_report.c - `heapsnap report TRACE... -o report.html [--from SEL --to
 * SEL] [--baseline OLD.hst] [--suppressions FILE]`: one self-contained
 * HTML page of the run (src/analyze/report.c computes, render_html.c
 * writes).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <heapsnap-analyze.h>

#include "cli.h"

/* Take "--opt VALUE" or "--opt=VALUE" at argv[*i]; return the value or NULL. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);

	if (!strncmp(argv[*i], name, n) && argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (!strcmp(argv[*i], name) && *i + 1 < argc)
		return argv[++*i];
	return NULL;
}

int cmd_report(int argc, char **argv)
{
	struct hs_report_opts o = {0};
	const char *out = NULL, *v;
	char **paths = argv + 1, **traces; /* in place: argv[1..] is compacted as it is read */
	int npaths = 0, rc = 0;

	for (int i = 1; i < argc; i++) {
		if ((v = opt_value(argc, argv, &i, "-o")) || (v = opt_value(argc, argv, &i, "--output")))
			out = v;
		else if ((v = opt_value(argc, argv, &i, "--from")))
			o.from = v;
		else if ((v = opt_value(argc, argv, &i, "--to")))
			o.to = v;
		else if ((v = opt_value(argc, argv, &i, "--baseline")))
			o.baseline = v;
		else if ((v = opt_value(argc, argv, &i, "--suppressions")))
			o.suppressions = v;
		else if (argv[i][0] == '-' && argv[i][1])
			return cli_usage_error("report: unknown or incomplete option '%s'", argv[i]);
		else
			paths[npaths++] = argv[i];
	}
	if (!npaths)
		return cli_usage_error("report: no trace given");
	if (!out)
		return cli_usage_error("report: -o FILE is required (the page to write)");
	int n = cli_expand_traces(npaths, paths, &traces);
	if (n < 0)
		return EXIT_INPUT;
	struct hs_session *s = hs_session_new(NULL);
	struct hs_report *r = NULL;
	struct hs_diag d = {""};
	if (!s) {
		fprintf(stderr, "heapsnap: out of memory\n");
		rc = EXIT_INPUT;
		goto out;
	}
	if (hs_report_build(s, traces, n, &o, &r, &d)) {
		fprintf(stderr, "heapsnap: %s\n", d.msg);
		rc = EXIT_INPUT;
		goto out;
	}
	FILE *f = fopen(out, "w");
	if (!f) {
		fprintf(stderr, "heapsnap: %s: cannot write: %s\n", out, strerror(errno));
		rc = EXIT_INPUT;
		goto out;
	}
	int wrc = hs_render_html(f, r);
	if (fclose(f) || wrc) {
		fprintf(stderr, "heapsnap: %s: cannot write: %s\n", out, strerror(wrc ? -wrc : errno));
		unlink(out);
		rc = EXIT_INPUT;
	}
out:
	if (s)
		cli_print_warnings(s);
	hs_report_free(r);
	hs_session_free(s);
	cli_free_traces(traces, n);
	return rc;
}
