/* Description: dlopen the helper library beside this program
 * (libdl_helper.so), call helper_work(29), which makes 29 aligned_alloc and
 * 29 pvalloc calls, and print its result.  argv[1] picks the mode:
 * "close" dlcloses the library afterwards, "keep" leaves it loaded until
 * exit, "late" loads it, waits 300 ms (a dozen of the collector's cycles,
 * none of whose stacks is in the library) before calling it, and leaves
 * it loaded, "none" does not load it (the reference for the module
 * count). */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char path[PATH_MAX];
	const char *mode = argc > 1 ? argv[1] : "close";

	if (!strcmp(mode, "none")) {
		printf("helper not loaded\n");
		return 0;
	}
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 32);
	if (n <= 0)
		return 1;
	path[n] = 0;
	strcpy(strrchr(path, '/') + 1, "libdl_helper.so");
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 1;
	}
	unsigned long (*work)(int) = (unsigned long (*)(int))dlsym(h, "helper_work");
	if (!work) {
		fprintf(stderr, "dlsym: %s\n", dlerror());
		return 1;
	}
	if (!strcmp(mode, "late"))
		nanosleep(&(struct timespec){0, 300 * 1000 * 1000}, NULL);
	printf("helper_work(29) = %lu\n", work(29));
	fflush(stdout);
	if (!strcmp(mode, "close") && dlclose(h)) {
		fprintf(stderr, "dlclose: %s\n", dlerror());
		return 1;
	}
	return 0;
}
