/*
 * hooks.c - the C allocation family: malloc calloc realloc reallocarray free
 * posix_memalign aligned_alloc memalign valloc pvalloc malloc_usable_size.
 * HOOK-SAFE.
 *
 * Every entry point reads the thread's state first (tls.h).  The fast path
 * is: not nested, thread active, shim on, not disabled.  Then:
 *   allocation:  backing allocator -> stack -> timestamp -> ring
 *   free:        timestamp -> ring -> backing allocator
 * so that the record of a free always precedes any reuse of the address.
 * Anything else goes to the slow path, which forwards and records without
 * a stack where that is safe (see hook_nested).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "shim/backing.h"
#include "shim/clock.h"
#include "shim/event.h"
#include "shim/hooks.h"
#include "shim/nestpool.h"
#include "shim/shim.h"
#include "shim/stack.h"
#include "shim/unwind.h"
#include "trace/format.h"
#define HS_HOOKSAFE_ALLOCATOR /* it defines them */
#include "util/hooksafe.h"

#define PAGE 4096

/* Serve an allocation of the given kind from the backing allocator. */
HS_INLINE void *backing_for(uint8_t kind, size_t n, size_t align)
{
	if (kind == HST_EV_CALLOC)
		return backing_calloc(n);
	if (align)
		return backing_aligned(align, n);
	return backing_malloc(n);
}

/* Is the thread on the fast path?  Starts the shim and the thread's ring
 * on their first call.  Not inside a Python domain call (py_inner): its
 * block is recorded by the domain's wrapper. */
HS_INLINE int hook_fast(struct tls_state *t)
{
	if (HS_LIKELY(t->state == TS_ACTIVE && !t->depth && !t->py_inner && shim_on()))
		return 1;
	if (t->state == TS_UNINIT && !t->depth && !t->py_inner) {
		t->depth = 1;
		if (shim_init() == PHASE_ON)
			shim_thread_start(t);
		t->depth = 0;
		return t->state == TS_ACTIVE && shim_on();
	}
	return 0;
}

/*
 * May a call that is not on the fast path still be recorded (without a
 * stack)?  Yes for a nested call (a signal handler that allocates while
 * this thread is inside the shim) unless a ring write is in progress, and
 * for threads past their exit (TS_DEAD, orphan ring).  Never for internal
 * threads or when the shim is off.
 */
HS_INLINE int hook_nested_records(struct tls_state *t)
{
	if (!shim_on() || t->state == TS_INTERNAL || t->state == TS_UNINIT)
		return 0;
	if (t->in_ring) {
		collector_count_drop();
		return 0;
	}
	return 1;
}

/* Release what nested calls freed while this thread was inside the
 * allocator: it is done with it now. */
static HS_NOINLINE void release_deferred(struct tls_state *t)
{
	while (t->ndeferred) {
		void *p = t->deferred[--t->ndeferred];
		backing_free(p);
	}
}

/* Leave the shim (depth back to 0). */
HS_INLINE void hook_leave(struct tls_state *t)
{
	t->depth = 0;
	if (HS_UNLIKELY(t->ndeferred))
		release_deferred(t);
}

/* Record a realloc that moved or resized p to q (n bytes): two records
 * committed together, stamped when q was obtained. */
HS_INLINE void record_realloc(struct tls_state *t, uint8_t kind, void *p, void *q, size_t n, uint32_t stack)
{
	uint64_t now = clock_event_ns();
	struct ring_rec recs[2] = {
		ring_rec_make(now, (uint64_t)(uintptr_t)p, kind, RING_REC_OLD, 0, 0),
		ring_rec_make(now, (uint64_t)(uintptr_t)q, kind, 0, n, stack),
	};
	event_push(t, recs, 2);
}

/*
 * An internal thread frees or reallocates a block that is not the shim's:
 * code the shim called (glibc's dlsym, pthread_join) released one of the
 * program's blocks.  It is the program's call: recorded, without a stack,
 * and served by the program's allocator.  The known callers no longer do
 * this (dynsym.h, shim_resume_after_exec); this keeps any other from
 * crashing allocator=system or leaving a false leak in the trace.  In an
 * attached non-PIE program whose PLT entry is free's canonical address
 * (attach_got.c), the dynamic linker frees a joined thread's TLS through
 * it, and so through a patched slot: this path.
 */
