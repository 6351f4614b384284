/*
 * leaks.c - one trace to a leak report.
 */
#define _GNU_SOURCE
#include "analyze/leaks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/frames.h"
#include "util/hashmap.h"

#define MAX_SYM_FRAMES 256 /* frames of one stack after inline expansion */

static int keep_stack(struct leak_report *r, const struct trace_item *it)
{
	uint32_t id = it->stack.id;

	if (id >= (1u << 26))
		return 0;
	if (id >= r->nstacks) {
		uint32_t n = r->nstacks ? r->nstacks : 1024;
		while (n <= id)
			n *= 2;
		uint64_t **ips = realloc(r->ips, n * sizeof(*ips));
		if (!ips)
			return -1;
		r->ips = ips;
		uint32_t *depth = realloc(r->depth, n * sizeof(*depth));
		if (!depth)
			return -1;
		r->depth = depth;
		memset(r->ips + r->nstacks, 0, (n - r->nstacks) * sizeof(*ips));
		memset(r->depth + r->nstacks, 0, (n - r->nstacks) * sizeof(*depth));
		r->nstacks = n;
	}
	if (r->ips[id])
		return 0;
	r->ips[id] = malloc((it->stack.depth ? it->stack.depth : 1) * sizeof(uint64_t));
	if (!r->ips[id])
		return -1;
	memcpy(r->ips[id], it->stack.ips, it->stack.depth * sizeof(uint64_t));
	r->depth[id] = it->stack.depth;
	return 0;
}

static int is_shim_frame(const struct sym_frame *f)
{
	const char *b = f->module ? strrchr(f->module, '/') : NULL;
	return b && !strncmp(b + 1, "libheapsnap", 11);
}

const struct leak_stack *leaks_stack(struct leak_report *r, uint32_t id)
{
	static struct leak_stack empty;
	struct sym_frame buf[MAX_SYM_FRAMES];

	if (!r->sym_stacks)
		r->sym_stacks = calloc(r->nstacks ? r->nstacks : 1, sizeof(*r->sym_stacks));
	if (!r->sym_stacks || id >= r->nstacks || !r->ips[id])
		return &empty;
	struct leak_stack *s = &r->sym_stacks[id];
	if (s->frames || s->all)
		return s;
	int n = 0;
	for (uint32_t i = 0; i < r->depth[id] && n < MAX_SYM_FRAMES; i++)
		n += sym_lookup(r->sym, r->ips[id][i], buf + n, MAX_SYM_FRAMES - n);
	s->all = n;
	/* The allocation site: the first frame outside allocator wrappers
	 * (if every frame is a wrapper, show them all). */
	int skip = 0;
	while (skip < n && frames_is_wrapper(&buf[skip]))
		skip++;
	if (skip == n)
		skip = 0;
	s->frames = malloc((size_t)(n - skip + 1) * sizeof(*s->frames));
	if (!s->frames)
		return s;
	/* The shim's own frames (main's wrapper, for one) are not the
	 * program's: leave them out wherever they are. */
	for (int i = skip; i < n; i++)
		if (!is_shim_frame(&buf[i]))
			s->frames[s->n++] = buf[i];
	return s;
}

static const char *base_name(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;
	return s ? s + 1 : p;
}

const char *leaks_site(struct leak_report *r, uint32_t stack, char *buf, size_t cap)
{
	const struct leak_stack *s = leaks_stack(r, stack);

	if (!s->n) {
		snprintf(buf, cap, "(no stack)");
		return buf;
	}
	const struct sym_frame *f = &s->frames[0];
	if (f->function && f->file && f->line)
		snprintf(buf, cap, "%s %s:%u", f->function, base_name(f->file), f->line);
	else if (f->function)
		snprintf(buf, cap, "%s (%s)", f->function, base_name(f->module ? f->module : "?"));
	else
		snprintf(buf, cap, "%s+0x%llx", base_name(f->module ? f->module : "?"), (unsigned long long)f->offset);
	return buf;
}

