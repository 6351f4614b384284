/* Description: stacks that are hard to unwind incrementally, for the
 * stack_verify=1 test (tests/integration.sh): every allocation's stack is
 * compared with a full unwind, and must be the same.  Built with -O2 and
 * no frame pointers, so that the unwinder follows the CFI: some frames are
 * rsp-based, some rbp-based (variable-length arrays).  argv[1] picks what
 * the program does between its allocations, each at varying depths:
 *   longjmp   leaves deep call chains by longjmp, then calls again
 *   coro      switches between coroutines on their own stacks
 *             (swapcontext), then frees those stacks and makes new ones
 *   signal    allocates in a signal handler (raise and an interval timer)
 *   threads   four threads at once
 *   fork      a forked child allocates, from the stack its parent had
 *   exec      execs itself ("exec-child"), which allocates
 *   dlswap    dlopens libstacks_a.so and allocates through it, dlcloses
 *             it, dlopens libstacks_b.so (the same code, other frame
 *             sizes: tests/progs/libstacks.c) and allocates through that,
 *             and a again; prints "same_base=1" when all three were
 *             loaded at the same address
 *   deep      recursion deeper than max_frames and than the memo
 *   paths     random choices among many deep call paths (as bench's churn),
 *             so that the thread's trace cache takes over: at each depth
 *             two functions, one depth with twelve call sites (more words
 *             than a position of the cache tells apart), one with a
 *             variable-length array (CFA from rbp) of a size the path picks
 *             (several layouts)
 *   unmapped  allocates deep in a recursion on a stack of its own, unmaps
 *             that stack, maps a smaller one lower at the same addresses
 *             and allocates from frames that sit where the first one's
 *             did: the first stack's words above the second are gone (the
 *             unwinder must not read them: munmap reaches the shim)
 *   tailcall  a function that calls malloc, or tail-calls it (jmp), at the
 *             end of random deep paths: the tail call's stack is the other
 *             one's without its first frame, its first frame the very
 *             frame (pc, rsp) the other stack's second was
 * Prints "MODE ok allocations=N" (N: mallocs this process made outside
 * signal handlers). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

static _Atomic unsigned long allocations; /* outside signal handlers */
static void *volatile sink;
static volatile sig_atomic_t in_handler;

