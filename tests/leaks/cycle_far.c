/* Description: a cycle whose members were allocated far apart: 60000
 * malloc/free pairs, then A (3061 bytes), 10000 more pairs, B (3062),
 * 40000 more pairs, C (3063); A -> B -> C -> A at offset 0, nothing
 * outside points to them.  The allocation order is the program's whole
 * order, however many allocations lie between (here more than 2^16 in all,
 * and 40001 between B and C).  Expected: definite 1 block (A, the first
 * allocated), 3061 bytes; indirect 2 blocks, 6125 bytes; 1 leaked cycle
 * of 3 blocks, 9186 bytes, members in allocation order A, B, C, A
 * definite, edges 0 -> 1 -> 2 -> 0. */
#include "leak.h"

NOINLINE static void churn(int n)
{
	for (int i = 0; i < n; i++) {
		void *volatile p = malloc(16);
		free(p);
	}
}

NOINLINE static void make(void)
{
	void **volatile a, **volatile b, **volatile c;

	churn(60000);
	a = calloc(1, 3061); /* LEAK:A */
	churn(10000);
	b = calloc(1, 3062); /* LEAK:B */
	churn(40000);
	c = calloc(1, 3063); /* LEAK:C */
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
