/* Description: ends the way argv says, to check that `heapsnap run` passes
 * the program's end through: "exit N" allocates and exits with status N;
 * "raise SIG" allocates and raises signal number SIG; "wait FILE"
 * allocates, creates FILE and sleeps until a signal ends it. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *volatile sink;

int main(int argc, char **argv)
{
	if (argc < 3)
		return 64;
	for (int i = 0; i < 10; i++)
		sink = malloc(100);
	printf("status: %s %s\n", argv[1], argv[2]);
	fflush(stdout);
	if (!strcmp(argv[1], "exit"))
		exit(atoi(argv[2]));
	if (!strcmp(argv[1], "raise")) {
		raise(atoi(argv[2]));
		return 70;
	}
	if (!strcmp(argv[1], "wait")) {
		int fd = open(argv[2], O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd < 0)
			return 71;
		close(fd);
		for (;;)
			pause();
	}
	return 64;
}
