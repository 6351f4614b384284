/*
 * pprof.c - heaps and leak reports as pprof profiles (profile.proto).
 *
 * A profile is built in tables of its own (strings, functions, mappings,
 * locations, samples), each found by content through a hash table, so
 * that traces can be added one at a time and freed: nothing in it points
 * into a trace or a session.  hs_render_pprof lays the tables out as the
 * protobuf-c messages generated from profile.proto (profile.pb-c.h) and
 * packs them straight into a gzip stream (zlib), without ever holding the
 * whole encoded message.
 *
 * What pprof expects, and where this file does it:
 *   - ids of mappings, locations and functions start at 1, string 0 is ""
 *     (hs_pprof_new);
 *   - a sample's locations are leaf first, a location's lines innermost
 *     first, the inlined functions before the one they were inlined into
 *     (add_stack, location_of: the order of hs_trace_stack);
 *   - the address of a caller's frame points into its call instruction:
 *     the return address - 1 (location_of);
 *   - mapping 1 is the main executable: pprof names the profile after it
 *     (begin_trace).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <heapsnap-analyze.h>

#include "analyze/stats.h"
#include "profile.pb-c.h"
#include "util/hashmap.h"

#define PP_MAX_VALUES 8	   /* sample types of a leaks profile */
#define PP_MAX_FRAMES 1024 /* locations of one sample (hs_stack has fewer) */

/* Leak kinds in the order of a leaks profile's sample types: most
 * serious first, as the reports list them. */
static const int leak_order[HS_LEAK_KINDS] = {HS_DEFINITE, HS_INDIRECT, HS_POSSIBLE, HS_REACHABLE};

/* Records found by content: a key's hash leads to the newest record with
 * that hash, which leads to the older ones (next). */
struct pp_index {
	struct hashmap head; /* hash -> index + 1 of the newest record with it */
	uint32_t *next;	     /* by record: index + 1 of the next older one */
	size_t cap;	     /* records next holds */
};

struct pp_function {
	int64_t name, system_name, file; /* string indices */
};

struct pp_mapping {
	uint64_t start, limit, offset;
	int64_t file, build_id;		/* string indices */
};

struct pp_location {
	uint64_t key[3];    /* what makes it unique (location_of) */
	uint64_t mapping;   /* id, 0 for none */
	uint64_t address;   /* 0 for a Python frame */
	uint32_t line0, nline; /* its lines in lines[] */
};

struct pp_line {
	uint64_t function; /* id */
	int64_t line;
};

struct pp_sample {
	uint32_t loc0, nloc; /* its location ids in locs[] */
	int64_t pid;
	int64_t kind;	     /* string index of its "kind" label, 0 for none */
};

struct hs_pprof {
	enum hs_pprof_type type;
	int nvalues;			/* sample types */
	int64_t type_name[PP_MAX_VALUES]; /* string indices */
	int64_t type_unit[PP_MAX_VALUES];
	int64_t s_space, s_bytes, s_pid, s_kind; /* strings used when writing */
	unsigned kinds;			/* leaks: the kinds asked for */

	char **str;			/* the string table; str[0] = "" */
	size_t nstr, capstr;
	struct pp_index str_idx;

	struct pp_function *fn;		/* by id - 1 */
	size_t nfn, capfn;
	struct pp_index fn_idx;

	struct pp_mapping *map;		/* by id - 1 */
	size_t nmap, capmap;
	struct pp_index map_idx;

	struct pp_location *loc;	/* by id - 1 */
	size_t nloc, caploc;
	struct pp_index loc_idx;
	struct pp_line *line;		/* the locations' lines, back to back */
	size_t nline, capline;

	struct pp_sample *sample;
	size_t nsample, capsample;
	struct pp_index sample_idx;
	int64_t *value;			/* by sample: nvalues values */
	uint32_t *locs;			/* the samples' location ids, back to back */
	size_t nlocs, caplocs;

	int64_t *comment;		/* string indices */
	size_t ncomment, capcomment;

	/* the trace being added (the caches below are its) */
	const struct hs_trace *cur;
	uint32_t cur_pid;
	uint64_t cur_t0;
	uint64_t serial;		/* traces begun: keys frames outside any module */
	const struct hs_module *mods;	/* its modules, by address */
	size_t nmods;
	uint64_t *mod_mapping;		/* by module: mapping id, 0 not made yet */

