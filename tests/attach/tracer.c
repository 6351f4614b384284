/* Description: holds process argv[1] under ptrace (PTRACE_SEIZE, which
 * does not stop it) until killed, as a debugger or strace would: heapsnap
 * attach must then refuse with one line naming this tracer.  Prints
 * "tracing" once it holds it, or exits 1. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2 || ptrace(PTRACE_SEIZE, atoi(argv[1]), 0, 0)) {
		perror("tracer");
		return 1;
	}
	printf("tracing\n");
	fflush(stdout);
	for (;;)
		pause();
}