/* Keep a frame's buffer (and so the frame) alive past a call. */
static inline void keep(volatile char *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

/* malloc, counted, and freed at once. */
static void touch(size_t n)
{
	char *p = malloc(n);
	if (!in_handler)
		allocations++;
	if (p)
		p[0] = (char)n;
	sink = p;
	free(p);
}

/* Two kinds of frames: a fixed frame (CFA = rsp + k) and a variable-length
 * array (CFA = rbp + 16), alternating with the depth. */
__attribute__((noinline)) static void down_fixed(int d, size_t n);

__attribute__((noinline)) static void down_vla(int d, size_t n)
{
	volatile char buf[16 + (d & 7) * 8];
	buf[0] = (char)d;
	if (d <= 0) {
		touch(n + buf[0]);
		return;
	}
	if (d % 3 == 0)
		touch(n);
	down_fixed(d - 1, n);
	keep(buf);
}

__attribute__((noinline)) static void down_fixed(int d, size_t n)
{
	volatile char buf[48];
	buf[0] = (char)d;
	if (d <= 0) {
		touch(n);
		return;
	}
	if (d % 4 == 1)
		touch(n + 1);
	down_vla(d - 1, n);
	keep(buf);
}

/* A pattern of depths that makes consecutive stacks share some frames. */
static void wander(unsigned rounds, unsigned seed)
{
	for (unsigned i = 0; i < rounds; i++) {
		seed = seed * 1103515245u + 12345u;
		down_fixed((int)((seed >> 16) % 24), 24 + (seed >> 8) % 64);
	}
}

/* ---- longjmp -------------------------------------------------------------- */

static jmp_buf jump_back;

__attribute__((noinline)) static void dive(int d, int target)
{
	volatile char buf[40];
	buf[0] = (char)d;
	touch(32 + (size_t)d);
	if (d == target)
		longjmp(jump_back, 1);
	if (d & 1)
		down_vla(d % 5, 40);
	if (d < 100)
		dive(d + 1, target);
	keep(buf);
}

static void mode_longjmp(void)
{
	for (int i = 0; i < 800; i++) {
		if (!setjmp(jump_back))
			dive(0, (i * 7) % 37);
		touch(16);
		if (i % 3 == 0)
			wander(2, (unsigned)i);
	}
}

/* ---- coroutines ------------------------------------------------------------ */

#define CORO_N 3
#define CORO_STACK (128 * 1024)

static ucontext_t main_ctx, coro_ctx[CORO_N];
static void *coro_stack[CORO_N];
static volatile int coro_round;

static void coro_body(int id)
{
	for (;;) {
		down_fixed(id * 3 + coro_round % 5, 20 + (size_t)id);
		swapcontext(&coro_ctx[id], &main_ctx);
	}
}

__attribute__((noinline)) static void coro_body2(int id)
{
	volatile char pad[200];
	pad[0] = (char)id;
	for (;;) {
		down_vla(id + coro_round % 7, 30 + (size_t)id);
		swapcontext(&coro_ctx[id], &main_ctx);
		keep(pad);
	}
}

static void coro_start(void (*body)(int))
{
	for (int i = 0; i < CORO_N; i++) {
		coro_stack[i] = mmap(NULL, CORO_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (coro_stack[i] == MAP_FAILED)
			exit(1);
		getcontext(&coro_ctx[i]);
		coro_ctx[i].uc_stack.ss_sp = coro_stack[i];
		coro_ctx[i].uc_stack.ss_size = CORO_STACK;
		coro_ctx[i].uc_link = &main_ctx;
		makecontext(&coro_ctx[i], (void (*)(void))body, 1, i);
	}
}

static void coro_stop(void)
{
	for (int i = 0; i < CORO_N; i++)
		munmap(coro_stack[i], CORO_STACK);
}

static void mode_coro(void)
{
	for (int gen = 0; gen < 4; gen++) {
		coro_start(gen & 1 ? coro_body2 : coro_body);
		for (int r = 0; r < 600; r++) {
			coro_round = r;
			swapcontext(&main_ctx, &coro_ctx[r % CORO_N]);
			touch(8);
			if (r % 5 == 0)
				wander(1, (unsigned)r);
		}
		coro_stop();
	}
}

/* ---- signals --------------------------------------------------------------- */

static volatile sig_atomic_t handled;

/* Its allocations are not counted: one that interrupts the shim itself is
 * recorded without a stack (and so not checked). */
static void on_signal(int sig)
{
	in_handler++;
	down_vla(sig % 4 + 2, 72);
	in_handler--;
	handled++;
}

static void mode_signal(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {{0, 200}, {0, 200}};
	setitimer(ITIMER_REAL, &it, NULL);
	for (int i = 0; i < 8000; i++) {
		wander(1, (unsigned)i);
		if (i % 20 == 0)
			raise(SIGUSR1);
	}
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, NULL);
	fprintf(stderr, "signals handled: %d\n", (int)handled);
}

/* ---- threads --------------------------------------------------------------- */

static void *thread_main(void *arg)
{
	wander(6000, (unsigned)(uintptr_t)arg);
	return NULL;
}

static void mode_threads(void)
{
	pthread_t t[4];
	for (uintptr_t i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, thread_main, (void *)(i + 1));
	wander(2000, 99);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
}

/* ---- fork and exec --------------------------------------------------------- */

__attribute__((noinline)) static void fork_here(int d)
{
	if (d > 0) {
		touch(48);
		fork_here(d - 1);
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		/* the child's first stacks share frames with the parent's last */
		touch(48);
		wander(3000, 5);
		printf("fork-child ok allocations=%lu\n", allocations);
		exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		exit(1);
}

static void mode_fork(void)
{
	wander(2000, 3);
	fork_here(6);
	wander(2000, 4);
}

static void mode_exec(const char *self)
{
	wander(2000, 7);
	fflush(stdout);
	execl(self, self, "exec-child", (char *)NULL);
	perror("execl");
	exit(1);
}

/* ---- dlclose, and another library at the same address ---------------------- */

static uintptr_t load_and_work(const char *dir, const char *name, int depth)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		exit(1);
	}
	unsigned long (*work)(int, int) = (unsigned long (*)(int, int))dlsym(h, "stacks_work");
	struct link_map *lm = NULL;
	if (!work || dlinfo(h, RTLD_DI_LINKMAP, &lm)) {
		fprintf(stderr, "dlsym: %s\n", dlerror());
		exit(1);
	}
	allocations += work(depth, 500);
	uintptr_t base = lm->l_addr;
	dlclose(h);
	return base;
}

