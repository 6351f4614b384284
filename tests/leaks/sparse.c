/* Description: pointers in big memory the program touched only here and
 * there: a 64 MiB block (kept by a global) whose page at 40 MiB holds the
 * only pointer to an 18001-byte block, and a 64 MiB anonymous mapping (a
 * root) whose page at 33 MiB holds the only pointer to an 18002-byte
 * block; an 18003-byte block is dropped.  The exit scan reads only the
 * pages that are mapped (scan.c, collect_mapped), and must still find the
 * two pointers.  Expected: reachable 2 blocks (64 MiB + 18001, the
 * mapping's 18002 too: 3 blocks), definite 1 block, 18003 bytes. */
#include <sys/mman.h>

#include "leak.h"

#define BIG (64u << 20)

void *volatile g_big;
char *volatile g_map;

NOINLINE static void make(void)
{
	char *big = malloc(BIG); /* LEAK:big */
	g_map = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!big || g_map == MAP_FAILED)
		abort();
	*(void **)(big + (40u << 20) + 24) = malloc(18001); /* LEAK:in_block */
	*(void **)(g_map + (33u << 20) + 4072) = malloc(18002); /* LEAK:in_mapping */
	g_big = big;
	void *volatile dropped = malloc(18003); /* LEAK:dropped */
	dropped = NULL;
	(void)dropped;
}

int main(void)
{
	make();
	return 0;
}
