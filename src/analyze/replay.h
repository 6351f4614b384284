/*
 * replay.h - the live set over time: which blocks exist after each event.
 *
 * Events arrive nearly in time order (the collector merges each cycle by
 * time, but a thread preempted between stamping and committing an event
 * can land it a cycle late).  Two rules make the result exact anyway:
 *   - an allocation at an address that is still live means the old block
 *     was freed (its free is late or was lost): it is dropped first;
 *   - a free stamped before the live block at its address was allocated
 *     belongs to an earlier block, already dropped: it is ignored.
 * A realloc frees its old block at ts - free_lag and allocates at ts.
 */
#ifndef HS_ANALYZE_REPLAY_H
#define HS_ANALYZE_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "trace/reader.h"
#include "util/hashmap.h"

struct replay_block {
	uint64_t addr;	 /* start */
	uint64_t size;	 /* requested bytes */
	uint64_t ts;	 /* allocation time */
	uint32_t stack;	 /* allocation stack id */
	uint32_t thread; /* allocating thread index */
	uint8_t kind;	 /* allocating function (enum hst_event_kind) */
};

struct replay {
	struct hashmap live;	     /* addr -> index into blocks */
	struct replay_block *blocks; /* live blocks (and free slots) */
	size_t nblocks, cap;	     /* slots used / allocated */
	uint64_t *free_slots;	     /* indexes of free slots */
	size_t nfree, free_cap;
	uint64_t live_bytes, live_count;
	uint64_t peak_bytes, peak_count, peak_ts;
	uint64_t unknown_frees;	 /* frees of blocks never seen allocated */
	uint64_t stale_frees;	 /* late frees of blocks already replaced */
	uint64_t implicit_frees; /* blocks dropped because their address came back */
	int oom;		 /* out of memory: results are incomplete */
};

int replay_init(struct replay *r);
void replay_free(struct replay *r);

/* Apply one event. */
void replay_event(struct replay *r, const struct trace_event *ev);

/* The live block at addr, or NULL. */
const struct replay_block *replay_find(const struct replay *r, uint64_t addr);

/* Call fn for every live block. */
void replay_each(const struct replay *r, void (*fn)(const struct replay_block *b, void *arg), void *arg);

#endif
