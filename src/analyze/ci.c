/*
 * ci.c - what a continuous-integration run fails on: the leak sites of the
 * failing kinds that no suppression matched, their signatures, and the
 * baseline that holds the known ones (a `heapsnap check --format json`
 * report, as --record-baseline writes it).  `check` and `leaks --format sarif|junit` render these
 * (render_sarif.c, render_junit.c, render_text.c, render_json.c).
 *
 * A signature (hs_signature) is the executable's base name, the
 * allocation site's function and file:line and the function names of its
 * callers (module+offset where there is no symbol): stable across runs
 * and address-space randomization.  A baseline matches a site by its key,
 * the signature without the line, so edits that move lines (in the
 * callers or above the allocation) keep known leaks known; the line only
 * tells apart several sites of one key (hs_ci_add).  Bytes that are not
 * UTF-8 become the characters JSON shows for them (util/json.h), so a
 * signature read back from a baseline compares equal to the one computed
 * now.
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

/* Split signature sig into its key (the signature without the
 * allocation site's ":LINE": "exe|fn@file.c:12;main" has the key
 * "exe|fn@file.c;main") and that line, 0 if it has none.  Return the key
 * (the caller frees) or NULL when out of memory. */
static char *signature_key(const char *sig, unsigned *line)
{
	const char *bar = strchr(sig, '|'), *end, *at = NULL, *colon = NULL;

	*line = 0;
	if (!bar)
		return strdup(sig);
	end = bar + strcspn(bar, ";");
	for (const char *p = bar; p < end; p++)
		if (*p == '@')
			at = p;
	for (const char *p = at ? at : end; p < end; p++)
		if (*p == ':')
			colon = p;
	if (!colon || colon + 1 == end || strspn(colon + 1, "0123456789") != (size_t)(end - colon - 1))
		return strdup(sig);
	*line = (unsigned)strtoul(colon + 1, NULL, 10);
	size_t head = (size_t)(colon - sig), tail = strlen(end);
	char *key = malloc(head + tail + 1);
	if (key) {
		memcpy(key, sig, head);
		memcpy(key + head, end, tail + 1);
	}
	return key;
}

static int by_key_line(const void *a, const void *b)
{
	const struct hs_baseline_site *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : (x->line > y->line) - (x->line < y->line);
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
		diag_set(d, "%s: not a baseline (record one with heapsnap check --record-baseline FILE -- PROG)", path);
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
		struct hs_baseline_site *sites = realloc(b->sites, (b->n + 1) * sizeof(*b->sites));
		unsigned line = 0;
		char *key = NULL;
		if (sites)
			b->sites = sites;
		/* a baseline written before JSON escaped bytes holds them raw */
		if (!sites || !(s = utf8_fix(s)) || !(key = signature_key(s, &line))) {
			free(s);
			diag_set(d, "%s: out of memory", path);
			rc = -ENOMEM;
			break;
		}
		free(s);
		b->sites[b->n++] = (struct hs_baseline_site){key, line};
		p = end - 1;
	}
	free(text);
	if (rc) {
		hs_baseline_free(b);
		return rc;
	}
	if (b->n > 1)
		qsort(b->sites, b->n, sizeof(*b->sites), by_key_line);
	return 0;
}

void hs_baseline_free(struct hs_baseline *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->sites[i].key);
	free(b->sites);
	memset(b, 0, sizeof(*b));
}

/* The first site of baseline b whose key is not below key. */
static size_t baseline_lower(const struct hs_baseline *b, const char *key)
{
	size_t lo = 0, hi = b->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(b->sites[mid].key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Remove repeats from the sorted lines x[0..n); return how many remain. */
static size_t lines_unique(unsigned *x, size_t n)
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++)
		if (!m || x[m - 1] != x[i])
			x[m++] = x[i];
	return m;
}

static int has_line(const unsigned *x, size_t n, unsigned line)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (x[mid] < line)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && x[lo] == line;
}

/*
 * Which allocation lines c[0..nc) of one key a run has are known to a
 * baseline with lines b[0..nb) of that key (both sorted, distinct):
 * known[i] for c[i].  A line the baseline has is known.  Of the others,
 * if there are no more than baseline lines this run lacks, they are those
 * sites moved by an edit: all known.  Else some are new, and which is
 * guessed from the shift d (line now - line then) that explains the most
 * of them, the smallest such shift if several do: those it explains are
 * known, the rest new.
 */
