/*
 * info.c - counting, item by item.
 */
#define _GNU_SOURCE
#include "analyze/info.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "trace/format.h"

int info_begin(struct info_state *st, struct hs_info *in)
{
	memset(st, 0, sizeof(*st));
	st->last_thread = UINT32_MAX;
	if (hashmap_init(&st->threads, 64) || hashmap_init(&st->stacks, 1024) || hashmap_init(&st->modules, 64)) {
		info_abort(st);
		return -ENOMEM;
	}
	(void)in;
	return 0;
}

void info_abort(struct info_state *st)
{
	hashmap_free(&st->threads);
	hashmap_free(&st->stacks);
	hashmap_free(&st->modules);
}

struct hs_thread *info_thread_lookup(struct info_state *st, struct hs_info *in, uint32_t index)
{
	uint64_t *v = hashmap_get(&st->threads, (uint64_t)index + 1);
	size_t pos;

	if (v) {
		pos = (size_t)*v;
	} else {
		struct hs_thread *t = realloc(in->threads, (in->nthreads + 1) * sizeof(*t));
		if (!t)
			return NULL;
		in->threads = t;
		pos = in->nthreads;
		if (hashmap_put(&st->threads, (uint64_t)index + 1, pos))
			return NULL;
		memset(&t[pos], 0, sizeof(*t));
		t[pos].index = index;
		in->nthreads++;
	}
	st->last_thread = index;
	st->last_pos = pos;
	return &in->threads[pos];
}

static void on_modules(struct info_state *st, struct hs_info *in, const struct trace_item *it)
{
	struct trace_module m;
	size_t pos = 0;

	while (modules_next(it, &pos, &m) > 0) {
		uint64_t h = m.load_bias ^ 0x9e3779b97f4a7c15ull;
		for (size_t i = 0; i < m.path.n; i++)
			h = (h ^ (uint8_t)m.path.p[i]) * 0x100000001b3ull;
		if (!h)
			h = 1;
		if (!hashmap_get(&st->modules, h) && !hashmap_put(&st->modules, h, 1))
			in->modules++;
	}
}

void info_item(struct info_state *st, struct hs_info *in, const struct trace_item *it)
{
	struct hs_thread *t;

	switch (it->type) {
	case ITEM_EVENT:
		info_event(st, in, &it->ev);
		break;
	case ITEM_MODULES:
		on_modules(st, in, it);
		break;
	case ITEM_STACK:
		if (!hashmap_get(&st->stacks, it->stack.id) && !hashmap_put(&st->stacks, it->stack.id, 1))
			in->stacks++;
		break;
	case ITEM_THREAD:
		if ((t = info_thread(st, in, it->thread.index)) && it->thread.tid)
			t->tid = it->thread.tid;
		break;
	case ITEM_THREAD_END:
		if ((t = info_thread(st, in, it->thread.index))) {
			size_t n = it->thread.name.n < 16 ? it->thread.name.n : 16;
			memcpy(t->name, it->thread.name.p, n);
			t->name[n] = 0;
		}
		break;
	case ITEM_SCAN:
		in->scans++;
		in->scan_reason = it->scan.reason;
		in->scan_blocks = it->scan.blocks;
		in->scan_stopped = it->scan.threads_stopped;
		in->scan_missed = it->scan.threads_missed;
		in->scan_complete = 0;
		in->scan_edges = in->scan_bytes = in->scan_ns = 0;
		st->scan_start = it->scan.ts;
		break;
	case ITEM_SCAN_EDGE:
		in->scan_edges++; /* so far: SCAN_END has the total */
		break;
	case ITEM_SCAN_END:
		in->scan_complete = 1;
		in->scan_edges = it->scan_end.edges;
		in->scan_bytes = it->scan_end.bytes;
		in->scan_ns = it->scan_end.ts > st->scan_start ? it->scan_end.ts - st->scan_start : 0;
		break;
	case ITEM_END:
		if (it->end.ts > in->last_ts)
			in->last_ts = it->end.ts;
		break;
	}
}

void info_end(struct info_state *st, struct hs_info *in, struct trace_reader *r, const char *path,
	      const struct replay *rp)
{
	struct stat st_file;

	in->raw_events = reader_tag_bytes(r, HST_REC_EVENTS);
	in->raw_stacks = reader_tag_bytes(r, HST_REC_STACK);
	in->raw_allocinfo = reader_tag_bytes(r, HST_REC_ALLOCINFO);
	for (int tag = 0; tag < 16; tag++)
		if (tag != HST_REC_EVENTS && tag != HST_REC_STACK && tag != HST_REC_ALLOCINFO)
			in->raw_other += reader_tag_bytes(r, tag);
	if (!stat(path, &st_file))
		in->file_bytes = (uint64_t)st_file.st_size;
	in->live_bytes = rp->live_bytes;
	in->live_blocks = rp->live_count;
	in->peak_bytes = rp->peak_bytes;
	in->peak_blocks = rp->peak_count;
	in->peak_ts = rp->peak_ts;
	in->unknown_frees = rp->unknown_frees;
	info_abort(st);
}

void info_free(struct hs_info *in)
{
	free(in->threads);
	memset(in, 0, sizeof(*in));
}
