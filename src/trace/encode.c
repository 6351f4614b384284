/*
 * encode.c - every trace record, written into the caller's buffer.
 * HOOK-SAFE.
 */
#include "trace/encode.h"

#include <string.h>

#include "trace/format.h"
#include "util/assert.h"
#include "util/compiler.h"
#include "util/hooksafe.h"

/* ---- fields ------------------------------------------------------------------- */

static uint8_t *put_v(uint8_t *p, uint64_t v)
{
	return varint_put(p, v);
}

static uint8_t *put_z(uint8_t *p, int64_t v)
{
	return varint_put(p, zigzag_enc(v));
}

/* A string: its length, then its bytes (no NUL). */
static uint8_t *put_s(uint8_t *p, const void *s, size_t n)
{
	p = varint_put(p, n);
	if (n)
		memcpy(p, s, n);
	return p + n;
}

/* Open a record of tag at p: the tag, and a length to be filled in by
 * encode_close.  Return where its body goes. */
static uint8_t *open_record(uint8_t *p, uint8_t tag)
{
	p[0] = tag;
	p[1] = 0x80;
	p[2] = 0x80;
	p[3] = 0x80;
	p[4] = 0;
	return p + ENCODE_HEAD;
}

uint8_t *encode_close(uint8_t *rec, uint8_t *end)
{
	size_t n = (size_t)(end - rec) - ENCODE_HEAD;

	HS_ASSERT(n < ENCODE_BODY_MAX);
	/* a 4-byte LEB128 with the continuation bits forced */
	rec[1] = (uint8_t)(0x80 | (n & 0x7f));
	rec[2] = (uint8_t)(0x80 | ((n >> 7) & 0x7f));
	rec[3] = (uint8_t)(0x80 | ((n >> 14) & 0x7f));
	rec[4] = (uint8_t)((n >> 21) & 0x7f);
	return end;
}

/* ---- process and modules -------------------------------------------------------- */

uint8_t *encode_process(uint8_t *p, const struct encode_process *pr)
{
	uint8_t *q = open_record(p, HST_REC_PROCESS);

	q = put_v(q, pr->pid);
	q = put_v(q, pr->ppid);
	q = put_s(q, pr->exe, pr->exe_len);
	q = put_s(q, pr->cmdline, pr->cmdline_len);
	q = put_s(q, pr->options, pr->options_len);
	q = put_s(q, pr->allocator, pr->allocator_len);
	q = put_v(q, pr->max_frames);
	return encode_close(p, q);
}

uint8_t *encode_module(uint8_t *p, const char *path, size_t path_len, const uint8_t *build_id,
		       size_t build_id_len, uint64_t load_bias, uint32_t nseg)
{
	p = put_s(p, path, path_len);
	p = put_s(p, build_id, build_id_len);
	p = put_v(p, load_bias);
	return put_v(p, nseg);
}

uint8_t *encode_segment(uint8_t *p, uint64_t vaddr, uint64_t memsz, uint32_t flags)
{
	p = put_v(p, vaddr);
	p = put_v(p, memsz);
	return put_v(p, flags);
}

uint8_t *encode_modules(uint8_t *p, uint64_t ts, uint64_t count, const uint8_t *modules, size_t len)
{
	uint8_t *q = open_record(p, HST_REC_MODULES);

	q = put_v(q, ts);
	q = put_v(q, count);
	if (len)
		memcpy(q, modules, len);
	return encode_close(p, q + len);
}

/* ---- stacks, threads, allocinfos, snapshots --------------------------------------- */

/* The fields STACK and STACK_NEAR begin with. */
static uint8_t *stack_head(uint8_t *q, uint32_t id, uint32_t depth, uint32_t ref, uint32_t shared)
{
	HS_ASSERT(shared <= depth);
	q = put_v(q, id);
	q = put_v(q, depth);
	q = put_v(q, ref);
	return put_v(q, shared);
}

