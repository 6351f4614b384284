/*
 * cmd_leaks.c - `heapsnap leaks` and `heapsnap cycles`: the leak reports of
 * one or more traces, as text (LeakSanitizer's loss records with Valgrind's
 * summary), JSON, SARIF or JUnit (ci_report.c), or for cycles Graphviz dot.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/leaks.h"
#include "ci_report.h"
#include "cli.h"
#include "util/json.h"

struct leaks_opts {
	const char *format;	  /* text, json, dot (cycles) */
	unsigned kinds;		  /* bit per enum leak_kind */
	const char *suppressions; /* file, or NULL */
	int cycles_only;	  /* the cycles command */
};


int cli_parse_kinds(const char *s, unsigned *out)
{
	unsigned k = 0;
	char *copy = strdup(s), *save = NULL;

	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int found = 0;
		for (int i = 0; i < LEAK_KINDS; i++)
			if (!strcmp(t, leak_kind_name(i))) {
				k |= 1u << i;
				found = 1;
			}
		if (!strcmp(t, "all")) {
			k = (1u << LEAK_KINDS) - 1;
			found = 1;
		}
		if (!found) {
			free(copy);
			return -1;
		}
	}
	free(copy);
	*out = k;
	return k ? 0 : -1;
}

void cli_print_stack(FILE *out, const struct sym_stack *s)
{
	if (!s->n)
		fprintf(out, "    <no stack: allocated from inside a signal handler or before the shim could unwind>\n");
	for (int i = 0; i < s->n; i++) {
		const struct sym_frame *f = &s->frames[i];
		if (f->python) /* a Python frame has no address */
			fprintf(out, "    #%d [python] in %s", i, f->function ? f->function : "???");
		else
			fprintf(out, "    #%d 0x%llx in %s", i, (unsigned long long)f->ip, f->function ? f->function : "???");
		if (f->file && f->line)
			fprintf(out, " %s:%u", f->file, f->line);
		else if (f->module)
			fprintf(out, " (%s+0x%llx)", f->module, (unsigned long long)f->offset);
		if (f->inlined)
			fprintf(out, " (inlined)");
		fprintf(out, "\n");
	}
}

static void print_cycle(struct leak_report *r, const struct leaked_cycle *c, long i)
{
	char a[512], b[512];

	printf("Leaked cycle #%ld: %u block(s), %llu byte(s), nothing outside points to it:\n", i + 1, c->n,
	       (unsigned long long)c->bytes);
	for (uint32_t k = 0; k < c->n; k++) {
		uint32_t m = c->members[k];
		printf("    block %u: %llu bytes at 0x%llx, %s, allocated at %s\n", k + 1,
		       (unsigned long long)r->g.size[m], (unsigned long long)r->g.addr[m],
		       r->g.kind[m] == LEAK_DEFINITE ? "definite" : "indirect", leaks_site(r, r->g.stack[m], a, sizeof(a)));
	}
	printf("  edges:\n");
	for (uint32_t e = 0; e < c->nedges; e++) {
		uint32_t from = 0, to = 0;
		for (uint32_t k = 0; k < c->n; k++) {
			if (c->members[k] == c->edge_src[e])
				from = k + 1;
			if (c->members[k] == c->edge_dst[e])
				to = k + 1;
		}
		printf("    block %u (%s) +%u -> block %u (%s)\n", from, leaks_site(r, r->g.stack[c->edge_src[e]], a, sizeof(a)),
		       c->edge_off[e], to, leaks_site(r, r->g.stack[c->edge_dst[e]], b, sizeof(b)));
	}
	printf("\n");
}

