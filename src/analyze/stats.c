/*
 * stats.c - snapshots of the live heap, grouped like tracemalloc's
 * Snapshot.statistics() and compare_to().
 */
#define _GNU_SOURCE
#include "analyze/stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/frames.h"
#include "analyze/replay.h"
#include "analyze/session.h"
#include "trace/format.h"
#include "util/hashmap.h"

enum sel_kind { SEL_START, SEL_EXIT, SEL_PEAK, SEL_TIME, SEL_INDEX, SEL_LABEL };

struct sel {
	enum sel_kind kind;
	double seconds;	   /* SEL_TIME */
	long index;	   /* SEL_INDEX */
	const char *label; /* SEL_LABEL */
};

static void parse_sel(const char *s, struct sel *out)
{
	char *end;

	memset(out, 0, sizeof(*out));
	out->label = s;
	if (!strcmp(s, "start"))
		out->kind = SEL_START;
	else if (!strcmp(s, "exit"))
		out->kind = SEL_EXIT;
	else if (!strcmp(s, "peak"))
		out->kind = SEL_PEAK;
	else if (s[0] == '@' && (out->seconds = strtod(s + 1, &end)) >= 0 && end != s + 1 &&
		 (!*end || !strcmp(end, "s")))
		out->kind = SEL_TIME;
	else if ((out->index = strtol(s, &end, 10)) >= 0 && *s && !*end)
		out->kind = SEL_INDEX;
	else
		out->kind = SEL_LABEL;
}

/* Copy the live heap of r into s. */
static int capture(struct heap_state *s, const struct replay *r, uint64_t ts, uint64_t t0)
{
	size_t n = r->cap ? r->cap : 1;

	free(s->count);
	free(s->size);
	free(s->stack);
	s->count = calloc(n, sizeof(*s->count));
	s->size = calloc(n, sizeof(*s->size));
	s->stack = calloc(n, sizeof(*s->stack));
	if (!s->count || !s->size || !s->stack)
		return -1;
	if (r->cap) {
		memcpy(s->count, r->count, r->cap * sizeof(*s->count));
		memcpy(s->size, r->size, r->cap * sizeof(*s->size));
		memcpy(s->stack, r->stack, r->cap * sizeof(*s->stack));
	}
	s->ninfo = r->cap;
	s->ts = ts;
	s->seconds = ts > t0 ? (double)(ts - t0) / 1e9 : 0;
	s->found = 1;
	return 0;
}

static void state_free(struct heap_state *s)
{
	free(s->count);
	free(s->size);
	free(s->stack);
	memset(s, 0, sizeof(*s));
}

void stats_trace_free(struct stats_trace *t)
{
	free(t->path);
	free(t->exe);
	stacks_free(&t->st);
	for (int i = 0; i < t->nstates; i++)
		state_free(&t->states[i]);
	free(t->states);
	for (int i = 0; i < t->nsnaps; i++)
		state_free(&t->snaps[i]);
	free(t->snaps);
	state_free(&t->temporary);
	memset(t, 0, sizeof(*t));
}

/* Count a temporary block of allocinfo id (size, stack) in s.  Return 0
 * or -1 (out of memory). */
static int count_temporary(struct heap_state *s, uint32_t id, uint64_t size, uint32_t stack)
{
	if (id >= s->ninfo) {
		uint64_t n = s->ninfo ? s->ninfo : 256;
		while (n <= id)
			n *= 2;
		uint64_t *c = realloc(s->count, n * sizeof(*c));
		if (!c)
			return -1;
		s->count = c;
		uint64_t *z = realloc(s->size, n * sizeof(*z));
		if (!z)
			return -1;
		s->size = z;
		uint32_t *k = realloc(s->stack, n * sizeof(*k));
		if (!k)
			return -1;
		s->stack = k;
		memset(c + s->ninfo, 0, (n - s->ninfo) * sizeof(*c));
		memset(z + s->ninfo, 0, (n - s->ninfo) * sizeof(*z));
		memset(k + s->ninfo, 0, (n - s->ninfo) * sizeof(*k));
		s->ninfo = n;
	}
	s->count[id]++;
	s->size[id] = size;
	s->stack[id] = stack;
	return 0;
}

/* First pass for "peak": how many events have been applied when the live
 * heap first reaches its largest size.  Return 0 or -1. */
