/* Description: unit tests of src/shim/heapmap.c, the collector's heap
 * model: allocinfo interning, exact addresses in the compact per-region
 * tables, and the ordering rules that make a nearly-ordered event stream
 * exact (an allocation at a live address drops the old block, and the next
 * free there is that block's late free, which names nothing).  The module
 * keeps global state, so every test uses its own addresses and never
 * assumes particular ids. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_suites.h"
#include "shim/heapmap.h"

/* The allocator heapmap is given (the shim gives its private arena): libc's,
 * counted, so that a test can see the module use it. */
static unsigned long counted_calls;

static void *counted_zalloc(size_t n)
{
	counted_calls++;
	return calloc(1, n);
}

static void *counted_resize(void *p, size_t n)
{
	counted_calls++;
	return realloc(p, n);
}

static void counted_release(void *p)
{
	if (p)
		counted_calls++;
	free(p);
}

static const struct hs_allocator counted = {counted_zalloc, counted_resize, counted_release};

/* Before the suite's tests run (and fork): heapmap's allocator. */
static void use_counted(void)
{
	heapmap_use(&counted);
}

/* Allocate at addr; fail the test if a block was dropped. */
static uint32_t alloc_fresh(uint64_t addr, uint64_t size, uint32_t stack)
{
	uint32_t dropped = 12345;
	uint32_t id = heapmap_alloc(addr, size, stack, &dropped);

	ck_assert_uint_ne(id, 0);
	ck_assert_uint_eq(dropped, 0);
	return id;
}

/* A block lives from its allocation to its free, once. */
START_TEST(test_alloc_free)
{
	uint64_t live0 = heapmap_live_count();
	uint32_t id = alloc_fresh(0x10000, 24, 1);

	ck_assert_uint_lt(id, heapmap_info_count());
	ck_assert_uint_eq(heapmap_info(id)->size, 24);
	ck_assert_uint_eq(heapmap_info(id)->stack, 1);
	ck_assert_uint_eq(heapmap_live_count(), live0 + 1);
	ck_assert_uint_eq(heapmap_free(0x10000), id);
	ck_assert_uint_eq(heapmap_live_count(), live0);
	/* a double free, and frees of addresses never seen */
	ck_assert_uint_eq(heapmap_free(0x10000), 0);
	ck_assert_uint_eq(heapmap_free(0x10010), 0);
	ck_assert_uint_eq(heapmap_free(0x5555000000), 0);
	ck_assert_uint_eq(heapmap_live_count(), live0);
}
END_TEST

/* Neighbouring blocks (16 bytes apart, the smallest malloc spacing) are
 * told apart. */
START_TEST(test_neighbours)
{
	uint32_t a = alloc_fresh(0x18000, 1, 1);
	uint32_t b = alloc_fresh(0x18010, 2, 1);
	uint32_t c = alloc_fresh(0x18008, 3, 1); /* 8-byte aligned */

	ck_assert_uint_eq(heapmap_free(0x18010), b);
	ck_assert_uint_eq(heapmap_free(0x18010), 0);
	ck_assert_uint_eq(heapmap_free(0x18000), a);
	ck_assert_uint_eq(heapmap_free(0x18008), c);
}
END_TEST

/* Blocks at the same offset of different 16 MiB regions are different
 * blocks. */
START_TEST(test_regions)
{
	uint64_t base = 0x7f1200000000ull;
	uint32_t ids[8];

	for (int i = 0; i < 8; i++)
		ids[i] = alloc_fresh(base + ((uint64_t)i << 24) + 0x40, 100 + (uint64_t)i, 2);
	for (int i = 7; i >= 0; i--)
		ck_assert_uint_eq(heapmap_free(base + ((uint64_t)i << 24) + 0x40), ids[i]);
	/* the last and first byte-offsets of a region */
	uint32_t lo = alloc_fresh(base + (16ull << 24), 7, 2);
	uint32_t hi = alloc_fresh(base + (17ull << 24) - 16, 8, 2);
	ck_assert_uint_eq(heapmap_free(base + (17ull << 24) - 16), hi);
	ck_assert_uint_eq(heapmap_free(base + (16ull << 24)), lo);
}
END_TEST

