/*
 * session.c - the analysis session: configuration and returned warnings.
 */
#define _GNU_SOURCE
#include "analyze/session.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/frames.h"
#include "analyze/symbols.h"

struct hs_session *hs_session_new(const struct hs_session_config *cfg)
{
	struct hs_session *s = calloc(1, sizeof(*s));
	const char *wrappers = cfg && cfg->wrappers ? cfg->wrappers : getenv("HEAPSNAP_WRAPPERS");

	if (!s)
		return NULL;
	s->files = sym_files_new(cfg ? cfg->debug_path : NULL);
	s->wrappers = frames_new(wrappers);
	if (!s->files || !s->wrappers) {
		hs_session_free(s);
		return NULL;
	}
	return s;
}

void hs_session_symbol_stats(const struct hs_session *s, struct hs_symbol_stats *out)
{
	sym_files_stats(s->files, out);
}

void hs_session_free(struct hs_session *s)
{
	if (!s)
		return;
	sym_files_free(s->files);
	frames_free(s->wrappers);
	for (size_t i = s->warn_head; i < s->nwarnings; i++)
		free(s->warnings[i]);
	free(s->warnings);
	free(s);
}

void session_warn(struct hs_session *s, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (!s)
		return;
	va_start(ap, fmt);
	int n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (s->nwarnings == s->capwarnings) {
		size_t cap = s->capwarnings ? 2 * s->capwarnings : 8;
		char **w = realloc(s->warnings, cap * sizeof(*w));
		if (!w) {
			free(msg);
			return;
		}
		s->warnings = w;
		s->capwarnings = cap;
	}
	s->warnings[s->nwarnings++] = msg;
}

char *hs_session_take_warning(struct hs_session *s)
{
	if (!s || s->warn_head == s->nwarnings)
		return NULL;
	char *w = s->warnings[s->warn_head++];
	if (s->warn_head == s->nwarnings)
		s->warn_head = s->nwarnings = 0; /* all taken: reuse the array */
	return w;
}
