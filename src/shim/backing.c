/*
 * backing.c - forward the program's blocks to jemalloc or the system
 * allocator, and serve the shim's own memory from a private jemalloc arena.
 * HOOK-SAFE.
 */
#define _GNU_SOURCE
#include "shim/backing.h"

#include <jemalloc/jemalloc.h>

/* The shim links jemalloc in statically with its public names prefixed
 * (Makefile, src/shim/jemalloc.syms): call them by those names. */
void *hsje_mallocx(size_t size, int flags);
void *hsje_rallocx(void *ptr, size_t size, int flags);
size_t hsje_xallocx(void *ptr, size_t size, size_t extra, int flags);
void hsje_dallocx(void *ptr, int flags);
void hsje_sdallocx(void *ptr, size_t size, int flags);
size_t hsje_sallocx(const void *ptr, int flags);
int hsje_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
#define mallocx hsje_mallocx
#define rallocx hsje_rallocx
#define xallocx hsje_xallocx
#define dallocx hsje_dallocx
#define sdallocx hsje_sdallocx
#define sallocx hsje_sallocx
#define mallctl hsje_mallctl
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shim/arena_map.h"
#include "shim/dynsym.h"
#include "shim/log.h"
#include "shim/spin.h"
#include "shim/world.h"
#include "util/assert.h"
#include "util/atomic.h"
#include "util/compiler.h"
#include "util/fmt.h"
#define HS_HOOKSAFE_ALLOCATOR /* the file that forwards to the system allocator names its functions */
#include "util/hooksafe.h"


enum backing_mode { MODE_JEMALLOC = 0, MODE_SYSTEM };
/* Set by backing_init, and once more by backing_step_aside (a plain
 * store: a hook that still sees JEMALLOC serves one more block from
 * jemalloc, and every free checks which allocator owns its block). */
static enum backing_mode mode;
static struct backing_orig sys; /* the next definitions: allocator=system, stepping aside */
static bool sys_ok; /* sys holds the next allocator's functions */
static bool je_ready; /* backing_init set jemalloc up (not when the shim
		       * stepped aside first: its own rare allocations then
		       * come from the next allocator too) */
static unsigned private_arena; /* 0 until created; arena 0 is never ours */
static int private_flags;      /* mallocx flags for the private arena */

/* ---- the private arena's address ranges ----------------------------------
 *
 * Code the shim calls while a thread is internal (tls.h) can free or
 * reallocate one of the program's blocks (glibc's dlsym frees the pending
 * dlerror string, pthread_join a DTV): such a block must go back to the
 * program's allocator, and its free into the trace.  To tell the two
 * apart without a lock, the private arena maps its memory through the
 * hooks below, which note every range, and never gives a range back.
 */
#define PRIVATE_RANGES 4096

static struct {
	_Atomic uintptr_t lo, hi; /* [lo, hi); lo == hi: not written yet */
} private_ranges[PRIVATE_RANGES];
static _Atomic uint32_t nprivate;    /* ranges handed out */
static extent_hooks_t *default_hooks; /* jemalloc's own, which do the work */
static extent_hooks_t private_hooks;  /* the private arena's: live as long as it */

static void *private_extent_alloc(extent_hooks_t *h, void *addr, size_t size, size_t align, bool *zero,
				  bool *commit, unsigned ind)
{
	void *p = default_hooks->alloc(default_hooks, addr, size, align, zero, commit, ind);

	(void)h;
	if (p) {
		/* relaxed: the index only has to be unique */
		uint32_t i = atomic_fetch_add_rlx(&nprivate, 1);
		if (i < PRIVATE_RANGES) {
			/* relaxed: a block of the range reaches any reader
			 * after this store (through whatever handed it over) */
			atomic_store_rlx(&private_ranges[i].lo, (uintptr_t)p);
			atomic_store_rlx(&private_ranges[i].hi, (uintptr_t)p + size);
		}
	}
	return p;
}

/* Keep the mapping (jemalloc retains it for reuse): an address once
 * private stays private, so a range is never stale. */
static bool private_extent_dalloc(extent_hooks_t *h, void *addr, size_t size, bool committed, unsigned ind)
{
	(void)h, (void)addr, (void)size, (void)committed, (void)ind;
	return true;
}

int backing_is_private(const void *p)
{
	uint32_t n = atomic_load_rlx(&nprivate); /* relaxed: see private_extent_alloc */

	if (!private_arena || n > PRIVATE_RANGES)
		return 1; /* cannot tell: as if every internal block were ours */
	for (uint32_t i = 0; i < n; i++)
		if ((uintptr_t)p >= atomic_load_rlx(&private_ranges[i].lo) &&
		    (uintptr_t)p < atomic_load_rlx(&private_ranges[i].hi))
			return 1;
	return 0;
}

/* jemalloc's configuration string, read once when it initializes (the
 * first call of ours into it, in backing_init). */
