/* Description: unit tests of src/trace/reader.c and src/trace/writer.c:
 * traces built with the real encoder (src/trace/encode.c, the one the
 * shim writes with) are read back field by field;
 * complete, truncated, torn, corrupt and foreign files; ring-file recovery
 * of the events a killed process left in TRACE.rings. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_suites.h"
#include "trace/encode.h"
#include "trace/format.h"
#include "trace/reader.h"
#include "trace/ringfile.h"
#include "trace/writer.h"
#include "util/crc32c.h"
#include "util/varint.h"

#define NONCE 0x1122334455667788ull
#define PID 4321
#define PPID 1

/* ---- fixture: a private temporary directory per test ------------------- */

/*
 * Each test case gets a root directory, made and removed in the runner's
 * own process (an unchecked fixture), and each test a directory inside it
 * (a checked fixture).  A test that fails under CK_FORK exits without its
 * teardown; the root's removal still takes its files.
 */
static char rootdir[200];
static char tmpdir[256]; /* short: names built from it fit PATH_MAX */

/* nftw callback: remove one file or (emptied) directory. */
static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Create the root directory of a test case. */
static void root_setup(void)
{
	const char *base = getenv("TMPDIR");

	/* a long TMPDIR falls back to /tmp rather than cutting the name */
	if (!base || strlen(base) > sizeof(rootdir) - 32)
		base = "/tmp";
	snprintf(rootdir, sizeof(rootdir), "%s/hs-check-XXXXXX", base);
	ck_assert_ptr_nonnull(mkdtemp(rootdir));
}

