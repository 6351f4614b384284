/*
 * encode.h - the one encoder of every trace record (format.h).
 * HOOK-SAFE: pure functions on the caller's buffer; no allocation, no
 * system call, no lock.
 *
 * Each encode_<record> writes one whole record (tag, length, body) at p
 * and returns the byte after it.  The caller makes room first: at most
 * ENCODE_<RECORD>_MAX or encode_<record>_max(...) bytes, the bound for any
 * argument values.  In the shim that room is writer_room's; in the tests,
 * any buffer:
 *
 *   uint8_t *p = writer_room(w, ENCODE_THREAD_MAX);
 *   if (p)
 *           writer_advance(w, encode_thread(p, index, tid, start_ns));
 *
 * Records that are built piece by piece (PROGRESS, SCAN_BLOCKS, SCAN_EDGES)
 * open with encode_<record>_begin, take their entries one by one and end
 * with encode_close(record_start, end), which fills in the length; the
 * room for the whole record is reserved before the first piece.  The
 * bodies of EVENTS are built in four columns (struct encode_events) and
 * the record is written once they are full.
 *
 * Record lengths are 4-byte varints with the continuation bits forced, so
 * a record can be opened before its length is known: a body is less than
 * ENCODE_BODY_MAX bytes.
 */
#ifndef HS_TRACE_ENCODE_H
#define HS_TRACE_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "trace/format.h"
#include "util/assert.h"
#include "util/varint.h"

#define ENCODE_HEAD 5		     /* tag and 4-byte length */
#define ENCODE_BODY_MAX (1u << 28)   /* bodies are shorter than this */
#define ENCODE_V VARINT_MAX	     /* one varint field, at most */

/* The record that starts at rec ends at end: fill in its length.  Return end. */
uint8_t *encode_close(uint8_t *rec, uint8_t *end);

/* ---- process and modules ---------------------------------------------------- */

/* PROCESS: the strings are not NUL-terminated (cmdline holds NULs). */
struct encode_process {
	uint32_t pid, ppid;
	const char *exe;       /* path of the executable */
	size_t exe_len;	       /* bytes */
	const char *cmdline;   /* arguments, NUL-separated */
	size_t cmdline_len;    /* bytes */
	const char *options;   /* HEAPSNAP_OPTIONS as given */
	size_t options_len;    /* bytes */
	const char *allocator; /* "jemalloc" or "system" */
	size_t allocator_len;  /* bytes */
	uint32_t max_frames;   /* frames per stack */
};

static inline size_t encode_process_max(const struct encode_process *pr)
{
	return ENCODE_HEAD + 7 * ENCODE_V + pr->exe_len + pr->cmdline_len + pr->options_len + pr->allocator_len;
}

uint8_t *encode_process(uint8_t *p, const struct encode_process *pr);

/*
 * MODULES: the modules are encoded one by one into a scratch buffer
 * (encode_module, then encode_segment for each of its nseg PT_LOAD
 * segments), then the record is made of that buffer.
 */
static inline size_t encode_module_max(size_t path_len, size_t build_id_len)
{
	return 4 * ENCODE_V + path_len + build_id_len;
}

uint8_t *encode_module(uint8_t *p, const char *path, size_t path_len, const uint8_t *build_id,
		       size_t build_id_len, uint64_t load_bias, uint32_t nseg);

#define ENCODE_SEGMENT_MAX (3 * ENCODE_V)

/* One PT_LOAD segment: vaddr relative to the load bias, memsz, PF_* flags. */
uint8_t *encode_segment(uint8_t *p, uint64_t vaddr, uint64_t memsz, uint32_t flags);

static inline size_t encode_modules_max(size_t modules_len)
{
	return ENCODE_HEAD + 2 * ENCODE_V + modules_len;
}

/* MODULES of count modules whose encodings are modules[0..len). */
uint8_t *encode_modules(uint8_t *p, uint64_t ts, uint64_t count, const uint8_t *modules, size_t len);

/* ---- stacks, threads, allocinfos, snapshots ---------------------------------- */

static inline size_t encode_stack_max(uint32_t depth)
{
	return ENCODE_HEAD + (4 + (size_t)depth) * ENCODE_V;
}

/* STACK id of depth ips (innermost first) whose outermost shared frames
 * are those of stack ref (ref 0 and shared 0: none). */