extern const char *hsje_malloc_conf;

/*
 * Can mmap fail for want of memory in this process: an address-space or
 * data limit (ulimit -v, ulimit -d), or strict overcommit accounting?
 */
static HS_NOINLINE bool memory_may_run_out(void)
{
	struct rlimit rl;
	char overcommit = 0;

	if (!getrlimit(RLIMIT_AS, &rl) && rl.rlim_cur != RLIM_INFINITY)
		return true;
	if (!getrlimit(RLIMIT_DATA, &rl) && rl.rlim_cur != RLIM_INFINITY)
		return true;
	int fd = open("/proc/sys/vm/overcommit_memory", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, &overcommit, 1) != 1)
			overcommit = 0;
		close(fd);
	}
	return overcommit == '2';
}

/*
 * jemalloc 5.3 sets up a thread's cache on the thread's first allocation
 * and, when that fails for want of memory, leaves the thread with a cache
 * marked enabled and empty, which the next mallocx dereferences (SIGSEGV
 * under `ulimit -v`).  Where memory can run out, go without thread caches
 * (slower, but an allocation then fails with NULL as the program
 * expects), and give unused address space back instead of retaining it
 * for reuse, as the system allocator would.
 *
 * Everywhere, pages no block uses any more go back after a second
 * (dirty_decay_ms:1000) instead of jemalloc's default ten seconds, a
 * server's choice: a traced program must not look much bigger than it is.
 * Returning them at once (0) costs too much: the madvise calls and the
 * page faults of reusing those pages.  Paired runs on a quiet machine
 * (median of 3-5; wall ratio / peak RSS ratio to untraced):
 *   decay      churn          py_json        jq
 *   10000 ms   2.12x / 1.46x  2.16x / 1.54x  1.25x / 1.47x
 *    1000 ms   2.00x / 1.38x  2.14x / 1.48x  1.16x / 1.42x
 *       0 ms   2.62x / 0.95x  2.52x / 1.41x  1.35x / 1.39x
 *
 * Of the program thread's madvise calls on churn (2500000 20000; about
 * 1,050 a run, a TLB-shootdown IPI each), about 700 were not the decay:
 * jemalloc zeroed a recycled dirty extent for a large calloc with
 * MADV_DONTNEED (its default zeroing, ehooks_default_zero_impl).  Zeroing
 * callocs of 16 to 128 KiB with memset instead (glibc's way below its mmap
 * threshold) left 440-570 calls, but raised churn's peak RSS from
 * 26.6-27.1 MB to 28.7-29.4 MB (3 runs each): churn, like many programs,
 * does not touch all of a block it callocs.  A large calloc now zeroes
 * only the pages that are mapped (calloc_large, below): no madvise, and no
 * page touched that was not already.  With decay at 10000 ms the rest
 * (300 to 340) went too, for 27.7-27.9 MB against 27.3-27.5 MB (2 runs
 * each, busy machine): left at 1000.
 */
static void configure_jemalloc(void)
{
	hsje_malloc_conf = memory_may_run_out() ? "tcache:false,retain:false,dirty_decay_ms:1000" : "dirty_decay_ms:1000";
}

/*
 * Those settings are the only ones.  jemalloc also reads MALLOC_CONF and
 * the /etc/malloc.conf link, and they would win over ours: but they are
 * the program's, meant for a jemalloc of its own (which the shim stands in
 * for) or for none.  Read by the shim's copy, stats_print:true printed its
 * statistics into the program's output, background_thread:true started
 * threads in the program, and an option this build does not know, with
 * abort_conf:true, aborted a program that never used jemalloc, its trace
 * lost.  jemalloc.syms renames its two calls that read them (both in
 * obtain_malloc_conf, run once from its initialization, and the only calls
 * of these functions in it) to these, which find neither, and call out to
 * nothing (jemalloc may start inside a hook).
 */
char *hsje_secure_getenv(const char *name);
char *hsje_secure_getenv(const char *name)
{
	(void)name;
	return NULL;
}

ssize_t hsje_readlink(const char *restrict path, char *restrict buf, size_t len);
ssize_t hsje_readlink(const char *restrict path, char *restrict buf, size_t len)
{
	(void)path, (void)buf, (void)len;
	errno = ENOENT;
	return -1;
}

/*
 * The private arena's pages go back as soon as no block uses them
 * (dirty_decay_ms 0 for it alone): its blocks are the heap map's tables,
 * the compressor's and the collector's buffers, allocated and freed a few
 * hundred times a run (a table that doubles frees its old copy), so the
 * madvise calls cost nothing that shows, while pages kept a second held
 * 0.9 to 1.7 MB at the peak (jq, py_json, churn).  A failure leaves the
 * default: only memory, never correctness, depends on it.
 */
