/*
 * trace.c - one pass over a trace that feeds every analysis asked for.
 *
 * The reader yields items in file order; each goes to the collectors that
 * hs_want selected: the replay of the live heap (replay.c), the counting of
 * `info` (info.c), memory over time (timeline.c), the heaps at selectors,
 * snapshots and the peak (select.c), the stack table and module map
 * (stacks.c), the reference graph of the last pointer scan (graph.c).
 * Nothing here depends on one collector running before another except
 * where the comments say.  What needs the whole trace (classifying the
 * scan) runs after the last item.
 */
#define _GNU_SOURCE
#include "analyze/trace.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/graph.h"
#include "analyze/info.h"
#include "analyze/leaks.h"
#include "analyze/replay.h"
#include "analyze/select.h"
#include "analyze/session.h"
#include "analyze/timeline.h"
#include "trace/format.h"
#include "trace/reader.h"

/* Return a NUL-terminated copy of s, or NULL when out of memory. */
static char *dup_str(struct trace_str s)
{
	char *p = malloc(s.n + 1);
	if (p) {
		memcpy(p, s.p, s.n);
		p[s.n] = 0;
	}
	return p;
}

/* Take the process description of a PROCESS item (the last one wins). */
static int on_process(struct hs_trace *t, const struct trace_item *it)
{
	free(t->exe);
	free(t->cmdline);
	free(t->options);
	free(t->allocator);
	t->pid = it->process.pid;
	t->ppid = it->process.ppid;
	t->exe = dup_str(it->process.exe);
	t->cmdline = dup_str(it->process.cmdline);
	t->options = dup_str(it->process.options);
	t->allocator = dup_str(it->process.allocator);
	if (!t->exe || !t->cmdline || !t->options || !t->allocator)
		return -ENOMEM;
	/* arguments are NUL-separated: show them separated by spaces */
	size_t n = it->process.cmdline.n;
	while (n && !t->cmdline[n - 1])
		t->cmdline[--n] = 0;
	for (size_t i = 0; i < n; i++)
		if (!t->cmdline[i])
			t->cmdline[i] = ' ';
	return 0;
}

/* Append a SNAPSHOT item to the trace's list. */
static int on_snapshot(struct hs_trace *t, const struct trace_item *it)
{
	struct hs_snapshot *s = realloc(t->snapshots, (t->nsnapshots + 1) * sizeof(*s));

	if (!s)
		return -ENOMEM;
	t->snapshots = s;
	s = &s[t->nsnapshots];
	s->index = it->snap.index;
	s->trigger = it->snap.trigger;
	s->ts = it->snap.ts;
	s->seconds = it->snap.ts > t->t0 ? (double)(it->snap.ts - t->t0) / 1e9 : 0.0;
	s->scanned = 0;
	if (!(s->label = dup_str(it->snap.label)))
		return -ENOMEM;
	t->nsnapshots++;
	return 0;
}

/* Collectors started, to be freed if the pass ends early. */
enum { STARTED_SELECT = 1, STARTED_INFO = 2, STARTED_TIMELINE = 4 };

/* The state of one pass. */
struct pass {
	struct hs_trace *t;
	unsigned want;		/* HS_WANT_* */
	struct replay rp;	/* the live heap, when an analysis needs it */
	int replaying;
	struct info_state info;	/* HS_WANT_INFO */
	struct timeline_state tl; /* HS_WANT_TIMELINE */
	struct select_state sel; /* heaps: selectors, snapshots, temporary */
	int selecting;
	unsigned started;	/* STARTED_*: collectors that hold memory */
	struct graph graph;	/* HS_WANT_LEAKS: the scan wanted (hs_want.scan) */
	int in_scan;		/* between a SCAN and its SCAN_END */
	int scanned;		/* the scan in graph is complete */
	int feeding;		/* the items of this scan go to graph */
	const char *scan_text;	/* hs_want.scan, NULL: the last complete scan */
	struct sel scan_sel;	/* it, parsed */
	int scan_found;		/* the scan it names is in graph */
	int scan_tentative;	/* graph holds the exit scan, which the
				 * selector names if it names the exit
				 * snapshot that comes after it */
	char scans_seen[256];	/* the scans of the trace, for the error */
};

