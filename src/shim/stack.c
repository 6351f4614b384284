/*
 * stack.c - stack capture and interning.
 * HOOK-SAFE.
 */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include "shim/stack.h"

#include <libunwind.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/arena_map.h"
#include "shim/log.h"
#include "shim/options.h"
#include "shim/python.h"
#include "shim/ring.h"
#include "shim/ringfile.h"
#include "shim/shim.h"
#include "shim/spin.h"
#include "shim/unwind.h"
#include "shim/unwmask.h"
#include "util/atomic.h"
#include "util/compiler.h"
#include "util/fmt.h"
#include "util/hooksafe.h"

#define STACK_ID_MAX (1u << 24)	       /* ids (INDEX_ID_BITS); by_id is reserved, not touched */
#define STACK_ID_MIN (1u << 15)	       /* fewest ids worth tracing with */
#define STACK_SEG_BYTES (1u << 20)     /* entries segment of the ring file */
#define SKIP_SLACK 8		       /* extra frames unwound for the shim's own */

/* Open-addressing index: slot = the hash's bits 24-63 | id (ids are below
 * 2^24), 0 = empty.  A stack's home slot is its hash's top bits (unwind.h
 * says why), which the slot keeps: growing rehashes from the slots alone,
 * without reading the entries (most of them stay out of memory,
 * ringfile_unload). */
#define INDEX_ID_BITS 24
#define INDEX_ID_MASK ((1ull << INDEX_ID_BITS) - 1)
struct stack_index {
	uint64_t mask;		  /* slots - 1 */
	unsigned shift;		  /* 64 - log2(slots) */
	uint64_t used;		  /* filled slots (writers only) */
	_Atomic uint64_t slots[]; /* slots */
};

static _Atomic(struct stack_index *) index_now;
static struct ringfile_stack_entry **by_id; /* id -> entry, reserved mapping */
static _Atomic uint32_t count;		    /* ids 1..count are complete */
static struct spin insert_lock;
static char *seg_next, *seg_end; /* free space in the current entries segment */
static char *seg_ready;		 /* its space is populated below this */
#define POPULATE_AHEAD (64u << 10) /* populated ahead of the entries */
static struct ringfile_stacks *seg_cur;
#define SEGS_MAX 4096
static struct ringfile_stacks *segs[SEGS_MAX]; /* every entries segment, for stack_reset */
static uint32_t nsegs;
static uint32_t frames_max;
static uint32_t ids_max; /* by_id's entries: STACK_ID_MAX unless memory is short */
/* Epochs: an unload (stack_modules_unloaded) starts one, whose stacks get
 * ids of their own; epoch_first[k] is the first id of epoch k + 1. */
#define EPOCHS_MAX 1024
static uint32_t epoch_first[EPOCHS_MAX];
static _Atomic uint32_t epochs; /* epochs started after the first */
static uintptr_t self_lo, self_hi;
bool stack_verify_on;			/* stack_verify=1 */
static int verify_fd = -1;		/* stderr as it was at start */
static struct stat verify_st;		/* what verify_fd was then */
static _Atomic uint64_t verify_checked;	/* captures compared with unw_backtrace */
static _Atomic uint64_t verify_mismatched; /* of them, different */

/* The table's memory is the shim's: noted as not a root for the scan. */
static void *map_anon(size_t bytes)
{
	return arena_map_mmap(bytes);
}

/* Populated (arena_map_table): its slots are probed, read before they are
 * written, in the program's thread (py_json 25000: 1,308 page faults in
 * intern before; README, Where the time goes). */
static struct stack_index *index_new(uint64_t slots)
{
	struct stack_index *x = arena_map_table(sizeof(*x) + slots * sizeof(uint64_t));
	if (x) {
		x->mask = slots - 1;
		x->shift = (unsigned)__builtin_clzll(slots) + 1;
	}
	return x;
}

