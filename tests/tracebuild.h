/*
 * tracebuild.h - what the trace suites share (check_reader.c,
 * check_recover.c, check_encode.c): a private directory per test, traces
 * written with the real encoder (src/trace/encode.c) and the real writer,
 * hand-made records for what the encoder never writes, a reference set of
 * events, and the assertions that read them back.
 */
#ifndef HS_TESTS_TRACEBUILD_H
#define HS_TESTS_TRACEBUILD_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "trace/encode.h"
#include "trace/format.h"
#include "trace/reader.h"
#include "trace/writer.h"

#define NONCE 0x1122334455667788ull
#define PID 4321
#define PPID 1

/* ---- a private temporary directory per test ----------------------------- */

/* The test's directory, made by tmpdir_setup (a checked fixture) inside the
 * test case's root, made by root_setup (an unchecked one). */
extern char tmpdir[256];
void root_setup(void);
void root_teardown(void);
void tmpdir_setup(void);
void tmpdir_teardown(void);

/* tmpdir/name in a static buffer (one of 4, for two-path calls). */
const char *tpath(const char *name);

/* Write n bytes of buf to tmpdir/name; return its path. */
const char *write_file(const char *name, const void *buf, size_t n);

/* ---- the reader's dense ids ---------------------------------------------
 *
 * The reader hands out stack and allocinfo ids of its own: 1, 2, ... in
 * the order it first sees each id of the file (trace/reader.c, idmap).
 * The builders below note the file's ids in the order the reader meets
 * them (tw_open starts afresh; ring files note theirs after the chunks);
 * a test compares what it reads with DS() and DI() of the ids it wrote.
 */
void ids_reset(void);
void ids_see_stack(uint64_t id);
void ids_see_info(uint64_t id);
uint32_t DS(uint64_t id); /* dense stack id; 0 for 0 or an id not noted */
uint32_t DI(uint64_t id); /* dense allocinfo id; likewise */

/* ---- building traces --------------------------------------------------- */

struct tw {
	struct trace_writer w;
	char path[PATH_MAX];
	uint64_t chunk_end[64]; /* file size after each flush */
	int nchunks;
};

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
	int threads;			/* EVENTS_THREADS: slots by thread */
	struct encode_slot slots[256];	/* its slots (enc.slots) */
};

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

#define NINFOS_CHUNK1 5

#define NEVENTS 20 /* entries of events[] */

#define SPLIT 7 /* events[0..SPLIT) in the first EVENTS record */

/* Create tmpdir/name (zstd level, header nonce) with fixed header fields. */
void tw_open(struct tw *t, int level, const char *name, uint64_t nonce);
/* End the current chunk and remember where it ends in the file. */
void tw_flush(struct tw *t);
/* Flush the last chunk and close. */
void tw_close(struct tw *t);

/* Room for a record of at most n bytes in w (the test fails without). */
uint8_t *room(struct trace_writer *w, size_t n);
/* Take in the record the encoder wrote from p to end, which must be within
 * its bound max. */
void put(struct trace_writer *w, uint8_t *p, uint8_t *end, size_t max);

/* One record each, through the real encoder. */
void rec_process(struct trace_writer *w, const char *options);
void rec_stack_shared(struct trace_writer *w, uint32_t id, unsigned depth, const uint64_t *ips, uint32_t ref,
		      unsigned shared);
void rec_stack(struct trace_writer *w, uint32_t id, unsigned depth, const uint64_t *ips);
void rec_thread(struct trace_writer *w, uint32_t index, uint32_t tid, uint64_t ts);
void rec_thread_end(struct trace_writer *w, uint32_t index, uint64_t ts, const char *name);
void rec_snapshot(struct trace_writer *w, uint64_t ts, uint32_t index, int trigger, const char *label);
void rec_end(struct trace_writer *w, uint64_t ts, int reason, int64_t status, uint64_t nevents, uint64_t dropped);
void rec_progress(struct trace_writer *w, uint32_t ring, uint64_t pos);
void rec_allocinfo(struct trace_writer *w, uint32_t id, uint64_t size, uint32_t stack);
/* MODULES at time 900: the program with a build-id and two segments, libc
 * without either. */
void rec_modules(struct trace_writer *w);

/* A hand-made record: raw_begin, fields, raw_end. */
void raw_begin(struct raw *r, struct trace_writer *w, uint8_t tag);
void raw_v(struct raw *r, uint64_t v);
void raw_z(struct raw *r, int64_t v);
void raw_bytes(struct raw *r, const void *p, size_t n);
void raw_s(struct raw *r, const char *s, size_t n);
void raw_end(struct raw *r);

/* An EVENTS record: init (tick 0: TICK_NS), add events, flush. */
void evrec_init(struct evrec *e, uint64_t tick);
void evrec_add(struct evrec *e, const struct resolved *r);
void evrec_flush(struct trace_writer *w, struct evrec *e);

/* The reference events: every kind and shape (the collector's input and
 * what the reader must give back), with the allocinfos they name. */
extern const struct evcase events[NEVENTS];
extern const struct infodef infos[11];
/* Write events [from, to) of ev as one EVENTS record. */
void rec_events(struct trace_writer *w, const struct evcase *ev, size_t from, size_t to);
/* Write allocinfos [from, to) of infos[]. */
void rec_infos(struct trace_writer *w, size_t from, size_t to);

/* Reference stacks: stack4 shares its two outermost frames with stack1. */
extern const uint64_t stack1[3], stack2[1], stack4[4];

/* An ASCII options string long enough for zstd to shrink the chunk. */
const char *long_options(void);

/* ---- reading back ---------------------------------------------------------- */

/* Open path, failing the test with the reader's message if it cannot. */
struct trace_reader *open_ok(const char *path, struct hs_diag *d);
/* Assert a decoded string is exactly want[0..n) (it is not NUL-terminated). */
void assert_str(struct trace_str s, const char *want, size_t n);
/* Read the next item and assert it is there and of type. */
void next_type(struct trace_reader *r, struct trace_item *it, int type);
/* Read the next item: an event equal to want in every field (i names it). */
void expect_event(struct trace_reader *r, const struct trace_event *want, size_t i);
/* Read the next item: stack id with these ips. */
void expect_stack(struct trace_reader *r, uint32_t id, uint32_t depth, const uint64_t *ips);
/* Read the next item: a THREAD. */
void expect_thread(struct trace_reader *r, uint32_t index, uint32_t tid, uint64_t ts);
/* Assert the end of the items, twice (the end is sticky). */
void expect_eof(struct trace_reader *r);

#endif
