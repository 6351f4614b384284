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
#include "trace/writer.h"
#include "util/compiler.h"

/* Capture the current map into a MODULES item stamped ts; exe is the
 * path to use for the main program.  Return NULL on out-of-memory. */
struct control_item *modules_capture(uint64_t ts, const char *exe);

/* The lazy module table (modules.c): the collector's alone (its thread,
 * or a scan while it is stopped). */

/* Take the map now into the table (nothing is written). */
void modules_refresh(uint64_t ts, const char *exe);

/* Take a capture (a whole MODULES record from modules_capture, len bytes)
 * into the table; whole: it is the whole map (refresh), else modules it
 * names are added without marking the others gone. */
void modules_absorb(const uint8_t *rec, size_t len, int whole, uint32_t epoch);

/* A record about to be written refers to address a (modules_want_ip: to
 * return address ip): its module is to be written, unless it is. */
void modules_want(uint64_t a);
void modules_want_ip(uint64_t ip, uint32_t epoch);

/* 1 when modules_want found modules to write. */
int modules_pending(void);

/* Insert one MODULES record of the wanted modules into w's buffer at
 * offset at (before the records that refer to them), stamped ts. */
void modules_emit(struct trace_writer *w, size_t at, uint64_t ts);

/* A new trace (a forked child's) holds no module yet, and the old ring
 * file's segments go (unmapped: the caller's ring file is forgotten). */
void modules_forget(void);

/* Return 1 if objects were loaded or unloaded since the last call; 0
 * while the world is stopped (modules_world_stopped). */
int modules_changed(void);

/* A scan stopped the program's threads (1) or let them go (0): no
 * dl_iterate_phdr in between. */
void modules_world_stopped(int stopped);

/* Want the modules of the addresses that were in none while the world was
 * stopped, the map taken again if the loader says it changed. */
void modules_want_missed(void);

/* Objects unloaded since the process began (the loader's count). */
unsigned long long modules_unloads(void);

/* Find the [lo, hi) span of the executable segments of the object that
 * holds addr.  Return 0 or -1. */
HS_HOOKSAFE int modules_text_of(const void *addr, uintptr_t *lo, uintptr_t *hi);

#endif
