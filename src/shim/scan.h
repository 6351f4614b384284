/*
 * scan.h - the pointer scan: read every root (roots.h) and live block for
 * words that point into live blocks, and write what it finds into the
 * trace (SCAN records, format.h).  The analyzer builds the reference graph
 * from them.
 *
 * Not hook-safe: it runs in the thread that finishes the trace (exit,
 * _exit) or calls heapsnap_leak_check(), marked TS_INTERNAL, with the
 * collector stopped and the world stopped (world.h).  Meanwhile it
 * allocates nothing from jemalloc (a stopped thread may hold one of its
 * locks): its own memory comes from mmap.
 */
#ifndef HS_SHIM_SCAN_H
#define HS_SHIM_SCAN_H

#include "trace/writer.h"

struct world;

/* Scan and write the SCAN records for reason (HST_SCAN_*), of the
 * snapshot whose index is snapshot - 1 (0: none).  The heap model must be
 * complete: every ring drained.  The shim's own mappings and the ring file
 * at ring_path are not roots. */
void scan_write(struct trace_writer *tw, const struct world *w, int reason, uint64_t snapshot,
		const char *ring_path);

#endif
