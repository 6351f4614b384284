/* Description: blocks whose only pointers are hidden from a conservative
 * scan: X (7001) is kept XOR'ed with a constant in a global, Y (7002) is
 * kept at an unaligned address (byte 3 of a global buffer); a pointer
 * scan reads aligned words only, as memcheck's does.  Both are
 * definitely lost.  Expected: definite 2 blocks, 14003 bytes; nothing
 * else. */
#include <stdint.h>
#include <string.h>

#include "leak.h"

#define KEY 0x5a5a5a5a5a5a5a5aull

volatile uintptr_t g_xored;
_Alignas(8) unsigned char g_unaligned[24];

NOINLINE static void make(void)
{
	void *volatile x = malloc(7001); /* LEAK:xored */
	void *volatile y = malloc(7002); /* LEAK:unaligned */
	void *tmp = y;

	g_xored = (uintptr_t)x ^ KEY;
	memcpy(g_unaligned + 3, &tmp, sizeof(tmp));
	tmp = NULL;
	x = y = NULL;
}

int main(void)
{
	make();
	/* still "used": the program could get them back */
	return (g_xored ^ KEY) == 0 || g_unaligned[3] == 0x1;
}
