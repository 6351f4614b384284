/*
 * format.h - the heapsnap trace file format (.hst), version 1.
 * HOOK-SAFE: constants and inline helpers only.
 *
 * This header is the contract between the shim that writes a trace and the
 * analyzer that reads it, possibly years later; man/heapsnap-trace.5 is
 * written from it.  All integers are little-endian.  Every record is
 * encoded in src/trace/encode.c and decoded in src/trace/reader.c (the ring
 * file in src/trace/recover.c); nothing else writes or parses them.
 *
 * File layout
 *
 *   file header (HST_HEADER_SIZE bytes)
 *   chunk*                       appended by the collector, never rewritten
 *
 * A chunk is a 24-byte chunk header followed by its payload:
 *
 *   u32 magic      HST_CHUNK_MAGIC
 *   u8  codec      HST_CODEC_RAW or HST_CODEC_ZSTD
 *   u8  pad[3]     zero
 *   u32 stored     payload bytes in the file
 *   u32 raw        payload bytes after decompression (<= HST_CHUNK_RAW_MAX)
 *   u32 crc        CRC-32C of the stored payload
 *   u32 hcrc       CRC-32C of the 20 bytes above
 *
 * HST_CODEC_ZSTD payloads are consecutive pieces of one zstd stream that
 * runs through the trace (frames may end and new ones begin anywhere): each
 * chunk ends at a flush point, so a reader that decompresses the chunks in
 * order with one streaming context gets each chunk's records whole.
 * Compressing across chunks matters: a chunk holds one collector cycle
 * (tens of milliseconds), too little for zstd to learn from alone.
 *
 * Each chunk is written with one write(2), so a process killed at any point
 * leaves whole chunks followed by at most one torn one: a chunk cut short by
 * the end of the file ends the trace, which is then truncated.  A chunk
 * that is whole but does not verify (bad magic, checksum, length) is
 * corruption, and the reader reports it as an error.
 *
 * The decompressed payload is a sequence of records:
 *
 *   u8 tag, varint body_length, body[body_length]
 *
 * Bodies are made of LEB128 varints ("v"), zigzag varints ("z") and
 * strings ("s" = v length, then bytes, no NUL).  A reader skips a record
 * whose tag it does not know, and ignores body bytes after the fields it
 * knows, so fields can be appended in later versions.
 *
 * A trace ends cleanly with an HST_REC_END record.  A process that calls
 * exec writes END too and, if exec fails, continues after it: only an END
 * that is the last record marks a complete trace.
 *
 * Events that were in a thread's ring when the process died are not in any
 * chunk; the ring file (TRACE.rings, format in src/trace/ringfile.h) still
 * holds them, and the reader recovers them from there.
 */
#ifndef HS_TRACE_FORMAT_H
#define HS_TRACE_FORMAT_H

#include <stdint.h>

#define HST_MAGIC "HEAPSNAP" /* 8 bytes at offset 0 */
#define HST_VERSION 1
#define HST_HEADER_SIZE 64

/*
 * File header:
 *   char magic[8]   HST_MAGIC
 *   u32  version    HST_VERSION
 *   u32  hsize      HST_HEADER_SIZE
 *   u32  pid
 *   u32  ppid
 *   u64  nonce      random; the ring file of this trace carries the same
 *   u64  realtime   ns since the epoch when the trace was created
 *   u64  mono       CLOCK_MONOTONIC ns at the same moment; event times are
 *                   monotonic ns, so event time - mono = seconds into the run
 *   u8   pad[12]    zero
 *   u32  crc        CRC-32C of the 60 bytes above
 */
#define HST_HDR_OFF_VERSION 8
#define HST_HDR_OFF_HSIZE 12
#define HST_HDR_OFF_PID 16
#define HST_HDR_OFF_PPID 20
#define HST_HDR_OFF_NONCE 24
#define HST_HDR_OFF_REALTIME 32
#define HST_HDR_OFF_MONO 40
#define HST_HDR_OFF_CRC 60

