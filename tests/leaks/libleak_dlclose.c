/* Description: a library that dl_closed.c loads, calls and dlcloses:
 * lib_make() keeps a 10001-byte block in the library's global (lost when
 * the library is unloaded) and drops a 10002-byte block. */
#include <stdlib.h>

void *volatile lib_keep;

__attribute__((noinline)) void lib_make(void)
{
	void *volatile p;

	lib_keep = malloc(10001); /* LEAK:lib_keep */
	p = malloc(10002); /* LEAK:lib_dropped */
	p = NULL;
	(void)p;
}
