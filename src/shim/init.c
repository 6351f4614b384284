/*
 * init.c - bring the shim up (lazily, from the first hook call), finish the
 * trace at exit, and keep a forked child's trace apart from its parent's.
 *
 * Order of events in a process:
 *   first hook call   shim_init: options, backing allocator, trace file,
 *                     ring file, stack table.  Events are recorded from
 *                     here on, into rings.
 *   constructor       PROCESS and MODULES records, snapshot signal,
 *                     pthread_atfork, collector thread.
 *   destructor        shim_finish(HST_END_EXIT): drain, exit snapshot, END.
 */
#define _GNU_SOURCE
#include "shim/shim.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/arena_map.h"
#include "shim/backing.h"
#include "shim/clock.h"
#include "shim/collector.h"
#include "shim/control.h"
#include "shim/dynsym.h"
#include "shim/intercept.h"
#include "shim/log.h"
#include "shim/modules.h"
#include "shim/python.h"
#include "shim/ringfile.h"
#include "shim/rings.h"
#include "shim/roots.h"
#include "shim/world.h"
#include "shim/stack.h"
#include "trace/encode.h"
#include "trace/format.h"
#include "util/assert.h"
#include "util/fmt.h"

struct shim_global shim = {.exit_status = -1};
HS_TLS struct tls_state tls;

static void thread_exit_cb(void *unused);

static HS_HOOKSAFE uint64_t make_nonce(void)
{
	uint64_t n = 0;

	if (getrandom(&n, sizeof(n), GRND_NONBLOCK) != sizeof(n))
		n = clock_now_ns() ^ ((uint64_t)getpid() << 32);
	return n ? n : 1;
}

/* Why a file could not be made, in words (no strerror in the shim). */
static HS_HOOKSAFE const char *create_error(int rc)
{
	switch (-rc) {
	case EISDIR:
		return ": it is a directory; tracing is off";
	case EEXIST:
		return ": it exists and is not a regular file; tracing is off";
	case ENOENT:
		return ": no such directory; tracing is off";
	case EACCES:
	case EPERM:
		return ": permission denied; tracing is off";
	case ENOSPC:
	case EDQUOT:
		return ": the file system is full; tracing is off";
	case EROFS:
		return ": read-only file system; tracing is off";
	case EFBIG:
		return ": the file size limit (ulimit -f) leaves no room; tracing is off";
	case ENAMETOOLONG:
		return ": the name is too long; tracing is off";
	default:
		return ": tracing is off";
	}
}

HS_HOOKSAFE int shim_open_files(void)
{
	shim.nonce = make_nonce();
	int rc = collector_open(&shim.opts, shim.exe, shim.pid, shim.ppid, shim.nonce, shim.trace_path,
				sizeof(shim.trace_path));
	if (rc) {
		log_warn("cannot create the trace ", shim.opts.output, create_error(rc));
		return rc;
	}
	struct fmt_buf b;
	fmt_init(&b, shim.ring_path, sizeof(shim.ring_path));
	fmt_str(&b, shim.trace_path);
	fmt_str(&b, ".rings");
	rc = ringfile_create(shim.ring_path, shim.nonce);
	if (rc) {
		log_warn("cannot create the ring file ", shim.ring_path, create_error(rc));
		collector_abandon(); /* the trace just made, empty */
	} else if (shim.opts.scan) {
		collector_enable_scan(shim.ring_path);
	}
	return rc;
}

/* Under an address-space or data limit the shim takes about 40 MiB of
 * address space (jemalloc without retained memory, the compressor, the
 * rings, a stack table cut to fit): tracing needs several times that much
 * room, or the shim would take the memory the program was given. */
#define HEADROOM_MIN (256ull << 20)

/* The shim's reserve under a memory limit: its compressor, heap model,
 * event columns and the rings of a few threads that start late.  An
 * eighth of the smallest room tracing runs with. */
#define RESERVE_BYTES (32ull << 20)

/* What memory_headroom found at start (UINT64_MAX: no limit, or the
 * attach shim, which does not ask). */
