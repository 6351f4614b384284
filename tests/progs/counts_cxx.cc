/* Description: 4 threads each call every form of operator new and delete
 * (plain, array, nothrow, sized delete, aligned, aligned nothrow, aligned
 * sized delete) explicitly, a known number of times; thread t makes t extra
 * plain new/delete pairs.  Each thread leaks one 100-byte plain new.
 * Threads are raw pthreads: std::thread would allocate its own state with
 * operator new.  With the argument "idle" the threads return at once (the
 * cost of the threads themselves, for comparison).  Prints nothing.  The expected numbers are restated in
 * tests/integration.sh (test_counts_cxx); change both together. */
#include <new>
#include <pthread.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/prctl.h>

#define NTHREADS 4

/* Per thread.  Event "new" = 41 + 5 + 7 + 3 (+ t), "new[]" = 31 + 4 + 6 + 2,
 * "delete" = 40 + 5 + 7 + 3 + 2 (+ t), "delete[]" = 31 + 4 + 6 + 2 + 1:
 * operator delete of a null pointer is a call, and an event, too. */
#define N_NEW 41	  /* operator new(size_t); one leaked */
#define N_NEW_NT 5	  /* operator new(size_t, nothrow) */
#define N_NEW_AL 7	  /* operator new(size_t, align_val_t) */
#define N_NEW_AL_NT 3	  /* operator new(size_t, align_val_t, nothrow) */
#define N_ANEW 31	  /* operator new[](size_t) */
#define N_ANEW_NT 4	  /* operator new[](size_t, nothrow) */
#define N_ANEW_AL 6	  /* operator new[](size_t, align_val_t) */
#define N_ANEW_AL_NT 2	  /* operator new[](size_t, align_val_t, nothrow) */

static const std::align_val_t AL = std::align_val_t(64);
static void *volatile sink;
static void *volatile null_ptr;
static int fails[NTHREADS];
static bool idle;

static void check_aligned(long t, void *p)
{
	if (!p || ((size_t)p & 63))
		fails[t]++;
}

static void *worker(void *arg)
{
	long t = (long)arg;
	char name[16];
	void *p[64];

	if (idle)
		return NULL;
	snprintf(name, sizeof(name), "cxx-w%ld", t);
	prctl(PR_SET_NAME, name, 0, 0, 0);

	/* plain new: 19 delete(p), 20 delete(p, n), 1 delete(p, nothrow),
	 * 1 leaked; then t extra new/delete(p) pairs */
	for (int i = 0; i < N_NEW; i++)
		p[i] = operator new(100);
	for (int i = 0; i < 19; i++)
		operator delete(p[i]);
	for (int i = 19; i < 39; i++)
		operator delete(p[i], (size_t)100);
	operator delete(p[39], std::nothrow);
	sink = p[40];
	for (long i = 0; i < t; i++)
		operator delete(operator new(24));

	for (int i = 0; i < N_NEW_NT; i++)
		p[i] = operator new(48, std::nothrow);
	for (int i = 0; i < N_NEW_NT; i++)
		operator delete(p[i]);

	/* aligned new: 2 delete(p, al), 3 delete(p, n, al), 2 delete(p, al, nothrow) */
	for (int i = 0; i < N_NEW_AL; i++)
		check_aligned(t, p[i] = operator new(200, AL));
	for (int i = 0; i < 2; i++)
		operator delete(p[i], AL);
	for (int i = 2; i < 5; i++)
		operator delete(p[i], (size_t)200, AL);
	for (int i = 5; i < 7; i++)
		operator delete(p[i], AL, std::nothrow);

	for (int i = 0; i < N_NEW_AL_NT; i++)
		check_aligned(t, p[i] = operator new(72, AL, std::nothrow));
	for (int i = 0; i < N_NEW_AL_NT; i++)
		operator delete(p[i], AL);

	/* array new: 15 delete[](p), 15 delete[](p, n), 1 delete[](p, nothrow) */
	for (int i = 0; i < N_ANEW; i++)
		p[i] = operator new[](300);
	for (int i = 0; i < 15; i++)
		operator delete[](p[i]);
	for (int i = 15; i < 30; i++)
		operator delete[](p[i], (size_t)300);
	operator delete[](p[30], std::nothrow);

	for (int i = 0; i < N_ANEW_NT; i++)
		p[i] = operator new[](40, std::nothrow);
	for (int i = 0; i < N_ANEW_NT; i++)
		operator delete[](p[i]);

	/* aligned array new: 2 delete[](p, al), 2 delete[](p, n, al),
	 * 2 delete[](p, al, nothrow) */
	for (int i = 0; i < N_ANEW_AL; i++)
		check_aligned(t, p[i] = operator new[](500, AL));
	for (int i = 0; i < 2; i++)
		operator delete[](p[i], AL);
	for (int i = 2; i < 4; i++)
		operator delete[](p[i], (size_t)500, AL);
	for (int i = 4; i < 6; i++)
		operator delete[](p[i], AL, std::nothrow);

	for (int i = 0; i < N_ANEW_AL_NT; i++)
		check_aligned(t, p[i] = operator new[](88, AL, std::nothrow));
	for (int i = 0; i < N_ANEW_AL_NT; i++)
		operator delete[](p[i], AL);

	/* null pointers: 2 delete, 1 delete[] */
	operator delete(null_ptr);
	operator delete(null_ptr, (size_t)8);
	operator delete[](null_ptr);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[NTHREADS];

	idle = argc > 1 && !std::strcmp(argv[1], "idle");
	for (long t = 0; t < NTHREADS; t++)
		if (pthread_create(&th[t], NULL, worker, (void *)t))
			return 1;
	for (int t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	for (int t = 0; t < NTHREADS; t++)
		if (fails[t]) {
			fprintf(stderr, "counts_cxx: %d misaligned blocks in thread %d\n", fails[t], t);
			return 1;
		}
	return 0;
}