#define HST_CHUNK_MAGIC 0x4b434853u /* "SHCK" */
#define HST_CHUNK_HEADER_SIZE 24
#define HST_CHUNK_RAW_MAX (64u << 20) /* a larger chunk is corrupt */
#define HST_CODEC_RAW 0
#define HST_CODEC_ZSTD 1

/*
 * Record tags and bodies.  Times ("t") are CLOCK_MONOTONIC nanoseconds.
 *
 * PROCESS   v pid, v ppid, s exe, s cmdline (arguments NUL-separated),
 *           s options (HEAPSNAP_OPTIONS as given), s allocator
 *           ("jemalloc" or "system"), v max_frames
 * MODULES   t time, v count, then per module: s path, s build_id (raw
 *           bytes), v load_bias, v nseg, then per PT_LOAD segment: v vaddr
 *           (relative to load_bias), v memsz, v flags (PF_R|PF_W|PF_X).
 *           A reader takes the union of all MODULES records (the first
 *           module written at an address keeps it).  The shim writes a
 *           module only when a record refers to it: before the first STACK
 *           with a frame in it, and after the SCAN_END of the first scan
 *           with a root in its data that holds pointers (shim/modules.c);
 *           the ring file holds all of them for a crash.  Older shims
 *           wrote the whole map at start and after every dlopen/dlclose.
 * STACK     v id (>= 1), v depth, v ref, v shared, then depth - shared
 *           instruction pointers, innermost first: the first as v, each
 *           next one as z delta from the one before.  The outermost shared
 *           frames are those of stack ref (written earlier; ref 0 with
 *           shared 0 when none).  Return addresses, as unw_backtrace gives
 *           them.  Each id is written once; a reader must accept an event
 *           that names a stack written later in the file.
 * STACK_NEAR the body of a STACK, but the first instruction pointer is a z:
 *           the difference from the first one written in the STACK or
 *           STACK_NEAR record before it in the trace (from 0 for the
 *           first; a record whose frames are all shared has none).  A
 *           trace's stacks start in a few functions: the difference takes
 *           2 or 3 bytes where the address took 6 (xz: 44 of 1,095
 *           compressed bytes).  The shim writes these; STACK is still
 *           read (and written by a recovery).
 * THREAD    v index, v tid, t start.  index is what events call the thread.
 * THREAD_END v index, t end, s name
 * ALLOCINFO v id (>= 1), v size, v stack: an allocation site and size
 *           pair; events name blocks by these ids.  Each id is written
 *           once, before the first event that uses it.
 * ALLOCINFOS v count, then three columns, each as s: ids (per
 *           allocinfo, z id from the previous id of the record, the
 *           first from 0), sizes (v size), stacks (z stack from the
 *           previous stack of the record, the first from 0): count
 *           ALLOCINFO records in one, by column: ids come in order and
 *           stacks are recent, so the columns compress to a third of
 *           what the records do.  The shim writes these; older shims
 *           wrote ALLOCINFO, which a reader still reads.
 * EVENTS    t base, v count, v tick (ns per time unit of the record's
 *           time column), then the four columns of count events and the
 *           temporary bitmap (below)
 * EVENTS_SPLIT the same as EVENTS but for the blocks column, which is
 *           split in two (below): the blocks events allocate, then the
 *           blocks they free.  The shim writes it for a cycle's events
 *           when two threads or more have some: blocks freed by a thread
 *           other than the one that allocated them come in the order of
 *           the other thread's allocations, which zstd finds again only
 *           when the frees are not interleaved with allocations (a
 *           producer and a consumer: a third smaller).  One thread's own
 *           allocation and free of a block compress better side by side,
 *           so single-threaded cycles keep EVENTS.
 * EVENTS_THREADS t base, v count, v tick, v nslots, then nslots thread
 *           indexes (v), then the columns (below) slots, times, then per
 *           slot in order its kinds, allocated and freed columns, then
 *           the temporary bitmap.  An EVENTS_SPLIT whose kinds and block
 *           columns are cut by thread: each event names its thread as a
 *           slot of the record's list (v slot, below nslots), and takes
 *           its kind and blocks, in order, from that slot's columns.  A
 *           consumer's frees then come as one run, in the order of the
 *           producer's allocations, which zstd finds again however the
 *           two threads' events interleave (EVENTS_SPLIT's columns hold
 *           them in time order: prodcons's trace, both threads running
 *           at once, 3.2-3.6 MB -> 1.8-2.0 MB), and a thread's kinds
 *           repeat its own pattern.  The sum of the slots' kinds columns
 *           is count bytes.  The shim writes it, in records of 8192
 *           events at most, instead of EVENTS_SPLIT since 2026-12-04.
 * SNAPSHOT  t time, v index, v trigger (HST_SNAP_*), s label
 * PROGRESS  v count, then per ring: v ring_id, v position.  Every event of
 *           that ring before position is in this or an earlier chunk.
 * SCAN      t time, v reason (HST_SCAN_*), v blocks, v snapshot, v threads
 *           stopped, v threads not stopped: a pointer scan begins.  What
 *           follows until SCAN_END belongs to it.  snapshot is 1 + the
 *           index of the SNAPSHOT the scan belongs to (reason
 *           HST_SCAN_SNAPSHOT: that record comes right before it, and the
 *           heap it replays is the heap scanned), 0 for none (older
 *           traces wrote 0 there).
 * SCAN_BLOCKS v count, then count blocks in address order, each: z address
 *           delta (from the previous block's address), v allocinfo, z seq
 *           delta (from the previous block's, as a signed 32-bit
 *           difference; seq is the allocation order: the process's
 *           allocation counter as a u32, wrapping after 2^32).  Blocks
 *           are numbered from 0 in this order across all SCAN_BLOCKS
 *           records of the scan; edges name them by number.
 * SCAN_ROOT v index (from 0), v kind (HST_ROOT_*), v thread index (stack
 *           and register roots, else 0), v address, v bytes, s name (module
 *           path, "[anon]", ...), v pc: a stack root may be one frame of
 *           the stack, [its stack pointer, its CFA), and pc says whose: 1 +
 *           the instruction the thread stopped at for the innermost frame,
 *           the return address into the function for the others (so that
 *           pc - 1 is in the function either way); 0: unknown (older
 *           traces end before it).  index is the root's number in the
 *           order the scan read them; the shim describes only the roots
 *           that hold pointers (after their edges) and the ignored
 *           blocks: the others have no record (older shims described
 *           every root, before its edges).
 * SCAN_EDGES v source kind (0 block, 1 root), v source number, v count,
 *           then count edges, each: v offset in the source (bytes, from
 *           the previous edge's offset of this record), v target: the
 *           zigzag delta of the target block's number (from the previous
 *           edge's target in this record) shifted left by one, or'ed with
 *           1 for an interior pointer (one that points inside the target,
 *           not at its start).  A pointer that Valgrind memcheck's default
 *           heuristics (stdstring, length64, newarray, multipleinheritance:
 *           src/shim/scan.c heuristic_start) take for a start pointer is
 *           written as one, and so is, in a Python program, a pointer to a
 *           GC object past the PyGC_Head (and managed-dict words) that
 *           begin its block.  A source names each target once: at the first
 *           offset that points to it, interior only if none of its words
 *           points to the target's start.  Only aligned pointer-sized words
 *           are scanned; a word pointing into [start, start + max(size, 1))
 *           of a live block is an edge.
 * SCAN_GRAPH v sources, v edges, v width, then five columns, each as s:
 *           the edges of consecutive sources (what SCAN_EDGES records,
 *           one each, would hold, in the same order), by column because
 *           each column compresses far better alone (a third less in
 *           all: the targets are as random as the heap, their high bytes
 *           are not):
 *             sources:  per source, z its number, from the previous
 *                       source's number in this record (the first's from 0)
 *             counts:   per source, v (its edges in this record << 1) |
 *                       its kind (0 block, 1 root)
 *             offsets:  per edge, v offset in its source (bytes, from the
 *                       previous edge's offset of the same source in this
 *                       record, the first's from 0)
 *             targets:  width planes of edges bytes each: plane k holds
 *                       byte k (from the least significant) of each edge's
 *                       target block number; width is 1 to 8
 *             interior: a bitmap, bit i % 8 of byte i / 8 set when edge i
 *                       is an interior pointer (see SCAN_EDGES); empty
 *                       when none is
 *           The counts sum to edges.  A source's edges may go on in the
 *           next record (the same source again).  The shim writes these;
 *           older shims wrote SCAN_EDGES, which a reader still reads.
 * SCAN_END  v edges, v bytes scanned, t time (the scan's end), v roots
 *           read (described or not; older traces end before it: their
 *           SCAN_ROOT records count them)
 * END       t time, v reason (HST_END_*), z status, v events, v dropped
 *           (events lost because a ring write was interrupted by a signal
 *           handler that allocated), v lost (events not written because
 *           the trace had stopped, see STOPPED; absent in older traces)
 * RSS       t time, v resident bytes: the process's resident memory
 *           (/proc/self/statm) sampled by the collector every rss_ms.  A
 *           sample equal to the one before is not written: the value
 *           holds until the next RSS record.  Traces of older shims have
 *           none.
 * RSS_DELTA z time, v shift, z bytes: an RSS sample as the difference
 *           from the sample before it in the trace (an RSS or RSS_DELTA
 *           record; from time 0 and 0 bytes for the first): time in ns,
 *           bytes shifted right by shift (the difference is a multiple
 *           of 2^shift; the shim shifts by 12, a page).  Compressed,
 *           a sample every 10 ms costs 30% less than as RSS, whose time
 *           and size are whole numbers that change in every digit.
 * RSS_SERIES v count, v tshift, v bshift, s times, s bytes: count RSS
 *           samples by column, each the difference from the sample before
 *           it in the trace (as RSS_DELTA): the times column holds each
 *           time difference as a z in units of 2^tshift ns, the bytes
 *           column each resident-bytes difference as a z in units of
 *           2^bshift bytes (the shim's are multiples of 2^20 ns and of a
 *           page).  A column of small repeating deltas compresses to about
 *           half of what RSS_DELTA records do (xz: 145 samples, 304 -> 180
 *           bytes alone).  The shim writes these; RSS and RSS_DELTA are
 *           still read.
 * PYTHON    v hexversion (PY_VERSION_HEX of the interpreter, 0x030b02f0 for
 *           3.11.2), s version (Py_GetVersion()), v flags (HST_PY_*): the
 *           process is a CPython interpreter.  Written at start, and again
 *           when a flag changes: the last one counts.
 * PYCODE    v id (>= 1), s filename (co_filename), s name (co_qualname;
 *           co_name before 3.11), v firstlineno: a Python code object that
 *           stacks name (HST_PYFRAME).  Each id is written once, before the
 *           first STACK that names it; a reader must still accept a stack
 *           that names a code written later (ring-file recovery).
 * STOPPED   t time, v error (an errno value: ENOSPC, EDQUOT, EFBIG, EIO):
 *           the writer could not append to the file any more, and the
 *           trace stops here (its last chunks were written into blocks
 *           reserved for them beforehand); an END may follow at exit.
 *           The trace is truncated even if it has an END.
 * RECOVERED v events: a reader merged the process's ring file into the
 *           trace (its records, stored raw, come just before: THREAD,
 *           STACK, ALLOCINFO, EVENTS) and removed the file; events is how
 *           many it recovered.  The trace stays truncated (no END).
 */
