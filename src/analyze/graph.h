/*
 * graph.h - the reference graph of a pointer scan (struct hs_graph), and
 * what it says about every block live at the scan: Valgrind memcheck's
 * leak classes and the leaked cycles.
 *
 * Classes, as memcheck defines them:
 *   reachable  a chain of pointers to block starts leads to it from a root
 *   possible   reached from the roots, but only through some interior
 *              pointer (one that points inside a block, not at its start)
 *   definite   not reached, and no other unreached block points to it
 *   indirect   not reached, but pointed to from a definitely lost block
 *              (directly or through other indirect ones)
 * Unreached blocks are taken in allocation order: each that is still
 * unclaimed becomes definite and claims, as indirect, every unreached
 * block it reaches (including earlier definite ones).  So within a leaked
 * cycle that nothing outside points to, the first allocated member is the
 * definite one, whatever the addresses.
 *
 * A leaked cycle is a strongly connected component of leaked (definite or
 * indirect) blocks, of two or more blocks or one that points to itself,
 * that no block outside it points into.
 */
#ifndef HS_ANALYZE_GRAPH_H
#define HS_ANALYZE_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include <heapsnap-analyze.h>

#include "trace/reader.h"

/* A graph being read from the SCAN items of a trace. */
struct graph {
	struct hs_graph g;	/* the result */
	uint32_t *edge_src;	/* source block of each edge, until they are grouped */
	uint64_t edges_cap, root_edges_cap, roots_cap; /* allocated entries */
	uint64_t announced;	/* blocks the SCAN record says will follow */
	uint64_t blocks_cap;	/* entries allocated in the per-block arrays */
};

/* Start an empty graph; feed it the SCAN items of one scan in order; then
 * classify.  A later SCAN item starts over (the last scan wins).  Return 0
 * or -ENOMEM. */
void graph_init(struct graph *gb);
int graph_add(struct graph *gb, const struct trace_item *it);
/* Group the edges by source and give every block its class.  Return 0 or
 * -ENOMEM. */
int graph_classify(struct graph *gb);
/* Free everything gb holds, its result included. */
void graph_free(struct graph *gb);
/* Free what a result holds (one moved out of a struct graph). */
void graph_release(struct hs_graph *g);

/* Find the leaked cycles of a classified graph, and make the first
 * allocated member of each the definite one (the rest indirect).  Return
 * how many (in *out, to free with graph_free_cycles), or -ENOMEM. */
long graph_cycles(struct hs_graph *g, struct hs_cycle **out);
void graph_free_cycles(struct hs_cycle *c, long n);

#endif
