/*
 * reader.c - validate a trace, decompress its chunks and decode its
 * records; then hand over to the recovery of what a killed process left
 * in its ring file (recover.c).
 */
#define _GNU_SOURCE
#include "trace/reader.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "trace/format.h"
#include "trace/recover.h"
#include "util/compiler.h"
#include "util/crc32c.h"
#include "util/hashmap.h"
#include "util/varint.h"

#define MAX_RINGS 65536

/* reader.shape[kind]: not an event kind */
#define SHAPE_NONE 0xff

/* A stack as the reader keeps it, for later stacks that refer to it. */
struct stack_copy {
	uint64_t *ips; /* innermost first */
	uint32_t depth;
};

/*
 * The file's ids (stack ids, allocinfo ids) mapped to dense ones, 1, 2,
 * ... in order of first sight, which is what the reader hands out: every
 * table sized by an id, the reader's and the analyses', is then bounded by
 * what the file holds, not by the numbers written in it (a 1 kB trace
 * with an allocinfo id near 2^31 had tables of many GB sized by it).  Ids
 * below dense_n map through an array; ids far beyond the count, which a
 * valid trace has few of (a forked child names the allocinfos it
 * inherited by its parent's ids), through a hash map.
 */
struct idmap {
	uint32_t *dense;	/* file id -> dense id, 0: not seen */
	size_t dense_n;		/* entries of dense */
	struct hashmap sparse;	/* the others (keys not 0) */
	uint32_t count;		/* dense ids given: 1..count */
};

/* The deepest stack a trace may hold: the shim keeps at most 256 frames
 * (max_frames), Python frames included. */
#define STACK_DEPTH_MAX 1024

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
	/* SCAN_GRAPH: its columns (format.h) */
	struct { const uint8_t *p, *end; } gr_src, gr_cnt, gr_off;
	const uint8_t *gr_tgt;	/* the target planes */
	const uint8_t *gr_int;	/* the interior bitmap, or NULL */
	uint64_t gr_edges;	/* edges of the record */
	uint64_t gr_i;		/* index of the next edge */
	uint64_t gr_src_left;	/* edges of the current source still to come */
	uint64_t gr_prev_src;	/* number of the current source */
	uint32_t gr_width;	/* bytes of a target */
	/* the EVENTS record being iterated: its four columns, and the freed
	 * blocks' of an EVENTS_SPLIT record */
	struct { const uint8_t *p, *end; } col[5];
	int ev_split;	/* an EVENTS_SPLIT record: freed blocks in col[4] */
	int ev_tag;	/* its tag */
	/* an EVENTS_THREADS record: col[1] holds slots, each slot's thread
	 * and columns are here; nslots is 0 for the other records */
	struct ev_slot *slots;
	size_t nslots, slots_cap;
	uint64_t rss_ts, rss_bytes; /* the last RSS sample, RSS_DELTA's base */
	uint64_t stack_first; /* the last STACK's first own frame, STACK_NEAR's base */
	/* the RSS_SERIES record being iterated: its two columns, their units */
	struct { const uint8_t *p, *end; } rs_t, rs_b;
	unsigned rs_tshift, rs_bshift;
	const uint8_t *temp;	/* the EVENTS record's temporary bitmap */
	uint64_t temp_bits;	/* its bits (0: none, an older shim's record) */
	uint32_t ev_index;		 /* of the next event in the record */
	uint32_t ev_left;
	uint64_t ev_ticks;   /* time of the previous event, ticks */
	uint64_t ev_tick;    /* ns per tick of the current EVENTS record */
	uint8_t shape[HST_EV_KIND_MASK + 1]; /* enum hst_event_shape by kind, or SHAPE_NONE */
	/* allocinfos by dense id */
	struct idmap info_ids; /* the file's allocinfo ids */
	struct idmap stack_ids; /* the file's stack ids */
	uint64_t *info_size;
	uint32_t *info_stack;
	size_t ninfo;	     /* ids below this are allocated (maybe unset) */
	uint64_t *ips;	     /* decoded stack */
	size_t ips_cap;
	uint64_t raw_bytes;  /* decompressed bytes of the chunks so far */
	uint64_t max_file_info; /* highest allocinfo id of the file */
	uint64_t merged;     /* RECOVERED: events a reader merged from the ring file */
	int has_merged;      /* a RECOVERED record was read */
	uint64_t frames_kept; /* frames of every stack kept so far */
	struct stack_copy *stacks; /* every stack read, by id */
	size_t nstacks;
	int last_tag;	     /* tag of the last record read */
	uint64_t tag_bytes[16]; /* uncompressed bytes by record tag (15: others) */
	int chunks_done;     /* no more chunks */
	int truncated;
	char why[256];
	uint64_t stopped_ts; /* STOPPED: when the writer stopped, 0 if it did not */
	int stopped_err;     /* STOPPED: why (an errno value) */
	uint64_t lost;	     /* END: events not written after STOPPED */
	uint64_t *progress;  /* per ring id: position already in chunks */
	size_t nprogress;
	struct recover *rec; /* after the chunks: the ring file (recover.h) */
};