uint8_t *encode_stack(uint8_t *p, uint32_t id, uint32_t depth, uint32_t ref, uint32_t shared,
		      const uint64_t *ips)
{
	uint8_t *q = stack_head(open_record(p, HST_REC_STACK), id, depth, ref, shared);

	/* the innermost frames: the first whole, the others as the difference
	 * from the one before (calls from one function are near each other) */
	for (uint32_t i = 0; i < depth - shared; i++)
		q = i ? put_z(q, (int64_t)(ips[i] - ips[i - 1])) : put_v(q, ips[0]);
	return encode_close(p, q);
}

uint8_t *encode_stack_near(uint8_t *p, uint32_t id, uint32_t depth, uint32_t ref, uint32_t shared,
			   const uint64_t *ips, uint64_t *first)
{
	uint8_t *q = stack_head(open_record(p, HST_REC_STACK_NEAR), id, depth, ref, shared);

	for (uint32_t i = 0; i < depth - shared; i++)
		q = put_z(q, (int64_t)(ips[i] - (i ? ips[i - 1] : *first)));
	if (depth > shared)
		*first = ips[0];
	return encode_close(p, q);
}

uint8_t *encode_thread(uint8_t *p, uint32_t index, uint32_t tid, uint64_t start_ns)
{
	uint8_t *q = open_record(p, HST_REC_THREAD);

	q = put_v(q, index);
	q = put_v(q, tid);
	q = put_v(q, start_ns);
	return encode_close(p, q);
}

uint8_t *encode_thread_end(uint8_t *p, uint32_t index, uint64_t end_ns, const char *name, size_t name_len)
{
	uint8_t *q = open_record(p, HST_REC_THREAD_END);

	q = put_v(q, index);
	q = put_v(q, end_ns);
	q = put_s(q, name, name_len);
	return encode_close(p, q);
}

uint8_t *encode_allocinfo(uint8_t *p, uint32_t id, uint64_t size, uint32_t stack)
{
	uint8_t *q = open_record(p, HST_REC_ALLOCINFO);

	HS_ASSERT(id != 0);
	q = put_v(q, id);
	q = put_v(q, size);
	q = put_v(q, stack);
	return encode_close(p, q);
}

void encode_allocinfos_add(struct encode_allocinfos *a, uint32_t id, uint64_t size, uint32_t stack)
{
	struct encode_column *c = a->col;

	HS_ASSERT(id != 0);
	for (int i = 0; i < 3; i++)
		HS_ASSERT(c[i].cap - c[i].len >= ENCODE_ALLOCINFOS_COL_MAX);
	c[0].len = (size_t)(put_z(c[0].p + c[0].len, (int64_t)id - a->prev_id) - c[0].p);
	c[1].len = (size_t)(put_v(c[1].p + c[1].len, size) - c[1].p);
	c[2].len = (size_t)(put_z(c[2].p + c[2].len, (int64_t)stack - a->prev_stack) - c[2].p);
	a->prev_id = id;
	a->prev_stack = stack;
	a->count++;
}

void encode_allocinfos_clear(struct encode_allocinfos *a)
{
	for (int i = 0; i < 3; i++)
		a->col[i].len = 0;
	a->count = a->prev_id = a->prev_stack = 0;
}

uint8_t *encode_allocinfos(uint8_t *p, struct encode_allocinfos *a)
{
	if (!a->count)
		return p;
	uint8_t *q = open_record(p, HST_REC_ALLOCINFOS);
	q = put_v(q, a->count);
	for (int i = 0; i < 3; i++)
		q = put_s(q, a->col[i].p, a->col[i].len);
	encode_allocinfos_clear(a);
	return encode_close(p, q);
}

uint8_t *encode_snapshot(uint8_t *p, uint64_t ts, uint32_t index, int trigger, const char *label,
			 size_t label_len)
{
	uint8_t *q = open_record(p, HST_REC_SNAPSHOT);

	q = put_v(q, ts);
	q = put_v(q, index);
	q = put_v(q, (uint64_t)trigger);
	q = put_s(q, label, label_len);
	return encode_close(p, q);
}

uint8_t *encode_rss(uint8_t *p, uint64_t ts, uint64_t bytes)
{
	uint8_t *q = open_record(p, HST_REC_RSS);

	q = put_v(q, ts);
	q = put_v(q, bytes);
	return encode_close(p, q);
}