static HS_NOINLINE void internal_frees_program_block(struct tls_state *t, uint8_t kind, void *p)
{
	t->depth++; /* a ring write, as in any hook */
	clock_order_events(); /* a thread that records no other event */
	if (shim_on() && !t->in_ring)
		event_one(t, kind, clock_event_ns(), p, 0, 0);
	t->depth--;
	backing_free(p);
}

static HS_NOINLINE void *internal_reallocs_program_block(struct tls_state *t, uint8_t kind, void *p, size_t n)
{
	void *q = n ? backing_realloc(p, n) : NULL;

	if (!n)
		backing_free(p);
	t->depth++;
	clock_order_events(); /* a thread that records no other event */
	if ((q || !n) && shim_on() && !t->in_ring)
		record_realloc(t, kind, p, q, n, 0);
	t->depth--;
	return q;
}

/* A nested call frees p: record it now, release it later (a pool block at
 * once; when the list is full, never: a leak of the shim's, not a crash). */
static void nested_free(struct tls_state *t, void *p)
{
	if (nestpool_owns(p)) {
		nestpool_free(p);
		return;
	}
	if (t->ndeferred < HS_ARRAY_SIZE(t->deferred))
		t->deferred[t->ndeferred++] = p;
}

/* Out of memory: the program sees what glibc would give it (jemalloc's
 * mallocx does not set errno). */
static HS_NOINLINE void *no_memory(void)
{
	errno = ENOMEM;
	return NULL;
}

void *hook_alloc(uint8_t kind, size_t n, size_t align, uint64_t ip, uint64_t sp, uint64_t bp)
{
	struct tls_state *t = &tls;

	if (HS_LIKELY(hook_fast(t) && !t->disabled)) {
		t->depth = 1;
		void *p = backing_for(kind, n, align);
		if (HS_LIKELY(p != 0)) {
			uint32_t stack = stack_capture(ip, sp, bp);
			event_one(t, kind, clock_event_ns(), p, n, stack);
		}
		hook_leave(t);
		return HS_LIKELY(p != 0) ? p : no_memory();
	}
	if (t->state == TS_INTERNAL) {
		void *p = backing_ialloc(n);
		if (p && kind == HST_EV_CALLOC)
			memset(p, 0, n);
		return p ? p : no_memory();
	}
	if (t->depth) {
		/* nested (a signal handler): not into jemalloc again */
		t->depth++;
		void *p = nestpool_alloc(n, align);
		if (p && !t->disabled && hook_nested_records(t))
			event_one(t, kind, clock_event_ns(), p, n, 0);
		t->depth--;
		return p ? p : no_memory();
	}
	t->depth = 1;
	void *p = backing_for(kind, n, align);
	if (p && !t->disabled && !t->py_inner && hook_nested_records(t))
		event_one(t, kind, clock_event_ns(), p, n, stack_capture(ip, sp, bp));
	hook_leave(t);
	return p ? p : no_memory();
}

/* Give p back to whoever owns it; nothing for NULL. */
HS_INLINE void release(void *p, size_t sized)
{
	if (HS_UNLIKELY(!p))
		return;
	if (HS_UNLIKELY(nestpool_owns(p)))
		nestpool_free(p);
	else if (sized)
		backing_free_sized(p, sized);
	else
		backing_free(p);
}

/*
 * free(NULL) (and operator delete of a null pointer) is recorded like any
 * other call: the counts follow the calls the program made.  Valgrind
 * does not count it, so a free count here can exceed its.
 */
void hook_free(uint8_t kind, void *p, size_t sized)
{
	struct tls_state *t = &tls;

	if (HS_LIKELY(hook_fast(t))) {
		t->depth = 1;
		event_one(t, kind, clock_event_ns(), p, 0, 0);
		release(p, sized);
		hook_leave(t);
		return;
	}
	if (t->state == TS_INTERNAL) {
		if (!p)
			return;
		if (nestpool_owns(p))
			nestpool_free(p);
		else if (HS_UNLIKELY(!backing_is_private(p)))
			internal_frees_program_block(t, kind, p);
		else
			backing_ifree(p);
		return;
	}
	if (t->depth) {
		t->depth++;
		if (hook_nested_records(t))
			event_one(t, kind, clock_event_ns(), p, 0, 0);
		if (p)
			nested_free(t, p);
		t->depth--;
		return;
	}
	t->depth = 1;
	if (!t->py_inner && hook_nested_records(t))
		event_one(t, kind, clock_event_ns(), p, 0, 0);
	release(p, sized);
	hook_leave(t);
}

