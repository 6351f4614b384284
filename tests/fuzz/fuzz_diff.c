/*
 * fuzz_diff.c - libFuzzer target: `heapsnap diff OLD NEW` through the
 * analyzer library: two traces (fuzz.h: the first and the second file),
 * each at its exit, compared by line and by function, rendered as text
 * and JSON.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz.h"
#include "heapsnap-analyze.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *null = fuzz_devnull();
	static const char *const sel[] = {"exit"};
	struct fuzz_files f;
	struct hs_diag d = {""};
	struct hs_want want = {.select = sel, .nselect = 1};
	struct hs_group groups[2] = {{.by = HS_BY_LINENO}, {.by = HS_BY_FUNCTION}};

	fuzz_split(data, size, NULL, &f);
	struct hs_session *s = hs_session_new(NULL);
	struct hs_trace *a = s && f.has_second ? hs_trace_read(s, f.first, &want, &d) : NULL;
	struct hs_trace *b = a ? hs_trace_read(s, f.second, &want, &d) : NULL;
	for (int k = 0; b && k < 2; k++) {
		struct hs_stats *st = hs_stats_new(&groups[k], 2);
		struct hs_stat_line *l;
		if (st && !hs_stats_add(st, a, &a->heaps[0], 0) && !hs_stats_add(st, b, &b->heaps[0], 1)) {
			long n = hs_stats_diff(st, 0, 1, &l);
			if (n >= 0) {
				struct hs_diff v = {.group = &groups[k], .lines = l, .n = n, .limit = 0, .from = &a->heaps[0],
						    .to = &b->heaps[0], .old_path = f.first, .new_path = f.second};
				hs_stats_total(st, 1, &v.size, &v.count);
				hs_stats_total(st, 0, &v.old_size, &v.old_count);
				hs_render_diff(null, HS_FMT_TEXT, &v);
				hs_render_diff(null, HS_FMT_JSON, &v);
				hs_stat_lines_free(l, n);
			}
		}
		hs_stats_free(st);
	}
	hs_trace_free(b);
	hs_trace_free(a);
	for (char *w; s && (w = hs_session_take_warning(s)); free(w))
		;
	hs_session_free(s);
	fuzz_clean(&f);
	return 0;
}