uint8_t *encode_rss_delta(uint8_t *p, uint64_t ts, uint64_t bytes, uint64_t prev_ts, uint64_t prev_bytes)
{
	uint8_t *q = open_record(p, HST_REC_RSS_DELTA);
	uint64_t d = bytes - prev_bytes;
	/* resident memory is whole pages: the difference in pages, unless
	 * it is not (then in bytes) */
	unsigned shift = d & 4095 ? 0 : 12;

	q = put_z(q, (int64_t)(ts - prev_ts));
	q = put_v(q, shift);
	q = put_z(q, (int64_t)d >> shift); /* exact: d is a multiple of 2^shift */
	return encode_close(p, q);
}

/* Bytes of v as a varint. */
static size_t v_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* The trailing zero bits of acc (the or of some values: the zeros they
 * all end in), at most cap. */
static unsigned common_zeros(uint64_t acc, unsigned cap)
{
	unsigned k = 0;

	while (k < cap && !(acc >> k & 1))
		k++;
	return k;
}

uint8_t *encode_rss_series(uint8_t *p, const struct encode_rss_sample *s, size_t n,
			   struct encode_rss_sample prev)
{
	uint8_t *q = open_record(p, HST_REC_RSS_SERIES);
	uint64_t tacc = 0, bacc = 0;
	size_t tlen = 0, blen = 0;

	HS_ASSERT(n >= 1);
	/* each column in the largest unit that divides all its deltas (a
	 * sample time's grain, a page) */
	for (size_t i = 0; i < n; i++) {
		tacc |= s[i].ts - (i ? s[i - 1].ts : prev.ts);
		bacc |= s[i].bytes - (i ? s[i - 1].bytes : prev.bytes);
	}
	unsigned ts = common_zeros(tacc, 32), bs = common_zeros(bacc, 32);
	for (size_t i = 0; i < n; i++) {
		struct encode_rss_sample b = i ? s[i - 1] : prev;
		tlen += v_len(zigzag_enc((int64_t)(s[i].ts - b.ts) >> ts));
		blen += v_len(zigzag_enc((int64_t)(s[i].bytes - b.bytes) >> bs));
	}
	q = put_v(q, n);
	q = put_v(q, ts);
	q = put_v(q, bs);
	q = put_v(q, tlen);
	for (size_t i = 0; i < n; i++) /* exact: every delta is a multiple of 2^ts */
		q = put_z(q, (int64_t)(s[i].ts - (i ? s[i - 1].ts : prev.ts)) >> ts);
	q = put_v(q, blen);
	for (size_t i = 0; i < n; i++)
		q = put_z(q, (int64_t)(s[i].bytes - (i ? s[i - 1].bytes : prev.bytes)) >> bs);
	return encode_close(p, q);
}

/* ---- events ------------------------------------------------------------------------ */

void encode_event_temporary(struct encode_events *e)
{
	HS_ASSERT(e->count > 0);
	uint32_t i = e->count - 1;
	e->col[4].p[i / 8] |= (uint8_t)(1u << (i % 8));
	e->temporary++;
}

/* The varint at *pp, which the encoder wrote (so well formed); advance. */
static inline uint64_t own_v(const uint8_t **pp)
{
	const uint8_t *p = *pp;
	uint64_t v = 0;
	unsigned shift = 0;

	do
		v |= (uint64_t)(*p & 0x7f) << shift, shift += 7;
	while (*p++ & 0x80);
	*pp = p;
	return v;
}

/* Bytes of the encoder's varint at p, which must be there. */
static inline uint32_t own_v_len(const uint8_t *p)
{
	uint32_t n = 1;

	while (*p++ & 0x80)
		n++;
	return n;
}

/* The 8 bytes at p, the first the lowest. */
static inline uint64_t load8(const uint8_t *p)
{
	uint64_t x;

	memcpy(&x, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	x = __builtin_bswap64(x);
#endif
	return x;
}

static inline void store8(uint8_t *p, uint64_t x)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	x = __builtin_bswap64(x);
#endif
	memcpy(p, &x, 8);
}