	/* the profile's time: the last heap added (sign 1) and the heap of the
	 * same trace subtracted (sign -1), if any */
	int64_t time_ns, duration_ns;
	uint64_t end_t0, end_ts;	/* of the last heap added: its trace, its moment */
	uint32_t end_pid;
	int have_end, have_start;
	uint64_t start_t0, start_ts;	/* of the heap subtracted */
	uint32_t start_pid;
};

/* ---- tables -------------------------------------------------------------- */

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull; /* FNV-1a */
	return h;
}

static uint64_t hash_done(uint64_t h)
{
	return h ? h : 1; /* 0 is the hashmap's empty key */
}

/* Grow *a (of *cap elements of size sz) to hold at least n.  Return 0 or
 * -ENOMEM. */
static int grow(void **a, size_t *cap, size_t n, size_t sz)
{
	if (n <= *cap)
		return 0;
	size_t c = *cap ? *cap : 64;
	while (c < n)
		c *= 2;
	void *p = realloc(*a, c * sz);
	if (!p)
		return -ENOMEM;
	*a = p;
	*cap = c;
	return 0;
}

/* The newest record with hash h, as index + 1 (0: none). */
static uint32_t idx_first(const struct pp_index *x, uint64_t h)
{
	uint64_t *v = hashmap_get(&x->head, h);
	return v ? (uint32_t)*v : 0;
}

/* Record i has hash h.  Return 0 or -ENOMEM. */
static int idx_add(struct pp_index *x, uint64_t h, size_t i)
{
	if (grow((void **)&x->next, &x->cap, i + 1, sizeof(*x->next)))
		return -ENOMEM;
	x->next[i] = idx_first(x, h);
	return hashmap_put(&x->head, h, i + 1) ? -ENOMEM : 0;
}

/* Return the index of string s (copied in when new), or -1 when out of
 * memory.  NULL is "". */
static int64_t str_of(struct hs_pprof *p, const char *s)
{
	if (!s)
		s = "";
	uint64_t h = hash_done(hash_bytes(0xcbf29ce484222325ull, s, strlen(s)));
	for (uint32_t i = idx_first(&p->str_idx, h); i; i = p->str_idx.next[i - 1])
		if (!strcmp(p->str[i - 1], s))
			return i - 1;
	char *copy = strdup(s);
	if (!copy || grow((void **)&p->str, &p->capstr, p->nstr + 1, sizeof(*p->str)) ||
	    idx_add(&p->str_idx, h, p->nstr)) {
		free(copy);
		return -1;
	}
	p->str[p->nstr] = copy;
	return (int64_t)p->nstr++;
}

/* Return the id of the function of frame f, made when new; 0 when f names
 * no function; -1 when out of memory.  A Python function has no system
 * name: pprof would take one equal to its name for a symbol to demangle,
 * and "<module>" demangles to "". */
static int64_t function_of(struct hs_pprof *p, const struct hs_frame *f)
{
	if (!f->function)
		return 0;
	const char *sys = f->python ? "" : f->system_name ? f->system_name : f->function;
	struct pp_function k = {str_of(p, f->function), str_of(p, sys), str_of(p, f->file)};
	if (k.name < 0 || k.system_name < 0 || k.file < 0)
		return -1;
	uint64_t h = hash_done(hash_bytes(0xcbf29ce484222325ull, &k, sizeof(k)));
	for (uint32_t i = idx_first(&p->fn_idx, h); i; i = p->fn_idx.next[i - 1])
		if (!memcmp(&p->fn[i - 1], &k, sizeof(k)))
			return i;
	if (grow((void **)&p->fn, &p->capfn, p->nfn + 1, sizeof(*p->fn)) || idx_add(&p->fn_idx, h, p->nfn))
		return -1;
	p->fn[p->nfn++] = k;
	return (int64_t)p->nfn;
}

/* Return the id of the mapping of module m (its executable segments),
 * made when new, or -1 when out of memory. */
