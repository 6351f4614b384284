/*
 * fuzz_common.c - the input-to-files step of every fuzz target (fuzz.h).
 */
#define _GNU_SOURCE
#include "fuzz.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[128];

/* A directory of this process's own: several fuzzers may run at once. */
static void make_dir(void)
{
	if (dir[0])
		return;
	snprintf(dir, sizeof(dir), "/dev/shm/hs-fuzz.%d", (int)getpid());
	if (mkdir(dir, 0700) && access(dir, W_OK)) {
		snprintf(dir, sizeof(dir), "/tmp/hs-fuzz.%d", (int)getpid());
		if (mkdir(dir, 0700) && access(dir, W_OK))
			abort();
	}
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		abort();
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			abort();
		p += w;
		n -= (size_t)w;
	}
	close(fd);
}

void fuzz_split(const uint8_t *data, size_t size, const char *second_suffix, struct fuzz_files *f)
{
	size_t n = size;

	make_dir();
	memset(f, 0, sizeof(*f));
	snprintf(f->first, sizeof(f->first), "%s/t.hst", dir);
	if (second_suffix)
		snprintf(f->second, sizeof(f->second), "%s%s", f->first, second_suffix);
	else
		snprintf(f->second, sizeof(f->second), "%s/u.hst", dir);
	unlink(f->second);
	if (size >= 4) {
		uint32_t len = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
			       (uint32_t)data[3] << 24;
		if (len <= size - 4) {
			data += 4;
			n = len;
			if (size - 4 - len) {
				write_file(f->second, data + len, size - 4 - len);
				f->has_second = 1;
			}
		}
	}
	write_file(f->first, data, n);
}

void fuzz_clean(const struct fuzz_files *f)
{
	unlink(f->first);
	unlink(f->second);
}

FILE *fuzz_devnull(void)
{
	static FILE *null;

	if (!null && !(null = fopen("/dev/null", "w")))
		abort();
	return null;
}
