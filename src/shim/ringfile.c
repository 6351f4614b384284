/*
 * ringfile.c - create and grow TRACE.rings.
 * HOOK-SAFE.
 */
#define _GNU_SOURCE
#include "shim/ringfile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "shim/arena_map.h"
#include "shim/log.h"
#include "shim/spin.h"
#include "trace/ringfile.h"
#include "util/fmt.h"
#include "util/hooksafe.h"

static struct spin lock;
static int fd = -1;
static uint64_t file_size; /* bytes, page multiple */
static char path_copy[1100];
static int named; /* path_copy names the file (not unlinked yet) */
static struct ringfile_id identity; /* of the file, inode 0 until known */
static int warned_full;	   /* the file could not grow once: said so */

/* The segments that live in memory only (the file could not grow): their
 * pages are their only copy, never given back (ringfile_unload).  Past
 * MEMORY_SEGS_MAX of them, none is given back. */
#define MEMORY_SEGS_MAX 64
static uintptr_t memory_segs[MEMORY_SEGS_MAX];
static uint32_t nmemory_segs;

/* The ring files of the processes this one was forked from: the
 * segments of theirs that the stack table and the Python tables did not
 * give back at the fork are still mapped here (MAP_SHARED), and are no
 * roots either.  A ring: a fork chain deeper than this forgets its
 * oldest. */
#define FORMER_MAX 16
static struct ringfile_id former[FORMER_MAX];
static uint32_t nformer; /* ever forgotten: former[] is a ring */

int ringfile_create(const char *path, uint64_t nonce)
{
	struct ringfile_file_header h;
	char page[RINGFILE_HEADER_SIZE];

	if (strlen(path) >= sizeof(path_copy))
		return -ENAMETOOLONG;
	/* No unlink first: whatever is at that name is not ours (the trace's
	 * name was chosen so that this one is free), and stays. */
	int f = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (f < 0)
		return -errno;
	/* Held for the life of the process (the kernel lets go when it dies):
	 * a reader merges only a ring file nobody holds (trace/recover.h). */
	(void)flock(f, LOCK_EX | LOCK_NB);
	memset(page, 0, sizeof(page));
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, RINGFILE_MAGIC, 8);
	h.version = RINGFILE_VERSION;
	h.nonce = nonce;
	memcpy(page, &h, sizeof(h));
	int rc = fmt_pwrite_all(f, page, sizeof(page), 0);
	if (rc) {
		close(f);
		unlink(path);
		return rc;
	}
	strcpy(path_copy, path);
	named = 1;
	struct stat st;
	if (fstat(f, &st) == 0)
		identity = (struct ringfile_id){major(st.st_dev), minor(st.st_dev), st.st_ino};
	fd = f;
	file_size = RINGFILE_HEADER_SIZE;
	return 0;
}

/*
 * Map bytes of new file space at the end of the file.  The blocks are
 * allocated first (posix_fallocate): a page of a shared mapping that the
 * file system cannot back kills the writer with SIGBUS, and a full disk
 * must not kill the program.  Nor may a file size limit (ulimit -f),
 * whose excess kills with SIGXFSZ: it is checked first.  Return the
 * mapping or NULL.  Lock held.
 */
