/*
 * nestpool.c - the bump pool for nested allocations.
 * HOOK-SAFE: one fetch_add per allocation; the pool is mapped lazily by the
 * first caller that finds it missing (a CAS decides which mapping stays).
 */
#include "shim/nestpool.h"

#include <string.h>
#include <sys/mman.h>

#include "shim/arena_map.h"
#include "util/atomic.h"

#define POOL_BYTES (64u << 20)
#define HEADER 16 /* the requested size, before each block */

static _Atomic(char *) pool;
static _Atomic size_t used;

static char *pool_base(void)
{
	/* acquire: pairs with the CAS below; the mapping is complete */
	char *p = atomic_load_acq(&pool);

	if (p)
		return p;
	char *fresh = arena_map_mmap(POOL_BYTES);
	if (!fresh)
		return NULL;
	char *expect = NULL;
	if (!atomic_cas_acq_rel(&pool, &expect, fresh)) {
		arena_map_munmap(fresh, POOL_BYTES);
		return expect;
	}
	return fresh;
}

void *nestpool_alloc(size_t n, size_t align)
{
	char *base = pool_base();

	if (!base || n > POOL_BYTES)
		return NULL;
	if (align < HEADER)
		align = HEADER;
	size_t need = (HEADER + n + align - 1 + 15) & ~(size_t)15;
	/* relaxed: the offset only has to be unique; the block is the
	 * caller's alone.  A request that does not fit takes nothing, so
	 * smaller ones after it still can. */
	size_t off = atomic_load_rlx(&used);
	do {
		if (off + need > POOL_BYTES)
			return NULL;
	} while (!atomic_compare_exchange_weak_explicit(&used, &off, off + need, memory_order_relaxed,
							memory_order_relaxed));
	uintptr_t start = (uintptr_t)base + off + HEADER;
	start = (start + align - 1) & ~(uintptr_t)(align - 1);
	memcpy((void *)(start - sizeof(size_t)), &n, sizeof(n));
	return (void *)start; /* fresh mmap pages are zero */
}

int nestpool_owns(const void *p)
{
	/* relaxed: a pointer can only be in the pool if the pool it came
	 * from was published to this thread already */
	const char *base = atomic_load_rlx(&pool);
	return base && (const char *)p >= base && (const char *)p < base + POOL_BYTES;
}

size_t nestpool_size(const void *p)
{
	size_t n;
	memcpy(&n, (const char *)p - sizeof(size_t), sizeof(n));
	return n;
}
