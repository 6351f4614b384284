/*
 * modules.h - the process's module map (path, build-id, load bias,
 * PT_LOAD segments) as a MODULES record body, for offline symbolization.
 * Not hook-safe: it calls dl_iterate_phdr, which takes the loader's lock.
 * Called from the constructor, the dlclose wrapper and the collector;
 * modules_text_of, from the first call of a hook (the loader's lock is
 * recursive, and nothing it waits for waits for the shim).
 */
#ifndef HS_SHIM_MODULES_H
#define HS_SHIM_MODULES_H

#include <stdint.h>

#include "shim/control.h"
#include "util/compiler.h"

/* Capture the current map into a MODULES item stamped ts; exe is the
 * path to use for the main program.  Return NULL on out-of-memory. */
struct control_item *modules_capture(uint64_t ts, const char *exe);

/* Return 1 if objects were loaded or unloaded since the last call. */
int modules_changed(void);

/* Find the [lo, hi) span of the executable segments of the object that
 * holds addr.  Return 0 or -1. */
HS_HOOKSAFE int modules_text_of(const void *addr, uintptr_t *lo, uintptr_t *hi);

#endif
