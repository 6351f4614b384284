/*
 * render_html.c - a report (report.h) as one self-contained HTML page: the
 * template of tools/report/ with its CSS, the model as JSON and the
 * scripts inlined.  Nothing is loaded from anywhere when the page opens
 * (its Content-Security-Policy forbids it).  tools/report/model.md is the
 * JSON's shape.
 */
#define _GNU_SOURCE
#include "analyze/report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/hashmap.h"
#include "util/json.h"

extern const char hs_report_html[], hs_report_css[], hs_report_js_util[], hs_report_js_chart[],
	hs_report_js_flame[], hs_report_js_tables[], hs_report_js_leaks[], hs_report_js_main[];

static void jstr(FILE *f, const char *s)
{
	if (s)
		json_str_html(f, s, strlen(s));
	else
		fputs("null", f);
}

static void jkey(FILE *f, const char *k)
{
	fprintf(f, ", \"%s\": ", k);
}

static void ju(FILE *f, const char *k, uint64_t v)
{
	fprintf(f, ", \"%s\": %llu", k, (unsigned long long)v);
}

static double secs(const struct hs_trace *t, uint64_t ts)
{
	return ts > t->t0 ? (double)(ts - t->t0) / 1e9 : 0.0;
}

/* "exit, status 0" or NULL. */
static const char *end_text(const struct hs_trace *t, char *buf, size_t cap)
{
	if (!t->ended)
		return NULL;
	if (t->end_status >= 0)
		snprintf(buf, cap, "%s, status %lld", hs_end_name(t->end_reason), (long long)t->end_status);
	else
		snprintf(buf, cap, "%s", hs_end_name(t->end_reason));
	return buf;
}

static void traces(FILE *f, const struct hs_report *r)
{
	char buf[64];

	fputs("[", f);
	for (int k = 0; k < r->ntraces; k++) {
		const struct hs_trace *t = r->t[k];
		fprintf(f, "%s{\"path\": ", k ? ", " : "");
		jstr(f, t->path);
		fprintf(f, ", \"pid\": %u, \"ppid\": %u, \"exe\": ", t->pid, t->ppid);
		jstr(f, t->exe);
		jkey(f, "cmdline");
		jstr(f, t->cmdline);
		fprintf(f, ", \"duration\": %.6f, \"end\": ", secs(t, t->info.last_ts));
		jstr(f, end_text(t, buf, sizeof(buf)));
		fprintf(f, ", \"truncated\": %s, \"truncation\": ", t->truncated ? "true" : "false");
		jstr(f, t->truncated ? t->truncation : NULL);
		ju(f, "events", t->info.total_events);
		fputs(", \"by_kind\": {", f);
		for (unsigned e = 1; e < HS_EVENT_KINDS; e++)
			fprintf(f, "%s\"%s\": %llu", e > 1 ? ", " : "", hs_event_name(e), (unsigned long long)t->info.events[e]);
		fputs("}", f);
		ju(f, "threads", t->info.nthreads);
		ju(f, "stacks", t->info.stacks);
		ju(f, "allocations", t->timeline.allocations);
		ju(f, "temporary", t->info.temporary);
		fprintf(f, ", \"peak\": {\"bytes\": %llu, \"blocks\": %llu, \"time\": %.6f}",
			(unsigned long long)t->info.peak_bytes, (unsigned long long)t->info.peak_blocks,
			secs(t, t->info.peak_ts));
		fprintf(f, ", \"live\": {\"bytes\": %llu, \"blocks\": %llu}}", (unsigned long long)t->info.live_bytes,
			(unsigned long long)t->info.live_blocks);
	}
	fputs("]", f);
}

/* The summary adds the traces up; the peak is the largest process's, the
 * duration and end the first trace's (the process the command started). */
