/* Description: leaks in a dlclose'd library: dlopen libleak_dlclose.so,
 * call lib_make() (a 10001-byte block kept in the library's global, a
 * 10002-byte block dropped), then dlclose it: the global is unmapped, so
 * both blocks are definitely lost, and their allocation stacks, in code no
 * longer mapped, must still name lib_make in libleak_dlclose.c.
 * Expected: definite 2 blocks, 20003 bytes; nothing else. */
#include <dlfcn.h>

#include "leak.h"

int main(void)
{
	void *h = dlopen(beside_exe("libleak_dlclose.so"), RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return 1;
	void (*make)(void) = (void (*)(void))dlsym(h, "lib_make");
	if (!make)
		return 1;
	make();
	make = NULL;
	if (dlclose(h))
		return 1;
	h = NULL;
	return 0;
}
