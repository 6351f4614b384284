/*
 * render_text.c - the text reports, for people: `info`'s summary.
 */
#include "analyze/render.h"

#include <stdlib.h>
#include <string.h>

#include "trace/format.h"

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

/* How a scan's line names it. */
static const char *text_scan_reason(int reason)
{
	switch (reason) {
	case HST_SCAN_API:
		return "heapsnap_leak_check()";
	case HST_SCAN_DETACH:
		return "before the detach";
	case HST_SCAN_SNAPSHOT:
		return "at a snapshot";
	}
	return "at exit";
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
	fprintf(out, "duration:   %.3f s\n", in->last_ts ? render_seconds(t, in->last_ts) : 0.0);
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
	if (t->lost)
		fprintf(out, " (%llu not written: the trace had stopped)", (unsigned long long)t->lost);
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
		(unsigned long long)in->peak_blocks, render_seconds(t, in->peak_ts));
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
	if (in->scans && !in->scan_complete)
		fprintf(out,
			"scan:       %s, INCOMPLETE (the process died during the scan): %llu blocks, %llu pointers "
			"found before; %llu threads stopped%s\n",
			text_scan_reason(in->scan_reason), (unsigned long long)in->scan_blocks,
			(unsigned long long)in->scan_edges, (unsigned long long)in->scan_stopped,
			in->scan_missed ? " (some did not stop)" : "");
	else if (in->scans)
		fprintf(out,
			"scan:       %s, %llu blocks, %llu pointers found in %llu bytes, %.3f s; %llu threads "
			"stopped%s\n",
			text_scan_reason(in->scan_reason), (unsigned long long)in->scan_blocks, (unsigned long long)in->scan_edges,
			(unsigned long long)in->scan_bytes, (double)in->scan_ns / 1e9,
			(unsigned long long)in->scan_stopped, in->scan_missed ? " (some did not stop)" : "");
	else
		fprintf(out, "scan:       none (killed, exec'ed, or --no-scan)\n");
	fprintf(out, "snapshots:  %zu\n", t->nsnapshots);
	for (size_t i = 0; i < t->nsnapshots; i++)
		fprintf(out, "  [%u] %-20s %8.3f s  (%s%s)\n", t->snapshots[i].index, t->snapshots[i].label,
			render_seconds(t, t->snapshots[i].ts), hs_trigger_name(t->snapshots[i].trigger),
			t->snapshots[i].scanned ? ", scanned" : "");
}

/* ---- leaks and cycles ---------------------------------------------------------- */

/* LeakSanitizer's titles of the loss records, by enum hs_leak_kind. */
const char *const render_kind_title[HS_LEAK_KINDS] = {"Still reachable", "Possible leak", "Indirect leak",
						      "Direct leak"};

void render_text_stack(FILE *out, const struct hs_stack *s, int full)
{
	if (!s->n)
		fprintf(out, "    <no stack: allocated from inside a signal handler or before the shim could unwind>\n");
	for (int i = 0; i < s->n; i++) {
		const struct hs_frame *f = &s->frames[i];
		if (f->python) /* a Python frame has no address */
			fprintf(out, "    #%d [python] in %s", i, f->function ? f->function : "???");
		else {
			fprintf(out, "    #%d 0x%llx in ", i, (unsigned long long)f->ip);
			render_name(out, f->function ? f->function : "???", full);
		}
		if (f->file && f->line)
			fprintf(out, " %s:%u", f->file, f->line);
		else if (f->module)
			fprintf(out, " (%s+0x%llx)", f->module, (unsigned long long)f->offset);
		if (f->inlined)
			fprintf(out, " (inlined)");
		if (f->approximate)
			fprintf(out, " (approximate name)");
		fprintf(out, "\n");
	}
}

