/*
 * render_dot.c - Graphviz: the leaked cycles of traces as one digraph, a
 * cluster per cycle, a node per member block (its allocation site, size
 * and class), an edge per pointer between members with its offset.
 */
#include "analyze/render.h"

#include <stdlib.h>

/* Write s inside a dot string, '"' and '\' escaped. */
static void dot_escape(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		fputc(*s, out);
	}
}

/* The cycles of trace t, the index-th of the graph. */
static void dot_trace(FILE *out, struct hs_trace *t, int index, int full)
{
	const struct hs_leaks *l = &t->leaks;

	for (long i = 0; i < l->ncycles; i++) {
		const struct hs_cycle *c = &l->cycles[i];
		fprintf(out, "  subgraph cluster_%d_%ld {\n    label=\"pid %u: leaked cycle %ld (%u blocks, %llu bytes)\";\n",
			index, i, t->pid, i + 1, c->n, (unsigned long long)c->bytes);
		for (uint32_t k = 0; k < c->n; k++) {
			const struct hs_cycle_member *m = &c->members[k];
			fprintf(out, "    b%d_%u [label=\"", index, m->block);
			char *site = render_site(t, m->stack, full);
			dot_escape(out, site ? site : "?");
			free(site);
			fprintf(out, "\\n%llu bytes (%s)\"];\n", (unsigned long long)m->size, hs_leak_kind_name(m->kind));
		}
		for (uint32_t e = 0; e < c->nedges; e++)
			fprintf(out, "    b%d_%u -> b%d_%u [label=\"+%u\"];\n", index, c->members[c->edges[e].from].block,
				index, c->members[c->edges[e].to].block, c->edges[e].offset);
		fprintf(out, "  }\n");
	}
}

void render_dot_cycles(FILE *out, struct hs_trace *const *t, int n, int full_names)
{
	fprintf(out, "digraph leaked_cycles {\n  node [shape=box, fontname=\"monospace\"];\n");
	for (int i = 0; i < n; i++)
		dot_trace(out, t[i], i, full_names);
	fprintf(out, "}\n");
}
