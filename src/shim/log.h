/*
 * log.h - one-line warnings from inside the traced process: a static
 * buffer and write(2) to stderr, never stdio or the heap.
 * HOOK-SAFE.
 */
#ifndef HS_SHIM_LOG_H
#define HS_SHIM_LOG_H

#include <stdint.h>

/* Print "heapsnap: WARNING: <a><b><c>\n" to stderr (any part may be NULL). */
void log_warn(const char *a, const char *b, const char *c);

/* Print "heapsnap: <a><number><b>\n" to stderr. */
void log_info_num(const char *a, uint64_t num, const char *b);

/* Send the lines to fd instead of stderr (-1: drop them).  The attach shim
 * sends them to heapsnap attach, which prints them: the program's stderr
 * is the program's. */
void log_set_fd(int fd);

#endif
