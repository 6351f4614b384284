/*
 * heapsnap-analyze.h - the analyzer library (build/lib/libheapsnap-analyze.a):
 * every analysis of heapsnap traces and every rendering of its results.
 * The heapsnap command is one front end of it; the HTML report, pprof
 * export or a language binding are others, and none needs a second copy
 * of an analysis.  Link with -ldw -lelf -lzstd -lprotobuf-c -lz -lm
 * -lstdc++.
 *
 * Use:
 *
 *   struct hs_session *s = hs_session_new(NULL);    // symbols, wrappers
 *   struct hs_want w = {.flags = HS_WANT_INFO};
 *   struct hs_diag d;
 *   struct hs_trace *t = hs_trace_read(s, path, &w, &d);   // one pass
 *   if (!t) ... d.msg says why (unreadable or corrupt: exit 2)
 *   ... read t->info, or render it: hs_render_info(stdout, HS_FMT_TEXT, &t, 1);
 *   for (char *m; (m = hs_session_take_warning(s)); free(m)) ... print m
 *   hs_trace_free(t);
 *   hs_session_free(s);
 *
 * Statistics of many traces, one read at a time (memory follows the
 * distinct lines, not the traces):
 *
 *   const char *sel = "peak";
 *   struct hs_want w = {.select = &sel, .nselect = 1};
 *   struct hs_group g = {.by = HS_BY_LINENO};
 *   struct hs_stats *st = hs_stats_new(&g, 1);
 *   for each path: t = hs_trace_read(s, path, &w, &d);
 *                  hs_stats_add(st, t, &t->heaps[0], 0); hs_trace_free(t);
 *   n = hs_stats_top(st, 0, &lines);  ... hs_stat_lines_free(lines, n);
 *
 * A session holds what every trace of one invocation shares: the libdw
 * symbolizer (each module file is opened and each address resolved once,
 * however many traces name it), the allocator wrapper patterns and the
 * warnings.  hs_trace_read reads a trace once and computes, in that one
 * pass, every analysis hs_want asks for.  Results are plain structs that
 * the trace owns.
 *
 * No global mutable state: any number of sessions and traces may be open
 * at once.  A session and its traces are used by one thread at a time.
 * Functions that can fail return 0 or a negative errno (-ENOMEM, -EINVAL),
 * or NULL, and fill a struct hs_diag with one line naming the file and
 * what is wrong.  Nothing here prints except the renderers, to the FILE
 * they are given; warnings are kept for the caller to take.
 *
 * Strings in results are as the trace and the debug information spell
 * them, bytes that need not be UTF-8; the JSON, SARIF and JUnit renderers
 * escape what is not (heapsnap(1), "Strings in JSON, SARIF and JUnit
 * output").
 */
#ifndef HEAPSNAP_ANALYZE_H
#define HEAPSNAP_ANALYZE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* heapsnap's version: `heapsnap --version`, the SARIF driver's. */
#define HS_VERSION "0.1"

/* The share of intervals a line grows in for hs_stats_growth, by default. */
#define HS_GROWTH_SHARE 0.6

/* ---- Errors ------------------------------------------------------------- */

#ifndef HS_DIAG_DEFINED /* src/util/diag.h defines the same struct */
#define HS_DIAG_DEFINED
struct hs_diag {
	char msg[1024]; /* one line: the file, where, what is wrong; "" if none */
};
#endif

/* ---- Session ------------------------------------------------------------ */

struct hs_session;
struct hs_trace;

struct hs_session_config {
	const char *wrappers;	/* allocator wrapper patterns to add or ("-pat")
				 * remove, HEAPSNAP_WRAPPERS syntax; NULL: that
				 * environment variable */
	const char *debug_path; /* where separate debug files are looked for;
				 * NULL: $HEAPSNAP_DEBUG_PATH, else libdw's default */
};

/* Start a session; cfg may be NULL (the environment decides).  Return it,
 * or NULL when out of memory.  Free with hs_session_free after every trace
 * read with it: their frames point into its strings. */
struct hs_session *hs_session_new(const struct hs_session_config *cfg);
void hs_session_free(struct hs_session *s);

/* Take the oldest warning not yet taken (a line without "heapsnap: " and
 * without newline; the caller frees it), or NULL when there is none. */
char *hs_session_take_warning(struct hs_session *s);

/* What the session's symbolizer did so far, over every trace read. */
struct hs_symbol_stats {
	uint64_t files;	   /* module files opened with libdw (each once) */
	uint64_t lookups;  /* addresses looked up */
	uint64_t resolved; /* of those, resolved in the debug info (each
			    * (file, address) once; the rest came from the cache) */
};
void hs_session_symbol_stats(const struct hs_session *s, struct hs_symbol_stats *out);

/* ---- Frames and stacks -------------------------------------------------- */

/* One source-level frame.  Strings belong to the session; any may be NULL
 * (unknown). */
struct hs_frame {
	uint64_t ip;	      /* the return address as recorded */
	const char *function; /* demangled */
	const char *system_name; /* as the binary spells it: the symbol, or the
			       * DWARF linkage name of an inlined function
			       * (C++ mangled, "f.cold" as is); NULL if unknown */
	const char *file;     /* as the debug info names it: absolute, or relative
			       * to the compile directory when the compiler
			       * was given a relative path */
	unsigned line;	      /* 0 if unknown */
	const char *module;   /* path of the module, NULL if ip is in none */
	uint64_t offset;      /* ip - module load bias: the ELF address, what
			       * addr2line -e MODULE takes */
	int inlined;	      /* 1 for a frame inlined into the next one (same ip) */
	int python;	      /* 1 for a Python frame of a Python program: function,
			       * file and line are the Python code's, module is
			       * its file too, ip its code and line (no address),
			       * offset 0 */
	int approximate;      /* 1 when function is not the function's name but
			       * "SYMBOL+0xN": no symbol covers it and no debug
			       * information names it (a static function of a
			       * stripped module), and it starts N bytes past
			       * SYMBOL, the nearest function symbol before it */
};

/* A symbolized allocation stack: frames from the allocation site (the
 * first frame outside allocator wrappers) outwards, the shim's own frames
 * left out. */
