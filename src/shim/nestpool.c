/*
 * nestpool.c - the pool for nested allocations.
 * HOOK-SAFE: lock-free, system calls only to map the pool once (the first
 * caller that finds it missing; a CAS decides which mapping stays).
 *
 * Blocks come in power-of-two chunk sizes, one free list per size, and a
 * bump pointer for chunks never used yet.  A free list is a Treiber stack
 * whose head packs a chunk's offset (in 16-byte units, 22 bits for 64 MiB)
 * with a 42-bit tag that every push and pop advances, so a pop that raced
 * with a pop and push of the same chunk (ABA) fails its CAS and retries.
 * A racing pop may read a next link from a chunk that has just been
 * handed out again: the value is garbage, but the pool is never unmapped,
 * so the read is safe, and the tag makes the CAS fail.  Memory is thus
 * bounded by what the nested calls hold at once, not by what they ever
 * allocated: a signal handler that allocates and frees runs for ever.
 */
#include "shim/nestpool.h"

#include <string.h>
#include <sys/mman.h>

#include "shim/arena_map.h"
#include "util/atomic.h"
#include "util/hooksafe.h"

#define POOL_BYTES NESTPOOL_BYTES
#define HEADER 16	   /* before each block: its requested size, its class, its offset in the chunk */
#define UNIT 16		   /* chunk offsets are multiples of this */
#define CLASS_MIN 5	   /* 32-byte chunks: a header and 16 bytes */
#define CLASS_MAX 26	   /* 64 MiB: the whole pool */
#define OFF_BITS 22	   /* POOL_BYTES / UNIT */
#define EMPTY ((1u << OFF_BITS) - 1) /* no chunk (offset units of the pool's last 16 bytes: never a chunk start of a list) */

struct header {
	uint32_t delta;	 /* bytes from the chunk's start to the block */
	uint32_t class;	 /* chunk size = 1 << class */
	uint64_t n;	 /* requested size (nestpool_size reads it at p - 8) */
};

_Atomic(char *) nestpool_base; /* the pool's mapping, NULL until needed */
static _Atomic size_t used;			/* bytes handed out by the bump pointer */
static _Atomic uint64_t free_head[CLASS_MAX + 1]; /* tag << OFF_BITS | offset unit, or EMPTY */
static _Atomic int lists_ready;

static char *pool_base(void)
{
	/* acquire: pairs with the CAS below; the mapping is complete */
	char *p = atomic_load_acq(&nestpool_base);

	if (p)
		return p;
	char *fresh = arena_map_mmap(POOL_BYTES);
	if (!fresh)
		return NULL;
	char *expect = NULL;
	if (!atomic_cas_acq_rel(&nestpool_base, &expect, fresh)) {
		arena_map_munmap(fresh, POOL_BYTES);
		return expect;
	}
	return fresh;
}

/* The lists start EMPTY (not 0: offset 0 is a chunk).  Racing callers all
 * store the same values before the first push can happen: a push needs a
 * chunk, and a chunk comes from an allocation that called this first. */
static void lists_init(void)
{
	/* acquire: pairs with the release below */
	if (atomic_load_acq(&lists_ready))
		return;
	for (int c = 0; c <= CLASS_MAX; c++)
		atomic_store_rlx(&free_head[c], EMPTY); /* relaxed: published by the release below */
	/* release: the EMPTY heads are visible to whoever sees ready */
	atomic_store_rel(&lists_ready, 1);
}

static unsigned class_of(size_t bytes)
{
	unsigned c = CLASS_MIN;

	while (c < CLASS_MAX && ((size_t)1 << c) < bytes)
		c++;
	return c;
}

/* Pop a chunk of class c; return its offset or -1. */
static long pop(char *base, unsigned c)
{
	/* acquire: pairs with the release in push; the link in the chunk is
	 * the one written before it was pushed */
	uint64_t head = atomic_load_acq(&free_head[c]);

	for (;;) {
		uint64_t unit = head & EMPTY;
		if (unit == EMPTY)
			return -1;
		uint64_t next;
		memcpy(&next, base + unit * UNIT, sizeof(next)); /* may be stale: the CAS decides */
		uint64_t tag = (head >> OFF_BITS) + 1;
		if (atomic_compare_exchange_weak_explicit(&free_head[c], &head, tag << OFF_BITS | (next & EMPTY),
							  memory_order_acquire, memory_order_acquire))
			return (long)(unit * UNIT);
	}
}

/* Push the chunk at offset off onto the list of class c. */
static void push(char *base, unsigned c, size_t off)
{
	/* relaxed: the CAS below orders it */
	uint64_t head = atomic_load_rlx(&free_head[c]);

	for (;;) {
		uint64_t link = head & EMPTY;
		memcpy(base + off, &link, sizeof(link));
		uint64_t tag = (head >> OFF_BITS) + 1;
		/* release: the link is written before the chunk is on the list */
		if (atomic_compare_exchange_weak_explicit(&free_head[c], &head, tag << OFF_BITS | (off / UNIT),
							  memory_order_release, memory_order_relaxed))
			return;
	}
}

/* Take a fresh chunk of class c from the bump pointer; offset or -1. */
static long bump(unsigned c)
{
	size_t size = (size_t)1 << c;
	/* relaxed: the offset only has to be unique; the chunk is the
	 * caller's alone.  A request that does not fit takes nothing, so
	 * smaller ones after it still can. */
	size_t off = atomic_load_rlx(&used);

	do {
		if (off + size > POOL_BYTES - UNIT) /* the last unit is EMPTY's */
			return -1;
	} while (!atomic_compare_exchange_weak_explicit(&used, &off, off + size, memory_order_relaxed,
							memory_order_relaxed));
	return (long)off;
}

void *nestpool_alloc(size_t n, size_t align)
{
	char *base = pool_base();

	if (!base || n > POOL_BYTES)
		return NULL;
	lists_init();
	if (align < UNIT)
		align = UNIT;
	unsigned c = class_of(HEADER + n + align - UNIT);
	if (((size_t)1 << c) < HEADER + n + align - UNIT)
		return NULL;
	long off = pop(base, c);
	if (off < 0)
		off = bump(c);
	if (off < 0)
		return NULL;
	char *chunk = base + off;
	uintptr_t start = ((uintptr_t)chunk + HEADER + align - 1) & ~(uintptr_t)(align - 1);
	struct header h = {(uint32_t)(start - (uintptr_t)chunk), c, n};
	memcpy((void *)(start - HEADER), &h, sizeof(h));
	memset((void *)start, 0, n); /* a reused chunk holds old data; calloc needs zeros */
	return (void *)start;
}

void nestpool_free(void *p)
{
	/* acquire: as nestpool_owns; p came from a published pool */
	char *base = atomic_load_acq(&nestpool_base);
	struct header h;

	memcpy(&h, (char *)p - HEADER, sizeof(h));
	push(base, h.class, (size_t)((char *)p - h.delta - base));
}

size_t nestpool_size(const void *p)
{
	struct header h;
	memcpy(&h, (const char *)p - HEADER, sizeof(h));
	return h.n;
}