enum hst_tag {
	HST_REC_PROCESS = 1,
	HST_REC_MODULES = 2,
	HST_REC_STACK = 3,
	HST_REC_THREAD = 4,
	HST_REC_THREAD_END = 5,
	HST_REC_EVENTS = 6,
	HST_REC_SNAPSHOT = 7,
	HST_REC_PROGRESS = 8,
	HST_REC_END = 9,
	HST_REC_ALLOCINFO = 10,
	HST_REC_SCAN = 11,
	HST_REC_SCAN_BLOCKS = 12,
	HST_REC_SCAN_ROOT = 13,
	HST_REC_SCAN_EDGES = 14,
	HST_REC_SCAN_END = 15,
	HST_REC_RSS = 16,
	HST_REC_PYTHON = 17,
	HST_REC_PYCODE = 18,
	HST_REC_STOPPED = 19,
	HST_REC_RECOVERED = 20,
	HST_REC_SCAN_GRAPH = 21,
	HST_REC_ALLOCINFOS = 22,
	HST_REC_EVENTS_SPLIT = 23,
	HST_REC_RSS_DELTA = 24,
	HST_REC_RSS_SERIES = 25,
	HST_REC_STACK_NEAR = 26,
	HST_REC_EVENTS_THREADS = 27,
};

