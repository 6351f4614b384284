/*
 * api.c - the runtime side of include/heapsnap.h.  The header's inline
 * functions call these through weak references, so a program that includes
 * it runs unchanged without the shim.
 */
#define _GNU_SOURCE
#include <string.h>

#include "shim/clock.h"
#include "shim/collector.h"
#include "shim/control.h"
#include "shim/roots.h"
#include "shim/shim.h"
#include "trace/format.h"
#include "util/compiler.h"

#define LABEL_MAX 256

HS_EXPORT int heapsnap_rt_snapshot(const char *label)
{
	struct tls_state *t = &tls;

	if (!shim_on())
		return -1;
	size_t n = label ? strnlen(label, LABEL_MAX) : 0;
	/* snapshot_scan=1: a scanned snapshot, taken here and now (or, while
	 * another thread scans or exits, a plain one) */
	if (shim.opts.snapshot_scan && shim.opts.scan && !shim_scan_snapshot(label ? label : "", (uint32_t)n))
		return 0;
	uint8_t saved = t->state;
	t->state = TS_INTERNAL;
	struct control_item *it = control_new(HST_REC_SNAPSHOT, clock_now_ns(), n);
	if (it) {
		memcpy(it->body, label, n);
		control_push(it);
		collector_wake();
	}
	t->state = saved;
	return it ? 0 : -1;
}

HS_EXPORT int heapsnap_rt_leak_check(void)
{
	return shim_leak_check();
}

HS_EXPORT void heapsnap_rt_ignore(const void *p)
{
	if (p)
		roots_ignore(p);
}

HS_EXPORT void heapsnap_rt_disable(void)
{
	tls.disabled++;
}

HS_EXPORT void heapsnap_rt_enable(void)
{
	if (tls.disabled)
		tls.disabled--;
}
