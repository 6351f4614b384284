/*
 * render_json.c - the JSON reports, for scripts: the versioned schemas of
 * heapsnap(1) ("JSON output of ..."), whose core DESIGN.md fixes.
 */
#include "analyze/render.h"

#include <string.h>

#include "trace/format.h"
#include "util/json.h"

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
	fprintf(out, ", \"recovered_events\": %llu, \"dropped_events\": %llu, \"lost_events\": %llu",
		(unsigned long long)t->recovered, (unsigned long long)t->dropped, (unsigned long long)t->lost);
	if (t->ended)
		fprintf(out, ", \"end\": {\"reason\": \"%s\", \"status\": %lld}", hs_end_name(t->end_reason),
			(long long)t->end_status);
	fprintf(out, ", \"duration\": %.6f, \"events\": {", in->last_ts ? render_seconds(t, in->last_ts) : 0.0);
	for (unsigned k = 1; k < HS_EVENT_KINDS; k++)
		fprintf(out, "%s\"%s\": %llu", k > 1 ? ", " : "", hs_event_name(k), (unsigned long long)in->events[k]);
	fprintf(out, "}, \"total_events\": %llu, \"temporary\": %llu, \"unknown_frees\": %llu",
		(unsigned long long)in->total_events, (unsigned long long)in->temporary,
		(unsigned long long)in->unknown_frees);
	fprintf(out, ", \"live\": {\"bytes\": %llu, \"blocks\": %llu}", (unsigned long long)in->live_bytes,
		(unsigned long long)in->live_blocks);
	fprintf(out, ", \"peak\": {\"bytes\": %llu, \"blocks\": %llu, \"time\": %.6f}",
		(unsigned long long)in->peak_bytes, (unsigned long long)in->peak_blocks, render_seconds(t, in->peak_ts));
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
			", \"scan\": {\"reason\": \"%s\", \"complete\": %s, \"count\": %d, \"blocks\": %llu, \"edges\": "
			"%llu, \"bytes\": %llu, \"seconds\": %.6f, \"threads_stopped\": %llu, \"threads_missed\": %llu}",
			hs_scan_reason_name(in->scan_reason), in->scan_complete ? "true" : "false", in->scans,
			(unsigned long long)in->scan_blocks,
			(unsigned long long)in->scan_edges, (unsigned long long)in->scan_bytes,
			(double)in->scan_ns / 1e9, (unsigned long long)in->scan_stopped,
			(unsigned long long)in->scan_missed);
	fprintf(out, ", \"snapshots\": [");
	for (size_t i = 0; i < t->nsnapshots; i++) {
		fprintf(out, "%s{\"index\": %u, \"label\": ", i ? ", " : "", t->snapshots[i].index);
		json_cstr(out, t->snapshots[i].label);
		fprintf(out, ", \"time\": %.6f, \"trigger\": \"%s\", \"scanned\": %s}", render_seconds(t, t->snapshots[i].ts),
			hs_trigger_name(t->snapshots[i].trigger), t->snapshots[i].scanned ? "true" : "false");
	}
	fprintf(out, "]}");
}

/* ---- stacks, loss records, leak summaries ------------------------------------- */

void render_json_stack(FILE *out, const struct hs_stack *s)
{
	fputs("[", out);
	for (int i = 0; i < s->n; i++) {
		const struct hs_frame *f = &s->frames[i];
		fprintf(out, "%s{\"function\": ", i ? ", " : "");
		json_opt_str(out, f->function);
		fputs(", \"file\": ", out);
		json_opt_str(out, f->file);
		fprintf(out, ", \"line\": %u, \"module\": ", f->line);
		json_opt_str(out, f->module);
		fprintf(out, ", \"address\": \"0x%llx\", \"offset\": \"0x%llx\", \"inlined\": %s",
			f->python ? 0ull : (unsigned long long)f->ip, (unsigned long long)f->offset,
			f->inlined ? "true" : "false");
		fprintf(out, "%s%s}", f->python ? ", \"python\": true" : "",
			f->approximate ? ", \"approximate\": true" : "");
	}
	fputs("]", out);
}

