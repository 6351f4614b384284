/* Description: unit tests of src/trace/encode.c, the one encoder of every
 * trace record, the one the shim writes with: a few records byte for byte
 * (so that the format cannot drift with the reader), every encoder within
 * its stated bound on extreme and random values, and a round trip of every
 * record type through the real writer and the real reader, the pointer
 * scan's records included, and of random event columns. */
#define _GNU_SOURCE
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_suites.h"
#include "tracebuild.h"
#include "util/varint.h"

/* ---- bytes --------------------------------------------------------------- */

/* Assert the n bytes from p to end are want[0..n). */
static void expect_bytes(const uint8_t *p, const uint8_t *end, const uint8_t *want, size_t n)
{
	ck_assert_uint_eq((size_t)(end - p), n);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(p[i] == want[i], "byte %zu: 0x%02x, want 0x%02x", i, p[i], want[i]);
}

/* Records spelled out as format.h describes them: tag, the body length as
 * a 4-byte varint, LEB128 and zigzag fields. */
START_TEST(test_exact_bytes)
{
	uint8_t b[256];

	/* THREAD index 1, tid 300 (0xac 0x02), start 5 */
	static const uint8_t thread[] = {HST_REC_THREAD, 0x84, 0x80, 0x80, 0x00, 0x01, 0xac, 0x02, 0x05};
	expect_bytes(b, encode_thread(b, 1, 300, 5), thread, sizeof(thread));

	/* END: time 0, reason _exit, status -2 (zigzag 3), 127 events, 128
	 * dropped (0x80 0x01), 5 lost */
	static const uint8_t end[] = {HST_REC_END, 0x87, 0x80, 0x80, 0x00, 0x00, 0x01, 0x03, 0x7f, 0x80, 0x01, 0x05};
	expect_bytes(b, encode_end_lost(b, 0, HST_END__EXIT, -2, 127, 128, 5), end, sizeof(end));

	/* STOPPED: time 300 (0xac 0x02), ENOSPC (28) */
	static const uint8_t stopped[] = {HST_REC_STOPPED, 0x83, 0x80, 0x80, 0x00, 0xac, 0x02, 28};
	expect_bytes(b, encode_stopped(b, 300, 28), stopped, sizeof(stopped));

	/* STACK 2, depth 4, ref 1 sharing 2: two own frames, 0x1000 (0x80
	 * 0x20) then -0x10 (zigzag 0x1f) */
	static const uint64_t ips[] = {0x1000, 0xff0, 0x7, 0x8};
	static const uint8_t stack[] = {HST_REC_STACK, 0x87, 0x80, 0x80, 0x00, 0x02, 0x04, 0x01, 0x02, 0x80, 0x20, 0x1f};
	expect_bytes(b, encode_stack(b, 2, 4, 1, 2, ips), stack, sizeof(stack));
	/* STACK_NEAR of the same: the first frame from the last one written,
	 * 0x1010 (-0x10: zigzag 0x1f), which it becomes; all shared: none
	 * written, the last stays */
	uint64_t first = 0x1010;
	static const uint8_t near[] = {HST_REC_STACK_NEAR, 0x86, 0x80, 0x80, 0x00, 0x02, 0x04, 0x01, 0x02, 0x1f, 0x1f};
	expect_bytes(b, encode_stack_near(b, 2, 4, 1, 2, ips, &first), near, sizeof(near));
	ck_assert_uint_eq(first, 0x1000);
	static const uint8_t near_shared[] = {HST_REC_STACK_NEAR, 0x84, 0x80, 0x80, 0x00, 0x03, 0x02, 0x02, 0x02};
	expect_bytes(b, encode_stack_near(b, 3, 2, 2, 2, ips, &first), near_shared, sizeof(near_shared));
	ck_assert_uint_eq(first, 0x1000);

	/* SNAPSHOT at 1, index 0, API, label "ab" */
	static const uint8_t snap[] = {HST_REC_SNAPSHOT, 0x86, 0x80, 0x80, 0x00, 0x01, 0x00, 0x03, 0x02, 'a', 'b'};
	expect_bytes(b, encode_snapshot(b, 1, 0, HST_SNAP_API, "ab", 2), snap, sizeof(snap));

	/* EVENTS: a malloc of allocinfo 3 by thread 2 at 250 ns, a free of it
	 * 100 ns earlier (tick 100: times 2 then delta -1, zigzag 1), with no
	 * temporary mark (an empty bitmap) */
	uint8_t cols[ENCODE_EVENT_COLS][64];
	struct encode_events e = {.tick = 100};
	for (int i = 0; i < ENCODE_EVENT_COLS; i++)
		e.col[i] = (struct encode_column){cols[i], 0, sizeof(cols[i])};
	encode_event(&e, 250, 2, HST_EV_MALLOC, 3, 0);
	encode_event(&e, 150, 2, HST_EV_FREE | HST_EV_IMPLICIT, 3, 0);
	static const uint8_t events_rec[] = {HST_REC_EVENTS, 0x91, 0x80, 0x80, 0x00, 0xfa, 0x01, 0x02, 0x64,
					     0x02, HST_EV_MALLOC, HST_EV_FREE | HST_EV_IMPLICIT, 0x02, 0x02, 0x02,
					     0x02, 0x00, 0x01, 0x02, 0x03, 0x03, 0x00};
	expect_bytes(b, encode_events(b, &e), events_rec, sizeof(events_rec));
	ck_assert_uint_eq(e.count, 0);
	ck_assert_uint_eq(e.col[3].len, 0);
	/* the same with the free marked temporary: a one-byte bitmap, bit 1 */
	encode_event(&e, 250, 2, HST_EV_MALLOC, 3, 0);
	encode_event(&e, 150, 2, HST_EV_FREE | HST_EV_IMPLICIT, 3, 0);
	encode_event_temporary(&e);
	static const uint8_t events_tmp[] = {HST_REC_EVENTS, 0x92, 0x80, 0x80, 0x00, 0xfa, 0x01, 0x02, 0x64,
					     0x02, HST_EV_MALLOC, HST_EV_FREE | HST_EV_IMPLICIT, 0x02, 0x02, 0x02,
					     0x02, 0x00, 0x01, 0x02, 0x03, 0x03, 0x01, 0x02};
	expect_bytes(b, encode_events(b, &e), events_tmp, sizeof(events_tmp));
	/* RSS_DELTA: 10 ms and 3 pages more (in pages: shift 12, z 3 = 6),
	 * then 1 ms and 5 bytes less (in bytes: shift 0, z -5 = 9) */
	static const uint8_t rss1[] = {HST_REC_RSS_DELTA, 0x86, 0x80, 0x80, 0x00, 0x80, 0xda, 0xc4, 0x09, 0x0c, 0x06};
	expect_bytes(b, encode_rss_delta(b, 15000000, 20480 + 12288, 5000000, 20480), rss1, sizeof(rss1));
	static const uint8_t rss2[] = {HST_REC_RSS_DELTA, 0x85, 0x80, 0x80, 0x00, 0x80, 0x89, 0x7a, 0x00, 0x09};
	expect_bytes(b, encode_rss_delta(b, 16000000, 32763, 15000000, 32768), rss2, sizeof(rss2));
	/* RSS_SERIES from 5 ms, 20480 bytes: +2^20 ns and 3 pages, +3 * 2^20
	 * ns and -1 page, +2^20 ns and the same; time in 2^20 ns (shift 20),
	 * bytes in pages (12), columns of z: 2 6 2 / 6 1 0 */
	static const struct encode_rss_sample series[] = {
		{5000000 + (1u << 20), 20480 + 12288}, {5000000 + (4u << 20), 20480 + 8192}, {5000000 + (5u << 20), 20480 + 8192}};
	static const uint8_t rss3[] = {HST_REC_RSS_SERIES, 0x8b, 0x80, 0x80, 0x00, 0x03, 0x14, 0x0c, 0x03, 0x02,
				       0x06, 0x02, 0x03, 0x06, 0x01, 0x00};
	expect_bytes(b, encode_rss_series(b, series, 3, (struct encode_rss_sample){5000000, 20480}), rss3,
		     sizeof(rss3));
	/* one sample 5 bytes and 3 ns on: units of 1 */
	static const uint8_t rss4[] = {HST_REC_RSS_SERIES, 0x87, 0x80, 0x80, 0x00, 0x01, 0x00, 0x00, 0x01, 0x06, 0x01, 0x0a};
	expect_bytes(b, encode_rss_series(b, (struct encode_rss_sample[]){{8, 15}}, 1, (struct encode_rss_sample){5, 10}),
		     rss4, sizeof(rss4));
	/* no events, no record */
	ck_assert_ptr_eq(encode_events(b, &e), b);
	/* EVENTS_SPLIT: a malloc of 3 by thread 2 at 250 ns, a realloc of it
	 * to a block of 4 by thread 1 at 350, a free of that at 450: the new
	 * blocks (3, 4) in the fourth column, the freed ones (3, 4) in a
	 * column of their own before the bitmap */
	e.split = 1;
	encode_event(&e, 250, 2, HST_EV_MALLOC, 3, 0);
	encode_event(&e, 350, 1, HST_EV_REALLOC, 3, 4);
	encode_event(&e, 450, 1, HST_EV_FREE, 4, 0);
	static const uint8_t events_split[] = {HST_REC_EVENTS_SPLIT, 0x97, 0x80, 0x80, 0x00, 0xfa, 0x01, 0x03, 0x64,
					       0x03, HST_EV_MALLOC, HST_EV_REALLOC, HST_EV_FREE, 0x03, 0x02, 0x01,
					       0x01, 0x03, 0x00, 0x02, 0x02, 0x02, 0x03, 0x04, 0x02, 0x03, 0x04, 0x00};
	expect_bytes(b, encode_events(b, &e), events_split, sizeof(events_split));
	ck_assert_uint_eq(e.col[ENCODE_EVENT_FREED].len, 0);
	/* EVENTS_THREADS: the same events, thread 2 in slot 0 and thread 1
	 * in slot 1, the free marked temporary: the slot list (2 1), the
	 * slots column (0 1 1), the times, then slot 0's kinds (malloc),
	 * allocated (3) and freed (none), slot 1's kinds (realloc, free),
	 * allocated (4) and freed (the realloc's old 3, the free's 4), then
	 * the bitmap (bit 2: the third event of the record) */
	struct encode_slot slots[2] = {{.thread = 2}, {.thread = 1}};
	e.slots = slots;
	e.nslots = 2;
	encode_event(&e, 250, 0, HST_EV_MALLOC, 3, 0);
	encode_event(&e, 350, 1, HST_EV_REALLOC, 3, 4);
	encode_event(&e, 450, 1, HST_EV_FREE, 4, 0);
	encode_event_temporary(&e);
	static const uint8_t events_threads[] = {
		HST_REC_EVENTS_THREADS, 0x9e, 0x80, 0x80, 0x00, 0xfa, 0x01, 0x03, 0x64, 0x02, 0x02, 0x01,
		0x03, 0x00, 0x01, 0x01, 0x03, 0x00, 0x02, 0x02, 0x01, HST_EV_MALLOC, 0x01, 0x03, 0x00,
		0x02, HST_EV_REALLOC, HST_EV_FREE, 0x01, 0x04, 0x02, 0x03, 0x04, 0x01, 0x04};
	ck_assert_uint_le(sizeof(events_threads), encode_events_max(&e));
	expect_bytes(b, encode_events(b, &e), events_threads, sizeof(events_threads));
	ck_assert_uint_eq(e.count, 0);
	ck_assert_uint_eq(e.col[1].len, 0);
}
END_TEST

