/*
 * ci_report.h - leak sites for continuous integration: which fail, their
 * signatures, baselines, and the SARIF and JUnit reports (ci_report.c).
 */
#ifndef HS_TOOLS_CI_REPORT_H
#define HS_TOOLS_CI_REPORT_H

#include <stdio.h>

#include "analyze/leaks.h"

/* A leak site of a failing kind that no suppression matched. */
struct ci_site {
	struct leak_report *r;
	const struct leak_group *g;
	char *signature;
	int in_baseline;
};

/* The reports (owned by the caller) and their sites. */
struct ci_result {
	struct leak_report *reps;
	int nreps;
	struct ci_site *sites;
	size_t nsites, cap;
	size_t failing; /* sites not in the baseline */
	uint64_t failing_blocks, failing_bytes;
};

/* The signatures of a `check --format json` report, sorted. */
struct ci_baseline {
	char **sigs;
	size_t n;
};

extern const char *const ci_kind_title[LEAK_KINDS]; /* "Direct leak", ... */
const char *ci_exe(const struct leak_report *r);

/* Read a baseline; 0, or -1 with an error printed (the CLI exits 2). */
int ci_baseline_load(struct ci_baseline *b, const char *path);
int ci_baseline_has(const struct ci_baseline *b, const char *sig);
void ci_baseline_free(struct ci_baseline *b);

/* Add r's unsuppressed leak sites of the given kinds (a bit per enum
 * leak_kind) to res; base may be NULL. */
void ci_add_sites(struct ci_result *res, struct leak_report *r, unsigned kinds, const struct ci_baseline *base);
void ci_sites_free(struct ci_result *res);

/* SARIF 2.1.0: a rule per leak class, a result per site not in the baseline. */
void ci_write_sarif(FILE *out, const struct ci_result *res);
/* JUnit XML: a test case per report, a failure per site not in the baseline. */
void ci_write_junit(FILE *out, const struct ci_result *res);

#endif
