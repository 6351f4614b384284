/* Description: a cycle with a tail hanging off it: A (3031) <-> B (3032)
 * point to each other and B also points to T1 (3033), which points to T2
 * (3034); nothing outside points to any of them.  Expected: definite 1
 * block (A), 3031 bytes; indirect 3 blocks, 9099 bytes; 1 leaked cycle of
 * 2 blocks (A, B: 6063 bytes; the tail is not part of it), member 0 = A
 * (definite). */
#include <stdlib.h>

#include "leak.h"

NOINLINE static void make(void)
{
	void **volatile a = calloc(1, 3031); /* LEAK:A */
	void **volatile b = calloc(1, 3032); /* LEAK:B */
	void **volatile t1 = calloc(1, 3033); /* LEAK:T1 */
	void **volatile t2 = calloc(1, 3034); /* LEAK:T2 */
	a[0] = (void *)b;
	b[0] = (void *)a;
	b[1] = (void *)t1;
	t1[0] = (void *)t2;
	a = b = t1 = t2 = NULL;
}

int main(void)
{
	make();
	return 0;
}