static void mode_dlswap(const char *self)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", self);
	*strrchr(dir, '/') = 0;
	uintptr_t a = load_and_work(dir, "libstacks_a.so", 9);
	uintptr_t b = load_and_work(dir, "libstacks_b.so", 9);
	uintptr_t a2 = load_and_work(dir, "libstacks_a.so", 11);
	printf("same_base=%d\n", a == b && b == a2);
}

/* ---- deep ------------------------------------------------------------------ */

__attribute__((noinline)) static void deep(int d, int at)
{
	volatile char buf[24];
	buf[0] = (char)d;
	if (d % at == 0)
		touch(64);
	if (d > 0)
		deep(d - 1, at);
	keep(buf);
}

static void mode_deep(void)
{
	for (int i = 0; i < 200; i++)
		deep(300 + i % 3, 37 + i % 5); /* deeper than the memo (256) */
	for (int i = 0; i < 500; i++)
		deep(70 + i % 9, 7);		/* deeper than max_frames (64) */
}

/* ---- paths ------------------------------------------------------------------ */

static unsigned long paths_rng = 88172645463325252ul;

static unsigned paths_next(void)
{
	paths_rng ^= paths_rng << 13;
	paths_rng ^= paths_rng >> 7;
	paths_rng ^= paths_rng << 17;
	return (unsigned)(paths_rng >> 11);
}

typedef void path_fn(unsigned, int);

__attribute__((noinline)) static void path_leaf(unsigned path, int d)
{
	touch(16 + (path & 7) * 8);
	sink = (void *)(long)d;
}

/* Depth i: two functions, each calling A or B of depth i - 1 as path's
 * bit i says (two call sites each); frames of one size, so that the
 * paths' stacks share their layout. */
#define PATH_LEVEL(i, prev)                                                     \
	__attribute__((noinline)) static void pathB_##i(unsigned path, int d); \
	__attribute__((noinline)) static void pathA_##i(unsigned path, int d)  \
	{                                                                       \
		volatile char buf[24];                                          \
		buf[0] = (char)d;                                               \
		if (path >> (i) & 1)                                            \
			pathB_##prev(path, d + 1);                              \
		else                                                            \
			pathA_##prev(path, d + 1);                              \
		keep(buf);                                                      \
	}                                                                       \
	__attribute__((noinline)) static void pathB_##i(unsigned path, int d)  \
	{                                                                       \
		volatile char buf[24];                                          \
		buf[0] = (char)d;                                               \
		if (path >> (i) & 1)                                            \
			pathA_##prev(path, d + 2);                              \
		else                                                            \
			pathB_##prev(path, d + 2);                              \
		keep(buf);                                                      \
	}

__attribute__((noinline)) static void pathA_0(unsigned path, int d)
{
	path_leaf(path, d);
	keep((volatile char *)&path);
}
__attribute__((noinline)) static void pathB_0(unsigned path, int d)
{
	path_leaf(path ^ 1, d);
	keep((volatile char *)&path);
}
PATH_LEVEL(1, 0)
PATH_LEVEL(2, 1)
PATH_LEVEL(3, 2)

/* Twelve call sites of one function: twelve words at one position. */
__attribute__((noinline)) static void path_wide(unsigned path, int d)
{
	volatile char buf[16];
	buf[0] = (char)d;
	switch ((path >> 12) % 12) {
#define PATH_CASE(k)                        \
	case k:                             \
		pathA_3(path, d + k);       \
		buf[0] = (char)(buf[0] + k); \
		break;
		PATH_CASE(0) PATH_CASE(1) PATH_CASE(2) PATH_CASE(3) PATH_CASE(4) PATH_CASE(5)
		PATH_CASE(6) PATH_CASE(7) PATH_CASE(8) PATH_CASE(9) PATH_CASE(10) PATH_CASE(11)
#undef PATH_CASE
	}
	keep(buf);
}

__attribute__((noinline)) static void pathA_4(unsigned path, int d)
{
	volatile char buf[24];
	buf[0] = (char)d;
	if ((path >> 16) % 8 == 0)
		path_wide(path, d + 1); /* an eighth of the stacks: not cacheable */
	else if (path >> 4 & 1)
		pathB_3(path, d + 1);
	else
		pathA_3(path, d + 1);
	keep(buf);
}
__attribute__((noinline)) static void pathB_4(unsigned path, int d)
{
	volatile char buf[24];
	buf[0] = (char)d;
	if (path >> 4 & 1)
		pathA_3(path, d + 2);
	else
		pathB_3(path, d + 2);
	keep(buf);
}
PATH_LEVEL(5, 4)
PATH_LEVEL(6, 5)

