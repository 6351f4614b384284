/*
 * stacks.c - stack table and symbolized allocation sites.
 */
#define _GNU_SOURCE
#include "analyze/stacks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int stacks_init(struct stack_table *t, struct sym_files *files, const struct frames *w)
{
	memset(t, 0, sizeof(*t));
	t->wrappers = w;
	t->sym = sym_new_in(files);
	return t->sym ? 0 : -ENOMEM;
}

void stacks_free(struct stack_table *t)
{
	sym_free(t->sym);
	for (uint32_t i = 0; i < t->n; i++) {
		free(t->ips[i]);
		if (t->symbolized)
			free((void *)t->symbolized[i].frames);
	}
	free(t->ips);
	free(t->depth);
	free(t->era);
	free(t->symbolized);
	memset(t, 0, sizeof(*t));
}

void stacks_keep_only(struct stack_table *t, const uint8_t *used)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < t->n; i++) {
		if (used[i] && t->ips[i]) {
			n = i + 1;
			continue;
		}
		free(t->ips[i]);
		t->ips[i] = NULL;
		t->depth[i] = 0;
		if (t->symbolized) {
			free((void *)t->symbolized[i].frames);
			t->symbolized[i] = (struct hs_stack){0};
		}
	}
	if (n == t->n)
		return;
	/* Shrinking: the tables only get smaller, so a failed realloc keeps
	 * the larger block, which is as good. */
	for (uint32_t i = n; t->symbolized && i < t->n; i++)
		free((void *)t->symbolized[i].frames);
	free(t->symbolized);
	t->symbolized = NULL; /* sized by n: redone on demand */
	if (!n) {
		free(t->ips);
		free(t->depth);
		free(t->era);
		t->ips = NULL;
		t->depth = NULL;
		t->era = NULL;
		t->n = 0;
		return;
	}
	uint64_t **ips = realloc(t->ips, n * sizeof(*ips));
	uint32_t *depth = realloc(t->depth, n * sizeof(*depth));
	uint32_t *era = realloc(t->era, n * sizeof(*era));
	if (ips)
		t->ips = ips;
	if (depth)
		t->depth = depth;
	if (era)
		t->era = era;
	t->n = n;
}

/* Keep the ips of an ITEM_STACK (the first time its id is seen). */
static int keep(struct stack_table *t, const struct trace_item *it)
{
	uint32_t id = it->stack.id;

	if (id >= (1u << 26))
		return 0;
	if (id >= t->n) {
		uint32_t n = t->n ? t->n : 1024;
		while (n <= id)
			n *= 2;
		uint64_t **ips = realloc(t->ips, n * sizeof(*ips));
		if (!ips)
			return -ENOMEM;
		t->ips = ips;
		uint32_t *depth = realloc(t->depth, n * sizeof(*depth));
		if (!depth)
			return -ENOMEM;
		t->depth = depth;
		uint32_t *era = realloc(t->era, n * sizeof(*era));
		if (!era)
			return -ENOMEM;
		t->era = era;
		memset(t->ips + t->n, 0, (n - t->n) * sizeof(*ips));
		memset(t->depth + t->n, 0, (n - t->n) * sizeof(*depth));
		memset(t->era + t->n, 0, (n - t->n) * sizeof(*era));
		/* sized by n: redone on demand */
		for (uint32_t i = 0; t->symbolized && i < t->n; i++)
			free((void *)t->symbolized[i].frames);
		free(t->symbolized);
		t->symbolized = NULL;
		t->n = n;
	}
	if (t->ips[id])
		return 0;
	t->ips[id] = malloc((it->stack.depth ? it->stack.depth : 1) * sizeof(uint64_t));
	if (!t->ips[id])
		return -ENOMEM;
	memcpy(t->ips[id], it->stack.ips, it->stack.depth * sizeof(uint64_t));
	t->depth[id] = it->stack.depth;
	/* its frames are in the modules mapped when it was recorded: those
	 * of the MODULES records before it */
	t->era[id] = sym_era(t->sym);
	return 0;
}

int stacks_add(struct stack_table *t, const struct trace_item *it)
{
	if (it->type == ITEM_MODULES) {
		sym_add_modules(t->sym, it);
		return 0;
	}
	if (it->type == ITEM_PYCODE) {
		sym_add_pycode(t->sym, it);
		return 0;
	}
	return it->type == ITEM_STACK ? keep(t, it) : 0;
}

int stacks_all_frames(struct stack_table *t, uint32_t id, struct hs_frame *out, int max)
{
	int n = 0;

	if (id >= t->n || !t->ips[id])
		return 0;
	for (uint32_t i = 0; i < t->depth[id] && n < max; i++)
		n += sym_lookup_at(t->sym, t->ips[id][i], t->era[id], out + n, max - n);
	return n;
}

static int is_shim_frame(const struct hs_frame *f)
{
	const char *b = f->module ? strrchr(f->module, '/') : NULL;
	return b && !strncmp(b + 1, "libheapsnap", 11);
}

const struct hs_stack *stacks_get(struct stack_table *t, uint32_t id)
{
	static const struct hs_stack empty; /* read-only: shared by every table */
	struct hs_frame buf[STACKS_MAX_FRAMES];

	if (!t->symbolized && t->n)
		t->symbolized = calloc(t->n, sizeof(*t->symbolized));
	if (!t->symbolized || id >= t->n || !t->ips[id])
		return &empty;
	struct hs_stack *s = &t->symbolized[id];
	if (s->frames || s->all)
		return s;
	int n = stacks_all_frames(t, id, buf, STACKS_MAX_FRAMES);
	s->all = n;
	/* The allocation site: the first frame outside allocator wrappers
	 * (if every frame is a wrapper, show them all).  The interpreter's
	 * own frames inside a Python frame are wrappers too. */
	int first_py = 0;
	while (first_py < n && !buf[first_py].python)
		first_py++;
	int skip = 0;
	while (skip < n && (frames_is_wrapper(t->wrappers, &buf[skip]) ||
			    (skip < first_py && first_py < n && frames_is_interpreter(t->wrappers, &buf[skip]))))
		skip++;
	if (skip == n)
		skip = 0;
	struct hs_frame *frames = malloc((size_t)(n - skip + 1) * sizeof(*frames));
	if (!frames)
		return s;
	/* The shim's own frames (main's wrapper, for one) are not the
	 * program's: leave them out wherever they are. */
	for (int i = skip; i < n; i++)
		if (!is_shim_frame(&buf[i]))
			frames[s->n++] = buf[i];
	s->frames = frames;
	return s;
}

static const char *base_name(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;
	return s ? s + 1 : p;
}

const char *stacks_site(struct stack_table *t, uint32_t id, char *buf, size_t cap)
{
	const struct hs_stack *s = stacks_get(t, id);

	if (!s->n) {
		snprintf(buf, cap, "(no stack)");
		return buf;
	}
	const struct hs_frame *f = &s->frames[0];
	if (f->function && f->file && f->line)
		snprintf(buf, cap, "%s %s:%u", f->function, base_name(f->file), f->line);
	else if (f->function)
		snprintf(buf, cap, "%s (%s)", f->function, base_name(f->module ? f->module : "?"));
	else
		snprintf(buf, cap, "%s+0x%llx", base_name(f->module ? f->module : "?"), (unsigned long long)f->offset);
	return buf;
}
