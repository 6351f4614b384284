/*
 * clock.h - event timestamps: CLOCK_MONOTONIC nanoseconds.  Through the
 * vDSO this is no system call.  The free of a block is stamped before the
 * block is released and an allocation after it is obtained, so two events
 * on one address are ordered by their stamps even across threads.
 * HOOK-SAFE.
 */
#ifndef HS_SHIM_CLOCK_H
#define HS_SHIM_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
