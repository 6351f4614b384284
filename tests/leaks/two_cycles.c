/* Description: two leaked two-block cycles linked one way.  Cycle Q
 * (Q1 3043 <-> Q2 3044) is allocated first, then cycle P (P1 3041 <->
 * P2 3042); P2 also points to Q1.  Q1, first allocated, is at first a
 * definite leader, but P1 reaches it and claims it (and all of Q) as
 * indirect, as memcheck does.  Only P is a leaked cycle: Q is entered
 * from P.  Expected: definite 1 block (P1), 3041 bytes; indirect 3
 * blocks, 3042 + 3043 + 3044 = 9129 bytes; 1 leaked cycle of 2 blocks
 * (P1, P2: 6083 bytes), member 0 = P1 (definite). */
#include <stdlib.h>

#include "leak.h"

NOINLINE static void make(void)
{
	void **volatile q1 = calloc(1, 3043); /* LEAK:Q1 */
	void **volatile q2 = calloc(1, 3044); /* LEAK:Q2 */
	void **volatile p1 = calloc(1, 3041); /* LEAK:P1 */
	void **volatile p2 = calloc(1, 3042); /* LEAK:P2 */
	q1[0] = (void *)q2;
	q2[0] = (void *)q1;
	p1[0] = (void *)p2;
	p2[0] = (void *)p1;
	p2[1] = (void *)q1;
	q1 = q2 = p1 = p2 = NULL;
}

int main(void)
{
	make();
	return 0;
}
