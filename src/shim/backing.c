/*
 * backing.c - forward the program's blocks to jemalloc or the system
 * allocator, and serve the shim's own memory from a private jemalloc arena.
 * HOOK-SAFE.
 */
#define _GNU_SOURCE
#include "shim/backing.h"

#include <dlfcn.h>
#include <jemalloc/jemalloc.h>

/* The shim links jemalloc in statically with its public names prefixed
 * (Makefile, src/shim/jemalloc.syms): call them by those names. */
void *hsje_mallocx(size_t size, int flags);
void *hsje_rallocx(void *ptr, size_t size, int flags);
void hsje_dallocx(void *ptr, int flags);
void hsje_sdallocx(void *ptr, size_t size, int flags);
size_t hsje_sallocx(const void *ptr, int flags);
int hsje_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
#define mallocx hsje_mallocx
#define rallocx hsje_rallocx
#define dallocx hsje_dallocx
#define sdallocx hsje_sdallocx
#define sallocx hsje_sallocx
#define mallctl hsje_mallctl
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "shim/arena_map.h"
#include "shim/log.h"
#include "util/atomic.h"
#include "util/compiler.h"

struct sys_alloc {
	void *(*malloc)(size_t);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void (*free)(void *);
	int (*posix_memalign)(void **, size_t, size_t);
	size_t (*malloc_usable_size)(void *);
};

enum backing_mode { MODE_JEMALLOC = 0, MODE_SYSTEM, MODE_BOOT };
static enum backing_mode mode; /* set once by backing_init */
static struct sys_alloc sys;
static unsigned private_arena; /* 0 until created; arena 0 is never ours */
static int private_flags;      /* mallocx flags for the private arena */

/*
 * dlsym() allocates (glibc's dlerror machinery calls calloc) while we
 * resolve the system allocator, before we can forward anything.  Those few
 * blocks come from this pool and are never freed.  See libunwind's
 * tests/Ltest-nocalloc.c for the same trap.
 */
static _Alignas(64) char boot_pool[64 * 1024];
static _Atomic size_t boot_used;

static void *boot_alloc(size_t n)
{
	n = (n + 63) & ~(size_t)63;
	/* relaxed: the pool is used by one thread during init */
	size_t off = atomic_fetch_add_rlx(&boot_used, n);
	if (off + n > sizeof(boot_pool))
		return NULL;
	return boot_pool + off;
}

static bool in_boot_pool(const void *p)
{
	return (const char *)p >= boot_pool && (const char *)p < boot_pool + sizeof(boot_pool);
}

static void create_private_arena(void)
{
	unsigned arena;
	size_t sz = sizeof(arena);

	if (mallctl("arenas.create", &arena, &sz, NULL, 0) == 0) {
		private_arena = arena;
		private_flags = (int)MALLOCX_ARENA(arena) | MALLOCX_TCACHE_NONE;
	} else {
		private_flags = MALLOCX_TCACHE_NONE;
	}
}

void backing_init(bool system)
{
	create_private_arena();
	if (!system)
		return;
	mode = MODE_BOOT;
	sys.malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
	sys.calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
	sys.realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	sys.free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	sys.posix_memalign = (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
	sys.malloc_usable_size = (size_t(*)(void *))dlsym(RTLD_NEXT, "malloc_usable_size");
	if (!sys.malloc || !sys.calloc || !sys.realloc || !sys.free || !sys.posix_memalign ||
	    !sys.malloc_usable_size) {
		log_warn("allocator=system: the next allocator was not found, using jemalloc", 0, 0);
		mode = MODE_JEMALLOC;
		return;
	}
	mode = MODE_SYSTEM;
}

int backing_is_system(void)
{
	return mode == MODE_SYSTEM;
}

void *backing_malloc(size_t n)
{
	if (HS_LIKELY(mode == MODE_JEMALLOC))
		return mallocx(n ? n : 1, 0);
	return mode == MODE_SYSTEM ? sys.malloc(n) : boot_alloc(n);
}

void *backing_calloc(size_t n)
{
	if (HS_LIKELY(mode == MODE_JEMALLOC))
		return mallocx(n ? n : 1, MALLOCX_ZERO);
	return mode == MODE_SYSTEM ? sys.calloc(1, n) : boot_alloc(n); /* pool is zeroed */
}

void *backing_aligned(size_t align, size_t n)
{
	if (HS_UNLIKELY(mode == MODE_BOOT))
		return align <= 64 ? boot_alloc(n) : NULL;
	if (mode == MODE_SYSTEM) {
		void *p = NULL;
		if (align < sizeof(void *))
			align = sizeof(void *);
		return sys.posix_memalign(&p, align, n) ? NULL : p;
	}
	return mallocx(n ? n : 1, MALLOCX_ALIGN(align));
}

void *backing_realloc(void *p, size_t n)
{
	if (HS_UNLIKELY(in_boot_pool(p) || mode == MODE_BOOT)) {
		/* a boot block's size is unknown: copy what the pool can hold */
		void *q = backing_malloc(n);
		if (q && in_boot_pool(p)) {
			size_t room = (size_t)(boot_pool + sizeof(boot_pool) - (char *)p);
			memcpy(q, p, n < room ? n : room);
		}
		return q;
	}
	if (mode == MODE_SYSTEM)
		return sys.realloc(p, n);
	return rallocx(p, n, 0);
}

/*
 * allocator=system: a block from the shim's private arena can still come
 * back here, when glibc frees state it allocated while a thread ran shim
 * code (pthread_atfork's list, freed by __libc_freeres): it goes back to
 * jemalloc.
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
	if (HS_UNLIKELY(in_boot_pool(p)))
		return;
	if (HS_LIKELY(mode == MODE_JEMALLOC))
		dallocx(p, 0);
	else
		system_free(p);
}

void backing_free_sized(void *p, size_t n)
{
	if (HS_UNLIKELY(in_boot_pool(p)))
		return;
	if (HS_LIKELY(mode == MODE_JEMALLOC))
		sdallocx(p, n ? n : 1, 0);
	else
		system_free(p);
}

size_t backing_usable_size(void *p)
{
	if (in_boot_pool(p))
		return 0;
	if (mode == MODE_SYSTEM)
		return sys.malloc_usable_size(p);
	return sallocx(p, 0);
}

void *backing_ialloc(size_t n)
{
	return mallocx(n ? n : 1, private_flags);
}

void *backing_irealloc(void *p, size_t n)
{
	if (!p)
		return backing_ialloc(n);
	return rallocx(p, n ? n : 1, private_flags);
}

void backing_ifree(void *p)
{
	if (p && !in_boot_pool(p))
		dallocx(p, MALLOCX_TCACHE_NONE);
}

void *backing_boot_alloc(size_t n)
{
	return boot_alloc(n);
}
