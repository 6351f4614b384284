/*
 * fuzz_check.c - libFuzzer target: `heapsnap check`'s analysis through the
 * analyzer library: the second part of the input (fuzz.h) is read as a
 * LeakSanitizer suppression file and as a baseline (a check JSON report),
 * the first as a trace read for its leak report with those suppressions
 * and only the stacks the report names; its sites signed, matched against
 * the baseline, and the report rendered as text, JSON, SARIF and JUnit.
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
	struct hs_suppressions sup = {0};
	struct hs_baseline base = {0};
	int have_sup = 0, have_base = 0;

	fuzz_split(data, size, NULL, &f);
	struct hs_session *s = hs_session_new(NULL);
	if (s && f.has_second) {
		have_sup = !hs_suppressions_load(s, &sup, f.second, &d);
		have_base = !hs_baseline_load(&base, f.second, &d);
	}
	const unsigned kinds = (1u << HS_DEFINITE) | (1u << HS_INDIRECT) | (1u << HS_POSSIBLE);
	struct hs_want want = {.flags = HS_WANT_LEAKS | HS_WANT_REPORT_STACKS,
			       .suppressions = have_sup ? &sup : NULL,
			       .report_kinds = kinds};
	struct hs_trace *t = s ? hs_trace_read(s, f.first, &want, &d) : NULL;
	if (t) {
		for (uint64_t i = 0; i < t->leaks.nrecords; i++)
			free(hs_signature(t, &t->leaks.records[i]));
		struct hs_ci ci = {0};
		if (!hs_ci_add(&ci, t, kinds, have_base ? &base : NULL)) {
			struct hs_check_view v = {.fail_on = kinds, .baseline = have_base ? f.second : NULL,
						  .sup = have_sup ? &sup : NULL, .show_traces = 1, .exit_code = 23};
			hs_render_check(null, HS_FMT_TEXT, &ci, &v);
			hs_render_check(null, HS_FMT_JSON, &ci, &v);
			hs_render_check(null, HS_FMT_SARIF, &ci, &v);
			hs_render_check(null, HS_FMT_JUNIT, &ci, &v);
		}
		hs_ci_free(&ci);
		if (have_sup)
			hs_suppressions_warn_unused(s, &sup);
		hs_trace_free(t);
	}
	for (char *w; s && (w = hs_session_take_warning(s)); free(w))
		;
	if (have_base)
		hs_baseline_free(&base);
	hs_suppressions_free(&sup);
	hs_session_free(s);
	fuzz_clean(&f);
	return 0;
}
