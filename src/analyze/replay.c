/*
 * replay.c - live blocks and bytes per allocinfo, and the peak.
 */
#include "analyze/replay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trace/format.h"
#include "util/compiler.h"

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
	free(r->allocs);
	free(r->log);
	memset(r, 0, sizeof(*r));
}

/* reserve past its fast path: make the tables hold id. */
static HS_NOINLINE int grow(struct replay *r, uint32_t id)
{
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
	if (r->allocs) {
		uint64_t *a = realloc(r->allocs, n * sizeof(*a));
		if (!a) {
			r->oom = 1;
			return -1;
		}
		r->allocs = a;
		memset(r->allocs + r->cap, 0, (n - r->cap) * sizeof(*a));
	}
	memset(r->count + r->cap, 0, (n - r->cap) * sizeof(*c));
	memset(r->size + r->cap, 0, (n - r->cap) * sizeof(*s));
	memset(r->stack + r->cap, 0, (n - r->cap) * sizeof(*k));
	r->cap = n;
	return 0;
}

/* Make sure the tables hold id.  Return 0, or -1 out of memory (oom). */
static inline int reserve(struct replay *r, uint32_t id)
{
	return HS_LIKELY(id < r->cap) ? 0 : grow(r, id);
}

/* Note +id or -id in the journal, if it is on. */
static inline void note(struct replay *r, int64_t change)
{
	if (!r->logging)
		return;
	if (r->nlog == r->caplog) {
		r->logging = 0; /* overflow: a copy must be taken whole */
		r->log_lost = 1;
		return;
	}
	r->log[r->nlog++] = change;
}

/* Count one more block of allocinfo id, which the tables hold. */
static inline void count_in(struct replay *r, uint32_t id, uint64_t size, uint32_t stack, uint64_t ts)
{
	note(r, id);
	r->count[id]++;
	if (r->allocs)
		r->allocs[id]++;
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

/* add for an id the tables do not hold yet. */
static HS_NOINLINE void add_grown(struct replay *r, uint32_t id, uint64_t size, uint32_t stack, uint64_t ts)
{
	if (!grow(r, id))
		count_in(r, id, size, stack, ts);
}

/* The growing out of line, so that the common path calls nothing and
 * keeps its values in scratch registers (it runs once per event). */
static inline void add(struct replay *r, uint32_t id, uint64_t size, uint32_t stack, uint64_t ts)
{
	if (!id)
		return;
	if (HS_LIKELY(id < r->cap))
		count_in(r, id, size, stack, ts);
	else
		add_grown(r, id, size, stack, ts);
}

static inline void drop(struct replay *r, uint32_t id)
{
	if (!id || id >= r->cap || !r->count[id]) {
		r->unknown_frees++;
		return;
	}
	r->count[id]--;
	r->live_bytes -= r->size[id];
	r->live_count--;
	note(r, -(int64_t)id);
}

int replay_count_allocs(struct replay *r)
{
	if (r->allocs)
		return 0;
	r->allocs = calloc(r->cap ? r->cap : 1, sizeof(*r->allocs));
	return r->allocs ? 0 : -ENOMEM;
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

int replay_log_start(struct replay *r, size_t max)
{
	free(r->log);
	r->log = malloc((max ? max : 1) * sizeof(*r->log));
	if (!r->log)
		return -ENOMEM;
	r->caplog = max;
	r->nlog = 0;
	r->logging = 1;
	r->log_lost = 0;
	return 0;
}

void replay_log_reset(struct replay *r)
{
	r->nlog = 0;
	r->logging = r->log != NULL;
	r->log_lost = 0;
}

void replay_log_apply(const struct replay *r, uint64_t *counts, size_t ncounts)
{
	for (size_t i = 0; i < r->nlog; i++) {
		int64_t c = r->log[i];
		uint64_t id = (uint64_t)(c < 0 ? -c : c);
		if (id < ncounts)
			counts[id] += c < 0 ? (uint64_t)-1 : 1;
	}
}

void replay_log_apply_allocs(const struct replay *r, uint64_t *allocs, size_t nallocs)
{
	for (size_t i = 0; i < r->nlog; i++) {
		int64_t c = r->log[i];
		if (c > 0 && (uint64_t)c < nallocs)
			allocs[c]++;
	}
}

int replay_learn(struct replay *r, uint32_t id, uint64_t size, uint32_t stack)
{
	if (!id)
		return 0;
	if (reserve(r, id))
		return -ENOMEM;
	if (!r->count[id] && !r->stack[id]) {
		r->size[id] = size;
		r->stack[id] = stack;
	}
	return 0;
}
