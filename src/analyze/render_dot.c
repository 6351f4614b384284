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

/*
 * The retainer paths as objgraph's show_backrefs draws them: a node per
 * root (a box) and per site (its blocks, bytes and retained bytes), the
 * targets filled, an edge per hop labelled with its offsets.  Paths that
 * share a root or a site share its node.
 */
void render_dot_retainers(FILE *out, struct hs_trace *t, const struct hs_retainers *r)
{
	(void)t;
	fprintf(out, "digraph retainers {\n  rankdir=LR;\n  node [shape=ellipse, fontname=\"monospace\"];\n");
	for (size_t i = 0; i < r->ntargets; i++) {
		const struct hs_retainer_target *tg = &r->targets[i];
		for (size_t k = 0; k < tg->npaths; k++) {
			const struct hs_retainer_path *p = &tg->paths[k];
			fprintf(out, "  \"");
			dot_escape(out, p->root.name);
			fprintf(out, "\" [shape=box, style=bold];\n");
			for (int h = 0; h < p->nhops; h++) {
				const struct hs_retainer_hop *hop = &p->hops[h];
				fprintf(out, "  \"");
				dot_escape(out, hop->site);
				fprintf(out, "\" [label=\"");
				dot_escape(out, hop->site);
				fprintf(out, "\\n%llu blocks, %llu B\\nretaining %llu B\"%s];\n", (unsigned long long)hop->blocks,
					(unsigned long long)hop->bytes, (unsigned long long)hop->retained,
					h + 1 == p->nhops ? ", style=filled, fillcolor=\"#ffd0a0\"" : "");
				fprintf(out, "  \"");
				dot_escape(out, h ? p->hops[h - 1].site : p->root.name);
				fprintf(out, "\" -> \"");
				dot_escape(out, hop->site);
				if (hop->off_min == hop->off_max)
					fprintf(out, "\" [label=\"+%llu\"];\n", (unsigned long long)hop->off_min);
				else
					fprintf(out, "\" [label=\"+%llu..+%llu\"];\n", (unsigned long long)hop->off_min,
						(unsigned long long)hop->off_max);
				if (hop->depth > 1) {
					fprintf(out, "  \"");
					dot_escape(out, hop->site);
					fprintf(out, "\" -> \"");
					dot_escape(out, hop->site);
					fprintf(out, "\" [label=\"+%llu (chains of up to %llu)\", style=dashed];\n",
						(unsigned long long)hop->link_min, (unsigned long long)hop->depth);
				}
			}
		}
	}
	fprintf(out, "}\n");
}