uint8_t *encode_stack(uint8_t *p, uint32_t id, uint32_t depth, uint32_t ref, uint32_t shared,
		      const uint64_t *ips);

#define ENCODE_THREAD_MAX (ENCODE_HEAD + 3 * ENCODE_V)

uint8_t *encode_thread(uint8_t *p, uint32_t index, uint32_t tid, uint64_t start_ns);

/* STACK_NEAR: as encode_stack, the first own frame written as the
 * difference from *first, the first own frame of the STACK or STACK_NEAR
 * before it, which becomes this one's (when it has own frames).  Bound:
 * encode_stack_max. */
uint8_t *encode_stack_near(uint8_t *p, uint32_t id, uint32_t depth, uint32_t ref, uint32_t shared,
			   const uint64_t *ips, uint64_t *first);

static inline size_t encode_thread_end_max(size_t name_len)
{
	return ENCODE_HEAD + 3 * ENCODE_V + name_len;
}

uint8_t *encode_thread_end(uint8_t *p, uint32_t index, uint64_t end_ns, const char *name, size_t name_len);

#define ENCODE_ALLOCINFO_MAX (ENCODE_HEAD + 3 * ENCODE_V)

uint8_t *encode_allocinfo(uint8_t *p, uint32_t id, uint64_t size, uint32_t stack);


static inline size_t encode_snapshot_max(size_t label_len)
{
	return ENCODE_HEAD + 4 * ENCODE_V + label_len;
}

/* SNAPSHOT: trigger is an enum hst_snap_trigger. */
uint8_t *encode_snapshot(uint8_t *p, uint64_t ts, uint32_t index, int trigger, const char *label,
			 size_t label_len);

/* ---- events ------------------------------------------------------------------ */

/* One column of an EVENTS record: the caller's buffer. */
struct encode_column {
	uint8_t *p; /* bytes */
	size_t len; /* used */
	size_t cap; /* allocated */
};

/* The EVENTS record being built: its columns (kinds, threads, times,
 * blocks, the temporary bitmap, and the freed blocks of an EVENTS_SPLIT
 * record; format.h) and the state of its time deltas. */
#define ENCODE_EVENT_COLS 6
#define ENCODE_EVENT_FREED 5 /* the column of freed blocks when split */
/* A thread of an EVENTS_THREADS record: its index, and what encode_events
 * counts its columns with. */
struct encode_slot {
	uint32_t thread; /* index, as in THREAD */
	uint32_t n[3];	 /* bytes of its kinds, allocated and freed columns */
};

struct encode_events {
	struct encode_column col[ENCODE_EVENT_COLS];
	int split;	    /* an EVENTS_SPLIT record: freed blocks apart;
			     * changed only while count is 0 */
	/* with split, an EVENTS_THREADS record when nslots > 0: the thread
	 * argument of encode_event is then a slot, below nslots, of slots
	 * (the caller's memory); changed only while count is 0 */
	struct encode_slot *slots;
	uint32_t nslots;
	uint64_t tick;	    /* ns per time unit of the time column */
	uint64_t base;	    /* time of the first event, ns */
	uint64_t prev_tick; /* time of the previous event, ticks */
	uint32_t count;	    /* events in the columns */
	uint32_t temporary; /* of those, marked temporary */
};

/* An ALLOCINFOS record being built: its columns (ids, sizes, stacks),
 * their memory the caller's, and the deltas' bases. */
struct encode_allocinfos {
	struct encode_column col[3];
	uint32_t count;	     /* allocinfos in the columns */
	uint32_t prev_id;    /* the last one's id */
	uint32_t prev_stack; /* and stack */
};

/* Bytes one allocinfo adds to any one column, at most. */
#define ENCODE_ALLOCINFOS_COL_MAX ENCODE_V

/* Append an allocinfo; the caller made room (ENCODE_ALLOCINFOS_COL_MAX
 * in each column). */
void encode_allocinfos_add(struct encode_allocinfos *a, uint32_t id, uint64_t size, uint32_t stack);

static inline size_t encode_allocinfos_max(const struct encode_allocinfos *a)
{
	return ENCODE_HEAD + 4 * ENCODE_V + a->col[0].len + a->col[1].len + a->col[2].len;
}

/* Write the record (nothing when empty) and empty the columns, keeping
 * their memory; return the end. */