/* Remove it with everything in it. */
static void root_teardown(void)
{
	nftw(rootdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Create a fresh directory for the test's files. */
static void tmpdir_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/t-XXXXXX", rootdir);
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

/* Remove it with everything in it. */
static void tmpdir_teardown(void)
{
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Return tmpdir/name in a static buffer (one of 4, for two-path calls). */
static const char *tpath(const char *name)
{
	static char bufs[4][PATH_MAX];
	static int next;
	char *b = bufs[next++ % 4];

	snprintf(b, PATH_MAX, "%s/%s", tmpdir, name);
	return b;
}

/* ---- building traces ------------------------------------------------------ */

struct tw {
	struct trace_writer w;
	char path[PATH_MAX];
	uint64_t chunk_end[16]; /* file size after each flush */
	int nchunks;
};

/* Create tmpdir/name (zstd level, header nonce) with fixed header fields. */
static void tw_open(struct tw *t, int level, const char *name, uint64_t nonce)
{
	writer_init(&t->w, level, malloc, realloc, free);
	ck_assert_int_eq(writer_create(&t->w, tpath(name), "prog", PID, PPID, nonce, 1700000000123456789ull,
				       5000000000ull, t->path, sizeof(t->path)),
			 0);
	t->nchunks = 0;
}

/* End the current chunk and remember where it ends in the file. */
static void tw_flush(struct tw *t)
{
	ck_assert_int_eq(writer_flush(&t->w), 0);
	t->chunk_end[t->nchunks++] = t->w.file_bytes;
}

/* Flush the last chunk and close. */
static void tw_close(struct tw *t)
{
	ck_assert_int_eq(writer_close(&t->w), 0);
}

/*
 * Records come from the real encoder (src/trace/encode.c), the one the
 * shim writes with, so the reader is tested against what traces hold.
 * Each helper makes room for the encoder's bound and takes the record in.
 */

/* Room for a record of at most n bytes. */
static uint8_t *room(struct trace_writer *w, size_t n)
{
	uint8_t *p = writer_room(w, n);

	ck_assert_ptr_nonnull(p);
	return p;
}

/* Take in the record the encoder wrote from p to end, which must be
 * within its bound max. */
static void put(struct trace_writer *w, uint8_t *p, uint8_t *end, size_t max)
{
	ck_assert_uint_le((size_t)(end - p), max);
	writer_advance(w, end);
}

/* PROCESS with a NUL-separated command line and the given options. */
static void rec_process(struct trace_writer *w, const char *options)
{
	static const char cmdline[] = "prog\0-x\0arg";
	struct encode_process pr = {PID, PPID, "/usr/bin/prog", 13, cmdline, sizeof(cmdline) - 1,
				    options, strlen(options), "jemalloc", 8, 64};
	size_t max = encode_process_max(&pr);
	uint8_t *p = room(w, max);

	put(w, p, encode_process(p, &pr), max);
}

/* STACK id of depth ips; its outermost `shared` frames are those of stack
 * ref. */
static void rec_stack_shared(struct trace_writer *w, uint32_t id, unsigned depth, const uint64_t *ips,
			     uint32_t ref, unsigned shared)
{
	size_t max = encode_stack_max(depth);
	uint8_t *p = room(w, max);

	put(w, p, encode_stack(p, id, depth, ref, shared, ips), max);
}

/* STACK sharing nothing. */
static void rec_stack(struct trace_writer *w, uint32_t id, unsigned depth, const uint64_t *ips)
{
	rec_stack_shared(w, id, depth, ips, 0, 0);
}

/* THREAD: index, tid, start. */
static void rec_thread(struct trace_writer *w, uint32_t index, uint32_t tid, uint64_t ts)
{
	uint8_t *p = room(w, ENCODE_THREAD_MAX);

	put(w, p, encode_thread(p, index, tid, ts), ENCODE_THREAD_MAX);
}

/* THREAD_END: index, end, name. */
static void rec_thread_end(struct trace_writer *w, uint32_t index, uint64_t ts, const char *name)
{
	size_t max = encode_thread_end_max(strlen(name));
	uint8_t *p = room(w, max);

	put(w, p, encode_thread_end(p, index, ts, name, strlen(name)), max);
}

/* SNAPSHOT: time, index, trigger, label. */
static void rec_snapshot(struct trace_writer *w, uint64_t ts, uint32_t index, int trigger, const char *label)
{
	size_t max = encode_snapshot_max(strlen(label));
	uint8_t *p = room(w, max);

	put(w, p, encode_snapshot(p, ts, index, trigger, label, strlen(label)), max);
}

/* END: time, reason, status, events, dropped. */
static void rec_end(struct trace_writer *w, uint64_t ts, int reason, int64_t status, uint64_t events,
		    uint64_t dropped)
{
	uint8_t *p = room(w, ENCODE_END_MAX);

	put(w, p, encode_end(p, ts, reason, status, events, dropped), ENCODE_END_MAX);
}

/* PROGRESS with one (ring, position) pair. */
static void rec_progress(struct trace_writer *w, uint32_t ring, uint64_t pos)
{
	uint8_t *rec = room(w, encode_progress_max(1));
	uint8_t *p = encode_progress_begin(rec, 1);

	p = encode_progress_ring(p, ring, pos);
	put(w, rec, encode_close(rec, p), encode_progress_max(1));
}

/* ALLOCINFO: id, size, stack. */
static void rec_allocinfo(struct trace_writer *w, uint32_t id, uint64_t size, uint32_t stack)
{
	uint8_t *p = room(w, ENCODE_ALLOCINFO_MAX);

	put(w, p, encode_allocinfo(p, id, size, stack), ENCODE_ALLOCINFO_MAX);
}

/*
 * Hand-made records: malformed ones, and ones from a future version of
 * the format, which the encoder never writes.  Fields go into a buffer,
 * then the record is framed as every record is (encode_close).
 */
struct raw {
	struct trace_writer *w;
	uint8_t tag;
	uint8_t body[8192];
	size_t len;
};

static void raw_begin(struct raw *r, struct trace_writer *w, uint8_t tag)
{
	r->w = w;
	r->tag = tag;
	r->len = 0;
}

static void raw_v(struct raw *r, uint64_t v)
{
	ck_assert_uint_le(r->len + VARINT_MAX, sizeof(r->body));
	r->len = (size_t)(varint_put(r->body + r->len, v) - r->body);
}

static void raw_z(struct raw *r, int64_t v)
{
	raw_v(r, zigzag_enc(v));
}

static void raw_bytes(struct raw *r, const void *p, size_t n)
{
	ck_assert_uint_le(r->len + n, sizeof(r->body));
	memcpy(r->body + r->len, p, n);
	r->len += n;
}

static void raw_s(struct raw *r, const char *s, size_t n)
{
	raw_v(r, n);
	raw_bytes(r, s, n);
}

static void raw_end(struct raw *r)
{
	uint8_t *p = room(r->w, ENCODE_HEAD + r->len);

	p[0] = r->tag;
	memcpy(p + ENCODE_HEAD, r->body, r->len);
	writer_advance(r->w, encode_close(p, p + ENCODE_HEAD + r->len));
}

/* What the collector resolved for one event. */
struct resolved {
	uint64_t ts;	 /* ns */
	uint32_t thread; /* thread index */
	uint32_t a;	 /* allocinfo: the block, or the old one (realloc) */
	uint32_t b;	 /* realloc: the new block's allocinfo */
	uint8_t kind;	 /* enum hst_event_kind, maybe | HST_EV_IMPLICIT */
};

/* ns per time tick of the EVENTS records written here; the collector picks
 * its own (collector.c TICK_NS) and the reader must use the record's */
#define TICK_NS 10000

/* An EVENTS record being built: the encoder's columns, here on the heap. */
struct evrec {
	struct encode_events enc;
};

static void evrec_init(struct evrec *e, uint64_t tick)
{
	memset(e, 0, sizeof(*e));
	e->enc.tick = tick ? tick : TICK_NS;
}

/* Append one event to the columns (growing them as the collector does). */
static void evrec_add(struct evrec *e, const struct resolved *r)
{
	for (int i = 0; i < ENCODE_EVENT_COLS; i++) {
		struct encode_column *c = &e->enc.col[i];
		if (c->cap - c->len < ENCODE_EVENT_COL_MAX) {
			c->cap = c->cap ? c->cap * 2 : 64;
			c->p = realloc(c->p, c->cap);
			ck_assert_ptr_nonnull(c->p);
		}
	}
	encode_event(&e->enc, r->ts, r->thread, r->kind, r->a, r->b);
}

/* Write the columns as one EVENTS record and free them. */
static void evrec_flush(struct trace_writer *w, struct evrec *e)
{
	size_t max = encode_events_max(&e->enc);
	uint8_t *p = room(w, max);

	put(w, p, encode_events(p, &e->enc), max);
	ck_assert_uint_eq(e->enc.count, 0);
	for (int i = 0; i < ENCODE_EVENT_COLS; i++) {
		free(e->enc.col[i].p);
		e->enc.col[i] = (struct encode_column){0};
	}
}

/* One test event: what the collector resolved, and what must come out. */
struct evcase {
	struct resolved in;
	struct trace_event want;
};

#define IN(k_, th_, t_, a_, b_) {.ts = (t_), .thread = (th_), .a = (a_), .b = (b_), .kind = (k_)}
#define W(k_, imp_, th_, t_, info_, sz_, st_, oinfo_, osz_, ost_) \
	{.kind = (k_), .implicit = (imp_), .thread = (th_), .ts = (t_), .info = (info_), .size = (sz_), \
	 .stack = (st_), .old_info = (oinfo_), .old_size = (osz_), .old_stack = (ost_)}

struct infodef {
	uint32_t id;
	uint64_t size;
	uint32_t stack;
};

/* Allocinfos 1-5 go in chunk 1, the rest before the second EVENTS. */
static const struct infodef infos[] = {
	{1, 24, 1}, {2, 100, 2}, {3, 200, 2}, {4, 8, 1}, {5, 16, 3},
	{6, 1ull << 39, 70000}, {7, 4096, 2}, {8, 80, 0}, {9, 1, 1}, {10, 4097, 1}, {11, 64, 1},
};
#define NINFOS_CHUNK1 5

/*
 * Every event kind and shape, times off the 10 us grid (they are floored),
 * a time that goes backwards, implicit events, unknown blocks.
 */
static const struct evcase events[] = {
	{IN(HST_EV_MALLOC, 1, 1000500, 1, 0), W(HST_EV_MALLOC, 0, 1, 1000000, 1, 24, 1, 0, 0, 0)},
	{IN(HST_EV_CALLOC, 1, 1019999, 2, 0), W(HST_EV_CALLOC, 0, 1, 1010000, 2, 100, 2, 0, 0, 0)},
	{IN(HST_EV_FREE, 2, 1020000, 1, 0), W(HST_EV_FREE, 0, 2, 1020000, 1, 24, 1, 0, 0, 0)},
	/* realloc that moved: old block 2, new block 3 */
	{IN(HST_EV_REALLOC, 1, 1030000, 2, 3), W(HST_EV_REALLOC, 0, 1, 1030000, 3, 200, 2, 2, 100, 2)},
	/* realloc(NULL, n): no old block */
	{IN(HST_EV_REALLOC, 1, 1040000, 0, 4), W(HST_EV_REALLOC, 0, 1, 1040000, 4, 8, 1, 0, 0, 0)},
	/* reallocarray(p, 0): no new block */
	{IN(HST_EV_REALLOCARRAY, 2, 1050000, 4, 0), W(HST_EV_REALLOCARRAY, 0, 2, 1050000, 0, 0, 0, 4, 8, 1)},
	{IN(HST_EV_NEW, 3, 1060000, 5, 0), W(HST_EV_NEW, 0, 3, 1060000, 5, 16, 3, 0, 0, 0)},
	/* second EVENTS record from here */
	{IN(HST_EV_DELETE, 3, 1070000, 5, 0), W(HST_EV_DELETE, 0, 3, 1070000, 5, 16, 3, 0, 0, 0)},
	{IN(HST_EV_USABLE_SIZE, 1, 1080000, 0, 0), W(HST_EV_USABLE_SIZE, 0, 1, 1080000, 0, 0, 0, 0, 0, 0)},
	/* stamped earlier than the one before: negative time delta */
	{IN(HST_EV_MEMALIGN, 2, 1075000, 7, 0), W(HST_EV_MEMALIGN, 0, 2, 1070000, 7, 4096, 2, 0, 0, 0)},
	{IN(HST_EV_POSIX_MEMALIGN, 4000000, 5000000000000ull, 6, 0),
	 W(HST_EV_POSIX_MEMALIGN, 0, 4000000, 5000000000000ull, 6, 1ull << 39, 70000, 0, 0, 0)},
	/* a free the collector inferred */
	{IN(HST_EV_FREE | HST_EV_IMPLICIT, 1, 5000000010000ull, 6, 0),
	 W(HST_EV_FREE, 1, 1, 5000000010000ull, 6, 1ull << 39, 70000, 0, 0, 0)},
	/* a free of a block the trace never saw */
	{IN(HST_EV_FREE, 1, 5000000020000ull, 0, 0), W(HST_EV_FREE, 0, 1, 5000000020000ull, 0, 0, 0, 0, 0, 0)},
	/* a block a forked child inherited */
	{IN(HST_EV_MALLOC | HST_EV_IMPLICIT, 0, 5000000030000ull, 7, 0),
	 W(HST_EV_MALLOC, 1, 0, 5000000030000ull, 7, 4096, 2, 0, 0, 0)},
	{IN(HST_EV_NEW_ARRAY, 0, 5000000040000ull, 8, 0), W(HST_EV_NEW_ARRAY, 0, 0, 5000000040000ull, 8, 80, 0, 0, 0, 0)},
	{IN(HST_EV_DELETE_ARRAY, 0, 5000000050000ull, 8, 0),
	 W(HST_EV_DELETE_ARRAY, 0, 0, 5000000050000ull, 8, 80, 0, 0, 0, 0)},
	{IN(HST_EV_VALLOC, 1, 5000000060000ull, 9, 0), W(HST_EV_VALLOC, 0, 1, 5000000060000ull, 9, 1, 1, 0, 0, 0)},
	{IN(HST_EV_PVALLOC, 1, 5000000070000ull, 10, 0), W(HST_EV_PVALLOC, 0, 1, 5000000070000ull, 10, 4097, 1, 0, 0, 0)},
	{IN(HST_EV_ALIGNED_ALLOC, 1, 5000000080000ull, 11, 0),
	 W(HST_EV_ALIGNED_ALLOC, 0, 1, 5000000080000ull, 11, 64, 1, 0, 0, 0)},
	/* an allocinfo never defined reads size 0, stack 0 */
	{IN(HST_EV_DELETE, 1, 5000000090000ull, 99, 0), W(HST_EV_DELETE, 0, 1, 5000000090000ull, 99, 0, 0, 0, 0, 0)},
};
#define NEVENTS (sizeof(events) / sizeof(events[0]))
#define SPLIT 7 /* events[0..SPLIT) in the first EVENTS record */

/* Write events [from, to) as one EVENTS record. */
static void rec_events(struct trace_writer *w, const struct evcase *ev, size_t from, size_t to)
{
	struct evrec e;

	evrec_init(&e, 0);
	for (size_t i = from; i < to; i++)
		evrec_add(&e, &ev[i].in);
	evrec_flush(w, &e);
}

/* Write allocinfos [from, to) of infos[]. */
static void rec_infos(struct trace_writer *w, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		rec_allocinfo(w, infos[i].id, infos[i].size, infos[i].stack);
}

static const uint64_t stack1[] = {0x401000, 0x400f00, 0x7f1234567890ull};
static const uint64_t stack2[] = {0x402000};
/* shares its two outermost frames with stack1 */
static const uint64_t stack4[] = {0x405000, 0x405100, 0x400f00, 0x7f1234567890ull};

/* An ASCII options string long enough for zstd to shrink the chunk. */
static const char *long_options(void)
{
	static char s[3000];

	if (!s[0])
		for (size_t i = 0; i + 1 < sizeof(s); i++)
			s[i] = "output=/tmp/x:"[i % 14];
	return s;
}

/* MODULES at time 900: the program with a build-id and two segments, and
 * libc without either. */
static void rec_modules(struct trace_writer *w)
{
	uint8_t mods[256], *m = mods;

	m = encode_module(m, "/usr/bin/prog", 13, (const uint8_t *)"\x01\x02\xab", 3, 0x555555554000ull, 2);
	m = encode_segment(m, 0, 0x1000, 5);
	m = encode_segment(m, 0x3000, 0x800, 6);
	m = encode_module(m, "/lib/libc.so.6", 14, NULL, 0, 0x7f0000000000ull, 0);
	ck_assert_uint_le((size_t)(m - mods),
			  encode_module_max(13, 3) + encode_module_max(14, 0) + 2 * ENCODE_SEGMENT_MAX);
	size_t max = encode_modules_max((size_t)(m - mods));
	uint8_t *p = room(w, max);
	put(w, p, encode_modules(p, 900, 2, mods, (size_t)(m - mods)), max);
}

enum { WITH_END = 1, END_THEN_MORE = 2 };

/*
 * The reference trace: chunk 1 holds PROCESS, MODULES, STACKs, THREADs and
 * the first allocinfos; chunk 2 the events, a snapshot, an unknown record,
 * more allocinfos, THREAD_END and (with WITH_END) END.
 */
static void write_reference(struct tw *t, int level, int flags)
{
	struct trace_writer *w = &t->w;

	tw_open(t, level, "ref.hst", NONCE);
	rec_process(w, long_options());
	rec_modules(w);
	rec_stack(w, 1, 3, stack1);
	rec_stack(w, 2, 1, stack2);
	rec_stack(w, 3, 0, NULL);
	rec_stack_shared(w, 4, 4, stack4, 1, 2);
	rec_thread(w, 1, 1111, 100);
	rec_thread(w, 2, 2222, 200);
	rec_infos(w, 0, NINFOS_CHUNK1);
	tw_flush(t);

	rec_events(w, events, 0, SPLIT);
	rec_snapshot(w, 1065, 0, HST_SNAP_API, "after-new");
	/* a tag this reader does not know, with a body, is skipped */
	struct raw u;
	raw_begin(&u, w, 200);
	raw_v(&u, 12345);
	raw_s(&u, "future", 6);
	raw_end(&u);
	rec_infos(w, NINFOS_CHUNK1, sizeof(infos) / sizeof(infos[0]));
	rec_events(w, events, SPLIT, NEVENTS);
	rec_thread_end(w, 2, 7000000000ull, "worker");
	if (flags & WITH_END)
		rec_end(w, 7000000001ull, HST_END_EXIT, -3, NEVENTS, 5);
	if (flags & END_THEN_MORE)
		rec_thread(w, 3, 3333, 7000000002ull);
	tw_flush(t);
	tw_close(t);
}

/* ---- reading back ---------------------------------------------------------- */

/* Assert a decoded string is exactly want[0..n) (it is not NUL-terminated). */
static void assert_str(struct trace_str s, const char *want, size_t n)
{
	ck_assert_uint_eq(s.n, n);
	ck_assert_mem_eq(s.p, want, n);
}

/* Read the next item and assert it is there and of type. */
static void next_type(struct trace_reader *r, struct trace_item *it, int type)
{
	int rc = reader_next(r, it);
	ck_assert_msg(rc == 1, "reader_next: %d, want an item of type %d", rc, type);
	ck_assert_int_eq(it->type, type);
}

/* Read the next item: an event equal to want in every field. */
static void expect_event(struct trace_reader *r, const struct trace_event *want, size_t i)
{
	struct trace_item it;

	next_type(r, &it, ITEM_EVENT);
	const struct trace_event *ev = &it.ev;
	ck_assert_msg(ev->kind == want->kind && ev->implicit == want->implicit && ev->thread == want->thread &&
			      ev->ts == want->ts && ev->info == want->info && ev->size == want->size &&
			      ev->stack == want->stack && ev->old_info == want->old_info &&
			      ev->old_size == want->old_size && ev->old_stack == want->old_stack,
		      "event %zu: got kind %u%s thread %u ts %llu info %u (%llu B, stack %u) old %u (%llu B, stack %u); "
		      "want kind %u%s thread %u ts %llu info %u (%llu B, stack %u) old %u (%llu B, stack %u)",
		      i, ev->kind, ev->implicit ? " implicit" : "", ev->thread, (unsigned long long)ev->ts, ev->info,
		      (unsigned long long)ev->size, ev->stack, ev->old_info, (unsigned long long)ev->old_size,
		      ev->old_stack, want->kind, want->implicit ? " implicit" : "", want->thread,
		      (unsigned long long)want->ts, want->info, (unsigned long long)want->size, want->stack,
		      want->old_info, (unsigned long long)want->old_size, want->old_stack);
}

/* Read the next item: stack id with these ips. */
static void expect_stack(struct trace_reader *r, uint32_t id, uint32_t depth, const uint64_t *ips)
{
	struct trace_item it;

	next_type(r, &it, ITEM_STACK);
	ck_assert_uint_eq(it.stack.id, id);
	ck_assert_uint_eq(it.stack.depth, depth);
	for (uint32_t i = 0; i < depth; i++)
		ck_assert_uint_eq(it.stack.ips[i], ips[i]);
}

/* Read the next item: a THREAD. */
static void expect_thread(struct trace_reader *r, uint32_t index, uint32_t tid, uint64_t ts)
{
	struct trace_item it;

	next_type(r, &it, ITEM_THREAD);
	ck_assert_uint_eq(it.thread.index, index);
	ck_assert_uint_eq(it.thread.tid, tid);
	ck_assert_uint_eq(it.thread.ts, ts);
}

/* The items of chunk 1 of the reference trace. */
static void expect_chunk1(struct trace_reader *r)
{
	struct trace_item it;
	struct trace_module m;
	size_t pos = 0;

	next_type(r, &it, ITEM_PROCESS);
	ck_assert_uint_eq(it.process.pid, PID);
	ck_assert_uint_eq(it.process.ppid, PPID);
	assert_str(it.process.exe, "/usr/bin/prog", 13);
	assert_str(it.process.cmdline, "prog\0-x\0arg", 11);
	assert_str(it.process.options, long_options(), strlen(long_options()));
	assert_str(it.process.allocator, "jemalloc", 8);
	ck_assert_uint_eq(it.process.max_frames, 64);

	next_type(r, &it, ITEM_MODULES);
	ck_assert_uint_eq(it.modules.ts, 900);
	ck_assert_uint_eq(it.modules.count, 2);
	ck_assert_int_eq(modules_next(&it, &pos, &m), 1);
	assert_str(m.path, "/usr/bin/prog", 13);
	assert_str(m.build_id, "\x01\x02\xab", 3);
	ck_assert_uint_eq(m.load_bias, 0x555555554000ull);
	ck_assert_uint_eq(m.nseg, 2);
	ck_assert_uint_eq(m.lo, 0x555555554000ull);
	ck_assert_uint_eq(m.hi, 0x555555554000ull + 0x3800);
	ck_assert_int_eq(modules_next(&it, &pos, &m), 1);
	assert_str(m.path, "/lib/libc.so.6", 14);
	ck_assert_uint_eq(m.build_id.n, 0);
	ck_assert_uint_eq(m.load_bias, 0x7f0000000000ull);
	ck_assert_uint_eq(m.nseg, 0);
	ck_assert_int_eq(modules_next(&it, &pos, &m), 0);

	expect_stack(r, 1, 3, stack1);
	expect_stack(r, 2, 1, stack2);
	expect_stack(r, 3, 0, NULL);
	expect_stack(r, 4, 4, stack4);
	expect_thread(r, 1, 1111, 100);
	expect_thread(r, 2, 2222, 200);
}

/* The items of chunk 2, up to THREAD_END. */
static void expect_chunk2(struct trace_reader *r)
{
	struct trace_item it;

	for (size_t i = 0; i < SPLIT; i++)
		expect_event(r, &events[i].want, i);
	next_type(r, &it, ITEM_SNAPSHOT);
	ck_assert_uint_eq(it.snap.ts, 1065);
	ck_assert_uint_eq(it.snap.index, 0);
	ck_assert_int_eq(it.snap.trigger, HST_SNAP_API);
	assert_str(it.snap.label, "after-new", 9);
	/* the unknown record (tag 200) yields nothing */
	for (size_t i = SPLIT; i < NEVENTS; i++)
		expect_event(r, &events[i].want, i);
	next_type(r, &it, ITEM_THREAD_END);
	ck_assert_uint_eq(it.thread.index, 2);
	ck_assert_uint_eq(it.thread.ts, 7000000000ull);
	assert_str(it.thread.name, "worker", 6);
}

/* Open path, failing the test with the reader's message if it cannot. */
static struct trace_reader *open_ok(const char *path, struct hs_diag *d)
{
	memset(d, 0, sizeof(*d));
	struct trace_reader *r = reader_open(path, d);
	ck_assert_msg(r != NULL, "reader_open(%s): %s", path, d->msg);
	return r;
}

/* Assert the end of the items, twice. */
static void expect_eof(struct trace_reader *r)
{
	struct trace_item it;

	ck_assert_int_eq(reader_next(r, &it), 0);
	/* the end is sticky */
	ck_assert_int_eq(reader_next(r, &it), 0);
}

/* Return the codec byte of the chunk at off in path. */
static int chunk_codec(const char *path, uint64_t off)
{
	uint8_t h[HST_CHUNK_HEADER_SIZE];
	int fd = open(path, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, h, sizeof(h), (off_t)off), (ssize_t)sizeof(h));
	close(fd);
	return h[4];
}

/* Read the whole reference trace back, every field, at zstd level. */
static void check_complete(int level)
{
	struct tw t;
	struct hs_diag d;
	struct trace_item it;

	write_reference(&t, level, WITH_END);
	ck_assert_int_eq(chunk_codec(t.path, HST_HEADER_SIZE), level ? HST_CODEC_ZSTD : HST_CODEC_RAW);
	struct trace_reader *r = open_ok(t.path, &d);
	const struct trace_header *h = reader_header(r);
	ck_assert_uint_eq(h->version, HST_VERSION);
	ck_assert_uint_eq(h->pid, PID);
	ck_assert_uint_eq(h->ppid, PPID);
	ck_assert_uint_eq(h->nonce, NONCE);
	ck_assert_uint_eq(h->realtime_ns, 1700000000123456789ull);
	ck_assert_uint_eq(h->mono_ns, 5000000000ull);

	expect_chunk1(r);
	expect_chunk2(r);
	next_type(r, &it, ITEM_END);
	ck_assert_uint_eq(it.end.ts, 7000000001ull);
	ck_assert_int_eq(it.end.reason, HST_END_EXIT);
	ck_assert_int_eq(it.end.status, -3);
	ck_assert_uint_eq(it.end.events, NEVENTS);
	ck_assert_uint_eq(it.end.dropped, 5);
	expect_eof(r);
	ck_assert_int_eq(reader_truncated(r), 0);
	ck_assert_uint_eq(reader_recovered(r), 0);
	ck_assert_str_eq(d.msg, "");
	/* body bytes by tag: two THREADs of 4 and 5 bytes; tags past 14
	 * (the unknown 200: v 12345, s "future") share the last bucket */
	ck_assert_uint_eq(reader_tag_bytes(r, HST_REC_THREAD), 9);
	ck_assert_uint_eq(reader_tag_bytes(r, 200), 9);
	ck_assert_uint_eq(reader_tag_bytes(r, 15), 9);
	reader_close(r);
}

/* Chunks stored raw (zstd level 0). */
START_TEST(test_complete_raw)
{
	check_complete(0);
}
END_TEST

/* Chunks as one zstd stream across chunks. */
START_TEST(test_complete_zstd)
{
	check_complete(1);
}
END_TEST

/* Everything there but END: all items, then truncated. */
START_TEST(test_no_end_truncated)
{
	struct tw t;
	struct hs_diag d;

	write_reference(&t, 1, 0);
	struct trace_reader *r = open_ok(t.path, &d);
	expect_chunk1(r);
	expect_chunk2(r);
	expect_eof(r);
	ck_assert_int_eq(reader_truncated(r), 1);
	ck_assert_ptr_nonnull(strstr(reader_truncation(r), "END"));
	reader_close(r);
}
END_TEST

/* Only an END that is the last record marks a complete trace (exec that
 * failed continues after its END). */
/* The temporary bitmap of EVENTS: the events marked by the encoder, and
 * only those, read back as temporary, across byte boundaries; a record
 * with no mark carries an empty bitmap. */
START_TEST(test_temporary_bits)
{
	struct tw t;
	struct hs_diag d;
	struct trace_item it;
	struct evrec e;
	static const int marked[] = {0, 7, 8, 19};

	tw_open(&t, 3, "temporary", NONCE);
	evrec_init(&e, 0);
	for (int i = 0; i < 20; i++) {
		struct resolved r = {5000000000ull + (uint64_t)i * TICK_NS, 1, 0, 0, HST_EV_FREE};
		evrec_add(&e, &r);
		for (unsigned k = 0; k < sizeof(marked) / sizeof(marked[0]); k++)
			if (marked[k] == i)
				encode_event_temporary(&e.enc);
	}
	ck_assert_uint_eq(e.enc.temporary, 4);
	evrec_flush(&t.w, &e);
	evrec_init(&e, 0);
	for (int i = 0; i < 3; i++) {
		struct resolved r = {6000000000ull + (uint64_t)i * TICK_NS, 1, 0, 0, HST_EV_FREE};
		evrec_add(&e, &r);
	}
	evrec_flush(&t.w, &e);
	tw_flush(&t);
	tw_close(&t);
	struct trace_reader *r = open_ok(t.path, &d);
	for (int i = 0; i < 23; i++) {
		int want = 0;
		for (unsigned k = 0; k < sizeof(marked) / sizeof(marked[0]); k++)
			want |= i < 20 && marked[k] == i;
		next_type(r, &it, ITEM_EVENT);
		ck_assert_msg(it.ev.temporary == want, "event %d: temporary %d, want %d", i, it.ev.temporary, want);
	}
	expect_eof(r);
	reader_close(r);
}
END_TEST

/* RSS records from the real encoder read back with their values, among
 * other records, at the extremes of their fields. */
START_TEST(test_rss)
{
	static const uint64_t ts[] = {5000000001ull, 5010000000ull, UINT64_MAX};
	static const uint64_t bytes[] = {4096, 123456789012ull, UINT64_MAX};
	struct tw t;
	struct hs_diag d;
	struct trace_item it;

	tw_open(&t, 3, "rss", NONCE);
	for (int i = 0; i < 3; i++) {
		uint8_t *p = room(&t.w, ENCODE_RSS_MAX);
		put(&t.w, p, encode_rss(p, ts[i], bytes[i]), ENCODE_RSS_MAX);
		if (i == 1)
			rec_snapshot(&t.w, 5020000000ull, 0, HST_SNAP_SIGNAL, "s");
	}
	rec_end(&t.w, 6000000000ull, HST_END_EXIT, 0, 0, 0);
	tw_flush(&t);
	tw_close(&t);
	struct trace_reader *r = open_ok(t.path, &d);
	for (int i = 0; i < 3; i++) {
		next_type(r, &it, ITEM_RSS);
		ck_assert_uint_eq(it.rss.ts, ts[i]);
		ck_assert_uint_eq(it.rss.bytes, bytes[i]);
		if (i == 1)
			next_type(r, &it, ITEM_SNAPSHOT);
	}
	next_type(r, &it, ITEM_END);
	expect_eof(r);
	ck_assert_int_eq(reader_truncated(r), 0);
	reader_close(r);
}
END_TEST

START_TEST(test_end_not_last)
{
	struct tw t;
	struct hs_diag d;
	struct trace_item it;

	write_reference(&t, 0, WITH_END | END_THEN_MORE);
	struct trace_reader *r = open_ok(t.path, &d);
	expect_chunk1(r);
	expect_chunk2(r);
	next_type(r, &it, ITEM_END);
	expect_thread(r, 3, 3333, 7000000002ull);
	expect_eof(r);
	ck_assert_int_eq(reader_truncated(r), 1);
	reader_close(r);
}
END_TEST

/* Cut the file at size bytes. */
static void cut(const char *path, uint64_t size)
{
	ck_assert_int_eq(truncate(path, (off_t)size), 0);
}

/* Cut the reference trace inside its last chunk: chunk 1 reads, then a
 * clean end marked truncated. */
static void check_torn(int level, uint64_t (*where)(const struct tw *t))
{
	struct tw t;
	struct hs_diag d;

	write_reference(&t, level, WITH_END);
	ck_assert_int_eq(t.nchunks, 2);
	cut(t.path, where(&t));
	struct trace_reader *r = open_ok(t.path, &d);
	expect_chunk1(r);
	/* the torn chunk is the end, not an error */
	expect_eof(r);
	ck_assert_int_eq(reader_truncated(r), 1);
	ck_assert_ptr_nonnull(strstr(reader_truncation(r), "torn"));
	ck_assert_str_eq(d.msg, "");
	reader_close(r);
}

/* Halfway through chunk 2's payload. */
static uint64_t mid_payload(const struct tw *t)
{
	return (t->chunk_end[0] + HST_CHUNK_HEADER_SIZE + t->chunk_end[1]) / 2;
}

/* Inside chunk 2's header. */
static uint64_t mid_header(const struct tw *t)
{
	return t->chunk_end[0] + 10;
}

/* The last byte of chunk 2 (the end of the file). */
static uint64_t one_byte_short(const struct tw *t)
{
	return t->chunk_end[1] - 1;
}

/* A process killed while writing its last chunk. */
START_TEST(test_torn_mid_payload)
{
	check_torn(0, mid_payload);
	check_torn(1, mid_payload);
}
END_TEST

/* Killed before the chunk header was whole. */
START_TEST(test_torn_mid_chunk_header)
{
	check_torn(1, mid_header);
}
END_TEST

/* One byte short is still torn, not corrupt. */
START_TEST(test_torn_last_byte)
{
	check_torn(0, one_byte_short);
}
END_TEST

/* Cut exactly at a chunk boundary: whole chunks, no END. */
START_TEST(test_cut_at_chunk_boundary)
{
	struct tw t;
	struct hs_diag d;

	write_reference(&t, 1, WITH_END);
	cut(t.path, t.chunk_end[0]);
	struct trace_reader *r = open_ok(t.path, &d);
	expect_chunk1(r);
	expect_eof(r);
	ck_assert_int_eq(reader_truncated(r), 1);
	reader_close(r);
}
END_TEST

/* XOR one byte of the file at off. */
static void flip(const char *path, uint64_t off)
{
	uint8_t b;
	int fd = open(path, O_RDWR);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &b, 1, (off_t)off), 1);
	b ^= 0x20;
	ck_assert_int_eq(pwrite(fd, &b, 1, (off_t)off), 1);
	close(fd);
}

