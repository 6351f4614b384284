/* Description: unit tests of src/analyze/dom.c: the dominator tree of
 * reference graphs and the retained sizes, from both algorithms (semi-NCA
 * and Cooper-Harvey-Kennedy), against a brute-force definition (block u
 * dominates v when v cannot be reached from the roots without u) on
 * random graphs with leaked parts, and on shapes a heap has: a list of a
 * million blocks, a diamond, a leaked cycle, a block pointed to by two
 * roots. */
#define _GNU_SOURCE
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/dom.h"
#include "analyze/graph.h"
#include "check_suites.h"
#include "trace/format.h"

/* ---- building graphs -------------------------------------------------------------- */

static void feed(struct graph *g, int type, void (*fill)(struct trace_item *, const void *), const void *arg)
{
	struct trace_item it;

	memset(&it, 0, sizeof(it));
	it.type = type;
	fill(&it, arg);
	ck_assert_int_eq(graph_add(g, &it), 0);
}

struct spec {
	uint32_t n;	    /* blocks */
	uint32_t *src, *dst; /* edges; src == n: from the root */
	uint32_t nedges;
	uint32_t *seq;	    /* allocation order by block */
};

static void fill_scan(struct trace_item *it, const void *a)
{
	it->scan.blocks = ((const struct spec *)a)->n;
}

/* Make the graph of s: block i at 0x100 * (i + 1), 8 * (i % 5 + 1) bytes;
 * one root; edges in order of source (graph_classify groups them). */
static void build(struct graph *gb, const struct spec *s)
{
	graph_init(gb);
	feed(gb, ITEM_SCAN, fill_scan, s);
	for (uint32_t i = 0; i < s->n; i++) {
		struct trace_item it = {.type = ITEM_SCAN_BLOCK};
		it.block.index = i;
		it.block.addr = 0x100ull * (i + 1);
		it.block.size = 8 * (i % 5 + 1);
		it.block.stack = 1 + i % 3;
		it.block.seq = s->seq ? s->seq[i] : i;
		ck_assert_int_eq(graph_add(gb, &it), 0);
	}
	struct trace_item r = {.type = ITEM_SCAN_ROOT};
	r.root.kind = HST_ROOT_DATA;
	r.root.addr = 0x10;
	r.root.bytes = 4096;
	r.root.name.p = "/x";
	r.root.name.n = 2;
	ck_assert_int_eq(graph_add(gb, &r), 0);
	for (uint32_t k = 0; k < s->nedges; k++) {
		struct trace_item e = {.type = ITEM_SCAN_EDGE};
		e.edge.from_root = s->src[k] == s->n;
		e.edge.src = e.edge.from_root ? 0 : s->src[k];
		e.edge.offset = 8 * k;
		e.edge.dst = s->dst[k];
		e.edge.dst_offset = k % 4 == 3; /* some interior pointers: they count too */
		ck_assert_int_eq(graph_add(gb, &e), 0);
	}
	struct trace_item end = {.type = ITEM_SCAN_END};
	ck_assert_int_eq(graph_add(gb, &end), 0);
	ck_assert_int_eq(graph_classify(gb), 0);
}

/* ---- the brute-force definition ------------------------------------------------------ */

/* Reach from the vertices in start (the root is n) avoiding block skip
 * (UINT32_MAX: none), into seen. */
static void reach(const struct spec *s, const uint8_t *entry, uint32_t skip, uint8_t *seen)
{
	uint32_t *stack = malloc((s->n + 1) * sizeof(*stack)), depth = 0;

	memset(seen, 0, s->n + 1);
	seen[s->n] = 1;
	stack[depth++] = s->n;
	while (depth) {
		uint32_t v = stack[--depth];
		for (uint32_t k = 0; k < s->nedges; k++) {
			uint32_t d = s->dst[k];
			if (s->src[k] != v || d == skip || seen[d])
				continue;
			seen[d] = 1;
			stack[depth++] = d;
		}
		if (v == s->n)
			for (uint32_t b = 0; b < s->n; b++)
				if (entry[b] && b != skip && !seen[b]) {
					seen[b] = 1;
					stack[depth++] = b;
				}
	}
	free(stack);
}

