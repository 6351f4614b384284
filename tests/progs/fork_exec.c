/* Description: fork and exec under the shim.  The parent makes 5 valloc
 * calls, then forks two children: the first makes 7 mallocs of 1000..1006
 * bytes and a malloc(0), frees the first 3, and leaves with exit(0) (live
 * at its end: 5 blocks, 4018 bytes; peak 7021 bytes); the second makes 11
 * callocs and leaves with _exit(0).  The parent waits for both, prints the pids as
 * "parent=P child1=C1 child2=C2", and execs itself with the argument
 * "exec"; the new image makes 17 memalign calls, frees them, prints
 * "exec pid=P" and exits 0.  Each process image must get its own trace:
 * FILE (parent before exec), FILE.C1, FILE.C2, FILE.P (after exec). */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void *volatile sink;

static int exec_image(void)
{
	void *p[17];

	for (int i = 0; i < 17; i++)
		p[i] = memalign(128, 1000);
	for (int i = 0; i < 17; i++)
		free(p[i]);
	printf("exec pid=%d\n", (int)getpid());
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "exec"))
		return exec_image();

	for (int i = 0; i < 5; i++)
		sink = valloc(100);
	fflush(stdout);
	pid_t c1 = fork();
	if (c1 < 0)
		return 1;
	if (c1 == 0) {
		void *p[7];
		for (int i = 0; i < 7; i++)
			p[i] = malloc(1000 + (size_t)i);
		sink = malloc(0);
		for (int i = 0; i < 3; i++)
			free(p[i]);
		exit(0);
	}
	pid_t c2 = fork();
	if (c2 < 0)
		return 1;
	if (c2 == 0) {
		for (int i = 0; i < 11; i++)
			sink = calloc(1, 64);
		_exit(0);
	}
	int st1, st2;
	if (waitpid(c1, &st1, 0) != c1 || waitpid(c2, &st2, 0) != c2)
		return 1;
	if (!WIFEXITED(st1) || WEXITSTATUS(st1) || !WIFEXITED(st2) || WEXITSTATUS(st2)) {
		fprintf(stderr, "fork_exec: a child failed (%#x, %#x)\n", st1, st2);
		return 1;
	}
	printf("parent=%d child1=%d child2=%d\n", (int)getpid(), (int)c1, (int)c2);
	fflush(stdout);
	char *args[] = {argv[0], "exec", NULL};
	execv("/proc/self/exe", args);
	perror("fork_exec: execv");
	return 1;
}
