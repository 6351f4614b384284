/*
 * retain.c - retained sizes and retainer paths (retain.h).
 */
#define _GNU_SOURCE
#include "analyze/retain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/frames.h"
#include "analyze/stacks.h"
#include "analyze/stats.h"
#include "analyze/symbols.h"
#include "analyze/trace.h"
#include "trace/format.h"
#include "util/diag.h"
#include "util/hashmap.h"

#define UNSEEN UINT32_MAX	 /* parent of a block the search has not reached */
#define FROM_ROOT (UINT32_MAX - 1) /* parent of a block a root points to */
#define DEFAULT_PATHS 10

const struct dom *retain_dom(struct hs_trace *t)
{
	struct hs_trace_priv *p = t->priv;

	if (!t->graph)
		return NULL;
	if (!p->dom && !p->dom_failed) {
		p->dom = calloc(1, sizeof(*p->dom));
		if (!p->dom || dom_build(t->graph, DOM_DEFAULT, p->dom)) {
			free(p->dom);
			p->dom = NULL;
			p->dom_failed = 1;
		}
	}
	return p->dom;
}

const uint64_t *hs_trace_retained(struct hs_trace *t)
{
	const struct dom *d = retain_dom(t);
	return d ? d->retained : NULL;
}

/* ---- naming roots ------------------------------------------------------------------ */

static const char *base_name(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;
	return s ? s + 1 : p ? p : "?";
}

void retain_name_root(struct hs_trace *t, uint32_t root, uint64_t off, struct hs_root_ref *r)
{
	const struct hs_graph *g = t->graph;

	memset(r, 0, sizeof(*r));
	if (root >= g->nroots) {
		/* an edge from a root the scan never described (a damaged
		 * trace): named by its number */
		r->root = root;
		r->offset = off;
		snprintf(r->name, sizeof(r->name), "root %u (not described in the trace)", root);
		return;
	}
	const struct hs_root *R = &g->roots[root];
	r->kind = R->kind;
	r->root = root;
	r->address = R->addr + off;
	r->offset = off;
	r->thread = R->thread;
	switch (R->kind) {
	case HS_ROOT_GLOBAL: {
		struct sym_data sd = {0};
		if (t->priv->have_stacks)
			(void)sym_data(t->priv->st.sym, r->address, &sd);
		r->module = sd.module ? sd.module : R->name;
		r->section = sd.section;
		r->symbol = sd.symbol;
		if (sd.symbol) {
			r->offset = r->address - sd.start;
			snprintf(r->name, sizeof(r->name), "%s (%s, %s)", sd.symbol, base_name(r->module),
				 sd.section ? sd.section : "data");
		} else {
			snprintf(r->name, sizeof(r->name), "%s %s", base_name(r->module), sd.section ? sd.section : "data");
		}
		break;
	}
	case HS_ROOT_STACK: {
		/* one frame of the stack: its function holds the pointer */
		struct hs_frame f[8];
		int nf = R->pc && t->priv->have_stacks ? sym_lookup(t->priv->st.sym, R->pc, f, 8) : 0;
		if (nf && f[0].function) {
			r->function = f[0].function;
			if (f[0].file && f[0].line)
				snprintf(r->name, sizeof(r->name), "the stack of thread %u, in %s (%s:%u)", R->thread,
					 f[0].function, base_name(f[0].file), f[0].line);
			else
				snprintf(r->name, sizeof(r->name), "the stack of thread %u, in %s (%s)", R->thread,
					 f[0].function, base_name(f[0].module));
		} else {
			snprintf(r->name, sizeof(r->name), "the stack of thread %u", R->thread);
		}
		break;
	}
	case HS_ROOT_REGS:
		snprintf(r->name, sizeof(r->name), "the registers of thread %u", R->thread);
		break;
	case HS_ROOT_TLS:
		snprintf(r->name, sizeof(r->name), "the TLS of thread %u", R->thread);
		break;
	case HS_ROOT_IGNORED: {
		int64_t b = hs_graph_block_at(g, R->addr);
		char site[256];
		snprintf(r->name, sizeof(r->name), "a block given to heapsnap_ignore() (%s)",
			 b >= 0 ? hs_trace_site(t, g->stack[b], site, sizeof(site)) : "?");
		break;
	}
	default:
		snprintf(r->name, sizeof(r->name), "%s mapping at 0x%llx", R->name && *R->name ? R->name : "[anon]",
			 (unsigned long long)R->addr);
		break;
	}
}

/* ---- strings interned for one query -------------------------------------------------- */

struct strtab {
	char **s;
	size_t n, cap;
	struct hashmap idx; /* hash -> index + 1 of the first with it (probing on) */
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h ? h : 1;
}

