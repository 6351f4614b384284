/*
 * nestpool.h - memory for allocations made while the thread is already
 * inside a hook: a signal handler that allocates, interrupting the shim,
 * possibly in the middle of a jemalloc call that holds one of its locks.
 * Such calls must not re-enter jemalloc, so they are served from a
 * lock-free pool (power-of-two chunks on lock-free free lists, so that
 * freed pool blocks are reused), and the other blocks they free wait on a
 * per-thread list until the interrupted hook is done with the allocator.
 * HOOK-SAFE.
 */
#ifndef HS_SHIM_NESTPOOL_H
#define HS_SHIM_NESTPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "util/atomic.h"
#include "util/compiler.h"

/* Allocate n bytes aligned to align (<= 4096), zeroed; NULL when the pool
 * cannot serve it (64 MiB held by nested calls at once). */
void *nestpool_alloc(size_t n, size_t align);

/* Give pool block p back (from any thread, in any context). */
void nestpool_free(void *p);

#define NESTPOOL_BYTES (64u << 20) /* the pool's size */

extern _Atomic(char *) nestpool_base; /* its mapping, NULL until needed */

/* Is p a pool block?  Two comparisons, inline: every free asks. */
HS_INLINE int nestpool_owns(const void *p)
{
	/* relaxed: a pointer can only be in the pool if the pool it came
	 * from was published to this thread already */
	const char *base = atomic_load_rlx(&nestpool_base);
	return base && (const char *)p >= base && (const char *)p < base + NESTPOOL_BYTES;
}

/* Requested size of pool block p. */
size_t nestpool_size(const void *p);

#endif
