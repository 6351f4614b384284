/*
 * suppress.h - LeakSanitizer suppression files, as they are:
 *
 *   # comment
 *   leak:PATTERN
 *
 * A leak is suppressed when PATTERN matches the function, the source file
 * or the module of any frame of its allocation stack.  As in LSan, '*'
 * matches any run of characters, a leading '^' or trailing '$' anchors the
 * pattern, and otherwise it may match anywhere in the name.  Other
 * suppression types (interceptor_via_fun:, ...) are reported and skipped.
 */
#ifndef HS_ANALYZE_SUPPRESS_H
#define HS_ANALYZE_SUPPRESS_H

#include <stdint.h>

#include "analyze/symbols.h"
#include "util/diag.h"

struct suppression {
	char *pattern;	  /* as written after "leak:" */
	char *glob;	  /* the pattern as an anchored glob */
	unsigned line;	  /* in its file */
	uint64_t leaks;	  /* loss records it matched */
	uint64_t blocks;  /* and their blocks */
	uint64_t bytes;	  /* and bytes */
};

struct suppressions {
	struct suppression *s;
	unsigned n;
	char *path; /* the file, or NULL when none was given */
};

/* Read a suppression file.  Return 0, or -1 with d set (the CLI exits 2).
 * Lines of other types are skipped with a warning on stderr. */
int suppress_load(struct suppressions *sup, const char *path, struct hs_diag *d);
void suppress_free(struct suppressions *sup);

/* The suppression that matches any of the frames, or -1. */
int suppress_match(const struct suppressions *sup, const struct sym_frame *frames, int n);

#endif