static unsigned paths_phase;

/* A variable-length array of one of three sizes, by phase: the frames
 * inside sit at other addresses (another layout), and their CFA comes
 * from rbp. */
__attribute__((noinline)) static void path_vla(unsigned path, int d)
{
	volatile char buf[16 + paths_phase % 3 * 32];
	buf[0] = (char)d;
	if (path >> 7 & 1)
		pathB_6(path, d + 1);
	else
		pathA_6(path, d + 1);
	keep(buf);
}
__attribute__((noinline)) static void pathA_7(unsigned path, int d)
{
	path_vla(path, d);
	keep((volatile char *)&path);
}
__attribute__((noinline)) static void pathB_7(unsigned path, int d)
{
	path_vla(path ^ 2, d + 1);
	keep((volatile char *)&path);
}

PATH_LEVEL(8, 7)
PATH_LEVEL(9, 8)


static void mode_paths(void)
{
	for (int i = 0; i < 60000; i++) {
		unsigned path = paths_next();
		paths_phase = (unsigned)i / 5000;
		if (path & 1u << 9)
			pathB_9(path, 0);
		else
			pathA_9(path, 0);
	}
}

/* ---- malloc called, or tail-called from the same frame ------------------ */

/* Calls malloc (its frame the stack's first) or jumps to it (the caller's
 * frame the first, at the pc and rsp it has while tail_alloc runs).  noipa:
 * neither inlined nor given a changed calling convention. */
__attribute__((noipa)) static void *tail_alloc(size_t n, int tail)
{
	if (tail)
		return malloc(n); /* -O2: a jmp */
	void *p = malloc(n);
	sink = p;
	return p;
}

__attribute__((noinline)) static void tail_leaf(unsigned path, int d)
{
	void *p = tail_alloc(16 + (size_t)(d & 7), (int)(path >> 11 & 1));
	allocations++;
	sink = p;
	free(p);
}

#define TAIL_LEVEL(i, prev)                                                    \
	__attribute__((noinline)) static void tailA_##i(unsigned path, int d)  \
	{                                                                       \
		volatile char buf[16];                                          \
		buf[0] = (char)d;                                               \
		if (path >> (i) & 1)                                            \
			tailB_##prev(path, d + 1);                              \
		else                                                            \
			tailA_##prev(path, d + 1);                              \
		keep(buf);                                                      \
	}                                                                       \
	__attribute__((noinline)) static void tailB_##i(unsigned path, int d)  \
	{                                                                       \
		volatile char buf[32];                                          \
		buf[0] = (char)d;                                               \
		if (path >> (i) & 1)                                            \
			tailA_##prev(path, d + 2);                              \
		else                                                            \
			tailB_##prev(path, d + 2);                              \
		keep(buf);                                                      \
	}

__attribute__((noinline)) static void tailA_0(unsigned path, int d)
{
	tail_leaf(path, d);
	keep((volatile char *)&path);
}
__attribute__((noinline)) static void tailB_0(unsigned path, int d)
{
	tail_leaf(path ^ 1, d);
	keep((volatile char *)&path);
}
TAIL_LEVEL(1, 0)
TAIL_LEVEL(2, 1)
TAIL_LEVEL(3, 2)
TAIL_LEVEL(4, 3)
TAIL_LEVEL(5, 4)
TAIL_LEVEL(6, 5)
TAIL_LEVEL(7, 6)
TAIL_LEVEL(8, 7)
TAIL_LEVEL(9, 8)
TAIL_LEVEL(10, 9)

/* The same path twice in a row, called then tail-called (the second
 * capture finds its first frame among the first one's, no frame new),
 * and random paths, deep enough to give the thread a trace cache. */
static void mode_tailcall(void)
{
	unsigned seed = 7, path = 0;
	/* one call site for both (an unrolled loop's two would be two
	 * stacks that differ in this frame) */
	for (unsigned i = 0; i < 80000; i++) {
		if (!(i & 1)) {
			seed = seed * 1103515245u + 12345u;
			path = seed >> 8 & ~(1u << 11);
		}
		unsigned p = path | (i & 1) << 11;
		if (p & 1u << 12)
			tailB_10(p, 0);
		else
			tailA_10(p, 0);
	}
}

/* ---- a stack unmapped, another mapped in its place ----------------------- */

#define UNMAP_STACK (256 * 1024)
#define UNMAP_DEPTH_A 40 /* levels of the first stack's recursion */
#define UNMAP_DEPTH_B 20 /* and the second's: fewer, it starts lower */

