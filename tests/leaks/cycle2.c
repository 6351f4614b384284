/* Description: a cycle of two blocks, A (3002 bytes, allocated first) and
 * B (3003 bytes), pointing to each other (A at offset 8, B at offset 16);
 * nothing outside points to them.  B reuses the slot of a freed block
 * allocated before A, so in heapsnap's allocator it usually sits below A:
 * the definite member is the first allocated, whatever the addresses.
 * Expected: definite 1 block (A), 3002 bytes; indirect 1 block (B),
 * 3003 bytes; 1 leaked cycle of 2 blocks, 6005 bytes, member 0 = A
 * (definite), edges A +8 -> B and B +16 -> A. */
#include <stdlib.h>

#include "leak.h"

NOINLINE static void make(void)
{
	void *volatile x = malloc(3003);
	void **volatile a = calloc(1, 3002); /* LEAK:A */
	free(x);
	x = NULL;
	void **volatile b = calloc(1, 3003); /* LEAK:B */
	a[1] = (void *)b;
	b[2] = (void *)a;
	a = NULL;
	b = NULL;
}

int main(void)
{
	make();
	return 0;
}
