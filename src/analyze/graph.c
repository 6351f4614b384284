/*
 * graph.c - reference graph, memcheck classes, leaked cycles (Tarjan).
 */
#define _GNU_SOURCE
#include "analyze/graph.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trace/format.h"

#define UNREACHED 4 /* internal state before classification ends */

const char *hs_leak_kind_name(int kind)
{
	static const char *const names[] = {"reachable", "possible", "indirect", "definite"};
	return kind >= 0 && kind < HS_LEAK_KINDS ? names[kind] : "unknown";
}

int hs_leak_kinds_parse(const char *s, unsigned *out)
{
	unsigned k = 0;

	for (const char *p = s; p && *p;) {
		size_t n = strcspn(p, ",");
		int found = 0;
		for (int i = 0; i < HS_LEAK_KINDS; i++)
			if (strlen(hs_leak_kind_name(i)) == n && !strncmp(p, hs_leak_kind_name(i), n)) {
				k |= 1u << i;
				found = 1;
			}
		if (n == 3 && !strncmp(p, "all", 3)) {
			k = (1u << HS_LEAK_KINDS) - 1;
			found = 1;
		}
		if (!found && n)
			return -EINVAL;
		p += n + (p[n] == ',');
	}
	if (!k)
		return -EINVAL;
	*out = k;
	return 0;
}

void graph_init(struct graph *gb)
{
	memset(gb, 0, sizeof(*gb));
	gb->g.snapshot = -1;
}

void graph_free(struct graph *gb)
{
	graph_release(&gb->g);
	free(gb->edge_src);
	graph_init(gb);
}

void graph_release(struct hs_graph *g)
{
	free(g->addr);
	free(g->size);
	free(g->stack);
	free(g->seq);
	free(g->kind);
	free(g->out);
	free(g->edges);
	free(g->root_edges);
	free(g->root_of_edge);
	free(g->root_edge_off);
	for (uint32_t i = 0; i < g->nroots; i++)
		free(g->roots[i].name);
	free(g->roots);
	memset(g, 0, sizeof(*g));
	g->snapshot = -1;
}

static uint32_t sat32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static int grow(void **p, uint64_t *cap, uint64_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	uint64_t n = *cap ? *cap * 2 : 1024;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, n * elem);
	if (!q)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

static int block_room(struct graph *gb, uint64_t i);

/* Root numbers up to this take their place in roots[]; a damaged trace's
 * larger ones are appended, as every root was before the shim described
 * only the roots that hold pointers (48 MiB of roots at most). */
#define ROOTS_PLACED (1u << 20)

/* Make roots[0, n) exist: those not described yet have kind 0, no name.
 * Return 0 or -ENOMEM. */
static int roots_upto(struct graph *gb, uint64_t n)
{
	struct hs_graph *g = &gb->g;

	if (n <= g->nroots)
		return 0;
	if (grow((void **)&g->roots, &gb->roots_cap, n, sizeof(*g->roots)))
		return -ENOMEM;
	memset(g->roots + g->nroots, 0, (n - g->nroots) * sizeof(*g->roots));
	g->nroots = (uint32_t)n;
	return 0;
}

/* The arrays grow with the blocks that come, not with the count the SCAN
 * record announces: a damaged trace announcing 2^40 blocks must not make
 * the analysis allocate for them. */
static int start_scan(struct graph *gb, const struct trace_item *it)
{
	struct hs_graph *g = &gb->g;

	graph_free(gb);
	g->n = 0;
	gb->announced = it->scan.blocks;
	g->scan_ts = it->scan.ts;
	g->reason = it->scan.reason;
	g->snapshot = it->scan.snapshot ? (int64_t)it->scan.snapshot - 1 : -1;
	g->threads_stopped = it->scan.threads_stopped;
	g->threads_missed = it->scan.threads_missed;
	return block_room(gb, 0); /* arrays never NULL, even with no block */
}