static uint64_t headroom = UINT64_MAX;

/* The value of field "name:" (kB) in /proc/self/status, in bytes, or 0. */
static HS_HOOKSAFE uint64_t status_bytes(const char *text, const char *name)
{
	const char *p = strstr(text, name);
	uint64_t v = 0;

	if (!p)
		return 0;
	for (p += strlen(name); *p == ' ' || *p == '\t'; p++)
		;
	for (; *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (uint64_t)(*p - '0');
	return v * 1024;
}

/* Bytes the process may still map under RLIMIT_AS and RLIMIT_DATA
 * (UINT64_MAX when neither is set). */
static HS_HOOKSAFE uint64_t memory_headroom(void)
{
	struct rlimit as, data;
	char text[4096];
	uint64_t room = UINT64_MAX;

	if (getrlimit(RLIMIT_AS, &as))
		as.rlim_cur = RLIM_INFINITY;
	if (getrlimit(RLIMIT_DATA, &data))
		data.rlim_cur = RLIM_INFINITY;
	if (as.rlim_cur == RLIM_INFINITY && data.rlim_cur == RLIM_INFINITY)
		return room;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;
	if (fd >= 0)
		close(fd);
	text[n > 0 ? n : 0] = 0;
	uint64_t size = status_bytes(text, "VmSize:"), used = status_bytes(text, "VmData:");
	if (as.rlim_cur != RLIM_INFINITY)
		room = as.rlim_cur > size ? as.rlim_cur - size : 0;
	if (data.rlim_cur != RLIM_INFINITY) {
		uint64_t d = data.rlim_cur > used ? data.rlim_cur - used : 0;
		room = d < room ? d : room;
	}
	return room;
}

HS_HOOKSAFE int shim_init_process(void)
{
	uintptr_t lo = 0, hi = 0;

	clock_init();
	shim.pid = (uint32_t)getpid();
	shim.ppid = (uint32_t)getppid();
	ssize_t n = readlink("/proc/self/exe", shim.exe, sizeof(shim.exe) - 1);
	shim.exe[n > 0 ? n : 0] = 0;
	if (n <= 0)
		strcpy(shim.exe, "unknown");
	(void)modules_text_of((const void *)shim_init, &lo, &hi);
	rings_configure(shim.opts.ring_records);
	/* Under a memory limit the stack ids' table takes at most 1/16 of
	 * what is left. */
	if (stack_init(shim.opts.max_frames, lo, hi, headroom / 16)) {
		log_warn("cannot map the stack table (out of memory): tracing is off", 0, 0);
		return -ENOMEM;
	}
	shim.key_ok = pthread_key_create(&shim.key, thread_exit_cb) == 0;
	return 0;
}

/* HEAPSNAP_OPTIONS as parsed at start, for the PROCESS records of this
 * process and of its forked children: the options they run with, whatever
 * the program did to its environment since (a shell's children would
 * otherwise each look it up in the shell's own variables, its getenv). */
static char options_seen[4096];

static HS_HOOKSAFE void keep_options_text(const char *env)
{
	size_t n = env ? strlen(env) : 0;

	if (n < sizeof(options_seen)) {
		memcpy(options_seen, env ? env : "", n + 1);
		shim.options_text = options_seen;
	}
	/* longer: looked up again for each record */
}

/* Everything the preloaded shim needs before its first event. */
static HS_HOOKSAFE HS_NOINLINE int init_once(void)
{
	const char *env = getenv("HEAPSNAP_OPTIONS");

	options_parse(&shim.opts, env);
	keep_options_text(env);
	backing_resolve();
	/* Before jemalloc maps anything: a shim that steps aside for want
	 * of memory must take as little of it as it can. */
	headroom = memory_headroom();
	if (headroom < HEADROOM_MIN) {
		char mib[24];
		struct fmt_buf b;
		fmt_init(&b, mib, sizeof(mib));
		fmt_u64(&b, headroom >> 20);
		log_warn("the memory limit (ulimit -v or -d) leaves ", mib,
			 " MiB, heapsnap needs 256: tracing is off");
		return -ENOMEM;
	}
	/* Under a limit, the room the shim's memory needs once the program
	 * has taken the rest (arena_map.h), before jemalloc maps anything. */
	if (headroom != UINT64_MAX)
		arena_map_reserve(RESERVE_BYTES);
	backing_init(shim.opts.allocator == OPT_ALLOC_SYSTEM);
	int rc = shim_init_process();
	return rc ? rc : shim_open_files();
}

/*
 * Tracing is off for good: leave the program to the system allocator, as
 * if the shim were not loaded.  A shim that cannot get its own memory must
 * not go on serving the program from jemalloc, whose own start-up may have
 * failed the same way (under `ulimit -v`, its thread caches did, and
 * mallocx crashed on them).
 */
static HS_HOOKSAFE void step_aside(void)
{
	if (backing_step_aside())
		log_warn("no system allocator to step aside to: the program stays on jemalloc", 0, 0);
}

int shim_init(void)
{
	int expect = PHASE_NONE;

	/* acq_rel: one thread wins the init; losers see its phase */
	if (!atomic_cas_acq_rel(&shim.phase, &expect, PHASE_INIT))
		return expect;
	int phase = init_once() ? PHASE_OFF : PHASE_ON;
	if (phase == PHASE_OFF)
		step_aside();
	/* release: everything init set up is visible to hooks that see ON */
	atomic_store_rel(&shim.phase, phase);
	return phase;
}

void shim_thread_start(struct tls_state *t)
{
	HS_ASSERT(t == &tls && t->state == TS_UNINIT && t->depth == 1);
	/* relaxed: indexes need only be unique */
	uint32_t index = atomic_fetch_add_rlx(&shim.next_thread, 1) + 1;

	t->thread_index = index;
	t->ring = rings_acquire(index, (uint32_t)syscall(SYS_gettid), clock_now_ns());
	t->state = TS_ACTIVE;
	if (shim.key_ok)
		pthread_setspecific(shim.key, (void *)1);
}

/*
 * pthread key destructor: the thread is exiting.  Its ring goes back to the
 * pool; whatever it frees after this (other keys' destructors run later)
 * goes through the orphan ring.
 */
static HS_HOOKSAFE void thread_exit_cb(void *unused)
{
	struct tls_state *t = &tls;

	(void)unused;
	if (t->state != TS_ACTIVE)
		return;
	t->depth++;
	if (t->ring) {
		prctl(PR_GET_NAME, t->ring->name, 0, 0, 0);
		rings_retire(t->ring, clock_now_ns());
		t->ring = NULL;
	}
	t->state = TS_DEAD;
	t->depth--;
}

/* Build the PROCESS record and hand it to the collector. */
static void push_process_record(void)
{
	char cmdline[4096];
	ssize_t clen = 0;
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		clen = read(fd, cmdline, sizeof(cmdline));
		close(fd);
	}
	if (clen < 0)
		clen = 0;
	const char *opt = shim.options_text ? shim.options_text : getenv("HEAPSNAP_OPTIONS");
	const char *alloc = shim.opts.allocator == OPT_ALLOC_SYSTEM ? "system" : "jemalloc";
	struct encode_process pr = {
		.pid = shim.pid,
		.ppid = shim.ppid,
		.exe = shim.exe,
		.exe_len = strlen(shim.exe),
		.cmdline = cmdline,
		.cmdline_len = (size_t)clen,
		.options = opt ? opt : "",
		.options_len = opt ? strlen(opt) : 0,
		.allocator = alloc,
		.allocator_len = strlen(alloc),
		.max_frames = shim.opts.max_frames,
	};
	struct control_item *it = control_new(HST_REC_PROCESS, clock_now_ns(), encode_process_max(&pr));
	if (!it)
		return;
	it->len = (uint32_t)(encode_process(it->body, &pr) - it->body);
	collector_write_now(it);
}

