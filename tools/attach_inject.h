/*
 * attach_inject.h - what `heapsnap attach` does to the target with ptrace:
 * look at it (is it a dynamically linked glibc program we may trace?),
 * stop one thread at a safe point, make that thread call dlopen and the
 * attach shim's entry point, and at the detach check every thread out of
 * the shim.  x86-64 Linux only.
 *
 * Every function that can fail fills err (one line, no "heapsnap: ") and
 * returns -1; nothing here prints.
 */
#ifndef HS_TOOLS_ATTACH_INJECT_H
#define HS_TOOLS_ATTACH_INJECT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define INJECT_ERR_MAX 512

struct inject_stats {
	pid_t tid;	    /* the thread that made the calls */
	const char *how;    /* how its safe point was found */
	double pause_ms;    /* it was stopped this long */
	double wait_ms;     /* waiting for a safe point (threads ran meanwhile) */
	double others_ms;   /* the longest stop of another thread (breakpoints) */
	int loaded;	    /* the shim was loaded now (0: it already was) */
};

/* Check that pid is a process heapsnap can attach to, before touching it:
 * alive, not heapsnap itself, x86-64, dynamically linked.  Return 0 or -1. */
int inject_precheck(pid_t pid, char *err);

/*
 * Load shim_path into pid (unless it is loaded) and call its
 * heapsnap_rt_attach(args) in a thread stopped at a safe point; *rc gets
 * its return value.  Diagnoses refusals (ptrace_scope, another user's
 * process, a tracer already there, not glibc, a heapsnap run process).
 * Return 0 (the call was made) or -1.
 */
int inject_attach(pid_t pid, const char *shim_path, const char *args, int *rc, struct inject_stats *st,
		  char *err);

/* Where the shim keeps a thread's state, from its "@quiesce" line. */
struct quiesce_req {
	long tls_off;		/* &tls - thread pointer */
	size_t state_off, depth_off, ring_off; /* fields of struct tls_state */
	int active;		/* TS_ACTIVE */
	uint64_t text_lo, text_hi; /* the shim's code */
	pid_t self;		/* the control thread: not checked */
};

/* Parse the fields after "@quiesce ".  Return 0 or -1. */
int inject_parse_quiesce(const char *s, struct quiesce_req *q);

/*
 * Stop every thread of pid but q->self, one at a time, until each has been
 * seen outside the shim (program counter outside its code, tls.depth 0) and
 * its thread state reset to TS_UNINIT; give up after timeout_ms.  A thread
 * that starts meanwhile started after recording stopped: it is not needed.
 * Return 1 if every thread was confirmed, 0 if not; *max_pause_ms gets the
 * longest stop of a thread.
 */
int inject_quiesce(pid_t pid, const struct quiesce_req *q, int timeout_ms, double *max_pause_ms);

#endif
