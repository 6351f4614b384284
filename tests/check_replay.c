/* Description: unit tests of src/analyze/replay.c: live bytes, blocks and
 * peak per allocinfo after alloc/free/realloc sequences, implicit events,
 * unknown frees, and growth of the per-allocinfo tables.  (The ordering
 * rules that used to live here are the collector's now: check_heapmap.c.) */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "analyze/replay.h"
#include "check_suites.h"
#include "trace/format.h"

static struct replay rp;

/* A fresh model per test. */
static void setup(void)
{
	ck_assert_int_eq(replay_init(&rp), 0);
}

/* Release it. */
static void teardown(void)
{
	replay_free(&rp);
}

/* An allocation of kind by allocinfo id (size, stack) at ts. */
static void ev_alloc(uint8_t kind, uint64_t ts, uint32_t id, uint64_t size, uint32_t stack)
{
	struct trace_event ev = {.kind = kind, .thread = 1, .ts = ts, .info = id, .size = size, .stack = stack};

	replay_event(&rp, &ev);
}

/* A malloc of allocinfo id (stack id + 100). */
static void ev_malloc(uint64_t ts, uint32_t id, uint64_t size)
{
	ev_alloc(HST_EV_MALLOC, ts, id, size, id + 100);
}

/* A free as the reader gives it: the freed block's allocinfo and size. */
static void ev_free(uint64_t ts, uint32_t id, uint64_t size)
{
	struct trace_event ev = {.kind = HST_EV_FREE, .thread = 1, .ts = ts, .info = id, .size = size};

	replay_event(&rp, &ev);
}

/* A realloc from allocinfo old to id (0: none). */
static void ev_realloc(uint64_t ts, uint32_t old, uint64_t old_size, uint32_t id, uint64_t size)
{
	struct trace_event ev = {.kind = HST_EV_REALLOC, .thread = 2, .ts = ts, .info = id, .size = size,
				 .stack = 9, .old_info = old, .old_size = old_size};

	replay_event(&rp, &ev);
}

/* Assert the live totals. */
static void assert_live(uint64_t bytes, uint64_t count)
{
	ck_assert_uint_eq(rp.live_bytes, bytes);
	ck_assert_uint_eq(rp.live_count, count);
}

/* Assert the peak and when it was reached. */
static void assert_peak(uint64_t bytes, uint64_t count, uint64_t ts)
{
	ck_assert_uint_eq(rp.peak_bytes, bytes);
	ck_assert_uint_eq(rp.peak_count, count);
	ck_assert_uint_eq(rp.peak_ts, ts);
}

/* Live blocks of allocinfo id. */
static uint64_t live_of(uint32_t id)
{
	return id < rp.cap ? rp.count[id] : 0;
}

/* Nothing replayed: all zero. */
START_TEST(test_empty)
{
	assert_live(0, 0);
	assert_peak(0, 0, 0);
	ck_assert_uint_eq(rp.unknown_frees, 0);
	ck_assert_int_eq(rp.oom, 0);
}
END_TEST

/* Allocations add their allocinfo's bytes, frees take them back. */
START_TEST(test_alloc_free)
{
	ev_malloc(10, 1, 100);
	assert_live(100, 1);
	ev_alloc(HST_EV_CALLOC, 20, 2, 50, 7);
	ev_alloc(HST_EV_NEW, 30, 3, 8, 8);
	assert_live(158, 3);
	assert_peak(158, 3, 30);
	ck_assert_uint_eq(live_of(2), 1);
	ck_assert_uint_eq(rp.size[2], 50);
	ck_assert_uint_eq(rp.stack[2], 7);

	ev_free(40, 2, 50);
	assert_live(108, 2);
	ck_assert_uint_eq(live_of(2), 0);
	/* delete is a free too */
	struct trace_event del = {.kind = HST_EV_DELETE, .ts = 50, .info = 3, .size = 8};
	replay_event(&rp, &del);
	assert_live(100, 1);
	/* the peak stays where it was */
	assert_peak(158, 3, 30);
	ev_free(60, 1, 100);
	assert_live(0, 0);
	ck_assert_uint_eq(rp.unknown_frees, 0);
}
END_TEST