/* One loss record as LeakSanitizer prints it, with its stack. */
static void text_record(FILE *out, struct hs_trace *t, const struct hs_loss_record *rec, int full)
{
	fprintf(out, "%s of %llu byte(s) in %llu object(s) allocated from:\n", render_kind_title[rec->kind],
		(unsigned long long)rec->bytes, (unsigned long long)rec->blocks);
	render_text_stack(out, hs_trace_stack(t, rec->stack), full);
	fprintf(out, "\n");
}

static void text_cycle(FILE *out, struct hs_trace *t, const struct hs_cycle *c, long i, int full)
{
	/* each member's site, whole (a long C++ name is not cut) */
	char **site = calloc(c->n ? c->n : 1, sizeof(*site));

	fprintf(out, "Leaked cycle #%ld: %u block(s), %llu byte(s), nothing outside points to it:\n", i + 1, c->n,
		(unsigned long long)c->bytes);
	for (uint32_t k = 0; site && k < c->n; k++)
		site[k] = render_site(t, c->members[k].stack, full);
	for (uint32_t k = 0; k < c->n; k++) {
		const struct hs_cycle_member *m = &c->members[k];
		fprintf(out, "    block %u: %llu bytes at 0x%llx, %s, allocated at %s\n", k + 1,
			(unsigned long long)m->size, (unsigned long long)m->addr,
			m->kind == HS_DEFINITE ? "definite" : "indirect", site && site[k] ? site[k] : "?");
	}
	fprintf(out, "  edges:\n");
	for (uint32_t e = 0; e < c->nedges; e++) {
		const struct hs_cycle_edge *ed = &c->edges[e];
		fprintf(out, "    block %u (%s) +%u -> block %u (%s)\n", ed->from + 1,
			site && site[ed->from] ? site[ed->from] : "?", ed->offset, ed->to + 1,
			site && site[ed->to] ? site[ed->to] : "?");
	}
	fprintf(out, "\n");
	for (uint32_t k = 0; site && k < c->n; k++)
		free(site[k]);
	free(site);
}

/* Valgrind's LEAK SUMMARY lines of total/suppressed. */
static void text_summary_lines(FILE *out, const uint64_t total[HS_LEAK_KINDS][2], const uint64_t suppressed[2])
{
	static const char *const label[] = {"still reachable", "  possibly lost", "indirectly lost", "definitely lost"};

	for (int k = HS_DEFINITE; k >= HS_REACHABLE; k--)
		fprintf(out, "   %s: %llu bytes in %llu blocks\n", label[k], (unsigned long long)total[k][1],
			(unsigned long long)total[k][0]);
	fprintf(out, "        suppressed: %llu bytes in %llu blocks\n", (unsigned long long)suppressed[1],
		(unsigned long long)suppressed[0]);
}

static void text_summary(FILE *out, const struct hs_leaks *l)
{
	uint64_t cyc_blocks = 0, cyc_bytes = 0;

	fprintf(out, "LEAK SUMMARY:\n");
	text_summary_lines(out, l->total, l->suppressed);
	for (long i = 0; i < l->ncycles; i++) {
		cyc_blocks += l->cycles[i].n;
		cyc_bytes += l->cycles[i].bytes;
	}
	fprintf(out, "     leaked cycles: %ld (%llu bytes in %llu blocks)\n", l->ncycles, (unsigned long long)cyc_bytes,
		(unsigned long long)cyc_blocks);
}

/* Where a scan that is not the exit one was taken. */
static void text_scan_head(FILE *out, const struct hs_trace *t)
{
	const struct hs_leaks *l = &t->leaks;
	const char *label = "";

	for (size_t i = 0; i < t->nsnapshots; i++)
		if (l->scan_snapshot >= 0 && t->snapshots[i].index == (uint64_t)l->scan_snapshot)
			label = t->snapshots[i].label;
	if (l->scan_reason == HST_SCAN_SNAPSHOT)
		fprintf(out, "Scan at snapshot %lld%s%s%s (%.3f s), the program running:\n\n", (long long)l->scan_snapshot,
			*label ? " \"" : "", label, *label ? "\"" : "", render_seconds(t, l->scan_ts));
	else
		fprintf(out, "Scan %s (%.3f s):\n\n", text_scan_reason(l->scan_reason), render_seconds(t, l->scan_ts));
}

