/*
 * scan.h - the pointer scan: stop the other threads, find the roots, read
 * every root and live block for words that point into live blocks, and
 * write what it finds into the trace (SCAN records, format.h).  The
 * analyzer builds the reference graph from them.
 *
 * Not hook-safe: it runs in the thread that finishes the trace (exit,
 * _exit) or calls heapsnap_leak_check(), marked TS_INTERNAL, with the
 * collector stopped.  While the world is stopped it allocates nothing from
 * jemalloc (a stopped thread may hold one of its locks): its own memory
 * comes from mmap.
 */
#ifndef HS_SHIM_SCAN_H
#define HS_SHIM_SCAN_H

#include <stdint.h>

#include "trace/writer.h"

#define SCAN_THREADS_MAX 4096

/* A thread stopped for the scan. */
struct scan_thread {
	uint32_t tid;	      /* kernel thread id */
	uint32_t index;	      /* thread index, as events name it (0: unknown) */
	_Atomic int state;    /* 0 signalled, 1 stopped (regs and sp valid) */
	uint64_t sp;	      /* stack pointer at the stop */
	uint64_t tls_lo;      /* the thread's shim TLS block (not a root) */
	uint64_t regs[23];    /* general registers (ucontext gregs) */
};

struct scan_world {
	struct scan_thread *threads; /* mmap'd, SCAN_THREADS_MAX */
	uint32_t nthreads;	     /* signalled */
	uint32_t stopped;	     /* answered */
	uint64_t self_sp;	     /* stack pointer of the scanning thread */
	uint32_t self_index;	     /* its thread index (0: unknown) */
	uint64_t self_tls_lo;	     /* its shim TLS block */
};

/* Install the stop signal's handler (once, from the constructor). */
void scan_setup(int signal);

/* Stop every thread but the caller (and the collector, which must have
 * exited).  The caller's stack is a root from self_sp up: the frame where
 * the program handed control to the shim, so that the shim's own frames
 * (and the stale pointers their unset slots hold) are not read.  Return 0,
 * or -1 if the scan must not run (no memory). */
int scan_stop_world(struct scan_world *w, uint64_t self_sp);

/* Let the stopped threads go on and free the world. */
void scan_resume_world(struct scan_world *w);

/* Scan and write the SCAN records for reason (HST_SCAN_*).  The heap model
 * must be complete: every ring drained.  The shim's own mappings and the
 * ring file at ring_path are not roots. */
void scan_write(struct trace_writer *tw, struct scan_world *w, int reason, const char *ring_path);

/* heapsnap_ignore(): treat the block at p as a root. */
void scan_ignore(const void *p);

#endif
