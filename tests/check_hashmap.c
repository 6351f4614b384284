/* Description: unit tests of src/util/hashmap.c: put/get/del, overwrite,
 * growth, clusters that wrap around the table end, and a long randomized
 * run against a plain reference array (backward-shift deletion must keep
 * every other key reachable). */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "check_suites.h"
#include "util/hashmap.h"

/* Assert in hot loops: ck_assert records a mark point per call, which
 * costs a write to check's message file. */
#define FAST_ASSERT(cond, ...) \
	do { \
		if (!(cond)) \
			ck_abort_msg(__VA_ARGS__); \
	} while (0)

/* xorshift64: deterministic, so a failure reproduces. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* The basic contract, including the extreme key UINT64_MAX. */
START_TEST(test_put_get_del)
{
	struct hashmap m;

	ck_assert_int_eq(hashmap_init(&m, 0), 0);
	ck_assert_ptr_null(hashmap_get(&m, 1));
	ck_assert_int_eq(hashmap_put(&m, 1, 100), 0);
	ck_assert_int_eq(hashmap_put(&m, 0xdeadbeef00ull, 200), 0);
	ck_assert_int_eq(hashmap_put(&m, UINT64_MAX, 300), 0);
	ck_assert_uint_eq(m.count, 3);
	ck_assert_ptr_nonnull(hashmap_get(&m, 1));
	ck_assert_uint_eq(*hashmap_get(&m, 1), 100);
	ck_assert_uint_eq(*hashmap_get(&m, 0xdeadbeef00ull), 200);
	ck_assert_uint_eq(*hashmap_get(&m, UINT64_MAX), 300);
	ck_assert_ptr_null(hashmap_get(&m, 2));

	/* overwrite keeps the count */
	ck_assert_int_eq(hashmap_put(&m, 1, 101), 0);
	ck_assert_uint_eq(m.count, 3);
	ck_assert_uint_eq(*hashmap_get(&m, 1), 101);

	/* the returned pointer is the stored value, writable in place */
	*hashmap_get(&m, UINT64_MAX) = 301;
	ck_assert_uint_eq(*hashmap_get(&m, UINT64_MAX), 301);

	ck_assert_int_eq(hashmap_del(&m, 0xdeadbeef00ull), 1);
	ck_assert_int_eq(hashmap_del(&m, 0xdeadbeef00ull), 0);
	ck_assert_int_eq(hashmap_del(&m, 12345), 0);
	ck_assert_uint_eq(m.count, 2);
	ck_assert_ptr_null(hashmap_get(&m, 0xdeadbeef00ull));
	ck_assert_uint_eq(*hashmap_get(&m, 1), 101);
	ck_assert_uint_eq(*hashmap_get(&m, UINT64_MAX), 301);

	/* a deleted key can come back */
	ck_assert_int_eq(hashmap_put(&m, 0xdeadbeef00ull, 7), 0);
	ck_assert_uint_eq(*hashmap_get(&m, 0xdeadbeef00ull), 7);
	hashmap_free(&m);
	ck_assert_ptr_null(m.keys);
	ck_assert_uint_eq(m.count, 0);
}
END_TEST

/* A map sized for `expect` keys takes that many without rehashing. */
START_TEST(test_init_sized)
{
	struct hashmap m;

	ck_assert_int_eq(hashmap_init(&m, 1000), 0);
	uint64_t *keys = m.keys;
	for (uint64_t k = 1; k <= 1000; k++)
		ck_assert_int_eq(hashmap_put(&m, k * 4096, k), 0);
	ck_assert_ptr_eq(m.keys, keys);
	ck_assert_uint_eq(m.count, 1000);
	hashmap_free(&m);
}
END_TEST

/* Growth from the smallest table, and deletions after it. */
START_TEST(test_growth)
{
	struct hashmap m;
	const uint64_t n = 20000;

	ck_assert_int_eq(hashmap_init(&m, 1), 0);
	size_t slots0 = m.mask + 1;
	/* page-aligned addresses: the low bits the hash must not rely on */
	for (uint64_t k = 1; k <= n; k++) {
		FAST_ASSERT(hashmap_put(&m, k << 12, ~k) == 0, "put %llu", (unsigned long long)k);
		/* never more than 3/4 full, so probing always ends */
		FAST_ASSERT(m.count * 4 <= (m.mask + 1) * 3, "load above 3/4 at %llu", (unsigned long long)k);
	}
	ck_assert_uint_gt(m.mask + 1, slots0);
	ck_assert_uint_eq(m.count, n);
	for (uint64_t k = 1; k <= n; k++) {
		uint64_t *v = hashmap_get(&m, k << 12);
		FAST_ASSERT(v && *v == ~k, "key %llu lost", (unsigned long long)k);
	}
	ck_assert_ptr_null(hashmap_get(&m, (n + 1) << 12));
	ck_assert_ptr_null(hashmap_get(&m, 1));
	/* delete every other key; the rest stay reachable */
	for (uint64_t k = 1; k <= n; k += 2)
		FAST_ASSERT(hashmap_del(&m, k << 12) == 1, "del %llu", (unsigned long long)k);
	ck_assert_uint_eq(m.count, n / 2);
	for (uint64_t k = 1; k <= n; k++) {
		uint64_t *v = hashmap_get(&m, k << 12);
		if (k % 2)
			FAST_ASSERT(!v, "deleted key %llu found", (unsigned long long)k);
		else
			FAST_ASSERT(v && *v == ~k, "key %llu lost", (unsigned long long)k);
	}
	hashmap_free(&m);
}
END_TEST