void shim_start_recording(void)
{
	push_process_record();
	modules_refresh(clock_now_ns(), shim.exe); /* written as records name them */
	collector_write_now(python_record());
	if (collector_start())
		log_warn("cannot start the collector thread: events stay in the ring file", 0, 0);
}

#ifndef HS_ATTACH
/* The preloaded shim starts at load, with its fork handlers and signals.
 * The attach shim (libheapsnap-attach.so, the same sources built with
 * HS_ATTACH) is loaded into a running process by dlopen and starts when
 * heapsnap attach calls it (attach.c, which has its own fork handlers). */

static HS_HOOKSAFE void snapshot_signal_handler(int sig)
{
	int saved = errno;

	(void)sig;
	control_signal_snapshot(clock_now_ns());
	collector_wake();
	errno = saved;
}

/* scan_signal (or snapshot_signal with snapshot_scan=1): ask the
 * collector for a scanned snapshot.  Async-signal-safe: a count and a
 * futex wake; the collector does the scan. */
static HS_HOOKSAFE void scan_signal_handler(int sig)
{
	int saved = errno;

	(void)sig;
	control_signal_scan();
	collector_wake();
	errno = saved;
}

static void install_handler(int sig, void (*fn)(int), const char *what)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL))
		log_warn("cannot install the ", what, " signal handler");
}

