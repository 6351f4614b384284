/* Description: a program that execs itself: with argument N > 0 it
 * allocates 3 blocks of 50 bytes (freeing none) and execs itself with
 * N - 1; with 0 it prints "bottom" and exits.  Every image writes a trace
 * of its own. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 0;
	char next[16];

	if (n <= 0) {
		printf("bottom\n");
		return 0;
	}
	for (int k = 0; k < 3; k++) {
		void *volatile p = malloc(50);
		(void)p;
	}
	snprintf(next, sizeof(next), "%d", n - 1);
	execl("/proc/self/exe", argv[0], next, (char *)NULL);
	perror("execl");
	return 1;
}