/* One trace's leak (or cycles) report. */
static void text_leaks_one(FILE *out, struct hs_trace *t, const struct hs_leaks_view *v, int several)
{
	const struct hs_leaks *l = &t->leaks;

	if (several || t->exe)
		fprintf(out, "== %s (pid %u), trace %s\n\n", t->exe ? t->exe : "?", t->pid, t->path);
	if (l->scanned && l->scan_reason != HST_SCAN_EXIT)
		text_scan_head(out, t);
	if (!l->scanned) {
		fprintf(out, "No pointer scan in this trace (the program was killed, exec'ed, or ran with --no-scan):\n"
			     "leaks cannot be told apart from memory still in use.\n\n");
		return;
	}
	for (uint64_t i = 0; !v->cycles_only && i < l->nrecords; i++) {
		const struct hs_loss_record *rec = &l->records[i];
		if ((v->kinds & (1u << rec->kind)) && rec->suppressed < 0)
			text_record(out, t, rec, v->full_names);
	}
	for (long i = 0; i < l->ncycles; i++)
		text_cycle(out, t, &l->cycles[i], i, v->full_names);
	if (v->cycles_only) {
		if (!l->ncycles)
			fprintf(out, "No leaked cycles.\n\n");
		return;
	}
	text_summary(out, l);
	if (l->threads_missed)
		fprintf(out, "   (%llu thread(s) did not stop for the scan; their stacks were read whole)\n",
			(unsigned long long)l->threads_missed);
	uint64_t bytes = 0, blocks = 0;
	for (int k = 0; k < HS_LEAK_KINDS; k++)
		if ((v->kinds & (1u << k)) && k != HS_REACHABLE) {
			bytes += l->total[k][1];
			blocks += l->total[k][0];
		}
	fprintf(out, "\nSUMMARY: heapsnap: %llu byte(s) leaked in %llu allocation(s).\n\n", (unsigned long long)bytes,
		(unsigned long long)blocks);
}

void render_text_leaks_one(FILE *out, struct hs_trace *t, int n, const struct hs_leaks_view *v)
{
	text_leaks_one(out, t, v, n > 1);
}

void render_text_leaks_end(FILE *out, int n, const uint64_t total[HS_LEAK_KINDS][2], const uint64_t suppressed[2],
			   const struct hs_leaks_view *v)
{
	if (n > 1 && !v->cycles_only) {
		fprintf(out, "TOTAL over %d traces:\n", n);
		text_summary_lines(out, total, suppressed);
		fprintf(out, "\n");
	}
	const struct hs_suppressions *sup = v->sup;
	if (!sup || !sup->n)
		return;
	fprintf(out, "Suppressions used:\n  count      bytes template\n");
	for (unsigned i = 0; i < sup->n; i++)
		if (sup->s[i].leaks)
			fprintf(out, "%7llu %10llu %s\n", (unsigned long long)sup->s[i].blocks,
				(unsigned long long)sup->s[i].bytes, sup->s[i].pattern);
	fprintf(out, "\n");
}

void render_text_leaks(FILE *out, struct hs_trace *const *t, int n, const struct hs_leaks_view *v)
{
	uint64_t total[HS_LEAK_KINDS][2], suppressed[2];

	for (int i = 0; i < n; i++)
		text_leaks_one(out, t[i], v, n > 1);
	hs_leaks_sum(t, n, total, suppressed);
	render_text_leaks_end(out, n, total, suppressed, v);
}

/* ---- check ---------------------------------------------------------------------- */

/* The kinds of a bit set, most serious first, comma-separated. */
void render_kinds_list(FILE *out, unsigned kinds)
{
	for (int k = HS_DEFINITE, first = 1; k >= HS_REACHABLE; k--)
		if (kinds & (1u << k)) {
			fprintf(out, "%s%s", first ? "" : ",", hs_leak_kind_name(k));
			first = 0;
		}
}