int stack_init(uint32_t max_frames, uintptr_t skip_lo, uintptr_t skip_hi, uint64_t max_bytes)
{
	frames_max = max_frames;
	self_lo = skip_lo;
	self_hi = skip_hi;
	stack_verify_on = shim.opts.stack_verify;
	if (stack_verify_on) {
		/* A copy of stderr: the report comes at exit, after programs
		 * such as ls have closed stderr itself (gnulib's close_stdout). */
		verify_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 64);
		if (verify_fd >= 0 && fstat(verify_fd, &verify_st))
			verify_fd = -1;
		/* every event unwound in full: signals blocked once a stack,
		 * not twice a frame (unwmask.h); without it, libunwind's own
		 * masking stays */
		(void)unwmask_init();
	}
	/* 128 MiB of address space (never touched beyond the ids in use);
	 * under an address-space limit (ulimit -v) fewer ids, and stacks
	 * past them are recorded as unknown. */
	for (ids_max = STACK_ID_MAX; ids_max >= STACK_ID_MIN; ids_max /= 8)
		if (ids_max * sizeof(*by_id) <= max_bytes && (by_id = map_anon(ids_max * sizeof(*by_id))))
			break;
	struct stack_index *x = index_new(4096);
	if (!by_id || !x || unwind_init(max_frames, skip_lo, skip_hi, stack_verify_on))
		return -1;
	/* release: publish the empty index */
	atomic_store_rel(&index_now, x);
	unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
	return 0;
}

HS_INLINE uint64_t index_tag(uint64_t h)
{
	return h & ~INDEX_ID_MASK;
}

static bool entry_equals(const struct ringfile_stack_entry *e, const uint64_t *ips, unsigned n)
{
	return e->depth == n && !memcmp(e->ips, ips, n * sizeof(uint64_t));
}

/* Find ips in index x; return the id or 0. */
static uint32_t index_find(struct stack_index *x, uint64_t h, const uint64_t *ips, unsigned n)
{
	uint64_t tag = index_tag(h);

	for (uint64_t i = h >> x->shift;; i = (i + 1) & x->mask) {
		/* acquire: pairs with the release in index_put; the entry the
		 * slot names is complete */
		uint64_t s = atomic_load_acq(&x->slots[i]);
		if (!s)
			return 0;
		if (index_tag(s) == tag && entry_equals(by_id[s & INDEX_ID_MASK], ips, n))
			return (uint32_t)(s & INDEX_ID_MASK);
	}
}

/* Put (h, id) into x.  Caller holds insert_lock. */
static void index_put(struct stack_index *x, uint64_t h, uint32_t id)
{
	uint64_t i = h >> x->shift;

	HS_ASSERT(spin_holding(&insert_lock));
	/* relaxed: only writers (serialized by the lock) change slots */
	while (atomic_load_rlx(&x->slots[i]))
		i = (i + 1) & x->mask;
	HS_ASSERT(id && id <= INDEX_ID_MASK);
	/* release: by_id[id] and the entry are visible before the slot */
	atomic_store_rel(&x->slots[i], index_tag(h) | id);
	x->used++;
}

/*
 * Give back the memory of an index that was replaced, but not its
 * addresses: a lock-free reader may still be walking it.  Its slots past
 * the first page read as 0 from now on (private anonymous memory), which
 * a reader takes for the end of the probe: not found, so it inserts, and
 * insert looks again in the current index under the lock.  The first
 * page (mask and shift) stays, so a reader never strays out of bounds.
 */
static void index_release(struct stack_index *x)
{
	uintptr_t lo = ((uintptr_t)x + 4096) & ~(uintptr_t)4095;
	uintptr_t hi = ((uintptr_t)&x->slots[x->mask + 1]) & ~(uintptr_t)4095;

	if (hi > lo)
		(void)syscall(SYS_madvise, (void *)lo, hi - lo, MADV_DONTNEED);
}

/* Double the index when half full.  Caller holds insert_lock.  The old
 * index stays mapped (index_release). */
