/*
 * leaks.c - one trace to a leak report.
 */
#define _GNU_SOURCE
#include "analyze/leaks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hashmap.h"

const struct sym_stack *leaks_stack(struct leak_report *r, uint32_t id)
{
	return stacks_get(&r->st, id);
}

const char *leaks_site(struct leak_report *r, uint32_t stack, char *buf, size_t cap)
{
	return stacks_site(&r->st, stack, buf, cap);
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
		struct sym_frame all[STACKS_MAX_FRAMES];
		int n = stacks_all_frames(&r->st, gr->stack, all, STACKS_MAX_FRAMES);
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
	if (r->ngroups > 1) /* groups is NULL when empty: qsort's pointer must not be */
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
	if (stacks_init(&r->st)) {
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
		case ITEM_STACK:
		case ITEM_PYCODE:
			rc = stacks_add(&r->st, &it);
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
	stacks_free(&r->st);
	free(r->groups);
	graph_free_cycles(r->cycles, r->ncycles > 0 ? r->ncycles : 0);
	memset(r, 0, sizeof(*r));
}
