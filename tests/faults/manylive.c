/* Description: manylive N: N blocks of 1 to 200 bytes live at once (the
 * heap map's tables grow to hundreds of kilobytes), then every third one
 * freed, in an order unrelated to the allocation order; the rest stays
 * reachable from a static array until exit.  Prints "live M". */
#include <stdio.h>
#include <stdlib.h>

static void **blocks;

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000, live = n;
	unsigned s = 12345;

	blocks = calloc((size_t)n, sizeof(*blocks));
	if (!blocks)
		return 2;
	for (long i = 0; i < n; i++) {
		s = s * 1103515245u + 12345u;
		if (!(blocks[i] = malloc(s % 200 + 1)))
			return 2;
	}
	for (long k = 0; k < n; k++) {
		long i = (k * 7919) % n; /* 7919 is prime: each i once when n is not its multiple */
		if (i % 3 == 0) {
			free(blocks[i]);
			blocks[i] = NULL;
			live--;
		}
	}
	printf("live %ld\n", live);
	return 0;
}
