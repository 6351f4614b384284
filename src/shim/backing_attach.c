/*
 * backing_attach.c - the backing allocator of the attach shim
 * (libheapsnap-attach.so), in place of backing.c and nestpool.c.
 * HOOK-SAFE.
 *
 * An attached process already has a heap, made by its own allocator, and
 * goes on freeing those blocks after the attach and allocating after the
 * detach: every block the program sees must belong to that allocator.  So
 * the program's blocks, nested calls (a signal handler, libunwind) included,
 * go to the functions the process's global scope binds malloc, free, ... to
 * (glibc's, or an allocator the program preloads), as allocator=system does
 * for `heapsnap run`.
 *
 * The shim's own memory (heap model, trace buffers, control records) comes
 * from a small allocator of its own over arena_map_mmap, never from the
 * program's heap.  jemalloc is not linked in: its 2.6 KiB of initial-exec
 * thread data does not fit the static TLS that glibc keeps free for
 * libraries loaded by dlopen (glibc.rtld.optional_static_tls, 512 bytes),
 * and dlopen fails with "cannot allocate memory in static TLS block".
 *
 * The shim's blocks are told from the program's by address
 * (backing_is_private: arena_map_contains), for hooks.c's internal paths.
 */
#define _GNU_SOURCE
#include "shim/backing.h"

#include <string.h>

#include "shim/arena_map.h"
#include "shim/nestpool.h"
#include "shim/spin.h"
#include "util/assert.h"
#include "util/compiler.h"
#define HS_HOOKSAFE_ALLOCATOR /* it forwards to the program's allocator, by these names */
#include "util/hooksafe.h"

static struct backing_orig orig; /* set by backing_attach_use */

int backing_attach_use(const struct backing_orig *o)
{
	if (!o->malloc || !o->calloc || !o->realloc || !o->free || !o->posix_memalign || !o->malloc_usable_size)
		return -1;
	orig = *o;
	return 0;
}

/* The preload shim's choice does not apply: attach always forwards, to
 * the allocator backing_attach_use found, which is also what it would
 * step aside to. */
void backing_resolve(void)
{
}

void backing_init(bool system)
{
	(void)system;
}

int backing_step_aside(void)
{
	return 0;
}

int backing_is_system(void)
{
	return 1;
}

int backing_unknown_heap(void)
{
	return 1;
}

void *backing_malloc(size_t n)
{
	return orig.malloc(n);
}

void *backing_calloc(size_t n)
{
	return orig.calloc(1, n);
}

void *backing_aligned(size_t align, size_t n)
{
	void *p = NULL;

	if (align < sizeof(void *))
		align = sizeof(void *);
	return orig.posix_memalign(&p, align, n) ? NULL : p;
}

void *backing_realloc(void *p, size_t n)
{
	return orig.realloc(p, n);
}

void backing_free(void *p)
{
	orig.free(p);
}

void backing_free_sized(void *p, size_t n)
{
	(void)n;
	orig.free(p);
}

static size_t private_size(const void *p);

size_t backing_usable_size(void *p)
{
	return arena_map_contains((uintptr_t)p) ? private_size(p) : orig.malloc_usable_size(p);
}

/* The program's own allocator keeps its free pages as it likes. */
void backing_trim_peak(void (*between)(void))
{
	(void)between;
}

int backing_is_private(const void *p)
{
	return arena_map_contains((uintptr_t)p);
}

size_t backing_iusable_size(void *p)
{
	return private_size(p);
}

static void *backing_izalloc(size_t n)
{
	void *p = backing_ialloc(n);

	if (p)
		memset(p, 0, n);
	return p;
}

const struct hs_allocator backing_private = {backing_izalloc, backing_irealloc, backing_ifree};

/* ---- nested calls ------------------------------------------------------------ */

/*
 * A nested call (a signal handler that allocates inside a hook, libunwind
 * while the hook unwinds) goes to the program's allocator too: a pool
 * block would outlive the detach, and the program would then give it to
 * free.  The hooks call their allocator only outside their own bookkeeping,
 * so a nested call reaches it re-entrantly exactly when the program's own
 * call would have: a handler that interrupts malloc itself.
 */
void *nestpool_alloc(size_t n, size_t align)
{
	void *p = align > 16 ? backing_aligned(align, n) : backing_malloc(n);

	if (p)
		memset(p, 0, n);
	return p;
}

/* No pool: nestpool_owns says no to every block. */
_Atomic(char *) nestpool_base;

void nestpool_free(void *p)
{
	backing_free(p); /* never called: nestpool_owns says no */
}

size_t nestpool_size(const void *p)
{
	(void)p;
	return 0;
}

