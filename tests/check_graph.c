/* Description: unit tests of src/analyze/graph.c: the reference graph of a
 * pointer scan fed item by item as the reader yields it, Valgrind
 * memcheck's classes (reachable, possible through interior pointers,
 * definite, indirect), roots given to heapsnap_ignore(), the leaked cycles
 * (which member is definite, their edges, entered and reachable cycles
 * that are not leaked, a self-loop), the last scan winning, out-of-range
 * input, and two graphs built at once (no state outside the graph). */
#define _GNU_SOURCE
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/graph.h"
#include "check_suites.h"
#include "trace/format.h"

/* ---- feeding a graph -------------------------------------------------------- */

static void feed(struct graph *g, const struct trace_item *it)
{
	ck_assert_int_eq(graph_add(g, it), 0);
}

/* SCAN of n blocks. */
static void scan(struct graph *g, uint64_t n)
{
	struct trace_item it = {.type = ITEM_SCAN};
	it.scan.ts = 7;
	it.scan.blocks = n;
	it.scan.threads_stopped = 2;
	feed(g, &it);
}

/* Block i at 0x1000 * (i + 1) (address order), size 16 * (i + 1), stack
 * 100 + i, allocation order seq. */
static void block(struct graph *g, uint64_t i, uint32_t seq)
{
	struct trace_item it = {.type = ITEM_SCAN_BLOCK};
	it.block.index = i;
	it.block.addr = 0x1000 * (i + 1);
	it.block.size = 16 * (i + 1);
	it.block.stack = (uint32_t)(100 + i);
	it.block.seq = seq;
	feed(g, &it);
}

/* n blocks allocated in address order. */
static void blocks(struct graph *g, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		block(g, i, (uint32_t)i + 1);
}

static void root(struct graph *g, uint32_t index, int kind, uint64_t addr)
{
	struct trace_item it = {.type = ITEM_SCAN_ROOT};
	it.root.index = index;
	it.root.kind = kind;
	it.root.addr = addr;
	it.root.bytes = 64;
	it.root.name.p = "[test]";
	it.root.name.n = 6;
	feed(g, &it);
}

/* A pointer at offset off of block (or root) src to block dst, at its
 * start or inside it. */
static void edge(struct graph *g, int from_root, uint64_t src, uint64_t off, uint64_t dst, int interior)
{
	struct trace_item it = {.type = ITEM_SCAN_EDGE};
	it.edge.from_root = from_root;
	it.edge.src = src;
	it.edge.offset = off;
	it.edge.dst = dst;
	it.edge.dst_offset = interior;
	feed(g, &it);
}

static void end(struct graph *g)
{
	struct trace_item it = {.type = ITEM_SCAN_END};
	feed(g, &it);
}

/* SCAN_END of a scan that read n roots. */
static void end_roots(struct graph *g, uint64_t n)
{
	struct trace_item it = {.type = ITEM_SCAN_END};
	it.scan_end.roots = n;
	feed(g, &it);
}

/* Classify and find the cycles; return how many. */
static long finish(struct graph *g, struct hs_cycle **c)
{
	ck_assert_int_eq(graph_classify(g), 0);
	long n = graph_cycles(&g->g, c);
	ck_assert_int_ge(n, 0);
	return n;
}

static void kinds(const struct graph *g, const int *want, uint64_t n)
{
	ck_assert_uint_eq(g->g.n, n);
	for (uint64_t i = 0; i < n; i++)
		ck_assert_msg(g->g.kind[i] == want[i], "block %llu: %s, want %s", (unsigned long long)i,
			      hs_leak_kind_name(g->g.kind[i]), hs_leak_kind_name(want[i]));
}

/* ---- tests ------------------------------------------------------------------- */

/* The shim describes only the roots that hold pointers: each takes its
 * number's place, the others are undescribed (kind 0, no name) up to the
 * count SCAN_END gives; a number already taken, or past the bound, goes
 * after the others (as every root did in older traces). */
