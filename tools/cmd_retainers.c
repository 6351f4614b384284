/*
 * cmd_retainers.c - `heapsnap retainers`: why blocks are still alive.  For
 * the blocks of a site (--site), of the sites that grew at every snapshot
 * (--growth) or one block (--address), the shortest chains of pointers
 * from the roots at a scanned snapshot, aggregated by allocation site,
 * with the bytes each hop retains.  The analysis and its renderings are
 * the analyzer library's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <heapsnap-analyze.h>

#include "cli.h"

struct retainers_opts {
	const char *snapshot; /* --snapshot: the scan */
	const char *site;     /* --site PAT */
	int growth;	      /* --growth */
	uint64_t address;     /* --address ADDR */
	int max_paths;	      /* --max-paths N */
	enum hs_format format;
};

enum {
	RET_SNAPSHOT = CLI_LONG_ONLY,
	RET_SITE,
	RET_GROWTH,
	RET_ADDRESS,
	RET_MAX_PATHS,
	RET_FORMAT,
};

static const struct cli_opt retainers_opts[] = {
	{"snapshot", RET_SNAPSHOT, "SEL", "the pointer scan of this snapshot (default: the last scan)"},
	{"site", RET_SITE, "PAT", "the blocks allocated at sites PAT matches (function, file:line: a glob)"},
	{"growth", RET_GROWTH, NULL, "the blocks of the sites that grew at every snapshot (top --growth)"},
	{"address", RET_ADDRESS, "ADDR", "the block that holds ADDR"},
	{"max-paths", RET_MAX_PATHS, "N", "paths shown for each site (default 10)"},
	{"format", RET_FORMAT, "F", "text (default), json or dot"},
	{NULL, 0, NULL, NULL},
};

const struct cli_cmd cli_cmd_retainers = {
	.name = "retainers",
	.synopsis = "[OPTIONS] (--site PAT | --growth | --address ADDR) TRACE...",
	.about = "Why blocks are still alive: the chains of pointers from the roots to them, and what they retain.",
	.opts = retainers_opts,
	.fn = cmd_retainers,
};

/* Parse the options; *paths, *npaths: the operands.  Return 0,
 * EXIT_USAGE (printed), or -1 after the help. */
static int parse(int argc, char **argv, struct retainers_opts *o, char ***paths, int *npaths)
{
	const char *format = "text";
	struct cli_parse p;
	int questions = 0, c;
	char *end;
	long v;

	memset(o, 0, sizeof(*o));
	cli_parse_start(&p, &cli_cmd_retainers, argc, argv);
	while ((c = cli_next_opt(&p)) > 0) {
		switch (c) {
		case RET_SNAPSHOT:
			o->snapshot = p.arg;
			break;
		case RET_SITE:
			o->site = p.arg;
			questions++;
			break;
		case RET_GROWTH:
			o->growth = 1;
			questions++;
			break;
		case RET_ADDRESS:
			errno = 0;
			o->address = strtoull(p.arg, &end, 0);
			if (errno || *end || end == p.arg || !o->address)
				return cli_usage_error("retainers", "--address takes an address (0x7f12...), not '%s'", p.arg);
			questions++;
			break;
		case RET_MAX_PATHS:
			v = strtol(p.arg, &end, 10);
			if (*end || end == p.arg || v < 1 || v > 1000000)
				return cli_usage_error("retainers", "--max-paths takes a number from 1 to 1000000, not '%s'",
						       p.arg);
			o->max_paths = (int)v;
			break;
		case RET_FORMAT:
			format = p.arg;
			break;
		}
	}
	if (c == CLI_STOP)
		return p.rc ? p.rc : -1;
	*npaths = cli_operands(&p, paths);
	if (hs_format_parse(format, &o->format) ||
	    (o->format != HS_FMT_TEXT && o->format != HS_FMT_JSON && o->format != HS_FMT_DOT))
		return cli_usage_error("retainers", "--format takes text, json or dot, not '%s'", format);
	if (questions != 1)
		return cli_usage_error("retainers", "ask one question: --site PAT, --growth or --address ADDR");
	if (!*npaths)
		return cli_usage_error("retainers", "no trace given");
	return 0;
}

