/* Description: 4 threads each call every interposed C allocation function a
 * known number of times, distinct per function (so a call counted under the
 * wrong name shows), each call one event of its own kind whatever its
 * arguments (realloc(NULL, n) a realloc, free(NULL) a free, as the
 * README says), plus thread t makes t extra malloc/free pairs (so a
 * thread's events counted against another thread show).  Each thread leaks
 * exactly two blocks (1576 + 16t and 1592 + 16t bytes); everything else
 * is freed.
 * With the argument "idle" the threads return at once: that run measures
 * what creating and joining 4 threads costs in glibc (a DTV per thread).
 * Prints nothing.  The expected numbers are restated in
 * tests/integration.sh (test_counts); change both together. */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#define NTHREADS 4

/* Per thread, before the per-thread extra: */
#define N_MALLOC 100	   /* one of them malloc(0); two leaked */
#define N_CALLOC 37
#define N_REALLOC 23	   /* realloc(NULL), 21 resizes, realloc(p, 0) */
#define N_REALLOCARRAY 19  /* reallocarray(NULL), 18 resizes */
#define N_POSIX_MEMALIGN 13
#define N_ALIGNED_ALLOC 11
#define N_MEMALIGN 7
#define N_VALLOC 5
#define N_PVALLOC 3
#define N_USABLE_SIZE 29  /* two of them malloc_usable_size(NULL) */
#define N_FREE_NULL 3	   /* free(NULL): recorded as frees */

static void *volatile sink; /* keeps the compiler from pairing calls away */
/* GCC folds realloc(NULL, n) into malloc(n) even at -O0, and drops
 * free(NULL): hide the NULL. */
static void *volatile null_ptr;

static int idle;

static void *worker(void *arg)
{
	long t = (long)arg;
	char name[16];
	void *p[N_MALLOC + 8];
	int fails = 0;

	if (idle)
		return NULL;
	snprintf(name, sizeof(name), "counts-w%ld", t);
	prctl(PR_SET_NAME, name, 0, 0, 0);

	/* malloc: N_MALLOC + t calls, the first of them malloc(0); the last
	 * two (8 + 16 * (N_MALLOC + t - 2) and 8 + 16 * (N_MALLOC + t - 1)
	 * bytes) are leaked */
	for (int i = 0; i < N_MALLOC + t; i++)
		p[i] = malloc(i == 0 ? 0 : (size_t)(8 + 16 * i));
	for (int i = 0; i < N_USABLE_SIZE - 2; i++)
		fails += malloc_usable_size(p[1 + i % 10]) < (size_t)(8 + 16 * (1 + i % 10));
	fails += malloc_usable_size(null_ptr) != 0;
	fails += malloc_usable_size(null_ptr) != 0;
	for (int i = 0; i < N_MALLOC + t - 2; i++)
		free(p[i]);
	sink = p[N_MALLOC + t - 2];
	sink = p[N_MALLOC + t - 1];

	for (int i = 0; i < N_CALLOC; i++)
		p[i] = calloc((size_t)(i + 1), 8);
	for (int i = 0; i < N_CALLOC; i++) {
		fails += ((char *)p[i])[i] != 0;
		free(p[i]);
	}

	void *q = realloc(null_ptr, 16);
	for (int i = 1; i <= N_REALLOC - 2; i++)
		q = realloc(q, (size_t)(16 + 32 * i));
	sink = realloc(q, 0); /* frees q, returns NULL (glibc) */
	fails += sink != NULL;

	void *r = reallocarray(null_ptr, 4, 8);
	for (int i = 1; i <= N_REALLOCARRAY - 1; i++)
		r = reallocarray(r, (size_t)(4 + i), 8);
	free(r);

	for (int i = 0; i < N_POSIX_MEMALIGN; i++) {
		void *a = NULL;
		fails += posix_memalign(&a, (size_t)16 << (i % 6), 100) != 0;
		fails += ((size_t)a & (((size_t)16 << (i % 6)) - 1)) != 0;
		free(a);
	}
	for (int i = 0; i < N_ALIGNED_ALLOC; i++) {
		void *a = aligned_alloc(64, 128);
		fails += ((size_t)a & 63) != 0;
		free(a);
	}
	for (int i = 0; i < N_MEMALIGN; i++) {
		void *a = memalign(256, 300);
		fails += ((size_t)a & 255) != 0;
		free(a);
	}
	for (int i = 0; i < N_VALLOC; i++) {
		void *a = valloc(5000);
		fails += ((size_t)a & 4095) != 0;
		free(a);
	}
	for (int i = 0; i < N_PVALLOC; i++) {
		void *a = pvalloc(5000);
		fails += ((size_t)a & 4095) != 0;
		free(a);
	}
	for (int i = 0; i < N_FREE_NULL; i++)
		free(null_ptr); /* a literal NULL: GCC drops the call */
	if (fails) {
		fprintf(stderr, "counts: %d checks failed in thread %ld\n", fails, t);
		exit(1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[NTHREADS];

	idle = argc > 1 && !strcmp(argv[1], "idle");
	for (long t = 0; t < NTHREADS; t++)
		if (pthread_create(&th[t], NULL, worker, (void *)t))
			return 1;
	for (int t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	return 0;
}
