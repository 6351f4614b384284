/*
 * reader.c - validate a trace, decompress its chunks, decode its records,
 * and recover the events a killed process left in its ring file.
 */
#define _GNU_SOURCE
#include "trace/reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "trace/format.h"
#include "trace/ringfile.h"
#include "util/compiler.h"
#include "util/crc32c.h"
#include "util/hashmap.h"
#include "util/atomic.h"
#include "util/varint.h"

#define MAX_RINGS 65536

/* Where the recovery from the ring file stands. */
struct recovery {
	uint8_t *map;	      /* the ring file, read-only */
	size_t size;	      /* its bytes */
	int phase;	      /* 0 threads, 1 stacks, 2 events, 3 done */
	size_t seg;	      /* offset of the segment being walked */
	size_t entry;	      /* offset in a stacks segment */
	/* event merge: one cursor per ring segment */
	struct rcursor {
		const struct ringfile_ring *ring;
		uint64_t pos, end;
	} *cur;
	size_t ncur;
	size_t next_thread; /* phase 0: next cursor to announce */
	struct hashmap blocks; /* address -> allocinfo of recovered blocks */
	size_t next_info;      /* next allocinfo id for recovered blocks */
};

/* A stack as the reader keeps it, for later stacks that refer to it. */
struct stack_copy {
	uint64_t *ips; /* innermost first */
	uint32_t depth;
};

