/*
 * compiler.h - small portability and annotation macros shared by every module.
 * HOOK-SAFE: macros only.
 */
#ifndef HS_UTIL_COMPILER_H
#define HS_UTIL_COMPILER_H

/* Marks a function reachable from inside an allocation hook: it must not
 * allocate from the traced heap, take a lock held across a call out, or use
 * stdio.  The marker is documentation; tests/check-hooksafe.sh checks the
 * objects' undefined symbols. */
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
 * ALWAYS/NEVER mark defensive checks on untrusted input (a trace file):
 * debug builds assert that the condition never happens in our own files,
 * release builds tolerate it and take the error path.
 */
#ifdef HS_DEBUG
#include <assert.h>
#define ALWAYS(x) (assert(x), 1)
#define NEVER(x) (assert(!(x)), 0)
#else
#define ALWAYS(x) (x)
#define NEVER(x) (x)
#endif

#endif