/* A loss record: kind, blocks, bytes, site and stack; a CI site adds
 * whether it is new and its signature. */
static void json_record(FILE *out, struct hs_trace *t, const struct hs_loss_record *rec,
			const struct hs_ci_site *ci)
{
	char site[512];

	fprintf(out, "{\"kind\": \"%s\", \"blocks\": %llu, \"bytes\": %llu, ", hs_leak_kind_name(rec->kind),
		(unsigned long long)rec->blocks, (unsigned long long)rec->bytes);
	if (ci)
		fprintf(out, "\"new\": %s, ", ci->in_baseline ? "false" : "true");
	fputs("\"site\": ", out);
	json_cstr(out, hs_trace_site(t, rec->stack, site, sizeof(site)));
	if (ci) {
		fputs(", \"signature\": ", out);
		json_cstr(out, ci->signature);
	}
	fputs(", \"stack\": ", out);
	render_json_stack(out, hs_trace_stack(t, rec->stack));
	fputs("}", out);
}

/* {"definite": {"blocks", "bytes"}, ..., "suppressed": {...}} */
static void json_summary(FILE *out, const uint64_t total[HS_LEAK_KINDS][2], const uint64_t suppressed[2])
{
	fputs("{", out);
	for (int k = HS_DEFINITE; k >= HS_REACHABLE; k--)
		fprintf(out, "\"%s\": {\"blocks\": %llu, \"bytes\": %llu}, ", hs_leak_kind_name(k),
			(unsigned long long)total[k][0], (unsigned long long)total[k][1]);
	fprintf(out, "\"suppressed\": {\"blocks\": %llu, \"bytes\": %llu}}", (unsigned long long)suppressed[0],
		(unsigned long long)suppressed[1]);
}

/* The suppressions with what they matched; none as []. */
static void json_suppressions(FILE *out, const struct hs_suppressions *sup)
{
	fputs("[", out);
	for (unsigned i = 0; sup && i < sup->n; i++) {
		fprintf(out, "%s{\"pattern\": ", i ? ", " : "");
		json_cstr(out, sup->s[i].pattern);
		fprintf(out, ", \"line\": %u, \"leaks\": %llu, \"blocks\": %llu, \"bytes\": %llu}", sup->s[i].line,
			(unsigned long long)sup->s[i].leaks, (unsigned long long)sup->s[i].blocks,
			(unsigned long long)sup->s[i].bytes);
	}
	fputs("]", out);
}

static void json_cycles(FILE *out, struct hs_trace *t)
{
	const struct hs_leaks *l = &t->leaks;
	char site[512];

	fputs("[", out);
	for (long i = 0; i < l->ncycles; i++) {
		const struct hs_cycle *c = &l->cycles[i];
		fprintf(out, "%s{\"blocks\": %u, \"bytes\": %llu, \"members\": [", i ? ", " : "", c->n,
			(unsigned long long)c->bytes);
		for (uint32_t k = 0; k < c->n; k++) {
			const struct hs_cycle_member *m = &c->members[k];
			fprintf(out, "%s{\"index\": %u, \"address\": \"0x%llx\", \"size\": %llu, \"kind\": \"%s\", \"site\": ",
				k ? ", " : "", k, (unsigned long long)m->addr, (unsigned long long)m->size,
				hs_leak_kind_name(m->kind));
			json_cstr(out, hs_trace_site(t, m->stack, site, sizeof(site)));
			fputs(", \"stack\": ", out);
			render_json_stack(out, hs_trace_stack(t, m->stack));
			fputs("}", out);
		}
		fputs("], \"edges\": [", out);
		for (uint32_t e = 0; e < c->nedges; e++)
			fprintf(out, "%s{\"from\": %u, \"offset\": %u, \"to\": %u}", e ? ", " : "", c->edges[e].from,
				c->edges[e].offset, c->edges[e].to);
		fputs("]}", out);
	}
	fputs("]", out);
}

