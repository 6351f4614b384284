/*
 * assert.h - HS_ASSERT, an assertion that is safe inside an allocation
 * hook or a signal handler: write(2) of one line and abort(), no stdio, no
 * heap.  Active in the debug build (make HS_DEBUG=1), where preconditions
 * written as assertions ("caller holds registry_lock", "thread is
 * TS_INTERNAL") are checked; in release builds the condition is not even
 * evaluated.
 * HOOK-SAFE.
 */
#ifndef HS_UTIL_ASSERT_H
#define HS_UTIL_ASSERT_H

#ifdef HS_DEBUG
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/compiler.h"

/* Print "heapsnap: FILE:LINE: assertion failed: EXPR" and abort. */
static HS_HOOKSAFE __attribute__((noreturn, cold, noinline, unused)) void hs_assert_fail(const char *expr, const char *file, int line)
{
	char num[12];
	int i = (int)sizeof(num);
	unsigned v = line > 0 ? (unsigned)line : 0;

	do
		num[--i] = (char)('0' + v % 10);
	while ((v /= 10) && i > 0);
	(void)!write(STDERR_FILENO, "heapsnap: ", 10);
	(void)!write(STDERR_FILENO, file, strlen(file));
	(void)!write(STDERR_FILENO, ":", 1);
	(void)!write(STDERR_FILENO, num + i, sizeof(num) - (size_t)i);
	(void)!write(STDERR_FILENO, ": assertion failed: ", 20);
	(void)!write(STDERR_FILENO, expr, strlen(expr));
	(void)!write(STDERR_FILENO, "\n", 1);
	abort();
}

#define HS_ASSERT(x) (__builtin_expect(!!(x), 1) ? (void)0 : hs_assert_fail(#x, __FILE__, __LINE__))
#else
/* Not evaluated, but still compiled: a name used only here stays used. */
#define HS_ASSERT(x) ((void)sizeof(!(x)))
#endif

#endif
