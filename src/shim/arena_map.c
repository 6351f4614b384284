/*
 * arena_map.c - jemalloc's mmap/munmap/sbrk, noted.
 * HOOK-SAFE: called from inside jemalloc, possibly from a signal handler
 * that allocates, so the table is lock-free: ranges are appended with one
 * fetch_add and cleared in place.
 */
#define _GNU_SOURCE
#include "shim/arena_map.h"

#include <errno.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/tls.h"
#include "util/atomic.h"
#include "util/hooksafe.h"

#define RANGES_MAX 65536

struct range {
	_Atomic uintptr_t lo, hi; /* [lo, hi); lo == hi: unused */
};

static struct range ranges[RANGES_MAX];
static _Atomic uint32_t nranges;

static void note_map(uintptr_t lo, uintptr_t hi)
{
	/* relaxed: the index only has to be unique */
	uint32_t i = atomic_fetch_add_rlx(&nranges, 1);

	if (i >= RANGES_MAX)
		return; /* the scan may then read some of jemalloc's memory */
	/* relaxed: readers run with the other threads stopped (exit scan) */
	atomic_store_rlx(&ranges[i].lo, lo);
	atomic_store_rlx(&ranges[i].hi, hi);
}

/* Forget [lo, hi): trim or clear the ranges it overlaps.  All accesses
 * are relaxed: ranges are only read by the scan, with the other threads
 * stopped, and jemalloc never unmaps a range twice at once. */
static void note_unmap(uintptr_t lo, uintptr_t hi)
{
	uint32_t n = atomic_load_rlx(&nranges); /* relaxed: see note_map */

	for (uint32_t i = 0; i < n && i < RANGES_MAX; i++) {
		uintptr_t a = atomic_load_rlx(&ranges[i].lo), b = atomic_load_rlx(&ranges[i].hi);
		if (b <= lo || a >= hi)
			continue;
		if (a >= lo && b <= hi) {
			atomic_store_rlx(&ranges[i].hi, a);
		} else if (a < lo && b > hi) {
			atomic_store_rlx(&ranges[i].hi, lo);
			note_map(hi, b);
		} else if (a < lo) {
			atomic_store_rlx(&ranges[i].hi, lo);
		} else {
			atomic_store_rlx(&ranges[i].lo, hi);
		}
	}
}

/* ---- the reserve ------------------------------------------------------------- */

/* [reserve_next, reserve_end): address space taken at start under a
 * memory limit, not yet handed out (0, 0: none). */
static _Atomic uintptr_t reserve_next, reserve_end;

void arena_map_reserve(size_t bytes)
{
	/* Writable, so that it counts against RLIMIT_DATA as well as
	 * RLIMIT_AS; never touched until handed out, and MAP_NORESERVE: no
	 * memory, only room. */
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return;
	note_map((uintptr_t)p, (uintptr_t)p + bytes); /* not a root, even unused */
	/* relaxed: set at start, before any thread can take from it */
	atomic_store_rlx(&reserve_end, (uintptr_t)p + bytes);
	atomic_store_rlx(&reserve_next, (uintptr_t)p);
}

void *arena_map_from_reserve(size_t len, int prot, int flags, int fd, off_t off)
{
	uintptr_t size = (len + 4095) & ~(uintptr_t)4095;
	/* relaxed: a hint; the CAS decides who owns which range */
	uintptr_t at = atomic_load_rlx(&reserve_next), end = atomic_load_rlx(&reserve_end);

	do {
		if (!size || at > end || end - at < size)
			return MAP_FAILED;
		/* acq_rel: each range goes to one caller (the only order needed) */
	} while (!atomic_cas_acq_rel(&reserve_next, &at, at + size));
	/* Over the reserve's own pages: the kernel counts the pages replaced,
	 * so this needs no room beyond what the reserve already holds. */
	return mmap((void *)at, len, prot, flags | MAP_FIXED, fd, off);
}

void *hsje_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *hsje_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p = mmap(addr, len, prot, flags, fd, off);

	/* The shim's own allocations (its thread, or a thread inside shim
	 * code: the private arena) may take from the reserve when the program
	 * has taken all the room; the program's may not, so that its malloc
	 * fails where it would untraced. */
	if (p == MAP_FAILED && errno == ENOMEM && !addr && tls.state == TS_INTERNAL)
		p = arena_map_from_reserve(len, prot, flags, fd, off);
	if (p != MAP_FAILED)
		note_map((uintptr_t)p, (uintptr_t)p + len);
	return p; /* MAP_FAILED on failure: jemalloc expects mmap's contract */
}

int hsje_munmap(void *addr, size_t len);
int hsje_munmap(void *addr, size_t len)
{
	int rc = munmap(addr, len);

	if (!rc)
		note_unmap((uintptr_t)addr, (uintptr_t)addr + len);
	return rc;
}

void *hsje_sbrk(intptr_t incr);
void *hsje_sbrk(intptr_t incr)
{
	void *p = sbrk(incr);

	if (p != (void *)-1 && incr > 0)
		note_map((uintptr_t)p, (uintptr_t)p + (uintptr_t)incr);
	return p;
}

