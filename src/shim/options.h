/*
 * options.h - HEAPSNAP_OPTIONS, parsed without the heap.
 * HOOK-SAFE.
 *
 * The string is colon-separated key=value pairs, sanitizer style:
 *   HEAPSNAP_OPTIONS=output=/tmp/t.hst:max_frames=32:allocator=system
 * An unknown key or a bad value prints one warning and keeps the default:
 * the traced program must keep running.
 */
#ifndef HS_SHIM_OPTIONS_H
#define HS_SHIM_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#define OPT_PATH_MAX 1024
#define OPT_MAX_FRAMES_LIMIT 256

enum opt_allocator { OPT_ALLOC_JEMALLOC, OPT_ALLOC_SYSTEM };

struct options {
	char output[OPT_PATH_MAX];  /* pattern; %p pid, %e exe name */
	enum opt_allocator allocator; /* backing allocator */
	uint32_t max_frames;	      /* frames per stack, 1..256 */
	uint32_t ring_records;	      /* records per thread ring, power of 2 */
	int snapshot_signal;	      /* 0 = none */
	uint64_t snapshot_interval_ns; /* 0 = none */
	bool scan;		      /* pointer scan at exit */
	int scan_signal;	      /* a scanned snapshot on this signal, 0 = none */
	bool snapshot_scan;	      /* every snapshot is a scanned one */
	bool libc_freeres;	      /* call __libc_freeres at exit, as Valgrind */
	int zstd_level;		      /* compression level of chunks */
	uint32_t flush_ms;	      /* collector period */
	uint32_t rss_ms;	      /* resident memory sampling period, 0 = off */
	bool stack_verify;	      /* check every stack against a full unwind */
	bool python_frames;	      /* Python programs: Python frames in stacks */
	bool python_allocators;	      /* Python programs: trace the allocator domains */
};

/* Fill opts with the defaults, then apply the string s (may be NULL). */
void options_parse(struct options *opts, const char *s);

/* Return the signal number for "SIGUSR2", "USR2" or "12", or 0. */
int options_signal_number(const char *s, unsigned n);

#endif