static int find_peak(const char *path, uint64_t *events_at_peak, struct hs_diag *d)
{
	struct trace_reader *rd = reader_open(path, d);
	struct trace_item it;
	struct replay r;
	uint64_t n = 0, best = 0;
	int rc;

	if (!rd)
		return -1;
	replay_init(&r);
	*events_at_peak = 0;
	while ((rc = reader_next(rd, &it)) > 0) {
		if (it.type != ITEM_EVENT)
			continue;
		replay_event(&r, &it.ev);
		n++;
		if (r.live_bytes > best) {
			best = r.live_bytes;
			*events_at_peak = n;
		}
	}
	replay_free(&r);
	reader_close(rd);
	return rc < 0 ? -1 : 0;
}

int stats_read(struct hs_session *ses, const char *path, const struct snap_sel *selectors, int n, int all_snapshots, struct stats_trace *t,
	       struct hs_diag *d)
{
	struct sel sel[16];
	uint64_t peak_at = 0, nev = 0;
	int rc, started = 0;

	memset(t, 0, sizeof(*t));
	if (n > 16)
		n = 16;
	for (int i = 0; i < n; i++) {
		parse_sel(selectors[i].text, &sel[i]);
		if (sel[i].kind == SEL_PEAK && find_peak(path, &peak_at, d))
			return -1;
	}
	struct trace_reader *rd = reader_open(path, d);
	if (!rd)
		return -1;
	uint64_t t0 = reader_header(rd)->mono_ns, last_ts = t0;
	t->path = strdup(path);
	t->pid = reader_header(rd)->pid;
	t->states = calloc((size_t)(n ? n : 1), sizeof(*t->states));
	t->nstates = n;
	struct replay r;
	replay_init(&r);
	if (stacks_init(&t->st, ses->files, ses->wrappers) || !t->states)
		goto oom;
	for (int i = 0; i < n; i++) {
		t->states[i].index = -1;
	t->temporary.index = -1;
	t->temporary.found = 1;
	snprintf(t->temporary.label, sizeof(t->temporary.label), "temporary");
		snprintf(t->states[i].label, sizeof(t->states[i].label), "%s", selectors[i].text);
	}
	struct trace_item it;
	while ((rc = reader_next(rd, &it)) > 0) {
		switch (it.type) {
		case ITEM_PROCESS:
			free(t->exe);
			t->exe = strndup(it.process.exe.p, it.process.exe.n);
			break;
		case ITEM_STACK:
		case ITEM_MODULES:
		case ITEM_PYCODE:
			if (stacks_add(&t->st, &it))
				goto oom;
			break;
		case ITEM_EVENT:
			for (int i = 0; i < n; i++) {
				struct heap_state *s = &t->states[i];
				if (s->found)
					continue;
				if ((sel[i].kind == SEL_START && !started) ||
				    (sel[i].kind == SEL_TIME && it.ev.ts > t0 + (uint64_t)(sel[i].seconds * 1e9)))
					if (capture(s, &r, sel[i].kind == SEL_START ? t0 : t0 + (uint64_t)(sel[i].seconds * 1e9), t0))
						goto oom;
			}
			started = 1;
			last_ts = it.ev.ts;
			/* the freed block: a realloc's old one, a free's only one */
			if (it.ev.temporary && !it.ev.implicit &&
			    (hst_event_shape(it.ev.kind) == HST_SHAPE_REALLOC
				     ? count_temporary(&t->temporary, it.ev.old_info, it.ev.old_size, it.ev.old_stack)
				     : count_temporary(&t->temporary, it.ev.info, it.ev.size, it.ev.stack)))
				goto oom;
			replay_event(&r, &it.ev);
			nev++;
			for (int i = 0; i < n; i++)
				if (sel[i].kind == SEL_PEAK && !t->states[i].found && nev == peak_at &&
				    capture(&t->states[i], &r, it.ev.ts, t0))
					goto oom;
			break;
		case ITEM_SNAPSHOT:
			for (int i = 0; i < n; i++) {
				struct heap_state *s = &t->states[i];
				int hit = (sel[i].kind == SEL_INDEX && (long)it.snap.index == sel[i].index) ||
					  (sel[i].kind == SEL_LABEL && it.snap.label.n == strlen(sel[i].label) &&
					   !memcmp(it.snap.label.p, sel[i].label, it.snap.label.n)) ||
					  (sel[i].kind == SEL_EXIT && it.snap.trigger == HST_SNAP_EXIT);
				if (!hit || s->found)
					continue;
				if (capture(s, &r, it.snap.ts, t0))
					goto oom;
				s->index = (int)it.snap.index;
				snprintf(s->label, sizeof(s->label), "%.*s", (int)it.snap.label.n, it.snap.label.p);
			}
			/* --growth looks at the run's own snapshots, not the one
			 * taken as the process tears itself down */
			if (all_snapshots && it.snap.trigger != HST_SNAP_EXIT) {
				struct heap_state *ns = realloc(t->snaps, (size_t)(t->nsnaps + 1) * sizeof(*ns));
				if (!ns)
					goto oom;
				t->snaps = ns;
				ns = &t->snaps[t->nsnaps++];
				memset(ns, 0, sizeof(*ns));
				if (capture(ns, &r, it.snap.ts, t0))
					goto oom;
				ns->index = (int)it.snap.index;
				snprintf(ns->label, sizeof(ns->label), "%.*s", (int)it.snap.label.n, it.snap.label.p);
			}
			break;
		}
	}
	if (rc < 0)
		goto fail;
	/* What the stream never reached: start of an empty trace, exit of a
	 * trace without an exit snapshot (killed), a time past its end. */
	for (int i = 0; i < n; i++) {
		struct heap_state *s = &t->states[i];
		if (s->found)
			continue;
		if (sel[i].kind == SEL_START || sel[i].kind == SEL_EXIT || sel[i].kind == SEL_TIME ||
		    sel[i].kind == SEL_PEAK) {
			/* exit of a trace with no exit snapshot (killed, exec'ed):
			 * the heap after its last event */
			uint64_t ts = sel[i].kind == SEL_START  ? t0
				      : sel[i].kind == SEL_TIME ? t0 + (uint64_t)(sel[i].seconds * 1e9)
								: last_ts;
			if (capture(s, &r, ts, t0))
				goto oom;
			continue;
		}
		diag_set(d, "%s: no snapshot %s '%s' in this trace (heapsnap info lists them)", path,
			 sel[i].kind == SEL_INDEX ? "with index" : "labelled", selectors[i].text);
		goto fail;
	}
	replay_free(&r);
	reader_close(rd);
	return 0;
oom:
	diag_set(d, "%s: out of memory", path);
fail:
	replay_free(&r);
	reader_close(rd);
	stats_trace_free(t);
	return -1;
}

