/*
 * report.c - gather what `heapsnap report` shows from the analyses.
 *
 * Nothing here re-derives what an analysis computes: the leak classes and
 * cycles come from leaks.c, the live heap at a point and its grouping by
 * line, function, file or module from stats.c, the heap over time and the
 * allocation counts from timeline.c.  This file chooses the points, keeps
 * the page bounded (model.md: largest first, the rest summed), and gives
 * stacks and frames the small ids the page shares between its views.
 *
 * Every trace is read once (hs_trace_read), with the heaps its process's
 * sections need; they are freed once those sections are made.
 */
#define _GNU_SOURCE
#include "analyze/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>

#include "analyze/select.h"
#include "analyze/trace.h"
#include "util/hashmap.h"

#define MAX_POINTS 40	      /* points at most (model.md) */
#define MAX_SNAP_POINTS 32    /* snapshots among them */
#define GRID_POINTS 12	      /* fill up to this many with evenly spaced times */
#define KEYS_PER_POINT 50     /* largest keys kept per point and grouping */
#define MAX_LINES 200	      /* lines of growth, allocating, temporary, baseline */
#define PROFILE_MAX 2000      /* stacks kept per profile */
#define PROFILE_REST 1000     /* ... until all but 1/PROFILE_REST of it is covered:
			       * a frame of 1/1000 of the graph is a pixel wide */
#define MAX_LOSS 500	      /* loss records kept */
#define MAX_MEMBERS 64	      /* members kept per cycle */

const char *const stats_by_names[REPORT_GROUPINGS] = {"lineno", "function", "file", "module"};

/* String -> index map: FNV-1a hash into hashmap, probing on collisions
 * (the strings live in the caller's array). */
struct strmap {
	struct hashmap m;
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h ? h : 1;
}

/* The index of s among strs, or -1; *slot receives the free hash slot. */
static int64_t strmap_find(const struct strmap *sm, char *const *strs, const char *s, uint64_t *slot)
{
	for (uint64_t h = str_hash(s);; h = h + 1 ? h + 1 : 1) {
		uint64_t *v = hashmap_get(&sm->m, h);
		if (!v) {
			if (slot)
				*slot = h;
			return -1;
		}
		if (!strcmp(strs[*v], s))
			return (int64_t)*v;
	}
}

struct priv {
	struct hashmap stack_ids; /* trace stack id + 1 -> model stack id */
	struct strmap frame_ids;  /* frame text -> frame id */
	char **frame_text;	  /* by frame id */
};

/* ---- stacks and frames ------------------------------------------------ */

static int64_t frame_id(struct hs_report *r, const struct hs_frame *f)
{
	struct priv *p = r->priv;
	char *text;
	uint64_t slot;

	if (asprintf(&text, "%s\t%s\t%u\t%s\t%d", f->function ? f->function : "", f->file ? f->file : "", f->line,
		     f->module ? f->module : "", f->inlined) < 0)
		return -1;
	int64_t id = strmap_find(&p->frame_ids, p->frame_text, text, &slot);
	if (id >= 0) {
		free(text);
		return id;
	}
	if ((r->nframes & (r->nframes - 1)) == 0) {
		uint32_t cap = r->nframes ? r->nframes * 2 : 64;
		void *a = realloc(r->frames, cap * sizeof(*r->frames));
		void *b = a ? realloc(p->frame_text, cap * sizeof(*p->frame_text)) : NULL;
		if (a)
			r->frames = a;
		if (!a || !b) {
			free(text);
			return -1;
		}
		p->frame_text = b;
	}
	id = r->nframes++;
	r->frames[id] = (struct report_frame){f->function, f->file, f->module, f->line, f->inlined};
	p->frame_text[id] = text;
	if (hashmap_put(&p->frame_ids.m, slot, (uint64_t)id))
		return -1;
	return id;
}

