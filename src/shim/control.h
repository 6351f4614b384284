/*
 * control.h - records that are not allocation events (process info,
 * module maps, snapshots) on their way to the collector.
 * HOOK-SAFE except where noted.
 *
 * control_push is a lock-free stack push (Treiber); the collector takes the
 * whole stack at once with control_take, so there is no ABA.  A signal
 * handler cannot allocate, so signal-triggered snapshots go through a fixed
 * array of timestamps instead (control_signal_snapshot).
 */
#ifndef HS_SHIM_CONTROL_H
#define HS_SHIM_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct control_item {
	struct control_item *next; /* stack link */
	uint64_t ts;		   /* CLOCK_MONOTONIC ns */
	uint8_t tag;		   /* record tag (format.h) */
	uint32_t len;		   /* bytes of body */
	uint32_t epoch;		   /* HST_REC_MODULES: stack_epoch() when taken */
	uint8_t body[];		   /* HST_REC_SNAPSHOT: the label; any other
				    * tag: the whole record (trace/encode.h),
				    * written as it is */
};

/* Allocate an item with room for len body bytes (private arena). */
struct control_item *control_new(uint8_t tag, uint64_t ts, size_t len);

/* Hand an item to the collector. */
void control_push(struct control_item *it);

/* Take every pending item, oldest first (collector only). */
struct control_item *control_take(void);

/* Free an item taken with control_take. */
void control_free(struct control_item *it);

/* Note a snapshot request at time ts.  Async-signal-safe. */
void control_signal_snapshot(uint64_t ts);

/* Take the next pending signal snapshot time, or 0 (collector only). */
uint64_t control_take_signal_snapshot(void);

/* Ask for a scanned snapshot (scan_signal, or snapshot_signal with
 * snapshot_scan=1).  Async-signal-safe. */
void control_signal_scan(void);

/* Was a scanned snapshot asked for since the last call?  Requests made
 * before one is taken become one scan (collector only). */
int control_take_scan(void);

/* Is an item or a signal snapshot waiting?  A hint (relaxed): one that
 * comes as it is asked waits for the next look (collector only). */
bool control_pending(void);

/* Forget everything pending (forked child: it was the parent's). */
void control_forget(void);

#endif