/* The index of s in tab, added if new; -1 when out of memory. */
static long strtab_id(struct strtab *tab, const char *s, int add)
{
	uint64_t h = str_hash(s);

	for (;; h = h + 1 ? h + 1 : 1) {
		uint64_t *v = hashmap_get(&tab->idx, h);
		if (!v)
			break;
		if (!strcmp(tab->s[*v], s))
			return (long)*v;
	}
	if (!add)
		return -2;
	if (tab->n == tab->cap) {
		size_t cap = tab->cap ? 2 * tab->cap : 64;
		char **n2 = realloc(tab->s, cap * sizeof(*n2));
		if (!n2)
			return -1;
		tab->s = n2;
		tab->cap = cap;
	}
	if (!(tab->s[tab->n] = strdup(s)) || hashmap_put(&tab->idx, h, tab->n)) {
		free(tab->s[tab->n]);
		return -1;
	}
	return (long)tab->n++;
}

static void strtab_free(struct strtab *tab)
{
	for (size_t i = 0; i < tab->n; i++)
		free(tab->s[i]);
	free(tab->s);
	hashmap_free(&tab->idx);
}

/* ---- the query ---------------------------------------------------------------------- */

/* The shape of the chains to some blocks: a root and the sites after it. */
struct shape {
	uint32_t up;	   /* the shape one hop shorter; UINT32_MAX at the first hop */
	uint32_t site;	   /* site id of this hop */
	uint32_t root;	   /* first hop: the root's name id (roots table) */
	uint64_t off_min, off_max, link_min, link_max;
	uint64_t depth;
	uint64_t blocks, bytes, retained;
	uint64_t paths_blocks, paths_bytes; /* targets whose chain ends here */
	uint64_t until;			   /* dominator-tree position its last counted
					    * block's subtree ends at */
};

/* Everything one hs_retainers_find call holds. */
struct query {
	struct hs_trace *t;
	const struct hs_graph *g;
	const struct dom *d;
	struct hs_group group;
	uint32_t *parent;   /* by block: its chain parent, FROM_ROOT or UNSEEN */
	uint32_t *pedge;    /* by block: the edge from it (a root edge under FROM_ROOT) */
	uint32_t *bfs;	    /* the blocks in the order the search reached them */
	uint32_t nbfs;
	uint32_t *target;   /* by block: target index + 1, 0 none */
	uint32_t *stamp;    /* by block: the target + 1 whose chains it is on */
	uint32_t *shape_of; /* by block (on the current target's chains) */
	uint32_t *run;	    /* by block: its place in a run of one site */
	struct hashmap stack_site; /* stack id + 1 -> site id */
	struct strtab sites;	   /* site texts */
	uint32_t *site_stack;	   /* by site id: the stack it was first seen with */
	struct strtab roots;	   /* root names */
	struct hs_root_ref *root_refs; /* by root name id: the first such root */
	size_t nroot_refs;
	struct shape *shapes;
	size_t nshapes, capshapes;
	struct hashmap shape_idx; /* (up + 1) << 32 | site, or root id | 1 << 63 ... -> shape */
};

static int oom(struct hs_diag *d, const struct hs_trace *t)
{
	diag_set(d, "%s: out of memory", t->path);
	return -ENOMEM;
}

/* The site id of block b's stack. */
static long site_of(struct query *q, uint32_t b)
{
	uint64_t key = (uint64_t)q->g->stack[b] + 1;
	uint64_t *v = hashmap_get(&q->stack_site, key);
	char buf[1024];

	if (v)
		return (long)*v;
	long id = strtab_id(&q->sites, hs_trace_site(q->t, q->g->stack[b], buf, sizeof(buf)), 1);
	if (id < 0 || hashmap_put(&q->stack_site, key, (uint64_t)id))
		return -1;
	if ((size_t)id + 1 == q->sites.n) { /* new: the sites table grew by one */
		uint32_t *n2 = realloc(q->site_stack, q->sites.n * sizeof(*n2));
		if (!n2)
			return -1;
		q->site_stack = n2;
		q->site_stack[id] = q->g->stack[b];
	}
	return id;
}

