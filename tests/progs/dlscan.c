/*
 * dlscan - pointer scans while another thread loads and unloads a library.
 *
 * A scan stops every other thread; one stopped inside dlopen or dlclose
 * holds the loader's lock.  A collector that then asks the loader for its
 * module list (dl_iterate_phdr) while the threads are stopped waits for
 * that lock for good: the program hangs.  The loader thread spends most
 * of its time in dlopen/dlclose, so most scans find it there.
 *
 * usage: dlscan LIBRARY [scans]     (default 100 scans)
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "heapsnap.h"

static atomic_int done;
static const char *library;
static long loads;

static void *load_loop(void *arg)
{
	(void)arg;
	while (!atomic_load_explicit(&done, memory_order_relaxed)) {
		void *h = dlopen(library, RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			fprintf(stderr, "dlscan: %s\n", dlerror());
			exit(2);
		}
		dlclose(h);
		loads++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: dlscan LIBRARY [scans]\n");
		return 2;
	}
	library = argv[1];
	int scans = argc > 2 ? atoi(argv[2]) : 100;
	pthread_t t;
	if (pthread_create(&t, NULL, load_loop, NULL))
		return 1;
	for (int i = 0; i < scans; i++)
		(void)heapsnap_leak_check();
	atomic_store_explicit(&done, 1, memory_order_relaxed);
	pthread_join(t, NULL);
	printf("%d scans, %ld loads\n", scans, loads);
	return 0;
}
