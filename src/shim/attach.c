/*
 * attach.c - the attach shim's sessions: `heapsnap attach PID` loads
 * libheapsnap-attach.so into a running process with ptrace
 * (tools/attach_inject.c), calls heapsnap_rt_attach in one of its threads,
 * and from then on talks to a control thread here over a socket.
 *
 * A session:
 *   heapsnap_rt_attach   (the hijacked thread, briefly) connect to heapsnap,
 *                        start the control thread, return
 *   control thread       options, trace and ring file, collector, then
 *                        patch every object's GOT (attach_got.c): from here
 *                        on every thread records
 *                        ... every 50 ms: patch objects loaded meanwhile ...
 *   "detach" (or EOF)    finish the trace (scan first if asked), stop
 *                        recording, restore every slot; then heapsnap stops
 *                        each thread with ptrace, checks that it is outside
 *                        the shim and resets its thread state ("@quiesce");
 *                        only then are the rings unmapped and the heap model
 *                        dropped.
 *
 * The shim then stays loaded (-z nodelete), idle: a slot restored while a
 * thread was about to call through it, or a function pointer the program
 * took from a patched slot, still lands in a hook, which forwards to the
 * program's allocator without recording.  A later attach reuses it.  If
 * heapsnap goes away before it could check the threads (killed), the
 * trace is still finished and the slots restored, but the rings stay
 * mapped and no later attach is allowed: a thread might still hold one.
 *
 * Protocol (lines; heapsnap prints any line not starting with '@'):
 *   shim:     @trace PATH | @attached SLOTS OBJECTS | @error MESSAGE
 *   heapsnap: detach
 *   shim:     @quiesce TLS STATE DEPTH RING ACTIVE TEXT_LO TEXT_HI SELF
 *   heapsnap: quiet | busy
 *   shim:     @detached RESTORED FINISH_NS CLEAN
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "shim/arena_map.h"
#include "shim/attach_got.h"
#include "shim/backing.h"
#include "shim/clock.h"
#include "shim/collector.h"
#include "shim/control.h"
#include "shim/heapmap.h"
#include "shim/intercept.h"
#include "shim/log.h"
#include "shim/modules.h"
#include "shim/ringfile.h"
#include "shim/rings.h"
#include "shim/roots.h"
#include "shim/shim.h"
#include "shim/stack.h"
#include "shim/world.h"
#include "trace/format.h"
#include "util/assert.h"
#include "util/atomic.h"
#include "util/compiler.h"
#include "util/fmt.h"

#define CTL_STACK (256 * 1024)
#define POLL_MS 50
#define QUIESCE_WAIT_MS 60000 /* heapsnap checks every thread meanwhile */
#define ARGS_MAX 4096

enum session_state { S_NONE = 0, S_ACTIVE };

static _Atomic int session;	    /* enum session_state */
static _Atomic int unclean;	    /* a detach could not confirm the threads left */
static int initialized;		    /* process-wide set-up done (control thread) */
static int ctl_fd = -1;		    /* socket to heapsnap attach */
static char args[ARGS_MAX];	    /* HEAPSNAP_OPTIONS syntax, from heapsnap */
static char options_text[ARGS_MAX + 8]; /* "attach:" + args, for PROCESS */
static void *ctl_stack;		    /* the control thread's stack, reused */
static pthread_t ctl_thread;
static int ctl_joinable;	    /* ctl_thread has not been joined */
static int scan_sig;		    /* stop signal of the scan, 0 if none */
static struct sigaction scan_old;   /* its disposition before */

/* ---- the socket --------------------------------------------------------------- */

static void send_line(const char *s)
{
	size_t n = strlen(s);

	while (n && ctl_fd >= 0) {
		ssize_t k = send(ctl_fd, s, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return;
		s += k;
		n -= (size_t)k;
	}
}

/* Read one line (without its newline) into buf, waiting up to ms (-1:
 * forever).  Return 1, 0 on timeout, -1 on end of file or error. */
static int read_line(char *buf, size_t cap, int ms)
{
	size_t n = 0;

	for (;;) {
		struct pollfd p = {ctl_fd, POLLIN, 0};
		int rc = poll(&p, 1, n ? 1000 : ms);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc == 0)
			return n ? -1 : 0;
		char c;
		ssize_t k = rc > 0 ? recv(ctl_fd, &c, 1, 0) : -1;
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		if (c == '\n') {
			buf[n] = 0;
			return 1;
		}
		if (n + 1 < cap)
			buf[n++] = c;
	}
}

