/*
 * cmd_top.c - `heapsnap top` and `heapsnap diff`: live memory at a
 * snapshot grouped like tracemalloc's statistics(), and the difference
 * between two snapshots (of one trace, or of two runs) like compare_to().
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <heapsnap-analyze.h>

#include "analyze/stats.h"
#include "cli.h"
#include "util/json.h"

#define MAX_PATTERNS 32

/* The analysis session of this command (cmd_top, cmd_diff). */
static struct hs_session *ses;

struct top_opts {
	struct stats_opts s;
	const char *include[MAX_PATTERNS], *exclude[MAX_PATTERNS];
	const char *format;   /* text, json, folded */
	const char *snapshot; /* top */
	const char *from, *to; /* diff */
	long limit;	      /* lines shown; -1: the default */
	int growth;	      /* top --growth */
	int temporary;	      /* top --temporary */
};

static const char *by_name(enum stats_by by)
{
	static const char *const names[] = {"lineno", "function", "file", "module", "traceback"};
	return names[by];
}

static int parse_by(const char *s, enum stats_by *by)
{
	for (int i = BY_LINENO; i <= BY_TRACEBACK; i++)
		if (!strcmp(s, by_name((enum stats_by)i))) {
			*by = (enum stats_by)i;
			return 0;
		}
	return -1;
}

/* Parse the options shared by top and diff; collect paths (in place:
 * argv[1..] is compacted as it is read, so nothing is allocated). */
static int parse(int argc, char **argv, const char *cmd, struct top_opts *o, char ***paths, int *npaths)
{
	memset(o, 0, sizeof(*o));
	o->format = "text";
	o->limit = -1;
	o->s.include = o->include;
	o->s.exclude = o->exclude;
	*npaths = 0;
	*paths = argv + 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int more = i + 1 < argc;
		if (!strcmp(a, "--by") && more) {
			if (parse_by(argv[++i], &o->s.by))
				return cli_usage_error("%s: --by takes lineno, function, file, module or traceback, not '%s'",
						       cmd, argv[i]);
		} else if (!strcmp(a, "--cumulative")) {
			o->s.cumulative = 1;
		} else if (!strcmp(a, "--include") && more) {
			if (o->s.ninclude == MAX_PATTERNS)
				return cli_usage_error("%s: at most %d --include patterns", cmd, MAX_PATTERNS);
			o->include[o->s.ninclude++] = argv[++i];
		} else if (!strcmp(a, "--exclude") && more) {
			if (o->s.nexclude == MAX_PATTERNS)
				return cli_usage_error("%s: at most %d --exclude patterns", cmd, MAX_PATTERNS);
			o->exclude[o->s.nexclude++] = argv[++i];
		} else if (!strcmp(a, "--limit") && more) {
			char *end;
			o->limit = strtol(argv[++i], &end, 10);
			if (*end || o->limit < 0)
				return cli_usage_error("%s: --limit takes a number >= 0 (0: all), not '%s'", cmd, argv[i]);
		} else if (!strcmp(a, "--format") && more) {
			o->format = argv[++i];
		} else if (!strcmp(a, "--snapshot") && more && !strcmp(cmd, "top")) {
			o->snapshot = argv[++i];
		} else if (!strcmp(a, "--growth") && !strcmp(cmd, "top")) {
			o->growth = 1;
		} else if (!strcmp(a, "--temporary") && !strcmp(cmd, "top")) {
			o->temporary = 1;
		} else if (!strcmp(a, "--from") && more && !strcmp(cmd, "diff")) {
			o->from = argv[++i];
		} else if (!strcmp(a, "--to") && more && !strcmp(cmd, "diff")) {
			o->to = argv[++i];
		} else if (a[0] == '-' && a[1]) {
			return cli_usage_error("%s: unknown or incomplete option '%s'", cmd, a);
		} else {
			(*paths)[(*npaths)++] = argv[i];
		}
	}
	if (strcmp(o->format, "text") && strcmp(o->format, "json") &&
	    (strcmp(o->format, "folded") || strcmp(cmd, "top")))
		return cli_usage_error("%s: --format takes text or json%s, not '%s'", cmd,
				       strcmp(cmd, "top") ? "" : " or folded", o->format);
	if (!*npaths)
		return cli_usage_error("%s: no trace given", cmd);
	return 0;
}

