/* Description: 200 short-lived threads, run 8 at a time, each named
 * "te-N" and making 3 mallocs and 3 frees, so that rings are retired and
 * reused while other threads run.  The trace must list every thread once,
 * under its own name, with exactly its 6 events. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>

#define NTHREADS 200
#define BATCH 8

static void *worker(void *arg)
{
	char name[16];
	void *p[3];

	snprintf(name, sizeof(name), "te-%ld", (long)arg);
	prctl(PR_SET_NAME, name, 0, 0, 0);
	for (int i = 0; i < 3; i++)
		p[i] = malloc(32 + (size_t)i);
	for (int i = 0; i < 3; i++)
		free(p[i]);
	return NULL;
}

int main(void)
{
	pthread_t th[BATCH];

	for (long n = 0; n < NTHREADS; n += BATCH) {
		for (long i = 0; i < BATCH; i++)
			if (pthread_create(&th[i], NULL, worker, (void *)(n + i)))
				return 1;
		for (int i = 0; i < BATCH; i++)
			pthread_join(th[i], NULL);
	}
	return 0;
}
