/* Description: one definitely lost block through every C allocation
 * function but pvalloc (alloc_pvalloc.c): malloc 1001, calloc 2 x 501 =
 * 1002, realloc(NULL) 1003, realloc growing a 10-byte block to 1004 (the
 * block is the realloc's), reallocarray(NULL, 3, 335) = 1005,
 * posix_memalign 1006, memalign 1007, aligned_alloc 1008, valloc 1009.
 * Expected: definite 9 blocks, 9045 bytes; nothing else. */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdlib.h>

#include "leak.h"

NOINLINE static void leak_all(void)
{
	void *volatile p;

	p = malloc(1001); /* LEAK:malloc */
	p = calloc(2, 501); /* LEAK:calloc */
	p = realloc(NULL, 1003); /* LEAK:realloc_null */
	p = malloc(10);
	p = realloc(p, 1004); /* LEAK:realloc_grow */
	p = reallocarray(NULL, 3, 335); /* LEAK:reallocarray */
	if (posix_memalign((void **)&p, 64, 1006)) /* LEAK:posix_memalign */
		abort();
	p = memalign(32, 1007); /* LEAK:memalign */
	p = aligned_alloc(16, 1008); /* LEAK:aligned_alloc */
	p = valloc(1009); /* LEAK:valloc */
	p = NULL;
	(void)p;
}

int main(void)
{
	leak_all();
	return 0;
}