static int64_t mapping_of(struct hs_pprof *p, const struct hs_module *m)
{
	char bid[2 * 64 + 1] = "";
	size_t nb = m->build_id_len < 64 ? m->build_id_len : 64;

	for (size_t i = 0; i < nb; i++)
		snprintf(bid + 2 * i, 3, "%02x", m->build_id[i]);
	struct pp_mapping k = {m->text_lo, m->text_hi, m->text_offset, str_of(p, m->path), str_of(p, bid)};
	if (k.file < 0 || k.build_id < 0)
		return -1;
	uint64_t h = hash_done(hash_bytes(0xcbf29ce484222325ull, &k, sizeof(k)));
	for (uint32_t i = idx_first(&p->map_idx, h); i; i = p->map_idx.next[i - 1])
		if (!memcmp(&p->map[i - 1], &k, sizeof(k)))
			return i;
	if (grow((void **)&p->map, &p->capmap, p->nmap + 1, sizeof(*p->map)) || idx_add(&p->map_idx, h, p->nmap))
		return -1;
	p->map[p->nmap++] = k;
	return (int64_t)p->nmap;
}

/* ---- the trace being added -------------------------------------------- */

/* Make t the trace being added: its module map (taken again every time:
 * a trace read anew may sit where a freed one was), and the main
 * executable's mapping first when the profile has none yet.  The mappings
 * found so far stay when it is the process added last.  Return 0 or
 * -ENOMEM. */
static int begin_trace(struct hs_pprof *p, struct hs_trace *t)
{
	size_t n;
	const struct hs_module *mods = hs_trace_modules(t, &n);
	int same = p->cur == t && p->cur_pid == t->pid && p->cur_t0 == t->t0 && p->nmods == n;

	p->mods = mods;
	if (same)
		return 0;
	p->cur = t;
	p->cur_pid = t->pid;
	p->cur_t0 = t->t0;
	p->nmods = n;
	p->serial++;
	free(p->mod_mapping);
	if (!(p->mod_mapping = calloc(p->nmods ? p->nmods : 1, sizeof(*p->mod_mapping)))) {
		p->cur = NULL;
		return -ENOMEM;
	}
	for (size_t i = 0; !p->nmap && t->exe && i < p->nmods; i++)
		if (p->mods[i].path && !strcmp(p->mods[i].path, t->exe)) {
			int64_t id = mapping_of(p, &p->mods[i]);
			if (id < 0)
				return -ENOMEM;
			p->mod_mapping[i] = (uint64_t)id;
		}
	return 0;
}

/* The mapping id of address addr in the trace being added: its module's,
 * when addr is in that module's executable segments; else 0.  -1 when out
 * of memory. */
