/* Description: fork N children one after the other; each allocates 10
 * blocks of 100 bytes, frees 5 and exits; the parent waits for each.
 * Prints "children=N" and exits 0 if every child exited 0. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 10, ok = 1;

	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0)
			return 2;
		if (pid == 0) {
			void *volatile b[10];
			for (int k = 0; k < 10; k++)
				b[k] = malloc(100);
			for (int k = 0; k < 5; k++)
				free(b[k]);
			exit(0);
		}
		int status;
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
			ok = 0;
	}
	printf("children=%d\n", n);
	return ok ? 0 : 1;
}