/* After a reset (a detached session) the heap is empty and works again,
 * in the region used last before it too. */
START_TEST(test_reset)
{
	uint64_t a = 0x7f3400000040ull;

	uint32_t id = alloc_fresh(a, 100, 3);
	ck_assert_uint_eq(heapmap_free(a + 64), 0);
	heapmap_reset();
	ck_assert_uint_eq(heapmap_free(a), 0); /* gone with the reset */
	uint32_t id2 = alloc_fresh(a + 128, 100, 3);
	ck_assert_uint_eq(id2, id); /* allocinfos start over */
	ck_assert_uint_eq(heapmap_free(a + 128), id2);
	ck_assert_uint_eq(heapmap_live_count(), 0);
}
END_TEST

/* One allocinfo per (size, stack) pair. */
START_TEST(test_allocinfo_interning)
{
	uint32_t a = alloc_fresh(0x20000, 48, 7);
	uint32_t n = heapmap_info_count();
	uint32_t b = alloc_fresh(0x20040, 48, 7);

	ck_assert_uint_eq(a, b);
	ck_assert_uint_eq(heapmap_info_count(), n);
	uint32_t c = alloc_fresh(0x20080, 48, 8);
	uint32_t d = alloc_fresh(0x200c0, 49, 7);
	uint32_t e = alloc_fresh(0x20100, 0, 0);
	ck_assert_uint_ne(c, a);
	ck_assert_uint_ne(d, a);
	ck_assert_uint_ne(d, c);
	ck_assert_uint_ne(e, a);
	ck_assert_uint_eq(heapmap_info_count(), n + 3);
	ck_assert_uint_eq(heapmap_info(c)->stack, 8);
	ck_assert_uint_eq(heapmap_info(d)->size, 49);
	/* a huge but real size keeps its own allocinfo */
	uint32_t big = alloc_fresh(0x20140, (1ull << 39) + 1, 7);
	ck_assert_uint_ne(big, a);
	ck_assert_uint_eq(heapmap_info(big)->size, (1ull << 39) + 1);
}
END_TEST

/* Stack ids go up to 2^24 - 1 (stack.c STACK_ID_MAX, and the ring record
 * keeps 24 bits): the largest still gets an allocinfo of its own. */
START_TEST(test_allocinfo_largest_stack_id)
{
	uint32_t a = alloc_fresh(0x28000, 8, 1);
	uint32_t b = alloc_fresh(0x28040, 8, (1u << 24) - 1);
	uint32_t c = alloc_fresh(0x28080, 8, (1u << 23));

	ck_assert_uint_ne(a, b);
	ck_assert_uint_ne(a, c);
	ck_assert_uint_ne(b, c);
	ck_assert_uint_eq(heapmap_info(b)->stack, (1u << 24) - 1);
	ck_assert_uint_eq(heapmap_info(b)->size, 8);
}
END_TEST

/* Allocinfo ids past 2^16 come back whole from a block's slot, which
 * packs its id with part of its sequence number (heapmap.c). */
START_TEST(test_allocinfo_ids_past_16_bits)
{
	const uint64_t base = 0x7c0000000000ull; /* a region no other test uses */
	const uint32_t n = 70000;

	for (uint32_t i = 0; i < n; i++)
		alloc_fresh(base + (uint64_t)i * 16, 1000000 + i, 7); /* a new allocinfo each */
	ck_assert_uint_ge(heapmap_info_count(), 65536 + 1000);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t id = heapmap_free(base + (uint64_t)i * 16);
		if (!id || heapmap_info(id)->size != 1000000 + i)
			ck_abort_msg("block %u: allocinfo %u", i, id);
	}
}
END_TEST

