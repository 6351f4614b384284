/* Description: unit tests of the analyzer library through its public
 * header only (include/heapsnap-analyze.h), on traces written with the
 * real encoder (trace_fixture.c): one pass computing info and leaks
 * together; the session's symbolizer shared by traces of different
 * processes (one module file opened once, each address resolved once,
 * whatever the load bias); two sessions with different wrapper lists open
 * at once (no global state); the leak report and its renderers; errors. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <heapsnap-analyze.h>

#include "check_suites.h"
#include "trace_fixture.h"

/* Two functions of this program whose addresses go into the traces: the
 * allocation site and a wrapper it calls. */
__attribute__((noinline)) void *api_wrapper(size_t n)
{
	return malloc(n);
}

__attribute__((noinline)) void *api_site(size_t n)
{
	return api_wrapper(n + 1);
}

static struct fx_self self; /* this program, as a module */

static char dir[64];

static void dir_setup(void)
{
	strcpy(dir, "/tmp/hs-api-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	fx_self(&self);
}

static void dir_teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static const char *tpath(const char *name)
{
	static char p[2][128];
	static int k;
	k ^= 1;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
	return p[k];
}

#define ret_in fx_ret

#define MS 1000000ull

/*
 * A trace of process pid that maps this program at its bias + shift:
 * stack 1 = api_site -> api_wrapper, stack 2 = api_site alone; three
 * mallocs (100 and 300 bytes from stack 1, 50 from stack 2), one free, a
 * snapshot, and an exit scan where block 0 (100 bytes) is definitely
 * lost, block 1 (300) is reachable from a root, and block 2 (50) is
 * reachable too.
 */
static void write_trace(const char *name, uint32_t pid, uint64_t shift)
{
	struct fx f;
	uint64_t s1[2] = {ret_in(api_wrapper, shift), ret_in(api_site, shift)};
	uint64_t s2[1] = {ret_in(api_site, shift)};

	fx_open(&f, tpath(name), pid);
	fx_process(&f, "/usr/bin/api-test");
	fx_module_self(&f, &self, shift);
	fx_stack(&f, 1, 2, s1);
	fx_stack(&f, 2, 1, s2);
	fx_allocinfo(&f, 1, 100, 1);
	fx_allocinfo(&f, 2, 300, 1);
	fx_allocinfo(&f, 3, 50, 2);
	fx_allocinfo(&f, 4, 70, 2);
	fx_event(&f, FX_T0 + 1 * MS, 1, HST_EV_MALLOC, 1, 0);
	fx_event(&f, FX_T0 + 2 * MS, 1, HST_EV_MALLOC, 2, 0);
	fx_event(&f, FX_T0 + 3 * MS, 2, HST_EV_CALLOC, 3, 0);
	fx_event(&f, FX_T0 + 4 * MS, 2, HST_EV_MALLOC, 4, 0);
	fx_event(&f, FX_T0 + 5 * MS, 2, HST_EV_FREE, 4, 0);
	fx_snapshot(&f, FX_T0 + 6 * MS, 0, HST_SNAP_EXIT, "exit");
	fx_scan(&f, FX_T0 + 7 * MS, 3);
	uint64_t addr[3] = {0x10000, 0x20000, 0x30000};
	uint32_t info[3] = {1, 2, 3}, seq[3] = {1, 2, 3};
	fx_blocks(&f, 3, addr, info, seq);
	fx_root(&f, 0, HST_ROOT_DATA, 0x5000, 64, self.path);
	uint64_t off[2] = {0, 8}, dst[2] = {1, 2};
	fx_edges(&f, 1, 0, 2, off, dst, NULL);
	fx_scan_end(&f, 2, FX_T0 + 8 * MS);
	fx_end(&f, FX_T0 + 9 * MS, 0);
	fx_close(&f);
}

/* Read a trace (which must read). */
static struct hs_trace *must_read(struct hs_session *s, const char *name, unsigned flags)
{
	struct hs_want w = {.flags = flags};
	struct hs_diag d = {""};
	struct hs_trace *t = hs_trace_read(s, tpath(name), &w, &d);

	ck_assert_msg(t != NULL, "%s", d.msg);
	return t;
}

/* Render into a string (caller frees). */
static char *render_leaks(enum hs_format f, struct hs_trace **t, int n, const struct hs_leaks_view *v)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	ck_assert_int_eq(hs_render_leaks(out, f, t, n, v), 0);
	fclose(out);
	return buf;
}