/* PYTHON flags. */
enum hst_python_flag {
	HST_PY_FRAMES = 1,     /* stacks carry Python frames */
	HST_PY_ALLOCATORS = 2, /* the allocator domains are traced (HST_EV_PY_*) */
	HST_PY_LATE = 4,       /* they were wrapped after the interpreter had
				* started (PYTHONMALLOC set): objects from before
				* are not blocks, and their arenas stay roots */
};

/*
 * A stack entry with bit 63 set is not an address but a Python frame:
 * bits 32..62 are the id of its code object (a PYCODE record), bits 0..31
 * its line (0: unknown).  No user-space address has bit 63 set.  The
 * frames of one evaluation call of the interpreter stand in the stack
 * where that call's native frame (_PyEval_EvalFrameDefault) was,
 * innermost first like the rest.
 */
#define HST_PYFRAME_BIT (1ull << 63)

static inline int hst_is_pyframe(uint64_t ip)
{
	return (ip & HST_PYFRAME_BIT) != 0;
}

static inline uint64_t hst_pyframe(uint32_t code, uint32_t line)
{
	return HST_PYFRAME_BIT | (uint64_t)(code & 0x7fffffffu) << 32 | line;
}

static inline uint32_t hst_pyframe_code(uint64_t ip)
{
	return (uint32_t)(ip >> 32) & 0x7fffffffu;
}

