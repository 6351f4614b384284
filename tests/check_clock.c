/* Description: unit tests of src/shim/clock.c: once calibrated (where the
 * kernel's clocksource is the TSC), clock_now_ns agrees with
 * CLOCK_MONOTONIC and never goes back; elsewhere it is CLOCK_MONOTONIC. */
#define _GNU_SOURCE
#include <check.h>
#include <stdint.h>
#include <time.h>

#include "check_suites.h"
#include "shim/clock.h"

/* Wait until CLOCK_MONOTONIC has advanced by ns. */
static void spin_ns(uint64_t ns)
{
	uint64_t end = clock_mono_ns() + ns;

	while (clock_mono_ns() < end)
		;
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
	uint64_t prev = clock_now_ns();
	for (int i = 0; i < 2000000; i++) {
		uint64_t t = clock_now_ns();
		ck_assert_uint_ge(t, prev);
		prev = t;
	}
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