/* An allocation at a live address drops the old block; the next free
 * there is the old block's late free and names nothing. */
START_TEST(test_alloc_at_live_address)
{
	uint64_t live0 = heapmap_live_count();
	uint32_t first = alloc_fresh(0x30000, 100, 1);
	uint32_t dropped = 0;
	uint32_t second = heapmap_alloc(0x30000, 30, 1, &dropped);

	ck_assert_uint_ne(second, 0);
	ck_assert_uint_ne(second, first);
	ck_assert_uint_eq(dropped, first);
	ck_assert_uint_eq(heapmap_live_count(), live0 + 1);
	/* the first block's own free arrives late */
	ck_assert_uint_eq(heapmap_free(0x30000), 0);
	ck_assert_uint_eq(heapmap_live_count(), live0 + 1);
	/* then the second block's free */
	ck_assert_uint_eq(heapmap_free(0x30000), second);
	ck_assert_uint_eq(heapmap_live_count(), live0);
	/* nothing late is left over at that address */
	uint32_t third = alloc_fresh(0x30000, 30, 1);
	ck_assert_uint_eq(heapmap_free(0x30000), third);
}
END_TEST

/* Two drops at one address owe two late frees. */
START_TEST(test_two_late_frees)
{
	uint32_t dropped;

	alloc_fresh(0x38000, 1, 1);
	heapmap_alloc(0x38000, 2, 1, &dropped);
	uint32_t last = heapmap_alloc(0x38000, 3, 1, &dropped);
	ck_assert_uint_ne(dropped, 0);
	ck_assert_uint_eq(heapmap_free(0x38000), 0);
	ck_assert_uint_eq(heapmap_free(0x38000), 0);
	ck_assert_uint_eq(heapmap_free(0x38000), last);
}
END_TEST

/* A late free is owed at its own address only. */
START_TEST(test_late_free_is_per_address)
{
	uint32_t dropped;

	alloc_fresh(0x40000, 1, 1);
	heapmap_alloc(0x40000, 2, 1, &dropped);
	uint32_t other = alloc_fresh(0x40010, 3, 1);
	ck_assert_uint_eq(heapmap_free(0x40010), other);
}
END_TEST

/*
 * The race the rule exists for: thread A's realloc gives up p, thread B
 * gets p from malloc, and B's event is merged before A's.  B's allocation
 * drops A's old block; A's realloc then frees p late, and B's block must
 * survive it.
 */
START_TEST(test_realloc_race)
{
	uint32_t a = alloc_fresh(0x60000, 10, 1);
	uint32_t dropped = 0;
	uint32_t b = heapmap_alloc(0x60000, 77, 2, &dropped);

	ck_assert_uint_eq(dropped, a);
	/* A's realloc: the old block's free, then its new block */
	ck_assert_uint_eq(heapmap_free(0x60000), 0);
	alloc_fresh(0x60040, 20, 3);
	/* B's block is still there */
	ck_assert_uint_eq(heapmap_free(0x60000), b);
}
END_TEST

struct walk {
	uint64_t lo, hi; /* addresses of this test */
	uint64_t seen;	 /* blocks in [lo, hi) */
	uint64_t sum;	 /* their addresses, to check which ones */
	uint32_t want;	 /* allocinfo they all have */
	int wrong;	 /* one had another allocinfo */
	uint32_t seq[1000]; /* allocation order, by (addr - lo) / 0x110 */
};

/* heapmap_each callback: tally the blocks of this test. */
static void walk_one(uint64_t addr, uint32_t info, uint32_t seq, void *arg)
{
	struct walk *w = arg;

	if (addr < w->lo || addr >= w->hi)
		return;
	w->seen++;
	w->sum += addr;
	w->wrong |= info != w->want;
	w->seq[(addr - w->lo) / 0x110] = seq;
}