/* Print s as one word a POSIX shell reads back as s: as is when it holds
 * nothing the shell treats specially, else in single quotes. */
static void text_shell_word(FILE *out, const char *s)
{
	if (*s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./%+,:=@-") == strlen(s)) {
		fputs(s, out);
		return;
	}
	fputc('\'', out);
	for (; *s; s++)
		if (*s == '\'')
			fputs("'\\''", out);
		else
			fputc(*s, out);
	fputc('\'', out);
}

void render_text_check(FILE *out, const struct hs_ci *ci, const struct hs_check_view *v)
{
	size_t baselined = 0;
	int unscanned = 0;

	for (int i = 0; i < ci->ntraces; i++) {
		struct hs_trace *t = ci->traces[i];
		int header = 0;
		unscanned += !t->leaks.scanned;
		for (size_t k = 0; k < ci->nsites; k++) {
			const struct hs_ci_site *s = &ci->sites[k];
			if (s->trace != t || s->in_baseline)
				continue;
			if (!header && v->show_traces)
				fprintf(out, "== %s (pid %u, parent %u), trace %s\n\n", render_exe(t), t->pid, t->ppid,
					t->path);
			else if (!header)
				fprintf(out, "== %s (pid %u, parent %u)\n\n", render_exe(t), t->pid, t->ppid);
			header = 1;
			text_record(out, t, s->rec, v->full_names);
		}
		if (header && t->leaks.ncycles && v->show_traces) {
			fprintf(out, "   (%ld leaked cycle(s) in pid %u: ", t->leaks.ncycles, t->pid);
			text_shell_word(out, v->command ? v->command : "heapsnap");
			fputs(" cycles ", out);
			text_shell_word(out, t->path);
			fprintf(out, ")\n\n");
		} else if (header && t->leaks.ncycles) {
			/* the trace is gone: no command would run as printed */
			fprintf(out, "   (%ld leaked cycle(s) in pid %u; check --keep keeps the traces for the cycles command)\n\n",
				t->leaks.ncycles, t->pid);
		}
	}
	for (size_t k = 0; k < ci->nsites; k++)
		baselined += ci->sites[k].in_baseline;
	fprintf(out, "heapsnap check: %d trace(s)", ci->ntraces);
	if (unscanned)
		fprintf(out, ", %d without a pointer scan (exec'ed or killed)", unscanned);
	fprintf(out, "; failing kinds ");
	render_kinds_list(out, v->fail_on);
	fprintf(out, "\n");
	if (baselined)
		fprintf(out, "  %zu leak site(s) already in the baseline %s\n", baselined, v->baseline);
	const struct hs_suppressions *sup = v->sup;
	for (unsigned i = 0; sup && i < sup->n; i++)
		fprintf(out, "  suppression leak:%s (%s:%u) matched %llu site(s), %llu bytes in %llu blocks\n",
			sup->s[i].pattern, sup->path, sup->s[i].line, (unsigned long long)sup->s[i].leaks,
			(unsigned long long)sup->s[i].bytes, (unsigned long long)sup->s[i].blocks);
	fprintf(out, "SUMMARY: heapsnap: %llu byte(s) leaked in %llu allocation(s) at %zu new site(s).\n",
		(unsigned long long)ci->failing_bytes, (unsigned long long)ci->failing_blocks, ci->failing);
}

/* ---- statistics --------------------------------------------------------------------- */

/* How many of n lines a text table shows: limit, 10 by default, 0 all. */
static long text_shown(long limit, long n)
{
	long l = limit >= 0 ? limit : 10;
	return l && l < n ? l : n;
}

/* "snapshot 2 "label" (1.500 s)", as a table's header names a heap. */
static void text_heap_head(FILE *out, const struct hs_heap *h)
{
	if (h->index >= 0 && !h->label[0])
		fprintf(out, "snapshot %d (%.3f s)", h->index, h->seconds);
	else if (h->index >= 0)
		fprintf(out, "snapshot %d \"%s\" (%.3f s)", h->index, h->label, h->seconds);
	else
		fprintf(out, "snapshot %s (%.3f s)", h->label, h->seconds);
}

