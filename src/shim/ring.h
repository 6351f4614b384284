/*
 * ring.h - per-thread single-producer single-consumer event rings, kept in
 * the ring file (src/trace/ringfile.h) so that a killed process leaves them
 * readable.
 * HOOK-SAFE.
 *
 * The owning thread is the only producer; the collector thread the only
 * consumer.  Positions are free-running u64 record counts; fill is
 * tail - head, the slot of position p is p & mask.
 *
 *   producer (ring_commit)              collector (collector.c)
 *   fill slots [tail, tail+n)           LOAD-ACQUIRE tail          (C)
 *   STORE-RELEASE tail = tail+n   (B)   copy slots [pos, tail)
 *                                       write the chunk to the trace
 *   LOAD-ACQUIRE head (when full) (A)   STORE-RELEASE head = tail  (D)
 *
 * B pairs with C: the collector never reads a slot before its record is
 * complete.  D pairs with A: the producer never overwrites a slot before
 * the collector has copied it and the chunk holding it is written.
 *
 * The producer never takes a lock and never makes a system call unless its
 * ring is over half full (then it may wake the collector with one futex
 * call) or full (then it waits for the collector).
 */
#ifndef HS_SHIM_RING_H
#define HS_SHIM_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "trace/ringfile.h"
#include "util/atomic.h"
#include "util/compiler.h"

enum ring_state { RING_FREE = 0, RING_OWNED, RING_RETIRED };

/* ring.held: the head waits for the chunk (1), and the owner's retirement
 * was taken too (2): the ring is freed with it. */
enum { RING_HELD = 1, RING_HELD_RETIRED = 2 };

/* The in-process descriptor of one ring; the records live in the file. */
struct ring {
	struct ringfile_ring *hdr; /* segment header in the mapping */
	struct ring_rec *slots;	   /* hdr + RINGFILE_RING_SLOTS_OFFSET */
	uint64_t mask;		   /* capacity - 1 */
	_Atomic int state;	   /* enum ring_state */
	uint32_t slot;		   /* index in the registry, < RINGS_MAX */
	/* producer-only */
	uint64_t tail;	     /* committed position (mirror of hdr->tail) */
	uint64_t head_cache; /* last head the producer read */
	uint64_t last_ts;    /* stamp of the last record written */
	_Atomic int waiting; /* the owner sleeps on the head (ring_wait): the
			      * collector wakes it when it moves the head */
	/* owner description, written by the owner before state -> RETIRED */
	uint32_t thread_index; /* events' name of the owner */
	uint32_t tid;	       /* kernel thread id */
	uint64_t start_ns;     /* first use by this owner */
	uint64_t end_ns;       /* retirement */
	char name[16];	       /* thread name at retirement */
	/* collector-only */
	uint64_t drained;	   /* records copied out so far */
	uint32_t announced;	   /* thread index whose THREAD record is out */
	uint8_t held;		   /* RING_HELD_*: records drained into the writer's
				    * buffer at the end, not in the file yet */
	uint64_t latest;	   /* address of the owner's latest allocation while
				    * it is live, 0 if none (recent.c) */
};

/* Wait until n slots are free.  Return false if the collector is gone
 * (then the caller drops the event). */
bool ring_wait(struct ring *r, unsigned n);

/* Tell the collector its help is wanted soon (over half full). */
void ring_kick(struct ring *r);

/* Return slot i (0-based) of the next n records, reserving them first;
 * NULL when the event must be dropped. */
HS_INLINE struct ring_rec *ring_reserve(struct ring *r, unsigned n)
{
	if (HS_UNLIKELY(r->tail + n - r->head_cache > r->mask + 1)) {
		/* (A) acquire: pairs with (D); the slots below head are free */
		r->head_cache = atomic_load_acq(&r->hdr->head);
		if (r->tail + n - r->head_cache > r->mask + 1 && !ring_wait(r, n))
			return 0;
	}
	return &r->slots[r->tail & r->mask];
}

/* Return slot i of the reservation (handles the wrap). */
HS_INLINE struct ring_rec *ring_slot(struct ring *r, unsigned i)
{
	return &r->slots[(r->tail + i) & r->mask];
}

/* The stamp of a record about to be written: ts, or the ring's last one if
 * that is later.  A ring's records stay in the order of their stamps,
 * which the collector relies on, also when a stamp was taken without
 * waiting for the instructions before it (clock_event_ns), or by another
 * thread before this one (the orphan ring). */
HS_INLINE uint64_t ring_stamp(struct ring *r, uint64_t ts)
{
	if (HS_UNLIKELY(ts < r->last_ts))
		ts = r->last_ts;
	r->last_ts = ts;
	return ts;
}

/* Publish the n reserved records to the collector. */
HS_INLINE void ring_commit(struct ring *r, unsigned n)
{
	r->tail += n;
	/* (B) release: the records are complete before the collector sees
	 * the new tail; pairs with (C) in drain_ring (collector.c) */
	atomic_store_rel(&r->hdr->tail, r->tail);
	/* Kick once, when this commit crosses half full (by the last head we
	 * read): a collector that is behind is woken, not pestered per event. */
	uint64_t half = (r->mask + 1) / 2, fill = r->tail - r->head_cache;
	if (HS_UNLIKELY(fill > half && fill - n <= half))
		ring_kick(r);
}

#endif
