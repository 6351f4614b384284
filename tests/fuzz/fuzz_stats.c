/*
 * fuzz_stats.c - libFuzzer target: `heapsnap top` through the analyzer
 * library: the trace (and its ring file, fuzz.h) read once at the exit,
 * the peak and a time, with every snapshot's heap and the temporary
 * blocks; grouped by line and, cumulatively, by traceback; growth; the
 * tables rendered as text and JSON, and folded.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "heapsnap-analyze.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Group heap h of t as g: lines, totals, rendered. */
static void top(FILE *null, struct hs_trace *t, const struct hs_heap *h, const struct hs_group *g)
{
	struct hs_stats *s = hs_stats_new(g, 1);
	struct hs_stat_line *l;

	if (!s)
		return;
	if (!hs_stats_add(s, t, h, 0)) {
		long n = hs_stats_top(s, 0, &l);
		if (n >= 0) {
			struct hs_top v = {.group = g, .lines = l, .n = n, .limit = 0, .ntraces = 1, .heap = h};
			hs_stats_total(s, 0, &v.size, &v.count);
			hs_render_top(null, HS_FMT_TEXT, &v);
			hs_render_top(null, HS_FMT_JSON, &v);
			hs_stat_lines_free(l, n);
		}
	}
	hs_stats_free(s);
	long n = hs_folded(t, h, g, &l);
	if (n >= 0) {
		hs_render_folded(null, l, n);
		hs_stat_lines_free(l, n);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *null = fuzz_devnull();
	static const char *const sel[] = {"exit", "peak", "@0.001s", "0", "start"};
	struct fuzz_files f;
	struct hs_diag d = {""};
	struct hs_want want = {.flags = HS_WANT_SNAPSHOT_HEAPS | HS_WANT_TEMPORARY, .select = sel, .nselect = 5};
	struct hs_group by_line = {.by = HS_BY_LINENO}, by_trace = {.by = HS_BY_TRACEBACK, .cumulative = 1};

	fuzz_split(data, size, ".rings", &f);
	struct hs_session *s = hs_session_new(NULL);
	struct hs_trace *t = s ? hs_trace_read(s, f.first, &want, &d) : NULL;
	if (t) {
		for (int i = 0; i < t->nheaps; i++)
			top(null, t, &t->heaps[i], i % 2 ? &by_trace : &by_line);
		top(null, t, &t->temporary, &by_line);
		struct hs_stats *g = t->nsnapshot_heaps >= 3 ? hs_stats_new(&by_line, t->nsnapshot_heaps) : NULL;
		if (g) {
			int ok = 1;
			for (int i = 0; i < t->nsnapshot_heaps && ok; i++)
				ok = !hs_stats_add(g, t, &t->snapshot_heaps[i], i);
			struct hs_stat_line *l;
			long n = ok ? hs_stats_growth(g, 0, &l) : -1;
			if (n >= 0) {
				struct hs_growth v = {.group = &by_line, .lines = l, .n = n, .limit = 0, .path = f.first,
						      .snaps = t->snapshot_heaps, .nsnaps = t->nsnapshot_heaps};
				hs_render_growth(null, HS_FMT_TEXT, &v);
				hs_render_growth(null, HS_FMT_JSON, &v);
				hs_stat_lines_free(l, n);
			}
			hs_stats_free(g);
		}
		hs_trace_free(t);
	}
	for (char *w; s && (w = hs_session_take_warning(s)); free(w))
		;
	hs_session_free(s);
	fuzz_clean(&f);
	return 0;
}
