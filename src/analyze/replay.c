/*
 * replay.c - live blocks and bytes per allocinfo, and the peak.
 */
#include "analyze/replay.h"

#include <stdlib.h>
#include <string.h>

#include "trace/format.h"

int replay_init(struct replay *r)
{
	memset(r, 0, sizeof(*r));
	return 0;
}

void replay_free(struct replay *r)
{
	free(r->count);
	free(r->size);
	free(r->stack);
	memset(r, 0, sizeof(*r));
}

static int reserve(struct replay *r, uint32_t id)
{
	if (id < r->cap)
		return 0;
	size_t n = r->cap ? r->cap : 4096;
	while (n <= id)
		n *= 2;
	uint64_t *c = realloc(r->count, n * sizeof(*c));
	uint64_t *s = c ? realloc(r->size, n * sizeof(*s)) : NULL;
	if (c)
		r->count = c;
	if (s)
		r->size = s;
	uint32_t *k = s ? realloc(r->stack, n * sizeof(*k)) : NULL;
	if (!k) {
		r->oom = 1;
		return -1;
	}
	r->stack = k;
	memset(r->count + r->cap, 0, (n - r->cap) * sizeof(*c));
	memset(r->size + r->cap, 0, (n - r->cap) * sizeof(*s));
	memset(r->stack + r->cap, 0, (n - r->cap) * sizeof(*k));
	r->cap = n;
	return 0;
}

static void add(struct replay *r, uint32_t id, uint64_t size, uint32_t stack, uint64_t ts)
{
	if (!id || reserve(r, id))
		return;
	r->count[id]++;
	r->size[id] = size;
	r->stack[id] = stack;
	r->live_bytes += size;
	r->live_count++;
	if (r->live_bytes > r->peak_bytes) {
		r->peak_bytes = r->live_bytes;
		r->peak_count = r->live_count;
		r->peak_ts = ts;
	}
}

static void drop(struct replay *r, uint32_t id)
{
	if (!id || id >= r->cap || !r->count[id]) {
		r->unknown_frees++;
		return;
	}
	r->count[id]--;
	r->live_bytes -= r->size[id];
	r->live_count--;
}

void replay_event(struct replay *r, const struct trace_event *ev)
{
	switch (hst_event_shape(ev->kind)) {
	case HST_SHAPE_ALLOC:
		add(r, ev->info, ev->size, ev->stack, ev->ts);
		break;
	case HST_SHAPE_FREE:
		drop(r, ev->info);
		break;
	case HST_SHAPE_REALLOC:
		if (ev->old_info)
			drop(r, ev->old_info);
		if (ev->info)
			add(r, ev->info, ev->size, ev->stack, ev->ts);
		break;
	case HST_SHAPE_ADDR:
		break;
	}
}