struct hs_stack {
	const struct hs_frame *frames;
	int n;
	int all; /* frames before wrappers were skipped */
};

/* A module of a traced process's address map. */
struct hs_module {
	const char *path;	 /* as the process named it (the session's string) */
	const uint8_t *build_id; /* raw bytes, NULL if none */
	size_t build_id_len;
	uint64_t lo, hi;	 /* addresses covered by its segments, [lo, hi) */
	uint64_t bias;		 /* load bias: ELF address + bias = address */
	uint64_t text_lo, text_hi; /* its executable segments, [text_lo, text_hi)
				    * (lo, hi if the trace names none) */
	uint64_t text_offset;	 /* the file offset mapped at text_lo: from the
				  * file's program headers when it is the one
				  * the process ran, else that segment's ELF
				  * address minus the first segment's (how
				  * GNU ld lays files out) */
};

/* ---- Names of trace constants ------------------------------------------- */

#define HS_EVENT_KINDS 20 /* event kinds are 1..19, as in the trace format (16..19:
			   * a Python program's allocator domains, "py_malloc"...) */

/* The JSON name of an event kind ("malloc", "new[]", ...), or NULL. */
const char *hs_event_name(unsigned kind);
/* How a snapshot was taken: "exit", "signal", "interval", "api". */
const char *hs_trigger_name(int trigger);
/* How the process ended its trace: "exit", "_exit", "exec". */
const char *hs_end_name(int reason);
/* Why a pointer scan was taken: "exit", "api", "detach", "snapshot". */
const char *hs_scan_reason_name(int reason);

/* ---- Leaks: the reference graph of a pointer scan ------------------------- */

/* Valgrind memcheck's leak classes (heapsnap(1), "Leak classes"). */
enum hs_leak_kind {
	HS_REACHABLE = 0, /* a chain of start pointers leads to it from a root */
	HS_POSSIBLE,	  /* reached only through some interior pointer */
	HS_INDIRECT,	  /* not reached, pointed to from a definitely lost block */
	HS_DEFINITE,	  /* not reached, and no other unreached block points to it */
	HS_LEAK_KINDS
};

/* "reachable", "possible", "indirect", "definite" (as --kinds spells them). */
const char *hs_leak_kind_name(int kind);
/* Parse a comma list of kinds (or "all") into a bit per enum hs_leak_kind.
 * Return 0, or -EINVAL. */
int hs_leak_kinds_parse(const char *s, unsigned *out);

/* A pointer found by the scan. */
struct hs_edge {
	uint32_t dst;	  /* target block */
	uint32_t src_off; /* offset in the source, bytes (saturated) */
	uint32_t dst_off; /* offset in the target (0: its start; saturated) */
};

/* A root region of the scan. */
struct hs_root {
	int kind;	 /* enum hs_root_kind: 1 data of a module, 2 a thread's stack,
			  * 3 its registers, 4 other writable memory, 5 a block given
			  * to heapsnap_ignore(), 6 a thread's TLS; 0 a root the
			  * trace does not describe (it held no pointer to a
			  * block: the shim leaves those out), name NULL */
	uint32_t thread; /* thread index (stack, registers) */
	uint64_t addr, bytes;
	char *name;	 /* module path, "[anon]", ... */
	uint64_t pc;	 /* a stack root that is one frame: an address in the frame's
			  * function plus 1 (a return address), else 0 */
};

/* The reference graph of one complete pointer scan: blocks in address
 * order, edges grouped by source block (out[b] .. out[b + 1]). */
struct hs_graph {
	uint64_t n;		  /* blocks */
	uint64_t *addr;		  /* by block: start address */
	uint64_t *size;		  /* by block: requested bytes */
	uint32_t *stack;	  /* by block: allocation stack id */
	uint32_t *seq;		  /* by block: allocation order */
	uint8_t *kind;		  /* by block: enum hs_leak_kind */
	uint64_t *out;		  /* by block: first edge in edges; out[n] = total */
	struct hs_edge *edges;	  /* by source block */
	uint64_t nedges;
	struct hs_edge *root_edges; /* from roots (src_off: in the root, saturated) */
	uint32_t *root_of_edge;	  /* by root edge: root number */
	uint64_t nroot_edges;
	struct hs_root *roots;
	uint32_t nroots;
	uint64_t *root_edge_off;  /* by root edge: the pointer's offset in its root, bytes */
	uint64_t scan_ts;	  /* when the scan ran */
	uint64_t scan_end_ts;	  /* when it ended (0: the trace does not say) */
	int reason;		  /* why: 0 at exit, 1 heapsnap_leak_check(), 2 before a
				   * detach, 3 a scanned snapshot */
	int64_t snapshot;	  /* the index of the snapshot it was taken at, -1: none */
	uint64_t threads_stopped, threads_missed;
	int complete;		  /* a SCAN_END was read */
};

/* The block of g that starts at addr, or -1. */
int64_t hs_graph_block_at(const struct hs_graph *g, uint64_t addr);

/* One loss record: the blocks of one kind allocated from one stack. */
struct hs_loss_record {
	int kind;	 /* enum hs_leak_kind */
	uint32_t stack;	 /* stack id: hs_trace_stack */
	uint64_t blocks; /* count */
	uint64_t bytes;	 /* requested bytes */
	int suppressed;	 /* index of the suppression that matched, or -1 */
};

/* A member block of a leaked cycle. */
struct hs_cycle_member {
	uint32_t block;	/* its number in the scan */
	uint64_t addr, size;
	int kind;	/* the first allocated member is definite, the rest indirect */
	uint32_t stack;
};

/* A pointer inside a leaked cycle (one per member pair). */
struct hs_cycle_edge {
	uint32_t from, to; /* member indices */
	uint32_t offset;   /* in from, bytes */
};

/* A leaked strongly connected component that nothing outside points into. */
struct hs_cycle {
	struct hs_cycle_member *members; /* in allocation order */
	uint32_t n;
	uint64_t bytes;
	struct hs_cycle_edge *edges;
	uint32_t nedges;
};

