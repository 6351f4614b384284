/* Description: the library that tests/progs/stacks.c's dlswap mode loads,
 * built twice: libstacks_a.so (STACKS_PAD 16) and libstacks_b.so
 * (STACKS_PAD 88).  The two have the same code at the same offsets (the
 * frame size is an 8-bit immediate either way) but different frames: the
 * same return addresses need different unwind rules.  stacks.c loads one
 * after the other at the same address, so a rule remembered from the first
 * would unwind the second wrongly.  stacks_work(depth, n) makes n mallocs
 * at the bottom of depth frames and returns n. */
#include <stdlib.h>

void *volatile stacks_sink;

__attribute__((noinline)) static unsigned long go(int d, int n)
{
	volatile char buf[STACKS_PAD];
	/* zeros where the other library's frame has its return address: a
	 * stale rule reads 0 there and ends the stack early */
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = 0;
	if (d > 0) {
		unsigned long r = go(d - 1, n);
		__asm__ volatile("" : : "r"(buf) : "memory");
		return r;
	}
	for (int i = 0; i < n; i++) {
		stacks_sink = malloc(16 + (size_t)i % 32);
		free(stacks_sink);
	}
	return (unsigned long)n;
}

unsigned long stacks_work(int depth, int n)
{
	return go(depth, n);
}
