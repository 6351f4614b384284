/*
 * heapsnap-analyze.h - the analyzer library (build/lib/libheapsnap-analyze.a):
 * every analysis of heapsnap traces and every rendering of its results.
 * The heapsnap command is one front end of it; the HTML report, pprof
 * export or a language binding are others, and none needs a second copy
 * of an analysis.  Link with -ldw -lelf -lzstd -lm -lstdc++.
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
 * escape what is not (see heapsnap(1), "JSON output").
 */
#ifndef HEAPSNAP_ANALYZE_H
#define HEAPSNAP_ANALYZE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Errors ------------------------------------------------------------- */

#ifndef HS_DIAG_DEFINED /* src/util/diag.h defines the same struct */
#define HS_DIAG_DEFINED
struct hs_diag {
	char msg[1024]; /* one line: the file, where, what is wrong; "" if none */
};
#endif

/* ---- Session ------------------------------------------------------------ */

struct hs_session;

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

/* ---- Names of trace constants ------------------------------------------- */

#define HS_EVENT_KINDS 20 /* event kinds are 1..19, as in the trace format (16..19:
			   * a Python program's allocator domains, "py_malloc"...) */

/* The JSON name of an event kind ("malloc", "new[]", ...), or NULL. */
const char *hs_event_name(unsigned kind);
/* How a snapshot was taken: "exit", "signal", "interval", "api". */
const char *hs_trigger_name(int trigger);
/* How the process ended its trace: "exit", "_exit", "exec". */
const char *hs_end_name(int reason);

/* ---- Reading a trace ---------------------------------------------------- */

/* What one pass over a trace computes (hs_want.flags). */
enum hs_want_flags {
	HS_WANT_INFO = 1u << 0,	    /* t->info: event counts, threads, peak, scan */
	HS_WANT_TIMELINE = 1u << 1, /* t->timeline: memory over time, allocations */
};

struct hs_want {
	unsigned flags; /* enum hs_want_flags */
};

/* A snapshot the program took (a SNAPSHOT record). */
struct hs_snapshot {
	uint32_t index;	 /* as written */
	int trigger;	 /* hs_trigger_name */
	uint64_t ts;	 /* CLOCK_MONOTONIC ns */
	double seconds;	 /* since the trace began */
	char *label;	 /* NUL-terminated, "" if none */
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
	int scan_reason;		 /* 0 at exit, 1 heapsnap_leak_check() */
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
	int truncated;		/* it did not end cleanly (killed, crashed) */
	char truncation[256];	/* why, in words, when truncated */
	uint64_t recovered;	/* events read back from its ring file */
	int ended;		/* an END record was read */
	int end_reason;		/* of the last END: hs_end_name */
	int64_t end_status;	/* the status it gave (END), 0 if none */
	uint64_t dropped;	/* events the shim lost (END) */
	struct hs_snapshot *snapshots; /* every snapshot, in order */
	size_t nsnapshots;
	unsigned have;		/* the HS_WANT_* flags computed */
	struct hs_info info;	/* HS_WANT_INFO */
	struct hs_timeline timeline; /* HS_WANT_TIMELINE */
	struct hs_trace_priv *priv; /* the library's */
};

/* Read the trace at path once and compute what w asks for.  Return the
 * trace, or NULL with d set: unreadable, corrupt, out of memory. */
struct hs_trace *hs_trace_read(struct hs_session *s, const char *path, const struct hs_want *w,
			       struct hs_diag *d);
void hs_trace_free(struct hs_trace *t);

/* ---- Rendering ---------------------------------------------------------- */

enum hs_format {
	HS_FMT_TEXT,
	HS_FMT_JSON,
	HS_FMT_SARIF,
	HS_FMT_JUNIT,
	HS_FMT_DOT,
	HS_FMT_FOLDED,
};

/* The format named name ("text", "json", ...).  Return 0, or -EINVAL. */
int hs_format_parse(const char *name, enum hs_format *out);

/* `heapsnap info` of n traces read with HS_WANT_INFO, as text or JSON
 * (several: one object holding them).  Return 0, or -EINVAL for another
 * format. */
int hs_render_info(FILE *out, enum hs_format f, struct hs_trace *const *t, int n);

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
