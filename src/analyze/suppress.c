/*
 * suppress.c - LeakSanitizer suppression files.
 */
#define _GNU_SOURCE
#include "analyze/suppress.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/frames.h"
#include "analyze/session.h"
#include "util/diag.h"

/* Turn an LSan pattern into a glob that must match the whole name. */
static char *to_glob(const char *pat)
{
	size_t n = strlen(pat);
	int head = n && pat[0] == '^', tail = n > (size_t)head && pat[n - 1] == '$';
	char *g = malloc(n + 3), *p = g;

	if (!g)
		return NULL;
	if (!head)
		*p++ = '*';
	memcpy(p, pat + head, n - (size_t)head - (size_t)tail);
	p += n - (size_t)head - (size_t)tail;
	if (!tail)
		*p++ = '*';
	*p = 0;
	return g;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && strchr(" \t\r\n", s[n - 1]))
		s[--n] = 0;
	return s;
}

int hs_suppressions_load(struct hs_session *ses, struct hs_suppressions *sup, const char *path, struct hs_diag *d)
{
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;

	memset(sup, 0, sizeof(*sup));
	FILE *f = fopen(path, "re");
	if (!f) {
		int err = errno;
		diag_set(d, "%s: cannot open suppressions: %s", path, strerror(err));
		return -err;
	}
	if (!(sup->path = strdup(path)))
		goto oom;
	while (getline(&line, &cap, f) > 0) {
		char *s = trim(line);
		lineno++;
		if (!*s || *s == '#')
			continue;
		char *colon = strchr(s, ':');
		if (!colon || colon == s) {
			diag_set(d, "%s:%u: not a suppression (expected leak:PATTERN): %s", path, lineno, s);
			goto fail;
		}
		*colon = 0;
		if (strcmp(s, "leak")) {
			session_warn(ses, "%s:%u: '%s:' suppressions do not apply to leaks, skipped", path, lineno, s);
			continue;
		}
		char *pat = trim(colon + 1);
		if (!*pat) {
			diag_set(d, "%s:%u: empty leak: pattern", path, lineno);
			goto fail;
		}
		struct hs_suppression *ns = realloc(sup->s, (sup->n + 1) * sizeof(*ns));
		if (!ns)
			goto oom;
		sup->s = ns;
		struct hs_suppression *e = &sup->s[sup->n++];
		memset(e, 0, sizeof(*e));
		e->pattern = strdup(pat);
		e->glob = to_glob(pat);
		e->line = lineno;
		if (!e->pattern || !e->glob)
			goto oom;
	}
	free(line);
	fclose(f);
	return 0;
oom:
	diag_set(d, "%s: out of memory", path);
	free(line);
	fclose(f);
	hs_suppressions_free(sup);
	return -ENOMEM;
fail:
	free(line);
	fclose(f);
	hs_suppressions_free(sup);
	return -EINVAL;
}

void hs_suppressions_warn_unused(struct hs_session *ses, const struct hs_suppressions *sup)
{
	for (unsigned i = 0; i < sup->n; i++)
		if (!sup->s[i].leaks)
			session_warn(ses, "%s:%u: suppression leak:%s matched nothing", sup->path, sup->s[i].line,
				     sup->s[i].pattern);
}

void hs_suppressions_free(struct hs_suppressions *sup)
{
	for (unsigned i = 0; i < sup->n; i++) {
		free(sup->s[i].pattern);
		free(sup->s[i].glob);
	}
	free(sup->s);
	free(sup->path);
	memset(sup, 0, sizeof(*sup));
}

int suppress_match(const struct hs_suppressions *sup, const struct hs_frame *frames, int n)
{
	for (unsigned k = 0; k < sup->n; k++)
		for (int i = 0; i < n; i++) {
			const struct hs_frame *f = &frames[i];
			if ((f->function && frames_glob(sup->s[k].glob, f->function)) ||
			    (f->file && frames_glob(sup->s[k].glob, f->file)) ||
			    (f->module && frames_glob(sup->s[k].glob, f->module)))
				return (int)k;
		}
	return -1;
}
