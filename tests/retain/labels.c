/* Description: scanned snapshots the program takes itself, for
 * tests/retain.sh: heapsnap_snapshot("before"), a 4000-byte block leaked,
 * heapsnap_snapshot("after").  Run with --snapshot-scan, each is a scan.
 * With an argument, it then sleeps that many milliseconds (interval
 * snapshots come meanwhile). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <heapsnap.h>

static void __attribute__((noinline)) leak(void)
{
	char *p = malloc(4000);
	memset(p, 1, 4000);
}

int main(int argc, char **argv)
{
	char *keep = malloc(100);

	heapsnap_snapshot("before");
	leak();
	heapsnap_snapshot("after");
	if (argc > 1) {
		/* the threads are stopped by a signal for each scan: sleep on
		 * through the interruptions */
		long ms = atol(argv[1]);
		struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
		while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
			;
	}
	free(keep);
	return 0;
}