/* One trace's leak report; sup (the suppressions and their counts) goes
 * in it when it is the only one, else at the top level. */
static void json_leaks_one(FILE *out, struct hs_trace *t, const struct hs_leaks_view *v, int with_sup)
{
	const struct hs_leaks *l = &t->leaks;

	fprintf(out, "{\"schema\": 1, \"trace\": ");
	json_cstr(out, t->path);
	fprintf(out, ", \"pid\": %u, \"exe\": ", t->pid);
	json_cstr(out, t->exe);
	fprintf(out, ", \"scanned\": %s, \"summary\": ", l->scanned ? "true" : "false");
	json_summary(out, l->total, l->suppressed);
	fputs(", \"leaks\": [", out);
	int first = 1;
	for (uint64_t i = 0; !v->cycles_only && i < l->nrecords; i++) {
		const struct hs_loss_record *rec = &l->records[i];
		if (!(v->kinds & (1u << rec->kind)) || rec->suppressed >= 0)
			continue;
		fputs(first ? "" : ", ", out);
		json_record(out, t, rec, NULL);
		first = 0;
	}
	fputs("], \"cycles\": ", out);
	json_cycles(out, t);
	fprintf(out,
		", \"scan\": {\"blocks\": %llu, \"edges\": %llu, \"roots\": %u, \"threads_stopped\": %llu, "
		"\"threads_missed\": %llu, \"reason\": \"%s\", \"snapshot\": ",
		(unsigned long long)l->scan_blocks, (unsigned long long)l->scan_edges, l->scan_roots,
		(unsigned long long)l->threads_stopped, (unsigned long long)l->threads_missed,
		l->scanned ? hs_scan_reason_name(l->scan_reason) : "none");
	if (l->scanned && l->scan_snapshot >= 0)
		fprintf(out, "%lld", (long long)l->scan_snapshot);
	else
		fputs("null", out);
	fprintf(out, ", \"time\": %.6f, \"seconds\": %.6f}", l->scanned ? render_seconds(t, l->scan_ts) : 0.0,
		(double)l->scan_ns / 1e9);
	if (with_sup) {
		fputs(", \"suppressions\": ", out);
		json_suppressions(out, v->sup);
	}
	fputs("}", out);
}

void render_json_leaks_head(FILE *out, int n, const uint64_t total[HS_LEAK_KINDS][2], const uint64_t suppressed[2],
			    const struct hs_leaks_view *v)
{
	if (n > 1) {
		fputs("{\"schema\": 1, \"summary\": ", out);
		json_summary(out, total, suppressed);
		fputs(", \"suppressions\": ", out);
		json_suppressions(out, v->sup);
		fputs(", \"traces\": [", out);
	}
}

void render_json_leaks_one(FILE *out, struct hs_trace *t, int i, int n, const struct hs_leaks_view *v)
{
	fputs(i ? ", " : "", out);
	json_leaks_one(out, t, v, n == 1);
}

void render_json_leaks_end(FILE *out, int n)
{
	fputs(n > 1 ? "]}\n" : "\n", out);
}

void render_json_leaks(FILE *out, struct hs_trace *const *t, int n, const struct hs_leaks_view *v)
{
	uint64_t total[HS_LEAK_KINDS][2], suppressed[2];

	hs_leaks_sum(t, n, total, suppressed);
	render_json_leaks_head(out, n, total, suppressed, v);
	for (int i = 0; i < n; i++)
		render_json_leaks_one(out, t[i], i, n, v);
	render_json_leaks_end(out, n);
}

/* ---- check ---------------------------------------------------------------------- */