static void summary(FILE *f, const struct hs_report *r)
{
	const struct hs_trace *t = r->t[0], *pk = r->t[0];
	uint64_t events = 0, live_b = 0, live_n = 0, allocs = 0, temporary = 0;
	int truncated = 0;
	char buf[64];

	for (int k = 0; k < r->ntraces; k++) {
		const struct hs_trace *tk = r->t[k];
		events += tk->info.total_events;
		live_b += tk->info.live_bytes;
		live_n += tk->info.live_blocks;
		allocs += tk->timeline.allocations;
		temporary += tk->info.temporary;
		truncated |= tk->truncated;
		if (tk->info.peak_bytes > pk->info.peak_bytes)
			pk = tk;
		if (tk->truncated && !t->truncated)
			t = tk; /* its truncation is the one to say */
	}
	fprintf(f, "{\"duration\": %.6f, \"end\": ", secs(r->t[0], r->t[0]->info.last_ts));
	jstr(f, end_text(r->t[0], buf, sizeof(buf)) ? buf : "no END record");
	ju(f, "events", events);
	ju(f, "allocations", allocs);
	ju(f, "temporary", temporary);
	fprintf(f, ", \"peak\": {\"bytes\": %llu, \"blocks\": %llu, \"time\": %.6f, \"pid\": %u}",
		(unsigned long long)pk->info.peak_bytes, (unsigned long long)pk->info.peak_blocks,
		secs(pk, pk->info.peak_ts), pk->pid);
	fprintf(f, ", \"live\": {\"bytes\": %llu, \"blocks\": %llu}", (unsigned long long)live_b,
		(unsigned long long)live_n);
	fprintf(f, ", \"truncated\": %s, \"truncation\": ", truncated ? "true" : "false");
	jstr(f, t->truncated ? t->truncation : NULL);
	fprintf(f, ", \"scanned\": %s, \"scan_note\": ", r->scanned ? "true" : "false");
	jstr(f, r->scanned ? NULL
	     : truncated   ? (r->ntraces > 1 ? "the traces are truncated, or exec'ed, or ran with --no-scan"
					      : "the trace is truncated: the process died before its exit scan")
			   : (r->ntraces > 1 ? "the processes exec'ed, or ran with --no-scan"
					      : "the process exec'ed, or ran with --no-scan"));
	fputs(", \"leaks\": {", f);
	for (int c = HS_DEFINITE; c >= HS_REACHABLE; c--)
		fprintf(f, "%s\"%s\": {\"blocks\": %llu, \"bytes\": %llu}", c == HS_DEFINITE ? "" : ", ", hs_leak_kind_name(c),
			(unsigned long long)r->leak_total[c][0], (unsigned long long)r->leak_total[c][1]);
	fprintf(f, "}, \"suppressed\": {\"blocks\": %llu, \"bytes\": %llu, \"records\": %llu}",
		(unsigned long long)r->suppressed[0], (unsigned long long)r->suppressed[1],
		(unsigned long long)r->suppressed_records);
	fprintf(f, ", \"cycles\": {\"count\": %llu, \"blocks\": %llu, \"bytes\": %llu}}", (unsigned long long)r->cycles,
		(unsigned long long)r->cycle_blocks, (unsigned long long)r->cycle_bytes);
}

/* Bucket start times of s, seconds since the trace began at t0. */
static void array_times(FILE *f, const struct hs_series *s, uint64_t t0)
{
	fputs("[", f);
	for (uint32_t i = 0; i < s->n; i++)
		fprintf(f, "%s%.6f", i ? "," : "", (double)(s->t0 + i * s->width - t0) / 1e9);
	fputs("]", f);
}