/* The model id of stack sid of trace k (symbolized through st), or -1. */
static int64_t stack_id(struct hs_report *r, struct stack_table *st, int k, uint32_t sid)
{
	struct priv *p = r->priv;
	uint64_t key = ((uint64_t)k << 32 | sid) + 1;
	uint64_t *v = hashmap_get(&p->stack_ids, key);

	if (v)
		return (int64_t)*v;
	const struct hs_stack *s = stacks_get(st, sid);
	uint32_t *ids = malloc((size_t)(s->n ? s->n : 1) * sizeof(*ids));
	if (!ids)
		return -1;
	for (int i = 0; i < s->n; i++) {
		int64_t f = frame_id(r, &s->frames[i]);
		if (f < 0) {
			free(ids);
			return -1;
		}
		ids[i] = (uint32_t)f;
	}
	if ((r->nstacks & (r->nstacks - 1)) == 0) {
		uint32_t cap = r->nstacks ? r->nstacks * 2 : 64;
		void *a = realloc(r->stacks, cap * sizeof(*r->stacks));
		void *b = a ? realloc(r->stack_depth, cap * sizeof(*r->stack_depth)) : NULL;
		if (a)
			r->stacks = a;
		if (!a || !b) {
			free(ids);
			return -1;
		}
		r->stack_depth = b;
	}
	int64_t id = r->nstacks++;
	r->stacks[id] = ids;
	r->stack_depth[id] = (uint32_t)s->n;
	if (hashmap_put(&p->stack_ids, key, (uint64_t)id))
		return -1;
	return id;
}

/* ---- profiles ------------------------------------------------------------- */

struct acc {
	uint32_t stack; /* trace stack id */
	uint64_t a, b;
};

static int by_a_desc(const void *x, const void *y)
{
	const struct acc *p = x, *q = y;
	return p->a != q->a ? (p->a < q->a ? 1 : -1) : (p->stack > q->stack) - (p->stack < q->stack);
}

/* Keep the largest a of the nacc stack sums of trace k (model ids), the
 * rest under -1.  acc is sorted here. */
static int keep_profile(struct hs_report *r, int k, struct acc *acc, size_t nacc, struct report_profile *out)
{
	uint64_t total = 0;

	for (size_t i = 0; i < nacc; i++)
		total += acc[i].a;
	if (nacc > 1)
		qsort(acc, nacc, sizeof(*acc), by_a_desc);
	out->v = malloc((nacc + 1) * 3 * sizeof(*out->v));
	if (!out->v)
		return -1;
	uint64_t covered = 0, rest_a = 0, rest_b = 0;
	for (size_t i = 0; i < nacc; i++) {
		if (out->n < PROFILE_MAX && (covered < total - total / PROFILE_REST || !total)) {
			int64_t id = stack_id(r, &r->t[k]->priv->st, k, acc[i].stack);
			if (id < 0)
				return -1;
			out->v[3 * out->n] = id;
			out->v[3 * out->n + 1] = (int64_t)acc[i].a;
			out->v[3 * out->n + 2] = (int64_t)acc[i].b;
			out->n++;
			covered += acc[i].a;
		} else {
			rest_a += acc[i].a;
			rest_b += acc[i].b;
		}
	}
	if (rest_a || rest_b) {
		out->v[3 * out->n] = -1;
		out->v[3 * out->n + 1] = (int64_t)rest_a;
		out->v[3 * out->n + 2] = (int64_t)rest_b;
		out->n++;
	}
	return 0;
}

/* Sum (a, b) by trace stack over n allocinfos of trace k, then
 * keep_profile.  val gives the values of allocinfo i. */
static int profile(struct hs_report *r, int k, size_t n, const uint32_t *stack,
		   void (*val)(const void *ctx, size_t i, uint64_t *a, uint64_t *b), const void *ctx,
		   struct report_profile *out)
{
	struct hashmap idx;
	struct acc *acc = NULL;
	size_t nacc = 0, cap = 0;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (hashmap_init(&idx, 256))
		return -1;
	for (size_t i = 1; i < n; i++) {
		uint64_t a, b;
		val(ctx, i, &a, &b);
		if (!a && !b)
			continue;
		uint64_t *v = hashmap_get(&idx, (uint64_t)stack[i] + 1);
		if (!v) {
			if (nacc == cap) {
				cap = cap ? cap * 2 : 256;
				struct acc *na = realloc(acc, cap * sizeof(*na));
				if (!na)
					goto out;
				acc = na;
			}
			acc[nacc] = (struct acc){stack[i], 0, 0};
			if (hashmap_put(&idx, (uint64_t)stack[i] + 1, nacc))
				goto out;
			v = hashmap_get(&idx, (uint64_t)stack[i] + 1);
			nacc++;
		}
		acc[*v].a += a;
		acc[*v].b += b;
	}
	rc = keep_profile(r, k, acc, nacc, out);
out:
	free(acc);
	hashmap_free(&idx);
	return rc;
}

