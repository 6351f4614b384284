/*
 * stats.h - tracemalloc-style statistics of the live heap at snapshots:
 * select snapshots of a trace (by label, index, start, exit, peak or a
 * time), group their live blocks by line, function, file, module or whole
 * traceback (or every frame, cumulatively), filter, and compare two.
 *
 * One pass over the trace per query (two when the peak is asked for: the
 * first finds it).  Memory follows distinct allocinfos and stacks.
 */
#ifndef HS_ANALYZE_STATS_H
#define HS_ANALYZE_STATS_H

#include <stdint.h>

#include "analyze/stacks.h"
#include "util/diag.h"

enum stats_by { BY_LINENO, BY_FUNCTION, BY_FILE, BY_MODULE, BY_TRACEBACK };

/* A snapshot selector, as the command line gives it. */
struct snap_sel {
	const char *text; /* label, index, start, exit, peak or @SECONDS */
};

/* The live heap at one snapshot. */
struct heap_state {
	int found;	     /* the selector matched */
	int index;	     /* snapshot index, -1 for start/peak/@time */
	char label[128];     /* its label ("start", "exit", "peak", "@2.5s") */
	uint64_t ts;	     /* CLOCK_MONOTONIC ns */
	double seconds;	     /* since the trace began */
	uint64_t *count;     /* live blocks by allocinfo id */
	uint64_t *size;	     /* bytes per block by allocinfo id */
	uint32_t *stack;     /* stack by allocinfo id */
	uint64_t ninfo;	     /* ids */
};

/* A trace read for statistics: its stacks and the states asked for. */
struct stats_trace {
	char *path;
	uint32_t pid;
	char *exe;
	struct stack_table st;
	struct heap_state *states; /* one per selector, in order */
	int nstates;
	struct heap_state *snaps;  /* every SNAPSHOT record, for --growth */
	int nsnaps;
	struct heap_state temporary; /* over the whole run: count = temporary
				      * blocks by allocinfo (top --temporary) */
};

/* Read path once (twice for "peak") and capture the heap at each of the
 * n selectors; with all_snapshots, also at every snapshot but the exit one.  Return 0, or
 * -1 with d set: a corrupt trace (exit 2) or a selector that matches no
 * snapshot of it (the message says which). */
int stats_read(struct hs_session *ses, const char *path, const struct snap_sel *sel, int n, int all_snapshots, struct stats_trace *t,
	       struct hs_diag *d);
void stats_trace_free(struct stats_trace *t);

/* One line of a statistics table. */
struct stat_line {
	char *key;	     /* the group: "file:line", a function, ... */
	uint64_t size;	     /* live bytes */
	uint64_t count;	     /* live blocks */
	int64_t size_diff;   /* for a diff: size - old size */
	int64_t count_diff;
	uint64_t *sizes;     /* for --growth: size at each snapshot */
};

struct stats_opts {
	enum stats_by by;
	int cumulative;		/* count every frame of each stack */
	const char **include;	/* glob patterns on file or module of the site */
	int ninclude;
	const char **exclude;
	int nexclude;
};

/* Group the state (in trace t) into lines, largest first.  Return the
 * number of lines (in *out, free with stats_lines_free) or -1. */
long stats_group(struct stats_trace *t, const struct heap_state *s, const struct stats_opts *o,
		 struct stat_line **out);

/* Compare: lines of new with the differences from old (keys matched by
 * text, so two runs compare by symbolized frames), sorted by absolute size
 * difference.  Return the number of lines or -1. */
long stats_diff(struct stats_trace *old_t, const struct heap_state *old_s, struct stats_trace *new_t,
		const struct heap_state *new_s, const struct stats_opts *o, struct stat_line **out);

/* The groups whose size grew from each snapshot to the next (needs 3 or
 * more), each with its sizes, largest growth first.  Return the number of
 * lines or -1. */
long stats_growth(struct stats_trace *t, const struct stats_opts *o, struct stat_line **out);

/* The live bytes and blocks of the state that pass the filters: each block
 * once, whatever the grouping (--cumulative counts blocks once per frame
 * in its lines). */
void stats_total(struct stats_trace *t, const struct heap_state *s, const struct stats_opts *o, uint64_t *size,
		 uint64_t *count);

void stats_lines_free(struct stat_line *l, long n);

/* Flame-graph input: "outer;...;inner bytes" per distinct stack. */
void stats_folded(struct stats_trace *t, const struct heap_state *s, const struct stats_opts *o, void *file);

#endif
