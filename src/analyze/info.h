/*
 * info.h - what `heapsnap info` reports about one trace: header, process,
 * event counts by function, threads, stacks, modules, snapshots, the live
 * heap at the end and at its peak, and whether the trace ended cleanly.
 */
#ifndef HS_ANALYZE_INFO_H
#define HS_ANALYZE_INFO_H

#include <stdint.h>

#include "trace/format.h"
#include "trace/reader.h"
#include "util/diag.h"

struct info_snapshot {
	uint32_t index;	  /* as written */
	uint64_t ts;	  /* CLOCK_MONOTONIC ns */
	int trigger;	  /* enum hst_snap_trigger */
	char *label;	  /* NUL-terminated */
};

struct info_thread {
	uint32_t index; /* as events name it */
	uint32_t tid;	/* kernel thread id */
	uint64_t events;
	char name[17];
};

struct info {
	char *path;
	struct trace_header hdr;
	uint32_t pid, ppid;
	char *exe, *cmdline, *options, *allocator; /* cmdline: spaces between args */
	uint64_t events[HST_EV_KIND_MAX + 1];	   /* by kind */
	uint64_t total_events;
	struct info_thread *threads;
	size_t nthreads;
	uint64_t stacks;  /* distinct stack ids */
	uint64_t modules; /* distinct (path, load bias) */
	struct info_snapshot *snaps;
	size_t nsnaps;
	uint64_t first_ts, last_ts;
	uint64_t live_bytes, live_blocks;
	uint64_t peak_bytes, peak_blocks, peak_ts;
	uint64_t unknown_frees;
	int ended;	     /* an END record was read */
	int end_reason;	     /* of the last END */
	int64_t end_status;
	uint64_t dropped;
	int truncated;
	char truncation[256];
	uint64_t recovered; /* events read back from the ring file */
	uint64_t file_bytes; /* size of the trace file */
	int scans;	     /* pointer scans in the trace; the rest is of the last */
	int scan_reason;     /* enum hst_scan_reason */
	uint64_t scan_blocks, scan_edges, scan_bytes, scan_ns;
	uint64_t scan_stopped, scan_missed; /* threads */
	uint64_t raw_events, raw_stacks, raw_allocinfo, raw_other; /* uncompressed record bytes */
};

/* Read the trace at path into *out.  Return 0, or -1 with d set (exit 2). */
int info_collect(const char *path, struct info *out, struct hs_diag *d);
void info_free(struct info *in);

#endif
