/*
 * cmd_check.c - `heapsnap check`: run a program (or a whole test suite)
 * under the shim, analyze every trace it and its children wrote, and fail
 * the build on leaks that are not suppressed and not in the baseline.
 *
 * The traces go to a private directory (mkdtemp) under the pattern
 * heapsnap.%e.%p.hst, so every process image of a test runner writes its
 * own and each finding is attributed to its pid and executable.
 *
 * A leak site's signature, which baselines store and match, is the
 * executable's base name, the allocation site's file:line and the function
 * names of its stack (module+offset where there is no symbol): stable across
 * runs and address-space randomization, and across edits that move lines
 * in the callers.
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

/* What check decided about one leak site. */
struct site {
	struct leak_report *r;
	const struct leak_group *g;
	char *signature;
	int in_baseline;
};

struct check_result {
	struct leak_report *reps;
	int nreps;
	struct site *sites; /* the sites of failing kinds, not suppressed */
	size_t nsites;
	size_t failing; /* sites neither suppressed nor in the baseline */
	uint64_t failing_blocks, failing_bytes;
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
		if (mkdir(o->run.output, 0700) && errno != EEXIST) {
			fprintf(stderr, "heapsnap: check: cannot create %s: %s\n", o->run.output, strerror(errno));
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

/* ---- signatures and the baseline ---- */

static void sig_append(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s);

	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		*buf = realloc(*buf, *cap);
	}
	memcpy(*buf + *len, s, n + 1);
	*len += n;
}

static char *signature(struct leak_report *r, const struct leak_group *g)
{
	const struct sym_stack *s = leaks_stack(r, g->stack);
	const char *exe = r->exe ? strrchr(r->exe, '/') : NULL;
	char *buf = NULL, part[PATH_MAX + 64];
	size_t len = 0, cap = 0;

	exe = exe ? exe + 1 : (r->exe ? r->exe : "?");
	sig_append(&buf, &len, &cap, exe);
	for (int i = 0; i < s->n; i++) {
		const struct sym_frame *f = &s->frames[i];
		const char *mod = f->module ? strrchr(f->module, '/') : NULL;
		mod = mod ? mod + 1 : (f->module ? f->module : "?");
		if (f->function)
			snprintf(part, sizeof(part), "%s%s", i ? ";" : "|", f->function);
		else
			snprintf(part, sizeof(part), "%s%s+0x%llx", i ? ";" : "|", mod, (unsigned long long)f->offset);
		sig_append(&buf, &len, &cap, part);
		if (i == 0 && f->file && f->line) {
			const char *base = strrchr(f->file, '/');
			snprintf(part, sizeof(part), "@%s:%u", base ? base + 1 : f->file, f->line);
			sig_append(&buf, &len, &cap, part);
		}
	}
	if (!s->n)
		sig_append(&buf, &len, &cap, "|<no stack>");
	return buf;
}

/* Read exactly four hex digits at p into *v; 0, or -1 if they are not. */
static int hex4(const char *p, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1; /* also stops at the terminating NUL */
		*v = *v << 4 | (unsigned)d;
	}
	return 0;
}

/* Write code point v as UTF-8 at o; return the end. */
static char *utf8_put(char *o, unsigned v)
{
	if (v < 0x80) {
		*o++ = (char)v;
	} else if (v < 0x800) {
		*o++ = (char)(0xc0 | v >> 6);
		*o++ = (char)(0x80 | (v & 0x3f));
	} else if (v < 0x10000) {
		*o++ = (char)(0xe0 | v >> 12);
		*o++ = (char)(0x80 | ((v >> 6) & 0x3f));
		*o++ = (char)(0x80 | (v & 0x3f));
	} else {
		*o++ = (char)(0xf0 | v >> 18);
		*o++ = (char)(0x80 | ((v >> 12) & 0x3f));
		*o++ = (char)(0x80 | ((v >> 6) & 0x3f));
		*o++ = (char)(0x80 | (v & 0x3f));
	}
	return o;
}