/* Bytes of the varint in the low bytes of x (8 at most: an allocinfo id
 * takes 5), counted without a branch: its last byte is the first with
 * the high bit clear.  The top bit keeps ctz's argument nonzero when x is
 * no varint (bytes past a column's end, whose length is then unused). */
static inline uint32_t vlen8(uint64_t x)
{
	return (uint32_t)__builtin_ctzll((~x & 0x8080808080808080ull) | (1ull << 63)) / 8 + 1;
}

/* Bytes between two of a slot's columns while put_slot_columns fills
 * them: room for an 8-byte store at the end of the one before. */
#define SLOT_GAP 8

/*
 * EVENTS_THREADS' columns of every slot, at q: the kinds and blocks that
 * e's columns hold in time order (each event's slot in col[1]), cut by
 * slot.  One pass sizes each slot's columns, a second copies each event's
 * bytes to its slot's, then the columns close up.  A producer's and a
 * consumer's events interleave at random, so a branch on an event's shape
 * would miss every other time (prodcons: 19 ns an event); both passes
 * read and copy 8 bytes of each column whatever the shape and keep the
 * bytes of the blocks the event has, into columns SLOT_GAP bytes apart.
 * Near the end of a time-order column, where 8 bytes may not be there,
 * an event takes the careful way.  No memory but the slots'; it runs
 * only for a cycle in which two threads or more have events.
 */
static uint8_t *put_slot_columns(uint8_t *q, struct encode_events *e)
{
	struct encode_slot *s = e->slots;
	const uint8_t *kind = e->col[0].p, *sl = e->col[1].p, *a = e->col[3].p, *f = e->col[ENCODE_EVENT_FREED].p;
	const uint8_t *a0 = a, *f0 = f;
	size_t a_cap = e->col[3].cap, f_cap = e->col[ENCODE_EVENT_FREED].cap;
	/* slots below 128 are one byte each: the slots column is an array */
	int small = e->nslots <= 128;

	for (uint32_t i = 0; i < e->nslots; i++)
		s[i].n[0] = s[i].n[1] = s[i].n[2] = 0;
	for (uint32_t i = 0; i < e->count; i++) {
		uint64_t k = small ? sl[i] : own_v(&sl);
		unsigned sh = hst_event_shape(kind[i] & HST_EV_KIND_MASK);
		/* the shapes with an allocated block (ALLOC 0, REALLOC 2), with
		 * a freed one (FREE 1, REALLOC 2) */
		uint32_t ha = (0x5u >> sh) & 1, hf = (0x6u >> sh) & 1, la, lf;
		HS_ASSERT(k < e->nslots);
		if (HS_LIKELY((size_t)(a - a0) + 8 <= a_cap && (size_t)(f - f0) + 8 <= f_cap)) {
			la = vlen8(load8(a)) & -ha;
			lf = vlen8(load8(f)) & -hf;
		} else {
			la = ha ? own_v_len(a) : 0;
			lf = hf ? own_v_len(f) : 0;
		}
		s[k].n[0]++;
		s[k].n[1] += la;
		s[k].n[2] += lf;
		a += la;
		f += lf;
	}
	/* each slot's columns, their lengths written and their bytes left
	 * to fill; n[] becomes where each column's next byte goes */
	uint8_t *base = q;
	for (uint32_t i = 0; i < e->nslots; i++)
		for (int c = 0; c < 3; c++) {
			q = put_v(q, s[i].n[c]);
			uint32_t len = s[i].n[c];
			s[i].n[c] = (uint32_t)(q - base);
			q += len + SLOT_GAP;
		}
	sl = e->col[1].p;
	a = e->col[3].p;
	f = e->col[ENCODE_EVENT_FREED].p;
	for (uint32_t i = 0; i < e->count; i++) {
		struct encode_slot *t = &s[small ? sl[i] : own_v(&sl)];
		unsigned sh = hst_event_shape(kind[i] & HST_EV_KIND_MASK);
		uint32_t ha = (0x5u >> sh) & 1, hf = (0x6u >> sh) & 1;
		base[t->n[0]++] = kind[i];
		if (HS_LIKELY((size_t)(a - a0) + 8 <= a_cap && (size_t)(f - f0) + 8 <= f_cap)) {
			/* the 8 bytes land in the column's own bytes still to
			 * come, or in the gap after it */
			uint64_t xa = load8(a), xf = load8(f);
			uint32_t la = vlen8(xa) & -ha, lf = vlen8(xf) & -hf;
			store8(base + t->n[1], xa);
			t->n[1] += la;
			a += la;
			store8(base + t->n[2], xf);
			t->n[2] += lf;
			f += lf;
		} else {
			if (ha) {
				uint32_t la = own_v_len(a);
				memcpy(base + t->n[1], a, la);
				t->n[1] += la;
				a += la;
			}
			if (hf) {
				uint32_t lf = own_v_len(f);
				memcpy(base + t->n[2], f, lf);
				t->n[2] += lf;
				f += lf;
			}
		}
	}
	/* close the gaps: each column (its length, then its bytes, which
	 * end at n[]) moves down to the end of the one before */
	uint8_t *d = base, *from = base;
	for (uint32_t i = 0; i < e->nslots; i++)
		for (int c = 0; c < 3; c++) {
			size_t len = (size_t)(base + s[i].n[c] - from);
			memmove(d, from, len);
			d += len;
			from = base + s[i].n[c] + SLOT_GAP;
		}
	HS_ASSERT(from == q);
	return d;
}