START_TEST(test_roots_by_number)
{
	struct graph g;
	struct hs_cycle *c;

	graph_init(&g);
	scan(&g, 2);
	blocks(&g, 2);
	edge(&g, 1, 3, 8, 0, 0);
	root(&g, 3, HST_ROOT_DATA, 0x100);
	root(&g, 1, HST_ROOT_ANON, 0x200);
	root(&g, 1u << 30, HST_ROOT_TLS, 0x300);
	end_roots(&g, 9);
	ck_assert_uint_eq(g.g.nroots, 9);
	for (uint32_t i = 0; i < 9; i++) {
		int want = i == 3 ? HST_ROOT_DATA : i == 4 ? HST_ROOT_ANON : i == 5 ? HST_ROOT_TLS : 0;
		ck_assert_msg(g.g.roots[i].kind == want, "root %u: kind %d, want %d", i, g.g.roots[i].kind, want);
		ck_assert(want ? g.g.roots[i].name != NULL : g.g.roots[i].name == NULL);
	}
	ck_assert_uint_eq(g.g.roots[3].addr, 0x100);
	ck_assert_uint_eq(g.g.roots[5].addr, 0x300);
	ck_assert_int_eq(finish(&g, &c), 0);
	static const int want[] = {HS_REACHABLE, HS_DEFINITE};
	kinds(&g, want, 2);
	graph_free_cycles(c, 0);
	graph_free(&g);
	/* a count below the roots described, or an older shim's 0: no change */
	graph_init(&g);
	scan(&g, 1);
	blocks(&g, 1);
	root(&g, 0, HST_ROOT_DATA, 0x100);
	root(&g, 1, HST_ROOT_DATA, 0x100);
	end_roots(&g, 1);
	ck_assert_uint_eq(g.g.nroots, 2);
	graph_free(&g);
}
END_TEST

/* root -> 0 -> 1 -> 2 by start pointers; 3 unreached, pointing to 4. */
START_TEST(test_classes)
{
	struct graph g;
	struct hs_cycle *c;

	graph_init(&g);
	scan(&g, 5);
	blocks(&g, 5);
	root(&g, 0, HST_ROOT_DATA, 0x100);
	edge(&g, 1, 0, 8, 0, 0);
	edge(&g, 0, 0, 0, 1, 0);
	edge(&g, 0, 1, 8, 2, 0);
	edge(&g, 0, 3, 0, 4, 0);
	end(&g);
	ck_assert_int_eq(g.g.complete, 1);
	ck_assert_int_eq(finish(&g, &c), 0);
	int want[] = {HS_REACHABLE, HS_REACHABLE, HS_REACHABLE, HS_DEFINITE, HS_INDIRECT};
	kinds(&g, want, 5);
	ck_assert_uint_eq(g.g.nroot_edges, 1);
	ck_assert_uint_eq(g.g.nedges, 3);
	/* grouped by source */
	ck_assert_uint_eq(g.g.out[0], 0);
	ck_assert_uint_eq(g.g.out[1], 1);
	ck_assert_uint_eq(g.g.out[2], 2);
	ck_assert_uint_eq(g.g.out[5], 3);
	ck_assert_str_eq(g.g.roots[0].name, "[test]");
	graph_free_cycles(c, 0);
	graph_free(&g);
}
END_TEST

/* An interior pointer from a root makes a block possibly lost, and what it
 * points to by start pointers too; a start pointer from a reachable block
 * later upgrades it. */
START_TEST(test_possible)
{
	struct graph g;
	struct hs_cycle *c;

	graph_init(&g);
	scan(&g, 4);
	blocks(&g, 4);
	root(&g, 0, HST_ROOT_STACK, 0x100);
	edge(&g, 1, 0, 0, 0, 1); /* root -> inside 0 */
	edge(&g, 0, 0, 0, 1, 0); /* 0 -> 1 */
	edge(&g, 1, 0, 8, 2, 0); /* root -> 2 */
	edge(&g, 0, 2, 0, 3, 1); /* 2 -> inside 3 */
	end(&g);
	finish(&g, &c);
	int want[] = {HS_POSSIBLE, HS_POSSIBLE, HS_REACHABLE, HS_POSSIBLE};
	kinds(&g, want, 4);
	graph_free_cycles(c, 0);
	graph_free(&g);

	graph_init(&g);
	scan(&g, 2);
	blocks(&g, 2);
	root(&g, 0, HST_ROOT_DATA, 0x100);
	edge(&g, 1, 0, 0, 1, 1); /* root -> inside 1 */
	edge(&g, 1, 0, 8, 0, 0); /* root -> 0 */
	edge(&g, 0, 0, 0, 1, 0); /* 0 -> 1: reachable after all */
	end(&g);
	finish(&g, &c);
	int want2[] = {HS_REACHABLE, HS_REACHABLE};
	kinds(&g, want2, 2);
	graph_free_cycles(c, 0);
	graph_free(&g);
}
END_TEST

/* A block given to heapsnap_ignore() is a root. */
START_TEST(test_ignored_root)
{
	struct graph g;
	struct hs_cycle *c;

	graph_init(&g);
	scan(&g, 3);
	blocks(&g, 3);
	root(&g, 0, HST_ROOT_IGNORED, 0x2000); /* block 1 */
	edge(&g, 0, 1, 0, 2, 0);
	end(&g);
	finish(&g, &c);
	int want[] = {HS_DEFINITE, HS_REACHABLE, HS_REACHABLE};
	kinds(&g, want, 3);
	ck_assert_int_eq(hs_graph_block_at(&g.g, 0x2000), 1);
	ck_assert_int_eq(hs_graph_block_at(&g.g, 0x2001), -1);
	ck_assert_int_eq(hs_graph_block_at(&g.g, 0x3000), 2);
	ck_assert_int_eq(hs_graph_block_at(&g.g, 0x9000), -1);
	graph_free_cycles(c, 0);
	graph_free(&g);
}
END_TEST

