/*
 * clock.h - event timestamps: CLOCK_MONOTONIC nanoseconds.  The free of a
 * block is stamped before the block is released and an allocation after it
 * is obtained, so two events on one address are ordered by their stamps
 * even across threads.
 * HOOK-SAFE.
 *
 * CLOCK_MONOTONIC through the vDSO costs about as much as all the rest of
 * a free's recording.  Where the kernel's clock is computed from an
 * invariant TSC (clocksource tsc; or kvm-clock, xen or Hyper-V's TSC page,
 * paravirtual clocks that scale the TSC), the stamp is the TSC itself,
 * scaled to nanoseconds by a line the collector fits to CLOCK_MONOTONIC
 * (clock.c): the same instruction the vDSO reads (lfence; rdtsc, ordered
 * after earlier loads), without its call, sequence lock and conversion.
 * Before that, and on any other clock, clock_gettime as always.  On a
 * paravirtual clock the collector first checks, on every CPU it may run on,
 * that the TSC maps to CLOCK_MONOTONIC by the same line (clock.c says why
 * that is enough); if one disagrees, clock_gettime for good.
 *
 * The line is re-fitted about once a CLOCK_PERIOD_NS (the host may rescale
 * its clock, NTP slews), without a stamp ever going back: see struct
 * clock_block.  Every user of clock_now_ns and clock_event_ns reads the
 * same blocks, so snapshots, RSS samples and the collector's horizon agree
 * with event stamps.
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

/* clock_tsc.on's bits; above them, the count of blocks published */
#define CLOCK_TSC 1	/* a block is published: use the TSC */
#define CLOCK_ORDERED 2 /* more than one thread has recorded since the process
			 * began (or forked): event stamps are ordered after
			 * earlier loads (clock_event_ns) */
#define CLOCK_FLAGS 3
#define CLOCK_VERSION 4 /* one publication; bit 2 picks the block */

/* How often the collector re-fits the line: a block is good for one period
 * past its switch (so its lines' products stay below 2^64, clock_line_ns). */
#define CLOCK_PERIOD_NS 2000000000ull

/*
 * The TSC-to-ns map, published as a whole (a latch: two blocks, the
 * readers use the one clock_tsc.on names and check that on did not change
 * meanwhile, the writer fills the other one).  Before the TSC sw, line a;
 * from sw on, line b (which starts at sw); past end, b's value at end.
 * Each line is ns0 + (t - tsc0) * mult / 2^32, t - tsc0 taken as 0 below
 * tsc0.
 *
 * Why no stamp goes back when a block replaces another (clock_next_block):
 * the new block's line a is the old block's line b, and its sw is the old
 * block's end.  A thread that still uses the old block (it loaded it just
 * before the switch, and was preempted before its rdtsc, say) reads at
 * most the old b's value at end, because of the clamp; the new block
 * agrees with the old one up to end and, from there, starts its line b at
 * or above that value.  So whatever the new slope (the fit may need the
 * clock to slow down), every value of the new block is at or above every
 * value of the old one at an earlier or equal TSC: one thread's stamps
 * never go back, nor does a stamp taken after another thread's (the
 * causal argument of clock_event_ns, given TSCs in step across CPUs,
 * clock.c).  And a thread that saw the new block hands over a block only
 * after, so the thread it hands to sees it too (x86-64 does not reorder
 * loads with older loads).  If the collector is late past end, stamps
 * stay at end's value until it publishes (it does so every cycle, and
 * CLOCK_PERIOD_NS is longer than a nap).
 */
struct clock_line {
	uint64_t tsc0, ns0, mult; /* mult: ns per tick, 32.32 fixed point */
};

struct clock_block {
	struct clock_line a, b; /* b.tsc0 is the switch, sw */
	uint64_t end;
};

struct clock_tsc {
	_Atomic uint32_t on;	 /* CLOCK_TSC, CLOCK_ORDERED, version: one word */
	_Atomic uint64_t off_ns; /* without CLOCK_TSC: stamps are CLOCK_MONOTONIC + this
				  * (0, unless the TSC was given up while ahead) */
	_Alignas(64) _Atomic uint64_t blk[2][8]; /* struct clock_block, word by word
						  * (relaxed: see clock_tsc_stamp) */
};

extern struct clock_tsc clock_tsc;

/* CLOCK_MONOTONIC in ns, from the vDSO. */
HS_INLINE uint64_t clock_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The TSC, read after every earlier load has completed. */
HS_INLINE uint64_t clock_tsc_read(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence\n\trdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return (uint64_t)hi << 32 | lo;
}

/* The TSC, unordered: it may be read before earlier loads complete (and
 * so before earlier instructions), never after later stores are visible
 * (they are made visible only once it has retired). */
HS_INLINE uint64_t clock_tsc_read_unordered(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return (uint64_t)hi << 32 | lo;
}

