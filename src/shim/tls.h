/*
 * tls.h - per-thread state of the shim.
 * HOOK-SAFE.
 *
 * Life cycle of a thread, as the shim sees it:
 *
 *   TS_UNINIT --first hook--> TS_ACTIVE --key destructor--> TS_DEAD
 *   TS_INTERNAL: the collector thread, and any thread while it runs shim
 *                code that must not be traced (init, fork handling).
 *
 * TS_UNINIT threads get a ring on their first recorded event.  TS_DEAD
 * threads are past their pthread key destructor: their ring went back to
 * the pool, and what they still allocate goes through the shared orphan
 * ring.  TS_INTERNAL threads allocate from the shim's private arena and are
 * never recorded.
 *
 * The storage is initial-exec TLS: reaching it never calls
 * __tls_get_addr, which could allocate.
 */
#ifndef HS_SHIM_TLS_H
#define HS_SHIM_TLS_H

#include <stdint.h>

#include "util/compiler.h"

enum ts_state { TS_UNINIT = 0, TS_ACTIVE, TS_DEAD, TS_INTERNAL };

struct ring;

struct tls_state {
	uint8_t state;	       /* enum ts_state */
	uint8_t depth;	       /* hook nesting: >0 while inside the shim */
	uint8_t in_ring;       /* a ring write is in progress on this thread */
	uint8_t py_inner;      /* inside a Python allocator domain call that is
				* recorded as one event (python.c): what it
				* allocates and frees meanwhile is that block */
	uint8_t key_rounds;    /* pthread key destructor calls seen */
	uint8_t tc_try;	       /* the thread's trace cache is on: its next
				* stack may be there (set by unwind.c, read
				* by stack.h) */
	uint32_t disabled;     /* heapsnap_disable() nesting */
	struct ring *ring;     /* this thread's ring (TS_ACTIVE) */
	uint32_t thread_index; /* as events name this thread */
	uint32_t ndeferred;    /* entries in deferred */
	uint32_t key_sets;     /* pthread_setspecific calls (intercept.c) */
	uint32_t py_ts_sets;   /* key_sets and intercept_key_deletes when */
	uint32_t py_ts_dels;   /* py_ts was read (python.c) */
	uintptr_t py_ts;       /* the interpreter's thread state of this
				* thread, 0: not read */
	void *deferred[16];    /* blocks freed by nested calls, released when
				* the interrupted hook is done (nestpool.h) */
#ifdef HS_DEBUG
	uint32_t spins;	       /* spin locks held (spin.h) */
#endif
};

extern HS_TLS struct tls_state tls;

#endif
