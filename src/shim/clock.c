/*
 * clock.c - the TSC as the event clock, fitted to CLOCK_MONOTONIC.
 * HOOK-SAFE.
 *
 * One thread at a time writes the blocks (clock_calibrate, clock_refit:
 * the collector, or a thread that runs its cycle while it is stopped); the
 * writer's state here is its alone.
 */
#define _GNU_SOURCE
#include "shim/clock.h"

#include <cpuid.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "util/hooksafe.h"

#define CALIBRATE_NS 20000000ull /* between the first two points: 2 ns off a millisecond at most (each within 20 ns) */
#define SKEW_NS 50		 /* how far apart two CPUs' offsets may be, on top of the pairs' own uncertainty */
#define AHEAD_MAX_NS 10000000ull /* ahead of CLOCK_MONOTONIC by more (the TSC jumped): give the TSC up */

struct clock_tsc clock_tsc;
static _Atomic uint32_t threads; /* threads that recorded since start or fork */

enum { OFF, CALIBRATING, RUNNING };
static int state;		/* OFF, CALIBRATING (the first point is set) or RUNNING */
static int paravirtual;		/* the kernel's clock is a paravirtual one: check the CPUs */
static uint64_t tsc_a, ns_a;	/* the last point (its TSC the middle of the pair's) */
static uint64_t rate;		/* ns per tick, 32.32 */
static uint64_t period_ticks;	/* CLOCK_PERIOD_NS in ticks */

/* A (TSC, CLOCK_MONOTONIC) pair read as close together as a few tries
 * allow: *lo and *hi the TSC just before and just after. */
static void pair(uint64_t *lo, uint64_t *hi, uint64_t *ns)
{
	uint64_t best = UINT64_MAX;

	for (int i = 0; i < 8; i++) {
		uint64_t t1 = clock_tsc_read(), n = clock_mono_ns(), t2 = clock_tsc_read();
		if (t2 - t1 < best) {
			best = t2 - t1;
			*lo = t1;
			*hi = t2;
			*ns = n;
		}
	}
}

/* Is the kernel's clock the TSC, or a paravirtual clock scaled from it
 * (1 if so, 2 if paravirtual), and the TSC invariant? */
static int tsc_kind(void)
{
	static const char *const pv[] = {"kvm-clock", "xen", "hyperv_clocksource_tsc_page"};
	unsigned a, b, c, d;
	char buf[40] = {0};

	if (!__get_cpuid(0x80000007, &a, &b, &c, &d) || !(d & (1u << 8)))
		return 0; /* no invariant TSC */
	int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = 0;
	if (!strcmp(buf, "tsc"))
		return 1;
	for (unsigned i = 0; i < sizeof(pv) / sizeof(pv[0]); i++)
		if (!strcmp(buf, pv[i]))
			return 2;
	return 0;
}

void clock_init(void)
{
	uint64_t hi;
	int kind = tsc_kind();

	state = kind ? CALIBRATING : OFF;
	paravirtual = kind == 2;
	if (kind) {
		pair(&tsc_a, &hi, &ns_a);
		tsc_a += (hi - tsc_a) / 2;
	}
}

/* Where this CPU's TSC stands against the line through (tsc0, ns0) at
 * rate: CLOCK_MONOTONIC minus the line (off), at TSC mid, within unc ns
 * (half the pair's width). */
struct cpu_point {
	int64_t off, unc;
	uint64_t mid;
};

static void cpu_point(uint64_t tsc0, uint64_t ns0, struct cpu_point *p)
{
	uint64_t lo, hi, n;

	pair(&lo, &hi, &n);
	p->mid = lo + (hi - lo) / 2;
	p->unc = (int64_t)((((unsigned __int128)(hi - lo) * rate) >> 33) + 1);
	p->off = (int64_t)n - (int64_t)ns0 - (int64_t)(((__int128)(int64_t)(p->mid - tsc0) * (__int128)rate) >> 32);
}

/* Run on CPU c only (and be there). */
static int pin(int c)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(c, &one);
	return !sched_setaffinity(0, sizeof(one), &one) && sched_getcpu() == c;
}

/*
 * Do all the CPUs this thread may run on map the TSC to CLOCK_MONOTONIC by
 * the same line, within SKEW_NS and the pairs' widths?  The collector hops
 * to each of them, and back to the first one between two (the line's rate
 * is off by a ppm or two: the first CPU's offsets before and after give
 * the drift, which a loaded machine's slow hops would make look like a
 * skew), then back to its own mask.
 *
 * Why that is enough: a stamp is then CLOCK_MONOTONIC as that CPU reads
 * it, within the bound; CLOCK_MONOTONIC is ordered across CPUs (stamps
 * from clock_gettime relied on that), so stamps are, for two events
 * further apart than the bound, and an event a thread hands over to
 * another is (a cache line's trip between cores and the allocator's work
 * on both sides take longer than the bound).  Where the paravirtual clock
 * is stable (kvm's PVCLOCK_TSC_STABLE_BIT, without which its vDSO path
 * makes a system call), the kernel computes CLOCK_MONOTONIC from the raw
 * TSC of the CPU it runs on with one set of parameters: this measures
 * noise, and the guarantee is the kernel's own, as it was with
 * clock_gettime.  Where the kernel corrects per CPU (per-CPU parameters),
 * a TSC out of step shows as another offset.  A CPU this thread may not
 * run on is skipped (the program's threads may not either, unless it
 * widens its mask; nor are CPUs brought online later checked).
 */
