/* Description: unit tests of the statistics (src/analyze/select.c and
 * stats.c) through the public header, on traces written with the real
 * encoder: heaps at selectors (start, exit, labels, indexes, times, peak)
 * taken in one pass and equal to a brute-force replay, the peak kept
 * through a journal that overflows, with the allocations up to it; an
 * unknown label; grouping by function, line, file, module and traceback,
 * cumulative with recursion, include and exclude filters and their totals;
 * a diff; growth; the lines of several traces added by key; folded stacks
 * in order; temporary blocks; per-stack heaps. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <heapsnap-analyze.h>

#include "analyze/info.h"
#include "check_suites.h"
#include "trace_fixture.h"

/* The functions the stacks of the traces name. */
__attribute__((noinline)) void *st_leaf(size_t n)
{
	return malloc(n);
}

__attribute__((noinline)) void *st_mid(size_t n)
{
	return st_leaf(n + 1);
}

__attribute__((noinline)) void *st_top(size_t n)
{
	return st_mid(n + 2);
}

static struct fx_self self;
static char dir[64];

static void setup(void)
{
	strcpy(dir, "/tmp/hs-stats-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	fx_self(&self);
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static const char *tpath(const char *name)
{
	static char p[4][128];
	static int k;
	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
	return p[k];
}

#define MS 1000000ull

/* Stacks: 1 = leaf <- mid <- top, 2 = mid <- top, 3 = top, 4 = leaf <- leaf
 * (recursion).  Allocinfos: 1: 100 B stack 1, 2: 200 B stack 2, 3: 30 B
 * stack 3, 4: 5 B stack 4, 5: 1000 B stack 1. */
static void common(struct fx *f, uint32_t pid)
{
	uint64_t s1[3] = {fx_ret(st_leaf, 0), fx_ret(st_mid, 0), fx_ret(st_top, 0)};
	uint64_t s4[2] = {fx_ret(st_leaf, 0), fx_ret(st_leaf, 0)};

	fx_open(f, tpath(pid == 1 ? "a.hst" : pid == 2 ? "b.hst" : "c.hst"), pid);
	fx_process(f, "/usr/bin/stats-test");
	fx_module_self(f, &self, 0);
	fx_stack(f, 1, 3, s1);
	fx_stack(f, 2, 2, s1 + 1);
	fx_stack(f, 3, 1, s1 + 2);
	fx_stack(f, 4, 2, s4);
	fx_allocinfo(f, 1, 100, 1);
	fx_allocinfo(f, 2, 200, 2);
	fx_allocinfo(f, 3, 30, 3);
	fx_allocinfo(f, 4, 5, 4);
	fx_allocinfo(f, 5, 1000, 1);
}

/*
 * The snapshots trace: at 1 ms 2 x info 1; snapshot 0 "s1" at 2 ms; 1 x
 * info 2 at 3 ms; snapshot 1 "s2" at 4 ms; info 5 at 5 ms (the peak,
 * 1400 B), freed at 6 ms (a temporary block); 3 x info 3 and 1 x info 4
 * at 7 ms; snapshot 2 "s3" at 8 ms; exit snapshot at 9 ms.
 */
static void write_snapshots(uint32_t pid)
{
	struct fx f;

	common(&f, pid);
	fx_event(&f, FX_T0 + 1 * MS, 1, HST_EV_MALLOC, 1, 0);
	fx_event(&f, FX_T0 + 1 * MS, 1, HST_EV_MALLOC, 1, 0);
	fx_snapshot(&f, FX_T0 + 2 * MS, 0, HST_SNAP_SIGNAL, "s1");
	fx_event(&f, FX_T0 + 3 * MS, 1, HST_EV_MALLOC, 2, 0);
	fx_snapshot(&f, FX_T0 + 4 * MS, 1, HST_SNAP_SIGNAL, "s2");
	fx_event(&f, FX_T0 + 5 * MS, 1, HST_EV_MALLOC, 5, 0);
	fx_event(&f, FX_T0 + 6 * MS, 1, HST_EV_FREE, 5, 0);
	encode_event_temporary(&f.ev);
	for (int i = 0; i < 3; i++)
		fx_event(&f, FX_T0 + 7 * MS, 1, HST_EV_MALLOC, 3, 0);
	fx_event(&f, FX_T0 + 7 * MS, 1, HST_EV_MALLOC, 4, 0);
	fx_snapshot(&f, FX_T0 + 8 * MS, 2, HST_SNAP_API, "s3");
	fx_snapshot(&f, FX_T0 + 9 * MS, 3, HST_SNAP_EXIT, "exit");
	fx_end(&f, FX_T0 + 10 * MS, 0);
	fx_close(&f);
}

static struct hs_trace *must_read(struct hs_session *s, const char *name, const char *const *sel, int nsel,
				  unsigned flags)
{
	struct hs_want w = {.flags = flags, .select = sel, .nselect = nsel};
	struct hs_diag d = {""};
	struct hs_trace *t = hs_trace_read(s, tpath(name), &w, &d);

	ck_assert_msg(t != NULL, "%s", d.msg);
	return t;
}

/* The lines of one heap, grouped as g. */
static long lines_of(struct hs_trace *t, const struct hs_heap *h, const struct hs_group *g, struct hs_stat_line **l,
		     uint64_t *size, uint64_t *count)
{
	struct hs_stats *st = hs_stats_new(g, 1);
	ck_assert_ptr_nonnull(st);
	ck_assert_int_eq(hs_stats_add(st, t, h, 0), 0);
	long n = hs_stats_top(st, 0, l);
	ck_assert_int_ge(n, 0);
	hs_stats_total(st, 0, size, count);
	hs_stats_free(st);
	return n;
}

static void line_is(const struct hs_stat_line *l, const char *key, uint64_t size, uint64_t count)
{
	ck_assert_str_eq(l->key, key);
	ck_assert_uint_eq(l->size, size);
	ck_assert_uint_eq(l->count, count);
}

/* ---- tests ------------------------------------------------------------------- */

/* Every kind of selector, in one pass. */
START_TEST(test_selectors)
{
	write_snapshots(1);
	struct hs_session *s = hs_session_new(NULL);
	const char *sel[] = {"start", "s1", "1", "peak", "exit", "@0.0045", "@1s", "s3"};
	struct hs_trace *t = must_read(s, "a.hst", sel, 8, HS_WANT_SNAPSHOT_HEAPS);

	ck_assert_int_eq(t->nheaps, 8);
	const struct hs_heap *h = t->heaps;
	/* start: empty, at the trace's start */
	ck_assert_uint_eq(h[0].bytes, 0);
	ck_assert_int_eq(h[0].index, -1);
	ck_assert_str_eq(h[0].label, "start");
	ck_assert_uint_eq(h[0].ts, FX_T0);
	/* s1 (a label) and 1 (an index) */
	ck_assert_uint_eq(h[1].bytes, 200);
	ck_assert_int_eq(h[1].index, 0);
	ck_assert_str_eq(h[1].label, "s1");
	ck_assert_uint_eq(h[2].bytes, 400);
	ck_assert_uint_eq(h[2].blocks, 3);
	ck_assert_str_eq(h[2].label, "s2");
	ck_assert_double_eq_tol(h[2].seconds, 0.004, 1e-9);
	/* the peak: when info 5 was live */
	ck_assert_uint_eq(h[3].bytes, 1400);
	ck_assert_uint_eq(h[3].blocks, 4);
	ck_assert_uint_eq(h[3].ts, FX_T0 + 5 * MS);
	ck_assert_uint_eq(h[3].count[5], 1);
	ck_assert_str_eq(h[3].label, "peak");
	/* exit: the exit snapshot */
	ck_assert_uint_eq(h[4].bytes, 400 + 90 + 5);
	ck_assert_int_eq(h[4].index, 3);
	/* @4.5 ms: after s2, before info 5 */
	ck_assert_uint_eq(h[5].bytes, 400);
	ck_assert_uint_eq(h[5].ts, FX_T0 + 4500000);
	ck_assert_int_eq(h[5].index, -1);
	/* @1s: past the end, the heap at the end */
	ck_assert_uint_eq(h[6].bytes, 495);
	ck_assert_uint_eq(h[6].ts, FX_T0 + 1000 * MS);
	ck_assert_uint_eq(h[7].bytes, 495);
	/* every snapshot but the exit one */
	ck_assert_int_eq(t->nsnapshot_heaps, 3);
	ck_assert_str_eq(t->snapshot_heaps[2].label, "s3");
	ck_assert_uint_eq(t->snapshot_heaps[2].bytes, 495);
	hs_trace_free(t);

	/* a label that no snapshot has */
	const char *bad[] = {"exit", "nosuch"};
	struct hs_want w = {.select = bad, .nselect = 2};
	struct hs_diag d = {""};
	ck_assert_ptr_null(hs_trace_read(s, tpath("a.hst"), &w, &d));
	ck_assert_msg(strstr(d.msg, "no snapshot labelled 'nosuch' in this trace"), "%s", d.msg);
	const char *bad2[] = {"17"};
	w.select = bad2;
	w.nselect = 1;
	ck_assert_ptr_null(hs_trace_read(s, tpath("a.hst"), &w, &d));
	ck_assert_msg(strstr(d.msg, "no snapshot with index '17'"), "%s", d.msg);
	hs_session_free(s);
}
END_TEST

/*
 * Heaps at evenly spread times (hs_want.ntimes) in the one pass: a run of
 * 1 s that allocates 30 B every millisecond; each heap holds what was
 * allocated up to its time, the times are in order and each is within
 * half a spacing of its share of the run.  A run of 0.3 ms has room for
 * fewer.
 */
START_TEST(test_time_heaps)
{
	struct fx f;
	enum { NTIMES = 4, STEPS = 1000 };

	common(&f, 3);
	for (uint64_t i = 1; i <= STEPS; i++)
		fx_event(&f, FX_T0 + i * MS, 1, HST_EV_MALLOC, 3, 0);
	fx_end(&f, FX_T0 + STEPS * MS, 0);
	fx_close(&f);
	struct hs_session *s = hs_session_new(NULL);
	struct hs_want w = {.ntimes = NTIMES};
	struct hs_diag d = {""};
	struct hs_trace *t = hs_trace_read(s, f.path, &w, &d);
	ck_assert_msg(t != NULL, "%s", d.msg);
	ck_assert_int_eq(t->ntime_heaps, NTIMES);
	uint64_t span = STEPS * MS, prev = 0;
	for (int k = 0; k < NTIMES; k++) {
		const struct hs_heap *h = &t->time_heaps[k];
		uint64_t at = h->ts - FX_T0, want = span * (k + 1) / (NTIMES + 1);
		ck_assert_uint_gt(h->ts, prev);
		ck_assert_uint_le(at > want ? at - want : want - at, span / NTIMES / 2);
		ck_assert_uint_eq(h->bytes, 30 * (at / MS));
		ck_assert_uint_eq(h->blocks, at / MS);
		ck_assert_uint_eq(h->count[3], at / MS);
		ck_assert_int_eq(h->index, -1);
		prev = h->ts;
	}
	hs_trace_free(t);

	common(&f, 3);
	for (uint64_t i = 1; i <= 3; i++)
		fx_event(&f, FX_T0 + i * MS / 10, 1, HST_EV_MALLOC, 3, 0);
	fx_end(&f, FX_T0 + 3 * MS / 10, 0);
	fx_close(&f);
	t = hs_trace_read(s, f.path, &w, &d); /* the writer does not overwrite: a name of its own */
	ck_assert_msg(t != NULL, "%s", d.msg);
	ck_assert_int_ge(t->ntime_heaps, 1);
	ck_assert_int_lt(t->ntime_heaps, NTIMES);
	for (int k = 1; k < t->ntime_heaps; k++)
		ck_assert_uint_gt(t->time_heaps[k].ts, t->time_heaps[k - 1].ts);
	hs_trace_free(t);

	/* a time near the end of the clock (a damaged trace): the grid's
	 * spacing grows to it, its heaps still in order */
	common(&f, 3);
	fx_event(&f, FX_T0 + MS, 1, HST_EV_MALLOC, 3, 0);
	fx_event(&f, UINT64_MAX - 5, 1, HST_EV_MALLOC, 3, 0);
	fx_close(&f);
	t = hs_trace_read(s, f.path, &w, &d);
	ck_assert_msg(t != NULL, "%s", d.msg);
	ck_assert_int_le(t->ntime_heaps, NTIMES);
	for (int k = 1; k < t->ntime_heaps; k++)
		ck_assert_uint_gt(t->time_heaps[k].ts, t->time_heaps[k - 1].ts);
	hs_trace_free(t);
	hs_session_free(s);
}
END_TEST

/*
 * The peak of a long run equals a brute-force replay: a rising phase of
 * random allocations and frees (new peaks often: the journal path), a
 * long churn that frees a block and allocates it again (below the peak,
 * long enough to overflow the journal), then allocations only (a new peak
 * after the overflow: the whole-copy path, then the journal again).
 */
START_TEST(test_peak_brute_force)
{
	enum { IDS = 300, RISE = 20000, CHURN = 160000, LAST = 3000 };
	static uint64_t live[IDS + 1], best[IDS + 1], allocs[IDS + 1], best_allocs[IDS + 1];
	uint64_t bytes = 0, best_bytes = 0, best_ts = 0, x = 88172645463325252ull, ts = FX_T0;
	uint32_t freed = 0;
	struct fx f;

	common(&f, 3);
	for (uint32_t id = 6; id <= IDS; id++)
		fx_allocinfo(&f, id, id, 1 + id % 4);
	memset(live, 0, sizeof(live));
	memset(allocs, 0, sizeof(allocs));
	for (int i = 0; i < RISE + CHURN + LAST; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint32_t id = 6 + (uint32_t)(x % (IDS - 5));
		int alloc;
		if (i < RISE) {
			alloc = !live[id] || x % 3 != 0;
		} else if (i < RISE + CHURN && (i - RISE) % 2 == 0) {
			while (!live[id]) /* free a live block... */
				id = id == IDS ? 6 : id + 1;
			freed = id;
			alloc = 0;
		} else if (i < RISE + CHURN) {
			id = freed; /* ...and allocate it again */
			alloc = 1;
		} else {
			alloc = 1;
		}
		ts += 1000;
		if (alloc) {
			fx_event(&f, ts, 1, HST_EV_MALLOC, id, 0);
			live[id]++;
			allocs[id]++;
			bytes += id;
		} else {
			fx_event(&f, ts, 1, HST_EV_FREE, id, 0);
			live[id]--;
			bytes -= id;
		}
		if (bytes > best_bytes) {
			ck_assert_msg(i < RISE || i >= RISE + CHURN, "the churn stays below the peak");
			best_bytes = bytes;
			best_ts = ts;
			memcpy(best, live, sizeof(best));
			memcpy(best_allocs, allocs, sizeof(best_allocs));
		}
	}
	fx_end(&f, ts + 1000, 0);
	fx_close(&f);

	struct hs_session *s = hs_session_new(NULL);
	const char *sel[] = {"peak"};
	struct hs_trace *t = must_read(s, "c.hst", sel, 1, HS_WANT_INFO | HS_WANT_ALLOCS);
	const struct hs_heap *h = &t->heaps[0];
	ck_assert_uint_eq(h->bytes, best_bytes);
	ck_assert_uint_eq(t->info.peak_bytes, best_bytes);
	ck_assert_uint_eq(h->ts / 10000, best_ts / 10000); /* to the trace's tick */
	for (uint32_t id = 6; id <= IDS; id++)
		ck_assert_msg(h->count[id] == best[id], "allocinfo %u: %llu live at the peak, want %llu", id,
			      (unsigned long long)h->count[id], (unsigned long long)best[id]);
	/* and the allocations up to the peak, through the same journal */
	ck_assert_ptr_nonnull(h->allocs);
	for (uint32_t id = 6; id <= IDS; id++)
		ck_assert_msg(h->allocs[id] == best_allocs[id], "allocinfo %u: %llu allocated by the peak, want %llu", id,
			      (unsigned long long)h->allocs[id], (unsigned long long)best_allocs[id]);
	hs_trace_free(t);
	hs_session_free(s);
}
END_TEST

/* Grouping keys, filters and totals on the exit heap. */
START_TEST(test_grouping)
{
	write_snapshots(1);
	struct hs_session *s = hs_session_new(NULL);
	const char *sel[] = {"exit"};
	struct hs_trace *t = must_read(s, "a.hst", sel, 1, 0);
	const struct hs_heap *h = &t->heaps[0];
	struct hs_stat_line *l;
	uint64_t size, count;

	/* by function: the site of each stack (no wrapper among them) */
	struct hs_group g = {.by = HS_BY_FUNCTION};
	long n = lines_of(t, h, &g, &l, &size, &count);
	ck_assert_int_eq(n, 3);
	line_is(&l[0], "st_leaf", 205, 3);
	line_is(&l[1], "st_mid", 200, 1);
	line_is(&l[2], "st_top", 90, 3);
	hs_stat_lines_free(l, n);
	ck_assert_uint_eq(size, 495);
	ck_assert_uint_eq(count, 7);

	g.cumulative = 1;
	n = lines_of(t, h, &g, &l, &size, &count);
	/* every frame: leaf 205 (the recursion counts once), mid 400, top 490 */
	ck_assert_int_eq(n, 3);
	line_is(&l[0], "st_top", 490, 6);
	line_is(&l[1], "st_mid", 400, 3);
	line_is(&l[2], "st_leaf", 205, 3);
	hs_stat_lines_free(l, n);
	ck_assert_uint_eq(size, 495); /* each block once */
	ck_assert_uint_eq(count, 7);

	/* by line, file and module: keys name this file and this program */
	g = (struct hs_group){.by = HS_BY_LINENO};
	n = lines_of(t, h, &g, &l, &size, &count);
	ck_assert_int_eq(n, 3);
	for (long i = 0; i < n; i++)
		ck_assert_msg(strstr(l[i].key, "check_stats.c:"), "%s", l[i].key);
	hs_stat_lines_free(l, n);
	g.by = HS_BY_FILE;
	n = lines_of(t, h, &g, &l, &size, &count);
	ck_assert_int_eq(n, 1);
	ck_assert_msg(strstr(l[0].key, "check_stats.c"), "%s", l[0].key);
	ck_assert_uint_eq(l[0].size, 495);
	hs_stat_lines_free(l, n);
	g.by = HS_BY_MODULE;
	n = lines_of(t, h, &g, &l, &size, &count);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(l[0].key, self.path);
	hs_stat_lines_free(l, n);
	g.by = HS_BY_TRACEBACK;
	n = lines_of(t, h, &g, &l, &size, &count);
	ck_assert_int_eq(n, 4);
	for (long i = 0; i < n; i++)
		if (l[i].size == 200)
			ck_assert_msg(strstr(l[i].key, " in st_mid\n") && strstr(l[i].key, " in st_top"), "%s", l[i].key);
	hs_stat_lines_free(l, n);

	/* filters on the site's file or module, and the totals follow them */
	const char *ex[] = {"*check_stats.c"};
	g = (struct hs_group){.by = HS_BY_FUNCTION, .exclude = ex, .nexclude = 1};
	n = lines_of(t, h, &g, &l, &size, &count);
	ck_assert_int_eq(n, 0);
	ck_assert_uint_eq(size, 0);
	hs_stat_lines_free(l, n);
	const char *in[] = {"*nothing*", "*check_all"};
	g = (struct hs_group){.by = HS_BY_FUNCTION, .include = in, .ninclude = 2};
	n = lines_of(t, h, &g, &l, &size, &count);
	ck_assert_int_eq(n, 3);
	ck_assert_uint_eq(size, 495);
	hs_stat_lines_free(l, n);

	/* by stack */
	struct hs_stack_cost *c;
	n = hs_heap_stacks(t, h, &c);
	ck_assert_int_eq(n, 4);
	/* largest first, a tie by stack id */
	ck_assert_uint_eq(c[0].stack, 1);
	ck_assert_uint_eq(c[0].bytes, 200);
	ck_assert_uint_eq(c[0].blocks, 2);
	ck_assert_uint_eq(c[1].stack, 2);
	ck_assert_uint_eq(c[1].blocks, 1);
	ck_assert_uint_eq(c[3].stack, 4);
	free(c);
	hs_trace_free(t);
	hs_session_free(s);
}
END_TEST

/* A diff of two heaps of one trace, growth over the snapshots, temporary
 * blocks, folded stacks. */
START_TEST(test_diff_growth)
{
	write_snapshots(1);
	struct hs_session *s = hs_session_new(NULL);
	const char *sel[] = {"s1", "s3"};
	struct hs_trace *t = must_read(s, "a.hst", sel, 2, HS_WANT_SNAPSHOT_HEAPS | HS_WANT_TEMPORARY);
	struct hs_group g = {.by = HS_BY_FUNCTION};
	struct hs_stats *st = hs_stats_new(&g, 2);
	struct hs_stat_line *l;
	uint64_t size, count;

	ck_assert_int_eq(hs_stats_add(st, t, &t->heaps[0], 0), 0);
	ck_assert_int_eq(hs_stats_add(st, t, &t->heaps[1], 1), 0);
	long n = hs_stats_diff(st, 0, 1, &l);
	ck_assert_int_eq(n, 3);
	/* largest change first: mid +200, top +90, leaf +5 (from 200) */
	ck_assert_str_eq(l[0].key, "st_mid");
	ck_assert_int_eq(l[0].size_diff, 200);
	ck_assert_int_eq(l[0].count_diff, 1);
	ck_assert_str_eq(l[1].key, "st_top");
	ck_assert_int_eq(l[1].size_diff, 90);
	ck_assert_str_eq(l[2].key, "st_leaf");
	ck_assert_uint_eq(l[2].size, 205);
	ck_assert_int_eq(l[2].size_diff, 5);
	hs_stat_lines_free(l, n);
	hs_stats_total(st, 0, &size, &count);
	ck_assert_uint_eq(size, 200);
	hs_stats_total(st, 1, &size, &count);
	ck_assert_uint_eq(size, 495);
	hs_stats_free(st);

	/* growth: only st_leaf's line holds at 200, 200, 205 (not every step) */
	ck_assert_int_eq(t->nsnapshot_heaps, 3);
	g.cumulative = 1;
	st = hs_stats_new(&g, 3);
	for (int c = 0; c < 3; c++)
		ck_assert_int_eq(hs_stats_add(st, t, &t->snapshot_heaps[c], c), 0);
	n = hs_stats_growth(st, 0, &l);
	/* cumulative: top 200 -> 400 -> 490 and mid 200 -> 400 -> 400 */
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(l[0].key, "st_top");
	ck_assert_uint_eq(l[0].sizes[0], 200);
	ck_assert_uint_eq(l[0].sizes[2], 490);
	ck_assert_int_eq(l[0].size_diff, 290);
	hs_stat_lines_free(l, n);
	hs_stats_free(st);
	st = hs_stats_new(&g, 2);
	ck_assert_int_lt(hs_stats_growth(st, 0, &l), 0); /* fewer than 3 columns */
	hs_stats_free(st);

	/* the one temporary block: info 5, 1000 B */
	ck_assert_uint_eq(t->temporary.blocks, 1);
	ck_assert_uint_eq(t->temporary.bytes, 1000);
	ck_assert_str_eq(t->temporary.label, "temporary");
	g.cumulative = 0;
	n = lines_of(t, &t->temporary, &g, &l, &size, &count);
	ck_assert_int_eq(n, 1);
	line_is(&l[0], "st_leaf", 1000, 1);
	hs_stat_lines_free(l, n);

	/* folded: outermost first, in the order the stacks first appear */
	n = hs_folded(t, &t->heaps[1], &g, &l);
	ck_assert_int_eq(n, 4);
	ck_assert_str_eq(l[0].key, "st_top;st_mid;st_leaf");
	ck_assert_uint_eq(l[0].size, 200);
	ck_assert_str_eq(l[1].key, "st_top;st_mid");
	ck_assert_str_eq(l[2].key, "st_top");
	ck_assert_str_eq(l[3].key, "st_leaf;st_leaf");
	ck_assert_uint_eq(l[3].size, 5);
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	hs_render_folded(out, l, n);
	fclose(out);
	ck_assert_msg(!strncmp(buf, "st_top;st_mid;st_leaf 200\nst_top;st_mid 200\n", 44), "%s", buf);
	free(buf);
	hs_stat_lines_free(l, n);
	hs_trace_free(t);
	hs_session_free(s);
}
END_TEST

/* Several traces into one table: lines add up by key, totals too; a trace
 * read, added and freed at a time. */
START_TEST(test_traces_add_up)
{
	write_snapshots(1);
	write_snapshots(2);
	struct hs_session *s = hs_session_new(NULL);
	struct hs_group g = {.by = HS_BY_FUNCTION};
	struct hs_stats *st = hs_stats_new(&g, 1);
	const char *sel[] = {"exit"};
	struct hs_stat_line *l;
	uint64_t size, count;

	for (int k = 0; k < 2; k++) {
		struct hs_trace *t = must_read(s, k ? "b.hst" : "a.hst", sel, 1, 0);
		ck_assert_int_eq(hs_stats_add(st, t, &t->heaps[0], 0), 0);
		hs_trace_free(t);
	}
	long n = hs_stats_top(st, 0, &l);
	ck_assert_int_eq(n, 3);
	line_is(&l[0], "st_leaf", 410, 6);
	line_is(&l[1], "st_mid", 400, 2);
	line_is(&l[2], "st_top", 180, 6);
	hs_stats_total(st, 0, &size, &count);
	ck_assert_uint_eq(size, 990);
	ck_assert_uint_eq(count, 14);

	/* the renderings of the table */
	struct hs_heap where = {.index = 3, .label = "exit", .seconds = 0.009};
	struct hs_top v = {.group = &g, .lines = l, .n = n, .limit = 2, .ntraces = 2, .heap = &where, .size = size,
			   .count = count};
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	ck_assert_int_eq(hs_render_top(out, HS_FMT_TEXT, &v), 0);
	ck_assert_int_eq(hs_render_top(out, HS_FMT_JSON, &v), 0);
	ck_assert_int_eq(hs_render_top(out, HS_FMT_SARIF, &v), -EINVAL);
	fclose(out);
	ck_assert_str_eq(buf, "[ Top 2 function at snapshot 3 \"exit\" (0.009 s), traces added up ]\n"
			      "st_leaf: size=410 B, count=6, average=68 B\n"
			      "st_mid: size=400 B, count=2, average=200 B\n"
			      "Total: size=990 B, count=14\n"
			      "{\"schema\": 1, \"snapshot\": {\"index\": 3, \"label\": \"exit\", \"time\": 0.009000}, "
			      "\"traces\": 2, \"by\": \"function\", \"cumulative\": false, \"stats\": ["
			      "{\"key\": \"st_leaf\", \"size\": 410, \"count\": 6, \"average\": 68}, "
			      "{\"key\": \"st_mid\", \"size\": 400, \"count\": 2, \"average\": 200}], "
			      "\"total\": {\"size\": 990, \"count\": 14}}\n");
	free(buf);
	hs_stat_lines_free(l, n);
	hs_stats_free(st);
	hs_session_free(s);
}
END_TEST

START_TEST(test_names)
{
	enum hs_by by;

	ck_assert_int_eq(hs_by_parse("traceback", &by), 0);
	ck_assert_int_eq(by, HS_BY_TRACEBACK);
	ck_assert_str_eq(hs_by_name(HS_BY_MODULE), "module");
	ck_assert_int_eq(hs_by_parse("line", &by), -EINVAL);
}
END_TEST

/* A damaged trace's first event may name thread UINT32_MAX, the value the
 * counter's "last thread" starts as: it is a thread like any other, not
 * the (absent) table's first entry (a fuzz finding: UBSan, NULL + 0). */
START_TEST(test_info_thread_max_index)
{
	struct info_state st;
	struct hs_info in;

	memset(&in, 0, sizeof(in));
	ck_assert_int_eq(info_begin(&st, &in), 0);
	struct hs_thread *t = info_thread(&st, &in, UINT32_MAX);
	ck_assert_ptr_nonnull(t);
	ck_assert_uint_eq(in.nthreads, 1);
	ck_assert_uint_eq(t->index, UINT32_MAX);
	ck_assert_ptr_eq(info_thread(&st, &in, UINT32_MAX), t);
	info_abort(&st);
	free(in.threads);
}
END_TEST

Suite *stats_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("stats");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_selectors);
	tcase_add_test(tc, test_peak_brute_force);
	tcase_add_test(tc, test_time_heaps);
	tcase_add_test(tc, test_info_thread_max_index);
	tcase_add_test(tc, test_grouping);
	tcase_add_test(tc, test_diff_growth);
	tcase_add_test(tc, test_traces_add_up);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);
	return s;
}