/* Room for block index i in the per-block arrays.  Return 0 or -ENOMEM. */
static int block_room(struct graph *gb, uint64_t i)
{
	struct hs_graph *g = &gb->g;
	uint64_t c;

	if (i < gb->blocks_cap)
		return 0;
	c = gb->blocks_cap;
	if (grow((void **)&g->addr, &c, i + 1, sizeof(*g->addr)))
		return -ENOMEM;
	c = gb->blocks_cap;
	if (grow((void **)&g->size, &c, i + 1, sizeof(*g->size)))
		return -ENOMEM;
	c = gb->blocks_cap;
	if (grow((void **)&g->stack, &c, i + 1, sizeof(*g->stack)))
		return -ENOMEM;
	c = gb->blocks_cap;
	if (grow((void **)&g->seq, &c, i + 1, sizeof(*g->seq)))
		return -ENOMEM;
	c = gb->blocks_cap;
	if (grow((void **)&g->kind, &c, i + 1, sizeof(*g->kind)))
		return -ENOMEM;
	gb->blocks_cap = c;
	return 0;
}

int graph_add(struct graph *gb, const struct trace_item *it)
{
	struct hs_graph *g = &gb->g;

	switch (it->type) {
	case ITEM_SCAN:
		return start_scan(gb, it);
	case ITEM_SCAN_BLOCK:
		/* blocks come in order (the reader numbers them); more than
		 * announced: the excess is ignored */
		if (it->block.index >= gb->announced || it->block.index != g->n)
			return 0;
		if (block_room(gb, g->n))
			return -ENOMEM;
		g->addr[g->n] = it->block.addr;
		g->size[g->n] = it->block.size;
		g->stack[g->n] = it->block.stack;
		g->seq[g->n] = it->block.seq;
		g->kind[g->n] = 0;
		g->n++;
		return 0;
	case ITEM_SCAN_ROOT: {
		/* a root in its number's place (the shim leaves out those that
		 * hold no pointer), or after the others when the number is taken */
		uint32_t at = it->root.index >= g->nroots && it->root.index < ROOTS_PLACED ? it->root.index : g->nroots;
		if (roots_upto(gb, (uint64_t)at + 1))
			return -ENOMEM;
		struct hs_root *r = &g->roots[at];
		r->kind = it->root.kind;
		r->thread = it->root.thread;
		r->addr = it->root.addr;
		r->bytes = it->root.bytes;
		r->pc = it->root.pc;
		r->name = strndup(it->root.name.p, it->root.name.n);
		return r->name ? 0 : -ENOMEM;
	}
	case ITEM_SCAN_EDGE:
		if (it->edge.dst >= g->n)
			return 0;
		if (it->edge.from_root) {
			uint64_t c = gb->root_edges_cap, c2 = gb->root_edges_cap;
			if (grow((void **)&g->root_edges, &c, g->nroot_edges + 1, sizeof(*g->root_edges)) ||
			    grow((void **)&g->root_edge_off, &c2, g->nroot_edges + 1, sizeof(uint64_t)) ||
			    grow((void **)&g->root_of_edge, &gb->root_edges_cap, g->nroot_edges + 1, sizeof(uint32_t)))
				return -ENOMEM;
			g->root_edges[g->nroot_edges] =
				(struct hs_edge){(uint32_t)it->edge.dst, sat32(it->edge.offset), sat32(it->edge.dst_offset)};
			g->root_edge_off[g->nroot_edges] = it->edge.offset;
			g->root_of_edge[g->nroot_edges++] = (uint32_t)it->edge.src;
			return 0;
		}
		if (it->edge.src >= g->n)
			return 0;
		uint64_t c = gb->edges_cap;
		if (grow((void **)&g->edges, &c, g->nedges + 1, sizeof(*g->edges)) ||
		    grow((void **)&gb->edge_src, &gb->edges_cap, g->nedges + 1, sizeof(*gb->edge_src)))
			return -ENOMEM;
		g->edges[g->nedges] = (struct hs_edge){(uint32_t)it->edge.dst, sat32(it->edge.offset),
						       sat32(it->edge.dst_offset)};
		gb->edge_src[g->nedges++] = (uint32_t)it->edge.src;
		return 0;
	case ITEM_SCAN_END:
		/* the roots read after the last one described */
		if (it->scan_end.roots <= ROOTS_PLACED && roots_upto(gb, it->scan_end.roots))
			return -ENOMEM;
		g->complete = 1;
		g->scan_end_ts = it->scan_end.ts;
		return 0;
	}
	return 0;
}

