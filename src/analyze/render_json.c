/*
 * render_json.c - the JSON reports, for scripts: the versioned schemas of
 * heapsnap(1) ("JSON output of ..."), whose core DESIGN.md fixes.
 */
#include "analyze/render.h"

#include <string.h>

#include "trace/format.h"
#include "util/json.h"

/* Seconds from the start of trace t to ts (0 before it). */
static double secs(const struct hs_trace *t, uint64_t ts)
{
	return ts >= t->t0 ? (double)(ts - t->t0) / 1e9 : 0.0;
}

void render_json_info(FILE *out, const struct hs_trace *t)
{
	const struct hs_info *in = &t->info;

	fprintf(out, "{\"schema\": 1, \"trace\": ");
	json_cstr(out, t->path);
	fprintf(out, ", \"version\": %u, \"pid\": %u, \"ppid\": %u, \"exe\": ", t->version, t->pid, t->ppid);
	json_cstr(out, t->exe);
	fprintf(out, ", \"cmdline\": ");
	json_cstr(out, t->cmdline);
	fprintf(out, ", \"allocator\": ");
	json_cstr(out, t->allocator);
	fprintf(out, ", \"truncated\": %s", t->truncated ? "true" : "false");
	if (t->truncated) {
		fprintf(out, ", \"truncation\": ");
		json_cstr(out, t->truncation);
	}
	fprintf(out, ", \"recovered_events\": %llu, \"dropped_events\": %llu", (unsigned long long)t->recovered,
		(unsigned long long)t->dropped);
	if (t->ended)
		fprintf(out, ", \"end\": {\"reason\": \"%s\", \"status\": %lld}", hs_end_name(t->end_reason),
			(long long)t->end_status);
	fprintf(out, ", \"duration\": %.6f, \"events\": {", in->last_ts ? secs(t, in->last_ts) : 0.0);
	for (unsigned k = 1; k < HS_EVENT_KINDS; k++)
		fprintf(out, "%s\"%s\": %llu", k > 1 ? ", " : "", hs_event_name(k), (unsigned long long)in->events[k]);
	fprintf(out, "}, \"total_events\": %llu, \"temporary\": %llu, \"unknown_frees\": %llu",
		(unsigned long long)in->total_events, (unsigned long long)in->temporary,
		(unsigned long long)in->unknown_frees);
	fprintf(out, ", \"live\": {\"bytes\": %llu, \"blocks\": %llu}", (unsigned long long)in->live_bytes,
		(unsigned long long)in->live_blocks);
	fprintf(out, ", \"peak\": {\"bytes\": %llu, \"blocks\": %llu, \"time\": %.6f}",
		(unsigned long long)in->peak_bytes, (unsigned long long)in->peak_blocks, secs(t, in->peak_ts));
	fprintf(out,
		", \"bytes\": {\"file\": %llu, \"events\": %llu, \"stacks\": %llu, \"allocinfo\": %llu, "
		"\"other\": %llu}",
		(unsigned long long)in->file_bytes, (unsigned long long)in->raw_events,
		(unsigned long long)in->raw_stacks, (unsigned long long)in->raw_allocinfo,
		(unsigned long long)in->raw_other);
	fprintf(out, ", \"stacks\": %llu, \"modules\": %llu, \"threads\": %zu, \"thread_list\": [",
		(unsigned long long)in->stacks, (unsigned long long)in->modules, in->nthreads);
	for (size_t i = 0; i < in->nthreads; i++) {
		fprintf(out, "%s{\"index\": %u, \"tid\": %u, \"name\": ", i ? ", " : "", in->threads[i].index,
			in->threads[i].tid);
		json_cstr(out, in->threads[i].name);
		fprintf(out, ", \"events\": %llu}", (unsigned long long)in->threads[i].events);
	}
	fprintf(out, "]");
	if (in->scans)
		fprintf(out,
			", \"scan\": {\"reason\": \"%s\", \"count\": %d, \"blocks\": %llu, \"edges\": %llu, \"bytes\": "
			"%llu, \"seconds\": %.6f, \"threads_stopped\": %llu, \"threads_missed\": %llu}",
			in->scan_reason == HST_SCAN_API ? "api" : in->scan_reason == HST_SCAN_DETACH ? "detach" : "exit",
			in->scans, (unsigned long long)in->scan_blocks,
			(unsigned long long)in->scan_edges, (unsigned long long)in->scan_bytes,
			(double)in->scan_ns / 1e9, (unsigned long long)in->scan_stopped,
			(unsigned long long)in->scan_missed);
	fprintf(out, ", \"snapshots\": [");
	for (size_t i = 0; i < t->nsnapshots; i++) {
		fprintf(out, "%s{\"index\": %u, \"label\": ", i ? ", " : "", t->snapshots[i].index);
		json_cstr(out, t->snapshots[i].label);
		fprintf(out, ", \"time\": %.6f, \"trigger\": \"%s\"}", secs(t, t->snapshots[i].ts),
			hs_trigger_name(t->snapshots[i].trigger));
	}
	fprintf(out, "]}");
}
