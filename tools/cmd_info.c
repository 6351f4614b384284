/*
 * cmd_info.c - `heapsnap info TRACE... [--format text|json]`.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <heapsnap-analyze.h>

#include "cli.h"

enum { INFO_FORMAT = CLI_LONG_ONLY };

static const struct cli_opt info_opts[] = {
	{"format", INFO_FORMAT, "F", "text (default) or json"},
	{NULL, 0, NULL, NULL},
};

const struct cli_cmd cli_cmd_info = {
	.name = "info",
	.synopsis = "[OPTIONS] TRACE...",
	.about = "Describe traces: the process, its events, threads, stacks and snapshots.",
	.opts = info_opts,
	.fn = cmd_info,
};

int cmd_info(int argc, char **argv)
{
	const char *format = "text";
	char **paths, **traces;
	struct cli_parse p;
	int c, rc = 0;
	enum hs_format fmt;

	cli_parse_start(&p, &cli_cmd_info, argc, argv);
	while ((c = cli_next_opt(&p)) > 0)
		if (c == INFO_FORMAT)
			format = p.arg;
	if (c == CLI_STOP)
		return p.rc;
	int npaths = cli_operands(&p, &paths);
	if (hs_format_parse(format, &fmt) || (fmt != HS_FMT_TEXT && fmt != HS_FMT_JSON))
		return cli_usage_error("info", "--format takes text or json, not '%s'", format);
	if (!npaths)
		return cli_usage_error("info", "no trace given");
	int n = cli_expand_traces(npaths, paths, &traces);
	if (n < 0)
		return EXIT_INPUT;
	struct hs_session *s = hs_session_new(NULL);
	struct hs_trace **t = calloc((size_t)n, sizeof(*t));
	struct hs_want want = {.flags = HS_WANT_INFO};
	int ntraces = n;
	if (!s || !t) {
		fprintf(stderr, "heapsnap: out of memory\n");
		rc = EXIT_INPUT;
		n = 0;
	}
	for (int i = 0; i < n; i++) {
		struct hs_diag d = {""};
		if (!(t[i] = hs_trace_read(s, traces[i], &want, &d))) {
			fprintf(stderr, "heapsnap: %s\n", d.msg);
			rc = EXIT_INPUT;
			n = i;
			break;
		}
	}
	cli_free_traces(traces, ntraces);
	cli_print_warnings(s);
	if (rc == 0)
		hs_render_info(stdout, fmt, t, n);
	for (int i = 0; i < n; i++)
		hs_trace_free(t[i]);
	free(t);
	hs_session_free(s);
	return rc;
}