/* ---- tests ------------------------------------------------------------------- */

/* One pass computes info and leaks together. */
START_TEST(test_one_pass)
{
	write_trace("a.hst", 100, 0);
	struct hs_session *s = hs_session_new(NULL);
	struct hs_trace *t = must_read(s, "a.hst", HS_WANT_INFO | HS_WANT_LEAKS);

	ck_assert_uint_eq(t->have & (HS_WANT_INFO | HS_WANT_LEAKS), HS_WANT_INFO | HS_WANT_LEAKS);
	ck_assert_uint_eq(t->pid, 100);
	ck_assert_str_eq(t->exe, "/usr/bin/api-test");
	ck_assert_str_eq(t->cmdline, "/usr/bin/api-test -x");
	ck_assert_int_eq(t->truncated, 0);
	ck_assert_uint_eq(t->nsnapshots, 1);
	ck_assert_str_eq(t->snapshots[0].label, "exit");
	ck_assert_uint_eq(t->info.events[HST_EV_MALLOC], 3);
	ck_assert_uint_eq(t->info.events[HST_EV_CALLOC], 1);
	ck_assert_uint_eq(t->info.events[HST_EV_FREE], 1);
	ck_assert_uint_eq(t->info.total_events, 5);
	ck_assert_uint_eq(t->info.nthreads, 2);
	ck_assert_uint_eq(t->info.stacks, 2);
	ck_assert_uint_eq(t->info.live_bytes, 450);
	ck_assert_uint_eq(t->info.live_blocks, 3);
	ck_assert_uint_eq(t->info.peak_bytes, 520);
	ck_assert_uint_eq(t->info.peak_ts, FX_T0 + 4 * MS);
	ck_assert_int_eq(t->info.scans, 1);

	const struct hs_leaks *l = &t->leaks;
	ck_assert_int_eq(l->scanned, 1);
	ck_assert_uint_eq(l->total[HS_DEFINITE][0], 1);
	ck_assert_uint_eq(l->total[HS_DEFINITE][1], 100);
	ck_assert_uint_eq(l->total[HS_REACHABLE][0], 2);
	ck_assert_uint_eq(l->total[HS_REACHABLE][1], 350);
	ck_assert_uint_eq(l->nrecords, 3);
	ck_assert_int_eq(l->records[0].kind, HS_DEFINITE);
	ck_assert_uint_eq(l->records[0].stack, 1);
	ck_assert_int_eq(l->records[0].suppressed, -1);
	ck_assert_uint_eq(l->scan_blocks, 3);
	ck_assert_uint_eq(l->scan_edges, 2);
	ck_assert_ptr_null(t->graph); /* not asked for */
	hs_trace_free(t);

	/* the graph when asked for, with its named root */
	t = must_read(s, "a.hst", HS_WANT_GRAPH);
	ck_assert_ptr_nonnull(t->graph);
	ck_assert_uint_eq(t->graph->n, 3);
	ck_assert_uint_eq(t->graph->nroots, 1);
	ck_assert_str_eq(t->graph->roots[0].name, self.path);
	ck_assert_int_eq(t->graph->kind[0], HS_DEFINITE);
	ck_assert_int_eq(hs_graph_block_at(t->graph, 0x20000), 1);
	ck_assert_int_eq(t->leaks.scanned, 1); /* the graph implies the leaks */
	hs_trace_free(t);
	hs_session_free(s);
}
END_TEST

/*
 * Two processes that loaded the program at different addresses: in one
 * session, the file is opened once and each address resolved once; the
 * second trace's frames come from the cache, with its own ips.
 */
