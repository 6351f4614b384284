/*
 * cmd_top.c - `heapsnap top` and `heapsnap diff`: live memory at a
 * snapshot grouped like tracemalloc's statistics(), and the difference
 * between two snapshots (of one trace, or of two runs) like compare_to().
 * The statistics and their renderings are the analyzer library's.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <heapsnap-analyze.h>

#include "cli.h"

#define MAX_PATTERNS 32

struct top_opts {
	struct hs_group g;
	const char *include[MAX_PATTERNS], *exclude[MAX_PATTERNS];
	enum hs_format format;
	int folded;	       /* --format folded */
	int pprof;	       /* --format pprof */
	int by_given;	       /* --by was given */
	const char *output;    /* -o FILE, NULL: stdout */
	const char *snapshot;  /* top */
	const char *from, *to; /* diff */
	long limit;	       /* lines shown; -1: the default */
	int growth;	       /* top --growth */
	double share;	       /* --growth-share, 0: the default */
	int temporary;	       /* top --temporary */
	int retained;	       /* top --retained */
};

enum {
	TOP_OUTPUT = 'o',
	TOP_BY = CLI_LONG_ONLY,
	TOP_CUMULATIVE,
	TOP_INCLUDE,
	TOP_EXCLUDE,
	TOP_LIMIT,
	TOP_FORMAT,
	TOP_SNAPSHOT,
	TOP_GROWTH,
	TOP_TEMPORARY,
	TOP_RETAINED,
	TOP_FROM,
	TOP_TO,
	TOP_FULL_NAMES,
	TOP_GROWTH_SHARE,
};

/* The options top and diff share: how lines are grouped and shown. */
#define GROUP_OPTS                                                                                                \
	{"by", TOP_BY, "KEY", "group by lineno (default), function, file, module or traceback"},                 \
	{"cumulative", TOP_CUMULATIVE, NULL, "count a block at every frame of its stack, not only the first"},   \
	{"include", TOP_INCLUDE, "PAT", "only blocks whose site's file or module PAT (a glob) matches"},         \
	{"exclude", TOP_EXCLUDE, "PAT", "not the blocks whose site's file or module PAT matches"},               \
	{"limit", TOP_LIMIT, "N", "show N lines (default 10; 0: all)"},                                          \
	{"full-names", TOP_FULL_NAMES, NULL, "C++ names with their template arguments (text: shortened to <…>)"}

static const struct cli_opt top_opts[] = {
	{"snapshot", TOP_SNAPSHOT, "SEL", "label, index, start, exit (default), peak or a time @2.5s"},
	GROUP_OPTS,
	{"format", TOP_FORMAT, "F", "text (default), json, folded or pprof"},
	{"output", TOP_OUTPUT, "FILE", "write there, not to standard output"},
	{"growth", TOP_GROWTH, NULL, "the sites that grow across the snapshots"},
	{"growth-share", TOP_GROWTH_SHARE, "P", "--growth: grew in at least this share of intervals (default 0.6)"},
	{"temporary", TOP_TEMPORARY, NULL, "blocks freed before their thread allocated again"},
	{"retained", TOP_RETAINED, NULL, "rank by retained size at a scanned snapshot (--snapshot: which)"},
	{NULL, 0, NULL, NULL},
};

static const struct cli_opt diff_opts[] = {
	{"from", TOP_FROM, "SEL", "the older snapshot (one trace)"},
	{"to", TOP_TO, "SEL", "the newer snapshot (one trace)"},
	GROUP_OPTS,
	{"format", TOP_FORMAT, "F", "text (default), json or pprof"},
	{"output", TOP_OUTPUT, "FILE", "write there, not to standard output"},
	{NULL, 0, NULL, NULL},
};

const struct cli_cmd cli_cmd_top = {
	.name = "top",
	.synopsis = "[OPTIONS] TRACE...",
	.about = "Live memory at a snapshot by site, as Python's tracemalloc statistics() shows it.",
	.opts = top_opts,
	.fn = cmd_top,
};