static void backing_decay_private(unsigned arena)
{
	char name[48];
	struct fmt_buf b;
	ssize_t ms = 0;

	fmt_init(&b, name, sizeof(name));
	fmt_str(&b, "arena.");
	fmt_u64(&b, arena);
	fmt_str(&b, ".dirty_decay_ms");
	(void)mallctl(name, NULL, NULL, &ms, sizeof(ms));
}

/* The private arena, mapped through private_hooks; without them (an
 * old jemalloc), a plain new arena; without that, arena 0. */
static void create_private_arena(void)
{
	unsigned arena;
	size_t sz = sizeof(arena), hsz = sizeof(default_hooks);
	extent_hooks_t *hooks = &private_hooks;

	if (mallctl("arena.0.extent_hooks", &default_hooks, &hsz, NULL, 0) == 0 && default_hooks) {
		private_hooks = *default_hooks;
		private_hooks.alloc = private_extent_alloc;
		private_hooks.dalloc = private_extent_dalloc;
		if (mallctl("arenas.create", &arena, &sz, &hooks, sizeof(hooks)) == 0)
			goto made;
	}
	if (mallctl("arenas.create", &arena, &sz, NULL, 0) == 0) {
		/* relaxed: init is single-threaded; nothing is private yet */
		atomic_store_rlx(&nprivate, PRIVATE_RANGES + 1); /* no ranges: cannot tell */
		goto made;
	}
	private_flags = MALLOCX_TCACHE_NONE;
	return;
made:
	private_arena = arena;
	backing_decay_private(arena);
	private_flags = (int)MALLOCX_ARENA(arena) | MALLOCX_TCACHE_NONE;
}

/* ---- no unused pages in a new peak ------------------------------------------
 *
 * jemalloc keeps the pages of freed blocks (dirty) for a second before it
 * gives them back (configure_jemalloc says why not at once), so a program
 * whose heap grows reaches its peak carrying megabytes of them: 7 to 15
 * MB on jq, sqlite and py_json (jemalloc's stats at their peak RSS).  The
 * collector calls backing_trim_peak every cycle; when the resident size
 * is a sixty-fourth past the highest it was at a check before, every
 * arena's dirty pages go back at once.  A heap that churns below a level
 * it reached before is left to the decay (churn: 29,000 page faults a run
 * instead of 27,000, where decay 0 had 62,000), and one that grows costs
 * a purge per 1.6% of growth.  sqlite's peak RSS 66.5-67.7 -> 60.9 MB,
 * py_json's 126.6-129.0 -> 118.8-122.4 MB (busy machine, 2-3 runs).
 *
 * churn (2500000 20000) purges 18 times a run, each purge 11 to 132
 * madvise(MADV_DONTNEED) calls, one a dirty extent (about 1,400 a run, a
 * TLB-shootdown IPI each): not a misfiring trigger, its resident size
 * really climbs, from 17.4 MB at 0.09 s to 26.6 MB at 2.2 s (untraced,
 * glibc's churn peaks at 22 MB), and the later purges give back 0.8 to
 * 2.9 MB each.  A coarser step would purge less often, and let the peak
 * grow by as much.
 *
 * On 2026-12-03's PVM guest (a page fault 9 us, a madvise 55 us), with
 * large blocks zeroed and moved by their mapped pages, churn without the
 * trims read 10,500-11,800 page faults and 960-1,360 madvise calls, with
 * them 16,600-17,300 and 2,800-3,000, but its peak 29.3-30.7 MB against
 * 27.8-28.3 (3 runs each, busy machine, where a slower run leaves the
 * decay less to keep; quiet, with memset zeroing and no trims, 32.1 MB:
 * 1.43x untraced).  A step of 1/32: 14,000-15,700 faults, 29.1-30.5 MB;
 * 1/16: 13,300-14,500, 29.0-30.2 MB.  py_json without the trims peaked at
 * 140 MB against 126 (1.5x untraced; its faults 40-44k either way), jq
 * and sqlite are near 1.4x with them: kept at 1/64.  A purge costs churn
 * so much because what it gives back is its hot dirty pool (blocks freed
 * within the last second, which jemalloc reuses first): faulted back in
 * within about 100 ms, and the peak moves by less than a purge returns.
 * Neither the dirty pages' share of the resident size at a new peak tells
 * churn's purges from py_json's useful ones (10-25% against 2-11%, the
 * wrong way round), nor the active pages (flat in both at those purges).
 */
#define TRIM_EVERY_NS 5000000ull /* statm at most every 5 ms */
/* A new peak is a 64th past the last, and at least 1 MiB: a heap under
 * 64 MB (churn's 29) purged every 0.5 MB of growth, its hot dirty pool
 * refaulted each time (pages8, busy machine, 3 runs each: churn's faults
 * 16.2-17.4k -> 13.7-14.3k, madvise calls 2.6-2.8k -> 1.8-2.0k, peak
 * 28.4-29.1 -> 29.6-30.2 MB; 2 MiB: 12.0-13.2k, 30.2-31.0 MB, too near
 * 1.4x untraced, 31.5) */