/* The profile of heap h of trace k: bytes, blocks by stack. */
static int profile_heap(struct hs_report *r, int k, const struct hs_heap *h, struct report_profile *out)
{
	struct hs_stack_cost *c;
	long n = hs_heap_stacks(r->t[k], h, &c);

	memset(out, 0, sizeof(*out));
	if (n < 0)
		return -1;
	struct acc *acc = malloc((size_t)(n ? n : 1) * sizeof(*acc));
	int rc = -1;
	if (acc) {
		for (long i = 0; i < n; i++)
			acc[i] = (struct acc){c[i].stack, c[i].bytes, c[i].blocks};
		rc = keep_profile(r, k, acc, (size_t)n, out);
	}
	free(acc);
	free(c);
	return rc;
}

/* allocated: allocations, bytes of allocinfo i over the run */
static void alloc_val(const void *ctx, size_t i, uint64_t *a, uint64_t *b)
{
	const struct timeline_sites *s = ctx;
	*a = s->allocs[i];
	*b = s->allocs[i] * s->size[i];
}

/* ---- points ---------------------------------------------------------------- */

static int add_point(struct report_proc *pr, const char *kind, const struct hs_heap *h)
{
	if (pr->npoints == MAX_POINTS)
		return -1;
	struct report_point *p = &pr->points[pr->npoints];
	p->kind = kind;
	p->index = h->index;
	snprintf(p->label, sizeof(p->label), "%s", h->index >= 0 ? h->label : "");
	p->time = h->seconds;
	p->heap = h;
	return pr->npoints++;
}

static int by_time(const void *x, const void *y)
{
	const struct report_point *a = x, *b = y;
	static const char *const order[] = {"start", "snapshot", "time", "peak", "exit"};
	int ra = 0, rb = 0;
	if (a->time != b->time)
		return a->time < b->time ? -1 : 1;
	for (int i = 0; i < 5; i++) {
		ra = !strcmp(a->kind, order[i]) ? i : ra;
		rb = !strcmp(b->kind, order[i]) ? i : rb;
	}
	return ra != rb ? ra - rb : a->index - b->index;
}

/* The heap of the point that shows selector sel (read as heap h of trace
 * t): the start, peak or exit point, the snapshot of the same index, else
 * a point of its own.  NULL when the points are full. */
static const struct hs_heap *point_of(struct report_proc *pr, const struct hs_trace *t, const struct hs_heap *h,
				      const char *sel)
{
	const struct hs_heap *named = !strcmp(sel, "start") ? &t->heaps[0]
				      : !strcmp(sel, "peak") ? &t->heaps[1]
				      : !strcmp(sel, "exit") ? &t->heaps[2] : NULL;
	if (named)
		return named;
	for (int i = 0; i < pr->npoints; i++)
		if (h->index >= 0 && pr->points[i].index == h->index)
			return pr->points[i].heap;
	return add_point(pr, "time", h) < 0 ? NULL : h;
}

static int index_of(const struct report_proc *pr, const struct hs_heap *h)
{
	for (int i = 0; i < pr->npoints; i++)
		if (pr->points[i].heap == h)
			return i;
	return 0;
}

/* The selectors of trace k's one pass: start, peak, exit, A, B (--from and
 * --to for the first trace, whose snapshots they name; start and exit for
 * the others). */
static void selectors(const struct hs_report_opts *o, int k, const char *sel[5])
{
	sel[0] = "start";
	sel[1] = "peak";
	sel[2] = "exit";
	sel[3] = o->from && !k ? o->from : "start";
	sel[4] = o->to && !k ? o->to : "exit";
}

/* The points of process pr: start, the snapshots (thinned evenly past
 * MAX_SNAP_POINTS), peak, exit, A, B, and when there are few snapshots
 * some of the heaps at evenly spread times of the same pass
 * (hs_want.ntimes), so that the chart has points to compare.  Return 0 or
 * -1 (d set). */
