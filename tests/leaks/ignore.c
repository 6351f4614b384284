/* Description: heapsnap_ignore(): R (13001) is dropped but given to
 * heapsnap_ignore, and points to S (13002); T (13003) is dropped too.
 * For heapsnap an ignored block is a root: R and S are still reachable,
 * T definitely lost.  Expected: definite 1 block, 13003 bytes; reachable
 * 2 blocks, 26003 bytes.  (Valgrind does not know heapsnap_ignore, a
 * no-op without the shim: it sees R definitely and S indirectly lost.) */
#include "heapsnap.h"
#include "leak.h"

NOINLINE static void make(void)
{
	void **volatile r = calloc(1, 13001); /* LEAK:R */
	void *volatile s = malloc(13002); /* LEAK:S */
	void *volatile t = malloc(13003); /* LEAK:T */

	r[0] = s;
	heapsnap_ignore((void *)r);
	r = NULL;
	s = t = NULL;
}

int main(void)
{
	make();
	return 0;
}