static inline uint32_t hst_pyframe_line(uint64_t ip)
{
	return (uint32_t)ip;
}

/* SCAN reasons. */
enum hst_scan_reason {
	HST_SCAN_EXIT = 0,  /* the end of the process */
	HST_SCAN_API = 1,   /* heapsnap_leak_check() */
	HST_SCAN_DETACH = 2, /* heapsnap attach --scan-at-detach, before the detach */
	HST_SCAN_SNAPSHOT = 3, /* a scanned snapshot: scan_signal, or snapshot_scan=1 */
};

/* SCAN_ROOT kinds. */
enum hst_root_kind {
	HST_ROOT_DATA = 1,    /* a writable mapping of a module (data, bss) */
	HST_ROOT_STACK = 2,   /* a thread's stack, from its stack pointer up */
	HST_ROOT_REGS = 3,    /* a thread's saved registers */
	HST_ROOT_ANON = 4,    /* other writable memory: anonymous mappings, pools */
	HST_ROOT_IGNORED = 5, /* a block given to heapsnap_ignore() */
	HST_ROOT_TLS = 6,     /* a thread's static TLS and thread descriptor */
};

/*
 * The events of an EVENTS record are stored by column, because each
 * column compresses far better alone than interleaved with the others:
 *
 *   v n_kind_bytes,   kinds:   u8 kind (| HST_EV_IMPLICIT) per event
 *   v n_thread_bytes, threads: v thread index per event
 *   v n_time_bytes,   times:   z time delta in ticks per event, from the
 *                              previous event (the first from base / tick);
 *                              an event's time is floor(ns / tick) * tick
 *   v n_block_bytes,  blocks:  by kind,
 *     allocation kinds:  v allocinfo of the new block
 *     free kinds:        v allocinfo of the freed block (0: free(NULL),
 *                        or a block the trace never saw allocated)
 *     realloc kinds:     v allocinfo of the old block (0: realloc(NULL, n),
 *                        or unknown),
 *                        v allocinfo of the new block (0: realloc(p, 0))
 *     USABLE_SIZE:       nothing
 *   EVENTS_SPLIT has two block columns in place of that one, from which
 *   each event takes its blocks in order:
 *   v n_alloc_bytes,  allocated: v allocinfo of the new block, of
 *                     allocation and realloc kinds
 *   v n_free_bytes,   freed: v allocinfo of the freed block, of free
 *                     kinds, and of the old block, of realloc kinds
 *   EVENTS_THREADS has a slots column in place of threads:
 *   v n_slot_bytes,   slots: v the event's thread, as a slot of the
 *                     record's thread list
 *   and kinds, allocated and freed per slot, after times: the kinds and
 *   blocks of that slot's events only, each as above
 *   v n_temp_bytes,   temporary (appended in a later version; a record
 *                     may end before it, and n_temp_bytes is 0 when no
 *                     event is marked): a bitmap, bit i % 8 of byte i / 8
 *                     set when event i frees a temporary block: one that
 *                     was still its allocating thread's latest allocation
 *                     (heaptrack's measure; for a realloc, the old block)
 *
 * Blocks are not named by address: the collector knows which block each
 * free releases and writes that block's allocinfo (its size and stack),
 * which is what statistics need and compresses far better.  Addresses
 * appear where they are needed, in the exit scan.
 *
 * HST_EV_IMPLICIT marks a free the collector inferred: an address came back
 * from the allocator while the trace still held a block there, so the
 * block's own free is late (a thread was preempted between stamping and
 * publishing it).  The late free itself is then written with allocinfo 0.
 * An implicit free is not a call the program made: it is not counted.
 * Likewise an implicit MALLOC, at the start of a forked child's trace, is a
 * block the child inherited from its parent.
 */