/* The leak report of a trace (HS_WANT_LEAKS). */
struct hs_leaks {
	int scanned;			   /* the trace has a complete pointer scan */
	struct hs_loss_record *records;	   /* suppressed last, then definite first,
					    * then largest first */
	uint64_t nrecords;
	uint64_t total[HS_LEAK_KINDS][2];  /* blocks, bytes; suppressed ones not counted */
	uint64_t suppressed[2];		   /* blocks, bytes */
	struct hs_cycle *cycles;
	long ncycles;
	uint64_t scan_blocks, scan_edges;  /* of the scan read (hs_want.scan), complete or not */
	uint32_t scan_roots;
	uint64_t threads_stopped, threads_missed;
	int scan_reason;		   /* as hs_graph.reason */
	int64_t scan_snapshot;		   /* the index of its snapshot, -1: none */
	uint64_t scan_ts;		   /* when it ran, 0 without a scan */
	uint64_t scan_ns;		   /* how long it took (0: unknown) */
};

/* LeakSanitizer's suppression files (leak:PATTERN lines; heapsnap(1)). */
struct hs_suppression {
	char *pattern;	 /* as written after "leak:" */
	char *glob;	 /* the pattern as an anchored glob */
	unsigned line;	 /* in its file */
	uint64_t leaks;	 /* loss records it matched, over every trace read with it */
	uint64_t blocks; /* and their blocks */
	uint64_t bytes;	 /* and bytes */
};

struct hs_suppressions {
	struct hs_suppression *s;
	unsigned n;
	char *path; /* the file, or NULL when none was loaded */
};

/* Read a suppression file into sup.  Lines of other types are skipped with
 * a warning in s.  Return 0, or a negative errno with d set. */
int hs_suppressions_load(struct hs_session *s, struct hs_suppressions *sup, const char *path, struct hs_diag *d);
void hs_suppressions_free(struct hs_suppressions *sup);
/* Queue a warning in s for each suppression that matched nothing. */
void hs_suppressions_warn_unused(struct hs_session *s, const struct hs_suppressions *sup);

/* Add up the leak summaries of n traces (total and suppressed as in
 * struct hs_leaks). */
void hs_leaks_sum(struct hs_trace *const *t, int n, uint64_t total[HS_LEAK_KINDS][2], uint64_t suppressed[2]);

/* ---- Reading a trace ---------------------------------------------------- */

/* What one pass over a trace computes (hs_want.flags). */
enum hs_want_flags {
	HS_WANT_INFO = 1u << 0,	    /* t->info: event counts, threads, peak, scan */
	HS_WANT_TIMELINE = 1u << 1, /* t->timeline: memory over time, allocations */
	HS_WANT_LEAKS = 1u << 2,    /* t->leaks: classify a pointer scan (hs_want.scan) */
	HS_WANT_GRAPH = 1u << 3,    /* t->graph: keep that scan's reference graph */
	HS_WANT_SNAPSHOT_HEAPS = 1u << 4, /* t->snapshot_heaps: the live heap at every
					   * snapshot the program took (not the exit one) */
	HS_WANT_TEMPORARY = 1u << 5, /* t->temporary: the temporary blocks of the run */
	HS_WANT_ALLOCS = 1u << 6,   /* heaps (t->heaps, t->snapshot_heaps) count the
				     * blocks allocated up to their moment too */
	HS_WANT_REPORT_STACKS = 1u << 7, /* with HS_WANT_LEAKS (and nothing else): keep
					  * only the loss records the leak report shows
					  * (unsuppressed, of report_kinds; the totals
					  * still count all) and their stacks and its
					  * cycles' members'; the other stacks read as
					  * unknown.  Thousands of traces held at once
					  * then cost their reports, not their whole
					  * stack tables */
};

struct hs_want {
	unsigned flags;				/* enum hs_want_flags */
	struct hs_suppressions *suppressions;	/* HS_WANT_LEAKS: NULL for none; their
						 * counts add up over the traces */
	const char *const *select;		/* t->heaps: the live heap at each of these
						 * snapshot selectors (heapsnap(1), SEL: a
						 * label, an index, start, exit, peak, @2.5s) */
	int nselect;				/* at most HS_MAX_SELECT */
	const char *scan;			/* HS_WANT_LEAKS, HS_WANT_GRAPH: the pointer
						 * scan taken at this snapshot (SEL: a label,
						 * an index, exit); NULL: the last complete
						 * scan.  A selector no scan belongs to is an
						 * error (-EINVAL, d names the scans there are) */
	int ntimes;				/* t->time_heaps: the live heap at about ntimes
						 * moments spread evenly over the run (at most
						 * HS_MAX_SELECT), taken in the same pass
						 * although the run's length is known only at
						 * its end; fewer for a run shorter than
						 * ntimes times 0.1 ms */
	unsigned report_kinds;			/* HS_WANT_REPORT_STACKS: the kinds of the
						 * loss records shown (a bit per enum
						 * hs_leak_kind); 0: every kind */
};

#define HS_MAX_SELECT 64

/*
 * The live heap at one moment: how many blocks of each allocation site
 * (allocinfo: a size and stack pair) were live.  Group it with struct
 * hs_stats, or by stack with hs_heap_stacks.
 */
struct hs_heap {
	int index;	 /* the snapshot's index; -1 for start, peak, a time, an exit
			  * without snapshot, and counts over the run */
	char label[128]; /* the snapshot's label, else its selector ("start", "peak",
			  * "@2.5s"), "temporary" for t->temporary */
	uint64_t ts;	 /* CLOCK_MONOTONIC ns */
	double seconds;	 /* since the trace began */
	uint64_t bytes, blocks; /* live, every block (no filter) */
	uint64_t *count; /* by allocinfo id: blocks (the library's representation) */
	uint64_t *allocs; /* HS_WANT_ALLOCS: by allocinfo id, blocks allocated from
			  * the start up to this moment (a realloc allocates
			  * its new block; blocks a forked child inherited
			  * count at its start); else NULL */
	uint64_t ninfo;	 /* ids count (and allocs) cover */
};

/* A snapshot the program took (a SNAPSHOT record). */
struct hs_snapshot {
	uint32_t index;	 /* as written */
	int trigger;	 /* hs_trigger_name */
	uint64_t ts;	 /* CLOCK_MONOTONIC ns */
	double seconds;	 /* since the trace began */
	char *label;	 /* NUL-terminated, "" if none */
	int scanned;	 /* a pointer scan was taken at it (scan_signal, snapshot_scan) */
};

