/* Description: a shared library that tests/progs/dlopen.c loads with
 * dlopen: helper_work(n) makes n aligned_alloc and n pvalloc calls, frees
 * them, and returns a checksum of what it wrote. */
#include <stdlib.h>
#include <malloc.h>

unsigned long helper_work(int n)
{
	unsigned long sum = 0;

	for (int i = 0; i < n; i++) {
		unsigned char *a = aligned_alloc(32, 64);
		unsigned char *b = pvalloc(100);
		for (int j = 0; j < 64; j++)
			a[j] = (unsigned char)(i + j);
		b[0] = (unsigned char)i;
		for (int j = 0; j < 64; j++)
			sum = sum * 31 + a[j];
		sum += b[0];
		free(a);
		free(b);
	}
	return sum;
}