#define HST_EV_IMPLICIT 0x80
#define HST_EV_KIND_MASK 0x7f

enum hst_event_kind {
	HST_EV_MALLOC = 1,
	HST_EV_CALLOC = 2,
	HST_EV_REALLOC = 3,
	HST_EV_REALLOCARRAY = 4,
	HST_EV_FREE = 5,
	HST_EV_POSIX_MEMALIGN = 6,
	HST_EV_ALIGNED_ALLOC = 7,
	HST_EV_MEMALIGN = 8,
	HST_EV_VALLOC = 9,
	HST_EV_PVALLOC = 10,
	HST_EV_NEW = 11,
	HST_EV_NEW_ARRAY = 12,
	HST_EV_DELETE = 13,
	HST_EV_DELETE_ARRAY = 14,
	HST_EV_USABLE_SIZE = 15,
	/* A Python program's allocator domains (raw, mem, object): PyMem_*
	 * and PyObject_* calls, which with pymalloc never reach malloc.  A
	 * domain call that does reach malloc is one event, not two. */
	HST_EV_PY_MALLOC = 16,
	HST_EV_PY_CALLOC = 17,
	HST_EV_PY_REALLOC = 18,
	HST_EV_PY_FREE = 19,
	HST_EV_KIND_MAX = 19,
};