static void index_grow(void)
{
	struct stack_index *old = atomic_load_rlx(&index_now); /* relaxed: lock held */

	HS_ASSERT(spin_holding(&insert_lock));
	if (old->used * 2 < old->mask + 1)
		return;
	struct stack_index *x = index_new((old->mask + 1) * 2);
	if (!x)
		return;
	/* relaxed: only writers (serialized by the lock) change slots; the
	 * slot holds the top bits of the hash, all index_put needs */
	for (uint64_t i = 0; i <= old->mask; i++) {
		uint64_t s = atomic_load_rlx(&old->slots[i]);
		if (s)
			index_put(x, index_tag(s), (uint32_t)(s & INDEX_ID_MASK));
	}
	/* release: readers that load the new index see all its slots */
	atomic_store_rel(&index_now, x);
	index_release(old);
}

/* Reserve bytes for an entry in the ring file.  Caller holds insert_lock. */
static struct ringfile_stack_entry *entry_alloc(size_t bytes)
{
	HS_ASSERT(spin_holding(&insert_lock));
	if ((size_t)(seg_end - seg_next) < bytes) {
		size_t seg_bytes = bytes + RINGFILE_STACKS_DATA_OFFSET > STACK_SEG_BYTES
					   ? bytes + RINGFILE_STACKS_DATA_OFFSET
					   : STACK_SEG_BYTES;
		struct ringfile_stacks *s = ringfile_map(RINGFILE_SEG_STACKS, seg_bytes);
		if (!s)
			return NULL;
		seg_cur = s;
		if (nsegs < SEGS_MAX)
			segs[nsegs++] = s;
		/* The entries of the segment before the previous one are
		 * read again only when their stack recurs (or by a collector
		 * that lags that far behind): its pages go back to the file,
		 * and the stacks that recur bring theirs back.  py_json's
		 * 24,000 stacks take 10 MB of entries, and with this 2 to 3 MB
		 * of them are resident at its peak. */
		if (nsegs >= 3 && nsegs < SEGS_MAX)
			ringfile_unload(segs[nsegs - 3]);
		seg_next = (char *)s + RINGFILE_STACKS_DATA_OFFSET;
		seg_end = (char *)s + s->seg.bytes;
		seg_ready = seg_next; /* the header's page is in: ringfile_map wrote it */
	}
	struct ringfile_stack_entry *e = (void *)seg_next;
	seg_next += bytes;
	/*
	 * The entries are written in order, into pages of the ring file never
	 * written before (zero): they are mapped writable 64 KiB ahead, in one
	 * call (arena_map_populate), not a page fault each.  A write fault on
	 * the ring file costs about 21 us on the project's shadow-paged VM
	 * (ext4: the kernel's fault, the file system's page_mkwrite, the
	 * hypervisor's exits); populated 16 pages at a time, about 2 us a page
	 * and 5-8 us at its first touch.  py_json (25000) writes 11 MB of
	 * entries: 2,700 faults of its program thread.
	 */
	if (seg_next > seg_ready) {
		size_t room = (size_t)(seg_end - seg_ready), want = (size_t)(seg_next - seg_ready) + POPULATE_AHEAD;
		want = want < room ? want : room;
		arena_map_populate(seg_ready, want);
		seg_ready += want;
	}
	/* release: a reader of the file sees used cover a reserved entry */
	atomic_store_rel(&seg_cur->used, (uint64_t)(seg_next - (char *)seg_cur) - RINGFILE_STACKS_DATA_OFFSET);
	return e;
}

/* Add ips under the lock (or find it, if another thread just did). */
static uint32_t insert(uint64_t h, const uint64_t *ips, unsigned n)
{
	uint32_t id;

	spin_lock(&insert_lock);
	struct stack_index *x = atomic_load_rlx(&index_now); /* relaxed: lock held */
	id = index_find(x, h, ips, n);
	if (id)
		goto out;
	id = atomic_load_rlx(&count) + 1; /* relaxed: lock held */
	if (id >= ids_max) {
		id = 0;
		goto out;
	}
	struct ringfile_stack_entry *e = entry_alloc(sizeof(*e) + n * sizeof(uint64_t));
	if (!e) {
		id = 0;
		goto out;
	}
	e->id = id;
	e->depth = (uint16_t)n;
	memcpy(e->ips, ips, n * sizeof(uint64_t));
	/* release: the ips are complete before a reader of the file sees ready */
	atomic_store_rel(&e->ready, 1);
	by_id[id] = e;
	index_put(x, h, id);
	/* release: the collector that reads count sees entries 1..count */
	atomic_store_rel(&count, id);
	index_grow();
out:
	spin_unlock(&insert_lock);
	return id;
}