static int64_t mapping_at(struct hs_pprof *p, uint64_t addr)
{
	size_t lo = 0, hi = p->nmods;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->mods[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return 0;
	const struct hs_module *m = &p->mods[lo - 1];
	if (addr >= m->hi || addr < m->text_lo || addr >= m->text_hi)
		return 0;
	if (!p->mod_mapping[lo - 1]) {
		int64_t id = mapping_of(p, m);
		if (id < 0)
			return -1;
		p->mod_mapping[lo - 1] = (uint64_t)id;
	}
	return (int64_t)p->mod_mapping[lo - 1];
}

/* ---- locations and samples -------------------------------------------- */

/*
 * Return the id of the location of frames fr[0..n): one return address,
 * its inlined functions first, or one Python frame (n = 1).  Made when
 * new; -1 when out of memory.  A native location is keyed by its mapping,
 * address and number of lines (the allocation site may begin inside an
 * inlined chain, after the wrappers); one outside any module by the trace
 * as well; a Python one by the trace and its code and line.
 */
static int64_t location_of(struct hs_pprof *p, const struct hs_frame *fr, int n)
{
	struct pp_location k = {0};

	if (fr[0].python) {
		/* its ip is the trace's code id and line: found without
		 * naming the function again */
		k.key[0] = 2;
		k.key[1] = p->serial;
		k.key[2] = fr[0].ip;
	} else {
		k.address = fr[0].ip ? fr[0].ip - 1 : 0; /* inside the call instruction */
		int64_t m = mapping_at(p, k.address);
		if (m < 0)
			return -1;
		k.mapping = (uint64_t)m;
		k.key[0] = (m ? 1 : 3) | (uint64_t)n << 8;
		k.key[1] = m ? (uint64_t)m : p->serial;
		k.key[2] = k.address;
	}
	uint64_t h = hash_done(hash_bytes(0xcbf29ce484222325ull, k.key, sizeof(k.key)));
	for (uint32_t i = idx_first(&p->loc_idx, h); i; i = p->loc_idx.next[i - 1])
		if (!memcmp(p->loc[i - 1].key, k.key, sizeof(k.key)))
			return i;
	k.line0 = (uint32_t)p->nline;
	for (int i = 0; i < n; i++) {
		int64_t fn = function_of(p, &fr[i]);
		if (fn < 0 || grow((void **)&p->line, &p->capline, p->nline + 1, sizeof(*p->line)))
			return -1;
		if (fn)
			p->line[p->nline++] = (struct pp_line){(uint64_t)fn, fr[i].line};
	}
	k.nline = (uint32_t)(p->nline - k.line0);
	if (grow((void **)&p->loc, &p->caploc, p->nloc + 1, sizeof(*p->loc)) || idx_add(&p->loc_idx, h, p->nloc))
		return -1;
	p->loc[p->nloc++] = k;
	return (int64_t)p->nloc;
}

/* How many frames from fr[0] share its location: the inlined ones and
 * the function they were inlined into (same return address). */
static int group_len(const struct hs_frame *fr, int n)
{
	int k = 1;

	while (k < n && fr[k - 1].inlined && !fr[k].python && fr[k].ip == fr[0].ip)
		k++;
	return k;
}

/*
 * Add values v (p->nvalues of them) to the sample of stack id of trace t
 * (the trace being added) with label kind (a string index, 0 for none):
 * the sample with the same locations, process and label if there is one.
 * Return 0 or -ENOMEM.
 */
static int add_stack(struct hs_pprof *p, struct hs_trace *t, uint32_t id, const int64_t *v, int64_t kind)
{
	const struct hs_stack *st = hs_trace_stack(t, id);
	uint32_t ids[PP_MAX_FRAMES];
	int nids = 0;

	for (int i = 0; i < st->n && nids < PP_MAX_FRAMES;) {
		int k = group_len(&st->frames[i], st->n - i);
		int64_t loc = location_of(p, &st->frames[i], k);
		if (loc < 0)
			return -ENOMEM;
		ids[nids++] = (uint32_t)loc;
		i += k;
	}
	int64_t pid = t->pid;
	uint64_t h = hash_bytes(0xcbf29ce484222325ull, ids, (size_t)nids * sizeof(*ids));
	h = hash_done(hash_bytes(hash_bytes(h, &pid, sizeof(pid)), &kind, sizeof(kind)));
	for (uint32_t i = idx_first(&p->sample_idx, h); i; i = p->sample_idx.next[i - 1]) {
		const struct pp_sample *s = &p->sample[i - 1];
		if (s->nloc == (uint32_t)nids && s->pid == pid && s->kind == kind &&
		    !memcmp(&p->locs[s->loc0], ids, (size_t)nids * sizeof(*ids))) {
			for (int j = 0; j < p->nvalues; j++)
				p->value[(size_t)(i - 1) * (size_t)p->nvalues + (size_t)j] += v[j];
			return 0;
		}
	}
	size_t ns = p->nsample;
	if (grow((void **)&p->locs, &p->caplocs, p->nlocs + (size_t)nids, sizeof(*p->locs)))
		return -ENOMEM;
	size_t capv = p->capsample;
	if (grow((void **)&p->sample, &p->capsample, ns + 1, sizeof(*p->sample)))
		return -ENOMEM;
	if (capv != p->capsample) {
		int64_t *nv = realloc(p->value, p->capsample * (size_t)p->nvalues * sizeof(*nv));
		if (!nv) {
			p->capsample = capv; /* value must keep pace with sample */
			return -ENOMEM;
		}
		p->value = nv;
	}
	if (idx_add(&p->sample_idx, h, ns))
		return -ENOMEM;
	memcpy(&p->locs[p->nlocs], ids, (size_t)nids * sizeof(*ids));
	p->sample[ns] = (struct pp_sample){(uint32_t)p->nlocs, (uint32_t)nids, pid, kind};
	memcpy(&p->value[ns * (size_t)p->nvalues], v, (size_t)p->nvalues * sizeof(*v));
	p->nlocs += (size_t)nids;
	p->nsample++;
	return 0;
}

/* Add a comment line.  Return 0 or -ENOMEM. */
__attribute__((format(printf, 2, 3))) static int comment(struct hs_pprof *p, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	int64_t s = str_of(p, buf);
	if (s < 0 || grow((void **)&p->comment, &p->capcomment, p->ncomment + 1, sizeof(*p->comment)))
		return -ENOMEM;
	p->comment[p->ncomment++] = s;
	return 0;
}

/* ---- the public side ----------------------------------------------------- */

void hs_pprof_free(struct hs_pprof *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nstr; i++)
		free(p->str[i]);
	free(p->str);
	struct pp_index *idx[] = {&p->str_idx, &p->fn_idx, &p->map_idx, &p->loc_idx, &p->sample_idx};
	for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++) {
		hashmap_free(&idx[i]->head);
		free(idx[i]->next);
	}
	free(p->fn);
	free(p->map);
	free(p->loc);
	free(p->line);
	free(p->sample);
	free(p->value);
	free(p->locs);
	free(p->comment);
	free(p->mod_mapping);
	free(p);
}

