/*
 * fuzz_report.c - libFuzzer target: `heapsnap report` through the
 * analyzer library: the first part of the input (fuzz.h) is the trace,
 * the second an older trace to compare with; the report built (the
 * timeline, the leaks, the sites over time, the comparison) and rendered
 * as its HTML page.
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
	struct hs_report *r = NULL;

	fuzz_split(data, size, NULL, &f);
	struct hs_session *s = hs_session_new(NULL);
	char *paths[1] = {f.first};
	struct hs_report_opts o = {.baseline = f.has_second ? f.second : NULL};
	if (s && !hs_report_build(s, paths, 1, &o, &r, &d)) {
		hs_render_html(null, r);
		hs_report_free(r);
	}
	for (char *w; s && (w = hs_session_take_warning(s)); free(w))
		;
	hs_session_free(s);
	fuzz_clean(&f);
	return 0;
}