/* heapmap_each visits exactly the live blocks, at their exact addresses,
 * with their allocinfos. */
START_TEST(test_each)
{
	uint32_t id = 0;
	uint64_t live0 = heapmap_live_count();
	const uint64_t base = 0x7f3400ff0000ull; /* straddles a region boundary */

	for (uint64_t i = 0; i < 1000; i++)
		id = alloc_fresh(base + i * 0x110, 16, 9);
	for (uint64_t i = 0; i < 1000; i += 2)
		ck_assert_uint_eq(heapmap_free(base + i * 0x110), id);
	ck_assert_uint_eq(heapmap_live_count(), live0 + 500);
	static struct walk w;
	w = (struct walk){base, base + 1000 * 0x110, 0, 0, id, 0, {0}};
	heapmap_each(walk_one, &w);
	ck_assert_uint_eq(w.seen, 500);
	ck_assert_int_eq(w.wrong, 0);
	/* allocated in address order: the sequence numbers say so */
	for (int i = 3; i < 1000; i += 2)
		ck_assert_uint_eq(w.seq[i], w.seq[i - 2] + 2);
	uint64_t sum = 0;
	for (uint64_t i = 1; i < 1000; i += 2)
		sum += base + i * 0x110;
	ck_assert_uint_eq(w.sum, sum);
}
END_TEST

/* A forked child rewrites every allocinfo in its own trace. */
START_TEST(test_unwrite_all)
{
	uint32_t a = alloc_fresh(0x80000, 5, 5);
	uint32_t b = alloc_fresh(0x80040, 6, 5);

	heapmap_info_write(a);
	heapmap_info_write(b);
	ck_assert(heapmap_info_written(a) && heapmap_info_written(b));
	heapmap_unwrite_all();
	ck_assert(!heapmap_info_written(a));
	ck_assert(!heapmap_info_written(b));
	/* the allocinfos themselves survive */
	ck_assert_uint_eq(heapmap_info(a)->size, 5);
	ck_assert_uint_eq(heapmap_info(b)->size, 6);
}
END_TEST

/* The written marks are per allocinfo and survive the growth of the
 * tables; a new allocinfo is not written, and a (size, stack) seen before
 * keeps its id. */
START_TEST(test_written_marks)
{
	static uint32_t ids[20000];
	const uint64_t base = 0x200000000ull;

	for (uint32_t i = 0; i < 20000; i++) {
		ids[i] = alloc_fresh(base + (uint64_t)i * 64, 7 + i, 77);
		ck_assert(!heapmap_info_written(ids[i]));
		if (i % 3 == 0)
			heapmap_info_write(ids[i]);
		if (i % 6 == 0)
			heapmap_info_unwrite(ids[i]);
	}
	for (uint32_t i = 0; i < 20000; i++) {
		if (heapmap_info_written(ids[i]) != (i % 3 == 0 && i % 6 != 0))
			ck_abort_msg("allocinfo %u of block %u: wrong mark", ids[i], i);
		uint32_t dropped = 1, again = heapmap_alloc(base + 0x10000000ull + (uint64_t)i * 64, 7 + i, 77, &dropped);
		if (again != ids[i] || dropped)
			ck_abort_msg("block %u: id %u, then %u", i, ids[i], again);
	}
	for (uint32_t i = 0; i < 20000; i++) {
		ck_assert_uint_eq(heapmap_free(base + (uint64_t)i * 64), ids[i]);
		ck_assert_uint_eq(heapmap_free(base + 0x10000000ull + (uint64_t)i * 64), ids[i]);
	}
}
END_TEST

/* Many blocks and allocinfos in one region: the tables grow, nothing is
 * lost, ids stay stable. */