/*
 * The snapshot and scan signals.  A scanned snapshot needs the pointer
 * scan (scan=1); without it the scan signal takes plain snapshots, and
 * says so once.  snapshot_scan=1 makes the snapshot signal a scan signal.
 * The same signal for both: the scan wins.
 */
static void install_snapshot_signals(void)
{
	int scan_sig = shim.opts.scan_signal;

	if (scan_sig && !shim.opts.scan) {
		log_warn("HEAPSNAP_OPTIONS: scan_signal needs the pointer scan (scan=0 is set): "
			 "its snapshots are not scanned", 0, 0);
		if (!shim.opts.snapshot_signal)
			shim.opts.snapshot_signal = scan_sig;
		scan_sig = 0;
	}
	if (shim.opts.snapshot_signal && shim.opts.snapshot_signal != scan_sig)
		install_handler(shim.opts.snapshot_signal,
				shim.opts.snapshot_scan && shim.opts.scan ? scan_signal_handler : snapshot_signal_handler,
				"snapshot");
	if (scan_sig)
		install_handler(scan_sig, scan_signal_handler, "scan");
}

/* The signal that stops the threads for a scan: SIGRTMAX-2, or one below
 * it that neither snapshot signal uses. */
static int stop_signal_number(void)
{
	int sig = SIGRTMAX - 2;

	while (sig == shim.opts.snapshot_signal || sig == shim.opts.scan_signal)
		sig--;
	return sig;
}

/* ---- fork ---------------------------------------------------------------- */

static void prefork(void)
{
	/* Lock order: collector (trim, then cycle), stack table, Python
	 * tables, ring registry (orphan, registry), ring file. */
	collector_lock();
	stack_lock();
	python_lock();
	rings_lock();
	ringfile_lock();
}

static void postfork_parent(void)
{
	ringfile_unlock();
	rings_unlock();
	python_unlock();
	stack_unlock();
	collector_unlock();
}

/*
 * The child has one thread and a copy of our memory, including MAP_SHARED
 * views of the parent's ring file: it must never write there again.  It
 * gets its own trace, ring file and collector, and keeps the stack ids it
 * inherited (copied into its own ring file).
 */
