/*
 * check_leaky.c - a program for `heapsnap check`: argv[1] picks what it
 * does, so one binary gives the clean, leaky, new-leak and failing runs.
 *
 *   clean  frees everything, exits 0
 *   leak   3 blocks of 100 bytes lost at leak_three(), exits 0
 *   leak2  the same plus 1 block of 64 bytes at leak_one(), exits 0
 *   fail   the same as leak, then exits 3
 */
#include <stdlib.h>
#include <string.h>

static void *volatile keep; /* defeats dead-store elimination of the frees */

__attribute__((noinline)) static void leak_three(void)
{
	for (int i = 0; i < 3; i++) {
		char *p = malloc(100); /* check.sh: the 3 x 100 site */
		memset(p, i, 100);
		keep = p;
	}
	keep = NULL;
}

__attribute__((noinline)) static void leak_one(void)
{
	keep = malloc(64); /* check.sh: the new site */
	keep = NULL;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "clean";
	char *p = malloc(500);

	free(p);
	if (!strcmp(mode, "clean"))
		return 0;
	leak_three();
	if (!strcmp(mode, "leak2"))
		leak_one();
	return strcmp(mode, "fail") ? 0 : 3;
}
