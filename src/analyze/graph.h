/*
 * graph.h - the reference graph of a pointer scan, and what it says about
 * every block live at the scan: Valgrind memcheck's leak classes and the
 * leaked cycles.
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

#include "trace/reader.h"

enum leak_kind { LEAK_REACHABLE = 0, LEAK_POSSIBLE, LEAK_INDIRECT, LEAK_DEFINITE, LEAK_KINDS };

/* Names as in --kinds: "reachable", "possible", "indirect", "definite". */
const char *leak_kind_name(int kind);

struct graph_edge {
	uint32_t dst;	     /* target block */
	uint32_t src_off;    /* offset in the source, bytes (saturated) */
	uint32_t dst_off;    /* offset in the target (0: its start; saturated) */
};

struct graph_root {
	int kind;	  /* enum hst_root_kind */
	uint32_t thread;  /* thread index (stack, registers) */
	uint64_t addr, bytes;
	char *name;
};

struct graph {
	uint64_t n;		/* blocks */
	uint64_t *addr;		/* by block: start address */
	uint64_t *size;		/* by block: requested bytes */
	uint32_t *stack;	/* by block: allocation stack id */
	uint32_t *seq;		/* by block: allocation order */
	uint8_t *kind;		/* by block: enum leak_kind */
	uint64_t *out;		/* by block: first edge in edges; out[n] = total */
	struct graph_edge *edges; /* by source block */
	uint64_t nedges;
	struct graph_edge *root_edges; /* from roots (src_off unused) */
	uint32_t *root_of_edge;	       /* by root edge: root number */
	uint64_t nroot_edges;
	struct graph_root *roots;
	uint32_t nroots;
	uint64_t scan_ts;	/* when the scan ran */
	uint64_t threads_stopped, threads_missed;
	int complete;		/* a SCAN_END was read */
};

struct leaked_cycle {
	uint32_t *members; /* blocks, in allocation order */
	uint32_t n;
	uint64_t bytes;
	uint32_t *edge_src, *edge_dst; /* edges inside the cycle, one per block pair */
	uint32_t *edge_off;	       /* offset in the source of that edge */
	uint32_t nedges;
};

/* Start an empty graph; feed it the SCAN items of one scan in order; then
 * classify.  A later SCAN item starts over (the last scan wins).  Return 0
 * or -1 (out of memory). */
void graph_init(struct graph *g);
int graph_add(struct graph *g, const struct trace_item *it);
int graph_classify(struct graph *g);
void graph_free(struct graph *g);

/* The block that starts at addr (blocks are in address order), or -1. */
int64_t graph_block_at(const struct graph *g, uint64_t addr);

/* Find the leaked cycles, and make the first allocated member of each the
 * definite one (the rest indirect).  Return how many (in *out, to free
 * with graph_free_cycles), or -1.  Call after graph_classify. */
long graph_cycles(struct graph *g, struct leaked_cycle **out);
void graph_free_cycles(struct leaked_cycle *c, long n);

#endif