/* Flip a byte of chunk 2: chunk 1 reads, then -1 with a message naming
 * the file, the chunk offset and what. */
static void check_flipped(int level, uint64_t (*where)(const struct tw *t), const char *what)
{
	struct tw t;
	struct hs_diag d;
	struct trace_item it;

	write_reference(&t, level, WITH_END);
	flip(t.path, where(&t));
	struct trace_reader *r = open_ok(t.path, &d);
	expect_chunk1(r);
	ck_assert_int_eq(reader_next(r, &it), -1);
	ck_assert_msg(strstr(d.msg, t.path) != NULL, "diag does not name the file: %s", d.msg);
	ck_assert_msg(strstr(d.msg, what) != NULL, "diag does not say '%s': %s", what, d.msg);
	/* the offset of the bad chunk is named too */
	char off[32];
	snprintf(off, sizeof(off), "%llu", (unsigned long long)t.chunk_end[0]);
	ck_assert_msg(strstr(d.msg, off) != NULL, "diag does not give offset %s: %s", off, d.msg);
	reader_close(r);
}

/* Bit rot inside a chunk is corruption: -1, not truncation. */
START_TEST(test_flipped_payload_byte)
{
	check_flipped(0, mid_payload, "checksum");
	check_flipped(1, mid_payload, "checksum");
	check_flipped(1, one_byte_short, "checksum");
}
END_TEST