#define TRIM_STEP_MIN (1ull << 20)

/* The collector's alone (one collector thread at a time). */
static uint64_t trim_high;    /* the highest resident bytes a check saw */
static uint64_t trim_next_ns; /* CLOCK_MONOTONIC_COARSE */

/* The resident size, bytes, or 0 (/proc/self/statm's second field). */
static HS_NOINLINE uint64_t resident_bytes(void)
{
	char buf[96];
	uint64_t pages = 0;
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	const char *p = strchr(buf, ' ');
	for (p = p ? p + 1 : buf + n; *p >= '0' && *p <= '9'; p++)
		pages = pages * 10 + (uint64_t)(*p - '0');
	return pages * 4096; /* x86_64 pages, as ringfile.c maps them */
}

/* The collector's, set for one trim: what runs between its purges. */
static void (*trim_between)(void);
/* This thread is inside a trim's purge, and not inside trim_between. */
static HS_TLS bool trim_here;

/*
 * jemalloc's madvise (jemalloc.syms renames its calls to this).  A trim's
 * purge gives back one dirty extent a call, 60-70 us each on the PVM
 * guest, more under load: churn makes 1,100-1,400 of them in its 13 trims
 * a run, and one trim held the collector 9-11 ms at the longest on a quiet
 * machine, 17-55 ms under load, while the program filled its ring (65,536
 * records: about 13 ms of churn) and then waited for it.  So after each
 * purge call of a trim the collector may drain the rings (trim_between).
 * jemalloc holds none of its locks there (it purges extents it took out
 * of its caches, its decay lock released: extent_dalloc_wrapper asserts
 * that no core lock is held), so the drain may allocate from the private
 * arena as any cycle does; a purge the drain starts itself (the private
 * arena's, on a free) finds trim_here clear.  churn, 12 runs each
 * interleaved, load 2.2-3.8: ring-full waits a run (median) 12.5 -> 3,
 * their time 68.5 -> 8.5 ms; the longest stretch of a trim without a
 * drain 17.1 -> 10.6 ms.  Quiet (load under 2), 0-4 waits either way.
 */
int hsje_madvise(void *addr, size_t len, int advice);
int hsje_madvise(void *addr, size_t len, int advice)
{
	int rc = madvise(addr, len, advice);

	if (HS_UNLIKELY(trim_here) && advice == MADV_DONTNEED) {
		int saved = errno;
		trim_here = false;
		trim_between();
		trim_here = true;
		errno = saved;
	}
	return rc;
}

void backing_trim_peak(void (*between)(void))
{
	struct timespec ts;

	if (mode != MODE_JEMALLOC || !je_ready || clock_gettime(CLOCK_MONOTONIC_COARSE, &ts))
		return;
	uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	if (now < trim_next_ns)
		return;
	trim_next_ns = now + TRIM_EVERY_NS;
	uint64_t rss = resident_bytes();
	uint64_t step = trim_high / 64;
	if (rss <= trim_high + (step > TRIM_STEP_MIN ? step : TRIM_STEP_MIN))
		return;
	trim_high = rss;
	trim_between = between;
	trim_here = between != NULL;
	(void)mallctl("arena.4096.purge", NULL, NULL, NULL, 0); /* 4096: MALLCTL_ARENAS_ALL */
	trim_here = false;
}

/* ---- large blocks zeroed and moved by their mapped pages ---------------------
 *
 * Page faults (about 9 us each on the PVM guest of 2026-12-03) and
 * madvise(MADV_DONTNEED) (about 55 us, a TLB-shootdown IPI to every CPU
 * the process runs on) are most of what a traced churn costs there.  Two
 * of their sources are jemalloc's way with a block of pages of its own
 * (16 KiB and up):
 *
 *   - a calloc served from a freed (dirty) extent is zeroed with
 *     MADV_DONTNEED (ehooks_default_zero_impl), and every page the
 *     program then touches faults back in: about 700 calls a churn run;
 *   - a realloc that cannot grow in place copies the whole block, so
 *     every page of the old block that was never touched is read (a fault
 *     mapping the zero page) and its copy written (a second fault).
 *     churn writes only the first 64 bytes and the last byte of a block,
 *     and doubles some of them up to 1 MiB: half its traced page faults
 *     were this memmove.  glibc moves such blocks with mremap (above its
 *     mmap threshold), or over pages its heap has long had.
 *
 * /proc/self/pagemap says, a page at a time, whether a page is mapped
 * (present, or swapped out): one that is neither has never been written
 * since it was mapped or last purged, and reads as zeros.  So a large
 * calloc zeroes only the mapped pages of its block (memset: they are
 * resident already, no fault, no RSS), and a large move copies only the
 * source's mapped pages, zeroing the destination's mapped pages where
 * the source's are not.  Nothing else can write either block meanwhile
 * (both are the caller's), and a page can only become mapped by a write
 * (or by a read: the zero page, then copied or zeroed like any other).
 *
 * Each costs an fstat and a pread a 128 pages (an open, a pread and a
 * close, about 7 us here, until the descriptor was kept, below) where it
 * used to cost nothing for a block from fresh pages: it is done
 * for callocs of 16 KiB and up (a recycled one cost 55 us and its faults)
 * and for moves of 64 KiB and up (whose copy costs as much as the reads).
 * Without pagemap (no /proc), jemalloc's ways as before.  A seccomp
 * filter that kills on open would kill a traced program here; one that
 * fails it leaves jemalloc's ways.
 *
 * churn, 3-5 runs each on a busy machine (load 4-8 on 2 CPUs), 287c43f
 * -> this: page faults 23,300-25,800 -> 16,200-17,800 (untraced 8,050),
 * the program thread's madvise calls (strace) 1,520-1,530 -> 940-1,230,
 * peak RSS 27.8-29.4 -> 27.8-29.1 MB.  The peak trims purge a little
 * more (the collector's calls 1,550-1,630 -> 1,790): fewer dirty pages
 * go to callocs.  The eight other workloads read their faults, madvise
 * calls and peak RSS as before, within run-to-run noise (py_json reads
 * pagemap 88 times a run; its peak read 124.4-128.7 MB before and
 * 122.2-133.7 after, 5 runs each, where c99e34b read 126.9-132.3).
 */