/* Blocks of one allocinfo are counted, not tracked one by one. */
START_TEST(test_same_allocinfo)
{
	for (int i = 0; i < 5; i++)
		ev_malloc(10 + (uint64_t)i, 4, 32);
	assert_live(160, 5);
	ck_assert_uint_eq(live_of(4), 5);
	for (int i = 0; i < 5; i++)
		ev_free(20 + (uint64_t)i, 4, 32);
	assert_live(0, 0);
	/* a sixth free has no block left to drop */
	ev_free(30, 4, 32);
	assert_live(0, 0);
	ck_assert_uint_eq(rp.unknown_frees, 1);
	ck_assert_uint_eq(live_of(4), 0);
}
END_TEST

/* Every allocation kind adds, every free kind removes, usable_size is
 * neither. */
START_TEST(test_every_kind)
{
	static const uint8_t allocs[] = {HST_EV_MALLOC, HST_EV_CALLOC, HST_EV_POSIX_MEMALIGN, HST_EV_ALIGNED_ALLOC,
					 HST_EV_MEMALIGN, HST_EV_VALLOC, HST_EV_PVALLOC, HST_EV_NEW,
					 HST_EV_NEW_ARRAY};
	static const uint8_t frees[] = {HST_EV_FREE, HST_EV_DELETE, HST_EV_DELETE_ARRAY};
	uint64_t ts = 1;

	for (unsigned i = 0; i < sizeof(allocs); i++)
		ev_alloc(allocs[i], ts++, i + 1, 10, 1);
	assert_live(10 * sizeof(allocs), sizeof(allocs));
	struct trace_event us = {.kind = HST_EV_USABLE_SIZE, .ts = ts++, .info = 1, .size = 10};
	replay_event(&rp, &us);
	assert_live(10 * sizeof(allocs), sizeof(allocs));
	for (unsigned i = 0; i < sizeof(allocs); i++) {
		struct trace_event f = {.kind = frees[i % sizeof(frees)], .ts = ts++, .info = i + 1, .size = 10};
		replay_event(&rp, &f);
	}
	assert_live(0, 0);
	ck_assert_uint_eq(rp.unknown_frees, 0);
}
END_TEST

/* The peak is the first time the largest live total was reached. */
START_TEST(test_peak)
{
	ev_malloc(1, 1, 100);
	ev_malloc(2, 2, 100);
	ev_free(3, 1, 100);
	ev_malloc(4, 3, 50); /* 150: below the 200 peak */
	assert_peak(200, 2, 2);
	ev_malloc(5, 4, 51); /* 201: a new peak, 3 blocks */
	assert_peak(201, 3, 5);
	ev_free(6, 2, 100);
	ev_malloc(7, 5, 100); /* 201 again: equal is not a new peak */
	assert_peak(201, 3, 5);
	assert_live(201, 3);
}
END_TEST

/* Frees the trace cannot name (allocinfo 0), or of an allocinfo with no
 * live block, are counted and change nothing else. */
START_TEST(test_unknown_frees)
{
	ev_malloc(1, 1, 10);
	ev_free(2, 0, 0);
	ck_assert_uint_eq(rp.unknown_frees, 1);
	ev_free(3, 2, 0); /* allocinfo 2 never allocated */
	ck_assert_uint_eq(rp.unknown_frees, 2);
	ev_free(4, 1000000, 0); /* far past the table */
	ck_assert_uint_eq(rp.unknown_frees, 3);
	assert_live(10, 1);
	ck_assert_uint_eq(live_of(1), 1);
	ck_assert_int_eq(rp.oom, 0);
}
END_TEST

/* An allocation without an allocinfo (the collector ran out of memory)
 * is not counted. */
START_TEST(test_alloc_without_allocinfo)
{
	ev_malloc(1, 0, 10);
	assert_live(0, 0);
	assert_peak(0, 0, 0);
}
END_TEST

/* A realloc moves one block from its old allocinfo to its new one. */
START_TEST(test_realloc_move)
{
	ev_malloc(10, 1, 100);
	ev_realloc(20, 1, 100, 2, 300);
	assert_live(300, 1);
	ck_assert_uint_eq(live_of(1), 0);
	ck_assert_uint_eq(live_of(2), 1);
	ck_assert_uint_eq(rp.size[2], 300);
	ck_assert_uint_eq(rp.stack[2], 9);
	assert_peak(300, 1, 20);
}
END_TEST