/* The first byte of chunk 2 (its magic). */
static uint64_t chunk2_magic_byte(const struct tw *t)
{
	return t->chunk_end[0];
}

/* A damaged chunk header is caught by its own CRC or magic. */
START_TEST(test_flipped_chunk_header_byte)
{
	check_flipped(1, mid_header, "chunk header");
	check_flipped(1, chunk2_magic_byte, "chunk header");
}
END_TEST

/* Write n bytes of buf to tmpdir/name; return its path. */
static const char *write_file(const char *name, const void *buf, size_t n)
{
	const char *path = tpath(name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
	close(fd);
	return path;
}

/* reader_open(path) must fail with a message naming path and saying what. */
static void expect_open_fails(const char *path, const char *what)
{
	struct hs_diag d;

	memset(&d, 0, sizeof(d));
	ck_assert_ptr_null(reader_open(path, &d));
	ck_assert_msg(strstr(d.msg, path) != NULL, "diag does not name %s: %s", path, d.msg);
	ck_assert_msg(strstr(d.msg, what) != NULL, "diag does not say '%s': %s", what, d.msg);
	ck_assert_ptr_null(strchr(d.msg, '\n'));
}

/* An empty file is named as such. */
START_TEST(test_open_empty)
{
	expect_open_fails(write_file("empty.hst", "", 0), "empty");
}
END_TEST

/* Not a trace at all. */
START_TEST(test_open_random)
{
	uint8_t buf[4096];
	uint32_t s = 12345;

	for (size_t i = 0; i < sizeof(buf); i++) {
		s = s * 1103515245u + 12345u;
		buf[i] = (uint8_t)(s >> 16);
	}
	expect_open_fails(write_file("random.hst", buf, sizeof(buf)), "not a heapsnap trace");
	/* shorter than the magic */
	expect_open_fails(write_file("tiny.hst", "HEAP", 4), "not a heapsnap trace");
}
END_TEST

/* Read the first n bytes of a fresh trace header into h. */
static void fresh_header(uint8_t *h, size_t n)
{
	struct tw t;
	int fd;

	tw_open(&t, 0, "fresh.hst", NONCE);
	tw_close(&t);
	fd = open(t.path, O_RDONLY);
	ck_assert_int_eq(read(fd, h, n), (ssize_t)n);
	close(fd);
	unlink(t.path);
}

/* The magic is there but the 64-byte header is not whole. */
START_TEST(test_open_partial_header)
{
	uint8_t h[HST_HEADER_SIZE];

	fresh_header(h, sizeof(h));
	expect_open_fails(write_file("part.hst", h, 40), "truncated inside the file header");
	expect_open_fails(write_file("part8.hst", h, 8), "truncated inside the file header");
	expect_open_fails(write_file("part63.hst", h, 63), "truncated inside the file header");
}
END_TEST

/* Store v little-endian, as the header fields are. */
static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A trace from another format version is refused, by number. */
START_TEST(test_open_wrong_version)
{
	uint8_t h[HST_HEADER_SIZE];

	fresh_header(h, sizeof(h));
	put_le32(h + HST_HDR_OFF_VERSION, HST_VERSION + 1);
	/* a well-formed header of another version: the checksum is right */
	put_le32(h + HST_HDR_OFF_CRC, crc32c(0, h, HST_HDR_OFF_CRC));
	expect_open_fails(write_file("v2.hst", h, sizeof(h)), "version 2");
	put_le32(h + HST_HDR_OFF_VERSION, 0);
	put_le32(h + HST_HDR_OFF_CRC, crc32c(0, h, HST_HDR_OFF_CRC));
	expect_open_fails(write_file("v0.hst", h, sizeof(h)), "version 0");
}
END_TEST

/* A damaged header is refused before any field is trusted. */
START_TEST(test_open_bad_header_crc)
{
	uint8_t h[HST_HEADER_SIZE];

	fresh_header(h, sizeof(h));
	h[HST_HDR_OFF_PID] ^= 1;
	expect_open_fails(write_file("hcrc.hst", h, sizeof(h)), "checksum");
}
END_TEST

/* Paths that cannot be a trace file. */
START_TEST(test_open_missing_and_dir)
{
	expect_open_fails(tpath("does-not-exist.hst"), "cannot open");
	expect_open_fails(tmpdir, "not a regular file");
}
END_TEST

/* A header and nothing else: no records, truncated (no END). */
START_TEST(test_header_only)
{
	struct tw t;
	struct hs_diag d;

	tw_open(&t, 1, "hdr.hst", NONCE);
	tw_close(&t);
	struct trace_reader *r = open_ok(t.path, &d);
	expect_eof(r);
	ck_assert_int_eq(reader_truncated(r), 1);
	reader_close(r);
}
END_TEST

/* Unknown tags are skipped by length, and fields appended to known records
 * are ignored: the format's forward-compatibility promise. */
START_TEST(test_unknown_tag_and_extra_fields)
{
	struct tw t;
	struct hs_diag d;
	struct trace_item it;
	struct trace_writer *w = &t.w;

	tw_open(&t, 0, "fwd.hst", NONCE);
	rec_thread(w, 1, 10, 11);
	struct raw u;
	raw_begin(&u, w, 0x7f);
	for (int i = 0; i < 300; i++)
		raw_v(&u, (uint64_t)i << 40);
	raw_end(&u);
	raw_begin(&u, w, 0); /* tag 0 is not a record either */
	raw_end(&u);
	/* THREAD with two fields from a future version */
	raw_begin(&u, w, HST_REC_THREAD);
	raw_v(&u, 2);
	raw_v(&u, 20);
	raw_v(&u, 21);
	raw_v(&u, 99999);
	raw_s(&u, "new", 3);
	raw_end(&u);
	rec_end(w, 30, HST_END__EXIT, 7, 0, 0);
	tw_close(&t);

	struct trace_reader *r = open_ok(t.path, &d);
	expect_thread(r, 1, 10, 11);
	expect_thread(r, 2, 20, 21);
	next_type(r, &it, ITEM_END);
	ck_assert_int_eq(it.end.reason, HST_END__EXIT);
	ck_assert_int_eq(it.end.status, 7);
	expect_eof(r);
	ck_assert_int_eq(reader_truncated(r), 0);
	reader_close(r);
}
END_TEST

/* A record whose body is shorter than its fields is corrupt, not silently
 * zero-filled. */
START_TEST(test_short_record_corrupt)
{
	struct tw t;
	struct hs_diag d;
	struct trace_item it;
	struct trace_writer *w = &t.w;

	tw_open(&t, 0, "short.hst", NONCE);
	struct raw u;
	raw_begin(&u, w, HST_REC_SNAPSHOT);
	raw_v(&u, 5);
	raw_v(&u, 0);
	raw_v(&u, 0);
	raw_v(&u, 100); /* label length past the body */
	raw_end(&u);
	tw_close(&t);
	struct trace_reader *r = open_ok(t.path, &d);
	ck_assert_int_eq(reader_next(r, &it), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, t.path));
	ck_assert_ptr_nonnull(strstr(d.msg, "corrupt record"));
	reader_close(r);
}
END_TEST

