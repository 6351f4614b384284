/*
 * arena_map.h - the address ranges the backing jemalloc maps for itself.
 * HOOK-SAFE.
 *
 * The exit scan reads writable anonymous mappings as roots (custom pools
 * keep pointers there), but must skip the allocator's own memory: freed
 * blocks and jemalloc's metadata hold stale pointers that would make
 * leaks look reachable.  jemalloc is linked into the shim with its mmap,
 * munmap and sbrk renamed to the wrappers here (src/shim/jemalloc.syms),
 * so every range it maps is noted as it happens.
 */
#ifndef HS_SHIM_ARENA_MAP_H
#define HS_SHIM_ARENA_MAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Map / unmap anonymous memory for the shim itself, noted as not a root.
 * Return NULL on failure. */
void *arena_map_mmap(size_t bytes);
void arena_map_munmap(void *p, size_t bytes);

/* Fault [p, p + bytes) in writable now, for a table that is read before
 * it is written (arena_map.c says why).  The bytes must be zero (a fresh
 * mapping, a zeroed block): where the kernel cannot populate, a zero is
 * written to each page.  Failing, it leaves the pages to fault as before. */
void arena_map_populate(void *p, size_t bytes);

/* Make a mapping of arena_map_mmap's (old bytes at p) bytes long
 * (> old), moving it if need be (mremap: its pages move, uncopied), the
 * new bytes populated; noted as not a root.  Return it, or NULL with p
 * unchanged. */
void *arena_map_remap(void *p, size_t old, size_t bytes);

/* arena_map_mmap, populated: for a table that is written all over soon
 * (an open-addressing index, as it grows), never for a reservation. */
void *arena_map_table(size_t bytes);

/* Under a memory limit (ulimit -v or -d), take bytes of address space at
 * start (not a root, no memory until used) for the shim's own memory once
 * the program has taken all the room: otherwise a collector that runs
 * late (a loaded machine) finds none to record what the program did
 * while there was some, and a thread that starts then gets no ring.  The
 * shim's anonymous memory (arena_map_mmap, its private jemalloc arena)
 * and ring file segments take from it when mmap says ENOMEM. */
void arena_map_reserve(size_t bytes);

/* mmap(len, prot, flags, fd, off) over the next len bytes of the reserve
 * (MAP_FIXED added), or MAP_FAILED when too little of it is left. */
void *arena_map_from_reserve(size_t len, int prot, int flags, int fd, off_t off);

/* Call fn for every range [lo, hi) jemalloc (or the shim) has mapped and
 * not unmapped. */
void arena_map_each(void (*fn)(uintptr_t lo, uintptr_t hi, void *arg), void *arg);

/* Is p inside a range jemalloc (or the shim) mapped?  Linear in the
 * ranges, which are few: jemalloc maps large chunks. */
int arena_map_contains(uintptr_t p);

/* Is [lo, hi) entirely inside ranges jemalloc mapped? */
int arena_map_covers(uintptr_t lo, uintptr_t hi);

#endif
