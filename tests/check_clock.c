/* Description: unit tests of src/shim/clock.c: once calibrated (where the
 * kernel's clocksource is the TSC), clock_now_ns agrees with
 * CLOCK_MONOTONIC and never goes back; elsewhere it is CLOCK_MONOTONIC.
 * Event stamps are ordered from the second recording thread on, and a
 * ring keeps its stamps in order.  The blocks that map the TSC to ns:
 * each one's values at or above the last one's (so no stamp goes back
 * when the collector re-fits the line, whatever the new slope), converging
 * on CLOCK_MONOTONIC; and stamps handed between threads while blocks are
 * published as fast as possible stay in order. */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
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


/* A made-up CLOCK_MONOTONIC as a function of the TSC: slope (32.32 ns a
 * tick) from tsc0, plus a jump. */
struct fake_mono {
	uint64_t tsc0, ns0, mult;
};

static uint64_t fake_ns(const struct fake_mono *f, uint64_t t)
{
	return f->ns0 + (uint64_t)(((unsigned __int128)(t - f->tsc0) * f->mult) >> 32);
}

/* next at or above cur at every TSC (both never go down as the TSC goes
 * up, checked too), so any stamp by next is at or above any earlier one
 * by cur.  Sampled densely around both blocks' switches and ends. */
