/* Description: one block held by each kind of root, for tests/retain.sh:
 * a global (g_name, in .bss), a local variable of serve() on the stack of
 * a second thread blocked in read(), and a TLS variable of that thread
 * (t_cache).  The program prints "ready" once the thread waits, and ends
 * on a line on stdin.  Sites: the lines marked SITE:name. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *g_name;
static __thread char *t_cache;
static int pipe_fd[2];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t waiting = PTHREAD_COND_INITIALIZER;
static int ready;

static void serve(void)
{
	char *request = malloc(222); /* SITE:local */
	char c;

	memset(request, 'r', 222);
	pthread_mutex_lock(&lock);
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
	printf("ready\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		line[0] = 0;
	(void)!write(pipe_fd[1], "x", 1);
	pthread_join(t, NULL);
	free(g_name);
	return 0;
}
