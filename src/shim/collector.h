/*
 * collector.h - the background thread that drains every ring into the
 * trace, off the allocation path.
 *
 * Each cycle (every flush_ms, or sooner when a ring is over half full) it
 * takes the pending control records, copies what the rings hold, merges
 * the threads' events by time, writes stacks first seen, then the events
 * with snapshots in place, as one chunk; only then does it move each
 * ring's head, so a record leaves its ring only once it is in the file.
 *
 * The functions marked HS_HOOKSAFE are reached from the hooks (the first
 * call of a hook opens the trace); the rest run outside hooks.
 */
#ifndef HS_SHIM_COLLECTOR_H
#define HS_SHIM_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shim/options.h"
#include "util/compiler.h"

/* Create the trace file (see writer_create) and prepare the writer.
 * path receives the trace's name.  Return 0 or -errno. */
HS_HOOKSAFE int collector_open(const struct options *opts, const char *exe, uint32_t pid, uint32_t ppid,
		   uint64_t nonce, char *path, size_t cap);

/* The trace cannot go on before it began (no ring file): close and remove
 * the file collector_open made. */
HS_HOOKSAFE void collector_abandon(void);

/* Scan the heap for pointers when the trace finishes (exit, _exit); the
 * ring file at ring_path is not a root. */
HS_HOOKSAFE void collector_enable_scan(const char *ring_path);

/* Write a control record (PROCESS, MODULES) into the trace at once, before
 * the collector thread exists, so that a process that dies right after
 * start still leaves it; once the collector runs, hand it over instead.
 * Takes ownership of it (which may be NULL). */
struct control_item;
void collector_write_now(struct control_item *it);

/* Start the collector thread.  Return 0 or -errno. */
int collector_start(void);

/* True while a collector thread is draining the rings. */
HS_HOOKSAFE bool collector_running(void);

/* Ask the collector for a cycle now (one futex wake if it sleeps). */
HS_HOOKSAFE void collector_wake(void);

/* Wait for ring space: sleep until *head moves from seen (the collector
 * wakes a ring's waiting owner), 1 ms at most. */
HS_HOOKSAFE void collector_pause(_Atomic uint64_t *head, uint64_t seen);

/*
 * Stop the collector, drain every ring, write the exit snapshot (reason
 * HST_END_EXIT or _EXIT only) and an END record.  With HST_END_EXEC the
 * file stays open so that collector_start can resume after a failed exec.
 * Call with the calling thread marked TS_INTERNAL; caller_sp is where the
 * program's part of this thread's stack begins (see world_stop).
 */
void collector_finish(int reason, int status, uint64_t caller_sp);

/* Stop the collector thread (it drains no more until collector_start or
 * collector_finish; producers wait if their ring fills meanwhile).  Call
 * with the calling thread marked TS_INTERNAL. */
void collector_stop(void);

/* With the collector stopped, make sure the calling thread's ring has room
 * for n more records: if not, drain every ring and write the chunk, so
 * that the frees the exit path records next (release_libc) are not
 * dropped for want of a collector.  A no-op when there is room (the
 * usual case: the last events then share END's chunk).  Call marked
 * TS_INTERNAL. */
void collector_make_room(unsigned n);

/* heapsnap_leak_check(): stop the collector, scan now (HST_SCAN_API),
 * restart it.  Return 0, or -1 when scanning is off or failed.  Call
 * marked TS_INTERNAL; caller_sp as for collector_finish. */
int collector_leak_check(uint64_t caller_sp);

/* heapsnap_snapshot(label) with snapshot_scan=1: stop the collector, write
 * the snapshot and a scan of the heap at it (HST_SCAN_SNAPSHOT), restart
 * it.  Return 0, or -1 when the scan failed (the snapshot is written
 * anyway).  Call marked TS_INTERNAL; caller_sp as for collector_finish. */
int collector_scan_snapshot(uint64_t caller_sp, const char *label, uint32_t len);

/* Is the calling thread the collector? */
bool collector_is_self(void);

/* Events lost to interrupted ring writes; the hooks count them here. */
HS_HOOKSAFE void collector_count_drop(void);

/* fork(): wait for the collector's trim and cycle to end, and hold them
 * off. */
void collector_lock(void);
void collector_unlock(void);

/* In a forked child: take into the heap model what the parent's rings held
 * and the collector had not processed yet (the child inherited those
 * blocks too). */
void collector_absorb_rings(void);

/* In a forked child: drop the parent's writer state without writing. */
void collector_forget(void);

#endif
