/* Description: a cycle A (4101) <-> B (4102) whose only pointer from
 * outside is a global pointing to A + 56 (an interior pointer): both are
 * possibly lost (B through A), and a possibly lost cycle is no leaked
 * cycle.  Expected: possible 2 blocks, 8203 bytes; nothing else; 0
 * leaked cycles. */
#include <stdlib.h>

#include "leak.h"

char *volatile g_inside;

NOINLINE static void make(void)
{
	void **volatile a = calloc(1, 4101); /* LEAK:A */
	void **volatile b = calloc(1, 4102); /* LEAK:B */
	a[0] = (void *)b;
	b[0] = (void *)a;
	g_inside = (char *)a + 56;
	a = b = NULL;
}

int main(void)
{
	make();
	return 0;
}
