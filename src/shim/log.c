/*
 * log.c - warnings through a stack buffer and write(2).
 * HOOK-SAFE.
 */
#include "shim/log.h"

#include <unistd.h>

#include "util/fmt.h"
#include "util/hooksafe.h"

void log_warn(const char *a, const char *b, const char *c)
{
	char storage[512];
	struct fmt_buf buf;

	fmt_init(&buf, storage, sizeof(storage));
	fmt_str(&buf, "heapsnap: WARNING: ");
	if (a)
		fmt_str(&buf, a);
	if (b)
		fmt_str(&buf, b);
	if (c)
		fmt_str(&buf, c);
	fmt_str(&buf, "\n");
	(void)fmt_write_all(STDERR_FILENO, buf.p, buf.len);
}

void log_info_num(const char *a, uint64_t num, const char *b)
{
	char storage[512];
	struct fmt_buf buf;

	fmt_init(&buf, storage, sizeof(storage));
	fmt_str(&buf, "heapsnap: ");
	fmt_str(&buf, a);
	fmt_u64(&buf, num);
	fmt_str(&buf, b);
	fmt_str(&buf, "\n");
	(void)fmt_write_all(STDERR_FILENO, buf.p, buf.len);
}
