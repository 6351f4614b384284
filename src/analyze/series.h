/*
 * series.h - a value over time (the live heap, the resident memory) kept
 * in a bounded number of buckets, each with the minimum and maximum the
 * value took in it, so that downsampling never loses a peak.
 *
 * The value is a step function: it holds between samples, so a bucket
 * without samples takes the value that held when it began, and a bucket's
 * range includes the value it began with.  When a sample falls past the
 * last bucket, the width doubles and pairs of buckets merge (the minimum
 * of the two minimums, the maximum of the maximums): memory stays at
 * max_buckets whatever the length of the run, and the width is the
 * smallest power-of-two multiple of the initial width that covers it.
 */
#ifndef HS_ANALYZE_SERIES_H
#define HS_ANALYZE_SERIES_H

#include <stdint.h>

struct series {
	uint64_t t0;	   /* ns: where bucket 0 begins */
	uint64_t width;	   /* ns per bucket */
	uint32_t cap;	   /* buckets at most (even) */
	uint32_t n;	   /* buckets in use: 0 .. n-1 */
	uint64_t *min;	   /* by bucket */
	uint64_t *max;	   /* by bucket */
	uint64_t last;	   /* the value now (after the last sample) */
	uint64_t samples;  /* samples added */
	uint64_t lo, hi;   /* ns: the last sample's bucket is [lo, hi) (both 0: none); a
			    * sample there needs no division (nearly every event) */
	uint32_t cur;	   /* that bucket */
};

/* Start an empty series from t0 with buckets of width ns (>= 1), at most
 * cap (>= 2, rounded down to even).  Return 0 or -1 (out of memory). */
int series_init(struct series *s, uint64_t t0, uint64_t width, uint32_t cap);
void series_free(struct series *s);

/* The value becomes v at time ts (ns; a time before t0 counts as t0,
 * times must not go backwards).  Return 0.  In the last sample's bucket
 * (the usual case) inline, elsewhere series_add_slow. */
int series_add_slow(struct series *s, uint64_t ts, uint64_t v);
static inline int series_add(struct series *s, uint64_t ts, uint64_t v)
{
	if (__builtin_expect(ts >= s->lo && ts < s->hi, 1)) {
		if (v < s->min[s->cur])
			s->min[s->cur] = v;
		if (v > s->max[s->cur])
			s->max[s->cur] = v;
		s->last = v;
		s->samples++;
		return 0;
	}
	return series_add_slow(s, ts, v);
}

/* Extend the last value to time ts (the end of the run). */
void series_close(struct series *s, uint64_t ts);

#endif