/* Add sample type name/unit.  Return 0 or -ENOMEM. */
static int add_type(struct hs_pprof *p, const char *name, const char *unit)
{
	int64_t n = str_of(p, name), u = str_of(p, unit);

	if (n < 0 || u < 0 || p->nvalues == PP_MAX_VALUES)
		return -ENOMEM;
	p->type_name[p->nvalues] = n;
	p->type_unit[p->nvalues++] = u;
	return 0;
}

struct hs_pprof *hs_pprof_new(enum hs_pprof_type type)
{
	struct hs_pprof *p = calloc(1, sizeof(*p));
	int rc = 0;

	if (!p)
		return NULL;
	p->type = type;
	struct pp_index *idx[] = {&p->str_idx, &p->fn_idx, &p->map_idx, &p->loc_idx, &p->sample_idx};
	for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++)
		rc |= hashmap_init(&idx[i]->head, 256);
	if (rc || str_of(p, "") != 0)
		goto err;
	if (type == HS_PPROF_HEAP) {
		/* pprof shows the last type unless told: inuse_space */
		rc = add_type(p, "alloc_objects", "count") || add_type(p, "alloc_space", "bytes") ||
		     add_type(p, "inuse_objects", "count") || add_type(p, "inuse_space", "bytes");
	} else if (type == HS_PPROF_LEAKS) {
		char name[64];
		for (int i = 0; i < HS_LEAK_KINDS && !rc; i++) {
			const char *k = hs_leak_kind_name(leak_order[i]);
			snprintf(name, sizeof(name), "%s_objects", k);
			rc = add_type(p, name, "count");
			snprintf(name, sizeof(name), "%s_space", k);
			rc = rc || add_type(p, name, "bytes");
		}
	} else {
		goto err;
	}
	p->s_space = str_of(p, "space");
	p->s_bytes = str_of(p, "bytes");
	p->s_pid = str_of(p, "pid");
	p->s_kind = str_of(p, "kind");
	if (rc || p->s_space < 0 || p->s_bytes < 0 || p->s_pid < 0 || p->s_kind < 0)
		goto err;
	return p;
err:
	hs_pprof_free(p);
	return NULL;
}

/* The wall-clock time of moment ts (CLOCK_MONOTONIC) of trace t. */
static int64_t wall_ns(const struct hs_trace *t, uint64_t ts)
{
	return (int64_t)(t->realtime + (ts > t->t0 ? ts - t->t0 : 0));
}

/* Note heap h of t, added with sign, in the profile's time and duration. */
static void note_time(struct hs_pprof *p, const struct hs_trace *t, const struct hs_heap *h, int sign)
{
	if (sign > 0) {
		p->have_end = 1;
		p->end_t0 = t->t0;
		p->end_pid = t->pid;
		p->end_ts = h->ts;
		p->time_ns = wall_ns(t, h->ts);
	} else {
		p->have_start = 1;
		p->start_t0 = t->t0;
		p->start_pid = t->pid;
		p->start_ts = h->ts;
	}
	if (!p->have_end)
		return;
	uint64_t begin = p->end_t0;
	if (p->have_start && p->start_t0 == p->end_t0 && p->start_pid == p->end_pid)
		begin = p->start_ts;
	p->duration_ns = p->end_ts > begin ? (int64_t)(p->end_ts - begin) : 0;
}

int hs_pprof_add_heap(struct hs_pprof *p, struct hs_trace *t, const struct hs_heap *h, int sign,
		      const struct hs_group *g)
{
	struct hs_stack_cost *c;
	int rc = 0;

	if (p->type != HS_PPROF_HEAP || !h->allocs || (sign != 1 && sign != -1))
		return -EINVAL;
	if (begin_trace(p, t))
		return -ENOMEM;
	long n = hs_heap_stacks(t, h, &c);
	if (n < 0)
		return -ENOMEM;
	for (long i = 0; i < n && !rc; i++) {
		if (!stats_passes(hs_trace_stack(t, c[i].stack), g))
			continue;
		int64_t v[4] = {sign * (int64_t)c[i].alloc_blocks, sign * (int64_t)c[i].alloc_bytes,
				sign * (int64_t)c[i].blocks, sign * (int64_t)c[i].bytes};
		rc = add_stack(p, t, c[i].stack, v, 0);
	}
	free(c);
	if (rc)
		return rc;
	note_time(p, t, h, sign);
	return comment(p, "%s%s: %s (pid %u): %s at %.3f s", sign < 0 ? "minus " : "", t->path,
		       t->exe ? t->exe : "?", t->pid, h->label, h->seconds);
}

