/* Description: a pointer held only on another thread's stack while it
 * blocks: a worker allocates a 6101-byte block, keeps the only pointer to
 * it in a local of its start function and blocks in read(2); main drops
 * nothing, waits for it to be ready and calls exit(0).  The worker also
 * drops a 6102-byte block before blocking (definitely lost).  Expected,
 * the program's own blocks: reachable 1 block, 6101 bytes; definite 1
 * block, 6102 bytes; plus the live thread's DTV (possibly lost: glibc
 * points to it at dtv + 1). */
#include "leak.h"

NOINLINE static void drop(void)
{
	void *volatile p = malloc(6102); /* LEAK:dropped */
	p = NULL;
	(void)p;
}

static void *worker(void *arg)
{
	void *volatile on_stack = malloc(6101); /* LEAK:on_stack */

	(void)arg;
	drop();
	signal_ready_and_block();
	return (void *)on_stack;
}

int main(void)
{
	pthread_t t;

	pipes_init();
	if (pthread_create(&t, NULL, worker, NULL))
		return 1;
	wait_ready();
	exit(0);
}
