/*
 * spin.h - a test-and-test-and-set lock for the shim's rare slow paths
 * (new stack, new ring, orphan ring).  It is never held across a call out
 * of the shim, and never taken from a nested hook (tls.depth > 1), so a
 * signal handler cannot deadlock on a lock its own thread holds.
 * HOOK-SAFE.
 */
#ifndef HS_SHIM_SPIN_H
#define HS_SHIM_SPIN_H

#include <sched.h>

#include "util/atomic.h"

struct spin {
	_Atomic int held;
};

static inline void spin_lock(struct spin *s)
{
	for (;;) {
		/* acquire: the critical section sees what the last holder wrote */
		if (!atomic_exchange_explicit(&s->held, 1, memory_order_acquire))
			return;
		/* relaxed: only a hint to retry the exchange */
		while (atomic_load_rlx(&s->held))
			sched_yield();
	}
}

static inline void spin_unlock(struct spin *s)
{
	/* release: publish the critical section to the next holder */
	atomic_store_rel(&s->held, 0);
}

/* Reset after fork in the child, where the holder may not exist. */
static inline void spin_reset(struct spin *s)
{
	/* relaxed: the child has one thread */
	atomic_store_rlx(&s->held, 0);
}

#endif
