/*
 * leaks.h - the leak report of one trace (struct hs_leaks): the last
 * complete pointer scan's graph, classified (graph.h), its blocks grouped
 * into loss records by kind and allocation stack, largest first, the
 * leaked cycles, and the suppressions applied to the loss records.
 *
 * Memory follows live blocks at the scan, scan edges and distinct stacks,
 * never the number of events.
 */
#ifndef HS_ANALYZE_LEAKS_H
#define HS_ANALYZE_LEAKS_H

#include <heapsnap-analyze.h>

#include "analyze/graph.h"
#include "analyze/stacks.h"

/* Build the report from a graph that holds the last scan read (complete
 * or not: scanned says).  Classifies the graph when scanned.  sup may be
 * NULL; its counts grow by what it suppressed here.  Return 0 or -ENOMEM. */
int leaks_build(struct hs_leaks *out, struct graph *gb, int scanned, struct stack_table *st,
		struct hs_suppressions *sup);
void leaks_free(struct hs_leaks *l);

#endif