/* ---- grouping ------------------------------------------------------------------ */

/* A string -> line index map over hashmap (hash -> index), probing on
 * the rare hash collision. */
struct lines {
	struct stat_line *l;
	long n, cap;
	struct hashmap idx;
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
	return h ? h : 1;
}

static struct stat_line *line_for(struct lines *ls, const char *key)
{
	for (uint64_t h = str_hash(key);; h = h + 1 ? h + 1 : 1) {
		uint64_t *v = hashmap_get(&ls->idx, h);
		if (!v)
			break;
		if (!strcmp(ls->l[*v].key, key))
			return &ls->l[*v];
	}
	if (ls->n == ls->cap) {
		long cap = ls->cap ? ls->cap * 2 : 256;
		struct stat_line *p = realloc(ls->l, (size_t)cap * sizeof(*p));
		if (!p)
			return NULL;
		ls->l = p;
		ls->cap = cap;
	}
	uint64_t h = str_hash(key);
	while (hashmap_get(&ls->idx, h))
		h = h + 1 ? h + 1 : 1;
	struct stat_line *l = &ls->l[ls->n];
	memset(l, 0, sizeof(*l));
	l->key = strdup(key);
	if (!l->key || hashmap_put(&ls->idx, h, (uint64_t)ls->n))
		return NULL;
	ls->n++;
	return l;
}

static const char *base_name(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;
	return s ? s + 1 : p;
}

/* The key of frame f in mode by. */
static void frame_key(const struct hs_frame *f, enum stats_by by, char *buf, size_t cap)
{
	const char *mod = f->module ? f->module : "?";

	switch (by) {
	case BY_FUNCTION:
		if (f->function)
			snprintf(buf, cap, "%s", f->function);
		else
			snprintf(buf, cap, "%s+0x%llx", base_name(mod), (unsigned long long)f->offset);
		return;
	case BY_FILE:
		snprintf(buf, cap, "%s", f->file ? f->file : mod);
		return;
	case BY_MODULE:
		snprintf(buf, cap, "%s", mod);
		return;
	case BY_LINENO:
	case BY_TRACEBACK:
		if (f->file && f->line)
			snprintf(buf, cap, "%s:%u", f->file, f->line);
		else if (f->function)
			snprintf(buf, cap, "%s (%s)", f->function, base_name(mod));
		else
			snprintf(buf, cap, "%s+0x%llx", base_name(mod), (unsigned long long)f->offset);
		return;
	}
}