/* ---- bounds -------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* A value of random magnitude: small ones are common, all 64 bits too. */
static uint64_t rv(void)
{
	unsigned bits = (unsigned)(rnd() % 65);
	return bits == 64 ? rnd() : rnd() & ((1ull << bits) - 1);
}

/* The length field of the record at p is its body's length, and the whole
 * record ends at end, within max. */
static void check_record(const uint8_t *p, const uint8_t *end, size_t max, int tag)
{
	const uint8_t *q = p + 1;
	uint64_t len;

	ck_assert_uint_le((size_t)(end - p), max);
	ck_assert_int_eq(p[0], tag);
	ck_assert_int_eq(varint_get(&q, end, &len), 0);
	ck_assert_ptr_eq(q, p + ENCODE_HEAD);
	ck_assert_uint_eq(len, (uint64_t)(end - q));
}

/* Every encoder stays within its bound, whatever the values. */
START_TEST(test_bounds)
{
	static uint8_t buf[1 << 16], mods[4096];
	static char str[600];
	uint64_t ips[300];

	for (size_t i = 0; i < sizeof(str); i++)
		str[i] = (char)(i * 7);
	for (int round = 0; round < 3000; round++) {
		uint64_t a = round ? rv() : UINT64_MAX, b = round ? rv() : UINT64_MAX, c = round ? rv() : 0;
		uint32_t a32 = (uint32_t)a, b32 = (uint32_t)b;
		size_t n = round % 5 ? rnd() % 40 : rnd() % sizeof(str);
		check_record(buf, encode_thread(buf, a32, b32, c), ENCODE_THREAD_MAX, HST_REC_THREAD);
		check_record(buf, encode_thread_end(buf, a32, a, str, n), encode_thread_end_max(n), HST_REC_THREAD_END);
		check_record(buf, encode_allocinfo(buf, a32 | 1, b, b32), ENCODE_ALLOCINFO_MAX, HST_REC_ALLOCINFO);
		check_record(buf, encode_snapshot(buf, a, b32, (int)(c % 4), str, n), encode_snapshot_max(n),
			     HST_REC_SNAPSHOT);
		check_record(buf, encode_end_lost(buf, a, (int)(c % 3), (int64_t)b, a, c, b), ENCODE_END_MAX, HST_REC_END);
		check_record(buf, encode_stopped(buf, a, (int)(b32 & 0x7fffffff)), ENCODE_STOPPED_MAX, HST_REC_STOPPED);
		check_record(buf, encode_rss(buf, a, b), ENCODE_RSS_MAX, HST_REC_RSS);
		check_record(buf, encode_rss_delta(buf, a, b, c, a), ENCODE_RSS_DELTA_MAX, HST_REC_RSS_DELTA);
		check_record(buf, encode_rss_delta(buf, a, b & ~4095ull, b, c & ~4095ull), ENCODE_RSS_DELTA_MAX,
			     HST_REC_RSS_DELTA);
		check_record(buf, encode_scan(buf, a, (int)(c % 4), b, c, a32, b32), ENCODE_SCAN_MAX, HST_REC_SCAN);
		check_record(buf, encode_scan_end(buf, a, b, c, a), ENCODE_SCAN_END_MAX, HST_REC_SCAN_END);
		/* RSS_SERIES: 1 to 40 samples, steps of any size and sign */
		struct encode_rss_sample rs[40];
		size_t nrs = 1 + rnd() % 40;
		for (size_t i = 0; i < nrs; i++)
			rs[i] = (struct encode_rss_sample){rv(), rv()};
		check_record(buf, encode_rss_series(buf, rs, nrs, (struct encode_rss_sample){a, b}),
			     encode_rss_series_max(nrs), HST_REC_RSS_SERIES);
		check_record(buf, encode_scan_root(buf, a32, (int)(c % 6) + 1, b32, a, b, str, n, c),
			     encode_scan_root_max(n), HST_REC_SCAN_ROOT);
		uint32_t depth = (uint32_t)(rnd() % 257), shared = depth ? (uint32_t)(rnd() % (depth + 1)) : 0;
		for (uint32_t i = 0; i < depth; i++)
			ips[i] = rv();
		check_record(buf, encode_stack(buf, a32, depth, b32, shared, ips), encode_stack_max(depth),
			     HST_REC_STACK);
		uint64_t first = rv();
		check_record(buf, encode_stack_near(buf, a32, depth, b32, shared, ips, &first),
			     encode_stack_max(depth), HST_REC_STACK_NEAR);
		struct encode_process pr = {a32, b32, str, n, str, sizeof(str), str, n / 2, "system", 6, b32};
		check_record(buf, encode_process(buf, &pr), encode_process_max(&pr), HST_REC_PROCESS);
		/* modules: each within its bound, then the record */
		uint8_t *m = mods;
		unsigned count = (unsigned)(rnd() % 5);
		size_t mods_max = 0;
		for (unsigned k = 0; k < count; k++) {
			unsigned nseg = (unsigned)(rnd() % 6);
			size_t plen = rnd() % 200, blen = rnd() % 2 ? 20 : 0;
			uint8_t *m0 = m;
			m = encode_module(m, str, plen, (const uint8_t *)str, blen, rv(), nseg);
			for (unsigned s = 0; s < nseg; s++)
				m = encode_segment(m, rv(), rv(), (uint32_t)(rnd() % 8));
			mods_max += encode_module_max(plen, blen) + nseg * ENCODE_SEGMENT_MAX;
			ck_assert_uint_le((size_t)(m - m0), encode_module_max(plen, blen) + nseg * ENCODE_SEGMENT_MAX);
		}
		ck_assert_uint_le((size_t)(m - mods), mods_max);
		check_record(buf, encode_modules(buf, a, count, mods, (size_t)(m - mods)),
			     encode_modules_max((size_t)(m - mods)), HST_REC_MODULES);
		/* piecewise records */
		size_t k = rnd() % 300;
		uint8_t *p = encode_progress_begin(buf, k);
		for (size_t i = 0; i < k; i++)
			p = encode_progress_ring(p, (uint32_t)rv(), rv());
		check_record(buf, encode_close(buf, p), encode_progress_max(k), HST_REC_PROGRESS);
		struct encode_blocks bs = {0, 0};
		p = encode_scan_blocks_begin(buf, k);
		for (size_t i = 0; i < k; i++)
			p = encode_scan_block(p, &bs, rv(), (uint32_t)rv(), (uint32_t)rnd());
		check_record(buf, encode_close(buf, p), encode_scan_blocks_max(k), HST_REC_SCAN_BLOCKS);
		struct encode_edges es;
		p = encode_scan_edges_begin(buf, &es, (int)(c % 2), a, k);
		uint64_t off = 0;
		for (size_t i = 0; i < k; i++) {
			off += rnd() % 65536; /* offsets only grow */
			p = encode_scan_edge(p, &es, off, rv(), (int)(rnd() % 2));
		}
		check_record(buf, encode_close(buf, p), encode_scan_edges_max(k), HST_REC_SCAN_EDGES);
	}
	/* ALLOCINFOS of random values */
	static uint8_t ai_col[3][4096 * ENCODE_V];
	struct encode_allocinfos ai = {{{ai_col[0], 0, sizeof(ai_col[0])}, {ai_col[1], 0, sizeof(ai_col[1])},
					{ai_col[2], 0, sizeof(ai_col[2])}}, 0, 0, 0};
	for (int round = 0; round < 50; round++) {
		size_t k = round ? rnd() % 4096 : 4096;
		for (size_t i = 0; i < k; i++)
			encode_allocinfos_add(&ai, (uint32_t)rv() | 1, rv(), (uint32_t)rv());
		size_t max = encode_allocinfos_max(&ai);
		if (!k) {
			ck_assert_ptr_eq(encode_allocinfos(buf, &ai), buf); /* nothing to write */
			continue;
		}
		check_record(buf, encode_allocinfos(buf, &ai), max, HST_REC_ALLOCINFOS);
		ck_assert_uint_eq(ai.count, 0);
	}
	/* SCAN_GRAPH: full records of random sources, targets of every width */
	static uint8_t gbuf[1 << 20];
	struct encode_graph g;
	void *mem = malloc(encode_graph_mem());
	ck_assert_ptr_nonnull(mem);
	for (int round = 0; round < 20; round++) {
		encode_graph_init(&g, mem, round ? rv() : UINT64_MAX);
		uint64_t off = 0, src = rv();
		while (encode_graph_room(&g)) {
			if (rnd() % 3 == 0) { /* another source (never the same again) */
				uint64_t next;
				while ((next = rv()) == src)
					;
				src = next;
				off = 0;
			}
			off += rv() % 4096;
			uint64_t tgt = g.width == 8 ? rv() : rv() & ((1ull << (8 * g.width)) - 1);
			encode_graph_edge(&g, (int)(src & 1), src, off, tgt, (int)(rnd() % 2));
		}
		size_t max = encode_graph_max(&g);
		ck_assert_uint_le(max, sizeof(gbuf));
		check_record(gbuf, encode_graph(gbuf, &g), max, HST_REC_SCAN_GRAPH);
		ck_assert_uint_eq(g.edges, 0); /* emptied for the next record */
		ck_assert_ptr_eq(encode_graph(gbuf, &g), gbuf); /* nothing to write */
	}
	free(mem);
}
END_TEST