/*
 * A cycle of three that nothing points into, whose first allocated member
 * is the one at the highest address: one leaked cycle, that member
 * definite, the others indirect, one edge per pointer in allocation order
 * of the sources.
 */
START_TEST(test_leaked_cycle)
{
	struct graph g;
	struct hs_cycle *c;

	graph_init(&g);
	scan(&g, 3);
	block(&g, 0, 30);
	block(&g, 1, 20);
	block(&g, 2, 10);
	edge(&g, 0, 0, 8, 1, 0);
	edge(&g, 0, 1, 16, 2, 0);
	edge(&g, 0, 1, 24, 2, 0); /* a second pointer to the same block: one edge */
	edge(&g, 0, 2, 0, 0, 0);
	end(&g);
	ck_assert_int_eq(finish(&g, &c), 1);
	int want[] = {HS_INDIRECT, HS_INDIRECT, HS_DEFINITE};
	kinds(&g, want, 3);
	ck_assert_uint_eq(c[0].n, 3);
	ck_assert_uint_eq(c[0].bytes, 16 + 32 + 48);
	/* members in allocation order: blocks 2, 1, 0 */
	ck_assert_uint_eq(c[0].members[0].block, 2);
	ck_assert_uint_eq(c[0].members[1].block, 1);
	ck_assert_uint_eq(c[0].members[2].block, 0);
	ck_assert_int_eq(c[0].members[0].kind, HS_DEFINITE);
	ck_assert_int_eq(c[0].members[1].kind, HS_INDIRECT);
	ck_assert_uint_eq(c[0].members[0].addr, 0x3000);
	ck_assert_uint_eq(c[0].members[0].size, 48);
	ck_assert_uint_eq(c[0].members[0].stack, 102);
	ck_assert_uint_eq(c[0].nedges, 3);
	/* 2 -> 0 at +0, 1 -> 2 at +16 (the first pointer), 0 -> 1 at +8 */
	ck_assert_uint_eq(c[0].edges[0].from, 0);
	ck_assert_uint_eq(c[0].edges[0].to, 2);
	ck_assert_uint_eq(c[0].edges[0].offset, 0);
	ck_assert_uint_eq(c[0].edges[1].from, 1);
	ck_assert_uint_eq(c[0].edges[1].to, 0);
	ck_assert_uint_eq(c[0].edges[1].offset, 16);
	ck_assert_uint_eq(c[0].edges[2].from, 2);
	ck_assert_uint_eq(c[0].edges[2].to, 1);
	ck_assert_uint_eq(c[0].edges[2].offset, 8);
	graph_free_cycles(c, 1);
	graph_free(&g);
}
END_TEST

/* A cycle that a leaked block outside points into is no leaked cycle (the
 * outside block is the definite one); a reachable cycle is none either; a
 * block that points to itself is a cycle of one. */
START_TEST(test_not_leaked_cycles)
{
	struct graph g;
	struct hs_cycle *c;

	graph_init(&g);
	scan(&g, 6);
	blocks(&g, 6);
	root(&g, 0, HST_ROOT_DATA, 0x100);
	edge(&g, 0, 0, 0, 1, 0); /* 0 -> (1 <-> 2) */
	edge(&g, 0, 1, 0, 2, 0);
	edge(&g, 0, 2, 0, 1, 0);
	edge(&g, 1, 0, 0, 3, 0); /* root -> (3 <-> 4) */
	edge(&g, 0, 3, 0, 4, 0);
	edge(&g, 0, 4, 0, 3, 0);
	edge(&g, 0, 5, 8, 5, 0); /* 5 -> 5 */
	end(&g);
	ck_assert_int_eq(finish(&g, &c), 1);
	int want[] = {HS_DEFINITE, HS_INDIRECT, HS_INDIRECT, HS_REACHABLE, HS_REACHABLE, HS_DEFINITE};
	kinds(&g, want, 6);
	ck_assert_uint_eq(c[0].n, 1);
	ck_assert_uint_eq(c[0].members[0].block, 5);
	ck_assert_uint_eq(c[0].nedges, 1);
	ck_assert_uint_eq(c[0].edges[0].offset, 8);
	graph_free_cycles(c, 1);
	graph_free(&g);
}
END_TEST

/* A later scan replaces the first; edges and blocks beyond what the scan
 * announced are ignored. */
