/*
 * backing.h - the allocator that really serves the program's blocks.
 * HOOK-SAFE.
 *
 * Default: jemalloc through its non-standard API (mallocx, sdallocx,
 * rallocx, sallocx).  allocator=system: the next malloc in link order
 * (glibc's, or whatever the program preloads after us), found in the
 * symbol tables (dynsym.h).
 *
 * The shim's own memory never comes from here: backing_ialloc/ifree use a
 * jemalloc arena that only the shim touches, so bookkeeping never shows in
 * the traced heap.  backing_is_private tells its blocks from the
 * program's.
 */
#ifndef HS_SHIM_BACKING_H
#define HS_SHIM_BACKING_H

#include <stdbool.h>
#include <stddef.h>

#include "util/alloc.h"

/* Find the next allocator (glibc's, or whatever the program preloads
 * after the shim) without touching jemalloc: what the shim steps aside
 * to.  Call once, first, from global init. */
void backing_resolve(void);

/* Set jemalloc up and choose the backing allocator; call once, from
 * global init, after backing_resolve. */
void backing_init(bool system);

/* The shim has stepped aside (tracing is off for good: it could not get
 * its memory or its files): serve the program from the system allocator
 * from now on, as if the shim were not there.  jemalloc blocks from before
 * go back to jemalloc when freed.  Return 0, or -1 if there is no system
 * allocator to step aside to. */
int backing_step_aside(void);

/* Is the system allocator (allocator=system) serving the program? */
int backing_is_system(void);

/* Does the program's heap hold blocks the trace never saw allocated (an
 * attached process: everything from before the attach)?  The scan then
 * reads that memory as a root (scan.c). */
int backing_unknown_heap(void);

/* The functions of an allocator the shim forwards to: the next one in load
 * order (allocator=system), or the one an attached process's calls end in. */
struct backing_orig {
	void *(*malloc)(size_t);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void (*free)(void *);
	int (*posix_memalign)(void **, size_t, size_t);
	size_t (*malloc_usable_size)(void *);
};

/* The attach shim only (backing_attach.c): forward the program's blocks to
 * o's functions (attach.c finds them with got_real).  Call before any slot
 * is patched.  Return 0, or -1 if one is missing. */
int backing_attach_use(const struct backing_orig *o);

void *backing_malloc(size_t n);
void *backing_calloc(size_t n);		 /* n already checked for overflow */
void *backing_aligned(size_t align, size_t n); /* align: power of 2 */
void *backing_realloc(void *p, size_t n);      /* p != NULL, n > 0 */
void backing_free(void *p);		       /* p != NULL */
void backing_free_sized(void *p, size_t n);    /* p != NULL */
size_t backing_usable_size(void *p);

/* The forked child, first thing: close the parent's /proc/self/pagemap
 * (the child's is opened when needed). */
void backing_forget_pagemap(void);

/* The collector, every cycle: when the process's resident size reached a
 * new high, give back the pages of freed blocks jemalloc still keeps
 * (backing.c says when exactly).  Cheap when there is nothing to do.
 * between (may be NULL) runs on this thread after each madvise call of
 * the purge, with no jemalloc lock held: it may allocate from the
 * private arena, and must not trim. */
void backing_trim_peak(void (*between)(void));

/* The shim's private memory (jemalloc arena, never recorded). */
void *backing_ialloc(size_t n);
void *backing_irealloc(void *p, size_t n);
void backing_ifree(void *p);
size_t backing_iusable_size(void *p);

/* Is p (a live heap block) from the private arena, not the program's?
 * Lock-free: a scan of the arena's few address ranges.  1 when that
 * cannot be told (no private arena). */
int backing_is_private(const void *p);

/* The same, as an allocator for the shim's data structures (hash maps,
 * the heap model). */
extern const struct hs_allocator backing_private;

#endif