#define LARGE_MIN (16u << 10)	/* jemalloc's smallest block of pages of its own */
#define SPARSE_MOVE_MIN (64u << 10)
#define PAGEMAP_CHUNK 128	/* entries read at a time: 1 KiB of stack */
#define PAGE 4096u		/* x86_64 pages */
/* A pagemap entry's bit 63 (present) or 62 (swapped): the page holds data. */
#define MAPPED(e) (((e) >> 62) != 0)

/*
 * One descriptor of /proc/self/pagemap for the process, opened at the
 * first large calloc or move and kept (an open, a pread and a close a
 * call cost churn 3,566 system calls a run, each a TLB flush on a CPU
 * without PCID).  It is the program's descriptor table too: the program
 * may close our number (closefrom, a daemon's loop over its descriptors)
 * and open something else under it, or dup2 over it, and a pread of
 * /dev/zero or of a file would read as "no page mapped" and leave a
 * calloc's garbage in place.  So every use first checks with fstat that
 * the number still names the file we opened (its device and inode; procfs
 * keeps the inode while a descriptor holds it): one system call instead
 * of two.  A descriptor that fails the check is not ours any more and is
 * forgotten, not closed, and a new one opened.
 *
 * The identity (dev, ino) is stored before the descriptor is published,
 * and changes only while none is (pagemap_fd -1, under pagemap_opening):
 * whatever descriptor a thread holds, one that matches the identity it
 * reads is a pagemap of this process, which is all a read needs.  A
 * thread that finds another thread (or the handler it interrupted)
 * opening one uses one of its own for the call, as before.  After fork
 * the child's copy names the parent's memory: backing_forget_pagemap
 * closes it (its descriptor is O_CLOEXEC, for exec).  A child made
 * without fork's handlers (_Fork, a bare clone) would read the parent's,
 * as the rest of the shim would write the parent's rings.
 */
#define PAGEMAP_FD_MIN 64 /* out of the way of the program's dup2(fd, 3..9) */

/* Set when /proc/self/pagemap cannot be opened (relaxed: a thread that
 * misses the store only tries once more). */
static _Atomic int pagemap_broken;
static _Atomic int pagemap_fd = -1;	     /* the kept descriptor, or -1 */
static _Atomic int pagemap_opening;	     /* a thread is opening one */
static _Atomic uint64_t pagemap_dev, pagemap_ino; /* its file */

static int pagemap_open(void)
{
	if (atomic_load_rlx(&pagemap_broken))
		return -1;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		atomic_store_rlx(&pagemap_broken, 1);
	return fd;
}

/* Does fd name the pagemap whose identity is stored? */
static bool pagemap_ours(int fd)
{
	struct stat st;

	/* relaxed: read after the acquire load of pagemap_fd that gave fd */
	return !fstat(fd, &st) && (uint64_t)st.st_dev == atomic_load_rlx(&pagemap_dev) &&
	       (uint64_t)st.st_ino == atomic_load_rlx(&pagemap_ino);
}

/* A pagemap descriptor for this call, or -1 (no /proc: jemalloc's ways).
 * *temp is set when the caller must close it after. */
