/*
 * world.h - stop every other thread of the process for the pointer scan,
 * note where each one stopped (registers, stack pointer, its shim TLS
 * block), and let them go again.
 *
 * world_stop and world_resume run in the thread that finishes the trace
 * (exit, _exit) or calls heapsnap_leak_check(), marked TS_INTERNAL, with
 * the collector stopped.  The stop signal's handler runs in every other
 * thread and is async-signal-safe (HS_HOOKSAFE).
 */
#ifndef HS_SHIM_WORLD_H
#define HS_SHIM_WORLD_H

#include <stdint.h>

#include "util/compiler.h"

#define WORLD_THREADS_MAX 4096

/* The state of a thread asked to stop. */
enum world_thread_state {
	WORLD_SIGNALLED = 0, /* the stop signal is on its way */
	WORLD_STOPPED = 1,   /* it waits in the handler: regs and sp are valid */
	WORLD_GONE = 2,	     /* it could not be signalled (it exited) */
};

/* A thread stopped for the scan. */
struct world_thread {
	uint32_t tid;	   /* kernel thread id */
	uint32_t index;	   /* thread index, as events name it (0: unknown) */
	_Atomic int state; /* enum world_thread_state */
	uint64_t sp;	   /* stack pointer at the stop */
	uint64_t tls_lo;   /* the thread's shim TLS block (not a root) */
	uint64_t tp;	   /* its thread pointer (%fs:0): its TLS lies below it */
	uint64_t regs[23]; /* general registers (ucontext gregs) */
};

struct world {
	struct world_thread *threads; /* mmap'd, WORLD_THREADS_MAX */
	uint32_t nthreads;	      /* signalled */
	uint32_t stopped;	      /* answered (WORLD_STOPPED) */
	uint64_t self_sp;	      /* stack pointer of the scanning thread */
	uint32_t self_index;	      /* its thread index (0: unknown) */
	uint64_t self_tls_lo;	      /* its shim TLS block */
	uint64_t self_tp;	      /* its thread pointer */
};

/* The calling thread's thread pointer (%fs:0, the TCB's self pointer).
 * Async-signal-safe. */
HS_HOOKSAFE uint64_t world_thread_pointer(void);

/* Install the stop signal's handler (once, from the constructor). */
void world_setup(int signal);

/* Stop every thread but the caller (and the collector, which must have
 * exited).  The caller's stack is a root from self_sp up: the frame where
 * the program handed control to the shim, so that the shim's own frames
 * (and the stale pointers their unset slots hold) are not read.  A thread
 * that does not answer within a timeout runs on (its whole stack mapping
 * is then read as an anonymous root).  Return 0, or -1 if the scan must
 * not run (no memory). */
int world_stop(struct world *w, uint64_t self_sp);

/* Is task tid (a name in /proc/self/task) of this process on its way out
 * (PF_EXITING), or gone?  Such a thread never runs user code again. */
int world_task_exiting(const char *tid);

/* Let the stopped threads go on. */
void world_resume(struct world *w);

/* Hold the stop signal off on this thread (but one that blocks every
 * signal: world_signals_blocked_here) while it is inside the shim's private arena: a
 * thread stopped holding the arena's lock would keep the scanner, which
 * frees into that arena with the world stopped, waiting for good.  A
 * stop signal that comes meanwhile is taken at world_unhold.  Returns
 * whether it held (then world_unhold(old) must follow).  HOOK-SAFE. */
int world_hold(uint64_t *old);
/* The calling thread blocks every signal for good (the collector). */
void world_signals_blocked_here(void);
void world_unhold(const uint64_t *old);

#endif