/* Note a scan in p->scans_seen ("0, 1, exit"). */
static void note_scan(struct pass *p, const struct trace_item *it)
{
	size_t len = strlen(p->scans_seen);
	char one[32];

	if (it->scan.snapshot)
		snprintf(one, sizeof(one), "%llu", (unsigned long long)it->scan.snapshot - 1);
	else
		snprintf(one, sizeof(one), "%s",
			 it->scan.reason == HST_SCAN_EXIT     ? "exit"
			 : it->scan.reason == HST_SCAN_DETACH ? "exit (detach)"
							      : "heapsnap_leak_check()");
	if (len + strlen(one) + 8 < sizeof(p->scans_seen))
		snprintf(p->scans_seen + len, sizeof(p->scans_seen) - len, "%s%s", len ? ", " : "", one);
}

/* Does the selector name scan it: 1 yes, 2 if it names the exit snapshot
 * that will follow (an exit scan, the selector an index or label), 0 no. */
static int scan_matches(const struct pass *p, const struct trace_item *it)
{
	const struct sel *s = &p->scan_sel;
	int at_exit = it->scan.reason == HST_SCAN_EXIT || it->scan.reason == HST_SCAN_DETACH;

	if (s->kind == SEL_EXIT)
		return at_exit;
	if (at_exit)
		return s->kind == SEL_INDEX || s->kind == SEL_LABEL ? 2 : 0;
	if (!it->scan.snapshot)
		return 0;
	uint64_t index = it->scan.snapshot - 1;
	if (s->kind == SEL_INDEX)
		return (uint64_t)s->index == index;
	if (s->kind != SEL_LABEL)
		return 0;
	/* its SNAPSHOT came before it */
	for (size_t i = p->t->nsnapshots; i-- > 0;)
		if (p->t->snapshots[i].index == index)
			return !strcmp(p->t->snapshots[i].label, s->text);
	return 0;
}

/* The exit snapshot after a tentative exit scan: is it the one the
 * selector names? */
static int snapshot_settles(struct pass *p, const struct trace_item *it)
{
	const struct sel *s = &p->scan_sel;

	if (!p->scan_tentative || it->snap.trigger != HST_SNAP_EXIT)
		return 0;
	p->scan_tentative = 0;
	if ((s->kind == SEL_INDEX && (long)it->snap.index == s->index) ||
	    (s->kind == SEL_LABEL && it->snap.label.n == strlen(s->text) &&
	     !memcmp(it->snap.label.p, s->text, it->snap.label.n))) {
		p->scan_found = 1;
		return 0;
	}
	/* not that one: forget the exit scan */
	graph_free(&p->graph);
	p->scanned = 0;
	return 0;
}

/* Feed a scan item to the graph: without a selector a SCAN starts over
 * (the last complete scan wins); with one, only the scan it names goes
 * in.  The items of a scan only count between its SCAN and SCAN_END.
 * Return 0 or -ENOMEM. */
static int on_scan(struct pass *p, const struct trace_item *it)
{
	switch (it->type) {
	case ITEM_SCAN: {
		note_scan(p, it);
		int m = p->scan_text ? (p->scan_found ? 0 : scan_matches(p, it)) : 1;
		p->in_scan = 1;
		p->feeding = m != 0;
		if (!p->feeding)
			return 0;
		p->scanned = 0;
		p->scan_tentative = m == 2;
		break;
	}
	case ITEM_SCAN_END:
		if (p->in_scan && p->feeding) {
			p->scanned = 1;
			if (p->scan_text && !p->scan_tentative)
				p->scan_found = 1;
		}
		p->in_scan = 0;
		if (!p->feeding)
			return 0;
		p->feeding = 0;
		break;
	default:
		if (!p->in_scan || !p->feeding)
			return 0;
	}
	return graph_add(&p->graph, it);
}

