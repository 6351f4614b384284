/*
 * unwind.h - x86-64 stack capture whose cost follows what changed since the
 * thread's previous capture, not the depth of the stack.
 * HOOK-SAFE.
 *
 * The stack is, by definition, what libunwind's unw_backtrace returns.
 * unwind_capture computes the same frames itself in the common case, and
 * says UNWIND_FALLBACK when it meets anything else, for the caller to run
 * unw_backtrace.  See unwind.c for how, and why it is exact.
 */
#ifndef HS_SHIM_UNWIND_H
#define HS_SHIM_UNWIND_H

#include <stdbool.h>
#include <stdint.h>

#include "util/compiler.h"

/* Frames a memo holds: deeper stacks are captured, not remembered. */
#define UNWIND_MEMO_FRAMES 256

/* unwind_capture's answers. */
#define UNWIND_OK 0
#define UNWIND_FALLBACK (-1) /* a frame only libunwind can step: ask it */

/* One thread's previous capture (unwind.c).  Used by one thread at a time. */
struct unwind_memo;

/* A capture: valid until the memo's next capture. */
struct unwind_stack {
	const uint64_t *ips; /* innermost first */
	uint32_t n;	     /* frames, at most max_frames */
	uint32_t id;	     /* stack id of these very frames last time, or 0 */
	uint64_t hash;	     /* stack_hash(ips, n) */
	/* The outermost `same` frames are those of the capture numbered
	 * seq - 1 of the memo named token (the same pcs at the same depths
	 * from the outermost frame); 0 when unknown. */
	uint32_t same;
	uint32_t seq;	     /* this capture's number in its memo */
	uintptr_t token;     /* its memo */
};

/* Set up the rule table.  max_frames bounds every capture; [skip_lo,
 * skip_hi) is the shim's code, whose frames are dropped from the top;
 * stats: count what the captures do (unwind_stats_get).  Return 0 or
 * -ENOMEM. */
int unwind_init(uint32_t max_frames, uintptr_t skip_lo, uintptr_t skip_hi, bool stats);

/* The memo of ring slot `slot` (0 <= slot < RINGS_MAX), made on first use,
 * reset when `owner` (a thread index) is not the thread that used it last.
 * The caller must own the ring: nobody else uses its memo meanwhile.
 * NULL if it cannot be mapped. */
struct unwind_memo *unwind_memo_get(uint32_t slot, uint32_t owner);

/* Registers of the frame that calls UNWIND_HERE: its pc, sp and rbp, all
 * read at one instruction, whose CFI row describes them. */
#define UNWIND_HERE(ip, sp, bp) \
	__asm__ volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2" : "=r"(ip), "=r"(sp), "=r"(bp))

/*
 * The frame that called the function using it, as three arguments: the
 * return address, the CFA of the function's frame (rsp after the return)
 * and rbp at the call, which is what an unwind of the function's frame
 * gives.  __builtin_frame_address(0) makes gcc and clang give the
 * function the standard frame (push %rbp; mov %rsp, %rbp), so the saved
 * rbp is at the frame address and the return address above it.  For the
 * shim's entry points: the program's frame is then known without
 * unwinding the shim's own.
 */
#define UNWIND_FA_ ((const uint64_t *)__builtin_frame_address(0))
#define UNWIND_CALLER UNWIND_FA_[1], (uint64_t)(uintptr_t)(UNWIND_FA_ + 2), UNWIND_FA_[0]

/* unwind_capture's flags. */
#define UNWIND_F_CALLER 1u /* the frame UNWIND_CALLER named, not UNWIND_HERE's */
#define UNWIND_F_IPS 2u	   /* out->ips wanted even when out->id is known */
#define UNWIND_F_TRIED 4u  /* the stack was looked up in the thread's trace
			    * cache already (unwind_cached), and is not there */

