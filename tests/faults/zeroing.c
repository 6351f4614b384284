/* Description: zeroing: large callocs and reallocs over freed blocks whose
 * pages hold garbage, some mapped and some not (the shim zeroes and moves
 * a large block by its mapped pages, backing.c).  Every calloc'd byte up to
 * malloc_usable_size must read zero, and every byte a realloc keeps must
 * read what was there.  Prints "ok N" (N blocks checked) or the first
 * wrong byte, and exits 1. */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int bad;

static void check_zero(const char *what, size_t n, const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len && !bad; i++)
		if (p[i]) {
			printf("%s %zu: byte %zu of %zu is %#x\n", what, n, i, len, p[i]);
			bad = 1;
		}
}

/* Fill every page of p with garbage, or only every third one (the
 * others are left as they were: unmapped if never touched). */
static void dirty(unsigned char *p, size_t n, int sparse)
{
	if (!sparse) {
		memset(p, 0xa5, n);
		return;
	}
	for (size_t i = 0; i < n; i += 3 * 4096)
		memset(p + i, 0x5a, n - i < 100 ? n - i : 100);
	p[n - 1] = 0x5a;
}

int main(void)
{
	static const size_t sizes[] = {16384, 16385, 20480, 32768, 65536 + 7, 200000, 1 << 20, 3 << 20};
	int checked = 0;

	/* calloc over a freed block of the same size, its pages all written
	 * (mapped) or a third of them, many times over: jemalloc serves the
	 * calloc from the freed pages (its thread cache or a dirty extent). */
	for (int round = 0; round < 20 && !bad; round++)
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]) && !bad; k++) {
			size_t n = sizes[k];
			unsigned char *a = malloc(n), *b = malloc(n);
			if (!a || !b)
				return 2;
			dirty(a, malloc_usable_size(a), round & 1);
			dirty(b, malloc_usable_size(b), 0);
			free(a);
			free(b);
			unsigned char *c = calloc(1, n), *d = calloc(n, 1);
			if (!c || !d)
				return 2;
			check_zero("calloc", n, c, malloc_usable_size(c));
			check_zero("calloc", n, d, malloc_usable_size(d));
			dirty(c, n, 0);
			free(c);
			free(d);
			checked += 2;
		}

	/* realloc that must move (a block right after it), over freed
	 * blocks full of garbage: what a calloc'd block held (zeros on
	 * unmapped pages, a pattern on some) comes through, in both sizes. */
	for (int round = 0; round < 10 && !bad; round++)
		for (size_t k = 4; k < sizeof(sizes) / sizeof(sizes[0]) && !bad; k++) {
			size_t n = sizes[k], m = n * 3 + round * 4096;
			unsigned char *junk = malloc(m);
			if (!junk)
				return 2;
			memset(junk, 0xa5, m);
			free(junk);
			unsigned char *p = calloc(1, n), *wall = malloc(n);
			if (!p || !wall)
				return 2;
			for (size_t i = 0; i < n; i += 5 * 4096 + 64)
				p[i] = (unsigned char)(i / 4096 + 1);
			unsigned char *q = realloc(p, m);
			if (!q)
				return 2;
			for (size_t i = 0; i < n && !bad; i++) {
				unsigned char want = i % (5 * 4096 + 64) ? 0 : (unsigned char)(i / 4096 + 1);
				if (q[i] != want) {
					printf("realloc %zu -> %zu: byte %zu is %#x, want %#x\n", n, m, i, q[i], want);
					bad = 1;
				}
			}
			free(q);
			free(wall);
			checked++;
		}
	if (bad)
		return 1;
	printf("ok %d\n", checked);
	return 0;
}