void render_json_check(FILE *out, const struct hs_ci *ci, const struct hs_check_view *v)
{
	fprintf(out, "{\"schema\": 1, \"tool\": \"heapsnap check\", \"fail_on\": \"");
	render_kinds_list(out, v->fail_on);
	fprintf(out,
		"\", \"program_status\": %d, \"exit_code\": %d, \"failing\": {\"sites\": %zu, \"blocks\": %llu, "
		"\"bytes\": %llu}, \"processes\": [",
		v->program_status, v->exit_code, ci->failing, (unsigned long long)ci->failing_blocks,
		(unsigned long long)ci->failing_bytes);
	for (int i = 0; i < ci->ntraces; i++) {
		struct hs_trace *t = ci->traces[i];
		fprintf(out, "%s{\"pid\": %u, \"ppid\": %u, \"exe\": ", i ? ", " : "", t->pid, t->ppid);
		json_cstr(out, render_exe(t));
		fprintf(out, ", \"trace\": ");
		if (v->show_traces)
			json_cstr(out, t->path);
		else
			fputs("null", out); /* check removed it */
		fprintf(out, ", \"scanned\": %s, \"summary\": ", t->leaks.scanned ? "true" : "false");
		json_summary(out, t->leaks.total, t->leaks.suppressed);
		fprintf(out, ", \"cycles\": %ld, \"leaks\": [", t->leaks.ncycles);
		int first = 1;
		for (size_t k = 0; k < ci->nsites; k++) {
			const struct hs_ci_site *s = &ci->sites[k];
			if (s->trace != t)
				continue;
			fputs(first ? "" : ", ", out);
			json_record(out, t, s->rec, s);
			first = 0;
		}
		fputs("]}", out);
	}
	fputs("], \"suppressions\": ", out);
	json_suppressions(out, v->sup);
	fputs("}\n", out);
}

/* ---- statistics --------------------------------------------------------------------- */

/* How many of n lines JSON shows: limit, all by default or 0. */
static long json_shown(long limit, long n)
{
	return limit > 0 && limit < n ? limit : n;
}

/* {"index", "label", "time"}: where a heap was taken. */
static void json_heap(FILE *out, const struct hs_heap *h)
{
	fprintf(out, "{\"index\": %d, \"label\": ", h->index);
	json_cstr(out, h->label);
	fprintf(out, ", \"time\": %.6f}", h->seconds);
}

/* The "stats" array: key, size, count, average (and the differences, or
 * the retained bytes). */
static void json_stat_lines(FILE *out, const struct hs_stat_line *l, long n, int diff, int retained)
{
	fputs("[", out);
	for (long i = 0; i < n; i++) {
		fprintf(out, "%s{\"key\": ", i ? ", " : "");
		json_cstr(out, l[i].key);
		fprintf(out, ", \"size\": %llu, \"count\": %llu, \"average\": %llu", (unsigned long long)l[i].size,
			(unsigned long long)l[i].count, (unsigned long long)(l[i].count ? l[i].size / l[i].count : 0));
		if (diff)
			fprintf(out, ", \"size_diff\": %lld, \"count_diff\": %lld", (long long)l[i].size_diff,
				(long long)l[i].count_diff);
		if (retained)
			fprintf(out, ", \"retained\": %llu", (unsigned long long)l[i].retained);
		fputs("}", out);
	}
	fputs("]", out);
}

void render_json_top(FILE *out, const struct hs_top *v)
{
	if (!v->heap) {
		fputs("{\"schema\": 1, \"temporary\": true", out);
	} else {
		fputs("{\"schema\": 1, \"snapshot\": ", out);
		json_heap(out, v->heap);
	}
	fprintf(out, ", \"traces\": %d, \"by\": \"%s\", \"cumulative\": %s%s, \"stats\": ", v->ntraces,
		hs_by_name(v->group->by), v->group->cumulative ? "true" : "false", v->retained ? ", \"retained\": true" : "");
	json_stat_lines(out, v->lines, json_shown(v->limit, v->n), 0, v->retained);
	fprintf(out, ", \"total\": {\"size\": %llu, \"count\": %llu}}\n", (unsigned long long)v->size,
		(unsigned long long)v->count);
}