/* Capture the stack from a frame of the shim, which must still be live:
 * without UNWIND_F_CALLER, the frame whose registers UNWIND_HERE read;
 * with it, the frame UNWIND_CALLER named (ip a return address).
 * UNWIND_OK with *out set, or UNWIND_FALLBACK.  m may not be NULL.
 * Without UNWIND_F_IPS, out->ips is not to be read when out->id is set (a
 * stack found by its id needs no frames: they are not copied out). */
int unwind_capture(struct unwind_memo *m, uint64_t ip, uint64_t sp, uint64_t bp, unsigned flags,
		   struct unwind_stack *out);

/* The fast path of unwind_capture for a hook's caller (UNWIND_CALLER) when
 * no frames are needed, on the memo of ring slot `slot` if `owner` used it
 * last: the stack's id if the thread's trace cache has the stack, else 0,
 * and then *tried set if it was looked up there (for unwind_capture). */
uint32_t unwind_cached(uint32_t slot, uint32_t owner, uint64_t ip, uint64_t sp, uint64_t bp, bool *tried);

/* The caller interned m's last capture as id: a repeat returns it. */
void unwind_memo_set_id(struct unwind_memo *m, uint32_t id);

/* The stack ids handed out so far are void (a detached session's): drop
 * every id remembered, with the frames and stacks they belong to.  No
 * thread may capture a stack meanwhile. */
void unwind_forget_ids(void);

/* A module may have gone (dlclose): rules and memos made so far are stale.
 * Call before and after the unload. */
void unwind_modules_changed(void);

/* Memory may have been unmapped or made unreadable (munmap, mremap,
 * mprotect): stack words remembered are not read again before an unwind
 * reads them. */
void unwind_maps_changed(void);

/* One frame of another thread's stack, stopped for a scan (world.h): from
 * the frame at *pc with *sp and *bp (innermost: *pc is where the thread
 * stopped, else a return address), by the CFI of the module whose
 * .eh_frame_hdr is at hdr, to its caller's pc, sp and bp.  Stack words are
 * read only inside [lo, hi).  Return 1, or 0 when the frame cannot be
 * stepped by a rule (then its caller is unknown). */
int unwind_step_stopped(uintptr_t hdr, int innermost, uint64_t *pc, uint64_t *sp, uint64_t *bp, uint64_t lo,
			uint64_t hi);

/* What the capture paths did, for stack_verify's report (relaxed counts;
 * all 0 unless unwind_init was asked to count). */
struct unwind_stats {
	uint64_t captures;  /* unwind_capture calls */
	uint64_t fallbacks; /* of them, UNWIND_FALLBACK */
	uint64_t repeats;   /* the very stack of the thread's previous capture */
	uint64_t reused;    /* frames taken from the memo, validated */
	uint64_t stepped;   /* frames of the program stepped by rule */
	uint64_t rule_misses; /* rules computed from .eh_frame */
	uint64_t cached;    /* stacks found in a thread's trace cache */
};
void unwind_stats_get(struct unwind_stats *s);

/* The hash of a stack (ips innermost first), as interning uses it.  It
 * runs from the outermost frame in, so that a memo can keep the hash of
 * every suffix.  One xor and one multiply a frame: the top bits depend on
 * every bit of every frame (a product's bit j depends on the factors' bits
 * up to j), so users take their slots from the top bits; the low bits
 * depend only on the frames' low bits. */
#define UNWIND_HASH_SEED 0x6a09e667f3bcc909ull

HS_INLINE uint64_t unwind_hash_step(uint64_t h, uint64_t ip)
{
	return (h ^ ip) * 0x9e3779b97f4a7c15ull;
}

HS_INLINE uint64_t unwind_hash(const uint64_t *ips, uint32_t n)
{
	uint64_t h = UNWIND_HASH_SEED;

	/* two frames an iteration: half the loop's own instructions */
	for (; n >= 2; n -= 2)
		h = unwind_hash_step(unwind_hash_step(h, ips[n - 1]), ips[n - 2]);
	if (n)
		h = unwind_hash_step(h, ips[0]);
	return h;
}

#endif
