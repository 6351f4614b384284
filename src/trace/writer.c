/*
 * writer.c - chunk building, zstd compression and appends to the trace.
 */
#define _GNU_SOURCE
#include "trace/writer.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_createCCtx_advanced: buffers on the private arena */
#include <zstd.h>

#include "trace/encode.h"
#include "trace/format.h"
#include "util/assert.h"
#include "util/crc32c.h"
#include "util/fmt.h"

static void *zalloc_cb(void *opaque, size_t n)
{
	struct trace_writer *w = opaque;
	return w->alloc(n);
}

static void zfree_cb(void *opaque, void *p)
{
	struct trace_writer *w = opaque;
	w->free(p);
}

void writer_init(struct trace_writer *w, int level, void *(*alloc)(size_t),
		 void *(*re)(void *, size_t), void (*release)(void *))
{
	memset(w, 0, sizeof(*w));
	w->fd = -1;
	w->level = level;
	w->alloc = alloc;
	w->realloc = re;
	w->free = release;
}

static HS_HOOKSAFE void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static HS_HOOKSAFE void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Expand pattern into out; return 0 or -ENAMETOOLONG. */
static HS_HOOKSAFE int expand(const char *pattern, const char *exe, uint32_t pid, char *out, size_t cap)
{
	struct fmt_buf b;

	fmt_init(&b, out, cap);
	for (const char *p = pattern; *p; p++) {
		if (p[0] == '%' && p[1] == 'p') {
			fmt_u64(&b, pid);
			p++;
		} else if (p[0] == '%' && p[1] == 'e') {
			fmt_str(&b, exe);
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			fmt_mem(&b, "%", 1);
			p++;
		} else {
			fmt_mem(&b, p, 1);
		}
	}
	return b.len + 24 < cap ? 0 : -ENAMETOOLONG;
}

static HS_HOOKSAFE int reserve(struct trace_writer *w, uint64_t end);

static HS_HOOKSAFE int open_excl(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_APPEND, 0600);
}

/* Is the name of path's ring file (path.rings) free?  A file there (a
 * crashed run's rings, or anything else) is never replaced: heapsnap
 * deletes only what it made. */
static HS_HOOKSAFE HS_NOINLINE int rings_name_free(const char *path)
{
	char rings[WRITER_PATH_MAX + 8];
	struct fmt_buf b;
	struct stat st;

	fmt_init(&b, rings, sizeof(rings));
	fmt_str(&b, path);
	fmt_str(&b, ".rings");
	return b.len < sizeof(rings) - 1 && lstat(rings, &st) && errno == ENOENT;
}

/*
 * Create the trace at out (base_len bytes), or, if that name is taken by
 * a file or a symbolic link, at out.<pid>, out.<pid>.1, ...  A name taken
 * by anything else (a directory, a device such as /dev/null, a FIFO) is
 * refused: the fallback names would land beside it, in / or /dev.  Return
 * the descriptor or -errno (-EISDIR, -EEXIST for such a name).
 */