static void postfork_child(void)
{
	struct tls_state *t = &tls;
	uint8_t saved = t->state;

	t->state = TS_INTERNAL;
	/* before any large calloc could read the parent's pages */
	backing_forget_pagemap();
	/* This thread took every lock in prefork: it lets go of them first, so
	 * that nothing below (the heap model's allocations) runs holding one. */
	postfork_parent();
	collector_absorb_rings();
	ringfile_forget();
	rings_forget();
	control_forget();
	collector_forget();
	shim.pid = (uint32_t)getpid();
	shim.ppid = (uint32_t)getppid();
	if (shim_on() && (shim_open_files() || stack_rehome() || python_rehome())) {
		/* relaxed: the child has one thread */
		atomic_store_rlx(&shim.phase, PHASE_OFF);
		step_aside();
	}
	t->ring = NULL;
	t->state = saved == TS_ACTIVE ? TS_UNINIT : saved;
	if (shim_on()) {
		t->state = TS_INTERNAL;
		shim_start_recording();
		t->state = saved == TS_ACTIVE ? TS_UNINIT : saved;
	}
}

/* ---- start and end --------------------------------------------------------- */

__attribute__((constructor)) static void shim_constructor(void)
{
	struct tls_state *t = &tls;
	uint8_t saved = t->state;

	t->depth++;
	intercept_resolve();
	shim_init();
	t->state = TS_INTERNAL;
	if (shim_on()) {
		/* before main: the interpreter has allocated nothing yet */
		python_init(&shim.opts);
		shim_start_recording();
		if (shim.opts.scan) {
			roots_setup();
			world_setup(stop_signal_number());
		}
		install_snapshot_signals();
		pthread_atfork(prefork, postfork_parent, postfork_child);
	}
	t->state = saved;
	t->depth--;
}
#endif

/* Is the calling thread the only one left (the collector stopped)?
 * Threads already exiting (joined ones /proc still lists, the collector
 * among them) do not count. */
static int alone(void)
{
	char buf[1024], self[24];
	struct fmt_buf b;
	int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC), n = 0;

	if (fd < 0)
		return 0;
	fmt_init(&b, self, sizeof(self));
	fmt_u64(&b, (uint64_t)syscall(SYS_gettid));
	for (long got; (got = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0;)
		for (long off = 0; off < got; off += ((struct dirent64 *)(buf + off))->d_reclen) {
			const char *name = ((struct dirent64 *)(buf + off))->d_name;
			n += name[0] != '.' && (!strcmp(name, self) || !world_task_exiting(name));
		}
	close(fd);
	return n == 1;
}

extern void __libc_freeres(void);

/* Ring records release_libc may need: its frees (a few dozen to a few
 * hundred: stdio buffers, locale and NSS data, cached thread stacks) with
 * room to spare; the smallest ring (ring_records=1024) is emptied. */
#define RELEASE_ROOM 1024

/*
 * At exit, let glibc free what it keeps until the end (stdio buffers after
 * flushing them, the thread stack cache, locale and NSS data), as Valgrind
 * does, so that leak totals agree with it.  Only when no other thread runs:
 * they could still be using it.  The frees are recorded.
 */
static void release_libc(void)
{
	if (!shim.opts.libc_freeres || !alone())
		return;
	/* libstdc++'s emergency exception pool, as Valgrind's
	 * --run-cxx-freeres does (only if libstdc++ is loaded).  Not found
	 * with dlsym: that would free the program's pending dlerror message
	 * and, failing in a C program, leave the shim's in its place
	 * (dynsym.h). */
	void (*cxx_freeres)(void) = (void (*)(void))dynsym_any("_ZN9__gnu_cxx9__freeresEv");
	if (cxx_freeres)
		cxx_freeres();
	__libc_freeres();
}

/* 1 while a thread finishes the trace: exit racing _exit or exec in
 * another thread must not stop the collector twice. */
static _Atomic int finishing;

int shim_claim_finish(void)
{
	int expect = 0;

	/* acq_rel: as in shim_finish */
	return atomic_cas_acq_rel(&finishing, &expect, 1);
}

void shim_release_finish(void)
{
	/* release: pairs with the CAS in shim_finish and shim_claim_finish */
	atomic_store_rel(&finishing, 0);
}

