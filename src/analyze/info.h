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
/* Count one item of the trace other than an event (those info does not
 * count are ignored). */
void info_item(struct info_state *st, struct hs_info *in, const struct trace_item *it);

/* The thread of index, added when new; NULL when out of memory.  The
 * usual case, the thread of the event before, is inline. */
struct hs_thread *info_thread_lookup(struct info_state *st, struct hs_info *in, uint32_t index);
static inline struct hs_thread *info_thread(struct info_state *st, struct hs_info *in, uint32_t index)
{
	/* last_thread starts as UINT32_MAX, which a damaged trace can name
	 * before any thread was added: the table must exist too */
	if (__builtin_expect(index == st->last_thread && in->threads != NULL, 1))
		return &in->threads[st->last_pos];
	return info_thread_lookup(st, in, index);
}

/* Count one event (the pass calls this for every one: kept inline). */
static inline void info_event(struct info_state *st, struct hs_info *in, const struct trace_event *ev)
{
	struct hs_thread *t;

	if (ev->implicit)
		return;
	if (ev->kind < HS_EVENT_KINDS)
		in->events[ev->kind]++;
	in->total_events++;
	in->temporary += ev->temporary;
	if (!in->first_ts || ev->ts < in->first_ts)
		in->first_ts = ev->ts;
	if (ev->ts > in->last_ts)
		in->last_ts = ev->ts;
	if (ev->thread && (t = info_thread(st, in, ev->thread)))
		t->events++;
}
/* Finish after the last item: the reader's byte counts, the file size, the
 * live heap and peak of the replay rp.  Frees st. */
void info_end(struct info_state *st, struct hs_info *in, struct trace_reader *r, const char *path,
	      const struct replay *rp);
/* Free st without finishing (an error ended the pass). */
void info_abort(struct info_state *st);
/* Free what in holds. */
void info_free(struct hs_info *in);

#endif