static void print_summary(const struct leak_report *r)
{
	static const char *const label[] = {"still reachable", "  possibly lost", "indirectly lost", "definitely lost"};
	uint64_t cyc_blocks = 0, cyc_bytes = 0;

	printf("LEAK SUMMARY:\n");
	for (int k = LEAK_DEFINITE; k >= LEAK_REACHABLE; k--)
		printf("   %s: %llu bytes in %llu blocks\n", label[k], (unsigned long long)r->total[k][1],
		       (unsigned long long)r->total[k][0]);
	printf("        suppressed: %llu bytes in %llu blocks\n", (unsigned long long)r->suppressed[1],
	       (unsigned long long)r->suppressed[0]);
	for (long i = 0; i < r->ncycles; i++) {
		cyc_blocks += r->cycles[i].n;
		cyc_bytes += r->cycles[i].bytes;
	}
	printf("     leaked cycles: %ld (%llu bytes in %llu blocks)\n", r->ncycles, (unsigned long long)cyc_bytes,
	       (unsigned long long)cyc_blocks);
}

static void print_text(struct leak_report *r, const struct leaks_opts *o, int several)
{
	if (several || r->exe)
		printf("== %s (pid %u), trace %s\n\n", r->exe ? r->exe : "?", r->pid, r->path);
	if (!r->scanned) {
		printf("No pointer scan in this trace (the program was killed, exec'ed, or ran with --no-scan):\n"
		       "leaks cannot be told apart from memory still in use.\n\n");
		return;
	}
	if (!o->cycles_only) {
		for (uint64_t i = 0; i < r->ngroups; i++) {
			const struct leak_group *gr = &r->groups[i];
			if (!(o->kinds & (1u << gr->kind)) || gr->suppressed >= 0)
				continue;
			printf("%s of %llu byte(s) in %llu object(s) allocated from:\n", ci_kind_title[gr->kind],
			       (unsigned long long)gr->bytes, (unsigned long long)gr->blocks);
			cli_print_stack(stdout, leaks_stack(r, gr->stack));
			printf("\n");
		}
	}
	for (long i = 0; i < r->ncycles; i++)
		print_cycle(r, &r->cycles[i], i);
	if (o->cycles_only) {
		if (!r->ncycles)
			printf("No leaked cycles.\n\n");
		return;
	}
	print_summary(r);
	if (r->g.threads_missed)
		printf("   (%llu thread(s) did not stop for the scan; their stacks were read whole)\n",
		       (unsigned long long)r->g.threads_missed);
	uint64_t bytes = 0, blocks = 0;
	for (int k = 0; k < LEAK_KINDS; k++)
		if ((o->kinds & (1u << k)) && k != LEAK_REACHABLE) {
			bytes += r->total[k][1];
			blocks += r->total[k][0];
		}
	printf("\nSUMMARY: heapsnap: %llu byte(s) leaked in %llu allocation(s).\n\n", (unsigned long long)bytes,
	       (unsigned long long)blocks);
}

void cli_json_stack(FILE *out, const struct sym_stack *s)
{
	fputs("[", out);
	for (int i = 0; i < s->n; i++) {
		const struct sym_frame *f = &s->frames[i];
		fprintf(out, "%s{\"function\": ", i ? ", " : "");
		json_opt_str(out, f->function);
		fputs(", \"file\": ", out);
		json_opt_str(out, f->file);
		fprintf(out, ", \"line\": %u, \"module\": ", f->line);
		json_opt_str(out, f->module);
		fprintf(out, ", \"address\": \"0x%llx\", \"offset\": \"0x%llx\", \"inlined\": %s",
			f->python ? 0ull : (unsigned long long)f->ip, (unsigned long long)f->offset,
			f->inlined ? "true" : "false");
		fprintf(out, "%s}", f->python ? ", \"python\": true" : "");
	}
	fputs("]", out);
}