uint8_t *encode_allocinfos(uint8_t *p, struct encode_allocinfos *a);
/* Empty the columns, keeping their memory. */
void encode_allocinfos_clear(struct encode_allocinfos *a);

/* Bytes one event adds to any one column, at most. */
#define ENCODE_EVENT_COL_MAX (2 * ENCODE_V)

/* Append v to column c; the caller made room. */
static inline void encode_col_v(struct encode_column *c, uint64_t v)
{
	c->len = (size_t)(varint_put(c->p + c->len, v) - c->p);
}

/*
 * Append one event to the columns; each must have ENCODE_EVENT_COL_MAX
 * bytes free.  kind is an enum hst_event_kind, maybe | HST_EV_IMPLICIT;
 * a is the allocinfo of the block (the old block of a realloc), b the new
 * block of a realloc.  Inline: the collector adds every event with it,
 * and the kind's shape is the one it has just looked up.
 */
static inline void encode_event(struct encode_events *e, uint64_t ts, uint32_t thread, uint8_t kind, uint32_t a,
				uint32_t b)
{
	/* the shim's tick is 100 us: a division by a constant is a multiply */
	uint64_t tick = e->tick == 100000 ? ts / 100000 : ts / e->tick;

	for (int i = 0; i < ENCODE_EVENT_COLS; i++)
		HS_ASSERT(e->col[i].cap - e->col[i].len >= ENCODE_EVENT_COL_MAX);
	/* the temporary bitmap: a byte per 8 events, bits set later */
	if (!(e->count & 7))
		e->col[4].p[e->col[4].len++] = 0;
	if (!e->count) {
		e->base = ts;
		e->prev_tick = tick;
	}
	e->col[0].p[e->col[0].len++] = kind;
	encode_col_v(&e->col[1], thread);
	encode_col_v(&e->col[2], zigzag_enc((int64_t)(tick - e->prev_tick)));
	e->prev_tick = tick;
	switch (hst_event_shape(kind & HST_EV_KIND_MASK)) {
	case HST_SHAPE_ALLOC:
		encode_col_v(&e->col[3], a);
		break;
	case HST_SHAPE_FREE:
		encode_col_v(&e->col[e->split ? ENCODE_EVENT_FREED : 3], a);
		break;
	case HST_SHAPE_REALLOC:
		encode_col_v(&e->col[e->split ? ENCODE_EVENT_FREED : 3], a);
		encode_col_v(&e->col[3], b);
		break;
	case HST_SHAPE_ADDR:
		break;
	}
	e->count++;
}

/* Mark the event appended last: the block it frees (the old block of a
 * realloc) was its thread's latest allocation (format.h, "temporary"). */
void encode_event_temporary(struct encode_events *e);

static inline size_t encode_events_max(const struct encode_events *e)
{
	return ENCODE_HEAD + (10 + 7 * (size_t)e->nslots) * ENCODE_V + e->col[0].len + e->col[1].len + e->col[2].len + e->col[3].len +
	       e->col[4].len + e->col[5].len;
}

/* Write the events in the columns as one EVENTS record (EVENTS_SPLIT
 * when e->split, EVENTS_THREADS when e->nslots too) and empty them
 * (count 0); nothing is written when there are none. */
uint8_t *encode_events(uint8_t *p, struct encode_events *e);

/* Empty the columns without writing them. */
static inline void encode_events_clear(struct encode_events *e)
{
	for (int i = 0; i < ENCODE_EVENT_COLS; i++)
		e->col[i].len = 0;
	e->count = 0;
	e->temporary = 0;
}

#define ENCODE_RSS_MAX (ENCODE_HEAD + 2 * ENCODE_V)

/* RSS: resident bytes at ts. */
uint8_t *encode_rss(uint8_t *p, uint64_t ts, uint64_t bytes);

#define ENCODE_RSS_DELTA_MAX (ENCODE_HEAD + 3 * ENCODE_V)

/* RSS_DELTA: resident bytes at ts, the sample before being prev_bytes
 * at prev_ts (0 and 0 for the first). */
uint8_t *encode_rss_delta(uint8_t *p, uint64_t ts, uint64_t bytes, uint64_t prev_ts, uint64_t prev_bytes);

/* One RSS sample: its time (ns) and resident bytes. */
struct encode_rss_sample {
	uint64_t ts, bytes;
};