int hs_pprof_add_leaks(struct hs_pprof *p, struct hs_trace *t, unsigned kinds)
{
	int col[HS_LEAK_KINDS];
	int64_t label[HS_LEAK_KINDS];

	if (p->type != HS_PPROF_LEAKS)
		return -EINVAL;
	if (begin_trace(p, t))
		return -ENOMEM;
	for (int i = 0; i < HS_LEAK_KINDS; i++) {
		col[leak_order[i]] = i;
		if ((label[i] = str_of(p, hs_leak_kind_name(i))) < 0)
			return -ENOMEM;
	}
	for (uint64_t i = 0; i < t->leaks.nrecords; i++) {
		const struct hs_loss_record *r = &t->leaks.records[i];
		if (r->suppressed >= 0 || r->kind < 0 || r->kind >= HS_LEAK_KINDS || !(kinds & (1u << r->kind)))
			continue;
		int64_t v[PP_MAX_VALUES] = {0};
		v[2 * col[r->kind]] = (int64_t)r->blocks;
		v[2 * col[r->kind] + 1] = (int64_t)r->bytes;
		if (add_stack(p, t, r->stack, v, label[r->kind]))
			return -ENOMEM;
	}
	p->kinds |= kinds;
	/* when the scan ran; without one, the trace's last snapshot */
	uint64_t ts = t->leaks.scan_ts;
	if (!ts)
		ts = t->nsnapshots ? t->snapshots[t->nsnapshots - 1].ts : t->t0;
	p->time_ns = wall_ns(t, ts);
	p->duration_ns = ts > t->t0 ? (int64_t)(ts - t->t0) : 0;
	return comment(p, "%s: %s (pid %u): %s", t->path, t->exe ? t->exe : "?", t->pid,
		       t->leaks.scanned ? "leaks of the last pointer scan" : "no complete pointer scan");
}

/* ---- writing ------------------------------------------------------------------ */

/* A protobuf-c output buffer that deflates what it is given into a gzip
 * stream on a FILE. */
struct gz_buffer {
	ProtobufCBuffer base;
	z_stream z;
	FILE *out;
	int err; /* deflate or fwrite failed */
	unsigned char chunk[1 << 16];
};

/* Deflate z's input with flush mode flush, writing what comes out. */
static void gz_pump(struct gz_buffer *b, int flush)
{
	int rc;

	do {
		b->z.next_out = b->chunk;
		b->z.avail_out = sizeof(b->chunk);
		rc = deflate(&b->z, flush);
		if (rc == Z_STREAM_ERROR) {
			b->err = 1;
			return;
		}
		size_t n = sizeof(b->chunk) - b->z.avail_out;
		if (n && fwrite(b->chunk, 1, n, b->out) != n)
			b->err = 1;
	} while (!b->err && (flush == Z_FINISH ? rc != Z_STREAM_END : b->z.avail_out == 0));
}

static void gz_append(ProtobufCBuffer *buffer, size_t len, const uint8_t *data)
{
	struct gz_buffer *b = (struct gz_buffer *)buffer;

	while (len && !b->err) {
		uInt n = len > (1u << 30) ? 1u << 30 : (uInt)len;
		b->z.next_in = (Bytef *)data;
		b->z.avail_in = n;
		gz_pump(b, Z_NO_FLUSH);
		data += n;
		len -= n;
	}
}

/* The message's parts, laid out over the tables for packing. */
struct pp_msg {
	Perftools__Profiles__ValueType types[PP_MAX_VALUES], period_type;
	Perftools__Profiles__ValueType *type_ptr[PP_MAX_VALUES];
	Perftools__Profiles__Mapping *map, **map_ptr;
	Perftools__Profiles__Function *fn, **fn_ptr;
	Perftools__Profiles__Location *loc, **loc_ptr;
	Perftools__Profiles__Line *line, **line_ptr;
	Perftools__Profiles__Sample *sample, **sample_ptr;
	Perftools__Profiles__Label *label, **label_ptr;
	uint64_t *locs;
};

