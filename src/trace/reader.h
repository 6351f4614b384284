/*
 * reader.h - read a trace as a stream of decoded items.
 *
 * Use:
 *   struct hs_diag d;
 *   struct trace_reader *r = reader_open(path, &d);   // NULL: d says why
 *   struct trace_item it;
 *   while ((rc = reader_next(r, &it)) > 0) { switch (it.type) ... }
 *   if (rc < 0) ... d says why (a corrupt chunk: exit 2)
 *   reader_truncated(r) ... the trace did not end cleanly
 *   reader_close(r);
 *
 * EVENTS records come out one event at a time.  When the trace did not end
 * with an END record, the reader looks for TRACE.rings next to it and, if
 * it belongs to this trace, yields what the rings still held after the last
 * chunk: threads, stacks and events, in that order.
 *
 * Pointers inside an item (strings, ips) stay valid until the next call.
 */
#ifndef HS_TRACE_READER_H
#define HS_TRACE_READER_H

#include <stddef.h>
#include <stdint.h>

#include "util/diag.h"

enum item_type {
	ITEM_PROCESS = 1,
	ITEM_MODULES,
	ITEM_STACK,
	ITEM_THREAD,
	ITEM_THREAD_END,
	ITEM_EVENT,
	ITEM_SNAPSHOT,
	ITEM_END,
	ITEM_SCAN,	 /* a pointer scan begins */
	ITEM_SCAN_BLOCK, /* one live block of the scan, in address order */
	ITEM_SCAN_ROOT,	 /* one root region */
	ITEM_SCAN_EDGE,	 /* one pointer found */
	ITEM_SCAN_END,
	ITEM_RSS,	 /* a sample of the resident memory */
	ITEM_PYTHON,	 /* the process is a CPython interpreter */
	ITEM_PYCODE,	 /* a Python code object that stacks name */
};

/*
 * One event.  Blocks are named by allocinfo (format.h): for an allocation
 * info/size/stack describe the new block, for a free the freed block (info
 * 0: a block the trace never saw allocated), for a realloc old_* the old
 * block and info/size/stack the new one (info 0: realloc(p, 0)).
 */
struct trace_event {
	uint8_t kind;	    /* enum hst_event_kind */
	uint8_t implicit;   /* inferred by the collector, not a call (format.h) */
	uint8_t temporary;  /* the freed block (the old block of a realloc) was
			     * its thread's latest allocation (format.h) */
	uint32_t thread;    /* thread index (0: an exited thread) */
	uint64_t ts;	    /* CLOCK_MONOTONIC ns, to the record's tick (100 us) */
	uint32_t info;	    /* allocinfo id */
	uint64_t size;	    /* requested bytes */
	uint32_t stack;	    /* stack id, 0 = none */
	uint32_t old_info;  /* realloc kinds: the old block */
	uint64_t old_size;
	uint32_t old_stack;
};

struct trace_str {
	const char *p; /* not NUL-terminated */
	size_t n;      /* bytes */
};

struct trace_module {
	struct trace_str path;
	struct trace_str build_id; /* raw bytes */
	uint64_t load_bias;
	uint32_t nseg;
	uint64_t lo, hi; /* lowest and highest address covered by its segments */
	uint64_t text_lo, text_hi; /* the same of its executable segments (PF_X);
				    * lo, hi when it has none */
	uint64_t text_vaddr;	   /* ELF address of the first executable segment
				    * (text_lo - load_bias), or of the first
				    * segment when none is */
};