/* A line's ns at TSC t (a CPU whose TSC trails by a few ticks reads its
 * start).  t - tsc0 is at most a period's ticks (t is clamped to end), so
 * the product is about the period in ns times 2^32: it fits 64 bits. */
HS_INLINE uint64_t clock_line_ns(const struct clock_line *l, uint64_t t)
{
	uint64_t d = t > l->tsc0 ? t - l->tsc0 : 0;
	return l->ns0 + ((d * l->mult) >> 32);
}

/* A block's ns at TSC t (see struct clock_block). */
HS_INLINE uint64_t clock_block_ns(const struct clock_block *b, uint64_t t)
{
	if (HS_UNLIKELY(t > b->end))
		t = b->end;
	if (HS_LIKELY(t >= b->b.tsc0))
		return clock_line_ns(&b->b, t);
	return clock_line_ns(&b->a, t);
}

/* Without the TSC: CLOCK_MONOTONIC, plus the offset (read after an acquire
 * load of on that saw CLOCK_TSC clear). */
HS_INLINE uint64_t clock_mono_stamp(void)
{
	/* relaxed: written before the release that cleared CLOCK_TSC */
	return clock_mono_ns() + atomic_load_rlx(&clock_tsc.off_ns);
}

/* The TSC's stamp by the published block (on has CLOCK_TSC): ordered after
 * earlier loads, or not.  The block's words are read between two loads of
 * on; if it changed, the writer may have been filling this block (it fills
 * the one on does not name, and on changes once per fill), so read again. */
HS_INLINE uint64_t clock_tsc_stamp(uint32_t on, int ordered)
{
	for (;;) {
		const _Atomic uint64_t *w = clock_tsc.blk[on / CLOCK_VERSION & 1];
		/* relaxed: checked by the load of on below */
		struct clock_block b = {{atomic_load_rlx(&w[0]), atomic_load_rlx(&w[1]), atomic_load_rlx(&w[2])},
					{atomic_load_rlx(&w[3]), atomic_load_rlx(&w[4]), atomic_load_rlx(&w[5])},
					atomic_load_rlx(&w[6])};
		/* acquire fence: the words above are read before on again (a
		 * plain load on x86-64, which keeps loads in order) */
		atomic_thread_fence(memory_order_acquire);
		uint32_t again = atomic_load_rlx(&clock_tsc.on);
		if (HS_LIKELY(again == on))
			return clock_block_ns(&b, ordered ? clock_tsc_read() : clock_tsc_read_unordered());
		/* acquire: as the first load (clock_now_ns) */
		on = atomic_load_acq(&clock_tsc.on);
		if (!(on & CLOCK_TSC))
			return clock_mono_stamp();
	}
}

HS_INLINE uint64_t clock_now_ns(void)
{
	/* acquire: pairs with the release that published the block named */
	uint32_t on = atomic_load_acq(&clock_tsc.on);

	if (HS_LIKELY(on & CLOCK_TSC))
		return clock_tsc_stamp(on, 1);
	return clock_mono_stamp();
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
HS_INLINE uint64_t clock_event_ns(void)
{
	/* acquire: as clock_now_ns; and (a plain load on x86-64) after the
	 * loads that gave the program or the allocator the block, see above */
	uint32_t on = atomic_load_acq(&clock_tsc.on);

	if (HS_LIKELY(on & CLOCK_TSC))
		return clock_tsc_stamp(on, on & CLOCK_ORDERED);
	return clock_mono_stamp();
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

/* Called every cycle by the collector (one writer of the blocks at a time,
 * clock_refit says who else): after 20 ms, measure the TSC's rate, check the CPUs and
 * switch to it; then once a period, re-fit the line.  HOOK-SAFE (no
 * allocation). */
void clock_calibrate(void);

/* The re-fit alone (no calibration: that hops CPUs), for a thread that
 * runs a collector cycle while the collector is stopped (at exit, a scan
 * from the program): the stamps would stand still a period on.  Returns at
 * once if another thread is re-fitting.  HOOK-SAFE. */
void clock_refit(void);

/*
 * The block that follows cur, given a (TSC, CLOCK_MONOTONIC) pair read at
 * or after cur's switch (tsc: the TSC just before CLOCK_MONOTONIC was read,
 * so the line through the pair is at or above CLOCK_MONOTONIC) and the
 * measured rate (ns per tick, 32.32).  Its line b starts at cur's end, on
 * CLOCK_MONOTONIC's line if that is ahead of cur there (a jump forward),
 * else at cur's value there, slower so as to meet CLOCK_MONOTONIC's line a
 * period later (at most 1/16 slower).  period: in ticks.  Pure; for the
 * tests too.
 */
void clock_next_block(const struct clock_block *cur, uint64_t tsc, uint64_t mono, uint64_t rate, uint64_t period,
		      struct clock_block *next);

/* For tests: publish b as the next block (the writer's side of the latch),
 * and read the block published. */
void clock_publish(const struct clock_block *b);
void clock_current(struct clock_block *b);

#endif
