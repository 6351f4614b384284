/*
 * fuzz_retain.c - libFuzzer target: `heapsnap retainers` and `top
 * --retained` through the analyzer library: the pointer scan's graph and
 * every snapshot's heap read (the trace may come with its ring file,
 * fuzz.h); the dominator tree's retained sizes; statistics by retained
 * size; the retainer paths of a site glob, of the first and last block's
 * address and of the growing lines, each rendered as text, JSON and dot.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "heapsnap-analyze.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Answer q about t and render the answer in every format. */
static void ask(FILE *null, struct hs_trace *t, const struct hs_retainers_query *q)
{
	struct hs_retainers *r = NULL;
	struct hs_diag d = {""};
	struct hs_retainers_view v = {.question = "fuzz"};

	if (hs_retainers_find(t, q, &r, &d))
		return;
	hs_render_retainers(null, HS_FMT_TEXT, t, r, &v);
	hs_render_retainers(null, HS_FMT_JSON, t, r, &v);
	hs_render_retainers(null, HS_FMT_DOT, t, r, &v);
	hs_retainers_free(r);
}

/* top --retained: the scan's blocks by line, ranked by what they retain. */
static void top_retained(FILE *null, struct hs_trace *t, const struct hs_group *g)
{
	struct hs_stats *s = hs_stats_new(g, 1);
	struct hs_stat_line *l;

	if (s && !hs_stats_add_retained(s, t, 0)) {
		long n = hs_stats_top(s, 0, &l);
		if (n >= 0) {
			struct hs_top v = {.group = g, .lines = l, .n = n, .ntraces = 1, .retained = 1};
			hs_stats_total(s, 0, &v.size, &v.count);
			hs_render_top(null, HS_FMT_TEXT, &v);
			hs_render_top(null, HS_FMT_JSON, &v);
			hs_stat_lines_free(l, n);
		}
	}
	hs_stats_free(s);
}

/* retainers --growth: the lines growing over the snapshots, asked about. */
static void growth(FILE *null, struct hs_trace *t, const struct hs_group *g)
{
	int ns = t->nsnapshot_heaps;
	struct hs_stat_line *lines = NULL;
	long nl = -1;

	if (ns < 3)
		return;
	struct hs_stats *st = hs_stats_new(g, ns);
	for (int c = 0; st && c < ns && !hs_stats_add(st, t, &t->snapshot_heaps[c], c); c++)
		if (c == ns - 1)
			nl = hs_stats_growth(st, 0, &lines);
	hs_stats_free(st);
	if (nl < 0)
		return;
	struct hs_retainers_query q = {.lines = lines, .nlines = nl, .nsizes = ns, .group = g};
	ask(null, t, &q);
	hs_stat_lines_free(lines, nl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *null = fuzz_devnull();
	struct fuzz_files f;
	struct hs_diag d = {""};
	struct hs_want want = {.flags = HS_WANT_GRAPH | HS_WANT_SNAPSHOT_HEAPS};
	struct hs_group by_line = {.by = HS_BY_LINENO}, by_func = {.by = HS_BY_FUNCTION};

	fuzz_split(data, size, ".rings", &f);
	struct hs_session *s = hs_session_new(NULL);
	struct hs_trace *t = s ? hs_trace_read(s, f.first, &want, &d) : NULL;
	if (t) {
		(void)hs_trace_retained(t);
		top_retained(null, t, &by_line);
		top_retained(null, t, &by_func);
		struct hs_retainers_query q = {.site = "*", .group = &by_line, .max_paths = 3};
		ask(null, t, &q);
		q.site = "*.c:1*";
		ask(null, t, &q);
		if (t->graph && t->graph->n) {
			struct hs_retainers_query a = {.address = t->graph->addr[0]};
			ask(null, t, &a);
			a.address = t->graph->addr[t->graph->n - 1] + 1; /* interior */
			ask(null, t, &a);
		}
		growth(null, t, &by_line);
		hs_trace_free(t);
	}
	for (char *w; s && (w = hs_session_take_warning(s)); free(w))
		;
	hs_session_free(s);
	fuzz_clean(&f);
	return 0;
}