static int pagemap_get(bool *temp)
{
	*temp = false;
	/* acquire: pairs with the release that published it; its identity is
	 * stored */
	int fd = atomic_load_acq(&pagemap_fd);
	if (fd >= 0) {
		if (pagemap_ours(fd))
			return fd;
		/* closed or replaced by the program: forget the number, which
		 * is not ours to close (relaxed: only -1 is stored over it) */
		atomic_compare_exchange_strong_explicit(&pagemap_fd, &fd, -1, memory_order_relaxed,
							memory_order_relaxed);
	}
	int busy = 0;
	/* acquire: pairs with the release below; the previous opener is done */
	if (!atomic_compare_exchange_strong_explicit(&pagemap_opening, &busy, 1, memory_order_acquire,
						     memory_order_relaxed)) {
		*temp = true;
		return pagemap_open();
	}
	int kept = -1;
	/* relaxed: under pagemap_opening, which orders the openers */
	if (atomic_load_rlx(&pagemap_fd) < 0 && (fd = pagemap_open()) >= 0) {
		int high = fcntl(fd, F_DUPFD_CLOEXEC, PAGEMAP_FD_MIN);
		if (high >= 0) {
			close(fd);
			fd = high;
		}
		struct stat st;
		if (!fstat(fd, &st)) {
			/* relaxed: published by the release store of the descriptor */
			atomic_store_rlx(&pagemap_dev, (uint64_t)st.st_dev);
			atomic_store_rlx(&pagemap_ino, (uint64_t)st.st_ino);
			/* release: the identity before the descriptor */
			atomic_store_rel(&pagemap_fd, fd);
			kept = fd;
		} else {
			*temp = true;
		}
	}
	/* release: pairs with the acquire above */
	atomic_store_rel(&pagemap_opening, 0);
	if (kept >= 0 || *temp)
		return fd;
	/* another thread kept one meanwhile, or there is no /proc */
	*temp = true;
	return pagemap_open();
}

void backing_forget_pagemap(void)
{
	/* relaxed: the forked child has one thread */
	int fd = atomic_load_rlx(&pagemap_fd);

	/* the parent's, unless the program's own handler replaced it */
	if (fd >= 0 && pagemap_ours(fd))
		close(fd);
	atomic_store_rlx(&pagemap_fd, -1);
	atomic_store_rlx(&pagemap_opening, 0);
}

/* The entries of the n pages from page (page-aligned); false if not all read. */
static HS_NOINLINE bool pagemap_read(int fd, uintptr_t page, uint64_t *e, size_t n)
{
	return pread(fd, e, n * sizeof(*e), (off_t)(page / PAGE * sizeof(*e))) == (ssize_t)(n * sizeof(*e));
}

/* Zero the mapped pages of [p, p + n). */
static void zero_mapped(int fd, uint8_t *p, size_t n)
{
	uint64_t e[PAGEMAP_CHUNK];
	uintptr_t end = (uintptr_t)p + n;

	for (uintptr_t page = (uintptr_t)p & ~(uintptr_t)(PAGE - 1); page < end;) {
		size_t np = (end - page + PAGE - 1) / PAGE;
		if (np > PAGEMAP_CHUNK)
			np = PAGEMAP_CHUNK;
		bool known = pagemap_read(fd, page, e, np);
		for (size_t i = 0; i < np; i++, page += PAGE) {
			uintptr_t lo = page > (uintptr_t)p ? page : (uintptr_t)p;
			uintptr_t hi = page + PAGE < end ? page + PAGE : end;
			if (!known || MAPPED(e[i]))
				memset((void *)lo, 0, hi - lo);
		}
	}
}

/* memcpy(dst, src, n), but what the source's unmapped pages hold (zeros)
 * is written only where the destination's page is mapped. */
static void copy_mapped(int fd, uint8_t *dst, const uint8_t *src, size_t n)
{
	uint64_t de[PAGEMAP_CHUNK], se[PAGEMAP_CHUNK + 1];
	uintptr_t end = (uintptr_t)dst + n;
	uintptr_t delta = (uintptr_t)src - (uintptr_t)dst; /* modulo 2^64 */

	for (uintptr_t page = (uintptr_t)dst & ~(uintptr_t)(PAGE - 1); page < end;) {
		size_t np = (end - page + PAGE - 1) / PAGE;
		if (np > PAGEMAP_CHUNK)
			np = PAGEMAP_CHUNK;
		uintptr_t lo = page > (uintptr_t)dst ? page : (uintptr_t)dst;
		uintptr_t hi = page + np * PAGE < end ? page + np * PAGE : end;
		/* the source's pages under [lo, hi): one more when not aligned alike */
		uintptr_t spage = (lo + delta) & ~(uintptr_t)(PAGE - 1);
		size_t ns = (hi + delta - spage + PAGE - 1) / PAGE;
		if (!pagemap_read(fd, page, de, np) || !pagemap_read(fd, spage, se, ns)) {
			memcpy((void *)lo, (const void *)(lo + delta), end - lo);
			return;
		}
		for (size_t i = 0; i < np; i++, page += PAGE) {
			uintptr_t a = page > lo ? page : lo, b = page + PAGE < hi ? page + PAGE : hi;
			if (a >= b)
				continue;
			uintptr_t sa = a + delta, sb = b - 1 + delta;
			if (MAPPED(se[(sa - spage) / PAGE]) || MAPPED(se[(sb - spage) / PAGE]))
				memcpy((void *)a, (const void *)sa, b - a);
			else if (MAPPED(de[i]))
				memset((void *)a, 0, b - a);
		}
	}
}

