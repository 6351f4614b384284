/* Description: a cycle with a tail leading into it: A (3022) <-> B (3023)
 * point to each other, and T (3021, allocated last) points to A; nothing
 * points to T.  T is the only definitely lost block: it claims A (though
 * A was allocated first) and B as indirect.  The cycle {A, B} is entered
 * from T, so it is not a leaked cycle, and T alone is no cycle.
 * Expected: definite 1 block (T), 3021 bytes; indirect 2 blocks, 6045
 * bytes; 0 leaked cycles. */
#include <stdlib.h>

#include "leak.h"

NOINLINE static void make(void)
{
	void **volatile a = calloc(1, 3022); /* LEAK:A */
	void **volatile b = calloc(1, 3023); /* LEAK:B */
	void **volatile t = calloc(1, 3021); /* LEAK:T */
	a[0] = (void *)b;
	b[0] = (void *)a;
	t[0] = (void *)a;
	a = b = t = NULL;
}

int main(void)
{
	make();
	return 0;
}
