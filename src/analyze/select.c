/*
 * select.c - heaps captured at selectors, snapshots, the peak.
 */
#define _GNU_SOURCE
#include "analyze/select.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace/format.h"
#include "util/diag.h"

#define LOG_MIN 65536 /* journal entries at least, before a peak copy is taken whole */
#define GRID_DT0 100000ull /* ns: the first spacing of the heaps at evenly spread times */

void select_parse(const char *s, uint64_t t0, struct sel *out)
{
	char *end;
	double seconds;

	memset(out, 0, sizeof(*out));
	out->text = s;
	if (!strcmp(s, "start"))
		out->kind = SEL_START;
	else if (!strcmp(s, "exit"))
		out->kind = SEL_EXIT;
	else if (!strcmp(s, "peak"))
		out->kind = SEL_PEAK;
	else if (s[0] == '@' && (seconds = strtod(s + 1, &end)) >= 0 && end != s + 1 && (!*end || !strcmp(end, "s"))) {
		out->kind = SEL_TIME;
		out->at = t0 + (uint64_t)(seconds * 1e9);
	} else if ((out->index = strtol(s, &end, 10)) >= 0 && *s && !*end)
		out->kind = SEL_INDEX;
	else
		out->kind = SEL_LABEL;
}

void select_heap_free(struct hs_heap *h)
{
	free(h->count);
	free(h->allocs);
	h->count = NULL;
	h->allocs = NULL;
	h->ninfo = 0;
}

/* Return a copy of n counts (n may be 0), or NULL when out of memory. */
static uint64_t *copy_counts(const uint64_t *src, size_t n)
{
	uint64_t *c = malloc((n ? n : 1) * sizeof(*c));

	if (c && n)
		memcpy(c, src, n * sizeof(*c));
	return c;
}

/* Copy the replay's live heap into h, at time ts, and the allocations so
 * far when the replay counts them.  Return 0 or -ENOMEM. */
static int capture(struct hs_heap *h, const struct replay *rp, uint64_t ts, uint64_t t0)
{
	uint64_t *c = copy_counts(rp->count, rp->cap);
	uint64_t *a = rp->allocs ? copy_counts(rp->allocs, rp->cap) : NULL;

	if (!c || (rp->allocs && !a)) {
		free(c);
		free(a);
		return -ENOMEM;
	}
	free(h->count);
	free(h->allocs);
	h->count = c;
	h->allocs = a;
	h->ninfo = rp->cap;
	h->ts = ts;
	h->seconds = ts > t0 ? (double)(ts - t0) / 1e9 : 0;
	h->bytes = rp->live_bytes;
	h->blocks = rp->live_count;
	return 0;
}

/* The earliest time selector not yet captured. */
static uint64_t next_time(const struct select_state *st)
{
	uint64_t next = UINT64_MAX;

	for (int i = 0; i < st->nsel; i++)
		if (st->sel[i].kind == SEL_TIME && !st->sel[i].found && st->sel[i].at < next)
			next = st->sel[i].at;
	return next;
}