/* Decode the JSON string literal at p (just past its opening quote) into
 * a new string; *end is set past the closing quote.  NULL if malformed. */
static char *json_unquote(const char *p, const char **end)
{
	char *out = malloc(strlen(p) + 1), *o = out;

	for (; *p && *p != '"'; p++) {
		if (*p != '\\') {
			*o++ = *p;
			continue;
		}
		p++;
		switch (*p) {
		case 'n': *o++ = '\n'; break;
		case 't': *o++ = '\t'; break;
		case 'r': *o++ = '\r'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'u': {
			unsigned v, lo;
			if (hex4(p + 1, &v)) {
				free(out);
				return NULL;
			}
			p += 4;
			/* A surrogate pair, as Python's json.dump writes non-BMP text. */
			if (v >= 0xd800 && v < 0xdc00 && p[1] == '\\' && p[2] == 'u' && !hex4(p + 3, &lo) &&
			    lo >= 0xdc00 && lo < 0xe000) {
				v = 0x10000 + ((v - 0xd800) << 10) + (lo - 0xdc00);
				p += 6;
			}
			o = utf8_put(o, v);
			break;
		}
		case 0: free(out); return NULL;
		default: *o++ = *p; break;
		}
	}
	if (*p != '"') {
		free(out);
		return NULL;
	}
	*o = 0;
	*end = p + 1;
	return out;
}

static int by_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct baseline {
	char **sigs; /* sorted */
	size_t n;
};

/* If p is at the key "signature" followed by a colon and a string, return
 * the position just past the string's opening quote; else NULL.  Any JSON
 * whitespace may surround the colon, so a reformatted baseline still reads. */
static const char *signature_value(const char *p)
{
	static const char key[] = "\"signature\"";

	p += sizeof(key) - 1;
	p += strspn(p, " \t\r\n");
	if (*p++ != ':')
		return NULL;
	p += strspn(p, " \t\r\n");
	return *p == '"' ? p + 1 : NULL;
}

/* Read the signatures of a `check --format json` report.  Return 0, or -1
 * with an error printed (exit 2). */