/* A thread of the process. */
struct hs_thread {
	uint32_t index;	 /* as events name it */
	uint32_t tid;	 /* kernel thread id, 0 if unknown */
	uint64_t events; /* calls it made */
	char name[17];	 /* at its end, "" if unknown */
};

/* What `heapsnap info` reports (HS_WANT_INFO). */
struct hs_info {
	uint64_t events[HS_EVENT_KINDS]; /* calls by kind (implicit events not counted) */
	uint64_t total_events;
	uint64_t temporary;		 /* frees of temporary blocks: freed before the
					  * thread that allocated them allocated again
					  * (0 in traces of older shims) */
	struct hs_thread *threads;	 /* in order of first appearance */
	size_t nthreads;
	uint64_t stacks;		 /* distinct stack ids */
	uint64_t modules;		 /* distinct (path, load bias) */
	uint64_t first_ts, last_ts;	 /* first and last call, or the end; 0 if none */
	uint64_t live_bytes, live_blocks; /* at the end of the trace */
	uint64_t peak_bytes, peak_blocks, peak_ts; /* the first time the live heap was largest */
	uint64_t unknown_frees;		 /* frees of blocks the trace never saw allocated */
	uint64_t file_bytes;		 /* size of the trace file */
	int scans;			 /* pointer scans; the fields below are of the last */
	int scan_reason;		 /* 0 at exit, 1 heapsnap_leak_check(), 2 before a
					  * detach, 3 at a snapshot (hs_scan_reason_name) */
	int scan_complete;		 /* its SCAN_END was read (0: the process died
					  * during it; edges are those found so far,
					  * bytes and ns 0) */
	uint64_t scan_blocks, scan_edges, scan_bytes, scan_ns;
	uint64_t scan_stopped, scan_missed; /* threads */
	uint64_t raw_events, raw_stacks, raw_allocinfo, raw_other; /* record bytes before compression */
};

/*
 * A value over time in at most HS_SERIES_BUCKETS buckets: bucket i covers
 * [t0 + i * width, t0 + (i + 1) * width) and holds the smallest and the
 * largest value the value took in it (it holds between samples, so a
 * bucket without samples has the value it began with).  The width is the
 * trace's time tick (100 us) times the power of two that fits the run: no
 * peak is lost however long the run.
 */
#define HS_SERIES_BUCKETS 1024

struct hs_series {
	uint64_t t0;	/* CLOCK_MONOTONIC ns where bucket 0 begins */
	uint64_t width;	/* ns per bucket */
	uint32_t n;	/* buckets */
	uint64_t *min;	/* by bucket */
	uint64_t *max;	/* by bucket */
};

/* Memory over time (HS_WANT_TIMELINE). */
struct hs_timeline {
	struct hs_series heap;	/* live heap bytes, after every event */
	struct hs_series rss;	/* resident memory the shim sampled, bytes; n = 0
				 * when the trace has no samples (older shims) */
	uint64_t end;		/* ns: the last time the trace names */
	uint64_t allocations;	/* calls that allocated (implicit events not counted) */
};

/* One trace, read.  Everything belongs to the trace (strings to it or to
 * its session) and lives until hs_trace_free. */
struct hs_trace {
	char *path;		/* as given to hs_trace_read */
	uint32_t version;	/* of the file format */
	uint32_t pid, ppid;	/* of the traced process */
	char *exe;		/* its executable, NULL if the trace does not say */
	char *cmdline;		/* its arguments joined by spaces, NULL if unknown */
	char *options;		/* HEAPSNAP_OPTIONS as given, NULL if unknown */
	char *allocator;	/* "jemalloc" or "system", NULL if unknown */
	uint64_t t0;		/* CLOCK_MONOTONIC ns when the trace began */
	uint64_t realtime;	/* the same moment in ns since the Unix epoch */
	int truncated;		/* it did not end cleanly (killed, crashed) */
	char truncation[256];	/* why, in words, when truncated */
	uint64_t recovered;	/* events read back from its ring file */
	int ended;		/* an END record was read */
	int end_reason;		/* of the last END: hs_end_name */
	int64_t end_status;	/* the status it gave (END), 0 if none */
	uint64_t dropped;	/* events the shim lost (END) */
	uint64_t lost;		/* events not written: the trace had stopped, a
				 * full disk (END; the truncation says why) */
	struct hs_snapshot *snapshots; /* every snapshot, in order */
	size_t nsnapshots;
	unsigned have;		/* the HS_WANT_* flags computed */
	struct hs_info info;	/* HS_WANT_INFO */
	struct hs_timeline timeline; /* HS_WANT_TIMELINE */
	struct hs_leaks leaks;	/* HS_WANT_LEAKS */
	struct hs_graph *graph;	/* HS_WANT_GRAPH: NULL without a complete scan */
	struct hs_heap *heaps;	/* one per hs_want.select, in order */
	int nheaps;
	struct hs_heap *snapshot_heaps; /* HS_WANT_SNAPSHOT_HEAPS */
	int nsnapshot_heaps;
	struct hs_heap temporary; /* HS_WANT_TEMPORARY: blocks freed before their
				   * thread allocated again, over the run */
	struct hs_heap *time_heaps; /* hs_want.ntimes, in time order (labelled @SECONDS) */
	int ntime_heaps;
	struct hs_trace_priv *priv; /* the library's */
};

/* Read the trace at path once and compute what w asks for.  Return the
 * trace, or NULL with d set: unreadable, corrupt, out of memory. */
struct hs_trace *hs_trace_read(struct hs_session *s, const char *path, const struct hs_want *w,
			       struct hs_diag *d);
void hs_trace_free(struct hs_trace *t);

/* The symbolized allocation stack of stack id of t (never NULL: empty
 * when unknown), symbolized on first use.  Valid until hs_trace_free. */
const struct hs_stack *hs_trace_stack(struct hs_trace *t, uint32_t id);
/* Every frame of stack id, allocator wrappers included, into out (at most
 * max).  Return how many. */
int hs_trace_stack_frames(struct hs_trace *t, uint32_t id, struct hs_frame *out, int max);
/* The return addresses of stack id as recorded, innermost first, and
 * their number in *depth; NULL when the trace has no such stack. */