static HS_HOOKSAFE HS_NOINLINE int create_free(char *out, size_t base_len, size_t cap, uint32_t pid)
{
	struct stat st;

	for (unsigned n = 0; n <= 1000; n++) {
		if (n) {
			struct fmt_buf b = {out, base_len, cap};
			out[base_len] = 0;
			fmt_mem(&b, ".", 1);
			fmt_u64(&b, pid);
			if (n > 1) {
				fmt_mem(&b, ".", 1);
				fmt_u64(&b, n - 1);
			}
		}
		int fd = open_excl(out);
		if (fd >= 0) {
			if (rings_name_free(out))
				return fd;
			close(fd);
			unlink(out); /* just made, empty: ours */
			continue;
		}
		if (errno != EEXIST)
			return -errno;
		if (n == 0 && !lstat(out, &st) && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
			return S_ISDIR(st.st_mode) ? -EISDIR : -EEXIST;
	}
	return -EEXIST;
}

int writer_create(struct trace_writer *w, const char *pattern, const char *exe, uint32_t pid,
		  uint32_t ppid, uint64_t nonce, uint64_t realtime_ns, uint64_t mono_ns, char *out,
		  size_t cap)
{
	if (cap > WRITER_PATH_MAX)
		cap = WRITER_PATH_MAX;
	int rc = expand(pattern, exe, pid, out, cap);
	if (rc)
		return rc;
	int fd = create_free(out, strlen(out), cap, pid);
	if (fd < 0)
		return fd;

	uint8_t h[HST_HEADER_SIZE];
	memset(h, 0, sizeof(h));
	memcpy(h, HST_MAGIC, 8);
	put_le32(h + HST_HDR_OFF_VERSION, HST_VERSION);
	put_le32(h + HST_HDR_OFF_HSIZE, HST_HEADER_SIZE);
	put_le32(h + HST_HDR_OFF_PID, pid);
	put_le32(h + HST_HDR_OFF_PPID, ppid);
	put_le64(h + HST_HDR_OFF_NONCE, nonce);
	put_le64(h + HST_HDR_OFF_REALTIME, realtime_ns);
	put_le64(h + HST_HDR_OFF_MONO, mono_ns);
	put_le32(h + HST_HDR_OFF_CRC, crc32c(0, h, HST_HDR_OFF_CRC));
	rc = fmt_write_all(fd, h, sizeof(h));
	w->fd = fd;
	w->file_bytes = sizeof(h);
	w->reserved = 0;
	/* A file system too full for the reserve gets no trace at all. */
	if (!rc)
		rc = reserve(w, sizeof(h) + WRITER_RESERVE);
	if (rc) {
		close(fd);
		unlink(out);
		w->fd = -1;
		return rc;
	}
	return 0;
}

uint8_t *writer_room(struct trace_writer *w, size_t n)
{
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 64 * 1024;
		while (cap < w->len + n)
			cap *= 2;
		uint8_t *nb = w->realloc(w->buf, cap);
		if (!nb)
			return NULL;
		w->buf = nb;
		w->cap = cap;
	}
	return w->buf + w->len;
}

/*
 * The record at rec, up to end, with its length in as few bytes as it
 * takes: encode_close writes 4 (a body's length is known only at its
 * end), a STACK or a THREAD needs 1.  Return the new end.  Three bytes of
 * most records are little for zstd, but xz's trace is small records:
 * 34 of its 1,129 compressed bytes.  A length already short (a record
 * copied from elsewhere) is left alone.
 */
static uint8_t *record_compact(uint8_t *rec, uint8_t *end)
{
	if (end - rec < ENCODE_HEAD || !(rec[1] & rec[2] & rec[3] & 0x80) || (rec[4] & 0x80))
		return end;
	uint64_t n = (uint64_t)(rec[1] & 0x7f) | (uint64_t)(rec[2] & 0x7f) << 7 | (uint64_t)(rec[3] & 0x7f) << 14 |
		     (uint64_t)rec[4] << 21;
	size_t k = (size_t)(varint_put(rec + 1, n) - (rec + 1));

	HS_ASSERT(k <= ENCODE_HEAD - 1);
	memmove(rec + 1 + k, rec + ENCODE_HEAD, (size_t)(end - rec) - ENCODE_HEAD);
	return end - (ENCODE_HEAD - 1 - k);
}

void writer_advance(struct trace_writer *w, uint8_t *end)
{
	w->len = (size_t)(record_compact(w->buf + w->len, end) - w->buf);
}

void writer_raw(struct trace_writer *w, const void *p, size_t n)
{
	uint8_t *d = writer_room(w, n);
	if (!d)
		return;
	memcpy(d, p, n);
	w->len = (size_t)(record_compact(d, d + n) - w->buf);
}

/*
 * The compressor's settings.  A trace starts small: most processes (a
 * shell job runs thousands) write a few kilobytes, and a compressor sized
 * for megabytes would cost them more to set up (its tables are zeroed)
 * than to use.  Once a frame has seen ZMODE_SMALL_LIMIT raw bytes, it ends
 * with the chunk that crosses the limit and the next frame gets the
 * settings the data deserves, judged by how well it has compressed so far:
 *
 *   STRONG  the level asked for (zstd_level, 10 by default) with a 1 MiB
 *           window: trace data that compresses well (a program repeating
 *           its allocation patterns: compilers, interpreters) compresses
 *           far better with the lazy match finders and a window that
 *           reaches back over a longer stretch of the run;
 *   FAST    level 3 (double fast) when the data compresses poorly (random
 *           sizes and sites, as a synthetic churn makes): the lazy levels
 *           then search at every byte for matches that are not there, four
 *           times the instructions for 1-2% of the size.
 *
 * A strong frame is judged again every ZMODE_FRAME_LIMIT raw bytes, since
 * a run changes character, and a fast one every ZMODE_FAST_LIMIT: a
 * program's start (its first stacks, Python's code objects) can compress
 * worse than the rest of its run (py_json's first 2 MB: 3.9 to 1, then 36),
 * and a fast frame loses little history.  A new frame costs the history
 * of the old one.  Frames
 * end only with a chunk, so every chunk still decompresses whole given the
 * chunks before it (format.h).
 */