/* Group the edges by source (counting sort) into out/edges. */
static int build_csr(struct graph *gb)
{
	struct hs_graph *g = &gb->g;
	const uint32_t *edge_src = gb->edge_src;

	g->out = calloc(g->n + 1, sizeof(*g->out));
	struct hs_edge *sorted = malloc((g->nedges ? g->nedges : 1) * sizeof(*sorted));
	if (!g->out || !sorted) {
		free(sorted);
		return -ENOMEM;
	}
	for (uint64_t i = 0; i < g->nedges; i++)
		g->out[edge_src[i] + 1]++;
	for (uint64_t i = 0; i < g->n; i++)
		g->out[i + 1] += g->out[i];
	uint64_t *pos = malloc((g->n ? g->n : 1) * sizeof(*pos));
	if (!pos) {
		free(sorted);
		return -ENOMEM;
	}
	memcpy(pos, g->out, g->n * sizeof(*pos));
	for (uint64_t i = 0; i < g->nedges; i++)
		sorted[pos[edge_src[i]]++] = g->edges[i];
	free(pos);
	free(g->edges);
	g->edges = sorted;
	free(gb->edge_src);
	gb->edge_src = NULL;
	gb->edges_cap = 0;
	return 0;
}

/* A growable stack of block numbers. */
struct work {
	uint32_t *v;
	uint64_t n, cap;
};

static int push(struct work *w, uint32_t b)
{
	if (grow((void **)&w->v, &w->cap, w->n + 1, sizeof(*w->v)))
		return -ENOMEM;
	w->v[w->n++] = b;
	return 0;
}

/* Mark b from a reached block or root: definitely (a start pointer from a
 * definitely reached place) or possibly. */
static int mark(struct hs_graph *g, struct work *w, uint32_t b, int definite)
{
	if (definite && g->kind[b] != HS_REACHABLE) {
		g->kind[b] = HS_REACHABLE;
		return push(w, b);
	}
	if (!definite && g->kind[b] == UNREACHED) {
		g->kind[b] = HS_POSSIBLE;
		return push(w, b);
	}
	return 0;
}