static void json_cycles(struct leak_report *r)
{
	char site[512];

	printf("[");
	for (long i = 0; i < r->ncycles; i++) {
		const struct leaked_cycle *c = &r->cycles[i];
		printf("%s{\"blocks\": %u, \"bytes\": %llu, \"members\": [", i ? ", " : "", c->n, (unsigned long long)c->bytes);
		for (uint32_t k = 0; k < c->n; k++) {
			uint32_t m = c->members[k];
			printf("%s{\"index\": %u, \"address\": \"0x%llx\", \"size\": %llu, \"kind\": \"%s\", \"site\": ",
			       k ? ", " : "", k, (unsigned long long)r->g.addr[m], (unsigned long long)r->g.size[m],
			       leak_kind_name(r->g.kind[m]));
			leaks_site(r, r->g.stack[m], site, sizeof(site));
			json_str(stdout, site, strlen(site));
			printf(", \"stack\": ");
			cli_json_stack(stdout, leaks_stack(r, r->g.stack[m]));
			printf("}");
		}
		printf("], \"edges\": [");
		for (uint32_t e = 0; e < c->nedges; e++) {
			uint32_t from = 0, to = 0;
			for (uint32_t k = 0; k < c->n; k++) {
				if (c->members[k] == c->edge_src[e])
					from = k;
				if (c->members[k] == c->edge_dst[e])
					to = k;
			}
			printf("%s{\"from\": %u, \"offset\": %u, \"to\": %u}", e ? ", " : "", from, c->edge_off[e], to);
		}
		printf("]}");
	}
	printf("]");
}

static void json_suppressions(const struct suppressions *sup);
static void json_summary(const uint64_t total[LEAK_KINDS][2], const uint64_t suppressed[2]);

/* One trace's report; sup (the suppressions and their counts) goes in it
 * when it is the only one, else at the top level. */
static void print_json(struct leak_report *r, const struct leaks_opts *o, const struct suppressions *sup)
{
	printf("{\"schema\": 1, \"trace\": ");
	json_str(stdout, r->path, strlen(r->path));
	printf(", \"pid\": %u, \"exe\": ", r->pid);
	json_str(stdout, r->exe ? r->exe : "", r->exe ? strlen(r->exe) : 0);
	printf(", \"scanned\": %s, \"summary\": ", r->scanned ? "true" : "false");
	json_summary(r->total, r->suppressed);
	printf(", \"leaks\": [");
	int first = 1;
	for (uint64_t i = 0; !o->cycles_only && i < r->ngroups; i++) {
		const struct leak_group *gr = &r->groups[i];
		if (!(o->kinds & (1u << gr->kind)) || gr->suppressed >= 0)
			continue;
		char site[512];
		printf("%s{\"kind\": \"%s\", \"blocks\": %llu, \"bytes\": %llu, \"site\": ", first ? "" : ", ",
		       leak_kind_name(gr->kind), (unsigned long long)gr->blocks, (unsigned long long)gr->bytes);
		leaks_site(r, gr->stack, site, sizeof(site));
		json_str(stdout, site, strlen(site));
		printf(", \"stack\": ");
		cli_json_stack(stdout, leaks_stack(r, gr->stack));
		printf("}");
		first = 0;
	}
	printf("], \"cycles\": ");
	json_cycles(r);
	printf(", \"scan\": {\"blocks\": %llu, \"edges\": %llu, \"roots\": %u, \"threads_stopped\": %llu, "
	       "\"threads_missed\": %llu}",
	       (unsigned long long)r->g.n, (unsigned long long)(r->g.nedges + r->g.nroot_edges), r->g.nroots,
	       (unsigned long long)r->g.threads_stopped, (unsigned long long)r->g.threads_missed);
	if (sup) {
		printf(", \"suppressions\": ");
		json_suppressions(sup);
	}
	printf("}");
}

static void json_summary(const uint64_t total[LEAK_KINDS][2], const uint64_t suppressed[2])
{
	printf("{");
	for (int k = LEAK_DEFINITE, first = 1; k >= LEAK_REACHABLE; k--, first = 0)
		printf("%s\"%s\": {\"blocks\": %llu, \"bytes\": %llu}", first ? "" : ", ", leak_kind_name(k),
		       (unsigned long long)total[k][0], (unsigned long long)total[k][1]);
	printf(", \"suppressed\": {\"blocks\": %llu, \"bytes\": %llu}}", (unsigned long long)suppressed[0],
	       (unsigned long long)suppressed[1]);
}

