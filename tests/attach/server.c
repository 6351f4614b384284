/* Description: the test server of tests/attach.sh, started untraced.
 * Four worker threads serve requests in a loop: each request allocates a
 * buffer (REQUEST), fills and checks it, frees it, and leaks one 48-byte
 * block (LEAK); then the worker rests 500 us.  The main thread answers
 * one-line commands on the unix socket argv[1]:
 *   stats    "requests N errors E malloc_got G malloc_libc L"
 *            (G: the address the program's GOT gives for malloc now,
 *            L: glibc's: equal when nobody patched the slot)
 *   keep N   N blocks of 64 bytes (KEEP) stored into a table allocated at
 *            start: reachable only from memory allocated before an attach
 *   plugin L N   dlopen libplugin_L.so, by its path if L is "a", by its
 *            bare name (found through this program's RUNPATH) if "b", wait
 *            0.3 s, and call its plugin_work(N): "plugin N"
 *   fork     fork a child that allocates and frees 1000 blocks and exits 0;
 *            wait for it: "child S" (S its exit status)
 *   quit     the workers stop; it prints "served N requests, E errors"
 *            and exits 0
 * E counts requests whose buffer did not read back what was written. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define WORKERS 4
#define TABLE 4096

static atomic_long requests, errors;
static atomic_int stop;
static void **table; /* allocated before any attach */
static int ntable;

/* Leak one block; nothing keeps its address. */
static __attribute__((noinline)) void leak_one(void)
{
	char *p = malloc(48); /* LEAK */
	if (p)
		memset(p, 0x5a, 48);
}

/* Zero the stack below the caller, where leak_one's frame was: a stale
 * copy of the leaked address there would be read as a pointer. */
static __attribute__((noinline)) void scrub(void)
{
	volatile char area[8192];
	memset((char *)area, 0, sizeof(area));
}

static __attribute__((noinline)) void serve_one(unsigned n)
{
	size_t size = 100 + (n * 2654435761u) % 4000;
	unsigned char *buf = malloc(size); /* REQUEST */
	if (!buf) {
		errors++;
		return;
	}
	for (size_t i = 0; i < size; i++)
		buf[i] = (unsigned char)(i * 7 + n);
	for (size_t i = 0; i < size; i++)
		if (buf[i] != (unsigned char)(i * 7 + n)) {
			errors++;
			break;
		}
	free(buf);
	requests++;
}

static void *worker(void *arg)
{
	unsigned n = (unsigned)(long)arg;

	while (!stop) {
		serve_one(n++);
		leak_one();
		scrub();
		usleep(500);
	}
	return NULL;
}

static __attribute__((noinline)) void keep(int n)
{
	for (int i = 0; i < n && ntable < TABLE; i++)
		table[ntable++] = malloc(64); /* KEEP */
}

/* dlopen libplugin_L.so and run its plugin_work(n); -1 if it failed. */
static int plugin(char lib, int n)
{
	char path[4200], self[4096];
	ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (k <= 0)
		return -1;
	self[k] = 0;
	*strrchr(self, '/') = 0;
	if (lib == 'a')
		snprintf(path, sizeof(path), "%s/libplugin_a.so", self);
	else
		snprintf(path, sizeof(path), "libplugin_%c.so", lib);
	void *h = dlopen(path, RTLD_NOW);
	if (!h)
		return -1;
	usleep(300000);
	int (*work)(int) = (int (*)(int))dlsym(h, "plugin_work");
	return work ? work(n) : -1;
}

static int fork_child(void)
{
	int status = -1;
	pid_t pid = fork();

	if (pid == 0) {
		for (int i = 0; i < 1000; i++)
			free(malloc(100 + i));
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	pthread_t t[WORKERS];
	char line[256];

	if (argc != 2 || strlen(argv[1]) >= sizeof(sa.sun_path))
		return 2;
	table = calloc(TABLE, sizeof(*table));
	strcpy(sa.sun_path, argv[1]);
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (!table || lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 8))
		return 2;
	for (long i = 0; i < WORKERS; i++)
		pthread_create(&t[i], NULL, worker, (void *)(i * 1000003));
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, line, sizeof(line) - 1);
		line[n > 0 ? n : 0] = 0;
		int arg = 0;
		char lib = 0;
		if (!strncmp(line, "stats", 5)) {
			void *volatile got = (void *)malloc; /* through the GOT */
			dprintf(fd, "requests %ld errors %ld malloc_got %p malloc_libc %p\n", (long)requests, (long)errors,
				got, dlsym(RTLD_NEXT, "malloc"));
		} else if (sscanf(line, "keep %d", &arg) == 1) {
			keep(arg);
			dprintf(fd, "kept %d\n", ntable);
		} else if (sscanf(line, "plugin %c %d", &lib, &arg) == 2) {
			dprintf(fd, "plugin %d\n", plugin(lib, arg));
		} else if (!strncmp(line, "fork", 4)) {
			dprintf(fd, "child %d\n", fork_child());
		} else if (!strncmp(line, "quit", 4)) {
			dprintf(fd, "bye\n");
			close(fd);
			break;
		}
		close(fd);
	}
	stop = 1;
	for (int i = 0; i < WORKERS; i++)
		pthread_join(t[i], NULL);
	unlink(argv[1]);
	printf("served %ld requests, %ld errors\n", (long)requests, (long)errors);
	return 0;
}