static int choose_points(struct report_proc *pr, const struct hs_trace *t, const struct hs_report_opts *o,
			 struct hs_diag *d)
{
	const char *sel[5];
	int ngrid = t->nsnapshots + 3 < GRID_POINTS ? GRID_POINTS - 3 - (int)t->nsnapshots : 0;

	if (ngrid > t->ntime_heaps)
		ngrid = t->ntime_heaps;
	selectors(o, pr->trace, sel);
	pr->points = calloc(MAX_POINTS, sizeof(*pr->points));
	if (!pr->points)
		goto oom;
	add_point(pr, "start", &t->heaps[0]);
	int ns = t->nsnapshot_heaps;
	for (int k = 0; k < ns; k++) {
		/* evenly thinned: the first and the last always kept */
		if (ns > MAX_SNAP_POINTS && k != ns - 1 &&
		    (long)k * (MAX_SNAP_POINTS - 1) / (ns - 1) == (long)(k + 1) * (MAX_SNAP_POINTS - 1) / (ns - 1))
			continue;
		add_point(pr, "snapshot", &t->snapshot_heaps[k]);
	}
	add_point(pr, "peak", &t->heaps[1]);
	add_point(pr, "exit", &t->heaps[2]);
	/* ngrid of the ntime_heaps, evenly */
	for (int k = 0; k < ngrid; k++)
		add_point(pr, "time", &t->time_heaps[(k + 1) * (t->ntime_heaps + 1) / (ngrid + 1) - 1]);
	const struct hs_heap *from = point_of(pr, t, &t->heaps[3], sel[3]);
	const struct hs_heap *to = point_of(pr, t, &t->heaps[4], sel[4]);
	if (!from || !to)
		goto oom;
	qsort(pr->points, (size_t)pr->npoints, sizeof(*pr->points), by_time);
	pr->peak = index_of(pr, &t->heaps[1]);
	pr->from = index_of(pr, from);
	pr->to = index_of(pr, to);
	return 0;
oom:
	diag_set(d, "%s: out of memory", t->path);
	return -1;
}

/* ---- tables ------------------------------------------------------------------ */

static int keep_key(struct report_table *tb, struct strmap *sm, const char *key)
{
	uint64_t slot;
	if (strmap_find(sm, tb->keys, key, &slot) >= 0)
		return 0;
	if ((tb->nkeys & (tb->nkeys - 1)) == 0) {
		char **k = realloc(tb->keys, (tb->nkeys ? tb->nkeys * 2 : 64) * sizeof(*k));
		if (!k)
			return -1;
		tb->keys = k;
	}
	if (!(tb->keys[tb->nkeys] = strdup(key)) || hashmap_put(&sm->m, slot, tb->nkeys))
		return -1;
	tb->nkeys++;
	return 0;
}

/* One grouping at every point of process pr: the union of each point's
 * largest keys and the largest changes from A to B, with each key's value
 * everywhere.  The points are the columns of one table. */