#define ZMODE_SMALL_LIMIT (1u << 20)
#define ZMODE_FAST_LIMIT (4u << 20)
#define ZMODE_FRAME_LIMIT (64u << 20)
/* raw / compressed at or above which the strong settings pay and below
 * which, with some hysteresis, they do not.  The bench workloads' first
 * megabyte: churn 2.5, py_json 3.4 (then 50), prodcons 4.5-6, the real
 * programs 9.7 (git) to 106.  The strong settings make git's trace a
 * third smaller than zstd_level=3 does, cc1's two thirds, but prodcons's
 * (random sizes; a consumer's frees that repeat its producer's
 * allocations, which level 3 finds as well) 11% (1.77 against 2.0 MB),
 * for 0.3 s more of the collector's time in a 0.55 s run (4 was the
 * limit: prodcons's trace compressed worse before EVENTS_THREADS). */
#define ZMODE_STRONG_RATIO 8
#define ZMODE_WEAK_RATIO 3

/* Set the compressor up for a new frame in mode m; 0 or -1. */
static int zmode_set(struct trace_writer *w, enum writer_zmode m)
{
	ZSTD_CCtx *c = w->cctx;
	int level = w->level;
	size_t rc = 0;

	if (m != WRITER_ZMODE_STRONG && level > 3)
		level = 3;
	rc |= ZSTD_isError(ZSTD_CCtx_reset(c, ZSTD_reset_session_and_parameters));
	rc |= ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level));
	rc |= ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 0));
	switch (m) {
	case WRITER_ZMODE_SMALL:
		/* 128 KiB of window, 64 KiB tables: cheap to set up */
		rc |= ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, 17));
		rc |= ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_hashLog, 14));
		rc |= ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_chainLog, 14));
		break;
	case WRITER_ZMODE_FAST:
		/* Memory of the traced process: data that compresses poorly
		 * finds its matches near (churn's trace: 8,806 kB with a
		 * 512 KiB window, 8,776 kB with 64 KiB), and the context is
		 * 1.0 MB resident instead of 2.0 (ZSTD_sizeof_CCtx). */
		rc |= ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, 16));
		rc |= ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_hashLog, 16));
		rc |= ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_chainLog, 15));
		break;
	case WRITER_ZMODE_STRONG:
		/* Memory of the traced process: a 1 MiB window (compilers'
		 * patterns repeat at that distance: cc1's trace is 9% smaller
		 * than with 512 KiB; 2 MiB saved another 5%, for 1.6 MB more
		 * resident memory than the 0.5 MB this costs) and match
		 * tables far below the level's own (640 KiB). */
		rc |= ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, 20));
		rc |= ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_hashLog, 17));
		rc |= ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_chainLog, 17));
		break;
	case WRITER_ZMODE_NONE:
		break;
	}
	w->zmode = m;
	w->frame_raw = w->frame_stored = 0;
	return rc ? -1 : 0;
}

/* The mode of the frame after the current one, judged by its ratio. */
static enum writer_zmode zmode_next(const struct trace_writer *w)
{
	uint64_t raw = w->frame_raw, stored = w->frame_stored ? w->frame_stored : 1;

	if (w->level <= 3)
		return WRITER_ZMODE_FAST;
	if (w->zmode == WRITER_ZMODE_STRONG)
		return raw >= stored * ZMODE_WEAK_RATIO ? WRITER_ZMODE_STRONG : WRITER_ZMODE_FAST;
	return raw >= stored * ZMODE_STRONG_RATIO ? WRITER_ZMODE_STRONG : WRITER_ZMODE_FAST;
}

/*
 * Compress buf into zbuf as the next block of the trace's zstd stream,
 * ending at a flush point so the chunk decompresses completely given the
 * chunks before it.  Return 1 and the compressed size, or 0 to store the
 * chunk raw (no memory; the stream is then restarted with a new frame).
 */
