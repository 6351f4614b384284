/* Description: leaks in a forked child.  The parent allocates a 9006-byte
 * block, waits 100 ms (a tracer has long seen it by then), then keeps a
 * 9004-byte block in a global, drops a 9005-byte one, frees the 9006-byte
 * one and forks at once: the child inherits 9004 and 9005, not 9006.  The
 * child then drops a 9001-byte block, keeps a 9002-byte block in a global
 * and calls exit(0); the parent waits for it, drops a 9003-byte block and
 * returns.  Each process gets its own trace (the child's is FILE.<pid>).
 * Expected, parent: definite 2 blocks (9003, 9005), 18008 bytes;
 * reachable 1 block (9004), 9004 bytes.  Child: definite 2 blocks (9001,
 * 9005), 18006 bytes; reachable 2 blocks (9002, 9004), 18006 bytes. */
#include <sys/wait.h>

#include "leak.h"

void *volatile g_before, *volatile g_child;

NOINLINE static void drop(size_t n)
{
	void *volatile p = malloc(n); /* LEAK:dropped */
	p = NULL;
	(void)p;
}

int main(void)
{
	int status;

	void *volatile freed = malloc(9006); /* LEAK:freed */

	usleep(100 * 1000);
	g_before = malloc(9004); /* LEAK:before */
	drop(9005);
	free(freed);
	freed = NULL;
	pid_t pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		drop(9001);
		g_child = malloc(9002); /* LEAK:child_kept */
		exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		return 1;
	drop(9003);
	return 0;
}