/* The entries of the leaked parts: unreached blocks in allocation order,
 * each that the ones before it do not reach. */
static void entries(const struct spec *s, uint8_t *entry)
{
	uint8_t *seen = malloc(s->n + 1);
	uint32_t *order = malloc(s->n * sizeof(*order));

	memset(entry, 0, s->n);
	for (uint32_t i = 0; i < s->n; i++)
		order[i] = i;
	for (uint32_t i = 1; i < s->n; i++) /* by seq: a small insertion sort */
		for (uint32_t j = i; j > 0 && s->seq[order[j]] < s->seq[order[j - 1]]; j--) {
			uint32_t t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	for (uint32_t i = 0; i < s->n; i++) {
		reach(s, entry, UINT32_MAX, seen);
		if (!seen[order[i]])
			entry[order[i]] = 1;
	}
	free(seen);
	free(order);
}

/* Check d against the definition: idom and retained of every block. */
static void check_brute(const struct spec *s, const struct graph *gb, const struct dom *d)
{
	uint32_t n = s->n;
	uint8_t *entry = malloc(n), *seen = malloc(n + 1);
	uint8_t *dominated = malloc((size_t)n * n); /* [u * n + v]: u dominates v */

	entries(s, entry);
	for (uint32_t u = 0; u < n; u++) {
		reach(s, entry, u, seen);
		for (uint32_t v = 0; v < n; v++)
			dominated[(size_t)u * n + v] = v == u || !seen[v];
	}
	for (uint32_t v = 0; v < n; v++) {
		/* idom: the strict dominator every other strict dominator dominates */
		uint32_t want = DOM_ROOT;
		for (uint32_t u = 0; u < n; u++) {
			if (u == v || !dominated[(size_t)u * n + v])
				continue;
			int lowest = 1;
			for (uint32_t w = 0; w < n; w++)
				if (w != v && w != u && dominated[(size_t)w * n + v] && !dominated[(size_t)w * n + u])
					lowest = 0;
			if (lowest)
				want = u;
		}
		ck_assert_msg(d->idom[v] == want, "block %u: idom %u, want %u", v, d->idom[v], want);
		uint64_t bytes = 0;
		for (uint32_t w = 0; w < n; w++)
			if (dominated[(size_t)v * n + w])
				bytes += gb->g.size[w];
		ck_assert_msg(d->retained[v] == bytes, "block %u: retained %llu, want %llu", v,
			      (unsigned long long)d->retained[v], (unsigned long long)bytes);
		/* the tree's preorder: a block's subtree is what it dominates */
		for (uint32_t w = 0; w < n; w++)
			ck_assert_int_eq(dom_covers(d, v, w), dominated[(size_t)v * n + w]);
	}
	free(entry);
	free(seen);
	free(dominated);
}

static uint64_t rnd_state = 88172645463325252ull;
static uint32_t rnd(uint32_t m)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (uint32_t)(rnd_state % m);
}

/* Edges of s sorted by source (the root's last: they come as root edges). */
static void sort_edges(struct spec *s)
{
	for (uint32_t i = 1; i < s->nedges; i++)
		for (uint32_t j = i; j > 0 && s->src[j] < s->src[j - 1]; j--) {
			uint32_t a = s->src[j], b = s->dst[j];
			s->src[j] = s->src[j - 1];
			s->dst[j] = s->dst[j - 1];
			s->src[j - 1] = a;
			s->dst[j - 1] = b;
		}
}

/* Random graphs, both algorithms against the definition. */
START_TEST(test_random_graphs)
{
	for (int round = 0; round < 300; round++) {
		struct spec s = {0};
		s.n = 1 + rnd(24);
		s.nedges = rnd(3 * s.n + 2);
		s.src = malloc((s.nedges + 1) * sizeof(uint32_t));
		s.dst = malloc((s.nedges + 1) * sizeof(uint32_t));
		s.seq = malloc(s.n * sizeof(uint32_t));
		for (uint32_t i = 0; i < s.n; i++)
			s.seq[i] = rnd(1000) * 64 + i; /* distinct, not in block order */
		for (uint32_t k = 0; k < s.nedges; k++) {
			s.src[k] = rnd(4) ? rnd(s.n) : s.n; /* a quarter from the root */
			s.dst[k] = rnd(s.n);
		}
		sort_edges(&s);
		struct graph gb;
		build(&gb, &s);
		for (int algo = DOM_SNCA; algo <= DOM_CHK; algo++) {
			struct dom d;
			ck_assert_int_eq(dom_build(&gb.g, (enum dom_algo)algo, &d), 0);
			check_brute(&s, &gb, &d);
			dom_free(&d);
		}
		graph_free(&gb);
		free(s.src);
		free(s.dst);
		free(s.seq);
	}
}
END_TEST

