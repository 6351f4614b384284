/* Description: pagemapfd MODE: large callocs and moving reallocs over
 * freed blocks full of garbage (as zeroing.c) after the program has done
 * something to the descriptor of /proc/self/pagemap the shim keeps
 * (backing.c), which must then neither read a wrong file nor the wrong
 * process's pages:
 *   closeall  close every descriptor from 3 up (as closefrom does)
 *   replace   dup2 /dev/zero over it (reads as "no page mapped")
 *   fork      check in a forked child (the kept one is the parent's)
 * Prints "ok N" (blocks checked) or the first wrong byte, and exits 1. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int bad;

static void check_zero(size_t n, const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < len && !bad; i++)
		if (p[i]) {
			printf("calloc %zu: byte %zu of %zu is %#x\n", n, i, len, p[i]);
			bad = 1;
		}
}

/* Large callocs over freed garbage, and moves of written blocks. */
static int check(void)
{
	static const size_t sizes[] = {3 << 20, 1 << 20, 200000, 65536 + 7, 16384};
	int checked = 0;

	for (int round = 0; round < 10 && !bad; round++)
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]) && !bad; k++) {
			size_t n = sizes[k];
			unsigned char *a = malloc(n);
			if (!a)
				exit(2);
			memset(a, 0xa5, malloc_usable_size(a));
			free(a);
			unsigned char *c = calloc(1, n);
			if (!c)
				exit(2);
			check_zero(n, c, malloc_usable_size(c));
			/* written all over, then moved (a block after it) */
			memset(c, 0x3c, n);
			unsigned char *wall = malloc(n);
			unsigned char *q = realloc(c, 3 * n);
			if (!wall || !q)
				exit(2);
			for (size_t i = 0; i < n && !bad; i++)
				if (q[i] != 0x3c) {
					printf("realloc %zu: byte %zu is %#x\n", n, i, q[i]);
					bad = 1;
				}
			free(q);
			free(wall);
			checked += 2;
		}
	return checked;
}

/* The descriptor of a pagemap, or -1. */
static int pagemap_fd(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char path[300], link[256];
	int fd = -1;

	while (d && (e = readdir(d))) {
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		if (n > 0 && (link[n] = 0, strstr(link, "/pagemap")))
			fd = atoi(e->d_name);
	}
	if (d)
		closedir(d);
	return fd;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "closeall";
	int checked = check(); /* the shim keeps its descriptor from here */

	if (!strcmp(mode, "closeall")) {
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
	} else if (!strcmp(mode, "replace")) {
		int fd = pagemap_fd(), z = open("/dev/zero", O_RDONLY);
		if (fd >= 0 && (z < 0 || dup2(z, fd) != fd))
			return 2;
	} else if (!strcmp(mode, "fork")) {
		pid_t pid = fork();
		if (pid < 0)
			return 2;
		if (pid == 0) {
			checked += check();
			if (bad) {
				fflush(stdout);
				_exit(1);
			}
			printf("ok %d\n", checked);
			fflush(stdout);
			_exit(0);
		}
		int status;
		if (waitpid(pid, &status, 0) != pid)
			return 2;
		return WIFEXITED(status) ? WEXITSTATUS(status) : 3;
	}
	checked += check();
	if (bad)
		return 1;
	printf("ok %d\n", checked);
	return 0;
}