const struct cli_cmd cli_cmd_diff = {
	.name = "diff",
	.synopsis = "[OPTIONS] TRACE --from SEL --to SEL | diff [OPTIONS] OLD NEW",
	.about = "What changed between two snapshots, as tracemalloc's compare_to() shows it.",
	.opts = diff_opts,
	.fn = cmd_diff,
};

/* Parse the options of top or diff; *paths, *npaths: the operands.
 * Return 0, EXIT_USAGE (printed), or -1 after the help. */
static int parse(int argc, char **argv, const struct cli_cmd *cmd, struct top_opts *o, char ***paths, int *npaths)
{
	const char *format = "text", *name = cmd->name;
	struct cli_parse p;
	char *end;
	int c;

	memset(o, 0, sizeof(*o));
	o->limit = -1;
	o->g.include = o->include;
	o->g.exclude = o->exclude;
	cli_parse_start(&p, cmd, argc, argv);
	while ((c = cli_next_opt(&p)) > 0) {
		switch (c) {
		case TOP_BY:
			o->by_given = 1;
			if (hs_by_parse(p.arg, &o->g.by))
				return cli_usage_error(name, "--by takes lineno, function, file, module or traceback, not '%s'",
						       p.arg);
			break;
		case TOP_CUMULATIVE:
			o->g.cumulative = 1;
			break;
		case TOP_INCLUDE:
			if (o->g.ninclude == MAX_PATTERNS)
				return cli_usage_error(name, "at most %d --include patterns", MAX_PATTERNS);
			o->include[o->g.ninclude++] = p.arg;
			break;
		case TOP_EXCLUDE:
			if (o->g.nexclude == MAX_PATTERNS)
				return cli_usage_error(name, "at most %d --exclude patterns", MAX_PATTERNS);
			o->exclude[o->g.nexclude++] = p.arg;
			break;
		case TOP_LIMIT:
			o->limit = strtol(p.arg, &end, 10);
			if (*end || end == p.arg || o->limit < 0)
				return cli_usage_error(name, "--limit takes a number >= 0 (0: all), not '%s'", p.arg);
			break;
		case TOP_FORMAT:
			format = p.arg;
			break;
		case TOP_SNAPSHOT:
			o->snapshot = p.arg;
			break;
		case TOP_GROWTH:
			o->growth = 1;
			break;
		case TOP_TEMPORARY:
			o->temporary = 1;
			break;
		case TOP_RETAINED:
			o->retained = 1;
			break;
		case TOP_FROM:
			o->from = p.arg;
			break;
		case TOP_TO:
			o->to = p.arg;
			break;
		case TOP_OUTPUT:
			o->output = p.arg;
			break;
		case TOP_FULL_NAMES:
			o->g.full_names = 1;
			break;
		case TOP_GROWTH_SHARE:
			o->share = strtod(p.arg, &end);
			if (*end || end == p.arg || !(o->share > 0 && o->share <= 1))
				return cli_usage_error(name, "--growth-share takes a number above 0 and at most 1, not '%s'",
						       p.arg);
			break;
		}
	}
	if (c == CLI_STOP)
		return p.rc ? p.rc : -1;
	*npaths = cli_operands(&p, paths);
	int top = cmd == &cli_cmd_top;
	int ok = !hs_format_parse(format, &o->format) &&
		 (o->format == HS_FMT_TEXT || o->format == HS_FMT_JSON || o->format == HS_FMT_PPROF ||
		  (o->format == HS_FMT_FOLDED && top));
	if (!ok)
		return cli_usage_error(name, "--format takes text, json%s or pprof, not '%s'", top ? ", folded" : "",
				       format);
	o->folded = o->format == HS_FMT_FOLDED;
	o->pprof = o->format == HS_FMT_PPROF;
	if (o->pprof && (o->by_given || o->g.cumulative || o->limit >= 0 || o->growth || o->temporary || o->retained))
		return cli_usage_error(name, "--format pprof keeps whole stacks of the live heap (pprof groups them "
					     "itself): not with --by, --cumulative, --limit, --growth, --temporary or "
					     "--retained");
	if (o->pprof && !o->output && isatty(STDOUT_FILENO))
		return cli_usage_error(name, "--format pprof is binary: give -o FILE, or redirect the output");
	if (!*npaths)
		return cli_usage_error(name, "no trace given");
	return 0;
}

