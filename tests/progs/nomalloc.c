/* Description: the program brings its own malloc family, defined in the
 * executable itself, which comes before the preloaded shim in symbol
 * lookup: every allocation of the process (libc's, the loader's, the
 * program's) enters here first.  Each call forwards to the next
 * definition, the shim's hook, and notes on its thread that a hook is in
 * progress; a call that arrives while one is, on the same thread, is the
 * hook allocating from the traced heap (libunwind, libc, the shim's own
 * code): it prints what was called and aborts.  Signal handlers that
 * allocate would be legitimate nested calls, so none is installed.
 * (libunwind's tests/Gtest-nomalloc.c does the same for unw_backtrace.)
 *
 * The program calls every entry point of the C family, from the main
 * thread and from 4 threads (each thread's first call takes the shim's
 * slow path: its ring), with blocks that need new stacks and reallocs that
 * move, and prints "nomalloc: N calls through the shim" on success; the
 * integration test checks the trace has those calls.  Without the shim it
 * runs the same against libc. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NTHREADS 4
#define ROUNDS 200

/* The next definitions: the shim's (or libc's without it). */
static void *(*next_malloc)(size_t);
static void *(*next_calloc)(size_t, size_t);
static void *(*next_realloc)(void *, size_t);
static void (*next_free)(void *);
static int (*next_posix_memalign)(void **, size_t, size_t);
static void *(*next_aligned_alloc)(size_t, size_t);
static void *(*next_memalign)(size_t, size_t);
static void *(*next_valloc)(size_t);
static void *(*next_pvalloc)(size_t);
static size_t (*next_usable)(void *);

static __thread int in_hook;	 /* a forwarded call is in progress */
static __thread int resolving;	 /* dlsym is running on this thread */
static unsigned long forwarded;	 /* calls forwarded (atomically counted) */

/* dlsym allocates (dlerror's buffer): served from here, never freed. */
static _Alignas(16) char boot[16384];
static size_t boot_used;

static int in_boot(const void *p)
{
	return (const char *)p >= boot && (const char *)p < boot + sizeof(boot);
}

static void *boot_alloc(size_t n)
{
	size_t off = __atomic_fetch_add(&boot_used, (n + 15) & ~(size_t)15, __ATOMIC_RELAXED);
	return off + n <= sizeof(boot) ? boot + off : NULL;
}

/* Report a call made from inside a hook, and stop. */
static void inside(const char *what)
{
	static const char msg[] = "nomalloc: FAIL: the shim called ";
	(void)!write(2, msg, sizeof(msg) - 1);
	(void)!write(2, what, strlen(what));
	(void)!write(2, " from inside a hook\n", 20);
	abort();
}

static void resolve(void)
{
	if (next_usable)
		return;
	resolving = 1;
	next_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
	next_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
	next_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	next_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	next_posix_memalign = (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
	next_aligned_alloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "aligned_alloc");
	next_memalign = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "memalign");
	next_valloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "valloc");
	next_pvalloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "pvalloc");
	next_usable = (size_t(*)(void *))dlsym(RTLD_NEXT, "malloc_usable_size");
	resolving = 0;
	if (!next_malloc || !next_calloc || !next_realloc || !next_free || !next_posix_memalign ||
	    !next_aligned_alloc || !next_memalign || !next_valloc || !next_pvalloc || !next_usable) {
		(void)!write(2, "nomalloc: cannot find the next allocator\n", 41);
		abort();
	}
}

/* Enter a forwarded call: resolve first, and fail if one is in progress. */
#define ENTER(name)                        \
	do {                               \
		if (in_hook)               \
			inside(name);      \
		resolve();                 \
		in_hook = 1;               \
		__atomic_fetch_add(&forwarded, 1, __ATOMIC_RELAXED); \
	} while (0)
#define LEAVE() (in_hook = 0)

void *malloc(size_t n)
{
	if (resolving)
		return boot_alloc(n);
	ENTER("malloc");
	void *p = next_malloc(n);
	LEAVE();
	return p;
}

void *calloc(size_t a, size_t b)
{
	if (resolving)
		return boot_alloc(a * b); /* the pool is zero */
	ENTER("calloc");
	void *p = next_calloc(a, b);
	LEAVE();
	return p;
}

void *realloc(void *p, size_t n)
{
	if (in_boot(p)) {
		void *q = malloc(n);
		if (q)
			memcpy(q, p, n < 256 ? n : 256); /* a boot block: at most what dlsym asked */
		return q;
	}
	ENTER("realloc");
	void *q = next_realloc(p, n);
	LEAVE();
	return q;
}

void free(void *p)
{
	if (!p || in_boot(p))
		return;
	ENTER("free");
	next_free(p);
	LEAVE();
}

int posix_memalign(void **out, size_t align, size_t n)
{
	ENTER("posix_memalign");
	int rc = next_posix_memalign(out, align, n);
	LEAVE();
	return rc;
}

void *aligned_alloc(size_t align, size_t n)
{
	ENTER("aligned_alloc");
	void *p = next_aligned_alloc(align, n);
	LEAVE();
	return p;
}

void *memalign(size_t align, size_t n)
{
	ENTER("memalign");
	void *p = next_memalign(align, n);
	LEAVE();
	return p;
}

void *valloc(size_t n)
{
	ENTER("valloc");
	void *p = next_valloc(n);
	LEAVE();
	return p;
}

void *pvalloc(size_t n)
{
	ENTER("pvalloc");
	void *p = next_pvalloc(n);
	LEAVE();
	return p;
}

size_t malloc_usable_size(void *p)
{
	if (in_boot(p))
		return 0;
	ENTER("malloc_usable_size");
	size_t n = next_usable(p);
	LEAVE();
	return n;
}

/* Different call sites make different stacks: new ones are interned (the
 * shim's slow path), then found. */
static __attribute__((noinline)) void *site(int which, size_t n)
{
	switch (which % 3) {
	case 0:
		return malloc(n);
	case 1:
		return calloc(1, n);
	default:
		return realloc(NULL, n);
	}
}

/* Every entry point, and reallocs that grow a block until it moves. */
static void *work(void *arg)
{
	uintptr_t id = (uintptr_t)arg;

	for (int i = 0; i < ROUNDS; i++) {
		void *a = site(i + (int)id, 16 + (size_t)i);
		void *b = NULL;
		if (posix_memalign(&b, 64, 100))
			b = NULL;
		void *c = aligned_alloc(32, 64);
		void *d = memalign(128, 300);
		void *e = valloc(10);
		void *f = pvalloc(10);
		if (!a || !b || !c || !d || !e || !f || malloc_usable_size(a) < 16 + (size_t)i)
			return (void *)1;
		for (size_t n = 32; n < 65536; n *= 4)
			a = realloc(a, n);
		free(a);
		free(b);
		free(c);
		free(d);
		free(e);
		free(f);
	}
	return NULL;
}

int main(void)
{
	pthread_t th[NTHREADS];
	void *rc = NULL;

	if (work((void *)0))
		return 1;
	for (uintptr_t i = 0; i < NTHREADS; i++)
		if (pthread_create(&th[i], NULL, work, (void *)(i + 1)))
			return 1;
	for (int i = 0; i < NTHREADS; i++) {
		void *r;
		pthread_join(th[i], &r);
		rc = r ? r : rc;
	}
	if (rc)
		return 1;
	printf("nomalloc: %lu calls through the shim\n", __atomic_load_n(&forwarded, __ATOMIC_RELAXED));
	return 0;
}