/* Send the tag, then the numbers (decimal, a space before each), then a
 * space and text if any, then a newline. */
static void send_msg(const char *tag, const int64_t *nums, int n, const char *text)
{
	char line[1400];
	struct fmt_buf b;

	fmt_init(&b, line, sizeof(line));
	fmt_str(&b, tag);
	for (int i = 0; i < n; i++) {
		fmt_str(&b, nums[i] < 0 ? " -" : " ");
		fmt_u64(&b, nums[i] < 0 ? (uint64_t)-nums[i] : (uint64_t)nums[i]);
	}
	if (text) {
		fmt_str(&b, " ");
		fmt_str(&b, text);
	}
	fmt_str(&b, "\n");
	send_line(line);
}

/* ---- the scan's stop signal ---------------------------------------------------- */

/*
 * The scan stops the other threads with a real-time signal.  Take one the
 * program leaves at its default (glibc keeps SIGRTMIN..+2 for itself), for
 * the session only.
 */
static void take_scan_signal(void)
{
	for (int sig = SIGRTMAX - 2; sig >= SIGRTMIN + 3; sig--) {
		struct sigaction old;
		if (sigaction(sig, NULL, &old) || old.sa_handler != SIG_DFL || (old.sa_flags & SA_SIGINFO))
			continue;
		scan_old = old;
		scan_sig = sig;
		world_setup(sig);
		return;
	}
	log_warn("no free real-time signal to stop threads with: the scan reads running threads", 0, 0);
}

/* Give the signal back.  SIG_IGN first discards a stop signal still
 * pending in a thread that blocks it, which the default action would turn
 * into the death of the process. */
static void give_back_scan_signal(void)
{
	struct sigaction ign;

	if (!scan_sig)
		return;
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigaction(scan_sig, &ign, NULL);
	sigaction(scan_sig, &scan_old, NULL);
	scan_sig = 0;
}

/* ---- a session ------------------------------------------------------------------ */

/* Set up what every session shares, once.  Return 0 or -1 (sent). */
static int init_process_once(void)
{
	if (initialized)
		return 0;
	int missing = got_init();
	struct backing_orig o = {
		(void *(*)(size_t))got_real("malloc"),
		(void *(*)(size_t, size_t))got_real("calloc"),
		(void *(*)(void *, size_t))got_real("realloc"),
		(void (*)(void *))got_real("free"),
		(int (*)(void **, size_t, size_t))got_real("posix_memalign"),
		(size_t(*)(void *))got_real("malloc_usable_size"),
	};
	if (missing || backing_attach_use(&o)) {
		send_line("@error the process has no malloc, free, ... in its global scope\n");
		return -1;
	}
	if (shim_init_process()) {
		send_line("@error cannot map the stack table in the process\n");
		return -1;
	}
	intercept_resolve();
	roots_setup();
	initialized = 1;
	return 0;
}

static int begin(void)
{
	HS_ASSERT(tls.state == TS_INTERNAL && atomic_load_rlx(&shim.phase) != PHASE_ON);
	options_parse(&shim.opts, args);
	shim.opts.allocator = OPT_ALLOC_SYSTEM; /* the program's own allocator */
	shim.opts.libc_freeres = false;		/* the program goes on using it */
	struct fmt_buf ob;
	fmt_init(&ob, options_text, sizeof(options_text));
	fmt_str(&ob, "attach:");
	fmt_str(&ob, args);
	shim.options_text = options_text;
	shim.ppid = (uint32_t)getppid();
	if (init_process_once())
		return -1;
	rings_configure(shim.opts.ring_records);
	if (shim_open_files()) {
		send_msg("@error cannot create the trace", NULL, 0, shim.opts.output);
		ringfile_unlink(0);
		return -1;
	}
	if (shim.opts.scan)
		take_scan_signal();
	/* release: hooks that see ON find the trace, rings and backing ready */
	atomic_store_rel(&shim.phase, PHASE_ON);
	shim_start_recording();
	send_msg("@trace", NULL, 0, shim.trace_path);
	uint32_t slots = got_attach(), objects;
	got_counts(&slots, &objects);
	send_msg("@attached", (int64_t[]){slots, objects}, 2, NULL);
	return 0;
}

