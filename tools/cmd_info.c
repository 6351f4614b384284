/*
 * cmd_info.c - `heapsnap info TRACE... [--format text|json]`.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <heapsnap-analyze.h>

#include "cli.h"

int cmd_info(int argc, char **argv)
{
	const char *format = "text";
	char **paths = argv + 1, **traces; /* in place: argv[1..] is compacted as it is read (no allocation to leak) */
	int npaths = 0, rc = 0;
	enum hs_format fmt;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--format") && i + 1 < argc)
			format = argv[++i];
		else if (!strncmp(argv[i], "--format=", 9))
			format = argv[i] + 9;
		else if (argv[i][0] == '-' && argv[i][1])
			return cli_usage_error("info: unknown option '%s'", argv[i]);
		else
			paths[npaths++] = argv[i];
	}
	if (hs_format_parse(format, &fmt) || (fmt != HS_FMT_TEXT && fmt != HS_FMT_JSON))
		return cli_usage_error("info: --format takes text or json, not '%s'", format);
	if (!npaths)
		return cli_usage_error("info: no trace given");
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
