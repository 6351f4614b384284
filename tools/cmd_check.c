/*
 * cmd_check.c - `heapsnap check`: run a program (or a whole test suite)
 * under the shim, analyze every trace it and its children wrote, and fail
 * the build on leaks that are not suppressed and not in the baseline.
 *
 * The traces go to a private directory (mkdtemp) under the pattern
 * heapsnap.%e.%p.hst, so every process image of a test runner writes its
 * own and each finding is attributed to its pid and executable.
 *
 * The analysis, the sites, signatures and baselines, and every rendering
 * of the report are the analyzer library's (include/heapsnap-analyze.h):
 * here are the options, the run, the trace directory and the exit code.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <heapsnap-analyze.h>

#include "cli.h"

#define CHECK_DEFAULT_EXITCODE 23

struct check_opts {
	struct run_opts run;
	unsigned fail_on;	  /* bit per enum leak_kind */
	const char *suppressions; /* file, or NULL */
	const char *baseline;	  /* file, or NULL */
	int error_exitcode;
	enum hs_format format;
	const char *output; /* report file, or NULL for stdout */
	const char *record; /* --record-baseline: the JSON report to write, exit 0 on leaks */
	int keep;	    /* keep the traces */
	int full_names;	    /* --full-names */
	const char *snapshot; /* --snapshot: the scan of this snapshot, where a trace has it */
};

/* ---- options ---- */

static int parse_format(const char *s, enum hs_format *f)
{
	if (hs_format_parse(s, f))
		return -1;
	return *f == HS_FMT_TEXT || *f == HS_FMT_JSON || *f == HS_FMT_SARIF || *f == HS_FMT_JUNIT ? 0 : -1;
}

enum {
	CHECK_FAIL_ON = RUN_KEYS_END,
	CHECK_SUPPRESSIONS,
	CHECK_BASELINE,
	CHECK_ERROR_EXITCODE,
	CHECK_FORMAT,
	CHECK_OUTPUT,
	CHECK_OUTPUT_DIR,
	CHECK_KEEP,
	CHECK_RECORD_BASELINE,
	CHECK_FULL_NAMES,
	CHECK_SNAPSHOT,
};

static const struct cli_opt check_opts[] = {
	RUN_COMMON_OPTS,
	{"fail-on", CHECK_FAIL_ON, "KINDS", "the leak kinds that fail (default definite,indirect)"},
	{"suppressions", CHECK_SUPPRESSIONS, "FILE", "LeakSanitizer suppressions (leak:PATTERN lines)"},
	{"baseline", CHECK_BASELINE, "FILE", "known leaks (a report of --record-baseline) do not fail"},
	{"record-baseline", CHECK_RECORD_BASELINE, "FILE", "write the leaks found to FILE as a baseline; they do not fail"},
	{"error-exitcode", CHECK_ERROR_EXITCODE, "N", "the exit status when leaks fail (default 23)"},
	{"format", CHECK_FORMAT, "F", "the report: text (default), json, sarif or junit"},
	{"output", CHECK_OUTPUT, "FILE", "write the report to FILE instead of standard output"},
	{"output-dir", CHECK_OUTPUT_DIR, "DIR", "write the traces to DIR and keep them"},
	{"keep", CHECK_KEEP, NULL, "keep the traces (in a new directory, named at the end)"},
	{"full-names", CHECK_FULL_NAMES, NULL, "C++ names with their template arguments (text: shortened to <…>)"},
	{"snapshot", CHECK_SNAPSHOT, "SEL", "the pointer scan of this snapshot, in each trace that has it"},
	{NULL, 'o', "FILE", NULL}, /* run's -o: refused with what to use instead */
	{NULL, 0, NULL, NULL},
};

const struct cli_cmd cli_cmd_check = {
	.name = "check",
	.synopsis = "[OPTIONS] [--] PROG [ARGS...]",
	.about = "Run PROG (a test suite) traced and fail on new leaks, as LeakSanitizer does in CI.",
	.opts = check_opts,
	.in_order = 1,
	.fn = cmd_check,
};

