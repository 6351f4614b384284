/* Description: a cycle of one block: a 3001-byte block whose first word
 * points to itself, and nothing else points to it.  Expected: definite
 * 1 block, 3001 bytes; 1 leaked cycle of 1 block (3001 bytes), an edge
 * from the block at offset 0 to itself. */
#include <stdlib.h>

#include "leak.h"

NOINLINE static void make(void)
{
	void **volatile p = malloc(3001); /* LEAK:self */
	p[0] = (void *)p;
	p = NULL;
}

int main(void)
{
	make();
	return 0;
}