static int table(struct hs_report *r, struct report_proc *pr, int by, struct report_table *tb)
{
	struct hs_group g = {.by = (enum hs_by)by};
	struct hs_trace *t = r->t[pr->trace];
	int np = pr->npoints;
	struct hs_stats *st = hs_stats_new(&g, np);
	struct strmap sm;
	struct hs_stat_line **lines = calloc((size_t)np, sizeof(*lines));
	long *nl = calloc((size_t)np, sizeof(*nl));
	struct hs_stat_line *dl = NULL;
	long ndl = 0;
	int rc = -1;

	memset(tb, 0, sizeof(*tb));
	if (!st || !lines || !nl || hashmap_init(&sm.m, 256))
		goto out;
	for (int p = 0; p < np; p++)
		if (hs_stats_add(st, t, pr->points[p].heap, p))
			goto out;
	for (int p = 0; p < np; p++) {
		nl[p] = hs_stats_top(st, p, &lines[p]);
		if (nl[p] < 0)
			goto out;
		for (long i = 0; i < nl[p] && i < KEYS_PER_POINT; i++)
			if (keep_key(tb, &sm, lines[p][i].key))
				goto out;
	}
	ndl = hs_stats_diff(st, pr->from, pr->to, &dl);
	if (ndl < 0)
		goto out;
	for (long i = 0; i < ndl && i < KEYS_PER_POINT; i++)
		if (keep_key(tb, &sm, dl[i].key))
			goto out;
	tb->size = calloc((size_t)tb->nkeys * (size_t)np + 1, sizeof(*tb->size));
	tb->count = calloc((size_t)tb->nkeys * (size_t)np + 1, sizeof(*tb->count));
	if (!tb->size || !tb->count)
		goto out;
	for (int p = 0; p < np; p++)
		for (long i = 0; i < nl[p]; i++) {
			int64_t k = strmap_find(&sm, tb->keys, lines[p][i].key, NULL);
			if (k >= 0) {
				tb->size[(size_t)k * (size_t)np + (size_t)p] = lines[p][i].size;
				tb->count[(size_t)k * (size_t)np + (size_t)p] = lines[p][i].count;
			}
		}
	/* every grouping has the same totals: take them from the first */
	for (int p = 0; by == 0 && p < np; p++)
		hs_stats_total(st, p, &pr->total_size[p], &pr->total_count[p]);
	rc = 0;
out:
	for (int p = 0; lines && nl && p < np; p++)
		hs_stat_lines_free(lines[p], nl[p] > 0 ? nl[p] : 0);
	free(lines);
	free(nl);
	hs_stat_lines_free(dl, ndl > 0 ? ndl : 0);
	hashmap_free(&sm.m);
	hs_stats_free(st);
	return rc;
}

/* The lines of one heap of trace t, grouped by line. */
static long heap_lines(struct hs_trace *t, const struct hs_heap *h, struct hs_stat_line **out)
{
	struct hs_group g = {.by = HS_BY_LINENO};
	struct hs_stats *st = hs_stats_new(&g, 1);
	long n = st && !hs_stats_add(st, t, h, 0) ? hs_stats_top(st, 0, out) : -1;

	hs_stats_free(st);
	return n;
}

/* Keep the first MAX_LINES of n stat lines (freed). */
static int take_lines(struct hs_stat_line *l, long n, uint64_t total, int nsizes, struct report_lines *out)
{
	out->total = total;
	out->n = n < MAX_LINES ? (uint32_t)n : MAX_LINES;
	out->l = calloc(out->n + 1, sizeof(*out->l));
	if (!out->l) {
		hs_stat_lines_free(l, n);
		return -1;
	}
	for (uint32_t i = 0; i < out->n; i++) {
		out->l[i] = (struct report_line){l[i].key, l[i].size, l[i].count, l[i].size_diff, l[i].count_diff,
						 nsizes ? l[i].sizes : NULL};
		l[i].key = NULL;
		l[i].sizes = NULL;
	}
	hs_stat_lines_free(l, n);
	return 0;
}

/* ---- leaks ------------------------------------------------------------------- */

static int add_leaks(struct hs_report *r, int k, struct hs_diag *d)
{
	const struct hs_leaks *lr = &r->t[k]->leaks;
	struct stack_table *st = &r->t[k]->priv->st;

	for (int c = 0; c < HS_LEAK_KINDS; c++) {
		r->leak_total[c][0] += lr->total[c][0];
		r->leak_total[c][1] += lr->total[c][1];
	}
	r->suppressed[0] += lr->suppressed[0];
	r->suppressed[1] += lr->suppressed[1];
	for (uint64_t i = 0; i < lr->nrecords; i++) {
		const struct hs_loss_record *g = &lr->records[i];
		if (g->suppressed >= 0)
			r->suppressed_records++;
		if (r->nloss == MAX_LOSS) {
			r->loss_omitted++;
			continue;
		}
		int64_t sid = stack_id(r, st, k, g->stack);
		if (sid < 0)
			goto oom;
		r->loss[r->nloss++] = (struct report_leak){g->kind, g->suppressed >= 0, k, g->blocks, g->bytes, sid};
	}
	for (long i = 0; i < lr->ncycles; i++) {
		const struct hs_cycle *c = &lr->cycles[i];
		struct report_cycle *rc;
		r->cycles++;
		r->cycle_blocks += c->n;
		r->cycle_bytes += c->bytes;
		void *nc = realloc(r->cyc, (r->ncyc + 1) * sizeof(*r->cyc));
		if (!nc)
			goto oom;
		r->cyc = nc;
		rc = &r->cyc[r->ncyc++];
		memset(rc, 0, sizeof(*rc));
		rc->blocks = c->n;
		rc->bytes = c->bytes;
		rc->trace = k;
		rc->n = c->n < MAX_MEMBERS ? c->n : MAX_MEMBERS;
		rc->m = calloc(rc->n, sizeof(*rc->m));
		rc->edges = calloc(c->nedges + 1, sizeof(*rc->edges));
		if (!rc->m || !rc->edges)
			goto oom;
		for (uint32_t m = 0; m < rc->n; m++) {
			const struct hs_cycle_member *mb = &c->members[m];
			int64_t sid = stack_id(r, st, k, mb->stack);
			if (sid < 0)
				goto oom;
			rc->m[m] = (struct report_member){mb->size, mb->addr, mb->kind, sid};
		}
		for (uint32_t e = 0; e < c->nedges; e++) {
			const struct hs_cycle_edge *ed = &c->edges[e];
			if (ed->from < rc->n && ed->to < rc->n) {
				rc->edges[rc->nedges][0] = ed->from;
				rc->edges[rc->nedges][1] = ed->offset;
				rc->edges[rc->nedges][2] = ed->to;
				rc->nedges++;
			}
		}
	}
	return 0;
oom:
	diag_set(d, "%s: out of memory", r->t[k]->path);
	return -1;
}

