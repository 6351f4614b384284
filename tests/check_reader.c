/* Description: unit tests of src/trace/reader.c and src/trace/writer.c:
 * traces built with the real encoder (src/trace/encode.c, the one the
 * shim writes with) are read back field by field; complete, truncated,
 * torn, corrupt and foreign files.  (Ring-file recovery: check_recover.c;
 * every record's encoding: check_encode.c.) */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_suites.h"
#include "heapsnap-analyze.h"
#include "tracebuild.h"
#include "util/crc32c.h"
#include "util/varint.h"

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

	/* RSS_DELTA after them: from the last RSS, then from each other,
	 * down and up, by pages and by bytes, across the 64-bit wrap */
	static const uint64_t dts[] = {6000000000ull, 6010000000ull, 6010000001ull, 7000000000ull};
	static const uint64_t dbytes[] = {40960, 4096, 4097, 1ull << 40};

	tw_open(&t, 3, "rss", NONCE);
	for (int i = 0; i < 3; i++) {
		uint8_t *p = room(&t.w, ENCODE_RSS_MAX);
		put(&t.w, p, encode_rss(p, ts[i], bytes[i]), ENCODE_RSS_MAX);
		if (i == 1)
			rec_snapshot(&t.w, 5020000000ull, 0, HST_SNAP_SIGNAL, "s");
	}
	for (int i = 0; i < 4; i++) {
		uint8_t *p = room(&t.w, ENCODE_RSS_DELTA_MAX);
		put(&t.w, p,
		    encode_rss_delta(p, dts[i], dbytes[i], i ? dts[i - 1] : ts[2], i ? dbytes[i - 1] : bytes[2]),
		    ENCODE_RSS_DELTA_MAX);
	}
	/* RSS_SERIES after those: from the last RSS_DELTA, in whole grains
	 * and pages, then in ns and bytes, down and up, across the wrap;
	 * an RSS_DELTA between two series is the second's base */
	static const struct encode_rss_sample s1[] = {
		{7000000000ull + (3u << 20), (1ull << 40) + 8192}, {7000000000ull + (13u << 20), (1ull << 40) - 4096},
		{7000000000ull + (14u << 20), (1ull << 40) - 4096}};
	static const struct encode_rss_sample s2[] = {{1, 1}, {UINT64_MAX, UINT64_MAX}, {9, 4096}};
	uint8_t *p = room(&t.w, encode_rss_series_max(3));
	put(&t.w, p, encode_rss_series(p, s1, 3, (struct encode_rss_sample){dts[3], dbytes[3]}),
	    encode_rss_series_max(3));
	p = room(&t.w, ENCODE_RSS_DELTA_MAX);
	put(&t.w, p, encode_rss_delta(p, 8000000000ull, 12288, s1[2].ts, s1[2].bytes), ENCODE_RSS_DELTA_MAX);
	p = room(&t.w, encode_rss_series_max(3));
	put(&t.w, p, encode_rss_series(p, s2, 3, (struct encode_rss_sample){8000000000ull, 12288}),
	    encode_rss_series_max(3));
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
	for (int i = 0; i < 4; i++) {
		next_type(r, &it, ITEM_RSS);
		ck_assert_uint_eq(it.rss.ts, dts[i]);
		ck_assert_uint_eq(it.rss.bytes, dbytes[i]);
	}
	for (int i = 0; i < 3; i++) {
		next_type(r, &it, ITEM_RSS);
		ck_assert_uint_eq(it.rss.ts, s1[i].ts);
		ck_assert_uint_eq(it.rss.bytes, s1[i].bytes);
	}
	next_type(r, &it, ITEM_RSS);
	ck_assert_uint_eq(it.rss.ts, 8000000000ull);
	ck_assert_uint_eq(it.rss.bytes, 12288);
	for (int i = 0; i < 3; i++) {
		next_type(r, &it, ITEM_RSS);
		ck_assert_uint_eq(it.rss.ts, s2[i].ts);
		ck_assert_uint_eq(it.rss.bytes, s2[i].bytes);
	}
	next_type(r, &it, ITEM_END);
	expect_eof(r);
	ck_assert_int_eq(reader_truncated(r), 0);
	reader_close(r);
}
END_TEST

/* An RSS_DELTA that shifts by 64 bits or more, or ends early, is corrupt. */
START_TEST(test_rss_delta_corrupt)
{
	for (int bad = 0; bad < 2; bad++) {
		struct tw t;
		struct hs_diag d;
		struct trace_item it;
		struct raw u;

		tw_open(&t, 0, "rss-bad", NONCE);
		raw_begin(&u, &t.w, HST_REC_RSS_DELTA);
		raw_z(&u, 10000000);
		raw_v(&u, bad ? 64 : 12);
		if (bad)
			raw_z(&u, 1);
		raw_end(&u);
		tw_close(&t);
		struct trace_reader *r = open_ok(t.path, &d);
		ck_assert_int_eq(reader_next(r, &it), -1);
		ck_assert_ptr_nonnull(strstr(d.msg, "corrupt record (tag 24)"));
		reader_close(r);
		unlink(t.path);
	}
}
END_TEST

/* An RSS_SERIES that shifts by 64 bits or more, announces more samples
 * than its columns hold, or whose column ends inside a varint, is
 * corrupt. */
START_TEST(test_rss_series_corrupt)
{
	static const struct {
		uint64_t count, tshift, bshift;
		const char *t, *b;
		size_t tn, bn;
	} bad[] = {
		{1, 64, 12, "\x02", "\x02", 1, 1},
		{1, 20, 64, "\x02", "\x02", 1, 1},
		{2, 20, 12, "\x02", "\x02\x02", 1, 2},
		{1, 20, 12, "\x82", "\x02", 1, 1},
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		struct tw t;
		struct hs_diag d;
		struct trace_item it;
		struct raw u;

		tw_open(&t, 0, "rss-series-bad", NONCE);
		raw_begin(&u, &t.w, HST_REC_RSS_SERIES);
		raw_v(&u, bad[k].count);
		raw_v(&u, bad[k].tshift);
		raw_v(&u, bad[k].bshift);
		raw_s(&u, bad[k].t, bad[k].tn);
		raw_s(&u, bad[k].b, bad[k].bn);
		raw_end(&u);
		tw_close(&t);
		struct trace_reader *r = open_ok(t.path, &d);
		ck_assert_int_eq(reader_next(r, &it), -1);
		ck_assert_msg(strstr(d.msg, "corrupt record (tag 25)"), "case %zu: %s", k, d.msg);
		reader_close(r);
		unlink(t.path);
	}
}
END_TEST

