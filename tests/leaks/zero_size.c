/* Description: blocks of zero bytes: malloc(0) dropped (definitely lost,
 * 0 bytes) and malloc(0) kept in a global (still reachable, 0 bytes); a
 * 14001-byte block holds the only pointer to a third malloc(0), and is
 * dropped (definite 14001, indirect one block of 0 bytes).  Expected:
 * definite 2 blocks, 14001 bytes; indirect 1 block, 0 bytes; reachable
 * 1 block, 0 bytes. */
#include "leak.h"

void *volatile g_zero;

NOINLINE static void make(void)
{
	void *volatile p = malloc(0); /* LEAK:dropped */
	void **volatile holder = malloc(14001); /* LEAK:holder */

	holder[0] = malloc(0); /* LEAK:held */
	g_zero = malloc(0); /* LEAK:global */
	p = NULL;
	holder = NULL;
	(void)p;
}

int main(void)
{
	make();
	return 0;
}
