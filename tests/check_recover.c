/* Description: unit tests of src/trace/recover.c, what the reader gives
 * back of a killed process's ring file (TRACE.rings): ring files written
 * by the shim's own code (ringfile.c, the ring.h producer protocol) and by
 * hand, recovered exactly: threads, stacks, events merged by time,
 * allocinfos of their own; what PROGRESS and head say is in the chunks
 * already; wrapped and overrun rings; torn records (half a realloc, a
 * stack entry not ready or cut by the end of its segment); a file cut
 * mid-segment, bad segments, another trace's file, garbage. */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_suites.h"
#include "shim/log.h"
#include "shim/ring.h"
#include "shim/ringfile.h"
#include "shim/tls.h"
#include "trace/ringfile.h"
#include "tracebuild.h"

/* ---- ring files made by hand ------------------------------------------------- */

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
	/* the reader meets the ready entries' ids, then the events' stacks */
	for (size_t i = 0; i < nstacks; i++)
		if (stacks[i].ready)
			ids_see_stack(stacks[i].id);
	for (size_t i = 0; i < nrings; i++)
		for (size_t k = 0; k < rings[i].n; k++)
			ids_see_stack(rings[i].recs[k].stack);
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
	ck_assert_uint_eq(it.ev.stack, DS(stack));
	ck_assert_uint_eq(it.ev.old_size, old_size);
	ck_assert_uint_eq(it.ev.old_stack, DS(old_stack));
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
		ck_assert_uint_eq(it.ev.stack, DS(5));
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

/* ---- ring files written by the shim's code ------------------------------------- */

/* spin.h (ringfile.c's lock) names the shim's thread state in the debug
 * build; this runner has none of its own. */
HS_TLS struct tls_state tls;

/* ring.h's producer calls these (rings.c) only when its ring is full or
 * past half full: the collector's part, which this test plays itself. */
bool ring_wait(struct ring *r, unsigned n)
{
	(void)r;
	(void)n;
	return false;
}

void ring_kick(struct ring *r)
{
	(void)r;
}

/* A ring in a new segment of the ring file, as rings.c makes one. */
static void real_ring(struct ring *r, uint32_t id, uint32_t thread, uint32_t tid, uint32_t capacity)
{
	struct ringfile_ring *hdr = ringfile_map(RINGFILE_SEG_RING,
						 RINGFILE_RING_SLOTS_OFFSET + (size_t)capacity * sizeof(struct ring_rec));

	ck_assert_ptr_nonnull(hdr);
	hdr->ring_id = id;
	hdr->capacity = capacity;
	hdr->thread_index = thread;
	hdr->tid = tid;
	memset(r, 0, sizeof(*r));
	r->hdr = hdr;
	r->slots = (struct ring_rec *)((char *)hdr + RINGFILE_RING_SLOTS_OFFSET);
	r->mask = capacity - 1;
	r->thread_index = thread;
}

/* Push n (1 or 2) records through the producer protocol (ring.h). */
static void push(struct ring *r, const struct ring_rec *recs, unsigned n)
{
	ck_assert_ptr_nonnull(ring_reserve(r, n));
	for (unsigned i = 0; i < n; i++)
		*ring_slot(r, i) = recs[i];
	ring_commit(r, n);
}

/* One stack entry in a stacks segment, as stack.c writes one. */
static void real_stack(struct ringfile_stacks *s, uint32_t id, uint16_t depth, const uint64_t *ips)
{
	uint64_t used = atomic_load_rlx(&s->used); /* relaxed: one thread */
	struct ringfile_stack_entry *e = (void *)((char *)s + RINGFILE_STACKS_DATA_OFFSET + used);

	e->id = id;
	e->depth = depth;
	memcpy(e->ips, ips, depth * sizeof(uint64_t));
	atomic_store_rel(&e->ready, 1);
	ids_see_stack(id);
	atomic_store_rel(&s->used, used + sizeof(*e) + depth * sizeof(uint64_t));
}

