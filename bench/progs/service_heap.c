/*
 * Description: a big heap that a service keeps, for the benchmark of a
 * mid-run scan and of retainers / top --retained (bench/retain.sh): N
 * blocks (default 10 million) of 16..184 bytes, 100 asked on average,
 * about 110 with malloc's headers (1 GiB in all), in lists of 100 hanging
 * from a global table of N / 100 slots; every 1000th list is dropped from
 * the table (leaked).
 *
 * With "scan" as its second argument it then raises SIGUSR2, the scan
 * signal of `heapsnap run --scan-signal USR2`, and goes on working: it
 * reads the clock in a loop (20 seconds at most, 0.2 s past the stop)
 * and reports the longest time it did not run (the scan, which stops
 * it) and how long after the signal that ended; then it frees every
 * list, as a service that goes on would, and exits.  Without it, it
 * exits once the heap is built.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct node {
	struct node *next;
	char payload[];
};

static struct node **g_table; /* N / 100 lists */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 10000000, slots = n / 100 > 0 ? n / 100 : 1;
	size_t bytes = 0;

	g_table = calloc((size_t)slots, sizeof(*g_table));
	for (long i = 0; i < n; i++) {
		size_t size = 16 + (size_t)(i % 13) * 14; /* 16..184, mean ~100 */
		struct node *b = malloc(size);
		memset(b, 0, size);
		long s = i % slots;
		b->next = g_table[s];
		g_table[s] = b;
		bytes += size;
	}
	for (long s = 0; s < slots; s += 1000)
		g_table[s] = NULL; /* leaked */
	printf("%ld blocks, %zu bytes, a list at %p\n", n, bytes, (void *)g_table[slots > 1 ? 1 : 0]);
	if (argc > 2 && !strcmp(argv[2], "scan")) {
		double t0 = now(), last = t0, stall = 0, stall_end = 0;
		raise(SIGUSR2);
		while (last - t0 < 20 && !(stall > 0.05 && last - stall_end > 0.2)) {
			double t = now();
			if (t - last > stall) {
				stall = t - last;
				stall_end = t;
			}
			last = t;
		}
		printf("stopped %.3f s, resumed %.3f s after the signal\n", stall, stall_end - t0);
		for (long s = 0; s < slots; s++)
			for (struct node *b = g_table[s], *next; b; b = next) {
				next = b->next;
				free(b);
			}
		free(g_table);
	}
	return 0;
}