/* ---- round trips through the writer and the reader --------------------------- */

/* A trace of every record type at the edges of its values, and the pointer
 * scan's records, compressed: every field comes back. */
START_TEST(test_every_record)
{
	struct tw t;
	struct hs_diag d;
	struct trace_item it;
	struct trace_writer *w = &t.w;
	static const char cmdline[] = "a\0\xff\x01b";
	static char label[300];
	uint8_t *p, *rec;

	memset(label, 'L', sizeof(label));
	tw_open(&t, 3, "every.hst", NONCE);
	struct encode_process pr = {UINT32_MAX, 0, "", 0, cmdline, sizeof(cmdline) - 1, "k=v", 3, "jemalloc", 8, 256};
	p = room(w, encode_process_max(&pr));
	put(w, p, encode_process(p, &pr), encode_process_max(&pr));
	rec_modules(w);
	p = room(w, ENCODE_THREAD_MAX);
	put(w, p, encode_thread(p, UINT32_MAX, 0, UINT64_MAX), ENCODE_THREAD_MAX);
	p = room(w, ENCODE_ALLOCINFO_MAX);
	/* (an id near 2^31 is valid, but the reader sizes its table by it) */
	put(w, p, encode_allocinfo(p, 1000000, (1ull << 40) - 1, UINT32_MAX), ENCODE_ALLOCINFO_MAX);
	ids_see_info(1000000);
	ids_see_stack(UINT32_MAX);
	p = room(w, encode_snapshot_max(sizeof(label)));
	put(w, p, encode_snapshot(p, UINT64_MAX, UINT32_MAX, HST_SNAP_INTERVAL, label, sizeof(label)),
	    encode_snapshot_max(sizeof(label)));
	p = room(w, ENCODE_RSS_MAX);
	put(w, p, encode_rss(p, 12345, UINT64_MAX), ENCODE_RSS_MAX);
	/* a scan: 3 blocks over two records (the deltas run on), a root, an
	 * edge record of each source kind */
	p = room(w, ENCODE_SCAN_MAX);
	put(w, p, encode_scan(p, 777, HST_SCAN_SNAPSHOT, 3, 5, 2, 1), ENCODE_SCAN_MAX);
	struct encode_blocks bs = {0, 0};
	rec = room(w, encode_scan_blocks_max(2));
	p = encode_scan_blocks_begin(rec, 2);
	p = encode_scan_block(p, &bs, 0x7f0000001000ull, 1000000, 5);
	p = encode_scan_block(p, &bs, 0x7f0000001010ull, 1000000, 3); /* seq goes back */
	put(w, rec, encode_close(rec, p), encode_scan_blocks_max(2));
	rec = room(w, encode_scan_blocks_max(1));
	p = encode_scan_blocks_begin(rec, 1);
	p = encode_scan_block(p, &bs, 0x7f0000000010ull, 1000000, 0xffffffffu); /* address goes back, seq wraps */
	put(w, rec, encode_close(rec, p), encode_scan_blocks_max(1));
	p = room(w, encode_scan_root_max(6));
	put(w, p, encode_scan_root(p, 0, HST_ROOT_STACK, 7, 0x1000, 4096, "[stack]", 7, 0x401235), encode_scan_root_max(6));
	struct encode_edges es;
	rec = room(w, encode_scan_edges_max(3));
	p = encode_scan_edges_begin(rec, &es, 1, 0, 3);
	p = encode_scan_edge(p, &es, 8, 2, 0);
	p = encode_scan_edge(p, &es, 16, 0, 1); /* target number goes back */
	p = encode_scan_edge(p, &es, 4088, 1, 0);
	put(w, rec, encode_close(rec, p), encode_scan_edges_max(3));
	rec = room(w, encode_scan_edges_max(1));
	p = encode_scan_edges_begin(rec, &es, 0, 2, 1);
	p = encode_scan_edge(p, &es, 0, 2, 1); /* a block pointing inside itself */
	put(w, rec, encode_close(rec, p), encode_scan_edges_max(1));
	p = room(w, ENCODE_SCAN_END_MAX);
	put(w, p, encode_scan_end(p, 4, 8192, 778, 9), ENCODE_SCAN_END_MAX);
	rec_thread_end(w, UINT32_MAX, 0, "");
	rec_progress(w, 4095, UINT64_MAX); /* consumed by the reader, no item */
	rec_end(w, 1, HST_END_EXEC, INT32_MIN, 0, UINT64_MAX);
	tw_close(&t);

	struct trace_reader *r = open_ok(t.path, &d);
	next_type(r, &it, ITEM_PROCESS);
	ck_assert_uint_eq(it.process.pid, UINT32_MAX);
	ck_assert_uint_eq(it.process.ppid, 0);
	assert_str(it.process.exe, "", 0);
	assert_str(it.process.cmdline, cmdline, sizeof(cmdline) - 1);
	assert_str(it.process.options, "k=v", 3);
	assert_str(it.process.allocator, "jemalloc", 8);
	ck_assert_uint_eq(it.process.max_frames, 256);
	next_type(r, &it, ITEM_MODULES);
	ck_assert_uint_eq(it.modules.count, 2);
	expect_thread(r, UINT32_MAX, 0, UINT64_MAX);
	next_type(r, &it, ITEM_SNAPSHOT);
	ck_assert_uint_eq(it.snap.ts, UINT64_MAX);
	ck_assert_uint_eq(it.snap.index, UINT32_MAX);
	ck_assert_int_eq(it.snap.trigger, HST_SNAP_INTERVAL);
	assert_str(it.snap.label, label, sizeof(label));
	next_type(r, &it, ITEM_RSS);
	ck_assert_uint_eq(it.rss.ts, 12345);
	ck_assert_uint_eq(it.rss.bytes, UINT64_MAX);
	next_type(r, &it, ITEM_SCAN);
	ck_assert_uint_eq(it.scan.ts, 777);
	ck_assert_int_eq(it.scan.reason, HST_SCAN_SNAPSHOT);
	ck_assert_uint_eq(it.scan.blocks, 3);
	ck_assert_uint_eq(it.scan.snapshot, 5);
	ck_assert_uint_eq(it.scan.threads_stopped, 2);
	ck_assert_uint_eq(it.scan.threads_missed, 1);
	static const struct {
		uint64_t addr;
		uint32_t seq;
	} blocks[] = {{0x7f0000001000ull, 5}, {0x7f0000001010ull, 3}, {0x7f0000000010ull, 0xffffffffu}};
	for (unsigned i = 0; i < 3; i++) {
		next_type(r, &it, ITEM_SCAN_BLOCK);
		ck_assert_uint_eq(it.block.index, i);
		ck_assert_uint_eq(it.block.addr, blocks[i].addr);
		ck_assert_uint_eq(it.block.seq, blocks[i].seq);
		ck_assert_uint_eq(it.block.info, DI(1000000));
		/* the block's size and stack come from its allocinfo */
		ck_assert_uint_eq(it.block.size, (1ull << 40) - 1);
		ck_assert_uint_eq(it.block.stack, DS(UINT32_MAX));
	}
	next_type(r, &it, ITEM_SCAN_ROOT);
	ck_assert_uint_eq(it.root.index, 0);
	ck_assert_int_eq(it.root.kind, HST_ROOT_STACK);
	ck_assert_uint_eq(it.root.thread, 7);
	ck_assert_uint_eq(it.root.addr, 0x1000);
	ck_assert_uint_eq(it.root.bytes, 4096);
	assert_str(it.root.name, "[stack]", 7);
	ck_assert_uint_eq(it.root.pc, 0x401235);
	static const struct {
		int from_root;
		uint64_t src, offset, dst, interior;
	} edges[] = {{1, 0, 8, 2, 0}, {1, 0, 16, 0, 1}, {1, 0, 4088, 1, 0}, {0, 2, 0, 2, 1}};
	for (unsigned i = 0; i < 4; i++) {
		next_type(r, &it, ITEM_SCAN_EDGE);
		ck_assert_int_eq(it.edge.from_root, edges[i].from_root);
		ck_assert_uint_eq(it.edge.src, edges[i].src);
		ck_assert_uint_eq(it.edge.offset, edges[i].offset);
		ck_assert_uint_eq(it.edge.dst, edges[i].dst);
		ck_assert_uint_eq(it.edge.dst_offset, edges[i].interior);
	}
	next_type(r, &it, ITEM_SCAN_END);
	ck_assert_uint_eq(it.scan_end.edges, 4);
	ck_assert_uint_eq(it.scan_end.bytes, 8192);
	ck_assert_uint_eq(it.scan_end.ts, 778);
	ck_assert_uint_eq(it.scan_end.roots, 9);
	next_type(r, &it, ITEM_THREAD_END);
	ck_assert_uint_eq(it.thread.index, UINT32_MAX);
	assert_str(it.thread.name, "", 0);
	next_type(r, &it, ITEM_END);
	ck_assert_int_eq(it.end.reason, HST_END_EXEC);
	ck_assert_int_eq(it.end.status, INT32_MIN);
	ck_assert_uint_eq(it.end.events, 0);
	ck_assert_uint_eq(it.end.dropped, UINT64_MAX);
	expect_eof(r);
	ck_assert_int_eq(reader_truncated(r), 0);
	reader_close(r);
}
END_TEST

