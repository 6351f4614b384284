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
 * CLOCK_MONOTONIC during the first 20 ms (clock.c): the same
 * instruction the vDSO reads (lfence; rdtsc, ordered after earlier loads),
 * without its call, sequence lock and conversion.  Before that, and on any
 * other clocksource, clock_gettime as always.
 *
 * An event's stamp (clock_event_ns) needs that ordering only against the
 * other threads: an allocation must be stamped after the loads that took
 * its block from the allocator (another thread may have freed it, stamped
 * before it released it), a free after the load that gave the program the
 * block (another thread may have allocated it).  lfence waits for every
 * earlier load, the program's own cache misses too: a free after a read
 * of its block that misses (the common case) waits out the miss, which
 * the program's allocator would have run under.  So while the process has
 * recorded from one thread only, an event is stamped by rdtsc alone, and
 * the ring keeps each thread's stamps in order (event.h).
 */
#ifndef HS_SHIM_CLOCK_H
#define HS_SHIM_CLOCK_H

#include <stdint.h>
#include <time.h>

#include "util/atomic.h"
#include "util/compiler.h"

/* clock_tsc.on's bits */
#define CLOCK_TSC 1	/* the scale below is set: use the TSC */
#define CLOCK_ORDERED 2 /* more than one thread has recorded since the process
			 * began (or forked): event stamps are ordered after
			 * earlier loads (clock_event_ns) */

struct clock_tsc {
	_Atomic int on; /* CLOCK_TSC, CLOCK_ORDERED: one word, one load a stamp */
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

/* The TSC, unordered: it may be read before earlier loads complete (and
 * so before earlier instructions), never after later stores are visible
 * (they are made visible only once it has retired). */
static inline uint64_t clock_tsc_read_unordered(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return (uint64_t)hi << 32 | lo;
}

/* TSC ticks to CLOCK_MONOTONIC ns (clock_tsc.on is set). */
static inline uint64_t clock_tsc_ns(uint64_t tsc)
{
	int64_t d = (int64_t)(tsc - clock_tsc.tsc0);
	/* a CPU whose TSC trails by a few ticks reads the start */
	return clock_tsc.ns0 + (uint64_t)(((unsigned __int128)(d > 0 ? (uint64_t)d : 0) * clock_tsc.mult) >> 32);
}

static inline uint64_t clock_now_ns(void)
{
	/* acquire: pairs with the release in clock_calibrate; tsc0, ns0 and
	 * mult are set */
	if (HS_LIKELY(atomic_load_acq(&clock_tsc.on) & CLOCK_TSC))
		return clock_tsc_ns(clock_tsc_read());
	return clock_mono_ns();
}

/*
 * An event's stamp (see the top of this file): ordered after the thread's
 * earlier loads once two threads have recorded, else the TSC as it comes.
 * Only for records that go through event_push, which keeps the stamps of
 * a ring in order.  Why that is enough: a stamp taken before a block is
 * released (a free) is before the release either way; a stamp taken after
 * a block was obtained from another thread needs the order, and that
 * thread had recorded (it allocated or freed the block in a hook), so it
 * had set CLOCK_ORDERED before any store that handed the block over; this
 * thread's load of the flag comes after its load of the block, and x86-64
 * does not reorder loads with older loads: it reads the flag set.
 */
static inline uint64_t clock_event_ns(void)
{
	/* acquire: as clock_now_ns; and (a plain load on x86-64) after the
	 * loads that gave the program or the allocator the block, see above */
	int on = atomic_load_acq(&clock_tsc.on);

	if (HS_LIKELY(on == CLOCK_TSC))
		return clock_tsc_ns(clock_tsc_read_unordered());
	if (on & CLOCK_TSC)
		return clock_tsc_ns(clock_tsc_read());
	return clock_mono_ns();
}

/* A thread records its first event (from its ring's acquisition, before
 * any of its events): the second one makes event stamps ordered.
 * HOOK-SAFE. */
void clock_thread_starts(void);

/* Event stamps are ordered from now on: for a thread that records without
 * a ring of its own, before it releases a block.  HOOK-SAFE. */
void clock_order_events(void);

/* After fork, in the child: its one thread has not recorded yet. */
void clock_forget_threads(void);

/* Are event stamps ordered (CLOCK_ORDERED)?  For tests. */
int clock_events_ordered(void);

/* At start: note whether the TSC may be used, and the first point of the
 * calibration.  Not hook-safe (reads a file in /sys); once, from init. */
void clock_init(void);

/* Called now and then by the collector: after 20 ms, measure
 * the TSC's rate and switch to it.  HOOK-SAFE (no allocation). */
void clock_calibrate(void);

#endif
