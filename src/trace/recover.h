/*
 * recover.h - the events a killed process left in its ring file.
 *
 * A trace that does not end with END may have a ring file beside it,
 * TRACE.rings (format in trace/ringfile.h), holding what the threads had
 * committed to their rings but no chunk holds yet.  The reader, once the
 * chunks are read, hands over to a recovery: it yields THREAD items for
 * the rings that have events to give, the STACK and PYCODE entries of the
 * file, then the events merged by time across the rings.
 *
 * Use (trace/reader.c does this):
 *   struct recover *c = recover_open(path, nonce, progress, n, first_info);
 *   while ((rc = recover_next(c, &it)) > 0) ...
 *   recover_close(c);
 */
#ifndef HS_TRACE_RECOVER_H
#define HS_TRACE_RECOVER_H

#include <stddef.h>
#include <stdint.h>

#include "trace/reader.h"

struct recover;

/*
 * Open trace_path.rings if it exists and belongs to the trace of this
 * nonce.  progress[ring id] (n entries) is how far each ring's events are
 * in the chunks already (PROGRESS records); recovered allocations get
 * allocinfo ids from first_info up (after every id the chunks defined).
 * Return NULL when there is nothing to recover from (no file, another
 * trace's, unreadable, no memory).
 */
struct recover *recover_open(const char *trace_path, uint64_t nonce, const uint64_t *progress, size_t n,
			     uint64_t first_info);

/* Return 1 with the next item, 0 at the end, -1 when out of memory.
 * Pointers in the item stay valid until the next call. */
int recover_next(struct recover *c, struct trace_item *it);

/* Events yielded so far. */
uint64_t recover_count(const struct recover *c);

void recover_close(struct recover *c);

/*
 * Merge trace_path.rings into the trace, so that no ring file is left
 * beside a trace once read: when the ring file belongs to this trace and
 * no process holds it (its shim keeps a lock on it while it lives), the
 * trace is cut back to end_off (the end of its last whole chunk), the
 * recovered threads, stacks, allocinfos (file ids from first_info up) and
 * events are appended as raw chunks with a RECOVERED record, and the ring
 * file is removed.  Return 1 when merged (the reader reads on from
 * end_off), 0 when it was not (no file, another trace's, a live process,
 * no write permission, a concurrent merge, an error: the trace is as
 * before, and the reader recovers read-only).
 */
int recover_merge(const char *trace_path, uint64_t nonce, const uint64_t *progress, size_t n,
		  uint64_t first_info, uint64_t end_off);

/* Remove trace_path.rings if it is this trace's (nonce) and no process
 * holds it: a complete or merged trace has no use for it. */
void recover_remove_stale(const char *trace_path, uint64_t nonce);

#endif
