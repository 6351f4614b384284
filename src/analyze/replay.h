/*
 * replay.h - the live heap over time, per allocinfo (a (size, stack) pair:
 * see src/trace/format.h).  Memory grows with distinct allocinfos, not
 * with events or live blocks.
 *
 * The collector has already put events in order and matched every free to
 * its block, so replay is counting: an allocation adds one block of its
 * allocinfo, a free removes one.
 */
#ifndef HS_ANALYZE_REPLAY_H
#define HS_ANALYZE_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "trace/reader.h"

struct replay {
	uint64_t *count;  /* live blocks, by allocinfo id */
	uint64_t *size;	  /* bytes per block, by allocinfo id */
	uint32_t *stack;  /* stack id, by allocinfo id */
	size_t cap;	  /* ids the arrays hold */
	uint64_t live_bytes, live_count;
	uint64_t peak_bytes, peak_count, peak_ts;
	uint64_t unknown_frees; /* frees of blocks the trace never saw allocated */
	int oom;		/* out of memory: results are incomplete */
};

int replay_init(struct replay *r);
void replay_free(struct replay *r);

/* Apply one event. */
void replay_event(struct replay *r, const struct trace_event *ev);

#endif
