/*
 * timeline.h - memory over time (struct hs_timeline), fed event by event
 * from the one pass over a trace (trace.c): the live heap after every
 * event as a bounded min/max series (series.h), and how many allocations
 * each allocinfo (a size and stack pair, format.h) made over the run.
 * Memory follows distinct allocinfos, never events.
 */
#ifndef HS_ANALYZE_TIMELINE_H
#define HS_ANALYZE_TIMELINE_H

#include <heapsnap-analyze.h>

#include "analyze/series.h"
#include "trace/reader.h"

#define TIMELINE_WIDTH_NS 100000u /* the finest bucket: the events' tick */

/* Allocations by allocinfo over the whole run, for the statistics. */
struct timeline_sites {
	uint64_t *allocs;	/* by allocinfo id: allocations the program made */
	uint64_t *size;		/* by allocinfo id: bytes of each */
	uint32_t *stack;	/* by allocinfo id: stack id */
	size_t cap;		/* ids the arrays hold */
};

struct timeline_state {
	struct series heap;	/* while the pass runs */
	struct series rss;	/* RSS records, when the trace has them */
	struct timeline_sites *sites;
};

/* Start at t0 (the trace's start).  Return 0 or -ENOMEM. */
int timeline_begin(struct timeline_state *st, struct timeline_sites *sites, uint64_t t0);
/* One item; live_bytes is the heap after it (the pass's replay).  Return 0
 * or -ENOMEM. */
int timeline_item(struct timeline_state *st, struct hs_timeline *tl, const struct trace_item *it, uint64_t live_bytes);
/* After the last item: the series into tl.  Frees st. */
void timeline_end(struct timeline_state *st, struct hs_timeline *tl);
void timeline_abort(struct timeline_state *st);
void timeline_free(struct hs_timeline *tl);
void timeline_sites_free(struct timeline_sites *s);

#endif