static int cpus_agree(uint64_t tsc0, uint64_t ns0)
{
	cpu_set_t mine;
	struct cpu_point r0, r1, p;
	int ref = -1, ok;

	if (sched_getaffinity(0, sizeof(mine), &mine))
		return 0; /* more CPUs than a cpu_set_t holds: not checked, so no */
	for (int c = 0; c < CPU_SETSIZE && ref < 0; c++)
		if (CPU_ISSET(c, &mine))
			ref = c;
	ok = ref >= 0 && pin(ref);
	if (ok)
		cpu_point(tsc0, ns0, &r0);
	for (int c = ref + 1; ok && c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &mine))
			continue;
		ok = pin(c);
		if (ok)
			cpu_point(tsc0, ns0, &p);
		ok = ok && pin(ref);
		if (!ok)
			break;
		cpu_point(tsc0, ns0, &r1);
		if (r1.mid <= r0.mid)
			ok = 0;
		/* the first CPU's offset at p.mid, between its two points */
		double at = ok ? (double)(p.mid - r0.mid) / (double)(r1.mid - r0.mid) : 0;
		int64_t expect = r0.off + (int64_t)((double)(r1.off - r0.off) * at);
		int64_t unc = p.unc > r0.unc ? p.unc : r0.unc, d = p.off - expect;
		unc = r1.unc > unc ? r1.unc : unc;
		if (d > 2 * unc + SKEW_NS || -d > 2 * unc + SKEW_NS)
			ok = 0;
		r0 = r1;
	}
	if (sched_setaffinity(0, sizeof(mine), &mine))
		ok = 0; /* cannot happen (the mask was ours); if it does, stay off */
	return ok;
}

void clock_next_block(const struct clock_block *cur, uint64_t tsc, uint64_t mono, uint64_t r, uint64_t period,
		      struct clock_block *next)
{
	uint64_t sw, v;

	if (tsc < cur->end) {
		/* on time: cur's line b up to cur's end, then the new line */
		next->a = cur->b;
		sw = cur->end;
		v = clock_line_ns(&cur->b, sw);
	} else {
		/* late (stamps have stayed at cur's end): from now on; what
		 * reads an earlier TSC with this block reads the start */
		sw = tsc;
		v = clock_block_ns(cur, cur->end);
	}
	/* CLOCK_MONOTONIC's line at sw (sw - tsc is at most a period) */
	uint64_t m = mono + (((sw - tsc) * r) >> 32);
	next->b.tsc0 = sw;
	if (m >= v) {
		next->b.ns0 = m;
		next->b.mult = r;
	} else {
		/* ahead by v - m: slower, to be on the line a period on */
		uint64_t e = v - m, slow = e >= 1ull << 31 ? r : (e << 32) / period;
		next->b.ns0 = v;
		next->b.mult = r - (slow < r / 16 ? slow : r / 16);
	}
	if (sw == tsc)
		next->a = next->b;
	next->end = sw + period;
}

/* The block clock_tsc.on names (the writer's, or a test's, look). */
void clock_current(struct clock_block *b)
{
	/* relaxed: the writer reads what it wrote; tests run it alone */
	const _Atomic uint64_t *w = clock_tsc.blk[atomic_load_rlx(&clock_tsc.on) / CLOCK_VERSION & 1];

	*b = (struct clock_block){{atomic_load_rlx(&w[0]), atomic_load_rlx(&w[1]), atomic_load_rlx(&w[2])},
				  {atomic_load_rlx(&w[3]), atomic_load_rlx(&w[4]), atomic_load_rlx(&w[5])},
				  atomic_load_rlx(&w[6])};
}

void clock_publish(const struct clock_block *b)
{
	/* relaxed: only this thread changes the version */
	uint32_t on = atomic_load_rlx(&clock_tsc.on);
	_Atomic uint64_t *w = clock_tsc.blk[(on / CLOCK_VERSION + 1) & 1];
	uint64_t words[7] = {b->a.tsc0, b->a.ns0, b->a.mult, b->b.tsc0, b->b.ns0, b->b.mult, b->end};

	/* release fence: the version that retired this block (the previous
	 * publication) is visible before any word below, so a reader that
	 * reads one of them then sees on changed (pairs with its acquire
	 * fence, clock_tsc_stamp) */
	atomic_thread_fence(memory_order_release);
	for (int i = 0; i < 7; i++)
		/* relaxed: a reader of this block loaded on before (an older
		 * version) and sees it change: it reads again */
		atomic_store_rlx(&w[i], words[i]);
	/* release: the words are written before a reader sees the version
	 * that names them; CLOCK_TSC is set by the first publication (the
	 * bit is clear then: adding sets it); a fetch_add, as other threads
	 * set CLOCK_ORDERED meanwhile */
	atomic_fetch_add_explicit(&clock_tsc.on, CLOCK_VERSION + (on & CLOCK_TSC ? 0 : CLOCK_TSC), memory_order_release);
}

