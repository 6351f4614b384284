/* Description: a block at a 1 GiB boundary: posix_memalign with a 1 GiB
 * alignment (18001 bytes; the address space is reserved, not touched),
 * then the pointer is dropped: definitely lost, like any other block; a
 * value that happens to equal its address, kept by the allocator for
 * itself (a cache keyed by the address rounded down to 1 GiB, in the
 * allocator's thread-local data), is no pointer of the program's.  An
 * 18002-byte block kept in a global is still reachable.  Expected:
 * definite 1 block, 18001 bytes; reachable 1 block, 18002 bytes.
 * (Valgrind 3.19 panics on a 1 GiB alignment.) */
#include "leak.h"

void *volatile g_keep;

NOINLINE static void make(void)
{
	void *volatile p = NULL;

	if (posix_memalign((void **)&p, (size_t)1 << 30, 18001)) /* LEAK:aligned */
		abort();
	p = NULL;
	g_keep = malloc(18002); /* LEAK:kept */
}

int main(void)
{
	make();
	return 0;
}