void render_json_diff(FILE *out, const struct hs_diff *v)
{
	fputs("{\"schema\": 1, \"from\": ", out);
	json_heap(out, v->from);
	fputs(", \"to\": ", out);
	json_heap(out, v->to);
	if (v->old_path) {
		fputs(", \"old\": ", out);
		json_cstr(out, v->old_path);
		fputs(", \"new\": ", out);
		json_cstr(out, v->new_path);
	}
	fprintf(out, ", \"by\": \"%s\", \"cumulative\": %s, \"stats\": ", hs_by_name(v->group->by),
		v->group->cumulative ? "true" : "false");
	json_stat_lines(out, v->lines, json_shown(v->limit, v->n), 1, 0);
	fprintf(out, ", \"total\": {\"size\": %llu, \"count\": %llu, \"size_diff\": %lld, \"count_diff\": %lld}}\n",
		(unsigned long long)v->size, (unsigned long long)v->count, (long long)(v->size - v->old_size),
		(long long)(v->count - v->old_count));
}

void render_json_growth(FILE *out, const struct hs_growth *v)
{
	int ns = v->nsnaps;

	fputs("{\"schema\": 1, \"trace\": ", out);
	json_cstr(out, v->path);
	fprintf(out, ", \"by\": \"%s\", \"share\": %.3f, \"snapshots\": [", hs_by_name(v->group->by),
		v->share > 0 ? v->share : HS_GROWTH_SHARE);
	for (int s = 0; s < ns; s++) {
		fputs(s ? ", " : "", out);
		json_heap(out, &v->snaps[s]);
	}
	fputs("], \"growth\": [", out);
	for (long i = 0; i < json_shown(v->limit, v->n); i++) {
		const struct hs_stat_line *l = &v->lines[i];
		fprintf(out, "%s{\"key\": ", i ? ", " : "");
		json_cstr(out, l->key);
		fputs(", \"sizes\": [", out);
		for (int s = 0; s < ns; s++)
			fprintf(out, "%s%llu", s ? ", " : "", (unsigned long long)l->sizes[s]);
		fprintf(out, "], \"growth\": %lld, \"growth_per_snapshot\": %.1f, \"grew\": %d, \"intervals\": %d}",
			(long long)l->size_diff, (double)l->size_diff / (l->intervals ? l->intervals : 1), l->grew,
			l->intervals);
	}
	fputs("]}\n", out);
}

/* ---- retainers ---------------------------------------------------------------------- */

static void json_root(FILE *out, const struct hs_root_ref *r)
{
	fprintf(out, "{\"kind\": \"%s\", \"name\": ", render_root_kind(r->kind));
	json_cstr(out, r->name);
	fputs(", \"symbol\": ", out);
	json_opt_str(out, r->symbol);
	fputs(", \"module\": ", out);
	json_opt_str(out, r->module);
	fputs(", \"section\": ", out);
	json_opt_str(out, r->section);
	fputs(", \"function\": ", out);
	json_opt_str(out, r->function);
	fprintf(out, ", \"thread\": %u, \"address\": \"0x%llx\", \"offset\": %llu}", r->thread,
		(unsigned long long)r->address, (unsigned long long)r->offset);
}