/* Stamps from CLOCK_MONOTONIC again, for good: plus what keeps them at or
 * above anything the current block may still give (its value at end). */
static void give_up(void)
{
	struct clock_block cur;

	clock_current(&cur);
	uint64_t top = clock_block_ns(&cur, cur.end), now = clock_mono_ns();
	/* relaxed: published by the release below */
	atomic_store_rlx(&clock_tsc.off_ns, top > now ? top - now : 0);
	/* release: the offset is written before a reader sees CLOCK_TSC clear */
	atomic_fetch_and_explicit(&clock_tsc.on, ~(uint32_t)CLOCK_TSC, memory_order_release);
	state = OFF;
}

/* The first block: after CALIBRATE_NS, the rate from the first point; the
 * CPUs checked; the line through the pair's lower TSC (so at or above
 * CLOCK_MONOTONIC: no stamp before it is later). */
static void start(void)
{
	uint64_t lo, hi, n;

	if (clock_mono_ns() - ns_a < CALIBRATE_NS)
		return;
	pair(&lo, &hi, &n);
	uint64_t mid = lo + (hi - lo) / 2;
	if (mid <= tsc_a || n <= ns_a || n - ns_a >= 1ull << 32) {
		/* the TSC went back, or over 4 s since the first point (no
		 * collector cycle meanwhile): start again */
		tsc_a = mid;
		ns_a = n;
		return;
	}
	rate = ((n - ns_a) << 32) / (mid - tsc_a);
	if (rate < (1u << 24) || rate >= 1ull << 36) {
		state = OFF; /* below 16 MHz or over 256 GHz: not a TSC to trust */
		return;
	}
	period_ticks = (CLOCK_PERIOD_NS << 32) / rate;
	if (paravirtual && !cpus_agree(lo, n)) {
		state = OFF;
		return;
	}
	tsc_a = mid;
	ns_a = n;
	struct clock_line l = {lo, n, rate};
	struct clock_block b = {l, l, lo + period_ticks};
	clock_publish(&b);
	state = RUNNING;
}

/* Re-fit the line once a period (RUNNING). */
static void refit(void)
{
	struct clock_block cur, next;
	uint64_t lo, hi, n;

	if (state != RUNNING)
		return;
	clock_current(&cur);
	uint64_t now = clock_tsc_read();
	if (now < tsc_a) {
		if (tsc_a - now > period_ticks / 64)
			give_up(); /* the TSC went back (the host moved us) */
		return;		   /* (or another CPU's trails by a few ticks) */
	}
	/* the switch still ahead, or too little time for a rate */
	if (now < cur.b.tsc0 || now - tsc_a < period_ticks / 2)
		return;
	pair(&lo, &hi, &n);
	uint64_t mid = lo + (hi - lo) / 2;
	if (mid <= tsc_a || n <= ns_a) {
		give_up();
		return;
	}
	/* the rate over the last period (or more: a late collector; past 4 s,
	 * the last rate) */
	if (n - ns_a < 1ull << 32) {
		uint64_t r = ((n - ns_a) << 32) / (mid - tsc_a);
		if (r < rate - rate / 16 || r > rate + rate / 16) {
			give_up(); /* the TSC jumped, or its rate changed: the host moved us */
			return;
		}
		rate = r;
	}
	tsc_a = mid;
	ns_a = n;
	clock_next_block(&cur, lo, n, rate, period_ticks, &next);
	uint64_t m = n + (((next.b.tsc0 - lo) * rate) >> 32);
	if (next.b.ns0 - m > AHEAD_MAX_NS) {
		give_up();
		return;
	}
	clock_publish(&next);
}

/* One writer at a time (the collector, or the thread that runs a cycle
 * while it is stopped); the other returns: the writer re-fits. */
static _Atomic int writing;

static int writer_take(void)
{
	/* acquire: the last writer's state above is visible */
	return !atomic_exchange_explicit(&writing, 1, memory_order_acquire);
}

static void writer_drop(void)
{
	/* release: this writer's state is visible to the next one */
	atomic_store_rel(&writing, 0);
}

void clock_calibrate(void)
{
	if (!writer_take())
		return;
	if (state == CALIBRATING)
		start();
	refit();
	writer_drop();
}

void clock_refit(void)
{
	if (!writer_take())
		return;
	refit();
	writer_drop();
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
	/* relaxed: as above (the parent's collector may have been writing;
	 * its state is the child's now, checked at the next re-fit) */
	atomic_store_rlx(&writing, 0);
	atomic_fetch_and_explicit(&clock_tsc.on, ~(uint32_t)CLOCK_ORDERED, memory_order_relaxed);
}

int clock_events_ordered(void)
{
	/* relaxed: a test's look */
	return !!(atomic_load_rlx(&clock_tsc.on) & CLOCK_ORDERED);
}
