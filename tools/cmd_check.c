/*
 * cmd_check.c - `heapsnap check`: run a program (or a whole test suite)
 * under the shim, analyze every trace it and its children wrote, and fail
 * the build on leaks that are not suppressed and not in the baseline.
 *
 * The traces go to a private directory (mkdtemp) under the pattern
 * heapsnap.%e.%p.hst, so every process image of a test runner writes its
 * own and each finding is attributed to its pid and executable.
 *
 * The sites, signatures, baselines and the SARIF and JUnit renderings are
 * in ci_report.c, which `leaks --format sarif|junit` uses too.
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

#include "analyze/leaks.h"
#include "ci_report.h"
#include "cli.h"
#include "util/json.h"

#define CHECK_DEFAULT_EXITCODE 23

enum check_format { FMT_TEXT, FMT_JSON, FMT_SARIF, FMT_JUNIT };

struct check_opts {
	struct run_opts run;
	unsigned fail_on;	  /* bit per enum leak_kind */
	const char *suppressions; /* file, or NULL */
	const char *baseline;	  /* file, or NULL */
	int error_exitcode;
	enum check_format format;
	const char *output; /* report file, or NULL for stdout */
	int keep;	    /* keep the traces */
};

/* ---- options ---- */

static int parse_format(const char *s, enum check_format *f)
{
	static const char *const names[] = {"text", "json", "sarif", "junit"};

	for (int i = 0; i < 4; i++)
		if (!strcmp(s, names[i])) {
			*f = (enum check_format)i;
			return 0;
		}
	return -1;
}

static int parse(int argc, char **argv, struct check_opts *o, int *first)
{
	int i = 1;

	for (; i < argc; i++) {
		const char *a = argv[i];
		int more = i + 1 < argc;
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[0] != '-')
			break;
		if (!strcmp(a, "--fail-on") && more) {
			if (cli_parse_kinds(argv[++i], &o->fail_on))
				return cli_usage_error("check: --fail-on takes a comma list of definite, indirect, "
						       "possible, reachable (or all), not '%s'",
						       argv[i]);
		} else if (!strcmp(a, "--suppressions") && more) {
			o->suppressions = argv[++i];
		} else if (!strcmp(a, "--baseline") && more) {
			o->baseline = argv[++i];
		} else if (!strcmp(a, "--error-exitcode") && more) {
			char *end;
			long v = strtol(argv[++i], &end, 10);
			if (*end || end == argv[i] || v < 1 || v > 255)
				return cli_usage_error("check: --error-exitcode takes 1 to 255, not '%s'", argv[i]);
			o->error_exitcode = (int)v;
		} else if (!strcmp(a, "--format") && more) {
			if (parse_format(argv[++i], &o->format))
				return cli_usage_error("check: --format takes text, json, sarif or junit, not '%s'",
						       argv[i]);
		} else if (!strcmp(a, "--output") && more) {
			o->output = argv[++i];
		} else if (!strcmp(a, "--keep")) {
			o->keep = 1;
		} else if (!strcmp(a, "--output-dir") && more) {
			o->run.output = argv[++i];
		} else if (strcmp(a, "--output") && run_option(argc, argv, &i, &o->run)) {
			if (!strcmp(a, "-o"))
				return cli_usage_error("check: -o is for run; use --output FILE for the report "
						       "and --output-dir DIR for the traces");
		} else {
			return cli_usage_error("check: unknown or incomplete option '%s'", a);
		}
	}
	if (i >= argc)
		return cli_usage_error("check: no program given (heapsnap check [OPTIONS] -- PROG [ARGS])");
	*first = i;
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

