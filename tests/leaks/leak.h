/*
 * leak.h - helpers shared by the leak scenarios in tests/leaks/ (not a
 * scenario itself).  Every scenario is built with -O0 -g and frame
 * pointers, so call sites stay where the source says.
 *
 * Keeping a leaked block's address out of the roots: the block is
 * allocated in a NOINLINE function whose locals are volatile and set to
 * NULL before it returns, so no live stack slot or global holds it.  The
 * dead frames below the stack pointer are not roots (heapsnap scrubs them
 * at exit; Valgrind marks them unaddressable).
 */
#ifndef LEAK_H
#define LEAK_H

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

/* A pipe for a worker thread to say it is ready, and one it then blocks
 * on forever (nobody writes to it). */
static int ready_pipe[2], block_pipe[2];

static inline void pipes_init(void)
{
	if (pipe(ready_pipe) || pipe(block_pipe))
		abort();
}

/* In the worker: tell main we are ready, then block in read(2). */
static inline void signal_ready_and_block(void)
{
	char c = 'r';

	if (write(ready_pipe[1], &c, 1) != 1)
		abort();
	for (;;)
		if (read(block_pipe[0], &c, 1) <= 0)
			break;
	abort();
}

/* In main: wait for the worker's ready byte. */
static inline void wait_ready(void)
{
	char c;

	if (read(ready_pipe[0], &c, 1) != 1)
		abort();
}

/* The directory of this executable + name, for dlopen. */
#include <limits.h>
#include <string.h>
static inline const char *beside_exe(const char *name)
{
	static char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 64);

	if (n <= 0)
		abort();
	path[n] = 0;
	strcpy(strrchr(path, '/') + 1, name);
	return path;
}

#endif