/* tracemalloc's line: "key: size=N B (+D B), count=N (+D), average=N B";
 * with retained sizes, "key: retained=N B, size=...". */
static void text_stat_line(FILE *out, const struct hs_stat_line *l, int diff, int full, int retained)
{
	uint64_t avg = l->count ? l->size / l->count : 0;

	render_name(out, l->key, full);
	fputs(": ", out);
	if (retained)
		fprintf(out, "retained=%llu B, ", (unsigned long long)l->retained);
	fprintf(out, "size=%llu B", (unsigned long long)l->size);
	if (diff)
		fprintf(out, " (%+lld B)", (long long)l->size_diff);
	fprintf(out, ", count=%llu", (unsigned long long)l->count);
	if (diff)
		fprintf(out, " (%+lld)", (long long)l->count_diff);
	fprintf(out, ", average=%llu B\n", (unsigned long long)avg);
}

void render_text_top(FILE *out, const struct hs_top *v)
{
	long n = text_shown(v->limit, v->n);

	fprintf(out, "[ Top %ld %s%s%s ", n, hs_by_name(v->group->by), v->group->cumulative ? " (cumulative)" : "",
		v->retained ? " by retained size" : "");
	if (!v->heap) {
		fprintf(out, "by temporary allocations (freed before their thread allocated again)");
	} else {
		fprintf(out, "at ");
		text_heap_head(out, v->heap);
	}
	fprintf(out, "%s ]\n", v->ntraces > 1 ? ", traces added up" : "");
	for (long i = 0; i < n; i++)
		text_stat_line(out, &v->lines[i], 0, v->group->full_names, v->retained);
	fprintf(out, "Total: size=%llu B, count=%llu\n", (unsigned long long)v->size, (unsigned long long)v->count);
}

void render_text_diff(FILE *out, const struct hs_diff *v)
{
	long n = text_shown(v->limit, v->n);

	fprintf(out, "[ Top %ld differences by %s: ", n, hs_by_name(v->group->by));
	if (v->old_path)
		fprintf(out, "%s ", v->old_path);
	text_heap_head(out, v->from);
	fprintf(out, " -> ");
	if (v->new_path)
		fprintf(out, "%s ", v->new_path);
	text_heap_head(out, v->to);
	fprintf(out, " ]\n");
	for (long i = 0; i < n; i++)
		text_stat_line(out, &v->lines[i], 1, v->group->full_names, 0);
	fprintf(out, "Total: size=%llu B (%+lld B), count=%llu (%+lld)\n", (unsigned long long)v->size,
		(long long)(v->size - v->old_size), (unsigned long long)v->count, (long long)(v->count - v->old_count));
}

void render_text_growth(FILE *out, const struct hs_growth *v)
{
	long n = text_shown(v->limit, v->n);
	int ns = v->nsnaps;

	double share = v->share > 0 ? v->share : HS_GROWTH_SHARE;

	fprintf(out, "[ Growing across %d snapshots (in at least %.0f%% of the intervals once begun), by %s: %s ]\n", ns,
		100 * share, hs_by_name(v->group->by), v->path);
	for (long i = 0; i < n; i++) {
		const struct hs_stat_line *l = &v->lines[i];
		render_name(out, l->key, v->group->full_names);
		fprintf(out, ": size=%llu B (+%lld B, +%.0f B per snapshot, grew in %d of %d intervals):",
			(unsigned long long)l->size, (long long)l->size_diff,
			(double)l->size_diff / (l->intervals ? l->intervals : 1), l->grew, l->intervals);
		for (int s = 0; s < ns; s++)
			fprintf(out, " %llu", (unsigned long long)l->sizes[s]);
		fprintf(out, "\n");
	}
	if (!v->n)
		fprintf(out, "(no site grew)\n");
}

/* ---- retainers ---------------------------------------------------------------------- */