/* calloc of LARGE_MIN bytes or more: a block zeroed to its usable size,
 * as MALLOCX_ZERO zeroes it. */
static void *calloc_large(size_t n)
{
	int saved = errno; /* a failed open must not show in a calloc that succeeds */
	bool temp;
	int fd = pagemap_get(&temp);

	if (fd < 0) {
		errno = saved;
		return mallocx(n, MALLOCX_ZERO);
	}
	void *p = mallocx(n, 0);
	if (p)
		zero_mapped(fd, p, sallocx(p, 0));
	if (temp)
		close(fd);
	errno = saved;
	return p;
}

/* realloc of a block of SPARSE_MOVE_MIN bytes or more (old, its usable
 * size) to n as large: in place if it can be, else moved by its mapped pages. */
static void *realloc_large(void *p, size_t old, size_t n)
{
	if (xallocx(p, n, 0, 0) >= n)
		return p;
	void *q = mallocx(n, 0);
	if (!q)
		return NULL;
	int saved = errno;
	bool temp;
	int fd = pagemap_get(&temp);
	size_t keep = old < n ? old : n;
	if (fd >= 0) {
		copy_mapped(fd, q, p, keep);
		if (temp)
			close(fd);
	} else {
		memcpy(q, p, keep);
	}
	errno = saved;
	dallocx(p, 0);
	return q;
}

void backing_resolve(void)
{
	sys.malloc = (void *(*)(size_t))dynsym_next("malloc");
	sys.calloc = (void *(*)(size_t, size_t))dynsym_next("calloc");
	sys.realloc = (void *(*)(void *, size_t))dynsym_next("realloc");
	sys.free = (void (*)(void *))dynsym_next("free");
	sys.posix_memalign = (int (*)(void **, size_t, size_t))dynsym_next("posix_memalign");
	sys.malloc_usable_size = (size_t(*)(void *))dynsym_next("malloc_usable_size");
	sys_ok = sys.malloc && sys.calloc && sys.realloc && sys.free && sys.posix_memalign && sys.malloc_usable_size;
}

void backing_init(bool system)
{
	configure_jemalloc();
	create_private_arena();
	je_ready = true;
	if (!system)
		return;
	if (!sys_ok) {
		log_warn("allocator=system: the next allocator was not found, using jemalloc", 0, 0);
		return;
	}
	mode = MODE_SYSTEM;
}

int backing_step_aside(void)
{
	if (mode == MODE_SYSTEM)
		return 0;
	if (!sys_ok)
		return -1;
	mode = MODE_SYSTEM;
	return 0;
}

int backing_is_system(void)
{
	return mode == MODE_SYSTEM;
}

int backing_unknown_heap(void)
{
	return 0; /* preloaded: the trace saw every block from the first */
}

void *backing_malloc(size_t n)
{
	HS_ASSERT(spin_none_held()); /* the allocator is a call out */
	if (HS_LIKELY(mode == MODE_JEMALLOC))
		return mallocx(n ? n : 1, 0);
	return sys.malloc(n);
}

void *backing_calloc(size_t n)
{
	HS_ASSERT(spin_none_held()); /* the allocator is a call out */
	if (HS_LIKELY(mode == MODE_JEMALLOC))
		return n < LARGE_MIN ? mallocx(n ? n : 1, MALLOCX_ZERO) : calloc_large(n);
	return sys.calloc(1, n);
}

void *backing_aligned(size_t align, size_t n)
{
	HS_ASSERT(spin_none_held()); /* the allocator is a call out */
	if (mode == MODE_SYSTEM) {
		void *p = NULL;
		if (align < sizeof(void *))
			align = sizeof(void *);
		return sys.posix_memalign(&p, align, n) ? NULL : p;
	}
	return mallocx(n ? n : 1, MALLOCX_ALIGN(align));
}

/* A jemalloc block (from before backing_step_aside) resized on the system
 * allocator: moved. */
static void *move_to_system(void *p, size_t n)
{
	void *q = sys.malloc(n);
	if (q) {
		size_t old = sallocx(p, 0);
		memcpy(q, p, old < n ? old : n);
		dallocx(p, 0);
	}
	return q;
}

void *backing_realloc(void *p, size_t n)
{
	HS_ASSERT(spin_none_held()); /* the allocator is a call out */
	if (mode == MODE_SYSTEM)
		return arena_map_contains((uintptr_t)p) ? move_to_system(p, n) : sys.realloc(p, n);
	if (n >= SPARSE_MOVE_MIN && p) {
		size_t old = sallocx(p, 0);
		if (old >= SPARSE_MOVE_MIN)
			return realloc_large(p, old, n);
	}
	return rallocx(p, n, 0);
}

