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

#include <heapsnap-analyze.h>

#include "cli.h"

#define MAX_PATTERNS 32

struct top_opts {
	struct hs_group g;
	const char *include[MAX_PATTERNS], *exclude[MAX_PATTERNS];
	enum hs_format format;
	int folded;	       /* --format folded */
	const char *snapshot;  /* top */
	const char *from, *to; /* diff */
	long limit;	       /* lines shown; -1: the default */
	int growth;	       /* top --growth */
	int temporary;	       /* top --temporary */
};

/* Parse the options shared by top and diff; collect the paths in place
 * (argv[1..] is compacted as it is read, so nothing is allocated). */
static int parse(int argc, char **argv, const char *cmd, struct top_opts *o, char ***paths, int *npaths)
{
	const char *format = "text";

	memset(o, 0, sizeof(*o));
	o->limit = -1;
	o->g.include = o->include;
	o->g.exclude = o->exclude;
	*npaths = 0;
	*paths = argv + 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int more = i + 1 < argc;
		if (!strcmp(a, "--by") && more) {
			if (hs_by_parse(argv[++i], &o->g.by))
				return cli_usage_error("%s: --by takes lineno, function, file, module or traceback, not '%s'",
						       cmd, argv[i]);
		} else if (!strcmp(a, "--cumulative")) {
			o->g.cumulative = 1;
		} else if (!strcmp(a, "--include") && more) {
			if (o->g.ninclude == MAX_PATTERNS)
				return cli_usage_error("%s: at most %d --include patterns", cmd, MAX_PATTERNS);
			o->include[o->g.ninclude++] = argv[++i];
		} else if (!strcmp(a, "--exclude") && more) {
			if (o->g.nexclude == MAX_PATTERNS)
				return cli_usage_error("%s: at most %d --exclude patterns", cmd, MAX_PATTERNS);
			o->exclude[o->g.nexclude++] = argv[++i];
		} else if (!strcmp(a, "--limit") && more) {
			char *end;
			o->limit = strtol(argv[++i], &end, 10);
			if (*end || o->limit < 0)
				return cli_usage_error("%s: --limit takes a number >= 0 (0: all), not '%s'", cmd, argv[i]);
		} else if (!strcmp(a, "--format") && more) {
			format = argv[++i];
		} else if (!strcmp(a, "--snapshot") && more && !strcmp(cmd, "top")) {
			o->snapshot = argv[++i];
		} else if (!strcmp(a, "--growth") && !strcmp(cmd, "top")) {
			o->growth = 1;
		} else if (!strcmp(a, "--temporary") && !strcmp(cmd, "top")) {
			o->temporary = 1;
		} else if (!strcmp(a, "--from") && more && !strcmp(cmd, "diff")) {
			o->from = argv[++i];
		} else if (!strcmp(a, "--to") && more && !strcmp(cmd, "diff")) {
			o->to = argv[++i];
		} else if (a[0] == '-' && a[1]) {
			return cli_usage_error("%s: unknown or incomplete option '%s'", cmd, a);
		} else {
			(*paths)[(*npaths)++] = argv[i];
		}
	}
	int ok = !hs_format_parse(format, &o->format) &&
		 (o->format == HS_FMT_TEXT || o->format == HS_FMT_JSON || (o->format == HS_FMT_FOLDED && !strcmp(cmd, "top")));
	if (!ok)
		return cli_usage_error("%s: --format takes text or json%s, not '%s'", cmd,
				       strcmp(cmd, "top") ? "" : " or folded", format);
	o->folded = o->format == HS_FMT_FOLDED;
	if (!*npaths)
		return cli_usage_error("%s: no trace given", cmd);
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
static int run_growth(struct hs_session *s, const struct top_opts *o, char **traces, int n)
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
				nl = hs_stats_growth(st, &l);
		hs_stats_free(st);
		if (nl < 0) {
			oom(t[k]->path);
			rc = EXIT_INPUT;
			break;
		}
		struct hs_growth v = {.group = &o->g, .lines = l, .n = nl, .limit = o->limit, .path = t[k]->path,
				      .snaps = t[k]->snapshot_heaps, .nsnaps = ns};
		hs_render_growth(stdout, o->format, &v);
		hs_stat_lines_free(l, nl);
	}
	for (int k = 0; k < nread; k++)
		hs_trace_free(t[k]);
	free(t);
	return rc;
}