/* Allocinfos through ALLOCINFOS records (ids in order, out of order as a
 * forked child writes them, large; stacks 0, large, going back) define
 * what the events that follow name, as ALLOCINFO records do, mixed with
 * them. */
START_TEST(test_allocinfos_round_trip)
{
	enum { N = 3000 };
	static uint8_t col[3][N * ENCODE_V];
	static struct {
		uint32_t id, stack;
		uint64_t size;
	} in[N];
	struct encode_allocinfos ai = {{{col[0], 0, sizeof(col[0])}, {col[1], 0, sizeof(col[1])},
					{col[2], 0, sizeof(col[2])}}, 0, 0, 0};
	struct tw t;
	struct hs_diag d;
	struct trace_item it;

	for (uint32_t i = 0; i < N; i++) {
		in[i].id = i < 1000 ? i + 1 : i < 2000 ? 5000 - i : (uint32_t)(rnd() % 1000000) * 3000 + i;
		in[i].stack = i % 7 == 0 ? 0 : i % 5 == 0 ? UINT32_MAX - i : (uint32_t)(rnd() % (i + 1)) + 1;
		in[i].size = i % 3 ? rv() % (1ull << 40) : i;
	}
	tw_open(&t, 3, "allocinfos.hst", NONCE);
	for (uint32_t i = 0; i < N; i++) {
		if (i % 10 == 9) { /* now and then an ALLOCINFO record between */
			uint8_t *p = room(&t.w, encode_allocinfos_max(&ai));
			put(&t.w, p, encode_allocinfos(p, &ai), encode_allocinfos_max(&ai));
			rec_allocinfo(&t.w, in[i].id, in[i].size, in[i].stack);
			continue;
		}
		encode_allocinfos_add(&ai, in[i].id, in[i].size, in[i].stack);
		ids_see_info(in[i].id);
		ids_see_stack(in[i].stack);
	}
	uint8_t *p = room(&t.w, encode_allocinfos_max(&ai));
	put(&t.w, p, encode_allocinfos(p, &ai), encode_allocinfos_max(&ai));
	struct evrec e;
	evrec_init(&e, 0);
	for (uint32_t i = 0; i < N; i++) {
		struct resolved ev = {.ts = 1000000 + i, .a = in[i].id, .kind = HST_EV_MALLOC};
		evrec_add(&e, &ev);
	}
	evrec_flush(&t.w, &e);
	tw_close(&t);

	struct trace_reader *r = open_ok(t.path, &d);
	for (uint32_t i = 0; i < N; i++) {
		next_type(r, &it, ITEM_EVENT);
		ck_assert_uint_eq(it.ev.info, DI(in[i].id));
		ck_assert_uint_eq(it.ev.size, in[i].size);
		ck_assert_uint_eq(it.ev.stack, in[i].stack ? DS(in[i].stack) : 0);
	}
	expect_eof(r);
	reader_close(r);
}
END_TEST

