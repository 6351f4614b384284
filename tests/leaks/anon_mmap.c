/* Description: a pointer kept in anonymous memory the program mapped
 * itself (as a custom pool or arena would): a 15001-byte block whose only
 * pointer is in an mmap'ed page, which stays mapped; a 15002-byte block
 * whose pointer was in a page that is unmapped before exit.  Writable
 * anonymous mappings are roots, as in memcheck.  Expected: reachable 1
 * block, 15001 bytes; definite 1 block, 15002 bytes. */
#include <sys/mman.h>

#include "leak.h"

void **volatile g_pool;

NOINLINE static void make(void)
{
	void **volatile gone = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	g_pool = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g_pool == MAP_FAILED || gone == MAP_FAILED)
		abort();
	g_pool[17] = malloc(15001); /* LEAK:pooled */
	gone[9] = malloc(15002); /* LEAK:unmapped */
	munmap((void *)gone, 4096);
	gone = NULL;
}

int main(void)
{
	make();
	return 0;
}