/* The id of stack ips[0..n) with hash h: found, or added. */
static uint32_t intern(uint64_t h, const uint64_t *ips, unsigned n)
{
	if (!n)
		return 0;
	/* acquire: pairs with the release in stack_init / index_grow */
	uint32_t id = index_find(atomic_load_acq(&index_now), h, ips, n);
	return id ? id : insert(h, ips, n);
}

/*
 * libunwind's general unwinder, frame by frame (unw_step: any CFI, signal
 * frames, frames without CFI), as its own unw_backtrace falls back to:
 * return addresses from the caller's caller out, stopping, as
 * unw_backtrace's fast trace does, at one below 0x4000.
 *
 * Not unw_backtrace itself: its fast trace keeps a per-thread cache of
 * frame rules by address that nothing ever flushes (libunwind 1.6,
 * x86_64/Gtrace.c), so after dlclose and another library loaded at the
 * same address it unwinds the new code with the old rules (tests/progs/
 * stacks.c dlswap shows it).  unw_step's own cache is flushed at every
 * dlclose (stack_modules_changed).
 */
static HS_NOINLINE int libunwind_steps(void **ips, int max)
{
	unw_context_t uc;
	unw_cursor_t c;
	int n = 0;

	if (unw_getcontext(&uc) || unw_init_local(&c, &uc) < 0)
		return 0;
	while (n < max && unw_step(&c) > 0) {
		unw_word_t ip;
		if (unw_get_reg(&c, UNW_REG_IP, &ip) < 0 || ip < 0x4000)
			break;
		ips[n++] = (void *)(uintptr_t)ip;
	}
	return n;
}

/*
 * The full unwind: libunwind's, less the shim's frames on top, at most
 * frames_max frames.  Call it from the shim's hook (its frames are skipped
 * by address).  Return the number of frames.
 */
static HS_NOINLINE unsigned full_unwind(uint64_t *out)
{
	void *ips[OPT_MAX_FRAMES_LIMIT + SKIP_SLACK];

	/* The hook's guard is held (libunwind's own allocations come back as
	 * nested calls), and no lock of ours: the unwinder is a call out. */
	HS_ASSERT(tls.depth > 0);
	HS_ASSERT(spin_none_held());
	sigset_t saved;
	int masked = unwmask_begin(&saved);
	int n = libunwind_steps(ips, (int)(frames_max + SKIP_SLACK));
	if (masked)
		unwmask_end(&saved);
	int skip = 0;

	while (skip < n && (uintptr_t)ips[skip] >= self_lo && (uintptr_t)ips[skip] < self_hi)
		skip++;
	n -= skip;
	if (n <= 0)
		return 0;
	if ((unsigned)n > frames_max)
		n = (int)frames_max;
	for (int i = 0; i < n; i++)
		out[i] = (uint64_t)(uintptr_t)ips[skip + i];
	return (unsigned)n;
}

/* The index an unload starts with: mapped before the unload, since a
 * mapping made after it could take the place of the library unloaded and
 * keep the next one from loading there. */
static _Atomic(struct stack_index *) index_spare;

void stack_modules_unloading(void)
{
	/* relaxed: only whether there is one (taken with acq_rel below), and
	 * whether stack_init published an index */
	if (atomic_load_rlx(&index_spare) || !atomic_load_rlx(&index_now))
		return;
	struct stack_index *x = index_new(4096), *none = NULL;
	/* acq_rel: the index's header is written before another thread takes
	 * it.  Two dlcloses at once: the loser's stays mapped, unused (32 KiB
	 * of address space) */
	if (x)
		(void)atomic_cas_acq_rel(&index_spare, &none, x);
}

