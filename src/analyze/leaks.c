/*
 * leaks.c - a classified scan to a leak report.
 */
#define _GNU_SOURCE
#include "analyze/leaks.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/suppress.h"
#include "util/hashmap.h"

/* Suppressed last, then definite first, then largest, then by stack. */
static int by_size(const void *a, const void *b)
{
	const struct hs_loss_record *x = a, *y = b;
	if ((x->suppressed >= 0) != (y->suppressed >= 0))
		return x->suppressed >= 0 ? 1 : -1;
	if (x->kind != y->kind)
		return y->kind - x->kind; /* definite first */
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	if (x->blocks != y->blocks)
		return x->blocks < y->blocks ? 1 : -1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

/* Group the classified blocks by (kind, stack). */
static int group(struct hs_leaks *r, const struct hs_graph *g)
{
	struct hashmap idx;
	uint64_t cap = 0;

	if (hashmap_init(&idx, 256))
		return -ENOMEM;
	for (uint64_t b = 0; b < g->n; b++) {
		int kind = g->kind[b];
		uint64_t key = ((uint64_t)g->stack[b] << 3 | (uint64_t)kind) + 1;
		uint64_t *v = hashmap_get(&idx, key);
		r->total[kind][0]++;
		r->total[kind][1] += g->size[b];
		if (!v) {
			if (r->nrecords == cap) {
				cap = cap ? 2 * cap : 64;
				struct hs_loss_record *nr = realloc(r->records, cap * sizeof(*nr));
				if (!nr)
					goto oom;
				r->records = nr;
			}
			if (hashmap_put(&idx, key, r->nrecords))
				goto oom;
			r->records[r->nrecords] = (struct hs_loss_record){kind, g->stack[b], 0, 0, -1};
			v = hashmap_get(&idx, key);
			r->nrecords++;
		}
		r->records[*v].blocks++;
		r->records[*v].bytes += g->size[b];
	}
	hashmap_free(&idx);
	return 0;
oom:
	hashmap_free(&idx);
	return -ENOMEM;
}

/* Match each leaked record against the suppressions, every frame of its
 * stack (wrappers included), and take the matches out of the totals. */
static void suppress(struct hs_leaks *r, struct stack_table *st, struct hs_suppressions *sup)
{
	struct hs_frame all[STACKS_MAX_FRAMES];

	for (uint64_t i = 0; i < r->nrecords; i++) {
		struct hs_loss_record *rec = &r->records[i];
		if (rec->kind == HS_REACHABLE)
			continue;
		int n = stacks_all_frames(st, rec->stack, all, STACKS_MAX_FRAMES);
		rec->suppressed = suppress_match(sup, all, n);
		if (rec->suppressed < 0)
			continue;
		struct hs_suppression *e = &sup->s[rec->suppressed];
		e->leaks++;
		e->blocks += rec->blocks;
		e->bytes += rec->bytes;
		r->suppressed[0] += rec->blocks;
		r->suppressed[1] += rec->bytes;
		/* as Valgrind's summary: a suppressed block is in no class */
		r->total[rec->kind][0] -= rec->blocks;
		r->total[rec->kind][1] -= rec->bytes;
	}
}

int leaks_build(struct hs_leaks *r, struct graph *gb, int scanned, struct stack_table *st,
		struct hs_suppressions *sup)
{
	struct hs_graph *g = &gb->g;

	memset(r, 0, sizeof(*r));
	r->scanned = scanned;
	r->scan_blocks = g->n;
	r->scan_edges = g->nedges + g->nroot_edges;
	r->scan_roots = g->nroots;
	r->threads_stopped = g->threads_stopped;
	r->threads_missed = g->threads_missed;
	r->scan_reason = g->reason;
	r->scan_snapshot = g->snapshot;
	r->scan_ts = g->scan_ts;
	r->scan_ns = g->scan_end_ts > g->scan_ts ? g->scan_end_ts - g->scan_ts : 0;
	if (!scanned)
		return 0; /* no complete scan: nothing to classify */
	if (graph_classify(gb))
		return -ENOMEM;
	/* before grouping: the cycles decide which member is definite */
	if ((r->ncycles = graph_cycles(g, &r->cycles)) < 0) {
		r->ncycles = 0;
		return -ENOMEM;
	}
	if (group(r, g))
		return -ENOMEM;
	if (sup)
		suppress(r, st, sup);
	if (r->nrecords > 1)
		qsort(r->records, r->nrecords, sizeof(*r->records), by_size);
	return 0;
}

void leaks_free(struct hs_leaks *r)
{
	free(r->records);
	graph_free_cycles(r->cycles, r->ncycles > 0 ? r->ncycles : 0);
	memset(r, 0, sizeof(*r));
}

void hs_leaks_sum(struct hs_trace *const *t, int n, uint64_t total[HS_LEAK_KINDS][2], uint64_t suppressed[2])
{
	memset(total, 0, sizeof(uint64_t) * HS_LEAK_KINDS * 2);
	suppressed[0] = suppressed[1] = 0;
	for (int i = 0; i < n; i++) {
		for (int k = 0; k < HS_LEAK_KINDS; k++) {
			total[k][0] += t[i]->leaks.total[k][0];
			total[k][1] += t[i]->leaks.total[k][1];
		}
		suppressed[0] += t[i]->leaks.suppressed[0];
		suppressed[1] += t[i]->leaks.suppressed[1];
	}
}