static void check_dominates(const struct clock_block *cur, const struct clock_block *next, int step)
{
	uint64_t lo = cur->a.tsc0 - 1000, hi = next->end + (next->end - cur->a.tsc0) / 4;
	uint64_t stride = (hi - lo) / 20000 + 1, prev_c = 0, prev_n = 0;
	uint64_t marks[] = {cur->b.tsc0, cur->end, next->b.tsc0, next->end};

	for (uint64_t t = lo; t < hi; t += stride) {
		uint64_t c = clock_block_ns(cur, t), n = clock_block_ns(next, t);
		ck_assert_msg(n >= c, "step %d: the new block reads %llu < %llu at tsc %llu", step, (unsigned long long)n,
			      (unsigned long long)c, (unsigned long long)t);
		ck_assert_msg(c >= prev_c && n >= prev_n, "step %d: a block goes down at tsc %llu", step,
			      (unsigned long long)t);
		prev_c = c;
		prev_n = n;
	}
	for (unsigned i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		for (uint64_t t = marks[i] - 3; t <= marks[i] + 3; t++) {
			ck_assert_uint_ge(clock_block_ns(next, t), clock_block_ns(cur, t));
			ck_assert_uint_ge(clock_block_ns(next, t + 1), clock_block_ns(next, t));
		}
}

/*
 * The re-fit's arithmetic against a made-up CLOCK_MONOTONIC (a 3 GHz TSC,
 * 1 s periods): on a steady clock it stays within 50 ns; when the clock
 * slows by 500 ppm, speeds up by 300 ppm, jumps 2 ms ahead, or the
 * collector comes late, every block still dominates the last, and the
 * stamps are back within 1 us of the clock two periods on.
 */
START_TEST(test_next_block)
{
	const uint64_t period = 3000000000ull, rate = (1ull << 32) / 3; /* ns a tick, 32.32 */
	struct fake_mono f = {1ull << 40, 5000000000ull, rate};
	struct clock_line l = {f.tsc0, f.ns0, rate};
	struct clock_block cur = {l, l, f.tsc0 + period}, next;
	uint64_t t = f.tsc0;

	for (int step = 0; step < 40; step++) {
		/* the collector comes somewhere in the period after the switch,
		 * late (past the end) every 7th time */
		t = cur.b.tsc0 + (step % 7 == 6 ? period + period / 3 : period / (2 + step % 3));
		if (step == 10 || step == 20 || step == 30) {
			/* the clock's rate changes (or it jumps) from here */
			uint64_t now_ns = fake_ns(&f, t);
			f.tsc0 = t;
			f.ns0 = now_ns + (step == 30 ? 2000000 : 0);
			f.mult = step == 10 ? rate - rate / 2000 : step == 20 ? rate + rate / 3333 : f.mult;
		}
		/* the rate the collector would measure: the clock's own, but
		 * for the period it changed in */
		clock_next_block(&cur, t, fake_ns(&f, t), f.mult, period, &next);
		check_dominates(&cur, &next, step);
		int settled = step % 10 >= 3 && step % 7 != 6 && step % 7 != 0;
		if (settled) {
			uint64_t probe = next.b.tsc0 + period / 2, s = clock_block_ns(&next, probe), m = fake_ns(&f, probe);
			uint64_t err = s > m ? s - m : m - s;
			ck_assert_msg(err < (step < 10 ? 50 : 1000), "step %d: %llu ns off the clock", step,
				      (unsigned long long)err);
		}
		cur = next;
	}
}
END_TEST

/* Stamps handed between two threads, while the test publishes blocks
 * (fitted to a CLOCK_MONOTONIC perturbed by up to 20 us either way, 20 us
 * periods: the slope changes at nearly every block) as fast as it can. */
static _Atomic uint64_t baton[2], baton_seq[2];
static _Atomic int stop_readers;
static _Atomic uint64_t handoff_back, thread_back, handoffs;

static void *relay(void *arg)
{
	int me = (int)(intptr_t)arg;
	uint64_t prev = 0, seen = 0;

	if (me)
		clock_order_events();
	/* relaxed: a flag to stop */
	while (!atomic_load_rlx(&stop_readers)) {
		/* acquire: the other thread's stamp was taken before it stored it */
		uint64_t seq = atomic_load_acq(&baton_seq[!me]);
		if (seq == seen) {
			sched_yield(); /* two CPUs, three threads */
			continue;
		}
		seen = seq;
		/* relaxed: stored before the sequence number, read after */
		uint64_t got = atomic_load_rlx(&baton[!me]);
		uint64_t t = me ? clock_event_ns() : clock_now_ns();
		if (t < got)
			atomic_fetch_add_rlx(&handoff_back, 1);
		if (t < prev)
			atomic_fetch_add_rlx(&thread_back, 1);
		prev = t;
		atomic_fetch_add_rlx(&handoffs, 1);
		/* relaxed, then release: the stamp is taken and stored before
		 * it is handed over */
		atomic_store_rlx(&baton[me], t);
		atomic_store_rel(&baton_seq[me], seen + 1);
	}
	return NULL;
}

START_TEST(test_publish_races)
{
	pthread_t th[2];
	uint64_t lo, n = clock_mono_ns(), published = 0;
	const uint64_t rate = 1ull << 31; /* a made-up rate: 2 ticks a ns */
	const uint64_t period = 40000;	/* ticks: 20 us */

	memset(&clock_tsc, 0, sizeof(clock_tsc));
	clock_order_events();
	lo = clock_tsc_read();
	struct clock_line l = {lo, n, rate};
	struct clock_block cur = {l, l, lo + period}, next;
	clock_publish(&cur);
	atomic_store_rlx(&baton[1], clock_now_ns());
	/* release: the stamp before the sequence number */
	atomic_store_rel(&baton_seq[1], 1);
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, relay, (void *)(intptr_t)i);
	/* until both have happened 2,000 times (a loaded machine may take
	 * seconds: three threads on two CPUs), 10 s at most */
	uint64_t end = clock_mono_ns() + 10000000000ull, x = 88172645463325252ull;
	/* relaxed: a count */
	while ((published < 2000 || atomic_load_rlx(&handoffs) < 2000) && clock_mono_ns() < end) {
		uint64_t t = clock_tsc_read();
		if (t < cur.b.tsc0) {
			sched_yield();
			continue;
		}
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint64_t m = (uint64_t)((int64_t)clock_block_ns(&cur, t) + (int64_t)(x % 40001) - 20000);
		clock_next_block(&cur, t, m, rate, period, &next);
		clock_publish(&next);
		cur = next;
		published++;
	}
	/* relaxed: a flag to stop */
	atomic_store_rlx(&stop_readers, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	memset(&clock_tsc, 0, sizeof(clock_tsc));
	ck_assert_uint_ge(published, 2000);
	ck_assert_uint_ge(atomic_load_rlx(&handoffs), 2000);
	ck_assert_msg(!atomic_load_rlx(&handoff_back) && !atomic_load_rlx(&thread_back),
		      "%llu stamps below the other thread's, %llu below the thread's own (%llu handoffs, %llu blocks)",
		      (unsigned long long)atomic_load_rlx(&handoff_back),
		      (unsigned long long)atomic_load_rlx(&thread_back), (unsigned long long)atomic_load_rlx(&handoffs),
		      (unsigned long long)published);
}
END_TEST

/* Where the TSC is used, the collector's re-fit a period on publishes a
 * new block, and the stamps still agree with CLOCK_MONOTONIC. */
START_TEST(test_refit)
{
	memset(&clock_tsc, 0, sizeof(clock_tsc));
	clock_init();
	spin_ns(30000000ull);
	clock_calibrate();
	/* relaxed: this thread is the writer */
	uint32_t on = atomic_load_rlx(&clock_tsc.on);
	if (!(on & CLOCK_TSC))
		return; /* not here: clock_gettime, as test_agrees_with_monotonic checks */
	uint64_t prev = clock_now_ns();
	for (int i = 0; i < 150; i++) {
		spin_ns(10000000ull);
		clock_calibrate();
		uint64_t a = clock_mono_ns(), t = clock_now_ns(), b = clock_mono_ns();
		ck_assert_uint_ge(t, prev);
		ck_assert_uint_ge(t + 20000, a);
		ck_assert_uint_le(t, b + 20000);
		prev = t;
	}
	/* relaxed: as above */
	uint32_t later = atomic_load_rlx(&clock_tsc.on);
	ck_assert(later & CLOCK_TSC);
	ck_assert_uint_ge(later / CLOCK_VERSION, on / CLOCK_VERSION + 1);
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
	tcase_add_test(tc, test_next_block);
	tcase_add_test(tc, test_publish_races);
	tcase_add_test(tc, test_refit);
	suite_add_tcase(s, tc);
	return s;
}