/* Parse the options; *first: the program's index in argv.  Return 0,
 * EXIT_USAGE (printed), or -1 after the help. */
static int parse(int argc, char **argv, struct check_opts *o, int *first)
{
	struct cli_parse p;
	char *end, **prog;
	long v;
	int c;

	cli_parse_start(&p, &cli_cmd_check, argc, argv);
	while ((c = cli_next_opt(&p)) > 0) {
		switch (c) {
		case CHECK_FAIL_ON:
			if (hs_leak_kinds_parse(p.arg, &o->fail_on))
				return cli_usage_error("check",
						       "--fail-on takes a comma list of definite, indirect, "
						       "possible, reachable (or all), not '%s'",
						       p.arg);
			break;
		case CHECK_SUPPRESSIONS:
			o->suppressions = p.arg;
			break;
		case CHECK_BASELINE:
			o->baseline = p.arg;
			break;
		case CHECK_ERROR_EXITCODE:
			v = strtol(p.arg, &end, 10);
			if (*end || end == p.arg || v < 1 || v > 255)
				return cli_usage_error("check", "--error-exitcode takes 1 to 255, not '%s'", p.arg);
			o->error_exitcode = (int)v;
			break;
		case CHECK_FORMAT:
			if (parse_format(p.arg, &o->format))
				return cli_usage_error("check", "--format takes text, json, sarif or junit, not '%s'",
						       p.arg);
			break;
		case CHECK_OUTPUT:
			o->output = p.arg;
			break;
		case CHECK_OUTPUT_DIR:
			o->run.output = p.arg;
			break;
		case CHECK_KEEP:
			o->keep = 1;
			break;
		case CHECK_RECORD_BASELINE:
			o->record = p.arg;
			break;
		case CHECK_FULL_NAMES:
			o->full_names = 1;
			break;
		case CHECK_SNAPSHOT:
			o->snapshot = p.arg;
			break;
		case 'o':
			return cli_usage_error("check", "-o is for run; use --output FILE for the report "
							"and --output-dir DIR for the traces");
		default:
			run_option(c, p.arg, &o->run);
		}
	}
	if (c == CLI_STOP)
		return p.rc ? p.rc : -1;
	if (!cli_operands(&p, &prog))
		return cli_usage_error("check", "no program given (heapsnap check [OPTIONS] -- PROG [ARGS])");
	*first = p.next;
	return run_validate(&o->run, "check");
}

/* ---- the trace directory ---- */

/* The directory the traces go to: --output-dir (made if missing), else a
 * fresh private one.  Return it (malloc'ed), or NULL with an error printed. */
