/* Description: a SIGUSR1 handler that mallocs and frees while the main
 * thread allocates in a loop and a second thread sends it SIGUSR1 every few
 * microseconds, so that signals land inside the shim's hooks and inside the
 * backing allocator.  Must neither deadlock nor crash: an alarm after 10 s
 * kills a deadlocked run with SIGALRM.  Prints "iterations=N",
 * "large=L", "signals=S" and "failed=F" with write(2) (no stdio buffer in
 * the heap).
 * The main loop makes N malloc, N realloc and N free calls, plus L
 * malloc/free pairs of large blocks; the handler makes 2 mallocs and 2
 * frees per signal.  A trace must hold each of those events or count it as
 * dropped, except for the F mallocs of the handler that returned NULL
 * (and their free(NULL)): they are no events.  (The shim serves nested
 * calls from a pool that it never reuses, 64 MiB; a run where many signals
 * land inside hooks exhausts it.)
 *
 * malloc is not async-signal-safe, and neither glibc's nor jemalloc's
 * survives this program untraced (both deadlock or crash sooner or later):
 * under the shim the handler's calls come in while the thread is inside a
 * hook, which can tell, and must serve them without re-entering the state
 * the interrupted call holds.  The large blocks (above jemalloc's 32 KiB
 * thread-cache limit) make the main thread spend its time holding the
 * allocator's locks, so a shim that forwards nested calls to the same
 * allocator state fails here every time, not once in a hundred runs. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define ITERATIONS 200000
#define LARGE_EVERY 8

static pthread_t main_thread;
static volatile sig_atomic_t done;
static volatile sig_atomic_t handled;
static volatile sig_atomic_t failed; /* handler mallocs that returned NULL */

static void on_usr1(int sig)
{
	(void)sig;
	char *p = malloc(40);
	char *q = malloc(70000);
	if (p)
		p[0] = 1;
	else
		failed++;
	if (q)
		q[0] = 1;
	else
		failed++;
	free(q);
	free(p);
	handled++;
}

static void *signaler(void *arg)
{
	struct timespec ts = {0, 2000};

	(void)arg;
	while (!done) {
		pthread_kill(main_thread, SIGUSR1);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

int main(void)
{
	struct sigaction sa = {0};
	pthread_t th;
	int large = 0;

	alarm(10);
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	main_thread = pthread_self();
	if (pthread_create(&th, NULL, signaler, NULL))
		return 1;
	for (int i = 0; i < ITERATIONS; i++) {
		char *p = malloc(16 + (size_t)(i % 64));
		p[0] = 1;
		p = realloc(p, 200);
		free(p);
		if (i % LARGE_EVERY == 0) {
			char *big = malloc(65536 + (size_t)(i % 16) * 4096);
			big[0] = 1;
			free(big);
			large++;
		}
	}
	/* Block the signal before stopping the sender, so the count printed
	 * is final. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	done = 1;
	pthread_join(th, NULL);
	char out[128];
	int n = snprintf(out, sizeof(out), "iterations=%d\nlarge=%d\nsignals=%d\nfailed=%d\n", ITERATIONS,
			 large, (int)handled, (int)failed);
	if (write(1, out, (size_t)n) != n)
		return 1;
	return 0;
}
