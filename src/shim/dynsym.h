/*
 * dynsym.h - find a function by name in the dynamic symbol tables of the
 * loaded objects, without dlsym.
 *
 * glibc's dlsym is not a pure lookup: every call frees the calling
 * thread's pending dlerror string (and, on success, its result object),
 * and a failed call allocates new ones (dlfcn/dlerror.c, _dlerror_run).
 * Those blocks are the program's.  Called from the shim they were freed
 * into the shim's private arena (a crash with allocator=system), dropped
 * from the trace (a false leak), or the program's pending error was lost
 * or replaced by the shim's.  This module reads the tables itself
 * (DT_GNU_HASH, else DT_HASH; DT_VERSYM to skip hidden versions, as dlsym
 * does): no allocation, no dlerror state, no lock but the one
 * dl_iterate_phdr takes.
 */
#ifndef HS_SHIM_DYNSYM_H
#define HS_SHIM_DYNSYM_H

#include "util/compiler.h"
#include <stddef.h>

/* The first definition of function name in an object loaded after the
 * shim, in load order: what dlsym(RTLD_NEXT, name) returns to the shim.
 * NULL if there is none.  In the attach shim, loaded last, the first
 * definition in load order (dynsym_any). */
HS_HOOKSAFE void *dynsym_next(const char *name);

/* The first definition of function name in any loaded object (the main
 * program first): what dlsym(RTLD_DEFAULT, name) returns, except that
 * objects dlopen'ed with RTLD_LOCAL are searched too.  NULL if none. */
void *dynsym_any(const char *name);

/* As dynsym_any, for a function or a data object (STT_OBJECT), with its
 * size (st_size) in *size when size is not NULL. */
HS_HOOKSAFE void *dynsym_symbol(const char *name, size_t *size);

#endif
