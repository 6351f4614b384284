/* Description: fsizedrop LIMIT: 300,000 malloc/free pairs, then the
 * program lowers its own file size limit (RLIMIT_FSIZE) to LIMIT bytes,
 * below what its trace holds by then, and makes 300,000 more.  Prints
 * "done": the program must not die of SIGXFSZ (the trace's writes past
 * the limit fail instead). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/resource.h>
static void burst(long n, unsigned s)
{
	for (long i = 0; i < n; i++) {
		s = s * 1103515245u + 12345u;
		void *volatile p = malloc(s % 4000 + 1);
		free(p);
	}
}
int main(int argc, char **argv)
{
	long lim = argc > 1 ? atol(argv[1]) : 65536;
	burst(300000, 1);
	usleep(200000);
	struct rlimit rl;
	getrlimit(RLIMIT_FSIZE, &rl);
	rl.rlim_cur = lim;
	setrlimit(RLIMIT_FSIZE, &rl);
	burst(300000, 2);
	usleep(100000);
	burst(1000, 3);
	printf("done\n");
	return 0;
}