static void json_suppressions(const struct suppressions *sup)
{
	printf("[");
	for (unsigned i = 0; i < sup->n; i++) {
		printf("%s{\"pattern\": ", i ? ", " : "");
		json_str(stdout, sup->s[i].pattern, strlen(sup->s[i].pattern));
		printf(", \"line\": %u, \"leaks\": %llu, \"blocks\": %llu, \"bytes\": %llu}", sup->s[i].line,
		       (unsigned long long)sup->s[i].leaks, (unsigned long long)sup->s[i].blocks,
		       (unsigned long long)sup->s[i].bytes);
	}
	printf("]");
}

/* The LEAK SUMMARY of several traces added up. */
static void print_total(struct leak_report *reps, int n)
{
	uint64_t t[LEAK_KINDS][2] = {{0}}, s[2] = {0};
	static const char *const label[] = {"still reachable", "  possibly lost", "indirectly lost", "definitely lost"};

	for (int i = 0; i < n; i++) {
		for (int k = 0; k < LEAK_KINDS; k++) {
			t[k][0] += reps[i].total[k][0];
			t[k][1] += reps[i].total[k][1];
		}
		s[0] += reps[i].suppressed[0];
		s[1] += reps[i].suppressed[1];
	}
	printf("TOTAL over %d traces:\n", n);
	for (int k = LEAK_DEFINITE; k >= LEAK_REACHABLE; k--)
		printf("   %s: %llu bytes in %llu blocks\n", label[k], (unsigned long long)t[k][1],
		       (unsigned long long)t[k][0]);
	printf("        suppressed: %llu bytes in %llu blocks\n\n", (unsigned long long)s[1], (unsigned long long)s[0]);
}

static void dot_escape(const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
}

static void print_dot(struct leak_report *r, int index)
{
	char site[512];

	for (long i = 0; i < r->ncycles; i++) {
		const struct leaked_cycle *c = &r->cycles[i];
		printf("  subgraph cluster_%d_%ld {\n    label=\"pid %u: leaked cycle %ld (%u blocks, %llu bytes)\";\n",
		       index, i, r->pid, i + 1, c->n, (unsigned long long)c->bytes);
		for (uint32_t k = 0; k < c->n; k++) {
			uint32_t m = c->members[k];
			printf("    b%d_%u [label=\"", index, m);
			dot_escape(leaks_site(r, r->g.stack[m], site, sizeof(site)));
			printf("\\n%llu bytes (%s)\"];\n", (unsigned long long)r->g.size[m], leak_kind_name(r->g.kind[m]));
		}
		for (uint32_t e = 0; e < c->nedges; e++)
			printf("    b%d_%u -> b%d_%u [label=\"+%u\"];\n", index, c->edge_src[e], index, c->edge_dst[e],
			       c->edge_off[e]);
		printf("  }\n");
	}
}

static void print_suppressions(const struct suppressions *sup)
{
	if (!sup->n)
		return;
	printf("Suppressions used:\n  count      bytes template\n");
	for (unsigned i = 0; i < sup->n; i++)
		if (sup->s[i].leaks)
			printf("%7llu %10llu %s\n", (unsigned long long)sup->s[i].blocks, (unsigned long long)sup->s[i].bytes,
			       sup->s[i].pattern);
	printf("\n");
	for (unsigned i = 0; i < sup->n; i++)
		if (!sup->s[i].leaks)
			fprintf(stderr, "heapsnap: %s:%u: suppression leak:%s matched nothing\n", sup->path, sup->s[i].line,
				sup->s[i].pattern);
}

