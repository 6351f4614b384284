/*
 * fmt.h - formatting without the heap, for code that runs inside the traced
 * process: append decimal/hex numbers and strings to a bounded buffer, and
 * write a buffer to a file descriptor whole.
 * HOOK-SAFE.
 */
#ifndef HS_UTIL_FMT_H
#define HS_UTIL_FMT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A bounded output buffer; appends past the end are cut, never overflow. */
struct fmt_buf {
	char *p;    /* start of the caller's storage */
	size_t len; /* bytes used, excluding the NUL */
	size_t cap; /* bytes of storage, NUL included */
};

void fmt_init(struct fmt_buf *b, char *storage, size_t cap);
void fmt_str(struct fmt_buf *b, const char *s);
void fmt_mem(struct fmt_buf *b, const char *s, size_t n);
void fmt_u64(struct fmt_buf *b, uint64_t v);
void fmt_hex(struct fmt_buf *b, uint64_t v);

/* Write all n bytes, retrying on EINTR and short writes.  Return 0 or -errno. */
int fmt_write_all(int fd, const void *buf, size_t n);

/* Write all n bytes at offset off (pwrite).  Return 0 or -errno. */
int fmt_pwrite_all(int fd, const void *buf, size_t n, off_t off);

/* Parse the lowercase hex digits at *p (no 0x), moving *p past them; the
 * value, 0 if there are none. */
uint64_t fmt_scan_hex(const char **p);

/* Parse a decimal u64 from s (all of it).  Return 0 or -EINVAL. */
int fmt_parse_u64(const char *s, size_t n, uint64_t *out);

#endif
