/*
 * retain.h - why blocks are still alive: the dominator tree of a trace's
 * scan, kept with the trace (dom.h), retained sizes, and retainer paths
 * (hs_retainers_find): the shortest chains of pointers from the roots to
 * the blocks asked about, aggregated by allocation site, each root named
 * as a person would name it (a global by its symbol, module and section;
 * a thread's stack, with the function of the frame when the scan recorded
 * it; TLS; an anonymous mapping).
 *
 * A chain is a path of the breadth-first search from the roots (globals
 * first, then ignored blocks, TLS, stacks, anonymous memory, registers:
 * of two chains as short, the one from the root a person recognizes), so
 * each reached block has one.  Chains are aggregated by shape: the root's
 * name, then the sites of the blocks on the chain, a run of blocks of one
 * site (a linked list) as one hop.  A block's shape is its chain parent's
 * with its site appended (or the same, continuing a run), so the work is
 * linear in the blocks on the chains, however long the lists.
 */
#ifndef HS_ANALYZE_RETAIN_H
#define HS_ANALYZE_RETAIN_H

#include <heapsnap-analyze.h>

#include "analyze/dom.h"

/* The dominator tree of t's graph, computed on first use and kept with
 * the trace; NULL without a graph or memory. */
const struct dom *retain_dom(struct hs_trace *t);

/* Name root number root of t's graph for a pointer at offset off in it. */
void retain_name_root(struct hs_trace *t, uint32_t root, uint64_t off, struct hs_root_ref *out);

#endif
