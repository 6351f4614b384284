/*
 * unwmask.h - libunwind's signal masking done once per full unwind, not
 * twice per frame (stack_verify=1).
 * HOOK-SAFE (unwmask_begin, unwmask_end).
 *
 * Debian's libunwind 1.6 has no per-thread cache: its configure never
 * defines HAVE___THREAD, so unw_set_caching_policy turns
 * UNW_CACHE_PER_THREAD into UNW_CACHE_GLOBAL, and every unw_step takes the
 * global cache's lock with every signal blocked around it, two sigprocmask
 * system calls a frame (include/libunwind_i.h, lock_acquire and
 * lock_release).  stack_verify=1 unwinds every event in full: 40 system
 * calls a stack, four fifths of the CPU time of a traced program.
 *
 * unwmask_init points libunwind's sigprocmask slot (its GOT entry) at a
 * function of the shim's: inside unwmask_begin / unwmask_end, on a thread
 * that already has every signal blocked (unwmask_begin blocks them), it
 * answers without a system call; anywhere else it is sigprocmask.  What
 * libunwind's masking guarantees (no signal handler runs on a thread that
 * holds its lock) holds for the whole unwind instead of each frame.
 */
#ifndef HS_SHIM_UNWMASK_H
#define HS_SHIM_UNWMASK_H

#include <signal.h>

/* Redirect libunwind's sigprocmask slot.  Call once, from init, before
 * any unwmask_begin.  Return 0, or -1 when the slot was not found (the
 * masking stays libunwind's: correct, only slower). */
int unwmask_init(void);

/* Block every signal on this thread, saving the mask in *saved, and
 * answer libunwind's own masking without system calls until unwmask_end.
 * Return 1 if so, 0 if unwmask_init found no slot (nothing done). */
int unwmask_begin(sigset_t *saved);

/* Undo unwmask_begin (only after one that returned 1). */
void unwmask_end(const sigset_t *saved);

#endif
