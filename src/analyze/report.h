/*
 * report.h - everything `heapsnap report` shows, computed from the
 * analyses (info, leaks, statistics, timeline) into plain arrays that the
 * HTML renderer (render_html.c) only serializes: the page draws, it does
 * not analyze.  tools/report/model.md is the shape the page reads.
 *
 * The time-based parts (series, points, profiles, tables) are per process
 * (struct report_proc, one per trace, the first REPORT_MAX_PROCS traces);
 * the summary and the leaks add every trace up.
 */
#ifndef HS_ANALYZE_REPORT_H
#define HS_ANALYZE_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include <heapsnap-analyze.h>

#include "util/diag.h"

#define REPORT_GROUPINGS 4 /* lineno, function, file, module */
#define REPORT_MAX_PROCS 16 /* processes with time-based sections: the page stays small */

/* A point in time that the page can show and compare. */
struct report_point {
	const char *kind;	  /* "start", "snapshot", "peak", "exit", "time" */
	int index;		  /* snapshot index, -1 otherwise */
	char label[128];
	double time;		  /* seconds since the trace began */
	const struct hs_heap *heap; /* its trace's, while the report is built */
};

/* A stack profile: (stack, a, b) triples, stack ids of the model, largest
 * a first, the remainder summed under stack -1. */
struct report_profile {
	int64_t *v;		  /* 3 per entry */
	uint32_t n;		  /* entries */
};

/* One grouping's table: keys and their value at every point. */
struct report_table {
	char **keys;
	uint64_t *size, *count;	  /* [key * npoints + point] */
	uint32_t nkeys;
};

struct report_line {
	char *key;
	uint64_t size, count;
	int64_t size_diff, count_diff;
	uint64_t *sizes;	  /* growth: per snapshot */
};

struct report_lines {
	struct report_line *l;
	uint32_t n;
	uint64_t total;
};

struct report_frame {
	const char *function, *file, *module; /* owned by a symbolizer of the report */
	unsigned line;
	int inlined;
};

/* A snapshot of the growth table's columns. */
struct report_snap {
	int index;
	char label[128];
	double seconds;
};

/* The time-based sections of one process (one trace). */
struct report_proc {
	int trace;		  /* index in hs_report.t */
	struct report_point *points;
	int npoints, from, to, peak;
	struct report_profile *live; /* per point: stack, bytes, blocks */
	struct report_profile allocated; /* stack, allocations, bytes */
	struct report_profile temporary_stacks; /* stack, bytes, temporary blocks */
	struct report_profile leaked;	 /* stack, bytes, blocks */
	struct report_table tables[REPORT_GROUPINGS];
	uint64_t *total_size, *total_count; /* per point */
	struct report_lines growth, allocating, temporary;
	struct report_snap *growth_snaps; /* the columns of growth */
	int ngrowth_snaps;
};

struct hs_report {
	int ntraces;
	struct hs_trace **t;	  /* per trace: info, timeline and leaks (heaps freed once used) */
	struct hs_suppressions sup; /* --suppressions, if any */
	int scanned;		  /* traces with a pointer scan (the leak sections are theirs) */
	uint64_t leak_total[HS_LEAK_KINDS][2], suppressed[2], suppressed_records;
	uint64_t cycles, cycle_blocks, cycle_bytes;

	struct report_proc *proc; /* one per trace, the first nproc traces */
	int nproc;

	struct report_frame *frames;
	uint32_t nframes;
	uint32_t **stacks;	  /* model stack: frame ids, allocation site first */
	uint32_t *stack_depth;
	uint32_t nstacks;

	struct report_leak {
		int kind, suppressed, trace;
		uint64_t blocks, bytes;
		int64_t stack;
	} *loss;
	uint32_t nloss, loss_omitted;
	struct report_cycle {
		uint64_t blocks, bytes;
		int trace;
		uint32_t n;	  /* members kept */
		struct report_member { uint64_t size, addr; int kind; int64_t stack; } *m;
		uint32_t nedges;
		uint32_t (*edges)[3]; /* from member, offset, to member */
	} *cyc;
	uint32_t ncyc;

	int have_baseline;	  /* against the first process's B */
	struct hs_trace *base;	  /* --baseline, read at its exit */
	char from_name[160], to_name[160];
	struct report_lines baseline;
	uint64_t base_size, base_count, new_size, new_count;

	/* private: model stack ids by trace stack id, frame ids by text */
	void *priv;
};

extern const char *const stats_by_names[REPORT_GROUPINGS];

#endif
