/*
 * Description: the two dominator algorithms of src/analyze/dom.c on the
 * reference graph of a trace's scan, for bench/retain.sh: reads the trace
 * (its last scan), then builds the dominator tree with the algorithm
 * named (snca or chk) and prints the seconds it took, the passes
 * (Cooper-Harvey-Kennedy) and the blocks.  Linked against the analyzer
 * library's internals (-Isrc).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <heapsnap-analyze.h>

#include "analyze/dom.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct hs_want w = {.flags = HS_WANT_GRAPH};
	struct hs_diag d = {""};
	struct dom dom;

	if (argc != 3 || (strcmp(argv[2], "snca") && strcmp(argv[2], "chk"))) {
		fprintf(stderr, "usage: dombench TRACE snca|chk\n");
		return 1;
	}
	struct hs_session *s = hs_session_new(NULL);
	struct hs_trace *t = hs_trace_read(s, argv[1], &w, &d);
	if (!t || !t->graph) {
		fprintf(stderr, "dombench: %s\n", t ? "no scan" : d.msg);
		return 2;
	}
	double t0 = now();
	int rc = dom_build(t->graph, !strcmp(argv[2], "chk") ? DOM_CHK : DOM_SNCA, &dom);
	double t1 = now();
	if (rc) {
		fprintf(stderr, "dombench: %s\n", strerror(-rc));
		return 2;
	}
	printf("%s %.3f s, %u passes, %llu blocks (%llu reached from the roots)\n", argv[2], t1 - t0, dom.passes,
	       (unsigned long long)dom.n, (unsigned long long)dom.reached);
	dom_free(&dom);
	hs_trace_free(t);
	hs_session_free(s);
	return 0;
}
