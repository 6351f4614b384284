/*
 * ci.c - what a continuous-integration run fails on: the leak sites of the
 * failing kinds that no suppression matched, their signatures, and the
 * baseline that holds the known ones (a `heapsnap check --format json`
 * report).  `check` and `leaks --format sarif|junit` render these
 * (render_sarif.c, render_junit.c, render_text.c, render_json.c).
 *
 * A signature (hs_signature) is the executable's base name, the
 * allocation site's file:line and the function names of its stack
 * (module+offset where there is no symbol): stable across runs and
 * address-space randomization, and across edits that move lines in the
 * callers.  Bytes that are not UTF-8 become the characters JSON shows
 * for them (util/json.h), so a signature read back from a baseline
 * compares equal to the one computed now.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <heapsnap-analyze.h>

#include "util/diag.h"
#include "util/json.h"

/* A growing string. */
struct buf {
	char *p;
	size_t len, cap;
	int oom;
};

static void buf_add(struct buf *b, const char *s)
{
	size_t n = strlen(s);

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n + 1);
	b->len += n;
}

/* Make s valid UTF-8 in place of its invalid bytes: each becomes the
 * character Latin-1 gives it.  Return the new string (s is freed, or
 * returned when already valid), or NULL when out of memory. */
static char *utf8_fix(char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), extra = 0;

	for (size_t i = 0; i < n;) {
		size_t len = json_utf8_len(u + i, n - i);
		extra += !len;
		i += len ? len : 1;
	}
	if (!extra)
		return s;
	char *out = malloc(n + extra + 1), *o = out;
	if (out) {
		for (size_t i = 0; i < n;) {
			size_t len = json_utf8_len(u + i, n - i);
			if (len) {
				memcpy(o, u + i, len);
				o += len;
				i += len;
			} else {
				*o++ = (char)(0xc0 | u[i] >> 6);
				*o++ = (char)(0x80 | (u[i] & 0x3f));
				i++;
			}
		}
		*o = 0;
	}
	free(s);
	return out;
}

char *hs_signature(struct hs_trace *t, const struct hs_loss_record *r)
{
	const struct hs_stack *s = hs_trace_stack(t, r->stack);
	const char *exe = t->exe ? strrchr(t->exe, '/') : NULL;
	char part[PATH_MAX + 64];
	struct buf b = {0};

	exe = exe ? exe + 1 : (t->exe ? t->exe : "?");
	buf_add(&b, exe);
	for (int i = 0; i < s->n; i++) {
		const struct hs_frame *f = &s->frames[i];
		const char *mod = f->module ? strrchr(f->module, '/') : NULL;
		mod = mod ? mod + 1 : (f->module ? f->module : "?");
		if (f->function)
			snprintf(part, sizeof(part), "%s%s", i ? ";" : "|", f->function);
		else
			snprintf(part, sizeof(part), "%s%s+0x%llx", i ? ";" : "|", mod, (unsigned long long)f->offset);
		buf_add(&b, part);
		if (i == 0 && f->file && f->line) {
			const char *base = strrchr(f->file, '/');
			snprintf(part, sizeof(part), "@%s:%u", base ? base + 1 : f->file, f->line);
			buf_add(&b, part);
		}
	}
	if (!s->n)
		buf_add(&b, "|<no stack>");
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return utf8_fix(b.p);
}

static int by_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* If p is at the key "signature" followed by a colon and a string, return
 * the position just past the string's opening quote; else NULL.  Any JSON
 * whitespace may surround the colon, so a reformatted baseline still reads. */
static const char *signature_value(const char *p)
{
	static const char key[] = "\"signature\"";

	p += sizeof(key) - 1;
	p += strspn(p, " \t\r\n");
	if (*p++ != ':')
		return NULL;
	p += strspn(p, " \t\r\n");
	return *p == '"' ? p + 1 : NULL;
}

/* Read the whole file at path into a NUL-terminated string (caller
 * frees).  Return NULL with errno set on failure. */