/*
 * A killed run whose ring file the shim's own code wrote: two threads'
 * rings of 16 records, one wrapped twice (the collector freed the slots by
 * moving head), the other with a realloc pair, and two stacks.  Everything
 * not in the chunk comes back exactly, merged by time.
 */
START_TEST(test_recover_real_ringfile)
{
	struct tw t;
	struct hs_diag d;
	struct ring a, b;
	uint32_t info[40], old, ia, ib;
	static const uint64_t s5[] = {0x401000, 0x401100, 0x401200}, s6[] = {0x402000};

	write_killed(&t, NONCE, 0);
	ck_assert_int_eq(ringfile_create(tpath("killed.hst.rings"), NONCE), 0);
	real_ring(&a, 0, 1, 1001, 16);
	real_ring(&b, 1, 2, 1002, 16);
	struct ringfile_stacks *st = ringfile_map(RINGFILE_SEG_STACKS, 4096);
	ck_assert_ptr_nonnull(st);
	real_stack(st, 5, 3, s5);
	real_stack(st, 6, 1, s6);
	/* ring a: 40 mallocs, the collector keeping up with all but the last
	 * 12 (head follows tail as (D) in collector.c would) */
	for (uint64_t i = 0; i < 40; i++) {
		struct ring_rec rec = ring_rec_make(3000000 + 10000 * i, 0x100000 + 0x40 * i, HST_EV_MALLOC, 0,
						    8 + i, 5);
		push(&a, &rec, 1);
		if (i < 28)
			/* release: as the collector's (D) */
			atomic_store_rel(&a.hdr->head, i + 1);
	}
	/* ring b: a malloc, a realloc that moves it (two records), its free */
	struct ring_rec m = ring_rec_make(3005000, 0x900000, HST_EV_MALLOC, 0, 100, 6);
	struct ring_rec re[2] = {ring_rec_make(3105000, 0x900000, HST_EV_REALLOC, RING_REC_OLD, 0, 0),
				 ring_rec_make(3105000, 0x910000, HST_EV_REALLOC, 0, 300, 5)};
	struct ring_rec fr = ring_rec_make(3205000, 0x910000, HST_EV_FREE, 0, 0, 0);
	push(&b, &m, 1);
	push(&b, re, 2);
	push(&b, &fr, 1);
	ringfile_forget(); /* the process dies: the file stays */

	struct trace_reader *r = open_ok(t.path, &d);
	expect_killed_chunks(r);
	expect_thread(r, 1, 1001, 0);
	expect_thread(r, 2, 1002, 0);
	expect_stack(r, 5, 3, s5);
	expect_stack(r, 6, 1, s6);
	/* merged by time: ring b's three (3.005, 3.105, 3.205 ms) come before
	 * ring a's 28..39 (3.28 ms on, every 10 us) */
	expect_rec_event(r, HST_EV_MALLOC, 2, 3005000, 100, 6, 0, 0, &ib, &old);
	expect_rec_event(r, HST_EV_REALLOC, 2, 3105000, 300, 5, 100, 6, &ia, &old);
	ck_assert_uint_eq(old, ib);
	expect_rec_event(r, HST_EV_FREE, 2, 3205000, 300, 5, 0, 0, &ib, &old);
	ck_assert_uint_eq(ib, ia);
	for (uint64_t i = 28; i < 40; i++) {
		expect_rec_event(r, HST_EV_MALLOC, 1, 3000000 + 10000 * i, 8 + i, 5, 0, 0, &info[i], &old);
		for (uint64_t k = 28; k < i; k++)
			ck_assert_uint_ne(info[k], info[i]);
	}
	expect_eof(r);
	ck_assert_uint_eq(reader_recovered(r), 12 + 3);
	reader_close(r);
}
END_TEST

/* One module entry in a MODULES segment, as shim/modules.c writes one: a
 * whole MODULES record of one module, ready (or not: a writer that died
 * midway). */
