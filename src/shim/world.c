/*
 * world.c - stop the world: one real-time signal to each other thread,
 * whose handler notes the thread's registers and waits on a futex until
 * the scan is over.
 */
#define _GNU_SOURCE
#include "shim/world.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "shim/arena_map.h"
#include "shim/clock.h"
#include "shim/collector.h"
#include "shim/rings.h"
#include "shim/tls.h"
#include "shim/roots.h"
#include "util/assert.h"
#include "util/atomic.h"
#include "util/compiler.h"
#include "util/fmt.h"

#define STOP_TIMEOUT_MS 500 /* then threads that have not answered run on */

static int stop_signal;
static struct world_thread *threads_mem; /* mapped once: scans never overlap */
static struct world *current;	      /* the world being stopped, for the handler */
/* Stops are numbered.  A thread woken from one stop may not have run yet
 * when the next begins (scans can follow each other closely): it must
 * still leave, not wait for the next release.  So the release is the
 * number of the last stop released, not a flag. */
static _Atomic uint32_t stop_gen;     /* number of the last stop begun */
static _Atomic uint32_t release_gen;  /* futex: number of the last stop released */
static _Atomic uint32_t stopped_word; /* futex: threads that answered */

static HS_HOOKSAFE void futex_wait(_Atomic uint32_t *word, uint32_t val, long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, ms >= 0 ? &ts : NULL, NULL, 0);
}

static HS_HOOKSAFE void futex_wake_all(void *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
}

/*
 * The stop signal's handler, in each stopped thread: note the registers,
 * say so, wait for the release.  Async-signal-safe: atomics and futex.
 */
static HS_HOOKSAFE void stop_handler(int sig, siginfo_t *si, void *ctx)
{
	int saved = errno;
	/* acquire: pairs with the release in world_stop; current and its
	 * threads are those of stop number gen */
	uint32_t gen = atomic_load_acq(&stop_gen);
	struct world *w = current;
	uint32_t tid = (uint32_t)syscall(SYS_gettid);

	(void)sig;
	(void)si;
	/* relaxed: a late signal of a stop already released; if the load is
	 * stale, the search below finds the thread answered or not listed */
	if (!w || atomic_load_rlx(&release_gen) == gen)
		goto out;
	for (uint32_t i = 0; i < w->nthreads; i++) {
		struct world_thread *t = &w->threads[i];
		/* relaxed: only this thread moves its own state from SIGNALLED */
		if (t->tid != tid || atomic_load_rlx(&t->state) != WORLD_SIGNALLED)
			continue;
		const ucontext_t *uc = ctx;
		memcpy(t->regs, uc->uc_mcontext.gregs, sizeof(t->regs));
		t->sp = (uint64_t)uc->uc_mcontext.gregs[REG_RSP];
		t->tls_lo = roots_tls_block();
		t->tp = world_thread_pointer();
		/* release: regs and sp are written before the scanner sees
		 * WORLD_STOPPED */
		atomic_store_rel(&t->state, WORLD_STOPPED);
		/* relaxed count; the futex wake below tells the scanner */
		atomic_fetch_add_rlx(&stopped_word, 1);
		futex_wake_all(&stopped_word);
		/* acquire: pairs with the release in world_resume */
		for (uint32_t r; (int32_t)((r = atomic_load_acq(&release_gen)) - gen) < 0;)
			futex_wait(&release_gen, r, -1);
		break;
	}
out:
	errno = saved;
}

uint64_t world_thread_pointer(void)
{
	uint64_t tp;

	__asm__("mov %%fs:0, %0" : "=r"(tp));
	return tp;
}

/* This thread blocks every signal (the collector's): nothing to hold. */
static __thread int signals_blocked;

void world_signals_blocked_here(void)
{
	signals_blocked = 1;
}

HS_HOOKSAFE int world_hold(uint64_t *old)
{
	/* set once at start, before any thread can be stopped */
	int sig = stop_signal;

	if (!sig || signals_blocked)
		return 0;
	uint64_t block = 1ull << (sig - 1); /* the kernel's sigset: one bit a signal */
	syscall(SYS_rt_sigprocmask, SIG_BLOCK, &block, old, sizeof(block));
	return 1;
}

HS_HOOKSAFE void world_unhold(const uint64_t *old)
{
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, old, NULL, sizeof(*old));
}

void world_setup(int signal)
{
	struct sigaction sa;

	stop_signal = signal;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = stop_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask);
	sigaction(signal, &sa, NULL);
}

/* The thread index of tid, from the ring it owns, or 0. */
static uint32_t index_of_tid(uint32_t tid)
{
	uint32_t n = rings_count();

	for (uint32_t i = 0; i < n; i++) {
		struct ring *r = rings_get(i);
		/* acquire: see drain_ring in collector.c */
		if (atomic_load_acq(&r->state) == RING_OWNED && r->tid == tid)
			return r->thread_index;
	}
	return 0;
}

#define PF_EXITING 0x4 /* the kernel's task flag (include/linux/sched.h) */