/* Does the stack pass the include/exclude filters (on its site frame's
 * file and module)? */
static int passes(const struct hs_stack *s, const struct stats_opts *o)
{
	const struct hs_frame *f = s->n ? &s->frames[0] : NULL;
	const char *file = f && f->file ? f->file : "", *mod = f && f->module ? f->module : "";

	for (int i = 0; i < o->nexclude; i++)
		if (frames_glob(o->exclude[i], file) || frames_glob(o->exclude[i], mod))
			return 0;
	if (!o->ninclude)
		return 1;
	for (int i = 0; i < o->ninclude; i++)
		if (frames_glob(o->include[i], file) || frames_glob(o->include[i], mod))
			return 1;
	return 0;
}

/* Add count blocks of size bytes from stack id to the lines. */
static int add_stack(struct lines *ls, struct stack_table *st, uint32_t id, uint64_t count, uint64_t bytes,
		     const struct stats_opts *o, int slot, int nslots)
{
	const struct hs_stack *s = stacks_get(st, id);
	char key[4096], one[1024];

	if (!passes(s, o))
		return 0;
	int nkeys = !s->n ? 1 : o->by == BY_TRACEBACK || !o->cumulative ? 1 : s->n;
	char *seen[STACKS_MAX_FRAMES];
	int nseen = 0, rc = 0;
	for (int k = 0; k < nkeys; k++) {
		if (!s->n) {
			snprintf(key, sizeof(key), "(no stack)");
		} else if (o->by == BY_TRACEBACK) {
			size_t len = 0;
			key[0] = 0;
			for (int i = 0; i < s->n && len < sizeof(key) - 2; i++) {
				frame_key(&s->frames[i], BY_LINENO, one, sizeof(one));
				len += (size_t)snprintf(key + len, sizeof(key) - len, "%s%s%s%s", i ? "\n" : "", one,
							s->frames[i].function ? " in " : "",
							s->frames[i].function ? s->frames[i].function : "");
			}
		} else {
			frame_key(&s->frames[k], o->by, key, sizeof(key));
		}
		/* a frame that appears twice in one stack (recursion) counts once */
		int dup = 0;
		for (int i = 0; i < nseen; i++)
			dup |= !strcmp(seen[i], key);
		if (dup)
			continue;
		struct stat_line *l = line_for(ls, key);
		if (!l) {
			rc = -1;
			break;
		}
		if (nslots) {
			if (!l->sizes && !(l->sizes = calloc((size_t)nslots, sizeof(*l->sizes)))) {
				rc = -1;
				break;
			}
			l->sizes[slot] += bytes;
		} else {
			l->size += bytes;
			l->count += count;
		}
		if (nseen < STACKS_MAX_FRAMES)
			seen[nseen++] = l->key;
	}
	return rc;
}

static int add_state(struct lines *ls, struct stats_trace *t, const struct heap_state *s, const struct stats_opts *o,
		     int slot, int nslots)
{
	for (uint64_t id = 1; id < s->ninfo; id++)
		if (s->count[id] && add_stack(ls, &t->st, s->stack[id], s->count[id], s->count[id] * s->size[id], o, slot,
					      nslots))
			return -1;
	return 0;
}

static int by_size_desc(const void *a, const void *b)
{
	const struct stat_line *x = a, *y = b;
	if (x->size != y->size)
		return x->size < y->size ? 1 : -1;
	return strcmp(x->key, y->key);
}

static int by_abs_diff(const void *a, const void *b)
{
	const struct stat_line *x = a, *y = b;
	uint64_t dx = (uint64_t)llabs(x->size_diff), dy = (uint64_t)llabs(y->size_diff);
	if (dx != dy)
		return dx < dy ? 1 : -1;
	return by_size_desc(a, b);
}

void stats_total(struct stats_trace *t, const struct heap_state *s, const struct stats_opts *o, uint64_t *size,
		 uint64_t *count)
{
	*size = *count = 0;
	for (uint64_t id = 1; id < s->ninfo; id++)
		if (s->count[id] && passes(stacks_get(&t->st, s->stack[id]), o)) {
			*size += s->count[id] * s->size[id];
			*count += s->count[id];
		}
}

void stats_lines_free(struct stat_line *l, long n)
{
	for (long i = 0; i < n; i++) {
		free(l[i].key);
		free(l[i].sizes);
	}
	free(l);
}