int select_begin(struct select_state *st, const struct hs_want *w, struct hs_trace *t, struct replay *rp,
		 struct hs_diag *d)
{
	memset(st, 0, sizeof(*st));
	st->t0 = st->last_ts = t->t0;
	st->snaps = (w->flags & HS_WANT_SNAPSHOT_HEAPS) != 0;
	st->temporary = (w->flags & HS_WANT_TEMPORARY) != 0;
	if (w->nselect > HS_MAX_SELECT) {
		diag_set(d, "%s: more than %d snapshot selectors", t->path, HS_MAX_SELECT);
		return -EINVAL;
	}
	if (w->ntimes < 0 || w->ntimes > HS_MAX_SELECT) {
		diag_set(d, "%s: more than %d evenly spread heaps", t->path, HS_MAX_SELECT);
		return -EINVAL;
	}
	st->ntimes = w->ntimes;
	st->grid_dt = GRID_DT0;
	st->grid_next = st->ntimes ? t->t0 + st->grid_dt : UINT64_MAX;
	if (st->ntimes && !(st->grid = calloc(2 * (size_t)st->ntimes, sizeof(*st->grid)))) {
		diag_set(d, "%s: out of memory", t->path);
		return -ENOMEM;
	}
	st->nsel = w->nselect;
	if (st->nsel && !(t->heaps = calloc((size_t)st->nsel, sizeof(*t->heaps)))) {
		diag_set(d, "%s: out of memory", t->path);
		return -ENOMEM;
	}
	t->nheaps = st->nsel;
	for (int i = 0; i < st->nsel; i++) {
		select_parse(w->select[i], t->t0, &st->sel[i]);
		t->heaps[i].index = -1;
		snprintf(t->heaps[i].label, sizeof(t->heaps[i].label), "%s", w->select[i]);
		st->peak |= st->sel[i].kind == SEL_PEAK;
	}
	st->next_time = next_time(st);
	if (st->temporary) {
		t->temporary.index = -1;
		snprintf(t->temporary.label, sizeof(t->temporary.label), "temporary");
	}
	/* the journal lets the peak's copy follow the replay at the cost of
	 * the changes: a whole copy only after LOG_MIN changes or more */
	if (st->peak && replay_log_start(rp, LOG_MIN)) {
		diag_set(d, "%s: out of memory", t->path);
		return -ENOMEM;
	}
	st->peak_seen = rp->peak_bytes;
	return 0;
}

/* Capture the heap at grid_next, the next multiple of grid_dt; when the
 * grid is full, keep every other heap and double grid_dt.  Return 0 or
 * -ENOMEM. */
static int grid_capture(struct select_state *st, const struct replay *rp)
{
	struct hs_heap *h = &st->grid[st->ngrid];

	memset(h, 0, sizeof(*h));
	h->index = -1;
	if (capture(h, rp, st->grid_next, st->t0))
		return -ENOMEM;
	snprintf(h->label, sizeof(h->label), "@%.6fs", h->seconds);
	if (++st->ngrid == 2 * st->ntimes) {
		/* heap i is at (i + 1) * grid_dt: the odd i are the multiples
		 * of 2 * grid_dt */
		for (int i = 0; i < st->ngrid; i++)
			if (i % 2 == 0)
				select_heap_free(&st->grid[i]);
			else
				st->grid[i / 2] = st->grid[i];
		st->ngrid /= 2;
		st->grid_dt *= 2;
	}
	/* a damaged trace's time far in the future ends the grid rather than
	 * wrapping it around (UINT64_MAX: no event is past it) */
	uint64_t k = (uint64_t)st->ngrid + 1;
	st->grid_next = st->grid_dt <= (UINT64_MAX - 1 - st->t0) / k ? st->t0 + k * st->grid_dt : UINT64_MAX;
	return 0;
}

/* After the last event: move ntimes of the grid's heaps, the nearest to
 * evenly spread times of the run, to t->time_heaps.  Return 0 or -ENOMEM. */
static int grid_pick(struct select_state *st, struct hs_trace *t)
{
	int n = st->ngrid < st->ntimes ? st->ngrid : st->ntimes, prev = -1;
	uint64_t span = st->last_ts > st->t0 ? st->last_ts - st->t0 : 0;

	if (!n)
		return 0;
	if (!(t->time_heaps = calloc((size_t)n, sizeof(*t->time_heaps))))
		return -ENOMEM;
	for (int j = 0; j < n; j++) {
		uint64_t at = span / (uint64_t)(n + 1) * (uint64_t)(j + 1);
		uint64_t q = at / st->grid_dt + (at % st->grid_dt >= st->grid_dt / 2);
		int64_t i = q < (uint64_t)st->ngrid ? (int64_t)q - 1 : st->ngrid - 1;
		/* in order, and room left for the ones after */
		if (i < prev + 1)
			i = prev + 1;
		if (i > st->ngrid - (n - j))
			i = st->ngrid - (n - j);
		t->time_heaps[j] = st->grid[i];
		memset(&st->grid[i], 0, sizeof(st->grid[i]));
		prev = (int)i;
	}
	t->ntime_heaps = n;
	return 0;
}