START_TEST(test_growth)
{
	static uint32_t ids[50000];
	const uint64_t base = 0x100000000ull;

	for (uint32_t i = 0; i < 50000; i++) {
		uint32_t dropped = 1;
		ids[i] = heapmap_alloc(base + (uint64_t)i * 32, 1000 + i, 3, &dropped);
		if (!ids[i] || dropped)
			ck_abort_msg("block %u: id %u dropped %u", i, ids[i], dropped);
	}
	for (uint32_t i = 0; i < 50000; i++) {
		struct heapmap_info *in = heapmap_info(ids[i]);
		if (in->size != 1000 + i || in->stack != 3)
			ck_abort_msg("allocinfo %u of block %u: size %llu", ids[i], i, (unsigned long long)in->size);
	}
	/* free in an order unlike the insertion order */
	for (uint32_t k = 0; k < 50000; k++) {
		uint32_t i = (uint32_t)((k * 7919u) % 50000u);
		if (heapmap_free(base + (uint64_t)i * 32) != ids[i])
			ck_abort_msg("block %u freed as the wrong allocinfo", i);
	}
}
END_TEST

/* heapmap_use_tables for the test below: libc's memory, counted; remap
 * fails when told to (then the table must be copied as before). */
static unsigned long maps, remaps, unmaps, remaps_failed;
static int remap_fails;

static void *test_map(size_t n)
{
	maps++;
	return calloc(1, n);
}

static void *test_remap(void *p, size_t old, size_t n)
{
	if (remap_fails) {
		remaps_failed++;
		return NULL;
	}
	remaps++;
	char *q = realloc(p, n);
	if (q)
		memset(q + old, 0, n - old);
	return q;
}

static void test_unmap(void *p, size_t n)
{
	(void)n;
	unmaps++;
	free(p);
}

static const struct heapmap_tables test_tables = {test_map, test_remap, test_unmap};

/* heapmap_each callback: the sequence number of each block of the region
 * at lo, by its 8-byte key. */
static uint32_t key_seq[1u << 21];
static uint64_t seq_lo, seq_seen;
static void seq_one(uint64_t addr, uint32_t info, uint32_t seq, void *arg)
{
	(void)info, (void)arg;
	if (addr < seq_lo || addr >= seq_lo + (16ull << 20))
		return;
	seq_seen++;
	key_seq[(addr - seq_lo) / 8] = seq;
}

/*
 * A region's table past HEAPMAP_TABLE_MAP_MIN doubles in place
 * (region_grow_in_place): through several doublings, with frees between
 * (the backward shifts of slot_del), every block keeps its allocinfo and
 * its sequence number; and when remap fails the table is copied instead,
 * losing nothing either.  The worst case is built in: the test knows the
 * hash (home() in heapmap.c), and first puts in the blocks whose home is
 * among the last 64 slots at every size from 2^13 to 2^19, a run that
 * wraps around the table's end at every doubling (mutations of
 * region_grow_in_place that this test caught: no runs set aside, the
 * slots moved in descending order, the sequence numbers not moved).
 */