void stack_modules_unloaded(void)
{
	/* relaxed: only whether stack_init published one */
	if (!atomic_load_rlx(&index_now) || atomic_load_rlx(&epochs) == EPOCHS_MAX)
		return; /* (so many unloads: the stacks keep their ids) */
	/* acq_rel: see stack_modules_unloading */
	struct stack_index *x = atomic_exchange_acq_rel(&index_spare, NULL);
	if (!x)
		return; /* no memory: the stacks keep their ids */
	spin_lock(&insert_lock);
	struct stack_index *old = atomic_load_rlx(&index_now); /* relaxed: lock held */
	uint32_t k = atomic_load_rlx(&epochs);			/* relaxed: lock held */
	epoch_first[k] = atomic_load_rlx(&count) + 1;		/* relaxed: lock held */
	/* release: the collector that reads epochs sees epoch_first[k] */
	atomic_store_rel(&epochs, k + 1);
	/* release: readers that load x see it empty */
	atomic_store_rel(&index_now, x);
	index_release(old);
	spin_unlock(&insert_lock);
	python_forget_ids(); /* each thread's last Python stack's id */
}

uint32_t stack_epoch(void)
{
	/* acquire: pairs with the release in stack_modules_unloaded */
	return atomic_load_acq(&epochs);
}

