/*
 * Description: a big heap for the exit-scan benchmark: N blocks (default
 * 10 million) of mixed sizes averaging about 107 bytes (1 GiB in all),
 * each pointing to the one before, so the scan finds N edges; every 100th
 * chain link is cut, leaking the blocks before it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node {
	struct node *prev;
	char payload[];
};

static struct node *head;

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 10000000;
	size_t bytes = 0;

	for (long i = 0; i < n; i++) {
		size_t size = 16 + (size_t)(i % 13) * 14; /* 16..184, mean ~100 */
		struct node *b = malloc(size);
		memset(b, 0, size);
		b->prev = i % 100 ? head : NULL;
		head = b;
		bytes += size;
	}
	printf("%ld blocks, %zu bytes\n", n, bytes);
	return 0;
}
