/*
 * hooks.h - the shared bodies behind every interposed allocation entry
 * point (hooks.c for C, hooks_cxx.c for C++).
 * HOOK-SAFE.
 */
#ifndef HS_SHIM_HOOKS_H
#define HS_SHIM_HOOKS_H

#include <stddef.h>
#include <stdint.h>

/* Allocate n bytes (align 0 = default) and record an event of kind, with
 * the stack from the program's frame ip, sp, bp that called the entry
 * point (UNWIND_CALLER there, unwind.h). */
void *hook_alloc(uint8_t kind, size_t n, size_t align, uint64_t ip, uint64_t sp, uint64_t bp);

/* Record a free of kind and release p (sized: the size the caller gave,
 * 0 if unknown). */
void hook_free(uint8_t kind, void *p, size_t sized);

/* realloc/reallocarray semantics (glibc's: n == 0 frees p); the caller's
 * frame as hook_alloc's. */
void *hook_realloc(uint8_t kind, void *p, size_t n, uint64_t ip, uint64_t sp, uint64_t bp);

#ifdef HS_ATTACH
/* The C family's entry points by name, for the attach shim, which rewrites
 * the program's slots to them (attach_got.c): only this file names them. */
struct hook_name {
	const char *name; /* malloc, free, ... */
	void *fn;	  /* this shim's definition */
};
extern const struct hook_name hooks_c_names[];
extern const unsigned hooks_c_count;
#endif

/*
 * Record what another allocator did (a Python allocator domain, python.c):
 * block p of n bytes obtained; p about to be released (call it before the
 * release); p moved or resized to q (p NULL: q is new).  Nothing is
 * allocated or freed here.
 */
void hook_record_alloc(uint8_t kind, void *p, size_t n);
void hook_record_free(uint8_t kind, void *p);
void hook_record_realloc(uint8_t kind, void *p, void *q, size_t n);

#endif