/* STACK_NEAR records read back with their frames, their first frame
 * from the first own frame of the STACK or STACK_NEAR before them (one
 * with only shared frames leaves it), across chunks, wrapping; a STACK
 * in between is the next one's base. */
START_TEST(test_stack_near)
{
	struct tw t;
	struct hs_diag d;
	struct trace_item it;
	static const uint64_t a[] = {0x7f0000001234ull, 0x7f0000001000ull, 0x55000000aaaaull};
	static const uint64_t b[] = {0x7f0000000010ull, 0x7f0000001000ull, 0x55000000aaaaull};
	static const uint64_t c[] = {1, 0x7f0000001000ull, 0x55000000aaaaull};
	static const uint64_t e[] = {UINT64_MAX, 3};
	uint64_t first = 0;

	tw_open(&t, 3, "stack-near", NONCE);
	uint8_t *p = room(&t.w, encode_stack_max(3));
	put(&t.w, p, encode_stack_near(p, 1, 3, 0, 0, a, &first), encode_stack_max(3));
	p = room(&t.w, encode_stack_max(3));
	put(&t.w, p, encode_stack_near(p, 2, 3, 1, 2, b, &first), encode_stack_max(3));
	p = room(&t.w, encode_stack_max(2));
	put(&t.w, p, encode_stack_near(p, 3, 2, 2, 2, b + 1, &first), encode_stack_max(2)); /* all shared */
	tw_flush(&t);
	rec_stack(&t.w, 4, 3, c);
	first = c[0];
	p = room(&t.w, encode_stack_max(2));
	put(&t.w, p, encode_stack_near(p, 5, 2, 0, 0, e, &first), encode_stack_max(2));
	tw_close(&t);
	struct trace_reader *r = open_ok(t.path, &d);
	const uint64_t *want[] = {a, b, b + 1, c, e};
	const uint32_t depth[] = {3, 3, 2, 3, 2};
	for (int i = 0; i < 5; i++) {
		next_type(r, &it, ITEM_STACK);
		ck_assert_uint_eq(it.stack.depth, depth[i]);
		for (uint32_t k = 0; k < depth[i]; k++)
			ck_assert_msg(it.stack.ips[k] == want[i][k], "stack %d frame %u: %#llx", i + 1, k,
				      (unsigned long long)it.stack.ips[k]);
	}
	expect_eof(r);
	reader_close(r);
}
END_TEST

/* The writer keeps a record's length in as few bytes as it takes (the
 * encoders write 4), through writer_advance and writer_raw, leaving a
 * short one as it is; the records read back whole. */