static char *trace_dir(const struct check_opts *o)
{
	if (o->run.output) {
		struct stat st;
		int err = mkdir(o->run.output, 0700) ? errno : 0;
		if (err == EEXIST)
			err = stat(o->run.output, &st) ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
		if (err) {
			fprintf(stderr, "heapsnap: check: cannot create %s: %s\n", o->run.output, strerror(err));
			return NULL;
		}
		return strdup(o->run.output);
	}
	const char *tmp = getenv("TMPDIR");
	char *dir;
	if (asprintf(&dir, "%s/heapsnap-check.XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
		return NULL;
	if (!mkdtemp(dir)) {
		fprintf(stderr, "heapsnap: check: cannot create a directory for the traces in %s: %s\n",
			tmp && *tmp ? tmp : "/tmp", strerror(errno));
		free(dir);
		return NULL;
	}
	return dir;
}

/* Remove the traces (and ring files) check wrote, then the directory. */
static void remove_traces(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "heapsnap.", 9)) {
			char path[PATH_MAX];
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
	closedir(d);
	rmdir(dir);
}

/* ---- analysis ---- */

static int has_traces(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int found = 0;

	while (d && !found && (e = readdir(d))) {
		size_t n = strlen(e->d_name);
		found = n > 4 && !strcmp(e->d_name + n - 4, ".hst");
	}
	if (d)
		closedir(d);
	return found;
}

/* The traces of one run, read. */
struct check_run {
	struct hs_trace **t; /* those that could be read */
	int n;
	struct hs_ci ci;     /* their sites */
};

/* Read every trace in dir and collect its failing sites.  Return 0, or -1
 * (printed) when there is none to read.  A trace that cannot be read is
 * reported and left out. */
static int analyze(struct hs_session *s, const struct check_opts *o, const char *dir, struct hs_suppressions *sup,
		   const struct hs_baseline *base, struct check_run *run)
{
	char *paths[1] = {(char *)dir}, **traces;
	/* every trace is held until the report is rendered: each keeps only
	 * the stacks its report names */
	struct hs_want want = {.flags = HS_WANT_LEAKS | HS_WANT_REPORT_STACKS,
			       .suppressions = sup,
			       .report_kinds = o->fail_on};
	struct hs_diag d = {""};

	if (!has_traces(dir)) {
		fprintf(stderr, "heapsnap: check: the program wrote no trace (statically linked and set-user-ID "
				"programs cannot be traced)\n");
		return -1;
	}
	int n = cli_expand_traces(1, paths, &traces);
	if (n < 0)
		return -1;
	run->t = calloc((size_t)n + 1, sizeof(*run->t));
	for (int i = 0; run->t && i < n; i++) {
		want.scan = o->snapshot;
		struct hs_trace *t = hs_trace_read(s, traces[i], &want, &d);
		if (!t && o->snapshot && strstr(d.msg, "no pointer scan at snapshot")) {
			/* a process of the suite that exited (or was never
			 * signalled) has no such scan: its last one counts */
			fprintf(stderr, "heapsnap: check: %s; its last scan is used\n", d.msg);
			want.scan = NULL;
			t = hs_trace_read(s, traces[i], &want, &d);
		}
		if (!t) {
			fprintf(stderr, "heapsnap: check: %s\n", d.msg);
			continue;
		}
		run->t[run->n++] = t;
		if (hs_ci_add(&run->ci, t, o->fail_on, base))
			fprintf(stderr, "heapsnap: check: %s: out of memory\n", t->path);
	}
	cli_free_traces(traces, n);
	return 0;
}

static void run_free(struct check_run *run)
{
	hs_ci_free(&run->ci);
	for (int i = 0; i < run->n; i++)
		hs_trace_free(run->t[i]);
	free(run->t);
}

/* ---- the command ---- */

/* The program's own failure, as a shell reports it; 0 if it succeeded. */
static int program_failure(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 0;
}

/* Write the JSON report, the baseline format, to path.  Return 0 or -1
 * (printed). */
static int write_baseline(const char *path, const struct hs_ci *res, const struct hs_check_view *v)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "heapsnap: check: cannot write the baseline %s: %s\n", path, strerror(errno));
		return -1;
	}
	hs_render_check(f, HS_FMT_JSON, res, v);
	if (fclose(f)) {
		fprintf(stderr, "heapsnap: check: cannot write the baseline %s: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(stderr, "heapsnap: check: %zu leak site(s) recorded in the baseline %s\n", res->nsites, path);
	return 0;
}

static int write_report(const struct check_opts *o, const struct hs_ci *res, const struct hs_suppressions *sup,
			int program_status, int exit_code)
{
	struct hs_check_view v = {
		.fail_on = o->fail_on,
		.baseline = o->baseline,
		.sup = sup,
		.show_traces = o->keep || o->run.output,
		.program_status = program_status,
		.exit_code = exit_code,
		.command = cli_self(),
		.full_names = o->full_names,
	};
	FILE *out = stdout;

	if (o->record && write_baseline(o->record, res, &v))
		return -1;
	if (o->output && !(out = fopen(o->output, "w"))) {
		fprintf(stderr, "heapsnap: check: cannot write %s: %s\n", o->output, strerror(errno));
		return -1;
	}
	hs_render_check(out, o->format, res, &v);
	if (out != stdout && fclose(out)) {
		fprintf(stderr, "heapsnap: check: cannot write %s: %s\n", o->output, strerror(errno));
		return -1;
	}
	if (o->output || o->format != HS_FMT_TEXT)
		fprintf(stderr, "heapsnap: check: %d trace(s), %zu new leak site(s) (%llu bytes in %llu blocks)%s%s\n",
			res->ntraces, res->failing, (unsigned long long)res->failing_bytes,
			(unsigned long long)res->failing_blocks, o->output ? ", report in " : "", o->output ? o->output : "");
	return 0;
}

int cmd_check(int argc, char **argv)
{
	struct check_opts o = {.fail_on = (1u << HS_DEFINITE) | (1u << HS_INDIRECT),
			       .error_exitcode = CHECK_DEFAULT_EXITCODE};
	struct hs_suppressions sup = {0};
	struct hs_baseline base = {0};
	struct check_run run = {0};
	struct hs_diag d = {""};
	int first = 0, status = 0, rc;

	if ((rc = parse(argc, argv, &o, &first)))
		return rc < 0 ? 0 : rc;
	/* Every output is checked before the program runs (the traces' in
	 * run_spawn): a report that cannot be written after a long test run
	 * is the run wasted. */
	int err = o.output ? run_output_error(o.output, 0) : 0;
	if (err) {
		fprintf(stderr, "heapsnap: check: cannot write the report %s: %s\n", o.output, strerror(err));
		return EXIT_INPUT;
	}
	if (o.record && (err = run_output_error(o.record, 0))) {
		fprintf(stderr, "heapsnap: check: cannot write the baseline %s: %s\n", o.record, strerror(err));
		return EXIT_INPUT;
	}
	struct hs_session *s = hs_session_new(NULL);
	if (!s) {
		fprintf(stderr, "heapsnap: out of memory\n");
		return EXIT_INPUT;
	}
	if (o.suppressions && hs_suppressions_load(s, &sup, o.suppressions, &d)) {
		fprintf(stderr, "heapsnap: %s\n", d.msg);
		hs_session_free(s);
		return EXIT_INPUT;
	}
	cli_print_warnings(s);
	if (o.baseline && hs_baseline_load(&base, o.baseline, &d)) {
		fprintf(stderr, "heapsnap: %s\n", d.msg);
		hs_suppressions_free(&sup);
		hs_session_free(s);
		return EXIT_INPUT;
	}
	char *dir = trace_dir(&o);
	char *pattern = NULL;
	if (!dir || asprintf(&pattern, "%s/heapsnap.%%e.%%p.hst", dir) < 0) {
		free(dir);
		hs_baseline_free(&base);
		hs_suppressions_free(&sup);
		hs_session_free(s);
		return EXIT_INPUT;
	}
	struct run_opts ro = o.run;
	ro.output = pattern;
	ro.output_is_pattern = 1;
	rc = run_spawn(&ro, argv + first, &status);
	free(pattern);
	int started = !rc;
	if (started) {
		int failed = program_failure(status);
		if (failed && !has_traces(dir))
			rc = failed; /* it failed before it could be traced: exec errors say why */
		else if (analyze(s, &o, dir, o.suppressions ? &sup : NULL, &base, &run))
			rc = failed ? failed : EXIT_INPUT;
		else {
			/* recording: the leaks found are what the baseline is for */
			rc = failed ? failed : run.ci.failing && !o.record ? o.error_exitcode : 0;
			if (write_report(&o, &run.ci, &sup, failed, rc) && !failed)
				rc = EXIT_INPUT;
			hs_suppressions_warn_unused(s, &sup);
			cli_print_warnings(s);
		}
	}
	if (started && (o.keep || o.run.output))
		fprintf(stderr, "heapsnap: check: traces kept in %s\n", dir);
	else if (!o.run.output)
		remove_traces(dir);
	free(dir);
	run_free(&run);
	hs_suppressions_free(&sup);
	hs_baseline_free(&base);
	hs_session_free(s);
	return rc;
}
