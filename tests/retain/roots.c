/* Description: one block held by each kind of root, for tests/retain.sh:
 * a global (g_name, in .bss), a local variable of serve() on the stack of
 * a second thread blocked in read(), and a TLS variable of that thread
 * (t_cache).  The program prints "ready" once the thread is blocked in
 * read() (the kernel says so: /proc/self/task/TID/syscall), so that the
 * scan finds it at the marked line, and ends on a line on stdin.  Sites:
 * the lines marked SITE:name. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static char *g_name;
static __thread char *t_cache;
static int pipe_fd[2];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t waiting = PTHREAD_COND_INITIALIZER;
static int ready;
static pid_t worker_tid;

/* Whether thread tid is in read(pipe_fd[0], ...) now: the first two
 * fields of /proc/self/task/TID/syscall are the call's number and its
 * first argument. */
static int in_read(pid_t tid)
{
	char path[64];
	long nr = -1;
	unsigned long fd = 0;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	int n = fscanf(f, "%ld %lx", &nr, &fd);
	fclose(f);
	return n == 2 && nr == SYS_read && fd == (unsigned long)pipe_fd[0];
}

static void serve(void)
{
	char *request = malloc(222); /* SITE:local */
	char c;

	memset(request, 'r', 222);
	pthread_mutex_lock(&lock);
	worker_tid = (pid_t)syscall(SYS_gettid);
	ready = 1;
	pthread_cond_signal(&waiting);
	pthread_mutex_unlock(&lock);
	while (read(pipe_fd[0], &c, 1) < 0) /* stopped here for the scan */
		;
	free(request);
}

static void *worker(void *arg)
{
	(void)arg;
	t_cache = malloc(111); /* SITE:tls */
	memset(t_cache, 't', 111);
	serve();
	free(t_cache);
	return NULL;
}

int main(void)
{
	pthread_t t;
	char line[16];

	g_name = malloc(333); /* SITE:global */
	memset(g_name, 'g', 333);
	if (pipe(pipe_fd))
		return 1;
	pthread_create(&t, NULL, worker, NULL);
	pthread_mutex_lock(&lock);
	while (!ready)
		pthread_cond_wait(&waiting, &lock);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < 10000 && !in_read(worker_tid); i++) {
		struct timespec ms = {0, 1000000};
		nanosleep(&ms, NULL);
	}
	printf("ready\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		line[0] = 0;
	(void)!write(pipe_fd[1], "x", 1);
	pthread_join(t, NULL);
	free(g_name);
	return 0;
}
