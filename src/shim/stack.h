/*
 * stack.h - capture the calling stack and intern it: each distinct stack
 * gets a small id, and is written to the trace once.
 * HOOK-SAFE.
 *
 * Capture is unwind.c's (the frames that changed since the thread's last
 * capture), or libunwind's unw_backtrace where unwind.c cannot step a
 * frame; the result is unw_backtrace's either way (stack_verify=1 checks
 * every capture against it).
 * Lookups are lock-free (an open-addressing index of (hash, id) words that
 * is only ever replaced whole, by a bigger copy).  Inserting a new stack
 * takes a spin lock: new stacks are rare (their number is bounded by the
 * program's call sites), and lock-free growth is not worth its complexity.
 * Entries live in the ring file, so a crashed process leaves them too.
 */
#ifndef HS_SHIM_STACK_H
#define HS_SHIM_STACK_H

#include <stdbool.h>
#include <stdint.h>

#include "shim/python.h"
#include "shim/ring.h"
#include "shim/tls.h"
#include "shim/unwind.h"
#include "trace/ringfile.h"
#include "util/compiler.h"

/* Set up the table; call once from global init.  skip_lo/hi bound the
 * shim's own code, whose frames are dropped from the top of every stack.
 * The id table reserves at most max_bytes of address space (128 MiB when
 * memory is not limited). */
int stack_init(uint32_t max_frames, uintptr_t skip_lo, uintptr_t skip_hi, uint64_t max_bytes);

/* stack_capture's parts (below): stack_verify=1; the stack when the
 * thread's trace cache does not have it (tried: it was looked up there);
 * a thread's without a cache; stack_verify's check of a stack the cache
 * gave. */
extern bool stack_verify_on;
uint32_t stack_capture_miss(uint64_t ip, uint64_t sp, uint64_t bp, bool tried);
uint32_t stack_capture_plain(uint64_t ip, uint64_t sp, uint64_t bp);
void stack_verify_cached(uint32_t id);

/* Capture the stack of the program's frame that called the shim's entry
 * point (ip, sp, bp: UNWIND_CALLER in that entry point, unwind.h), and
 * return its id (>= 1), or 0 if none.  The shim's own frames are not
 * unwound.  The entry point must still be running.  Inline: most of a
 * thread's stacks, once it has a trace cache, come from there
 * (unwind_cached) without another call, when nothing needs their frames
 * (a Python program's stacks get its Python frames put in). */
HS_INLINE uint32_t stack_capture(uint64_t ip, uint64_t sp, uint64_t bp)
{
	struct tls_state *t = &tls;

	if (HS_LIKELY(!t->tc_try))
		return stack_capture_plain(ip, sp, bp);
	bool tried = false;
	if (HS_LIKELY(t->state == TS_ACTIVE && t->ring != 0 && !python_wanted())) {
		uint32_t id = unwind_cached(t->ring->slot, t->thread_index, ip, sp, bp, &tried);
		if (HS_LIKELY(id != 0)) {
			/* stack_verify: the stack the id names is the full
			 * unwind's (this very path checked, not another) */
			if (HS_UNLIKELY(stack_verify_on))
				stack_verify_cached(id);
			return id;
		}
	}
	return stack_capture_miss(ip, sp, bp, tried);
}

/* The same from the calling frame, a frame of the shim: its frames on
 * top are unwound and dropped. */
uint32_t stack_capture_here(void);

/* A module may have gone (dlclose): drop every unwinding cache built from
 * it.  Call before and after the unload. */
void stack_modules_changed(void);

/* A module was unloaded (dlclose): another may come at its address with
 * the same return addresses, so every stack from now on gets a new id (a
 * new STACK record, after the module written for it: the analyzer reads
 * its frames in the modules of that time).  The old ids stay valid.  Call
 * stack_modules_unloading before the unload (it maps what this needs),
 * this after it, before stack_modules_changed. */
void stack_modules_unloading(void);
void stack_modules_unloaded(void);

/* The current epoch (unloads so far that renewed the ids), and that of
 * stack id. */
uint32_t stack_epoch(void);
uint32_t stack_epoch_of(uint32_t id);

/* stack_verify=1: print the counts of captures checked and mismatched
 * since the last report (at exit, _exit and exec). */
void stack_verify_report(void);

/* Number of ids handed out; ids 1..n are complete. */
uint32_t stack_count(void);

/* The entry of id (1 <= id <= stack_count()). */
const struct ringfile_stack_entry *stack_get(uint32_t id);

/* In a forked child: copy every entry into the child's ring file. */
int stack_rehome(void);

/* Forget every stack and unmap the ring file's entries segments (heapsnap
 * attach detached; the next trace starts with an empty table).  No thread
 * may be inside stack_capture. */
void stack_reset(void);

/* fork(): take / release the insert lock. */
void stack_lock(void);
void stack_unlock(void);

#endif
