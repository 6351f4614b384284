/*
 * attach_got.h - redirect the allocation family of every loaded object to
 * the shim by rewriting its GOT slots, and put them back.
 *
 * An attached process bound malloc and friends long ago: the shim cannot be
 * first in the symbol search order, as LD_PRELOAD makes it.  Instead every
 * object's relocated slots (R_X86_64_JUMP_SLOT, the PLT's, and
 * R_X86_64_GLOB_DAT, calls through -fno-plt and taken addresses) for the
 * names in the table (attach_got.c) are rewritten to the shim's functions,
 * as heaptrack's attach does.  A slot is patched only if it holds what the
 * global scope binds the name to, or an unresolved lazy PLT stub: an object
 * bound to some other malloc keeps it.  Every patched slot is recorded with
 * its old value and restored from there.
 *
 * Not hook-safe: dl_iterate_phdr, mprotect, a mutex.  Called by the control
 * thread (attach.c) and by program threads in the dlopen wrapper.
 */
#ifndef HS_SHIM_ATTACH_GOT_H
#define HS_SHIM_ATTACH_GOT_H

#include <stdint.h>

/* Resolve the global definitions of the names; call once, before any
 * patch.  Return 0 or -1 (no malloc in the global scope). */
int got_init(void);

/* The function calls to name end in (glibc's malloc, or the program's
 * preloaded allocator's): what the hooks forward to.  NULL if unknown. */
void *got_real(const char *name);

/* Turn patching on (attach) and patch every loaded object.  Return the
 * number of slots patched. */
uint32_t got_attach(void);

/* Patch what objects loaded since the last call hold (no-op when not
 * attached).  Return the number of slots patched. */
uint32_t got_patch_new(void);

/* Did objects get loaded or unloaded since the last call? */
int got_modules_changed(void);

/* Turn patching off and restore every patched slot of every object still
 * loaded, allocation functions first.  Return the number restored. */
uint32_t got_detach(void);

/* Patched slots now, and objects that have at least one. */
void got_counts(uint32_t *slots, uint32_t *objects);

/* fork(): hold / release the patch lock. */
void got_lock(void);
void got_unlock(void);

#endif
