/*
 * replay.c - live set, with the ordering rules of replay.h.
 */
#include "analyze/replay.h"

#include <stdlib.h>
#include <string.h>

#include "trace/format.h"

int replay_init(struct replay *r)
{
	memset(r, 0, sizeof(*r));
	return hashmap_init(&r->live, 1024);
}

void replay_free(struct replay *r)
{
	hashmap_free(&r->live);
	free(r->blocks);
	free(r->free_slots);
	memset(r, 0, sizeof(*r));
}

static void drop(struct replay *r, uint64_t *slot_val, uint64_t addr)
{
	uint64_t i = *slot_val;
	struct replay_block *b = &r->blocks[i];

	r->live_bytes -= b->size;
	r->live_count--;
	b->addr = 0;
	hashmap_del(&r->live, addr);
	if (r->nfree == r->free_cap) {
		size_t cap = r->free_cap ? r->free_cap * 2 : 1024;
		uint64_t *p = realloc(r->free_slots, cap * sizeof(*p));
		if (!p) {
			r->oom = 1;
			return;
		}
		r->free_slots = p;
		r->free_cap = cap;
	}
	r->free_slots[r->nfree++] = i;
}

static void do_free(struct replay *r, uint64_t addr, uint64_t ts)
{
	uint64_t *v = hashmap_get(&r->live, addr);

	if (!v) {
		r->unknown_frees++;
		return;
	}
	if (ts < r->blocks[*v].ts) {
		r->stale_frees++;
		return;
	}
	drop(r, v, addr);
}

static void do_alloc(struct replay *r, const struct trace_event *ev)
{
	uint64_t *v = hashmap_get(&r->live, ev->addr);
	uint64_t i;

	if (v) {
		r->implicit_frees++;
		drop(r, v, ev->addr);
	}
	if (r->nfree) {
		i = r->free_slots[--r->nfree];
	} else {
		if (r->nblocks == r->cap) {
			size_t cap = r->cap ? r->cap * 2 : 4096;
			struct replay_block *b = realloc(r->blocks, cap * sizeof(*b));
			if (!b) {
				r->oom = 1;
				return;
			}
			r->blocks = b;
			r->cap = cap;
		}
		i = r->nblocks++;
	}
	r->blocks[i] = (struct replay_block){ev->addr, ev->size, ev->ts, ev->stack, ev->thread, ev->kind};
	if (hashmap_put(&r->live, ev->addr, i)) {
		r->oom = 1;
		return;
	}
	r->live_bytes += ev->size;
	r->live_count++;
	if (r->live_bytes > r->peak_bytes) {
		r->peak_bytes = r->live_bytes;
		r->peak_count = r->live_count;
		r->peak_ts = ev->ts;
	}
}

void replay_event(struct replay *r, const struct trace_event *ev)
{
	switch (hst_event_shape(ev->kind)) {
	case HST_SHAPE_ALLOC:
		do_alloc(r, ev);
		break;
	case HST_SHAPE_FREE:
		do_free(r, ev->addr, ev->ts);
		break;
	case HST_SHAPE_REALLOC:
		if (ev->old_addr)
			do_free(r, ev->old_addr, ev->ts - ev->free_lag);
		if (ev->addr)
			do_alloc(r, ev);
		break;
	case HST_SHAPE_ADDR:
		break;
	}
}

const struct replay_block *replay_find(const struct replay *r, uint64_t addr)
{
	uint64_t *v = hashmap_get(&r->live, addr);
	return v ? &r->blocks[*v] : NULL;
}

void replay_each(const struct replay *r, void (*fn)(const struct replay_block *b, void *arg), void *arg)
{
	for (size_t i = 0; i < r->nblocks; i++)
		if (r->blocks[i].addr)
			fn(&r->blocks[i], arg);
}