static void match_lines(const unsigned *c, size_t nc, const unsigned *b, size_t nb, unsigned char *known)
{
	size_t cr = 0, br = 0;

	for (size_t i = 0; i < nc; i++)
		cr += !(known[i] = (unsigned char)has_line(b, nb, c[i]));
	for (size_t j = 0; j < nb; j++)
		br += !has_line(c, nc, b[j]);
	if (cr <= br) {
		memset(known, 1, nc);
		return;
	}
	long best_d = 0;
	size_t best = 0;
	for (size_t i = 0; i < nc; i++)
		for (size_t j = 0; !known[i] && j < nb; j++) {
			if (has_line(c, nc, b[j]))
				continue; /* that baseline line is still there */
			long d = (long)c[i] - (long)b[j], ad = d < 0 ? -d : d, abest = best_d < 0 ? -best_d : best_d;
			size_t score = 0;
			for (size_t k = 0; k < nc; k++) {
				long then = (long)c[k] - d;
				score += !known[k] && then > 0 && has_line(b, nb, (unsigned)then) &&
					 !has_line(c, nc, (unsigned)then);
			}
			if (score > best || (score == best && (ad < abest || (ad == abest && d < best_d)))) {
				best = score;
				best_d = d;
			}
		}
	for (size_t k = 0; best && k < nc; k++) {
		long then = (long)c[k] - best_d;
		if (!known[k] && then > 0 && has_line(b, nb, (unsigned)then) && !has_line(c, nc, (unsigned)then))
			known[k] = 2; /* moved by best_d */
	}
}

/* A site of the trace being added, by key. */
struct keyed_site {
	struct hs_baseline_site k; /* its key and line */
	size_t site;		   /* index in ci->sites */
};

static int by_keyed(const void *a, const void *b)
{
	return by_key_line(&((const struct keyed_site *)a)->k, &((const struct keyed_site *)b)->k);
}

/* ci's sites [first, nsites) are one trace's: mark those baseline b knows
 * (match_lines), a group of one key at a time.  Return 0 or -ENOMEM. */
static int mark_known(struct hs_ci *ci, size_t first, const struct hs_baseline *b)
{
	size_t n = ci->nsites - first, done = 0;
	struct keyed_site *ks = calloc(n + 1, sizeof(*ks));
	unsigned *cur = calloc(n + 1, sizeof(*cur)), *base = calloc(b->n + 1, sizeof(*base));
	unsigned char *known = calloc(n + 1, 1);
	int rc = ks && cur && base && known ? 0 : -ENOMEM;

	for (; !rc && done < n; done++) {
		ks[done].site = first + done;
		if (!(ks[done].k.key = signature_key(ci->sites[first + done].signature, &ks[done].k.line)))
			rc = -ENOMEM;
	}
	if (!rc)
		qsort(ks, n, sizeof(*ks), by_keyed);
	for (size_t g = 0, e; !rc && g < n; g = e) {
		const char *key = ks[g].k.key;
		for (e = g; e < n && !strcmp(ks[e].k.key, key); e++)
			cur[e - g] = ks[e].k.line;
		size_t lo = baseline_lower(b, key), hi = lo;
		for (; hi < b->n && !strcmp(b->sites[hi].key, key); hi++)
			base[hi - lo] = b->sites[hi].line;
		if (hi == lo)
			continue; /* a key the baseline does not have: all new */
		size_t nc = lines_unique(cur, e - g), nb = lines_unique(base, hi - lo);
		match_lines(cur, nc, base, nb, known);
		for (size_t i = g, c = 0; i < e; i++) {
			while (cur[c] != ks[i].k.line) /* the group is in line order */
				c++;
			ci->sites[ks[i].site].in_baseline = known[c] != 0;
		}
	}
	for (size_t i = 0; i < done; i++)
		free(ks[i].k.key);
	free(ks);
	free(cur);
	free(base);
	free(known);
	return rc;
}

int hs_ci_add(struct hs_ci *ci, struct hs_trace *t, unsigned kinds, const struct hs_baseline *b)
{
	struct hs_trace **traces = realloc(ci->traces, (size_t)(ci->ntraces + 1) * sizeof(*traces));

	if (!traces)
		return -ENOMEM;
	ci->traces = traces;
	ci->traces[ci->ntraces++] = t;
	size_t first = ci->nsites;
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
		ci->sites[ci->nsites++] = (struct hs_ci_site){t, rec, sig, 0};
	}
	if (b && b->n && mark_known(ci, first, b))
		return -ENOMEM;
	for (size_t i = first; i < ci->nsites; i++)
		if (!ci->sites[i].in_baseline) {
			ci->failing++;
			ci->failing_blocks += ci->sites[i].rec->blocks;
			ci->failing_bytes += ci->sites[i].rec->bytes;
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
