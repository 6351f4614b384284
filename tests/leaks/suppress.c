/* Description: leaks for the suppressions test, each from its own
 * function: suppress_me_a drops 2 blocks of 16001 bytes, suppress_me_b
 * one block of 16002 bytes that points to a 16003-byte block (indirect),
 * keep_me drops one of 16004 bytes.  Expected without suppressions:
 * definite 4 blocks, 2 x 16001 + 16002 + 16004 = 64008 bytes; indirect 1
 * block, 16003 bytes.  With the suppressions of tests/leaks.sh, only
 * keep_me's block is left. */
#include "leak.h"

NOINLINE static void suppress_me_a(void)
{
	for (int i = 0; i < 2; i++) {
		void *volatile p = malloc(16001); /* LEAK:a */
		p = NULL;
		(void)p;
	}
}

NOINLINE static void suppress_me_b(void)
{
	void **volatile p = malloc(16002); /* LEAK:b */
	p[0] = malloc(16003); /* LEAK:b_inner */
	p = NULL;
}

NOINLINE static void keep_me(void)
{
	void *volatile p = malloc(16004); /* LEAK:keep */
	p = NULL;
	(void)p;
}

int main(void)
{
	suppress_me_a();
	suppress_me_b();
	keep_me();
	return 0;
}
