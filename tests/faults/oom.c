/* Description: run out of memory under an address-space limit (ulimit
 * -v): allocate 1 MiB blocks until malloc says no, check that every
 * allocation function then fails the way glibc's does (NULL and ENOMEM;
 * realloc keeps the old block; posix_memalign returns ENOMEM), start
 * threads that allocate while memory is short, free everything and
 * allocate again.  Prints "blocks=N" and "ok"; exits 1 on a wrong answer. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BLOCKS 100000
#define MIB (1u << 20)

static void *blocks[MAX_BLOCKS];

static int expect(int cond, const char *what)
{
	if (!cond)
		printf("FAILED: %s\n", what);
	return cond;
}

/* Allocate small blocks until none is left, then free them. */
static void *starve(void *arg)
{
	void **mine = NULL;
	size_t n = 0, cap = 0;

	(void)arg;
	for (;;) {
		if (n == cap) {
			void **m = realloc(mine, (cap ? cap * 2 : 64) * sizeof(*mine));
			if (!m)
				break;
			mine = m;
			cap = cap ? cap * 2 : 64;
		}
		void *p = malloc(4096 + n % 512);
		if (!p)
			break;
		memset(p, 1, 64);
		mine[n++] = p;
	}
	for (size_t i = 0; i < n; i++)
		free(mine[i]);
	free(mine);
	return (void *)n;
}

int main(void)
{
	int ok = 1;
	size_t n = 0;

	while (n < MAX_BLOCKS) {
		errno = 0;
		void *p = malloc(MIB);
		if (!p) {
			ok &= expect(errno == ENOMEM, "malloc: errno ENOMEM");
			break;
		}
		memset(p, (int)n, 4096);
		blocks[n++] = p;
	}
	ok &= expect(n > 0 && n < MAX_BLOCKS, "the limit was reached");
	errno = 0;
	ok &= expect(!calloc(MIB, 1) && errno == ENOMEM, "calloc: NULL and ENOMEM");
	errno = 0;
	ok &= expect(!realloc(blocks[0], 64 * MIB) && errno == ENOMEM, "realloc: NULL and ENOMEM");
	ok &= expect(((unsigned char *)blocks[0])[4095] == 0, "realloc kept the old block");
	void *q = NULL;
	ok &= expect(posix_memalign(&q, 64, 64 * MIB) == ENOMEM && !q, "posix_memalign: ENOMEM");
	errno = 0;
	ok &= expect(!aligned_alloc(4096, 64 * MIB) && errno == ENOMEM, "aligned_alloc: NULL and ENOMEM");

	/* Threads that start and allocate while memory is short. */
	for (int i = 0; i < 8 && n; i++)
		free(blocks[--n]);
	pthread_t th[4];
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	int started = 0;
	for (int i = 0; i < 4; i++)
		if (pthread_create(&th[started], &attr, starve, NULL) == 0)
			started++;
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_attr_destroy(&attr);

	for (size_t i = 0; i < n; i++)
		free(blocks[i]);
	void *again = malloc(MIB);
	ok &= expect(again != NULL, "malloc after the frees");
	free(again);
	printf("blocks=%zu\n", n);
	printf("%s\n", ok ? "ok" : "wrong");
	return ok ? 0 : 1;
}