static inline size_t encode_rss_series_max(size_t count)
{
	return ENCODE_HEAD + 5 * ENCODE_V + count * 2 * ENCODE_V;
}

/* RSS_SERIES: the n samples s (n >= 1), the sample before them in the
 * trace being prev (0 and 0 for the first). */
uint8_t *encode_rss_series(uint8_t *p, const struct encode_rss_sample *s, size_t n,
			   struct encode_rss_sample prev);

/* ---- progress and end ---------------------------------------------------------- */

#define ENCODE_PROGRESS_ENTRY_MAX (2 * ENCODE_V)

static inline size_t encode_progress_max(size_t count)
{
	return ENCODE_HEAD + ENCODE_V + count * ENCODE_PROGRESS_ENTRY_MAX;
}

/* PROGRESS of count (ring, position) pairs, each given to
 * encode_progress_ring; then encode_close. */
uint8_t *encode_progress_begin(uint8_t *p, uint64_t count);
uint8_t *encode_progress_ring(uint8_t *p, uint32_t ring_id, uint64_t position);

#define ENCODE_END_MAX (ENCODE_HEAD + 6 * ENCODE_V)

/* END: reason is an enum hst_end_reason; lost counts the events not
 * written after the trace stopped (STOPPED). */
uint8_t *encode_end_lost(uint8_t *p, uint64_t ts, int reason, int64_t status, uint64_t events,
			 uint64_t dropped, uint64_t lost);

/* END of a trace that never stopped (lost 0). */
static inline uint8_t *encode_end(uint8_t *p, uint64_t ts, int reason, int64_t status, uint64_t events,
				  uint64_t dropped)
{
	return encode_end_lost(p, ts, reason, status, events, dropped, 0);
}

#define ENCODE_RECOVERED_MAX (ENCODE_HEAD + ENCODE_V)

/* RECOVERED: the ring file was merged into the trace (recover.h). */
uint8_t *encode_recovered(uint8_t *p, uint64_t events);

#define ENCODE_STOPPED_MAX (ENCODE_HEAD + 2 * ENCODE_V)

/* STOPPED: error is a positive errno value. */
uint8_t *encode_stopped(uint8_t *p, uint64_t ts, int error);

/* ---- Python programs ------------------------------------------------------------ */

static inline size_t encode_python_max(size_t version_len)
{
	return ENCODE_HEAD + 3 * ENCODE_V + version_len;
}

/* PYTHON: flags are HST_PY_*. */
uint8_t *encode_python(uint8_t *p, uint32_t hexversion, const char *version, size_t version_len, uint32_t flags);

static inline size_t encode_pycode_max(size_t file_len, size_t name_len)
{
	return ENCODE_HEAD + 4 * ENCODE_V + file_len + name_len;
}

/* PYCODE: file and name are UTF-8, not NUL-terminated. */
uint8_t *encode_pycode(uint8_t *p, uint32_t id, const char *file, size_t file_len, const char *name,
		       size_t name_len, uint32_t firstlineno);

/* ---- the pointer scan -------------------------------------------------------- */

#define ENCODE_SCAN_MAX (ENCODE_HEAD + 6 * ENCODE_V)

/* SCAN: reason is an enum hst_scan_reason; snapshot is 1 + the index of
 * the snapshot the scan belongs to, or 0. */
uint8_t *encode_scan(uint8_t *p, uint64_t ts, int reason, uint64_t blocks, uint64_t snapshot, uint32_t stopped,
		     uint32_t missed);

/* The delta bases of the SCAN_BLOCKS records of one scan: zero it at the
 * scan's start, it runs on across its records. */
struct encode_blocks {
	uint64_t prev_addr; /* address of the previous block */
	uint32_t prev_seq;  /* its allocation order */
};

#define ENCODE_SCAN_BLOCK_MAX (3 * ENCODE_V)

static inline size_t encode_scan_blocks_max(size_t count)
{
	return ENCODE_HEAD + ENCODE_V + count * ENCODE_SCAN_BLOCK_MAX;
}

/* SCAN_BLOCKS of count blocks in address order, each given to
 * encode_scan_block; then encode_close. */
uint8_t *encode_scan_blocks_begin(uint8_t *p, uint64_t count);
uint8_t *encode_scan_block(uint8_t *p, struct encode_blocks *s, uint64_t addr, uint32_t info, uint32_t seq);

