/*
 * atomic.h - named-ordering wrappers over <stdatomic.h>.
 * HOOK-SAFE.
 *
 * Every atomic access in heapsnap goes through one of these, so its memory
 * order is visible (and greppable) at the call site; there is no default
 * seq_cst anywhere.  Each call site carries a one-line comment saying why
 * that order is enough.
 *
 *   atomic_load_rlx / atomic_store_rlx      no ordering, just no tearing
 *   atomic_load_acq / atomic_store_rel      publish / consume pairs
 *   atomic_fetch_add_rlx, _acq_rel          counters, id allocation
 *   atomic_fetch_sub_rlx                    counters
 *   atomic_cas_acq_rel                      claim / publish in one step
 */
#ifndef HS_UTIL_ATOMIC_H
#define HS_UTIL_ATOMIC_H

#include <stdatomic.h>
#include <stdbool.h>

#define atomic_load_rlx(p) atomic_load_explicit((p), memory_order_relaxed)
#define atomic_load_acq(p) atomic_load_explicit((p), memory_order_acquire)
#define atomic_store_rlx(p, v) atomic_store_explicit((p), (v), memory_order_relaxed)
#define atomic_store_rel(p, v) atomic_store_explicit((p), (v), memory_order_release)
#define atomic_fetch_add_rlx(p, v) atomic_fetch_add_explicit((p), (v), memory_order_relaxed)
#define atomic_fetch_sub_rlx(p, v) atomic_fetch_sub_explicit((p), (v), memory_order_relaxed)
#define atomic_fetch_add_acq_rel(p, v) atomic_fetch_add_explicit((p), (v), memory_order_acq_rel)
#define atomic_exchange_acq_rel(p, v) atomic_exchange_explicit((p), (v), memory_order_acq_rel)
#define atomic_cas_acq_rel(p, expected, desired) \
	atomic_compare_exchange_strong_explicit((p), (expected), (desired), \
						memory_order_acq_rel, memory_order_acquire)
#define atomic_fence_seq_cst() atomic_thread_fence(memory_order_seq_cst)

#endif
