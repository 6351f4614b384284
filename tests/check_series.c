/* Description: unit tests of src/analyze/series.c: buckets keep the
 * minimum and maximum of a step function exactly, gaps hold the last
 * value, and doubling the width keeps every bucket equal to a brute-force
 * recomputation at the new width, so the peak is never lost. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "analyze/series.h"
#include "check_suites.h"

/* Three samples in bucket 0, none in 1 and 2, one in 3. */
START_TEST(test_buckets_and_gaps)
{
	struct series s;

	ck_assert_int_eq(series_init(&s, 1000, 10, 16), 0);
	series_add(&s, 1000, 5);
	series_add(&s, 1003, 50);
	series_add(&s, 1009, 7);
	series_add(&s, 1035, 2);
	ck_assert_uint_eq(s.n, 4);
	ck_assert_uint_eq(s.min[0], 0); /* the value began at 0 */
	ck_assert_uint_eq(s.max[0], 50);
	/* buckets 1 and 2 hold 7 throughout */
	ck_assert_uint_eq(s.min[1], 7);
	ck_assert_uint_eq(s.max[1], 7);
	ck_assert_uint_eq(s.min[2], 7);
	ck_assert_uint_eq(s.max[2], 7);
	/* bucket 3 began at 7 and fell to 2 */
	ck_assert_uint_eq(s.min[3], 2);
	ck_assert_uint_eq(s.max[3], 7);
	series_close(&s, 1061);
	ck_assert_uint_eq(s.n, 7);
	ck_assert_uint_eq(s.min[6], 2);
	ck_assert_uint_eq(s.max[6], 2);
	series_free(&s);
}
END_TEST

/* Random walk over a long time: compare each bucket with the min and max
 * of the step function over [t0 + i*width, t0 + (i+1)*width). */
START_TEST(test_halving_matches_brute_force)
{
	enum { N = 20000 };
	static uint64_t ts[N], v[N];
	struct series s;
	uint64_t t = 0, x = 1000, seed = 12345, peak = 0;

	ck_assert_int_eq(series_init(&s, 0, 1, 64), 0);
	for (int i = 0; i < N; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		t += (seed >> 33) % 97;
		x = (seed >> 40) % 3 == 0 && x > 100 ? x - (seed >> 50) % 100 : x + (seed >> 52) % 120;
		ts[i] = t;
		v[i] = x;
		if (x > peak)
			peak = x;
		series_add(&s, t, x);
	}
	ck_assert_uint_le(s.n, 64);
	ck_assert_uint_gt(s.n, 32); /* no wider than needed */
	ck_assert_uint_eq(s.width & (s.width - 1), 0);
	uint64_t seen_peak = 0;
	int j = 0;
	uint64_t held = 0;
	for (uint32_t b = 0; b < s.n; b++) {
		uint64_t lo = held, hi = held, end = (b + 1) * s.width;
		while (j < N && ts[j] < end) {
			if (v[j] < lo)
				lo = v[j];
			if (v[j] > hi)
				hi = v[j];
			held = v[j++];
		}
		ck_assert_msg(s.min[b] == lo && s.max[b] == hi, "bucket %u: [%llu, %llu], want [%llu, %llu]", b,
			      (unsigned long long)s.min[b], (unsigned long long)s.max[b], (unsigned long long)lo,
			      (unsigned long long)hi);
		if (s.max[b] > seen_peak)
			seen_peak = s.max[b];
	}
	ck_assert_uint_eq(seen_peak, peak);
	series_free(&s);
}
END_TEST

/* A single spike between long flat stretches survives every halving. */
START_TEST(test_spike_survives)
{
	struct series s;

	ck_assert_int_eq(series_init(&s, 0, 1, 8), 0);
	series_add(&s, 0, 10);
	series_add(&s, 500, 1000000);
	series_add(&s, 501, 10);
	series_add(&s, 100000, 11);
	uint64_t hi = 0;
	for (uint32_t b = 0; b < s.n; b++)
		hi = s.max[b] > hi ? s.max[b] : hi;
	ck_assert_uint_eq(hi, 1000000);
	ck_assert_uint_le(s.n, 8);
	series_free(&s);
}
END_TEST

Suite *series_suite(void)
{
	Suite *s = suite_create("series");
	TCase *tc = tcase_create("series");

	tcase_add_test(tc, test_buckets_and_gaps);
	tcase_add_test(tc, test_halving_matches_brute_force);
	tcase_add_test(tc, test_spike_survives);
	suite_add_tcase(s, tc);
	return s;
}
