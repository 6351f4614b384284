/*
 * control.c - the collector's inbox for non-event records.
 * HOOK-SAFE.
 */
#include "shim/control.h"

#include "shim/backing.h"
#include "shim/tls.h"
#include "util/assert.h"
#include "util/atomic.h"
#include "util/hooksafe.h"

#define SIGNAL_SLOTS 64

static _Atomic(struct control_item *) inbox;
static _Atomic uint64_t signal_ts[SIGNAL_SLOTS];
static _Atomic uint64_t signal_next; /* requests made */
static uint64_t signal_taken;	     /* requests consumed (collector) */
static _Atomic uint64_t scan_asked;  /* scanned snapshots asked for */
static uint64_t scan_taken;	     /* the value of scan_asked last taken (collector) */

struct control_item *control_new(uint8_t tag, uint64_t ts, size_t len)
{
	struct control_item *it = backing_ialloc(sizeof(*it) + len);

	if (it) {
		it->next = NULL;
		it->ts = ts;
		it->tag = tag;
		it->len = (uint32_t)len;
	}
	return it;
}

void control_push(struct control_item *it)
{
	/* relaxed: the CAS below publishes */
	struct control_item *head = atomic_load_rlx(&inbox);

	do
		it->next = head;
	/* acq_rel: release publishes the item's contents to control_take */
	while (!atomic_compare_exchange_weak_explicit(&inbox, &head, it, memory_order_acq_rel,
						      memory_order_relaxed));
}

struct control_item *control_take(void)
{
	HS_ASSERT(tls.state == TS_INTERNAL); /* the collector */
	/* acq_rel: acquire pairs with the release in control_push */
	struct control_item *it = atomic_exchange_acq_rel(&inbox, NULL), *fifo = NULL;

	while (it) {
		struct control_item *next = it->next;
		it->next = fifo;
		fifo = it;
		it = next;
	}
	return fifo;
}

bool control_pending(void)
{
	/* relaxed: a hint; the collector looks again a cycle period later */
	return atomic_load_rlx(&inbox) || signal_taken != atomic_load_rlx(&signal_next);
}

void control_free(struct control_item *it)
{
	backing_ifree(it);
}

void control_signal_snapshot(uint64_t ts)
{
	/* relaxed: the slot store below publishes the request */
	uint64_t n = atomic_fetch_add_rlx(&signal_next, 1);
	/* release: pairs with the acquire in control_take_signal_snapshot */
	atomic_store_rel(&signal_ts[n % SIGNAL_SLOTS], ts ? ts : 1);
}

uint64_t control_take_signal_snapshot(void)
{
	HS_ASSERT(tls.state == TS_INTERNAL); /* the collector */
	/* relaxed: the count only says whether to look at the slot */
	if (signal_taken == atomic_load_rlx(&signal_next))
		return 0;
	/* acquire: pairs with the release in control_signal_snapshot; a slot
	 * whose handler has not stored yet reads 0 and is taken next cycle */
	uint64_t ts = atomic_exchange_acq_rel(&signal_ts[signal_taken % SIGNAL_SLOTS], 0);
	if (ts)
		signal_taken++;
	return ts;
}

void control_signal_scan(void)
{
	/* relaxed: the collector only needs to see the count change; the
	 * scan reads the heap after stopping the world, not what we wrote */
	atomic_fetch_add_rlx(&scan_asked, 1);
}

int control_take_scan(void)
{
	HS_ASSERT(tls.state == TS_INTERNAL); /* the collector */
	/* relaxed: see control_signal_scan */
	uint64_t n = atomic_load_rlx(&scan_asked);

	if (n == scan_taken)
		return 0;
	scan_taken = n;
	return 1;
}

void control_forget(void)
{
	/* relaxed: the forked child has one thread */
	atomic_store_rlx(&inbox, NULL);
	for (int i = 0; i < SIGNAL_SLOTS; i++)
		atomic_store_rlx(&signal_ts[i], 0);
	atomic_store_rlx(&signal_next, 0);
	signal_taken = 0;
	atomic_store_rlx(&scan_asked, 0);
	scan_taken = 0;
}
