/* Description: leaks in threads that already exited: two worker threads,
 * joined before main returns.  The first drops an 8001-byte block and
 * keeps an 8002-byte one in a global; the second drops an 8003-byte block
 * and leaves through pthread_exit from a nested function.  Expected:
 * definite 2 blocks, 16004 bytes; reachable 1 block, 8002 bytes; nothing
 * else: at exit glibc (__libc_freeres, which Valgrind and heapsnap run)
 * frees the exited threads' cached stacks and DTVs, and unloads libgcc_s,
 * which pthread_exit loaded with dlopen for its forced unwinding. */
#include "leak.h"

void *volatile g_keep;

NOINLINE static void drop(size_t n)
{
	void *volatile p = malloc(n); /* LEAK:dropped */
	p = NULL;
	(void)p;
}

static void *worker1(void *arg)
{
	(void)arg;
	drop(8001);
	g_keep = malloc(8002); /* LEAK:kept */
	return NULL;
}

NOINLINE static void leave(void)
{
	pthread_exit(NULL);
}

static void *worker2(void *arg)
{
	(void)arg;
	drop(8003);
	leave();
	return NULL;
}

int main(void)
{
	pthread_t t1, t2;

	if (pthread_create(&t1, NULL, worker1, NULL) || pthread_join(t1, NULL))
		return 1;
	if (pthread_create(&t2, NULL, worker2, NULL) || pthread_join(t2, NULL))
		return 1;
	return 0;
}