static const char *human(uint64_t b, char *buf, size_t cap)
{
	snprintf(buf, cap, "%llu B", (unsigned long long)b);
	return buf;
}

static void print_state_head(const struct heap_state *s)
{
	if (s->index >= 0 && !s->label[0])
		printf("snapshot %d (%.3f s)", s->index, s->seconds);
	else if (s->index >= 0)
		printf("snapshot %d \"%s\" (%.3f s)", s->index, s->label, s->seconds);
	else
		printf("snapshot %s (%.3f s)", s->label, s->seconds);
}

static void json_state(const struct heap_state *s)
{
	printf("{\"index\": %d, \"label\": ", s->index);
	json_str(stdout, s->label, strlen(s->label));
	printf(", \"time\": %.6f}", s->seconds);
}

static long shown(const struct top_opts *o, long n)
{
	long limit = o->limit >= 0 ? o->limit : strcmp(o->format, "text") ? 0 : 10;
	return limit && limit < n ? limit : n;
}

static void print_line_text(const struct stat_line *l, int diff)
{
	char a[64], b[64];
	uint64_t avg = l->count ? l->size / l->count : 0;

	printf("%s: size=%s", l->key, human(l->size, a, sizeof(a)));
	if (diff)
		printf(" (%+lld B)", (long long)l->size_diff);
	printf(", count=%llu", (unsigned long long)l->count);
	if (diff)
		printf(" (%+lld)", (long long)l->count_diff);
	printf(", average=%s\n", human(avg, b, sizeof(b)));
}

static void print_lines_json(const struct stat_line *l, long n, int diff)
{
	printf("[");
	for (long i = 0; i < n; i++) {
		printf("%s{\"key\": ", i ? ", " : "");
		json_str(stdout, l[i].key, strlen(l[i].key));
		printf(", \"size\": %llu, \"count\": %llu, \"average\": %llu", (unsigned long long)l[i].size,
		       (unsigned long long)l[i].count, (unsigned long long)(l[i].count ? l[i].size / l[i].count : 0));
		if (diff)
			printf(", \"size_diff\": %lld, \"count_diff\": %lld", (long long)l[i].size_diff,
			       (long long)l[i].count_diff);
		printf("}");
	}
	printf("]");
}


/* Read every trace at the selectors; return how many, or -1 (printed). */
static int read_all(char **paths, int npaths, const struct snap_sel *sel, int nsel, int all_snaps,
		    struct stats_trace **out)
{
	char **traces;
	int n = cli_expand_traces(npaths, paths, &traces);

	if (n < 0)
		return -1;
	struct stats_trace *t = calloc((size_t)n, sizeof(*t));
	for (int i = 0; i < n; i++) {
		struct hs_diag d = {""};
		if (stats_read(ses, traces[i], sel, nsel, all_snaps, &t[i], &d)) {
			fprintf(stderr, "heapsnap: %s\n", d.msg);
			for (int k = 0; k < i; k++)
				stats_trace_free(&t[k]);
			free(t);
			cli_free_traces(traces, n);
			return -1;
		}
	}
	cli_free_traces(traces, n);
	*out = t;
	return n;
}

/* Add the lines of b into a (several traces add up); a and b are freed
 * into the result. */