static void real_module(struct ringfile_stacks *s, const char *path, uint64_t bias, int ready)
{
	static const uint8_t bid[] = {0xde, 0xad, 0xbe, 0xef};
	uint64_t used = atomic_load_rlx(&s->used); /* relaxed: one thread */
	struct ringfile_pycode_entry *e = (void *)((char *)s + RINGFILE_STACKS_DATA_OFFSET + used);
	uint8_t enc[256], *q = encode_module(enc, path, strlen(path), bid, sizeof(bid), bias, 2);

	q = encode_segment(q, 0, 0x1000, 4 /* PF_R */);
	q = encode_segment(q, 0x1000, 0x3000, 5 /* PF_R | PF_X */);
	e->len = (uint16_t)(encode_modules(e->body, 77, 1, enc, (size_t)(q - enc)) - e->body);
	if (ready)
		atomic_store_rel(&e->ready, 1);
	atomic_store_rel(&s->used, used + ((sizeof(*e) + e->len + 7) & ~(uint64_t)7));
}

/* The next item is the MODULES of real_module(path, bias). */
static void expect_module(struct trace_reader *r, const char *path, uint64_t bias)
{
	struct trace_item it;
	struct trace_module m;
	size_t pos = 0;

	next_type(r, &it, ITEM_MODULES);
	ck_assert_uint_eq(it.modules.ts, 77);
	ck_assert_uint_eq(it.modules.count, 1);
	ck_assert_int_eq(modules_next(&it, &pos, &m), 1);
	ck_assert_uint_eq(m.path.n, strlen(path));
	ck_assert_int_eq(memcmp(m.path.p, path, m.path.n), 0);
	ck_assert_uint_eq(m.build_id.n, 4);
	ck_assert_uint_eq((uint8_t)m.build_id.p[3], 0xef);
	ck_assert_uint_eq(m.load_bias, bias);
	ck_assert_uint_eq(m.lo, bias);
	ck_assert_uint_eq(m.hi, bias + 0x4000);
	ck_assert_uint_eq(m.text_lo, bias + 0x1000);
	ck_assert_int_eq(modules_next(&it, &pos, &m), 0);
}

/*
 * The trace writes a module only when a record names it; the ring file
 * holds every module the process mapped (shim/modules.c), and a killed
 * run's recovery gives them back: a crash right after start, before the
 * collector wrote a stack, still has its module map.  An entry whose
 * writer died midway is skipped.
 */
START_TEST(test_recover_modules)
{
	struct tw t;
	struct hs_diag d;
	struct ring a;
	uint32_t ia, old;
	static const uint64_t s5[] = {0x7f0000001100, 0x7f0000002200};

	write_killed(&t, NONCE, 0);
	ck_assert_int_eq(ringfile_create(tpath("killed.hst.rings"), NONCE), 0);
	real_ring(&a, 0, 1, 1001, 16);
	struct ringfile_stacks *mods = ringfile_map(RINGFILE_SEG_MODULES, 4096);
	ck_assert_ptr_nonnull(mods);
	real_module(mods, "/usr/lib/liba.so", 0x7f0000000000, 1);
	real_module(mods, "/usr/lib/torn.so", 0x7f1000000000, 0);
	real_module(mods, "/usr/lib/libb.so", 0x7f2000000000, 1);
	struct ringfile_stacks *st = ringfile_map(RINGFILE_SEG_STACKS, 4096);
	ck_assert_ptr_nonnull(st);
	real_stack(st, 5, 2, s5);
	struct ring_rec rec = ring_rec_make(3000000, 0x100000, HST_EV_MALLOC, 0, 24, 5);
	push(&a, &rec, 1);
	ringfile_forget(); /* the process dies: the file stays */

	/* twice: the first read merges the ring file into the trace (the
	 * modules become a MODULES record each), the second reads them there */
	for (int pass = 0; pass < 2; pass++) {
		struct trace_reader *r = open_ok(t.path, &d);
		expect_killed_chunks(r);
		expect_thread(r, 1, 1001, 0);
		expect_module(r, "/usr/lib/liba.so", 0x7f0000000000);
		expect_module(r, "/usr/lib/libb.so", 0x7f2000000000);
		expect_stack(r, 5, 2, s5);
		expect_rec_event(r, HST_EV_MALLOC, 1, 3000000, 24, 5, 0, 0, &ia, &old);
		expect_eof(r);
		ck_assert_uint_eq(reader_recovered(r), 1);
		reader_close(r);
	}
}
END_TEST