uint8_t *encode_events(uint8_t *p, struct encode_events *e)
{
	if (!e->count)
		return p;
	int threads = e->split && e->nslots;
	uint8_t *q = open_record(p, threads ? HST_REC_EVENTS_THREADS
				 : e->split ? HST_REC_EVENTS_SPLIT
					    : HST_REC_EVENTS);
	q = put_v(q, e->base);
	q = put_v(q, e->count);
	q = put_v(q, e->tick);
	if (threads) {
		q = put_v(q, e->nslots);
		for (uint32_t i = 0; i < e->nslots; i++)
			q = put_v(q, e->slots[i].thread);
		q = put_s(q, e->col[1].p, e->col[1].len);
		q = put_s(q, e->col[2].p, e->col[2].len);
		q = put_slot_columns(q, e);
	} else {
		for (int i = 0; i < 4; i++)
			q = put_s(q, e->col[i].p, e->col[i].len);
		if (e->split)
			q = put_s(q, e->col[ENCODE_EVENT_FREED].p, e->col[ENCODE_EVENT_FREED].len);
	}
	/* the bitmap only when a bit is set: an empty one is one byte */
	q = put_s(q, e->col[4].p, e->temporary ? e->col[4].len : 0);
	encode_events_clear(e);
	return encode_close(p, q);
}

/* ---- progress and end ------------------------------------------------------------- */

uint8_t *encode_progress_begin(uint8_t *p, uint64_t count)
{
	return put_v(open_record(p, HST_REC_PROGRESS), count);
}

uint8_t *encode_progress_ring(uint8_t *p, uint32_t ring_id, uint64_t position)
{
	p = put_v(p, ring_id);
	return put_v(p, position);
}

uint8_t *encode_end_lost(uint8_t *p, uint64_t ts, int reason, int64_t status, uint64_t events,
			 uint64_t dropped, uint64_t lost)
{
	uint8_t *q = open_record(p, HST_REC_END);

	q = put_v(q, ts);
	q = put_v(q, (uint64_t)reason);
	q = put_z(q, status);
	q = put_v(q, events);
	q = put_v(q, dropped);
	q = put_v(q, lost);
	return encode_close(p, q);
}

uint8_t *encode_recovered(uint8_t *p, uint64_t events)
{
	uint8_t *q = open_record(p, HST_REC_RECOVERED);

	q = put_v(q, events);
	return encode_close(p, q);
}

uint8_t *encode_stopped(uint8_t *p, uint64_t ts, int error)
{
	uint8_t *q = open_record(p, HST_REC_STOPPED);

	q = put_v(q, ts);
	q = put_v(q, (uint64_t)error);
	return encode_close(p, q);
}