/*
 * A joined thread is exiting: its join returns once the kernel has
 * cleared its tid, which is after it set PF_EXITING and before /proc
 * stops listing it (on a loaded machine, a while after).  The flags are
 * the ninth field of /proc/self/task/TID/stat, after the ")" that ends
 * the name (a name may hold ")" and spaces itself).
 */
int world_task_exiting(const char *tid)
{
	char path[64], buf[512];
	struct fmt_buf b;
	int fd;
	ssize_t n;

	fmt_init(&b, path, sizeof(path));
	fmt_str(&b, "/proc/self/task/");
	fmt_str(&b, tid);
	fmt_str(&b, "/stat");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH; /* gone since the listing */
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	/* ") S ppid pgrp session tty_nr tpgid flags": skip 6 fields */
	for (int field = 0; p && field < 7; field++)
		p = strchr(p + 1, ' ');
	if (!p)
		return 0;
	char *end = strchr(p + 1, ' ');
	uint64_t flags;
	return end && !fmt_parse_u64(p + 1, (size_t)(end - p - 1), &flags) && (flags & PF_EXITING);
}

/* List every thread of the process but self from /proc/self/task, but
 * those already exiting (a joined thread, the collector): they cannot
 * answer the stop signal, and the stop would wait for them in vain. */
static void list_threads(struct world *w, uint32_t self)
{
	char buf[4096];
	int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return;
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (long off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			uint64_t tid;
			off += d->d_reclen;
			if (fmt_parse_u64(d->d_name, strlen(d->d_name), &tid) || tid == self ||
			    w->nthreads == WORLD_THREADS_MAX || world_task_exiting(d->d_name))
				continue;
			struct world_thread *t = &w->threads[w->nthreads++];
			memset(t, 0, sizeof(*t)); /* the slot may hold a thread of the last scan */
			t->tid = (uint32_t)tid;
			t->index = index_of_tid((uint32_t)tid);
		}
	}
	close(fd);
}

int world_stop(struct world *w, uint64_t self_sp)
{
	uint32_t self = (uint32_t)syscall(SYS_gettid);
	pid_t pid = getpid();

	HS_ASSERT(stop_signal != 0 && tls.state == TS_INTERNAL && (!collector_running() || collector_is_self()));
	memset(w, 0, sizeof(*w));
	w->self_sp = self_sp;
	w->self_tls_lo = roots_tls_block();
	w->self_tp = world_thread_pointer();
	w->self_index = index_of_tid(self);
	/* mmap, not the heap: a stopped thread may hold an allocator lock.
	 * Mapped once and reused: a service scanned every second must not
	 * map a new array each time (a late handler still reading the last
	 * world finds its release already set). */
	if (!threads_mem)
		threads_mem = arena_map_mmap(WORLD_THREADS_MAX * sizeof(struct world_thread));
	w->threads = threads_mem;
	if (!w->threads)
		return -1;
	/* relaxed: no thread answers this stop before stop_gen moves */
	atomic_store_rlx(&stopped_word, 0);
	list_threads(w, self);
	current = w;
	/* release: current and the thread list are written before a handler
	 * sees the new number (pairs with the acquire in stop_handler) */
	atomic_fetch_add_acq_rel(&stop_gen, 1);
	for (uint32_t i = 0; i < w->nthreads; i++)
		if (syscall(SYS_tgkill, pid, w->threads[i].tid, stop_signal))
			atomic_store_rlx(&w->threads[i].state, WORLD_GONE); /* relaxed: only we read it */
	/* Wait for the answers, up to STOP_TIMEOUT_MS: a thread that blocks
	 * the signal never answers.  By the clock: every answer wakes us. */
	uint64_t deadline = clock_mono_ns() + STOP_TIMEOUT_MS * 1000000ull;
	/* CLOCK_MONOTONIC itself: a timeout, not a stamp (the stamps' clock
	 * stands still if the collector, which may be this thread, is more
	 * than a period late to re-fit it, clock.h) */
	while (clock_mono_ns() < deadline) {
		uint32_t expect = 0;
		for (uint32_t i = 0; i < w->nthreads; i++)
			expect += atomic_load_rlx(&w->threads[i].state) != WORLD_GONE;
		/* acquire: pairs with the handlers' increments */
		uint32_t got = atomic_load_acq(&stopped_word);
		if (got >= expect)
			break;
		futex_wait(&stopped_word, got, 10);
	}
	for (uint32_t i = 0; i < w->nthreads; i++)
		/* acquire: pairs with the release in stop_handler */
		w->stopped += atomic_load_acq(&w->threads[i].state) == WORLD_STOPPED;
	return 0;
}

void world_resume(struct world *w)
{
	(void)w;
	/* release: the scan is over before a stopped thread goes on; relaxed
	 * load: only stoppers change stop_gen, and they take turns */
	atomic_store_rel(&release_gen, atomic_load_rlx(&stop_gen));
	futex_wake_all(&release_gen);
	/* A thread may still be entering the handler (slow to answer): it
	 * finds the release already set and returns at once, but it reads
	 * the world, so the world stays mapped. */
	current = NULL;
}