/* Return the slot key k lands in when alone in a fresh 16-slot map. */
static size_t home_of(uint64_t k)
{
	struct hashmap m;
	size_t slot = SIZE_MAX;

	ck_assert_int_eq(hashmap_init(&m, 0), 0);
	ck_assert_uint_eq(m.mask, 15);
	hashmap_put(&m, k, 1);
	for (size_t i = 0; i <= m.mask; i++)
		if (m.keys[i] == k)
			slot = i;
	hashmap_free(&m);
	return slot;
}

/* Find n keys with the given home slot in a 16-slot map, from start. */
static void keys_with_home(size_t home, uint64_t *out, int n, uint64_t start)
{
	for (uint64_t k = start; n; k++)
		if (home_of(k) == home)
			out[--n] = k;
}

/*
 * A cluster that wraps from the last slot to slot 0: deleting its head must
 * pull the wrapped members back, both the ones whose home is the last slot
 * and one whose home is slot 0.
 */
START_TEST(test_delete_wrapping_cluster)
{
	uint64_t last[3], first[2];
	struct hashmap m;

	keys_with_home(15, last, 3, 1);
	keys_with_home(0, first, 2, 1);
	ck_assert_int_eq(hashmap_init(&m, 0), 0);
	ck_assert_uint_eq(m.mask, 15);
	/* slots 15, 0, 1 (home 15), then 2, 3 (home 0) */
	for (int i = 0; i < 3; i++)
		hashmap_put(&m, last[i], 10 + (uint64_t)i);
	for (int i = 0; i < 2; i++)
		hashmap_put(&m, first[i], 20 + (uint64_t)i);
	ck_assert_uint_eq(m.mask, 15); /* still no growth */
	ck_assert_uint_eq(m.keys[15], last[0]);
	ck_assert_uint_eq(m.keys[0], last[1]);
	ck_assert_uint_eq(m.keys[3], first[1]);

	ck_assert_int_eq(hashmap_del(&m, last[0]), 1);
	ck_assert_ptr_null(hashmap_get(&m, last[0]));
	for (int i = 1; i < 3; i++)
		ck_assert_uint_eq(*hashmap_get(&m, last[i]), 10 + (uint64_t)i);
	for (int i = 0; i < 2; i++)
		ck_assert_uint_eq(*hashmap_get(&m, first[i]), 20 + (uint64_t)i);
	/* backward shift leaves no hole: the cluster is 4 slots now */
	ck_assert_uint_eq(m.keys[15], last[1]);
	ck_assert_uint_eq(m.keys[3], 0);

	/* delete a member in the middle of the wrapped part */
	ck_assert_int_eq(hashmap_del(&m, last[2]), 1);
	ck_assert_uint_eq(*hashmap_get(&m, last[1]), 11);
	for (int i = 0; i < 2; i++)
		ck_assert_uint_eq(*hashmap_get(&m, first[i]), 20 + (uint64_t)i);
	ck_assert_uint_eq(m.count, 3);
	hashmap_free(&m);
}
END_TEST

/* Past the wrap, a member sitting in its own home slot must not move back
 * over the end of the table into the hole. */
START_TEST(test_delete_wrap_home_stays)
{
	uint64_t x[1], y[1];
	struct hashmap m;

	keys_with_home(15, x, 1, 1);
	keys_with_home(0, y, 1, 1);
	ck_assert_int_eq(hashmap_init(&m, 0), 0);
	hashmap_put(&m, x[0], 1);
	hashmap_put(&m, y[0], 2);
	ck_assert_uint_eq(m.keys[15], x[0]);
	ck_assert_uint_eq(m.keys[0], y[0]);
	ck_assert_int_eq(hashmap_del(&m, x[0]), 1);
	ck_assert_uint_eq(m.keys[15], 0);
	ck_assert_uint_eq(m.keys[0], y[0]);
	ck_assert_uint_eq(*hashmap_get(&m, y[0]), 2);
	hashmap_free(&m);
}
END_TEST