START_TEST(test_shared_symbols)
{
	const uint64_t shift = 0x10000000;
	write_trace("a.hst", 100, 0);
	write_trace("b.hst", 200, shift);
	struct hs_session_config cfg = {.wrappers = "api_wrapper"};
	struct hs_session *s = hs_session_new(&cfg);
	struct hs_symbol_stats st;

	struct hs_trace *a = must_read(s, "a.hst", HS_WANT_LEAKS);
	const struct hs_stack *sa = hs_trace_stack(a, 1);
	ck_assert_int_eq(sa->n, 1); /* api_wrapper skipped: the site is api_site */
	ck_assert_int_eq(sa->all, 2);
	ck_assert_str_eq(sa->frames[0].function, "api_site");
	ck_assert_str_eq(sa->frames[0].module, self.path);
	ck_assert_uint_eq(sa->frames[0].ip, ret_in(api_site, 0));
	hs_session_symbol_stats(s, &st);
	ck_assert_uint_eq(st.files, 1);
	ck_assert_uint_eq(st.resolved, 2);

	struct hs_trace *b = must_read(s, "b.hst", HS_WANT_LEAKS);
	const struct hs_stack *sb = hs_trace_stack(b, 1);
	ck_assert_int_eq(sb->n, 1);
	ck_assert_str_eq(sb->frames[0].function, "api_site");
	ck_assert_ptr_eq(sb->frames[0].function, sa->frames[0].function); /* one string, the session's */
	ck_assert_uint_eq(sb->frames[0].ip, ret_in(api_site, shift));
	ck_assert_uint_eq(sb->frames[0].offset, sa->frames[0].offset);
	ck_assert_str_eq(hs_trace_stack(b, 2)->frames[0].function, "api_site");
	hs_session_symbol_stats(s, &st);
	ck_assert_uint_eq(st.files, 1);
	ck_assert_uint_eq(st.resolved, 2);
	ck_assert_uint_ge(st.lookups, 5);

	/* every frame, the wrapper included, and the raw ips */
	struct hs_frame all[4];
	ck_assert_int_eq(hs_trace_stack_frames(b, 1, all, 4), 2);
	ck_assert_str_eq(all[0].function, "api_wrapper");
	uint32_t depth;
	const uint64_t *ips = hs_trace_stack_ips(b, 1, &depth);
	ck_assert_uint_eq(depth, 2);
	ck_assert_uint_eq(ips[1], ret_in(api_site, shift));
	ck_assert_ptr_null(hs_trace_stack_ips(b, 9, &depth));
	size_t nmods;
	const struct hs_module *m = hs_trace_modules(b, &nmods);
	ck_assert_uint_eq(nmods, 1);
	ck_assert_uint_eq(m[0].bias, self.bias + shift);
	ck_assert_uint_eq(m[0].build_id_len, self.bid_len);
	hs_trace_free(a);
	hs_trace_free(b);
	hs_session_free(s);
}
END_TEST

/* Two sessions open at once, one treating api_wrapper as a wrapper and one
 * not, read the same trace: each keeps its own list. */
START_TEST(test_two_sessions)
{
	write_trace("a.hst", 100, 0);
	unsetenv("HEAPSNAP_WRAPPERS");
	struct hs_session_config cfg = {.wrappers = "api_wrapper"};
	struct hs_session *s1 = hs_session_new(&cfg), *s2 = hs_session_new(NULL);
	struct hs_trace *t1 = must_read(s1, "a.hst", HS_WANT_LEAKS);
	struct hs_trace *t2 = must_read(s2, "a.hst", HS_WANT_LEAKS);
	char buf[256];

	ck_assert_str_eq(hs_trace_stack(t2, 1)->frames[0].function, "api_wrapper");
	ck_assert_str_eq(hs_trace_stack(t1, 1)->frames[0].function, "api_site");
	ck_assert_msg(!strncmp(hs_trace_site(t2, 1, buf, sizeof(buf)), "api_wrapper ", 12), "%s", buf);
	ck_assert_msg(!strncmp(hs_trace_site(t1, 1, buf, sizeof(buf)), "api_site ", 9), "%s", buf);
	/* the renderings differ the same way */
	struct hs_leaks_view v = {.kinds = 1u << HS_DEFINITE};
	char *j1 = render_leaks(HS_FMT_JSON, &t1, 1, &v), *j2 = render_leaks(HS_FMT_JSON, &t2, 1, &v);
	ck_assert_msg(strstr(j1, "\"site\": \"api_site "), "%s", j1);
	ck_assert_msg(strstr(j2, "\"site\": \"api_wrapper "), "%s", j2);
	free(j1);
	free(j2);
	hs_trace_free(t2);
	hs_session_free(s2);
	/* s1 and t1 still work after the other session is gone */
	ck_assert_str_eq(hs_trace_stack(t1, 2)->frames[0].function, "api_site");
	hs_trace_free(t1);
	hs_session_free(s1);
}
END_TEST

/* The leak report's renderings: JSON core fields, text, SARIF; several
 * traces add up; a CI run against a baseline. */