START_TEST(test_writer_compacts_lengths)
{
	struct tw t;
	struct hs_diag d;
	struct trace_item it;
	static char name[200];
	uint8_t rec[ENCODE_THREAD_MAX];

	memset(name, 'n', sizeof(name));
	tw_open(&t, 0, "compact", NONCE);
	size_t len = t.w.len;
	uint8_t *p = room(&t.w, ENCODE_THREAD_MAX), *end = encode_thread(p, 7, 70, 700);
	size_t body = (size_t)(end - p) - ENCODE_HEAD;
	put(&t.w, p, end, ENCODE_THREAD_MAX);
	ck_assert_uint_eq(t.w.len - len, 2 + body); /* tag, one byte of length */
	ck_assert_uint_eq(t.w.buf[len + 1], body);
	len = t.w.len;
	p = room(&t.w, encode_thread_end_max(sizeof(name)));
	end = encode_thread_end(p, 7, 800, name, sizeof(name));
	body = (size_t)(end - p) - ENCODE_HEAD;
	put(&t.w, p, end, encode_thread_end_max(sizeof(name)));
	ck_assert_uint_ge(body, 128);
	ck_assert_uint_eq(t.w.len - len, 3 + body); /* two bytes of length */
	len = t.w.len;
	end = encode_thread(rec, 8, 80, 900);
	body = (size_t)(end - rec) - ENCODE_HEAD;
	writer_raw(&t.w, rec, (size_t)(end - rec));
	ck_assert_uint_eq(t.w.len - len, 2 + body);
	/* a length already short: as it is */
	len = t.w.len;
	writer_raw(&t.w, t.w.buf + len - (2 + body), 2 + body);
	ck_assert_uint_eq(t.w.len - len, 2 + body);
	tw_close(&t);
	struct trace_reader *r = open_ok(t.path, &d);
	expect_thread(r, 7, 70, 700);
	next_type(r, &it, ITEM_THREAD_END);
	ck_assert_uint_eq(it.thread.index, 7);
	assert_str(it.thread.name, name, sizeof(name));
	expect_thread(r, 8, 80, 900);
	expect_thread(r, 8, 80, 900);
	expect_eof(r);
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

/* malloc for the writer that fails once when armed (the compression
 * buffer is allocated anew, not reallocated, when it grows). */
static int fail_next_alloc;

static void *flaky_alloc(size_t n)
{
	if (fail_next_alloc) {
		fail_next_alloc = 0;
		return NULL;
	}
	return malloc(n);
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

	writer_init(&t.w, 1, flaky_alloc, realloc, free);
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
	fail_next_alloc = 1;
	tw_flush(&t);
	ck_assert_int_eq(fail_next_alloc, 0);
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

/* Allocinfo 1 and one hand-made EVENTS_SPLIT record (tick TICK_NS): a
 * malloc of 1 by thread 1, a realloc of it to 1 and a free of 1, with
 * the allocated and freed columns as given (n_alloc, n_freed bytes of
 * {1, 1}); expect good events, then the end (good 3) or -1. */
static void expect_events_split(size_t n_alloc, size_t n_freed, int good)
{
	static const uint8_t kinds[] = {HST_EV_MALLOC, HST_EV_REALLOC, HST_EV_FREE}, threads[] = {1, 1, 1},
			     times[] = {0, 2, 2}, blocks[] = {1, 1};
	static const uint8_t want_kind[] = {HST_EV_MALLOC, HST_EV_REALLOC, HST_EV_FREE};
	struct tw t;
	struct hs_diag d;
	struct trace_item it;
	struct raw u;

	tw_open(&t, 0, "split.hst", NONCE);
	rec_allocinfo(&t.w, 1, 24, 1);
	raw_begin(&u, &t.w, HST_REC_EVENTS_SPLIT);
	raw_v(&u, 1000000);
	raw_v(&u, 3);
	raw_v(&u, TICK_NS);
	raw_s(&u, (const char *)kinds, 3);
	raw_s(&u, (const char *)threads, 3);
	raw_s(&u, (const char *)times, 3);
	raw_s(&u, (const char *)blocks, n_alloc);
	raw_v(&u, n_freed); /* may claim more than the record holds */
	raw_bytes(&u, blocks, n_freed > 2 ? 2 : n_freed);
	raw_end(&u);
	tw_close(&t);
	struct trace_reader *r = open_ok(t.path, &d);
	for (int i = 0; i < good; i++) {
		next_type(r, &it, ITEM_EVENT);
		ck_assert_uint_eq(it.ev.kind, want_kind[i]);
		ck_assert_uint_eq(it.ev.thread, 1);
		ck_assert_uint_eq(it.ev.ts, 1000000 + (uint64_t)i * TICK_NS);
		/* the malloc's and the realloc's new block, the realloc's old
		 * block and the free's: allocinfo 1, 24 bytes */
		ck_assert_uint_eq(it.ev.size, 24);
		ck_assert_uint_eq(it.ev.old_size, i == 1 ? 24 : 0);
	}
	if (good == 3) {
		expect_eof(r);
	} else {
		ck_assert_int_eq(reader_next(r, &it), -1);
		ck_assert_ptr_nonnull(strstr(d.msg, "corrupt record (tag 23)"));
	}
	reader_close(r);
	unlink(t.path);
}

/* EVENTS_SPLIT reads each event's blocks from the column of its shape;
 * either column short is corrupt, never read past. */
START_TEST(test_events_split)
{
	expect_events_split(2, 2, 3);
	/* the freed column runs out at the free */
	expect_events_split(2, 1, 2);
	/* no freed block: the realloc's old block is missing */
	expect_events_split(2, 0, 1);
	/* the allocated column runs out at the realloc's new block */
	expect_events_split(1, 2, 1);
	/* a freed column longer than the record: refused at the record */
	expect_events_split(2, 9, 0);
}
END_TEST

/* Allocinfo 1 and one hand-made EVENTS_THREADS record (tick TICK_NS),
 * thread 7 in slot 0 and thread 3 in slot 1, nslots as given: a malloc of
 * 1 and a free of it by slot 0 (n_k0 of its two kinds), a realloc of 1 to
 * 1 by slot 1 (n_f1 of its one freed block), the slots column as given;
 * expect good events, then the end (good 3) or -1. */
static void expect_events_threads(const uint8_t slots[3], uint64_t nslots, size_t n_k0, size_t n_f1, int good)
{
	static const uint8_t kinds0[] = {HST_EV_MALLOC, HST_EV_FREE}, kinds1[] = {HST_EV_REALLOC},
			     times[] = {0, 2, 2}, block[] = {1};
	static const uint32_t thread_of[] = {7, 3};
	struct tw t;
	struct hs_diag d;
	struct trace_item it;
	struct raw u;

	tw_open(&t, 0, "threads.hst", NONCE);
	rec_allocinfo(&t.w, 1, 24, 1);
	raw_begin(&u, &t.w, HST_REC_EVENTS_THREADS);
	raw_v(&u, 1000000);
	raw_v(&u, 3);
	raw_v(&u, TICK_NS);
	raw_v(&u, nslots);
	raw_v(&u, 7);
	raw_v(&u, 3);
	raw_s(&u, (const char *)slots, 3);
	raw_s(&u, (const char *)times, 3);
	raw_s(&u, (const char *)kinds0, n_k0); /* slot 0 */
	raw_s(&u, (const char *)block, 1);
	raw_s(&u, (const char *)block, 1);
	raw_s(&u, (const char *)kinds1, 1); /* slot 1 */
	raw_s(&u, (const char *)block, 1);
	raw_s(&u, (const char *)block, n_f1);
	raw_end(&u);
	tw_close(&t);
	struct trace_reader *r = open_ok(t.path, &d);
	for (int i = 0; i < good; i++) {
		next_type(r, &it, ITEM_EVENT);
		ck_assert_uint_eq(it.ev.kind, slots[i] ? HST_EV_REALLOC : i ? HST_EV_FREE : HST_EV_MALLOC);
		ck_assert_uint_eq(it.ev.thread, thread_of[slots[i]]);
		ck_assert_uint_eq(it.ev.ts, 1000000 + (uint64_t)i * TICK_NS);
		ck_assert_uint_eq(it.ev.size, 24);
		ck_assert_uint_eq(it.ev.old_size, slots[i] ? 24 : 0);
	}
	if (good == 3) {
		expect_eof(r);
	} else {
		ck_assert_int_eq(reader_next(r, &it), -1);
		ck_assert_ptr_nonnull(strstr(d.msg, "corrupt record (tag 27)"));
	}
	reader_close(r);
	unlink(t.path);
}

/* EVENTS_THREADS gives each event its slot's thread, kind and blocks; a
 * slot out of the list, a slot's column short, kinds that do not add up
 * to the count or more slots than the record holds are corrupt, never
 * read past. */
START_TEST(test_events_threads)
{
	expect_events_threads((const uint8_t[]){0, 1, 0}, 2, 2, 1, 3);
	/* a slot not in the list */
	expect_events_threads((const uint8_t[]){0, 1, 2}, 2, 2, 1, 2);
	/* slot 1's kinds run out (and slot 0's are left over) */
	expect_events_threads((const uint8_t[]){0, 1, 1}, 2, 2, 1, 2);
	/* two kinds for three events: refused at the record */
	expect_events_threads((const uint8_t[]){0, 1, 0}, 2, 1, 1, 0);
	/* no freed block for the realloc's old one */
	expect_events_threads((const uint8_t[]){0, 1, 0}, 2, 2, 0, 1);
	/* more slots than the record has bytes for */
	expect_events_threads((const uint8_t[]){0, 1, 0}, 50, 2, 1, 0);
}
END_TEST

/* A hand-made SCAN_GRAPH record after a SCAN: sources, edges, width and
 * the five columns as given (n[i] bytes of col[i]); good edges read
 * before the reader must report the record corrupt (-1: it reads whole,
 * and the edges are checked against two edges of source 3, a block, at
 * offsets 8 and 24 to blocks 1 and 258, the second interior). */
static void expect_graph(uint64_t sources, uint64_t edges, uint64_t width, const uint8_t *const col[5],
			 const size_t n[5], int good)
{
	struct tw t;
	struct hs_diag d;
	struct trace_item it;
	struct raw u;
	static const uint64_t off[] = {8, 24}, dst[] = {1, 258};

	tw_open(&t, 0, "graph.hst", NONCE);
	raw_begin(&u, &t.w, HST_REC_SCAN);
	for (int i = 0; i < 6; i++)
		raw_v(&u, i == 2 ? 300 : 1); /* 300 blocks */
	raw_end(&u);
	raw_begin(&u, &t.w, HST_REC_SCAN_GRAPH);
	raw_v(&u, sources);
	raw_v(&u, edges);
	raw_v(&u, width);
	for (int i = 0; i < 5; i++)
		raw_s(&u, (const char *)col[i], n[i]);
	raw_end(&u);
	tw_close(&t);
	struct trace_reader *r = open_ok(t.path, &d);
	next_type(r, &it, ITEM_SCAN);
	for (int i = 0; i < (good < 0 ? 2 : good); i++) {
		next_type(r, &it, ITEM_SCAN_EDGE);
		ck_assert_int_eq(it.edge.from_root, 0);
		ck_assert_uint_eq(it.edge.src, 3);
		ck_assert_uint_eq(it.edge.offset, off[i]);
		ck_assert_uint_eq(it.edge.dst, dst[i]);
		ck_assert_uint_eq(it.edge.dst_offset, (uint64_t)i);
	}
	if (good < 0) {
		expect_eof(r);
	} else {
		ck_assert_int_eq(reader_next(r, &it), -1);
		ck_assert_ptr_nonnull(strstr(d.msg, "corrupt record"));
	}
	reader_close(r);
	unlink(t.path);
}

/* SCAN_GRAPH columns that do not fit together are corrupt, never read
 * past; whole ones read. */
START_TEST(test_graph_corrupt)
{
	/* source 3 (z 6), 2 edges of a block (2 << 1 | 0), offsets 8 and 16
	 * after it, targets 1 and 258 as two planes, the second interior */
	static const uint8_t src[] = {6}, cnt[] = {4}, off[] = {8, 16}, tgt[] = {1, 2, 0, 1}, in[] = {2, 0};
	static const uint8_t cnt_zero[] = {0}, cnt_one[] = {2}, cnt_two_sources[] = {2, 2};
	const uint8_t *const col[5] = {src, cnt, off, tgt, in};
	const uint8_t *const zero[5] = {src, cnt_zero, off, tgt, in};
	const uint8_t *const one[5] = {src, cnt_one, off, tgt, in};
	const uint8_t *const two[5] = {src, cnt_two_sources, off, tgt, in};

	expect_graph(1, 2, 2, col, (const size_t[5]){1, 1, 2, 4, 1}, -1);
	/* width 0 or 9, targets not edges * width bytes, a bitmap of the
	 * wrong size, more sources than edges: refused at the record */
	expect_graph(1, 2, 0, col, (const size_t[5]){1, 1, 2, 0, 1}, 0);
	expect_graph(1, 2, 9, col, (const size_t[5]){1, 1, 2, 4, 1}, 0);
	expect_graph(1, 2, 2, col, (const size_t[5]){1, 1, 2, 3, 1}, 0);
	expect_graph(1, 2, 1, col, (const size_t[5]){1, 1, 2, 4, 1}, 0);
	expect_graph(1, 2, 2, col, (const size_t[5]){1, 1, 2, 4, 2}, 0);
	expect_graph(3, 2, 2, col, (const size_t[5]){1, 1, 2, 4, 1}, 0);
	/* a column shorter than the record says */
	expect_graph(1, 2, 2, col, (const size_t[5]){1, 1, 1, 4, 1}, 1);
	expect_graph(1, 2, 2, col, (const size_t[5]){0, 1, 2, 4, 1}, 0);
	expect_graph(1, 2, 2, col, (const size_t[5]){1, 0, 2, 4, 1}, 0);
	/* a source of no edges; one whose edges end before the record's, and
	 * no source after it */
	expect_graph(1, 2, 2, zero, (const size_t[5]){1, 1, 2, 4, 1}, 0);
	expect_graph(1, 2, 2, one, (const size_t[5]){1, 1, 2, 4, 1}, 1);
	/* two sources, the second missing from the sources column */
	expect_graph(2, 2, 2, two, (const size_t[5]){1, 2, 2, 4, 1}, 1);
}
END_TEST

/* An ALLOCINFOS record of count allocinfos with the columns as given
 * (n[i] bytes of col[i]) is corrupt. */
static void expect_corrupt_allocinfos(uint64_t count, const uint8_t *const col[3], const size_t n[3])
{
	struct tw t;
	struct hs_diag d;
	struct trace_item it;
	struct raw u;

	tw_open(&t, 0, "bad-allocinfos.hst", NONCE);
	raw_begin(&u, &t.w, HST_REC_ALLOCINFOS);
	raw_v(&u, count);
	for (int i = 0; i < 3; i++)
		raw_s(&u, (const char *)col[i], n[i]);
	raw_end(&u);
	tw_close(&t);
	struct trace_reader *r = open_ok(t.path, &d);
	ck_assert_int_eq(reader_next(r, &it), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "corrupt record"));
	reader_close(r);
	unlink(t.path);
}

/* ALLOCINFOS columns shorter than the count, or an id of 0 (ids 2 then
 * 0: z 4, z -2), are corrupt, never read past. */
START_TEST(test_allocinfos_corrupt)
{
	static const uint8_t ids[] = {2, 2}, sizes[] = {24, 32}, stacks[] = {2, 0}, ids_zero[] = {4, 3};
	const uint8_t *const col[3] = {ids, sizes, stacks};
	const uint8_t *const zero[3] = {ids_zero, sizes, stacks};

	expect_corrupt_allocinfos(2, col, (const size_t[3]){1, 2, 2});
	expect_corrupt_allocinfos(2, col, (const size_t[3]){2, 1, 2});
	expect_corrupt_allocinfos(2, col, (const size_t[3]){2, 2, 1});
	expect_corrupt_allocinfos(2, zero, (const size_t[3]){2, 2, 2});
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

/* Columns for rec_events_bits: varints appended with the real varint_put. */
struct cols {
	uint8_t b[4][256];
	size_t n[4];
};

static void col_put(struct cols *c, int col, uint64_t v)
{
	c->n[col] = (size_t)(varint_put(c->b[col] + c->n[col], v) - c->b[col]);
}

/* One EVENTS record of columns c and a temporary bitmap of nbits bytes. */
static void rec_events_bits(struct trace_writer *w, uint64_t base, uint32_t count, const struct cols *c,
			    const uint8_t *bits, size_t nbits)
{
	struct raw u;

	raw_begin(&u, w, HST_REC_EVENTS);
	raw_v(&u, base);
	raw_v(&u, count);
	raw_v(&u, TICK_NS);
	for (int i = 0; i < 4; i++) {
		raw_v(&u, c->n[i]);
		raw_bytes(&u, c->b[i], c->n[i]);
	}
	raw_v(&u, nbits);
	raw_bytes(&u, bits, nbits);
	raw_end(&u);
}

/* Varints of every length in every column, as the last entry of a column
 * too (one byte and two), allocinfo ids past the dense map, and a
 * temporary bitmap shorter than the record: the reader's fast paths give
 * what varint_get gives. */
START_TEST(test_events_varint_lengths)
{
	static const struct {
		uint8_t kind;
		uint32_t thread;
		int64_t dt; /* ticks since the event before */
		uint32_t a, b; /* allocinfo ids (b: realloc's new block) */
	} ev[] = {
		{HST_EV_MALLOC, 0, 0, 1, 0},
		{HST_EV_MALLOC, 300, 70, 200, 0},
		{HST_EV_FREE, 70000, -1, 20000, 0},
		{HST_EV_REALLOC, 5, 1 << 30, 200, 3000000000u},
		{HST_EV_FREE | HST_EV_IMPLICIT, 4000000000u, -(1 << 20), 3000000000u, 0},
		{HST_EV_MALLOC, 1, 0, 1, 0},
		{HST_EV_MALLOC, 2, 3, 1, 0},	 /* record 2: one-byte last entries */
		{HST_EV_MALLOC, 129, 200, 200, 0}, /* record 3: two-byte last entries */
	};
	static const uint32_t info_ids[] = {1, 200, 20000, 3000000000u};
	static const uint8_t bits[] = {0x14}; /* events 2 and 4; the record has 6 */
	const size_t first[] = {0, 6, 7, 8};
	const uint64_t base = 1000000;
	struct tw t;
	struct hs_diag d;
	struct trace_item it;

	tw_open(&t, 3, "varints.hst", NONCE);
	for (unsigned i = 0; i < 4; i++)
		rec_allocinfo(&t.w, info_ids[i], 10 * (i + 1), i + 1);
	for (int rec = 0; rec < 3; rec++) {
		struct cols c = {0};
		for (size_t i = first[rec]; i < first[rec + 1]; i++) {
			c.b[0][c.n[0]++] = ev[i].kind;
			col_put(&c, 1, ev[i].thread);
			col_put(&c, 2, zigzag_enc(ev[i].dt));
			col_put(&c, 3, ev[i].a);
			if (ev[i].b)
				col_put(&c, 3, ev[i].b);
		}
		rec_events_bits(&t.w, base, (uint32_t)(first[rec + 1] - first[rec]), &c, bits, rec ? 0 : 1);
	}
	tw_close(&t);

	struct trace_reader *r = open_ok(t.path, &d);
	uint64_t ticks = 0;
	for (size_t i = 0; i < sizeof(ev) / sizeof(ev[0]); i++) {
		if (i == first[0] || i == first[1] || i == first[2])
			ticks = base / TICK_NS;
		ticks += (uint64_t)ev[i].dt;
		next_type(r, &it, ITEM_EVENT);
		ck_assert_uint_eq(it.ev.kind, ev[i].kind & HST_EV_KIND_MASK);
		ck_assert_uint_eq(it.ev.implicit, !!(ev[i].kind & HST_EV_IMPLICIT));
		ck_assert_uint_eq(it.ev.thread, ev[i].thread);
		ck_assert_uint_eq(it.ev.ts, ticks * TICK_NS);
		uint32_t info = ev[i].b ? ev[i].b : ev[i].a;
		ck_assert_uint_eq(it.ev.info, DI(info));
		ck_assert_uint_eq(it.ev.old_info, ev[i].b ? DI(ev[i].a) : 0);
		for (unsigned k = 0; k < 4; k++)
			if (info_ids[k] == info) {
				ck_assert_uint_eq(it.ev.size, 10 * (k + 1));
				ck_assert_uint_eq(it.ev.stack, DS(k + 1));
			}
		ck_assert_uint_eq(it.ev.temporary, i == 2 || i == 4);
	}
	expect_eof(r);
	reader_close(r);
	unlink(t.path);
}
END_TEST

/* Varints that overrun their column or run past 10 bytes are corrupt
 * wherever they are (the fast path's two-byte window included). */
START_TEST(test_events_varint_corrupt)
{
	static const uint8_t kinds[] = {HST_EV_MALLOC, HST_EV_MALLOC}, one[] = {1, 1}, zero[] = {0, 0};
	static const uint8_t long11[] = {1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
	static const uint8_t cut1[] = {0, 0x80}, cut2[] = {1, 0x81, 0x80}, cut3[] = {0x81, 0x80};
	const uint8_t *const c_thread_long[4] = {kinds, long11, zero, one};
	const uint8_t *const c_time_cut[4] = {kinds, one, cut1, one};
	const uint8_t *const c_block_cut[4] = {kinds, one, zero, cut2};
	const uint8_t *const c_thread_cut[4] = {kinds, cut3, zero, one};

	/* second thread index 11 bytes long */
	expect_corrupt_events(c_thread_long, (const size_t[4]){2, sizeof(long11), 2, 2}, 2, 1);
	/* the time column ends inside the second varint (one byte of it) */
	expect_corrupt_events(c_time_cut, (const size_t[4]){2, 2, 2, 2}, 2, 1);
	/* the block column ends inside the second varint (two bytes of it) */
	expect_corrupt_events(c_block_cut, (const size_t[4]){2, 2, 2, 3}, 2, 1);
	/* the thread column's first varint never ends */
	expect_corrupt_events(c_thread_cut, (const size_t[4]){2, 2, 2, 2}, 2, 0);
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

/* Write n events over EVENTS records of per_record, a chunk every 32768
 * (allocinfos 1..7 must be written): a pattern that compresses well. */
static void write_events(struct tw *t, unsigned n, unsigned per_record)
{
	for (unsigned i = 0; i < n;) {
		struct evrec e;
		evrec_init(&e, 1000);
		for (unsigned k = 0; k < per_record && i < n; k++, i++) {
			struct resolved ev = {.ts = 1000ull * (1000 + i) + i % 1000, .thread = i % 5,
					      .a = 1 + i % 7, .kind = i % 3 ? HST_EV_MALLOC : HST_EV_FREE};
			evrec_add(&e, &ev);
		}
		evrec_flush(&t->w, &e);
		if (i % 32768 < per_record)
			tw_flush(t);
	}
}

/* Read back the n events of write_events. */
static void expect_events(struct trace_reader *r, struct hs_diag *d, unsigned n)
{
	struct trace_item it;

	for (unsigned i = 0; i < n; i++) {
		int rc = reader_next(r, &it);
		uint32_t id = 1 + i % 7;
		if (rc != 1 || it.type != ITEM_EVENT || it.ev.ts != 1000ull * (1000 + i) || it.ev.thread != i % 5 ||
		    it.ev.kind != (i % 3 ? HST_EV_MALLOC : HST_EV_FREE) || it.ev.info != DI(id) ||
		    it.ev.size != id * 10 || it.ev.stack != DS(id + 100) || it.ev.implicit)
			ck_abort_msg("event %u decoded wrong (rc %d): %s", i, rc, d->msg);
	}
}

/* Many events over several EVENTS records and chunks, past the first
 * buffer sizes, compressed as one stream; a 1 us tick, so the reader must
 * use the record's tick, not a constant. */
START_TEST(test_many_events)
{
	struct tw t;
	struct hs_diag d;
	struct trace_item it;
	const unsigned n = 60000;

	tw_open(&t, 3, "many.hst", NONCE);
	for (uint32_t id = 1; id <= 7; id++)
		rec_allocinfo(&t.w, id, id * 10, id + 100);
	write_events(&t, n, 16384);
	rec_end(&t.w, 1, HST_END_EXIT, 0, n, 0);
	tw_close(&t);

	struct trace_reader *r = open_ok(t.path, &d);
	expect_events(r, &d, n);
	next_type(r, &it, ITEM_END);
	ck_assert_uint_eq(it.end.events, n);
	expect_eof(r);
	ck_assert_int_eq(reader_truncated(r), 0);
	reader_close(r);
}
END_TEST

/* A trace that compresses well leaves the small first frame for the strong
 * settings (a new zstd frame, a larger window), and reads back whole
 * across the change. */
START_TEST(test_frames_strong)
{
	struct tw t;
	struct hs_diag d;
	struct trace_item it;
	const unsigned n = 600000; /* about 2.5 MB of records */

	tw_open(&t, 9, "strong.hst", NONCE);
	for (uint32_t id = 1; id <= 7; id++)
		rec_allocinfo(&t.w, id, id * 10, id + 100);
	write_events(&t, n, 16384);
	ck_assert_int_eq(t.w.zmode, WRITER_ZMODE_STRONG);
	rec_end(&t.w, 1, HST_END_EXIT, 0, n, 0);
	tw_close(&t);

	struct trace_reader *r = open_ok(t.path, &d);
	expect_events(r, &d, n);
	next_type(r, &it, ITEM_END);
	expect_eof(r);
	ck_assert_int_eq(reader_truncated(r), 0);
	reader_close(r);
}
END_TEST

/* Records that do not compress (random bytes) leave the small first frame
 * for level 3, even at level 9; records written after the change, and the
 * ones before, read back whole. */
START_TEST(test_frames_fast)
{
	struct tw t;
	struct hs_diag d;
	struct trace_item it;
	uint64_t x = 88172645463325252ull;
	const unsigned nrec = 300, n = 40000;

	tw_open(&t, 9, "fast.hst", NONCE);
	for (unsigned i = 0; i < nrec; i++) {
		struct raw u;
		rec_thread(&t.w, i + 1, 1000 + i, i);
		raw_begin(&u, &t.w, 200); /* a tag no reader knows: skipped */
		for (int k = 0; k < 700; k++) { /* 7 kB */
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			raw_v(&u, x);
		}
		raw_end(&u);
		if (i % 16 == 15)
			tw_flush(&t);
	}
	tw_flush(&t);
	ck_assert_int_eq(t.w.zmode, WRITER_ZMODE_FAST);
	for (uint32_t id = 1; id <= 7; id++)
		rec_allocinfo(&t.w, id, id * 10, id + 100);
	write_events(&t, n, 16384);
	rec_end(&t.w, 1, HST_END_EXIT, 0, n, 0);
	tw_close(&t);

	struct trace_reader *r = open_ok(t.path, &d);
	for (unsigned i = 0; i < nrec; i++)
		expect_thread(r, i + 1, 1000 + i, i);
	expect_events(r, &d, n);
	next_type(r, &it, ITEM_END);
	expect_eof(r);
	ck_assert_int_eq(reader_truncated(r), 0);
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

/* A name that is a device or a directory is refused, not worked around
 * by writing NAME.<pid> beside it (in /dev, in /). */
START_TEST(test_writer_create_refuses_devices_and_dirs)
{
	struct trace_writer w;
	char out[PATH_MAX];
	struct stat st;

	writer_init(&w, 0, malloc, realloc, free);
	ck_assert_int_eq(writer_create(&w, "/dev/null", "p", 4242, 1, 1, 0, 0, out, sizeof(out)), -EEXIST);
	ck_assert_int_eq(stat("/dev/null.4242", &st), -1);
	ck_assert_int_eq(writer_create(&w, tmpdir, "p", 4242, 1, 1, 0, 0, out, sizeof(out)), -EISDIR);
	snprintf(out, sizeof(out), "%s.4242", tmpdir);
	ck_assert_int_eq(stat(out, &st), -1);
	ck_assert_int_eq(mkfifo(tpath("fifo.hst"), 0600), 0);
	ck_assert_int_eq(writer_create(&w, tpath("fifo.hst"), "p", 4242, 1, 1, 0, 0, out, sizeof(out)), -EEXIST);
	ck_assert_int_eq(stat(tpath("fifo.hst.4242"), &st), -1);
}
END_TEST

/* A file at NAME.rings that heapsnap did not make is left alone: the
 * trace takes the next name, whose ring file name is free. */
START_TEST(test_writer_create_foreign_rings)
{
	struct trace_writer w;
	char out[PATH_MAX], buf[8];
	struct stat st;

	write_file("r.hst.rings", "mine", 4);
	writer_init(&w, 0, malloc, realloc, free);
	ck_assert_int_eq(writer_create(&w, tpath("r.hst"), "p", 31, 1, 1, 0, 0, out, sizeof(out)), 0);
	writer_close(&w);
	ck_assert_str_eq(out, tpath("r.hst.31"));
	ck_assert_int_eq(stat(tpath("r.hst"), &st), -1);
	int fd = open(tpath("r.hst.rings"), O_RDONLY);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 4);
	close(fd);
	ck_assert_mem_eq(buf, "mine", 4);
}
END_TEST

/* Chunks of about 20 kB of records the reader skips (an unknown tag). */
static void filler_chunk(struct trace_writer *w)
{
	struct raw r;
	char junk[4000];

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 7919 % 251);
	for (int k = 0; k < 5; k++) {
		raw_begin(&r, w, 200);
		raw_bytes(&r, junk, sizeof(junk));
		raw_end(&r);
	}
}

/* The blocks reserved past the end (FALLOC_FL_KEEP_SIZE) are given back at
 * close: thousands of short processes must not keep them each. */
START_TEST(test_writer_gives_back_reserve)
{
	struct tw t;
	struct stat st;

	tw_open(&t, 0, "trim.hst", NONCE);
	rec_process(&t.w, "");
	ck_assert_int_eq(writer_flush(&t.w), 0);
	ck_assert_int_eq(fstat(t.w.fd, &st), 0);
	int reserved = t.w.reserved > t.w.file_bytes; /* where fallocate works */
	if (reserved)
		ck_assert_int_ge((long long)st.st_blocks * 512, WRITER_RESERVE);
	tw_close(&t);
	ck_assert_int_eq(stat(t.path, &st), 0);
	ck_assert_int_lt(st.st_size, 4096);
	ck_assert_int_le((long long)st.st_blocks * 512, 8192);
}
END_TEST

/*
 * The file cannot grow (here the file size limit, ulimit -f, which would
 * kill the writer with SIGXFSZ if it wrote past it; a full disk takes the
 * same path): the writer stops before the limit, the file holds whole
 * chunks and a STOPPED record, later chunks are dropped, and the END that
 * writer_last lets through says how many events were lost.  The reader
 * reads it all without error and calls it truncated, saying why.
 */
START_TEST(test_writer_stops_at_file_size_limit)
{
	struct tw t;
	struct hs_diag d;
	struct trace_item it;
	struct rlimit lim = {200000, 200000};
	struct stat st;
	int rc = 0, chunks = 0;

	tw_open(&t, 0, "fsize.hst", NONCE);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	rec_process(&t.w, "");
	while (chunks < 100 && !(rc = writer_flush(&t.w))) {
		filler_chunk(&t.w);
		chunks++;
	}
	ck_assert_int_eq(rc, -EFBIG);
	ck_assert_int_eq(writer_stopped(&t.w), -EFBIG);
	ck_assert_int_gt(chunks, 3);
	uint64_t size = t.w.file_bytes;
	ck_assert_uint_le(size + WRITER_RESERVE, lim.rlim_cur);
	/* later chunks are dropped */
	filler_chunk(&t.w);
	ck_assert_int_eq(writer_flush(&t.w), -EFBIG);
	ck_assert_uint_eq(t.w.file_bytes, size);
	/* the last one goes into the reserve */
	writer_last(&t.w);
	rec_thread(&t.w, 1, 77, 5000000100ull);
	uint8_t *p = room(&t.w, ENCODE_END_MAX);
	put(&t.w, p, encode_end_lost(p, 6000000000ull, HST_END_EXIT, 0, 0, 0, 7), ENCODE_END_MAX);
	ck_assert_int_eq(writer_flush(&t.w), 0);
	tw_close(&t);
	ck_assert_int_eq(stat(t.path, &st), 0);
	ck_assert_uint_le((uint64_t)st.st_size, lim.rlim_cur);

	struct trace_reader *r = open_ok(t.path, &d);
	next_type(r, &it, ITEM_PROCESS);
	next_type(r, &it, ITEM_THREAD);
	next_type(r, &it, ITEM_END);
	ck_assert_uint_eq(it.end.lost, 7);
	expect_eof(r);
	ck_assert_int_eq(reader_truncated(r), 1);
	ck_assert_msg(strstr(reader_truncation(r), "file size limit") && strstr(reader_truncation(r), "7 later events"),
		      "truncation: %s", reader_truncation(r));
	ck_assert_str_eq(d.msg, "");
	reader_close(r);
}
END_TEST

/* A trace whose writer stopped but which has no END (the process was
 * killed later) says both. */
START_TEST(test_stopped_without_end)
{
	struct tw t;
	struct hs_diag d;
	struct trace_item it;

	tw_open(&t, 0, "stopped.hst", NONCE);
	rec_process(&t.w, "");
	uint8_t *p = room(&t.w, ENCODE_STOPPED_MAX);
	put(&t.w, p, encode_stopped(p, 5000000000ull + 1500000000ull, ENOSPC), ENCODE_STOPPED_MAX);
	tw_flush(&t);
	tw_close(&t);
	struct trace_reader *r = open_ok(t.path, &d);
	next_type(r, &it, ITEM_PROCESS);
	expect_eof(r);
	ck_assert_int_eq(reader_truncated(r), 1);
	ck_assert_msg(strstr(reader_truncation(r), "1.500 s") && strstr(reader_truncation(r), "ENOSPC"),
		      "truncation: %s", reader_truncation(r));
	reader_close(r);
}
END_TEST

/* A process killed during its exit scan: info says the scan is
 * incomplete, with no duration (not the scan's start time as one). */
START_TEST(test_info_incomplete_scan)
{
	struct tw t;
	struct hs_diag d = {""};
	struct hs_want want = {.flags = HS_WANT_INFO};

	tw_open(&t, 0, "scan.hst", NONCE);
	rec_process(&t.w, "");
	uint8_t *p = room(&t.w, ENCODE_SCAN_MAX);
	put(&t.w, p, encode_scan(p, 5000000000ull + 2903833000000ull, HST_SCAN_EXIT, 2, 0, 1, 0), ENCODE_SCAN_MAX);
	tw_flush(&t);
	tw_close(&t);
	struct hs_session *s = hs_session_new(NULL);
	ck_assert_ptr_nonnull(s);
	struct hs_trace *tr = hs_trace_read(s, t.path, &want, &d);
	ck_assert_msg(tr != NULL, "%s", d.msg);
	ck_assert_int_eq(tr->info.scans, 1);
	ck_assert_int_eq(tr->info.scan_complete, 0);
	ck_assert_uint_eq(tr->info.scan_ns, 0);
	ck_assert_uint_eq(tr->info.scan_blocks, 2);
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	ck_assert_int_eq(hs_render_info(out, HS_FMT_TEXT, (struct hs_trace *const *)&tr, 1), 0);
	fclose(out);
	ck_assert_msg(strstr(text, "INCOMPLETE") && !strstr(text, "2908.833"), "%s", text);
	free(text);
	hs_trace_free(tr);
	hs_session_free(s);
}
END_TEST

Suite *reader_suite(void)
{
	Suite *s = suite_create("reader");
	TCase *tr = tcase_create("read");
	TCase *tb = tcase_create("bad");
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
	tcase_add_test(tr, test_frames_strong);
	tcase_add_test(tr, test_frames_fast);
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
	tcase_add_test(tb, test_events_split);
	tcase_add_test(tb, test_events_threads);
	tcase_add_test(tb, test_rss_delta_corrupt);
	tcase_add_test(tb, test_rss_series_corrupt);
	tcase_add_test(tb, test_writer_compacts_lengths);
	tcase_add_test(tb, test_stack_near);
	tcase_add_test(tb, test_events_column_past_record);
	tcase_add_test(tb, test_graph_corrupt);
	tcase_add_test(tb, test_allocinfos_corrupt);
	tcase_add_test(tb, test_events_varint_lengths);
	tcase_add_test(tb, test_events_varint_corrupt);
	tcase_add_test(tb, test_allocinfo_zero_corrupt);
	tcase_add_test(tb, test_stack_bad_ref);
	suite_add_tcase(s, tb);

	tcase_add_unchecked_fixture(tw, root_setup, root_teardown);
	tcase_add_checked_fixture(tw, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(tw, test_writer_create_name_and_header);
	tcase_add_test(tw, test_writer_create_taken);
	tcase_add_test(tw, test_writer_create_symlink);
	tcase_add_test(tw, test_writer_create_refuses_devices_and_dirs);
	tcase_add_test(tw, test_writer_create_foreign_rings);
	tcase_add_test(tw, test_writer_stops_at_file_size_limit);
	tcase_add_test(tw, test_writer_gives_back_reserve);
	tcase_add_test(tw, test_stopped_without_end);
	tcase_add_test(tw, test_info_incomplete_scan);
	suite_add_tcase(s, tw);
	return s;
}
