/*
 * dom.c - dominators of the reference graph (semi-NCA and Cooper-Harvey-
 * Kennedy), the dominator tree in preorder, retained sizes.
 *
 * Vertices are the blocks 0..n-1 and the virtual root n.  The depth-first
 * search numbers them in preorder from 1 (the root); 0 means unreached.
 * Everything is iterative: a linked list of millions of blocks is a path
 * of millions of vertices.
 */
#define _GNU_SOURCE
#include "analyze/dom.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/assert.h"

/* The graph as the algorithms see it: successors (the graph's edges, the
 * root's from its root edges) and predecessors. */
struct dgraph {
	const struct hs_graph *g;
	uint32_t n;	    /* blocks; the root is vertex n */
	uint32_t *pred_off; /* by vertex: its first predecessor in pred (n + 2 entries) */
	uint32_t *pred;	    /* sources of the edges into each vertex, grouped */
	uint8_t *entry;	    /* by block: a child of the root that no root reaches (a leak's entry) */
};

/* The depth-first search. */
struct dfs {
	uint32_t *pre;	  /* by vertex: preorder number, 0 unreached */
	uint32_t *vertex; /* by number: the vertex */
	uint32_t *parent; /* by number: the number of its DFS parent (0 for the root) */
	uint32_t *post;	  /* by vertex: postorder number from 1 (DOM_CHK only) */
	uint32_t *rpo;	  /* vertices in reverse postorder (DOM_CHK only) */
	uint32_t count;	  /* vertices numbered */
};

static void *alloc_n(uint64_t n, size_t size)
{
	return malloc((size_t)(n ? n : 1) * size);
}

/* Predecessor lists: every edge between blocks, and the root's edges. */
static int preds_build(struct dgraph *dg)
{
	const struct hs_graph *g = dg->g;
	uint64_t total = g->nedges + g->nroot_edges;

	if (total >= UINT32_MAX)
		return -EINVAL;
	dg->pred_off = calloc((size_t)dg->n + 2, sizeof(uint32_t));
	dg->pred = alloc_n(total, sizeof(uint32_t));
	if (!dg->pred_off || !dg->pred)
		return -ENOMEM;
	for (uint64_t e = 0; e < g->nedges; e++)
		dg->pred_off[g->edges[e].dst + 1]++;
	for (uint64_t e = 0; e < g->nroot_edges; e++)
		dg->pred_off[g->root_edges[e].dst + 1]++;
	for (uint32_t v = 0; v <= dg->n; v++)
		dg->pred_off[v + 1] += dg->pred_off[v];
	uint32_t *fill = alloc_n((uint64_t)dg->n + 1, sizeof(uint32_t));
	if (!fill)
		return -ENOMEM;
	memcpy(fill, dg->pred_off, ((size_t)dg->n + 1) * sizeof(uint32_t));
	for (uint32_t b = 0; b < dg->n; b++)
		for (uint64_t e = g->out[b]; e < g->out[b + 1]; e++)
			dg->pred[fill[g->edges[e].dst]++] = b;
	for (uint64_t e = 0; e < g->nroot_edges; e++)
		dg->pred[fill[g->root_edges[e].dst]++] = dg->n;
	free(fill);
	return 0;
}

/* One frame of the search: a block and its next edge. */
struct dfs_frame {
	uint32_t v;
	uint64_t e;
};

/* Number block v, a child of the vertex numbered parent. */
static void dfs_visit(struct dfs *s, uint32_t v, uint32_t parent)
{
	uint32_t k = ++s->count;

	s->pre[v] = k;
	s->vertex[k] = v;
	s->parent[k] = parent;
}

/* Search from block top, a child of the root, numbering what it reaches;
 * stack has room for every block. */