/* realloc(NULL, n) only allocates; realloc(p, 0) only frees. */
START_TEST(test_realloc_null_and_zero)
{
	ev_realloc(10, 0, 0, 1, 16);
	assert_live(16, 1);
	ck_assert_uint_eq(rp.unknown_frees, 0);
	ev_realloc(20, 1, 16, 0, 0);
	assert_live(0, 0);
	ck_assert_uint_eq(rp.unknown_frees, 0);
}
END_TEST

/* realloc of a block the trace never saw: its free is unknown, the new
 * block lives. */
START_TEST(test_realloc_unknown_old)
{
	ev_realloc(10, 7, 0, 2, 16);
	ck_assert_uint_eq(rp.unknown_frees, 1);
	assert_live(16, 1);
}
END_TEST

/* A realloc that keeps its allocinfo (same size and stack): drop then add. */
START_TEST(test_realloc_same_allocinfo)
{
	ev_malloc(10, 3, 64);
	ev_realloc(20, 3, 64, 3, 64);
	assert_live(64, 1);
	ck_assert_uint_eq(live_of(3), 1);
	ck_assert_uint_eq(rp.unknown_frees, 0);
	/* the peak did not double-count the block */
	assert_peak(64, 1, 10);
}
END_TEST

/* Implicit events are blocks too: a collector-inferred free drops its
 * block, an inherited allocation (forked child) adds one. */
START_TEST(test_implicit_events)
{
	struct trace_event inh = {.kind = HST_EV_MALLOC, .implicit = 1, .ts = 1, .info = 1, .size = 40};
	struct trace_event gone = {.kind = HST_EV_FREE, .implicit = 1, .ts = 3, .info = 1, .size = 40};

	replay_event(&rp, &inh);
	assert_live(40, 1);
	ev_malloc(2, 2, 8);
	replay_event(&rp, &gone);
	assert_live(8, 1);
	ck_assert_uint_eq(rp.unknown_frees, 0);
}
END_TEST

/* Many allocinfos: the tables grow and the totals stay exact. */
START_TEST(test_many_allocinfos)
{
	const uint32_t n = 100000;
	uint64_t ts = 1;

	/* sizes 1..1000, never 0, so every allocation raises the peak */
	for (uint32_t id = 1; id <= n; id++)
		ev_malloc(ts++, id, id % 1000 + 1);
	uint64_t total = 0;
	for (uint32_t id = 1; id <= n; id++)
		total += id % 1000 + 1;
	assert_live(total, n);
	ck_assert_uint_gt(rp.cap, n);
	for (uint32_t id = 1; id <= n; id += 2)
		ev_free(ts++, id, id % 1000 + 1);
	for (uint32_t id = 1; id <= n; id++)
		if (live_of(id) != (id % 2 ? 0u : 1u) || (!(id % 2) && rp.size[id] != id % 1000 + 1))
			ck_abort_msg("allocinfo %u: %llu live", id, (unsigned long long)live_of(id));
	uint64_t even = 0;
	for (uint32_t id = 2; id <= n; id += 2)
		even += id % 1000 + 1;
	assert_live(even, n / 2);
	ck_assert_uint_eq(rp.unknown_frees, 0);
	ck_assert_int_eq(rp.oom, 0);
	assert_peak(total, n, n);
}
END_TEST

Suite *replay_suite(void)
{
	Suite *s = suite_create("replay");
	TCase *tc = tcase_create("replay");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_alloc_free);
	tcase_add_test(tc, test_same_allocinfo);
	tcase_add_test(tc, test_every_kind);
	tcase_add_test(tc, test_peak);
	tcase_add_test(tc, test_unknown_frees);
	tcase_add_test(tc, test_alloc_without_allocinfo);
	tcase_add_test(tc, test_realloc_move);
	tcase_add_test(tc, test_realloc_null_and_zero);
	tcase_add_test(tc, test_realloc_unknown_old);
	tcase_add_test(tc, test_realloc_same_allocinfo);
	tcase_add_test(tc, test_implicit_events);
	tcase_add_test(tc, test_many_allocinfos);
	suite_add_tcase(s, tc);
	return s;
}