static int run(int argc, char **argv, int cycles_only)
{
	struct leaks_opts o = {"text", (1u << LEAK_DEFINITE) | (1u << LEAK_INDIRECT), NULL, cycles_only};
	const char *cmd = cycles_only ? "cycles" : "leaks";
	char **paths = argv + 1, **traces; /* in place: argv[1..] is compacted as it is read (no allocation to leak) */
	int npaths = 0, rc = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--format") && i + 1 < argc)
			o.format = argv[++i];
		else if (!strcmp(a, "--kinds") && i + 1 < argc && !cycles_only) {
			if (cli_parse_kinds(argv[++i], &o.kinds))
				return cli_usage_error("%s: --kinds takes a comma list of definite, indirect, possible, "
						       "reachable (or all), not '%s'",
						       cmd, argv[i]);
		} else if (!strcmp(a, "--suppressions") && i + 1 < argc && !cycles_only)
			o.suppressions = argv[++i];
		else if (a[0] == '-' && a[1])
			return cli_usage_error("%s: unknown or incomplete option '%s'", cmd, a);
		else {
			paths[npaths++] = argv[i];
		}
	}
	int ci = !cycles_only && (!strcmp(o.format, "sarif") || !strcmp(o.format, "junit"));
	if (strcmp(o.format, "text") && strcmp(o.format, "json") && !ci && (!cycles_only || strcmp(o.format, "dot")))
		return cli_usage_error("%s: --format takes text, json%s, not '%s'", cmd,
				       cycles_only ? " or dot" : ", sarif or junit", o.format);
	if (!npaths)
		return cli_usage_error("%s: no trace given", cmd);
	int n = cli_expand_traces(npaths, paths, &traces);
	if (n < 0)
		return EXIT_INPUT;
	struct suppressions sup = {0};
	struct hs_diag d = {""};
	if (o.suppressions && suppress_load(&sup, o.suppressions, &d)) {
		fprintf(stderr, "heapsnap: %s\n", d.msg);
		cli_free_traces(traces, n);
		return EXIT_INPUT;
	}
	struct leak_report *reps = calloc((size_t)n, sizeof(*reps));
	int done = 0;
	for (; done < n; done++)
		if (leaks_collect(traces[done], o.suppressions ? &sup : NULL, &reps[done], &d)) {
			fprintf(stderr, "heapsnap: %s\n", d.msg);
			rc = EXIT_INPUT;
			break;
		}
	cli_free_traces(traces, n);
	if (!rc && ci) {
		struct ci_result res = {.reps = reps, .nreps = n};
		for (int i = 0; i < n; i++)
			ci_add_sites(&res, &reps[i], o.kinds, NULL);
		if (!strcmp(o.format, "sarif"))
			ci_write_sarif(stdout, &res);
		else
			ci_write_junit(stdout, &res);
		ci_sites_free(&res);
	} else if (!rc) {
		int json = !strcmp(o.format, "json"), dot = !strcmp(o.format, "dot");
		if (json && n > 1) {
			uint64_t t[LEAK_KINDS][2] = {{0}}, s[2] = {0};
			for (int i = 0; i < n; i++) {
				for (int k = 0; k < LEAK_KINDS; k++) {
					t[k][0] += reps[i].total[k][0];
					t[k][1] += reps[i].total[k][1];
				}
				s[0] += reps[i].suppressed[0];
				s[1] += reps[i].suppressed[1];
			}
			printf("{\"schema\": 1, \"summary\": ");
			json_summary(t, s);
			printf(", \"suppressions\": ");
			json_suppressions(&sup);
			printf(", \"traces\": [");
		}
		if (dot)
			printf("digraph leaked_cycles {\n  node [shape=box, fontname=\"monospace\"];\n");
		for (int i = 0; i < n; i++) {
			if (json) {
				printf(i ? ", " : "");
				print_json(&reps[i], &o, n == 1 ? &sup : NULL);
			} else if (dot) {
				print_dot(&reps[i], i);
			} else {
				print_text(&reps[i], &o, n > 1);
			}
		}
		if (dot)
			printf("}\n");
		if (json)
			printf(n > 1 ? "]}\n" : "\n");
		if (!json && !dot && n > 1 && !o.cycles_only)
			print_total(reps, n);
		if (!json && !dot)
			print_suppressions(&sup);
	}
	for (int i = 0; i < done; i++)
		leaks_free(&reps[i]);
	free(reps);
	suppress_free(&sup);
	return rc;
}

int cmd_leaks(int argc, char **argv)
{
	return run(argc, argv, 0);
}

int cmd_cycles(int argc, char **argv)
{
	return run(argc, argv, 1);
}
