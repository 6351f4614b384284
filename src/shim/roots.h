/*
 * roots.h - what the pointer scan reads as roots, from one reading of
 * /proc/self/maps.
 *
 * Roots, as Valgrind's memcheck and LeakSanitizer take them: every
 * readable and writable mapping of the process (module data and bss,
 * anonymous memory such as custom pools, the main thread's TLS), except
 * the allocator's own memory (arena_map.h), the shim's own memory and the
 * ring file; thread stacks from each stopped thread's stack pointer up
 * (not the dead part below it); each thread's saved registers; and the
 * blocks given to heapsnap_ignore().  Static TLS of other threads sits at
 * the top of their stack mapping, and dynamic TLS blocks are heap blocks
 * reached from there, so both are covered.
 *
 * Not hook-safe: the scan runs with the world stopped (world.h), in the
 * finishing thread; its memory comes from mmap.  roots_tls_block and
 * roots_ignore are HS_HOOKSAFE.
 */
#ifndef HS_SHIM_ROOTS_H
#define HS_SHIM_ROOTS_H

#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"

struct world;

/* One mapping of /proc/self/maps. */
struct roots_map {
	uint64_t lo, hi;      /* [lo, hi) */
	char r, w;	      /* 'r' / 'w', or '-' */
	uint64_t offset;      /* in the file (a file mapping) */
	uint32_t dev_major;   /* device of a file mapping */
	uint32_t dev_minor;
	uint64_t inode;	      /* 0: anonymous */
	const char *path;     /* "" if none; "[stack]", "[heap]", ... */
	size_t path_len;      /* bytes */
};

/* The mappings of the process, in address order. */
struct roots_maps {
	struct roots_map *m; /* mmap'd */
	uint32_t n;	     /* entries */
	uint32_t cap;	     /* entries mapped */
	char *text;	     /* the file's text (paths point into it), mmap'd */
	size_t text_cap;     /* bytes mapped */
};

/* Find the shim's TLS block and data segment (once, from the constructor):
 * neither is a root. */
void roots_setup(void);

/* Start of the calling thread's shim TLS block, or 0 if unknown.
 * Async-signal-safe. */
HS_HOOKSAFE uintptr_t roots_tls_block(void);

/* heapsnap_ignore(): treat the block at p as a root.  Lock-free. */
HS_HOOKSAFE void roots_ignore(const void *p);

/* The addresses given to roots_ignore; return their number. */
uint32_t roots_ignored(const uintptr_t **list);

/* Read /proc/self/maps.  Return 0 or -1 (no memory, unreadable). */
int roots_maps_read(struct roots_maps *m);
void roots_maps_free(struct roots_maps *m);

/* A root region [lo, hi) of an enum hst_root_kind, named (a module path,
 * "[stack]", "[anon]", ...); thread is the thread index of stack and
 * register roots; pc, for a stack root that is one frame of a stopped
 * thread, is 1 + an address in the frame's function (format.h SCAN_ROOT),
 * else 0. */
typedef void roots_fn(int kind, uint32_t thread, uint64_t lo, uint64_t hi, const char *name, size_t name_len,
		      uint64_t pc, void *arg);

/* May the scan read the readable, writable mapping [lo, hi)?  (With
 * allocator=system, the scan refuses glibc's heap: it holds live blocks.) */
typedef int roots_skip_fn(uint64_t lo, uint64_t hi, void *arg);

/*
 * Call fn for every root, in this order: the saved registers of every
 * stopped thread, then the mappings in address order, cut around memory
 * that is not a root, then each thread's static TLS.  The stack of a
 * stopped thread comes one frame at a time, as far as its frames can be
 * stepped by their modules' CFI (the rest of it as one root).  The ring
 * file at ring_path (this path or its file, however the path was
 * spelled) is not a root.  skip may be NULL.
 */
void roots_each(const struct roots_maps *maps, const struct world *w, const char *ring_path, roots_skip_fn *skip,
		roots_fn *fn, void *arg);

#endif
