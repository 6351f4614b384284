/*
 * log.c - warnings through a stack buffer and write(2).
 * HOOK-SAFE.
 */
#include "shim/log.h"

#include <unistd.h>

#include "util/atomic.h"
#include "util/fmt.h"
#include "util/hooksafe.h"

static _Atomic int log_fd = STDERR_FILENO;

void log_set_fd(int fd)
{
	/* relaxed: a warning racing the change goes to either place */
	atomic_store_rlx(&log_fd, fd);
}

static void emit(const struct fmt_buf *buf)
{
	int fd = atomic_load_rlx(&log_fd); /* relaxed: see log_set_fd */

	if (fd >= 0)
		(void)fmt_write_all(fd, buf->p, buf->len);
}

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
	emit(&buf);
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
	emit(&buf);
}