static int analyze(const struct check_opts *o, const char *dir, const struct suppressions *sup,
		   const struct ci_baseline *base, struct ci_result *res)
{
	char *paths[1] = {(char *)dir}, **traces;
	struct hs_diag d = {""};

	if (!has_traces(dir)) {
		fprintf(stderr, "heapsnap: check: the program wrote no trace (statically linked and set-user-ID "
				"programs cannot be traced)\n");
		return -1;
	}
	int n = cli_expand_traces(1, paths, &traces);
	if (n < 0)
		return -1;
	res->reps = calloc((size_t)n + 1, sizeof(*res->reps));
	for (int i = 0; i < n; i++) {
		if (leaks_collect(traces[i], sup, &res->reps[res->nreps], &d)) {
			fprintf(stderr, "heapsnap: check: %s\n", d.msg);
			continue;
		}
		ci_add_sites(res, &res->reps[res->nreps++], o->fail_on, base);
	}
	for (int i = 0; i < n; i++)
		free(traces[i]);
	free(traces);
	return 0;
}

static void result_free(struct ci_result *res)
{
	ci_sites_free(res);
	for (int i = 0; i < res->nreps; i++)
		leaks_free(&res->reps[i]);
	free(res->reps);
}

/* ---- reports ---- */

static void kinds_list(FILE *out, unsigned kinds)
{
	for (int k = LEAK_DEFINITE, first = 1; k >= LEAK_REACHABLE; k--)
		if (kinds & (1u << k)) {
			fprintf(out, "%s%s", first ? "" : ",", leak_kind_name(k));
			first = 0;
		}
}

static void report_text(FILE *out, const struct check_opts *o, const struct ci_result *res,
			const struct suppressions *sup)
{
	size_t baselined = 0;
	int unscanned = 0;

	for (int i = 0; i < res->nreps; i++) {
		struct leak_report *r = &res->reps[i];
		int header = 0;
		unscanned += !r->scanned;
		for (size_t k = 0; k < res->nsites; k++) {
			const struct ci_site *s = &res->sites[k];
			if (s->r != r || s->in_baseline)
				continue;
			if (!header && (o->keep || o->run.output))
				fprintf(out, "== %s (pid %u, parent %u), trace %s\n\n", ci_exe(r), r->pid, r->ppid, r->path);
			else if (!header)
				fprintf(out, "== %s (pid %u, parent %u)\n\n", ci_exe(r), r->pid, r->ppid);
			header = 1;
			fprintf(out, "%s of %llu byte(s) in %llu object(s) allocated from:\n", ci_kind_title[s->g->kind],
				(unsigned long long)s->g->bytes, (unsigned long long)s->g->blocks);
			cli_print_stack(out, leaks_stack(r, s->g->stack));
			fprintf(out, "\n");
		}
		if (header && r->ncycles)
			fprintf(out, "   (%ld leaked cycle(s) in pid %u: heapsnap cycles %s)\n\n", r->ncycles, r->pid,
				o->keep || o->run.output ? r->path : "--keep");
	}
	for (size_t k = 0; k < res->nsites; k++)
		baselined += res->sites[k].in_baseline;
	fprintf(out, "heapsnap check: %d trace(s)", res->nreps);
	if (unscanned)
		fprintf(out, ", %d without a pointer scan (exec'ed or killed)", unscanned);
	fprintf(out, "; failing kinds ");
	kinds_list(out, o->fail_on);
	fprintf(out, "\n");
	if (baselined)
		fprintf(out, "  %zu leak site(s) already in the baseline %s\n", baselined, o->baseline);
	if (sup->n) {
		for (unsigned i = 0; i < sup->n; i++)
			fprintf(out, "  suppression leak:%s (%s:%u) matched %llu site(s), %llu bytes in %llu blocks\n",
				sup->s[i].pattern, sup->path, sup->s[i].line, (unsigned long long)sup->s[i].leaks,
				(unsigned long long)sup->s[i].bytes, (unsigned long long)sup->s[i].blocks);
	}
	fprintf(out, "SUMMARY: heapsnap: %llu byte(s) leaked in %llu allocation(s) at %zu new site(s).\n",
		(unsigned long long)res->failing_bytes, (unsigned long long)res->failing_blocks, res->failing);
}

