/*
 * trace_fixture.h - small traces written by the tests themselves with the
 * real encoder and writer (src/trace/encode.c, writer.c), for the suites
 * of the analyses: a few stacks, events, snapshots and a pointer scan whose
 * every number the test knows.
 *
 * Use:
 *   struct fx f;
 *   fx_open(&f, path, pid);
 *   fx_process(&f, "/usr/bin/prog");
 *   fx_stack(&f, 1, 2, ips);  fx_allocinfo(&f, 1, 100, 1);
 *   fx_event(&f, ts, 1, HST_EV_MALLOC, 1, 0);  ...
 *   fx_end(&f, ts, 0);  fx_close(&f);
 * Every call fails the running test (ck_assert) on error.
 */
#ifndef HS_TESTS_TRACE_FIXTURE_H
#define HS_TESTS_TRACE_FIXTURE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "trace/encode.h"
#include "trace/format.h"
#include "trace/writer.h"

#define FX_T0 5000000000ull /* CLOCK_MONOTONIC ns of every fixture trace's start */

struct fx {
	struct trace_writer w;
	char path[PATH_MAX];	  /* the file written */
	struct encode_events ev;  /* events not yet written */
	struct encode_blocks blocks; /* the scan's block deltas */
	uint32_t pid;		  /* of the process */
};

/* This test program as a module of a traced process: its path, build-id,
 * load bias and the span of its segments (relative to the bias). */
struct fx_self {
	char path[PATH_MAX];
	uint8_t bid[64];
	size_t bid_len;
	uint64_t bias, lo, hi;
	struct fx_segment {
		uint64_t vaddr, memsz, offset; /* as its program header says */
		uint32_t flags;		       /* PF_R, PF_W, PF_X */
	} seg[16];			       /* its loadable segments, in order */
	int nseg;
};

/* Describe this program (fails the test if it has no build-id). */
void fx_self(struct fx_self *self);

/* A return address inside function f, as the shim records it (the byte
 * after a call), as if the program were loaded shift bytes further. */
uint64_t fx_ret(void *f, uint64_t shift);

/* Create path (which must not exist) for process pid, started at FX_T0. */
void fx_open(struct fx *f, const char *path, uint32_t pid);
/* PROCESS naming exe, with the argument list "exe -x". */
void fx_process(struct fx *f, const char *exe);
/* MODULES holding one module: path, build-id, load bias and one segment
 * [vaddr, vaddr + memsz) relative to it. */
void fx_module(struct fx *f, const char *path, const uint8_t *bid, size_t bid_len, uint64_t bias, uint64_t vaddr,
	       uint64_t memsz);
/* MODULES holding this program, loaded shift bytes further than it is. */
void fx_module_self(struct fx *f, const struct fx_self *self, uint64_t shift);
/* MODULES holding one module of n segments (vaddr, memsz, flags of each;
 * offsets are not written: the trace has none). */
void fx_module_segments(struct fx *f, const char *path, const uint8_t *bid, size_t bid_len, uint64_t bias,
			const struct fx_segment *seg, int n);
void fx_stack(struct fx *f, uint32_t id, uint32_t depth, const uint64_t *ips);
void fx_allocinfo(struct fx *f, uint32_t id, uint64_t size, uint32_t stack);
/* One event (format.h): a the block's allocinfo (a realloc's old one), b a
 * realloc's new one. */
void fx_event(struct fx *f, uint64_t ts, uint32_t thread, uint8_t kind, uint32_t a, uint32_t b);
void fx_snapshot(struct fx *f, uint64_t ts, uint32_t index, int trigger, const char *label);
/* A scan of n blocks: fx_scan, then fx_blocks (address order), the
 * roots, the edges of each source, fx_scan_end. */
void fx_scan(struct fx *f, uint64_t ts, uint64_t nblocks);
void fx_blocks(struct fx *f, size_t n, const uint64_t *addr, const uint32_t *info, const uint32_t *seq);
void fx_root(struct fx *f, uint32_t index, int kind, uint64_t addr, uint64_t bytes, const char *name);
void fx_edges(struct fx *f, int from_root, uint64_t src, size_t n, const uint64_t *offset, const uint64_t *target,
	      const int *interior);
void fx_scan_end(struct fx *f, uint64_t edges, uint64_t ts);
void fx_end(struct fx *f, uint64_t ts, int64_t status);
/* Write what is pending and close the file. */
void fx_close(struct fx *f);

#endif