/* ---- the shim's own memory ---------------------------------------------------- */

/*
 * Power-of-two size classes from 16 bytes to 64 KiB, carved from 1 MiB
 * chunks and kept on free lists; bigger requests get a mapping of their
 * own.  Each block has a 16-byte header: its class, or its mapping's size.
 * The lock is never held across a system call.  Callers are the collector
 * and the control thread, and program threads for the rare control record
 * (dlclose, a snapshot): no hot path.
 */
#define CLASS_MIN_SHIFT 4
#define CLASS_MAX_SHIFT 16
#define NCLASSES (CLASS_MAX_SHIFT - CLASS_MIN_SHIFT + 1)
#define CHUNK_BYTES (1u << 20)
#define HDR 16
#define LARGE_TAG 0xffffffffu

struct hdr {
	uint32_t cls;	  /* size class, or LARGE_TAG */
	uint32_t unused;
	uint64_t map_len; /* LARGE_TAG: bytes mapped, header included */
};

struct free_block {
	struct free_block *next;
};

static struct spin ilock;
static struct free_block *free_list[NCLASSES];
static char *chunk_next, *chunk_end; /* uncarved part of the current chunk */

static unsigned class_of(size_t n)
{
	unsigned c = 0;

	while (((size_t)1 << (c + CLASS_MIN_SHIFT)) < n)
		c++;
	return c;
}

static size_t class_bytes(unsigned c)
{
	return (size_t)1 << (c + CLASS_MIN_SHIFT);
}

static size_t private_size(const void *p)
{
	const struct hdr *h = (const struct hdr *)((const char *)p - HDR);

	return h->cls == LARGE_TAG ? h->map_len - HDR : class_bytes(h->cls);
}

/* Take a block of class c from its list or the current chunk; NULL when
 * the chunk is spent.  Caller holds ilock. */
static struct hdr *take_locked(unsigned c)
{
	struct free_block *f = free_list[c];

	HS_ASSERT(spin_holding(&ilock) && c < NCLASSES);
	if (f) {
		free_list[c] = f->next;
		return (struct hdr *)((char *)f - HDR);
	}
	size_t need = HDR + class_bytes(c);
	if ((size_t)(chunk_end - chunk_next) < need)
		return NULL;
	struct hdr *h = (struct hdr *)chunk_next;
	chunk_next += need;
	return h;
}

static void *small_alloc(unsigned c)
{
	spin_lock(&ilock);
	struct hdr *h = take_locked(c);
	spin_unlock(&ilock);
	if (!h) {
		/* a new chunk, mapped outside the lock; what was left of the
		 * old one (less than one block of this class) is not used */
		char *fresh = arena_map_mmap(CHUNK_BYTES);
		if (!fresh)
			return NULL;
		spin_lock(&ilock);
		chunk_next = fresh;
		chunk_end = fresh + CHUNK_BYTES;
		h = take_locked(c);
		spin_unlock(&ilock);
		if (!h)
			return NULL;
	}
	h->cls = c;
	return (char *)h + HDR;
}

void *backing_ialloc(size_t n)
{
	if (n <= class_bytes(NCLASSES - 1))
		return small_alloc(class_of(n ? n : 1));
	size_t len = (n + HDR + 4095) & ~(size_t)4095;
	if (len < n)
		return NULL;
	struct hdr *h = arena_map_mmap(len);
	if (!h)
		return NULL;
	h->cls = LARGE_TAG;
	h->map_len = len;
	return (char *)h + HDR;
}

static void private_free(void *p)
{
	struct hdr *h = (struct hdr *)((char *)p - HDR);

	HS_ASSERT(arena_map_contains((uintptr_t)p) && (h->cls == LARGE_TAG || h->cls < NCLASSES));
	if (h->cls == LARGE_TAG) {
		arena_map_munmap(h, h->map_len);
		return;
	}
	struct free_block *f = p;
	spin_lock(&ilock);
	f->next = free_list[h->cls];
	free_list[h->cls] = f;
	spin_unlock(&ilock);
}

void backing_ifree(void *p)
{
	if (!p)
		return;
	if (arena_map_contains((uintptr_t)p))
		private_free(p);
	else
		orig.free(p); /* the program's allocator gave it out */
}

void *backing_irealloc(void *p, size_t n)
{
	if (!p)
		return backing_ialloc(n);
	if (!arena_map_contains((uintptr_t)p))
		return orig.realloc(p, n);
	size_t have = private_size(p);
	if (n <= have && (n > have / 2 || have <= class_bytes(0)))
		return p;
	void *q = backing_ialloc(n);
	if (q) {
		memcpy(q, p, n < have ? n : have);
		private_free(p);
	}
	return q;
}