/* One thread of an EVENTS_THREADS record: its index and its columns. */
struct ev_slot {
	uint32_t thread;
	struct { const uint8_t *p, *end; } kinds, alloc, freed;
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

	/* O_NONBLOCK: a FIFO of that name must not hang the analyzer (it is
	 * refused just below); on a regular file the flag does nothing. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
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
	for (unsigned k = 0; k <= HST_EV_KIND_MASK; k++)
		r->shape[k] = hst_event_name(k) ? (uint8_t)hst_event_shape(k) : SHAPE_NONE;
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
	return r->merged + (r->rec ? recover_count(r->rec) : 0);
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
	r->raw_bytes += raw;
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

/* The dense id of file id (0 for 0 and for an id not seen). */
static uint32_t idmap_get(const struct idmap *m, uint64_t id)
{
	if (id < m->dense_n)
		return m->dense[id];
	const uint64_t *v = m->sparse.keys && id ? hashmap_get(&m->sparse, id) : NULL;
	return v ? (uint32_t)*v : 0;
}

/* The dense id of file id, given now if it has none.  Return it, or 0
 * for id 0 and when out of memory. */
static uint32_t idmap_add(struct idmap *m, uint64_t id)
{
	uint32_t have = idmap_get(m, id);

	if (have || !id || m->count == UINT32_MAX)
		return have;
	if (id >= m->dense_n && id < 4 * (uint64_t)m->count + 4096) {
		/* dense while the ids are: never more slots than a few per id */
		size_t n = m->dense_n ? m->dense_n : 1024;
		while (n <= id)
			n *= 2;
		uint32_t *d = realloc(m->dense, n * sizeof(*d));
		if (!d)
			return 0;
		memset(d + m->dense_n, 0, (n - m->dense_n) * sizeof(*d));
		m->dense = d;
		m->dense_n = n;
	}
	uint32_t dense = m->count + 1;
	if (id < m->dense_n)
		m->dense[id] = dense;
	else if ((!m->sparse.keys && hashmap_init(&m->sparse, 64)) || hashmap_put(&m->sparse, id, dense))
		return 0;
	m->count = dense;
	return dense;
}

static void idmap_free(struct idmap *m)
{
	free(m->dense);
	if (m->sparse.keys)
		hashmap_free(&m->sparse);
}

/* Keep a copy of stack id (dense): later stacks may share its outer
 * frames.  Return 0 or -1. */
static int keep_stack(struct trace_reader *r, uint32_t id, const uint64_t *ips, uint32_t depth)
{
	if (!id)
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

/* Record allocinfo id (dense).  Return 0 or -1. */
static int set_info(struct trace_reader *r, uint32_t id, uint64_t size, uint32_t stack)
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

/* Define the file's allocinfo id (size and stack; the stack may be
 * written later: it gets its dense id now).  Return 0, or -1 for an id or
 * stack that cannot be (0, too large) or no memory. */
static int add_info(struct trace_reader *r, uint64_t id, uint64_t size, uint64_t stack)
{
	uint32_t dense = idmap_add(&r->info_ids, id);
	uint32_t dstack = !stack ? 0 : idmap_add(&r->stack_ids, stack);

	if (!dense || (stack && !dstack) || set_info(r, dense, size, dstack))
		return -1;
	if (id > r->max_file_info)
		r->max_file_info = id;
	return 0;
}

/* The dense id of the file's allocinfo id (0: none, or never defined),
 * and its size and stack.  Inline: one or two per event. */
static inline uint32_t get_info(const struct trace_reader *r, uint64_t file_id, uint64_t *size, uint32_t *stack)
{
	uint32_t id = idmap_get(&r->info_ids, file_id);

	if (HS_LIKELY(id < r->ninfo)) {
		*size = r->info_size[id];
		*stack = r->info_stack[id];
	} else {
		*size = 0;
		*stack = 0;
	}
	return id;
}

/* The next varint of an EVENTS column [*pp, end).  Thread indexes, time
 * deltas and allocinfo ids are nearly always one or two bytes: those take
 * one bounds check; the rest, the last entry of a column and the errors
 * (the column used up, a varint cut short or longer than 10 bytes, which
 * set *bad) go through varint_get.  All inline: a call here would make
 * next_event keep its columns on the stack. */
static inline uint64_t col_v(const uint8_t **pp, const uint8_t *end, int *bad)
{
	const uint8_t *p = *pp;
	uint64_t v = 0;

	if (HS_LIKELY(end - p >= 2)) {
		if (p[0] < 0x80) {
			*pp = p + 1;
			return p[0];
		}
		if (p[1] < 0x80) {
			*pp = p + 2;
			return (uint64_t)(p[0] & 0x7f) | (uint64_t)p[1] << 7;
		}
	}
	if (varint_get(pp, end, &v))
		*bad = 1;
	return v;
}

/* next_event of an EVENTS_THREADS record: the event's slot first, then
 * its kind and blocks from that slot's columns.  Out of line: it would
 * make next_event keep more in registers. */
static HS_NOINLINE int next_event_threads(struct trace_reader *r, struct trace_item *it)
{
	const uint8_t *sl = r->col[1].p, *t = r->col[2].p;
	struct trace_event *ev = &it->ev;
	int bad = 0;
	uint64_t k = col_v(&sl, r->col[1].end, &bad);

	if (bad || k >= r->nslots)
		return corrupt_record(r, r->ev_tag);
	struct ev_slot *s = &r->slots[k];
	const uint8_t *b = s->alloc.p, *f = s->freed.p;
	if (s->kinds.p >= s->kinds.end)
		return corrupt_record(r, r->ev_tag);
	uint8_t kind = *s->kinds.p;
	uint8_t shape = r->shape[kind & HST_EV_KIND_MASK];
	if (shape == SHAPE_NONE)
		return corrupt_record(r, r->ev_tag);
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind & HST_EV_KIND_MASK;
	ev->implicit = !!(kind & HST_EV_IMPLICIT);
	ev->thread = s->thread;
	r->ev_ticks += (uint64_t)zigzag_dec(col_v(&t, r->col[2].end, &bad));
	ev->ts = r->ev_ticks * r->ev_tick;
	switch (shape) {
	case HST_SHAPE_ALLOC:
		ev->info = get_info(r, col_v(&b, s->alloc.end, &bad), &ev->size, &ev->stack);
		break;
	case HST_SHAPE_FREE:
		ev->info = get_info(r, col_v(&f, s->freed.end, &bad), &ev->size, &ev->stack);
		break;
	case HST_SHAPE_REALLOC:
		ev->old_info = get_info(r, col_v(&f, s->freed.end, &bad), &ev->old_size, &ev->old_stack);
		ev->info = get_info(r, col_v(&b, s->alloc.end, &bad), &ev->size, &ev->stack);
		break;
	case HST_SHAPE_ADDR:
		break;
	}
	if (bad)
		return corrupt_record(r, r->ev_tag);
	s->kinds.p++;
	s->alloc.p = b;
	s->freed.p = f;
	r->col[1].p = sl;
	r->col[2].p = t;
	uint32_t i = r->ev_index++;
	ev->temporary = i < r->temp_bits && (r->temp[i / 8] >> (i % 8) & 1);
	r->ev_left--;
	it->type = ITEM_EVENT;
	return 1;
}

/* Decode the next event of the current EVENTS record (one entry from
 * each column).  decode() checked the record once: ev_left kind bytes
 * are there, and the temporary bitmap's length is known; what is checked
 * here is what only this event's bytes tell (its kind, its varints). */
static inline int next_event(struct trace_reader *r, struct trace_item *it)
{
	if (HS_UNLIKELY(r->nslots))
		return next_event_threads(r, it);
	const uint8_t *th = r->col[1].p, *t = r->col[2].p, *b = r->col[3].p, *f = r->col[4].p;
	struct trace_event *ev = &it->ev;
	int bad = 0;

	if (NEVER(r->col[0].p >= r->col[0].end))
		return corrupt_record(r, r->ev_tag);
	uint8_t kind = *r->col[0].p;
	uint8_t shape = r->shape[kind & HST_EV_KIND_MASK];
	if (HS_UNLIKELY(shape == SHAPE_NONE))
		return corrupt_record(r, r->ev_tag);
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind & HST_EV_KIND_MASK;
	ev->implicit = !!(kind & HST_EV_IMPLICIT);
	ev->thread = (uint32_t)col_v(&th, r->col[1].end, &bad);
	r->ev_ticks += (uint64_t)zigzag_dec(col_v(&t, r->col[2].end, &bad));
	ev->ts = r->ev_ticks * r->ev_tick;
	switch (shape) {
	case HST_SHAPE_ALLOC:
		ev->info = get_info(r, col_v(&b, r->col[3].end, &bad), &ev->size, &ev->stack);
		break;
	/* freed blocks: their own column (EVENTS_SPLIT), or the blocks' */
	case HST_SHAPE_FREE:
		ev->info = get_info(r, r->ev_split ? col_v(&f, r->col[4].end, &bad) : col_v(&b, r->col[3].end, &bad),
				    &ev->size, &ev->stack);
		break;
	case HST_SHAPE_REALLOC: {
		uint64_t old = r->ev_split ? col_v(&f, r->col[4].end, &bad) : col_v(&b, r->col[3].end, &bad);
		ev->old_info = get_info(r, old, &ev->old_size, &ev->old_stack);
		ev->info = get_info(r, col_v(&b, r->col[3].end, &bad), &ev->size, &ev->stack);
		break;
	}
	case HST_SHAPE_ADDR:
		break;
	}
	if (HS_UNLIKELY(bad))
		return corrupt_record(r, r->ev_tag);
	r->col[0].p++;
	r->col[1].p = th;
	r->col[2].p = t;
	r->col[3].p = b;
	r->col[4].p = f;
	uint32_t i = r->ev_index++;
	ev->temporary = i < r->temp_bits && (r->temp[i / 8] >> (i % 8) & 1);
	r->ev_left--;
	it->type = ITEM_EVENT;
	return 1;
}

/* Decode the next edge of the current SCAN_GRAPH record. */
static int next_graph_edge(struct trace_reader *r, struct trace_item *it)
{
	if (!r->gr_src_left) {
		/* the next source: its number and how many edges it has */
		struct body s = {r->gr_src.p, r->gr_src.end, 0}, c = {r->gr_cnt.p, r->gr_cnt.end, 0};
		int64_t delta = b_z(&s);
		uint64_t n = b_v(&c);
		if (s.bad || c.bad || n < 2)
			return corrupt_record(r, HST_REC_SCAN_GRAPH);
		r->gr_src.p = s.p;
		r->gr_cnt.p = c.p;
		r->sc_from_root = (int)(n & 1);
		r->gr_prev_src += (uint64_t)delta;
		r->sc_src = r->gr_prev_src;
		r->sc_prev = 0;
		r->gr_src_left = n >> 1;
	}
	struct body o = {r->gr_off.p, r->gr_off.end, 0};
	uint64_t delta = b_v(&o), target = 0, i = r->gr_i;
	if (o.bad)
		return corrupt_record(r, HST_REC_SCAN_GRAPH);
	r->gr_off.p = o.p;
	for (uint32_t k = 0; k < r->gr_width; k++)
		target |= (uint64_t)r->gr_tgt[k * r->gr_edges + i] << (8 * k);
	r->sc_prev += delta;
	it->type = ITEM_SCAN_EDGE;
	it->edge.from_root = r->sc_from_root;
	it->edge.src = r->sc_src;
	it->edge.offset = r->sc_prev;
	it->edge.dst = target;
	it->edge.dst_offset = r->gr_int && (r->gr_int[i / 8] >> (i % 8) & 1);
	r->gr_i++;
	r->gr_src_left--;
	r->sc_left--;
	return 1;
}

/* Take the columns of a SCAN_GRAPH record; 0, or -1 when they do not fit
 * together (format.h). */
static int graph_begin(struct trace_reader *r, struct body *b)
{
	uint64_t sources = b_v(b), edges = b_v(b), width = b_v(b);
	struct trace_str src = b_s(b), cnt = b_s(b), off = b_s(b), tgt = b_s(b), in = b_s(b);

	if (b->bad || width < 1 || width > 8 || edges > UINT32_MAX || sources > edges ||
	    tgt.n != edges * width || (in.n && in.n != (edges + 7) / 8))
		return -1;
	r->gr_src.p = (const uint8_t *)src.p;
	r->gr_src.end = r->gr_src.p + src.n;
	r->gr_cnt.p = (const uint8_t *)cnt.p;
	r->gr_cnt.end = r->gr_cnt.p + cnt.n;
	r->gr_off.p = (const uint8_t *)off.p;
	r->gr_off.end = r->gr_off.p + off.n;
	r->gr_tgt = (const uint8_t *)tgt.p;
	r->gr_int = in.n ? (const uint8_t *)in.p : NULL;
	r->gr_edges = edges;
	r->gr_width = (uint32_t)width;
	r->gr_i = 0;
	r->gr_src_left = 0;
	r->gr_prev_src = 0;
	r->sc_left = (uint32_t)edges;
	return 0;
}

/* Take the columns of an RSS_SERIES record; 0, or -1 when they do not
 * fit together (format.h). */
static int rss_series_begin(struct trace_reader *r, struct body *b)
{
	uint64_t count = b_v(b), tshift = b_v(b), bshift = b_v(b);
	struct trace_str t = b_s(b), by = b_s(b);

	/* every entry takes a byte at least */
	if (b->bad || tshift > 63 || bshift > 63 || count > t.n || count > by.n || count > UINT32_MAX)
		return -1;
	r->rs_t.p = (const uint8_t *)t.p;
	r->rs_t.end = r->rs_t.p + t.n;
	r->rs_b.p = (const uint8_t *)by.p;
	r->rs_b.end = r->rs_b.p + by.n;
	r->rs_tshift = (unsigned)tshift;
	r->rs_bshift = (unsigned)bshift;
	r->sc_left = (uint32_t)count;
	return 0;
}

/* The next sample of the current RSS_SERIES record. */
static int next_rss_sample(struct trace_reader *r, struct trace_item *it)
{
	struct body t = {r->rs_t.p, r->rs_t.end, 0}, b = {r->rs_b.p, r->rs_b.end, 0};
	int64_t dt = b_z(&t), db = b_z(&b);

	if (t.bad || b.bad)
		return corrupt_record(r, HST_REC_RSS_SERIES);
	r->rs_t.p = t.p;
	r->rs_b.p = b.p;
	it->type = ITEM_RSS;
	it->rss.ts = r->rss_ts += (uint64_t)dt << r->rs_tshift;
	it->rss.bytes = r->rss_bytes += (uint64_t)db << r->rs_bshift;
	r->sc_left--;
	return 1;
}

/* Decode the next block or edge of the current SCAN_BLOCKS / SCAN_EDGES /
 * SCAN_GRAPH record, or sample of an RSS_SERIES record. */
static int next_scan_entry(struct trace_reader *r, struct trace_item *it)
{
	struct body b = {r->sc_p, r->sc_end, 0};

	memset(it, 0, sizeof(*it));
	if (r->sc_tag == HST_REC_SCAN_GRAPH)
		return next_graph_edge(r, it);
	if (r->sc_tag == HST_REC_RSS_SERIES)
		return next_rss_sample(r, it);
	if (r->sc_tag == HST_REC_SCAN_BLOCKS) {
		r->sc_prev += (uint64_t)b_z(&b);
		it->type = ITEM_SCAN_BLOCK;
		it->block.index = r->sc_block++;
		it->block.addr = r->sc_prev;
		it->block.info = get_info(r, b_v(&b), &it->block.size, &it->block.stack);
		r->sc_seq += (uint32_t)b_z(&b);
		it->block.seq = r->sc_seq;
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

int reader_decode_pycode(const uint8_t *p, size_t len, struct trace_item *it)
{
	struct body b = {p, p + len, 0};

	memset(it, 0, sizeof(*it));
	it->type = ITEM_PYCODE;
	it->pycode.id = (uint32_t)b_v(&b);
	it->pycode.file = b_s(&b);
	it->pycode.name = b_s(&b);
	it->pycode.firstlineno = (uint32_t)b_v(&b);
	return b.bad || !it->pycode.id || it->pycode.id > 0x7fffffff ? -1 : 0;
}

int reader_decode_modules(const uint8_t *p, size_t len, struct trace_item *it)
{
	struct body b = {p, p + len, 0};

	memset(it, 0, sizeof(*it));
	it->type = ITEM_MODULES;
	it->modules.ts = b_v(&b);
	it->modules.count = (uint32_t)b_v(&b);
	it->modules.body = b.p;
	it->modules.len = (size_t)(b.end - b.p);
	return b.bad ? -1 : 0;
}

/* The column at b (a v length, then its bytes) into *p and *end; -1 when
 * it does not fit in the body. */
static int body_col(struct body *b, const uint8_t **p, const uint8_t **end)
{
	uint64_t n = b_v(b);

	if (b->bad || n > (uint64_t)(b->end - b->p))
		return -1;
	*p = b->p;
	*end = b->p + n;
	b->p += n;
	return 0;
}

/* An EVENTS_THREADS record (format.h): its slots and their columns.
 * Return 2 (events follow) or -1. */
static int decode_events_threads(struct trace_reader *r, struct body *b)
{
	uint64_t base = b_v(b), count = b_v(b), n, kinds = 0;

	r->ev_tick = b_v(b);
	r->ev_tag = HST_REC_EVENTS_THREADS;
	r->ev_split = 1;
	r->ev_left = 0;
	r->nslots = 0;
	n = b_v(b);
	/* a slot takes 4 bytes at least (its index, its columns' lengths):
	 * that bounds the memory a corrupt count asks for */
	if (b->bad || !r->ev_tick || r->ev_tick > 1000000000ull || count > UINT32_MAX ||
	    n > (uint64_t)(b->end - b->p) / 4 || (count && !n))
		return corrupt_record(r, HST_REC_EVENTS_THREADS);
	if (n > r->slots_cap) {
		struct ev_slot *s = realloc(r->slots, n * sizeof(*s));
		if (!s) {
			diag_set(r->diag, "%s: out of memory", r->path);
			return -1;
		}
		r->slots = s;
		r->slots_cap = n;
	}
	for (uint64_t i = 0; i < n; i++)
		r->slots[i].thread = (uint32_t)b_v(b);
	int bad = b->bad || body_col(b, &r->col[1].p, &r->col[1].end) || body_col(b, &r->col[2].p, &r->col[2].end);
	for (uint64_t i = 0; i < n && !bad; i++) {
		struct ev_slot *s = &r->slots[i];
		bad = body_col(b, &s->kinds.p, &s->kinds.end) || body_col(b, &s->alloc.p, &s->alloc.end) ||
		      body_col(b, &s->freed.p, &s->freed.end);
		if (!bad)
			kinds += (uint64_t)(s->kinds.end - s->kinds.p);
	}
	/* the temporary bitmap, as in EVENTS */
	r->temp = NULL;
	r->temp_bits = 0;
	r->ev_index = 0;
	if (!bad && b->p < b->end) {
		const uint8_t *end;
		bad = body_col(b, &r->temp, &end);
		r->temp_bits = bad ? 0 : (uint64_t)(end - r->temp) * 8;
	}
	/* every kind byte is an event's */
	if (bad || kinds != count)
		return corrupt_record(r, HST_REC_EVENTS_THREADS);
	r->col[0].p = r->col[0].end = NULL;
	r->col[3].p = r->col[3].end = r->col[4].p = r->col[4].end = NULL;
	r->ev_ticks = base / r->ev_tick;
	r->ev_left = (uint32_t)count;
	r->nslots = n;
	return 2;
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
		return reader_decode_modules(p, len, it) ? -1 : 1;
	case HST_REC_STACK:
	case HST_REC_STACK_NEAR: {
		it->type = ITEM_STACK;
		uint64_t id = b_v(&b), depth = b_v(&b), ref = b_v(&b), shared = b_v(&b);
		uint32_t dref = idmap_get(&r->stack_ids, ref);
		const struct stack_copy *base = dref && dref < r->nstacks ? &r->stacks[dref] : NULL;
		/* Shared frames cost no bytes in the file: what the reader keeps
		 * is held to a few frames per byte it has read (the shim's
		 * stacks share often, never that much). */
		r->frames_kept += depth;
		if (b.bad || depth > STACK_DEPTH_MAX || shared > depth || (shared && (!base || shared > base->depth)) ||
		    r->frames_kept > 16 * r->raw_bytes + (1u << 20))
			return corrupt_record(r, tag);
		if (grow((uint8_t **)&r->ips, &r->ips_cap, (depth + 1) * sizeof(uint64_t)))
			return corrupt_record(r, tag);
		uint64_t own = depth - shared;
		for (uint64_t i = 0; i < own; i++)
			r->ips[i] = i ? r->ips[i - 1] + (uint64_t)b_z(&b)
				 : tag == HST_REC_STACK_NEAR ? r->stack_first + (uint64_t)b_z(&b)
							    : b_v(&b);
		if (own)
			r->stack_first = r->ips[0]; /* STACK_NEAR's base */
		for (uint64_t i = 0; i < shared; i++)
			r->ips[own + i] = base->ips[base->depth - shared + i];
		if (b.bad || !(it->stack.id = idmap_add(&r->stack_ids, id)) ||
		    keep_stack(r, it->stack.id, r->ips, (uint32_t)depth))
			return corrupt_record(r, tag);
		it->stack.depth = (uint32_t)depth;
		it->stack.ips = r->ips;
		break;
	}
	case HST_REC_PYTHON:
		it->type = ITEM_PYTHON;
		it->python.hexversion = (uint32_t)b_v(&b);
		it->python.version = b_s(&b);
		it->python.flags = (uint32_t)b_v(&b);
		break;
	case HST_REC_PYCODE:
		if (reader_decode_pycode(p, len, it))
			return corrupt_record(r, tag);
		break;
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
		if (b.bad || add_info(r, id, size, stack))
			return corrupt_record(r, tag);
		return 2;
	}
	case HST_REC_ALLOCINFOS: {
		uint64_t n = b_v(&b), id = 0, stack = 0;
		struct trace_str ids = b_s(&b), sizes = b_s(&b), stacks = b_s(&b);
		struct body ib = {(const uint8_t *)ids.p, (const uint8_t *)ids.p + ids.n, b.bad},
			    sb = {(const uint8_t *)sizes.p, (const uint8_t *)sizes.p + sizes.n, b.bad},
			    kb = {(const uint8_t *)stacks.p, (const uint8_t *)stacks.p + stacks.n, b.bad};
		for (uint64_t i = 0; i < n && !ib.bad; i++) {
			id += (uint64_t)b_z(&ib);
			stack += (uint64_t)b_z(&kb);
			uint64_t size = b_v(&sb);
			if (sb.bad || kb.bad || add_info(r, id, size, stack))
				return corrupt_record(r, tag);
		}
		if (ib.bad)
			return corrupt_record(r, tag);
		return 2;
	}
	case HST_REC_EVENTS:
	case HST_REC_EVENTS_SPLIT: {
		uint64_t base = b_v(&b);
		r->ev_left = (uint32_t)b_v(&b);
		r->ev_tick = b_v(&b);
		r->ev_split = tag == HST_REC_EVENTS_SPLIT;
		r->ev_tag = tag;
		if (!r->ev_tick || r->ev_tick > 1000000000ull)
			return corrupt_record(r, tag);
		r->ev_ticks = base / r->ev_tick;
		r->nslots = 0;
		r->col[4].p = r->col[4].end = NULL;
		for (int i = 0; i < 4 + r->ev_split; i++) {
			uint64_t n = b_v(&b);
			if (b.bad || n > (uint64_t)(b.end - b.p))
				return corrupt_record(r, tag);
			r->col[i].p = b.p;
			r->col[i].end = b.p + n;
			b.p += n;
		}
		/* the temporary bitmap, absent from records of older shims */
		r->temp = NULL;
		r->temp_bits = 0;
		r->ev_index = 0;
		if (!b.bad && b.p < b.end) {
			uint64_t n = b_v(&b);
			if (b.bad || n > (uint64_t)(b.end - b.p))
				return corrupt_record(r, tag);
			r->temp = b.p;
			r->temp_bits = n * 8;
		}
		if (b.bad || r->ev_left > (uint64_t)(r->col[0].end - r->col[0].p))
			return corrupt_record(r, tag);
		return 2;
	}
	case HST_REC_EVENTS_THREADS:
		return decode_events_threads(r, &b);
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
		it->scan.snapshot = b_v(&b);
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
	case HST_REC_SCAN_GRAPH:
		r->sc_tag = tag;
		if (graph_begin(r, &b))
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
		it->root.pc = b.p < b.end ? b_v(&b) : 0;
		break;
	case HST_REC_SCAN_END:
		it->type = ITEM_SCAN_END;
		it->scan_end.edges = b_v(&b);
		it->scan_end.bytes = b_v(&b);
		it->scan_end.ts = b.p < b.end ? b_v(&b) : 0;
		it->scan_end.roots = b.p < b.end ? b_v(&b) : 0;
		break;
	case HST_REC_RSS:
		it->type = ITEM_RSS;
		it->rss.ts = r->rss_ts = b_v(&b);
		it->rss.bytes = r->rss_bytes = b_v(&b);
		break;
	case HST_REC_RSS_DELTA: {
		int64_t dt = b_z(&b);
		uint64_t shift = b_v(&b);
		int64_t d = b_z(&b);
		if (b.bad || shift > 63)
			return corrupt_record(r, tag);
		it->type = ITEM_RSS;
		it->rss.ts = r->rss_ts += (uint64_t)dt;
		it->rss.bytes = r->rss_bytes += (uint64_t)d << shift;
		break;
	}
	case HST_REC_RSS_SERIES:
		r->sc_tag = tag;
		if (rss_series_begin(r, &b))
			return corrupt_record(r, tag);
		return 2;
	case HST_REC_END:
		it->type = ITEM_END;
		it->end.ts = b_v(&b);
		it->end.reason = (int)b_v(&b);
		it->end.status = b_z(&b);
		it->end.events = b_v(&b);
		it->end.dropped = b_v(&b);
		it->end.lost = b.p < b.end ? b_v(&b) : 0;
		r->lost = it->end.lost;
		break;
	case HST_REC_RECOVERED:
		r->merged += b_v(&b);
		r->has_merged = 1;
		if (b.bad)
			return corrupt_record(r, tag);
		return 2;
	case HST_REC_STOPPED:
		r->stopped_ts = b_v(&b);
		r->stopped_err = (int)b_v(&b);
		if (b.bad)
			return corrupt_record(r, tag);
		return 2;
	default:
		return 2; /* unknown tag: skipped by length */
	}
	return b.bad ? corrupt_record(r, tag) : 1;
}

/* The writer stopped (STOPPED): the trace is truncated, and says why. */
static void note_stopped(struct trace_reader *r)
{
	const char *why = r->stopped_err == ENOSPC   ? "the file system was full (ENOSPC)"
			  : r->stopped_err == EDQUOT ? "the disk quota was used up (EDQUOT)"
			  : r->stopped_err == EFBIG  ? "the file size limit was reached (EFBIG)"
						     : "a write failed";
	double at = r->stopped_ts > r->hdr.mono_ns ? (double)(r->stopped_ts - r->hdr.mono_ns) / 1e9 : 0.0;

	r->truncated = 1;
	if (r->last_tag == HST_REC_END && !r->lost)
		snprintf(r->why, sizeof(r->why),
			 "the trace stopped at %.3f s: %s; it holds every event, not what came after them (the exit scan)",
			 at, why);
	else if (r->last_tag == HST_REC_END)
		snprintf(r->why, sizeof(r->why), "the trace stopped at %.3f s: %s; %llu later events were not written",
			 at, why, (unsigned long long)r->lost);
	else
		snprintf(r->why, sizeof(r->why), "the trace stopped at %.3f s: %s; later events were not written", at,
			 why);
}

/* Merge the ring file into the trace (recover_merge) and read on from
 * the end of the last whole chunk.  Return 1 if merged. */
static int merge_rings(struct trace_reader *r)
{
	struct stat st;

	if (!recover_merge(r->path, r->hdr.nonce, r->progress, r->nprogress, r->max_file_info + 1, r->off) ||
	    fstat(r->fd, &st))
		return 0;
	r->file_size = (uint64_t)st.st_size;
	r->chunks_done = 0;
	return 1;
}

/* A recovered item names stacks by the process's ids, as the chunks do:
 * give it the dense ones.  Return 0 or -1 (out of memory). */
static int dense_stacks(struct trace_reader *r, struct trace_item *it)
{
	if (it->type == ITEM_STACK)
		return (it->stack.id = idmap_add(&r->stack_ids, it->stack.id)) ? 0 : -1;
	if (it->type != ITEM_EVENT)
		return 0;
	if (it->ev.stack && !(it->ev.stack = idmap_add(&r->stack_ids, it->ev.stack)))
		return -1;
	if (it->ev.old_stack && !(it->ev.old_stack = idmap_add(&r->stack_ids, it->ev.old_stack)))
		return -1;
	return 0;
}

/* reader_next's slow path: everything but the next event of the current
 * EVENTS record (the next record, chunk, scan entry, recovered item). */
static HS_NOINLINE int next_record(struct trace_reader *r, struct trace_item *it)
{
	for (;;) {
		if (r->ev_left)
			return next_event(r, it);
		if (r->rec) {
			int rc = recover_next(r->rec, it);
			if (rc < 0)
				diag_set(r->diag, "%s.rings: out of memory", r->path);
			else if (rc > 0 && dense_stacks(r, it))
				return corrupt_record(r, HST_REC_STACK);
			return rc;
		}
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
			/* (the records that replaced ALLOCINFO and EVENTS count
			 * as them) */
			r->tag_bytes[tag == HST_REC_ALLOCINFOS	 ? HST_REC_ALLOCINFO
				     : tag == HST_REC_EVENTS_SPLIT ? HST_REC_EVENTS
				     : tag == HST_REC_EVENTS_THREADS ? HST_REC_EVENTS
				     : tag == HST_REC_STACK_NEAR   ? HST_REC_STACK
				     : tag < 15			 ? tag
								 : 15] += blen;
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
			if (r->stopped_ts)
				note_stopped(r);
			if (r->last_tag != HST_REC_END && !r->truncated)
				set_truncated(r, "the trace has no END record (the process was killed or crashed)");
			if (r->last_tag != HST_REC_END && !r->has_merged) {
				if (merge_rings(r))
					continue; /* read on: the recovered chunks */
				r->rec = recover_open(r->path, r->hdr.nonce, r->progress, r->nprogress,
						      (uint64_t)r->info_ids.count + 1);
			} else {
				/* complete, or merged: a ring file left beside it
				 * (a process that died between its END and the
				 * removal, a merge cut short) is stale */
				recover_remove_stale(r->path, r->hdr.nonce);
			}
		}
	}
}

int reader_next(struct trace_reader *r, struct trace_item *it)
{
	/* nearly every call: the rest out of line, so that this path saves
	 * no more registers than it uses (recovery starts only after the
	 * last record, when no event is left) */
	if (HS_LIKELY(r->ev_left))
		return next_event(r, it);
	return next_record(r, it);
}

void reader_close(struct trace_reader *r)
{
	if (!r)
		return;
	close(r->fd);
	recover_close(r->rec);
	idmap_free(&r->info_ids);
	idmap_free(&r->stack_ids);
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
	free(r->slots);
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
	m->lo = m->text_lo = UINT64_MAX;
	for (uint32_t i = 0; i < m->nseg && !b.bad; i++) {
		uint64_t vaddr = b_v(&b), memsz = b_v(&b), flags = b_v(&b);
		uint64_t lo = m->load_bias + vaddr, hi = lo + memsz;
		if (lo < m->lo)
			m->lo = lo;
		if (hi > m->hi)
			m->hi = hi;
		if (!(flags & PF_X))
			continue;
		if (lo < m->text_lo) {
			m->text_lo = lo;
			m->text_vaddr = vaddr;
		}
		if (hi > m->text_hi)
			m->text_hi = hi;
	}
	if (b.bad)
		return -1;
	if (m->text_lo >= m->text_hi) {
		m->text_lo = m->lo;
		m->text_hi = m->hi;
		m->text_vaddr = m->lo - m->load_bias;
	}
	*pos = (size_t)(b.p - it->modules.body);
	return 1;
}