static uint32_t order[1u << 19]; /* keys (offset / 8), in allocation order */
static void grow_in_place(uint64_t base, int fail)
{
	const uint32_t uniform = 200000; /* 6.4 MB of 32-byte blocks: 2^18 slots */
	unsigned long mapped0 = maps;
	uint32_t n = 0, tail = 0;

	heapmap_use_tables(&test_tables);
	remap_fails = fail;
	for (uint32_t k = 0; k < (1u << 21); k++) {
		uint64_t h = ((k + 1) * 0x9e3779b97f4a7c15ull) >> 40; /* heapmap.c: key = offset / 8 + 1 */
		if ((h >> 6 & 0x1fff) == 0x1fff)
			order[n++] = k;
	}
	tail = n;
	ck_assert_uint_gt(tail, 128);
	static uint8_t is_tail[1u << 18]; /* a bit a key */
	memset(is_tail, 0, sizeof(is_tail));
	for (uint32_t j = 0; j < tail; j++)
		is_tail[order[j] / 8] |= (uint8_t)(1u << order[j] % 8);
	for (uint32_t i = 0; i < uniform; i++)
		if (!(is_tail[i * 4 / 8] >> (i * 4 % 8) & 1))
			order[n++] = i * 4;
	for (uint32_t i = 0; i < n; i++) {
		alloc_fresh(base + (uint64_t)order[i] * 8, 1 + order[i] % 997, 4);
		if (i % 5 == 4) /* every fifth block, a little behind */
			ck_assert_uint_ne(heapmap_free(base + (uint64_t)order[i - 2] * 8), 0);
	}
	if (fail) {
		ck_assert_uint_gt(remaps_failed, 4);
		ck_assert_uint_gt(maps - mapped0, 4); /* copied to new mappings */
	} else {
		ck_assert_uint_gt(remaps, 4); /* 8192 -> 2^18 slots in place */
		ck_assert_uint_eq(maps - mapped0, 1); /* the first mapped table only */
	}
	seq_lo = base;
	seq_seen = 0;
	heapmap_each(seq_one, NULL);
	ck_assert_uint_eq(seq_seen, n - (n + 1) / 5); /* one freed per i % 5 == 4 */
	uint32_t prev = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (i % 5 == 2 && i + 2 < n)
			continue; /* freed */
		if (key_seq[order[i]] <= prev)
			ck_abort_msg("block %u: sequence %u after %u", i, key_seq[order[i]], prev);
		prev = key_seq[order[i]];
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t id = heapmap_free(base + (uint64_t)order[i] * 8);
		int freed = i % 5 == 2 && i + 2 < n;
		if (freed ? id != 0 : (!id || heapmap_info(id)->size != 1 + order[i] % 997))
			ck_abort_msg("block %u: allocinfo %u", i, id);
	}
	/* a reset gives the mapped tables back through unmap */
	unsigned long unmapped0 = unmaps;
	alloc_fresh(base, 8, 4);
	heapmap_reset();
	ck_assert_uint_eq(unmaps - unmapped0, 1);
	heapmap_use_tables(NULL);
}

START_TEST(test_growth_in_place)
{
	grow_in_place(0x7b0000000000ull, 0);
}
END_TEST

START_TEST(test_growth_remap_fails)
{
	grow_in_place(0x7b1000000000ull, 1);
}
END_TEST

/* A new region's tables come from the allocator given to heapmap_use. */
START_TEST(test_given_allocator)
{
	unsigned long before = counted_calls;

	alloc_fresh(0x7a0000000000ull, 8, 1); /* a region no other test uses */
	ck_assert_uint_gt(counted_calls, before);
	ck_assert_uint_ne(heapmap_free(0x7a0000000000ull), 0);
}
END_TEST

Suite *heapmap_suite(void)
{
	Suite *s = suite_create("heapmap");
	TCase *tc = tcase_create("heapmap");

	tcase_add_unchecked_fixture(tc, use_counted, NULL);
	tcase_add_test(tc, test_given_allocator);
	tcase_add_test(tc, test_alloc_free);
	tcase_add_test(tc, test_neighbours);
	tcase_add_test(tc, test_regions);
	tcase_add_test(tc, test_allocinfo_interning);
	tcase_add_test(tc, test_allocinfo_largest_stack_id);
	tcase_add_test(tc, test_allocinfo_ids_past_16_bits);
	tcase_add_test(tc, test_alloc_at_live_address);
	tcase_add_test(tc, test_two_late_frees);
	tcase_add_test(tc, test_late_free_is_per_address);
	tcase_add_test(tc, test_realloc_race);
	tcase_add_test(tc, test_each);
	tcase_add_test(tc, test_reset);
	tcase_add_test(tc, test_unwrite_all);
	tcase_add_test(tc, test_written_marks);
	tcase_add_test(tc, test_growth);
	tcase_add_test(tc, test_growth_in_place);
	tcase_add_test(tc, test_growth_remap_fails);
	suite_add_tcase(s, tc);
	return s;
}