static void msg_free(struct pp_msg *m)
{
	free(m->map);
	free(m->map_ptr);
	free(m->fn);
	free(m->fn_ptr);
	free(m->loc);
	free(m->loc_ptr);
	free(m->line);
	free(m->line_ptr);
	free(m->sample);
	free(m->sample_ptr);
	free(m->label);
	free(m->label_ptr);
	free(m->locs);
}

/* Allocate m's arrays for p.  Return 0 or -ENOMEM. */
static int msg_alloc(struct pp_msg *m, const struct hs_pprof *p)
{
	size_t nlabel = 2 * p->nsample;

#define ALLOC(a, n) ((a) = calloc((n) ? (n) : 1, sizeof(*(a))))
	if (!ALLOC(m->map, p->nmap) || !ALLOC(m->map_ptr, p->nmap) || !ALLOC(m->fn, p->nfn) ||
	    !ALLOC(m->fn_ptr, p->nfn) || !ALLOC(m->loc, p->nloc) || !ALLOC(m->loc_ptr, p->nloc) ||
	    !ALLOC(m->line, p->nline) || !ALLOC(m->line_ptr, p->nline) || !ALLOC(m->sample, p->nsample) ||
	    !ALLOC(m->sample_ptr, p->nsample) || !ALLOC(m->label, nlabel) || !ALLOC(m->label_ptr, nlabel) ||
	    !ALLOC(m->locs, p->nlocs))
		return -ENOMEM;
#undef ALLOC
	return 0;
}

/* Lay out the mappings, functions and locations of p in m. */
static void msg_code(struct pp_msg *m, const struct hs_pprof *p)
{
	for (size_t i = 0; i < p->nmap; i++) {
		const struct pp_mapping *s = &p->map[i];
		Perftools__Profiles__Mapping *d = &m->map[i];
		*d = (Perftools__Profiles__Mapping)PERFTOOLS__PROFILES__MAPPING__INIT;
		d->id = i + 1;
		d->memory_start = s->start;
		d->memory_limit = s->limit;
		d->file_offset = s->offset;
		d->filename = s->file;
		d->build_id = s->build_id;
		m->map_ptr[i] = d;
	}
	for (size_t i = 0; i < p->nfn; i++) {
		Perftools__Profiles__Function *d = &m->fn[i];
		*d = (Perftools__Profiles__Function)PERFTOOLS__PROFILES__FUNCTION__INIT;
		d->id = i + 1;
		d->name = p->fn[i].name;
		d->system_name = p->fn[i].system_name;
		d->filename = p->fn[i].file;
		m->fn_ptr[i] = d;
	}
	for (size_t i = 0; i < p->nline; i++) {
		Perftools__Profiles__Line *d = &m->line[i];
		*d = (Perftools__Profiles__Line)PERFTOOLS__PROFILES__LINE__INIT;
		d->function_id = p->line[i].function;
		d->line = p->line[i].line;
		m->line_ptr[i] = d;
	}
	for (size_t i = 0; i < p->nloc; i++) {
		const struct pp_location *s = &p->loc[i];
		Perftools__Profiles__Location *d = &m->loc[i];
		*d = (Perftools__Profiles__Location)PERFTOOLS__PROFILES__LOCATION__INIT;
		d->id = i + 1;
		d->mapping_id = s->mapping;
		d->address = s->address;
		d->n_line = s->nline;
		d->line = &m->line_ptr[s->line0];
		m->loc_ptr[i] = d;
		/* a mapping has what its locations have: symbols, files, lines;
		 * lines come from DWARF, which expands inlined frames too */
		if (!s->mapping)
			continue;
		Perftools__Profiles__Mapping *map = &m->map[s->mapping - 1];
		for (uint32_t j = 0; j < s->nline; j++) {
			const struct pp_line *l = &p->line[s->line0 + j];
			map->has_functions = 1;
			map->has_filenames |= p->fn[l->function - 1].file != 0;
			map->has_line_numbers |= l->line != 0;
			map->has_inline_frames |= l->line != 0;
		}
	}
}

/* Whether every value of sample i is 0 (a diff's unchanged stack). */
static int sample_is_zero(const struct hs_pprof *p, size_t i)
{
	for (int j = 0; j < p->nvalues; j++)
		if (p->value[i * (size_t)p->nvalues + (size_t)j])
			return 0;
	return 1;
}

