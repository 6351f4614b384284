/*
 * diag.h - one-line error messages from the reader and the analyses.  A
 * function that fails fills the caller's struct hs_diag with a line naming
 * the file, where, and what is wrong; the CLI prints it once and exits 2.
 */
#ifndef HS_UTIL_DIAG_H
#define HS_UTIL_DIAG_H

#include <stdarg.h>
#include <stdio.h>

#ifndef HS_DIAG_DEFINED /* include/heapsnap-analyze.h defines the same struct */
#define HS_DIAG_DEFINED
struct hs_diag {
	char msg[1024]; /* the message, "" if none */
};
#endif

__attribute__((format(printf, 2, 3))) static inline void diag_set(struct hs_diag *d, const char *fmt, ...)
{
	va_list ap;

	if (!d)
		return;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
}

#endif