/* ---- the pointer scan --------------------------------------------------------------- */

uint8_t *encode_scan(uint8_t *p, uint64_t ts, int reason, uint64_t blocks, uint64_t snapshot, uint32_t stopped,
		     uint32_t missed)
{
	uint8_t *q = open_record(p, HST_REC_SCAN);

	q = put_v(q, ts);
	q = put_v(q, (uint64_t)reason);
	q = put_v(q, blocks);
	q = put_v(q, snapshot);
	q = put_v(q, stopped);
	q = put_v(q, missed);
	return encode_close(p, q);
}

uint8_t *encode_scan_blocks_begin(uint8_t *p, uint64_t count)
{
	return put_v(open_record(p, HST_REC_SCAN_BLOCKS), count);
}

uint8_t *encode_scan_block(uint8_t *p, struct encode_blocks *s, uint64_t addr, uint32_t info, uint32_t seq)
{
	p = put_z(p, (int64_t)(addr - s->prev_addr));
	p = put_v(p, info);
	/* neighbours in memory were often allocated one after the other:
	 * the difference, as a signed 32-bit one, is small */
	p = put_z(p, (int32_t)(seq - s->prev_seq));
	s->prev_addr = addr;
	s->prev_seq = seq;
	return p;
}

uint8_t *encode_scan_root(uint8_t *p, uint32_t index, int kind, uint32_t thread, uint64_t addr, uint64_t bytes,
			  const char *name, size_t name_len, uint64_t pc)
{
	uint8_t *q = open_record(p, HST_REC_SCAN_ROOT);

	q = put_v(q, index);
	q = put_v(q, (uint64_t)kind);
	q = put_v(q, thread);
	q = put_v(q, addr);
	q = put_v(q, bytes);
	q = put_s(q, name, name_len);
	q = put_v(q, pc);
	return encode_close(p, q);
}

uint8_t *encode_scan_edges_begin(uint8_t *p, struct encode_edges *s, int from_root, uint64_t src,
				 uint64_t count)
{
	uint8_t *q = open_record(p, HST_REC_SCAN_EDGES);

	s->prev_offset = 0;
	s->prev_target = 0;
	q = put_v(q, (uint64_t)from_root);
	q = put_v(q, src);
	return put_v(q, count);
}

uint8_t *encode_scan_edge(uint8_t *p, struct encode_edges *s, uint64_t offset, uint64_t target, int interior)
{
	HS_ASSERT(offset >= s->prev_offset);
	p = put_v(p, offset - s->prev_offset);
	p = put_v(p, zigzag_enc((int64_t)(target - s->prev_target)) << 1 | (interior != 0));
	s->prev_offset = offset;
	s->prev_target = target;
	return p;
}

/* Scratch layout: the columns at fixed places, each with room for a
 * whole record's worth. */
#define GRAPH_SRC_CAP ((size_t)ENCODE_GRAPH_EDGES * ENCODE_V)
#define GRAPH_CNT_CAP ((size_t)ENCODE_GRAPH_EDGES * ENCODE_V)
#define GRAPH_OFF_CAP ((size_t)ENCODE_GRAPH_EDGES * ENCODE_V)
#define GRAPH_TGT_CAP ((size_t)ENCODE_GRAPH_EDGES * 8)
#define GRAPH_INT_CAP ((size_t)ENCODE_GRAPH_EDGES / 8)

size_t encode_graph_mem(void)
{
	return GRAPH_SRC_CAP + GRAPH_CNT_CAP + GRAPH_OFF_CAP + GRAPH_TGT_CAP + GRAPH_INT_CAP;
}

void encode_graph_clear(struct encode_graph *g)
{
	memset(g->interior, 0, GRAPH_INT_CAP);
	g->src_len = g->cnt_len = g->off_len = 0;
	g->sources = g->edges = g->cur_edges = 0;
	g->prev_src = 0;
	g->any_interior = 0;
}