/* Size of block p as far as a copy may read: its usable size, or its
 * requested size for a pool block. */
static size_t old_size(void *p)
{
	return nestpool_owns(p) ? nestpool_size(p) : backing_usable_size(p);
}

/* realloc by hand: a new block (from the pool when nested), the old
 * contents copied; the old block is for the caller to release. */
static void *move_block(void *p, size_t n, int nested)
{
	void *q = nested ? nestpool_alloc(n, 0) : backing_malloc(n);
	if (q) {
		size_t keep = old_size(p);
		memcpy(q, p, keep < n ? keep : n);
	}
	return q;
}

void *hook_realloc(uint8_t kind, void *p, size_t n, uint64_t ip, uint64_t sp, uint64_t bp)
{
	struct tls_state *t = &tls;

	if (!p)
		return hook_alloc(kind, n, 0, ip, sp, bp);
	if (t->state == TS_INTERNAL) {
		if (nestpool_owns(p)) {
			/* the shim's block now, as any internal allocation */
			void *q = backing_ialloc(n);
			if (q) {
				memcpy(q, p, nestpool_size(p) < n ? nestpool_size(p) : n);
				nestpool_free(p);
			}
			return q;
		}
		if (HS_UNLIKELY(!backing_is_private(p)))
			return internal_reallocs_program_block(t, kind, p, n);
		return backing_irealloc(p, n);
	}
	int nested = t->depth > 0;
	int fast = !nested && hook_fast(t);
	int record = fast || (!(t->py_inner && !nested) && hook_nested_records(t));
	t->depth++;
	if (n == 0) {
		/* glibc: realloc(p, 0) frees p and returns NULL */
		if (record)
			record_realloc(t, kind, p, NULL, 0, 0);
		if (nested)
			nested_free(t, p);
		else if (nestpool_owns(p))
			nestpool_free(p);
		else
			backing_free(p);
		t->depth--;
		if (!nested)
			hook_leave(t);
		return NULL;
	}
	void *q;
	if (nested || nestpool_owns(p)) {
		q = move_block(p, n, nested);
		if (q && nested)
			nested_free(t, p);
		else if (q)
			nestpool_free(p);
	} else {
		q = backing_realloc(p, n);
	}
	if (q && record && t->disabled)
		record_realloc(t, kind, p, NULL, 0, 0); /* the new block is not recorded */
	else if (q && record)
		record_realloc(t, kind, p, q, n, fast && t->depth == 1 ? stack_capture(ip, sp, bp) : 0);
	t->depth--;
	if (!nested)
		hook_leave(t);
	return q ? q : no_memory();
}

void hook_record_alloc(uint8_t kind, void *p, size_t n)
{
	struct tls_state *t = &tls;

	if (HS_LIKELY(hook_fast(t) && !t->disabled)) {
		t->depth = 1;
		uint32_t stack = stack_capture_here();
		event_one(t, kind, clock_event_ns(), p, n, stack);
		hook_leave(t);
		return;
	}
	if (t->state == TS_INTERNAL || t->disabled)
		return;
	if (t->depth) {
		t->depth++;
		if (hook_nested_records(t))
			event_one(t, kind, clock_event_ns(), p, n, 0);
		t->depth--;
		return;
	}
	t->depth = 1;
	if (hook_nested_records(t))
		event_one(t, kind, clock_event_ns(), p, n, stack_capture_here());
	hook_leave(t);
}

void hook_record_free(uint8_t kind, void *p)
{
	struct tls_state *t = &tls;

	if (HS_LIKELY(hook_fast(t))) {
		t->depth = 1;
		event_one(t, kind, clock_event_ns(), p, 0, 0);
		hook_leave(t);
		return;
	}
	if (t->state == TS_INTERNAL)
		return;
	uint8_t depth = t->depth;
	t->depth++;
	if (hook_nested_records(t))
		event_one(t, kind, clock_event_ns(), p, 0, 0);
	t->depth--;
	if (!depth)
		hook_leave(t);
}

