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
#include <stddef.h>

#include "shim/tls.h"
#include "util/assert.h"
#include "util/atomic.h"

struct spin {
	_Atomic int held;
#ifdef HS_DEBUG
	const struct tls_state *owner; /* the holder's &tls, for the assertions */
#endif
};

/* Does the calling thread hold s?  (Known in the debug build only: use it
 * in HS_ASSERT, where a release build does not evaluate it.) */
static inline int spin_holding(const struct spin *s)
{
#ifdef HS_DEBUG
	return s->owner == &tls;
#else
	(void)s;
	return 1;
#endif
}

/* Does the calling thread hold no spin lock?  A call out of the shim (the
 * backing allocator, the unwinder) asserts it.  Debug build only, as
 * spin_holding. */
static inline int spin_none_held(void)
{
#ifdef HS_DEBUG
	return tls.spins == 0;
#else
	return 1;
#endif
}

static inline void spin_lock(struct spin *s)
{
	HS_ASSERT(!spin_holding(s)); /* not recursive: a nested hook never takes a lock its thread holds */
	for (;;) {
		/* acquire: the critical section sees what the last holder wrote */
		if (!atomic_exchange_explicit(&s->held, 1, memory_order_acquire))
			break;
		/* relaxed: only a hint to retry the exchange */
		while (atomic_load_rlx(&s->held))
			sched_yield();
	}
#ifdef HS_DEBUG
	s->owner = &tls;
	tls.spins++;
#endif
}

static inline void spin_unlock(struct spin *s)
{
	HS_ASSERT(spin_holding(s));
#ifdef HS_DEBUG
	s->owner = NULL;
	tls.spins--;
#endif
	/* release: publish the critical section to the next holder */
	atomic_store_rel(&s->held, 0);
}

/* Reset after fork in the child, where the holder may not exist. */
static inline void spin_reset(struct spin *s)
{
#ifdef HS_DEBUG
	if (s->owner == &tls) /* the forking thread took it in prefork */
		tls.spins--;
	s->owner = NULL;
#endif
	/* relaxed: the child has one thread */
	atomic_store_rlx(&s->held, 0);
}

#endif
