/* Description: the program ends with _exit(0) from main, running no exit
 * handlers: an 11001-byte block dropped (definitely lost), an 11002-byte
 * block kept in a global and an 11003-byte block kept in a local of main,
 * whose frame is still live at _exit (both still reachable).  Expected:
 * definite 1 block, 11001 bytes; reachable 2 blocks, 22005 bytes. */
#include "leak.h"

void *volatile g_keep;

NOINLINE static void drop(void)
{
	void *volatile p = malloc(11001); /* LEAK:dropped */
	p = NULL;
	(void)p;
}

int main(void)
{
	void *volatile local;

	drop();
	g_keep = malloc(11002); /* LEAK:global */
	local = malloc(11003); /* LEAK:local */
	_exit(local == NULL);
}