static inline size_t encode_scan_root_max(size_t name_len)
{
	return ENCODE_HEAD + 7 * ENCODE_V + name_len;
}

/* SCAN_ROOT: kind is an enum hst_root_kind; pc that of a stack frame's
 * function, or 0 (format.h). */
uint8_t *encode_scan_root(uint8_t *p, uint32_t index, int kind, uint32_t thread, uint64_t addr, uint64_t bytes,
			  const char *name, size_t name_len, uint64_t pc);

/* The delta bases of one SCAN_EDGES record (set by its _begin). */
struct encode_edges {
	uint64_t prev_offset; /* offset of the previous edge */
	uint64_t prev_target; /* its target block */
};

#define ENCODE_SCAN_EDGE_MAX (2 * ENCODE_V)

static inline size_t encode_scan_edges_max(size_t count)
{
	return ENCODE_HEAD + 3 * ENCODE_V + count * ENCODE_SCAN_EDGE_MAX;
}

/* SCAN_EDGES of count edges from source number src (from_root 1: a root,
 * 0: a block), each given to encode_scan_edge in offset order; then
 * encode_close.  interior: the word points inside the target, not at its
 * start. */
uint8_t *encode_scan_edges_begin(uint8_t *p, struct encode_edges *s, int from_root, uint64_t src,
				 uint64_t count);
uint8_t *encode_scan_edge(uint8_t *p, struct encode_edges *s, uint64_t offset, uint64_t target, int interior);

/*
 * A SCAN_GRAPH record being built: the edges of consecutive sources, up
 * to ENCODE_GRAPH_EDGES, gathered by column in scratch memory of
 * encode_graph_mem() bytes that the caller provides (the shim's scan maps
 * it; the world is stopped).  encode_graph_edge for each edge, then
 * encode_graph when full or when another record must come between.
 */
#define ENCODE_GRAPH_EDGES 16384

struct encode_graph {
	uint8_t *src, *cnt, *off; /* the sources, counts and offsets columns */
	uint8_t *tgt;		  /* ENCODE_GRAPH_EDGES bytes a plane, 8 planes */
	uint8_t *interior;	  /* the bitmap */
	size_t src_len, cnt_len, off_len; /* bytes used */
	uint32_t sources, edges;	  /* in the record */
	uint32_t width;			  /* bytes of a target */
	uint32_t cur_edges;		  /* edges of the current source so far */
	int cur_kind;			  /* the current source */
	uint64_t cur_src;
	uint64_t prev_src;		  /* the source before it */
	uint64_t prev_off;		  /* offset of the current source's last edge */
	int any_interior;		  /* a bit of the bitmap is set */
};

/* Bytes of scratch memory a graph needs. */
size_t encode_graph_mem(void);
/* Start a graph in mem, for targets below blocks. */
void encode_graph_init(struct encode_graph *g, void *mem, uint64_t blocks);

/* Edges the record has room for. */
static inline uint32_t encode_graph_room(const struct encode_graph *g)
{
	return ENCODE_GRAPH_EDGES - g->edges;
}

/* Append an edge of source src (from_root 1: a root, 0: a block) at
 * offset (not below its source's previous edge's) to block target; the
 * record must have room. */
void encode_graph_edge(struct encode_graph *g, int from_root, uint64_t src, uint64_t offset, uint64_t target,
		       int interior);

static inline size_t encode_graph_max(const struct encode_graph *g)
{
	return ENCODE_HEAD + 8 * ENCODE_V + g->src_len + g->cnt_len + ENCODE_V + g->off_len +
	       (size_t)g->edges * g->width + (g->edges + 7) / 8;
}

/* Write the record (nothing without edges) and empty the graph; return
 * the end. */
uint8_t *encode_graph(uint8_t *p, struct encode_graph *g);
/* Empty the graph, keeping its memory and width. */
void encode_graph_clear(struct encode_graph *g);

#define ENCODE_SCAN_END_MAX (ENCODE_HEAD + 4 * ENCODE_V)

/* SCAN_END: roots is how many the scan read (SCAN_ROOT describes those
 * that held a pointer). */
uint8_t *encode_scan_end(uint8_t *p, uint64_t edges, uint64_t bytes, uint64_t ts, uint64_t roots);

#endif
