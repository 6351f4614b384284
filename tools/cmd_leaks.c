/*
 * cmd_leaks.c - `heapsnap leaks` and `heapsnap cycles`: the leak reports of
 * one or more traces, as text (LeakSanitizer's loss records with Valgrind's
 * summary), JSON, SARIF or JUnit, a pprof profile, or for cycles Graphviz
 * dot.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <heapsnap-analyze.h>

#include "cli.h"

enum { LEAKS_OUTPUT = 'o', LEAKS_FORMAT = CLI_LONG_ONLY, LEAKS_KINDS, LEAKS_SUPPRESSIONS, LEAKS_FULL_NAMES, LEAKS_SNAPSHOT };

static const struct cli_opt leaks_opts[] = {
	{"kinds", LEAKS_KINDS, "KINDS", "comma list of definite,indirect,possible,reachable or all (default definite,indirect)"},
	{"suppressions", LEAKS_SUPPRESSIONS, "FILE", "LeakSanitizer suppressions (leak:PATTERN lines)"},
	{"snapshot", LEAKS_SNAPSHOT, "SEL", "the pointer scan of this snapshot (default: the last scan)"},
	{"format", LEAKS_FORMAT, "F", "text (default), json, sarif, junit or pprof"},
	{"output", LEAKS_OUTPUT, "FILE", "write there, not to standard output"},
	{"full-names", LEAKS_FULL_NAMES, NULL, "C++ names with their template arguments (text, dot: shortened to <…>)"},
	{NULL, 0, NULL, NULL},
};

static const struct cli_opt cycles_opts[] = {
	{"snapshot", LEAKS_SNAPSHOT, "SEL", "the pointer scan of this snapshot (default: the last scan)"},
	{"format", LEAKS_FORMAT, "F", "text (default), json or dot"},
	{"output", LEAKS_OUTPUT, "FILE", "write there, not to standard output"},
	{"full-names", LEAKS_FULL_NAMES, NULL, "C++ names with their template arguments (text, dot: shortened to <…>)"},
	{NULL, 0, NULL, NULL},
};

const struct cli_cmd cli_cmd_leaks = {
	.name = "leaks",
	.synopsis = "[OPTIONS] TRACE...",
	.about = "Report leaked memory by allocation site, with Valgrind's classes and leaked cycles.",
	.opts = leaks_opts,
	.fn = cmd_leaks,
};

const struct cli_cmd cli_cmd_cycles = {
	.name = "cycles",
	.synopsis = "[OPTIONS] TRACE...",
	.about = "Report the leaked cycles: their blocks, allocation sites and the pointers between them.",
	.opts = cycles_opts,
	.fn = cmd_cycles,
};

/* Parse the options; *paths, *npaths: the operands.  Return 0, or
 * EXIT_USAGE (printed), or -1 after the help. */
static int parse(int argc, char **argv, int cycles_only, struct hs_leaks_view *v, enum hs_format *fmt,
		 const char **suppressions, const char **snapshot, const char **output, char ***paths,
		 int *npaths)
{
	const struct cli_cmd *cmd = cycles_only ? &cli_cmd_cycles : &cli_cmd_leaks;
	const char *format = "text";
	struct cli_parse p;
	int c;

	cli_parse_start(&p, cmd, argc, argv);
	while ((c = cli_next_opt(&p)) > 0) {
		if (c == LEAKS_FORMAT) {
			format = p.arg;
		} else if (c == LEAKS_KINDS) {
			if (hs_leak_kinds_parse(p.arg, &v->kinds))
				return cli_usage_error(cmd->name,
						       "--kinds takes a comma list of definite, indirect, possible, "
						       "reachable (or all), not '%s'",
						       p.arg);
		} else if (c == LEAKS_SUPPRESSIONS) {
			*suppressions = p.arg;
		} else if (c == LEAKS_FULL_NAMES) {
			v->full_names = 1;
		} else if (c == LEAKS_SNAPSHOT) {
			*snapshot = p.arg;
		} else if (c == LEAKS_OUTPUT) {
			*output = p.arg;
		}
	}
	if (c == CLI_STOP)
		return p.rc ? p.rc : -1;
	*npaths = cli_operands(&p, paths);
	int ok = !hs_format_parse(format, fmt) &&
		 (*fmt == HS_FMT_TEXT || *fmt == HS_FMT_JSON ||
		  (cycles_only ? *fmt == HS_FMT_DOT : *fmt == HS_FMT_SARIF || *fmt == HS_FMT_JUNIT || *fmt == HS_FMT_PPROF));
	if (!ok)
		return cli_usage_error(cmd->name, "--format takes text, json%s, not '%s'",
				       cycles_only ? " or dot" : ", sarif, junit or pprof", format);
	if (*fmt == HS_FMT_PPROF && !*output && isatty(STDOUT_FILENO))
		return cli_usage_error(cmd->name, "--format pprof is binary: give -o FILE, or redirect the output");
	if (!*npaths)
		return cli_usage_error(cmd->name, "no trace given");
	return 0;
}

