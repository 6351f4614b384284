/*
 * leaks.h - the leak report of one trace: the last pointer scan's graph,
 * classified (graph.h), its blocks grouped into loss records by kind and
 * allocation stack, largest first, the leaked cycles, and each stack
 * symbolized from the first frame outside allocator wrappers.
 *
 * One pass over the trace: memory grows with live blocks at the scan,
 * scan edges and distinct stacks, never with the number of events.
 */
#ifndef HS_ANALYZE_LEAKS_H
#define HS_ANALYZE_LEAKS_H

#include <stdint.h>

#include "analyze/graph.h"
#include "analyze/stacks.h"
#include "analyze/suppress.h"
#include "analyze/symbols.h"
#include "util/diag.h"

/* One loss record: the blocks of one kind allocated from one stack. */
struct leak_group {
	int kind;	    /* enum leak_kind */
	uint32_t stack;	    /* stack id */
	uint64_t blocks;    /* count */
	uint64_t bytes;	    /* requested bytes */
	int suppressed;	    /* index of the suppression that matched, or -1 */
};


struct leak_report {
	char *path;	      /* the trace */
	uint32_t pid, ppid;
	char *exe;	      /* executable path */
	int scanned;	      /* the trace has a complete pointer scan */
	int truncated;	      /* the trace did not end cleanly */
	struct graph g;	      /* the scan */
	struct stack_table st;	       /* the trace's stacks, symbolized on demand */
	struct leak_group *groups;     /* sorted: suppressed last, then bytes desc */
	uint64_t ngroups;
	uint64_t total[LEAK_KINDS][2]; /* blocks, bytes; suppressed ones not counted */
	uint64_t suppressed[2];	       /* blocks, bytes */
	struct leaked_cycle *cycles;
	long ncycles;
};

/* Read one trace and build its report; sup may be NULL.  Return 0, or -1
 * with d set (unreadable or corrupt: exit 2). */
int leaks_collect(const char *path, const struct suppressions *sup, struct leak_report *r, struct hs_diag *d);
void leaks_free(struct leak_report *r);

/* The symbolized allocation stack of stack id (never NULL). */
const struct sym_stack *leaks_stack(struct leak_report *r, uint32_t id);

/* "function file:line" of a stack's allocation site, in buf. */
const char *leaks_site(struct leak_report *r, uint32_t stack, char *buf, size_t cap);

#endif