static long merge(struct stat_line **a, long na, struct stat_line *b, long nb)
{
	for (long j = 0; j < nb; j++) {
		long i = 0;
		while (i < na && strcmp((*a)[i].key, b[j].key))
			i++;
		if (i < na) {
			(*a)[i].size += b[j].size;
			(*a)[i].count += b[j].count;
			(*a)[i].size_diff += b[j].size_diff;
			(*a)[i].count_diff += b[j].count_diff;
			free(b[j].key);
			free(b[j].sizes);
			continue;
		}
		*a = realloc(*a, (size_t)(na + 1) * sizeof(**a));
		(*a)[na++] = b[j];
	}
	free(b);
	return na;
}

static int cmp_size(const void *x, const void *y)
{
	const struct stat_line *a = x, *b = y;
	return a->size != b->size ? (a->size < b->size ? 1 : -1) : strcmp(a->key, b->key);
}

static int cmp_diff(const void *x, const void *y)
{
	const struct stat_line *a = x, *b = y;
	unsigned long long da = (unsigned long long)llabs(a->size_diff), db = (unsigned long long)llabs(b->size_diff);
	return da != db ? (da < db ? 1 : -1) : cmp_size(x, y);
}

static int run_growth(struct top_opts *o, char **paths, int npaths)
{
	struct stats_trace *t;
	int n = read_all(paths, npaths, NULL, 0, 1, &t);
	if (n < 0)
		return EXIT_INPUT;
	int rc = 0;
	for (int k = 0; k < n; k++) {
		struct stat_line *l;
		if (t[k].nsnaps < 3) {
			fprintf(stderr, "heapsnap: %s: --growth needs 3 or more snapshots, the trace has %d\n", t[k].path,
				t[k].nsnaps);
			rc = EXIT_INPUT;
			break;
		}
		long nl = stats_growth(&t[k], &o->s, &l);
		if (nl < 0) {
			fprintf(stderr, "heapsnap: %s: out of memory\n", t[k].path);
			rc = EXIT_INPUT;
			break;
		}
		int ns = t[k].nsnaps;
		if (!strcmp(o->format, "json")) {
			printf("{\"schema\": 1, \"trace\": ");
			json_str(stdout, t[k].path, strlen(t[k].path));
			printf(", \"by\": \"%s\", \"snapshots\": [", by_name(o->s.by));
			for (int s = 0; s < ns; s++) {
				printf(s ? ", " : "");
				json_state(&t[k].snaps[s]);
			}
			printf("], \"growth\": [");
			for (long i = 0; i < shown(o, nl); i++) {
				printf("%s{\"key\": ", i ? ", " : "");
				json_str(stdout, l[i].key, strlen(l[i].key));
				printf(", \"sizes\": [");
				for (int s = 0; s < ns; s++)
					printf("%s%llu", s ? ", " : "", (unsigned long long)l[i].sizes[s]);
				printf("], \"growth\": %lld, \"growth_per_snapshot\": %.1f}", (long long)l[i].size_diff,
				       (double)l[i].size_diff / (ns - 1));
			}
			printf("]}\n");
		} else {
			printf("[ Growing at every one of %d snapshots, by %s: %s ]\n", ns, by_name(o->s.by), t[k].path);
			for (long i = 0; i < shown(o, nl); i++) {
				printf("%s: size=%llu B (+%lld B, +%.0f B per snapshot):", l[i].key,
				       (unsigned long long)l[i].size, (long long)l[i].size_diff,
				       (double)l[i].size_diff / (ns - 1));
				for (int s = 0; s < ns; s++)
					printf(" %llu", (unsigned long long)l[i].sizes[s]);
				printf("\n");
			}
			if (!nl)
				printf("(no site grew at every snapshot)\n");
		}
		stats_lines_free(l, nl);
	}
	for (int k = 0; k < n; k++)
		stats_trace_free(&t[k]);
	free(t);
	return rc;
}

/* What top groups: the live heap at the snapshot, or with --temporary the
 * temporary allocations of the whole run (count: blocks, size: bytes). */