static long finish(struct lines *ls, struct stat_line **out, int (*cmp)(const void *, const void *))
{
	hashmap_free(&ls->idx);
	if (ls->n > 1) /* l is NULL when empty: qsort's pointer must not be */
		qsort(ls->l, (size_t)ls->n, sizeof(*ls->l), cmp);
	*out = ls->l;
	return ls->n;
}

long stats_group(struct stats_trace *t, const struct heap_state *s, const struct stats_opts *o, struct stat_line **out)
{
	struct lines ls = {0};

	if (hashmap_init(&ls.idx, 256))
		return -1;
	if (add_state(&ls, t, s, o, 0, 0)) {
		hashmap_free(&ls.idx);
		stats_lines_free(ls.l, ls.n);
		return -1;
	}
	return finish(&ls, out, by_size_desc);
}

long stats_diff(struct stats_trace *old_t, const struct heap_state *old_s, struct stats_trace *new_t,
		const struct heap_state *new_s, const struct stats_opts *o, struct stat_line **out)
{
	struct lines ls = {0};

	if (hashmap_init(&ls.idx, 256))
		return -1;
	/* old first: its sizes become the (negative) starting differences */
	if (add_state(&ls, old_t, old_s, o, 0, 0))
		goto fail;
	for (long i = 0; i < ls.n; i++) {
		ls.l[i].size_diff = -(int64_t)ls.l[i].size;
		ls.l[i].count_diff = -(int64_t)ls.l[i].count;
		ls.l[i].size = ls.l[i].count = 0;
	}
	long before = ls.n;
	if (add_state(&ls, new_t, new_s, o, 0, 0))
		goto fail;
	for (long i = 0; i < ls.n; i++) {
		if (i >= before) {
			ls.l[i].size_diff = 0;
			ls.l[i].count_diff = 0;
		}
		ls.l[i].size_diff += (int64_t)ls.l[i].size;
		ls.l[i].count_diff += (int64_t)ls.l[i].count;
	}
	return finish(&ls, out, by_abs_diff);
fail:
	hashmap_free(&ls.idx);
	stats_lines_free(ls.l, ls.n);
	return -1;
}

long stats_growth(struct stats_trace *t, const struct stats_opts *o, struct stat_line **out)
{
	struct lines ls = {0};
	int n = t->nsnaps;

	if (n < 3 || hashmap_init(&ls.idx, 256))
		return -1;
	for (int k = 0; k < n; k++)
		if (add_state(&ls, t, &t->snaps[k], o, k, n))
			goto fail;
	/* keep the lines that grew at every step */
	long kept = 0;
	for (long i = 0; i < ls.n; i++) {
		struct stat_line *l = &ls.l[i];
		int grew = 1;
		for (int k = 1; k < n && grew; k++)
			grew = l->sizes[k] > l->sizes[k - 1];
		if (!grew) {
			free(l->key);
			free(l->sizes);
			continue;
		}
		l->size = l->sizes[n - 1];
		l->size_diff = (int64_t)(l->sizes[n - 1] - l->sizes[0]);
		ls.l[kept++] = *l;
	}
	ls.n = kept;
	return finish(&ls, out, by_abs_diff);
fail:
	hashmap_free(&ls.idx);
	stats_lines_free(ls.l, ls.n);
	return -1;
}

void stats_folded(struct stats_trace *t, const struct heap_state *s, const struct stats_opts *o, void *file)
{
	FILE *f = file;
	struct lines ls = {0};
	char line[8192], one[1024];

	if (hashmap_init(&ls.idx, 256))
		return;
	for (uint64_t id = 1; id < s->ninfo; id++) {
		if (!s->count[id])
			continue;
		const struct hs_stack *st = stacks_get(&t->st, s->stack[id]);
		if (!passes(st, o))
			continue;
		size_t len = 0;
		line[0] = 0;
		/* outermost first, as flamegraph.pl and speedscope read it */
		for (int i = st->n - 1; i >= 0 && len < sizeof(line) - 2; i--) {
			frame_key(&st->frames[i], BY_FUNCTION, one, sizeof(one));
			for (char *c = one; *c; c++)
				if (*c == ';' || *c == ' ')
					*c = '_';
			len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s", len ? ";" : "", one);
		}
		if (!st->n)
			snprintf(line, sizeof(line), "(no_stack)");
		struct stat_line *l = line_for(&ls, line);
		if (l)
			l->size += s->count[id] * s->size[id];
	}
	for (long i = 0; i < ls.n; i++)
		fprintf(f, "%s %llu\n", ls.l[i].key, (unsigned long long)ls.l[i].size);
	hashmap_free(&ls.idx);
	stats_lines_free(ls.l, ls.n);
}
