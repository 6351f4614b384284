/* Description: known allocations for the pprof export (tests/pprof.sh),
 * every number of which the test knows:
 *   100 x 1000 bytes at CHURN, each freed at once
 *   10 x 64 bytes at INLINED (kept): a function inlined into site(),
 *     so that its location has two lines, the inlined one first
 *   snapshot "mid" (API)
 *   1 x 5000 bytes at BIG (kept): the largest site at exit
 *   3 x 200 bytes at LATE, one freed
 * At "mid": 110 allocated (100640 bytes), 10 live (640 bytes).  At exit:
 * 114 allocated (106240 bytes), 13 live (6040 bytes). */
#include <stdlib.h>

#include "heapsnap.h"

static void *keep[16];

/* always_inline: inlined even at -O0, with its own DWARF inlined frame */
static inline __attribute__((always_inline)) void *inlined(size_t n)
{
	return malloc(n); /* INLINED */
}

static __attribute__((noinline)) void *site(size_t n)
{
	void *p = inlined(n);
	return p;
}

int main(void)
{
	for (int i = 0; i < 100; i++)
		free(malloc(1000)); /* CHURN */
	for (int i = 0; i < 10; i++)
		keep[i] = site(64);
	heapsnap_snapshot("mid");
	keep[10] = malloc(5000); /* BIG */
	for (int i = 11; i < 14; i++)
		keep[i] = malloc(200); /* LATE */
	free(keep[13]);
	return 0;
}