static const struct heap_state *state_of(const struct top_opts *o, const struct stats_trace *t)
{
	return o->temporary ? &t->temporary : &t->states[0];
}

static int top_main(int argc, char **argv)
{
	struct top_opts o;
	char **paths;
	int npaths;

	int rc = parse(argc, argv, "top", &o, &paths, &npaths);
	if (rc)
		return rc;
	if (o.temporary && (o.growth || o.snapshot))
		return cli_usage_error("top: --temporary counts the whole run: not with --growth or --snapshot");
	if (o.growth)
		return run_growth(&o, paths, npaths);
	struct snap_sel sel = {o.snapshot ? o.snapshot : "exit"};
	struct stats_trace *t;
	int n = read_all(paths, npaths, &sel, 1, 0, &t);
	if (n < 0)
		return EXIT_INPUT;
	if (!strcmp(o.format, "folded")) {
		for (int k = 0; k < n; k++)
			stats_folded(&t[k], state_of(&o, &t[k]), &o.s, stdout);
	} else {
		struct stat_line *all = NULL;
		long nall = 0;
		for (int k = 0; k < n; k++) {
			struct stat_line *l;
			long nl = stats_group(&t[k], state_of(&o, &t[k]), &o.s, &l);
			if (nl < 0) {
				fprintf(stderr, "heapsnap: %s: out of memory\n", t[k].path);
				return EXIT_INPUT;
			}
			nall = merge(&all, nall, l, nl);
		}
		if (nall > 1) /* all is NULL when empty */
			qsort(all, (size_t)nall, sizeof(*all), cmp_size);
		uint64_t size = 0, count = 0;
		for (int k = 0; k < n; k++) {
			uint64_t s1, c1;
			stats_total(&t[k], state_of(&o, &t[k]), &o.s, &s1, &c1);
			size += s1;
			count += c1;
		}
		if (!strcmp(o.format, "json")) {
			if (o.temporary) {
				printf("{\"schema\": 1, \"temporary\": true");
			} else {
				printf("{\"schema\": 1, \"snapshot\": ");
				json_state(state_of(&o, &t[0]));
			}
			printf(", \"traces\": %d, \"by\": \"%s\", \"cumulative\": %s, \"stats\": ", n, by_name(o.s.by),
			       o.s.cumulative ? "true" : "false");
			print_lines_json(all, shown(&o, nall), 0);
			printf(", \"total\": {\"size\": %llu, \"count\": %llu}}\n", (unsigned long long)size,
			       (unsigned long long)count);
		} else {
			printf("[ Top %ld %s%s ", shown(&o, nall), by_name(o.s.by), o.s.cumulative ? " (cumulative)" : "");
			if (o.temporary) {
				printf("by temporary allocations (freed before their thread allocated again)");
			} else {
				printf("at ");
				print_state_head(state_of(&o, &t[0]));
			}
			printf("%s ]\n", n > 1 ? ", traces added up" : "");
			for (long i = 0; i < shown(&o, nall); i++)
				print_line_text(&all[i], 0);
			printf("Total: size=%llu B, count=%llu\n", (unsigned long long)size, (unsigned long long)count);
		}
		stats_lines_free(all, nall);
	}
	for (int k = 0; k < n; k++)
		stats_trace_free(&t[k]);
	free(t);
	return 0;
}