static HS_NOINLINE void *map_file(size_t bytes)
{
	uint64_t off = file_size;
	struct rlimit rl;

	if (!getrlimit(RLIMIT_FSIZE, &rl) && rl.rlim_cur != RLIM_INFINITY && off + bytes > rl.rlim_cur)
		return NULL;
	if (fd < 0 || posix_fallocate(fd, (off_t)off, (off_t)bytes)) {
		if (fd >= 0)
			(void)ftruncate(fd, (off_t)off); /* undo a partial growth */
		return NULL;
	}
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
	if (p == MAP_FAILED && errno == ENOMEM) /* the program took the room: the reserve */
		p = arena_map_from_reserve(bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
	if (p == MAP_FAILED) {
		(void)ftruncate(fd, (off_t)off);
		return NULL;
	}
	/* No read-ahead on its faults: a write fault on a page of a shared
	 * file mapping otherwise reads ahead (zero-fills) dozens of the
	 * segment's pages that a short process never uses, and its unlink
	 * then frees them all: 0.3 ms of system time per ring file on ext4,
	 * most of its cost.  The pages are written in order, one at a time. */
	(void)syscall(SYS_madvise, p, bytes, MADV_RANDOM);
	file_size = off + bytes;
	return p;
}

void *ringfile_map(uint32_t type, size_t bytes)
{
	size_t page = 4096;
	int warn = 0;
	void *p;

	bytes = (bytes + page - 1) & ~(page - 1);
	spin_lock(&lock);
	p = map_file(bytes);
	if (!p && fd >= 0) {
		/* The file cannot grow (a full file system): this segment lives in
		 * memory only.  The collector drains it all the same; only a crash
		 * loses what it holds.  Anonymous memory of the shim's: not a root
		 * for the scan. */
		warn = !warned_full;
		warned_full = 1;
		p = arena_map_mmap(bytes);
		if (p && nmemory_segs < MEMORY_SEGS_MAX)
			memory_segs[nmemory_segs] = (uintptr_t)p;
		if (p && nmemory_segs <= MEMORY_SEGS_MAX)
			nmemory_segs++; /* past MEMORY_SEGS_MAX: lost count */
	}
	if (!p)
		goto out;
	struct ringfile_seg *seg = p;
	seg->type = type;
	seg->bytes = bytes;
	/* The magic goes last: a reader that finds it finds a sized segment.
	 * (Across a crash only the kernel's page cache matters, which keeps
	 * every store; the order is for a reader racing a live process.) */
	__atomic_store_n(&seg->magic, RINGFILE_SEG_MAGIC, __ATOMIC_RELEASE);
out:
	spin_unlock(&lock);
	if (warn) /* path_copy changes only at create and fork, never meanwhile */
		log_warn("cannot grow ", path_copy,
			 " (file system full?): new events stay in memory only, a crash would lose them");
	return p;
}

/* Is seg one of the segments in memory only?  Lock held. */
static int in_memory_only(const void *seg)
{
	if (nmemory_segs > MEMORY_SEGS_MAX)
		return 1; /* lost count: as if every one were */
	for (uint32_t i = 0; i < nmemory_segs; i++)
		if (memory_segs[i] == (uintptr_t)seg)
			return 1;
	return 0;
}

void ringfile_unload(void *seg)
{
	struct ringfile_seg *s = seg;

	spin_lock(&lock);
	if (!in_memory_only(seg))
		(void)syscall(SYS_madvise, seg, s->bytes, MADV_DONTNEED);
	spin_unlock(&lock);
}

static int same_file(const struct ringfile_id *a, uint32_t dev_major, uint32_t dev_minor, uint64_t inode)
{
	return a->inode == inode && a->dev_major == dev_major && a->dev_minor == dev_minor;
}

int ringfile_is_ours(uint32_t dev_major, uint32_t dev_minor, uint64_t inode)
{
	if (!inode)
		return 0;
	if (same_file(&identity, dev_major, dev_minor, inode))
		return 1;
	for (uint32_t i = 0; i < nformer && i < FORMER_MAX; i++)
		if (same_file(&former[i], dev_major, dev_minor, inode))
			return 1;
	return 0;
}

void ringfile_unlink(int keep_open)
{
	spin_lock(&lock);
	if (fd >= 0 && named) {
		(void)unlink(path_copy);
		named = 0;
	}
	if (fd >= 0 && !keep_open) {
		close(fd);
		fd = -1;
	}
	spin_unlock(&lock);
}

void ringfile_forget(void)
{
	spin_reset(&lock);
	if (fd >= 0)
		close(fd);
	fd = -1;
	named = 0;
	file_size = 0;
	if (identity.inode) /* over the oldest when full */
		former[nformer++ % FORMER_MAX] = identity;
	identity = (struct ringfile_id){0, 0, 0};
	warned_full = 0;
	nmemory_segs = 0; /* the parent's, unmapped by the caller */
}

void ringfile_lock(void)
{
	spin_lock(&lock);
}

void ringfile_unlock(void)
{
	spin_unlock(&lock);
}
