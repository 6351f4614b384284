/*
 * session.h - what every trace of one analysis session shares: the module
 * files and their symbols (symbols.h: each file opened and each address
 * resolved once, whatever the number of traces), the allocator wrapper
 * patterns (frames.h), and the warnings the library returns instead of
 * printing.
 */
#ifndef HS_ANALYZE_SESSION_H
#define HS_ANALYZE_SESSION_H

#include <heapsnap-analyze.h>

struct hs_session {
	struct sym_files *files;	/* libdw sessions and the symbol cache */
	struct frames *wrappers;	/* allocator wrapper patterns in force */
	char **warnings;	/* queued, oldest at warn_head */
	size_t warn_head;	/* index of the oldest not yet taken */
	size_t nwarnings, capwarnings;
};

/* Queue a warning for the caller (formatted like printf, one line).  Out
 * of memory drops it: a warning is never worth failing the analysis. */
void session_warn(struct hs_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