static int baseline_load(struct baseline *b, const char *path)
{
	FILE *f = fopen(path, "r");
	struct stat st;

	if (!f || fstat(fileno(f), &st)) {
		fprintf(stderr, "heapsnap: %s: cannot read the baseline: %s\n", path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	char *text = malloc((size_t)st.st_size + 1);
	size_t n = fread(text, 1, (size_t)st.st_size, f);
	fclose(f);
	text[n] = 0;
	if (!strstr(text, "\"heapsnap check\"")) {
		fprintf(stderr, "heapsnap: %s: not a baseline (make one with heapsnap check --format json --output FILE)\n",
			path);
		free(text);
		return -1;
	}
	for (const char *p = strstr(text, "\"signature\""); p; p = strstr(p + 1, "\"signature\"")) {
		const char *v = signature_value(p), *end;
		char *s = v ? json_unquote(v, &end) : NULL;
		if (!s) {
			fprintf(stderr, "heapsnap: %s: malformed signature at byte %zu\n", path, (size_t)(p - text));
			free(text);
			return -1;
		}
		b->sigs = realloc(b->sigs, (b->n + 1) * sizeof(*b->sigs));
		b->sigs[b->n++] = s;
		p = end - 1;
	}
	free(text);
	qsort(b->sigs, b->n, sizeof(*b->sigs), by_str);
	return 0;
}

static int baseline_has(const struct baseline *b, const char *sig)
{
	return b->n && bsearch(&sig, b->sigs, b->n, sizeof(*b->sigs), by_str) != NULL;
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
		   const struct baseline *base, struct check_result *res)
{
	char *paths[1] = {(char *)dir}, **traces;
	struct hs_diag d = {""};
	size_t cap = 0;

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
		struct leak_report *r = &res->reps[res->nreps++];
		for (uint64_t k = 0; k < r->ngroups; k++) {
			const struct leak_group *g = &r->groups[k];
			if (!(o->fail_on & (1u << g->kind)) || g->suppressed >= 0)
				continue;
			if (res->nsites == cap) {
				cap = cap ? 2 * cap : 64;
				res->sites = realloc(res->sites, cap * sizeof(*res->sites));
			}
			struct site *s = &res->sites[res->nsites++];
			s->r = r;
			s->g = g;
			s->signature = signature(r, g);
			s->in_baseline = baseline_has(base, s->signature);
			if (!s->in_baseline) {
				res->failing++;
				res->failing_blocks += g->blocks;
				res->failing_bytes += g->bytes;
			}
		}
	}
	for (int i = 0; i < n; i++)
		free(traces[i]);
	free(traces);
	return 0;
}

static void result_free(struct check_result *res)
{
	for (size_t i = 0; i < res->nsites; i++)
		free(res->sites[i].signature);
	free(res->sites);
	for (int i = 0; i < res->nreps; i++)
		leaks_free(&res->reps[i]);
	free(res->reps);
}

/* ---- reports ---- */

static const char *const kind_title[] = {"Still reachable", "Possible leak", "Indirect leak", "Direct leak"};

static const char *exe_of(const struct leak_report *r)
{
	return r->exe ? r->exe : "?";
}

static void kinds_list(FILE *out, unsigned kinds)
{
	for (int k = LEAK_DEFINITE, first = 1; k >= LEAK_REACHABLE; k--)
		if (kinds & (1u << k)) {
			fprintf(out, "%s%s", first ? "" : ",", leak_kind_name(k));
			first = 0;
		}
}

static void report_text(FILE *out, const struct check_opts *o, const struct check_result *res,
			const struct suppressions *sup)
{
	size_t baselined = 0;
	int unscanned = 0;

	for (int i = 0; i < res->nreps; i++) {
		struct leak_report *r = &res->reps[i];
		int header = 0;
		unscanned += !r->scanned;
		for (size_t k = 0; k < res->nsites; k++) {
			const struct site *s = &res->sites[k];
			if (s->r != r || s->in_baseline)
				continue;
			if (!header && (o->keep || o->run.output))
				fprintf(out, "== %s (pid %u, parent %u), trace %s\n\n", exe_of(r), r->pid, r->ppid, r->path);
			else if (!header)
				fprintf(out, "== %s (pid %u, parent %u)\n\n", exe_of(r), r->pid, r->ppid);
			header = 1;
			fprintf(out, "%s of %llu byte(s) in %llu object(s) allocated from:\n", kind_title[s->g->kind],
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

static void report_json(FILE *out, const struct check_opts *o, const struct check_result *res,
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
		json_str(out, exe_of(r), strlen(exe_of(r)));
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
			const struct site *s = &res->sites[k];
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
static void sarif_uri(FILE *out, const char *path, const char *cwd)
{
	size_t n = strlen(cwd);
	char enc[3 * PATH_MAX + 16], *e = enc;

	if (path[0] == '/' && n > 1 && !strncmp(path, cwd, n) && path[n] == '/')
		path += n + 1;
	else if (path[0] == '/')
		e += sprintf(e, "file://");
	for (const char *p = path; *p && e < enc + sizeof(enc) - 4; p++) {
		unsigned char c = (unsigned char)*p;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-._~/", c))
			*e++ = (char)c;
		else
			e += sprintf(e, "%%%02X", c);
	}
	*e = 0;
	json_str(out, enc, strlen(enc));
}

static void sarif_location(FILE *out, const struct sym_frame *f, const char *cwd)
{
	fprintf(out, "{\"physicalLocation\": {\"artifactLocation\": {\"uri\": ");
	if (f->file && f->line) {
		sarif_uri(out, f->file, cwd);
		fprintf(out, "}, \"region\": {\"startLine\": %u}}", f->line);
	} else {
		sarif_uri(out, f->module ? f->module : "unknown", cwd);
		fprintf(out, "}}");
	}
	if (f->function) {
		fprintf(out, ", \"message\": {\"text\": ");
		json_str(out, f->function, strlen(f->function));
		fprintf(out, "}");
	}
	fprintf(out, "}");
}

static const char *const rule_id[] = {"reachable", "possible-leak", "indirect-leak", "definite-leak"};
static const char *const rule_text[] = {
	"Memory still reachable at exit",
	"Memory possibly leaked: reachable only through interior pointers",
	"Memory indirectly leaked: reachable only from leaked blocks",
	"Memory definitely leaked: no pointer to it remains",
};

static void report_sarif(FILE *out, const struct check_result *res)
{
	char cwd[PATH_MAX] = "/";

	if (!getcwd(cwd, sizeof(cwd)))
		strcpy(cwd, "/");
	fprintf(out, "{\"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\", \"version\": \"2.1.0\", "
		     "\"runs\": [{\"tool\": {\"driver\": {\"name\": \"heapsnap\", \"rules\": [");
	for (int k = 0; k < LEAK_KINDS; k++)
		fprintf(out, "%s{\"id\": \"%s\", \"shortDescription\": {\"text\": \"%s\"}, \"defaultConfiguration\": "
			     "{\"level\": \"%s\"}}",
			k ? ", " : "", rule_id[k], rule_text[k], k == LEAK_REACHABLE ? "note" : "error");
	fprintf(out, "]}}, \"results\": [");
	int first = 1;
	for (size_t i = 0; i < res->nsites; i++) {
		const struct site *s = &res->sites[i];
		if (s->in_baseline)
			continue;
		const struct sym_stack *st = leaks_stack(s->r, s->g->stack);
		char msg[1024], site[512];
		snprintf(msg, sizeof(msg), "%s of %llu byte(s) in %llu object(s) allocated from %s in %s (pid %u)",
			 kind_title[s->g->kind], (unsigned long long)s->g->bytes, (unsigned long long)s->g->blocks,
			 leaks_site(s->r, s->g->stack, site, sizeof(site)), exe_of(s->r), s->r->pid);
		fprintf(out, "%s{\"ruleId\": \"%s\", \"ruleIndex\": %d, \"level\": \"%s\", \"message\": {\"text\": ",
			first ? "" : ", ", rule_id[s->g->kind], s->g->kind, s->g->kind == LEAK_REACHABLE ? "note" : "error");
		json_str(out, msg, strlen(msg));
		fprintf(out, "}, \"locations\": [");
		int at = 0;
		while (at < st->n && !(st->frames[at].file && st->frames[at].line))
			at++;
		if (st->n)
			sarif_location(out, &st->frames[at < st->n ? at : 0], cwd);
		fprintf(out, "], \"partialFingerprints\": {\"heapsnapSignature/v1\": ");
		json_str(out, s->signature, strlen(s->signature));
		fprintf(out, "}");
		if (st->n) {
			fprintf(out, ", \"codeFlows\": [{\"threadFlows\": [{\"locations\": [");
			for (int f = 0; f < st->n; f++) {
				fprintf(out, "%s{\"location\": ", f ? ", " : "");
				sarif_location(out, &st->frames[f], cwd);
				fprintf(out, "}");
			}
			fprintf(out, "]}]}]");
		}
		fprintf(out, "}");
		first = 0;
	}
	fprintf(out, "]}]}\n");
}

static void xml_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '<')
			fputs("&lt;", out);
		else if (c == '>')
			fputs("&gt;", out);
		else if (c == '&')
			fputs("&amp;", out);
		else if (c == '"')
			fputs("&quot;", out);
		else if (c < 0x20 && c != '\n' && c != '\t')
			fputc('?', out); /* not allowed in XML 1.0 */
		else
			fputc(c, out);
	}
}

static void report_junit(FILE *out, const struct check_result *res)
{
	int skipped = 0;

	for (int i = 0; i < res->nreps; i++)
		skipped += !res->reps[i].scanned;
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(out, "<testsuites name=\"heapsnap check\" tests=\"%d\" failures=\"%zu\" errors=\"0\" skipped=\"%d\">\n",
		res->nreps, res->failing, skipped);
	fprintf(out, "  <testsuite name=\"heapsnap check\" tests=\"%d\" failures=\"%zu\" errors=\"0\" skipped=\"%d\">\n",
		res->nreps, res->failing, skipped);
	for (int i = 0; i < res->nreps; i++) {
		struct leak_report *r = &res->reps[i];
		const char *base = strrchr(exe_of(r), '/');
		char name[PATH_MAX + 32];
		snprintf(name, sizeof(name), "%s (pid %u)", exe_of(r), r->pid);
		fprintf(out, "    <testcase classname=\"heapsnap.");
		xml_text(out, base ? base + 1 : exe_of(r));
		fprintf(out, "\" name=\"");
		xml_text(out, name);
		fprintf(out, "\">\n");
		if (!r->scanned)
			fprintf(out, "      <skipped message=\"no pointer scan: the image exec'ed another or was killed\"/>\n");
		for (size_t k = 0; k < res->nsites; k++) {
			const struct site *s = &res->sites[k];
			char msg[1024], site[512];
			if (s->r != r || s->in_baseline)
				continue;
			snprintf(msg, sizeof(msg), "%s of %llu byte(s) in %llu object(s) allocated from %s",
				 kind_title[s->g->kind], (unsigned long long)s->g->bytes, (unsigned long long)s->g->blocks,
				 leaks_site(r, s->g->stack, site, sizeof(site)));
			fprintf(out, "      <failure type=\"%s\" message=\"", leak_kind_name(s->g->kind));
			xml_text(out, msg);
			fprintf(out, "\">");
			char *text = NULL;
			size_t len = 0;
			FILE *mem = open_memstream(&text, &len);
			cli_print_stack(mem, leaks_stack(r, s->g->stack));
			fclose(mem);
			xml_text(out, text);
			free(text);
			fprintf(out, "</failure>\n");
		}
		fprintf(out, "    </testcase>\n");
	}
	fprintf(out, "  </testsuite>\n</testsuites>\n");
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

static int write_report(const struct check_opts *o, const struct check_result *res, const struct suppressions *sup,
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
	case FMT_SARIF: report_sarif(out, res); break;
	case FMT_JUNIT: report_junit(out, res); break;
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
	struct baseline base = {0};
	struct check_result res = {0};
	struct hs_diag d = {""};
	int first = 0, status = 0, rc;

	if ((rc = parse(argc, argv, &o, &first)))
		return rc;
	if (o.suppressions && suppress_load(&sup, o.suppressions, &d)) {
		fprintf(stderr, "heapsnap: %s\n", d.msg);
		return EXIT_INPUT;
	}
	if (o.baseline && baseline_load(&base, o.baseline)) {
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
	if (!rc) {
		int failed = program_failure(status);
		if (analyze(&o, dir, o.suppressions ? &sup : NULL, &base, &res))
			rc = failed ? failed : EXIT_INPUT;
		else {
			rc = failed ? failed : res.failing ? o.error_exitcode : 0;
			if (write_report(&o, &res, &sup, failed, rc) && !failed)
				rc = EXIT_INPUT;
			warn_unused(&sup);
		}
	}
	if (o.keep || o.run.output)
		fprintf(stderr, "heapsnap: check: traces kept in %s\n", dir);
	else
		remove_traces(dir);
	free(dir);
	result_free(&res);
	suppress_free(&sup);
	for (size_t i = 0; i < base.n; i++)
		free(base.sigs[i]);
	free(base.sigs);
	return rc;
}
