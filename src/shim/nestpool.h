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

/* Allocate n bytes aligned to align (<= 4096), zeroed; NULL when the pool
 * cannot serve it (64 MiB held by nested calls at once). */
void *nestpool_alloc(size_t n, size_t align);

/* Give pool block p back (from any thread, in any context). */
void nestpool_free(void *p);

/* Is p a pool block?  Two comparisons. */
int nestpool_owns(const void *p);

/* Requested size of pool block p. */
size_t nestpool_size(const void *p);

#endif
