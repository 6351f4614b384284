/* Description: a library that dl_globals.c loads with dlopen and keeps
 * loaded: lib_make() keeps a 5001-byte block in an exported global and a
 * 5002-byte block in a static one (both still reachable while the library
 * is mapped), and drops a 5003-byte block (definitely lost). */
#include <stdlib.h>

void *lib_global;
static void *volatile lib_static;

__attribute__((noinline)) void lib_make(void)
{
	void *volatile p;

	lib_global = malloc(5001); /* LEAK:lib_global */
	lib_static = malloc(5002); /* LEAK:lib_static */
	p = malloc(5003); /* LEAK:lib_dropped */
	p = NULL;
	(void)p;
}
