/* Description: pointers held in the globals of a dlopen'ed library:
 * dlopen libleak_dlglobals.so (RTLD_NOW | RTLD_LOCAL) and call its
 * lib_make(), which keeps two blocks in the library's globals (5001 and
 * 5002 bytes: still reachable, the library stays loaded) and drops one
 * (5003: definitely lost); return from main with the library loaded.
 * Expected, the program's own blocks: definite 1 block, 5003 bytes;
 * reachable 2 blocks, 10003 bytes; plus what the dynamic linker keeps
 * for the loaded library (its link map, scope lists: still reachable). */
#include <dlfcn.h>

#include "leak.h"

int main(void)
{
	void *h = dlopen(beside_exe("libleak_dlglobals.so"), RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return 1;
	void (*make)(void) = (void (*)(void))dlsym(h, "lib_make");
	if (!make)
		return 1;
	make();
	return 0;
}
