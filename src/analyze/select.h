/*
 * select.h - the live heap captured at moments of a trace during the one
 * pass (trace.c): at snapshot selectors (a label, an index, start, exit,
 * peak, a time @SECONDS; heapsnap(1), SEL), at every snapshot the program
 * took, and the temporary blocks of the whole run.
 *
 * A capture copies the replay's counts by allocinfo (replay.h): memory
 * follows distinct allocinfos, never events.  The peak is found in the
 * same pass: each time the live heap exceeds its largest size so far, a
 * copy is brought up to date from the replay's journal of changes since
 * the last time (or copied whole when the journal overflowed), so every
 * event is applied to the copy at most once.
 */
#ifndef HS_ANALYZE_SELECT_H
#define HS_ANALYZE_SELECT_H

#include <heapsnap-analyze.h>

#include "analyze/replay.h"
#include "trace/reader.h"

enum sel_kind { SEL_START, SEL_EXIT, SEL_PEAK, SEL_TIME, SEL_INDEX, SEL_LABEL };

/* One selector, parsed. */
struct sel {
	enum sel_kind kind;
	uint64_t at;	   /* SEL_TIME: the CLOCK_MONOTONIC ns it names */
	long index;	   /* SEL_INDEX */
	const char *text;  /* as given (SEL_LABEL: the label) */
	int found;	   /* captured */
};

/* Parse selector s of a trace that began at t0 (into out, which points
 * to s). */
void select_parse(const char *s, uint64_t t0, struct sel *out);

struct select_state {
	struct sel sel[HS_MAX_SELECT];
	int nsel;
	int snaps;		/* capture every snapshot (HS_WANT_SNAPSHOT_HEAPS) */
	int temporary;		/* count temporary blocks (HS_WANT_TEMPORARY) */
	uint64_t t0;		/* the trace's start */
	int started;		/* an event was seen */
	uint64_t last_ts;	/* of the last event, t0 before any */
	uint64_t next_time;	/* the earliest time selector not captured (UINT64_MAX: none) */
	int peak;		/* a selector is "peak" */
	uint64_t peak_seen;	/* the replay's peak when the copy was last brought up to date */
	uint64_t *peak_count;	/* the heap at the peak, by allocinfo id */
	uint64_t *peak_allocs;	/* allocations up to the peak, by allocinfo id
				 * (when the replay counts them) */
	size_t peak_cap;	/* ids it holds */
	int peak_valid;		/* it holds a peak */
	uint64_t peak_ts, peak_bytes, peak_blocks;
	/* hs_want.ntimes: heaps at every multiple of grid_dt since t0, at
	 * most 2 * ntimes of them; when full, every other one goes and
	 * grid_dt doubles, so that they stay evenly spread whatever the
	 * run's length (select_end picks ntimes of them) */
	int ntimes;
	uint64_t grid_dt, grid_next; /* ns; grid_next: the next multiple's time (UINT64_MAX: none) */
	struct hs_heap *grid;
	int ngrid;
};

/* Parse the selectors of w for trace t (t->heaps allocated here).  Return
 * 0, or -ENOMEM / -EINVAL (too many) with d set. */
int select_begin(struct select_state *st, const struct hs_want *w, struct hs_trace *t, struct replay *rp,
		 struct hs_diag *d);

/* Before the replay applies ev: the start, time and grid captures. */
int select_before_slow(struct select_state *st, struct hs_trace *t, const struct replay *rp,
		       const struct trace_event *ev);
static inline int select_before(struct select_state *st, struct hs_trace *t, const struct replay *rp,
				const struct trace_event *ev)
{
	if (__builtin_expect(st->started && ev->ts <= st->next_time && ev->ts <= st->grid_next, 1))
		return 0;
	return select_before_slow(st, t, rp, ev);
}

/* After the replay applied ev: the peak, the temporary blocks.  Return 0
 * or -ENOMEM. */
int select_after_slow(struct select_state *st, struct hs_trace *t, struct replay *rp, const struct trace_event *ev);
static inline int select_after(struct select_state *st, struct hs_trace *t, struct replay *rp,
			       const struct trace_event *ev)
{
	st->last_ts = ev->ts;
	if (__builtin_expect(!(st->peak && rp->peak_bytes != st->peak_seen) && !(st->temporary && ev->temporary), 1))
		return 0;
	return select_after_slow(st, t, rp, ev);
}

/* A SNAPSHOT item.  Return 0 or -ENOMEM. */
int select_snapshot(struct select_state *st, struct hs_trace *t, const struct replay *rp,
		    const struct trace_item *it);

/* After the last item: what the stream never reached (start of an empty
 * trace, exit of a killed one, a time past the end, the peak) is the heap
 * at the end.  Return 0, or -EINVAL with d set for a label or index that
 * matched no snapshot, or -ENOMEM. */
int select_end(struct select_state *st, struct hs_trace *t, const struct replay *rp, struct hs_diag *d);
void select_free(struct select_state *st);

/* Free what a heap holds. */
void select_heap_free(struct hs_heap *h);

#endif