/* Feed one event to every collector: the path of nearly every item, kept
 * short.  Return 0 or -ENOMEM. */
static inline int pass_event(struct pass *p, const struct trace_item *it)
{
	struct hs_trace *t = p->t;

	if (p->want & HS_WANT_INFO)
		info_event(&p->info, &t->info, &it->ev);
	if (p->replaying) {
		/* the start and time selectors see the heap before the event,
		 * the peak after it */
		if (p->selecting && select_before(&p->sel, t, &p->rp, &it->ev))
			return -ENOMEM;
		replay_event(&p->rp, &it->ev);
		if (p->selecting && select_after(&p->sel, t, &p->rp, &it->ev))
			return -ENOMEM;
	}
	/* after the replay: the timeline records the heap after the event */
	if ((p->want & HS_WANT_TIMELINE) && timeline_item(&p->tl, &t->timeline, it, p->rp.live_bytes))
		return -ENOMEM;
	return 0;
}

/* Feed one item other than an event to every collector.  Return 0 or
 * -ENOMEM. */
static int pass_item(struct pass *p, const struct trace_item *it)
{
	struct hs_trace *t = p->t;

	if (p->want & HS_WANT_INFO)
		info_item(&p->info, &t->info, it);
	if ((p->want & HS_WANT_TIMELINE) && timeline_item(&p->tl, &t->timeline, it, p->rp.live_bytes))
		return -ENOMEM;
	switch (it->type) {
	case ITEM_MODULES:
	case ITEM_STACK:
	case ITEM_PYCODE:
		return t->priv->have_stacks ? stacks_add(&t->priv->st, it) : 0;
	case ITEM_SCAN:
		/* its snapshot came before it */
		for (size_t i = t->nsnapshots; it->scan.snapshot && i-- > 0;)
			if (t->snapshots[i].index == it->scan.snapshot - 1) {
				t->snapshots[i].scanned = 1;
				break;
			}
		return p->want & HS_WANT_LEAKS ? on_scan(p, it) : 0;
	case ITEM_SCAN_BLOCK:
	case ITEM_SCAN_ROOT:
	case ITEM_SCAN_EDGE:
	case ITEM_SCAN_END:
		return p->want & HS_WANT_LEAKS ? on_scan(p, it) : 0;
	case ITEM_PROCESS:
		return on_process(t, it);
	case ITEM_SNAPSHOT:
		if (p->selecting && select_snapshot(&p->sel, t, &p->rp, it))
			return -ENOMEM;
		if (p->scan_text && (p->want & HS_WANT_LEAKS))
			snapshot_settles(p, it);
		return on_snapshot(t, it);
	case ITEM_END:
		t->ended = 1;
		t->end_reason = it->end.reason;
		t->end_status = it->end.status;
		t->dropped = it->end.dropped;
		t->lost = it->end.lost;
		return 0;
	}
	return 0;
}

/* Start the collectors p asks for.  Return 0, or a negative errno with d
 * set; the ones started are in p->started. */
static int pass_begin(struct pass *p, struct hs_session *s, const struct hs_want *w, struct hs_diag *d)
{
	struct hs_trace *t = p->t;
	int rc;

	if (p->selecting) {
		if ((rc = select_begin(&p->sel, w, t, &p->rp, d)) < 0)
			return rc;
		p->started |= STARTED_SELECT;
		if ((p->want & HS_WANT_ALLOCS) && replay_count_allocs(&p->rp))
			goto oom;
	}
	/* heaps are grouped by stack: they need the stacks too */
	if ((p->want & HS_WANT_LEAKS) || p->selecting) {
		if (stacks_init(&t->priv->st, s->files, s->wrappers))
			goto oom;
		t->priv->have_stacks = 1;
	}
	if (p->want & HS_WANT_INFO) {
		if (info_begin(&p->info, &t->info))
			goto oom;
		p->started |= STARTED_INFO;
	}
	if (p->want & HS_WANT_TIMELINE) {
		if (timeline_begin(&p->tl, &t->priv->sites, t->t0))
			goto oom;
		p->started |= STARTED_TIMELINE;
	}
	return 0;
oom:
	diag_set(d, "%s: out of memory", t->path);
	return -ENOMEM;
}