int64_t hs_graph_block_at(const struct hs_graph *g, uint64_t addr)
{
	uint64_t lo = 0, hi = g->n;

	while (lo < hi) {
		uint64_t mid = (lo + hi) / 2;
		if (g->addr[mid] < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < g->n && g->addr[lo] == addr ? (int64_t)lo : -1;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Sort blocks b[0..n) by allocation order, ties by block number (what a
 * stable sort by order alone gives). */
static int sort_by_seq(const struct hs_graph *g, uint32_t *b, uint64_t n)
{
	uint64_t *key = malloc((n ? n : 1) * sizeof(*key));

	if (!key)
		return -ENOMEM;
	for (uint64_t i = 0; i < n; i++)
		key[i] = (uint64_t)g->seq[b[i]] << 32 | b[i];
	if (n > 1)
		qsort(key, n, sizeof(*key), cmp_u64);
	for (uint64_t i = 0; i < n; i++)
		b[i] = (uint32_t)key[i];
	free(key);
	return 0;
}

int graph_classify(struct graph *gb)
{
	struct hs_graph *g = &gb->g;
	struct work w = {0};
	int rc = -ENOMEM;

	if (build_csr(gb))
		return -ENOMEM;
	memset(g->kind, UNREACHED, g->n);
	/* A block given to heapsnap_ignore() is a root: it is reachable. */
	for (uint32_t i = 0; i < g->nroots; i++) {
		if (g->roots[i].kind != HST_ROOT_IGNORED)
			continue;
		int64_t b = hs_graph_block_at(g, g->roots[i].addr);
		if (b >= 0 && mark(g, &w, (uint32_t)b, 1))
			goto out;
	}
	/* From the roots. */
	for (uint64_t i = 0; i < g->nroot_edges; i++)
		if (mark(g, &w, g->root_edges[i].dst, g->root_edges[i].dst_off == 0))
			goto out;
	while (w.n) {
		uint32_t b = w.v[--w.n];
		int definite = g->kind[b] == HS_REACHABLE;
		for (uint64_t e = g->out[b]; e < g->out[b + 1]; e++)
			if (mark(g, &w, g->edges[e].dst, definite && g->edges[e].dst_off == 0))
				goto out;
	}
	/* The unreached, in allocation order: leaders and what they claim. */
	uint32_t *order = malloc((g->n ? g->n : 1) * sizeof(*order));
	uint64_t nu = 0;
	if (!order)
		goto out;
	for (uint64_t i = 0; i < g->n; i++)
		if (g->kind[i] == UNREACHED)
			order[nu++] = (uint32_t)i;
	if (sort_by_seq(g, order, nu)) {
		free(order);
		goto out;
	}
	for (uint64_t k = 0; k < nu; k++) {
		uint32_t leader = order[k];
		if (g->kind[leader] != UNREACHED)
			continue;
		g->kind[leader] = HS_DEFINITE;
		if (push(&w, leader))
			break;
		while (w.n) {
			uint32_t b = w.v[--w.n];
			for (uint64_t e = g->out[b]; e < g->out[b + 1]; e++) {
				uint32_t d = g->edges[e].dst;
				if (d == leader || (g->kind[d] != UNREACHED && g->kind[d] != HS_DEFINITE))
					continue;
				g->kind[d] = HS_INDIRECT;
				if (push(&w, d))
					break;
			}
		}
	}
	free(order);
	rc = 0;
out:
	free(w.v);
	return rc;
}

/* ---- leaked cycles ----------------------------------------------------------- */

static int leaked(const struct hs_graph *g, uint32_t b)
{
	return g->kind[b] == HS_DEFINITE || g->kind[b] == HS_INDIRECT;
}

void graph_free_cycles(struct hs_cycle *c, long n)
{
	for (long i = 0; i < n; i++) {
		free(c[i].members);
		free(c[i].edges);
	}
	free(c);
}

/* Return the index of block b among the members of c (it is one). */
static uint32_t member_of(const struct hs_cycle *c, uint32_t b)
{
	for (uint32_t k = 0; k < c->n; k++)
		if (c->members[k].block == b)
			return k;
	return 0;
}

/* Fill cycle c with the members comp[0..n) of one component, in
 * allocation order, and the edges between them (one per member pair, at
 * the lowest offset: a block's edges come in offset order). */
static int make_cycle(const struct hs_graph *g, const uint32_t *comp, uint32_t n, const uint32_t *scc,
		      struct hs_cycle *c)
{
	uint32_t *blocks = malloc(n * sizeof(*blocks));
	uint64_t cap = 0;

	memset(c, 0, sizeof(*c));
	c->members = calloc(n, sizeof(*c->members));
	if (!blocks || !c->members) {
		free(blocks);
		return -ENOMEM;
	}
	memcpy(blocks, comp, n * sizeof(*comp));
	if (sort_by_seq(g, blocks, n)) {
		free(blocks);
		return -ENOMEM;
	}
	c->n = n;
	for (uint32_t i = 0; i < n; i++) {
		c->members[i].block = blocks[i];
		c->bytes += g->size[blocks[i]];
	}
	free(blocks);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t b = c->members[i].block;
		uint32_t first = c->nedges; /* b's edges start here */
		for (uint64_t e = g->out[b]; e < g->out[b + 1]; e++) {
			uint32_t d = g->edges[e].dst;
			if (scc[d] != scc[b])
				continue;
			uint32_t to = member_of(c, d);
			int seen = 0;
			for (uint32_t k = first; k < c->nedges; k++)
				seen |= c->edges[k].to == to;
			if (seen)
				continue;
			if (grow((void **)&c->edges, &cap, c->nedges + 1, sizeof(*c->edges)))
				return -ENOMEM;
			c->edges[c->nedges++] = (struct hs_cycle_edge){i, to, g->edges[e].src_off};
		}
	}
	return 0;
}

long graph_cycles(struct hs_graph *g, struct hs_cycle **out)
{
	uint64_t n = g->n;
	uint32_t *index = malloc((n + 1) * sizeof(uint32_t)), *low = malloc((n + 1) * sizeof(uint32_t));
	uint32_t *scc = malloc((n + 1) * sizeof(uint32_t)), *stk = malloc((n + 1) * sizeof(uint32_t));
	uint8_t *on = calloc(n + 1, 1);
	struct frame {
		uint32_t b;
		uint64_t e;
	} *call = malloc((n + 1) * sizeof(struct frame));
	uint32_t next_index = 1, nstk = 0, nscc = 0;
	struct hs_cycle *cycles = NULL;
	uint64_t ncycles = 0, cap = 0;
	long rc = -ENOMEM;

	if (!index || !low || !scc || !stk || !on || !call)
		goto out;
	memset(index, 0, (n + 1) * sizeof(uint32_t));
	/* Iterative Tarjan over leaked blocks and the edges between them. */
	for (uint64_t root = 0; root < n; root++) {
		if (!leaked(g, (uint32_t)root) || index[root])
			continue;
		uint64_t depth = 0;
		call[depth++] = (struct frame){(uint32_t)root, g->out[root]};
		index[root] = low[root] = next_index++;
		stk[nstk++] = (uint32_t)root;
		on[root] = 1;
		while (depth) {
			struct frame *f = &call[depth - 1];
			if (f->e < g->out[f->b + 1]) {
				uint32_t d = g->edges[f->e++].dst;
				if (!leaked(g, d))
					continue;
				if (!index[d]) {
					index[d] = low[d] = next_index++;
					stk[nstk++] = d;
					on[d] = 1;
					call[depth++] = (struct frame){d, g->out[d]};
				} else if (on[d] && index[d] < low[f->b]) {
					low[f->b] = index[d];
				}
				continue;
			}
			uint32_t b = f->b;
			depth--;
			if (depth && low[b] < low[call[depth - 1].b])
				low[call[depth - 1].b] = low[b];
			if (low[b] != index[b])
				continue;
			uint32_t k = nstk;
			do {
				uint32_t m = stk[--k];
				on[m] = 0;
				scc[m] = nscc;
			} while (stk[k] != b);
			uint32_t size = nstk - k;
			int self_loop = 0;
			if (size == 1)
				for (uint64_t e = g->out[b]; e < g->out[b + 1]; e++)
					self_loop |= g->edges[e].dst == b;
			/* A candidate: enough members; kept in scc order, checked
			 * for entering edges below. */
			if (size >= 2 || self_loop) {
				if (grow((void **)&cycles, &cap, ncycles + 1, sizeof(*cycles)))
					goto out;
				int mc = make_cycle(g, stk + k, size, scc, &cycles[ncycles]);
				ncycles++; /* freed with the others, whole or not */
				if (mc)
					goto out;
			}
			nstk = k;
			nscc++;
		}
	}
	/* Drop the components that a leaked block outside points into. */
	uint8_t *entered = calloc(nscc + 1, 1);
	if (!entered)
		goto out;
	for (uint64_t b = 0; b < n; b++) {
		if (!leaked(g, (uint32_t)b))
			continue;
		for (uint64_t e = g->out[b]; e < g->out[b + 1]; e++) {
			uint32_t d = g->edges[e].dst;
			if (leaked(g, d) && scc[d] != scc[b])
				entered[scc[d]] = 1;
		}
	}
	uint64_t kept = 0;
	for (uint64_t i = 0; i < ncycles; i++) {
		struct hs_cycle *c = &cycles[i];
		if (entered[scc[c->members[0].block]]) {
			free(c->members);
			free(c->edges);
			continue;
		}
		/* Nothing outside points in: the first allocated member is the
		 * definite one, whichever the clique walk happened to start at. */
		for (uint32_t k = 0; k < c->n; k++) {
			struct hs_cycle_member *m = &c->members[k];
			g->kind[m->block] = k ? HS_INDIRECT : HS_DEFINITE;
			m->addr = g->addr[m->block];
			m->size = g->size[m->block];
			m->stack = g->stack[m->block];
			m->kind = g->kind[m->block];
		}
		cycles[kept++] = *c;
	}
	free(entered);
	*out = cycles;
	cycles = NULL;
	rc = (long)kept;
	ncycles = 0;
out:
	graph_free_cycles(cycles, (long)ncycles);
	free(index);
	free(low);
	free(scc);
	free(stk);
	free(on);
	free(call);
	return rc;
}