/* Read trace path with w; print why not and return NULL on failure. */
static struct hs_trace *read_trace(struct hs_session *s, const char *path, const struct hs_want *w)
{
	struct hs_diag d = {""};
	struct hs_trace *t = hs_trace_read(s, path, w, &d);

	if (!t)
		fprintf(stderr, "heapsnap: %s\n", d.msg);
	return t;
}

static void oom(const char *path)
{
	fprintf(stderr, "heapsnap: %s: out of memory\n", path);
}

/* --growth: the sites that grew at every snapshot, for each trace.  All
 * are read before any is shown: an unreadable one shows none. */
static int run_growth(struct hs_session *s, const struct top_opts *o, char **traces, int n, FILE *out)
{
	struct hs_want w = {.flags = HS_WANT_SNAPSHOT_HEAPS};
	struct hs_trace **t = calloc((size_t)n, sizeof(*t));
	int rc = 0, nread = 0;

	if (!t) {
		oom(traces[0]);
		return EXIT_INPUT;
	}
	for (; nread < n; nread++)
		if (!(t[nread] = read_trace(s, traces[nread], &w))) {
			rc = EXIT_INPUT;
			break;
		}
	for (int k = 0; !rc && k < n; k++) {
		int ns = t[k]->nsnapshot_heaps;
		if (ns < 3) {
			fprintf(stderr, "heapsnap: %s: --growth needs 3 or more snapshots, the trace has %d\n", t[k]->path,
				ns);
			rc = EXIT_INPUT;
			break;
		}
		struct hs_stats *st = hs_stats_new(&o->g, ns);
		struct hs_stat_line *l = NULL;
		long nl = -1;
		for (int c = 0; st && c < ns && !hs_stats_add(st, t[k], &t[k]->snapshot_heaps[c], c); c++)
			if (c == ns - 1)
				nl = hs_stats_growth(st, o->share, &l);
		hs_stats_free(st);
		if (nl < 0) {
			oom(t[k]->path);
			rc = EXIT_INPUT;
			break;
		}
		struct hs_growth v = {.group = &o->g, .lines = l, .n = nl, .limit = o->limit, .path = t[k]->path,
				      .snaps = t[k]->snapshot_heaps, .nsnaps = ns, .share = o->share};
		hs_render_growth(out, o->format, &v);
		hs_stat_lines_free(l, nl);
	}
	for (int k = 0; k < nread; k++)
		hs_trace_free(t[k]);
	free(t);
	return rc;
}

/* Folded stacks of every trace, in order.  Printed once all are read. */
static int run_folded(struct hs_session *s, const struct top_opts *o, const struct hs_want *w, char **traces, int n,
		      FILE *out)
{
	struct hs_stat_line **l = calloc((size_t)n, sizeof(*l));
	long *nl = calloc((size_t)n, sizeof(*nl));
	int rc = 0, done = 0;

	if (!l || !nl) {
		oom(traces[0]);
		rc = EXIT_INPUT;
	}
	for (; !rc && done < n; done++) {
		struct hs_trace *t = read_trace(s, traces[done], w);
		if (!t) {
			rc = EXIT_INPUT;
			break;
		}
		nl[done] = hs_folded(t, o->temporary ? &t->temporary : &t->heaps[0], &o->g, &l[done]);
		hs_trace_free(t);
		if (nl[done] < 0) {
			oom(traces[done]);
			nl[done] = 0;
			rc = EXIT_INPUT;
		}
	}
	for (int k = 0; !rc && k < n; k++)
		hs_render_folded(out, l[k], nl[k]);
	for (int k = 0; l && nl && k < done; k++)
		hs_stat_lines_free(l[k], nl[k]);
	free(l);
	free(nl);
	return rc;
}

