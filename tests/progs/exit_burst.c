/* Description: at exit, after a pause, allocates and frees N blocks of 16
 * bytes (argv[1], default 480), then lets the shim's exit path run.  The
 * pause lets the collector go quiet, so the burst is still in the ring
 * when the collector stops; __libc_freeres then frees the locale and NSS
 * data loaded here (about 150 blocks) into that ring.  With
 * ring_records=1024 the two together overfill it, which the exit path
 * must handle without dropping an event. */
#include <locale.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_BLOCKS 4096

static void *blocks[MAX_BLOCKS];
static int nblocks = 480;

static void burst(void)
{
	usleep(100000);
	for (int i = 0; i < nblocks; i++)
		blocks[i] = malloc(16);
	for (int i = 0; i < nblocks; i++)
		free(blocks[i]);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		nblocks = atoi(argv[1]);
	if (nblocks < 0 || nblocks > MAX_BLOCKS)
		return 2;
	setlocale(LC_ALL, "C.UTF-8");
	(void)getpwuid(0);
	atexit(burst);
	return 0;
}
