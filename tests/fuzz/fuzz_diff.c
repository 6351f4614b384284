/*
 * fuzz_diff.c - libFuzzer target: `heapsnap diff OLD NEW`: two traces
 * (fuzz.h: the first and the second file), each at its exit snapshot,
 * compared by line and by function.
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
	struct snap_sel sel = {"exit"};
	struct stats_trace a = {0}, b = {0};

	fuzz_split(data, size, NULL, &f);
	struct hs_session *s = hs_session_new(NULL);
	if (s && f.has_second && !stats_read(s, f.first, &sel, 1, 0, &a, &d)) {
		if (!stats_read(s, f.second, &sel, 1, 0, &b, &d)) {
			struct stats_opts by_line = {.by = BY_LINENO}, by_func = {.by = BY_FUNCTION};
			struct stat_line *l;
			long n = stats_diff(&a, &a.states[0], &b, &b.states[0], &by_line, &l);
			if (n >= 0)
				stats_lines_free(l, n);
			n = stats_diff(&a, &a.states[0], &b, &b.states[0], &by_func, &l);
			if (n >= 0)
				stats_lines_free(l, n);
			stats_trace_free(&b);
		}
		stats_trace_free(&a);
	}
	for (char *w; s && (w = hs_session_take_warning(s)); free(w))
		;
	hs_session_free(s);
	fuzz_clean(&f);
	return 0;
}