/* pairs: values 2i and 2i+1 of an array */
static void pair_val(const void *ctx, size_t i, uint64_t *a, uint64_t *b)
{
	const uint64_t *v = ctx;
	*a = v[2 * i];
	*b = v[2 * i + 1];
}

/* leaked: bytes, blocks of the unsuppressed definite, indirect and
 * possible loss records of trace k, by stack. */
static int leaked_profile(struct hs_report *r, int k, struct report_profile *out)
{
	const struct hs_leaks *lr = &r->t[k]->leaks;
	uint64_t n = lr->nrecords + 1;
	uint32_t *stack = calloc(n, sizeof(*stack));
	uint64_t *vals = calloc(2 * n, sizeof(*vals));
	int rc = -1;

	if (stack && vals) {
		for (uint64_t i = 0; i < lr->nrecords; i++) {
			const struct hs_loss_record *g = &lr->records[i];
			if (g->suppressed >= 0 || g->kind == HS_REACHABLE)
				continue;
			stack[i + 1] = g->stack;
			vals[2 * (i + 1)] = g->bytes;
			vals[2 * (i + 1) + 1] = g->blocks;
		}
		rc = profile(r, k, (size_t)n, stack, pair_val, vals, out);
	}
	free(stack);
	free(vals);
	return rc;
}

/* ---- the whole report ------------------------------------------------------------ */

/* The time-based sections of process pr from its trace's heaps: points,
 * profiles, tables, lines. */