/*
 * ringfile_unload gives a segment's pages back to the file, never its
 * contents: a stacks segment unloaded after its entries were written (as
 * stack.c does) still reads the same in the process, and a killed run's
 * recovery finds its entries.  A segment in memory only (the file could
 * not grow: a file size limit) keeps its contents too, as its pages are
 * their only copy.
 */
START_TEST(test_ringfile_unload)
{
	struct tw t;
	struct hs_diag d;
	struct rlimit old_lim, lim;
	static const uint64_t s5[] = {0x401000, 0x401100, 0x401200};

	write_killed(&t, NONCE, 0);
	ck_assert_int_eq(ringfile_create(tpath("killed.hst.rings"), NONCE), 0);
	struct ringfile_stacks *st = ringfile_map(RINGFILE_SEG_STACKS, 8192);
	ck_assert_ptr_nonnull(st);
	real_stack(st, 5, 3, s5);
	const struct ringfile_stack_entry *e = (const void *)((char *)st + RINGFILE_STACKS_DATA_OFFSET);
	ringfile_unload(st);
	ck_assert_uint_eq(e->id, 5);
	ck_assert_uint_eq(e->depth, 3);
	ck_assert_mem_eq(e->ips, s5, sizeof(s5));

	/* the file may not grow past its size: the next segment is memory */
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old_lim), 0);
	lim = old_lim;
	lim.rlim_cur = RINGFILE_HEADER_SIZE + 8192;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	log_set_fd(-1); /* its warning is expected */
	char *mem = ringfile_map(RINGFILE_SEG_STACKS, 8192);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old_lim), 0);
	ck_assert_ptr_nonnull(mem);
	memset(mem + 4096, 0x5a, 4096);
	ringfile_unload(mem);
	for (int i = 4096; i < 8192; i++)
		ck_assert_int_eq(mem[i], 0x5a);
	ringfile_forget(); /* the process dies: the file stays */
	log_set_fd(2);

	struct trace_reader *r = open_ok(t.path, &d);
	expect_killed_chunks(r);
	expect_stack(r, 5, 3, s5);
	expect_eof(r);
	reader_close(r);
}
END_TEST

/* ---- damaged ring files ------------------------------------------------------- */

/* Rings 0 and 1 as test_recover_rings has them. */
static const struct ringspec two_rings[] = {
	{0, 1, 1001, 1, 6, ring0, 0, 6},
	{1, 2, 1002, 0, 2, ring1, 0, 2},
};

/* A file cut inside the second ring's segment (a crash while the file
 * grew): the first ring comes back; the walk stops at the cut segment. */
START_TEST(test_recover_cut_file)
{
	struct tw t;
	struct hs_diag d;
	uint32_t info, old;

	write_killed(&t, NONCE, 0);
	write_rings(t.path, NONCE, two_rings, 2, rstacks, 5);
	ck_assert_int_eq(truncate(tpath("killed.hst.rings"), RINGFILE_HEADER_SIZE + RING_SEG_BYTES + 1000), 0);
	struct trace_reader *r = open_ok(t.path, &d);
	expect_killed_chunks(r);
	expect_thread(r, 1, 1001, 0);
	expect_rec_event(r, HST_EV_MALLOC, 1, 2000000, 10, 5, 0, 0, &info, &old);
	expect_rec_event(r, HST_EV_REALLOC, 1, 2100000, 64, 5, 10, 5, &info, &old);
	expect_rec_event(r, HST_EV_FREE, 1, 2200000, 64, 5, 0, 0, &info, &old);
	expect_rec_event(r, HST_EV_FREE, 1, 2300000, 0, 0, 0, 0, &info, &old);
	expect_eof(r);
	ck_assert_uint_eq(reader_recovered(r), 4);
	reader_close(r);
}
END_TEST

/* Patch ring i's header in the ring file of trace path: capacity, and the
 * segment's magic. */
