/*
 * writer.h - build and append trace chunks (see format.h).
 * It never uses the traced heap: every buffer comes from the allocation
 * functions given to writer_init (the shim's private arena).  It is driven
 * by one thread at a time: the collector, and before it exists the first
 * call of a hook, which creates the file (writer_init, writer_create are
 * HS_HOOKSAFE).
 *
 * Use:
 *   writer_init(w, ...); writer_create(w, pattern, ...);
 *   p = writer_room(w, ENCODE_THREAD_MAX);
 *   if (p) writer_advance(w, encode_thread(p, ...));   (trace/encode.h)
 *   ... writer_flush(w) when a chunk is full or a cycle ends ...
 *   writer_close(w);
 */
#ifndef HS_TRACE_WRITER_H
#define HS_TRACE_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"

#define WRITER_CHUNK_TARGET (1u << 20) /* flush a chunk past this many raw bytes */
#define WRITER_PATH_MAX 4096	       /* longest trace name */

/* The compressor's settings for the current zstd frame (writer.c). */
enum writer_zmode {
	WRITER_ZMODE_NONE,   /* no compressor yet */
	WRITER_ZMODE_SMALL,  /* a trace's first megabyte: cheap to set up */
	WRITER_ZMODE_FAST,   /* level 3 at most: data that compresses poorly */
	WRITER_ZMODE_STRONG, /* the level asked for, a 1 MiB window */
};

struct trace_writer {
	int fd;		      /* the trace, or -1 */
	uint8_t *buf;	      /* raw payload of the chunk being built */
	size_t len;	      /* bytes used in buf */
	size_t cap;	      /* bytes allocated for buf */
	uint8_t *zbuf;	      /* compressed payload */
	size_t zcap;	      /* bytes allocated for zbuf */
	void *cctx;	      /* ZSTD_CCtx */
	int level;	      /* zstd level; 0 = store raw */
	int zmode;	      /* the current frame's settings (enum writer_zmode) */
	uint64_t frame_raw;   /* raw bytes compressed in the current frame */
	uint64_t frame_stored; /* and what they compressed to */
	int error;	      /* first -errno of a failed write, then writes stop */
	int last;	      /* the next chunk is the trace's last (writer_last) */
	int no_reserve;	      /* the file system cannot allocate ahead (no fallocate) */
	uint64_t stopped_ns;  /* CLOCK_MONOTONIC ns when writes stopped */
	uint64_t file_bytes;  /* bytes in the file */
	uint64_t reserved;    /* the file's blocks are allocated up to here */
	void *(*alloc)(size_t);		/* memory for buffers */
	void *(*realloc)(void *, size_t); /* grow buffers */
	void (*free)(void *);		/* release buffers */
};

/* The calling thread blocks SIGXFSZ for good (the collector blocks every
 * signal): a write of its past RLIMIT_FSIZE fails with EFBIG and kills
 * nobody, so its chunks need not read the limit each (reserve, writer.c). */
void writer_thread_blocks_sigxfsz(void);

HS_HOOKSAFE void writer_init(struct trace_writer *w, int level, void *(*alloc)(size_t),
		 void *(*re)(void *, size_t), void (*release)(void *));

/*
 * Expand pattern (%p pid, %e exe name, %% percent) and create the file with
 * O_EXCL|O_NOFOLLOW, mode 0600.  If the name is taken by a file or a
 * symbolic link, or its ring file's name (NAME.rings) is, try NAME.<pid>,
 * then NAME.<pid>.<n>.  A name that is a directory (-EISDIR) or a device,
 * FIFO or socket (-EEXIST) is refused.  Write the file header.  The chosen
 * name goes to out (cap bytes).  Return 0 or -errno.
 */
HS_HOOKSAFE int writer_create(struct trace_writer *w, const char *pattern, const char *exe, uint32_t pid,
		  uint32_t ppid, uint64_t nonce, uint64_t realtime_ns, uint64_t mono_ns, char *out,
		  size_t cap);

/* Return room for n more bytes at the end of the chunk being built, or
 * NULL when there is no memory for them.  The records themselves are made
 * by trace/encode.h, in that room; writer_advance then takes them in. */
uint8_t *writer_room(struct trace_writer *w, size_t n);

/* The bytes up to end (inside the room writer_room gave) are whole
 * records of the chunk.  The first one's length is shortened to the
 * fewest bytes it takes (encode_close writes 4): the record moves back,
 * and nothing may keep a pointer into it. */
void writer_advance(struct trace_writer *w, uint8_t *end);

/* Append n bytes of whole records (a record encoded earlier); the first
 * one's length is shortened as by writer_advance. */
void writer_raw(struct trace_writer *w, const void *p, size_t n);

/*
 * Compress and append the current chunk, if any.  Return 0 or -errno.
 *
 * Disk space: before a chunk is appended, the file's blocks are allocated
 * (fallocate, beyond the end of the file) for it and WRITER_RESERVE bytes
 * more.  When that fails (a full file system, a quota, the size limit) or
 * a write does, the writer stops: the chunk is dropped, the file is cut
 * back to its last whole chunk, a STOPPED record goes into the reserved
 * bytes, and every later chunk is dropped (-errno) but the last one
 * (writer_last).  So a full disk leaves a readable trace that says why it
 * ends, never a torn chunk in the middle.
 */
int writer_flush(struct trace_writer *w);

#define WRITER_RESERVE (64u << 10) /* allocated past the end for STOPPED and END */

/* Give back the blocks allocated past the end of the file (the trace
 * ends, or its process execs).  writer_close does it. */
void writer_trim(struct trace_writer *w);

/* The -errno that stopped the writes, or 0. */
int writer_stopped(const struct trace_writer *w);

/* The trace ends with what is built from here on (an END): drop what the
 * current chunk holds, and let the next flush write, stored raw, into the
 * reserved bytes even if the writer has stopped. */
void writer_last(struct trace_writer *w);

/* The trace cannot go on before it began (nothing written after the
 * header, no buffer allocated): close and remove the file at path. */
HS_HOOKSAFE void writer_abandon(struct trace_writer *w, const char *path);

/* Flush, close the file and free the buffers. */
int writer_close(struct trace_writer *w);

/* Close the file and free the buffers, writing nothing: a forked child's
 * copy of its parent's writer. */
void writer_discard(struct trace_writer *w);

#endif
