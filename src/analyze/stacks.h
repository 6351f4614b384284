/*
 * stacks.h - the stacks of one trace, kept by id as the reader yields them,
 * and symbolized on demand: from the allocation site (the first frame
 * outside allocator wrappers, frames.h) outwards, the shim's own frames
 * left out.  Shared by the leak report and the statistics.
 */
#ifndef HS_ANALYZE_STACKS_H
#define HS_ANALYZE_STACKS_H

#include <stddef.h>
#include <stdint.h>

#include <heapsnap-analyze.h>

#include "analyze/frames.h"
#include "analyze/symbols.h"
#include "trace/reader.h"

#define STACKS_MAX_FRAMES 256 /* frames of one stack after inline expansion */

struct stack_table {
	struct symbolizer *sym;	     /* the trace's map, over the session's files */
	const struct frames *wrappers; /* the session's wrapper patterns */
	uint64_t **ips;		     /* by stack id: instruction pointers */
	uint32_t *depth;	     /* by stack id */
	uint32_t *era;		     /* by stack id: sym_era at its record */
	uint32_t n;		     /* ids below this may be set */
	struct hs_stack *symbolized; /* by stack id, filled on demand (frames malloc'ed) */
};

/* Start an empty table whose symbols come from files (shared) and whose
 * wrappers are w (NULL: the built-ins).  Return 0 or -ENOMEM. */
int stacks_init(struct stack_table *t, struct sym_files *files, const struct frames *w);
void stacks_free(struct stack_table *t);
/* Forget every stack whose id used[] does not mark (used has t->n
 * entries), and shrink the table to the last one kept. */
void stacks_keep_only(struct stack_table *t, const uint8_t *used);

/* Feed an ITEM_STACK, ITEM_MODULES or ITEM_PYCODE item.  Return 0 or
 * -ENOMEM. */
int stacks_add(struct stack_table *t, const struct trace_item *it);

/* The symbolized stack of id (never NULL; empty when unknown). */
const struct hs_stack *stacks_get(struct stack_table *t, uint32_t id);

/* Every frame of stack id, wrappers included, into out (max entries).
 * Return how many. */
int stacks_all_frames(struct stack_table *t, uint32_t id, struct hs_frame *out, int max);

/* "function file:line" of a stack's allocation site, in buf. */
const char *stacks_site(struct stack_table *t, uint32_t id, char *buf, size_t cap);

#endif