/* Is loss record rec one the report shows: unsuppressed, of the kinds
 * asked for (0: every kind)? */
static int record_shown(const struct hs_loss_record *rec, unsigned kinds)
{
	return (!kinds || (kinds & (1u << rec->kind))) && rec->suppressed < 0;
}

/* Keep only the loss records the report shows, in their order: of a
 * short process's hundreds of reachable sites, none (their stacks are
 * dropped too).  The totals keep counting them all. */
static void keep_report_records(struct hs_leaks *l, unsigned kinds)
{
	uint64_t n = 0;

	for (uint64_t i = 0; i < l->nrecords; i++)
		if (record_shown(&l->records[i], kinds))
			l->records[n++] = l->records[i];
	l->nrecords = n;
	if (!n) {
		free(l->records);
		l->records = NULL;
		return;
	}
	/* shrinking: a failed realloc keeps the larger block, as good */
	struct hs_loss_record *fit = realloc(l->records, n * sizeof(*fit));
	if (fit)
		l->records = fit;
}

/* HS_WANT_REPORT_STACKS: drop the loss records and the stacks the leak
 * report does not show (the renderers and hs_ci_add show the unsuppressed
 * records of the kinds asked for, and every cycle), so that a trace held
 * until the report of many is rendered costs what its report needs.
 * Return 0 or -ENOMEM. */
static int keep_report_stacks(struct hs_trace *t, unsigned kinds)
{
	struct stack_table *st = &t->priv->st;
	struct hs_leaks *l = &t->leaks;

	keep_report_records(l, kinds);
	if (!t->priv->have_stacks || !st->n)
		return 0;
	uint8_t *used = calloc(st->n, 1);
	if (!used)
		return -ENOMEM;
	for (uint64_t i = 0; i < l->nrecords; i++) {
		const struct hs_loss_record *rec = &l->records[i];
		if (rec->stack < st->n)
			used[rec->stack] = 1;
	}
	for (long c = 0; c < l->ncycles; c++)
		for (uint32_t m = 0; m < l->cycles[c].n; m++)
			if (l->cycles[c].members[m].stack < st->n)
				used[l->cycles[c].members[m].stack] = 1;
	stacks_keep_only(st, used);
	free(used);
	return 0;
}

/* After the last item: finish what needs the whole trace.  Return 0, or a
 * negative errno with d set. */
static int pass_end(struct pass *p, struct trace_reader *r, const struct hs_want *w, struct hs_diag *d)
{
	struct hs_trace *t = p->t;
	int rc;

	t->truncated = reader_truncated(r);
	snprintf(t->truncation, sizeof(t->truncation), "%s", reader_truncation(r));
	t->recovered = reader_recovered(r);
	if (p->started & STARTED_INFO) {
		info_end(&p->info, &t->info, r, t->path, &p->rp);
		p->started &= ~STARTED_INFO;
		t->have |= HS_WANT_INFO;
	}
	if (p->started & STARTED_TIMELINE) {
		timeline_end(&p->tl, &t->timeline);
		p->started &= ~STARTED_TIMELINE;
		t->have |= HS_WANT_TIMELINE;
	}
	if ((p->want & HS_WANT_LEAKS) && p->scan_text && !p->scan_found) {
		diag_set(d, "%s: no pointer scan at snapshot '%s' (the scans of this trace: %s)", t->path, p->scan_text,
			 p->scans_seen[0] ? p->scans_seen : "none");
		return -EINVAL;
	}
	if (p->want & HS_WANT_LEAKS) {
		if (leaks_build(&t->leaks, &p->graph, p->scanned, &t->priv->st, w->suppressions))
			goto oom;
		t->have |= HS_WANT_LEAKS;
		if ((p->want & ~(HS_WANT_LEAKS | HS_WANT_REPORT_STACKS)) == 0 && (p->want & HS_WANT_REPORT_STACKS) &&
		    keep_report_stacks(t, w->report_kinds))
			goto oom;
	}
	if (p->selecting) {
		if ((rc = select_end(&p->sel, t, &p->rp, d)) < 0)
			return rc;
		t->have |= p->want & (HS_WANT_SNAPSHOT_HEAPS | HS_WANT_TEMPORARY | HS_WANT_ALLOCS);
	}
	if ((p->want & HS_WANT_GRAPH) && p->scanned) {
		if (!(t->graph = malloc(sizeof(*t->graph))))
			goto oom;
		*t->graph = p->graph.g; /* moved: the pass no longer owns it */
		memset(&p->graph.g, 0, sizeof(p->graph.g));
		t->have |= HS_WANT_GRAPH;
	}
	return 0;
oom:
	diag_set(d, "%s: out of memory", t->path);
	return -ENOMEM;
}