void *arena_map_mmap(size_t bytes)
{
	const int prot = PROT_READ | PROT_WRITE, flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	void *p = hsje_mmap(NULL, bytes, prot, flags, -1, 0);

	/* the shim's own memory, whichever thread asks: the reserve may serve */
	if (p == MAP_FAILED && errno == ENOMEM && (p = arena_map_from_reserve(bytes, prot, flags, -1, 0)) != MAP_FAILED)
		note_map((uintptr_t)p, (uintptr_t)p + bytes);
	return p == MAP_FAILED ? NULL : p;
}

/*
 * A table the shim probes before it writes (open addressing: a lookup or
 * a search for a free slot reads first) faults twice a page when left to
 * fault: the read maps the shared zero page, and the first write replaces
 * it, a write-protect fault that must flush the old entry from the TLB of
 * every CPU running the process: an IPI to the other thread (the program's
 * or the collector's), and the faulting thread waits for its answer.
 * MADV_POPULATE_WRITE (Linux 5.14) maps the pages writable in one call,
 * with no fault and no flush; before 5.14 (EINVAL), one write a page does
 * it with one fault and no flush.  Any other failure leaves the pages to
 * fault as before.
 */
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#define PAGE 4096u /* x86_64 */

/* 1 once the kernel refused MADV_POPULATE_WRITE; relaxed: a thread that
 * reads 0 late makes one more call that fails, nothing else. */
static _Atomic int populate_unknown;

/* Every page that holds a byte of [p, p + n), which is zero (the
 * fallback writes zeros): a large jemalloc block is
 * not page-aligned (cache_oblivious offsets it by a random number of
 * cache lines), and its first and last pages fault too. */
void arena_map_populate(void *p, size_t n)
{
	uintptr_t lo = (uintptr_t)p & ~(uintptr_t)(PAGE - 1);
	uintptr_t hi = ((uintptr_t)p + n + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
	int saved = errno; /* the program's, when a hook gets here */

	if (!n)
		return;
	if (!atomic_load_rlx(&populate_unknown)) {
		if (!syscall(SYS_madvise, (void *)lo, hi - lo, MADV_POPULATE_WRITE) || errno != EINVAL) {
			errno = saved;
			return;
		}
		atomic_store_rlx(&populate_unknown, 1);
	}
	errno = saved;
	/* write only inside the block: the rest of its pages may be others' */
	*(volatile char *)p = 0; /* zero already: only the fault matters */
	for (uintptr_t a = lo + PAGE; a < (uintptr_t)p + n; a += PAGE)
		*(volatile char *)a = 0;
}

void *arena_map_table(size_t bytes)
{
	void *p = arena_map_mmap(bytes);

	if (p)
		arena_map_populate(p, bytes);
	return p;
}

void *arena_map_remap(void *p, size_t old, size_t bytes)
{
	int saved = errno; /* the program's, when a hook gets here */
	void *q = mremap(p, old, bytes, MREMAP_MAYMOVE);

	errno = saved;
	if (q == MAP_FAILED)
		return NULL;
	/* the old range first: when the mapping grew where it lies, the
	 * note of the whole comes after */
	note_unmap((uintptr_t)p, (uintptr_t)p + old);
	note_map((uintptr_t)q, (uintptr_t)q + bytes);
	arena_map_populate((char *)q + old, bytes - old);
	return q;
}

void arena_map_munmap(void *p, size_t bytes)
{
	hsje_munmap(p, bytes);
}

void arena_map_each(void (*fn)(uintptr_t lo, uintptr_t hi, void *arg), void *arg)
{
	uint32_t n = atomic_load_rlx(&nranges); /* relaxed: see note_map */

	for (uint32_t i = 0; i < n && i < RANGES_MAX; i++) {
		uintptr_t a = atomic_load_rlx(&ranges[i].lo), b = atomic_load_rlx(&ranges[i].hi);
		if (a < b)
			fn(a, b, arg);
	}
}

struct cover_ctx {
	uintptr_t lo, hi; /* the range asked about */
	uintptr_t covered; /* bytes of it found in jemalloc's ranges */
};

static void add_cover(uintptr_t a, uintptr_t b, void *arg)
{
	struct cover_ctx *c = arg;
	uintptr_t s = a > c->lo ? a : c->lo, e = b < c->hi ? b : c->hi;

	if (s < e)
		c->covered += e - s;
}

int arena_map_contains(uintptr_t p)
{
	uint32_t n = atomic_load_rlx(&nranges); /* relaxed: a range is published before its memory is handed out */

	for (uint32_t i = 0; i < n && i < RANGES_MAX; i++)
		if (p >= atomic_load_rlx(&ranges[i].lo) && p < atomic_load_rlx(&ranges[i].hi))
			return 1;
	return 0;
}

int arena_map_covers(uintptr_t lo, uintptr_t hi)
{
	struct cover_ctx c = {lo, hi, 0};

	arena_map_each(add_cover, &c);
	return c.covered >= hi - lo;
}
