/* Description: blocks reached only through interior pointers (pointers
 * into a block, not at its start), at offsets none of memcheck's leak
 * heuristics apply to (they look at offsets 8 and 24 only):
 *   I1 (4001): a global points to I1 + 40: possibly lost.
 *   X (4002): a global points to its start: still reachable; X holds a
 *      pointer to Y (4003) + 100: Y is possibly lost.
 *   P (4006): a global points to P + 48: possibly lost; P holds a
 *      pointer to the start of Q (4007): Q, reached only through a
 *      possibly lost block, is possibly lost too.
 *   L (4004): nothing points to it: definitely lost; L holds a pointer
 *      to M (4005) + 16: M is indirectly lost (any pointer into a block
 *      counts within a lost structure).
 *   E (4008): a global holds E + 4008, one past its end: that is not a
 *      pointer into E, which is definitely lost.
 * Expected: definite 2 blocks, 8012 bytes; indirect 1 block, 4005 bytes;
 * possible 4 blocks, 4001 + 4003 + 4006 + 4007 = 16017 bytes; reachable
 * 1 block, 4002 bytes; no cycle. */
#include <stdlib.h>

#include "leak.h"

char *volatile g_i1, *volatile g_x, *volatile g_p, *volatile g_e;

NOINLINE static void make(void)
{
	char *volatile i1 = calloc(1, 4001); /* LEAK:I1 */
	char *volatile x = calloc(1, 4002); /* LEAK:X */
	char *volatile y = calloc(1, 4003); /* LEAK:Y */
	char *volatile l = calloc(1, 4004); /* LEAK:L */
	char *volatile m = calloc(1, 4005); /* LEAK:M */
	char *volatile p = calloc(1, 4006); /* LEAK:P */
	char *volatile q = calloc(1, 4007); /* LEAK:Q */
	char *volatile e = calloc(1, 4008); /* LEAK:E */

	g_i1 = i1 + 40;
	g_x = x;
	((char **)x)[5] = y + 100;
	((char **)l)[3] = m + 16;
	g_p = p + 48;
	((char **)p)[0] = q;
	g_e = e + 4008;
	i1 = x = y = l = m = p = q = e = NULL;
}

int main(void)
{
	make();
	return 0;
}