/*
 * allocator=system: a block from the shim's private arena can still come
 * back here, when glibc frees state it allocated while a thread ran shim
 * code (pthread_atfork's list, freed by __libc_freeres), and so can a
 * program block from before backing_step_aside: it goes back to jemalloc.
 */
static void system_free(void *p)
{
	if (arena_map_contains((uintptr_t)p))
		dallocx(p, 0);
	else
		sys.free(p);
}

void backing_free(void *p)
{
	HS_ASSERT(spin_none_held()); /* the allocator is a call out */
	if (HS_LIKELY(mode == MODE_JEMALLOC))
		dallocx(p, 0);
	else
		system_free(p);
}

void backing_free_sized(void *p, size_t n)
{
	HS_ASSERT(spin_none_held()); /* the allocator is a call out */
	if (HS_LIKELY(mode == MODE_JEMALLOC))
		sdallocx(p, n ? n : 1, 0);
	else
		system_free(p);
}

size_t backing_usable_size(void *p)
{
	if (mode == MODE_SYSTEM && !arena_map_contains((uintptr_t)p))
		return sys.malloc_usable_size(p);
	return sallocx(p, 0);
}

/* The private arena's calls below hold the stop signal off (world_hold):
 * a scan frees into this arena with the other threads stopped. */
void *backing_ialloc(size_t n)
{
	uint64_t old;

	HS_ASSERT(spin_none_held()); /* the allocator is a call out */
	if (HS_UNLIKELY(!je_ready))
		return sys_ok ? sys.malloc(n) : NULL;
	int held = world_hold(&old);
	void *p = mallocx(n ? n : 1, private_flags);
	if (held)
		world_unhold(&old);
	return p;
}

void *backing_irealloc(void *p, size_t n)
{
	uint64_t old;

	HS_ASSERT(spin_none_held()); /* the allocator is a call out */
	if (!p)
		return backing_ialloc(n);
	if (HS_UNLIKELY(!je_ready))
		return sys_ok ? sys.realloc(p, n) : NULL;
	int held = world_hold(&old);
	void *q = rallocx(p, n ? n : 1, private_flags);
	if (held)
		world_unhold(&old);
	return q;
}

void backing_ifree(void *p)
{
	uint64_t old;

	HS_ASSERT(spin_none_held()); /* the allocator is a call out */
	if (p && HS_UNLIKELY(!je_ready)) {
		if (sys_ok)
			sys.free(p);
	} else if (p) {
		int held = world_hold(&old);
		dallocx(p, MALLOCX_TCACHE_NONE);
		if (held)
			world_unhold(&old);
	}
}

/* ---- tables faulted in writable at once -----------------------------------
 *
 * Every zeroed block the shim asks for is a table it then writes all over
 * (the heap map's regions, the hash maps), and a large one comes from
 * pages the private arena has just mapped or purged (dirty_decay_ms 0):
 * arena_map_populate says why they are faulted in at once.  On py_json
 * (25000), main at f2ba691: 23,285 page faults in heapmap_alloc and 1,540
 * in hashmap_put, out of the collector's 27,238, and flush_tlb_mm_range
 * about 4.8% of all cpu-clock samples.  It costs no memory: each table is
 * written all over as soon as it is made (a region or a map that grows
 * rehashes everything into it), and a small block shares pages with
 * others that are faulted in already (a traced /bin/true: 595-601 page
 * faults, 598-599 before).
 *
 * Huge pages for the heap map's largest tables (MADV_HUGEPAGE on the
 * 2 MiB-aligned part of tables of 2 MiB and more, allocated aligned) did
 * not pay: only 4 to 7 huge pages formed a py_json run (thp_fault_alloc),
 * and the collector's samples in the heap map were 580-694 against
 * 654-744 without (3 runs each, busy machine): not done.
 */
#define POPULATE_MIN (16u << 10) /* jemalloc's smallest block of pages of its own */

static void *backing_izalloc(size_t n)
{
	uint64_t old;

	HS_ASSERT(spin_none_held()); /* the allocator is a call out */
	if (HS_UNLIKELY(!je_ready))
		return sys_ok ? sys.calloc(1, n) : NULL;
	int held = world_hold(&old);
	void *p = mallocx(n ? n : 1, private_flags | MALLOCX_ZERO);
	if (held)
		world_unhold(&old);
	if (p && n >= POPULATE_MIN)
		arena_map_populate(p, n);
	return p;
}

const struct hs_allocator backing_private = {backing_izalloc, backing_irealloc, backing_ifree};

size_t backing_iusable_size(void *p)
{
	if (HS_UNLIKELY(!je_ready))
		return sys_ok ? sys.malloc_usable_size(p) : 0;
	return sallocx(p, 0);
}
