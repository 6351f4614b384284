/*
 * alloc.h - an allocator handed to a data structure, so that where its
 * memory comes from is explicit: the analyzer passes libc's
 * (hs_libc_allocator, util/alloc.c), the shim its private jemalloc arena
 * (backing_private, shim/backing.h), never the traced heap.
 * HOOK-SAFE: a struct and a declaration.
 */
#ifndef HS_UTIL_ALLOC_H
#define HS_UTIL_ALLOC_H

#include <stddef.h>

struct hs_allocator {
	void *(*zalloc)(size_t n);	    /* n zeroed bytes, or NULL */
	void *(*resize)(void *p, size_t n); /* as realloc; p may be NULL */
	void (*release)(void *p);	    /* p may be NULL */
};

/* calloc, realloc and free.  Not in the shim: util/alloc.c is linked into
 * the analyzer and the tests only. */
extern const struct hs_allocator hs_libc_allocator;

#endif
