/*
 * stats.c - heaps grouped like tracemalloc's Snapshot.statistics() and
 * compare_to(), added up by key over traces.
 */
#define _GNU_SOURCE
#include "analyze/stats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/dom.h"
#include "analyze/frames.h"
#include "analyze/retain.h"
#include "analyze/stacks.h"
#include "analyze/trace.h"
#include "util/hashmap.h"

const char *hs_by_name(enum hs_by by)
{
	static const char *const names[] = {"lineno", "function", "file", "module", "traceback"};
	return by >= HS_BY_LINENO && by <= HS_BY_TRACEBACK ? names[by] : "unknown";
}

int hs_by_parse(const char *name, enum hs_by *by)
{
	for (int i = HS_BY_LINENO; i <= HS_BY_TRACEBACK; i++)
		if (!strcmp(name, hs_by_name((enum hs_by)i))) {
			*by = (enum hs_by)i;
			return 0;
		}
	return -EINVAL;
}

/* ---- a heap by stack --------------------------------------------------------- */

static int by_bytes_desc(const void *a, const void *b)
{
	const struct hs_stack_cost *x = a, *y = b;
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

/* Sum heap h of trace t by stack, in the order stacks first appear among
 * the allocinfos (unsorted).  Return how many, or -ENOMEM. */
static long sum_by_stack(const struct hs_trace *t, const struct hs_heap *h, struct hs_stack_cost **out)
{
	const struct hs_trace_priv *p = t->priv;
	uint64_t n = h->ninfo < p->ninfo ? h->ninfo : p->ninfo;
	struct hs_stack_cost *c = NULL;
	long nc = 0, cap = 0;
	struct hashmap idx;

	*out = NULL;
	if (hashmap_init(&idx, 256))
		return -ENOMEM;
	for (uint64_t id = 1; id < n; id++) {
		uint64_t count = h->count[id], allocs = h->allocs ? h->allocs[id] : 0;
		if (!count && !allocs)
			continue;
		uint32_t stack = p->info_stack[id];
		uint64_t *v = hashmap_get(&idx, (uint64_t)stack + 1);
		if (!v) {
			if (nc == cap) {
				cap = cap ? 2 * cap : 256;
				struct hs_stack_cost *nn = realloc(c, (size_t)cap * sizeof(*nn));
				if (!nn)
					goto oom;
				c = nn;
			}
			if (hashmap_put(&idx, (uint64_t)stack + 1, (uint64_t)nc))
				goto oom;
			c[nc] = (struct hs_stack_cost){.stack = stack};
			v = hashmap_get(&idx, (uint64_t)stack + 1);
			nc++;
		}
		c[*v].blocks += count;
		c[*v].bytes += count * p->info_size[id];
		c[*v].alloc_blocks += allocs;
		c[*v].alloc_bytes += allocs * p->info_size[id];
	}
	hashmap_free(&idx);
	*out = c;
	return nc;
oom:
	hashmap_free(&idx);
	free(c);
	return -ENOMEM;
}

long hs_heap_stacks(const struct hs_trace *t, const struct hs_heap *h, struct hs_stack_cost **out)
{
	long n = sum_by_stack(t, h, out);

	if (n > 1)
		qsort(*out, (size_t)n, sizeof(**out), by_bytes_desc);
	return n;
}

/* ---- keys ----------------------------------------------------------------------- */

static const char *base_name(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;
	return s ? s + 1 : p;
}

/* The key of frame f in mode by. */
static void frame_key(const struct hs_frame *f, enum hs_by by, char *buf, size_t cap)
{
	const char *mod = f->module ? f->module : "?";

	switch (by) {
	case HS_BY_FUNCTION:
		if (f->function)
			snprintf(buf, cap, "%s", f->function);
		else
			snprintf(buf, cap, "%s+0x%llx", base_name(mod), (unsigned long long)f->offset);
		return;
	case HS_BY_FILE:
		snprintf(buf, cap, "%s", f->file ? f->file : mod);
		return;
	case HS_BY_MODULE:
		snprintf(buf, cap, "%s", mod);
		return;
	case HS_BY_LINENO:
	case HS_BY_TRACEBACK:
		if (f->file && f->line)
			snprintf(buf, cap, "%s:%u", f->file, f->line);
		else if (f->function)
			snprintf(buf, cap, "%s (%s)", f->function, base_name(mod));
		else
			snprintf(buf, cap, "%s+0x%llx", base_name(mod), (unsigned long long)f->offset);
		return;
	}
}

int stats_passes(const struct hs_stack *s, const struct hs_group *g)
{
	const struct hs_frame *f = s->n ? &s->frames[0] : NULL;
	const char *file = f && f->file ? f->file : "", *mod = f && f->module ? f->module : "";

	if (!g)
		return 1;
	for (int i = 0; i < g->nexclude; i++)
		if (frames_glob(g->exclude[i], file) || frames_glob(g->exclude[i], mod))
			return 0;
	if (!g->ninclude)
		return 1;
	for (int i = 0; i < g->ninclude; i++)
		if (frames_glob(g->include[i], file) || frames_glob(g->include[i], mod))
			return 1;
	return 0;
}

/* Key number k of stack s (k < the number stack_keys says) into key. */
static void stack_key(const struct hs_stack *s, const struct hs_group *g, int k, char *key, size_t cap)
{
	char one[1024];

	if (!s->n) {
		snprintf(key, cap, "(no stack)");
	} else if (g->by == HS_BY_TRACEBACK) {
		size_t len = 0;
		key[0] = 0;
		for (int i = 0; i < s->n && len < cap - 2; i++) {
			frame_key(&s->frames[i], HS_BY_LINENO, one, sizeof(one));
			len += (size_t)snprintf(key + len, cap - len, "%s%s%s%s", i ? "\n" : "", one,
						s->frames[i].function ? " in " : "",
						s->frames[i].function ? s->frames[i].function : "");
		}
	} else {
		frame_key(&s->frames[k], g->by, key, cap);
	}
}

void stats_key(const struct hs_stack *s, const struct hs_group *g, char *key, size_t cap)
{
	stack_key(s, g, 0, key, cap);
}

/* How many keys stack s has: its site's, or with --cumulative one per frame. */
static int stack_keys(const struct hs_stack *s, const struct hs_group *g)
{
	return !s->n ? 1 : g->by == HS_BY_TRACEBACK || !g->cumulative ? 1 : s->n;
}

/* ---- the table ------------------------------------------------------------------ */

struct hs_stats {
	const struct hs_group *g;
	int ncols;
	char **keys;		/* by line */
	uint64_t *vals;		/* by line: ncols sizes, then ncols counts */
	long n, cap;		/* lines */
	struct hashmap idx;	/* key hash (probing on collision) -> line */
	uint64_t *total;	/* by column: size, count (filtered, every block once) */
	uint64_t *retained;	/* by line and column: retained bytes; NULL until
				 * hs_stats_add_retained */
	long retained_cap;	/* lines it has room for */
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h ? h : 1;
}

struct hs_stats *hs_stats_new(const struct hs_group *g, int ncols)
{
	struct hs_stats *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->g = g;
	s->ncols = ncols > 0 ? ncols : 1;
	s->total = calloc(2 * (size_t)s->ncols, sizeof(*s->total));
	if (!s->total || hashmap_init(&s->idx, 256)) {
		hs_stats_free(s);
		return NULL;
	}
	return s;
}

void hs_stats_free(struct hs_stats *s)
{
	if (!s)
		return;
	for (long i = 0; i < s->n; i++)
		free(s->keys[i]);
	free(s->keys);
	free(s->vals);
	free(s->total);
	free(s->retained);
	hashmap_free(&s->idx);
	free(s);
}

/* The line of key, made when new.  Return its index, or -1 when out of
 * memory. */
static long line_for(struct hs_stats *s, const char *key)
{
	uint64_t h = str_hash(key);

	for (;; h = h + 1 ? h + 1 : 1) {
		uint64_t *v = hashmap_get(&s->idx, h);
		if (!v)
			break;
		if (!strcmp(s->keys[*v], key))
			return (long)*v;
	}
	if (s->n == s->cap) {
		long cap = s->cap ? 2 * s->cap : 256;
		char **k = realloc(s->keys, (size_t)cap * sizeof(*k));
		if (!k)
			return -1;
		s->keys = k;
		uint64_t *v = realloc(s->vals, (size_t)cap * 2 * (size_t)s->ncols * sizeof(*v));
		if (!v)
			return -1;
		s->vals = v;
		s->cap = cap;
	}
	char *copy = strdup(key);
	if (!copy || hashmap_put(&s->idx, h, (uint64_t)s->n)) {
		free(copy);
		return -1;
	}
	s->keys[s->n] = copy;
	memset(&s->vals[(size_t)s->n * 2 * (size_t)s->ncols], 0, 2 * (size_t)s->ncols * sizeof(*s->vals));
	return s->n++;
}

static uint64_t *size_of(const struct hs_stats *s, long line, int col)
{
	return &s->vals[(size_t)line * 2 * (size_t)s->ncols + (size_t)col];
}

static uint64_t *count_of(const struct hs_stats *s, long line, int col)
{
	return &s->vals[(size_t)line * 2 * (size_t)s->ncols + (size_t)s->ncols + (size_t)col];
}

/* Add count blocks of bytes from stack s to column col: to each of its
 * keys once (a frame twice in one stack, recursion, counts once). */
static int add_stack(struct hs_stats *st, const struct hs_stack *s, uint64_t count, uint64_t bytes, int col)
{
	char key[4096];
	long seen[STACKS_MAX_FRAMES];
	int nseen = 0, nkeys = stack_keys(s, st->g);

	for (int k = 0; k < nkeys; k++) {
		stack_key(s, st->g, k, key, sizeof(key));
		long l = line_for(st, key);
		if (l < 0)
			return -ENOMEM;
		int dup = 0;
		for (int i = 0; i < nseen; i++)
			dup |= seen[i] == l;
		if (dup)
			continue;
		*size_of(st, l, col) += bytes;
		*count_of(st, l, col) += count;
		if (nseen < STACKS_MAX_FRAMES)
			seen[nseen++] = l;
	}
	return 0;
}

int hs_stats_add(struct hs_stats *s, struct hs_trace *t, const struct hs_heap *h, int col)
{
	struct hs_stack_cost *c;
	int rc = 0;

	if (col < 0 || col >= s->ncols)
		return -EINVAL;
	long n = sum_by_stack(t, h, &c);
	if (n < 0)
		return -ENOMEM;
	for (long i = 0; i < n && !rc; i++) {
		const struct hs_stack *st = hs_trace_stack(t, c[i].stack);
		if (!c[i].blocks || !stats_passes(st, s->g))
			continue;
		s->total[2 * col] += c[i].bytes;
		s->total[2 * col + 1] += c[i].blocks;
		rc = add_stack(s, st, c[i].blocks, c[i].bytes, col);
	}
	free(c);
	return rc;
}

void hs_stats_total(const struct hs_stats *s, int col, uint64_t *size, uint64_t *count)
{
	int ok = col >= 0 && col < s->ncols;

	*size = ok ? s->total[2 * col] : 0;
	*count = ok ? s->total[2 * col + 1] : 0;
}

void hs_stat_lines_free(struct hs_stat_line *l, long n)
{
	for (long i = 0; i < n; i++) {
		free(l[i].key);
		free(l[i].sizes);
	}
	free(l);
}

static int by_size_desc(const void *a, const void *b)
{
	const struct hs_stat_line *x = a, *y = b;
	if (x->size != y->size)
		return x->size < y->size ? 1 : -1;
	return strcmp(x->key, y->key);
}

static int by_retained_desc(const void *a, const void *b)
{
	const struct hs_stat_line *x = a, *y = b;
	if (x->retained != y->retained)
		return x->retained < y->retained ? 1 : -1;
	return by_size_desc(a, b);
}

static int by_abs_diff(const void *a, const void *b)
{
	const struct hs_stat_line *x = a, *y = b;
	uint64_t dx = (uint64_t)llabs(x->size_diff), dy = (uint64_t)llabs(y->size_diff);
	if (dx != dy)
		return dx < dy ? 1 : -1;
	return by_size_desc(a, b);
}

/* A line of the result: key copied.  Return 0 or -ENOMEM. */
static int emit(struct hs_stat_line *out, long *n, const char *key)
{
	memset(&out[*n], 0, sizeof(out[*n]));
	if (!(out[*n].key = strdup(key)))
		return -ENOMEM;
	(*n)++;
	return 0;
}

static long finish(struct hs_stat_line *l, long n, int (*cmp)(const void *, const void *), struct hs_stat_line **out)
{
	if (n > 1)
		qsort(l, (size_t)n, sizeof(*l), cmp);
	*out = l;
	return n;
}

long hs_stats_top(const struct hs_stats *s, int col, struct hs_stat_line **out)
{
	struct hs_stat_line *l;
	long n = 0;

	if (col < 0 || col >= s->ncols)
		return -EINVAL;
	if (!(l = malloc((size_t)(s->n ? s->n : 1) * sizeof(*l))))
		return -ENOMEM;
	for (long i = 0; i < s->n; i++) {
		if (!*count_of(s, i, col) && !*size_of(s, i, col))
			continue;
		if (emit(l, &n, s->keys[i])) {
			hs_stat_lines_free(l, n);
			return -ENOMEM;
		}
		l[n - 1].size = *size_of(s, i, col);
		l[n - 1].count = *count_of(s, i, col);
		if (s->retained)
			l[n - 1].retained = i < s->retained_cap ? s->retained[(size_t)i * (size_t)s->ncols + (size_t)col] : 0;
	}
	return finish(l, n, s->retained ? by_retained_desc : by_size_desc, out);
}

long hs_stats_diff(const struct hs_stats *s, int from, int to, struct hs_stat_line **out)
{
	struct hs_stat_line *l;
	long n = 0;

	if (from < 0 || from >= s->ncols || to < 0 || to >= s->ncols)
		return -EINVAL;
	if (!(l = malloc((size_t)(s->n ? s->n : 1) * sizeof(*l))))
		return -ENOMEM;
	for (long i = 0; i < s->n; i++) {
		uint64_t os = *size_of(s, i, from), oc = *count_of(s, i, from);
		uint64_t ns = *size_of(s, i, to), nc = *count_of(s, i, to);
		if (!os && !oc && !ns && !nc)
			continue;
		if (emit(l, &n, s->keys[i])) {
			hs_stat_lines_free(l, n);
			return -ENOMEM;
		}
		l[n - 1].size = ns;
		l[n - 1].count = nc;
		l[n - 1].size_diff = (int64_t)(ns - os);
		l[n - 1].count_diff = (int64_t)(nc - oc);
	}
	return finish(l, n, by_abs_diff, out);
}

/*
 * Does line i grow?  From the interval of its first growth on (what came
 * before, start-up, does not count), it grew in at least share of the
 * intervals, in two of them at least, and kept at least half of what it
 * grew by (an oscillation gives back most of its rises).  Return 1 and
 * set *from (the column before its first growth) and *grew (intervals it
 * grew in), else 0.
 */
static int grows(const struct hs_stats *s, long i, double share, int *from, int *grew)
{
	int nc = s->ncols, first = -1, up = 0;
	uint64_t rise = 0;

	for (int k = 1; k < nc; k++) {
		uint64_t a = *size_of(s, i, k - 1), b = *size_of(s, i, k);
		if (b <= a)
			continue;
		if (first < 0)
			first = k - 1;
		up++;
		rise += b - a;
	}
	if (up < 2)
		return 0;
	uint64_t base = *size_of(s, i, first), last = *size_of(s, i, nc - 1);
	int intervals = nc - 1 - first;
	if (last <= base || 2 * (last - base) < rise || (double)up < share * intervals)
		return 0;
	*from = first;
	*grew = up;
	return 1;
}

long hs_stats_growth(const struct hs_stats *s, double share, struct hs_stat_line **out)
{
	int nc = s->ncols;
	struct hs_stat_line *l;
	long n = 0;

	if (nc < 3)
		return -EINVAL;
	if (!(share > 0))
		share = HS_GROWTH_SHARE;
	if (!(l = malloc((size_t)(s->n ? s->n : 1) * sizeof(*l))))
		return -ENOMEM;
	for (long i = 0; i < s->n; i++) {
		int from, grew;
		if (!grows(s, i, share, &from, &grew))
			continue;
		if (emit(l, &n, s->keys[i]) || !(l[n - 1].sizes = malloc((size_t)nc * sizeof(uint64_t)))) {
			hs_stat_lines_free(l, n);
			return -ENOMEM;
		}
		struct hs_stat_line *o = &l[n - 1];
		for (int k = 0; k < nc; k++)
			o->sizes[k] = *size_of(s, i, k);
		o->size = o->sizes[nc - 1];
		o->count = *count_of(s, i, nc - 1);
		o->size_diff = (int64_t)(o->size - o->sizes[from]);
		o->grew = grew;
		o->intervals = nc - 1 - from;
	}
	return finish(l, n, by_abs_diff, out);
}

/* ---- retained sizes -------------------------------------------------------------- */

/* The lines of a stack's keys (each once), or none if it does not pass. */
struct stack_lines {
	long *line; /* into lines */
	int n;
};

/* Room for the retained column of lines 0..n. */
static int retained_room(struct hs_stats *s, long n)
{
	if (n <= s->retained_cap)
		return 0;
	long cap = s->retained_cap ? s->retained_cap : 256;
	while (cap < n)
		cap *= 2;
	uint64_t *r = realloc(s->retained, (size_t)cap * (size_t)s->ncols * sizeof(*r));
	if (!r)
		return -ENOMEM;
	memset(r + (size_t)s->retained_cap * (size_t)s->ncols, 0,
	       (size_t)(cap - s->retained_cap) * (size_t)s->ncols * sizeof(*r));
	s->retained = r;
	s->retained_cap = cap;
	return 0;
}

int hs_stats_add_retained(struct hs_stats *s, struct hs_trace *t, int col)
{
	const struct hs_graph *g = t->graph;
	const struct dom *d = g ? retain_dom(t) : NULL;
	struct hashmap idx;
	struct stack_lines *sl = NULL;
	long *lines = NULL, nsl = 0, caps = 0, nlines = 0, capl = 0;
	uint64_t *until = NULL;
	char key[4096];
	int rc = -ENOMEM;

	if (col < 0 || col >= s->ncols || !g)
		return -EINVAL;
	if (!d || hashmap_init(&idx, 256))
		return -ENOMEM;
	if (retained_room(s, s->n))
		goto out;
	/* the lines of every distinct stack, made once */
	for (uint64_t b = 0; b < g->n; b++) {
		if (hashmap_get(&idx, (uint64_t)g->stack[b] + 1))
			continue;
		if (nsl == caps) {
			caps = caps ? 2 * caps : 256;
			struct stack_lines *n2 = realloc(sl, (size_t)caps * sizeof(*n2));
			if (!n2)
				goto out;
			sl = n2;
		}
		const struct hs_stack *st = hs_trace_stack(t, g->stack[b]);
		struct stack_lines *e = &sl[nsl];
		e->n = 0;
		e->line = NULL;
		if (hashmap_put(&idx, (uint64_t)g->stack[b] + 1, (uint64_t)nsl))
			goto out;
		nsl++;
		if (!stats_passes(st, s->g))
			continue;
		int nkeys = stack_keys(st, s->g);
		if (nlines + nkeys > capl) {
			capl = capl ? 2 * capl : 1024;
			while (capl < nlines + nkeys)
				capl *= 2;
			long *l2 = realloc(lines, (size_t)capl * sizeof(*l2));
			if (!l2)
				goto out;
			lines = l2;
		}
		e->line = (long *)(uintptr_t)nlines; /* an index until lines stops moving */
		for (int k = 0; k < nkeys; k++) {
			stack_key(st, s->g, k, key, sizeof(key));
			long l = line_for(s, key);
			if (l < 0)
				goto out;
			int dup = 0;
			for (int i = 0; i < e->n; i++)
				dup |= lines[nlines + i] == l;
			if (!dup)
				lines[nlines + e->n++] = l;
		}
		nlines += e->n;
	}
	if (retained_room(s, s->n) || !(until = calloc((size_t)(s->n ? s->n : 1), sizeof(*until))))
		goto out;
	/* In the dominator tree's preorder a block's subtree is the range
	 * after it: a line counts a block's retained bytes unless one of its
	 * blocks above it already did (until[line] ends that one's subtree). */
	for (uint64_t p = 0; p < g->n; p++) {
		uint32_t b = d->order[p];
		const struct stack_lines *e = &sl[*hashmap_get(&idx, (uint64_t)g->stack[b] + 1)];
		if (!e->n)
			continue;
		s->total[2 * col] += g->size[b];
		s->total[2 * col + 1]++;
		const long *ls = lines + (uintptr_t)e->line;
		for (int i = 0; i < e->n; i++) {
			long l = ls[i];
			*size_of(s, l, col) += g->size[b];
			*count_of(s, l, col) += 1;
			if (p < until[l])
				continue;
			s->retained[(size_t)l * (size_t)s->ncols + (size_t)col] += d->retained[b];
			until[l] = p + d->span[b];
		}
	}
	rc = 0;
out:
	free(until);
	free(lines);
	free(sl);
	hashmap_free(&idx);
	return rc;
}

/* ---- folded stacks ------------------------------------------------------------------ */

long hs_folded(struct hs_trace *t, const struct hs_heap *h, const struct hs_group *g, struct hs_stat_line **out)
{
	const struct hs_trace_priv *p = t->priv;
	uint64_t n = h->ninfo < p->ninfo ? h->ninfo : p->ninfo;
	struct hs_stats *acc = hs_stats_new(g, 1);
	char line[8192], one[1024];

	*out = NULL;
	if (!acc)
		return -ENOMEM;
	/* in allocinfo order: the lines come out as the stacks first appear */
	for (uint64_t id = 1; id < n; id++) {
		if (!h->count[id])
			continue;
		const struct hs_stack *st = hs_trace_stack(t, p->info_stack[id]);
		if (!stats_passes(st, g))
			continue;
		size_t len = 0;
		line[0] = 0;
		/* outermost first, as flamegraph.pl and speedscope read it */
		for (int i = st->n - 1; i >= 0 && len < sizeof(line) - 2; i--) {
			frame_key(&st->frames[i], HS_BY_FUNCTION, one, sizeof(one));
			for (char *c = one; *c; c++)
				if (*c == ';' || *c == ' ')
					*c = '_';
			len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s", len ? ";" : "", one);
		}
		if (!st->n)
			snprintf(line, sizeof(line), "(no_stack)");
		long l = line_for(acc, line);
		if (l < 0) {
			hs_stats_free(acc);
			return -ENOMEM;
		}
		*size_of(acc, l, 0) += h->count[id] * p->info_size[id];
	}
	struct hs_stat_line *res = malloc((size_t)(acc->n ? acc->n : 1) * sizeof(*res));
	long nres = 0;
	for (long i = 0; res && i < acc->n; i++) {
		if (emit(res, &nres, acc->keys[i])) {
			hs_stat_lines_free(res, nres);
			res = NULL;
			break;
		}
		res[nres - 1].size = *size_of(acc, i, 0);
	}
	hs_stats_free(acc);
	if (!res)
		return -ENOMEM;
	*out = res;
	return nres;
}
