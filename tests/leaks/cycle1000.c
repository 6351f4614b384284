/* Description: a ring of 1000 blocks, each pointing to the next at offset
 * 0 and the last to the first; the first allocated is 4000 bytes, the
 * other 999 are 32 bytes each.  Expected: definite 1 block (the first),
 * 4000 bytes; indirect 999 blocks, 31968 bytes; 1 leaked cycle of 1000
 * blocks, 35968 bytes, member 0 the 4000-byte block (definite), 1000
 * edges. */
#include <stdlib.h>

#include "leak.h"

#define N 1000

NOINLINE static void make(void)
{
	void **volatile first = calloc(1, 4000); /* LEAK:first */
	void **volatile prev = first;

	for (int i = 1; i < N; i++) {
		void **n = calloc(1, 32); /* LEAK:rest */
		prev[0] = (void *)n;
		prev = n;
	}
	prev[0] = (void *)first;
	first = prev = NULL;
}

int main(void)
{
	make();
	return 0;
}