static void dfs_from(const struct dgraph *dg, struct dfs *s, struct dfs_frame *stack, uint32_t top, uint32_t *npost)
{
	const struct hs_graph *g = dg->g;
	uint64_t depth = 1;

	dfs_visit(s, top, 1);
	stack[0] = (struct dfs_frame){top, g->out[top]};
	while (depth) {
		struct dfs_frame *f = &stack[depth - 1];
		uint32_t next = UINT32_MAX;
		while (f->e < g->out[f->v + 1]) {
			uint32_t d = g->edges[f->e++].dst;
			if (!s->pre[d]) {
				next = d;
				break;
			}
		}
		if (next == UINT32_MAX) {
			if (s->post) {
				s->post[f->v] = ++*npost;
				s->rpo[dg->n + 1 - *npost] = f->v;
			}
			depth--;
			continue;
		}
		dfs_visit(s, next, s->pre[f->v]);
		stack[depth++] = (struct dfs_frame){next, g->out[next]};
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/*
 * Number every vertex: the root, what its edges reach, then, as more
 * children of the root, each block still unreached in allocation order
 * (the leaders of leaked structures come first, as in graph_classify).
 * Postorder too when s->post is set (rpo[0] is the root, rpo[1..n] the
 * blocks).  Return 0 or -ENOMEM.
 */
static int dfs_number(struct dgraph *dg, struct dfs *s, uint64_t *reached)
{
	const struct hs_graph *g = dg->g;
	uint32_t n = dg->n, npost = 0;
	struct dfs_frame *stack = alloc_n(n, sizeof(*stack));
	uint64_t nu = 0, *keys = NULL;

	if (!stack)
		return -ENOMEM;
	dfs_visit(s, n, 0);
	for (uint64_t e = 0; e < g->nroot_edges; e++)
		if (!s->pre[g->root_edges[e].dst])
			dfs_from(dg, s, stack, g->root_edges[e].dst, &npost);
	*reached = s->count - 1;
	for (uint32_t b = 0; b < n; b++)
		nu += !s->pre[b];
	if (nu && !(keys = malloc(nu * sizeof(*keys)))) {
		free(stack);
		return -ENOMEM;
	}
	nu = 0;
	for (uint32_t b = 0; b < n; b++)
		if (!s->pre[b])
			keys[nu++] = (uint64_t)g->seq[b] << 32 | b;
	if (nu > 1)
		qsort(keys, nu, sizeof(*keys), cmp_u64);
	for (uint64_t i = 0; i < nu; i++) {
		uint32_t b = (uint32_t)keys[i];
		if (s->pre[b])
			continue;
		dg->entry[b] = 1;
		dfs_from(dg, s, stack, b, &npost);
	}
	if (s->post) {
		s->post[n] = ++npost;
		s->rpo[0] = n;
	}
	free(keys);
	free(stack);
	return 0;
}

/* ---- semi-NCA -------------------------------------------------------------------- */

/* Path compression of the link-eval forest, iteratively: the path from v
 * up is walked once down and once up. */
static uint32_t eval(uint32_t v, uint32_t *ancestor, uint32_t *label, const uint32_t *semi, uint32_t *path)
{
	uint32_t k = 0, x = v;

	while (ancestor[ancestor[x]]) {
		path[k++] = x;
		x = ancestor[x];
	}
	while (k--) {
		uint32_t y = path[k], a = ancestor[y];
		if (semi[label[a]] < semi[label[y]])
			label[y] = label[a];
		ancestor[y] = ancestor[a];
	}
	return label[v];
}

/* Immediate dominators by preorder number (idom[1] = 0, the root). */
static int snca(const struct dgraph *dg, const struct dfs *s, uint32_t *idom)
{
	uint32_t N = s->count;
	uint32_t *semi = alloc_n((uint64_t)N + 1, sizeof(uint32_t)), *label = alloc_n((uint64_t)N + 1, sizeof(uint32_t));
	uint32_t *ancestor = calloc((size_t)N + 1, sizeof(uint32_t)), *path = alloc_n((uint64_t)N + 1, sizeof(uint32_t));
	int rc = -ENOMEM;

	if (!semi || !label || !ancestor || !path)
		goto out;
	for (uint32_t i = 0; i <= N; i++)
		semi[i] = label[i] = i;
	for (uint32_t w = N; w >= 2; w--) {
		uint32_t v = s->vertex[w], sw = w;
		if (v < dg->n && dg->entry[v])
			sw = 1;
		for (uint32_t k = dg->pred_off[v]; k < dg->pred_off[v + 1]; k++) {
			uint32_t u = s->pre[dg->pred[k]];
			if (!u)
				continue;
			uint32_t c = u <= w ? u : semi[eval(u, ancestor, label, semi, path)];
			if (c < sw)
				sw = c;
		}
		semi[w] = sw;
		ancestor[w] = s->parent[w];
	}
	idom[1] = 0;
	for (uint32_t w = 2; w <= N; w++) {
		uint32_t d = s->parent[w];
		while (d > semi[w])
			d = idom[d];
		idom[w] = d;
	}
	rc = 0;
out:
	free(semi);
	free(label);
	free(ancestor);
	free(path);
	return rc;
}

/* ---- Cooper, Harvey, Kennedy ------------------------------------------------------- */

/* Immediate dominators by preorder number, from the iterative algorithm
 * over postorder numbers. */
static int chk(const struct dgraph *dg, const struct dfs *s, uint32_t *idom, unsigned *passes)
{
	uint32_t n = dg->n, N = s->count;
	uint32_t *doms = calloc((size_t)N + 2, sizeof(uint32_t)); /* by postorder number, 0 undefined */

	HS_ASSERT(N == n + 1); /* every vertex is numbered */

	if (!doms)
		return -ENOMEM;
	/* the root has the highest postorder number */
	uint32_t rootpo = s->post[n];
	doms[rootpo] = rootpo;
	int changed = 1;
	*passes = 0;
	while (changed) {
		changed = 0;
		++*passes;
		for (uint32_t i = 1; i <= n; i++) {
			uint32_t v = s->rpo[i], nd = 0;
			if (v < n && dg->entry[v])
				nd = rootpo;
			for (uint32_t k = dg->pred_off[v]; k < dg->pred_off[v + 1]; k++) {
				uint32_t p = dg->pred[k];
				if (!s->pre[p])
					continue;
				uint32_t a = s->post[p];
				if (!doms[a])
					continue;
				if (!nd) {
					nd = a;
					continue;
				}
				uint32_t b = nd;
				while (a != b) {
					while (a < b)
						a = doms[a];
					while (b < a)
						b = doms[b];
				}
				nd = a;
			}
			if (doms[s->post[v]] != nd) {
				doms[s->post[v]] = nd;
				changed = 1;
			}
		}
	}
	/* postorder number -> vertex -> preorder number */
	uint32_t *by_post = alloc_n((uint64_t)N + 2, sizeof(uint32_t));
	if (!by_post) {
		free(doms);
		return -ENOMEM;
	}
	for (uint32_t k = 1; k <= N; k++)
		by_post[s->post[s->vertex[k]]] = s->vertex[k];
	idom[1] = 0;
	for (uint32_t w = 2; w <= N; w++)
		idom[w] = s->pre[by_post[doms[s->post[s->vertex[w]]]]];
	free(by_post);
	free(doms);
	return 0;
}

/* ---- the tree ---------------------------------------------------------------------- */

/* From idom by preorder number: idom by block, the tree's preorder
 * (children in block order), spans, retained sizes. */
static int tree_build(const struct dgraph *dg, const struct dfs *s, const uint32_t *idom_pre, struct dom *d)
{
	uint32_t n = dg->n;
	uint32_t *child_off = calloc((size_t)n + 2, sizeof(uint32_t)), *child = alloc_n(n, sizeof(uint32_t));
	uint32_t *stack = alloc_n((uint64_t)n + 1, sizeof(uint32_t));
	int rc = -ENOMEM;

	d->idom = alloc_n(n, sizeof(uint32_t));
	d->retained = calloc(n ? n : 1, sizeof(uint64_t));
	d->order = alloc_n(n, sizeof(uint32_t));
	d->pos = alloc_n(n, sizeof(uint32_t));
	d->span = alloc_n(n, sizeof(uint32_t));
	if (!child_off || !child || !stack || !d->idom || !d->retained || !d->order || !d->pos || !d->span)
		goto out;
	for (uint32_t b = 0; b < n; b++) {
		uint32_t p = s->vertex[idom_pre[s->pre[b]]];
		d->idom[b] = p == n ? DOM_ROOT : p;
		child_off[(p == n ? n : p) + 1]++;
	}
	for (uint32_t v = 0; v <= n; v++)
		child_off[v + 1] += child_off[v];
	for (uint32_t b = 0; b < n; b++) {
		uint32_t p = d->idom[b] == DOM_ROOT ? n : d->idom[b];
		child[child_off[p]++] = b;
	}
	/* child_off[v] now ends v's children: the start is child_off[v - 1] */
	uint32_t npos = 0, depth = 0;
	for (uint32_t k = n ? child_off[n] : 0; k-- > (n ? child_off[n - 1] : 0);)
		stack[depth++] = child[k];
	while (depth) {
		uint32_t v = stack[--depth];
		if (v >= n) { /* a marker: the subtree of v - n - ... closed */
			uint32_t b = v - n - 1;
			d->span[b] = npos - d->pos[b];
			continue;
		}
		d->pos[v] = npos;
		d->order[npos++] = v;
		stack[depth++] = v + n + 1; /* close v after its children */
		uint32_t lo = v ? child_off[v - 1] : 0, hi = child_off[v];
		for (uint32_t k = hi; k-- > lo;)
			stack[depth++] = child[k];
	}
	for (uint32_t p = npos; p-- > 0;) {
		uint32_t v = d->order[p];
		d->retained[v] += dg->g->size[v];
		if (d->idom[v] != DOM_ROOT)
			d->retained[d->idom[v]] += d->retained[v];
	}
	rc = 0;
out:
	free(child_off);
	free(child);
	free(stack);
	return rc;
}

int dom_build(const struct hs_graph *g, enum dom_algo algo, struct dom *d)
{
	struct dgraph dg = {.g = g};
	struct dfs s = {0};
	uint32_t *idom_pre = NULL;
	int rc = -ENOMEM;

	memset(d, 0, sizeof(*d));
	/* block numbers, and twice them plus one for the tree's markers,
	 * must fit 32 bits */
	if (g->n >= UINT32_MAX / 2 - 1)
		return -EINVAL;
	dg.n = (uint32_t)g->n;
	d->n = g->n;
	if ((rc = preds_build(&dg)))
		goto out;
	rc = -ENOMEM;
	dg.entry = calloc((size_t)dg.n + 1, 1);
	s.pre = calloc((size_t)dg.n + 1, sizeof(uint32_t));
	s.vertex = alloc_n((uint64_t)dg.n + 2, sizeof(uint32_t));
	s.parent = alloc_n((uint64_t)dg.n + 2, sizeof(uint32_t));
	if (!dg.entry || !s.pre || !s.vertex || !s.parent)
		goto out;
	if (algo == DOM_CHK) {
		s.post = calloc((size_t)dg.n + 1, sizeof(uint32_t));
		s.rpo = alloc_n((uint64_t)dg.n + 2, sizeof(uint32_t));
		if (!s.post || !s.rpo)
			goto out;
	}
	if (dfs_number(&dg, &s, &d->reached))
		goto out;
	HS_ASSERT(s.count == dg.n + 1);
	if (!(idom_pre = alloc_n((uint64_t)dg.n + 2, sizeof(uint32_t))))
		goto out;
	rc = algo == DOM_CHK ? chk(&dg, &s, idom_pre, &d->passes) : snca(&dg, &s, idom_pre);
	if (rc)
		goto out;
	free(dg.pred);
	dg.pred = NULL;
	free(dg.pred_off);
	dg.pred_off = NULL;
	rc = tree_build(&dg, &s, idom_pre, d);
out:
	free(idom_pre);
	free(dg.pred_off);
	free(dg.pred);
	free(dg.entry);
	free(s.pre);
	free(s.vertex);
	free(s.parent);
	free(s.post);
	free(s.rpo);
	if (rc)
		dom_free(d);
	return rc;
}

void dom_free(struct dom *d)
{
	free(d->idom);
	free(d->retained);
	free(d->order);
	free(d->pos);
	free(d->span);
	memset(d, 0, sizeof(*d));
}
