/*
 * info.c - one pass over a trace, counting.
 */
#define _GNU_SOURCE
#include "analyze/info.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "analyze/replay.h"
#include "util/hashmap.h"

static char *dup_str(struct trace_str s)
{
	char *p = malloc(s.n + 1);
	if (p) {
		memcpy(p, s.p, s.n);
		p[s.n] = 0;
	}
	return p;
}

static struct info_thread *thread_of(struct info *in, struct hashmap *idx, uint32_t index)
{
	uint64_t *v = hashmap_get(idx, (uint64_t)index + 1);

	if (v)
		return &in->threads[*v];
	struct info_thread *t = realloc(in->threads, (in->nthreads + 1) * sizeof(*t));
	if (!t)
		return NULL;
	in->threads = t;
	t = &in->threads[in->nthreads];
	memset(t, 0, sizeof(*t));
	t->index = index;
	hashmap_put(idx, (uint64_t)index + 1, in->nthreads++);
	return t;
}

static void on_process(struct info *in, const struct trace_item *it)
{
	free(in->exe);
	free(in->cmdline);
	free(in->options);
	free(in->allocator);
	in->pid = it->process.pid;
	in->ppid = it->process.ppid;
	in->exe = dup_str(it->process.exe);
	in->cmdline = dup_str(it->process.cmdline);
	in->options = dup_str(it->process.options);
	in->allocator = dup_str(it->process.allocator);
	if (in->cmdline) {
		size_t n = it->process.cmdline.n;
		while (n && !in->cmdline[n - 1])
			in->cmdline[--n] = 0;
		for (size_t i = 0; i < n; i++)
			if (!in->cmdline[i])
				in->cmdline[i] = ' ';
	}
}

static void on_modules(struct info *in, const struct trace_item *it, struct hashmap *seen)
{
	struct trace_module m;
	size_t pos = 0;

	while (modules_next(it, &pos, &m) > 0) {
		uint64_t h = m.load_bias ^ 0x9e3779b97f4a7c15ull;
		for (size_t i = 0; i < m.path.n; i++)
			h = (h ^ (uint8_t)m.path.p[i]) * 0x100000001b3ull;
		if (!h)
			h = 1;
		if (!hashmap_get(seen, h)) {
			hashmap_put(seen, h, 1);
			in->modules++;
		}
	}
}

static void on_snapshot(struct info *in, const struct trace_item *it)
{
	struct info_snapshot *s = realloc(in->snaps, (in->nsnaps + 1) * sizeof(*s));
	if (!s)
		return;
	in->snaps = s;
	s = &in->snaps[in->nsnaps++];
	s->index = it->snap.index;
	s->ts = it->snap.ts;
	s->trigger = it->snap.trigger;
	s->label = dup_str(it->snap.label);
}

int info_collect(const char *path, struct info *in, struct hs_diag *d)
{
	struct trace_item it;
	struct hashmap threads, stacks, modules;
	struct replay rp;
	int rc;

	memset(in, 0, sizeof(*in));
	struct trace_reader *r = reader_open(path, d);
	if (!r)
		return -1;
	in->path = strdup(path);
	in->hdr = *reader_header(r);
	in->pid = in->hdr.pid;
	in->ppid = in->hdr.ppid;
	hashmap_init(&threads, 64);
	hashmap_init(&stacks, 1024);
	hashmap_init(&modules, 64);
	replay_init(&rp);
	while ((rc = reader_next(r, &it)) > 0) {
		struct info_thread *t;
		switch (it.type) {
		case ITEM_PROCESS:
			on_process(in, &it);
			break;
		case ITEM_MODULES:
			on_modules(in, &it, &modules);
			break;
		case ITEM_STACK:
			if (!hashmap_get(&stacks, it.stack.id))
				hashmap_put(&stacks, it.stack.id, 1);
			break;
		case ITEM_THREAD:
			if ((t = thread_of(in, &threads, it.thread.index)) && it.thread.tid)
				t->tid = it.thread.tid;
			break;
		case ITEM_THREAD_END:
			if ((t = thread_of(in, &threads, it.thread.index))) {
				size_t n = it.thread.name.n < 16 ? it.thread.name.n : 16;
				memcpy(t->name, it.thread.name.p, n);
				t->name[n] = 0;
			}
			break;
		case ITEM_EVENT:
			replay_event(&rp, &it.ev);
			if (it.ev.implicit)
				break;
			in->events[it.ev.kind]++;
			in->total_events++;
			if (!in->first_ts || it.ev.ts < in->first_ts)
				in->first_ts = it.ev.ts;
			if (it.ev.ts > in->last_ts)
				in->last_ts = it.ev.ts;
			if (it.ev.thread && (t = thread_of(in, &threads, it.ev.thread)))
				t->events++;
			break;
		case ITEM_SNAPSHOT:
			on_snapshot(in, &it);
			break;
		case ITEM_SCAN:
			in->scans++;
			in->scan_reason = it.scan.reason;
			in->scan_blocks = it.scan.blocks;
			in->scan_stopped = it.scan.threads_stopped;
			in->scan_missed = it.scan.threads_missed;
			in->scan_ns = it.scan.ts; /* until SCAN_END */
			break;
		case ITEM_SCAN_END:
			in->scan_edges = it.scan_end.edges;
			in->scan_bytes = it.scan_end.bytes;
			in->scan_ns = it.scan_end.ts > in->scan_ns ? it.scan_end.ts - in->scan_ns : 0;
			break;
		case ITEM_END:
			in->ended = 1;
			in->end_reason = it.end.reason;
			in->end_status = it.end.status;
			in->dropped = it.end.dropped;
			if (it.end.ts > in->last_ts)
				in->last_ts = it.end.ts;
			break;
		}
	}
	if (rc == 0) {
		in->truncated = reader_truncated(r);
		snprintf(in->truncation, sizeof(in->truncation), "%s", reader_truncation(r));
		in->recovered = reader_recovered(r);
		in->raw_events = reader_tag_bytes(r, HST_REC_EVENTS);
		in->raw_stacks = reader_tag_bytes(r, HST_REC_STACK);
		in->raw_allocinfo = reader_tag_bytes(r, HST_REC_ALLOCINFO);
		for (int tag = 0; tag < 16; tag++)
			if (tag != HST_REC_EVENTS && tag != HST_REC_STACK && tag != HST_REC_ALLOCINFO)
				in->raw_other += reader_tag_bytes(r, tag);
		struct stat st;
		if (!stat(path, &st))
			in->file_bytes = (uint64_t)st.st_size;
		in->stacks = stacks.count;
		in->live_bytes = rp.live_bytes;
		in->live_blocks = rp.live_count;
		in->peak_bytes = rp.peak_bytes;
		in->peak_blocks = rp.peak_count;
		in->peak_ts = rp.peak_ts;
		in->unknown_frees = rp.unknown_frees;
	}
	replay_free(&rp);
	hashmap_free(&threads);
	hashmap_free(&stacks);
	hashmap_free(&modules);
	reader_close(r);
	if (rc < 0) {
		info_free(in);
		return -1;
	}
	return 0;
}

void info_free(struct info *in)
{
	free(in->path);
	free(in->exe);
	free(in->cmdline);
	free(in->options);
	free(in->allocator);
	free(in->threads);
	for (size_t i = 0; i < in->nsnaps; i++)
		free(in->snaps[i].label);
	free(in->snaps);
	memset(in, 0, sizeof(*in));
}
