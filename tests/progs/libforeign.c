/*
 * libforeign.c - a thread the interpreter did not start, calling back into
 * Python again and again (tests/integration.sh, through ctypes): each call
 * makes the thread's interpreter state and deletes it after, and the
 * thread allocates between the calls with no Python running on it.  The
 * shim keeps each thread's interpreter state until the interpreter's key
 * may have changed (python.c): the debug build checks on every stack that
 * what it kept is what the interpreter says.
 */
#include <pthread.h>
#include <stdlib.h>

static void (*callback)(int);
static volatile int sink;

static void *run(void *arg)
{
	for (int i = 0; i < 20; i++) {
		callback(i);
		char *p = malloc(1000 + (size_t)i);
		if (p) {
			p[0] = (char)i;
			sink += p[0];
			free(p);
		}
	}
	return arg;
}

/* Call f(0) .. f(19) on a new thread, allocating between the calls;
 * 0 once the thread is done, -1 if it could not start. */
int foreign_calls(void (*f)(int))
{
	pthread_t t;

	callback = f;
	if (pthread_create(&t, NULL, run, NULL))
		return -1;
	return pthread_join(t, NULL) ? -1 : 0;
}
