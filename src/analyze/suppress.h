/*
 * suppress.h - LeakSanitizer suppression files (struct hs_suppressions), as
 * they are:
 *
 *   # comment
 *   leak:PATTERN
 *
 * A leak is suppressed when PATTERN matches the function, the source file
 * or the module of any frame of its allocation stack.  As in LSan, '*'
 * matches any run of characters, a leading '^' or trailing '$' anchors the
 * pattern, and otherwise it may match anywhere in the name.  Other
 * suppression types (interceptor_via_fun:, ...) are skipped with a warning.
 */
#ifndef HS_ANALYZE_SUPPRESS_H
#define HS_ANALYZE_SUPPRESS_H

#include <heapsnap-analyze.h>

/* The suppression that matches any of the frames, or -1. */
int suppress_match(const struct hs_suppressions *sup, const struct hs_frame *frames, int n);

#endif