/* Folded stacks of every trace, in order.  Printed once all are read. */
static int run_folded(struct hs_session *s, const struct top_opts *o, const struct hs_want *w, char **traces, int n)
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
		hs_render_folded(stdout, l[k], nl[k]);
	for (int k = 0; l && nl && k < done; k++)
		hs_stat_lines_free(l[k], nl[k]);
	free(l);
	free(nl);
	return rc;
}

/* top: the traces added up, read one at a time into one table: memory
 * follows the distinct lines, not the traces. */
static int run_top(struct hs_session *s, const struct top_opts *o, char **traces, int n)
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
	if (o->folded) {
		hs_stats_free(st);
		return run_folded(s, o, &w, traces, n);
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
			hs_render_top(stdout, o->format, &v);
			hs_stat_lines_free(l, nl);
		}
	}
	hs_stats_free(st);
	return rc;
}

int cmd_top(int argc, char **argv)
{
	struct top_opts o;
	char **paths, **traces;
	int npaths;

	int rc = parse(argc, argv, "top", &o, &paths, &npaths);
	if (rc)
		return rc;
	if (o.temporary && (o.growth || o.snapshot))
		return cli_usage_error("top: --temporary counts the whole run: not with --growth or --snapshot");
	int n = cli_expand_traces(npaths, paths, &traces);
	if (n < 0)
		return EXIT_INPUT;
	struct hs_session *s = hs_session_new(NULL);
	if (!s) {
		fprintf(stderr, "heapsnap: out of memory\n");
		rc = EXIT_INPUT;
	} else {
		rc = o.growth ? run_growth(s, &o, traces, n) : run_top(s, &o, traces, n);
		cli_print_warnings(s);
	}
	hs_session_free(s);
	cli_free_traces(traces, n);
	return rc;
}

int cmd_diff(int argc, char **argv)
{
	struct top_opts o;
	char **paths;
	int npaths;

	int rc = parse(argc, argv, "diff", &o, &paths, &npaths);
	if (rc)
		return rc;
	if (npaths > 2)
		return cli_usage_error("diff: one trace with --from and --to, or two traces OLD NEW");
	if (npaths == 1 && (!o.from || !o.to))
		return cli_usage_error("diff: one trace needs --from SEL and --to SEL");
	struct hs_session *s = hs_session_new(NULL);
	struct hs_stats *st = hs_stats_new(&o.g, 2);
	struct hs_trace *t[2] = {NULL, NULL};
	const char *from = o.from ? o.from : "exit", *to = o.to ? o.to : "exit";
	if (!s || !st) {
		fprintf(stderr, "heapsnap: out of memory\n");
		rc = EXIT_INPUT;
		goto out;
	}
	/* one trace: both heaps in its one pass; two: one heap of each */
	if (npaths == 1) {
		const char *sel[2] = {from, to};
		struct hs_want w = {.select = sel, .nselect = 2};
		if (!(t[0] = read_trace(s, paths[0], &w))) {
			rc = EXIT_INPUT;
			goto out;
		}
	} else {
		struct hs_want wa = {.select = &from, .nselect = 1}, wb = {.select = &to, .nselect = 1};
		if (!(t[0] = read_trace(s, paths[0], &wa)) || !(t[1] = read_trace(s, paths[1], &wb))) {
			rc = EXIT_INPUT;
			goto out;
		}
	}
	struct hs_trace *tn = t[1] ? t[1] : t[0];
	const struct hs_heap *hf = &t[0]->heaps[0], *ht = t[1] ? &t[1]->heaps[0] : &t[0]->heaps[1];
	struct hs_stat_line *l;
	long nl = -1;
	if (!hs_stats_add(st, t[0], hf, 0) && !hs_stats_add(st, tn, ht, 1))
		nl = hs_stats_diff(st, 0, 1, &l);
	if (nl < 0) {
		fprintf(stderr, "heapsnap: out of memory\n");
		rc = EXIT_INPUT;
		goto out;
	}
	struct hs_diff v = {.group = &o.g, .lines = l, .n = nl, .limit = o.limit, .from = hf, .to = ht,
			    .old_path = t[1] ? t[0]->path : NULL, .new_path = t[1] ? t[1]->path : NULL};
	hs_stats_total(st, 1, &v.size, &v.count);
	hs_stats_total(st, 0, &v.old_size, &v.old_count);
	hs_render_diff(stdout, o.format, &v);
	hs_stat_lines_free(l, nl);
out:
	if (s)
		cli_print_warnings(s);
	hs_trace_free(t[0]);
	hs_trace_free(t[1]);
	hs_stats_free(st);
	hs_session_free(s);
	return rc;
}