/* The rank of a root kind in the search: what a person recognizes first. */
static int root_rank(int kind)
{
	switch (kind) {
	case HS_ROOT_GLOBAL:
		return 0;
	case HS_ROOT_IGNORED:
		return 1;
	case HS_ROOT_TLS:
		return 2;
	case HS_ROOT_STACK:
		return 3;
	case HS_ROOT_ANON:
		return 4;
	default:
		return 5;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The breadth-first search from the roots: every reached block's chain
 * parent, in rank order of the roots.  Return 0 or -ENOMEM. */
static int search(struct query *q)
{
	const struct hs_graph *g = q->g;
	uint64_t *order = malloc((g->nroot_edges ? g->nroot_edges : 1) * sizeof(*order));

	if (!order)
		return -ENOMEM;
	/* rank (3 bits), root number (29), edge (32): roots in rank order,
	 * then by number, each root's edges in offset order */
	for (uint64_t e = 0; e < g->nroot_edges; e++) {
		uint32_t r = g->root_of_edge[e];
		int kind = r < g->nroots ? g->roots[r].kind : 0;
		order[e] = (uint64_t)root_rank(kind) << 61 | (uint64_t)(r & 0x1fffffff) << 32 | e;
	}
	if (g->nroot_edges > 1)
		qsort(order, g->nroot_edges, sizeof(*order), cmp_u64);
	for (uint64_t i = 0; i < g->n; i++)
		q->parent[i] = UNSEEN;
	uint32_t head = 0;
	for (uint64_t i = 0; i < g->nroot_edges; i++) {
		uint32_t e = (uint32_t)order[i], b = g->root_edges[e].dst;
		if (q->parent[b] != UNSEEN)
			continue;
		q->parent[b] = FROM_ROOT;
		q->pedge[b] = e;
		q->bfs[q->nbfs++] = b;
	}
	free(order);
	for (; head < q->nbfs; head++) {
		uint32_t b = q->bfs[head];
		for (uint64_t e = g->out[b]; e < g->out[b + 1]; e++) {
			uint32_t d = g->edges[e].dst;
			if (q->parent[d] != UNSEEN)
				continue;
			q->parent[d] = b;
			q->pedge[d] = (uint32_t)e;
			q->bfs[q->nbfs++] = d;
		}
	}
	return 0;
}

/* ---- targets ---------------------------------------------------------------------- */

/* Does the glob match block b's site: its function, "file:line",
 * "basename:line" or "function file:line"? */
static int site_matches(struct query *q, const char *pat, uint32_t stack)
{
	const struct hs_stack *s = hs_trace_stack(q->t, stack);
	char buf[1024];

	if (frames_glob(pat, hs_trace_site(q->t, stack, buf, sizeof(buf))))
		return 1;
	if (!s->n)
		return 0;
	const struct hs_frame *f = &s->frames[0];
	if (f->function && frames_glob(pat, f->function))
		return 1;
	if (f->file && f->line) {
		snprintf(buf, sizeof(buf), "%s:%u", f->file, f->line);
		if (frames_glob(pat, buf))
			return 1;
		snprintf(buf, sizeof(buf), "%s:%u", base_name(f->file), f->line);
		return frames_glob(pat, buf);
	}
	return 0;
}

/* Fill q->target by stack: the target each block belongs to.  Targets are
 * made in r->targets (key, one site).  Return 0, or -ENOMEM. */
static int pick_targets(struct query *q, const struct hs_retainers_query *qq, struct hs_retainers *r)
{
	const struct hs_graph *g = q->g;
	struct hashmap by_stack;
	struct strtab keys = {0};
	size_t cap = 0;
	char key[4096];
	int rc = -ENOMEM;

	if (hashmap_init(&by_stack, 256) || hashmap_init(&keys.idx, 64))
		goto out;
	for (uint64_t b = 0; b < g->n; b++) {
		uint32_t stack = g->stack[b];
		uint64_t *v = hashmap_get(&by_stack, (uint64_t)stack + 1);
		if (v) {
			q->target[b] = (uint32_t)*v;
			continue;
		}
		const struct hs_stack *s = hs_trace_stack(q->t, stack);
		long ti = -1;
		stats_key(s, &q->group, key, sizeof(key));
		int want = (qq->site && site_matches(q, qq->site, stack));
		for (long i = 0; !want && qq->lines && i < qq->nlines; i++)
			want = !strcmp(qq->lines[i].key, key);
		if (want) {
			ti = strtab_id(&keys, key, 1);
			if (ti < 0)
				goto out;
			if ((size_t)ti == r->ntargets) {
				if (r->ntargets == cap) {
					cap = cap ? 2 * cap : 16;
					struct hs_retainer_target *n2 = realloc(r->targets, cap * sizeof(*n2));
					if (!n2)
						goto out;
					r->targets = n2;
				}
				struct hs_retainer_target *tg = &r->targets[r->ntargets++];
				memset(tg, 0, sizeof(*tg));
				char site[1024];
				tg->key = strdup(key);
				tg->site = strdup(hs_trace_site(q->t, stack, site, sizeof(site)));
				tg->stack = stack;
				if (!tg->key || !tg->site)
					goto out;
				for (long i = 0; qq->lines && i < qq->nlines; i++)
					if (!strcmp(qq->lines[i].key, key) && qq->lines[i].sizes && qq->nsizes > 0) {
						tg->sizes = malloc((size_t)qq->nsizes * sizeof(uint64_t));
						if (!tg->sizes)
							goto out;
						memcpy(tg->sizes, qq->lines[i].sizes, (size_t)qq->nsizes * sizeof(uint64_t));
						tg->nsizes = qq->nsizes;
					}
			}
		}
		uint32_t val = (uint32_t)(ti + 1);
		if (hashmap_put(&by_stack, (uint64_t)stack + 1, val))
			goto out;
		q->target[b] = val;
	}
	rc = 0;
out:
	hashmap_free(&by_stack);
	strtab_free(&keys);
	return rc;
}

/* --address: the block holding addr is the one target. */
static int pick_address(struct query *q, uint64_t addr, struct hs_retainers *r, struct hs_diag *d)
{
	const struct hs_graph *g = q->g;
	uint64_t lo = 0, hi = g->n;
	char site[1024], key[64];

	while (lo < hi) {
		uint64_t mid = (lo + hi) / 2;
		if (g->addr[mid] <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || addr >= g->addr[lo - 1] + (g->size[lo - 1] ? g->size[lo - 1] : 1)) {
		diag_set(d, "%s: no block holds the address 0x%llx at this scan", q->t->path, (unsigned long long)addr);
		return -EINVAL;
	}
	uint32_t b = (uint32_t)(lo - 1);
	memset(q->target, 0, g->n * sizeof(*q->target));
	q->target[b] = 1;
	if (!(r->targets = calloc(1, sizeof(*r->targets))))
		return -ENOMEM;
	r->ntargets = 1;
	snprintf(key, sizeof(key), "0x%llx", (unsigned long long)g->addr[b]);
	r->targets[0].key = strdup(key);
	r->targets[0].site = strdup(hs_trace_site(q->t, g->stack[b], site, sizeof(site)));
	r->targets[0].stack = g->stack[b];
	r->targets[0].address = g->addr[b];
	return r->targets[0].key && r->targets[0].site ? 0 : -ENOMEM;
}

/* ---- shapes ---------------------------------------------------------------------- */

/* The shape after up (UINT32_MAX: from root name id root) with site
 * appended; made when new.  Return its index, or -1. */
static long shape_get(struct query *q, uint32_t up, uint32_t root, uint32_t site)
{
	uint64_t key = up == UINT32_MAX ? (1ull << 63 | (uint64_t)root << 32 | site) : ((uint64_t)up + 1) << 32 | site;
	uint64_t *v = hashmap_get(&q->shape_idx, key);

	if (v)
		return (long)*v;
	if (q->nshapes == q->capshapes) {
		size_t cap = q->capshapes ? 2 * q->capshapes : 64;
		struct shape *n2 = realloc(q->shapes, cap * sizeof(*n2));
		if (!n2)
			return -1;
		q->shapes = n2;
		q->capshapes = cap;
	}
	if (hashmap_put(&q->shape_idx, key, q->nshapes))
		return -1;
	struct shape *s = &q->shapes[q->nshapes];
	memset(s, 0, sizeof(*s));
	s->up = up;
	s->site = site;
	s->root = root;
	s->off_min = s->link_min = UINT64_MAX;
	return (long)q->nshapes++;
}

static void widen(uint64_t *lo, uint64_t *hi, uint64_t v)
{
	if (v < *lo)
		*lo = v;
	if (v > *hi)
		*hi = v;
}

/* The root name id of the root edge e; the name's offset in *off. */
static long root_of(struct query *q, uint32_t e, uint64_t *off)
{
	struct hs_root_ref ref;
	uint32_t root = q->g->root_of_edge[e];

	retain_name_root(q->t, root, q->g->root_edge_off[e], &ref);
	*off = ref.offset;
	long id = strtab_id(&q->roots, ref.name, 1);
	if (id < 0)
		return -1;
	if ((size_t)id == q->nroot_refs) {
		struct hs_root_ref *n2 = realloc(q->root_refs, ((size_t)id + 1) * sizeof(*n2));
		if (!n2)
			return -1;
		q->root_refs = n2;
		q->root_refs[q->nroot_refs++] = ref;
	}
	return id;
}

/* Shape block b, on the chains of the target being answered; its chain
 * parent is shaped already (the search order).  Return 0 or -ENOMEM. */
static int shape_one(struct query *q, uint32_t b)
{
	const struct hs_graph *g = q->g;
	uint32_t p = q->parent[b];
	long site = site_of(q, b), sh;
	uint64_t off;

	if (site < 0)
		return -ENOMEM;
	if (p == FROM_ROOT) {
		long root = root_of(q, q->pedge[b], &off);
		if (root < 0 || (sh = shape_get(q, UINT32_MAX, (uint32_t)root, (uint32_t)site)) < 0)
			return -ENOMEM;
		q->run[b] = 1;
		widen(&q->shapes[sh].off_min, &q->shapes[sh].off_max, off);
	} else {
		uint32_t up = q->shape_of[p];
		off = g->edges[q->pedge[b]].src_off;
		if (q->shapes[up].site == (uint32_t)site) { /* a run goes on */
			sh = up;
			q->run[b] = q->run[p] + 1;
			widen(&q->shapes[sh].link_min, &q->shapes[sh].link_max, off);
		} else {
			if ((sh = shape_get(q, up, 0, (uint32_t)site)) < 0)
				return -ENOMEM;
			q->run[b] = 1;
			widen(&q->shapes[sh].off_min, &q->shapes[sh].off_max, off);
		}
	}
	struct shape *s = &q->shapes[sh];
	q->shape_of[b] = (uint32_t)sh;
	s->blocks++;
	s->bytes += g->size[b];
	if (q->run[b] > s->depth)
		s->depth = q->run[b];
	return 0;
}

static int by_path_bytes(const void *a, const void *b, void *arg)
{
	const struct shape *s = arg;
	const struct shape *x = &s[*(const uint32_t *)a], *y = &s[*(const uint32_t *)b];
	if (x->paths_bytes != y->paths_bytes)
		return x->paths_bytes < y->paths_bytes ? 1 : -1;
	if (x->paths_blocks != y->paths_blocks)
		return x->paths_blocks < y->paths_blocks ? 1 : -1;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

/* The path of shape sh: its hops from the root. */
static int make_path(struct query *q, uint32_t sh, struct hs_retainer_path *p)
{
	int n = 0;

	for (uint32_t s = sh; s != UINT32_MAX; s = q->shapes[s].up)
		n++;
	memset(p, 0, sizeof(*p));
	if (!(p->hops = calloc((size_t)n, sizeof(*p->hops))))
		return -ENOMEM;
	p->nhops = n;
	for (uint32_t s = sh; s != UINT32_MAX; s = q->shapes[s].up) {
		const struct shape *x = &q->shapes[s];
		struct hs_retainer_hop *h = &p->hops[--n];
		if (!(h->site = strdup(q->sites.s[x->site])))
			return -ENOMEM;
		h->stack = q->site_stack[x->site];
		h->off_min = x->off_min;
		h->off_max = x->off_max;
		h->depth = x->depth;
		h->link_min = x->depth > 1 ? x->link_min : 0;
		h->link_max = x->depth > 1 ? x->link_max : 0;
		h->blocks = x->blocks;
		h->bytes = x->bytes;
		h->retained = x->retained;
		if (x->up == UINT32_MAX)
			p->root = q->root_refs[x->root];
	}
	p->blocks = q->shapes[sh].paths_blocks;
	p->bytes = q->shapes[sh].paths_bytes;
	return 0;
}

/*
 * One target: its chains, their shapes, its paths.  Each step is one pass
 * over the blocks in the order it needs (the search's, the dominator
 * tree's), skipping those off the target's chains: linear in the blocks,
 * with no sort, however many lie on the chains.
 */
static int answer(struct query *q, uint32_t ti, struct hs_retainer_target *tg, int max_paths)
{
	const struct hs_graph *g = q->g;
	const struct dom *d = q->d;
	const uint32_t mark = ti + 1;
	uint32_t *order = NULL;
	int rc = -ENOMEM;

	/* the target's blocks, and every block on their chains, stamped */
	for (uint64_t b = 0; b < g->n; b++) {
		if (q->target[b] != mark)
			continue;
		tg->blocks++;
		tg->bytes += g->size[b];
		if (q->parent[b] == UNSEEN) {
			tg->leaked_blocks++;
			tg->leaked_bytes += g->size[b];
			continue;
		}
		for (uint32_t x = (uint32_t)b; x != FROM_ROOT && q->stamp[x] != mark; x = q->parent[x])
			q->stamp[x] = mark;
	}
	/* what the target's blocks retain, each once: in the dominator
	 * tree's preorder a block's subtree is the range after it */
	for (uint64_t p = 0, until = 0; p < g->n; p++) {
		uint32_t b = d->order[p];
		if (q->target[b] != mark || p < until)
			continue;
		tg->retained += d->retained[b];
		until = p + d->span[b];
	}
	/* shapes, parents before children */
	q->nshapes = 0;
	hashmap_free(&q->shape_idx);
	if (hashmap_init(&q->shape_idx, 64))
		goto out;
	for (uint32_t i = 0; i < q->nbfs; i++)
		if (q->stamp[q->bfs[i]] == mark && shape_one(q, q->bfs[i]))
			goto out;
	/* what each shape's blocks retain, each once */
	for (uint64_t p = 0; p < g->n; p++) {
		uint32_t b = d->order[p];
		if (q->stamp[b] != mark)
			continue;
		struct shape *s = &q->shapes[q->shape_of[b]];
		if (p < s->until)
			continue;
		s->retained += d->retained[b];
		s->until = p + d->span[b];
	}
	for (uint64_t b = 0; b < g->n; b++) {
		if (q->target[b] != mark || q->parent[b] == UNSEEN)
			continue;
		struct shape *s = &q->shapes[q->shape_of[b]];
		s->paths_blocks++;
		s->paths_bytes += g->size[b];
	}
	/* the paths: the shapes some target's chain ends at */
	uint64_t np = 0;
	if (!(order = malloc((q->nshapes ? q->nshapes : 1) * sizeof(*order))))
		goto out;
	for (size_t s = 0; s < q->nshapes; s++)
		if (q->shapes[s].paths_blocks)
			order[np++] = (uint32_t)s;
	if (np > 1) /* qsort of nothing may be given NULL */
		qsort_r(order, np, sizeof(*order), by_path_bytes, q->shapes);
	size_t keep = np < (uint64_t)max_paths ? np : (size_t)max_paths;
	if (!(tg->paths = calloc(keep ? keep : 1, sizeof(*tg->paths))))
		goto out;
	for (size_t i = 0; i < keep; i++) {
		if (make_path(q, order[i], &tg->paths[i]))
			goto out;
		tg->npaths++;
	}
	for (uint64_t i = keep; i < np; i++) {
		tg->more_paths++;
		tg->more_blocks += q->shapes[order[i]].paths_blocks;
		tg->more_bytes += q->shapes[order[i]].paths_bytes;
	}
	rc = 0;
out:
	free(order);
	return rc;
}

/* ---- one block: the shortest chain from each root ------------------------------------- */

/* A root that reaches the block: its shortest chain's length and edge. */
struct root_chain {
	uint64_t len;	/* blocks on the chain */
	uint64_t order; /* the root edge's place in search order (rank, root, edge) */
	uint32_t edge;	/* the root edge */
};

static int by_chain(const void *a, const void *b)
{
	const struct root_chain *x = a, *y = b;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* The path of one chain: from root edge e through the blocks chain[0..n)
 * (the target last; via[i] the edge into chain[i] from chain[i - 1]),
 * runs of one site as one hop.  Return 0 or -ENOMEM. */
static int chain_path(struct query *q, uint32_t e, const uint32_t *chain, const uint32_t *via, uint64_t n,
		      struct hs_retainer_path *p)
{
	const struct hs_graph *g = q->g;
	const struct dom *d = q->d;
	uint64_t off;

	memset(p, 0, sizeof(*p));
	retain_name_root(q->t, g->root_of_edge[e], g->root_edge_off[e], &p->root);
	if (!(p->hops = calloc(n, sizeof(*p->hops))))
		return -ENOMEM;
	off = p->root.offset;
	long prev = -1;
	for (uint64_t i = 0; i < n; i++) {
		uint32_t b = chain[i];
		long site = site_of(q, b);
		if (site < 0)
			return -ENOMEM;
		struct hs_retainer_hop *h;
		if (site == prev) { /* the run goes on */
			h = &p->hops[p->nhops - 1];
			uint64_t link = g->edges[via[i]].src_off;
			if (h->depth == 1 || link < h->link_min)
				h->link_min = link;
			if (h->depth == 1 || link > h->link_max)
				h->link_max = link;
			h->depth++;
		} else {
			h = &p->hops[p->nhops++];
			if (i)
				off = g->edges[via[i]].src_off;
			h->off_min = h->off_max = off;
			h->depth = 1;
			h->stack = g->stack[b];
			if (!(h->site = strdup(q->sites.s[site])) || !(h->addrs = malloc(n * sizeof(uint64_t))))
				return -ENOMEM;
		}
		h->addrs[h->naddrs++] = g->addr[b];
		h->blocks++;
		h->bytes += g->size[b];
		/* each block once: one that another of the hop dominates is in its */
		int covered = 0;
		for (uint64_t k = i - h->naddrs + 1; k < i; k++)
			covered |= dom_covers(d, chain[k], b);
		if (!covered)
			h->retained += d->retained[b];
		prev = site;
	}
	p->blocks = 1;
	p->bytes = g->size[chain[n - 1]];
	return 0;
}

/*
 * --address: why one block is alive, from every root that reaches it: a
 * breadth-first search from the block backwards (against the pointers)
 * gives each block's distance to it; each root that points into that
 * region gives a chain, the shortest per root name, shortest first.  A
 * stale pointer (a free list's old slot, a dead stack slot) is then one
 * chain among others, not the only answer.
 */
static int answer_block(struct query *q, uint32_t target, struct hs_retainer_target *tg, int max_paths)
{
	const struct hs_graph *g = q->g;
	uint64_t n = g->n;
	uint64_t *pred_off = calloc(n + 1, sizeof(uint64_t));
	uint32_t *pred = malloc((g->nedges ? g->nedges : 1) * sizeof(uint32_t));
	uint32_t *pred_edge = malloc((g->nedges ? g->nedges : 1) * sizeof(uint32_t));
	uint32_t *queue = q->bfs, *next = q->parent, *via = q->pedge; /* reused: by block */
	uint64_t *dist = malloc((n ? n : 1) * sizeof(uint64_t));
	struct root_chain *rc = NULL;
	uint32_t *chain = NULL, *chain_via = NULL;
	struct hashmap seen;
	int ret = -ENOMEM;

	if (hashmap_init(&seen, 64)) {
		free(pred_off);
		free(pred);
		free(pred_edge);
		free(dist);
		return -ENOMEM;
	}
	if (!pred_off || !pred || !pred_edge || !dist)
		goto out;
	tg->blocks = 1;
	tg->bytes = g->size[target];
	tg->retained = q->d->retained[target];
	/* the pointers into each block: pred[pred_off[b] .. pred_off[b + 1]) */
	for (uint64_t e = 0; e < g->nedges; e++)
		pred_off[g->edges[e].dst + 1]++;
	for (uint64_t b = 0; b < n; b++)
		pred_off[b + 1] += pred_off[b];
	for (uint32_t b = 0; b < n; b++)
		for (uint64_t e = g->out[b]; e < g->out[b + 1]; e++) {
			uint64_t k = pred_off[g->edges[e].dst]++;
			pred[k] = b;
			pred_edge[k] = (uint32_t)e;
		}
	for (uint64_t b = n; b > 0; b--) /* the fill moved each start to the next */
		pred_off[b] = pred_off[b - 1];
	pred_off[0] = 0;
	/* backwards from the target */
	for (uint64_t b = 0; b < n; b++)
		dist[b] = UINT64_MAX;
	dist[target] = 0;
	uint64_t head = 0, tail = 0;
	queue[tail++] = target;
	while (head < tail) {
		uint32_t x = queue[head++];
		for (uint64_t k = pred_off[x]; k < pred_off[x + 1]; k++) {
			uint32_t src = pred[k];
			if (dist[src] != UINT64_MAX)
				continue;
			dist[src] = dist[x] + 1;
			next[src] = x;
			via[src] = pred_edge[k];
			queue[tail++] = src;
		}
	}
	/* the roots that point into that region, the shortest chain each */
	uint64_t nrc = 0;
	if (!(rc = malloc((g->nroot_edges ? g->nroot_edges : 1) * sizeof(*rc))))
		goto out;
	for (uint64_t e = 0; e < g->nroot_edges; e++) {
		uint32_t dst = g->root_edges[e].dst, r = g->root_of_edge[e];
		if (dist[dst] == UINT64_MAX)
			continue;
		int kind = r < g->nroots ? g->roots[r].kind : 0;
		rc[nrc++] = (struct root_chain){dist[dst] + 1, (uint64_t)root_rank(kind) << 61 | (uint64_t)(r & 0x1fffffff) << 32 | e,
						 (uint32_t)e};
	}
	if (nrc > 1) /* qsort of nothing may be given NULL */
		qsort(rc, nrc, sizeof(*rc), by_chain);
	if (!(tg->paths = calloc((size_t)max_paths, sizeof(*tg->paths))))
		goto out;
	for (uint64_t i = 0; i < nrc; i++) {
		struct hs_root_ref ref;
		uint32_t e = rc[i].edge, r = g->root_of_edge[e];
		retain_name_root(q->t, r, g->root_edge_off[e], &ref);
		long id = strtab_id(&q->roots, ref.name, 1);
		if (id < 0)
			goto out;
		if (hashmap_get(&seen, (uint64_t)id + 1))
			continue; /* a shorter chain from this root is in */
		if (hashmap_put(&seen, (uint64_t)id + 1, 1))
			goto out;
		if (tg->npaths == (size_t)max_paths) {
			tg->more_paths++;
			tg->more_blocks++;
			tg->more_bytes += g->size[target];
			continue;
		}
		uint64_t len = rc[i].len;
		free(chain);
		free(chain_via);
		chain = malloc(len * sizeof(*chain));
		chain_via = malloc(len * sizeof(*chain_via));
		if (!chain || !chain_via)
			goto out;
		uint32_t x = g->root_edges[e].dst;
		for (uint64_t k = 0; k < len; k++) {
			chain[k] = x;
			/* the pointer into chain[k], from chain[k - 1] */
			chain_via[k] = k ? via[chain[k - 1]] : 0;
			if (k + 1 < len)
				x = next[x];
		}
		if (chain_path(q, e, chain, chain_via, len, &tg->paths[tg->npaths++]))
			goto out;
	}
	if (!nrc) {
		tg->leaked_blocks = 1;
		tg->leaked_bytes = g->size[target];
	}
	ret = 0;
out:
	hashmap_free(&seen);
	free(pred_off);
	free(pred);
	free(pred_edge);
	free(dist);
	free(rc);
	free(chain);
	free(chain_via);
	return ret;
}

static int by_target_bytes(const void *a, const void *b)
{
	const struct hs_retainer_target *x = a, *y = b;
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return strcmp(x->key, y->key);
}

static void query_free(struct query *q)
{
	free(q->parent);
	free(q->pedge);
	free(q->bfs);
	free(q->target);
	free(q->stamp);
	free(q->shape_of);
	free(q->run);
	hashmap_free(&q->stack_site);
	hashmap_free(&q->shape_idx);
	strtab_free(&q->sites);
	free(q->site_stack);
	strtab_free(&q->roots);
	free(q->root_refs);
	free(q->shapes);
}

int hs_retainers_find(struct hs_trace *t, const struct hs_retainers_query *qq, struct hs_retainers **out,
		      struct hs_diag *d)
{
	const struct hs_graph *g = t->graph;
	struct query q = {.t = t, .g = g};
	struct hs_retainers *r;
	int rc = -ENOMEM;

	*out = NULL;
	if (!g) {
		diag_set(d, "%s: no complete pointer scan in this trace (killed before any, or --no-scan)", t->path);
		return -EINVAL;
	}
	if (!(r = calloc(1, sizeof(*r))))
		return oom(d, t);
	r->snapshot = g->snapshot;
	r->reason = g->reason;
	r->ts = g->scan_ts;
	r->blocks = g->n;
	for (uint64_t b = 0; b < g->n; b++)
		r->bytes += g->size[b];
	if (qq->group)
		q.group = *qq->group;
	else
		q.group.by = HS_BY_LINENO;
	q.group.cumulative = 0;
	uint64_t n = g->n ? g->n : 1;
	q.parent = malloc(n * sizeof(uint32_t));
	q.pedge = malloc(n * sizeof(uint32_t));
	q.bfs = malloc(n * sizeof(uint32_t));
	q.target = calloc(n, sizeof(uint32_t));
	q.stamp = calloc(n, sizeof(uint32_t));
	q.shape_of = malloc(n * sizeof(uint32_t));
	q.run = malloc(n * sizeof(uint32_t));
	if (!q.parent || !q.pedge || !q.bfs || !q.target || !q.stamp || !q.shape_of || !q.run ||
	    hashmap_init(&q.stack_site, 256) || hashmap_init(&q.shape_idx, 64) || hashmap_init(&q.sites.idx, 256) ||
	    hashmap_init(&q.roots.idx, 64))
		goto oom;
	if (!(q.d = retain_dom(t)))
		goto oom;
	if (qq->address) {
		if ((rc = pick_address(&q, qq->address, r, d)))
			goto fail;
	} else if (pick_targets(&q, qq, r)) {
		goto oom;
	}
	int max_paths = qq->max_paths > 0 ? qq->max_paths : DEFAULT_PATHS;
	if (qq->address) {
		if (answer_block(&q, (uint32_t)hs_graph_block_at(g, r->targets[0].address), &r->targets[0], max_paths))
			goto oom;
	} else {
		if (search(&q))
			goto oom;
		for (size_t i = 0; i < r->ntargets; i++)
			if (answer(&q, (uint32_t)i, &r->targets[i], max_paths))
				goto oom;
	}
	if (r->ntargets > 1)
		qsort(r->targets, r->ntargets, sizeof(*r->targets), by_target_bytes);
	query_free(&q);
	*out = r;
	return 0;
oom:
	rc = oom(d, t);
fail:
	query_free(&q);
	hs_retainers_free(r);
	return rc;
}

void hs_retainers_free(struct hs_retainers *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->ntargets; i++) {
		struct hs_retainer_target *tg = &r->targets[i];
		for (size_t k = 0; k < tg->npaths; k++) {
			for (int h = 0; h < tg->paths[k].nhops; h++) {
				free(tg->paths[k].hops[h].site);
				free(tg->paths[k].hops[h].addrs);
			}
			free(tg->paths[k].hops);
		}
		free(tg->paths);
		free(tg->key);
		free(tg->site);
		free(tg->sizes);
	}
	free(r->targets);
	free(r);
}