static void array_u64(FILE *f, const uint64_t *v, size_t n, size_t stride)
{
	fputs("[", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%llu", i ? "," : "", (unsigned long long)v[i * stride]);
	fputs("]", f);
}

static void series(FILE *f, const struct hs_trace *t)
{
	const struct hs_timeline *tl = &t->timeline;

	fprintf(f, "{\"bucket\": %.6f, \"t\": ", (double)tl->heap.width / 1e9);
	array_times(f, &tl->heap, t->t0);
	jkey(f, "heap_min");
	array_u64(f, tl->heap.min, tl->heap.n, 1);
	jkey(f, "heap_max");
	array_u64(f, tl->heap.max, tl->heap.n, 1);
	fprintf(f, ", \"rss_bucket\": %.6f, \"rss_t\": ", (double)tl->rss.width / 1e9);
	array_times(f, &tl->rss, t->t0);
	jkey(f, "rss_min");
	array_u64(f, tl->rss.min, tl->rss.n, 1);
	jkey(f, "rss_max");
	array_u64(f, tl->rss.max, tl->rss.n, 1);
	fputs("}", f);
}

static void points(FILE *f, const struct report_proc *pr)
{
	fputs("[", f);
	for (int i = 0; i < pr->npoints; i++) {
		const struct report_point *p = &pr->points[i];
		fprintf(f, "%s{\"kind\": \"%s\", \"index\": %d, \"label\": ", i ? ", " : "", p->kind, p->index);
		jstr(f, p->label);
		fprintf(f, ", \"time\": %.6f}", p->time);
	}
	fputs("]", f);
}

static void frames(FILE *f, const struct hs_report *r)
{
	fputs("[", f);
	for (uint32_t i = 0; i < r->nframes; i++) {
		const struct report_frame *fr = &r->frames[i];
		fputs(i ? ",\n[" : "[", f);
		jstr(f, fr->function);
		fputs(",", f);
		jstr(f, fr->file);
		fprintf(f, ",%u,", fr->line);
		jstr(f, fr->module);
		fprintf(f, ",%d]", fr->inlined ? 1 : 0);
	}
	fputs("]", f);
}

/*
 * The stacks as a tree of their frames from the outermost in: node i is
 * [parent node (-1: none), frame], written flat as stack_nodes, and each
 * stack is the node of its allocation site.  Stacks share their callers'
 * frames (a C program's main, an interpreter's loop), so the tree is a
 * fraction of the stacks written out.  Return 0 or -ENOMEM.
 */
static int stacks(FILE *f, const struct hs_report *r)
{
	struct hashmap child;	/* (parent + 1) << 32 | frame -> node + 1 */
	int64_t *leaf = calloc(r->nstacks + 1, sizeof(*leaf));
	uint64_t nodes = 0;

	if (!leaf || hashmap_init(&child, 1024)) {
		free(leaf);
		return -ENOMEM;
	}
	fputs("\"stack_nodes\": [", f);
	for (uint32_t i = 0; i < r->nstacks; i++) {
		int64_t node = -1;
		for (uint32_t k = r->stack_depth[i]; k-- > 0;) {
			uint64_t key = ((uint64_t)(node + 1) << 32 | r->stacks[i][k]) + 1;
			uint64_t *v = hashmap_get(&child, key);
			if (v) {
				node = (int64_t)*v - 1;
				continue;
			}
			if (hashmap_put(&child, key, nodes + 1)) {
				hashmap_free(&child);
				free(leaf);
				return -ENOMEM;
			}
			fprintf(f, "%s%lld,%u", nodes ? "," : "", (long long)node, r->stacks[i][k]);
			node = (int64_t)nodes++;
		}
		leaf[i] = node;
	}
	fputs("],\n\"stacks\": [", f);
	for (uint32_t i = 0; i < r->nstacks; i++)
		fprintf(f, "%s%lld", i ? "," : "", (long long)leaf[i]);
	fputs("]", f);
	hashmap_free(&child);
	free(leaf);
	return 0;
}

static void prof(FILE *f, const struct report_profile *p)
{
	fputs("[", f);
	for (uint32_t i = 0; i < 3 * p->n; i++)
		fprintf(f, "%s%lld", i ? "," : "", (long long)p->v[i]);
	fputs("]", f);
}

static void tables(FILE *f, const struct report_proc *pr)
{
	size_t np = (size_t)pr->npoints;

	fputs("{", f);
	for (int g = 0; g < REPORT_GROUPINGS; g++) {
		const struct report_table *t = &pr->tables[g];
		fprintf(f, "%s\"%s\": {\"keys\": [", g ? ", " : "", stats_by_names[g]);
		for (uint32_t k = 0; k < t->nkeys; k++) {
			fputs(k ? "," : "", f);
			jstr(f, t->keys[k]);
		}
		fputs("], \"size\": [", f);
		for (uint32_t k = 0; k < t->nkeys; k++) {
			fputs(k ? "," : "", f);
			array_u64(f, t->size + k * np, np, 1);
		}
		fputs("], \"count\": [", f);
		for (uint32_t k = 0; k < t->nkeys; k++) {
			fputs(k ? "," : "", f);
			array_u64(f, t->count + k * np, np, 1);
		}
		fputs("]}", f);
	}
	fputs("}", f);
}

/* [{key, size, count[, size_diff, count_diff][, sizes]}] */
static void line_array(FILE *f, const struct report_lines *l, int diff, int nsizes)
{
	fputs("[", f);
	for (uint32_t i = 0; i < l->n; i++) {
		const struct report_line *x = &l->l[i];
		fputs(i ? ",\n{\"key\": " : "{\"key\": ", f);
		jstr(f, x->key);
		ju(f, "size", x->size);
		ju(f, "count", x->count);
		if (diff)
			fprintf(f, ", \"size_diff\": %lld, \"count_diff\": %lld", (long long)x->size_diff,
				(long long)x->count_diff);
		if (nsizes) {
			jkey(f, "sizes");
			array_u64(f, x->sizes, (size_t)nsizes, 1);
		}
		fputs("}", f);
	}
	fputs("]", f);
}

/* {total, lines} */
static void lines(FILE *f, const struct report_lines *l)
{
	fprintf(f, "{\"total\": %llu, \"lines\": ", (unsigned long long)l->total);
	line_array(f, l, 0, 0);
	fputs("}", f);
}

static void growth(FILE *f, const struct report_proc *pr)
{
	fputs("{\"points\": [", f);
	for (int i = 0; i < pr->ngrowth_snaps; i++) {
		const struct report_snap *s = &pr->growth_snaps[i];
		fprintf(f, "%s{\"index\": %d, \"label\": ", i ? ", " : "", s->index);
		jstr(f, s->label);
		fprintf(f, ", \"time\": %.6f}", s->seconds);
	}
	fputs("], \"lines\": ", f);
	line_array(f, &pr->growth, 0, pr->ngrowth_snaps);
	fputs("}", f);
}

/* The time-based sections of one process (model.md, processes). */
static void process(FILE *f, const struct hs_report *r, const struct report_proc *pr)
{
	fprintf(f, "{\"trace\": %d, \"series\": ", pr->trace);
	series(f, r->t[pr->trace]);
	fputs(",\n\"points\": ", f);
	points(f, pr);
	fprintf(f, ",\n\"from\": %d, \"to\": %d, \"peak_point\": %d", pr->from, pr->to, pr->peak);
	fputs(",\n\"live\": [", f);
	for (int p = 0; p < pr->npoints; p++) {
		fputs(p ? ",\n" : "", f);
		prof(f, &pr->live[p]);
	}
	fputs("],\n\"allocated\": ", f);
	prof(f, &pr->allocated);
	fputs(",\n\"temporary_stacks\": ", f);
	prof(f, &pr->temporary_stacks);
	fputs(",\n\"leaked\": ", f);
	prof(f, &pr->leaked);
	fputs(",\n\"tables\": ", f);
	tables(f, pr);
	fputs(",\n\"total\": {\"size\": ", f);
	array_u64(f, pr->total_size, (size_t)pr->npoints, 1);
	fputs(", \"count\": ", f);
	array_u64(f, pr->total_count, (size_t)pr->npoints, 1);
	fputs("},\n\"growth\": ", f);
	growth(f, pr);
	fputs(",\n\"allocating\": ", f);
	lines(f, &pr->allocating);
	fputs(",\n\"temporary\": ", f);
	lines(f, &pr->temporary);
	fputs("}", f);
}

static void leaks(FILE *f, const struct hs_report *r)
{
	fputs("[", f);
	for (uint32_t i = 0; i < r->nloss; i++) {
		const struct report_leak *l = &r->loss[i];
		fprintf(f, "%s{\"kind\": \"%s\", \"blocks\": %llu, \"bytes\": %llu, \"stack\": %lld, \"suppressed\": %s, "
			   "\"trace\": %d}",
			i ? ",\n" : "", hs_leak_kind_name(l->kind), (unsigned long long)l->blocks, (unsigned long long)l->bytes,
			(long long)l->stack, l->suppressed ? "true" : "false", l->trace);
	}
	fputs("]", f);
}

static void cycles(FILE *f, const struct hs_report *r)
{
	fputs("[", f);
	for (uint32_t i = 0; i < r->ncyc; i++) {
		const struct report_cycle *c = &r->cyc[i];
		fprintf(f, "%s{\"blocks\": %llu, \"bytes\": %llu, \"trace\": %d, \"members\": [", i ? ",\n" : "",
			(unsigned long long)c->blocks, (unsigned long long)c->bytes, c->trace);
		for (uint32_t m = 0; m < c->n; m++)
			fprintf(f, "%s{\"size\": %llu, \"kind\": \"%s\", \"stack\": %lld, \"address\": \"0x%llx\"}", m ? ", " : "",
				(unsigned long long)c->m[m].size, hs_leak_kind_name(c->m[m].kind), (long long)c->m[m].stack,
				(unsigned long long)c->m[m].addr);
		fputs("], \"edges\": [", f);
		for (uint32_t e = 0; e < c->nedges; e++)
			fprintf(f, "%s[%u,%u,%u]", e ? "," : "", c->edges[e][0], c->edges[e][1], c->edges[e][2]);
		fputs("]}", f);
	}
	fputs("]", f);
}

static void baseline(FILE *f, const struct hs_report *r)
{
	if (!r->have_baseline) {
		fputs("null", f);
		return;
	}
	fputs("{\"old\": ", f);
	jstr(f, r->base->path);
	jkey(f, "from");
	jstr(f, r->from_name);
	jkey(f, "to");
	jstr(f, r->to_name);
	fputs(", \"lines\": ", f);
	line_array(f, &r->baseline, 1, 0);
	fprintf(f, ", \"total\": {\"size\": %llu, \"count\": %llu, \"size_diff\": %lld, \"count_diff\": %lld}}",
		(unsigned long long)r->new_size, (unsigned long long)r->new_count,
		(long long)(r->new_size - r->base_size), (long long)(r->new_count - r->base_count));
}

static void title(FILE *f, const struct hs_report *r)
{
	const char *exe = r->t[0]->exe ? r->t[0]->exe : "?";
	const char *base = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;

	fputs("heapsnap report: ", f);
	for (const char *c = base; *c; c++)
		if (*c == '<')
			fputs("&lt;", f);
		else if (*c == '>')
			fputs("&gt;", f);
		else if (*c == '&')
			fputs("&amp;", f);
		else
			fputc(*c, f);
	fprintf(f, " (pid %u%s)", r->t[0]->pid, r->ntraces > 1 ? " and more" : "");
}

static int model(FILE *f, const struct hs_report *r)
{
	fputs("{\"schema\": 2, \"traces\": ", f);
	traces(f, r);
	fputs(",\n\"summary\": ", f);
	summary(f, r);
	fputs(",\n\"notes\": [", f);
	if (r->scanned && r->scanned < r->ntraces) {
		/* which processes the leak sections leave out */
		char note[1024];
		size_t len = (size_t)snprintf(note, sizeof(note), "No pointer scan in");
		for (int k = 0, n = 0; k < r->ntraces && len < sizeof(note); k++)
			if (!r->t[k]->leaks.scanned)
				len += (size_t)snprintf(note + len, sizeof(note) - len, "%s pid %u (%s)", n++ ? "," : "",
							r->t[k]->pid, r->t[k]->path);
		if (len < sizeof(note))
			snprintf(note + len, sizeof(note) - len,
				 ": exec'ed, killed, or run with --no-scan; the leak sections leave it out.");
		jstr(f, note);
		if (r->ntraces > r->nproc)
			fputs(", ", f);
	}
	if (r->ntraces > r->nproc) {
		char note[200];
		snprintf(note, sizeof(note),
			 "%d traces: the summary and the leaks add them all up; the time-based sections show the first %d.",
			 r->ntraces, r->nproc);
		jstr(f, note);
	}
	fputs("],\n\"frames\": ", f);
	frames(f, r);
	fputs(",\n", f);
	if (stacks(f, r))
		return -ENOMEM;
	fputs(",\n\"processes\": [", f);
	for (int k = 0; k < r->nproc; k++) {
		fputs(k ? ",\n" : "", f);
		process(f, r, &r->proc[k]);
	}
	fputs("],\n\"leaks\": ", f);
	leaks(f, r);
	fprintf(f, ",\n\"leaks_omitted\": %u,\n\"cycles\": ", r->loss_omitted);
	cycles(f, r);
	fputs(",\n\"baseline\": ", f);
	baseline(f, r);
	fputs("}", f);
	return 0;
}

int hs_render_html(FILE *f, const struct hs_report *r)
{
	const char *scripts[] = {hs_report_js_util, hs_report_js_chart, hs_report_js_flame,
				 hs_report_js_tables, hs_report_js_leaks, hs_report_js_main};

	for (const char *p = hs_report_html; *p; p++) {
		if (*p != '@') {
			fputc(*p, f);
			continue;
		}
		if (!strncmp(p, "@TITLE@", 7)) {
			title(f, r);
			p += 6;
		} else if (!strncmp(p, "@CSS@", 5)) {
			fputs(hs_report_css, f);
			p += 4;
		} else if (!strncmp(p, "@DATA@", 6)) {
			if (model(f, r))
				return -ENOMEM;
			p += 5;
		} else if (!strncmp(p, "@JS@", 4)) {
			for (size_t i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++)
				fputs(scripts[i], f);
			p += 3;
		} else {
			fputc(*p, f);
		}
	}
	if (fflush(f) || ferror(f))
		return -EIO;
	return 0;
}
