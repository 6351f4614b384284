/*
 * cmd_leaks.c - `heapsnap leaks` and `heapsnap cycles`: the leak reports of
 * one or more traces, as text (LeakSanitizer's loss records with Valgrind's
 * summary), JSON, SARIF or JUnit, or for cycles Graphviz dot.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <heapsnap-analyze.h>

#include "cli.h"

/* Parse the options; collect the paths in place (argv[1..] is compacted as
 * it is read, so nothing is allocated).  Return 0 or EXIT_USAGE (printed). */
static int parse(int argc, char **argv, int cycles_only, struct hs_leaks_view *v, enum hs_format *fmt,
		 const char **suppressions, int *npaths)
{
	const char *cmd = cycles_only ? "cycles" : "leaks", *format = "text";

	*npaths = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--format") && i + 1 < argc)
			format = argv[++i];
		else if (!strcmp(a, "--kinds") && i + 1 < argc && !cycles_only) {
			if (hs_leak_kinds_parse(argv[++i], &v->kinds))
				return cli_usage_error("%s: --kinds takes a comma list of definite, indirect, possible, "
						       "reachable (or all), not '%s'",
						       cmd, argv[i]);
		} else if (!strcmp(a, "--suppressions") && i + 1 < argc && !cycles_only)
			*suppressions = argv[++i];
		else if (a[0] == '-' && a[1])
			return cli_usage_error("%s: unknown or incomplete option '%s'", cmd, a);
		else
			argv[1 + (*npaths)++] = argv[i];
	}
	int ok = !hs_format_parse(format, fmt) &&
		 (*fmt == HS_FMT_TEXT || *fmt == HS_FMT_JSON ||
		  (cycles_only ? *fmt == HS_FMT_DOT : *fmt == HS_FMT_SARIF || *fmt == HS_FMT_JUNIT));
	if (!ok)
		return cli_usage_error("%s: --format takes text, json%s, not '%s'", cmd,
				       cycles_only ? " or dot" : ", sarif or junit", format);
	if (!*npaths)
		return cli_usage_error("%s: no trace given", cmd);
	return 0;
}

static int run(int argc, char **argv, int cycles_only)
{
	struct hs_leaks_view v = {.kinds = (1u << HS_DEFINITE) | (1u << HS_INDIRECT), .cycles_only = cycles_only};
	struct hs_suppressions sup = {0};
	const char *sup_path = NULL;
	enum hs_format fmt;
	char **traces;
	int npaths, rc;

	if ((rc = parse(argc, argv, cycles_only, &v, &fmt, &sup_path, &npaths)))
		return rc;
	int n = cli_expand_traces(npaths, argv + 1, &traces);
	if (n < 0)
		return EXIT_INPUT;
	struct hs_session *s = hs_session_new(NULL);
	struct hs_trace **t = calloc((size_t)n, sizeof(*t));
	struct hs_diag d = {""};
	int done = 0;
	if (!s || !t) {
		fprintf(stderr, "heapsnap: out of memory\n");
		rc = EXIT_INPUT;
		goto out;
	}
	if (sup_path && hs_suppressions_load(s, &sup, sup_path, &d)) {
		fprintf(stderr, "heapsnap: %s\n", d.msg);
		rc = EXIT_INPUT;
		goto out;
	}
	cli_print_warnings(s);
	struct hs_want want = {.flags = HS_WANT_LEAKS, .suppressions = sup_path ? &sup : NULL};
	for (; done < n; done++)
		if (!(t[done] = hs_trace_read(s, traces[done], &want, &d))) {
			fprintf(stderr, "heapsnap: %s\n", d.msg);
			rc = EXIT_INPUT;
			break;
		}
	if (!rc) {
		v.sup = &sup;
		if (hs_render_leaks(stdout, fmt, t, n, &v)) {
			fprintf(stderr, "heapsnap: out of memory\n");
			rc = EXIT_INPUT;
		} else if (fmt == HS_FMT_TEXT) {
			hs_suppressions_warn_unused(s, &sup);
		}
	}
out:
	cli_print_warnings(s);
	cli_free_traces(traces, n);
	for (int i = 0; i < done; i++)
		hs_trace_free(t[i]);
	free(t);
	hs_suppressions_free(&sup);
	hs_session_free(s);
	return rc;
}

int cmd_leaks(int argc, char **argv)
{
	return run(argc, argv, 0);
}

int cmd_cycles(int argc, char **argv)
{
	return run(argc, argv, 1);
}
