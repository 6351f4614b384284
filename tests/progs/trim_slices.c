/* Description: a trim, cut into slices by the ring drains between its
 * madvise calls, still gives back every freed page.  256 freed blocks of
 * 96 KiB (24 MiB of dirty pages, each block an extent of its own between
 * two kept ones: 256 madvise calls) must leave the resident size once it
 * reaches a new high (backing.c, backing_trim_peak), while a second
 * thread's allocations fill its ring during the purge, so that the
 * collector drains it between the calls (collector.c, trim_between).
 * The decay (a second) does not do it in time: the main thread allocates
 * nothing meanwhile.  Prints "gave back N of M kB in T ms, W worker
 * blocks"; exits 0 when at least 16 MiB went back within 3 s, else 1. */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define NBLOCKS 256
#define BLOCK (96 << 10)
#define BUMP (8 << 20)

static atomic_int stop;
static atomic_long made;

/* Resident kB, from /proc/self/statm (no allocation: the main thread
 * must not tick its arena's decay). */
static long resident_kb(void)
{
	char buf[128];
	int fd = open("/proc/self/statm", O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *p = strchr(buf, ' ');
	return p ? strtol(p + 1, NULL, 10) * (sysconf(_SC_PAGESIZE) / 1024) : -1;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Events, fast: fills its ring while the collector purges. */
static void *worker(void *arg)
{
	void *keep[64] = {0};
	long n = 0;

	(void)arg;
	while (!atomic_load(&stop)) {
		for (int i = 0; i < 64; i++) {
			free(keep[i]);
			keep[i] = malloc(16 + (size_t)(i * 8));
		}
		n += 64;
	}
	for (int i = 0; i < 64; i++)
		free(keep[i]);
	atomic_store(&made, n);
	return NULL;
}

int main(void)
{
	static char *gone[NBLOCKS], *kept[NBLOCKS];
	pthread_t th;

	for (int i = 0; i < NBLOCKS; i++) {
		gone[i] = malloc(BLOCK);
		kept[i] = malloc(BLOCK);
		if (!gone[i] || !kept[i])
			return 2;
		memset(gone[i], 1, BLOCK);
		memset(kept[i], 2, BLOCK);
	}
	if (pthread_create(&th, NULL, worker, NULL))
		return 2;
	usleep(100000); /* the collector's checks see this high */
	for (int i = 0; i < NBLOCKS; i++)
		free(gone[i]);
	long before = resident_kb();
	/* a new high: the next check purges */
	char *bump = mmap(NULL, BUMP, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (bump == MAP_FAILED)
		return 2;
	memset(bump, 3, BUMP);
	long t0 = now_ms(), t = t0, low = resident_kb(), want = 16 << 10;
	while (before + BUMP / 1024 - low < want && t - t0 < 3000) {
		usleep(5000);
		long r = resident_kb();
		if (r >= 0 && r < low)
			low = r;
		t = now_ms();
	}
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	long back = before + BUMP / 1024 - low;
	printf("gave back %ld of %ld kB in %ld ms, %ld worker blocks\n", back, (long)NBLOCKS * BLOCK / 1024, t - t0,
	       atomic_load(&made));
	for (int i = 0; i < NBLOCKS; i++)
		free(kept[i]);
	munmap(bump, BUMP);
	return back >= want ? 0 : 1;
}
