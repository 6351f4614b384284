/* Description: a library the attach test server loads with dlopen while
 * heapsnap is attached (tests/attach.sh builds it twice, libplugin_a.so
 * and libplugin_b.so).  plugin_work(n) allocates n 72-byte blocks
 * (PLUGIN) and keeps them; returns how many it keeps. */
#include <stdlib.h>

static void *kept[4096];
static int nkept;

int plugin_work(int n)
{
	for (int i = 0; i < n && nkept < 4096; i++)
		kept[nkept++] = malloc(72); /* PLUGIN */
	return nkept;
}
