/*
 * event.h - build ring records and push them for the calling thread.
 * HOOK-SAFE.
 */
#ifndef HS_SHIM_EVENT_H
#define HS_SHIM_EVENT_H

#include "shim/collector.h"
#include "shim/ring.h"
#include "shim/rings.h"
#include "shim/tls.h"
#include "util/assert.h"

/* Push n (1 or 2) records for thread t: into its ring, or the orphan ring
 * when it has none.  in_ring marks the write so that a signal handler that
 * allocates meanwhile does not write into the same slots. */
HS_INLINE void event_push(struct tls_state *t, const struct ring_rec *recs, unsigned n)
{
	struct ring *r = t->ring;

	/* inside the shim (the guard held), and not inside another ring
	 * write of this thread: hook_nested_records refuses those */
	HS_ASSERT(t->depth > 0 && !t->in_ring && (n == 1 || n == 2));
	t->in_ring = 1;
	if (HS_LIKELY(r != 0)) {
		if (HS_LIKELY(ring_reserve(r, n) != 0)) {
			/* a realloc's two records share their stamp */
			HS_ASSERT(n == 1 || recs[1].ts == recs[0].ts);
			uint64_t ts = ring_stamp(r, recs[0].ts);
			struct ring_rec *s = ring_slot(r, 0);
			*s = recs[0];
			s->ts = ts;
			if (n == 2) {
				s = ring_slot(r, 1);
				*s = recs[1];
				s->ts = ts;
			}
			ring_commit(r, n);
		} else {
			collector_count_drop();
		}
	} else if (rings_orphan_push(recs, n)) {
		collector_count_drop();
	}
	t->in_ring = 0;
}

/* Push one record: event_push's way, the record written straight into its
 * slot (not built on the stack and copied). */
HS_INLINE void event_one(struct tls_state *t, uint8_t kind, uint64_t ts, const void *addr,
			 uint64_t size, uint32_t stack)
{
	struct ring *r = t->ring;

	HS_ASSERT(t->depth > 0 && !t->in_ring);
	t->in_ring = 1;
	if (HS_LIKELY(r != 0)) {
		struct ring_rec *s = ring_reserve(r, 1);
		if (HS_LIKELY(s != 0)) {
			*s = ring_rec_make(ring_stamp(r, ts), (uint64_t)(uintptr_t)addr, kind, 0, size, stack);
			ring_commit(r, 1);
		} else {
			collector_count_drop();
		}
	} else {
		struct ring_rec rec = ring_rec_make(ts, (uint64_t)(uintptr_t)addr, kind, 0, size, stack);
		if (rings_orphan_push(&rec, 1))
			collector_count_drop();
	}
	t->in_ring = 0;
}

#endif