/* realloc for the writer that fails once when armed. */
static int fail_next_realloc;

static void *flaky_realloc(void *p, size_t n)
{
	if (fail_next_realloc) {
		fail_next_realloc = 0;
		return NULL;
	}
	return realloc(p, n);
}

/*
 * A chunk the writer cannot compress (no memory for a bigger output
 * buffer) is stored raw; the zstd stream goes on in the next chunk, and
 * the reader, which decompresses the stream in chunk order, follows.
 */
START_TEST(test_raw_chunk_inside_stream)
{
	struct tw t;
	struct hs_diag d;
	struct trace_item it;

	writer_init(&t.w, 1, malloc, flaky_realloc, free);
	ck_assert_int_eq(writer_create(&t.w, tpath("flaky.hst"), "prog", PID, PPID, NONCE, 1, 2, t.path,
				       sizeof(t.path)),
			 0);
	t.nchunks = 0;
	rec_thread(&t.w, 1, 11, 100);
	rec_process(&t.w, long_options()); /* 128 bytes or more: compressed */
	tw_flush(&t);
	/* a bigger chunk needs a bigger compression buffer: refused once */
	for (int k = 0; k < 4; k++)
		rec_process(&t.w, long_options());
	fail_next_realloc = 1;
	tw_flush(&t);
	ck_assert_int_eq(fail_next_realloc, 0);
	rec_thread(&t.w, 2, 22, 200);
	rec_process(&t.w, long_options()); /* 128 bytes or more: compressed */
	rec_end(&t.w, 300, HST_END_EXIT, 0, 0, 0);
	tw_close(&t);
	ck_assert_int_eq(chunk_codec(t.path, HST_HEADER_SIZE), HST_CODEC_ZSTD);
	ck_assert_int_eq(chunk_codec(t.path, t.chunk_end[0]), HST_CODEC_RAW);
	ck_assert_int_eq(chunk_codec(t.path, t.chunk_end[1]), HST_CODEC_ZSTD);

	struct trace_reader *r = open_ok(t.path, &d);
	expect_thread(r, 1, 11, 100);
	for (int k = 0; k < 5; k++) {
		next_type(r, &it, ITEM_PROCESS);
		assert_str(it.process.options, long_options(), strlen(long_options()));
	}
	expect_thread(r, 2, 22, 200);
	next_type(r, &it, ITEM_PROCESS);
	next_type(r, &it, ITEM_END);
	expect_eof(r);
	ck_assert_int_eq(reader_truncated(r), 0);
	reader_close(r);
}
END_TEST

/* Write one EVENTS record by hand: base, count, and four columns. */
static void rec_events_raw(struct trace_writer *w, uint64_t base, uint32_t count, uint64_t tick,
			   const uint8_t *const col[4], const size_t n[4])
{
	struct raw u;

	raw_begin(&u, w, HST_REC_EVENTS);
	raw_v(&u, base);
	raw_v(&u, count);
	raw_v(&u, tick);
	for (int i = 0; i < 4; i++) {
		raw_v(&u, n[i]);
		raw_bytes(&u, col[i], n[i]);
	}
	raw_end(&u);
}

/* Write allocinfo 1 and one EVENTS record of the given columns; expect
 * `good` events (each events[0]) then -1 with a message naming the file. */
static void expect_corrupt_events_tick(const uint8_t *const col[4], const size_t n[4], uint32_t count,
				       uint64_t tick, int good)
{
	struct tw t;
	struct hs_diag d;
	struct trace_item it;

	tw_open(&t, 0, "bad-events.hst", NONCE);
	rec_allocinfo(&t.w, 1, 24, 1);
	rec_events_raw(&t.w, 1000000, count, tick, col, n);
	tw_close(&t);
	struct trace_reader *r = open_ok(t.path, &d);
	for (int i = 0; i < good; i++)
		expect_event(r, &events[0].want, (size_t)i);
	ck_assert_int_eq(reader_next(r, &it), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, t.path));
	ck_assert_ptr_nonnull(strstr(d.msg, "corrupt record"));
	reader_close(r);
	unlink(t.path);
}

/* expect_corrupt_events_tick with the usual tick. */
static void expect_corrupt_events(const uint8_t *const col[4], const size_t n[4], uint32_t count, int good)
{
	expect_corrupt_events_tick(col, n, count, TICK_NS, good);
}

/* Columns shorter than the count says are corrupt, never read past. */
START_TEST(test_events_columns_short)
{
	static const uint8_t kinds[] = {HST_EV_MALLOC, HST_EV_MALLOC}, threads[] = {1, 1}, times[] = {0, 0},
			     blocks[] = {1, 1};
	const uint8_t *const col[4] = {kinds, threads, times, blocks};

	/* count 2, one kind: refused at the record */
	expect_corrupt_events(col, (const size_t[4]){1, 2, 2, 2}, 2, 0);
	/* the block column runs out at the second event */
	expect_corrupt_events(col, (const size_t[4]){2, 2, 2, 1}, 2, 1);
	/* the time column runs out at the second event */
	expect_corrupt_events(col, (const size_t[4]){2, 2, 1, 2}, 2, 1);
	/* an unknown kind */
	static const uint8_t bad_kind[] = {HST_EV_MALLOC, 0x7e};
	const uint8_t *const col2[4] = {bad_kind, threads, times, blocks};
	expect_corrupt_events(col2, (const size_t[4]){2, 2, 2, 2}, 2, 1);
	/* a tick of 0 ns, or of more than a second */
	expect_corrupt_events_tick(col, (const size_t[4]){2, 2, 2, 2}, 2, 0, 0);
	expect_corrupt_events_tick(col, (const size_t[4]){2, 2, 2, 2}, 2, 1000000001, 0);
}
END_TEST

/* A column length past the end of the record is corrupt. */
START_TEST(test_events_column_past_record)
{
	struct tw t;
	struct hs_diag d;
	struct trace_item it;

	tw_open(&t, 0, "col.hst", NONCE);
	struct raw u;
	raw_begin(&u, &t.w, HST_REC_EVENTS);
	raw_v(&u, 1000);
	raw_v(&u, 1);
	raw_v(&u, TICK_NS);
	raw_v(&u, 1);
	raw_v(&u, HST_EV_MALLOC);
	raw_v(&u, 50); /* thread column: 50 bytes claimed, none there */
	raw_end(&u);
	tw_close(&t);
	struct trace_reader *r = open_ok(t.path, &d);
	ck_assert_int_eq(reader_next(r, &it), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "corrupt record"));
	reader_close(r);
}
END_TEST

/* A STACK that shares frames with a stack not written before it, or more
 * frames than either has, is corrupt. */
START_TEST(test_stack_bad_ref)
{
	static const struct {
		uint32_t ref;
		unsigned depth, shared;
	} bad[] = {
		{7, 3, 1}, /* stack 7 was never written */
		{1, 3, 4}, /* more shared frames than the stack has */
		{1, 5, 4}, /* more than stack 1 has */
		{2, 3, 1}, /* itself */
	};

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tw t;
		struct hs_diag d;
		struct trace_item it;
		uint64_t ips[8] = {1, 2, 3, 4, 5, 6, 7, 8};

		tw_open(&t, 0, "stackref.hst", NONCE);
		rec_stack(&t.w, 1, 3, stack1);
		/* by hand: the encoder refuses more shared frames than it has */
		struct raw u;
		raw_begin(&u, &t.w, HST_REC_STACK);
		raw_v(&u, 2);
		raw_v(&u, bad[i].depth);
		raw_v(&u, bad[i].ref);
		raw_v(&u, bad[i].shared);
		for (unsigned k = 0; k + bad[i].shared < bad[i].depth; k++)
			k ? raw_z(&u, (int64_t)(ips[k] - ips[k - 1])) : raw_v(&u, ips[0]);
		raw_end(&u);
		tw_close(&t);
		struct trace_reader *r = open_ok(t.path, &d);
		expect_stack(r, 1, 3, stack1);
		ck_assert_msg(reader_next(r, &it) == -1, "case %u: a bad STACK was accepted", i);
		ck_assert_ptr_nonnull(strstr(d.msg, "corrupt record"));
		reader_close(r);
		unlink(t.path);
	}
}
END_TEST

