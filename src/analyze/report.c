/*
 * report.c - gather what `heapsnap report` shows from the analyses.
 *
 * Nothing here re-derives what an analysis computes: the leak classes and
 * cycles come from leaks.c, the live heap at a point and its grouping by
 * line, function, file or module from stats.c, the heap over time and the
 * allocation counts from timeline.c.  This file chooses the points, keeps
 * the page bounded (model.md: largest first, the rest summed), and gives
 * stacks and frames the small ids the page shares between its views.
 */
#define _GNU_SOURCE
#include "analyze/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>

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

/* Sum (a, b) by trace stack over n allocinfos, keep the largest a (model
 * ids), the rest under -1.  a_of/b_of give the values of allocinfo i. */
static int profile(struct hs_report *r, struct stack_table *st, size_t n, const uint32_t *stack,
		   void (*val)(const void *ctx, size_t i, uint64_t *a, uint64_t *b), const void *ctx,
		   struct report_profile *out)
{
	struct hashmap idx;
	struct acc *acc = NULL;
	size_t nacc = 0, cap = 0;
	uint64_t total = 0;
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
		total += a;
	}
	qsort(acc, nacc, sizeof(*acc), by_a_desc);
	out->v = malloc((nacc + 1) * 3 * sizeof(*out->v));
	if (!out->v)
		goto out;
	uint64_t covered = 0, rest_a = 0, rest_b = 0;
	for (size_t i = 0; i < nacc; i++) {
		if (out->n < PROFILE_MAX && (covered < total - total / PROFILE_REST || !total)) {
			int64_t id = stack_id(r, st, 0, acc[i].stack);
			if (id < 0)
				goto out;
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
	rc = 0;
out:
	free(acc);
	hashmap_free(&idx);
	return rc;
}

/* live: bytes, blocks of allocinfo i in a heap state */
static void state_val(const void *ctx, size_t i, uint64_t *a, uint64_t *b)
{
	const struct heap_state *s = ctx;
	*a = s->count[i] * s->size[i];
	*b = s->count[i];
}

/* allocated: allocations, bytes of allocinfo i over the run */
static void alloc_val(const void *ctx, size_t i, uint64_t *a, uint64_t *b)
{
	const struct timeline_sites *s = ctx;
	*a = s->allocs[i];
	*b = s->allocs[i] * s->size[i];
}

/* ---- points ---------------------------------------------------------------- */

static int add_point(struct hs_report *r, const char *kind, const struct heap_state *s)
{
	if (r->npoints == MAX_POINTS)
		return -1;
	struct report_point *p = &r->points[r->npoints];
	p->kind = kind;
	p->index = s->index;
	snprintf(p->label, sizeof(p->label), "%s", s->index >= 0 ? s->label : "");
	p->time = s->seconds;
	p->state = s;
	return r->npoints++;
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

/* The state of the point that shows selector sel (read as state s): the
 * start, peak or exit point, the snapshot of the same index, else a point
 * of its own.  NULL when the points are full. */
static const struct heap_state *point_of(struct hs_report *r, const struct heap_state *s, const char *sel)
{
	const struct stats_trace *t = &r->stats;
	const struct heap_state *named = !strcmp(sel, "start") ? &t->states[0]
					 : !strcmp(sel, "peak") ? &t->states[1]
					 : !strcmp(sel, "exit") ? &t->states[2] : NULL;
	if (named)
		return named;
	for (int i = 0; i < r->npoints; i++)
		if (s->index >= 0 && r->points[i].index == s->index)
			return r->points[i].state;
	return add_point(r, "time", s) < 0 ? NULL : s;
}

static int index_of(const struct hs_report *r, const struct heap_state *s)
{
	for (int i = 0; i < r->npoints; i++)
		if (r->points[i].state == s)
			return i;
	return 0;
}

/* Read the first trace's statistics at the points: start, the snapshots
 * (thinned evenly past MAX_SNAP_POINTS), peak, exit, --from, --to, and a
 * grid when there are few.  Return 0 or -1 (d set). */
static int choose_points(struct hs_report *r, struct hs_session *s, const char *path, const struct hs_report_opts *o,
			 struct hs_diag *d)
{
	struct snap_sel sel[16];
	char grid[GRID_POINTS][32];
	int n = 0;
	const struct hs_trace *t0 = r->t[0];
	double dur = t0->info.last_ts > t0->t0 ? (double)(t0->info.last_ts - t0->t0) / 1e9 : 0;

	sel[n++].text = "start";
	sel[n++].text = "peak";
	sel[n++].text = "exit";
	sel[n++].text = o->from ? o->from : "start";
	sel[n++].text = o->to ? o->to : "exit";
	int ngrid = t0->nsnapshots + 3 < GRID_POINTS ? GRID_POINTS - 3 - (int)t0->nsnapshots : 0;
	for (int k = 0; k < ngrid && n < 16 && dur > 0; k++) {
		snprintf(grid[k], sizeof(grid[k]), "@%.6f", dur * (k + 1) / (ngrid + 1));
		sel[n++].text = grid[k];
	}
	if (stats_read(s, path, sel, n, 1, &r->stats, d))
		return -1;
	r->points = calloc(MAX_POINTS, sizeof(*r->points));
	if (!r->points)
		goto oom;
	struct stats_trace *t = &r->stats;
	add_point(r, "start", &t->states[0]);
	int ns = t->nsnaps;
	for (int k = 0; k < ns; k++) {
		/* evenly thinned: the first and the last always kept */
		if (ns > MAX_SNAP_POINTS && k != ns - 1 &&
		    (long)k * (MAX_SNAP_POINTS - 1) / (ns - 1) == (long)(k + 1) * (MAX_SNAP_POINTS - 1) / (ns - 1))
			continue;
		add_point(r, "snapshot", &t->snaps[k]);
	}
	add_point(r, "peak", &t->states[1]);
	add_point(r, "exit", &t->states[2]);
	for (int k = 5; k < n; k++)
		add_point(r, "time", &t->states[k]);
	const struct heap_state *from = point_of(r, &t->states[3], sel[3].text);
	const struct heap_state *to = point_of(r, &t->states[4], sel[4].text);
	if (!from || !to)
		goto oom;
	qsort(r->points, (size_t)r->npoints, sizeof(*r->points), by_time);
	r->peak = index_of(r, &t->states[1]);
	r->from = index_of(r, from);
	r->to = index_of(r, to);
	return 0;
oom:
	diag_set(d, "%s: out of memory", path);
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

/* One grouping at every point: the union of each point's largest keys and
 * the largest changes from A to B, with each key's value everywhere. */
static int table(struct hs_report *r, int by, struct report_table *tb)
{
	struct stats_opts so = {.by = (enum stats_by)by};
	struct strmap sm;
	struct stat_line **lines = calloc((size_t)r->npoints, sizeof(*lines));
	long *nl = calloc((size_t)r->npoints, sizeof(*nl));
	struct stat_line *dl = NULL;
	long ndl = 0;
	int rc = -1;

	memset(tb, 0, sizeof(*tb));
	if (!lines || !nl || hashmap_init(&sm.m, 256))
		goto out;
	for (int p = 0; p < r->npoints; p++) {
		nl[p] = stats_group(&r->stats, r->points[p].state, &so, &lines[p]);
		if (nl[p] < 0)
			goto out;
		for (long i = 0; i < nl[p] && i < KEYS_PER_POINT; i++)
			if (keep_key(tb, &sm, lines[p][i].key))
				goto out;
	}
	ndl = stats_diff(&r->stats, r->points[r->from].state, &r->stats, r->points[r->to].state, &so, &dl);
	if (ndl < 0)
		goto out;
	for (long i = 0; i < ndl && i < KEYS_PER_POINT; i++)
		if (keep_key(tb, &sm, dl[i].key))
			goto out;
	tb->size = calloc((size_t)tb->nkeys * (size_t)r->npoints + 1, sizeof(*tb->size));
	tb->count = calloc((size_t)tb->nkeys * (size_t)r->npoints + 1, sizeof(*tb->count));
	if (!tb->size || !tb->count)
		goto out;
	for (int p = 0; p < r->npoints; p++)
		for (long i = 0; i < nl[p]; i++) {
			int64_t k = strmap_find(&sm, tb->keys, lines[p][i].key, NULL);
			if (k >= 0) {
				tb->size[(size_t)k * (size_t)r->npoints + (size_t)p] = lines[p][i].size;
				tb->count[(size_t)k * (size_t)r->npoints + (size_t)p] = lines[p][i].count;
			}
		}
	rc = 0;
out:
	for (int p = 0; lines && nl && p < r->npoints; p++)
		stats_lines_free(lines[p], nl[p] > 0 ? nl[p] : 0);
	free(lines);
	free(nl);
	stats_lines_free(dl, ndl > 0 ? ndl : 0);
	hashmap_free(&sm.m);
	return rc;
}

/* Keep the first MAX_LINES of n stat lines (freed). */
static int take_lines(struct stat_line *l, long n, uint64_t total, int nsizes, struct report_lines *out)
{
	out->total = total;
	out->n = n < MAX_LINES ? (uint32_t)n : MAX_LINES;
	out->l = calloc(out->n + 1, sizeof(*out->l));
	if (!out->l) {
		stats_lines_free(l, n);
		return -1;
	}
	for (uint32_t i = 0; i < out->n; i++) {
		out->l[i] = (struct report_line){l[i].key, l[i].size, l[i].count, l[i].size_diff, l[i].count_diff,
						 nsizes ? l[i].sizes : NULL};
		l[i].key = NULL;
		l[i].sizes = NULL;
	}
	stats_lines_free(l, n);
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
 * possible loss records of the first trace, by stack. */
static int leaked_profile(struct hs_report *r)
{
	const struct hs_leaks *lr = &r->t[0]->leaks;
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
		rc = profile(r, &r->t[0]->priv->st, (size_t)n, stack, pair_val, vals, &r->leaked);
	}
	free(stack);
	free(vals);
	return rc;
}

/* ---- the whole report ------------------------------------------------------------ */

/* Statistics of the run over time: points, profiles, tables, lines. */
static int over_time(struct hs_report *r, struct hs_session *s, const char *path, const struct hs_report_opts *o,
		     struct hs_diag *d)
{
	struct stats_opts so = {.by = BY_LINENO};
	const struct timeline_sites *sites = &r->t[0]->priv->sites;

	if (choose_points(r, s, path, o, d))
		return -1;
	r->live = calloc((size_t)r->npoints, sizeof(*r->live));
	r->total_size = calloc((size_t)r->npoints, sizeof(*r->total_size));
	r->total_count = calloc((size_t)r->npoints, sizeof(*r->total_count));
	if (!r->live || !r->total_size || !r->total_count)
		goto oom;
	for (int p = 0; p < r->npoints; p++) {
		const struct heap_state *hs = r->points[p].state;
		if (profile(r, &r->stats.st, hs->ninfo, hs->stack, state_val, hs, &r->live[p]))
			goto oom;
		stats_total(&r->stats, hs, &so, &r->total_size[p], &r->total_count[p]);
	}
	for (int g = 0; g < REPORT_GROUPINGS; g++)
		if (table(r, g, &r->tables[g]))
			goto oom;
	/* every allocation of the run, as a heap state: one block per call */
	struct heap_state all = {.found = 1, .index = -1, .count = sites->allocs, .size = sites->size,
				 .stack = sites->stack, .ninfo = sites->cap};
	if (profile(r, &r->stats.st, sites->cap, sites->stack, alloc_val, sites, &r->allocated))
		goto oom;
	struct stat_line *l;
	long n = stats_group(&r->stats, &all, &so, &l);
	if (n < 0 || take_lines(l, n, r->t[0]->timeline.allocations, 0, &r->allocating))
		goto oom;
	/* temporary allocations of the run, as top --temporary groups them */
	const struct heap_state *tmp = &r->stats.temporary;
	if (profile(r, &r->stats.st, tmp->ninfo, tmp->stack, state_val, tmp, &r->temporary_stacks))
		goto oom;
	n = stats_group(&r->stats, tmp, &so, &l);
	if (n < 0 || take_lines(l, n, r->t[0]->info.temporary, 0, &r->temporary))
		goto oom;
	if (r->stats.nsnaps >= 3) {
		n = stats_growth(&r->stats, &so, &l);
		if (n < 0 || take_lines(l, n, 0, 1, &r->growth))
			goto oom;
	}
	r->growth_snaps = r->stats.snaps;
	r->ngrowth_snaps = r->stats.nsnaps;
	return 0;
oom:
	diag_set(d, "%s: out of memory", path);
	return -1;
}

/* --baseline OLD: the exit of OLD against B of this run, by line. */
static int baseline(struct hs_report *r, struct hs_session *s, const char *old, struct hs_diag *d)
{
	struct snap_sel sel = {"exit"};
	struct stats_opts so = {.by = BY_LINENO};
	struct stat_line *l;
	const struct heap_state *to = r->points[r->to].state;

	if (stats_read(s, old, &sel, 1, 0, &r->base, d))
		return -1;
	r->have_baseline = 1;
	long n = stats_diff(&r->base, &r->base.states[0], &r->stats, to, &so, &l);
	if (n < 0 || take_lines(l, n, 0, 0, &r->baseline)) {
		diag_set(d, "%s: out of memory", old);
		return -1;
	}
	stats_total(&r->base, &r->base.states[0], &so, &r->base_size, &r->base_count);
	stats_total(&r->stats, to, &so, &r->new_size, &r->new_count);
	snprintf(r->from_name, sizeof(r->from_name), "exit");
	snprintf(r->to_name, sizeof(r->to_name), "%s", r->points[r->to].label[0] ? r->points[r->to].label : r->points[r->to].kind);
	return 0;
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
	r->loss = calloc(MAX_LOSS, sizeof(*r->loss));
	if (!r->t || !r->loss || hashmap_init(&p->stack_ids, 1024) || hashmap_init(&p->frame_ids.m, 1024)) {
		diag_set(d, "out of memory");
		goto fail;
	}
	rc = -EINVAL;
	if (o->suppressions && hs_suppressions_load(s, &r->sup, o->suppressions, d))
		goto fail;
	want.suppressions = o->suppressions ? &r->sup : NULL;
	r->scanned = 1;
	for (int k = 0; k < npaths; k++) {
		if (!(r->t[k] = hs_trace_read(s, paths[k], &want, d)))
			goto fail;
		r->ntraces = k + 1;
		r->scanned &= r->t[k]->leaks.scanned;
	}
	if (over_time(r, s, paths[0], o, d))
		goto fail;
	for (int k = 0; k < npaths; k++)
		if (add_leaks(r, k, d))
			goto fail;
	if (leaked_profile(r)) {
		diag_set(d, "out of memory");
		goto fail;
	}
	if (o->baseline && baseline(r, s, o->baseline, d))
		goto fail;
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

void hs_report_free(struct hs_report *r)
{
	if (!r)
		return;
	struct priv *p = r->priv;

	for (int k = 0; k < r->ntraces; k++)
		hs_trace_free(r->t[k]);
	free(r->t);
	hs_suppressions_free(&r->sup);
	stats_trace_free(&r->stats);
	if (r->have_baseline)
		stats_trace_free(&r->base);
	free(r->points);
	for (uint32_t i = 0; i < r->nstacks; i++)
		free(r->stacks[i]);
	free(r->stacks);
	free(r->stack_depth);
	free(r->frames);
	for (int i = 0; r->live && i < r->npoints; i++)
		free(r->live[i].v);
	free(r->live);
	free(r->allocated.v);
	free(r->temporary_stacks.v);
	free(r->leaked.v);
	for (int g = 0; g < REPORT_GROUPINGS; g++) {
		for (uint32_t i = 0; i < r->tables[g].nkeys; i++)
			free(r->tables[g].keys[i]);
		free(r->tables[g].keys);
		free(r->tables[g].size);
		free(r->tables[g].count);
	}
	free(r->total_size);
	free(r->total_count);
	lines_free(&r->growth);
	lines_free(&r->allocating);
	lines_free(&r->temporary);
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