/* Lay out the samples of p in m, but those whose values are all 0.
 * Return how many. */
static size_t msg_samples(struct pp_msg *m, const struct hs_pprof *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->nlocs; i++)
		m->locs[i] = p->locs[i];
	for (size_t i = 0, nl = 0; i < p->nsample; i++) {
		const struct pp_sample *s = &p->sample[i];
		if (sample_is_zero(p, i))
			continue;
		Perftools__Profiles__Sample *d = &m->sample[n];
		*d = (Perftools__Profiles__Sample)PERFTOOLS__PROFILES__SAMPLE__INIT;
		d->n_location_id = s->nloc;
		d->location_id = &m->locs[s->loc0];
		d->n_value = (size_t)p->nvalues;
		d->value = &p->value[i * (size_t)p->nvalues];
		d->label = &m->label_ptr[nl];
		Perftools__Profiles__Label *l = &m->label[nl];
		*l = (Perftools__Profiles__Label)PERFTOOLS__PROFILES__LABEL__INIT;
		l->key = p->s_pid;
		l->num = s->pid;
		m->label_ptr[nl++] = l;
		d->n_label = 1;
		if (s->kind) {
			l = &m->label[nl];
			*l = (Perftools__Profiles__Label)PERFTOOLS__PROFILES__LABEL__INIT;
			l->key = p->s_kind;
			l->str = s->kind;
			m->label_ptr[nl++] = l;
			d->n_label = 2;
		}
		m->sample_ptr[n++] = d;
	}
	return n;
}

/* The string index of the default sample type. */
static int64_t default_type(const struct hs_pprof *p)
{
	if (p->type == HS_PPROF_HEAP)
		return p->type_name[3]; /* inuse_space */
	for (int i = 0; i < HS_LEAK_KINDS; i++)
		if (p->kinds & (1u << leak_order[i]))
			return p->type_name[2 * i + 1]; /* <kind>_space */
	return p->type_name[1];
}

int hs_render_pprof(FILE *out, const struct hs_pprof *p)
{
	Perftools__Profiles__Profile pr = PERFTOOLS__PROFILES__PROFILE__INIT;
	struct pp_msg m = {0};
	struct gz_buffer *b = NULL;
	int rc = -ENOMEM;

	if (msg_alloc(&m, p) || !(b = calloc(1, sizeof(*b))))
		goto out;
	for (int i = 0; i < p->nvalues; i++) {
		m.types[i] = (Perftools__Profiles__ValueType)PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
		m.types[i].type = p->type_name[i];
		m.types[i].unit = p->type_unit[i];
		m.type_ptr[i] = &m.types[i];
	}
	m.period_type = (Perftools__Profiles__ValueType)PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	m.period_type.type = p->s_space;
	m.period_type.unit = p->s_bytes;
	msg_code(&m, p);
	pr.n_sample = msg_samples(&m, p);
	pr.n_sample_type = (size_t)p->nvalues;
	pr.sample_type = m.type_ptr;
	pr.sample = m.sample_ptr;
	pr.n_mapping = p->nmap;
	pr.mapping = m.map_ptr;
	pr.n_location = p->nloc;
	pr.location = m.loc_ptr;
	pr.n_function = p->nfn;
	pr.function = m.fn_ptr;
	pr.n_string_table = p->nstr;
	pr.string_table = p->str;
	pr.time_nanos = p->time_ns;
	pr.duration_nanos = p->duration_ns;
	pr.period_type = &m.period_type;
	pr.period = 1; /* every allocation is recorded: nothing is sampled */
	pr.n_comment = p->ncomment;
	pr.comment = p->comment;
	pr.default_sample_type = default_type(p);

	/* gzip (windowBits 15 + 16): pprof's own files are gzip'ed, and
	 * Pyroscope and Parca accept them so */
	b->base.append = gz_append;
	b->out = out;
	if (deflateInit2(&b->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		goto out;
	perftools__profiles__profile__pack_to_buffer(&pr, &b->base);
	b->z.next_in = NULL;
	b->z.avail_in = 0;
	if (!b->err)
		gz_pump(b, Z_FINISH);
	deflateEnd(&b->z);
	rc = b->err || fflush(out) || ferror(out) ? -EIO : 0;
out:
	free(b);
	msg_free(&m);
	return rc;
}