/* Allocinfo id 0 is reserved (a block never seen): defining it is corrupt. */
START_TEST(test_allocinfo_zero_corrupt)
{
	struct tw t;
	struct hs_diag d;
	struct trace_item it;

	tw_open(&t, 0, "info0.hst", NONCE);
	rec_thread(&t.w, 1, 2, 3);
	/* by hand: the encoder refuses id 0 */
	struct raw u;
	raw_begin(&u, &t.w, HST_REC_ALLOCINFO);
	raw_v(&u, 0);
	raw_v(&u, 8);
	raw_v(&u, 1);
	raw_end(&u);
	tw_close(&t);
	struct trace_reader *r = open_ok(t.path, &d);
	expect_thread(r, 1, 2, 3);
	ck_assert_int_eq(reader_next(r, &it), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "corrupt record"));
	reader_close(r);
}
END_TEST

/* Many events over several EVENTS records and chunks, past the first
 * buffer sizes, compressed as one stream; a 1 us tick, so the reader must
 * use the record's tick, not a constant. */
START_TEST(test_many_events)
{
	struct tw t;
	struct hs_diag d;
	struct trace_item it;
	const unsigned n = 60000, per_record = 16384;

	tw_open(&t, 3, "many.hst", NONCE);
	for (uint32_t id = 1; id <= 7; id++)
		rec_allocinfo(&t.w, id, id * 10, id + 100);
	for (unsigned i = 0; i < n;) {
		struct evrec e;
		evrec_init(&e, 1000);
		for (unsigned k = 0; k < per_record && i < n; k++, i++) {
			struct resolved ev = {.ts = 1000ull * (1000 + i) + i % 1000, .thread = i % 5,
					      .a = 1 + i % 7, .kind = i % 3 ? HST_EV_MALLOC : HST_EV_FREE};
			evrec_add(&e, &ev);
		}
		evrec_flush(&t.w, &e);
		if (i % 32768 < per_record)
			tw_flush(&t);
	}
	rec_end(&t.w, 1, HST_END_EXIT, 0, n, 0);
	tw_close(&t);

	struct trace_reader *r = open_ok(t.path, &d);
	for (unsigned i = 0; i < n; i++) {
		int rc = reader_next(r, &it);
		uint32_t id = 1 + i % 7;
		if (rc != 1 || it.type != ITEM_EVENT || it.ev.ts != 1000ull * (1000 + i) || it.ev.thread != i % 5 ||
		    it.ev.kind != (i % 3 ? HST_EV_MALLOC : HST_EV_FREE) || it.ev.info != id ||
		    it.ev.size != id * 10 || it.ev.stack != id + 100 || it.ev.implicit)
			ck_abort_msg("event %u decoded wrong (rc %d): %s", i, rc, d.msg);
	}
	next_type(r, &it, ITEM_END);
	ck_assert_uint_eq(it.end.events, n);
	expect_eof(r);
	ck_assert_int_eq(reader_truncated(r), 0);
	reader_close(r);
}
END_TEST

/* ---- ring-file recovery ----------------------------------------------------- */

#define RING_CAP 64
#define RING_SEG_BYTES 4096 /* the slots of 64 records fit */

/* One ring record, spelled out; write_rings packs it with ring_rec_make. */
struct rspec {
	uint64_t ts;	/* ns */
	uint64_t addr;	/* block address */
	uint64_t size;	/* bytes, or the free lag of a realloc's old record */
	uint32_t stack; /* stack id */
	uint8_t kind;	/* enum hst_event_kind */
	int old;	/* the first record of a realloc pair */
};

struct ringspec {
	uint32_t ring_id, thread_index, tid;
	uint64_t head, tail;
	const struct rspec *recs; /* records at positions [first, first + n) */
	uint64_t first;
	size_t n;
};

struct stackspec {
	uint32_t id;
	uint16_t depth, ready;
	uint64_t ips[4];
};

/* Build TRACE.rings: file header, ring segments, one stacks segment. */
static void write_rings(const char *trace, uint64_t nonce, const struct ringspec *rings, size_t nrings,
			const struct stackspec *stacks, size_t nstacks)
{
	size_t size = RINGFILE_HEADER_SIZE + (nrings + 1) * RING_SEG_BYTES;
	uint8_t *f = calloc(1, size);
	char path[PATH_MAX];

	ck_assert_ptr_nonnull(f);
	struct ringfile_file_header *h = (void *)f;
	memcpy(h->magic, RINGFILE_MAGIC, 8);
	h->version = RINGFILE_VERSION;
	h->nonce = nonce;
	ck_assert_uint_le(RINGFILE_RING_SLOTS_OFFSET + RING_CAP * sizeof(struct ring_rec), RING_SEG_BYTES);
	for (size_t i = 0; i < nrings; i++) {
		struct ringfile_ring *g = (void *)(f + RINGFILE_HEADER_SIZE + i * RING_SEG_BYTES);
		struct ring_rec *slots = (void *)((uint8_t *)g + RINGFILE_RING_SLOTS_OFFSET);
		g->seg.magic = RINGFILE_SEG_MAGIC;
		g->seg.type = RINGFILE_SEG_RING;
		g->seg.bytes = RING_SEG_BYTES;
		g->ring_id = rings[i].ring_id;
		g->thread_index = rings[i].thread_index;
		g->tid = rings[i].tid;
		g->capacity = RING_CAP;
		g->tail = rings[i].tail;
		g->head = rings[i].head;
		for (size_t k = 0; k < rings[i].n; k++) {
			const struct rspec *q = &rings[i].recs[k];
			slots[(rings[i].first + k) & (RING_CAP - 1)] =
				ring_rec_make(q->ts, q->addr, q->kind, q->old ? RING_REC_OLD : 0, q->size, q->stack);
		}
	}
	struct ringfile_stacks *st = (void *)(f + RINGFILE_HEADER_SIZE + nrings * RING_SEG_BYTES);
	st->seg.magic = RINGFILE_SEG_MAGIC;
	st->seg.type = RINGFILE_SEG_STACKS;
	st->seg.bytes = RING_SEG_BYTES;
	size_t used = 0;
	for (size_t i = 0; i < nstacks; i++) {
		struct ringfile_stack_entry *e = (void *)((uint8_t *)st + RINGFILE_STACKS_DATA_OFFSET + used);
		e->id = stacks[i].id;
		e->depth = stacks[i].depth;
		e->ready = stacks[i].ready;
		memcpy(e->ips, stacks[i].ips, stacks[i].depth * sizeof(uint64_t));
		used += sizeof(*e) + stacks[i].depth * sizeof(uint64_t);
	}
	st->used = used;
	snprintf(path, sizeof(path), "%s.rings", trace);
	write_file(path + strlen(tmpdir) + 1, f, size);
	free(f);
}

/* A killed run: chunk 1 has PROCESS, STACK 1, THREAD 1, allocinfo 1 and
 * the malloc of ring 0 position 0; no END.  With progress, a PROGRESS
 * record says ring 0 positions below progress are in the chunk. */
static void write_killed(struct tw *t, uint64_t nonce, uint64_t progress)
{
	tw_open(t, 1, "killed.hst", nonce);
	rec_process(&t->w, "");
	rec_stack(&t->w, 1, 3, stack1);
	rec_thread(&t->w, 1, 1001, 50);
	rec_allocinfo(&t->w, 1, 24, 1);
	rec_events(&t->w, events, 0, 1);
	if (progress)
		rec_progress(&t->w, 0, progress);
	tw_flush(t);
	tw_close(t);
}

/* The chunk items of write_killed. */
static void expect_killed_chunks(struct trace_reader *r)
{
	struct trace_item it;

	next_type(r, &it, ITEM_PROCESS);
	expect_stack(r, 1, 3, stack1);
	expect_thread(r, 1, 1001, 50);
	expect_event(r, &events[0].want, 0);
}

#define R(k_, t_, a_, s_, st_) {.ts = (t_), .addr = (a_), .size = (s_), .stack = (st_), .kind = (k_)}
#define ROLD(k_, t_, a_, lag_) {.ts = (t_), .addr = (a_), .size = (lag_), .kind = (k_), .old = 1}

/*
 * Ring 0 (thread 1): position 0 is the malloc already in the chunk; then a
 * malloc, a realloc pair, a free of the realloc's block, and a free of the
 * chunk's block (which recovery cannot name).
 */
static const struct rspec ring0[] = {
	R(HST_EV_MALLOC, 1000500, 0x7f0000001000, 24, 1),
	R(HST_EV_MALLOC, 2000000, 0xa000, 10, 5),
	ROLD(HST_EV_REALLOC, 2100000, 0xa000, 3000),
	R(HST_EV_REALLOC, 2100400, 0xb000, 64, 5),
	R(HST_EV_FREE, 2200000, 0xb000, 0, 0),
	R(HST_EV_FREE, 2300000, 0x7f0000001000, 0, 0),
};
/* Ring 1 (thread 2): interleaves in time with ring 0. */
static const struct rspec ring1[] = {
	R(HST_EV_NEW, 2050000, 0xc000, 32, 6),
	R(HST_EV_DELETE, 2150000, 0xc000, 0, 0),
};
static const struct stackspec rstacks[] = {
	{5, 2, 1, {0x401000, 0x401100}},
	{6, 1, 1, {0x402000}},
	{7, 1, 0, {0x403000}}, /* reserved, ips not written yet: skipped */
	{0, 0, 1, {0}},	       /* no id: skipped */
	{8, 3, 1, {0x404000, 0x404010, 0x404020}},
};

/* The ready stacks of rstacks, in file order. */
static void expect_recovered_stacks(struct trace_reader *r)
{
	static const uint64_t s5[] = {0x401000, 0x401100}, s6[] = {0x402000},
			      s8[] = {0x404000, 0x404010, 0x404020};

	expect_stack(r, 5, 2, s5);
	expect_stack(r, 6, 1, s6);
	expect_stack(r, 8, 3, s8);
}

/* Read one recovered event and check everything but the allocinfo ids,
 * which the reader assigns; return them. */
static void expect_rec_event(struct trace_reader *r, uint8_t kind, uint32_t thread, uint64_t ts, uint64_t size,
			     uint32_t stack, uint64_t old_size, uint32_t old_stack, uint32_t *info,
			     uint32_t *old_info)
{
	struct trace_item it;

	next_type(r, &it, ITEM_EVENT);
	ck_assert_uint_eq(it.ev.kind, kind);
	ck_assert_uint_eq(it.ev.implicit, 0);
	ck_assert_uint_eq(it.ev.thread, thread);
	ck_assert_uint_eq(it.ev.ts, ts);
	ck_assert_uint_eq(it.ev.size, size);
	ck_assert_uint_eq(it.ev.stack, stack);
	ck_assert_uint_eq(it.ev.old_size, old_size);
	ck_assert_uint_eq(it.ev.old_stack, old_stack);
	*info = it.ev.info;
	*old_info = it.ev.old_info;
}