void hook_record_realloc(uint8_t kind, void *p, void *q, size_t n)
{
	struct tls_state *t = &tls;

	if (!p) {
		hook_record_alloc(kind, q, n);
		return;
	}
	if (t->state == TS_INTERNAL)
		return;
	int nested = t->depth > 0;
	int fast = !nested && hook_fast(t);
	if (!fast && !hook_nested_records(t))
		return;
	t->depth++;
	if (t->disabled)
		record_realloc(t, kind, p, NULL, 0, 0); /* the new block is not recorded */
	else
		record_realloc(t, kind, p, q, n, fast ? stack_capture_here() : 0);
	t->depth--;
	if (!nested)
		hook_leave(t);
}

HS_EXPORT void *malloc(size_t n)
{
	return hook_alloc(HST_EV_MALLOC, n, 0, UNWIND_CALLER);
}

HS_EXPORT void free(void *p)
{
	hook_free(HST_EV_FREE, p, 0);
}

HS_EXPORT void *calloc(size_t nmemb, size_t size)
{
	size_t n;

	if (__builtin_mul_overflow(nmemb, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return hook_alloc(HST_EV_CALLOC, n, 0, UNWIND_CALLER);
}

HS_EXPORT void *realloc(void *p, size_t n)
{
	return hook_realloc(HST_EV_REALLOC, p, n, UNWIND_CALLER);
}

HS_EXPORT void *reallocarray(void *p, size_t nmemb, size_t size)
{
	size_t n;

	if (__builtin_mul_overflow(nmemb, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return hook_realloc(HST_EV_REALLOCARRAY, p, n, UNWIND_CALLER);
}

static int power_of_two(size_t a)
{
	return a && !(a & (a - 1));
}

/* Round an alignment up to a power of two, as glibc's memalign does. */
static size_t round_align(size_t a)
{
	size_t r = sizeof(void *);

	while (r < a && r < ((size_t)1 << 62))
		r <<= 1;
	return r;
}

HS_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
	if (!power_of_two(align) || align % sizeof(void *))
		return EINVAL;
	void *p = hook_alloc(HST_EV_POSIX_MEMALIGN, n, align, UNWIND_CALLER);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

HS_EXPORT void *aligned_alloc(size_t align, size_t n)
{
	if (align > ((size_t)1 << 62)) {
		errno = EINVAL;
		return NULL;
	}
	return hook_alloc(HST_EV_ALIGNED_ALLOC, n, round_align(align), UNWIND_CALLER);
}

HS_EXPORT void *memalign(size_t align, size_t n)
{
	if (align > ((size_t)1 << 62)) {
		errno = EINVAL;
		return NULL;
	}
	return hook_alloc(HST_EV_MEMALIGN, n, round_align(align), UNWIND_CALLER);
}

HS_EXPORT void *valloc(size_t n)
{
	return hook_alloc(HST_EV_VALLOC, n, PAGE, UNWIND_CALLER);
}

HS_EXPORT void *pvalloc(size_t n)
{
	size_t rounded = (n + PAGE - 1) & ~(size_t)(PAGE - 1);

	if (rounded < n) {
		errno = ENOMEM;
		return NULL;
	}
	return hook_alloc(HST_EV_PVALLOC, rounded ? rounded : PAGE, PAGE, UNWIND_CALLER);
}

HS_EXPORT size_t malloc_usable_size(void *p)
{
	struct tls_state *t = &tls;

	if (p && nestpool_owns(p))
		return nestpool_size(p);
	if (p && t->state == TS_INTERNAL && backing_is_private(p))
		return backing_iusable_size(p);
	if (hook_fast(t)) { /* NULL too: a call the program made */
		t->depth = 1;
		event_one(t, HST_EV_USABLE_SIZE, clock_event_ns(), p, 0, 0);
		hook_leave(t);
	}
	return p ? backing_usable_size(p) : 0;
}

#ifdef HS_ATTACH
const struct hook_name hooks_c_names[] = {
	{"free", (void *)free},
	{"malloc", (void *)malloc},
	{"calloc", (void *)calloc},
	{"realloc", (void *)realloc},
	{"reallocarray", (void *)reallocarray},
	{"posix_memalign", (void *)posix_memalign},
	{"aligned_alloc", (void *)aligned_alloc},
	{"memalign", (void *)memalign},
	{"valloc", (void *)valloc},
	{"pvalloc", (void *)pvalloc},
	{"malloc_usable_size", (void *)malloc_usable_size},
};
const unsigned hooks_c_count = HS_ARRAY_SIZE(hooks_c_names);
#endif
