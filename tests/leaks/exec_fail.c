/* Description: an exec that fails (no such file), then a normal exit.
 * The shim finishes its trace before an exec and takes it up again when
 * the exec fails: the collector thread it then starts, and the blocks
 * glibc allocates for that thread (its DTV), are the shim's, not the
 * program's (they used to be counted as the program's: a crash at exit
 * with --allocator system).  The thread makes its first allocation after
 * the failed exec, so it needs a new ring then (its events used to be
 * dropped: the ring file was closed before the exec).  Expected: exit 0,
 * nothing leaks, nothing is live at exit, no event dropped. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static void *volatile sink;

int main(void)
{
	char *argv[] = {"/nonexistent/heapsnap-exec-fail", NULL};

	execv(argv[0], argv);
	if (errno != ENOENT)
		return 1;
	sink = malloc(100);
	free(sink);
	return 0;
}