/* Two rings and a stack table left by a killed process. */
START_TEST(test_recover_rings)
{
	struct tw t;
	struct hs_diag d;
	uint32_t ib, inew, ire, idel, ifree, ichunk, old;
	const struct ringspec rings[] = {
		{0, 1, 1001, 1, 6, ring0, 0, 6},
		{1, 2, 1002, 0, 2, ring1, 0, 2},
	};

	write_killed(&t, NONCE, 0);
	write_rings(t.path, NONCE, rings, 2, rstacks, 5);
	struct trace_reader *r = open_ok(t.path, &d);
	expect_killed_chunks(r);
	/* after the chunks: threads, stacks, then events merged by time */
	expect_thread(r, 1, 1001, 0);
	expect_thread(r, 2, 1002, 0);
	expect_recovered_stacks(r);
	expect_rec_event(r, HST_EV_MALLOC, 1, 2000000, 10, 5, 0, 0, &ib, &old);
	ck_assert_uint_eq(old, 0);
	expect_rec_event(r, HST_EV_NEW, 2, 2050000, 32, 6, 0, 0, &inew, &old);
	/* the realloc names its old block by the malloc's allocinfo; its time
	 * is the second record's, floored to microseconds */
	expect_rec_event(r, HST_EV_REALLOC, 1, 2100000, 64, 5, 10, 5, &ire, &old);
	ck_assert_uint_eq(old, ib);
	expect_rec_event(r, HST_EV_DELETE, 2, 2150000, 32, 6, 0, 0, &idel, &old);
	ck_assert_uint_eq(idel, inew);
	expect_rec_event(r, HST_EV_FREE, 1, 2200000, 64, 5, 0, 0, &ifree, &old);
	ck_assert_uint_eq(ifree, ire);
	/* a block allocated before the last chunk cannot be named */
	expect_rec_event(r, HST_EV_FREE, 1, 2300000, 0, 0, 0, 0, &ichunk, &old);
	ck_assert_uint_eq(ichunk, 0);
	/* recovered blocks get allocinfos of their own, after the chunks' */
	ck_assert_uint_ne(ib, 0);
	ck_assert_uint_ne(ib, 1);
	ck_assert_uint_ne(inew, 0);
	ck_assert_uint_ne(inew, 1);
	ck_assert_uint_ne(ire, 0);
	ck_assert_uint_ne(ire, 1);
	ck_assert_uint_ne(ib, inew);
	ck_assert_uint_ne(ib, ire);
	ck_assert_uint_ne(inew, ire);
	expect_eof(r);
	ck_assert_uint_eq(reader_recovered(r), 6);
	ck_assert_int_eq(reader_truncated(r), 1);
	reader_close(r);
}
END_TEST

/* PROGRESS says positions 0..2 of ring 0 are in chunks although head (the
 * collector's last store) lags at 0: only positions 3.. come back. */
START_TEST(test_recover_progress)
{
	struct tw t;
	struct hs_diag d;
	uint32_t ia, ifr, old;
	static const struct rspec recs[] = {
		R(HST_EV_MALLOC, 1000500, 0x7f0000001000, 24, 1),
		R(HST_EV_MALLOC, 1500000, 0xd000, 1, 1),
		R(HST_EV_FREE, 1600000, 0xd000, 0, 0),
		R(HST_EV_MALLOC, 1700000, 0xe000, 2, 1),
		R(HST_EV_FREE, 1800000, 0xe000, 0, 0),
	};
	const struct ringspec rings[] = {{0, 1, 1001, 0, 5, recs, 0, 5}};

	write_killed(&t, NONCE, 3);
	write_rings(t.path, NONCE, rings, 1, NULL, 0);
	struct trace_reader *r = open_ok(t.path, &d);
	expect_killed_chunks(r);
	expect_thread(r, 1, 1001, 0);
	expect_rec_event(r, HST_EV_MALLOC, 1, 1700000, 2, 1, 0, 0, &ia, &old);
	expect_rec_event(r, HST_EV_FREE, 1, 1800000, 2, 1, 0, 0, &ifr, &old);
	ck_assert_uint_eq(ia, ifr);
	expect_eof(r);
	ck_assert_uint_eq(reader_recovered(r), 2);
	reader_close(r);
}
END_TEST

/* Nothing left to give: no THREAD item for a ring whose events are all in
 * chunks. */
START_TEST(test_recover_nothing_left)
{
	struct tw t;
	struct hs_diag d;
	const struct ringspec rings[] = {{0, 1, 1001, 0, 1, ring0, 0, 1}};

	write_killed(&t, NONCE, 1);
	write_rings(t.path, NONCE, rings, 1, NULL, 0);
	struct trace_reader *r = open_ok(t.path, &d);
	expect_killed_chunks(r);
	expect_eof(r);
	ck_assert_uint_eq(reader_recovered(r), 0);
	ck_assert_int_eq(reader_truncated(r), 1);
	reader_close(r);
}
END_TEST

/* Positions wrap at the capacity: head 60, tail 68 spans slots 60..63 and
 * 0..3. */
START_TEST(test_recover_wrapped)
{
	struct tw t;
	struct hs_diag d;
	struct rspec recs[8];
	uint32_t info, old;

	for (int i = 0; i < 8; i++)
		recs[i] = (struct rspec)R(HST_EV_MALLOC, 3000000 + 1000 * (uint64_t)i,
					     0x100000 + 0x100 * (uint64_t)i, (uint64_t)i + 1, 1);
	const struct ringspec rings[] = {{0, 1, 1001, 60, 68, recs, 60, 8}};
	write_killed(&t, NONCE, 0);
	write_rings(t.path, NONCE, rings, 1, NULL, 0);
	struct trace_reader *r = open_ok(t.path, &d);
	expect_killed_chunks(r);
	expect_thread(r, 1, 1001, 0);
	for (int i = 0; i < 8; i++)
		expect_rec_event(r, HST_EV_MALLOC, 1, 3000000 + 1000 * (uint64_t)i, (uint64_t)i + 1, 1, 0, 0, &info,
				 &old);
	expect_eof(r);
	ck_assert_uint_eq(reader_recovered(r), 8);
	reader_close(r);
}
END_TEST

/* A realloc pair whose second record was never committed (tail between
 * the two) is dropped, not decoded from a stale slot. */
START_TEST(test_recover_half_realloc)
{
	struct tw t;
	struct hs_diag d;
	uint32_t info, old;
	const struct ringspec rings[] = {{0, 1, 1001, 1, 3, ring0, 0, 4}};

	write_killed(&t, NONCE, 0);
	write_rings(t.path, NONCE, rings, 1, NULL, 0);
	struct trace_reader *r = open_ok(t.path, &d);
	expect_killed_chunks(r);
	expect_thread(r, 1, 1001, 0);
	expect_rec_event(r, HST_EV_MALLOC, 1, 2000000, 10, 5, 0, 0, &info, &old);
	expect_eof(r);
	ck_assert_uint_eq(reader_recovered(r), 1);
	reader_close(r);
}
END_TEST

/*
 * A killed process can leave thousands of allocations in its rings; each
 * recovered one needs an allocinfo.  Address space is capped so that a
 * runaway allocinfo table fails fast instead of eating the machine.
 */
static struct rlimit saved_as;

/* Cap the address space at what the process uses plus 128 MiB. */
static void limit_setup(void)
{
	struct rlimit lim;
	long pages = 0, rss;
	FILE *f = fopen("/proc/self/statm", "r");

	tmpdir_setup();
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%ld %ld", &pages, &rss), 2);
	fclose(f);
	getrlimit(RLIMIT_AS, &saved_as);
	lim = saved_as;
	lim.rlim_cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (128u << 20);
	setrlimit(RLIMIT_AS, &lim);
}

/* Lift the cap again (matters with CK_FORK=no). */
static void limit_teardown(void)
{
	setrlimit(RLIMIT_AS, &saved_as);
	tmpdir_teardown();
}

/* 39 recovered allocations, then frees of most of them. */
START_TEST(test_recover_many_allocations)
{
	struct tw t;
	struct hs_diag d;
	struct rspec recs[RING_CAP];
	uint32_t ids[40], info, old;

	/* 40 mallocs, then frees of the first 24 */
	for (int i = 0; i < 40; i++)
		recs[i] = (struct rspec)R(HST_EV_MALLOC, 4000000 + 1000 * (uint64_t)i,
					     0x200000 + 0x40 * (uint64_t)i, 100 + (uint64_t)i, 5);
	for (int i = 0; i < 24; i++)
		recs[40 + i] = (struct rspec)R(HST_EV_FREE, 5000000 + 1000 * (uint64_t)i,
						  0x200000 + 0x40 * (uint64_t)i, 0, 0);
	const struct ringspec rings[] = {{0, 1, 1001, 0, RING_CAP, recs, 0, RING_CAP}};
	write_killed(&t, NONCE, 1);
	write_rings(t.path, NONCE, rings, 1, NULL, 0);
	struct trace_reader *r = open_ok(t.path, &d);
	expect_killed_chunks(r);
	expect_thread(r, 1, 1001, 0);
	for (int i = 1; i < 40; i++) {
		struct trace_item it;
		next_type(r, &it, ITEM_EVENT);
		ids[i] = it.ev.info;
		ck_assert_msg(ids[i] != 0, "recovered allocation %d got no allocinfo (the one before got %u)", i,
			      ids[i - 1]);
		ck_assert_uint_eq(it.ev.size, 100 + (uint64_t)i);
		ck_assert_uint_eq(it.ev.stack, 5);
		for (int k = 1; k < i; k++)
			ck_assert_uint_ne(ids[i], ids[k]);
	}
	/* position 40 frees the chunk's block (unnamed), then 1..23 */
	expect_rec_event(r, HST_EV_FREE, 1, 5000000, 0, 0, 0, 0, &info, &old);
	ck_assert_uint_eq(info, 0);
	for (int i = 1; i < 24; i++) {
		expect_rec_event(r, HST_EV_FREE, 1, 5000000 + 1000 * (uint64_t)i, 100 + (uint64_t)i, 5, 0, 0, &info,
				 &old);
		ck_assert_uint_eq(info, ids[i]);
	}
	expect_eof(r);
	ck_assert_uint_eq(reader_recovered(r), 63);
	reader_close(r);
}
END_TEST

/* The ring file of another run (different nonce) is not this trace's. */
START_TEST(test_recover_wrong_nonce)
{
	struct tw t;
	struct hs_diag d;
	const struct ringspec rings[] = {{0, 1, 1001, 1, 6, ring0, 0, 6}};

	write_killed(&t, NONCE, 0);
	write_rings(t.path, NONCE ^ 1, rings, 1, rstacks, 5);
	struct trace_reader *r = open_ok(t.path, &d);
	expect_killed_chunks(r);
	expect_eof(r);
	ck_assert_uint_eq(reader_recovered(r), 0);
	ck_assert_int_eq(reader_truncated(r), 1);
	reader_close(r);
}
END_TEST

