/* Description: four threads that allocate and free all the time, for
 * tests/retain.sh: the scan signal must stop each of them wherever it is
 * (inside malloc and free too), scan, and let them go, any number of
 * times.  Each thread keeps a window of 64 live blocks, and rests 100
 * microseconds every 64 calls (the trace stays small enough to read
 * quickly).  The program prints "ready" once the threads run, and ends on
 * SIGTERM. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define THREADS 4
#define WINDOW 64

static atomic_int stop;

static void *worker(void *arg)
{
	void *live[WINDOW] = {0};
	unsigned seed = (unsigned)(uintptr_t)arg;

	for (unsigned long i = 0; !atomic_load(&stop); i++) {
		unsigned k = (unsigned)(i % WINDOW);
		free(live[k]);
		seed = seed * 1103515245u + 12345u;
		live[k] = malloc(16 + (seed >> 16) % 2000);
		if (k == WINDOW - 1) {
			struct timespec pause = {0, 100000};
			nanosleep(&pause, NULL);
		}
	}
	for (unsigned k = 0; k < WINDOW; k++)
		free(live[k]);
	return NULL;
}

int main(void)
{
	pthread_t t[THREADS];
	sigset_t term;
	int sig;

	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &term, NULL); /* the threads inherit it: main takes SIGTERM */
	for (long i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)(i + 1));
	printf("ready\n");
	fflush(stdout);
	sigwait(&term, &sig);
	atomic_store(&stop, 1);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	return 0;
}