uint32_t stack_epoch_of(uint32_t id)
{
	uint32_t lo = 0, hi = stack_epoch();

	while (lo < hi) { /* the epochs whose first id is <= id */
		uint32_t mid = lo + (hi - lo) / 2;
		if (epoch_first[mid] <= id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void stack_modules_changed(void)
{
	unwind_modules_changed();
	unw_flush_cache(unw_local_addr_space, 0, 0);
}

/* stack_verify: compare a capture with the full unwind, count, and show
 * the first few differences.  id: the stack id the capture came with (from
 * a cache of the unwinder's), whose entry must be those frames too; 0 when
 * it is still to be interned. */
static HS_NOINLINE void verify(const uint64_t *ips, unsigned n, uint32_t id)
{
	uint64_t want[OPT_MAX_FRAMES_LIMIT];
	unsigned wn = full_unwind(want);

	/* relaxed: statistics, read at exit */
	atomic_fetch_add_rlx(&verify_checked, 1);
	if (id && id <= stack_count() && entry_equals(by_id[id], want, wn))
		id = 0; /* the id names the right stack */
	if (wn == n && !memcmp(want, ips, n * sizeof(uint64_t)) && !id)
		return;
	uint64_t nth = atomic_fetch_add_rlx(&verify_mismatched, 1); /* relaxed: as above */
	if (nth < 3) {
		unsigned i = 0;
		while (i < n && i < wn && ips[i] == want[i])
			i++;
		char buf[200];
		struct fmt_buf b;
		fmt_init(&b, buf, sizeof(buf));
		if (id && i == n && n == wn) {
			fmt_str(&b, "stack_verify: the frames are right, their cached id ");
			fmt_u64(&b, id);
			fmt_str(&b, " names another stack");
			log_warn(buf, 0, 0);
			return;
		}
		fmt_str(&b, "stack_verify: mismatch at frame ");
		fmt_u64(&b, i);
		fmt_str(&b, ": got ");
		fmt_u64(&b, n);
		fmt_str(&b, " frames, ");
		fmt_hex(&b, i < n ? ips[i] : 0);
		fmt_str(&b, "; full unwind ");
		fmt_u64(&b, wn);
		fmt_str(&b, " frames, ");
		fmt_hex(&b, i < wn ? want[i] : 0);
		log_warn(buf, 0, 0);
	}
}

/* stack_verify: a stack id remembered by python_stack (the stack it made
 * before, or one it keeps by its entries) must name the stack ips[0..n). */
static HS_NOINLINE void verify_id(const uint64_t *ips, unsigned n, uint32_t id)
{
	/* (the event is counted as checked by verify) */
	if (id <= stack_count() && entry_equals(by_id[id], ips, n))
		return;
	/* relaxed: statistics, read at exit */
	if (atomic_fetch_add_rlx(&verify_mismatched, 1) < 3) {
		char buf[120];
		struct fmt_buf b;
		fmt_init(&b, buf, sizeof(buf));
		fmt_str(&b, "stack_verify: a Python stack's remembered id ");
		fmt_u64(&b, id);
		fmt_str(&b, " names another stack");
		log_warn(buf, 0, 0);
	}
}

/*
 * A Python program's native stack ips[0..n): its Python frames put in
 * where the interpreter ran them (python.h), interned.  0 when the stack
 * has no Python frames (the caller interns it as it is).  The unwinder's
 * memo knows only native frames: the same native stack with other Python
 * frames is another stack, so its id is not the memo's to keep.
 */
static HS_NOINLINE uint32_t intern_python(const uint64_t *ips, unsigned n, const struct python_native *nat)
{
	uint64_t with_py[OPT_MAX_FRAMES_LIMIT];
	struct python_out r;

	if (!python_stack((void *const *)ips, n, n >= frames_max, nat, with_py, OPT_MAX_FRAMES_LIMIT, &r))
		return 0;
	if (!r.id)
		python_stack_interned(r.id = intern(r.hash, r.ips, r.n));
	else if (HS_UNLIKELY(stack_verify_on))
		verify_id(r.ips, r.n, r.id);
	return r.id;
}

/* The id of the stack from a frame of the shim (unwind_capture's ip, sp,
 * bp and caller), or of the full unwind.  tried: unwind_cached looked the
 * stack up in the thread's trace cache already. */
HS_INLINE uint32_t capture(uint64_t ip, uint64_t sp, uint64_t bp, bool caller, bool tried)
{
	struct tls_state *t = &tls;
	struct unwind_stack s;
	uint32_t id;

	/* A thread that owns a ring owns that ring's memo. */
	if (HS_LIKELY(t->state == TS_ACTIVE && t->ring != 0)) {
		struct unwind_memo *m = unwind_memo_get(t->ring->slot, t->thread_index);
		bool py = python_wanted();
		unsigned flags = (caller ? UNWIND_F_CALLER : 0) | (stack_verify_on || py ? UNWIND_F_IPS : 0) |
				 (tried ? UNWIND_F_TRIED : 0);
		if (HS_LIKELY(m && unwind_capture(m, ip, sp, bp, flags, &s) == UNWIND_OK)) {
			if (HS_UNLIKELY(stack_verify_on))
				verify(s.ips, s.n, s.id);
			if (py && (id = intern_python(s.ips, s.n, &(struct python_native){s.same, s.seq, s.token}))) {
				unwind_memo_set_id(m, 0);
				return id;
			}
			/* a stack the memo or trace cache knew comes with its id */
			if (!s.id) {
				s.id = intern(s.hash, s.ips, s.n);
				unwind_memo_set_id(m, s.id);
			}
			return s.id;
		}
	}
	uint64_t ips[OPT_MAX_FRAMES_LIMIT];
	unsigned n = full_unwind(ips);
	if (HS_UNLIKELY(stack_verify_on))
		verify(ips, n, 0); /* counts the event: the full unwind agrees with itself */
	if (python_wanted() && (id = intern_python(ips, n, NULL)))
		return id;
	return intern(unwind_hash(ips, n), ips, n);
}

HS_NOINLINE uint32_t stack_capture_here(void)
{
	uint64_t ip, sp, bp;

	/* The unwind starts from this very frame, at this instruction. */
	UNWIND_HERE(ip, sp, bp);
	return capture(ip, sp, bp, false, false);
}

uint32_t stack_capture_miss(uint64_t ip, uint64_t sp, uint64_t bp, bool tried)
{
	return capture(ip, sp, bp, true, tried);
}

uint32_t stack_capture_plain(uint64_t ip, uint64_t sp, uint64_t bp)
{
	/* (tc_try clear: the thread has no trace cache on, nothing to look
	 * up there) */
	return capture(ip, sp, bp, true, true);
}

void stack_verify_cached(uint32_t id)
{
	verify(by_id[id]->ips, by_id[id]->depth, id);
}

void stack_verify_report(void)
{
	if (!stack_verify_on)
		return;
	struct unwind_stats u;
	unwind_stats_get(&u);
	/* relaxed: statistics; exchange so that a later report (after a
	 * failed exec) counts only what came after this one */
	uint64_t checked = atomic_exchange_explicit(&verify_checked, 0, memory_order_relaxed);
	uint64_t bad = atomic_exchange_explicit(&verify_mismatched, 0, memory_order_relaxed);
	char buf[400];
	struct fmt_buf b;
	struct stat st;
	if (verify_fd < 0 || fstat(verify_fd, &st) || st.st_dev != verify_st.st_dev || st.st_ino != verify_st.st_ino)
		return; /* the program closed it and the number was reused */
	fmt_init(&b, buf, sizeof(buf));
	fmt_str(&b, "heapsnap: stack_verify: ");
	fmt_u64(&b, checked);
	fmt_str(&b, " stacks checked, ");
	fmt_u64(&b, bad);
	fmt_str(&b, " mismatches (captures ");
	fmt_u64(&b, u.captures);
	fmt_str(&b, ": ");
	fmt_u64(&b, u.repeats);
	fmt_str(&b, " repeated, ");
	fmt_u64(&b, u.cached);
	fmt_str(&b, " cached, ");
	fmt_u64(&b, u.fallbacks);
	fmt_str(&b, " by libunwind; frames ");
	fmt_u64(&b, u.stepped);
	fmt_str(&b, " stepped, ");
	fmt_u64(&b, u.reused);
	fmt_str(&b, " reused; ");
	fmt_u64(&b, u.rule_misses);
	fmt_str(&b, " rules read)\n");
	(void)fmt_write_all(verify_fd, b.p, b.len);
}

/* At exit, stack_verify's totals. */
__attribute__((destructor)) static void verify_at_exit(void)
{
	stack_verify_report();
}

uint32_t stack_count(void)
{
	/* acquire: pairs with the release in insert */
	return atomic_load_acq(&count);
}

const struct ringfile_stack_entry *stack_get(uint32_t id)
{
	/* relaxed: only bounds; the caller read stack_count first */
	HS_ASSERT(id >= 1 && id <= atomic_load_rlx(&count));
	return by_id[id];
}

int stack_rehome(void)
{
	uint32_t n = atomic_load_rlx(&count); /* relaxed: one thread after fork */

	int rc = 0;

	spin_reset(&insert_lock);
	spin_lock(&insert_lock);
	seg_next = seg_end = NULL;
	seg_cur = NULL;
	nsegs = 0; /* the old segments are the parent's file's */
	for (uint32_t id = 1; id <= n; id++) {
		const struct ringfile_stack_entry *old = by_id[id];
		size_t bytes = sizeof(*old) + old->depth * sizeof(uint64_t);
		struct ringfile_stack_entry *e = entry_alloc(bytes);
		if (!e) {
			rc = -1;
			break;
		}
		memcpy(e, old, bytes);
		by_id[id] = e;
	}
	spin_unlock(&insert_lock);
	return rc;
}

void stack_lock(void)
{
	spin_lock(&insert_lock);
}

void stack_unlock(void)
{
	spin_unlock(&insert_lock);
}

void stack_reset(void)
{
	struct stack_index *x = atomic_load_rlx(&index_now); /* relaxed: no other user */

	for (uint32_t i = 0; i < nsegs; i++)
		munmap(segs[i], segs[i]->seg.bytes);
	nsegs = 0;
	seg_next = seg_end = NULL;
	seg_cur = NULL;
	memset(x->slots, 0, (x->mask + 1) * sizeof(x->slots[0]));
	x->used = 0;
	/* relaxed: no thread captures stacks now (see stack.h) */
	atomic_store_rlx(&count, 0);
	atomic_store_rlx(&epochs, 0); /* relaxed: as above */
	unwind_forget_ids(); /* the memos and trace caches remember ids */
	python_forget_ids();
}