/* The scan of trace t as a table's header names it. */
static void scan_heap(const struct hs_trace *t, struct hs_heap *h)
{
	const struct hs_graph *g = t->graph;

	memset(h, 0, sizeof(*h));
	h->index = (int)g->snapshot;
	h->ts = g->scan_ts;
	h->seconds = g->scan_ts > t->t0 ? (double)(g->scan_ts - t->t0) / 1e9 : 0;
	snprintf(h->label, sizeof(h->label), "%s", g->snapshot >= 0 ? "" : hs_scan_reason_name(g->reason));
	for (size_t i = 0; g->snapshot >= 0 && i < t->nsnapshots; i++)
		if (t->snapshots[i].index == (uint64_t)g->snapshot)
			snprintf(h->label, sizeof(h->label), "%s", t->snapshots[i].label);
}

/* top --retained: the blocks of each trace's scan, by what they retain. */
static int run_retained(struct hs_session *s, const struct top_opts *o, char **traces, int n, FILE *out)
{
	struct hs_want w = {.flags = HS_WANT_GRAPH, .scan = o->snapshot};
	struct hs_stats *st = hs_stats_new(&o->g, 1);
	struct hs_heap first = {0};
	int rc = 0;

	if (!st) {
		oom(traces[0]);
		return EXIT_INPUT;
	}
	for (int k = 0; k < n && !rc; k++) {
		struct hs_trace *t = read_trace(s, traces[k], &w);
		if (!t) {
			rc = EXIT_INPUT;
			break;
		}
		if (!t->graph) {
			fprintf(stderr, "heapsnap: %s: no complete pointer scan in this trace (killed before any, or "
					"--no-scan)\n", t->path);
			rc = EXIT_INPUT;
		} else {
			if (k == 0)
				scan_heap(t, &first);
			if (hs_stats_add_retained(st, t, 0)) {
				oom(t->path);
				rc = EXIT_INPUT;
			}
		}
		hs_trace_free(t);
	}
	if (!rc) {
		struct hs_stat_line *l;
		long nl = hs_stats_top(st, 0, &l);
		if (nl < 0) {
			oom(traces[0]);
			rc = EXIT_INPUT;
		} else {
			struct hs_top v = {.group = &o->g, .lines = l, .n = nl, .limit = o->limit, .ntraces = n,
					   .heap = &first, .retained = 1};
			hs_stats_total(st, 0, &v.size, &v.count);
			hs_render_top(out, o->format, &v);
			hs_stat_lines_free(l, nl);
		}
	}
	hs_stats_free(st);
	return rc;
}

/* Write profile p to out; print why not.  Return 0 or EXIT_INPUT. */
static int write_pprof(struct hs_pprof *p, FILE *out, const char *path)
{
	int rc = hs_render_pprof(out, p);

	if (!rc)
		return 0;
	fprintf(stderr, "heapsnap: %s: cannot write: %s\n", path ? path : "standard output", strerror(-rc));
	return EXIT_INPUT;
}

/* top --format pprof: the heap at the snapshot of every trace, read one at
 * a time into one profile. */
static int run_pprof(struct hs_session *s, const struct top_opts *o, const char *sel, char **traces, int n, FILE *out)
{
	struct hs_want w = {.flags = HS_WANT_ALLOCS, .select = &sel, .nselect = 1};
	struct hs_pprof *p = hs_pprof_new(HS_PPROF_HEAP);
	int rc = 0;

	if (!p) {
		oom(traces[0]);
		return EXIT_INPUT;
	}
	for (int k = 0; k < n && !rc; k++) {
		struct hs_trace *t = read_trace(s, traces[k], &w);
		if (!t) {
			rc = EXIT_INPUT;
			break;
		}
		if (hs_pprof_add_heap(p, t, &t->heaps[0], 1, &o->g)) {
			oom(t->path);
			rc = EXIT_INPUT;
		}
		hs_trace_free(t);
	}
	if (!rc)
		rc = write_pprof(p, out, o->output);
	hs_pprof_free(p);
	return rc;
}

/* top: the traces added up, read one at a time into one table: memory
 * follows the distinct lines, not the traces. */
