/*
 * tracebuild.c - the trace suites' shared fixtures, builders and
 * assertions (tracebuild.h).
 */
#define _GNU_SOURCE
#include "tracebuild.h"

#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/varint.h"

/* ---- a private temporary directory per test ------------------------------ */

/*
 * Each test case gets a root directory, made and removed in the runner's
 * own process (an unchecked fixture), and each test a directory inside it
 * (a checked fixture).  A test that fails under CK_FORK exits without its
 * teardown; the root's removal still takes its files.
 */
static char rootdir[200];
char tmpdir[256]; /* short: names built from it fit PATH_MAX */

/* nftw callback: remove one file or (emptied) directory. */
static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Create the root directory of a test case. */
void root_setup(void)
{
	const char *base = getenv("TMPDIR");

	/* a long TMPDIR falls back to /tmp rather than cutting the name */
	if (!base || strlen(base) > sizeof(rootdir) - 32)
		base = "/tmp";
	snprintf(rootdir, sizeof(rootdir), "%s/hs-check-XXXXXX", base);
	ck_assert_ptr_nonnull(mkdtemp(rootdir));
}

/* Remove it with everything in it. */
void root_teardown(void)
{
	nftw(rootdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Create a fresh directory for the test's files. */
void tmpdir_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/t-XXXXXX", rootdir);
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

/* Remove it with everything in it. */
void tmpdir_teardown(void)
{
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Return tmpdir/name in a static buffer (one of 4, for two-path calls). */
const char *tpath(const char *name)
{
	static char bufs[4][PATH_MAX];
	static int next;
	char *b = bufs[next++ % 4];

	snprintf(b, PATH_MAX, "%s/%s", tmpdir, name);
	return b;
}


/* Create tmpdir/name (zstd level, header nonce) with fixed header fields. */
/* File id -> dense id, in order of first sight (a handful of ids). */
static struct idorder {
	uint64_t ids[4096];
	uint32_t n;
} seen_stacks, seen_infos;

static void see(struct idorder *o, uint64_t id)
{
	if (!id)
		return;
	for (uint32_t i = 0; i < o->n; i++)
		if (o->ids[i] == id)
			return;
	ck_assert_uint_lt(o->n, sizeof(o->ids) / sizeof(o->ids[0]));
	o->ids[o->n++] = id;
}

static uint32_t dense(const struct idorder *o, uint64_t id)
{
	for (uint32_t i = 0; id && i < o->n; i++)
		if (o->ids[i] == id)
			return i + 1;
	return 0;
}

void ids_reset(void)
{
	seen_stacks.n = seen_infos.n = 0;
}

void ids_see_stack(uint64_t id)
{
	see(&seen_stacks, id);
}

void ids_see_info(uint64_t id)
{
	see(&seen_infos, id);
}

uint32_t DS(uint64_t id)
{
	return dense(&seen_stacks, id);
}

uint32_t DI(uint64_t id)
{
	return dense(&seen_infos, id);
}

void tw_open(struct tw *t, int level, const char *name, uint64_t nonce)
{
	ids_reset();
	writer_init(&t->w, level, malloc, realloc, free);
	ck_assert_int_eq(writer_create(&t->w, tpath(name), "prog", PID, PPID, nonce, 1700000000123456789ull,
				       5000000000ull, t->path, sizeof(t->path)),
			 0);
	t->nchunks = 0;
}

/* End the current chunk and remember where it ends in the file. */
void tw_flush(struct tw *t)
{
	ck_assert_int_eq(writer_flush(&t->w), 0);
	ck_assert_uint_lt(t->nchunks, sizeof(t->chunk_end) / sizeof(t->chunk_end[0]));
	t->chunk_end[t->nchunks++] = t->w.file_bytes;
}

/* Flush the last chunk and close. */
void tw_close(struct tw *t)
{
	ck_assert_int_eq(writer_close(&t->w), 0);
}

/*
 * Records come from the real encoder (src/trace/encode.c), the one the
 * shim writes with, so the reader is tested against what traces hold.
 * Each helper makes room for the encoder's bound and takes the record in.
 */

/* Room for a record of at most n bytes. */
uint8_t *room(struct trace_writer *w, size_t n)
{
	uint8_t *p = writer_room(w, n);

	ck_assert_ptr_nonnull(p);
	return p;
}

/* Take in the record the encoder wrote from p to end, which must be
 * within its bound max. */
void put(struct trace_writer *w, uint8_t *p, uint8_t *end, size_t max)
{
	ck_assert_uint_le((size_t)(end - p), max);
	writer_advance(w, end);
}

/* PROCESS with a NUL-separated command line and the given options. */
void rec_process(struct trace_writer *w, const char *options)
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
void rec_stack_shared(struct trace_writer *w, uint32_t id, unsigned depth, const uint64_t *ips,
			     uint32_t ref, unsigned shared)
{
	size_t max = encode_stack_max(depth);
	uint8_t *p = room(w, max);

	put(w, p, encode_stack(p, id, depth, ref, shared, ips), max);
	ids_see_stack(id);
}

/* STACK sharing nothing. */
void rec_stack(struct trace_writer *w, uint32_t id, unsigned depth, const uint64_t *ips)
{
	rec_stack_shared(w, id, depth, ips, 0, 0);
}

/* THREAD: index, tid, start. */
void rec_thread(struct trace_writer *w, uint32_t index, uint32_t tid, uint64_t ts)
{
	uint8_t *p = room(w, ENCODE_THREAD_MAX);

	put(w, p, encode_thread(p, index, tid, ts), ENCODE_THREAD_MAX);
}

/* THREAD_END: index, end, name. */
void rec_thread_end(struct trace_writer *w, uint32_t index, uint64_t ts, const char *name)
{
	size_t max = encode_thread_end_max(strlen(name));
	uint8_t *p = room(w, max);

	put(w, p, encode_thread_end(p, index, ts, name, strlen(name)), max);
}

/* SNAPSHOT: time, index, trigger, label. */
void rec_snapshot(struct trace_writer *w, uint64_t ts, uint32_t index, int trigger, const char *label)
{
	size_t max = encode_snapshot_max(strlen(label));
	uint8_t *p = room(w, max);

	put(w, p, encode_snapshot(p, ts, index, trigger, label, strlen(label)), max);
}

/* END: time, reason, status, events, dropped. */
void rec_end(struct trace_writer *w, uint64_t ts, int reason, int64_t status, uint64_t nevents,
		    uint64_t dropped)
{
	uint8_t *p = room(w, ENCODE_END_MAX);

	put(w, p, encode_end(p, ts, reason, status, nevents, dropped), ENCODE_END_MAX);
}

/* PROGRESS with one (ring, position) pair. */
void rec_progress(struct trace_writer *w, uint32_t ring, uint64_t pos)
{
	uint8_t *rec = room(w, encode_progress_max(1));
	uint8_t *p = encode_progress_begin(rec, 1);

	p = encode_progress_ring(p, ring, pos);
	put(w, rec, encode_close(rec, p), encode_progress_max(1));
}

/* ALLOCINFO: id, size, stack. */
void rec_allocinfo(struct trace_writer *w, uint32_t id, uint64_t size, uint32_t stack)
{
	uint8_t *p = room(w, ENCODE_ALLOCINFO_MAX);

	put(w, p, encode_allocinfo(p, id, size, stack), ENCODE_ALLOCINFO_MAX);
	ids_see_info(id);
	ids_see_stack(stack);
}


void raw_begin(struct raw *r, struct trace_writer *w, uint8_t tag)
{
	r->w = w;
	r->tag = tag;
	r->len = 0;
}

void raw_v(struct raw *r, uint64_t v)
{
	ck_assert_uint_le(r->len + VARINT_MAX, sizeof(r->body));
	r->len = (size_t)(varint_put(r->body + r->len, v) - r->body);
}

void raw_z(struct raw *r, int64_t v)
{
	raw_v(r, zigzag_enc(v));
}

void raw_bytes(struct raw *r, const void *p, size_t n)
{
	ck_assert_uint_le(r->len + n, sizeof(r->body));
	memcpy(r->body + r->len, p, n);
	r->len += n;
}

void raw_s(struct raw *r, const char *s, size_t n)
{
	raw_v(r, n);
	raw_bytes(r, s, n);
}

void raw_end(struct raw *r)
{
	uint8_t *p = room(r->w, ENCODE_HEAD + r->len);

	p[0] = r->tag;
	memcpy(p + ENCODE_HEAD, r->body, r->len);
	writer_advance(r->w, encode_close(p, p + ENCODE_HEAD + r->len));
}




void evrec_init(struct evrec *e, uint64_t tick)
{
	memset(e, 0, sizeof(*e));
	e->enc.tick = tick ? tick : TICK_NS;
}

/* Append one event to the columns (growing them as the collector does). */
void evrec_add(struct evrec *e, const struct resolved *r)
{
	for (int i = 0; i < ENCODE_EVENT_COLS; i++) {
		struct encode_column *c = &e->enc.col[i];
		if (c->cap - c->len < ENCODE_EVENT_COL_MAX) {
			c->cap = c->cap ? c->cap * 2 : 64;
			c->p = realloc(c->p, c->cap);
			ck_assert_ptr_nonnull(c->p);
		}
	}
	uint32_t who = r->thread;
	if (e->threads) {
		/* the thread's slot, a new one at its first event */
		e->enc.split = 1;
		e->enc.slots = e->slots;
		for (who = 0; who < e->enc.nslots && e->slots[who].thread != r->thread; who++)
			;
		if (who == e->enc.nslots) {
			ck_assert_uint_lt(who, sizeof(e->slots) / sizeof(e->slots[0]));
			e->slots[e->enc.nslots++].thread = r->thread;
		}
	}
	encode_event(&e->enc, r->ts, who, r->kind, r->a, r->b);
}

/* Write the columns as one EVENTS record and free them. */
void evrec_flush(struct trace_writer *w, struct evrec *e)
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




/* Allocinfos 1-5 go in chunk 1, the rest before the second EVENTS. */
const struct infodef infos[] = {
	{1, 24, 1}, {2, 100, 2}, {3, 200, 2}, {4, 8, 1}, {5, 16, 3},
	{6, 1ull << 39, 70000}, {7, 4096, 2}, {8, 80, 0}, {9, 1, 1}, {10, 4097, 1}, {11, 64, 1},
};

/*
 * Every event kind and shape, times off the 10 us grid (they are floored),
 * a time that goes backwards, implicit events, unknown blocks.
 */
const struct evcase events[NEVENTS] = {
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

/* Write events [from, to) as one EVENTS record. */
void rec_events(struct trace_writer *w, const struct evcase *ev, size_t from, size_t to)
{
	struct evrec e;

	evrec_init(&e, 0);
	for (size_t i = from; i < to; i++)
		evrec_add(&e, &ev[i].in);
	evrec_flush(w, &e);
}

/* Write allocinfos [from, to) of infos[]. */
void rec_infos(struct trace_writer *w, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		rec_allocinfo(w, infos[i].id, infos[i].size, infos[i].stack);
}

const uint64_t stack1[] = {0x401000, 0x400f00, 0x7f1234567890ull};
const uint64_t stack2[] = {0x402000};
/* shares its two outermost frames with stack1 */
const uint64_t stack4[] = {0x405000, 0x405100, 0x400f00, 0x7f1234567890ull};

/* An ASCII options string long enough for zstd to shrink the chunk. */
const char *long_options(void)
{
	static char s[3000];

	if (!s[0])
		for (size_t i = 0; i + 1 < sizeof(s); i++)
			s[i] = "output=/tmp/x:"[i % 14];
	return s;
}

/* MODULES at time 900: the program with a build-id and two segments, and
 * libc without either. */
void rec_modules(struct trace_writer *w)
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


/* ---- reading back ---------------------------------------------------------- */

/* Assert a decoded string is exactly want[0..n) (it is not NUL-terminated). */
void assert_str(struct trace_str s, const char *want, size_t n)
{
	ck_assert_uint_eq(s.n, n);
	ck_assert_mem_eq(s.p, want, n);
}

/* Read the next item and assert it is there and of type. */
void next_type(struct trace_reader *r, struct trace_item *it, int type)
{
	int rc = reader_next(r, it);
	ck_assert_msg(rc == 1, "reader_next: %d, want an item of type %d", rc, type);
	ck_assert_int_eq(it->type, type);
}

/* Read the next item: an event equal to want in every field. */
void expect_event(struct trace_reader *r, const struct trace_event *want, size_t i)
{
	struct trace_item it;

	next_type(r, &it, ITEM_EVENT);
	const struct trace_event *ev = &it.ev;
	/* the file's ids, as the reader gives them */
	struct trace_event dw = *want;
	dw.info = DI(want->info);
	dw.old_info = DI(want->old_info);
	dw.stack = DS(want->stack);
	dw.old_stack = DS(want->old_stack);
	want = &dw;
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
void expect_stack(struct trace_reader *r, uint32_t id, uint32_t depth, const uint64_t *ips)
{
	struct trace_item it;

	next_type(r, &it, ITEM_STACK);
	ck_assert_uint_eq(it.stack.id, DS(id));
	ck_assert_uint_eq(it.stack.depth, depth);
	for (uint32_t i = 0; i < depth; i++)
		ck_assert_uint_eq(it.stack.ips[i], ips[i]);
}

/* Read the next item: a THREAD. */
void expect_thread(struct trace_reader *r, uint32_t index, uint32_t tid, uint64_t ts)
{
	struct trace_item it;

	next_type(r, &it, ITEM_THREAD);
	ck_assert_uint_eq(it.thread.index, index);
	ck_assert_uint_eq(it.thread.tid, tid);
	ck_assert_uint_eq(it.thread.ts, ts);
}

/* Open path, failing the test with the reader's message if it cannot. */
struct trace_reader *open_ok(const char *path, struct hs_diag *d)
{
	memset(d, 0, sizeof(*d));
	struct trace_reader *r = reader_open(path, d);
	ck_assert_msg(r != NULL, "reader_open(%s): %s", path, d->msg);
	return r;
}

/* Assert the end of the items, twice. */
void expect_eof(struct trace_reader *r)
{
	struct trace_item it;

	ck_assert_int_eq(reader_next(r, &it), 0);
	/* the end is sticky */
	ck_assert_int_eq(reader_next(r, &it), 0);
}

/* Write n bytes of buf to tmpdir/name; return its path. */
const char *write_file(const char *name, const void *buf, size_t n)
{
	const char *path = tpath(name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
	close(fd);
	return path;
}