const uint64_t *hs_trace_stack_ips(const struct hs_trace *t, uint32_t id, uint32_t *depth);
/* "function file:line" of the allocation site of stack id (or
 * "function (module)", "module+0xoffset", "(no stack)"), in buf. */
const char *hs_trace_site(struct hs_trace *t, uint32_t id, char *buf, size_t cap);
/* The modules of the process (every map it recorded; the first module
 * seen at an address keeps it), sorted by address. */
const struct hs_module *hs_trace_modules(const struct hs_trace *t, size_t *n);

/* ---- Statistics: heaps grouped like tracemalloc's ------------------------- */

/* The live blocks and bytes of one stack in a heap. */
struct hs_stack_cost {
	uint32_t stack;	 /* hs_trace_stack */
	uint64_t blocks; /* count */
	uint64_t bytes;
	uint64_t alloc_blocks; /* allocated up to the heap's moment (h->allocs), */
	uint64_t alloc_bytes;  /* live or freed since; 0 when h has no allocs */
};

/* Heap h of trace t by stack, largest bytes first (in *out, the caller
 * frees it); when h counts allocations, a stack whose blocks were all
 * freed is there too (0 blocks).  Return how many, or -ENOMEM. */
long hs_heap_stacks(const struct hs_trace *t, const struct hs_heap *h, struct hs_stack_cost **out);

/* What a statistics line is keyed by (heapsnap(1), "Statistics keys"). */
enum hs_by { HS_BY_LINENO, HS_BY_FUNCTION, HS_BY_FILE, HS_BY_MODULE, HS_BY_TRACEBACK };

/* "lineno", "function", "file", "module", "traceback". */
const char *hs_by_name(enum hs_by by);
/* Return 0 with *by set, or -EINVAL. */
int hs_by_parse(const char *name, enum hs_by *by);

/* How heaps are grouped into lines. */
struct hs_group {
	enum hs_by by;
	int cumulative;		     /* a line for every frame of a stack, not the site's */
	const char *const *include;  /* globs on the site's file or module: keep these */
	int ninclude;
	const char *const *exclude;  /* ... drop these */
	int nexclude;
	int full_names;		     /* text: keys' C++ template arguments in full, not "<…>" */
};

/* One line of a statistics table. */
struct hs_stat_line {
	char *key;	   /* "file:line", a function, ... */
	uint64_t size;	   /* live bytes */
	uint64_t count;	   /* live blocks */
	int64_t size_diff; /* a diff: size - the older size; growth: last - the
			    * size before it began to grow */
	int64_t count_diff;
	uint64_t *sizes;   /* growth: the size in every column */
	int grew;	   /* growth: the intervals between columns it grew in */
	int intervals;	   /* growth: the intervals since it began to grow */
	uint64_t retained; /* hs_stats_add_retained: the bytes the line's blocks
			    * retain (each block once) */
};

/*
 * A statistics table being added up: heaps of any number of traces go
 * into its columns (one column: top; two: a diff; one per snapshot:
 * growth), each added to the lines of its keys, so memory follows the
 * distinct keys, never the traces: read a trace, add its heaps, free it.
 */
struct hs_stats;

/* A table of ncols columns grouped as g (g and its patterns must outlive
 * it).  NULL when out of memory. */
struct hs_stats *hs_stats_new(const struct hs_group *g, int ncols);
void hs_stats_free(struct hs_stats *s);
/* Add heap h of trace t into column col.  Return 0, -ENOMEM, or -EINVAL
 * for a column the table does not have. */
int hs_stats_add(struct hs_stats *s, struct hs_trace *t, const struct hs_heap *h, int col);
/*
 * Add the blocks of trace t's pointer scan (read with HS_WANT_GRAPH) into
 * column col: their bytes and count, and what they retain (`top
 * --retained`): the bytes that would be freed if every block of the line
 * were freed, from the dominator tree (hs_trace_retained); a block that
 * another block of the same line dominates is in that one's, so it counts
 * once (Chrome DevTools' retained size of a constructor, Eclipse MAT's
 * approximation of a class's).  Lines then carry `retained`, and
 * hs_stats_top ranks them by it.  Return 0, -ENOMEM, or -EINVAL for a
 * column the table does not have or a trace without a graph.
 */
int hs_stats_add_retained(struct hs_stats *s, struct hs_trace *t, int col);

/* The live bytes and blocks of column col that pass the filters, each
 * block once (--cumulative counts a block in every line of its stack). */
void hs_stats_total(const struct hs_stats *s, int col, uint64_t *size, uint64_t *count);

/* The lines of column col, largest first (then by key; with retained
 * sizes, the largest retained first).  Return how many
 * (in *out: free with hs_stat_lines_free), or -ENOMEM, -EINVAL (no such
 * column; growth: fewer than 3). */
long hs_stats_top(const struct hs_stats *s, int col, struct hs_stat_line **out);
/* Column to against column from (keys matched by text, so two runs
 * compare by symbolized frames): the sizes of to with the differences,
 * largest difference first. */
long hs_stats_diff(const struct hs_stats *s, int from, int to, struct hs_stat_line **out);
/* The lines that grow across the columns (3 or more, one per snapshot),
 * with every column's size, largest growth first.  A line grows when,
 * from the first interval in which it grew (start-up before it does not
 * count), it grew in two intervals at least and in at least share of them
 * (0 < share <= 1; 0 or less: HS_GROWTH_SHARE), and kept at least half
 * of what it grew by (an oscillation gives most of it back). */
long hs_stats_growth(const struct hs_stats *s, double share, struct hs_stat_line **out);
void hs_stat_lines_free(struct hs_stat_line *l, long n);

/* Flame-graph input of heap h of trace t: a line per distinct stack,
 * key "outer;...;inner" (functions, ';' and ' ' as '_'), size its live
 * bytes, in the order of first appearance.  Return how many, or -ENOMEM. */
long hs_folded(struct hs_trace *t, const struct hs_heap *h, const struct hs_group *g, struct hs_stat_line **out);

/* ---- Why is it still alive: retained sizes, retainer paths ---------------- */