static char *volatile unmap_frame[UNMAP_DEPTH_A + 1]; /* each level's buffer */

/* A recursion of frames of one size; the innermost allocates.  noipa: the
 * same code on both stacks, never inlined into itself or cloned. */
__attribute__((noipa)) static void unmap_rec(int n)
{
	volatile char buf[512];

	buf[0] = (char)n;
	unmap_frame[n] = (char *)buf;
	if (n)
		unmap_rec(n - 1);
	else
		touch(24);
	keep(buf);
}

/* unmap_call(top, fn, arg): fn(arg) on the stack that ends at top (16-byte
 * aligned), back on the caller's after.  Its CFI says the return address
 * is undefined across the call, as a thread's first frame does (clone):
 * the unwinder's walk ends there, on its own (no libunwind fallback), so
 * the thread's memo holds the whole stack, up to top's last word. */
void unmap_call(char *top, void (*fn)(int), int arg);
__asm__(".text\n"
	".p2align 4\n"
	".type unmap_call, @function\n"
	"unmap_call:\n"
	".cfi_startproc\n"
	"	push %rbp\n"
	".cfi_def_cfa_offset 16\n"
	".cfi_offset rbp, -16\n"
	"	mov %rsp, %rbp\n"
	".cfi_def_cfa_register rbp\n"
	"	mov %rdi, %rsp\n"
	"	mov %edx, %edi\n"
	".cfi_remember_state\n"
	".cfi_undefined rip\n"
	"	call *%rsi\n"
	".cfi_restore_state\n"
	"	mov %rbp, %rsp\n"
	"	pop %rbp\n"
	".cfi_def_cfa rsp, 8\n"
	"	ret\n"
	".cfi_endproc\n"
	".size unmap_call, . - unmap_call\n");

/* The second stack's top is m frames below the first's, so its frame j is
 * where the first's frame j + m was, with the same return address; its
 * mapping ends at the page above that top, so the first's outer frames,
 * above, are unmapped.  Nothing in between allocates: the thread's last
 * stack is still the one on the first stack. */
static void mode_unmapped(void)
{
	for (int round = 0; round < 50; round++) {
		char *a = mmap(NULL, UNMAP_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (a == MAP_FAILED)
			exit(1);
		unmap_call(a + UNMAP_STACK, unmap_rec, UNMAP_DEPTH_A);
		size_t frame = (size_t)(unmap_frame[1] - unmap_frame[0]);
		size_t page = (size_t)sysconf(_SC_PAGESIZE), m = (page + 2 * frame) / frame + 1;
		if (frame % 16 || frame < 512 || m + UNMAP_DEPTH_B > UNMAP_DEPTH_A) {
			fprintf(stderr, "stacks unmapped: frames of %zu bytes, want %zu more levels\n", frame, m);
			exit(1);
		}
		size_t top_b = UNMAP_STACK - m * frame, map_b = (top_b + page - 1) / page * page;
		if (munmap(a, UNMAP_STACK) ||
		    mmap(a, map_b, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != a)
			exit(1);
		unmap_call(a + top_b, unmap_rec, UNMAP_DEPTH_B);
		if (munmap(a, map_b))
			exit(1);
		touch(8); /* from the main stack again */
	}
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	if (!strcmp(mode, "longjmp"))
		mode_longjmp();
	else if (!strcmp(mode, "coro"))
		mode_coro();
	else if (!strcmp(mode, "signal"))
		mode_signal();
	else if (!strcmp(mode, "threads"))
		mode_threads();
	else if (!strcmp(mode, "fork"))
		mode_fork();
	else if (!strcmp(mode, "exec"))
		mode_exec(argv[0]);
	else if (!strcmp(mode, "exec-child"))
		wander(2000, 8);
	else if (!strcmp(mode, "dlswap"))
		mode_dlswap(argv[0]);
	else if (!strcmp(mode, "deep"))
		mode_deep();
	else if (!strcmp(mode, "paths"))
		mode_paths();
	else if (!strcmp(mode, "unmapped"))
		mode_unmapped();
	else if (!strcmp(mode, "tailcall"))
		mode_tailcall();
	else {
		fprintf(stderr, "usage: stacks longjmp|coro|signal|threads|fork|exec|dlswap|deep|paths|unmapped|tailcall\n");
		return 2;
	}
	printf("%s ok allocations=%lu\n", mode, allocations);
	return 0;
}