/* "+8" or "+0..+120". */
static void text_offsets(FILE *out, uint64_t lo, uint64_t hi)
{
	if (lo == hi)
		fprintf(out, "+%llu", (unsigned long long)lo);
	else
		fprintf(out, "+%llu..+%llu", (unsigned long long)lo, (unsigned long long)hi);
}

static const char *plural(uint64_t n)
{
	return n == 1 ? "" : "s";
}

/* One path: the chain on one line (root +off -> site +off -> ... ->
 * target site), then a line per hop with its blocks. */
static void text_path(FILE *out, const struct hs_retainer_path *p, size_t index)
{
	fprintf(out, "  path %zu: %llu block%s, %llu B:\n    %s ", index + 1, (unsigned long long)p->blocks,
		plural(p->blocks), (unsigned long long)p->bytes, p->root.name);
	for (int k = 0; k < p->nhops; k++) {
		const struct hs_retainer_hop *h = &p->hops[k];
		text_offsets(out, h->off_min, h->off_max);
		fprintf(out, " -> %s", h->site);
		if (k + 1 < p->nhops)
			fputc(' ', out);
	}
	fputc('\n', out);
	for (int k = 0; k < p->nhops; k++) {
		const struct hs_retainer_hop *h = &p->hops[k];
		fprintf(out, "      %s: %llu block%s, %llu B, retaining %llu B", h->site, (unsigned long long)h->blocks,
			plural(h->blocks), (unsigned long long)h->bytes, (unsigned long long)h->retained);
		if (h->depth > 1) {
			fprintf(out, "; chains of up to %llu, linked at ", (unsigned long long)h->depth);
			text_offsets(out, h->link_min, h->link_max);
		}
		fputc('\n', out);
	}
}

void render_text_retainers(FILE *out, struct hs_trace *t, const struct hs_retainers *r,
			   const struct hs_retainers_view *v)
{
	char where[256];

	fprintf(out, "[ Retainers at %s of %s: %s ]\n",
		render_scan_where(t, r->snapshot, r->reason, r->ts, where, sizeof(where)), t->path,
		v && v->question ? v->question : "");
	if (!r->ntargets)
		fprintf(out, "(no block at this scan matches)\n");
	for (size_t i = 0; i < r->ntargets; i++) {
		const struct hs_retainer_target *tg = &r->targets[i];
		fprintf(out, "\n%s", tg->key);
		if (strcmp(tg->key, tg->site))
			fprintf(out, " (%s)", tg->site);
		fprintf(out, ": %llu block%s, %llu B, retaining %llu B\n", (unsigned long long)tg->blocks, plural(tg->blocks),
			(unsigned long long)tg->bytes, (unsigned long long)tg->retained);
		if (tg->nsizes) {
			fprintf(out, "  grew:");
			for (int k = 0; k < tg->nsizes; k++)
				fprintf(out, " %llu", (unsigned long long)tg->sizes[k]);
			fprintf(out, " B at the snapshots\n");
		}
		for (size_t k = 0; k < tg->npaths; k++)
			text_path(out, &tg->paths[k], k);
		if (tg->more_paths)
			fprintf(out, "  ... %llu more path%s: %llu block%s, %llu B (--max-paths)\n",
				(unsigned long long)tg->more_paths, plural(tg->more_paths),
				(unsigned long long)tg->more_blocks, plural(tg->more_blocks),
				(unsigned long long)tg->more_bytes);
		if (tg->leaked_blocks)
			fprintf(out, "  %llu block%s, %llu B: no root reaches them (leaked: heapsnap leaks --snapshot)\n",
				(unsigned long long)tg->leaked_blocks, plural(tg->leaked_blocks),
				(unsigned long long)tg->leaked_bytes);
	}
}

void hs_render_folded(FILE *out, const struct hs_stat_line *l, long n)
{
	for (long i = 0; i < n; i++)
		fprintf(out, "%s %llu\n", l[i].key, (unsigned long long)l[i].size);
}