struct hs_trace *hs_trace_read(struct hs_session *s, const char *path, const struct hs_want *w,
			       struct hs_diag *d)
{
	static const struct hs_want none; /* read-only */
	struct pass p = {.want = w ? w->flags : 0};
	struct trace_reader *r = NULL;
	struct trace_item it;
	int rc = -ENOMEM;

	if (!w)
		w = &none;
	replay_init(&p.rp);
	graph_init(&p.graph);
	struct hs_trace *t = calloc(1, sizeof(*t));
	if (!t || !(t->priv = calloc(1, sizeof(*t->priv))) || !(t->path = strdup(path))) {
		diag_set(d, "%s: out of memory", path);
		goto out;
	}
	t->priv->session = s;
	if (!(r = reader_open(path, d))) {
		rc = -EIO;
		goto out;
	}
	const struct trace_header *h = reader_header(r);
	t->version = h->version;
	t->pid = h->pid;
	t->ppid = h->ppid;
	t->t0 = h->mono_ns;
	t->realtime = h->realtime_ns;
	p.t = t;
	if (p.want & HS_WANT_GRAPH)
		p.want |= HS_WANT_LEAKS;
	p.scan_text = w->scan;
	if (p.scan_text)
		select_parse(p.scan_text, t->t0, &p.scan_sel);
	p.selecting = w->nselect > 0 || w->ntimes > 0 || (p.want & (HS_WANT_SNAPSHOT_HEAPS | HS_WANT_TEMPORARY));
	p.replaying = p.selecting || (p.want & (HS_WANT_INFO | HS_WANT_TIMELINE));
	if ((rc = pass_begin(&p, s, w, d)) < 0)
		goto out;
	/* nearly every item is an event: when no collector wants them (leaks
	 * alone) they cost the reader and one test */
	const int per_event = p.replaying || (p.want & (HS_WANT_INFO | HS_WANT_TIMELINE));
	while ((rc = reader_next(r, &it)) > 0)
		if (it.type == ITEM_EVENT ? per_event && pass_event(&p, &it) < 0 : pass_item(&p, &it) < 0) {
			diag_set(d, "%s: out of memory", path);
			rc = -ENOMEM;
			break;
		}
	/* rc < 0 from the reader: a corrupt trace, d says where */
	if (rc == 0)
		rc = pass_end(&p, r, w, d);
	if (rc >= 0 && p.rp.oom)
		session_warn(s, "%s: out of memory replaying the heap: live and peak figures are incomplete", path);
	/* the sizes and stacks by allocinfo stay: the heaps' counts index them */
	t->priv->info_size = p.rp.size;
	t->priv->info_stack = p.rp.stack;
	t->priv->ninfo = p.rp.cap;
	p.rp.size = NULL;
	p.rp.stack = NULL;
out:
	if (p.started & STARTED_SELECT)
		select_free(&p.sel);
	if (p.started & STARTED_INFO)
		info_abort(&p.info);
	if (p.started & STARTED_TIMELINE)
		timeline_abort(&p.tl);
	graph_free(&p.graph);
	replay_free(&p.rp);
	if (r)
		reader_close(r);
	if (rc < 0) {
		hs_trace_free(t);
		return NULL;
	}
	return t;
}

