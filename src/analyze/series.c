/*
 * series.c - a value over time in bounded min/max buckets.
 */
#include "analyze/series.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

int series_init(struct series *s, uint64_t t0, uint64_t width, uint32_t cap)
{
	assert(width >= 1 && cap >= 2);
	memset(s, 0, sizeof(*s));
	s->t0 = t0;
	s->width = width;
	s->cap = cap & ~1u;
	s->min = calloc(s->cap, sizeof(*s->min));
	s->max = calloc(s->cap, sizeof(*s->max));
	if (!s->min || !s->max) {
		series_free(s);
		return -1;
	}
	return 0;
}

void series_free(struct series *s)
{
	free(s->min);
	free(s->max);
	s->min = s->max = NULL;
	s->n = 0;
}

/* Double the width: bucket i takes old buckets 2i and 2i+1. */
static void halve(struct series *s)
{
	uint32_t n = (s->n + 1) / 2;

	for (uint32_t i = 0; i < n; i++) {
		uint32_t a = 2 * i, b = a + 1 < s->n ? a + 1 : a;
		uint64_t lo = s->min[a] < s->min[b] ? s->min[a] : s->min[b];
		uint64_t hi = s->max[a] > s->max[b] ? s->max[a] : s->max[b];
		s->min[i] = lo;
		s->max[i] = hi;
	}
	s->n = n;
	s->width *= 2;
	s->lo = s->hi = 0; /* the buckets moved */
}

/* Make bucket b exist, every bucket before it holding the value held. */
static uint32_t reach(struct series *s, uint64_t ts)
{
	uint64_t b = (ts > s->t0 ? ts - s->t0 : 0) / s->width;

	while (b >= s->cap) {
		halve(s);
		b = (ts > s->t0 ? ts - s->t0 : 0) / s->width;
	}
	while (s->n <= b) {
		s->min[s->n] = s->max[s->n] = s->last;
		s->n++;
	}
	return (uint32_t)b;
}

int series_add_slow(struct series *s, uint64_t ts, uint64_t v)
{
	uint32_t b = reach(s, ts);

	/* a time before t0 is bucket 0 too, but only by this path */
	s->cur = b;
	s->lo = s->t0 + (uint64_t)b * s->width;
	s->hi = s->lo + s->width;

	if (v < s->min[b])
		s->min[b] = v;
	if (v > s->max[b])
		s->max[b] = v;
	s->last = v;
	s->samples++;
	return 0;
}

void series_close(struct series *s, uint64_t ts)
{
	if (s->samples)
		reach(s, ts);
}