static char *read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	struct stat st;
	char *text = NULL;

	if (!f)
		return NULL;
	if (!fstat(fileno(f), &st) && (text = malloc((size_t)st.st_size + 1))) {
		size_t n = fread(text, 1, (size_t)st.st_size, f);
		text[n] = 0;
	}
	int err = errno;
	fclose(f);
	errno = err ? err : ENOMEM;
	return text;
}

int hs_baseline_load(struct hs_baseline *b, const char *path, struct hs_diag *d)
{
	char *text = read_file(path);

	memset(b, 0, sizeof(*b));
	if (!text) {
		int err = errno;
		diag_set(d, "%s: cannot read the baseline: %s", path, strerror(err));
		return -err;
	}
	if (!strstr(text, "\"heapsnap check\"")) {
		diag_set(d, "%s: not a baseline (make one with heapsnap check --format json --output FILE)", path);
		free(text);
		return -EINVAL;
	}
	int rc = 0;
	for (const char *p = strstr(text, "\"signature\""); p; p = strstr(p + 1, "\"signature\"")) {
		const char *v = signature_value(p), *end;
		char *s = v ? json_parse_str(v, &end) : NULL;
		if (!s) {
			diag_set(d, "%s: malformed signature at byte %zu", path, (size_t)(p - text));
			rc = -EINVAL;
			break;
		}
		char **sigs = realloc(b->sigs, (b->n + 1) * sizeof(*b->sigs));
		/* a baseline written before JSON escaped bytes holds them raw */
		if (!sigs || !(s = utf8_fix(s))) {
			if (sigs)
				b->sigs = sigs;
			else
				free(s);
			diag_set(d, "%s: out of memory", path);
			rc = -ENOMEM;
			break;
		}
		b->sigs = sigs;
		b->sigs[b->n++] = s;
		p = end - 1;
	}
	free(text);
	if (rc) {
		hs_baseline_free(b);
		return rc;
	}
	if (b->n > 1)
		qsort(b->sigs, b->n, sizeof(*b->sigs), by_str);
	return 0;
}

int hs_baseline_has(const struct hs_baseline *b, const char *sig)
{
	return b && b->n && sig && bsearch(&sig, b->sigs, b->n, sizeof(*b->sigs), by_str) != NULL;
}

void hs_baseline_free(struct hs_baseline *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->sigs[i]);
	free(b->sigs);
	memset(b, 0, sizeof(*b));
}

int hs_ci_add(struct hs_ci *ci, struct hs_trace *t, unsigned kinds, const struct hs_baseline *b)
{
	struct hs_trace **traces = realloc(ci->traces, (size_t)(ci->ntraces + 1) * sizeof(*traces));

	if (!traces)
		return -ENOMEM;
	ci->traces = traces;
	ci->traces[ci->ntraces++] = t;
	for (uint64_t k = 0; k < t->leaks.nrecords; k++) {
		const struct hs_loss_record *rec = &t->leaks.records[k];
		if (!(kinds & (1u << rec->kind)) || rec->suppressed >= 0)
			continue;
		if (ci->nsites == ci->cap) {
			size_t cap = ci->cap ? 2 * ci->cap : 64;
			struct hs_ci_site *sites = realloc(ci->sites, cap * sizeof(*sites));
			if (!sites)
				return -ENOMEM;
			ci->sites = sites;
			ci->cap = cap;
		}
		char *sig = hs_signature(t, rec);
		if (!sig)
			return -ENOMEM;
		struct hs_ci_site *s = &ci->sites[ci->nsites++];
		*s = (struct hs_ci_site){t, rec, sig, hs_baseline_has(b, sig)};
		if (!s->in_baseline) {
			ci->failing++;
			ci->failing_blocks += rec->blocks;
			ci->failing_bytes += rec->bytes;
		}
	}
	return 0;
}

void hs_ci_free(struct hs_ci *ci)
{
	for (size_t i = 0; i < ci->nsites; i++)
		free(ci->sites[i].signature);
	free(ci->sites);
	free(ci->traces);
	memset(ci, 0, sizeof(*ci));
}