int select_before_slow(struct select_state *st, struct hs_trace *t, const struct replay *rp,
		       const struct trace_event *ev)
{
	while (ev->ts > st->grid_next)
		if (grid_capture(st, rp))
			return -ENOMEM;
	for (int i = 0; i < st->nsel; i++) {
		struct sel *s = &st->sel[i];
		if (s->found)
			continue;
		if (s->kind == SEL_START && !st->started) {
			if (capture(&t->heaps[i], rp, st->t0, st->t0))
				return -ENOMEM;
			s->found = 1;
		} else if (s->kind == SEL_TIME && ev->ts > s->at) {
			if (capture(&t->heaps[i], rp, s->at, st->t0))
				return -ENOMEM;
			s->found = 1;
		}
	}
	st->started = 1;
	st->next_time = next_time(st);
	return 0;
}

/* Bring the peak's copy up to date with the replay, which has just
 * exceeded its largest size. */
static int peak_sync(struct select_state *st, struct replay *rp, uint64_t ts)
{
	if (st->peak_cap < rp->cap) {
		uint64_t *c = realloc(st->peak_count, rp->cap * sizeof(*c));
		if (!c)
			return -ENOMEM;
		memset(c + st->peak_cap, 0, (rp->cap - st->peak_cap) * sizeof(*c));
		st->peak_count = c;
		if (rp->allocs) {
			uint64_t *a = realloc(st->peak_allocs, rp->cap * sizeof(*a));
			if (!a)
				return -ENOMEM;
			memset(a + st->peak_cap, 0, (rp->cap - st->peak_cap) * sizeof(*a));
			st->peak_allocs = a;
		}
		st->peak_cap = rp->cap;
	}
	if (!st->peak_valid || rp->log_lost) {
		/* the journal overflowed: copy whole, and let it grow with the
		 * allocinfos so that whole copies stay rarer than changes */
		memcpy(st->peak_count, rp->count, rp->cap * sizeof(*rp->count));
		if (rp->allocs)
			memcpy(st->peak_allocs, rp->allocs, rp->cap * sizeof(*rp->allocs));
		if (rp->caplog < rp->cap && replay_log_start(rp, rp->cap))
			return -ENOMEM;
	} else {
		replay_log_apply(rp, st->peak_count, st->peak_cap);
		if (rp->allocs)
			replay_log_apply_allocs(rp, st->peak_allocs, st->peak_cap);
	}
	replay_log_reset(rp);
	st->peak_valid = 1;
	st->peak_ts = ts;
	st->peak_bytes = rp->peak_bytes;
	st->peak_blocks = rp->peak_count;
	st->peak_seen = rp->peak_bytes;
	return 0;
}

/* Count one temporary block of allocinfo id in t->temporary. */
static int count_temporary(struct hs_trace *t, struct replay *rp, uint32_t id, uint64_t size, uint32_t stack)
{
	struct hs_heap *h = &t->temporary;

	if (!id)
		return 0;
	if (id >= h->ninfo) {
		uint64_t n = h->ninfo ? h->ninfo : 256;
		while (n <= id)
			n *= 2;
		uint64_t *c = realloc(h->count, n * sizeof(*c));
		if (!c)
			return -ENOMEM;
		memset(c + h->ninfo, 0, (n - h->ninfo) * sizeof(*c));
		h->count = c;
		h->ninfo = n;
	}
	h->count[id]++;
	h->blocks++;
	h->bytes += size;
	/* its size and stack for the statistics, if the replay never saw it allocated */
	return replay_learn(rp, id, size, stack);
}

int select_after_slow(struct select_state *st, struct hs_trace *t, struct replay *rp, const struct trace_event *ev)
{
	if (st->peak && rp->peak_bytes != st->peak_seen && peak_sync(st, rp, ev->ts))
		return -ENOMEM;
	/* the freed block: a realloc's old one, a free's only one */
	if (st->temporary && ev->temporary && !ev->implicit) {
		int rc = hst_event_shape(ev->kind) == HST_SHAPE_REALLOC
				 ? count_temporary(t, rp, ev->old_info, ev->old_size, ev->old_stack)
				 : count_temporary(t, rp, ev->info, ev->size, ev->stack);
		if (rc)
			return rc;
	}
	return 0;
}

