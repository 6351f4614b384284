/*
 * fuzz_stats.c - libFuzzer target: `heapsnap top` at a snapshot: the
 * trace (and its ring file, fuzz.h) read at the exit snapshot and at the
 * peak (the two-pass selector), every snapshot kept for --growth, grouped
 * by line and by traceback, cumulatively, with totals and growth.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "analyze/stats.h"
#include "fuzz.h"
#include "heapsnap-analyze.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_files f;
	struct hs_diag d = {""};
	struct snap_sel sel[3] = {{"exit"}, {"peak"}, {"@0.001s"}};
	struct stats_trace t = {0};

	fuzz_split(data, size, ".rings", &f);
	struct hs_session *s = hs_session_new(NULL);
	if (s && !stats_read(s, f.first, sel, 3, 1, &t, &d)) {
		struct stats_opts by_line = {.by = BY_LINENO}, by_trace = {.by = BY_TRACEBACK, .cumulative = 1};
		for (int i = 0; i < t.nstates; i++) {
			struct stat_line *l;
			uint64_t bytes, blocks;
			long n = stats_group(&t, &t.states[i], i ? &by_trace : &by_line, &l);
			if (n >= 0)
				stats_lines_free(l, n);
			stats_total(&t, &t.states[i], &by_line, &bytes, &blocks);
		}
		struct stat_line *g;
		long n = stats_growth(&t, &by_line, &g);
		if (n >= 0)
			stats_lines_free(g, n);
		stats_trace_free(&t);
	}
	for (char *w; s && (w = hs_session_take_warning(s)); free(w))
		;
	hs_session_free(s);
	fuzz_clean(&f);
	return 0;
}