void shim_finish(int reason, int status)
{
	struct tls_state *t = &tls;
	int expect = 0;

	/* A vfork child shares our memory: it must leave the trace alone. */
	if (!shim_on() || (uint32_t)getpid() != shim.pid)
		return;
	/* acq_rel: the winner alone goes on; it sees the state the last
	 * finisher (a failed exec) left */
	if (!atomic_cas_acq_rel(&finishing, &expect, 1))
		return;
	uint8_t saved = t->state;
	t->depth++;
	t->state = TS_INTERNAL;
	if (reason == HST_END_EXIT) {
		collector_stop();
		/* the collector that would free ring slots is gone: libc's
		 * frees must find room (a full ring drops events) */
		collector_make_room(RELEASE_ROOM);
		t->state = saved;
		t->depth--;
		release_libc();
		t->depth++;
		t->state = TS_INTERNAL;
	}
	if (reason != HST_END_EXEC) {
		/* release: hooks that see OFF stop recording */
		atomic_store_rel(&shim.phase, PHASE_OFF);
	}
	uint64_t here = (uint64_t)(uintptr_t)__builtin_frame_address(0);
	/* The program's frames begin where it called exit (if this thread
	 * did; exit_sp is above here then), else at this call. */
	collector_finish(reason, status, shim.exit_sp > here ? shim.exit_sp : here);
	ringfile_unlink(reason == HST_END_EXEC);
	t->state = saved;
	t->depth--;
}

int shim_leak_check(void)
{
	struct tls_state *t = &tls;
	int expect = 0;

	if (!shim_on() || (uint32_t)getpid() != shim.pid)
		return -1;
	/* acq_rel: as in shim_finish; a scan and an exit never overlap */
	if (!atomic_cas_acq_rel(&finishing, &expect, 1))
		return -1;
	uint8_t saved = t->state;
	t->depth++;
	t->state = TS_INTERNAL;
	int rc = collector_leak_check((uint64_t)(uintptr_t)__builtin_frame_address(0));
	t->state = saved;
	t->depth--;
	/* release: pairs with the CAS above and in shim_finish */
	atomic_store_rel(&finishing, 0);
	return rc;
}

int shim_scan_snapshot(const char *label, uint32_t len)
{
	struct tls_state *t = &tls;
	int expect = 0;

	if (!shim_on() || (uint32_t)getpid() != shim.pid)
		return -1;
	/* acq_rel: as in shim_leak_check */
	if (!atomic_cas_acq_rel(&finishing, &expect, 1))
		return -1;
	uint8_t saved = t->state;
	t->depth++;
	t->state = TS_INTERNAL;
	/* the snapshot is written even if the scan fails */
	(void)collector_scan_snapshot((uint64_t)(uintptr_t)__builtin_frame_address(0), label, len);
	t->state = saved;
	t->depth--;
	/* release: pairs with the CAS above and in shim_finish */
	atomic_store_rel(&finishing, 0);
	return 0;
}

int shim_quiesce(void)
{
	struct tls_state *t = &tls;

	if (!shim_on() || (uint32_t)getpid() != shim.pid || !collector_running())
		return 0;
	/* no exit or scan meanwhile */
	if (!shim_claim_finish())
		return 0;
	uint8_t saved = t->state;
	t->depth++;
	t->state = TS_INTERNAL;
	collector_stop();
	t->state = saved;
	t->depth--;
	return 1;
}

void shim_unquiesce(int quiesced)
{
	if (quiesced)
		shim_resume_after_exec(); /* restarts the collector, releases the claim */
}

void shim_resume_after_exec(void)
{
	struct tls_state *t = &tls;

	if (!shim_on() || (uint32_t)getpid() != shim.pid)
		return;
	/* Internal: pthread_create allocates the thread's DTV, which
	 * pthread_join frees inside shim_finish, internal too. */
	uint8_t saved = t->state;
	t->state = TS_INTERNAL;
	int rc = collector_start();
	t->state = saved;
	if (rc)
		log_warn("cannot restart the collector after a failed exec", 0, 0);
	/* release: pairs with the CAS in shim_finish */
	atomic_store_rel(&finishing, 0);
}

__attribute__((destructor)) static void shim_destructor(void)
{
	shim_finish(HST_END_EXIT, shim.exit_status);
}
