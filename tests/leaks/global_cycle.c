/* Description: a cycle A (3051) <-> B (3052) that a global still points
 * to (at A): not a leak.  Expected: reachable 2 blocks, 6103 bytes;
 * nothing lost; 0 leaked cycles. */
#include <stdlib.h>

#include "leak.h"

void *volatile g_root;

NOINLINE static void make(void)
{
	void **volatile a = calloc(1, 3051); /* LEAK:A */
	void **volatile b = calloc(1, 3052); /* LEAK:B */
	a[0] = (void *)b;
	b[0] = (void *)a;
	g_root = (void *)a;
	a = b = NULL;
}

int main(void)
{
	make();
	return 0;
}
