/*
 * timeline.c - the live heap over time and allocations by allocinfo.
 */
#include "analyze/timeline.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trace/format.h"

int timeline_begin(struct timeline_state *st, struct timeline_sites *sites, uint64_t t0)
{
	memset(st, 0, sizeof(*st));
	st->sites = sites;
	return series_init(&st->heap, t0, TIMELINE_WIDTH_NS, HS_SERIES_BUCKETS) ? -ENOMEM : 0;
}

void timeline_abort(struct timeline_state *st)
{
	series_free(&st->heap);
	series_free(&st->rss);
}

/* Make room for allocinfo id.  Return 0 or -ENOMEM. */
static int reserve(struct timeline_sites *s, uint32_t id)
{
	if (id < s->cap)
		return 0;
	size_t n = s->cap ? s->cap : 256;
	while (n <= id)
		n *= 2;
	uint64_t *a = realloc(s->allocs, n * sizeof(*a));
	if (!a)
		return -ENOMEM;
	s->allocs = a;
	uint64_t *z = realloc(s->size, n * sizeof(*z));
	if (!z)
		return -ENOMEM;
	s->size = z;
	uint32_t *k = realloc(s->stack, n * sizeof(*k));
	if (!k)
		return -ENOMEM;
	s->stack = k;
	memset(s->allocs + s->cap, 0, (n - s->cap) * sizeof(*a));
	memset(s->size + s->cap, 0, (n - s->cap) * sizeof(*z));
	memset(s->stack + s->cap, 0, (n - s->cap) * sizeof(*k));
	s->cap = n;
	return 0;
}

/* Count an allocation the program made: an implicit one (a block a forked
 * child inherited) is not a call. */
static int count_alloc(struct timeline_state *st, struct hs_timeline *tl, const struct trace_event *ev)
{
	if (ev->implicit || !ev->info)
		return 0;
	if (reserve(st->sites, ev->info))
		return -ENOMEM;
	st->sites->allocs[ev->info]++;
	st->sites->size[ev->info] = ev->size;
	st->sites->stack[ev->info] = ev->stack;
	tl->allocations++;
	return 0;
}

int timeline_item(struct timeline_state *st, struct hs_timeline *tl, const struct trace_item *it, uint64_t live_bytes)
{
	uint64_t ts = 0;

	switch (it->type) {
	case ITEM_EVENT: {
		enum hst_event_shape sh = hst_event_shape(it->ev.kind);
		if ((sh == HST_SHAPE_ALLOC || sh == HST_SHAPE_REALLOC) && count_alloc(st, tl, &it->ev))
			return -ENOMEM;
		series_add(&st->heap, it->ev.ts, live_bytes);
		ts = it->ev.ts;
		break;
	}
	case ITEM_SNAPSHOT:
		ts = it->snap.ts;
		break;
	case ITEM_RSS:
		/* the series begins at the first sample: before it the resident
		 * memory is unknown, not 0 */
		if (!st->rss.min) {
			if (series_init(&st->rss, it->rss.ts, TIMELINE_WIDTH_NS, HS_SERIES_BUCKETS))
				return -ENOMEM;
			st->rss.last = it->rss.bytes;
		}
		series_add(&st->rss, it->rss.ts, it->rss.bytes);
		ts = it->rss.ts;
		break;
	case ITEM_END:
		ts = it->end.ts;
		break;
	}
	if (ts > tl->end)
		tl->end = ts;
	return 0;
}

static void publish(struct series *s, struct hs_series *out)
{
	out->t0 = s->t0;
	out->width = s->width;
	out->n = s->n;
	out->min = s->min;
	out->max = s->max;
	s->min = s->max = NULL;
}

void timeline_end(struct timeline_state *st, struct hs_timeline *tl)
{
	if (tl->end < st->heap.t0)
		tl->end = st->heap.t0;
	series_close(&st->heap, tl->end);
	publish(&st->heap, &tl->heap);
	if (st->rss.min && st->rss.samples) {
		series_close(&st->rss, tl->end);
		publish(&st->rss, &tl->rss);
	}
	timeline_abort(st);
}

void timeline_free(struct hs_timeline *tl)
{
	free(tl->heap.min);
	free(tl->heap.max);
	free(tl->rss.min);
	free(tl->rss.max);
	memset(tl, 0, sizeof(*tl));
}

void timeline_sites_free(struct timeline_sites *s)
{
	free(s->allocs);
	free(s->size);
	free(s->stack);
	memset(s, 0, sizeof(*s));
}
