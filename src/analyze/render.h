/*
 * render.h - the renderers, one file per format (render_<format>.c), each
 * writing what the public hs_render_* functions (render.c) dispatch to it.
 * A concept (a trace's info, a stack, a loss record, a leak summary, a
 * statistics line) has one shape per format, written in one place.
 */
#ifndef HS_ANALYZE_RENDER_H
#define HS_ANALYZE_RENDER_H

#include <stdio.h>

#include <heapsnap-analyze.h>

/* "render.c" */
/* The executable of t, or "?" when the trace does not say. */
const char *render_exe(const struct hs_trace *t);
/* Seconds from the start of trace t to ts (0 before it). */
double render_seconds(const struct hs_trace *t, uint64_t ts);
/* Print a function or key name, its C++ template arguments as "<…>"
 * unless full (names.h). */
void render_name(FILE *out, const char *name, int full);
/* The allocation site of stack id of t as "function file.c:12" (or
 * "function (module)", "module+0x..."), its name shortened unless full,
 * never cut.  Return it (the caller frees), or NULL when out of memory. */
char *render_site(struct hs_trace *t, uint32_t id, int full);

/* "render_text.c" */
extern const char *const render_kind_title[HS_LEAK_KINDS]; /* "Direct leak", ... */
void render_text_info(FILE *out, const struct hs_trace *t);
/* A symbolized stack as LeakSanitizer prints it ("    #0 0x... in f
 * file:line"), function names shortened unless full (render_name). */
void render_text_stack(FILE *out, const struct hs_stack *s, int full);
void render_text_leaks(FILE *out, struct hs_trace *const *t, int n, const struct hs_leaks_view *v);
/* The same a trace at a time (hs_leaks_stream): trace by trace, then the
 * end with the totals of the n traces. */
void render_text_leaks_one(FILE *out, struct hs_trace *t, int n, const struct hs_leaks_view *v);
void render_text_leaks_end(FILE *out, int n, const uint64_t total[HS_LEAK_KINDS][2], const uint64_t suppressed[2],
			   const struct hs_leaks_view *v);
void render_text_check(FILE *out, const struct hs_ci *ci, const struct hs_check_view *v);
/* The kinds of a bit set, most serious first, comma-separated. */
void render_kinds_list(FILE *out, unsigned kinds);
void render_text_top(FILE *out, const struct hs_top *v);
void render_text_diff(FILE *out, const struct hs_diff *v);
void render_text_growth(FILE *out, const struct hs_growth *v);
void render_text_retainers(FILE *out, struct hs_trace *t, const struct hs_retainers *r,
			   const struct hs_retainers_view *v);
/* The name of a root kind as JSON and dot spell it ("global", "stack", ...). */
const char *render_root_kind(int kind);
/* "snapshot 2 "label" (0.412 s)" or "the exit scan (0.5 s)": where a
 * scan of t was taken, into buf. */
const char *render_scan_where(const struct hs_trace *t, int64_t snapshot, int reason, uint64_t ts, char *buf,
			      size_t cap);

/* "render_json.c" */
void render_json_info(FILE *out, const struct hs_trace *t);
/* A symbolized stack as the JSON array of frames of DESIGN.md. */
void render_json_stack(FILE *out, const struct hs_stack *s);
void render_json_leaks(FILE *out, struct hs_trace *const *t, int n, const struct hs_leaks_view *v);
/* The same in parts: the head (with the totals of the n traces), trace i
 * of n, the end. */
void render_json_leaks_head(FILE *out, int n, const uint64_t total[HS_LEAK_KINDS][2], const uint64_t suppressed[2],
			    const struct hs_leaks_view *v);
void render_json_leaks_one(FILE *out, struct hs_trace *t, int i, int n, const struct hs_leaks_view *v);
void render_json_leaks_end(FILE *out, int n);
void render_json_check(FILE *out, const struct hs_ci *ci, const struct hs_check_view *v);
void render_json_top(FILE *out, const struct hs_top *v);
void render_json_diff(FILE *out, const struct hs_diff *v);
void render_json_growth(FILE *out, const struct hs_growth *v);
void render_json_retainers(FILE *out, struct hs_trace *t, const struct hs_retainers *r,
			   const struct hs_retainers_view *v);

/* "render_dot.c" */
void render_dot_cycles(FILE *out, struct hs_trace *const *t, int n, int full_names);
void render_dot_retainers(FILE *out, struct hs_trace *t, const struct hs_retainers *r);

/* "render_sarif.c" */
void render_sarif(FILE *out, const struct hs_ci *ci);

/* "render_junit.c" */
void render_junit(FILE *out, const struct hs_ci *ci);

#endif