static int run_top(struct hs_session *s, const struct top_opts *o, char **traces, int n, FILE *out)
{
	const char *sel = o->snapshot ? o->snapshot : "exit";
	struct hs_want w = {.flags = o->temporary ? HS_WANT_TEMPORARY : 0};
	struct hs_stats *st = hs_stats_new(&o->g, 1);
	struct hs_heap first = {0};
	int rc = 0;

	if (!o->temporary) {
		w.select = &sel;
		w.nselect = 1;
	}
	if (o->folded || o->pprof) {
		hs_stats_free(st);
		return o->pprof ? run_pprof(s, o, sel, traces, n, out) : run_folded(s, o, &w, traces, n, out);
	}
	if (!st) {
		oom(traces[0]);
		return EXIT_INPUT;
	}
	for (int k = 0; k < n && !rc; k++) {
		struct hs_trace *t = read_trace(s, traces[k], &w);
		if (!t) {
			rc = EXIT_INPUT;
			break;
		}
		const struct hs_heap *h = o->temporary ? &t->temporary : &t->heaps[0];
		if (k == 0) {
			first = *h; /* the header names where the first trace's heap was taken */
			first.count = NULL;
		}
		if (hs_stats_add(st, t, h, 0)) {
			oom(t->path);
			rc = EXIT_INPUT;
		}
		hs_trace_free(t);
	}
	if (!rc) {
		struct hs_stat_line *l;
		long nl = hs_stats_top(st, 0, &l);
		if (nl < 0) {
			oom(traces[0]);
			rc = EXIT_INPUT;
		} else {
			struct hs_top v = {.group = &o->g, .lines = l, .n = nl, .limit = o->limit, .ntraces = n,
					   .heap = o->temporary ? NULL : &first};
			hs_stats_total(st, 0, &v.size, &v.count);
			hs_render_top(out, o->format, &v);
			hs_stat_lines_free(l, nl);
		}
	}
	hs_stats_free(st);
	return rc;
}

/* Close the output after a run that returned rc (and said why it
 * failed): a failed run leaves no file behind.  Return rc, or EXIT_INPUT
 * when the output failed. */
static int finish_output(FILE *out, const struct top_opts *o, int rc)
{
	if (!rc)
		return cli_output_close(out, o->output, 0);
	if (o->output) {
		fclose(out);
		unlink(o->output);
	}
	return rc;
}

int cmd_top(int argc, char **argv)
{
	struct top_opts o;
	char **paths, **traces;
	int npaths;

	int rc = parse(argc, argv, &cli_cmd_top, &o, &paths, &npaths);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (o.temporary && (o.growth || o.snapshot))
		return cli_usage_error("top", "--temporary counts the whole run: not with --growth or --snapshot");
	if (o.share && !o.growth)
		return cli_usage_error("top", "--growth-share is for --growth");
	if (o.retained && (o.growth || o.temporary || o.folded))
		return cli_usage_error("top", "--retained is of one scan: not with --growth, --temporary or --format folded");
	int n = cli_expand_traces(npaths, paths, &traces);
	if (n < 0)
		return EXIT_INPUT;
	if ((rc = cli_output_check("top", o.output, traces, n))) {
		cli_free_traces(traces, n);
		return rc;
	}
	struct hs_session *s = hs_session_new(NULL);
	FILE *out = NULL;
	if (!s) {
		fprintf(stderr, "heapsnap: out of memory\n");
		rc = EXIT_INPUT;
	} else if (!(out = cli_output_open(o.output))) {
		rc = EXIT_INPUT;
	} else {
		rc = o.growth	  ? run_growth(s, &o, traces, n, out)
		     : o.retained ? run_retained(s, &o, traces, n, out)
				  : run_top(s, &o, traces, n, out);
		rc = finish_output(out, &o, rc);
	}
	if (s)
		cli_print_warnings(s);
	hs_session_free(s);
	cli_free_traces(traces, n);
	return rc;
}

/* The diff of heap hf of trace tf and ht of tn (maybe tf) to out, as a
 * statistics table or a pprof profile.  Return 0 or EXIT_INPUT. */
