/*
 * render.h - the renderers, one file per format (render_<format>.c), each
 * writing what the public hs_render_* functions (render.c) dispatch to it.
 * A concept (a trace's info, a loss record, a statistics line) has one
 * shape per format, written in one place.
 */
#ifndef HS_ANALYZE_RENDER_H
#define HS_ANALYZE_RENDER_H

#include <stdio.h>

#include <heapsnap-analyze.h>

/* "render_text.c" */
void render_text_info(FILE *out, const struct hs_trace *t);

/* "render_json.c" */
void render_json_info(FILE *out, const struct hs_trace *t);

#endif