/* The retained size of every block of trace t's pointer scan (read with
 * HS_WANT_GRAPH), by block number: its bytes and those of every block
 * only it keeps alive (the dominator tree of the reference graph, the
 * roots a virtual root; every pointer counts, interior ones too).  A
 * block no root reaches hangs from the virtual root, so a leaked
 * structure retains what it holds.  Computed on first use; NULL when the
 * trace has no graph or memory ran out. */
const uint64_t *hs_trace_retained(struct hs_trace *t);

/* A root, named as a person would name it. */
struct hs_root_ref {
	int kind;	      /* enum hs_root_kind */
	uint32_t root;	      /* its number in the scan (hs_graph.roots) */
	uint64_t address;     /* of the pointer */
	uint64_t offset;      /* of the pointer from the variable's start (a global
			       * with a symbol), else from the root region's */
	const char *symbol;   /* a global: the variable, NULL if the module's symbol
			       * table does not say (the session's string) */
	const char *module;   /* a global, TLS: the module's path, NULL if unknown */
	const char *section;  /* a global: ".bss", ".data", ... NULL if unknown */
	const char *function; /* a stack: the function whose frame holds the
			       * pointer, NULL when it cannot be told */
	uint32_t thread;      /* a stack, registers, TLS: the thread's index */
	char name[320];	      /* all of it in words: "g_sessions (service, .bss)",
			       * "the stack of thread 1, in serve (server.c:88)" */
};

/* Root kinds (hs_root.kind, hs_root_ref.kind). */
enum hs_root_kind {
	HS_ROOT_GLOBAL = 1,  /* a module's writable data: globals */
	HS_ROOT_STACK = 2,   /* a thread's stack */
	HS_ROOT_REGS = 3,    /* a thread's registers */
	HS_ROOT_ANON = 4,    /* other writable memory: anonymous mappings, pools */
	HS_ROOT_IGNORED = 5, /* a block given to heapsnap_ignore() */
	HS_ROOT_TLS = 6,     /* a thread's static TLS and thread descriptor */
};

/* One hop of a retainer path: the blocks of one allocation site, reached
 * from the hop before (or the root) through pointers at some offsets. */
struct hs_retainer_hop {
	char *site;	       /* "function file:line" (hs_trace_site) */
	uint32_t stack;	       /* the allocation stack of one of its blocks */
	uint64_t off_min, off_max; /* offsets of the pointers into the hop, in the
				    * blocks of the hop before (the root's: from
				    * the variable's start) */
	uint64_t depth;	       /* the longest run of this site's blocks one after
				* the other on a chain (a linked list: its length);
				* 1 when none points to another */
	uint64_t link_min, link_max; /* depth > 1: offsets of the pointers from one
				      * block of the run to the next */
	uint64_t blocks, bytes; /* the distinct blocks of this hop on the path's chains */
	uint64_t retained;     /* the bytes they retain (each block once) */
	uint64_t *addrs;       /* --address (one block): the chain's blocks of this hop,
				* from the root on; else NULL */
	uint64_t naddrs;
};

/* The chains of pointers that keep some of a target's blocks alive, all of
 * the same shape: from the same root through the same sites (a run of
 * blocks of one site, a list, is one hop). */
struct hs_retainer_path {
	struct hs_root_ref root;
	struct hs_retainer_hop *hops; /* from the root; the last is the target's site */
	int nhops;
	uint64_t blocks, bytes;	      /* target blocks whose shortest chain it is */
};

/* The blocks a question asked about, grouped by site (or by the statistics
 * key of --growth), and their shortest chains from the roots. */
struct hs_retainer_target {
	char *key;		/* what the blocks have in common: a statistics key
				 * ("file:line") or, for an address, the site */
	char *site;		/* the allocation site of one of them */
	uint32_t stack;		/* its stack */
	uint64_t blocks, bytes; /* every block of the target at the scan */
	uint64_t retained;	/* what they retain (each block once) */
	uint64_t address;	/* --address: the block's start, else 0 */
	uint64_t leaked_blocks, leaked_bytes; /* of those, unreachable: no chain */
	struct hs_retainer_path *paths; /* most bytes first, at most max_paths */
	size_t npaths;
	uint64_t more_paths, more_blocks, more_bytes; /* the paths left out */
	uint64_t *sizes;	/* --growth: the target's bytes at every snapshot */
	int nsizes;
};

/* What to ask about. */
struct hs_retainers_query {
	const char *site;	   /* a glob on the allocation site: its function,
				    * "file:line", "basename:line" or the whole site
				    * ("function file:line"); NULL: not this */
	const struct hs_stat_line *lines; /* the lines whose blocks to take (by
				    * group's key): hs_stats_growth's; NULL: not this */
	long nlines;
	int nsizes;		   /* entries of each line's sizes (growth: the
				    * snapshots), copied into the targets */
	const struct hs_group *group; /* how site and lines are keyed (NULL: by lineno) */
	uint64_t address;	   /* the block holding this address; 0: not this */
	int max_paths;		   /* per target; <= 0: 10 */
};

struct hs_retainers {
	struct hs_retainer_target *targets; /* most bytes first */
	size_t ntargets;
	int64_t snapshot;	/* of the scan: hs_graph.snapshot */
	int reason;		/* hs_graph.reason */
	uint64_t ts;		/* when it ran */
	uint64_t blocks, bytes; /* every block of the scan */
};

/* Answer q about trace t (read with HS_WANT_GRAPH).  Return 0 with *out
 * set (free it with hs_retainers_free; its strings may point into the
 * session), -EINVAL with d set (no graph; an address in no block), or
 * -ENOMEM. */
int hs_retainers_find(struct hs_trace *t, const struct hs_retainers_query *q, struct hs_retainers **out,
		      struct hs_diag *d);
void hs_retainers_free(struct hs_retainers *r);

/* ---- Continuous integration: leak sites, signatures, baselines ----------- */

/*
 * A leak site's signature, which baselines store: the executable's base
 * name, the allocation site's function, file and line, and the function
 * names of its callers (module+offset where there is no symbol),
 * "exe|function@file.c:LINE;caller;...;_start".  Stable across runs and
 * address-space randomization.  Valid UTF-8 (heapsnap(1), "Strings in
 * JSON").  Return it (the caller frees), or NULL when out of memory.
 */
