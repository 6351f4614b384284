/* Description: pointers held only in static TLS: main keeps a 6001-byte
 * block in a __thread variable; a worker thread keeps a 6002-byte block
 * in its own copy of another and then blocks in read(2) while main calls
 * exit(0).  The worker's static TLS sits in its stack mapping, which the
 * exit scan reads with the stopped thread's stack.  Expected, the
 * program's own blocks: reachable 2 blocks, 12003 bytes; nothing lost;
 * plus what glibc keeps for the live thread (its DTV, which glibc points
 * to at dtv + 1, an interior pointer: possibly lost, as memcheck says). */
#include "leak.h"

static __thread void *volatile tls_main;
static __thread void *volatile tls_worker;

NOINLINE static void keep_in_tls(void *volatile *slot, size_t n)
{
	*slot = malloc(n); /* LEAK:tls */
}

static void *worker(void *arg)
{
	(void)arg;
	keep_in_tls(&tls_worker, 6002);
	signal_ready_and_block();
	return NULL;
}

int main(void)
{
	pthread_t t;

	pipes_init();
	keep_in_tls(&tls_main, 6001);
	if (pthread_create(&t, NULL, worker, NULL))
		return 1;
	wait_ready();
	exit(0);
}