static void report_json(FILE *out, const struct check_opts *o, const struct ci_result *res,
			const struct suppressions *sup, int program_status, int exit_code)
{
	fprintf(out, "{\"schema\": 1, \"tool\": \"heapsnap check\", \"fail_on\": \"");
	kinds_list(out, o->fail_on);
	fprintf(out, "\", \"program_status\": %d, \"exit_code\": %d, \"failing\": {\"sites\": %zu, \"blocks\": %llu, "
		     "\"bytes\": %llu}, \"processes\": [",
		program_status, exit_code, res->failing, (unsigned long long)res->failing_blocks,
		(unsigned long long)res->failing_bytes);
	for (int i = 0; i < res->nreps; i++) {
		struct leak_report *r = &res->reps[i];
		fprintf(out, "%s{\"pid\": %u, \"ppid\": %u, \"exe\": ", i ? ", " : "", r->pid, r->ppid);
		json_str(out, ci_exe(r), strlen(ci_exe(r)));
		fprintf(out, ", \"trace\": ");
		json_str(out, r->path, strlen(r->path));
		fprintf(out, ", \"scanned\": %s, \"summary\": {", r->scanned ? "true" : "false");
		for (int k = LEAK_DEFINITE; k >= LEAK_REACHABLE; k--)
			fprintf(out, "\"%s\": {\"blocks\": %llu, \"bytes\": %llu}, ", leak_kind_name(k),
				(unsigned long long)r->total[k][0], (unsigned long long)r->total[k][1]);
		fprintf(out, "\"suppressed\": {\"blocks\": %llu, \"bytes\": %llu}}, \"cycles\": %ld, \"leaks\": [",
			(unsigned long long)r->suppressed[0], (unsigned long long)r->suppressed[1], r->ncycles);
		int first = 1;
		for (size_t k = 0; k < res->nsites; k++) {
			const struct ci_site *s = &res->sites[k];
			char site[512];
			if (s->r != r)
				continue;
			fprintf(out, "%s{\"kind\": \"%s\", \"blocks\": %llu, \"bytes\": %llu, \"new\": %s, \"site\": ",
				first ? "" : ", ", leak_kind_name(s->g->kind), (unsigned long long)s->g->blocks,
				(unsigned long long)s->g->bytes, s->in_baseline ? "false" : "true");
			leaks_site(r, s->g->stack, site, sizeof(site));
			json_str(out, site, strlen(site));
			fprintf(out, ", \"signature\": ");
			json_str(out, s->signature, strlen(s->signature));
			fprintf(out, ", \"stack\": ");
			cli_json_stack(out, leaks_stack(r, s->g->stack));
			fprintf(out, "}");
			first = 0;
		}
		fprintf(out, "]}");
	}
	fprintf(out, "], \"suppressions\": [");
	for (unsigned i = 0; i < sup->n; i++) {
		fprintf(out, "%s{\"pattern\": ", i ? ", " : "");
		json_str(out, sup->s[i].pattern, strlen(sup->s[i].pattern));
		fprintf(out, ", \"line\": %u, \"leaks\": %llu, \"blocks\": %llu, \"bytes\": %llu}", sup->s[i].line,
			(unsigned long long)sup->s[i].leaks, (unsigned long long)sup->s[i].blocks,
			(unsigned long long)sup->s[i].bytes);
	}
	fprintf(out, "]}\n");
}

/* A file name as a SARIF artifact URI: relative to the working directory
 * when it lies under it (GitHub resolves those against the checkout),
 * else an absolute file: URI; reserved characters percent-encoded. */
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

