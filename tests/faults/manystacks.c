/* Description: manystacks N: N allocations, each from a call path of its
 * own (the bits of its number pick one of two functions at each of the 12
 * levels nearest the allocation, under 10 more: up to 4,096 stacks of
 * about 48 frames, within the default max_frames of 64: 1.6 MB of the
 * ring file's stack entries, more than one of its 1 MiB segments), every
 * other block freed.  Prints "stacks ok live M". */
#include <stdio.h>
#include <stdlib.h>

static void *blocks[1 << 16];
static volatile int sink; /* after each call: no tail calls, no merged frames */

static __attribute__((noinline)) void *leaf(unsigned i)
{
	void *p = malloc(16 + i % 64);
	sink++;
	return p;
}

static __attribute__((noinline)) void *pick(unsigned i, int level);

static __attribute__((noinline)) void *left(unsigned i, int level)
{
	void *p = pick(i, level + 1);
	sink++;
	return p;
}

static __attribute__((noinline)) void *right(unsigned i, int level)
{
	void *p = pick(i, level + 1);
	sink += 2;
	return p;
}

static __attribute__((noinline)) void *pick(unsigned i, int level)
{
	void *p;

	if (level == 22)
		p = leaf(i);
	else if (level < 10)
		p = left(i, level); /* the 10 levels above the ones that differ */
	else
		p = (i >> (level - 10) & 1) ? right(i, level) : left(i, level);
	sink++;
	return p;
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 4096, live = 0;

	if (n > sizeof(blocks) / sizeof(blocks[0]))
		return 2;
	for (unsigned i = 0; i < n; i++)
		if (!(blocks[i] = pick(i, 0)))
			return 2;
	for (unsigned i = 0; i < n; i += 2) {
		free(blocks[i]);
		blocks[i] = NULL;
	}
	for (unsigned i = 0; i < n; i++)
		live += blocks[i] != NULL;
	printf("stacks ok live %u\n", live);
	return 0;
}