static int compress_chunk(struct trace_writer *w, size_t *stored)
{
	if (!w->cctx) {
		ZSTD_customMem mem = {zalloc_cb, zfree_cb, w};
		w->cctx = ZSTD_createCCtx_advanced(mem);
		if (!w->cctx || zmode_set(w, WRITER_ZMODE_SMALL)) {
			w->level = 0;
			return 0;
		}
	}
	size_t bound = ZSTD_compressBound(w->len) + 64;
	if (w->zcap < bound) {
		/* Freed, not reallocated: nothing in it is needed, and a realloc
		 * copies all of it, faulting in as many pages of the new block,
		 * where the compressed chunk takes a few (jq: 80 to 1) */
		w->free(w->zbuf);
		w->zbuf = w->alloc(bound);
		w->zcap = w->zbuf ? bound : 0;
		if (!w->zbuf)
			return 0; /* the stream is untouched: it goes on next chunk */
	}
	uint64_t limit = w->zmode == WRITER_ZMODE_SMALL ? ZMODE_SMALL_LIMIT
			 : w->zmode == WRITER_ZMODE_FAST ? ZMODE_FAST_LIMIT
							 : ZMODE_FRAME_LIMIT;
	ZSTD_EndDirective end = w->frame_raw + w->len >= limit ? ZSTD_e_end : ZSTD_e_flush;
	ZSTD_inBuffer in = {w->buf, w->len, 0};
	ZSTD_outBuffer out = {w->zbuf, w->zcap, 0};
	size_t left;
	do
		left = ZSTD_compressStream2(w->cctx, &out, &in, end);
	while (!ZSTD_isError(left) && left && out.pos < out.size);
	if (ZSTD_isError(left) || left) {
		/* The stream is in an unknown state and the reader's half of it
		 * expects more: store this and every later chunk raw. */
		w->level = 0;
		return 0;
	}
	*stored = out.pos;
	w->frame_raw += w->len;
	w->frame_stored += out.pos;
	/* The frame ended with this chunk: the next one starts afresh. */
	if (end == ZSTD_e_end && zmode_set(w, zmode_next(w)))
		w->level = 0; /* the frame is whole: later chunks are stored raw */
	return 1;
}