/* The address of the thread pointer (fs base): the shim's TLS sits at the
 * same offset from it in every thread. */
static uintptr_t thread_pointer(void)
{
	uintptr_t tp;

	__asm__("mov %%fs:0, %0" : "=r"(tp));
	return tp;
}

/*
 * Ask heapsnap to stop each thread, check that it is outside the shim
 * (program counter outside its code, tls.depth 0), and reset its thread
 * state to TS_UNINIT, so that a later session gives it a new ring.
 * Return 1 if heapsnap confirmed every thread.
 */
static int quiesce(void)
{
	char line[256];
	uintptr_t lo = 0, hi = 0;

	if (ctl_fd < 0 || modules_text_of((const void *)quiesce, &lo, &hi))
		return 0;
	int64_t f[] = {(int64_t)((uintptr_t)&tls - thread_pointer()), (int64_t)offsetof(struct tls_state, state),
		       (int64_t)offsetof(struct tls_state, depth), (int64_t)offsetof(struct tls_state, ring),
		       TS_ACTIVE, (int64_t)lo, (int64_t)hi, (int64_t)syscall(SYS_gettid)};
	send_msg("@quiesce", f, 8, NULL);
	return read_line(line, sizeof(line), QUIESCE_WAIT_MS) == 1 && !strcmp(line, "quiet");
}

/* Finish the session.  heapsnap_here: it asked (it can check the threads). */
static void end(int heapsnap_here)
{
	HS_ASSERT(tls.state == TS_INTERNAL);
	if (!shim_claim_finish())
		return; /* the process is exiting or exec'ing: that ends the trace */
	uint64_t t0 = clock_now_ns();
	collector_finish(HST_END_DETACH, -1, (uint64_t)(uintptr_t)__builtin_frame_address(0));
	uint64_t finish_ns = clock_now_ns() - t0;
	/* release: hooks that see OFF stop recording */
	atomic_store_rel(&shim.phase, PHASE_OFF);
	uint32_t restored = got_detach();
	ringfile_unlink(0);
	give_back_scan_signal();
	int clean = heapsnap_here && quiesce();
	if (clean) {
		rings_forget();
		stack_reset();
		control_forget();
		collector_forget();
		heapmap_reset();
	} else {
		/* relaxed: published by the session store (release) in
		 * control_main */
		atomic_store_rlx(&unclean, 1);
	}
	shim_release_finish();
	send_msg("@detached", (int64_t[]){restored, (int64_t)finish_ns, clean}, 3, NULL);
}

static void *control_main(void *arg)
{
	char line[64];

	(void)arg;
	tls.state = TS_INTERNAL;
	prctl(PR_SET_NAME, "heapsnap-ctl", 0, 0, 0);
	log_set_fd(ctl_fd);
	if (!begin()) {
		int rc, again = 0;
		while ((rc = read_line(line, sizeof(line), POLL_MS)) == 0) {
			/* A new object may still be relocating when it is first
			 * seen: look once more at the next round. */
			int changed = got_modules_changed();
			if (changed || again)
				got_patch_new();
			again = changed;
		}
		end(rc == 1 && !strcmp(line, "detach"));
	}
	log_set_fd(-1);
	close(ctl_fd);
	ctl_fd = -1;
	/* release: the next heapsnap_rt_attach sees this session's state */
	atomic_store_rel(&session, S_NONE);
	return NULL;
}

/* ---- fork ------------------------------------------------------------------------ */

/* Lock order as in init.c, the patch lock first. */
static void at_prefork(void)
{
	got_lock();
	collector_lock();
	stack_lock();
	rings_lock();
	ringfile_lock();
}

static void at_postfork_parent(void)
{
	ringfile_unlock();
	rings_unlock();
	stack_unlock();
	collector_unlock();
	got_unlock();
}