char *hs_signature(struct hs_trace *t, const struct hs_loss_record *r);

/*
 * The sites of a `heapsnap check --format json` report (or --record-
 * baseline).  A site is matched by its signature without the line (its
 * key), so that edits that move lines keep known leaks known; the line
 * only tells apart several sites with one key (heapsnap(1), --baseline).
 */
struct hs_baseline_site {
	char *key;     /* the signature without ":LINE" */
	unsigned line; /* the allocation line, 0 if none */
};

struct hs_baseline {
	struct hs_baseline_site *sites; /* sorted by key, then line */
	size_t n;
};

/* Read a baseline.  Return 0, or a negative errno with d set. */
int hs_baseline_load(struct hs_baseline *b, const char *path, struct hs_diag *d);
void hs_baseline_free(struct hs_baseline *b);

/* A leak site of a failing kind that no suppression matched. */
struct hs_ci_site {
	struct hs_trace *trace;
	const struct hs_loss_record *rec;
	char *signature;
	int in_baseline;
};

/* The traces of a CI run (not owned) and their sites. */
struct hs_ci {
	struct hs_trace **traces;
	int ntraces;
	struct hs_ci_site *sites;
	size_t nsites, cap;
	size_t failing;			      /* sites not in the baseline */
	uint64_t failing_blocks, failing_bytes;
};

/* Add trace t (read with HS_WANT_LEAKS) and its unsuppressed loss records
 * of the given kinds (a bit per enum hs_leak_kind) to ci, each marked
 * in_baseline when baseline b (may be NULL) knows it: a site whose key
 * and line the baseline has; of the trace's other sites of that key, all
 * when there are no more of them than lines of the key the baseline has
 * and the trace lacks (an edit moved them), else those that the most
 * common line shift explains.  Return 0 or -ENOMEM. */
int hs_ci_add(struct hs_ci *ci, struct hs_trace *t, unsigned kinds, const struct hs_baseline *b);
/* Free what ci holds (not its traces). */
void hs_ci_free(struct hs_ci *ci);

/* ---- Rendering ---------------------------------------------------------- */

enum hs_format {
	HS_FMT_TEXT,
	HS_FMT_JSON,
	HS_FMT_SARIF,
	HS_FMT_JUNIT,
	HS_FMT_DOT,
	HS_FMT_FOLDED,
	HS_FMT_PPROF, /* gzip-compressed profile.proto: struct hs_pprof */
};

/* The format named name ("text", "json", ...).  Return 0, or -EINVAL. */
int hs_format_parse(const char *name, enum hs_format *out);

/* `heapsnap info` of n traces read with HS_WANT_INFO, as text or JSON
 * (several: one object holding them).  Return 0, or -EINVAL for another
 * format. */
int hs_render_info(FILE *out, enum hs_format f, struct hs_trace *const *t, int n);

/* What a leak report shows. */
struct hs_leaks_view {
	unsigned kinds;			    /* loss records shown: a bit per enum hs_leak_kind */
	int cycles_only;		    /* the cycles report */
	const struct hs_suppressions *sup;  /* shown with their counts; NULL: none */
	int full_names;			    /* text and dot: C++ template arguments in full, not "<…>" */
};

/* `heapsnap leaks` (or, with cycles_only, `cycles`) of n traces read with
 * HS_WANT_LEAKS: text, JSON, SARIF 2.1.0, JUnit XML (leaks), or a Graphviz
 * graph (cycles).  Return 0, or -EINVAL for another format, -ENOMEM. */
int hs_render_leaks(FILE *out, enum hs_format f, struct hs_trace *const *t, int n, const struct hs_leaks_view *v);

/*
 * The same report, text or JSON, a trace at a time: begin for n traces,
 * add each one as soon as it is read (it may be freed then), end writes
 * the whole report to out, as hs_render_leaks writes it.  What is held
 * meanwhile is the report's text, not the traces: many traces cost their
 * output.  Each returns 0, or -EINVAL (another format, a count that does
 * not match), -ENOMEM; free after end, or instead of it.
 */
struct hs_leaks_stream {
	enum hs_format f;
	int n, done;			    /* traces announced, added */
	const struct hs_leaks_view *v;
	FILE *mem;			    /* the traces' part of the report */
	char *buf;
	size_t len;
	uint64_t total[HS_LEAK_KINDS][2];   /* summed over the traces added */
	uint64_t suppressed[2];
};
int hs_leaks_stream_begin(struct hs_leaks_stream *st, enum hs_format f, int n, const struct hs_leaks_view *v);
int hs_leaks_stream_add(struct hs_leaks_stream *st, struct hs_trace *t);
int hs_leaks_stream_end(struct hs_leaks_stream *st, FILE *out);
void hs_leaks_stream_free(struct hs_leaks_stream *st);

/* What a `heapsnap check` report shows besides its sites. */
struct hs_check_view {
	unsigned fail_on;		   /* failing kinds: a bit per enum hs_leak_kind */
	const char *baseline;		   /* its file, NULL if none */
	const struct hs_suppressions *sup; /* NULL: none */
	int show_traces;		   /* the traces are kept: name each one (else JSON's "trace" is null) */
	int program_status;		   /* the program's own failure, 0 if none */
	int exit_code;			   /* what check exits with */
	const char *command;		   /* heapsnap in the commands the report prints
					    * (a path when it is not in PATH); NULL: "heapsnap" */
	int full_names;			   /* text: C++ template arguments in full, not "<…>" */
};

/* The report of a CI run: text, JSON (the baseline format), SARIF 2.1.0 or
 * JUnit XML.  Return 0, or -EINVAL for another format. */
int hs_render_check(FILE *out, enum hs_format f, const struct hs_ci *ci, const struct hs_check_view *v);

/* A statistics table as `heapsnap top` shows it. */
struct hs_top {
	const struct hs_group *group;
	const struct hs_stat_line *lines; /* hs_stats_top */
	long n;
	long limit;		   /* lines shown: -1 the format's default (10 in
				    * text, all in JSON), 0 all */
	int ntraces;		   /* traces added up */
	const struct hs_heap *heap; /* where (the first trace's), or NULL for the
				    * temporary allocations of the run */
	uint64_t size, count;	   /* hs_stats_total */
	int retained;		   /* the lines carry retained sizes (`top --retained`) */
};

