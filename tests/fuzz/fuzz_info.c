/*
 * fuzz_info.c - libFuzzer target: `heapsnap info` through the analyzer
 * library (one pass with HS_WANT_INFO and HS_WANT_TIMELINE), rendered as
 * text and as JSON; the trace may come with its ring file (fuzz.h).
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
	struct hs_want want = {.flags = HS_WANT_INFO | HS_WANT_TIMELINE};

	fuzz_split(data, size, ".rings", &f);
	struct hs_session *s = hs_session_new(NULL);
	struct hs_trace *t = s ? hs_trace_read(s, f.first, &want, &d) : NULL;
	if (t) {
		hs_render_info(null, HS_FMT_TEXT, &t, 1);
		hs_render_info(null, HS_FMT_JSON, &t, 1);
		hs_trace_free(t);
	}
	for (char *w; s && (w = hs_session_take_warning(s)); free(w))
		;
	hs_session_free(s);
	fuzz_clean(&f);
	return 0;
}
