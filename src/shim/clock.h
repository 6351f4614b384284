/*
 * clock.h - event timestamps: CLOCK_MONOTONIC nanoseconds.  The free of a
 * block is stamped before the block is released and an allocation after it
 * is obtained, so two events on one address are ordered by their stamps
 * even across threads.
 * HOOK-SAFE.
 *
 * CLOCK_MONOTONIC through the vDSO costs about as much as all the rest of
 * a free's recording.  Where the kernel's own clock is the TSC (it checked
 * that the TSC is invariant and in step across CPUs), the stamp is the TSC
 * itself, scaled to nanoseconds with a rate the collector measures against
 * CLOCK_MONOTONIC during the first quarter second (clock.c): the same
 * instruction the vDSO reads (lfence; rdtsc, ordered after earlier loads),
 * without its call, sequence lock and conversion.  Before that, and on any
 * other clocksource, clock_gettime as always.
 */
#ifndef HS_SHIM_CLOCK_H
#define HS_SHIM_CLOCK_H

#include <stdint.h>
#include <time.h>

#include "util/atomic.h"
#include "util/compiler.h"

struct clock_tsc {
	_Atomic int on; /* the scale below is set: use the TSC */
	uint64_t tsc0;	/* TSC at the end of the calibration */
	uint64_t ns0;	/* CLOCK_MONOTONIC then, ns */
	uint64_t mult;	/* ns per TSC tick, as a 32.32 fixed-point number */
};

extern struct clock_tsc clock_tsc;

/* CLOCK_MONOTONIC in ns, from the vDSO. */
static inline uint64_t clock_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The TSC, read after every earlier load has completed. */
static inline uint64_t clock_tsc_read(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence\n\trdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return (uint64_t)hi << 32 | lo;
}

static inline uint64_t clock_now_ns(void)
{
	/* acquire: pairs with the release in clock_calibrate; tsc0, ns0 and
	 * mult are set */
	if (HS_LIKELY(atomic_load_acq(&clock_tsc.on))) {
		int64_t d = (int64_t)(clock_tsc_read() - clock_tsc.tsc0);
		/* a CPU whose TSC trails by a few ticks reads the start */
		return clock_tsc.ns0 + (uint64_t)(((unsigned __int128)(d > 0 ? (uint64_t)d : 0) * clock_tsc.mult) >> 32);
	}
	return clock_mono_ns();
}

/* At start: note whether the TSC may be used, and the first point of the
 * calibration.  Not hook-safe (reads a file in /sys); once, from init. */
void clock_init(void);

/* Called now and then by the collector: after a quarter second, measure
 * the TSC's rate and switch to it.  HOOK-SAFE (no allocation). */
void clock_calibrate(void);

#endif
