/* Description: a fork while the collector trims (backing.c,
 * backing_trim_peak) leaves the child an allocator that still purges.
 * Each round the parent frees 256 blocks of 96 KiB (each an extent of its
 * own between two kept ones: a trim gives them back in 256 madvise calls),
 * maps a new high so that the collector's next check purges, and forks as
 * soon as its resident size starts to fall (the trim is under way), while
 * a second thread's allocations fill its ring (the collector drains it
 * between the purge's calls).  The child frees the 24 MiB it inherited
 * kept and maps its own new high: its collector's trim must give them
 * back within 3 s.  jemalloc's purge marks the arena's decay as purging
 * for its length; a child forked inside it, where the purging thread does
 * not exist, kept the mark and never purged that arena again.  Prints
 * "R rounds: S children could not purge, F forks begun inside a trim,
 * fork max T ms"; exits 0 when every child gave back its pages and a
 * fork began inside a trim (else nothing was tested), else 1. */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 4
#define NBLOCKS 256
#define BLOCK (96 << 10)
#define BUMP (4 << 20)

static atomic_int stop;
static char *gone[NBLOCKS], *kept[NBLOCKS];

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

static long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static char *touched_map(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, 3, len);
	return p;
}

/* Events, fast: fills its ring while the collector purges. */
static void *worker(void *arg)
{
	void *keep[64] = {0};

	(void)arg;
	while (!atomic_load(&stop)) {
		for (int i = 0; i < 64; i++) {
			free(keep[i]);
			keep[i] = malloc(16 + (size_t)(i * 8));
		}
	}
	for (int i = 0; i < 64; i++)
		free(keep[i]);
	return NULL;
}

/* The child: free what it inherited kept, pass the parent's highest
 * resident size (its collector's trims start from the last trim's), and
 * wait for the kept pages to go back (the trim's doing, or the decay's
 * when the frees advance it a long way).  0: they did. */
static int child(long high_kb)
{
	long before = resident_kb();
	for (int i = 0; i < NBLOCKS; i++)
		free(kept[i]);
	long bump_kb = high_kb - resident_kb() + high_kb / 32 + 4096;
	if (bump_kb < 4096)
		bump_kb = 4096;
	if (!touched_map((size_t)bump_kb * 1024))
		return 2;
	long want = (long)NBLOCKS * BLOCK / 1024 / 2, t0 = now_us(), low = resident_kb();
	/* long enough for a loaded machine: only a failure waits it out */
	while (before + bump_kb - low < want && now_us() - t0 < 10000000) {
		usleep(5000);
		long r = resident_kb();
		if (r >= 0 && r < low)
			low = r;
	}
	return before + bump_kb - low >= want ? 0 : 1;
}

int main(void)
{
	pthread_t th;
	int rounds = 0, stuck = 0, inside = 0;
	long fork_max = 0;

	for (int i = 0; i < NBLOCKS; i++) {
		kept[i] = malloc(BLOCK);
		gone[i] = malloc(BLOCK);
		if (!kept[i] || !gone[i])
			return 2;
		memset(kept[i], 2, BLOCK);
	}
	if (pthread_create(&th, NULL, worker, NULL))
		return 2;
	for (int round = 0; round < ROUNDS; round++) {
		for (int i = 0; i < NBLOCKS; i++) {
			if (!gone[i] && !(gone[i] = malloc(BLOCK)))
				return 2;
			memset(gone[i], 1, BLOCK);
		}
		usleep(50000); /* the collector's checks see this high */
		for (int i = 0; i < NBLOCKS; i++) {
			free(gone[i]);
			gone[i] = NULL;
		}
		/* a new high, kept mapped: the next round's is higher still */
		if (!touched_map(BUMP))
			return 2;
		long top = resident_kb(), r = top, t0 = now_us();
		/* the trim has begun when a MiB is gone */
		while (r > top - 1024 && now_us() - t0 < 2000000)
			r = resident_kb();
		/* the highest resident size yet, which the collector's last
		 * trim (and the child's first) starts from, or more */
		struct rusage ru;
		if (getrusage(RUSAGE_SELF, &ru))
			return 2;
		fflush(stdout);
		long f0 = now_us();
		pid_t pid = fork();
		if (pid < 0)
			return 2;
		if (pid == 0)
			exit(child(ru.ru_maxrss));
		long took = now_us() - f0;
		if (took > fork_max)
			fork_max = took;
		/* fell by another MiB by 20 ms after the fork began: it began
		 * inside the trim (which it waited for, or which went on) */
		usleep(20000);
		if (r <= top - 1024 && resident_kb() < r - 1024)
			inside++;
		int st;
		if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) > 1)
			return 2;
		rounds++;
		stuck += WEXITSTATUS(st);
		if (stuck)
			break; /* one is enough, and took 10 s */
	}
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	printf("%d rounds: %d children could not purge, %d forks begun inside a trim, fork max %ld ms\n", rounds,
	       stuck, inside, fork_max / 1000);
	return stuck || !inside ? 1 : 0;
}
