/*
 * Description: a trace of many events for the analysis benchmark: N
 * allocation/free pairs (default 50 million, so 100 million events) from
 * 64 call sites, with a live set of a few thousand blocks.
 */
#include <stdio.h>
#include <stdlib.h>

#define LIVE 4096

static void *slots[LIVE];

#define SITE(k) static __attribute__((noinline)) void *site##k(size_t n) { return malloc(n + k); }
#define S8(a) SITE(a##0) SITE(a##1) SITE(a##2) SITE(a##3) SITE(a##4) SITE(a##5) SITE(a##6) SITE(a##7)
S8(1) S8(2) S8(3) S8(4) S8(5) S8(6) S8(7) S8(8)
#define R8(a) site##a##0, site##a##1, site##a##2, site##a##3, site##a##4, site##a##5, site##a##6, site##a##7
static void *(*const sites[64])(size_t) = {R8(1), R8(2), R8(3), R8(4), R8(5), R8(6), R8(7), R8(8)};

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 50000000;
	unsigned long x = 88172645463325252ul;

	for (long i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		unsigned s = (unsigned)(x % LIVE);
		free(slots[s]);
		slots[s] = sites[x % 64 % 64 ? (x >> 20) % 64 : 0](16 + (x >> 32) % 240);
	}
	printf("%ld pairs\n", n);
	return 0;
}