static int over_time(struct hs_report *r, struct report_proc *pr, const struct hs_report_opts *o, struct hs_diag *d)
{
	int k = pr->trace;
	struct hs_trace *t = r->t[k];
	const struct timeline_sites *sites = &t->priv->sites;
	struct hs_stat_line *l;
	long n;

	if (choose_points(pr, t, o, d))
		return -1;
	pr->live = calloc((size_t)pr->npoints, sizeof(*pr->live));
	pr->total_size = calloc((size_t)pr->npoints, sizeof(*pr->total_size));
	pr->total_count = calloc((size_t)pr->npoints, sizeof(*pr->total_count));
	if (!pr->live || !pr->total_size || !pr->total_count)
		goto oom;
	for (int p = 0; p < pr->npoints; p++)
		if (profile_heap(r, k, pr->points[p].heap, &pr->live[p]))
			goto oom;
	for (int g = 0; g < REPORT_GROUPINGS; g++)
		if (table(r, pr, g, &pr->tables[g]))
			goto oom;
	/* every allocation of the run, as a heap: one block per call */
	struct hs_heap all = {.index = -1, .count = sites->allocs, .ninfo = sites->cap};
	if (profile(r, k, sites->cap, sites->stack, alloc_val, sites, &pr->allocated))
		goto oom;
	n = heap_lines(t, &all, &l);
	if (n < 0 || take_lines(l, n, t->timeline.allocations, 0, &pr->allocating))
		goto oom;
	/* temporary allocations of the run, as top --temporary groups them */
	if (profile_heap(r, k, &t->temporary, &pr->temporary_stacks))
		goto oom;
	n = heap_lines(t, &t->temporary, &l);
	if (n < 0 || take_lines(l, n, t->info.temporary, 0, &pr->temporary))
		goto oom;
	if (leaked_profile(r, k, &pr->leaked))
		goto oom;
	int ns = t->nsnapshot_heaps;
	if (ns >= 3) {
		struct hs_group g = {.by = HS_BY_LINENO};
		struct hs_stats *st = hs_stats_new(&g, ns);
		n = -1;
		for (int c = 0; st && c < ns && !hs_stats_add(st, t, &t->snapshot_heaps[c], c); c++)
			if (c == ns - 1)
				n = hs_stats_growth(st, 0, &l);
		hs_stats_free(st);
		if (n < 0 || take_lines(l, n, 0, 1, &pr->growth))
			goto oom;
	}
	pr->growth_snaps = calloc((size_t)ns + 1, sizeof(*pr->growth_snaps));
	if (!pr->growth_snaps)
		goto oom;
	for (int c = 0; c < ns; c++) {
		const struct hs_heap *h = &t->snapshot_heaps[c];
		pr->growth_snaps[c].index = h->index;
		pr->growth_snaps[c].seconds = h->seconds;
		snprintf(pr->growth_snaps[c].label, sizeof(pr->growth_snaps[c].label), "%s", h->label);
	}
	pr->ngrowth_snaps = ns;
	return 0;
oom:
	diag_set(d, "%s: out of memory", t->path);
	return -1;
}

/* --baseline OLD: the exit of OLD against B of the first process. */
static int baseline(struct hs_report *r, struct hs_session *s, const char *old, struct hs_diag *d)
{
	const char *sel = "exit";
	struct hs_want w = {.select = &sel, .nselect = 1};
	struct hs_group g = {.by = HS_BY_LINENO};
	const struct report_point *to = &r->proc[0].points[r->proc[0].to];
	struct hs_stat_line *l;

	if (!(r->base = hs_trace_read(s, old, &w, d)))
		return -1;
	r->have_baseline = 1;
	struct hs_stats *st = hs_stats_new(&g, 2);
	long n = -1;
	if (st && !hs_stats_add(st, r->base, &r->base->heaps[0], 0) && !hs_stats_add(st, r->t[0], to->heap, 1))
		n = hs_stats_diff(st, 0, 1, &l);
	if (n < 0 || take_lines(l, n, 0, 0, &r->baseline)) {
		hs_stats_free(st);
		diag_set(d, "%s: out of memory", old);
		return -1;
	}
	hs_stats_total(st, 0, &r->base_size, &r->base_count);
	hs_stats_total(st, 1, &r->new_size, &r->new_count);
	hs_stats_free(st);
	snprintf(r->from_name, sizeof(r->from_name), "exit");
	snprintf(r->to_name, sizeof(r->to_name), "%s", to->label[0] ? to->label : to->kind);
	return 0;
}

/* Free the heaps of trace t once its process's sections are made: the
 * memory of the report follows one trace's heaps, not every trace's. */
static void drop_heaps(struct hs_trace *t)
{
	for (int i = 0; i < t->nheaps; i++)
		select_heap_free(&t->heaps[i]);
	for (int i = 0; i < t->nsnapshot_heaps; i++)
		select_heap_free(&t->snapshot_heaps[i]);
	for (int i = 0; i < t->ntime_heaps; i++)
		select_heap_free(&t->time_heaps[i]);
	select_heap_free(&t->temporary);
}

int hs_report_build(struct hs_session *s, char *const *paths, int npaths, const struct hs_report_opts *o,
		    struct hs_report **out, struct hs_diag *d)
{
	struct hs_want want = {.flags = HS_WANT_INFO | HS_WANT_TIMELINE | HS_WANT_LEAKS};
	struct hs_report *r = calloc(1, sizeof(*r));
	struct priv *p = calloc(1, sizeof(*p));
	int rc = -ENOMEM;