static void json_hop(FILE *out, const struct hs_retainer_hop *h)
{
	fputs("{\"site\": ", out);
	json_cstr(out, h->site);
	fprintf(out,
		", \"offset\": {\"min\": %llu, \"max\": %llu}, \"depth\": %llu, \"blocks\": %llu, \"bytes\": %llu, "
		"\"retained\": %llu, \"link\": ",
		(unsigned long long)h->off_min, (unsigned long long)h->off_max, (unsigned long long)h->depth,
		(unsigned long long)h->blocks, (unsigned long long)h->bytes, (unsigned long long)h->retained);
	if (h->depth > 1)
		fprintf(out, "{\"min\": %llu, \"max\": %llu}", (unsigned long long)h->link_min,
			(unsigned long long)h->link_max);
	else
		fputs("null", out);
	if (h->addrs) {
		fputs(", \"addresses\": [", out);
		for (uint64_t i = 0; i < h->naddrs; i++)
			fprintf(out, "%s\"0x%llx\"", i ? ", " : "", (unsigned long long)h->addrs[i]);
		fputs("]", out);
	}
	fputs("}", out);
}

static void json_target(FILE *out, struct hs_trace *t, const struct hs_retainer_target *tg)
{
	fputs("{\"key\": ", out);
	json_cstr(out, tg->key);
	fputs(", \"site\": ", out);
	json_cstr(out, tg->site);
	fputs(", \"stack\": ", out);
	render_json_stack(out, hs_trace_stack(t, tg->stack));
	fprintf(out, ", \"blocks\": %llu, \"bytes\": %llu, \"retained\": %llu, \"address\": ",
		(unsigned long long)tg->blocks, (unsigned long long)tg->bytes, (unsigned long long)tg->retained);
	if (tg->address)
		fprintf(out, "\"0x%llx\"", (unsigned long long)tg->address);
	else
		fputs("null", out);
	fputs(", \"sizes\": ", out);
	if (tg->nsizes) {
		for (int k = 0; k < tg->nsizes; k++)
			fprintf(out, "%s%llu", k ? ", " : "[", (unsigned long long)tg->sizes[k]);
		fputs("]", out);
	} else {
		fputs("null", out);
	}
	fprintf(out, ", \"leaked\": {\"blocks\": %llu, \"bytes\": %llu}, \"paths\": [",
		(unsigned long long)tg->leaked_blocks, (unsigned long long)tg->leaked_bytes);
	for (size_t i = 0; i < tg->npaths; i++) {
		const struct hs_retainer_path *p = &tg->paths[i];
		fprintf(out, "%s{\"blocks\": %llu, \"bytes\": %llu, \"root\": ", i ? ", " : "",
			(unsigned long long)p->blocks, (unsigned long long)p->bytes);
		json_root(out, &p->root);
		fputs(", \"hops\": [", out);
		for (int k = 0; k < p->nhops; k++) {
			fputs(k ? ", " : "", out);
			json_hop(out, &p->hops[k]);
		}
		fputs("]}", out);
	}
	fprintf(out, "], \"more_paths\": {\"paths\": %llu, \"blocks\": %llu, \"bytes\": %llu}}",
		(unsigned long long)tg->more_paths, (unsigned long long)tg->more_blocks, (unsigned long long)tg->more_bytes);
}

void render_json_retainers(FILE *out, struct hs_trace *t, const struct hs_retainers *r,
			   const struct hs_retainers_view *v)
{
	fputs("{\"schema\": 1, \"trace\": ", out);
	json_cstr(out, t->path);
	fprintf(out, ", \"pid\": %u, \"exe\": ", t->pid);
	json_cstr(out, t->exe);
	fputs(", \"question\": ", out);
	json_cstr(out, v && v->question ? v->question : "");
	fprintf(out, ", \"scan\": {\"reason\": \"%s\", \"snapshot\": ", hs_scan_reason_name(r->reason));
	if (r->snapshot >= 0)
		fprintf(out, "%lld", (long long)r->snapshot);
	else
		fputs("null", out);
	fprintf(out, ", \"time\": %.6f, \"blocks\": %llu, \"bytes\": %llu}, \"targets\": [", render_seconds(t, r->ts),
		(unsigned long long)r->blocks, (unsigned long long)r->bytes);
	for (size_t i = 0; i < r->ntargets; i++) {
		fputs(i ? ", " : "", out);
		json_target(out, t, &r->targets[i]);
	}
	fputs("]}\n", out);
}