void hs_trace_free(struct hs_trace *t)
{
	if (!t)
		return;
	free(t->path);
	free(t->exe);
	free(t->cmdline);
	free(t->options);
	free(t->allocator);
	for (size_t i = 0; i < t->nsnapshots; i++)
		free(t->snapshots[i].label);
	free(t->snapshots);
	info_free(&t->info);
	timeline_free(&t->timeline);
	for (int i = 0; t->heaps && i < t->nheaps; i++)
		select_heap_free(&t->heaps[i]);
	free(t->heaps);
	for (int i = 0; i < t->nsnapshot_heaps; i++)
		select_heap_free(&t->snapshot_heaps[i]);
	free(t->snapshot_heaps);
	for (int i = 0; i < t->ntime_heaps; i++)
		select_heap_free(&t->time_heaps[i]);
	free(t->time_heaps);
	select_heap_free(&t->temporary);
	if (t->priv) {
		timeline_sites_free(&t->priv->sites);
		free(t->priv->info_size);
		free(t->priv->info_stack);
	}
	leaks_free(&t->leaks);
	if (t->graph)
		graph_release(t->graph);
	free(t->graph);
	if (t->priv && t->priv->have_stacks)
		stacks_free(&t->priv->st);
	if (t->priv && t->priv->dom) {
		dom_free(t->priv->dom);
		free(t->priv->dom);
	}
	free(t->priv);
	free(t);
}

const struct hs_stack *hs_trace_stack(struct hs_trace *t, uint32_t id)
{
	static const struct hs_stack none; /* read-only */

	return t->priv->have_stacks ? stacks_get(&t->priv->st, id) : &none;
}

int hs_trace_stack_frames(struct hs_trace *t, uint32_t id, struct hs_frame *out, int max)
{
	return t->priv->have_stacks ? stacks_all_frames(&t->priv->st, id, out, max) : 0;
}

const uint64_t *hs_trace_stack_ips(const struct hs_trace *t, uint32_t id, uint32_t *depth)
{
	const struct stack_table *st = &t->priv->st;

	if (!t->priv->have_stacks || id >= st->n || !st->ips[id]) {
		*depth = 0;
		return NULL;
	}
	*depth = st->depth[id];
	return st->ips[id];
}

const char *hs_trace_site(struct hs_trace *t, uint32_t id, char *buf, size_t cap)
{
	if (t->priv->have_stacks)
		return stacks_site(&t->priv->st, id, buf, cap);
	snprintf(buf, cap, "(no stack)");
	return buf;
}

const struct hs_module *hs_trace_modules(const struct hs_trace *t, size_t *n)
{
	if (!t->priv->have_stacks) {
		*n = 0;
		return NULL;
	}
	return sym_modules(t->priv->st.sym, n);
}

const char *hs_event_name(unsigned kind)
{
	return hst_event_name(kind);
}

const char *hs_trigger_name(int trigger)
{
	switch (trigger) {
	case HST_SNAP_EXIT:
		return "exit";
	case HST_SNAP_SIGNAL:
		return "signal";
	case HST_SNAP_INTERVAL:
		return "interval";
	case HST_SNAP_API:
		return "api";
	}
	return "unknown";
}

const char *hs_scan_reason_name(int reason)
{
	switch (reason) {
	case HST_SCAN_EXIT:
		return "exit";
	case HST_SCAN_API:
		return "api";
	case HST_SCAN_DETACH:
		return "detach";
	case HST_SCAN_SNAPSHOT:
		return "snapshot";
	}
	return "unknown";
}

const char *hs_end_name(int reason)
{
	switch (reason) {
	case HST_END_EXIT:
		return "exit";
	case HST_END__EXIT:
		return "_exit";
	case HST_END_EXEC:
		return "exec";
	case HST_END_DETACH:
		return "detach";
	}
	return "unknown";
}
