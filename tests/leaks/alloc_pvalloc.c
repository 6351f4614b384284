/* Description: pvalloc, which rounds the size up to whole pages: the
 * block is the whole page, 4096 bytes (glibc's malloc_usable_size says
 * so, and the program may use all of it).  pvalloc(1010) dropped:
 * definitely lost, 4096 bytes.  pvalloc(1) kept in a global, holding at
 * offset 2400 (beyond the 1 byte asked for, inside the page) the only
 * pointer to a 17001-byte block: both still reachable.  Expected:
 * definite 1 block, 4096 bytes; reachable 2 blocks, 21097 bytes.
 * (Valgrind 3.19 aborts the program at its first pvalloc call.) */
#include <malloc.h>

#include "leak.h"

char *volatile g_page;

NOINLINE static void make(void)
{
	void *volatile p = pvalloc(1010); /* LEAK:dropped */
	void *volatile q;

	g_page = pvalloc(1); /* LEAK:kept */
	q = malloc(17001); /* LEAK:inside */
	*(void **)(g_page + 2400) = q;
	p = q = NULL;
	(void)p;
}

int main(void)
{
	make();
	return 0;
}
