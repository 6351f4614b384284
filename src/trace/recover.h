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

#endif
