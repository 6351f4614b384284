/* Description: known allocations at known lines between labelled
 * snapshots, taken through the API and through a signal, for top, diff
 * and --growth.  Phases:
 *   snapshot "s0" (API)
 *   4 x 1000 bytes at GROW (kept) and 3 x 500 at ONCE (kept)
 *   snapshot by SIGUSR2 (raise)
 *   4 x 1000 more at GROW, 2 x 300 at TEMP (freed again before s2)
 *   snapshot "s2" (API)
 *   4 x 1000 more at GROW, the 3 ONCE blocks freed
 *   snapshot "s3" (API)
 * So the GROW line grows 0, 4000, 8000, 12000: the only site growing at
 * every snapshot; at s3 live: GROW 12 blocks / 12000 bytes; nothing else
 * of the program's. */
#include <signal.h>
#include <stdlib.h>

#include "heapsnap.h"

static void *keep[64];
static int nkeep;

static __attribute__((noinline)) void grow(int n)
{
	for (int i = 0; i < n; i++)
		keep[nkeep++] = malloc(1000); /* GROW */
}

int main(void)
{
	void *once[3], *temp[2];

	heapsnap_snapshot("s0");
	grow(4);
	for (int i = 0; i < 3; i++)
		once[i] = malloc(500); /* ONCE */
	raise(SIGUSR2);
	grow(4);
	for (int i = 0; i < 2; i++)
		temp[i] = malloc(300); /* TEMP */
	for (int i = 0; i < 2; i++)
		free(temp[i]);
	heapsnap_snapshot("s2");
	grow(4);
	for (int i = 0; i < 3; i++)
		free(once[i]);
	heapsnap_snapshot("s3");
	return keep[0] ? 0 : 1;
}
