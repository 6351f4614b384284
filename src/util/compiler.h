/*
 * compiler.h - small portability and annotation macros shared by every module.
 * HOOK-SAFE: macros only.
 */
#ifndef HS_UTIL_COMPILER_H
#define HS_UTIL_COMPILER_H

/* Marks a function reachable from inside an allocation hook (or a signal
 * handler) that is not in a HOOK-SAFE file: it must not allocate from the
 * traced heap, take a lock held across a call out, or use stdio.  It expands
 * to nothing; `make check-hooksafe` (tests/hooksafe.py) reads the marks and
 * fails when a hook can reach a function that has none, or a marked
 * function uses what src/shim/hooksafe.allow does not grant. */
#define HS_HOOKSAFE

#define HS_LIKELY(x) __builtin_expect(!!(x), 1)
#define HS_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define HS_UNUSED __attribute__((unused))
#define HS_NOINLINE __attribute__((noinline))
#define HS_INLINE static inline __attribute__((always_inline))
#define HS_CACHELINE 64
#define HS_ALIGNED_CACHELINE __attribute__((aligned(HS_CACHELINE)))
#define HS_EXPORT __attribute__((visibility("default")))
#define HS_TLS __thread __attribute__((tls_model("initial-exec")))
#define HS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * ALWAYS/NEVER mark defensive checks of conditions that cannot happen in
 * our own data (sqlite's): the debug build (HS_DEBUG) asserts, a release
 * build tolerates them and takes the error path.  Not for untrusted input
 * such as a trace file, which may be anything.
 */
#ifdef HS_DEBUG
#include "util/assert.h"
#define ALWAYS(x) ((x) ? 1 : (HS_ASSERT(!"ALWAYS(" #x ")"), 0))
#define NEVER(x) ((x) ? (HS_ASSERT(!"NEVER(" #x ")"), 1) : 0)
#else
#define ALWAYS(x) (x)
#define NEVER(x) (x)
#endif

#endif
