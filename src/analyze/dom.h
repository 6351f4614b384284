/*
 * dom.h - the dominator tree of a pointer scan's reference graph, and the
 * retained size of every block: the bytes that would be freed if that
 * block were freed (it and every block that only it keeps alive).
 *
 * The graph's roots are one virtual root; every edge counts, start and
 * interior pointers alike (a block an interior pointer reaches is kept
 * alive by it as far as anyone can tell).  Blocks no root reaches (leaks)
 * hang from the virtual root too, each leaked structure from its first
 * allocated block, taken in allocation order (memcheck's leaders, graph.h),
 * so that a leaked cycle retains its members like any structure.
 *
 * Two algorithms compute the same tree: the semi-NCA variant of
 * Lengauer-Tarjan (Georgiadis, Tarjan and Werneck, "Finding dominators in
 * practice", 2006), near-linear, and Cooper, Harvey and Kennedy's
 * iterative one ("A simple, fast dominance algorithm", 2001), whose passes
 * over the graph depend on its shape.  bench/scale.sh measures both on a
 * heap of 10 million blocks; the library uses semi-NCA (DOM_DEFAULT).
 */
#ifndef HS_ANALYZE_DOM_H
#define HS_ANALYZE_DOM_H

#include <stdint.h>

#include <heapsnap-analyze.h>

#define DOM_ROOT UINT32_MAX /* the virtual root, as an immediate dominator */

enum dom_algo { DOM_SNCA, DOM_CHK };
#define DOM_DEFAULT DOM_SNCA

struct dom {
	uint64_t n;	    /* blocks */
	uint32_t *idom;	    /* by block: its immediate dominator (a block), or DOM_ROOT */
	uint64_t *retained; /* by block: its bytes and those of every block it dominates */
	uint32_t *order;    /* the blocks in a preorder of the dominator tree */
	uint32_t *pos;	    /* by block: its position in order */
	uint32_t *span;	    /* by block: its subtree in order is [pos, pos + span) */
	uint64_t reached;   /* blocks a root reaches (the others are leaked) */
	unsigned passes;    /* DOM_CHK: passes until nothing changed */
};

/* Compute the dominator tree of g with algo.  g's edges must be grouped by
 * source (graph_classify did it).  Return 0, -ENOMEM, or -EINVAL for a
 * graph of 2^32 - 1 blocks or more. */
int dom_build(const struct hs_graph *g, enum dom_algo algo, struct dom *out);
void dom_free(struct dom *d);

/* Is block a an ancestor of block b in the tree (or b itself)? */
static inline int dom_covers(const struct dom *d, uint32_t a, uint32_t b)
{
	return d->pos[b] >= d->pos[a] && d->pos[b] < d->pos[a] + d->span[a];
}

#endif