struct trace_reader {
	int fd;
	char *path;
	struct hs_diag *diag;
	struct trace_header hdr;
	uint64_t file_size;
	uint64_t off;	     /* next chunk offset */
	ZSTD_DCtx *dctx;     /* the trace's zstd stream */
	uint8_t *zbuf;	     /* stored payload */
	size_t zcap;
	uint8_t *buf;	     /* raw payload */
	size_t cap;
	size_t len, pos;     /* records in buf: [pos, len) */
	/* the SCAN_BLOCKS / SCAN_EDGES record being iterated */
	const uint8_t *sc_p, *sc_end;
	uint32_t sc_left;   /* entries left */
	int sc_tag;	    /* which record */
	uint64_t sc_prev;   /* blocks: previous address; edges: previous offset */
	uint64_t sc_block;  /* number of the next block */
	uint32_t sc_seq;    /* blocks: previous allocation order */
	uint64_t sc_dst;    /* edges: previous target */
	int sc_from_root;   /* edges: source kind */
	uint64_t sc_src;    /* edges: source number */
	/* the EVENTS record being iterated: its four columns */
	struct { const uint8_t *p, *end; } col[4];
	uint32_t ev_left;
	uint64_t ev_ticks;   /* time of the previous event, ticks */
	uint64_t ev_tick;    /* ns per tick of the current EVENTS record */
	/* allocinfos by id */
	uint64_t *info_size;
	uint32_t *info_stack;
	size_t ninfo;	     /* ids below this are allocated (maybe unset) */
	uint64_t max_info;   /* highest id an ALLOCINFO record defined */
	uint64_t *ips;	     /* decoded stack */
	size_t ips_cap;
	struct stack_copy *stacks; /* every stack read, by id */
	size_t nstacks;
	int last_tag;	     /* tag of the last record read */
	uint64_t tag_bytes[16]; /* uncompressed bytes by record tag (15: others) */
	int chunks_done;     /* no more chunks */
	int truncated;
	char why[256];
	uint64_t *progress;  /* per ring id: position already in chunks */
	size_t nprogress;
	struct recovery rec;
	int recovering;
	uint64_t recovered;
};

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int read_at(int fd, void *buf, size_t n, uint64_t off)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = pread(fd, (char *)buf + done, n - done, (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

struct trace_reader *reader_open(const char *path, struct hs_diag *d)
{
	uint8_t h[HST_HEADER_SIZE];
	struct stat st;
	struct trace_reader *r;

	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		diag_set(d, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		diag_set(d, "%s: not a regular file", path);
		goto fail;
	}
	if (st.st_size == 0) {
		diag_set(d, "%s: empty file, not a heapsnap trace", path);
		goto fail;
	}
	if (st.st_size < 8 || read_at(fd, h, 8, 0) || memcmp(h, HST_MAGIC, 8)) {
		diag_set(d, "%s: not a heapsnap trace (bad magic)", path);
		goto fail;
	}
	if (st.st_size < HST_HEADER_SIZE || read_at(fd, h, sizeof(h), 0)) {
		diag_set(d, "%s: truncated inside the file header (%lld of %d bytes)", path,
			 (long long)st.st_size, HST_HEADER_SIZE);
		goto fail;
	}
	if (le32(h + HST_HDR_OFF_CRC) != crc32c(0, h, HST_HDR_OFF_CRC)) {
		diag_set(d, "%s: corrupt file header (checksum mismatch)", path);
		goto fail;
	}
	if (le32(h + HST_HDR_OFF_VERSION) != HST_VERSION) {
		diag_set(d, "%s: unsupported trace version %u (this heapsnap reads %d)", path,
			 le32(h + HST_HDR_OFF_VERSION), HST_VERSION);
		goto fail;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		diag_set(d, "%s: out of memory", path);
		goto fail;
	}
	r->fd = fd;
	r->path = strdup(path);
	r->diag = d;
	r->hdr.version = HST_VERSION;
	r->hdr.pid = le32(h + HST_HDR_OFF_PID);
	r->hdr.ppid = le32(h + HST_HDR_OFF_PPID);
	r->hdr.nonce = le64(h + HST_HDR_OFF_NONCE);
	r->hdr.realtime_ns = le64(h + HST_HDR_OFF_REALTIME);
	r->hdr.mono_ns = le64(h + HST_HDR_OFF_MONO);
	r->file_size = (uint64_t)st.st_size;
	r->off = le32(h + HST_HDR_OFF_HSIZE);
	r->last_tag = -1;
	return r;
fail:
	close(fd);
	return NULL;
}

const struct trace_header *reader_header(const struct trace_reader *r)
{
	return &r->hdr;
}

int reader_truncated(const struct trace_reader *r)
{
	return r->truncated;
}

const char *reader_truncation(const struct trace_reader *r)
{
	return r->why;
}

uint64_t reader_tag_bytes(const struct trace_reader *r, int tag)
{
	return r->tag_bytes[tag >= 0 && tag < 15 ? tag : 15];
}

uint64_t reader_recovered(const struct trace_reader *r)
{
	return r->recovered;
}

static int grow(uint8_t **p, size_t *cap, size_t n)
{
	if (*cap >= n)
		return 0;
	uint8_t *q = realloc(*p, n);
	if (!q)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

static void set_truncated(struct trace_reader *r, const char *why)
{
	r->truncated = 1;
	snprintf(r->why, sizeof(r->why), "%s", why);
}

/*
 * Load the next chunk into buf.  Return 1, 0 at the end of the chunks (a
 * torn chunk at the end of the file is the end, and marks the trace
 * truncated), -1 on a corrupt chunk.
 */
static int load_chunk(struct trace_reader *r)
{
	uint8_t h[HST_CHUNK_HEADER_SIZE];
	uint64_t left = r->file_size - r->off;

	if (left == 0)
		return 0;
	if (left < sizeof(h)) {
		set_truncated(r, "the last chunk is torn (the process died while writing it)");
		return 0;
	}
	if (read_at(r->fd, h, sizeof(h), r->off)) {
		diag_set(r->diag, "%s: read error at offset %llu", r->path, (unsigned long long)r->off);
		return -1;
	}
	if (le32(h) != HST_CHUNK_MAGIC || le32(h + 20) != crc32c(0, h, 20)) {
		diag_set(r->diag, "%s: corrupt chunk header at offset %llu", r->path,
			 (unsigned long long)r->off);
		return -1;
	}
	uint32_t stored = le32(h + 8), raw = le32(h + 12), crc = le32(h + 16);
	uint8_t codec = h[4];
	if (raw > HST_CHUNK_RAW_MAX || (codec != HST_CODEC_RAW && codec != HST_CODEC_ZSTD) ||
	    (codec == HST_CODEC_RAW && stored != raw)) {
		diag_set(r->diag, "%s: corrupt chunk header at offset %llu (codec %u, %u bytes)", r->path,
			 (unsigned long long)r->off, codec, raw);
		return -1;
	}
	if (stored > left - sizeof(h)) {
		set_truncated(r, "the last chunk is torn (the process died while writing it)");
		return 0;
	}
	if (grow(&r->zbuf, &r->zcap, stored ? stored : 1) || grow(&r->buf, &r->cap, raw ? raw : 1)) {
		diag_set(r->diag, "%s: out of memory", r->path);
		return -1;
	}
	if (read_at(r->fd, r->zbuf, stored, r->off + sizeof(h))) {
		diag_set(r->diag, "%s: read error at offset %llu", r->path, (unsigned long long)r->off);
		return -1;
	}
	if (crc32c(0, r->zbuf, stored) != crc) {
		diag_set(r->diag, "%s: corrupt chunk at offset %llu (checksum mismatch)", r->path,
			 (unsigned long long)r->off);
		return -1;
	}
	if (codec == HST_CODEC_ZSTD) {
		if (!r->dctx && !(r->dctx = ZSTD_createDCtx())) {
			diag_set(r->diag, "%s: out of memory", r->path);
			return -1;
		}
		ZSTD_inBuffer in = {r->zbuf, stored, 0};
		ZSTD_outBuffer out = {r->buf, raw, 0};
		size_t rc = 0;
		while (in.pos < in.size || out.pos < out.size) {
			size_t before = in.pos + out.pos;
			rc = ZSTD_decompressStream(r->dctx, &out, &in);
			if (ZSTD_isError(rc) || in.pos + out.pos == before)
				break;
		}
		if (ZSTD_isError(rc) || out.pos != raw || in.pos != stored) {
			diag_set(r->diag, "%s: corrupt chunk at offset %llu (does not decompress)", r->path,
				 (unsigned long long)r->off);
			return -1;
		}
	} else {
		memcpy(r->buf, r->zbuf, raw);
	}
	r->off += sizeof(h) + stored;
	r->len = raw;
	r->pos = 0;
	return 1;
}

/* Field decoding within [p, end); any overrun sets bad. */
struct body {
	const uint8_t *p, *end;
	int bad;
};

static uint64_t b_v(struct body *b)
{
	uint64_t v = 0;
	if (!b->bad && varint_get(&b->p, b->end, &v))
		b->bad = 1;
	return v;
}

static int64_t b_z(struct body *b)
{
	return zigzag_dec(b_v(b));
}

static struct trace_str b_s(struct body *b)
{
	struct trace_str s = {"", 0};
	uint64_t n = b_v(b);
	if (b->bad || n > (uint64_t)(b->end - b->p)) {
		b->bad = 1;
		return s;
	}
	s.p = (const char *)b->p;
	s.n = n;
	b->p += n;
	return s;
}

static int corrupt_record(struct trace_reader *r, int tag)
{
	diag_set(r->diag, "%s: corrupt record (tag %d) in the chunk ending before offset %llu", r->path, tag,
		 (unsigned long long)r->off);
	return -1;
}

/* Keep a copy of stack id: later stacks may share its outer frames.
 * Return 0 or -1. */
static int keep_stack(struct trace_reader *r, uint32_t id, const uint64_t *ips, uint32_t depth)
{
	if (id >= (1u << 26))
		return -1;
	if (id >= r->nstacks) {
		size_t n = r->nstacks ? r->nstacks : 1024;
		while (n <= id)
			n *= 2;
		struct stack_copy *p = realloc(r->stacks, n * sizeof(*p));
		if (!p)
			return -1;
		memset(p + r->nstacks, 0, (n - r->nstacks) * sizeof(*p));
		r->stacks = p;
		r->nstacks = n;
	}
	struct stack_copy *c = &r->stacks[id];
	if (c->ips)
		return 0; /* a repeat (ring file recovery): the first stays */
	c->ips = malloc((depth ? depth : 1) * sizeof(*ips));
	if (!c->ips)
		return -1;
	memcpy(c->ips, ips, depth * sizeof(*ips));
	c->depth = depth;
	return 0;
}

/* Record allocinfo id.  Return 0 or -1. */
static int set_info(struct trace_reader *r, uint64_t id, uint64_t size, uint32_t stack)
{
	if (id >= r->ninfo) {
		size_t n = r->ninfo ? r->ninfo : 1024;
		while (n <= id)
			n *= 2;
		uint64_t *sz = realloc(r->info_size, n * sizeof(*sz));
		if (!sz)
			return -1;
		r->info_size = sz;
		uint32_t *st = realloc(r->info_stack, n * sizeof(*st));
		if (!st)
			return -1;
		r->info_stack = st;
		memset(sz + r->ninfo, 0, (n - r->ninfo) * sizeof(*sz));
		memset(st + r->ninfo, 0, (n - r->ninfo) * sizeof(*st));
		r->ninfo = n;
	}
	r->info_size[id] = size;
	r->info_stack[id] = stack;
	return 0;
}

/* Fill size and stack from allocinfo id; an id never defined reads 0. */
static void get_info(const struct trace_reader *r, uint32_t id, uint64_t *size, uint32_t *stack)
{
	*size = id < r->ninfo ? r->info_size[id] : 0;
	*stack = id < r->ninfo ? r->info_stack[id] : 0;
}

/* Decode the next event of the current EVENTS record (one entry from
 * each column). */
static int next_event(struct trace_reader *r, struct trace_item *it)
{
	struct body k = {r->col[0].p, r->col[0].end, 0}, th = {r->col[1].p, r->col[1].end, 0};
	struct body t = {r->col[2].p, r->col[2].end, 0}, b = {r->col[3].p, r->col[3].end, 0};
	struct trace_event *ev = &it->ev;

	if (k.p >= k.end)
		return corrupt_record(r, HST_REC_EVENTS);
	memset(ev, 0, sizeof(*ev));
	uint8_t kind = *k.p++;
	ev->kind = kind & HST_EV_KIND_MASK;
	ev->implicit = !!(kind & HST_EV_IMPLICIT);
	ev->thread = (uint32_t)b_v(&th);
	r->ev_ticks += (uint64_t)b_z(&t);
	ev->ts = r->ev_ticks * r->ev_tick;
	if (!hst_event_name(ev->kind))
		return corrupt_record(r, HST_REC_EVENTS);
	switch (hst_event_shape(ev->kind)) {
	case HST_SHAPE_ALLOC:
	case HST_SHAPE_FREE:
		ev->info = (uint32_t)b_v(&b);
		get_info(r, ev->info, &ev->size, &ev->stack);
		break;
	case HST_SHAPE_REALLOC:
		ev->old_info = (uint32_t)b_v(&b);
		ev->info = (uint32_t)b_v(&b);
		get_info(r, ev->old_info, &ev->old_size, &ev->old_stack);
		get_info(r, ev->info, &ev->size, &ev->stack);
		break;
	case HST_SHAPE_ADDR:
		break;
	}
	if (th.bad || t.bad || b.bad)
		return corrupt_record(r, HST_REC_EVENTS);
	r->col[0].p = k.p;
	r->col[1].p = th.p;
	r->col[2].p = t.p;
	r->col[3].p = b.p;
	r->ev_left--;
	it->type = ITEM_EVENT;
	return 1;
}

/* Decode the next block or edge of the current SCAN_BLOCKS / SCAN_EDGES
 * record. */
static int next_scan_entry(struct trace_reader *r, struct trace_item *it)
{
	struct body b = {r->sc_p, r->sc_end, 0};

	memset(it, 0, sizeof(*it));
	if (r->sc_tag == HST_REC_SCAN_BLOCKS) {
		r->sc_prev += (uint64_t)b_z(&b);
		it->type = ITEM_SCAN_BLOCK;
		it->block.index = r->sc_block++;
		it->block.addr = r->sc_prev;
		it->block.info = (uint32_t)b_v(&b);
		r->sc_seq += (uint32_t)b_z(&b);
		it->block.seq = r->sc_seq;
		get_info(r, it->block.info, &it->block.size, &it->block.stack);
	} else {
		r->sc_prev += b_v(&b);
		it->type = ITEM_SCAN_EDGE;
		it->edge.from_root = r->sc_from_root;
		it->edge.src = r->sc_src;
		it->edge.offset = r->sc_prev;
		uint64_t t = b_v(&b);
		r->sc_dst += (uint64_t)zigzag_dec(t >> 1);
		it->edge.dst = r->sc_dst;
		it->edge.dst_offset = t & 1;
	}
	if (b.bad)
		return corrupt_record(r, r->sc_tag);
	r->sc_p = b.p;
	r->sc_left--;
	return 1;
}

static void note_progress(struct trace_reader *r, uint64_t ring, uint64_t pos)
{
	if (ring >= MAX_RINGS)
		return;
	if (ring >= r->nprogress) {
		size_t n = r->nprogress ? r->nprogress : 64;
		while (n <= ring)
			n *= 2;
		uint64_t *p = realloc(r->progress, n * sizeof(*p));
		if (!p)
			return;
		memset(p + r->nprogress, 0, (n - r->nprogress) * sizeof(*p));
		r->progress = p;
		r->nprogress = n;
	}
	if (pos > r->progress[ring])
		r->progress[ring] = pos;
}

/* Decode one record body into it.  Return 1 (item), 2 (consumed, no item)
 * or -1. */
static int decode(struct trace_reader *r, int tag, const uint8_t *p, size_t len, struct trace_item *it)
{
	struct body b = {p, p + len, 0};

	memset(it, 0, sizeof(*it));
	switch (tag) {
	case HST_REC_PROCESS:
		it->type = ITEM_PROCESS;
		it->process.pid = (uint32_t)b_v(&b);
		it->process.ppid = (uint32_t)b_v(&b);
		it->process.exe = b_s(&b);
		it->process.cmdline = b_s(&b);
		it->process.options = b_s(&b);
		it->process.allocator = b_s(&b);
		it->process.max_frames = (uint32_t)b_v(&b);
		break;
	case HST_REC_MODULES:
		it->type = ITEM_MODULES;
		it->modules.ts = b_v(&b);
		it->modules.count = (uint32_t)b_v(&b);
		it->modules.body = b.p;
		it->modules.len = (size_t)(b.end - b.p);
		break;
	case HST_REC_STACK: {
		it->type = ITEM_STACK;
		it->stack.id = (uint32_t)b_v(&b);
		uint64_t depth = b_v(&b), ref = b_v(&b), shared = b_v(&b);
		const struct stack_copy *base = ref < r->nstacks ? &r->stacks[ref] : NULL;
		if (b.bad || depth > 4096 || shared > depth || (shared && (!base || shared > base->depth)))
			return corrupt_record(r, tag);
		if (grow((uint8_t **)&r->ips, &r->ips_cap, (depth + 1) * sizeof(uint64_t)))
			return corrupt_record(r, tag);
		uint64_t own = depth - shared;
		for (uint64_t i = 0; i < own; i++)
			r->ips[i] = i ? r->ips[i - 1] + (uint64_t)b_z(&b) : b_v(&b);
		for (uint64_t i = 0; i < shared; i++)
			r->ips[own + i] = base->ips[base->depth - shared + i];
		if (b.bad || keep_stack(r, it->stack.id, r->ips, (uint32_t)depth))
			return corrupt_record(r, tag);
		it->stack.depth = (uint32_t)depth;
		it->stack.ips = r->ips;
		break;
	}
	case HST_REC_THREAD:
		it->type = ITEM_THREAD;
		it->thread.index = (uint32_t)b_v(&b);
		it->thread.tid = (uint32_t)b_v(&b);
		it->thread.ts = b_v(&b);
		break;
	case HST_REC_THREAD_END:
		it->type = ITEM_THREAD_END;
		it->thread.index = (uint32_t)b_v(&b);
		it->thread.ts = b_v(&b);
		it->thread.name = b_s(&b);
		break;
	case HST_REC_ALLOCINFO: {
		uint64_t id = b_v(&b), size = b_v(&b), stack = b_v(&b);
		if (b.bad || !id || id > (1u << 31) || set_info(r, id, size, (uint32_t)stack))
			return corrupt_record(r, tag);
		if (id > r->max_info)
			r->max_info = id;
		return 2;
	}
	case HST_REC_EVENTS:
		uint64_t base = b_v(&b);
		r->ev_left = (uint32_t)b_v(&b);
		r->ev_tick = b_v(&b);
		if (!r->ev_tick || r->ev_tick > 1000000000ull)
			return corrupt_record(r, tag);
		r->ev_ticks = base / r->ev_tick;
		for (int i = 0; i < 4; i++) {
			uint64_t n = b_v(&b);
			if (b.bad || n > (uint64_t)(b.end - b.p))
				return corrupt_record(r, tag);
			r->col[i].p = b.p;
			r->col[i].end = b.p + n;
			b.p += n;
		}
		if (b.bad || r->ev_left > (uint64_t)(r->col[0].end - r->col[0].p))
			return corrupt_record(r, tag);
		return 2;
	case HST_REC_SNAPSHOT:
		it->type = ITEM_SNAPSHOT;
		it->snap.ts = b_v(&b);
		it->snap.index = (uint32_t)b_v(&b);
		it->snap.trigger = (int)b_v(&b);
		it->snap.label = b_s(&b);
		break;
	case HST_REC_PROGRESS: {
		uint64_t n = b_v(&b);
		for (uint64_t i = 0; i < n && !b.bad; i++) {
			uint64_t ring = b_v(&b), pos = b_v(&b);
			if (!b.bad)
				note_progress(r, ring, pos);
		}
		if (b.bad)
			return corrupt_record(r, tag);
		return 2;
	}
	case HST_REC_SCAN:
		it->type = ITEM_SCAN;
		it->scan.ts = b_v(&b);
		it->scan.reason = (int)b_v(&b);
		it->scan.blocks = b_v(&b);
		(void)b_v(&b); /* roots: 0, they are counted as they come */
		it->scan.threads_stopped = b_v(&b);
		it->scan.threads_missed = b_v(&b);
		r->sc_block = 0;
		r->sc_prev = 0;
		r->sc_seq = 0;
		break;
	case HST_REC_SCAN_BLOCKS:
	case HST_REC_SCAN_EDGES:
		r->sc_tag = tag;
		if (tag == HST_REC_SCAN_EDGES) {
			r->sc_from_root = (int)b_v(&b);
			r->sc_src = b_v(&b);
			r->sc_prev = 0;
			r->sc_dst = 0;
		}
		r->sc_left = (uint32_t)b_v(&b);
		r->sc_p = b.p;
		r->sc_end = b.end;
		if (b.bad)
			return corrupt_record(r, tag);
		return 2;
	case HST_REC_SCAN_ROOT:
		it->type = ITEM_SCAN_ROOT;
		it->root.index = (uint32_t)b_v(&b);
		it->root.kind = (int)b_v(&b);
		it->root.thread = (uint32_t)b_v(&b);
		it->root.addr = b_v(&b);
		it->root.bytes = b_v(&b);
		it->root.name = b_s(&b);
		break;
	case HST_REC_SCAN_END:
		it->type = ITEM_SCAN_END;
		it->scan_end.edges = b_v(&b);
		it->scan_end.bytes = b_v(&b);
		it->scan_end.ts = b.p < b.end ? b_v(&b) : 0;
		break;
	case HST_REC_END:
		it->type = ITEM_END;
		it->end.ts = b_v(&b);
		it->end.reason = (int)b_v(&b);
		it->end.status = b_z(&b);
		it->end.events = b_v(&b);
		it->end.dropped = b_v(&b);
		break;
	default:
		return 2; /* unknown tag: skipped by length */
	}
	return b.bad ? corrupt_record(r, tag) : 1;
}

static int recovery_start(struct trace_reader *r);
static int recovery_next(struct trace_reader *r, struct trace_item *it);

int reader_next(struct trace_reader *r, struct trace_item *it)
{
	for (;;) {
		if (r->recovering)
			return recovery_next(r, it);
		if (r->ev_left)
			return next_event(r, it);
		if (r->sc_left)
			return next_scan_entry(r, it);
		if (r->pos < r->len) {
			const uint8_t *p = r->buf + r->pos, *end = r->buf + r->len;
			int tag = *p++;
			uint64_t blen;
			if (varint_get(&p, end, &blen) || blen > (uint64_t)(end - p))
				return corrupt_record(r, tag);
			r->pos = (size_t)(p + blen - r->buf);
			r->last_tag = tag;
			r->tag_bytes[tag < 15 ? tag : 15] += blen;
			int rc = decode(r, tag, p, (size_t)blen, it);
			if (rc == 2)
				continue;
			return rc;
		}
		if (r->chunks_done)
			return 0;
		int rc = load_chunk(r);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			r->chunks_done = 1;
			if (r->last_tag != HST_REC_END) {
				if (!r->truncated)
					set_truncated(r, "the trace has no END record (the process was killed or crashed)");
				if (recovery_start(r) == 0)
					r->recovering = 1;
			}
		}
	}
}

/* ---- recovery from TRACE.rings ------------------------------------------ */

static const struct ringfile_seg *seg_at(const struct recovery *c, size_t off)
{
	if (off + sizeof(struct ringfile_seg) > c->size)
		return NULL;
	const struct ringfile_seg *s = (const void *)(c->map + off);
	if (s->magic != RINGFILE_SEG_MAGIC || s->bytes < 4096 || s->bytes > c->size - off)
		return NULL;
	return s;
}

static int recovery_start(struct trace_reader *r)
{
	struct recovery *c = &r->rec;
	char path[4200];
	struct stat st;

	snprintf(path, sizeof(path), "%s.rings", r->path);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || st.st_size < RINGFILE_HEADER_SIZE) {
		close(fd);
		return -1;
	}
	c->map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (c->map == MAP_FAILED) {
		c->map = NULL;
		return -1;
	}
	c->size = (size_t)st.st_size;
	const struct ringfile_file_header *h = (const void *)c->map;
	if (memcmp(h->magic, RINGFILE_MAGIC, 8) || h->version != RINGFILE_VERSION || h->nonce != r->hdr.nonce) {
		munmap(c->map, c->size);
		c->map = NULL;
		return -1;
	}
	/* One cursor per ring: [max(progress, head, tail - capacity), tail). */
	size_t nrings = 0;
	for (size_t off = RINGFILE_HEADER_SIZE; seg_at(c, off); off += seg_at(c, off)->bytes)
		nrings += seg_at(c, off)->type == RINGFILE_SEG_RING;
	c->cur = calloc(nrings + 1, sizeof(*c->cur));
	if (!c->cur)
		return -1;
	for (size_t off = RINGFILE_HEADER_SIZE; seg_at(c, off); off += seg_at(c, off)->bytes) {
		const struct ringfile_ring *g = (const void *)(c->map + off);
		if (g->seg.type != RINGFILE_SEG_RING || !g->capacity || (g->capacity & (g->capacity - 1)) ||
		    RINGFILE_RING_SLOTS_OFFSET + (uint64_t)g->capacity * sizeof(struct ring_rec) > g->seg.bytes)
			continue;
		/* relaxed: a private copy of a dead process's file; nobody
		 * writes it any more */
		uint64_t tail = atomic_load_rlx(&((struct ringfile_ring *)g)->tail);
		uint64_t head = atomic_load_rlx(&((struct ringfile_ring *)g)->head);
		uint64_t from = head;
		if (g->ring_id < r->nprogress && r->progress[g->ring_id] > from)
			from = r->progress[g->ring_id];
		if (tail > g->capacity && tail - g->capacity > from)
			from = tail - g->capacity;
		if (from >= tail)
			continue;
		c->cur[c->ncur++] = (struct rcursor){g, from, tail};
	}
	c->phase = 0;
	return hashmap_init(&c->blocks, 1024);
}

/*
 * Ring records name blocks by address, chunks by allocinfo.  A recovered
 * allocation gets an allocinfo of its own (after every id of the chunks);
 * a recovered free is matched by address against recovered allocations
 * only: a block allocated before the last chunk cannot be named (info 0).
 */
static uint32_t recover_alloc(struct trace_reader *r, const struct ring_rec *ev)
{
	struct recovery *c = &r->rec;
	uint32_t id = (uint32_t)(r->max_info + 1 > c->next_info ? r->max_info + 1 : c->next_info);

	c->next_info = id + 1;
	if (set_info(r, id, ring_rec_size(ev), ring_rec_stack(ev)) || hashmap_put(&c->blocks, ring_rec_addr(ev), id))
		return 0;
	return id;
}

static uint32_t recover_free(struct trace_reader *r, uint64_t addr)
{
	uint64_t *v = hashmap_get(&r->rec.blocks, addr);
	uint32_t id = v ? (uint32_t)*v : 0;

	if (v)
		hashmap_del(&r->rec.blocks, addr);
	return id;
}

static const struct ring_rec *cursor_rec(const struct rcursor *k, uint64_t pos)
{
	const struct ring_rec *slots = (const void *)((const uint8_t *)k->ring + RINGFILE_RING_SLOTS_OFFSET);
	return &slots[pos & (k->ring->capacity - 1)];
}

static int recovery_next(struct trace_reader *r, struct trace_item *it)
{
	struct recovery *c = &r->rec;

	memset(it, 0, sizeof(*it));
	/* Phase 0: a THREAD item for each ring that has events to give. */
	if (c->phase == 0) {
		while (c->next_thread < c->ncur) {
			const struct ringfile_ring *g = c->cur[c->next_thread++].ring;
			if (!g->thread_index)
				continue;
			it->type = ITEM_THREAD;
			it->thread.index = g->thread_index;
			it->thread.tid = g->tid;
			it->thread.ts = 0;
			return 1;
		}
		c->phase = 1;
		c->seg = RINGFILE_HEADER_SIZE;
		c->entry = 0;
	}
	/* Phase 1: every complete stack entry (the analyzer keeps the first
	 * definition of an id and ignores repeats). */
	while (c->phase == 1) {
		const struct ringfile_seg *s = seg_at(c, c->seg);
		if (!s) {
			c->phase = 2;
			break;
		}
		if (s->type != RINGFILE_SEG_STACKS) {
			c->seg += s->bytes;
			c->entry = 0;
			continue;
		}
		const struct ringfile_stacks *st = (const void *)s;
		/* relaxed: as above, a dead process's file */
		uint64_t used = atomic_load_rlx(&((struct ringfile_stacks *)st)->used);
		if (used > s->bytes - RINGFILE_STACKS_DATA_OFFSET)
			used = s->bytes - RINGFILE_STACKS_DATA_OFFSET;
		if (c->entry + sizeof(struct ringfile_stack_entry) > used) {
			c->seg += s->bytes;
			c->entry = 0;
			continue;
		}
		const struct ringfile_stack_entry *e =
			(const void *)((const uint8_t *)s + RINGFILE_STACKS_DATA_OFFSET + c->entry);
		size_t bytes = sizeof(*e) + (size_t)e->depth * sizeof(uint64_t);
		if (c->entry + bytes > used) {
			c->seg += s->bytes;
			c->entry = 0;
			continue;
		}
		c->entry += bytes;
		/* relaxed: as above; an entry whose writer died midway says not ready */
		if (!atomic_load_rlx(&((struct ringfile_stack_entry *)e)->ready) || !e->id)
			continue;
		if (grow((uint8_t **)&r->ips, &r->ips_cap, (e->depth + 1) * sizeof(uint64_t)))
			return -1;
		memcpy(r->ips, e->ips, e->depth * sizeof(uint64_t));
		it->type = ITEM_STACK;
		it->stack.id = e->id;
		it->stack.depth = e->depth;
		it->stack.ips = r->ips;
		return 1;
	}
	/* Phase 2: the events, merged by time across rings. */
	for (;;) {
		struct rcursor *best = NULL;
		for (size_t i = 0; i < c->ncur; i++) {
			struct rcursor *k = &c->cur[i];
			if (k->pos < k->end && (!best || cursor_rec(k, k->pos)->ts < cursor_rec(best, best->pos)->ts))
				best = k;
		}
		if (!best)
			return 0;
		const struct ring_rec *rec = cursor_rec(best, best->pos), *ev = rec;
		unsigned n = 1;
		if (ring_rec_old(rec)) {
			if (best->pos + 1 >= best->end) {
				best->pos++;
				continue; /* half a realloc: the rest was never committed */
			}
			ev = cursor_rec(best, best->pos + 1);
			n = 2;
		}
		best->pos += n;
		unsigned kind = ring_rec_kind(ev);
		if (!hst_event_name(kind))
			continue;
		it->type = ITEM_EVENT;
		it->ev.kind = (uint8_t)kind;
		it->ev.thread = best->ring->thread_index;
		it->ev.ts = ev->ts / 1000 * 1000;
		switch (hst_event_shape(kind)) {
		case HST_SHAPE_ALLOC:
			it->ev.info = recover_alloc(r, ev);
			break;
		case HST_SHAPE_FREE:
			it->ev.info = recover_free(r, ring_rec_addr(ev));
			break;
		case HST_SHAPE_REALLOC:
			it->ev.old_info = n == 2 ? recover_free(r, ring_rec_addr(rec)) : 0;
			it->ev.info = ring_rec_addr(ev) ? recover_alloc(r, ev) : 0;
			break;
		case HST_SHAPE_ADDR:
			break;
		}
		get_info(r, it->ev.old_info, &it->ev.old_size, &it->ev.old_stack);
		get_info(r, it->ev.info, &it->ev.size, &it->ev.stack);
		r->recovered++;
		return 1;
	}
}

void reader_close(struct trace_reader *r)
{
	if (!r)
		return;
	close(r->fd);
	if (r->rec.map)
		munmap(r->rec.map, r->rec.size);
	free(r->rec.cur);
	if (r->rec.blocks.keys)
		hashmap_free(&r->rec.blocks);
	free(r->info_size);
	free(r->info_stack);
	free(r->path);
	ZSTD_freeDCtx(r->dctx);
	free(r->zbuf);
	free(r->buf);
	free(r->ips);
	for (size_t i = 0; i < r->nstacks; i++)
		free(r->stacks[i].ips);
	free(r->stacks);
	free(r->progress);
	free(r);
}

int modules_next(const struct trace_item *it, size_t *pos, struct trace_module *m)
{
	struct body b = {it->modules.body + *pos, it->modules.body + it->modules.len, 0};

	if (b.p >= b.end)
		return 0;
	memset(m, 0, sizeof(*m));
	m->path = b_s(&b);
	m->build_id = b_s(&b);
	m->load_bias = b_v(&b);
	m->nseg = (uint32_t)b_v(&b);
	m->lo = UINT64_MAX;
	for (uint32_t i = 0; i < m->nseg && !b.bad; i++) {
		uint64_t vaddr = b_v(&b), memsz = b_v(&b);
		(void)b_v(&b);
		uint64_t lo = m->load_bias + vaddr, hi = lo + memsz;
		if (lo < m->lo)
			m->lo = lo;
		if (hi > m->hi)
			m->hi = hi;
	}
	if (b.bad)
		return -1;
	*pos = (size_t)(b.p - it->modules.body);
	return 1;
}
