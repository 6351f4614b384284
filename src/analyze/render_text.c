/*
 * render_text.c - the text reports, for people: `info`'s summary.
 */
#include "analyze/render.h"

#include "trace/format.h"

/* Seconds from the start of trace t to ts (0 before it). */
static double secs(const struct hs_trace *t, uint64_t ts)
{
	return ts >= t->t0 ? (double)(ts - t->t0) / 1e9 : 0.0;
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

void render_text_info(FILE *out, const struct hs_trace *t)
{
	const struct hs_info *in = &t->info;

	fprintf(out, "trace:      %s (format version %u)\n", t->path, t->version);
	fprintf(out, "process:    pid %u, parent %u\n", t->pid, t->ppid);
	fprintf(out, "executable: %s\n", or_empty(t->exe));
	fprintf(out, "command:    %s\n", or_empty(t->cmdline));
	fprintf(out, "allocator:  %s\n", t->allocator ? t->allocator : "?");
	if (t->options && *t->options)
		fprintf(out, "options:    %s\n", t->options);
	fprintf(out, "duration:   %.3f s\n", in->last_ts ? secs(t, in->last_ts) : 0.0);
	if (t->truncated)
		fprintf(out, "status:     TRUNCATED: %s%s\n", t->truncation,
			t->recovered ? "; events recovered from the ring file" : "");
	else if (t->end_status >= 0)
		fprintf(out, "status:     complete (ended by %s, status %lld)\n", hs_end_name(t->end_reason),
			(long long)t->end_status);
	else
		fprintf(out, "status:     complete (ended by %s)\n", hs_end_name(t->end_reason));
	fprintf(out, "events:     %llu", (unsigned long long)in->total_events);
	if (t->recovered)
		fprintf(out, " (%llu recovered from the ring file)", (unsigned long long)t->recovered);
	if (t->dropped)
		fprintf(out, " (%llu dropped)", (unsigned long long)t->dropped);
	fprintf(out, "\n");
	for (unsigned k = 1; k < HS_EVENT_KINDS; k++)
		if (in->events[k])
			fprintf(out, "  %-20s %llu\n", hs_event_name(k), (unsigned long long)in->events[k]);
	fprintf(out, "temporary:  %llu allocations freed before their thread allocated again\n",
		(unsigned long long)in->temporary);
	if (in->unknown_frees)
		fprintf(out, "unknown frees: %llu (of blocks the trace never saw allocated)\n",
			(unsigned long long)in->unknown_frees);
	fprintf(out, "live at end: %llu bytes in %llu blocks\n", (unsigned long long)in->live_bytes,
		(unsigned long long)in->live_blocks);
	fprintf(out, "peak:       %llu bytes in %llu blocks at %.3f s\n", (unsigned long long)in->peak_bytes,
		(unsigned long long)in->peak_blocks, secs(t, in->peak_ts));
	fprintf(out, "stacks:     %llu distinct\n", (unsigned long long)in->stacks);
	fprintf(out,
		"size:       %llu bytes (records before compression: events %llu, stacks %llu, allocinfo %llu, "
		"other %llu)\n",
		(unsigned long long)in->file_bytes, (unsigned long long)in->raw_events,
		(unsigned long long)in->raw_stacks, (unsigned long long)in->raw_allocinfo,
		(unsigned long long)in->raw_other);
	fprintf(out, "modules:    %llu\n", (unsigned long long)in->modules);
	fprintf(out, "threads:    %zu\n", in->nthreads);
	for (size_t i = 0; i < in->nthreads; i++)
		fprintf(out, "  #%-4u tid %-8u %-16s %llu events\n", in->threads[i].index, in->threads[i].tid,
			in->threads[i].name, (unsigned long long)in->threads[i].events);
	if (in->scans)
		fprintf(out,
			"scan:       %s, %llu blocks, %llu pointers found in %llu bytes, %.3f s; %llu threads "
			"stopped%s\n",
			in->scan_reason == HST_SCAN_API	     ? "heapsnap_leak_check()"
			: in->scan_reason == HST_SCAN_DETACH ? "before the detach"
							     : "at exit",
			(unsigned long long)in->scan_blocks, (unsigned long long)in->scan_edges,
			(unsigned long long)in->scan_bytes, (double)in->scan_ns / 1e9,
			(unsigned long long)in->scan_stopped, in->scan_missed ? " (some did not stop)" : "");
	else
		fprintf(out, "scan:       none (killed, exec'ed, or --no-scan)\n");
	fprintf(out, "snapshots:  %zu\n", t->nsnapshots);
	for (size_t i = 0; i < t->nsnapshots; i++)
		fprintf(out, "  [%u] %-20s %8.3f s  (%s)\n", t->snapshots[i].index, t->snapshots[i].label,
			secs(t, t->snapshots[i].ts), hs_trigger_name(t->snapshots[i].trigger));
}