struct trace_item {
	int type; /* enum item_type */
	union {
		struct trace_event ev;
		struct {
			uint32_t pid, ppid;
			struct trace_str exe, cmdline, options, allocator;
			uint32_t max_frames;
		} process;
		struct {
			uint64_t ts;
			uint32_t count;
			const uint8_t *body; /* the modules, for modules_next */
			size_t len;
		} modules;
		struct {
			uint32_t id;
			uint32_t depth;
			const uint64_t *ips; /* innermost first */
		} stack;
		struct {
			uint32_t index, tid;
			uint64_t ts; /* start or end */
			struct trace_str name; /* THREAD_END only */
		} thread;
		struct {
			uint64_t ts;
			uint32_t index;
			int trigger; /* enum hst_snap_trigger */
			struct trace_str label;
		} snap;
		struct {
			uint64_t ts;
			int reason; /* enum hst_scan_reason */
			uint64_t blocks, threads_stopped, threads_missed;
			uint64_t snapshot; /* 1 + index of its SNAPSHOT, 0: none */
		} scan;
		struct {
			uint64_t index; /* from 0, in address order */
			uint64_t addr;
			uint32_t info;	/* allocinfo: size and stack below */
			uint32_t seq;	/* allocation order (format.h) */
			uint64_t size;
			uint32_t stack;
		} block;
		struct {
			uint32_t index;
			int kind; /* enum hst_root_kind */
			uint32_t thread;
			uint64_t addr, bytes;
			struct trace_str name;
			uint64_t pc; /* a stack frame's function (format.h), 0 unknown */
		} root;
		struct {
			int from_root;	  /* 1: from root number src, 0: from block src */
			uint64_t src;
			uint64_t offset;  /* in the source, bytes */
			uint64_t dst;	  /* target block number */
			uint64_t dst_offset; /* 0: points to the target's start; 1: inside it */
		} edge;
		struct {
			uint64_t edges, bytes;
			uint64_t ts; /* 0 if the writer did not say */
			uint64_t roots; /* roots read, described or not (0: the
					 * writer described every one) */
		} scan_end;
		struct {
			uint64_t ts;	/* CLOCK_MONOTONIC ns */
			uint64_t bytes; /* resident */
		} rss;
		struct {
			uint64_t ts;
			int reason; /* enum hst_end_reason */
			int64_t status;
			uint64_t events, dropped;
			uint64_t lost; /* not written: the trace had stopped (STOPPED) */
		} end;
		struct {
			uint32_t hexversion;	  /* PY_VERSION_HEX */
			struct trace_str version; /* Py_GetVersion() */
			uint32_t flags;		  /* HST_PY_* */
		} python;
		struct {
			uint32_t id;		/* what HST_PYFRAME entries name */
			struct trace_str file;	/* co_filename */
			struct trace_str name;	/* co_qualname (co_name before 3.11) */
			uint32_t firstlineno;
		} pycode;
	};
};

/* Header fields of the trace. */
struct trace_header {
	uint32_t version, pid, ppid;
	uint64_t nonce, realtime_ns, mono_ns;
};

struct trace_reader;

struct trace_reader *reader_open(const char *path, struct hs_diag *d);

/* Return 1 with the next item, 0 at the end, -1 on a corrupt trace. */
int reader_next(struct trace_reader *r, struct trace_item *it);

const struct trace_header *reader_header(const struct trace_reader *r);

/* After the end: 1 if the trace did not end with END (a crash or kill),
 * and why, in words. */
int reader_truncated(const struct trace_reader *r);
const char *reader_truncation(const struct trace_reader *r);

/* Events recovered from the ring file (after the end). */
uint64_t reader_recovered(const struct trace_reader *r);

/* Uncompressed body bytes read so far of records with this tag. */
uint64_t reader_tag_bytes(const struct trace_reader *r, int tag);

void reader_close(struct trace_reader *r);

/* Decode the body of a PYCODE record (p, len bytes) into an ITEM_PYCODE
 * item whose strings point into p.  Return 0, or -1 if it is malformed. */
int reader_decode_pycode(const uint8_t *p, size_t len, struct trace_item *it);

/* The same for a MODULES record's body (a MODULES entry of the ring file). */
int reader_decode_modules(const uint8_t *p, size_t len, struct trace_item *it);

/* Iterate the modules of an ITEM_MODULES item: *pos starts at 0.  Return 1
 * with the next module, 0 at the end, -1 if the body is corrupt. */
int modules_next(const struct trace_item *it, size_t *pos, struct trace_module *m);

#endif
