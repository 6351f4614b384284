/*
 * shim.h - process-wide state of the shim, and the entry points the hooks
 * use to start it and threads.
 */
#ifndef HS_SHIM_SHIM_H
#define HS_SHIM_SHIM_H

#include <pthread.h>
#include <stdint.h>

#include "shim/options.h"
#include "shim/tls.h"
#include "util/atomic.h"

/*
 * PHASE_NONE -> PHASE_INIT (first hook call, one thread) -> PHASE_ON
 * -> PHASE_OFF (exit, or init failed).  Hooks record only in PHASE_ON.
 */
enum shim_phase { PHASE_NONE = 0, PHASE_INIT, PHASE_ON, PHASE_OFF };

struct shim_global {
	_Atomic int phase;	     /* enum shim_phase */
	struct options opts;	     /* parsed HEAPSNAP_OPTIONS */
	uint32_t pid;		     /* process that owns the trace */
	uint32_t ppid;		     /* its parent at init */
	uint64_t nonce;		     /* shared by the trace and its ring file */
	char exe[4096];		     /* /proc/self/exe */
	char trace_path[1100];	     /* the trace being written */
	char ring_path[1110];	     /* trace_path + ".rings" */
	pthread_key_t key;	     /* its destructor marks thread exit */
	int key_ok;		     /* key was created */
	_Atomic uint32_t next_thread; /* thread indexes handed out */
	int exit_status;	     /* from exit()/_exit(), else -1 */
	uint64_t exit_sp;	     /* frame of the program's exit() (or of main's
				      * return): the exit scan reads that thread's
				      * stack from there up, not the exit machinery's
				      * frames below it, which hold stale values */
	const char *options_text;    /* for the PROCESS record (attach); NULL:
				      * HEAPSNAP_OPTIONS */
};

extern struct shim_global shim;

/* Is the shim recording?  HOOK-SAFE. */
HS_INLINE int shim_on(void)
{
	/* relaxed: a flag; a hook that sees it late records one more event */
	return atomic_load_rlx(&shim.phase) == PHASE_ON;
}

/* Start the shim if nobody has; return the phase.  The first call of a
 * hook comes here (a slow path, once). */
HS_HOOKSAFE int shim_init(void);

/* Once per process image, after options and backing allocator: pid, exe,
 * stack table, thread key.  Return 0 or -errno. */
HS_HOOKSAFE int shim_init_process(void);

/* Create a trace (with a new nonce) and its ring file, from shim.opts.
 * Return 0 or -errno (warned). */
HS_HOOKSAFE int shim_open_files(void);

/* Write PROCESS and MODULES and start the collector. */
void shim_start_recording(void);

/* Give the calling thread its ring (a hook's slow path, once a thread). */
HS_HOOKSAFE void shim_thread_start(struct tls_state *t);

/* Finish the trace: exit (HST_END_EXIT), _exit (HST_END__EXIT) or before
 * exec (HST_END_EXEC, resumable with shim_resume_after_exec). */
void shim_finish(int reason, int status);
void shim_resume_after_exec(void);

/* Claim the right to finish the trace (exit, _exit, exec and a scan take
 * turns; the attach shim's detach too): 1 if the caller got it, 0 if
 * another thread holds it.  shim_release_finish hands it back. */
int shim_claim_finish(void);
void shim_release_finish(void);

/*
 * The program is about to change what every thread must share and Linux
 * keeps per thread (set*id, setgroups: glibc makes every thread repeat
 * the call, and aborts if one thread's result differs; unshare and setns
 * of a user namespace want a single-threaded process).  The collector
 * thread is the shim's, not the program's, and its credentials, KEEPCAPS
 * flag or capabilities may differ from the caller's (setpriv drops them
 * per thread): stop it.  Return 1 if stopped; give that to
 * shim_unquiesce after the call, which starts a new collector thread from
 * the calling one (it inherits what the call made).
 */
int shim_quiesce(void);
void shim_unquiesce(int quiesced);

/* heapsnap_leak_check(): a pointer scan now.  Return 0 or -1. */
int shim_leak_check(void);

/* heapsnap_snapshot(label) with snapshot_scan=1: a snapshot and a pointer
 * scan of the heap at it, now.  Return 0 (the snapshot is written, scanned
 * if the scan could run), or -1 when the trace is being finished or
 * scanned by another thread (nothing written). */
int shim_scan_snapshot(const char *label, uint32_t len);

#endif