/*
 * The child of an attached process is not traced: heapsnap attached to
 * its parent.  Its slots stay patched (the hooks forward), it drops the
 * parent's rings, heap model and socket, and it can be attached to later
 * like any process.
 */
static void at_postfork_child(void)
{
	struct tls_state *t = &tls;
	uint8_t saved = t->state;

	at_postfork_parent(); /* this thread took every lock */
	/* acquire: pairs with the control thread's release */
	if (atomic_load_acq(&session) == S_NONE)
		return;
	t->state = TS_INTERNAL;
	/* relaxed: the child has one thread */
	atomic_store_rlx(&shim.phase, PHASE_OFF);
	give_back_scan_signal();
	rings_forget();
	stack_reset();
	ringfile_forget();
	control_forget();
	collector_forget();
	heapmap_reset();
	log_set_fd(-1);
	if (ctl_fd >= 0)
		close(ctl_fd);
	ctl_fd = -1;
	ctl_joinable = 0; /* the control thread is the parent's */
	atomic_store_rlx(&unclean, 0);
	atomic_store_rlx(&session, S_NONE);
	t->ring = NULL;
	t->state = saved == TS_ACTIVE ? TS_UNINIT : saved;
}

/* ---- the entry point ------------------------------------------------------------- */

/* Connect to heapsnap's socket: "\0" + name.  Return the fd or -errno. */
static int connect_back(const char *name, size_t n)
{
	struct sockaddr_un sa;

	if (n + 1 > sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path + 1, name, n);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n))) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

/* Start the control thread with every signal blocked (the program's
 * handlers never run on it), on a stack of the shim's own (not a root).
 * Return 0 or -errno. */
static int start_control_thread(void)
{
	pthread_attr_t attr;
	sigset_t all, old;

	if (ctl_joinable) {
		pthread_join(ctl_thread, NULL); /* the last session's: it has ended */
		ctl_joinable = 0;
	}
	if (!ctl_stack && !(ctl_stack = arena_map_mmap(CTL_STACK)))
		return -ENOMEM;
	pthread_attr_init(&attr);
	pthread_attr_setstack(&attr, ctl_stack, CTL_STACK);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&ctl_thread, &attr, control_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc)
		return -rc;
	ctl_joinable = 1;
	return 0;
}

static int attach_start(const char *a)
{
	static int atfork_done;
	const char *nl = strchr(a, '\n');

	if (strncmp(a, "ctl=", 4) || !nl || strlen(nl + 1) >= sizeof(args))
		return -EINVAL;
	int fd = connect_back(a + 4, (size_t)(nl - a - 4));
	if (fd < 0)
		return fd;
	strcpy(args, nl + 1);
	ctl_fd = fd;
	if (!atfork_done && pthread_atfork(at_prefork, at_postfork_parent, at_postfork_child)) {
		close(fd);
		ctl_fd = -1;
		return -ENOMEM;
	}
	atfork_done = 1;
	int rc = start_control_thread();
	if (rc) {
		close(fd);
		ctl_fd = -1;
	}
	return rc;
}

/*
 * Called by heapsnap attach, through ptrace, in a thread it stopped at a
 * safe point (tools/attach_inject.c).  args: "ctl=NAME\n" then options in
 * HEAPSNAP_OPTIONS syntax.  Quick: connects, starts the control thread and
 * returns 0, or -EBUSY (a session is on), -ENOTRECOVERABLE (an earlier
 * detach could not check the threads), or another -errno.
 */
HS_EXPORT int heapsnap_rt_attach(const char *a)
{
	struct tls_state *t = &tls;
	int expect = S_NONE;

	/* acq_rel: one attach at a time; it sees the last session's state */
	if (!atomic_cas_acq_rel(&session, &expect, S_ACTIVE))
		return -EBUSY;
	/* relaxed: the CAS above ordered it after the last session */
	if (atomic_load_rlx(&unclean)) {
		atomic_store_rel(&session, S_NONE); /* release: pairs with the CAS */
		return -ENOTRECOVERABLE;
	}
	uint8_t saved = t->state;
	t->state = TS_INTERNAL;
	int rc = attach_start(a);
	t->state = saved;
	if (rc)
		atomic_store_rel(&session, S_NONE); /* release: pairs with the CAS */
	return rc;
}
