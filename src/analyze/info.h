/*
 * info.h - the counting behind `heapsnap info` (struct hs_info), fed item
 * by item from the one pass over a trace (trace.c): event counts by kind
 * and thread, distinct stacks and modules, the last pointer scan's
 * figures.  The live heap and its peak come from the pass's replay.
 */
#ifndef HS_ANALYZE_INFO_H
#define HS_ANALYZE_INFO_H

#include <heapsnap-analyze.h>

#include "analyze/replay.h"
#include "trace/reader.h"
#include "util/hashmap.h"

/* What the counting needs while the pass runs. */
struct info_state {
	struct hashmap threads;	/* thread index + 1 -> position in hs_info.threads */
	struct hashmap stacks;	/* stack ids seen */
	struct hashmap modules;	/* hash of (path, load bias) seen */
	uint32_t last_thread;	/* thread index of the last event (a run of one thread's events is common) */
	size_t last_pos;	/* its position in hs_info.threads */
	uint64_t scan_start;	/* time of the last SCAN record */
};

/* Start counting into in (zeroed by the caller).  Return 0 or -ENOMEM. */
int info_begin(struct info_state *st, struct hs_info *in);
/* Count one item of the trace (any type; those info does not count are ignored). */
void info_item(struct info_state *st, struct hs_info *in, const struct trace_item *it);
/* Finish after the last item: the reader's byte counts, the file size, the
 * live heap and peak of the replay rp.  Frees st. */
void info_end(struct info_state *st, struct hs_info *in, struct trace_reader *r, const char *path,
	      const struct replay *rp);
/* Free st without finishing (an error ended the pass). */
void info_abort(struct info_state *st);
/* Free what in holds. */
void info_free(struct hs_info *in);

#endif
