/*
 * rings.c - ring registry, ring reuse and the orphan ring.
 * HOOK-SAFE.
 */
#define _GNU_SOURCE
#include "shim/rings.h"

#include <string.h>
#include <sys/mman.h>

#include "shim/clock.h"
#include "shim/collector.h"
#include "shim/ringfile.h"
#include "shim/spin.h"
#include "trace/format.h"
#include "util/hooksafe.h"

static struct ring ring_table[RINGS_MAX];
static _Atomic uint32_t ring_count;
static struct spin registry_lock; /* serializes ring creation */
static uint32_t ring_records = 65536;

static struct ring *orphan;	/* shared ring, NULL until first needed */
static struct spin orphan_lock; /* producers of the orphan ring */

void rings_configure(uint32_t records)
{
	ring_records = records;
}

uint32_t rings_count(void)
{
	/* acquire: pairs with the release in new_ring; ring i is complete */
	return atomic_load_acq(&ring_count);
}

struct ring *rings_get(uint32_t i)
{
	HS_ASSERT(i < RINGS_MAX && i < rings_count());
	return &ring_table[i];
}

/* Make a ring in a new segment.  Caller holds registry_lock. */
static struct ring *new_ring(void)
{
	uint32_t i = atomic_load_rlx(&ring_count); /* relaxed: writers hold the lock */

	HS_ASSERT(spin_holding(&registry_lock));
	if (i >= RINGS_MAX)
		return NULL;
	size_t bytes = RINGFILE_RING_SLOTS_OFFSET + (size_t)ring_records * sizeof(struct ring_rec);
	struct ringfile_ring *hdr = ringfile_map(RINGFILE_SEG_RING, bytes);
	if (!hdr)
		return NULL;
	hdr->ring_id = i;
	hdr->capacity = ring_records;
	struct ring *r = &ring_table[i];
	memset(r, 0, sizeof(*r));
	r->hdr = hdr;
	r->slots = (struct ring_rec *)((char *)hdr + RINGFILE_RING_SLOTS_OFFSET);
	r->mask = ring_records - 1;
	r->slot = i;
	/* relaxed: the ring is published by the ring_count store below */
	atomic_store_rlx(&r->state, RING_OWNED);
	/* release: the collector sees a complete ring i */
	atomic_store_rel(&ring_count, i + 1);
	return r;
}

/* Claim a free ring left by an exited thread, or NULL. */
static struct ring *reuse_ring(void)
{
	uint32_t n = rings_count();

	for (uint32_t i = 0; i < n; i++) {
		struct ring *r = &ring_table[i];
		int expect = RING_FREE;
		if (r != orphan && atomic_cas_acq_rel(&r->state, &expect, RING_OWNED))
			return r;
	}
	return NULL;
}

struct ring *rings_acquire(uint32_t thread_index, uint32_t tid, uint64_t now_ns)
{
	/* before any event of this thread, ring or not (clock.h) */
	clock_thread_starts();
	struct ring *r = reuse_ring();

	if (!r) {
		spin_lock(&registry_lock);
		r = new_ring();
		spin_unlock(&registry_lock);
		if (!r)
			return NULL;
	}
	/* A reused ring is empty: the collector frees a ring only after its
	 * last records are in a written chunk (head == tail). */
	r->tail = atomic_load_rlx(&r->hdr->tail); /* relaxed: we own the tail */
	r->head_cache = atomic_load_acq(&r->hdr->head); /* acquire: pairs with (D) */
	r->thread_index = thread_index;
	r->tid = tid;
	r->start_ns = now_ns;
	r->end_ns = 0;
	r->name[0] = 0;
	r->hdr->thread_index = thread_index;
	r->hdr->tid = tid;
	return r;
}

void rings_retire(struct ring *r, uint64_t now_ns)
{
	r->end_ns = now_ns;
	/* release: the owner's last records, end time and name are visible to
	 * the collector once it sees RETIRED */
	atomic_store_rel(&r->state, RING_RETIRED);
	collector_wake();
}

int rings_orphan_push(const struct ring_rec *recs, unsigned n)
{
	int rc = -1;

	spin_lock(&orphan_lock);
	if (!orphan) {
		spin_lock(&registry_lock);
		orphan = new_ring();
		spin_unlock(&registry_lock);
		if (orphan)
			orphan->thread_index = 0; /* events of exited threads */
	}
	if (orphan) {
		struct ring_rec *slot = ring_reserve(orphan, n);
		if (slot) {
			/* n is 1, or a realloc's two records with one stamp */
			uint64_t ts = ring_stamp(orphan, recs[0].ts);
			for (unsigned i = 0; i < n; i++) {
				*ring_slot(orphan, i) = recs[i];
				ring_slot(orphan, i)->ts = ts;
			}
			ring_commit(orphan, n);
			rc = 0;
		}
	}
	spin_unlock(&orphan_lock);
	return rc;
}

void rings_forget(void)
{
	uint32_t n = rings_count();

	for (uint32_t i = 0; i < n; i++) {
		struct ring *r = &ring_table[i];
		munmap(r->hdr, RINGFILE_RING_SLOTS_OFFSET + (r->mask + 1) * sizeof(struct ring_rec));
		memset(r, 0, sizeof(*r));
	}
	orphan = NULL;
	clock_forget_threads();
	spin_reset(&registry_lock);
	spin_reset(&orphan_lock);
	/* relaxed: the forked child has one thread */
	atomic_store_rlx(&ring_count, 0);
}

void rings_lock(void)
{
	spin_lock(&orphan_lock);
	spin_lock(&registry_lock);
}

void rings_unlock(void)
{
	spin_unlock(&registry_lock);
	spin_unlock(&orphan_lock);
}

/*
 * A full ring waits for the collector's cycle to end (it moves the head
 * once the chunk is written): a few milliseconds, longer behind a purge.
 * The owner used to spin on sched_yield 64 times, then sleep 200 us at a
 * time: on a busy machine each yield gave its CPU away for a time slice,
 * and an idle one woke late.  Now, after a few yields (the head may be
 * about to move), it sleeps on the head itself, and the collector wakes
 * it when it moves the head (release_held); the sleep's timeout (1 ms)
 * only bounds it should the collector stop meanwhile.  churn under strace
 * -f (busy machine): the program thread's sched_yield 44-397 and
 * clock_nanosleep 31-1,774 a run -> 70-75 yields, 7-25 futex waits.
 */
#define WAIT_SPINS 8

bool ring_wait(struct ring *r, unsigned n)
{
	bool room = false;

	for (unsigned spins = 0; !room && collector_running(); spins++) {
		/* relaxed: ordered before the head's load below by the fence in
		 * collector_wake, which pairs with release_held's */
		atomic_store_rlx(&r->waiting, 1);
		collector_wake();
		/* acquire: pairs with (D); the slots below head are free */
		r->head_cache = atomic_load_acq(&r->hdr->head);
		room = r->tail + n - r->head_cache <= r->mask + 1;
		if (room)
			break;
		if (spins < WAIT_SPINS)
			sched_yield();
		else
			collector_pause(&r->hdr->head, r->head_cache);
	}
	/* relaxed: a stale 1 costs the collector one futex call */
	atomic_store_rlx(&r->waiting, 0);
	return room;
}

void ring_kick(struct ring *r)
{
	/* acquire: pairs with (D) */
	r->head_cache = atomic_load_acq(&r->hdr->head);
	if (r->tail - r->head_cache > (r->mask + 1) / 2)
		collector_wake();
}
