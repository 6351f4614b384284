/* Description: THREADS threads start together (a barrier) and each makes
 * ITERS malloc/free pairs of pseudo-random sizes (1 to 4000 bytes).
 * Prints "done THREADS ITERS".  With many threads: a burst of ring
 * allocation and contention; with many iterations: a trace of many
 * megabytes (the full-disk test). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static long iters;
static pthread_barrier_t start;

static void *work(void *arg)
{
	unsigned s = (unsigned)(unsigned long)arg * 2654435761u + 1;

	pthread_barrier_wait(&start);
	for (long i = 0; i < iters; i++) {
		s = s * 1103515245u + 12345u;
		void *volatile p = malloc(s % 4000 + 1);
		free(p);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 1;
	iters = argc > 2 ? atol(argv[2]) : 1000;
	pthread_t *th = calloc((size_t)threads, sizeof(*th));

	if (!th || threads < 1 || pthread_barrier_init(&start, NULL, (unsigned)threads))
		return 2;
	for (int i = 0; i < threads; i++)
		if (pthread_create(&th[i], NULL, work, (void *)(unsigned long)i))
			return 3;
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);
	free(th);
	printf("done %d %ld\n", threads, iters);
	return 0;
}
