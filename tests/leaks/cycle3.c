/* Description: a cycle of three blocks A (3011) -> B (3012) -> C (3013)
 * -> A, allocated in that order, each pointing to the next at offset 0;
 * nothing outside points to them.  Expected: definite 1 block (A), 3011
 * bytes; indirect 2 blocks, 6025 bytes; 1 leaked cycle of 3 blocks,
 * 9036 bytes, member 0 = A (definite), edges 0 -> 1 -> 2 -> 0. */
#include <stdlib.h>

#include "leak.h"

NOINLINE static void make(void)
{
	void **volatile a = calloc(1, 3011); /* LEAK:A */
	void **volatile b = calloc(1, 3012); /* LEAK:B */
	void **volatile c = calloc(1, 3013); /* LEAK:C */
	a[0] = (void *)b;
	b[0] = (void *)c;
	c[0] = (void *)a;
	a = b = c = NULL;
}

int main(void)
{
	make();
	return 0;
}