/* Shape of an event kind's body. */
enum hst_event_shape { HST_SHAPE_ALLOC, HST_SHAPE_FREE, HST_SHAPE_REALLOC, HST_SHAPE_ADDR };

/* The shapes of kinds 0..31, two bits each (HST_SHAPE_ALLOC is 0): one
 * shift and mask where a switch cost the collector a jump table, three
 * times an event. */
#define HST_SHAPE_OF_(kind, shape) ((uint64_t)(shape) << (2 * (kind)))
#define HST_SHAPES_                                                                                         \
	(HST_SHAPE_OF_(HST_EV_REALLOC, HST_SHAPE_REALLOC) | HST_SHAPE_OF_(HST_EV_REALLOCARRAY, HST_SHAPE_REALLOC) | \
	 HST_SHAPE_OF_(HST_EV_PY_REALLOC, HST_SHAPE_REALLOC) | HST_SHAPE_OF_(HST_EV_FREE, HST_SHAPE_FREE) |        \
	 HST_SHAPE_OF_(HST_EV_DELETE, HST_SHAPE_FREE) | HST_SHAPE_OF_(HST_EV_DELETE_ARRAY, HST_SHAPE_FREE) |      \
	 HST_SHAPE_OF_(HST_EV_PY_FREE, HST_SHAPE_FREE) | HST_SHAPE_OF_(HST_EV_USABLE_SIZE, HST_SHAPE_ADDR))

static inline enum hst_event_shape hst_event_shape(unsigned kind)
{
	return kind < 32 ? (enum hst_event_shape)((HST_SHAPES_ >> (2 * kind)) & 3) : HST_SHAPE_ALLOC;
}

/* The name of an event kind as the JSON schema spells it, or NULL. */
static inline const char *hst_event_name(unsigned kind)
{
	static const char *const names[] = {
		[HST_EV_MALLOC] = "malloc",
		[HST_EV_CALLOC] = "calloc",
		[HST_EV_REALLOC] = "realloc",
		[HST_EV_REALLOCARRAY] = "reallocarray",
		[HST_EV_FREE] = "free",
		[HST_EV_POSIX_MEMALIGN] = "posix_memalign",
		[HST_EV_ALIGNED_ALLOC] = "aligned_alloc",
		[HST_EV_MEMALIGN] = "memalign",
		[HST_EV_VALLOC] = "valloc",
		[HST_EV_PVALLOC] = "pvalloc",
		[HST_EV_NEW] = "new",
		[HST_EV_NEW_ARRAY] = "new[]",
		[HST_EV_DELETE] = "delete",
		[HST_EV_DELETE_ARRAY] = "delete[]",
		[HST_EV_USABLE_SIZE] = "malloc_usable_size",
		[HST_EV_PY_MALLOC] = "py_malloc",
		[HST_EV_PY_CALLOC] = "py_calloc",
		[HST_EV_PY_REALLOC] = "py_realloc",
		[HST_EV_PY_FREE] = "py_free",
	};
	return kind >= 1 && kind <= HST_EV_KIND_MAX ? names[kind] : 0;
}

/* SNAPSHOT triggers. */
enum hst_snap_trigger {
	HST_SNAP_EXIT = 0,     /* end of run */
	HST_SNAP_SIGNAL = 1,   /* snapshot_signal */
	HST_SNAP_INTERVAL = 2, /* snapshot_interval */
	HST_SNAP_API = 3,      /* heapsnap_snapshot() */
};

/* END reasons. */
enum hst_end_reason {
	HST_END_EXIT = 0,  /* exit() or return from main */
	HST_END__EXIT = 1, /* _exit() or _Exit() */
	HST_END_EXEC = 2,  /* before an exec* call */
	HST_END_DETACH = 3, /* heapsnap attach let the process go on untraced */
};

#endif