/* A comparison as `heapsnap diff` shows it. */
struct hs_diff {
	const struct hs_group *group;
	const struct hs_stat_line *lines; /* hs_stats_diff */
	long n;
	long limit;
	const struct hs_heap *from, *to;
	const char *old_path, *new_path;  /* of two traces; NULL: one */
	uint64_t size, count;		  /* totals of to */
	uint64_t old_size, old_count;	  /* totals of from */
};

/* Growing sites as `heapsnap top --growth` shows them. */
struct hs_growth {
	const struct hs_group *group;
	const struct hs_stat_line *lines; /* hs_stats_growth */
	long n;
	long limit;
	const char *path;		  /* the trace */
	const struct hs_heap *snaps;	  /* its snapshots (the columns) */
	int nsnaps;
	double share;			  /* as given to hs_stats_growth (0: the default) */
};

/* Text or JSON.  Return 0, or -EINVAL for another format. */
int hs_render_top(FILE *out, enum hs_format f, const struct hs_top *v);
int hs_render_diff(FILE *out, enum hs_format f, const struct hs_diff *v);
int hs_render_growth(FILE *out, enum hs_format f, const struct hs_growth *v);
/* What a retainers report answers, for its header. */
struct hs_retainers_view {
	const char *question; /* "site 'buffer_*'", "3 sites growing at every one of
			       * 3 snapshots, by lineno", "the block at 0x..." */
};

/* `heapsnap retainers` of trace t: text, JSON or a Graphviz graph of the
 * paths (objgraph's show_backrefs).  Return 0, or -EINVAL for another
 * format. */
int hs_render_retainers(FILE *out, enum hs_format f, struct hs_trace *t, const struct hs_retainers *r,
			const struct hs_retainers_view *v);

/* "key size" lines, for flamegraph.pl, speedscope, inferno. */
void hs_render_folded(FILE *out, const struct hs_stat_line *l, long n);

/* ---- pprof profiles -------------------------------------------------------- */

/*
 * A profile in pprof's format (github.com/google/pprof's profile.proto,
 * which go tool pprof, speedscope, Grafana Pyroscope and Parca read)
 * being built from the heaps or leak reports of any number of traces, one
 * read at a time, as struct hs_stats is: memory follows the distinct
 * stacks and frames, not the traces (read a trace, add it, free it).
 *
 * Each stack of a heap or loss record becomes a sample (stacks with the
 * same frames and process add up), from its allocation site outwards as
 * hs_trace_stack gives it (allocator wrappers and the shim left out).
 * Each frame becomes a location: its module's executable segment as the
 * mapping (start, limit, file offset, path, build id), the address inside
 * the call instruction (the return address - 1), and its symbolized lines
 * (function and system name, file, line), the inlined ones first.  A
 * Python frame is a location with its function and line and no address.
 * Every sample carries a "pid" label; every allocation is recorded, so
 * the period is 1 byte (period type space/bytes).  Samples whose values
 * all came to 0 (a diff's unchanged stacks) are left out.
 */
enum hs_pprof_type {
	HS_PPROF_HEAP,	/* alloc_objects/count, alloc_space/bytes, inuse_objects/count,
			 * inuse_space/bytes (the default type) */
	HS_PPROF_LEAKS, /* <kind>_objects/count, <kind>_space/bytes of each leak
			 * class, definite, indirect, possible, reachable;
			 * the default: the most serious kind asked for */
};

struct hs_pprof;

/* An empty profile of that type, or NULL when out of memory. */
struct hs_pprof *hs_pprof_new(enum hs_pprof_type type);
void hs_pprof_free(struct hs_pprof *p);

/* Add heap h of trace t (read with HS_WANT_ALLOCS) to a HS_PPROF_HEAP
 * profile, every value times sign (1, or -1: a diff subtracts the older
 * heap); g's include and exclude patterns filter the stacks (g may be
 * NULL; its grouping does not apply: the profile keeps whole stacks).
 * The profile's time is the wall-clock time of the last heap added with
 * sign 1, its duration from the start of that trace, or from the heap of
 * that trace added with sign -1.  Return 0, -ENOMEM, or -EINVAL (another
 * type of profile, a heap without allocs, a sign other than 1 or -1). */
int hs_pprof_add_heap(struct hs_pprof *p, struct hs_trace *t, const struct hs_heap *h, int sign,
		      const struct hs_group *g);

/* Add the loss records of trace t (read with HS_WANT_LEAKS) of the given
 * kinds (a bit per enum hs_leak_kind), suppressed ones left out, to a
 * HS_PPROF_LEAKS profile: each a sample with a "kind" label.  Its time is
 * that of the scan they come from.  Return 0, -ENOMEM, or -EINVAL
 * (another type of profile). */
int hs_pprof_add_leaks(struct hs_pprof *p, struct hs_trace *t, unsigned kinds);

/* Write the profile to out, gzip-compressed (as pprof writes and reads
 * it).  Return 0, -ENOMEM, or -EIO when writing failed. */
int hs_render_pprof(FILE *out, const struct hs_pprof *p);

/* ---- The HTML report ------------------------------------------------------ */

struct hs_report;

struct hs_report_opts {
	const char *from, *to;	  /* the points compared (SEL, heapsnap(1)); NULL: start, exit */
	const char *baseline;	  /* an older trace to compare with, or NULL */
	const char *suppressions; /* a LeakSanitizer suppression file, or NULL */
};

/* Read the n traces (each once, and the baseline) and compute everything
 * `heapsnap report` shows; the summary and the leaks add the traces up,
 * the views over time show the first.  Return 0 with *out set, or a
 * negative errno with d set: unreadable or corrupt input, a selector that
 * matches no snapshot, out of memory. */
int hs_report_build(struct hs_session *s, char *const *paths, int n, const struct hs_report_opts *o,
		    struct hs_report **out, struct hs_diag *d);
void hs_report_free(struct hs_report *r);

/* The report as one self-contained HTML page (it loads nothing: scripts,
 * styles and data are inside).  Return 0, or -EIO when writing failed. */
int hs_render_html(FILE *out, const struct hs_report *r);

#ifdef __cplusplus
}
#endif

#endif
