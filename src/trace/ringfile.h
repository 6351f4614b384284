/*
 * ringfile.h - layout of the ring file TRACE.rings, version 1.
 * HOOK-SAFE: constants and structs only.
 *
 * The shim keeps its per-thread event rings and its stack table in a
 * MAP_SHARED mapping of this file, next to the trace.  Whatever a thread has
 * pushed into its ring is therefore in the page cache the moment it is
 * written, and survives SIGKILL or a crash of the process: the reader
 * recovers the events that no chunk of the trace holds yet from here.  A
 * clean end of the trace removes the file.
 *
 * The guarantee, precisely: an event whose ring commit (the release store
 * of the ring's tail) happened before the process died is in the trace or in
 * this file.  An event a thread was still writing is lost.  Power loss is
 * not covered (nothing is fsync'ed).
 *
 * Layout: a 4096-byte file header, then segments, each starting on a page
 * boundary with a segment header:
 *
 *   file header:  char magic[8] "HSRINGS1", u32 version, u32 zero,
 *                 u64 nonce (= the trace header's nonce)
 *   segment:      u32 magic RINGFILE_SEG_MAGIC, u32 type, u64 bytes (whole
 *                 segment, header included), then by type:
 *     RING        struct ringfile_ring, then capacity ring records
 *     STACKS      struct ringfile_stacks, then stack entries
 *     PYCODE      struct ringfile_stacks, then Python code entries
 *     MODULES     struct ringfile_stacks, then module entries
 */
#ifndef HS_TRACE_RINGFILE_H
#define HS_TRACE_RINGFILE_H

#include <stdint.h>

#define RINGFILE_MAGIC "HSRINGS1"
#define RINGFILE_VERSION 1
#define RINGFILE_HEADER_SIZE 4096
#define RINGFILE_SEG_MAGIC 0x47455348u /* "HSEG" */
#define RINGFILE_SEG_RING 1
#define RINGFILE_SEG_STACKS 2
#define RINGFILE_SEG_PYCODE 3
#define RINGFILE_SEG_MODULES 4

struct ringfile_file_header {
	char magic[8];	  /* RINGFILE_MAGIC */
	uint32_t version; /* RINGFILE_VERSION */
	uint32_t zero;
	uint64_t nonce; /* the trace header's nonce */
};

struct ringfile_seg {
	uint32_t magic; /* RINGFILE_SEG_MAGIC */
	uint32_t type;	/* RINGFILE_SEG_RING or RINGFILE_SEG_STACKS */
	uint64_t bytes; /* whole segment, this header included */
};

/*
 * One event as a thread writes it into its ring: 24 bytes, no pointers.
 *
 *   ts          CLOCK_MONOTONIC ns
 *   addr_kind   bits 0..55 block address, 56..62 kind (enum hst_event_kind),
 *               63 RING_REC_OLD
 *   size_stack  bits 0..39 requested bytes (clamped), 40..63 stack id
 *
 * A realloc takes two records written and committed together: the first
 * has RING_REC_OLD set and carries the old address; the second carries the
 * new address, size and stack.
 */
struct ring_rec {
	uint64_t ts;
	uint64_t addr_kind;
	uint64_t size_stack;
};
#define RING_REC_OLD (1ull << 63)
#define RING_REC_SIZE_MAX ((1ull << 40) - 1)

static inline struct ring_rec ring_rec_make(uint64_t ts, uint64_t addr, unsigned kind, uint64_t flags,
					    uint64_t size, uint32_t stack)
{
	struct ring_rec r = {ts, (addr & ((1ull << 56) - 1)) | (uint64_t)(kind & 0x7f) << 56 | flags,
			     (size < RING_REC_SIZE_MAX ? size : RING_REC_SIZE_MAX) | (uint64_t)stack << 40};
	return r;
}

static inline uint64_t ring_rec_addr(const struct ring_rec *r)
{
	return r->addr_kind & ((1ull << 56) - 1);
}

static inline unsigned ring_rec_kind(const struct ring_rec *r)
{
	return (unsigned)(r->addr_kind >> 56) & 0x7f;
}

static inline int ring_rec_old(const struct ring_rec *r)
{
	return !!(r->addr_kind & RING_REC_OLD);
}

static inline uint64_t ring_rec_size(const struct ring_rec *r)
{
	return r->size_stack & RING_REC_SIZE_MAX;
}

static inline uint32_t ring_rec_stack(const struct ring_rec *r)
{
	return (uint32_t)(r->size_stack >> 40);
}

/*
 * Ring segment header.  tail is written only by the owning thread, head
 * only by the collector; they sit on separate cache lines so the two never
 * share one.  Positions are free-running record counts; the slot of
 * position p is p & (capacity - 1).
 */
struct ringfile_ring {
	struct ringfile_seg seg;
	uint32_t ring_id;      /* stable for the life of the segment */
	uint32_t thread_index; /* owner, as events name it (0 = free) */
	uint32_t tid;	       /* owner's kernel thread id */
	uint32_t capacity;     /* records, a power of two */
	uint8_t pad0[64 - 32];
	_Atomic uint64_t tail; /* producer: records committed */
	uint8_t pad1[56];
	_Atomic uint64_t head; /* collector: records in durable chunks */
	uint8_t pad2[56];
};
#define RINGFILE_RING_SLOTS_OFFSET 256

/*
 * Stack segment header, followed by entries packed back to back:
 *   u32 id, u16 depth, u16 ready (1 once the ips are written), u64 ips[depth]
 * used counts the bytes handed out after this header (entries may be
 * reserved and not yet ready).
 */
struct ringfile_stacks {
	struct ringfile_seg seg;
	_Atomic uint64_t used;
	uint8_t pad[64 - 24];
};
#define RINGFILE_STACKS_DATA_OFFSET 64

struct ringfile_stack_entry {
	uint32_t id;
	uint16_t depth;
	_Atomic uint16_t ready;
	uint64_t ips[];
};

/*
 * Python code segment (a Python program's code objects, src/shim/python.h):
 * the header of a stack segment (used counts the bytes handed out after
 * it), then entries packed back to back, each padded to 8 bytes:
 *   u32 id, u16 len, u16 ready (1 once the body is written), u8 body[len]
 * where body is the code's whole PYCODE record (tag, length and body, as
 * trace/encode.c writes it), which the collector copies into the trace.
 */
struct ringfile_pycode_entry {
	uint32_t id;
	uint16_t len;
	_Atomic uint16_t ready;
	uint8_t body[];
};

/*
 * Module segment: the header of a stack segment, then entries laid out as
 * Python code entries (struct ringfile_pycode_entry, id 0), each body a
 * whole MODULES record (trace/format.h) of one module.  The trace writes
 * a module only when a record names it; the shim copies every module the
 * process maps here, once, so that a crash does not lose the map: a
 * reader recovers these with the stacks.
 */

#endif
