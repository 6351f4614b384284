/* Description: snapshots taken while the collector is busy, for the order
 * of snapshots and events in the trace.  A second thread allocates and
 * frees as fast as it can, which keeps the collector cycling; meanwhile
 * the main thread takes 400 snapshots through the API, each followed at
 * once by one 1000-byte allocation at KEEP that it keeps.  Snapshot i must
 * therefore hold exactly i KEEP blocks: `heapsnap top --growth` shows the
 * KEEP line as 0, 1000, 2000, ... at the 400 snapshots.  A collector that
 * took its queued snapshots before reading the rings wrote, now and then
 * (on a loaded machine, where it can be preempted between the two), the
 * allocation that follows a snapshot before that snapshot.  With the
 * argument "burst" the snapshots come without the pause, faster than the
 * collector's cycles: a collector that kept only so many snapshots a
 * cycle (64) lost the rest. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "heapsnap.h"

#define SNAPSHOTS 400

static volatile int done;
static void *volatile sink;

static void *busy(void *arg)
{
	(void)arg;
	while (!done) {
		sink = malloc(64);
		free(sink);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static void *keep[SNAPSHOTS];
	pthread_t t;
	struct timespec pause = {0, 200000};
	int burst = argc > 1 && !strcmp(argv[1], "burst");

	pthread_create(&t, NULL, busy, NULL);
	for (int i = 0; i < SNAPSHOTS; i++) {
		heapsnap_snapshot("order");
		keep[i] = malloc(1000); /* KEEP */
		if (!burst)
			nanosleep(&pause, NULL);
	}
	done = 1;
	pthread_join(t, NULL);
	return keep[0] ? 0 : 1;
}