/* A complete trace never reads its ring file (a stale one may be left). */
START_TEST(test_recover_not_after_end)
{
	struct tw t;
	struct hs_diag d;
	struct trace_item it;
	const struct ringspec rings[] = {{0, 1, 1001, 1, 6, ring0, 0, 6}};

	tw_open(&t, 1, "done.hst", NONCE);
	rec_thread(&t.w, 1, 1001, 50);
	rec_end(&t.w, 60, HST_END_EXIT, 0, 0, 0);
	tw_close(&t);
	write_rings(t.path, NONCE, rings, 1, rstacks, 5);
	struct trace_reader *r = open_ok(t.path, &d);
	expect_thread(r, 1, 1001, 50);
	next_type(r, &it, ITEM_END);
	expect_eof(r);
	ck_assert_uint_eq(reader_recovered(r), 0);
	ck_assert_int_eq(reader_truncated(r), 0);
	reader_close(r);
}
END_TEST

/* A torn last chunk is followed by recovery too. */
START_TEST(test_recover_after_torn_chunk)
{
	struct tw t;
	struct hs_diag d;
	uint32_t info, old;
	const struct ringspec rings[] = {{0, 1, 1001, 1, 2, ring0, 0, 2}};
	static const uint8_t junk[10] = {0x53, 0x48, 0x43, 0x4b};

	write_killed(&t, NONCE, 0);
	/* append the first 10 bytes of a chunk header */
	int fd = open(t.path, O_WRONLY | O_APPEND);
	ck_assert_int_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	write_rings(t.path, NONCE, rings, 1, NULL, 0);
	struct trace_reader *r = open_ok(t.path, &d);
	expect_killed_chunks(r);
	expect_thread(r, 1, 1001, 0);
	expect_rec_event(r, HST_EV_MALLOC, 1, 2000000, 10, 5, 0, 0, &info, &old);
	expect_eof(r);
	ck_assert_uint_eq(reader_recovered(r), 1);
	ck_assert_ptr_nonnull(strstr(reader_truncation(r), "torn"));
	reader_close(r);
}
END_TEST

/* A ring file with garbage after its header yields nothing and never
 * reads past its end. */
START_TEST(test_recover_garbage_rings)
{
	struct tw t;
	struct hs_diag d;
	uint8_t f[RINGFILE_HEADER_SIZE + 100];

	write_killed(&t, NONCE, 0);
	memset(f, 0xff, sizeof(f));
	struct ringfile_file_header *h = (void *)f;
	memcpy(h->magic, RINGFILE_MAGIC, 8);
	h->version = RINGFILE_VERSION;
	h->nonce = NONCE;
	write_file("killed.hst.rings", f, sizeof(f));
	struct trace_reader *r = open_ok(t.path, &d);
	expect_killed_chunks(r);
	expect_eof(r);
	ck_assert_uint_eq(reader_recovered(r), 0);
	reader_close(r);
}
END_TEST

/* ---- writer: file creation ---------------------------------------------- */

/* %e, %p and %% expansion, mode 0600, and every header byte. */
START_TEST(test_writer_create_name_and_header)
{
	struct trace_writer w;
	char out[PATH_MAX];
	uint8_t h[HST_HEADER_SIZE];
	struct stat st;

	writer_init(&w, 0, malloc, realloc, free);
	ck_assert_int_eq(writer_create(&w, tpath("t.%e.%p.%%.hst"), "myprog", 777, 3, NONCE, 11, 22, out,
				       sizeof(out)),
			 0);
	ck_assert_str_eq(out, tpath("t.myprog.777.%.hst"));
	ck_assert_int_eq(stat(out, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_uint_eq(st.st_size, HST_HEADER_SIZE);
	/* flushing nothing writes nothing */
	ck_assert_int_eq(writer_flush(&w), 0);
	ck_assert_int_eq(writer_close(&w), 0);
	ck_assert_int_eq(stat(out, &st), 0);
	ck_assert_uint_eq(st.st_size, HST_HEADER_SIZE);

	int fd = open(out, O_RDONLY);
	ck_assert_int_eq(read(fd, h, sizeof(h)), (ssize_t)sizeof(h));
	close(fd);
	ck_assert_mem_eq(h, HST_MAGIC, 8);
	ck_assert_uint_eq(h[HST_HDR_OFF_VERSION], HST_VERSION);
	ck_assert_uint_eq(h[HST_HDR_OFF_HSIZE], HST_HEADER_SIZE);
	ck_assert_uint_eq(h[HST_HDR_OFF_PID] | h[HST_HDR_OFF_PID + 1] << 8, 777);
	ck_assert_uint_eq(h[HST_HDR_OFF_PPID], 3);
	ck_assert_uint_eq(h[HST_HDR_OFF_NONCE], 0x88);
	ck_assert_uint_eq(h[HST_HDR_OFF_NONCE + 7], 0x11);
	ck_assert_uint_eq(h[HST_HDR_OFF_REALTIME], 11);
	ck_assert_uint_eq(h[HST_HDR_OFF_MONO], 22);
	for (int i = 48; i < HST_HDR_OFF_CRC; i++)
		ck_assert_uint_eq(h[i], 0);
	uint32_t crc = crc32c(0, h, HST_HDR_OFF_CRC);
	ck_assert_uint_eq(h[HST_HDR_OFF_CRC] | h[HST_HDR_OFF_CRC + 1] << 8 | h[HST_HDR_OFF_CRC + 2] << 16 |
				  (uint32_t)h[HST_HDR_OFF_CRC + 3] << 24,
			  crc);
}
END_TEST

/* A taken name moves to NAME.<pid>, then NAME.<pid>.1, never overwrites. */
START_TEST(test_writer_create_taken)
{
	struct trace_writer w;
	char out[PATH_MAX];

	write_file("taken.hst", "keep", 4);
	writer_init(&w, 0, malloc, realloc, free);
	ck_assert_int_eq(writer_create(&w, tpath("taken.hst"), "p", 55, 1, 1, 0, 0, out, sizeof(out)), 0);
	writer_close(&w);
	ck_assert_str_eq(out, tpath("taken.hst.55"));
	writer_init(&w, 0, malloc, realloc, free);
	ck_assert_int_eq(writer_create(&w, tpath("taken.hst"), "p", 55, 1, 1, 0, 0, out, sizeof(out)), 0);
	writer_close(&w);
	ck_assert_str_eq(out, tpath("taken.hst.55.1"));

	struct stat st;
	ck_assert_int_eq(stat(tpath("taken.hst"), &st), 0);
	ck_assert_uint_eq(st.st_size, 4);
}
END_TEST

/* A symlink at the name is not followed (O_NOFOLLOW|O_EXCL). */
START_TEST(test_writer_create_symlink)
{
	struct trace_writer w;
	char out[PATH_MAX];
	struct stat st;

	ck_assert_int_eq(symlink(tpath("target"), tpath("link.hst")), 0);
	writer_init(&w, 0, malloc, realloc, free);
	ck_assert_int_eq(writer_create(&w, tpath("link.hst"), "p", 9, 1, 1, 0, 0, out, sizeof(out)), 0);
	writer_close(&w);
	ck_assert_str_eq(out, tpath("link.hst.9"));
	ck_assert_int_eq(stat(tpath("target"), &st), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

Suite *reader_suite(void)
{
	Suite *s = suite_create("reader");
	TCase *tr = tcase_create("read");
	TCase *tb = tcase_create("bad");
	TCase *tv = tcase_create("recover");
	TCase *tl = tcase_create("recover-limited");
	TCase *tw = tcase_create("writer");

	tcase_add_unchecked_fixture(tr, root_setup, root_teardown);
	tcase_add_checked_fixture(tr, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(tr, test_complete_raw);
	tcase_add_test(tr, test_complete_zstd);
	tcase_add_test(tr, test_no_end_truncated);
	tcase_add_test(tr, test_end_not_last);
	tcase_add_test(tr, test_rss);
	tcase_add_test(tr, test_temporary_bits);
	tcase_add_test(tr, test_header_only);
	tcase_add_test(tr, test_unknown_tag_and_extra_fields);
	tcase_add_test(tr, test_many_events);
	tcase_add_test(tr, test_raw_chunk_inside_stream);
	suite_add_tcase(s, tr);

	tcase_add_unchecked_fixture(tb, root_setup, root_teardown);
	tcase_add_checked_fixture(tb, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(tb, test_torn_mid_payload);
	tcase_add_test(tb, test_torn_mid_chunk_header);
	tcase_add_test(tb, test_torn_last_byte);
	tcase_add_test(tb, test_cut_at_chunk_boundary);
	tcase_add_test(tb, test_flipped_payload_byte);
	tcase_add_test(tb, test_flipped_chunk_header_byte);
	tcase_add_test(tb, test_open_empty);
	tcase_add_test(tb, test_open_random);
	tcase_add_test(tb, test_open_partial_header);
	tcase_add_test(tb, test_open_wrong_version);
	tcase_add_test(tb, test_open_bad_header_crc);
	tcase_add_test(tb, test_open_missing_and_dir);
	tcase_add_test(tb, test_short_record_corrupt);
	tcase_add_test(tb, test_events_columns_short);
	tcase_add_test(tb, test_events_column_past_record);
	tcase_add_test(tb, test_allocinfo_zero_corrupt);
	tcase_add_test(tb, test_stack_bad_ref);
	suite_add_tcase(s, tb);

	tcase_add_unchecked_fixture(tv, root_setup, root_teardown);
	tcase_add_checked_fixture(tv, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(tv, test_recover_rings);
	tcase_add_test(tv, test_recover_progress);
	tcase_add_test(tv, test_recover_nothing_left);
	tcase_add_test(tv, test_recover_wrapped);
	tcase_add_test(tv, test_recover_half_realloc);
	tcase_add_test(tv, test_recover_wrong_nonce);
	tcase_add_test(tv, test_recover_not_after_end);
	tcase_add_test(tv, test_recover_after_torn_chunk);
	tcase_add_test(tv, test_recover_garbage_rings);
	suite_add_tcase(s, tv);

	tcase_add_unchecked_fixture(tl, root_setup, root_teardown);
	tcase_add_checked_fixture(tl, limit_setup, limit_teardown);
	tcase_add_test(tl, test_recover_many_allocations);
	suite_add_tcase(s, tl);

	tcase_add_unchecked_fixture(tw, root_setup, root_teardown);
	tcase_add_checked_fixture(tw, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(tw, test_writer_create_name_and_header);
	tcase_add_test(tw, test_writer_create_taken);
	tcase_add_test(tw, test_writer_create_symlink);
	suite_add_tcase(s, tw);
	return s;
}