/* One edge as the reader gives it. */
struct gedge {
	int from_root;
	uint64_t src, offset, dst;
	int interior;
};

/* Random edges through SCAN_GRAPH records (sources that go back and forth,
 * one that spans two records, records with and without interior pointers,
 * targets of 1 to 8 bytes) come back edge for edge, in order, with the
 * scan's other records where they were written. */
START_TEST(test_graph_round_trip)
{
	static const uint64_t nblocks[] = {1, 200, 256, 257, 70000, 1ull << 40, UINT64_MAX};
	enum { NE = ENCODE_GRAPH_EDGES + 5000 };
	static struct gedge in[NE];
	struct tw t;
	struct hs_diag d;
	struct trace_item it;
	struct encode_graph g;
	void *mem = malloc(encode_graph_mem());

	ck_assert_ptr_nonnull(mem);
	for (unsigned round = 0; round < sizeof(nblocks) / sizeof(nblocks[0]); round++) {
		uint64_t blocks = nblocks[round];
		/* the edges: sources in runs, offsets growing within a run */
		unsigned n = round % 2 ? NE : 3000;
		for (unsigned i = 0; i < n; i++) {
			int same = i && rnd() % 8;
			in[i].from_root = same ? in[i - 1].from_root : (int)(rnd() % 2);
			in[i].src = same ? in[i - 1].src : rnd() % 5 == 0 ? rv() : rnd() % 100;
			/* a new run is another source (a source's edges come together) */
			while (i && !same && in[i].from_root == in[i - 1].from_root && in[i].src == in[i - 1].src)
				in[i].src = rv();
			in[i].offset = (same ? in[i - 1].offset : 0) + 8 * (rnd() % 64);
			in[i].dst = blocks == UINT64_MAX ? rv() : rv() % blocks;
			in[i].interior = round == 2 ? 0 : (int)(rnd() % 2);
		}
		tw_open(&t, 3, "graph.hst", NONCE);
		uint8_t *p = room(&t.w, ENCODE_SCAN_MAX);
		put(&t.w, p, encode_scan(p, 1, HST_SCAN_EXIT, blocks, 0, 1, 0), ENCODE_SCAN_MAX);
		encode_graph_init(&g, mem, blocks);
		for (unsigned i = 0; i < n; i++) {
			if (!encode_graph_room(&g) || i == n / 2) { /* a record ends, maybe mid-source */
				p = room(&t.w, encode_graph_max(&g));
				put(&t.w, p, encode_graph(p, &g), encode_graph_max(&g));
				if (i == n / 2) {
					p = room(&t.w, encode_scan_root_max(3));
					put(&t.w, p, encode_scan_root(p, 0, HST_ROOT_ANON, 0, 0x1000, 64, "[x]", 3, 0),
					    encode_scan_root_max(3));
				}
			}
			encode_graph_edge(&g, in[i].from_root, in[i].src, in[i].offset, in[i].dst, in[i].interior);
		}
		p = room(&t.w, encode_graph_max(&g));
		put(&t.w, p, encode_graph(p, &g), encode_graph_max(&g));
		p = room(&t.w, ENCODE_SCAN_END_MAX);
		put(&t.w, p, encode_scan_end(p, n, 0, 2, 1), ENCODE_SCAN_END_MAX);
		tw_close(&t);

		struct trace_reader *r = open_ok(t.path, &d);
		next_type(r, &it, ITEM_SCAN);
		for (unsigned i = 0; i < n; i++) {
			if (i == n / 2)
				next_type(r, &it, ITEM_SCAN_ROOT);
			int rc = reader_next(r, &it);
			if (rc != 1 || it.type != ITEM_SCAN_EDGE || it.edge.from_root != in[i].from_root ||
			    it.edge.src != in[i].src || it.edge.offset != in[i].offset || it.edge.dst != in[i].dst ||
			    it.edge.dst_offset != (uint64_t)in[i].interior)
				ck_abort_msg("blocks %llu: edge %u decoded wrong (rc %d): %s", (unsigned long long)blocks,
					     i, rc, d.msg);
		}
		next_type(r, &it, ITEM_SCAN_END);
		expect_eof(r);
		reader_close(r);
	}
	free(mem);
}
END_TEST