START_TEST(test_render_leaks)
{
	write_trace("a.hst", 100, 0);
	write_trace("b.hst", 200, 0x10000000);
	struct hs_session_config cfg = {.wrappers = "api_wrapper"};
	struct hs_session *s = hs_session_new(&cfg);
	struct hs_trace *t[2] = {must_read(s, "a.hst", HS_WANT_LEAKS), must_read(s, "b.hst", HS_WANT_LEAKS)};
	struct hs_leaks_view v = {.kinds = (1u << HS_DEFINITE) | (1u << HS_INDIRECT)};

	char *j = render_leaks(HS_FMT_JSON, t, 1, &v);
	ck_assert_msg(strstr(j, "{\"schema\": 1, \"trace\": "), "%s", j);
	ck_assert_msg(strstr(j, "\"summary\": {\"definite\": {\"blocks\": 1, \"bytes\": 100}, "), "%s", j);
	ck_assert_msg(strstr(j, "\"leaks\": [{\"kind\": \"definite\", \"blocks\": 1, \"bytes\": 100, \"site\": "),
		      "%s", j);
	ck_assert_msg(strstr(j, "\"stack\": [{\"function\": \"api_site\", "), "%s", j);
	ck_assert_msg(strstr(j, "\"suppressions\": []}\n"), "%s", j);
	free(j);
	j = render_leaks(HS_FMT_JSON, t, 2, &v);
	ck_assert_msg(!strncmp(j, "{\"schema\": 1, \"summary\": {\"definite\": {\"blocks\": 2, \"bytes\": 200}, ", 66),
		      "%s", j);
	free(j);
	char *txt = render_leaks(HS_FMT_TEXT, t, 2, &v);
	ck_assert_msg(strstr(txt, "Direct leak of 100 byte(s) in 1 object(s) allocated from:\n    #0 0x"), "%s", txt);
	ck_assert_msg(strstr(txt, "TOTAL over 2 traces:\n   definitely lost: 200 bytes in 2 blocks\n"), "%s", txt);
	free(txt);
	char *sarif = render_leaks(HS_FMT_SARIF, t, 2, &v);
	ck_assert_msg(strstr(sarif, "\"ruleId\": \"definite-leak\""), "%s", sarif);
	free(sarif);
	struct hs_leaks_view cv = {.cycles_only = 1};
	char *dot = render_leaks(HS_FMT_DOT, t, 1, &cv);
	ck_assert_str_eq(dot, "digraph leaked_cycles {\n  node [shape=box, fontname=\"monospace\"];\n}\n");
	free(dot);
	ck_assert_int_eq(hs_render_leaks(stdout, HS_FMT_DOT, t, 1, &v), -EINVAL);
	ck_assert_int_eq(hs_render_leaks(stdout, HS_FMT_FOLDED, t, 1, &v), -EINVAL);

	/* a CI run: the signature names the program and the site; a baseline
	 * with that signature makes the site known */
	struct hs_ci ci = {0};
	ck_assert_int_eq(hs_ci_add(&ci, t[0], 1u << HS_DEFINITE, NULL), 0);
	ck_assert_uint_eq(ci.nsites, 1);
	ck_assert_uint_eq(ci.failing, 1);
	ck_assert_msg(!strncmp(ci.sites[0].signature, "api-test|api_site@", 18), "%s", ci.sites[0].signature);
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	struct hs_check_view chv = {.fail_on = 1u << HS_DEFINITE, .exit_code = 23};
	ck_assert_int_eq(hs_render_check(out, HS_FMT_JSON, &ci, &chv), 0);
	fclose(out);
	FILE *f = fopen(tpath("base.json"), "w");
	fputs(buf, f);
	fclose(f);
	free(buf);
	struct hs_baseline base;
	struct hs_diag d;
	ck_assert_int_eq(hs_baseline_load(&base, tpath("base.json"), &d), 0);
	ck_assert_uint_eq(base.n, 1);
	struct hs_ci ci2 = {0};
	ck_assert_int_eq(hs_ci_add(&ci2, t[1], 1u << HS_DEFINITE, &base), 0);
	ck_assert_uint_eq(ci2.nsites, 1);
	ck_assert_int_eq(ci2.sites[0].in_baseline, 1);
	ck_assert_uint_eq(ci2.failing, 0);
	hs_ci_free(&ci2);
	hs_ci_free(&ci);
	hs_baseline_free(&base);
	ck_assert_int_lt(hs_baseline_load(&base, tpath("a.hst"), &d), 0); /* not a baseline */
	ck_assert_msg(strstr(d.msg, "not a baseline"), "%s", d.msg);
	hs_trace_free(t[0]);
	hs_trace_free(t[1]);
	hs_session_free(s);
}
END_TEST

