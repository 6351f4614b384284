/*
 * clock.c - the TSC as the event clock, calibrated against CLOCK_MONOTONIC.
 * HOOK-SAFE.
 */
#define _GNU_SOURCE
#include "shim/clock.h"

#include <cpuid.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "util/hooksafe.h"

#define CALIBRATE_NS 20000000ull /* between the two points: 2 ns off a millisecond at most (each point within 20 ns) */

struct clock_tsc clock_tsc;
static _Atomic uint32_t threads; /* threads that recorded since start or fork */

static int usable;	       /* the TSC is the kernel's clocksource */
static uint64_t tsc_a, ns_a; /* the first point */

/* A (TSC, CLOCK_MONOTONIC) pair read as close together as a few tries allow. */
static void pair(uint64_t *tsc, uint64_t *ns)
{
	uint64_t best = UINT64_MAX;

	for (int i = 0; i < 8; i++) {
		uint64_t t1 = clock_tsc_read(), n = clock_mono_ns(), t2 = clock_tsc_read();
		if (t2 - t1 < best) {
			best = t2 - t1;
			*tsc = t1 + (t2 - t1) / 2;
			*ns = n;
		}
	}
}

/* Does the kernel keep time with the TSC, and is it invariant? */
static int tsc_is_clocksource(void)
{
	unsigned a, b, c, d;
	char buf[16] = {0};

	if (!__get_cpuid(0x80000007, &a, &b, &c, &d) || !(d & (1u << 8)))
		return 0; /* no invariant TSC */
	int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n >= 3 && !memcmp(buf, "tsc", 3) && (n == 3 || buf[3] == '\n');
}

void clock_init(void)
{
	usable = tsc_is_clocksource();
	if (usable)
		pair(&tsc_a, &ns_a);
}

void clock_calibrate(void)
{
	uint64_t tsc_b, ns_b;

	/* relaxed: only the collector sets CLOCK_TSC */
	if (!usable || (atomic_load_rlx(&clock_tsc.on) & CLOCK_TSC) || clock_mono_ns() - ns_a < CALIBRATE_NS)
		return;
	pair(&tsc_b, &ns_b);
	if (tsc_b <= tsc_a || ns_b <= ns_a) {
		usable = 0;
		return;
	}
	if (ns_b - ns_a >= 1ull << 32) {
		/* over 4 s since the first point (no collector cycle meanwhile):
		 * start again, so that the scale fits 64 bits */
		tsc_a = tsc_b;
		ns_a = ns_b;
		return;
	}
	clock_tsc.mult = ((ns_b - ns_a) << 32) / (tsc_b - tsc_a);
	clock_tsc.tsc0 = tsc_b;
	clock_tsc.ns0 = ns_b;
	/* release: a stamp that sees CLOCK_TSC sees the scale */
	atomic_fetch_or_explicit(&clock_tsc.on, CLOCK_TSC, memory_order_release);
}

void clock_order_events(void)
{
	/* relaxed: the bit is never cleared but in a forked child */
	if (!(atomic_load_rlx(&clock_tsc.on) & CLOCK_ORDERED))
		/* seq_cst (lock or, a full fence): the bit is visible before
		 * any later store of this thread, so before it hands any block
		 * over (see clock_event_ns) */
		atomic_fetch_or_explicit(&clock_tsc.on, CLOCK_ORDERED, memory_order_seq_cst);
}

void clock_thread_starts(void)
{
	/* relaxed: only the count matters; clock_order_events orders */
	if (atomic_fetch_add_rlx(&threads, 1) >= 1)
		clock_order_events();
}

void clock_forget_threads(void)
{
	/* relaxed: the forked child has one thread */
	atomic_store_rlx(&threads, 0);
	atomic_fetch_and_explicit(&clock_tsc.on, ~CLOCK_ORDERED, memory_order_relaxed);
}

int clock_events_ordered(void)
{
	/* relaxed: a test's look */
	return !!(atomic_load_rlx(&clock_tsc.on) & CLOCK_ORDERED);
}