/* A member whose home lies between the hole and itself must not move. */
START_TEST(test_delete_keeps_home_order)
{
	uint64_t a[2], b[2];
	struct hashmap m;

	keys_with_home(4, a, 2, 1);
	keys_with_home(5, b, 2, 1);
	ck_assert_int_eq(hashmap_init(&m, 0), 0);
	/* slot 4: a0, 5: a1, 6: b0, 7: b1 */
	hashmap_put(&m, a[0], 1);
	hashmap_put(&m, a[1], 2);
	hashmap_put(&m, b[0], 3);
	hashmap_put(&m, b[1], 4);
	ck_assert_uint_eq(m.keys[4], a[0]);
	ck_assert_uint_eq(m.keys[7], b[1]);
	/* hole at 5: b0 (home 5) moves into it, b1 follows to 6 */
	ck_assert_int_eq(hashmap_del(&m, a[1]), 1);
	ck_assert_uint_eq(m.keys[4], a[0]);
	ck_assert_uint_eq(m.keys[5], b[0]);
	ck_assert_uint_eq(m.keys[6], b[1]);
	ck_assert_uint_eq(m.keys[7], 0);
	/* hole at 4: nothing after it has home 4 or before, so nothing moves
	 * into slot 4 */
	ck_assert_int_eq(hashmap_del(&m, a[0]), 1);
	ck_assert_uint_eq(m.keys[4], 0);
	ck_assert_uint_eq(*hashmap_get(&m, b[0]), 3);
	ck_assert_uint_eq(*hashmap_get(&m, b[1]), 4);
	hashmap_free(&m);
}
END_TEST

/*
 * Thousands of random put/overwrite/del against a reference array, with
 * a small key space so clusters, wraps and re-insertions are frequent.
 * After every operation the touched key is checked, and every 64
 * operations every key of the space.
 */
static void random_run(uint64_t seed, unsigned nkeys, unsigned ops, uint64_t scale)
{
	struct hashmap m;
	uint64_t ref[4096];  /* value + 1, 0 = absent */
	size_t live = 0;

	ck_assert_uint_le(nkeys, 4096);
	memset(ref, 0, sizeof(ref));
	ck_assert_int_eq(hashmap_init(&m, 0), 0);
	for (unsigned op = 0; op < ops; op++) {
		unsigned i = (unsigned)(rnd(&seed) % nkeys);
		uint64_t key = (i + 1) * scale;
		if (rnd(&seed) % 100 < 45) {
			int was = ref[i] != 0;
			FAST_ASSERT(hashmap_del(&m, key) == was, "op %u: del %u != %d", op, i, was);
			live -= (size_t)was;
			ref[i] = 0;
			FAST_ASSERT(!hashmap_get(&m, key), "op %u: key %u found after del", op, i);
		} else {
			uint64_t v = rnd(&seed);
			FAST_ASSERT(hashmap_put(&m, key, v) == 0, "op %u: put failed", op);
			live += ref[i] == 0;
			ref[i] = v + 1;
			uint64_t *p = hashmap_get(&m, key);
			FAST_ASSERT(p && *p == v, "op %u: key %u not found after put", op, i);
		}
		FAST_ASSERT(m.count == live, "op %u: count %zu, want %zu", op, m.count, live);
		if (op % 64 == 63) {
			for (unsigned j = 0; j < nkeys; j++) {
				uint64_t *p = hashmap_get(&m, (j + 1) * scale);
				if (ref[j])
					FAST_ASSERT(p && *p == ref[j] - 1, "op %u: key %u lost", op, j);
				else
					FAST_ASSERT(!p, "op %u: key %u present after delete", op, j);
			}
		}
	}
	hashmap_free(&m);
}

/* Reference runs with few keys: every cluster shape comes up. */
START_TEST(test_random_small)
{
	/* 20 keys in 32-64 slots: clusters that wrap */
	random_run(0x9e3779b97f4a7c15ull, 20, 20000, 1);
	/* 12 keys in 16 slots, up to 3/4 full: long clusters */
	random_run(0x853c49e6748fea9bull, 12, 20000, 3);
}
END_TEST

/* Reference run with many keys: growth under deletions. */
START_TEST(test_random_large)
{
	/* 4096 page-aligned keys: growth under churn */
	random_run(0x2545f4914f6cdd1dull, 4096, 60000, 4096);
}
END_TEST

Suite *hashmap_suite(void)
{
	Suite *s = suite_create("hashmap");
	TCase *tc = tcase_create("hashmap");

	tcase_add_test(tc, test_put_get_del);
	tcase_add_test(tc, test_init_sized);
	tcase_add_test(tc, test_growth);
	tcase_add_test(tc, test_delete_wrapping_cluster);
	tcase_add_test(tc, test_delete_wrap_home_stays);
	tcase_add_test(tc, test_delete_keeps_home_order);
	tcase_add_test(tc, test_random_small);
	tcase_add_test(tc, test_random_large);
	suite_add_tcase(s, tc);
	return s;
}
