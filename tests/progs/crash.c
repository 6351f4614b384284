/* Description: crash with events still in the rings.  Makes N mallocs of
 * 48 bytes (argv[2], default 1000), frees every fourth, makes 77 callocs
 * and 33 reallocs of one block, then dies: "kill" raises SIGKILL, "segv"
 * writes through a NULL pointer.  The trace must read back as truncated
 * with every one of those events counted (the chunks the collector wrote,
 * plus what the ring file TRACE.rings still holds). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static void *volatile sink;
static int *volatile null_int;

int main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[2]) : 1000;
	void **p = NULL;

	if (argc < 2 || (strcmp(argv[1], "kill") && strcmp(argv[1], "segv")))
		return 64;
	p = __builtin_alloca(sizeof(void *) * (size_t)n);
	for (long i = 0; i < n; i++)
		p[i] = malloc(48);
	for (long i = 0; i < n; i += 4)
		free(p[i]);
	for (int i = 0; i < 77; i++)
		sink = calloc(2, 24);
	void *q = malloc(8); /* counted in the N + 1 mallocs the test expects */
	for (int i = 0; i < 33; i++)
		q = realloc(q, (size_t)(16 + i * 8));
	sink = q;
	if (!strcmp(argv[1], "kill"))
		raise(SIGKILL);
	*null_int = 1;
	return 0;
}