static int write_report(const struct check_opts *o, const struct ci_result *res, const struct suppressions *sup,
			int program_status, int exit_code)
{
	FILE *out = stdout;

	if (o->output && !(out = fopen(o->output, "w"))) {
		fprintf(stderr, "heapsnap: check: cannot write %s: %s\n", o->output, strerror(errno));
		return -1;
	}
	switch (o->format) {
	case FMT_TEXT: report_text(out, o, res, sup); break;
	case FMT_JSON: report_json(out, o, res, sup, program_status, exit_code); break;
	case FMT_SARIF: ci_write_sarif(out, res); break;
	case FMT_JUNIT: ci_write_junit(out, res); break;
	}
	if (out != stdout && fclose(out)) {
		fprintf(stderr, "heapsnap: check: cannot write %s: %s\n", o->output, strerror(errno));
		return -1;
	}
	if (o->output || o->format != FMT_TEXT)
		fprintf(stderr, "heapsnap: check: %d trace(s), %zu new leak site(s) (%llu bytes in %llu blocks)%s%s\n",
			res->nreps, res->failing, (unsigned long long)res->failing_bytes,
			(unsigned long long)res->failing_blocks, o->output ? ", report in " : "", o->output ? o->output : "");
	return 0;
}

static void warn_unused(const struct suppressions *sup)
{
	for (unsigned i = 0; i < sup->n; i++)
		if (!sup->s[i].leaks)
			fprintf(stderr, "heapsnap: %s:%u: suppression leak:%s matched nothing\n", sup->path, sup->s[i].line,
				sup->s[i].pattern);
}

int cmd_check(int argc, char **argv)
{
	struct check_opts o = {.fail_on = (1u << LEAK_DEFINITE) | (1u << LEAK_INDIRECT),
			       .error_exitcode = CHECK_DEFAULT_EXITCODE};
	struct suppressions sup = {0};
	struct ci_baseline base = {0};
	struct ci_result res = {0};
	struct hs_diag d = {""};
	int first = 0, status = 0, rc;

	if ((rc = parse(argc, argv, &o, &first)))
		return rc;
	/* Every output is checked before the program runs (the traces' in
	 * run_spawn): a report that cannot be written after a long test run
	 * is the run wasted. */
	int err = o.output ? run_output_error(o.output, 0) : 0;
	if (err) {
		fprintf(stderr, "heapsnap: check: cannot write the report %s: %s\n", o.output, strerror(err));
		return EXIT_INPUT;
	}
	if (o.suppressions && suppress_load(&sup, o.suppressions, &d)) {
		fprintf(stderr, "heapsnap: %s\n", d.msg);
		return EXIT_INPUT;
	}
	if (o.baseline && ci_baseline_load(&base, o.baseline)) {
		suppress_free(&sup);
		return EXIT_INPUT;
	}
	char *dir = trace_dir(&o);
	if (!dir)
		return EXIT_INPUT;
	char *pattern;
	if (asprintf(&pattern, "%s/heapsnap.%%e.%%p.hst", dir) < 0)
		return EXIT_INPUT;
	struct run_opts run = o.run;
	run.output = pattern;
	run.output_is_pattern = 1;
	rc = run_spawn(&run, argv + first, &status);
	free(pattern);
	int started = !rc;
	if (started) {
		int failed = program_failure(status);
		if (failed && !has_traces(dir))
			rc = failed; /* it failed before it could be traced: exec errors say why */
		else if (analyze(&o, dir, o.suppressions ? &sup : NULL, &base, &res))
			rc = failed ? failed : EXIT_INPUT;
		else {
			rc = failed ? failed : res.failing ? o.error_exitcode : 0;
			if (write_report(&o, &res, &sup, failed, rc) && !failed)
				rc = EXIT_INPUT;
			warn_unused(&sup);
		}
	}
	if (started && (o.keep || o.run.output))
		fprintf(stderr, "heapsnap: check: traces kept in %s\n", dir);
	else if (!o.run.output)
		remove_traces(dir);
	free(dir);
	result_free(&res);
	suppress_free(&sup);
	ci_baseline_free(&base);
	return rc;
}
