/*
 * rings.h - the registry of event rings: one per live thread, reused after
 * the thread exits, plus one shared "orphan" ring for threads past their
 * pthread key destructor.
 * HOOK-SAFE.
 */
#ifndef HS_SHIM_RINGS_H
#define HS_SHIM_RINGS_H

#include <stdint.h>

#include "shim/ring.h"

#define RINGS_MAX 4096

/* Set the capacity (records, power of two) of rings made from now on. */
void rings_configure(uint32_t records);

/* Give the calling thread a ring: a free one, or a new segment of the ring
 * file.  Return NULL when none can be had (the thread then uses the orphan
 * ring). */
struct ring *rings_acquire(uint32_t thread_index, uint32_t tid, uint64_t now_ns);

/* The owner is done with r: the collector drains it, announces the thread's
 * end and frees it for reuse. */
void rings_retire(struct ring *r, uint64_t now_ns);

/* Number of rings ever made; ring i is rings_get(i), i < rings_count(). */
uint32_t rings_count(void);
struct ring *rings_get(uint32_t i);

/* Push one event (n = 1 or 2 records copied from recs) through the orphan
 * ring under its lock.  Return 0, or -1 if it was dropped. */
int rings_orphan_push(const struct ring_rec *recs, unsigned n);

/* Unmap every ring and forget them (forked child: they are the parent's). */
void rings_forget(void);

/* fork(): take / release the registry and orphan locks. */
void rings_lock(void);
void rings_unlock(void);

#endif
