/*
 * recent.h - which live block is each thread's latest allocation, so that
 * the collector can mark a free as temporary (heaptrack's measure): the
 * block was freed, by any thread, before the thread that allocated it
 * allocated again.  Collector-only (under the cycle lock); not hook-safe.
 *
 * A thread's latest block is kept in its ring (ring->latest) and, to find
 * it from its address when some thread frees it, in a small open-addressing
 * table of at most one entry per ring.
 */
#ifndef HS_SHIM_RECENT_H
#define HS_SHIM_RECENT_H

#include <stdbool.h>
#include <stdint.h>

#include "shim/ring.h"

/* The owner of r allocated the block at addr (not 0): it becomes r's
 * latest, replacing the one before. */
void recent_alloc(struct ring *r, uint64_t addr);

/* The block at addr was freed: return true when it was some thread's
 * latest allocation (and forget it). */
bool recent_free(uint64_t addr);

/* Forget every entry (a forked child starts afresh). */
void recent_reset(void);

#endif