static int render_diff(const struct top_opts *o, struct hs_trace *tf, const struct hs_heap *hf, struct hs_trace *tn,
		       const struct hs_heap *ht, FILE *out)
{
	if (o->pprof) {
		/* newer minus older: what pprof -diff_base shows */
		struct hs_pprof *p = hs_pprof_new(HS_PPROF_HEAP);
		int rc = !p || hs_pprof_add_heap(p, tf, hf, -1, &o->g) || hs_pprof_add_heap(p, tn, ht, 1, &o->g);
		if (rc)
			fprintf(stderr, "heapsnap: out of memory\n");
		else
			rc = write_pprof(p, out, o->output);
		hs_pprof_free(p);
		return rc ? EXIT_INPUT : 0;
	}
	struct hs_stats *st = hs_stats_new(&o->g, 2);
	struct hs_stat_line *l;
	long nl = -1;
	if (st && !hs_stats_add(st, tf, hf, 0) && !hs_stats_add(st, tn, ht, 1))
		nl = hs_stats_diff(st, 0, 1, &l);
	if (nl < 0) {
		fprintf(stderr, "heapsnap: out of memory\n");
		hs_stats_free(st);
		return EXIT_INPUT;
	}
	struct hs_diff v = {.group = &o->g, .lines = l, .n = nl, .limit = o->limit, .from = hf, .to = ht,
			    .old_path = tn != tf ? tf->path : NULL, .new_path = tn != tf ? tn->path : NULL};
	hs_stats_total(st, 1, &v.size, &v.count);
	hs_stats_total(st, 0, &v.old_size, &v.old_count);
	hs_render_diff(out, o->format, &v);
	hs_stat_lines_free(l, nl);
	hs_stats_free(st);
	return 0;
}

int cmd_diff(int argc, char **argv)
{
	struct top_opts o;
	char **paths;
	int npaths;

	int rc = parse(argc, argv, &cli_cmd_diff, &o, &paths, &npaths);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (npaths > 2)
		return cli_usage_error("diff", "one trace with --from and --to, or two traces OLD NEW");
	if (npaths == 1 && (!o.from || !o.to))
		return cli_usage_error("diff", "one trace needs --from SEL and --to SEL");
	if ((rc = cli_output_check("diff", o.output, paths, npaths)))
		return rc;
	struct hs_session *s = hs_session_new(NULL);
	struct hs_trace *t[2] = {NULL, NULL};
	const char *from = o.from ? o.from : "exit", *to = o.to ? o.to : "exit";
	const unsigned flags = o.pprof ? HS_WANT_ALLOCS : 0;
	FILE *out = NULL;
	if (!s) {
		fprintf(stderr, "heapsnap: out of memory\n");
		rc = EXIT_INPUT;
		goto out;
	}
	/* one trace: both heaps in its one pass; two: one heap of each */
	if (npaths == 1) {
		const char *sel[2] = {from, to};
		struct hs_want w = {.flags = flags, .select = sel, .nselect = 2};
		if (!(t[0] = read_trace(s, paths[0], &w))) {
			rc = EXIT_INPUT;
			goto out;
		}
	} else {
		struct hs_want wa = {.flags = flags, .select = &from, .nselect = 1};
		struct hs_want wb = {.flags = flags, .select = &to, .nselect = 1};
		if (!(t[0] = read_trace(s, paths[0], &wa)) || !(t[1] = read_trace(s, paths[1], &wb))) {
			rc = EXIT_INPUT;
			goto out;
		}
	}
	if (!(out = cli_output_open(o.output))) {
		rc = EXIT_INPUT;
		goto out;
	}
	struct hs_trace *tn = t[1] ? t[1] : t[0];
	rc = render_diff(&o, t[0], &t[0]->heaps[0], tn, t[1] ? &t[1]->heaps[0] : &t[0]->heaps[1], out);
	rc = finish_output(out, &o, rc);
out:
	if (s)
		cli_print_warnings(s);
	hs_trace_free(t[0]);
	hs_trace_free(t[1]);
	hs_session_free(s);
	return rc;
}
