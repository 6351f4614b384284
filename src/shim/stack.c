/*
 * stack.c - stack capture and interning.
 * HOOK-SAFE.
 */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include "shim/stack.h"

#include <libunwind.h>
#include <string.h>
#include <sys/mman.h>

#include "shim/arena_map.h"
#include "shim/options.h"
#include "shim/ringfile.h"
#include "shim/spin.h"
#include "util/atomic.h"
#include "util/compiler.h"
#include "util/hooksafe.h"

#define STACK_ID_MAX (1u << 24)	       /* ids; by_id is reserved, not touched */
#define STACK_SEG_BYTES (1u << 20)     /* entries segment of the ring file */
#define SKIP_SLACK 8		       /* extra frames unwound for the shim's own */

/* Open-addressing index: slot = hash32 << 32 | id, 0 = empty. */
struct stack_index {
	uint64_t mask;		  /* slots - 1 */
	uint64_t used;		  /* filled slots (writers only) */
	_Atomic uint64_t slots[]; /* slots */
};

static _Atomic(struct stack_index *) index_now;
static struct ringfile_stack_entry **by_id; /* id -> entry, reserved mapping */
static _Atomic uint32_t count;		    /* ids 1..count are complete */
static struct spin insert_lock;
static char *seg_next, *seg_end; /* free space in the current entries segment */
static struct ringfile_stacks *seg_cur;
static uint32_t frames_max;
static uintptr_t self_lo, self_hi;

/* The table's memory is the shim's: noted as not a root for the scan. */
static void *map_anon(size_t bytes)
{
	return arena_map_mmap(bytes);
}

static struct stack_index *index_new(uint64_t slots)
{
	struct stack_index *x = map_anon(sizeof(*x) + slots * sizeof(uint64_t));
	if (x)
		x->mask = slots - 1;
	return x;
}

int stack_init(uint32_t max_frames, uintptr_t skip_lo, uintptr_t skip_hi)
{
	frames_max = max_frames;
	self_lo = skip_lo;
	self_hi = skip_hi;
	by_id = map_anon(STACK_ID_MAX * sizeof(*by_id));
	struct stack_index *x = index_new(4096);
	if (!by_id || !x)
		return -1;
	/* release: publish the empty index */
	atomic_store_rel(&index_now, x);
	unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
	return 0;
}

static uint64_t hash_ips(void *const *ips, unsigned n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n;

	for (unsigned i = 0; i < n; i++) {
		h ^= (uint64_t)(uintptr_t)ips[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	return h | 1; /* never 0 in the top half together with id 0 */
}

static bool entry_equals(const struct ringfile_stack_entry *e, void *const *ips, unsigned n)
{
	return e->depth == n && !memcmp(e->ips, ips, n * sizeof(uint64_t));
}

/* Find ips in index x; return the id or 0. */
static uint32_t index_find(struct stack_index *x, uint64_t h, void *const *ips, unsigned n)
{
	uint32_t tag = (uint32_t)(h >> 32);

	for (uint64_t i = h & x->mask;; i = (i + 1) & x->mask) {
		/* acquire: pairs with the release in index_put; the entry the
		 * slot names is complete */
		uint64_t s = atomic_load_acq(&x->slots[i]);
		if (!s)
			return 0;
		uint32_t id = (uint32_t)s;
		if ((uint32_t)(s >> 32) == tag && entry_equals(by_id[id], ips, n))
			return id;
	}
}

/* Put (h, id) into x.  Caller holds insert_lock (or is the only thread). */
static void index_put(struct stack_index *x, uint64_t h, uint32_t id)
{
	uint64_t i = h & x->mask;

	HS_ASSERT(spin_holding(&insert_lock));
	/* relaxed: only writers (serialized by the lock) change slots */
	while (atomic_load_rlx(&x->slots[i]))
		i = (i + 1) & x->mask;
	/* release: by_id[id] and the entry are visible before the slot */
	atomic_store_rel(&x->slots[i], (h & 0xffffffff00000000ull) | id);
	x->used++;
}

/* Double the index when half full.  Caller holds insert_lock.  The old
 * index is left mapped: a lock-free reader may still be walking it. */
static void index_grow(void)
{
	struct stack_index *old = atomic_load_rlx(&index_now); /* relaxed: lock held */

	HS_ASSERT(spin_holding(&insert_lock));
	if (old->used * 2 < old->mask + 1)
		return;
	struct stack_index *x = index_new((old->mask + 1) * 2);
	if (!x)
		return;
	for (uint32_t id = 1; id <= atomic_load_rlx(&count); id++) {
		const struct ringfile_stack_entry *e = by_id[id];
		index_put(x, hash_ips((void *const *)e->ips, e->depth), id);
	}
	/* release: readers that load the new index see all its slots */
	atomic_store_rel(&index_now, x);
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
		seg_next = (char *)s + RINGFILE_STACKS_DATA_OFFSET;
		seg_end = (char *)s + s->seg.bytes;
	}
	struct ringfile_stack_entry *e = (void *)seg_next;
	seg_next += bytes;
	/* release: a reader of the file sees used cover a reserved entry */
	atomic_store_rel(&seg_cur->used, (uint64_t)(seg_next - (char *)seg_cur) - RINGFILE_STACKS_DATA_OFFSET);
	return e;
}

/* Add ips under the lock (or find it, if another thread just did). */
static uint32_t insert(uint64_t h, void *const *ips, unsigned n)
{
	uint32_t id;

	spin_lock(&insert_lock);
	struct stack_index *x = atomic_load_rlx(&index_now); /* relaxed: lock held */
	id = index_find(x, h, ips, n);
	if (id)
		goto out;
	id = atomic_load_rlx(&count) + 1; /* relaxed: lock held */
	if (id >= STACK_ID_MAX) {
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

HS_NOINLINE uint32_t stack_capture(void)
{
	void *ips[OPT_MAX_FRAMES_LIMIT + SKIP_SLACK];

	/* The hook's guard is held (libunwind's own allocations come back as
	 * nested calls), and no lock of ours: the unwinder is a call out. */
	HS_ASSERT(tls.depth > 0);
	HS_ASSERT(spin_none_held());
	int n = unw_backtrace(ips, (int)(frames_max + SKIP_SLACK));
	int skip = 0;

	while (skip < n && (uintptr_t)ips[skip] >= self_lo && (uintptr_t)ips[skip] < self_hi)
		skip++;
	n -= skip;
	if (n <= 0)
		return 0;
	if ((unsigned)n > frames_max)
		n = (int)frames_max;
	void *const *frames = ips + skip;
	uint64_t h = hash_ips(frames, (unsigned)n);
	/* acquire: pairs with the release in stack_init / index_grow */
	uint32_t id = index_find(atomic_load_acq(&index_now), h, frames, (unsigned)n);
	return id ? id : insert(h, frames, (unsigned)n);
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
