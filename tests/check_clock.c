/* Description: unit tests of src/shim/clock.c: once calibrated (where the
 * kernel's clocksource is the TSC), clock_now_ns agrees with
 * CLOCK_MONOTONIC and never goes back; elsewhere it is CLOCK_MONOTONIC. */
#define _GNU_SOURCE
#include <check.h>
#include <stdint.h>
#include <time.h>

#include "check_suites.h"
#include "shim/clock.h"

/* Wait until CLOCK_MONOTONIC has advanced by ns (asleep: the TSC runs on,
 * and a busy loop only cost CPU time). */
static void spin_ns(uint64_t ns)
{
	uint64_t end = clock_mono_ns() + ns, now;

	while ((now = clock_mono_ns()) < end) {
		struct timespec ts = {(time_t)((end - now) / 1000000000u), (long)((end - now) % 1000000000u)};
		nanosleep(&ts, NULL);
	}
}

START_TEST(test_agrees_with_monotonic)
{
	clock_init();
	spin_ns(300000000ull);
	clock_calibrate();
	/* calibrated or not, the stamps stay within 0.2 ms of CLOCK_MONOTONIC
	 * over half a second (a wrong scale would drift by far more) */
	for (int i = 0; i < 50; i++) {
		uint64_t a = clock_mono_ns(), t = clock_now_ns(), b = clock_mono_ns();
		ck_assert_uint_ge(t + 200000, a);
		ck_assert_uint_le(t, b + 200000);
		spin_ns(10000000ull);
	}
}
END_TEST

START_TEST(test_never_goes_back)
{
	clock_init();
	spin_ns(300000000ull);
	clock_calibrate();
	/* one assertion at the end: each ck_assert is a message to the
	 * runner, 2 million of them cost seconds of CPU */
	uint64_t prev = clock_now_ns(), back = 0, first_back = 0;
	for (int i = 0; i < 2000000; i++) {
		uint64_t t = clock_now_ns();
		if (t < prev && !back++)
			first_back = prev - t;
		prev = t;
	}
	ck_assert_msg(!back, "clock_now_ns went back %llu times (the first by %llu ns)", (unsigned long long)back,
		      (unsigned long long)first_back);
}
END_TEST

Suite *clock_suite(void)
{
	Suite *s = suite_create("clock");
	TCase *tc = tcase_create("clock");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_agrees_with_monotonic);
	tcase_add_test(tc, test_never_goes_back);
	suite_add_tcase(s, tc);
	return s;
}