	*out = NULL;
	if (!r || !p) {
		free(r);
		free(p);
		diag_set(d, "out of memory");
		return -ENOMEM;
	}
	r->priv = p;
	r->t = calloc((size_t)npaths, sizeof(*r->t));
	r->proc = calloc(REPORT_MAX_PROCS, sizeof(*r->proc));
	r->loss = calloc(MAX_LOSS, sizeof(*r->loss));
	if (!r->t || !r->proc || !r->loss || hashmap_init(&p->stack_ids, 1024) || hashmap_init(&p->frame_ids.m, 1024)) {
		diag_set(d, "out of memory");
		goto fail;
	}
	rc = -EINVAL;
	if (o->suppressions && hs_suppressions_load(s, &r->sup, o->suppressions, d))
		goto fail;
	want.suppressions = o->suppressions ? &r->sup : NULL;
	for (int k = 0; k < npaths; k++) {
		/* the first REPORT_MAX_PROCS traces: also the heaps at the
		 * points, the snapshots, at evenly spread times, the temporary
		 * blocks, all in the same pass */
		const char *sel[5];
		struct hs_want w = want;
		if (k < REPORT_MAX_PROCS) {
			selectors(o, k, sel);
			w.select = sel;
			w.nselect = 5;
			w.ntimes = GRID_POINTS - 3;
			w.flags |= HS_WANT_SNAPSHOT_HEAPS | HS_WANT_TEMPORARY;
		}
		if (!(r->t[k] = hs_trace_read(s, paths[k], &w, d)))
			goto fail;
		r->ntraces = k + 1;
		r->scanned += r->t[k]->leaks.scanned != 0;
		if (add_leaks(r, k, d))
			goto fail;
		if (k < REPORT_MAX_PROCS) {
			r->proc[k].trace = k;
			r->nproc = k + 1;
			if (over_time(r, &r->proc[k], o, d))
				goto fail;
			if (k == 0 && o->baseline && baseline(r, s, o->baseline, d))
				goto fail;
			drop_heaps(r->t[k]);
		}
	}
	*out = r;
	return 0;
fail:
	hs_report_free(r);
	return rc;
}

static void lines_free(struct report_lines *l)
{
	for (uint32_t i = 0; l->l && i < l->n; i++) {
		free(l->l[i].key);
		free(l->l[i].sizes);
	}
	free(l->l);
}

static void proc_free(struct report_proc *pr)
{
	for (int i = 0; pr->live && i < pr->npoints; i++)
		free(pr->live[i].v);
	free(pr->live);
	free(pr->points);
	free(pr->allocated.v);
	free(pr->temporary_stacks.v);
	free(pr->leaked.v);
	for (int g = 0; g < REPORT_GROUPINGS; g++) {
		for (uint32_t i = 0; i < pr->tables[g].nkeys; i++)
			free(pr->tables[g].keys[i]);
		free(pr->tables[g].keys);
		free(pr->tables[g].size);
		free(pr->tables[g].count);
	}
	free(pr->total_size);
	free(pr->total_count);
	lines_free(&pr->growth);
	lines_free(&pr->allocating);
	lines_free(&pr->temporary);
	free(pr->growth_snaps);
}

void hs_report_free(struct hs_report *r)
{
	if (!r)
		return;
	struct priv *p = r->priv;

	for (int k = 0; k < r->ntraces; k++)
		hs_trace_free(r->t[k]);
	free(r->t);
	hs_suppressions_free(&r->sup);
	hs_trace_free(r->base);
	for (int k = 0; r->proc && k < r->nproc; k++)
		proc_free(&r->proc[k]);
	free(r->proc);
	for (uint32_t i = 0; i < r->nstacks; i++)
		free(r->stacks[i]);
	free(r->stacks);
	free(r->stack_depth);
	free(r->frames);
	lines_free(&r->baseline);
	free(r->loss);
	for (uint32_t i = 0; i < r->ncyc; i++) {
		free(r->cyc[i].m);
		free(r->cyc[i].edges);
	}
	free(r->cyc);
	if (p) {
		for (uint32_t i = 0; i < r->nframes; i++)
			free(p->frame_text[i]);
		free(p->frame_text);
		hashmap_free(&p->stack_ids);
		hashmap_free(&p->frame_ids.m);
		free(p);
	}
	free(r);
}