static int diff_main(int argc, char **argv)
{
	struct top_opts o;
	char **paths;
	int npaths;
	struct stat_line *l;
	long nl;

	int rc = parse(argc, argv, "diff", &o, &paths, &npaths);
	if (rc)
		return rc;
	if (npaths > 2)
		return cli_usage_error("diff: one trace with --from and --to, or two traces OLD NEW");
	if (npaths == 1 && (!o.from || !o.to))
		return cli_usage_error("diff: one trace needs --from SEL and --to SEL");
	struct stats_trace t[2];
	struct hs_diag d = {""};
	struct heap_state *from, *to;
	int ntr = npaths;
	if (npaths == 1) {
		struct snap_sel sel[2] = {{o.from}, {o.to}};
		if (stats_read(ses, paths[0], sel, 2, 0, &t[0], &d)) {
			fprintf(stderr, "heapsnap: %s\n", d.msg);
			return EXIT_INPUT;
		}
		from = &t[0].states[0];
		to = &t[0].states[1];
		nl = stats_diff(&t[0], from, &t[0], to, &o.s, &l);
	} else {
		struct snap_sel a = {o.from ? o.from : "exit"}, b = {o.to ? o.to : "exit"};
		if (stats_read(ses, paths[0], &a, 1, 0, &t[0], &d)) {
			fprintf(stderr, "heapsnap: %s\n", d.msg);
			return EXIT_INPUT;
		}
		if (stats_read(ses, paths[1], &b, 1, 0, &t[1], &d)) {
			fprintf(stderr, "heapsnap: %s\n", d.msg);
			stats_trace_free(&t[0]);
			return EXIT_INPUT;
		}
		from = &t[0].states[0];
		to = &t[1].states[0];
		nl = stats_diff(&t[0], from, &t[1], to, &o.s, &l);
	}
	if (nl < 0) {
		fprintf(stderr, "heapsnap: out of memory\n");
		rc = EXIT_INPUT;
		goto out;
	}
	if (nl > 1) /* l may be NULL when empty */
		qsort(l, (size_t)nl, sizeof(*l), cmp_diff);
	uint64_t size, count, osize, ocount;
	stats_total(&t[ntr - 1], to, &o.s, &size, &count);
	stats_total(&t[0], from, &o.s, &osize, &ocount);
	int64_t sd = (int64_t)(size - osize), cd = (int64_t)(count - ocount);
	if (!strcmp(o.format, "json")) {
		printf("{\"schema\": 1, \"from\": ");
		json_state(from);
		printf(", \"to\": ");
		json_state(to);
		if (ntr == 2) {
			printf(", \"old\": ");
			json_str(stdout, t[0].path, strlen(t[0].path));
			printf(", \"new\": ");
			json_str(stdout, t[1].path, strlen(t[1].path));
		}
		printf(", \"by\": \"%s\", \"cumulative\": %s, \"stats\": ", by_name(o.s.by), o.s.cumulative ? "true" : "false");
		print_lines_json(l, shown(&o, nl), 1);
		printf(", \"total\": {\"size\": %llu, \"count\": %llu, \"size_diff\": %lld, \"count_diff\": %lld}}\n",
		       (unsigned long long)size, (unsigned long long)count, (long long)sd, (long long)cd);
	} else {
		printf("[ Top %ld differences by %s: ", shown(&o, nl), by_name(o.s.by));
		if (ntr == 2)
			printf("%s ", t[0].path);
		print_state_head(from);
		printf(" -> ");
		if (ntr == 2)
			printf("%s ", t[1].path);
		print_state_head(to);
		printf(" ]\n");
		for (long i = 0; i < shown(&o, nl); i++)
			print_line_text(&l[i], 1);
		printf("Total: size=%llu B (%+lld B), count=%llu (%+lld)\n", (unsigned long long)size, (long long)sd,
		       (unsigned long long)count, (long long)cd);
	}
	stats_lines_free(l, nl);
out:
	for (int k = 0; k < ntr; k++)
		stats_trace_free(&t[k]);
	return rc;
}

int cmd_top(int argc, char **argv)
{
	if (!(ses = hs_session_new(NULL)))
		return EXIT_INPUT;
	int rc = top_main(argc, argv);
	hs_session_free(ses);
	return rc;
}

int cmd_diff(int argc, char **argv)
{
	if (!(ses = hs_session_new(NULL)))
		return EXIT_INPUT;
	int rc = diff_main(argc, argv);
	hs_session_free(ses);
	return rc;
}
