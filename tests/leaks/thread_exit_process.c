/* Description: exit from a thread: main keeps a 12001-byte block in a
 * local and blocks in pthread_join; the worker drops a 12002-byte block,
 * keeps a 12003-byte block in a global and calls exit(0), ending the
 * process while main is still blocked.  Expected: definite 1 block, 12002
 * bytes; reachable 2 blocks, 24004 bytes; plus what glibc keeps for the
 * live worker (its DTV: possibly lost, glibc points to it at dtv + 1). */
#include "leak.h"

void *volatile g_keep;

NOINLINE static void drop(void)
{
	void *volatile p = malloc(12002); /* LEAK:dropped */
	p = NULL;
	(void)p;
}

static void *worker(void *arg)
{
	(void)arg;
	drop();
	g_keep = malloc(12003); /* LEAK:global */
	exit(0);
}

int main(void)
{
	pthread_t t;
	void *volatile local = malloc(12001); /* LEAK:main_local */

	if (pthread_create(&t, NULL, worker, NULL))
		return 1;
	pthread_join(t, NULL);
	return local == NULL;
}