START_TEST(test_errors)
{
	struct hs_session *s = hs_session_new(NULL);
	struct hs_want w = {.flags = HS_WANT_INFO | HS_WANT_LEAKS};
	struct hs_diag d = {""};
	enum hs_format f;

	ck_assert_ptr_null(hs_trace_read(s, tpath("none.hst"), &w, &d));
	ck_assert_msg(strstr(d.msg, "none.hst"), "%s", d.msg);
	ck_assert_int_eq(hs_format_parse("sarif", &f), 0);
	ck_assert_int_eq(f, HS_FMT_SARIF);
	ck_assert_int_eq(hs_format_parse("xml", &f), -EINVAL);
	ck_assert_ptr_null(hs_session_take_warning(s));
	hs_session_free(s);
}
END_TEST

/*
 * HS_WANT_REPORT_STACKS: the report is the same, its stacks stay, and the
 * others are forgotten (read as unknown): one only a freed block had, and
 * with report_kinds, one only a block of a kind not shown has.
 */
START_TEST(test_report_stacks)
{
	struct fx f;
	uint64_t s1[2] = {ret_in(api_wrapper, 0), ret_in(api_site, 0)};
	uint64_t s2[1] = {ret_in(api_site, 0)};
	uint64_t s3[1] = {ret_in(api_wrapper, 0)};

	fx_open(&f, tpath("r.hst"), 300);
	fx_process(&f, "/usr/bin/api-test");
	fx_module_self(&f, &self, 0);
	fx_stack(&f, 1, 2, s1);
	fx_stack(&f, 2, 1, s2);
	fx_stack(&f, 3, 1, s3);
	fx_allocinfo(&f, 1, 100, 1);
	fx_allocinfo(&f, 2, 70, 3);
	fx_allocinfo(&f, 3, 40, 2);
	fx_event(&f, FX_T0 + 1 * MS, 1, HST_EV_MALLOC, 1, 0);
	fx_event(&f, FX_T0 + 2 * MS, 1, HST_EV_MALLOC, 2, 0);
	fx_event(&f, FX_T0 + 3 * MS, 1, HST_EV_FREE, 2, 0);
	fx_event(&f, FX_T0 + 4 * MS, 1, HST_EV_MALLOC, 3, 0);
	fx_snapshot(&f, FX_T0 + 6 * MS, 0, HST_SNAP_EXIT, "exit");
	fx_scan(&f, FX_T0 + 7 * MS, 2);
	uint64_t addr[2] = {0x10000, 0x20000}; /* 100 B unreachable, 40 B from a root */
	uint32_t info[2] = {1, 3}, seq[2] = {1, 3};
	fx_blocks(&f, 2, addr, info, seq);
	fx_root(&f, 0, HST_ROOT_DATA, 0x5000, 64, self.path);
	uint64_t off[1] = {0}, dst[1] = {1};
	fx_edges(&f, 1, 0, 1, off, dst, NULL);
	fx_scan_end(&f, 1, FX_T0 + 8 * MS);
	fx_end(&f, FX_T0 + 9 * MS, 0);
	fx_close(&f);

	struct hs_session *s = hs_session_new(NULL);
	struct hs_trace *all = must_read(s, "r.hst", HS_WANT_LEAKS);
	struct hs_trace *few = must_read(s, "r.hst", HS_WANT_LEAKS | HS_WANT_REPORT_STACKS);
	struct hs_want w = {.flags = HS_WANT_LEAKS | HS_WANT_REPORT_STACKS, .report_kinds = 1u << HS_DEFINITE};
	struct hs_diag d = {""};
	struct hs_trace *definite = hs_trace_read(s, tpath("r.hst"), &w, &d);
	uint32_t depth;

	ck_assert_ptr_nonnull(definite);
	ck_assert_uint_eq(few->leaks.nrecords, 2);
	ck_assert_uint_eq(few->leaks.total[HS_DEFINITE][1], 100);
	ck_assert_uint_eq(few->leaks.total[HS_REACHABLE][1], 40);
	for (uint32_t id = 1; id <= 3; id++)
		ck_assert_ptr_nonnull(hs_trace_stack_ips(all, id, &depth));
	/* every kind shown: the freed block's stack alone goes */
	ck_assert_ptr_nonnull(hs_trace_stack_ips(few, 1, &depth));
	ck_assert_uint_eq(depth, 2);
	ck_assert_ptr_nonnull(hs_trace_stack_ips(few, 2, &depth));
	ck_assert_ptr_null(hs_trace_stack_ips(few, 3, &depth));
	ck_assert_int_eq(hs_trace_stack(few, 3)->n, 0);
	/* definite leaks shown: the reachable block's stack goes too */
	ck_assert_ptr_nonnull(hs_trace_stack_ips(definite, 1, &depth));
	ck_assert_ptr_null(hs_trace_stack_ips(definite, 2, &depth));
	ck_assert_ptr_null(hs_trace_stack_ips(definite, 3, &depth));
	ck_assert_uint_eq(definite->leaks.total[HS_REACHABLE][1], 40);
	/* and only the definite loss record is kept */
	ck_assert_uint_eq(all->leaks.nrecords, 2);
	ck_assert_uint_eq(definite->leaks.nrecords, 1);
	ck_assert_int_eq(definite->leaks.records[0].kind, HS_DEFINITE);
	ck_assert_uint_eq(definite->leaks.records[0].bytes, 100);

	struct hs_leaks_view v = {.kinds = 0xf};
	char *a = render_leaks(HS_FMT_JSON, &all, 1, &v), *b = render_leaks(HS_FMT_JSON, &few, 1, &v);
	ck_assert_ptr_nonnull(strstr(b, "api_site"));
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	v.kinds = 1u << HS_DEFINITE;
	a = render_leaks(HS_FMT_TEXT, &all, 1, &v);
	b = render_leaks(HS_FMT_TEXT, &definite, 1, &v);
	ck_assert_ptr_nonnull(strstr(b, "api_wrapper"));
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	hs_trace_free(all);
	hs_trace_free(few);
	hs_trace_free(definite);
	hs_session_free(s);
}
END_TEST

