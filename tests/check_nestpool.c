/* Description: unit tests of src/shim/nestpool.c, the pool that serves
 * allocations made inside a hook (signal handlers): freed blocks are
 * reused, so a handler that allocates and frees never runs the pool dry;
 * blocks are aligned, zeroed and keep their size; several threads
 * allocating and freeing at once never get the same block twice.  The
 * pool is process-wide state: each test frees what it takes. */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "check_suites.h"
#include "shim/nestpool.h"

/* 64 MiB of pool, 70,000-byte blocks: a pool that never reused its
 * blocks would fail after about 950. */
START_TEST(test_reuse)
{
	for (int i = 0; i < 20000; i++) {
		char *p = nestpool_alloc(70000, 0);
		ck_assert_ptr_nonnull(p);
		ck_assert(nestpool_owns(p));
		p[69999] = 1;
		nestpool_free(p);
	}
}
END_TEST

START_TEST(test_align_zero_size)
{
	static const size_t aligns[] = {0, 16, 32, 64, 256, 4096};

	for (size_t a = 0; a < sizeof(aligns) / sizeof(aligns[0]); a++)
		for (size_t n = 0; n < 5000; n += 777) {
			unsigned char *p = nestpool_alloc(n, aligns[a]);
			ck_assert_ptr_nonnull(p);
			ck_assert_uint_eq((uintptr_t)p % (aligns[a] ? aligns[a] : 16), 0);
			ck_assert_uint_eq(nestpool_size(p), n);
			for (size_t i = 0; i < n; i++)
				ck_assert_uint_eq(p[i], 0);
			memset(p, 0xab, n); /* dirty: the next user must get zeros */
			nestpool_free(p);
		}
	ck_assert(!nestpool_owns(&aligns));
	ck_assert_ptr_null(nestpool_alloc((size_t)1 << 30, 0));
}
END_TEST

/* Many blocks held at once, freed in another order than taken. */
START_TEST(test_many_live)
{
	enum { N = 4000 };
	static char *held[N];

	for (int i = 0; i < N; i++) {
		held[i] = nestpool_alloc((size_t)(i % 300) + 1, 0);
		ck_assert_ptr_nonnull(held[i]);
		memset(held[i], i & 0xff, (size_t)(i % 300) + 1);
	}
	for (int i = 0; i < N; i++)
		for (size_t k = 0; k < (size_t)(i % 300) + 1; k++)
			ck_assert_uint_eq((unsigned char)held[i][k], i & 0xff);
	for (int i = N - 1; i >= 0; i -= 2)
		nestpool_free(held[i]);
	for (int i = 0; i < N; i += 2)
		nestpool_free(held[i]);
}
END_TEST

/* Threads allocate, stamp, check and free: two threads handed the same
 * block at once (a broken free list, ABA) would see each other's stamp. */
static void *churn(void *arg)
{
	uintptr_t me = (uintptr_t)arg;
	unsigned seed = (unsigned)me * 2654435761u;
	char *mine[16] = {0};

	for (int i = 0; i < 200000; i++) {
		int slot = (int)((seed = seed * 1103515245u + 12345u) >> 16) % 16;
		if (mine[slot]) {
			size_t n = nestpool_size(mine[slot]);
			for (size_t k = 0; k < n; k++)
				if (mine[slot][k] != (char)me)
					return (void *)1;
			nestpool_free(mine[slot]);
			mine[slot] = NULL;
		} else {
			size_t n = (seed >> 8) % 2048 + 1;
			mine[slot] = nestpool_alloc(n, 0);
			if (!mine[slot])
				return (void *)2;
			memset(mine[slot], (char)me, n);
		}
	}
	for (int s = 0; s < 16; s++)
		if (mine[s])
			nestpool_free(mine[s]);
	return NULL;
}

START_TEST(test_threads)
{
	pthread_t th[4];

	for (uintptr_t i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, churn, (void *)(i + 1)), 0);
	for (int i = 0; i < 4; i++) {
		void *rc;
		pthread_join(th[i], &rc);
		ck_assert_ptr_null(rc);
	}
}
END_TEST

Suite *nestpool_suite(void)
{
	Suite *s = suite_create("nestpool");
	TCase *tc = tcase_create("nestpool");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_reuse);
	tcase_add_test(tc, test_align_zero_size);
	tcase_add_test(tc, test_many_live);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);
	return s;
}