/* Allocinfo id v of the random streams (0..50): the last ten take 4 bytes. */
static uint32_t random_id(uint32_t v)
{
	return v <= 40 ? v : v * 100003u;
}

/* Random event streams (every kind, implicit ones, times that go back,
 * ticks from 1 ns to a second, allocinfo ids of 1 to 4 bytes) come back
 * event for event, each time floored to its record's tick. */
START_TEST(test_random_events)
{
	enum { NEV = 3000 };
	static struct resolved in[NEV];
	struct tw t;
	struct hs_diag d;

	tw_open(&t, 1, "random.hst", NONCE);
	for (uint32_t v = 1; v <= 50; v++)
		rec_allocinfo(&t.w, random_id(v), random_id(v) * 3ull, random_id(v) + 7);
	size_t i = 0;
	uint64_t ticks[NEV];
	while (i < NEV) {
		struct evrec e;
		static const uint64_t tick_choices[] = {1, 1000, 100000, 999983, 1000000000};
		uint64_t tick = tick_choices[rnd() % 5];
		size_t n = 1 + rnd() % 700;
		evrec_init(&e, tick);
		/* EVENTS, EVENTS_SPLIT or EVENTS_THREADS */
		unsigned layout = (unsigned)(rnd() % 3);
		e.enc.split = layout > 0;
		e.threads = layout == 2;
		uint64_t ts = rnd() % (1ull << 50);
		for (size_t k = 0; k < n && i < NEV; k++, i++) {
			ts = rnd() % 4 ? ts + rnd() % 5000000 : ts - rnd() % (ts / 2 + 1);
			/* up to 200 threads: a record of EVENTS_THREADS may
			 * have more than 128 slots (slots of two bytes) */
			in[i] = (struct resolved){ts, (uint32_t)(rnd() % (layout == 2 && n > 400 ? 200 : 100)),
						  random_id((uint32_t)(rnd() % 51)), random_id((uint32_t)(rnd() % 51)),
						  (uint8_t)((1 + rnd() % HST_EV_KIND_MAX) | (rnd() % 7 ? 0 : HST_EV_IMPLICIT))};
			ticks[i] = tick;
			evrec_add(&e, &in[i]);
		}
		evrec_flush(&t.w, &e);
		if (rnd() % 3 == 0)
			tw_flush(&t);
	}
	tw_close(&t);

	struct trace_reader *r = open_ok(t.path, &d);
	for (i = 0; i < NEV; i++) {
		struct trace_item it;
		next_type(r, &it, ITEM_EVENT);
		const struct resolved *q = &in[i];
		unsigned kind = q->kind & HST_EV_KIND_MASK;
		uint32_t info = 0, old = 0;
		switch (hst_event_shape(kind)) {
		case HST_SHAPE_ALLOC:
		case HST_SHAPE_FREE:
			info = q->a;
			break;
		case HST_SHAPE_REALLOC:
			old = q->a;
			info = q->b;
			break;
		case HST_SHAPE_ADDR:
			break;
		}
		ck_assert_msg(it.ev.kind == kind && it.ev.implicit == !!(q->kind & HST_EV_IMPLICIT) &&
				      it.ev.thread == q->thread && it.ev.ts == q->ts / ticks[i] * ticks[i] &&
				      it.ev.info == DI(info) && it.ev.old_info == DI(old) &&
				      it.ev.size == (info ? info * 3ull : 0) && it.ev.stack == (info ? DS(info + 7) : 0) &&
				      it.ev.old_size == (old ? old * 3ull : 0),
			      "event %zu decoded wrong", i);
	}
	expect_eof(r);
	reader_close(r);
}
END_TEST

Suite *encode_suite(void)
{
	Suite *s = suite_create("encode");
	TCase *tb = tcase_create("bytes");
	TCase *tr = tcase_create("roundtrip");

	tcase_add_test(tb, test_exact_bytes);
	tcase_add_test(tb, test_bounds);
	suite_add_tcase(s, tb);

	tcase_add_unchecked_fixture(tr, root_setup, root_teardown);
	tcase_add_checked_fixture(tr, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(tr, test_every_record);
	tcase_add_test(tr, test_random_events);
	tcase_add_test(tr, test_graph_round_trip);
	tcase_add_test(tr, test_allocinfos_round_trip);
	suite_add_tcase(s, tr);
	return s;
}
