/* Description: unit tests of src/shim/clock.c: once calibrated (where the
 * kernel's clocksource is the TSC), clock_now_ns agrees with
 * CLOCK_MONOTONIC and never goes back; elsewhere it is CLOCK_MONOTONIC.
 * Event stamps are ordered from the second recording thread on, and a
 * ring keeps its stamps in order. */
#define _GNU_SOURCE
#include <check.h>
#include <stdint.h>
#include <time.h>

#include "check_suites.h"
#include "shim/clock.h"
#include "shim/ring.h"

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

/* The second thread that records, and a thread that releases a program
 * block without a ring, make event stamps ordered; a forked child starts
 * over with its one thread. */
START_TEST(test_event_stamps_ordered)
{
	clock_forget_threads();
	clock_thread_starts();
	ck_assert_int_eq(clock_events_ordered(), 0);
	clock_thread_starts();
	ck_assert_int_eq(clock_events_ordered(), 1);
	clock_thread_starts();
	ck_assert_int_eq(clock_events_ordered(), 1);
	clock_forget_threads();
	ck_assert_int_eq(clock_events_ordered(), 0);
	clock_thread_starts();
	ck_assert_int_eq(clock_events_ordered(), 0);
	clock_order_events();
	ck_assert_int_eq(clock_events_ordered(), 1);
	clock_forget_threads();
}
END_TEST

/* Unordered or not, event stamps are CLOCK_MONOTONIC's time. */
START_TEST(test_event_stamps_agree)
{
	clock_init();
	spin_ns(300000000ull);
	clock_calibrate();
	for (int ordered = 0; ordered < 2; ordered++) {
		clock_forget_threads();
		if (ordered)
			clock_order_events();
		for (int i = 0; i < 20; i++) {
			uint64_t a = clock_mono_ns(), t = clock_event_ns(), b = clock_mono_ns();
			ck_assert_uint_ge(t + 200000, a);
			ck_assert_uint_le(t, b + 200000);
			spin_ns(1000000ull);
		}
	}
	clock_forget_threads();
}
END_TEST

/* A ring's stamps never go back, whatever order they were taken in. */
START_TEST(test_ring_stamp_in_order)
{
	struct ring r = {0};
	uint64_t in[] = {5, 9, 7, 9, 12, 3, 12, 20}, out[] = {5, 9, 9, 9, 12, 12, 12, 20};

	for (unsigned i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		ck_assert_uint_eq(ring_stamp(&r, in[i]), out[i]);
}
END_TEST

Suite *clock_suite(void)
{
	Suite *s = suite_create("clock");
	TCase *tc = tcase_create("clock");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_agrees_with_monotonic);
	tcase_add_test(tc, test_never_goes_back);
	tcase_add_test(tc, test_event_stamps_ordered);
	tcase_add_test(tc, test_event_stamps_agree);
	tcase_add_test(tc, test_ring_stamp_in_order);
	suite_add_tcase(s, tc);
	return s;
}
