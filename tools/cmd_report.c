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

enum { REPORT_FROM = CLI_LONG_ONLY, REPORT_TO, REPORT_BASELINE, REPORT_SUPPRESSIONS };

static const struct cli_opt report_opts[] = {
	{"output", 'o', "FILE", "the page to write (required)"},
	{"from", REPORT_FROM, "SEL", "the older snapshot of the diff section"},
	{"to", REPORT_TO, "SEL", "the newer snapshot of the diff section"},
	{"baseline", REPORT_BASELINE, "OLD.hst", "compare with an older run's trace"},
	{"suppressions", REPORT_SUPPRESSIONS, "FILE", "LeakSanitizer suppressions (leak:PATTERN lines)"},
	{NULL, 0, NULL, NULL},
};

const struct cli_cmd cli_cmd_report = {
	.name = "report",
	.synopsis = "-o FILE [OPTIONS] TRACE...",
	.about = "Write one self-contained HTML page of the run: timeline, leaks, cycles, top sites.",
	.opts = report_opts,
	.fn = cmd_report,
};

int cmd_report(int argc, char **argv)
{
	struct hs_report_opts o = {0};
	const char *out = NULL;
	char **paths, **traces;
	struct cli_parse p;
	int c, rc = 0;

	cli_parse_start(&p, &cli_cmd_report, argc, argv);
	while ((c = cli_next_opt(&p)) > 0) {
		switch (c) {
		case 'o':
			out = p.arg;
			break;
		case REPORT_FROM:
			o.from = p.arg;
			break;
		case REPORT_TO:
			o.to = p.arg;
			break;
		case REPORT_BASELINE:
			o.baseline = p.arg;
			break;
		case REPORT_SUPPRESSIONS:
			o.suppressions = p.arg;
			break;
		}
	}
	if (c == CLI_STOP)
		return p.rc;
	int npaths = cli_operands(&p, &paths);
	if (!npaths)
		return cli_usage_error("report", "no trace given");
	if (!out)
		return cli_usage_error("report", "-o FILE is required (the page to write)");
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
