/*
 * heapmap.h - the collector's model of the traced heap: every live block
 * (address -> allocinfo and allocation time) and the table of allocinfos,
 * the (size, stack) pairs that events name blocks by (format.h).
 *
 * Only the collector thread (or a thread finishing the trace after the
 * collector stopped) touches it.  Its memory comes from the allocator given
 * to heapmap_use: the shim's private arena, so it is never recorded.
 */
#ifndef HS_SHIM_HEAPMAP_H
#define HS_SHIM_HEAPMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "util/alloc.h"
#include "util/compiler.h"

/* Take memory from a from now on (before the first heapmap_alloc; the shim
 * gives backing_private).  a must stay valid. */
HS_HOOKSAFE void heapmap_use(const struct hs_allocator *a);

/* Where a region's table of TABLE_MAP_MIN bytes and more lives, if given
 * (before the first heapmap_alloc; the shim gives anonymous mappings of
 * its own): map makes n zeroed bytes; remap makes a mapping of old bytes
 * n (> old) long, its contents kept and the new bytes zero (it may move);
 * unmap gives one back.  A table so mapped doubles where it lies and is
 * rehashed in place (heapmap.c says why).  Without them every table comes
 * from heapmap_use's allocator, and a table that doubles is copied. */
struct heapmap_tables {
	void *(*map)(size_t n);
	void *(*remap)(void *p, size_t old, size_t n);
	void (*unmap)(void *p, size_t n);
};
#define HEAPMAP_TABLE_MAP_MIN (64u << 10)
HS_HOOKSAFE void heapmap_use_tables(const struct heapmap_tables *t);

/* An allocinfo: what events say about a block. */
struct heapmap_info {
	uint64_t size;	/* requested bytes */
	uint32_t stack; /* stack id */
};

/* A block allocated at addr.  Return its allocinfo id,
 * or 0 when out of memory.  If the address was still live, *dropped gets
 * the old block's allocinfo (its free is late: see HST_EV_IMPLICIT), and
 * the next free seen at addr is taken for that late free. */
uint32_t heapmap_alloc(uint64_t addr, uint64_t size, uint32_t stack, uint32_t *dropped);

/* The block at addr was freed.  Return its allocinfo id, or 0 if
 * no block is known there or this is the late free of a dropped block. */
uint32_t heapmap_free(uint64_t addr);

/* An event for the block at addr is coming soon: start loading its home
 * slot, so that heapmap_alloc or heapmap_free finds it in the cache.  Only
 * a hint: changes nothing, and does nothing for a region not seen lately. */
void heapmap_prefetch(uint64_t addr);

/* The allocinfo of id (1 <= id < heapmap_info_count()). */
struct heapmap_info *heapmap_info(uint32_t id);
uint32_t heapmap_info_count(void);

/* Is the ALLOCINFO record of id in the current trace?  Mark it written,
 * or not written (a new allocinfo is not). */
bool heapmap_info_written(uint32_t id);
void heapmap_info_write(uint32_t id);
void heapmap_info_unwrite(uint32_t id);

/* Number of live blocks, and a walk over them. */
uint64_t heapmap_live_count(void);
/* Walk the live blocks; seq is the block's allocation order (a u32 count
 * of the allocations seen, wrapping after 2^32). */
void heapmap_each(void (*fn)(uint64_t addr, uint32_t info, uint32_t seq, void *arg), void *arg);

/* A new trace begins (forked child): every allocinfo must be written
 * again before use. */
void heapmap_unwrite_all(void);

/* Forget every block and allocinfo and free the memory (heapsnap attach
 * detached: the next attach starts from an unknown heap). */
void heapmap_reset(void);

#endif