void encode_graph_init(struct encode_graph *g, void *mem, uint64_t blocks)
{
	uint8_t *m = mem;

	g->src = m;
	g->cnt = m + GRAPH_SRC_CAP;
	g->off = g->cnt + GRAPH_CNT_CAP;
	g->tgt = g->off + GRAPH_OFF_CAP;
	g->interior = g->tgt + GRAPH_TGT_CAP;
	g->width = 1;
	while (g->width < 8 && blocks > 1ull << (8 * g->width))
		g->width++;
	encode_graph_clear(g);
}

/* The current source's edge count goes into its column. */
static void graph_end_source(struct encode_graph *g)
{
	if (g->cur_edges)
		g->cnt_len = (size_t)(put_v(g->cnt + g->cnt_len, (uint64_t)g->cur_edges << 1 | (g->cur_kind != 0)) -
				      g->cnt);
	g->cur_edges = 0;
}

void encode_graph_edge(struct encode_graph *g, int from_root, uint64_t src, uint64_t offset, uint64_t target,
		       int interior)
{
	HS_ASSERT(g->edges < ENCODE_GRAPH_EDGES);
	HS_ASSERT(g->width == 8 || target < 1ull << (8 * g->width));
	if (!g->cur_edges || src != g->cur_src || from_root != g->cur_kind) {
		graph_end_source(g);
		g->src_len = (size_t)(put_z(g->src + g->src_len, (int64_t)(src - g->prev_src)) - g->src);
		g->prev_src = g->cur_src = src;
		g->cur_kind = from_root;
		g->prev_off = 0;
		g->sources++;
	}
	HS_ASSERT(offset >= g->prev_off);
	g->off_len = (size_t)(put_v(g->off + g->off_len, offset - g->prev_off) - g->off);
	g->prev_off = offset;
	for (uint32_t k = 0; k < g->width; k++)
		g->tgt[(size_t)k * ENCODE_GRAPH_EDGES + g->edges] = (uint8_t)(target >> (8 * k));
	if (interior) {
		g->interior[g->edges / 8] |= (uint8_t)(1u << (g->edges % 8));
		g->any_interior = 1;
	}
	g->edges++;
	g->cur_edges++;
}

uint8_t *encode_graph(uint8_t *p, struct encode_graph *g)
{
	if (!g->edges)
		return p;
	graph_end_source(g);
	uint8_t *q = open_record(p, HST_REC_SCAN_GRAPH);
	q = put_v(q, g->sources);
	q = put_v(q, g->edges);
	q = put_v(q, g->width);
	q = put_s(q, g->src, g->src_len);
	q = put_s(q, g->cnt, g->cnt_len);
	q = put_s(q, g->off, g->off_len);
	q = put_v(q, (uint64_t)g->edges * g->width);
	for (uint32_t k = 0; k < g->width; k++, q += g->edges)
		memcpy(q, g->tgt + (size_t)k * ENCODE_GRAPH_EDGES, g->edges);
	q = put_s(q, g->interior, g->any_interior ? (g->edges + 7) / 8 : 0);
	encode_graph_clear(g);
	return encode_close(p, q);
}

uint8_t *encode_scan_end(uint8_t *p, uint64_t edges, uint64_t bytes, uint64_t ts, uint64_t roots)
{
	uint8_t *q = open_record(p, HST_REC_SCAN_END);

	q = put_v(q, edges);
	q = put_v(q, bytes);
	q = put_v(q, ts);
	q = put_v(q, roots);
	return encode_close(p, q);
}

/* ---- Python programs -------------------------------------------------------------- */

uint8_t *encode_python(uint8_t *p, uint32_t hexversion, const char *version, size_t version_len, uint32_t flags)
{
	uint8_t *q = open_record(p, HST_REC_PYTHON);

	q = put_v(q, hexversion);
	q = put_s(q, version, version_len);
	q = put_v(q, flags);
	return encode_close(p, q);
}

uint8_t *encode_pycode(uint8_t *p, uint32_t id, const char *file, size_t file_len, const char *name,
		       size_t name_len, uint32_t firstlineno)
{
	uint8_t *q = open_record(p, HST_REC_PYCODE);

	q = put_v(q, id);
	q = put_s(q, file, file_len);
	q = put_s(q, name, name_len);
	q = put_v(q, firstlineno);
	return encode_close(p, q);
}