/* The loss records of the kinds asked for of n traces as one pprof
 * profile.  Return 0, -ENOMEM or -EIO. */
static int render_pprof(FILE *out, struct hs_trace *const *t, int n, unsigned kinds)
{
	struct hs_pprof *p = hs_pprof_new(HS_PPROF_LEAKS);
	int rc = p ? 0 : -ENOMEM;

	for (int i = 0; i < n && !rc; i++)
		rc = hs_pprof_add_leaks(p, t[i], kinds);
	if (!rc)
		rc = hs_render_pprof(out, p);
	hs_pprof_free(p);
	return rc;
}

/*
 * Text and JSON: each trace rendered as soon as it is read, and freed, so
 * that the memory of a report over thousands of traces is its text and
 * what the session shares (the modules' symbols), not the traces.  The
 * report is written once every trace was read: a trace that cannot be
 * read leaves no report, as with the others.  Return the exit code.
 */
static int stream(struct hs_session *s, char **traces, int n, enum hs_format fmt, const struct hs_want *want,
		  struct hs_leaks_view *v, struct hs_suppressions *sup, const char *output)
{
	struct hs_leaks_stream st;
	struct hs_diag d = {""};
	int rc = 0;

	v->sup = sup;
	if (hs_leaks_stream_begin(&st, fmt, n, v)) {
		fprintf(stderr, "heapsnap: out of memory\n");
		return EXIT_INPUT;
	}
	for (int i = 0; i < n && !rc; i++) {
		struct hs_trace *t = hs_trace_read(s, traces[i], want, &d);
		if (!t) {
			fprintf(stderr, "heapsnap: %s\n", d.msg);
			rc = EXIT_INPUT;
		} else if (hs_leaks_stream_add(&st, t)) {
			fprintf(stderr, "heapsnap: out of memory\n");
			rc = EXIT_INPUT;
		}
		hs_trace_free(t);
	}
	FILE *out = rc ? NULL : cli_output_open(output);
	if (!rc && !out)
		rc = EXIT_INPUT;
	if (!rc) {
		int wrc = hs_leaks_stream_end(&st, out);
		if (wrc)
			fprintf(stderr, "heapsnap: out of memory\n");
		else if (fmt == HS_FMT_TEXT)
			hs_suppressions_warn_unused(s, sup);
		rc = cli_output_close(out, output, 0);
		if (wrc) { /* a failed report leaves no file */
			if (output)
				unlink(output);
			rc = EXIT_INPUT;
		}
	}
	hs_leaks_stream_free(&st);
	return rc;
}

static int run(int argc, char **argv, int cycles_only)
{
	struct hs_leaks_view v = {.kinds = (1u << HS_DEFINITE) | (1u << HS_INDIRECT), .cycles_only = cycles_only};
	struct hs_suppressions sup = {0};
	const char *sup_path = NULL, *snapshot = NULL, *output = NULL;
	FILE *out = NULL;
	enum hs_format fmt;
	char **paths = NULL, **traces;
	int npaths = 0, rc;

	if ((rc = parse(argc, argv, cycles_only, &v, &fmt, &sup_path, &snapshot, &output, &paths, &npaths)))
		return rc < 0 ? 0 : rc;
	int n = cli_expand_traces(npaths, paths, &traces);
	if (n < 0)
		return EXIT_INPUT;
	if ((rc = cli_output_check(cycles_only ? "cycles" : "leaks", output, traces, n))) {
		cli_free_traces(traces, n);
		return rc;
	}
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
	struct hs_want want = {.flags = HS_WANT_LEAKS | HS_WANT_REPORT_STACKS,
			       .suppressions = sup_path ? &sup : NULL,
			       .scan = snapshot,
			       .report_kinds = v.kinds};
	if (fmt == HS_FMT_TEXT || fmt == HS_FMT_JSON) {
		rc = stream(s, traces, n, fmt, &want, &v, &sup, output);
		goto out;
	}
	/* every trace is held until the report is rendered: each keeps only
	 * what its report shows */
	for (; done < n; done++)
		if (!(t[done] = hs_trace_read(s, traces[done], &want, &d))) {
			fprintf(stderr, "heapsnap: %s\n", d.msg);
			rc = EXIT_INPUT;
			break;
		}
	if (!rc && !(out = cli_output_open(output)))
		rc = EXIT_INPUT;
	if (!rc) {
		v.sup = &sup;
		int wrc = fmt == HS_FMT_PPROF ? render_pprof(out, t, n, v.kinds) : hs_render_leaks(out, fmt, t, n, &v);
		if (wrc == -ENOMEM) {
			fprintf(stderr, "heapsnap: out of memory\n");
			rc = EXIT_INPUT;
		} else if (fmt == HS_FMT_TEXT) {
			hs_suppressions_warn_unused(s, &sup);
		}
		/* a failed report leaves no file */
		int crc = cli_output_close(out, output, wrc == -ENOMEM ? 0 : wrc);
		if (rc && output)
			unlink(output);
		if (!rc)
			rc = crc;
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