static void patch_ring(int i, uint32_t capacity, uint32_t magic)
{
	struct ringfile_ring g;
	int fd = open(tpath("killed.hst.rings"), O_RDWR);
	off_t off = RINGFILE_HEADER_SIZE + (off_t)i * RING_SEG_BYTES;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &g, sizeof(g), off), (ssize_t)sizeof(g));
	g.capacity = capacity;
	g.seg.magic = magic;
	ck_assert_int_eq(pwrite(fd, &g, sizeof(g), off), (ssize_t)sizeof(g));
	close(fd);
}

/* A ring whose capacity is not a power of two, or 0, or whose slots would
 * run past its segment, is skipped; the others come back. */
START_TEST(test_recover_bad_capacity)
{
	static const uint32_t bad[] = {48, 0, 1u << 20};

	for (unsigned k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		struct tw t;
		struct hs_diag d;
		uint32_t inew, idel, old;

		write_killed(&t, NONCE, 0);
		write_rings(t.path, NONCE, two_rings, 2, NULL, 0);
		patch_ring(0, bad[k], RINGFILE_SEG_MAGIC);
		/* the reader meets the chunk's ids, then ring 1's stacks only */
		ids_reset();
		ids_see_stack(1);
		ids_see_info(1);
		for (size_t i = 0; i < two_rings[1].n; i++)
			ids_see_stack(two_rings[1].recs[i].stack);
		struct trace_reader *r = open_ok(t.path, &d);
		expect_killed_chunks(r);
		expect_thread(r, 2, 1002, 0);
		expect_rec_event(r, HST_EV_NEW, 2, 2050000, 32, 6, 0, 0, &inew, &old);
		expect_rec_event(r, HST_EV_DELETE, 2, 2150000, 32, 6, 0, 0, &idel, &old);
		ck_assert_uint_eq(idel, inew);
		expect_eof(r);
		ck_assert_uint_eq(reader_recovered(r), 2);
		reader_close(r);
		unlink(t.path);
		/* the ring file too: the writer gives a name whose ring file
		 * name is taken to no new trace */
		unlink(tpath("killed.hst.rings"));
	}
}
END_TEST

/* A segment whose magic is gone ends the walk: nothing from it or after. */
START_TEST(test_recover_bad_magic)
{
	struct tw t;
	struct hs_diag d;
	uint32_t info, old;

	write_killed(&t, NONCE, 0);
	write_rings(t.path, NONCE, two_rings, 2, rstacks, 5);
	patch_ring(1, RING_CAP, 0x12345678);
	struct trace_reader *r = open_ok(t.path, &d);
	expect_killed_chunks(r);
	expect_thread(r, 1, 1001, 0);
	for (int i = 0; i < 4; i++)
		expect_rec_event(r, i == 1 ? HST_EV_REALLOC : i ? HST_EV_FREE : HST_EV_MALLOC, 1,
				 i == 0 ? 2000000 : i == 1 ? 2100000 : i == 2 ? 2200000 : 2300000,
				 i == 0 ? 10 : i == 3 ? 0 : 64, i == 3 ? 0 : 5, i == 1 ? 10 : 0, i == 1 ? 5 : 0, &info, &old);
	expect_eof(r);
	ck_assert_uint_eq(reader_recovered(r), 4);
	reader_close(r);
}
END_TEST

/* More records than the ring holds were committed after head (the file of
 * a process that died mid-overwrite, or a damaged tail): only the last
 * capacity records can be in the slots, and only those come back. */
