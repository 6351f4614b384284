/*
 * stats.h - tracemalloc-style statistics of heaps (struct hs_heap, taken
 * in the one pass by select.c): their blocks grouped by line, function,
 * file, module or whole traceback (or every frame, cumulatively),
 * filtered, added up over traces and compared (struct hs_stats, the
 * public hs_stats_* functions), and the folded stacks of flame graphs.
 *
 * A heap is first summed by stack (hs_heap_stacks), then each stack is
 * symbolized once and its keys made once: the work follows distinct
 * stacks, never allocinfos or events.  Lines are keyed by their text in a
 * hash table, so adding up traces is linear in their lines.
 */
#ifndef HS_ANALYZE_STATS_H
#define HS_ANALYZE_STATS_H

#include <heapsnap-analyze.h>

#include <stddef.h>

/* The key of stack s as group g makes its line (the site's frame, or the
 * whole stack by traceback; not cumulative), in key. */
void stats_key(const struct hs_stack *s, const struct hs_group *g, char *key, size_t cap);

/* Does stack s pass g's include and exclude patterns (globs on its site
 * frame's file and module)?  g NULL: every stack does. */
int stats_passes(const struct hs_stack *s, const struct hs_group *g);

#endif
