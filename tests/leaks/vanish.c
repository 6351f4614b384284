/* Description: a root that vanishes while the exit scan reads it.  A
 * worker that blocks every signal (so the scan cannot stop it: it runs on)
 * unmaps a 32 MiB anonymous mapping of its own and maps it again at the
 * same place, over and over, until the process ends: /proc/self/maps lists
 * it when the scan starts, and it is gone, for a moment at a time, while
 * the scan reads it (page by page: the scan faults on it).  main keeps a
 * 17001-byte block in an anonymous page that stays mapped and drops a
 * 17002-byte block.  Expected: the run ends normally; the program's own
 * blocks: reachable 1 block, 17001 bytes; definite 1 block, 17002 bytes;
 * plus the running thread's DTV. */
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>

#include "leak.h"

#define SPAN (32u << 20)

void **volatile g_pool;

NOINLINE static void make(void)
{
	void *volatile p = malloc(17002); /* LEAK:dropped */

	g_pool = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g_pool == MAP_FAILED)
		abort();
	g_pool[5] = malloc(17001); /* LEAK:pooled */
	p = NULL;
	(void)p;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *flip(void *arg)
{
	sigset_t all;
	char *at = mmap(NULL, SPAN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)arg;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	if (at == MAP_FAILED)
		abort();
	for (int first = 1;; first = 0) {
		if (first) {
			char c = 'r';
			if (write(ready_pipe[1], &c, 1) != 1)
				abort();
		}
		/* mapped most of the time: listed when the scan reads the maps */
		for (uint64_t t = now_ns(); now_ns() - t < 200000;)
			;
		munmap(at, SPAN);
		/* the same place, unless something took it meanwhile */
		char *again = mmap(at, SPAN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
				   -1, 0);
		if (again == MAP_FAILED)
			again = mmap(NULL, SPAN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (again == MAP_FAILED)
			abort();
		at = again;
	}
	return NULL;
}

int main(void)
{
	pthread_t t;

	pipes_init();
	make();
	if (pthread_create(&t, NULL, flip, NULL))
		return 1;
	wait_ready();
	return 0;
}
