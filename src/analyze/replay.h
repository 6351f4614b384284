/*
 * replay.h - the live heap over time, per allocinfo (a (size, stack) pair:
 * see src/trace/format.h).  Memory grows with distinct allocinfos, not
 * with events or live blocks.
 *
 * The collector has already put events in order and matched every free to
 * its block, so replay is counting: an allocation adds one block of its
 * allocinfo, a free removes one.
 *
 * On request replay keeps a journal of what it changed (replay_log_*), so
 * that a copy of the counts taken earlier can be brought up to date at
 * the cost of the changes since, not of a whole copy: that is how the
 * heap at its peak is captured in the one pass (select.c).
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
	uint64_t *allocs; /* blocks allocated so far, by allocinfo id; NULL
			   * unless replay_count_allocs asked for it */
	size_t cap;	  /* ids the arrays hold */
	uint64_t live_bytes, live_count;
	uint64_t peak_bytes, peak_count, peak_ts;
	uint64_t unknown_frees; /* frees of blocks the trace never saw allocated */
	int oom;		/* out of memory: results are incomplete */
	int64_t *log;		/* journal: +id a block added, -id one removed */
	size_t nlog, caplog;	/* entries, room */
	int logging;		/* journal on (and not overflowed) */
	int log_lost;		/* the journal overflowed since replay_log_reset */
};

int replay_init(struct replay *r);
void replay_free(struct replay *r);

/* Count the blocks allocated by allocinfo too (r->allocs), from now on:
 * call before the first event.  Return 0 or -ENOMEM. */
int replay_count_allocs(struct replay *r);

/* Apply one event. */
void replay_event(struct replay *r, const struct trace_event *ev);

/* Make sure the tables know allocinfo id's size and stack (a block the
 * replay never saw allocated).  Return 0 or -ENOMEM. */
int replay_learn(struct replay *r, uint32_t id, uint64_t size, uint32_t stack);

/* Keep a journal of the changes from now on, at most max entries (past
 * that it stops and says so: log_lost).  Return 0 or -ENOMEM. */
int replay_log_start(struct replay *r, size_t max);
/* Empty the journal (the changes were applied elsewhere). */
void replay_log_reset(struct replay *r);
/* Apply the journal to counts (by allocinfo id, ncounts ids; ids past it
 * are not there).  Only when !log_lost. */
void replay_log_apply(const struct replay *r, uint64_t *counts, size_t ncounts);
/* The same for allocations (r->allocs): every block added counts. */
void replay_log_apply_allocs(const struct replay *r, uint64_t *allocs, size_t nallocs);

#endif