static int by_size(const void *a, const void *b)
{
	const struct leak_group *x = a, *y = b;
	if ((x->suppressed >= 0) != (y->suppressed >= 0))
		return x->suppressed >= 0 ? 1 : -1;
	if (x->kind != y->kind)
		return y->kind - x->kind; /* definite first */
	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	if (x->blocks != y->blocks)
		return x->blocks < y->blocks ? 1 : -1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

/* Group the classified blocks by (kind, stack) and apply suppressions. */
static int group(struct leak_report *r, const struct suppressions *sup)
{
	struct hashmap idx;

	if (hashmap_init(&idx, 256))
		return -1;
	for (uint64_t b = 0; b < r->g.n; b++) {
		int kind = r->g.kind[b];
		uint64_t key = ((uint64_t)r->g.stack[b] << 3 | (uint64_t)kind) + 1;
		uint64_t *v = hashmap_get(&idx, key);
		r->total[kind][0]++;
		r->total[kind][1] += r->g.size[b];
		if (!v) {
			struct leak_group *ng = realloc(r->groups, (r->ngroups + 1) * sizeof(*ng));
			if (!ng || hashmap_put(&idx, key, r->ngroups)) {
				hashmap_free(&idx);
				return -1;
			}
			r->groups = ng;
			ng[r->ngroups] = (struct leak_group){kind, r->g.stack[b], 0, 0, -1};
			v = hashmap_get(&idx, key);
			r->ngroups++;
		}
		r->groups[*v].blocks++;
		r->groups[*v].bytes += r->g.size[b];
	}
	hashmap_free(&idx);
	for (uint64_t i = 0; sup && i < r->ngroups; i++) {
		struct leak_group *gr = &r->groups[i];
		if (gr->kind == LEAK_REACHABLE)
			continue;
		/* match against every frame, wrappers included */
		struct sym_frame all[MAX_SYM_FRAMES];
		int n = 0;
		for (uint32_t k = 0; gr->stack < r->nstacks && r->ips[gr->stack] && k < r->depth[gr->stack] &&
				     n < MAX_SYM_FRAMES;
		     k++)
			n += sym_lookup(r->sym, r->ips[gr->stack][k], all + n, MAX_SYM_FRAMES - n);
		gr->suppressed = suppress_match(sup, all, n);
		if (gr->suppressed >= 0) {
			struct suppression *e = &sup->s[gr->suppressed];
			e->leaks++;
			e->blocks += gr->blocks;
			e->bytes += gr->bytes;
			r->suppressed[0] += gr->blocks;
			r->suppressed[1] += gr->bytes;
			/* as Valgrind's summary: a suppressed block is in no class */
			r->total[gr->kind][0] -= gr->blocks;
			r->total[gr->kind][1] -= gr->bytes;
		}
	}
	qsort(r->groups, r->ngroups, sizeof(*r->groups), by_size);
	return 0;
}

int leaks_collect(const char *path, const struct suppressions *sup, struct leak_report *r, struct hs_diag *d)
{
	struct trace_item it;
	int rc;

	memset(r, 0, sizeof(*r));
	graph_init(&r->g);
	struct trace_reader *rd = reader_open(path, d);
	if (!rd)
		return -1;
	r->path = strdup(path);
	r->pid = reader_header(rd)->pid;
	r->ppid = reader_header(rd)->ppid;
	r->sym = sym_new();
	if (!r->sym) {
		diag_set(d, "%s: out of memory", path);
		reader_close(rd);
		return -1;
	}
	int in_scan = 0;
	while ((rc = reader_next(rd, &it)) > 0) {
		switch (it.type) {
		case ITEM_PROCESS:
			free(r->exe);
			r->exe = strndup(it.process.exe.p, it.process.exe.n);
			break;
		case ITEM_MODULES:
			sym_add_modules(r->sym, &it);
			break;
		case ITEM_STACK:
			rc = keep_stack(r, &it);
			break;
		case ITEM_SCAN:
			in_scan = 1;
			r->scanned = 0;
			rc = graph_add(&r->g, &it);
			break;
		case ITEM_SCAN_END:
			if (in_scan)
				r->scanned = 1;
			in_scan = 0;
			rc = graph_add(&r->g, &it);
			break;
		case ITEM_SCAN_BLOCK:
		case ITEM_SCAN_ROOT:
		case ITEM_SCAN_EDGE:
			if (in_scan)
				rc = graph_add(&r->g, &it);
			break;
		}
		if (rc < 0) {
			diag_set(d, "%s: out of memory", path);
			break;
		}
		rc = 1;
	}
	r->truncated = reader_truncated(rd);
	reader_close(rd);
	if (rc < 0)
		return -1;
	if (!r->scanned)
		return 0; /* no complete scan: nothing to classify */
	if (graph_classify(&r->g) || (r->ncycles = graph_cycles(&r->g, &r->cycles)) < 0 || group(r, sup)) {
		diag_set(d, "%s: out of memory", path);
		return -1;
	}
	return 0;
}

void leaks_free(struct leak_report *r)
{
	free(r->path);
	free(r->exe);
	graph_free(&r->g);
	if (r->sym)
		sym_free(r->sym);
	for (uint32_t i = 0; i < r->nstacks; i++) {
		free(r->ips[i]);
		if (r->sym_stacks)
			free(r->sym_stacks[i].frames);
	}
	free(r->ips);
	free(r->depth);
	free(r->sym_stacks);
	free(r->groups);
	graph_free_cycles(r->cycles, r->ncycles > 0 ? r->ncycles : 0);
	memset(r, 0, sizeof(*r));
}
