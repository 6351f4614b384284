/* Description: a library with a thread-local variable, loaded by
 * tls_dynamic.c with dlopen, so its TLS is dynamic TLS (allocated by the
 * dynamic linker on first use in each thread): tls_store(n) keeps an
 * n-byte block in it. */
#include <stdlib.h>

static __thread void *tls_keep;

__attribute__((noinline)) void tls_store(size_t n)
{
	tls_keep = malloc(n); /* LEAK:tls_store */
}
