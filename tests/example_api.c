/*
 * Description: a second front end of the analyzer library, the proof that
 * its public header is enough: this program includes only
 * <heapsnap-analyze.h> (no src/ or tools/ file; tests/tests.mk builds it
 * without -Isrc) and links only build/lib/libheapsnap-analyze.a.  For each
 * trace given it prints, from one pass, the leak summary and the five
 * largest lines of the heap at exit; then what the session's shared
 * symbolizer did over all of them.  tests/api.sh checks every number
 * against the heapsnap command's JSON.
 *
 *   example_api TRACE...       exit 0, or 2 when a trace cannot be read
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <heapsnap-analyze.h>

/* The leak summary of t: blocks and bytes by class, and the cycles. */
static void print_leaks(const struct hs_trace *t)
{
	static const int order[] = {HS_DEFINITE, HS_INDIRECT, HS_POSSIBLE, HS_REACHABLE};

	if (!t->leaks.scanned) {
		printf("leaks: no pointer scan\n");
		return;
	}
	printf("leaks:");
	for (int i = 0; i < 4; i++)
		printf(" %s %llu/%llu", hs_leak_kind_name(order[i]), (unsigned long long)t->leaks.total[order[i]][0],
		       (unsigned long long)t->leaks.total[order[i]][1]);
	printf(" cycles %ld\n", t->leaks.ncycles);
}

/* The five largest lines of the exit heap, by file and line. */
static int print_top(struct hs_trace *t)
{
	struct hs_group g = {.by = HS_BY_LINENO};
	struct hs_stats *st = hs_stats_new(&g, 1);
	struct hs_stat_line *l;
	uint64_t size, count;
	long n = -1;

	if (st && !hs_stats_add(st, t, &t->heaps[0], 0))
		n = hs_stats_top(st, 0, &l);
	if (n < 0) {
		hs_stats_free(st);
		return -1;
	}
	hs_stats_total(st, 0, &size, &count);
	printf("top: %llu bytes in %llu blocks at %s\n", (unsigned long long)size, (unsigned long long)count,
	       t->heaps[0].label);
	for (long i = 0; i < n && i < 5; i++)
		printf("  %s %llu %llu\n", l[i].key, (unsigned long long)l[i].size, (unsigned long long)l[i].count);
	hs_stat_lines_free(l, n);
	hs_stats_free(st);
	return 0;
}

int main(int argc, char **argv)
{
	struct hs_session *s = hs_session_new(NULL);
	const char *exit_heap = "exit";
	struct hs_want w = {.flags = HS_WANT_LEAKS, .select = &exit_heap, .nselect = 1};
	size_t modules = 0;
	int rc = 0;

	if (argc < 2 || !s) {
		fprintf(stderr, "usage: example_api TRACE...\n");
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		struct hs_diag d;
		struct hs_trace *t = hs_trace_read(s, argv[i], &w, &d);
		if (!t) {
			fprintf(stderr, "example_api: %s\n", d.msg);
			rc = 2;
			continue;
		}
		printf("== %s pid %u\n", t->path, t->pid);
		print_leaks(t);
		if (print_top(t)) {
			fprintf(stderr, "example_api: %s: out of memory\n", t->path);
			rc = 2;
		}
		size_t n;
		hs_trace_modules(t, &n);
		modules += n;
		hs_trace_free(t);
	}
	for (char *m; (m = hs_session_take_warning(s)); free(m))
		fprintf(stderr, "example_api: %s\n", m);
	struct hs_symbol_stats ss;
	hs_session_symbol_stats(s, &ss);
	printf("symbolizer: %llu files opened for %zu modules of %d traces\n", (unsigned long long)ss.files, modules,
	       argc - 1);
	hs_session_free(s);
	return rc;
}