/* The growing lines of t (read with snapshot heaps) into *lines; the
 * question in words into q.  Return how many, or -1 (printed). */
static long growth_lines(struct hs_trace *t, const struct hs_group *g, struct hs_stat_line **lines, char *q, size_t cap)
{
	int ns = t->nsnapshot_heaps;
	long nl = -1;

	if (ns < 3) {
		fprintf(stderr, "heapsnap: %s: --growth needs 3 or more snapshots, the trace has %d\n", t->path, ns);
		return -1;
	}
	struct hs_stats *st = hs_stats_new(g, ns);
	for (int c = 0; st && c < ns && !hs_stats_add(st, t, &t->snapshot_heaps[c], c); c++)
		if (c == ns - 1)
			nl = hs_stats_growth(st, 0, lines);
	hs_stats_free(st);
	if (nl < 0)
		fprintf(stderr, "heapsnap: %s: out of memory\n", t->path);
	else
		snprintf(q, cap, "%ld site%s growing across %d snapshots, by %s", nl, nl == 1 ? "" : "s", ns,
			 hs_by_name(g->by));
	return nl;
}

/* One trace's report.  Return 0 or EXIT_INPUT (printed). */
static int one(struct hs_session *s, const struct retainers_opts *o, const char *path)
{
	struct hs_group g = {.by = HS_BY_LINENO};
	struct hs_want w = {.flags = HS_WANT_GRAPH | (o->growth ? HS_WANT_SNAPSHOT_HEAPS : 0), .scan = o->snapshot};
	struct hs_diag d = {""};
	struct hs_stat_line *lines = NULL;
	struct hs_retainers *r = NULL;
	char question[512];
	long nl = 0;
	int rc = EXIT_INPUT;

	struct hs_trace *t = hs_trace_read(s, path, &w, &d);
	if (!t) {
		fprintf(stderr, "heapsnap: %s\n", d.msg);
		return EXIT_INPUT;
	}
	struct hs_retainers_query q = {.site = o->site, .address = o->address, .max_paths = o->max_paths, .group = &g};
	if (o->growth) {
		if ((nl = growth_lines(t, &g, &lines, question, sizeof(question))) < 0)
			goto out;
		q.lines = lines;
		q.nlines = nl;
		q.nsizes = t->nsnapshot_heaps;
	} else if (o->site) {
		snprintf(question, sizeof(question), "the blocks of site '%s'", o->site);
	} else {
		snprintf(question, sizeof(question), "the block at 0x%llx", (unsigned long long)o->address);
	}
	if (hs_retainers_find(t, &q, &r, &d)) {
		fprintf(stderr, "heapsnap: %s\n", d.msg);
		goto out;
	}
	struct hs_retainers_view v = {.question = question};
	hs_render_retainers(stdout, o->format, t, r, &v);
	rc = 0;
out:
	hs_retainers_free(r);
	hs_stat_lines_free(lines, nl > 0 ? nl : 0);
	hs_trace_free(t);
	return rc;
}

int cmd_retainers(int argc, char **argv)
{
	struct retainers_opts o;
	char **paths = NULL, **traces;
	int npaths = 0, rc;

	if ((rc = parse(argc, argv, &o, &paths, &npaths)))
		return rc < 0 ? 0 : rc;
	int n = cli_expand_traces(npaths, paths, &traces);
	if (n < 0)
		return EXIT_INPUT;
	struct hs_session *s = hs_session_new(NULL);
	if (!s) {
		fprintf(stderr, "heapsnap: out of memory\n");
		cli_free_traces(traces, n);
		return EXIT_INPUT;
	}
	/* several traces: one report each (JSON: in one object) */
	if (o.format == HS_FMT_JSON && n > 1)
		fputs("{\"schema\": 1, \"traces\": [", stdout);
	for (int i = 0; i < n && !rc; i++) {
		if (i && o.format == HS_FMT_JSON)
			fputs(", ", stdout);
		else if (i && o.format == HS_FMT_TEXT)
			fputc('\n', stdout);
		rc = one(s, &o, traces[i]);
		cli_print_warnings(s);
	}
	if (o.format == HS_FMT_JSON && n > 1)
		fputs("]}\n", stdout);
	hs_session_free(s);
	cli_free_traces(traces, n);
	return rc;
}
