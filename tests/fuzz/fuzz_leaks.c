/*
 * fuzz_leaks.c - libFuzzer target: `heapsnap leaks` and `cycles` through
 * the analyzer library: the last complete pointer scan classified, its
 * reference graph kept, the leaked cycles found, rendered as text, JSON
 * and dot; the trace may come with its ring file (fuzz.h).
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
	struct fuzz_files f;
	struct hs_diag d = {""};
	struct hs_want want = {.flags = HS_WANT_LEAKS | HS_WANT_GRAPH};

	fuzz_split(data, size, ".rings", &f);
	struct hs_session *s = hs_session_new(NULL);
	struct hs_trace *t = s ? hs_trace_read(s, f.first, &want, &d) : NULL;
	if (t) {
		struct hs_leaks_view v = {0};
		v.kinds = ~0u;
		hs_render_leaks(null, HS_FMT_TEXT, &t, 1, &v);
		hs_render_leaks(null, HS_FMT_JSON, &t, 1, &v);
		v.cycles_only = 1;
		hs_render_leaks(null, HS_FMT_DOT, &t, 1, &v);
		hs_trace_free(t);
	}
	for (char *w; s && (w = hs_session_take_warning(s)); free(w))
		;
	hs_session_free(s);
	fuzz_clean(&f);
	return 0;
}