/* Write a then b with as few system calls as the kernel allows. */
static int writev_all(int fd, const void *a, size_t an, const void *b, size_t bn)
{
	struct iovec iov[2] = {{(void *)a, an}, {(void *)b, bn}};
	int i = 0;

	while (i < 2) {
		ssize_t n = writev(fd, iov + i, 2 - i);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while (i < 2 && (size_t)n >= iov[i].iov_len) {
			n -= (ssize_t)iov[i].iov_len;
			i++;
		}
		if (i < 2) {
			iov[i].iov_base = (char *)iov[i].iov_base + n;
			iov[i].iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* Set by a thread that blocks SIGXFSZ (writer_thread_blocks_sigxfsz). */
static __thread bool sigxfsz_blocked;

void writer_thread_blocks_sigxfsz(void)
{
	sigxfsz_blocked = true;
}

/* Make sure the file's blocks are allocated up to offset end (beyond the
 * end of the file: FALLOC_FL_KEEP_SIZE), a step ahead so that most chunks
 * need no call.  Return 0 or -errno (ENOSPC...).  A file size limit
 * (ulimit -f) counts as a full disk: writing past it would kill the
 * program with SIGXFSZ.  The program may lower it at any time (setrlimit),
 * so it is read before every chunk, except by a thread that blocks
 * SIGXFSZ (the collector: its write past the limit fails with EFBIG, a
 * failed write like any other, and the signal is its own, thread-directed
 * and blocked): once a reserve step (1 MiB) there, not a system call a
 * chunk (churn: 132 prlimit64 calls a run). */
static HS_HOOKSAFE bool past_fsize(uint64_t end)
{
	struct rlimit rl;

	return !getrlimit(RLIMIT_FSIZE, &rl) && rl.rlim_cur != RLIM_INFINITY && end > rl.rlim_cur;
}

static HS_HOOKSAFE int reserve(struct trace_writer *w, uint64_t end)
{
	uint64_t from = w->reserved > w->file_bytes ? w->reserved : w->file_bytes;

	if ((!sigxfsz_blocked || end > w->reserved) && past_fsize(end))
		return -EFBIG;
	if (w->no_reserve || end <= w->reserved)
		return 0;
	for (uint64_t to = end + (1u << 20);; to = end) {
		if (!fallocate(w->fd, FALLOC_FL_KEEP_SIZE, (off_t)from, (off_t)(to - from))) {
			w->reserved = to;
			return 0;
		}
		if (errno == EOPNOTSUPP || errno == ENOSYS) {
			w->no_reserve = 1; /* a write error is then the first sign */
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (to == end || errno != ENOSPC)
			return -errno;
	}
}

/* Append one chunk (header and payload together, with one writev, so
 * that a crash leaves whole chunks and at most one torn one at the end).
 * Return 0 or -errno. */
static int append(struct trace_writer *w, uint8_t codec, const uint8_t *payload, size_t stored, size_t raw)
{
	uint8_t hdr[HST_CHUNK_HEADER_SIZE];

	/* The last chunk and a STOPPED take no reserve: checked here, lest a
	 * limit the program lowered below the trace's size kill it at exit
	 * (the END, written by the exiting thread). */
	if (!sigxfsz_blocked && (w->last || w->error) && past_fsize(w->file_bytes + sizeof(hdr) + stored))
		return -EFBIG;
	memset(hdr, 0, sizeof(hdr));
	put_le32(hdr, HST_CHUNK_MAGIC);
	hdr[4] = codec;
	put_le32(hdr + 8, (uint32_t)stored);
	put_le32(hdr + 12, (uint32_t)raw);
	put_le32(hdr + 16, crc32c(0, payload, stored));
	put_le32(hdr + 20, crc32c(0, hdr, 20));
	int rc = writev_all(w->fd, hdr, sizeof(hdr), payload, stored);
	if (rc) {
		/* A chunk cut short would read as a corrupt one: cut the file
		 * back to its last whole chunk. */
		struct stat st;
		if (!fstat(w->fd, &st) && (uint64_t)st.st_size > w->file_bytes)
			(void)ftruncate(w->fd, (off_t)w->file_bytes);
		return rc;
	}
	w->file_bytes += sizeof(hdr) + stored;
	return 0;
}

/* Writes failed with rc: stop, and say so in the trace (STOPPED, stored
 * raw: the zstd stream lost a chunk). */
static void stop(struct trace_writer *w, int rc)
{
	struct timespec ts;
	uint8_t rec[ENCODE_STOPPED_MAX];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	w->error = rc;
	w->stopped_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	uint8_t *end = encode_stopped(rec, w->stopped_ns, -rc);
	(void)append(w, HST_CODEC_RAW, rec, (size_t)(end - rec), (size_t)(end - rec));
}

int writer_flush(struct trace_writer *w)
{
	const uint8_t *payload = w->buf;
	size_t stored = w->len;
	uint8_t codec = HST_CODEC_RAW;

	if (!w->len)
		return 0;
	if (w->fd < 0 || (w->error && !w->last)) {
		w->len = 0;
		return w->error ? w->error : -EBADF;
	}
	/* A tiny chunk (an END, a lone THREAD) would grow in zstd's framing:
	 * stored raw, it stays out of the stream, and both sides agree.  So
	 * does the last chunk after a stop: the stream lost a chunk. */
	if (w->level > 0 && w->len >= 128 && !w->error && compress_chunk(w, &stored)) {
		payload = w->zbuf;
		codec = HST_CODEC_ZSTD;
	}
	/* The last chunk may use the reserve; any other keeps it whole. */
	int rc = w->last ? 0 : reserve(w, w->file_bytes + HST_CHUNK_HEADER_SIZE + stored + WRITER_RESERVE);
	if (!rc)
		rc = append(w, codec, payload, stored, w->len);
	w->len = 0;
	w->last = 0;
	if (rc && !w->error)
		stop(w, rc);
	return rc;
}

void writer_trim(struct trace_writer *w)
{
	/* Truncating to the size it has frees the blocks allocated past the
	 * end (FALLOC_FL_KEEP_SIZE): a finished trace takes no more room than
	 * its bytes (thousands of short processes kept 1 MiB each). */
	if (w->fd >= 0 && w->reserved > w->file_bytes && !ftruncate(w->fd, (off_t)w->file_bytes))
		w->reserved = w->file_bytes;
}

int writer_stopped(const struct trace_writer *w)
{
	return w->error;
}

void writer_last(struct trace_writer *w)
{
	w->len = 0;
	w->last = 1;
}

/* Free the compressor and the buffers. */
static void release(struct trace_writer *w)
{
	if (w->cctx)
		ZSTD_freeCCtx(w->cctx);
	w->free(w->buf);
	w->free(w->zbuf);
	w->cctx = NULL;
	w->buf = w->zbuf = NULL;
	w->len = w->cap = w->zcap = 0;
}

int writer_close(struct trace_writer *w)
{
	int rc = writer_flush(w);

	writer_trim(w);
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	release(w);
	return rc;
}

void writer_discard(struct trace_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	if (w->free)
		release(w);
}

HS_HOOKSAFE void writer_abandon(struct trace_writer *w, const char *path)
{
	HS_ASSERT(!w->buf && !w->zbuf && !w->cctx);
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
	unlink(path);
}