/* A report a trace at a time (each freed once added) is the report of
 * the traces held together, byte for byte: text and JSON, of one trace
 * and of two; the stream refuses another format and a wrong count. */
START_TEST(test_leaks_stream)
{
	write_trace("a.hst", 100, 0);
	write_trace("b.hst", 200, 0x10000000);
	struct hs_session_config cfg = {.wrappers = "api_wrapper"};
	struct hs_session *s = hs_session_new(&cfg);
	struct hs_leaks_view v = {.kinds = (1u << HS_DEFINITE) | (1u << HS_INDIRECT)};
	const char *names[2] = {"a.hst", "b.hst"};
	enum hs_format fmts[2] = {HS_FMT_TEXT, HS_FMT_JSON};

	for (int f = 0; f < 2; f++)
		for (int n = 1; n <= 2; n++) {
			struct hs_trace *t[2] = {must_read(s, "a.hst", HS_WANT_LEAKS), must_read(s, "b.hst", HS_WANT_LEAKS)};
			char *want = render_leaks(fmts[f], t, n, &v), *got = NULL;
			size_t len = 0;
			hs_trace_free(t[0]);
			hs_trace_free(t[1]);
			struct hs_leaks_stream st;
			ck_assert_int_eq(hs_leaks_stream_begin(&st, fmts[f], n, &v), 0);
			for (int i = 0; i < n; i++) {
				struct hs_trace *one = must_read(s, names[i], HS_WANT_LEAKS);
				ck_assert_int_eq(hs_leaks_stream_add(&st, one), 0);
				hs_trace_free(one);
			}
			FILE *out = open_memstream(&got, &len);
			ck_assert_int_eq(hs_leaks_stream_end(&st, out), 0);
			fclose(out);
			hs_leaks_stream_free(&st);
			ck_assert_str_eq(got, want);
			free(got);
			free(want);
		}
	struct hs_leaks_stream st;
	ck_assert_int_eq(hs_leaks_stream_begin(&st, HS_FMT_SARIF, 1, &v), -EINVAL);
	hs_leaks_stream_free(&st);
	ck_assert_int_eq(hs_leaks_stream_begin(&st, HS_FMT_TEXT, 2, &v), 0);
	ck_assert_int_eq(hs_leaks_stream_end(&st, stdout), -EINVAL); /* no trace added yet */
	hs_leaks_stream_free(&st);
	hs_session_free(s);
}
END_TEST

Suite *api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("api");

	tcase_add_checked_fixture(tc, dir_setup, dir_teardown);
	tcase_add_test(tc, test_one_pass);
	tcase_add_test(tc, test_shared_symbols);
	tcase_add_test(tc, test_two_sessions);
	tcase_add_test(tc, test_render_leaks);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_report_stacks);
	tcase_add_test(tc, test_leaks_stream);
	suite_add_tcase(s, tc);
	return s;
}