/* A singly linked list of 300,000 blocks from one root: no recursion
 * anywhere, the head retains everything, each block all after it. */
START_TEST(test_long_list)
{
	struct spec s = {0};
	s.n = 300000;
	s.nedges = s.n;
	s.src = malloc(s.nedges * sizeof(uint32_t));
	s.dst = malloc(s.nedges * sizeof(uint32_t));
	for (uint32_t i = 0; i + 1 < s.n; i++) {
		s.src[i] = i;
		s.dst[i] = i + 1;
	}
	s.src[s.n - 1] = s.n; /* the root points to block 0 */
	s.dst[s.n - 1] = 0;
	struct graph gb;
	build(&gb, &s);
	uint64_t total = 0;
	for (uint32_t i = 0; i < s.n; i++)
		total += gb.g.size[i];
	for (int algo = DOM_SNCA; algo <= DOM_CHK; algo++) {
		struct dom d;
		ck_assert_int_eq(dom_build(&gb.g, (enum dom_algo)algo, &d), 0);
		ck_assert_uint_eq(d.retained[0], total);
		ck_assert_uint_eq(d.idom[0], DOM_ROOT);
		ck_assert_uint_eq(d.reached, s.n);
		uint64_t tail = 0;
		for (uint32_t i = s.n; i-- > 0;) {
			tail += gb.g.size[i];
			if (i)
				ck_assert_uint_eq(d.idom[i], i - 1);
			ck_assert_uint_eq(d.retained[i], tail);
		}
		dom_free(&d);
	}
	graph_free(&gb);
	free(s.src);
	free(s.dst);
}
END_TEST

/* Shapes: a diamond (the join is dominated by the top only), a block two
 * roots point to, a leaked cycle (its first allocated member retains it). */
START_TEST(test_shapes)
{
	/* 0 -> 1, 0 -> 2, 1 -> 3, 2 -> 3; root -> 0, root -> 4 (twice);
	 * leaked: 5 <-> 6, 6 allocated first */
	uint32_t src[] = {0, 0, 1, 2, 5, 6, 7, 7, 7}, dst[] = {1, 2, 3, 3, 6, 5, 0, 4, 4};
	uint32_t seq[] = {0, 1, 2, 3, 4, 9, 8};
	struct spec s = {.n = 7, .src = src, .dst = dst, .nedges = 9, .seq = seq};
	struct graph gb;
	build(&gb, &s);
	for (int algo = DOM_SNCA; algo <= DOM_CHK; algo++) {
		struct dom d;
		ck_assert_int_eq(dom_build(&gb.g, (enum dom_algo)algo, &d), 0);
		ck_assert_uint_eq(d.idom[3], 0);
		ck_assert_uint_eq(d.idom[1], 0);
		ck_assert_uint_eq(d.retained[0], gb.g.size[0] + gb.g.size[1] + gb.g.size[2] + gb.g.size[3]);
		ck_assert_uint_eq(d.idom[4], DOM_ROOT);
		ck_assert_uint_eq(d.reached, 5);
		ck_assert_uint_eq(d.idom[6], DOM_ROOT);
		ck_assert_uint_eq(d.idom[5], 6);
		ck_assert_uint_eq(d.retained[6], gb.g.size[5] + gb.g.size[6]);
		check_brute(&s, &gb, &d);
		dom_free(&d);
	}
	graph_free(&gb);
}
END_TEST

Suite *dom_suite(void)
{
	Suite *s = suite_create("dom");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_random_graphs);
	tcase_add_test(tc, test_long_list);
	tcase_add_test(tc, test_shapes);
	suite_add_tcase(s, tc);
	return s;
}
