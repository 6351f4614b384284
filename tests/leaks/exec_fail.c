/* Description: an exec that fails (no such file), then a normal exit.
 * The shim finishes its trace before an exec and takes it up again when
 * the exec fails: the collector thread it then starts, and the blocks
 * glibc allocates for that thread (its DTV), are the shim's, not the
 * program's.  They used to be counted as the program's: a false leak with
 * jemalloc, a crash at exit with --allocator system.  Expected: exit 0,
 * nothing leaks, nothing is live at exit. */
#include <errno.h>
#include <unistd.h>

int main(void)
{
	char *argv[] = {"/nonexistent/heapsnap-exec-fail", NULL};

	execv(argv[0], argv);
	return errno == ENOENT ? 0 : 1;
}