START_TEST(test_recover_overrun)
{
	struct tw t;
	struct hs_diag d;
	struct rspec recs[RING_CAP];
	uint32_t info, old;

	for (int i = 0; i < RING_CAP; i++)
		recs[i] = (struct rspec)R(HST_EV_MALLOC, 4000000 + 1000 * (uint64_t)i, 0x300000 + 0x40 * (uint64_t)i,
					     (uint64_t)i + 1, 1);
	/* head 0, tail capacity + 10: positions 10 .. capacity + 9 are there */
	const struct ringspec rings[] = {{0, 1, 1001, 0, RING_CAP + 10, recs, 10, RING_CAP}};
	write_killed(&t, NONCE, 0);
	write_rings(t.path, NONCE, rings, 1, NULL, 0);
	struct trace_reader *r = open_ok(t.path, &d);
	expect_killed_chunks(r);
	expect_thread(r, 1, 1001, 0);
	for (int i = 0; i < RING_CAP; i++)
		expect_rec_event(r, HST_EV_MALLOC, 1, 4000000 + 1000 * (uint64_t)i, (uint64_t)i + 1, 1, 0, 0, &info,
				 &old);
	expect_eof(r);
	ck_assert_uint_eq(reader_recovered(r), RING_CAP);
	reader_close(r);
}
END_TEST

/* The orphan ring (threads past their exit, thread index 0): no THREAD
 * item, its events on thread 0. */
START_TEST(test_recover_orphan_ring)
{
	struct tw t;
	struct hs_diag d;
	uint32_t inew, idel, old;
	const struct ringspec rings[] = {{3, 0, 0, 0, 2, ring1, 0, 2}};

	write_killed(&t, NONCE, 0);
	write_rings(t.path, NONCE, rings, 1, NULL, 0);
	struct trace_reader *r = open_ok(t.path, &d);
	expect_killed_chunks(r);
	expect_rec_event(r, HST_EV_NEW, 0, 2050000, 32, 6, 0, 0, &inew, &old);
	expect_rec_event(r, HST_EV_DELETE, 0, 2150000, 32, 6, 0, 0, &idel, &old);
	ck_assert_uint_eq(idel, inew);
	expect_eof(r);
	reader_close(r);
}
END_TEST

/* A stack entry cut by the end of what its segment says is used (its
 * writer died between reserving and publishing): the entries before it
 * come back, it does not. */
START_TEST(test_recover_torn_stack)
{
	struct tw t;
	struct hs_diag d;
	static const uint64_t s5[] = {0x401000, 0x401100};
	const struct stackspec stacks[] = {{5, 2, 1, {0x401000, 0x401100}}, {9, 4, 1, {1, 2, 3, 4}}};

	write_killed(&t, NONCE, 0);
	write_rings(t.path, NONCE, NULL, 0, stacks, 2);
	/* used: all of entry 5, and 20 bytes of entry 9 */
	struct ringfile_stacks st;
	int fd = open(tpath("killed.hst.rings"), O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &st, sizeof(st), RINGFILE_HEADER_SIZE), (ssize_t)sizeof(st));
	st.used = sizeof(struct ringfile_stack_entry) + 2 * sizeof(uint64_t) + 20;
	ck_assert_int_eq(pwrite(fd, &st, sizeof(st), RINGFILE_HEADER_SIZE), (ssize_t)sizeof(st));
	close(fd);
	struct trace_reader *r = open_ok(t.path, &d);
	expect_killed_chunks(r);
	expect_stack(r, 5, 2, s5);
	expect_eof(r);
	reader_close(r);
}
END_TEST


Suite *recover_suite(void)
{
	Suite *s = suite_create("recover");
	TCase *tv = tcase_create("recover");
	TCase *tl = tcase_create("recover-limited");

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
	tcase_add_test(tv, test_recover_real_ringfile);
	tcase_add_test(tv, test_ringfile_unload);
	tcase_add_test(tv, test_recover_cut_file);
	tcase_add_test(tv, test_recover_bad_capacity);
	tcase_add_test(tv, test_recover_bad_magic);
	tcase_add_test(tv, test_recover_overrun);
	tcase_add_test(tv, test_recover_orphan_ring);
	tcase_add_test(tv, test_recover_torn_stack);
	tcase_add_test(tv, test_recover_modules);
	suite_add_tcase(s, tv);

	tcase_add_unchecked_fixture(tl, root_setup, root_teardown);
	tcase_add_checked_fixture(tl, limit_setup, limit_teardown);
	tcase_add_test(tl, test_recover_many_allocations);
	suite_add_tcase(s, tl);
	return s;
}