START_TEST(test_last_scan_and_bounds)
{
	struct graph g;
	struct hs_cycle *c;

	graph_init(&g);
	scan(&g, 2);
	blocks(&g, 2);
	edge(&g, 0, 0, 0, 1, 0);
	end(&g);
	scan(&g, 3);
	blocks(&g, 3);
	block(&g, 7, 99);	 /* beyond the 3 announced */
	edge(&g, 0, 0, 0, 9, 0); /* to a block that does not exist */
	edge(&g, 0, 9, 0, 1, 0); /* from one */
	edge(&g, 1, 0, 0, 2, 0);
	end(&g);
	finish(&g, &c);
	ck_assert_uint_eq(g.g.nedges, 0);
	int want[] = {HS_DEFINITE, HS_DEFINITE, HS_REACHABLE};
	kinds(&g, want, 3);
	graph_free_cycles(c, 0);
	graph_free(&g);
}
END_TEST

/* Two graphs fed in turn, item by item: each keeps its own edges (the
 * builder's state is the graph's, not the module's). */
START_TEST(test_two_at_once)
{
	struct graph a, b;
	struct hs_cycle *ca, *cb;

	graph_init(&a);
	graph_init(&b);
	scan(&a, 3);
	scan(&b, 2);
	blocks(&a, 3);
	blocks(&b, 2);
	edge(&a, 0, 0, 0, 1, 0);
	edge(&b, 1, 0, 0, 0, 0);
	edge(&a, 0, 1, 0, 2, 0);
	edge(&b, 0, 0, 0, 1, 0);
	edge(&a, 0, 2, 0, 0, 0);
	end(&a);
	end(&b);
	ck_assert_int_eq(finish(&b, &cb), 0);
	ck_assert_int_eq(finish(&a, &ca), 1);
	int wa[] = {HS_DEFINITE, HS_INDIRECT, HS_INDIRECT};
	int wb[] = {HS_REACHABLE, HS_REACHABLE};
	kinds(&a, wa, 3);
	kinds(&b, wb, 2);
	ck_assert_uint_eq(a.g.nedges, 3);
	ck_assert_uint_eq(b.g.nedges, 1);
	ck_assert_uint_eq(ca[0].n, 3);
	graph_free_cycles(ca, 1);
	graph_free_cycles(cb, 0);
	graph_free(&a);
	graph_free(&b);
}
END_TEST

/* An empty scan, and a scan without its end, classify to nothing. */
START_TEST(test_empty)
{
	struct graph g;
	struct hs_cycle *c;

	graph_init(&g);
	scan(&g, 0);
	end(&g);
	ck_assert_int_eq(finish(&g, &c), 0);
	ck_assert_uint_eq(g.g.n, 0);
	graph_free_cycles(c, 0);
	graph_free(&g);

	graph_init(&g);
	scan(&g, 2);
	blocks(&g, 2);
	ck_assert_int_eq(g.g.complete, 0);
	graph_free(&g);
}
END_TEST

START_TEST(test_kind_names)
{
	unsigned k;

	ck_assert_str_eq(hs_leak_kind_name(HS_DEFINITE), "definite");
	ck_assert_str_eq(hs_leak_kind_name(HS_REACHABLE), "reachable");
	ck_assert_str_eq(hs_leak_kind_name(9), "unknown");
	ck_assert_int_eq(hs_leak_kinds_parse("definite,indirect", &k), 0);
	ck_assert_uint_eq(k, (1u << HS_DEFINITE) | (1u << HS_INDIRECT));
	ck_assert_int_eq(hs_leak_kinds_parse("all", &k), 0);
	ck_assert_uint_eq(k, 15);
	ck_assert_int_eq(hs_leak_kinds_parse(",possible,,", &k), 0);
	ck_assert_uint_eq(k, 1u << HS_POSSIBLE);
	k = 77;
	ck_assert_int_lt(hs_leak_kinds_parse("lost", &k), 0);
	ck_assert_int_lt(hs_leak_kinds_parse("definitely", &k), 0);
	ck_assert_int_lt(hs_leak_kinds_parse("", &k), 0);
	ck_assert_uint_eq(k, 77);
}
END_TEST

Suite *graph_suite(void)
{
	Suite *s = suite_create("graph");
	TCase *tc = tcase_create("graph");

	tcase_add_test(tc, test_classes);
	tcase_add_test(tc, test_roots_by_number);
	tcase_add_test(tc, test_possible);
	tcase_add_test(tc, test_ignored_root);
	tcase_add_test(tc, test_leaked_cycle);
	tcase_add_test(tc, test_not_leaked_cycles);
	tcase_add_test(tc, test_last_scan_and_bounds);
	tcase_add_test(tc, test_two_at_once);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_kind_names);
	suite_add_tcase(s, tc);
	return s;
}