/* Set heap h's name from a SNAPSHOT item. */
static void name_heap(struct hs_heap *h, const struct trace_item *it)
{
	h->index = (int)it->snap.index;
	snprintf(h->label, sizeof(h->label), "%.*s", (int)it->snap.label.n, it->snap.label.p);
}

int select_snapshot(struct select_state *st, struct hs_trace *t, const struct replay *rp,
		    const struct trace_item *it)
{
	for (int i = 0; i < st->nsel; i++) {
		struct sel *s = &st->sel[i];
		int hit = (s->kind == SEL_INDEX && (long)it->snap.index == s->index) ||
			  (s->kind == SEL_LABEL && it->snap.label.n == strlen(s->text) &&
			   !memcmp(it->snap.label.p, s->text, it->snap.label.n)) ||
			  (s->kind == SEL_EXIT && it->snap.trigger == HST_SNAP_EXIT);
		if (!hit || s->found)
			continue;
		if (capture(&t->heaps[i], rp, it->snap.ts, st->t0))
			return -ENOMEM;
		name_heap(&t->heaps[i], it);
		s->found = 1;
	}
	/* --growth looks at the run's own snapshots, not the one taken as
	 * the process tears itself down */
	if (st->snaps && it->snap.trigger != HST_SNAP_EXIT) {
		struct hs_heap *h = realloc(t->snapshot_heaps, (size_t)(t->nsnapshot_heaps + 1) * sizeof(*h));
		if (!h)
			return -ENOMEM;
		t->snapshot_heaps = h;
		h = &h[t->nsnapshot_heaps];
		memset(h, 0, sizeof(*h));
		if (capture(h, rp, it->snap.ts, st->t0))
			return -ENOMEM;
		name_heap(h, it);
		t->nsnapshot_heaps++;
	}
	return 0;
}

int select_end(struct select_state *st, struct hs_trace *t, const struct replay *rp, struct hs_diag *d)
{
	for (int i = 0; i < st->nsel; i++) {
		struct sel *s = &st->sel[i];
		struct hs_heap *h = &t->heaps[i];
		if (s->found)
			continue;
		if (s->kind == SEL_PEAK && st->peak_valid) {
			if (!(h->count = copy_counts(st->peak_count, st->peak_cap)))
				goto oom;
			if (st->peak_allocs && !(h->allocs = copy_counts(st->peak_allocs, st->peak_cap)))
				goto oom;
			h->ninfo = st->peak_cap;
			h->ts = st->peak_ts;
			h->seconds = st->peak_ts > st->t0 ? (double)(st->peak_ts - st->t0) / 1e9 : 0;
			h->bytes = st->peak_bytes;
			h->blocks = st->peak_blocks;
		} else if (s->kind == SEL_START || s->kind == SEL_EXIT || s->kind == SEL_TIME || s->kind == SEL_PEAK) {
			/* exit of a trace with no exit snapshot (killed, exec'ed):
			 * the heap after its last event */
			uint64_t ts = s->kind == SEL_START ? st->t0 : s->kind == SEL_TIME ? s->at : st->last_ts;
			if (capture(h, rp, ts, st->t0))
				goto oom;
		} else {
			diag_set(d, "%s: no snapshot %s '%s' in this trace (heapsnap info lists them)", t->path,
				 s->kind == SEL_INDEX ? "with index" : "labelled", s->text);
			return -EINVAL;
		}
		s->found = 1;
	}
	if (grid_pick(st, t))
		goto oom;
	return 0;
oom:
	diag_set(d, "%s: out of memory", t->path);
	return -ENOMEM;
}

void select_free(struct select_state *st)
{
	for (int i = 0; i < st->ngrid; i++)
		select_heap_free(&st->grid[i]);
	free(st->grid);
	st->grid = NULL;
	st->ngrid = 0;
	free(st->peak_count);
	free(st->peak_allocs);
	st->peak_count = NULL;
	st->peak_allocs = NULL;
	st->peak_cap = 0;
}
