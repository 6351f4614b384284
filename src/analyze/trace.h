/*
 * trace.h - the library's side of a struct hs_trace: what the one pass over
 * a trace (trace.c) keeps for the analyses and renderers that run after it.
 */
#ifndef HS_ANALYZE_TRACE_H
#define HS_ANALYZE_TRACE_H

#include <heapsnap-analyze.h>

#include "analyze/dom.h"
#include "analyze/stacks.h"
#include "analyze/timeline.h"

struct hs_trace_priv {
	struct hs_session *session; /* the trace's session (outlives it) */
	struct timeline_sites sites; /* HS_WANT_TIMELINE: allocations by allocinfo */
	int have_stacks;	    /* st was built */
	struct stack_table st;	    /* the trace's stacks, symbolized on demand */
	uint64_t *info_size;	    /* by allocinfo id: bytes of its blocks (the heaps' sizes) */
	uint32_t *info_stack;	    /* by allocinfo id: its stack */
	uint64_t ninfo;		    /* ids the two hold */
	struct dom *dom;	    /* the graph's dominator tree (retain.h), once made */
	int dom_failed;		    /* making it ran out of memory */
};

#endif
