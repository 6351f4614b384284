/* Description: unit tests of the pprof profiles (src/analyze/pprof.c) and
 * of what they take from the analyses (allocations up to a heap's moment,
 * modules' executable segments and file offsets, system names), through
 * the public header, on a trace written with the real encoder.  Each
 * profile is written with hs_render_pprof, gunzipped and decoded with
 * protobuf-c's decoder of profile.proto, and checked field by field:
 * sample types and their order, the period, time and duration, every
 * value of every sample, locations leaf first with their mapping (this
 * program's executable segment, as its program headers say), addresses
 * inside the call instruction, lines innermost first (an inlined function
 * in one location with its caller), frames outside any module, a module
 * whose file is not the one that ran; a diff nets one trace's stacks; a
 * leak profile; misuse (-EINVAL) and a full disk (-EIO). */
#define _GNU_SOURCE
#include <check.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <heapsnap-analyze.h>

#include "check_suites.h"
#include "profile.pb-c.h"
#include "trace_fixture.h"

typedef Perftools__Profiles__Profile Profile;
typedef Perftools__Profiles__Sample Sample;
typedef Perftools__Profiles__Location Location;
typedef Perftools__Profiles__Mapping Mapping;
typedef Perftools__Profiles__Function Function;

/* ---- the program the trace describes ---------------------------------------- */

__attribute__((noinline)) void *pp_leaf(size_t n)
{
	return malloc(n);
}

__attribute__((noinline)) void *pp_mid(size_t n)
{
	return pp_leaf(n + 1);
}

__attribute__((noinline)) void *pp_top(size_t n)
{
	return pp_mid(n + 2);
}

/* The return address of the call that reached it. */
__attribute__((noinline)) uint64_t pp_capture(void)
{
	return (uint64_t)(uintptr_t)__builtin_return_address(0);
}

/* A return address inside an inlined function: pp_inner's call of
 * pp_capture, inlined into pp_outer (the asm after the call keeps it a
 * call, not a jump). */
static inline __attribute__((always_inline)) uint64_t pp_inner(void)
{
	uint64_t r = pp_capture();
	__asm__ volatile("" : "+r"(r));
	return r;
}

__attribute__((noinline)) uint64_t pp_outer(void)
{
	uint64_t r = pp_inner();
	__asm__ volatile("" : "+r"(r));
	return r;
}

static struct fx_self self;
static char dir[64];

static void setup(void)
{
	strcpy(dir, "/tmp/hs-pprof-XXXXXX");
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
#define FAKE_BIAS 0x10000000ull /* a library below this program, its file not the one that ran */
#define NOWHERE 0x10ull		 /* a return address in no module */

static uint64_t ips1[3], ips2[2], ips3[3];

/* The executable segment of this program (its program headers). */
static const struct fx_segment *self_text(void)
{
	for (int i = 0; i < self.nseg; i++)
		if (self.seg[i].flags & PF_X)
			return &self.seg[i];
	ck_abort_msg("no executable segment");
	return NULL;
}

/*
 * The trace: this program (every segment), a library "/nonexistent/libfake.so"
 * with a build-id no file has (segments R at 0, RX at 0x3000).  Stacks:
 * 1 = pp_leaf <- pp_mid <- pp_top; 2 = pp_inner (inlined) in pp_outer <-
 * pp_top; 3 = libfake <- nowhere <- pp_top.  Allocinfos: 1: 100 B stack 1,
 * 2: 24 B stack 2, 3: 7 B stack 3, 4: 1000 B stack 1.  Events: 2 x info 1
 * at 1 ms, info 2 at 2 ms, snapshot "s1" at 3 ms, info 4 at 4 ms (the
 * peak, 1224 B) freed at 5 ms, info 3 and a free of info 1 at 6 ms, the
 * exit snapshot at 7 ms; a scan: info 3's block is pointed to from info
 * 1's (indirect), which nothing points to (definite), info 2's from a root
 * (reachable).
 */
static void write_trace(const char *name, uint32_t pid)
{
	static const uint8_t fake_bid[4] = {0xde, 0xad, 0xbe, 0xef};
	const struct fx_segment fake_seg[2] = {{0, 0x1000, 0, PF_R}, {0x3000, 0x2000, 0, PF_R | PF_X}};
	struct fx f;

	ips1[0] = fx_ret(pp_leaf, 0);
	ips1[1] = fx_ret(pp_mid, 0);
	ips1[2] = fx_ret(pp_top, 0);
	ips2[0] = pp_outer();
	ips2[1] = fx_ret(pp_top, 0);
	ips3[0] = FAKE_BIAS + 0x3100;
	ips3[1] = NOWHERE;
	ips3[2] = fx_ret(pp_top, 0);
	fx_open(&f, tpath(name), pid);
	fx_process(&f, self.path);
	fx_module_segments(&f, "/nonexistent/libfake.so", fake_bid, sizeof(fake_bid), FAKE_BIAS, fake_seg, 2);
	fx_module_segments(&f, self.path, self.bid, self.bid_len, self.bias, self.seg, self.nseg);
	fx_stack(&f, 1, 3, ips1);
	fx_stack(&f, 2, 2, ips2);
	fx_stack(&f, 3, 3, ips3);
	fx_allocinfo(&f, 1, 100, 1);
	fx_allocinfo(&f, 2, 24, 2);
	fx_allocinfo(&f, 3, 7, 3);
	fx_allocinfo(&f, 4, 1000, 1);
	fx_event(&f, FX_T0 + 1 * MS, 1, HST_EV_MALLOC, 1, 0);
	fx_event(&f, FX_T0 + 1 * MS, 1, HST_EV_MALLOC, 1, 0);
	fx_event(&f, FX_T0 + 2 * MS, 1, HST_EV_MALLOC, 2, 0);
	fx_snapshot(&f, FX_T0 + 3 * MS, 0, HST_SNAP_API, "s1");
	fx_event(&f, FX_T0 + 4 * MS, 1, HST_EV_MALLOC, 4, 0);
	fx_event(&f, FX_T0 + 5 * MS, 1, HST_EV_FREE, 4, 0);
	fx_event(&f, FX_T0 + 6 * MS, 1, HST_EV_MALLOC, 3, 0);
	fx_event(&f, FX_T0 + 6 * MS, 1, HST_EV_FREE, 1, 0);
	fx_snapshot(&f, FX_T0 + 7 * MS, 1, HST_SNAP_EXIT, "exit");
	fx_scan(&f, FX_T0 + 7 * MS, 3);
	uint64_t addr[3] = {0x10000, 0x20000, 0x30000};
	uint32_t info[3] = {1, 2, 3}, seq[3] = {1, 2, 3};
	fx_blocks(&f, 3, addr, info, seq);
	fx_root(&f, 0, HST_ROOT_DATA, 0x5000, 64, self.path);
	uint64_t off[1] = {0}, dst[1] = {1}; /* root 0 -> block 1 (info 2) */
	fx_edges(&f, 1, 0, 1, off, dst, NULL);
	uint64_t off1[1] = {8}, dst1[1] = {2}; /* block 0 (info 1) -> block 2 (info 3) */
	fx_edges(&f, 0, 0, 1, off1, dst1, NULL);
	fx_scan_end(&f, 2, FX_T0 + 8 * MS);
	fx_end(&f, FX_T0 + 9 * MS, 0);
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

/* ---- reading a profile back --------------------------------------------------- */

/* Write p to tmpdir/name and decode it again (gunzip, then protobuf-c). */
static Profile *round_trip(const struct hs_pprof *p, const char *name)
{
	FILE *f = fopen(tpath(name), "w+");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(hs_render_pprof(f, p), 0);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	ck_assert_int_gt(n, 18);
	rewind(f);
	unsigned char *gz = malloc((size_t)n);
	ck_assert_ptr_nonnull(gz);
	ck_assert_uint_eq(fread(gz, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	ck_assert_msg(gz[0] == 0x1f && gz[1] == 0x8b, "not gzip");

	size_t cap = 1 << 20;
	unsigned char *raw = malloc(cap);
	z_stream z = {0};
	ck_assert_int_eq(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = gz;
	z.avail_in = (uInt)n;
	z.next_out = raw;
	z.avail_out = (uInt)cap;
	ck_assert_int_eq(inflate(&z, Z_FINISH), Z_STREAM_END);
	size_t len = cap - z.avail_out;
	inflateEnd(&z);
	Profile *pr = perftools__profiles__profile__unpack(NULL, len, raw);
	ck_assert_ptr_nonnull(pr);
	free(raw);
	free(gz);
	return pr;
}

static const char *str(const Profile *pr, int64_t i)
{
	ck_assert_int_ge(i, 0);
	ck_assert_uint_lt((uint64_t)i, pr->n_string_table);
	return pr->string_table[i];
}

static const Location *loc(const Profile *pr, uint64_t id)
{
	ck_assert_uint_ge(id, 1);
	ck_assert_uint_le(id, pr->n_location);
	ck_assert_uint_eq(pr->location[id - 1]->id, id);
	return pr->location[id - 1];
}

static const Mapping *map(const Profile *pr, uint64_t id)
{
	ck_assert_uint_ge(id, 1);
	ck_assert_uint_le(id, pr->n_mapping);
	ck_assert_uint_eq(pr->mapping[id - 1]->id, id);
	return pr->mapping[id - 1];
}

static const Function *fn(const Profile *pr, uint64_t id)
{
	ck_assert_uint_ge(id, 1);
	ck_assert_uint_le(id, pr->n_function);
	ck_assert_uint_eq(pr->function[id - 1]->id, id);
	return pr->function[id - 1];
}

/* The function name of line k of location id. */
static const char *line_fn(const Profile *pr, uint64_t id, size_t k)
{
	const Location *l = loc(pr, id);
	ck_assert_uint_lt(k, l->n_line);
	return str(pr, fn(pr, l->line[k]->function_id)->name);
}

/* The sample whose leaf location has line function leaf_fn (the first). */
static const Sample *sample_at(const Profile *pr, const char *leaf_fn)
{
	for (size_t i = 0; i < pr->n_sample; i++) {
		const Sample *s = pr->sample[i];
		if (s->n_location_id && loc(pr, s->location_id[0])->n_line &&
		    !strcmp(line_fn(pr, s->location_id[0], 0), leaf_fn))
			return s;
	}
	ck_abort_msg("no sample at %s", leaf_fn);
	return NULL;
}

/* The sample whose leaf location is in mapping m's file. */
static const Sample *sample_in(const Profile *pr, const char *file)
{
	for (size_t i = 0; i < pr->n_sample; i++) {
		const Sample *s = pr->sample[i];
		const Location *l = s->n_location_id ? loc(pr, s->location_id[0]) : NULL;
		if (l && l->mapping_id && !strcmp(str(pr, map(pr, l->mapping_id)->filename), file))
			return s;
	}
	ck_abort_msg("no sample in %s", file);
	return NULL;
}

static int64_t total(const Profile *pr, size_t v)
{
	int64_t sum = 0;
	for (size_t i = 0; i < pr->n_sample; i++) {
		ck_assert_uint_eq(pr->sample[i]->n_value, pr->n_sample_type);
		sum += pr->sample[i]->value[v];
	}
	return sum;
}

static void values_are(const Sample *s, int64_t a, int64_t b, int64_t c, int64_t d)
{
	ck_assert_uint_eq(s->n_value, 4);
	ck_assert_int_eq(s->value[0], a);
	ck_assert_int_eq(s->value[1], b);
	ck_assert_int_eq(s->value[2], c);
	ck_assert_int_eq(s->value[3], d);
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

/* ---- tests ------------------------------------------------------------------- */

/* HS_WANT_ALLOCS: the blocks allocated up to each heap's moment. */
START_TEST(test_allocs)
{
	write_trace("a.hst", 7);
	struct hs_session *s = hs_session_new(NULL);
	const char *sel[] = {"start", "s1", "peak", "exit"};
	struct hs_trace *t = must_read(s, "a.hst", sel, 4, HS_WANT_ALLOCS | HS_WANT_SNAPSHOT_HEAPS);
	const struct hs_heap *h = t->heaps;
	static const uint64_t want[4][5] = {
		{0, 0, 0, 0, 0}, /* start */
		{0, 2, 1, 0, 0}, /* s1 */
		{0, 2, 1, 0, 1}, /* peak: info 4 just allocated */
		{0, 2, 1, 1, 1}, /* exit */
	};
	for (int k = 0; k < 4; k++) {
		ck_assert_ptr_nonnull(h[k].allocs);
		for (uint32_t id = 1; id <= 4; id++)
			ck_assert_msg(id >= h[k].ninfo ? want[k][id] == 0 : h[k].allocs[id] == want[k][id],
				      "%s: allocinfo %u", h[k].label, id);
	}
	ck_assert_uint_eq(h[2].bytes, 1224);
	/* the program's own snapshots count them too */
	ck_assert_int_eq(t->nsnapshot_heaps, 1);
	ck_assert_uint_eq(t->snapshot_heaps[0].allocs[1], 2);
	/* per stack: freed stacks stay, with what they allocated */
	struct hs_stack_cost *c;
	long n = hs_heap_stacks(t, &h[3], &c);
	ck_assert_int_eq(n, 3);
	for (long i = 0; i < n; i++)
		if (c[i].stack == 1) {
			ck_assert_uint_eq(c[i].blocks, 1);
			ck_assert_uint_eq(c[i].bytes, 100);
			ck_assert_uint_eq(c[i].alloc_blocks, 3);
			ck_assert_uint_eq(c[i].alloc_bytes, 1200);
		}
	free(c);
	hs_trace_free(t);

	/* not asked: no allocs */
	t = must_read(s, "a.hst", sel, 1, 0);
	ck_assert_ptr_null(t->heaps[0].allocs);
	hs_trace_free(t);
	hs_session_free(s);
}
END_TEST

/* The modules' executable segments and file offsets; system names. */
START_TEST(test_modules)
{
	write_trace("a.hst", 7);
	struct hs_session *s = hs_session_new(NULL);
	const char *sel[] = {"exit"};
	struct hs_trace *t = must_read(s, "a.hst", sel, 1, 0);
	size_t n;
	const struct hs_module *m = hs_trace_modules(t, &n);
	const struct fx_segment *x = self_text();

	ck_assert_uint_eq(n, 2);
	/* the library: its file is not there, the offset is the segment's
	 * address from the first segment's */
	ck_assert_str_eq(m[0].path, "/nonexistent/libfake.so");
	ck_assert_uint_eq(m[0].text_lo, FAKE_BIAS + 0x3000);
	ck_assert_uint_eq(m[0].text_hi, FAKE_BIAS + 0x5000);
	ck_assert_uint_eq(m[0].text_offset, 0x3000);
	/* this program: its executable segment, its offset from the file */
	ck_assert_str_eq(m[1].path, self.path);
	ck_assert_uint_eq(m[1].text_lo, self.bias + x->vaddr);
	ck_assert_uint_eq(m[1].text_hi, self.bias + x->vaddr + x->memsz);
	ck_assert_uint_eq(m[1].text_offset, x->offset);

	/* a C function's system name is its name; the inlined one's too */
	const struct hs_stack *st = hs_trace_stack(t, 2);
	ck_assert_int_eq(st->n, 3);
	ck_assert_str_eq(st->frames[0].function, "pp_inner");
	ck_assert_str_eq(st->frames[0].system_name, "pp_inner");
	ck_assert_int_eq(st->frames[0].inlined, 1);
	ck_assert_str_eq(st->frames[1].system_name, "pp_outer");
	ck_assert_uint_eq(st->frames[0].ip, st->frames[1].ip);
	hs_trace_free(t);
	hs_session_free(s);
}
END_TEST

/* top: the exit heap, field by field. */
START_TEST(test_heap_profile)
{
	write_trace("a.hst", 7);
	struct hs_session *s = hs_session_new(NULL);
	const char *sel[] = {"exit"};
	struct hs_trace *t = must_read(s, "a.hst", sel, 1, HS_WANT_ALLOCS);
	struct hs_pprof *p = hs_pprof_new(HS_PPROF_HEAP);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(hs_pprof_add_heap(p, t, &t->heaps[0], 1, NULL), 0);
	uint64_t realtime = t->realtime;
	hs_trace_free(t); /* the profile keeps nothing of it */
	Profile *pr = round_trip(p, "top.pb.gz");
	hs_pprof_free(p);

	/* sample types, in order; the default; the period */
	static const char *const types[4][2] = {
		{"alloc_objects", "count"}, {"alloc_space", "bytes"}, {"inuse_objects", "count"}, {"inuse_space", "bytes"}};
	ck_assert_str_eq(pr->string_table[0], "");
	ck_assert_uint_eq(pr->n_sample_type, 4);
	for (int i = 0; i < 4; i++) {
		ck_assert_str_eq(str(pr, pr->sample_type[i]->type), types[i][0]);
		ck_assert_str_eq(str(pr, pr->sample_type[i]->unit), types[i][1]);
	}
	ck_assert_str_eq(str(pr, pr->default_sample_type), "inuse_space");
	ck_assert_ptr_nonnull(pr->period_type);
	ck_assert_str_eq(str(pr, pr->period_type->type), "space");
	ck_assert_str_eq(str(pr, pr->period_type->unit), "bytes");
	ck_assert_int_eq(pr->period, 1);
	ck_assert_int_eq(pr->time_nanos, (int64_t)(realtime + 7 * MS));
	ck_assert_int_eq(pr->duration_nanos, (int64_t)(7 * MS));
	ck_assert_uint_eq(pr->n_comment, 1);
	ck_assert_ptr_nonnull(strstr(str(pr, pr->comment[0]), "a.hst"));

	/* the values: 5 blocks (1231 B) allocated, 3 (131 B) live */
	ck_assert_uint_eq(pr->n_sample, 3);
	ck_assert_int_eq(total(pr, 0), 5);
	ck_assert_int_eq(total(pr, 1), 1231);
	ck_assert_int_eq(total(pr, 2), 3);
	ck_assert_int_eq(total(pr, 3), 131);

	/* stack 1: three locations, leaf first, in this program's mapping 1
	 * (the executable: pprof names the profile after mapping 1) */
	const Sample *s1 = sample_at(pr, "pp_leaf");
	values_are(s1, 3, 1200, 1, 100);
	ck_assert_uint_eq(s1->n_location_id, 3);
	static const char *const fns[3] = {"pp_leaf", "pp_mid", "pp_top"};
	const struct fx_segment *x = self_text();
	for (int i = 0; i < 3; i++) {
		const Location *l = loc(pr, s1->location_id[i]);
		ck_assert_uint_eq(l->address, ips1[i] - 1); /* inside the call */
		ck_assert_uint_eq(l->mapping_id, 1);
		ck_assert_uint_eq(l->n_line, 1);
		const Function *f = fn(pr, l->line[0]->function_id);
		ck_assert_str_eq(str(pr, f->name), fns[i]);
		ck_assert_str_eq(str(pr, f->system_name), fns[i]);
		ck_assert_msg(ends_with(str(pr, f->filename), "check_pprof.c"), "%s", str(pr, f->filename));
		ck_assert_int_gt(l->line[0]->line, 0);
	}
	ck_assert_uint_eq(s1->n_label, 1);
	ck_assert_str_eq(str(pr, s1->label[0]->key), "pid");
	ck_assert_int_eq(s1->label[0]->num, 7);
	const Mapping *m = map(pr, 1);
	ck_assert_str_eq(str(pr, m->filename), self.path);
	ck_assert_uint_eq(m->memory_start, self.bias + x->vaddr);
	ck_assert_uint_eq(m->memory_limit, self.bias + x->vaddr + x->memsz);
	ck_assert_uint_eq(m->file_offset, x->offset);
	char bid[129] = "";
	for (size_t i = 0; i < self.bid_len; i++)
		sprintf(bid + 2 * i, "%02x", self.bid[i]);
	ck_assert_str_eq(str(pr, m->build_id), bid);
	ck_assert(m->has_functions && m->has_filenames && m->has_line_numbers && m->has_inline_frames);

	/* stack 2: the inlined function and its caller are one location,
	 * innermost first */
	const Sample *s2 = sample_at(pr, "pp_inner");
	values_are(s2, 1, 24, 1, 24);
	ck_assert_uint_eq(s2->n_location_id, 2);
	const Location *l2 = loc(pr, s2->location_id[0]);
	ck_assert_uint_eq(l2->n_line, 2);
	ck_assert_str_eq(line_fn(pr, l2->id, 1), "pp_outer");
	ck_assert_uint_eq(l2->address, ips2[0] - 1);
	ck_assert_int_gt(l2->line[0]->line, 0);
	ck_assert_int_gt(l2->line[1]->line, 0);
	/* pp_top's location is shared with stack 1 */
	ck_assert_uint_eq(s2->location_id[1], s1->location_id[2]);

	/* stack 3: the library (a mapping of its own, no symbols), a frame
	 * in no module (no mapping), then pp_top */
	const Sample *s3 = sample_in(pr, "/nonexistent/libfake.so");
	values_are(s3, 1, 7, 1, 7);
	ck_assert_uint_eq(s3->n_location_id, 3);
	const Location *l3 = loc(pr, s3->location_id[0]);
	ck_assert_uint_eq(l3->address, FAKE_BIAS + 0x3100 - 1);
	ck_assert_uint_eq(l3->n_line, 0);
	const Mapping *fm = map(pr, l3->mapping_id);
	ck_assert_uint_ne(fm->id, 1);
	ck_assert_uint_eq(fm->memory_start, FAKE_BIAS + 0x3000);
	ck_assert_uint_eq(fm->memory_limit, FAKE_BIAS + 0x5000);
	ck_assert_uint_eq(fm->file_offset, 0x3000);
	ck_assert_str_eq(str(pr, fm->build_id), "deadbeef");
	ck_assert(!fm->has_functions && !fm->has_line_numbers);
	const Location *nowhere = loc(pr, s3->location_id[1]);
	ck_assert_uint_eq(nowhere->mapping_id, 0);
	ck_assert_uint_eq(nowhere->address, NOWHERE - 1);
	ck_assert_uint_eq(nowhere->n_line, 0);
	ck_assert_uint_eq(s3->location_id[2], s1->location_id[2]);
	ck_assert_uint_eq(pr->n_mapping, 2);
	perftools__profiles__profile__free_unpacked(pr, NULL);
	hs_session_free(s);
}
END_TEST

/* Include and exclude patterns; the peak; traces added up. */
START_TEST(test_filters_and_traces)
{
	write_trace("a.hst", 7);
	write_trace("b.hst", 8);
	struct hs_session *s = hs_session_new(NULL);
	const char *sel[] = {"peak"};
	const char *ex[] = {"/nonexistent/*"};
	struct hs_group g = {.exclude = ex, .nexclude = 1};
	struct hs_pprof *p = hs_pprof_new(HS_PPROF_HEAP);
	for (int k = 0; k < 2; k++) {
		struct hs_trace *t = must_read(s, k ? "b.hst" : "a.hst", sel, 1, HS_WANT_ALLOCS);
		ck_assert_int_eq(hs_pprof_add_heap(p, t, &t->heaps[0], 1, &g), 0);
		hs_trace_free(t);
	}
	Profile *pr = round_trip(p, "peak.pb.gz");
	hs_pprof_free(p);
	/* at the peak: 2 + 1 + 1 allocated (1224 B), all live; libfake's
	 * stack had nothing yet; each process its own samples */
	ck_assert_uint_eq(pr->n_sample, 4);
	ck_assert_int_eq(total(pr, 0), 2 * 4);
	ck_assert_int_eq(total(pr, 1), 2 * 1224);
	ck_assert_int_eq(total(pr, 3), 2 * 1224);
	ck_assert_int_eq(pr->duration_nanos, (int64_t)(4 * MS));
	ck_assert_uint_eq(pr->n_comment, 2);
	/* the same code in both: shared mapping, locations, functions */
	ck_assert_uint_eq(pr->n_mapping, 1);
	ck_assert_uint_eq(pr->n_location, 4);
	perftools__profiles__profile__free_unpacked(pr, NULL);

	/* excluded at exit: the library's stack */
	p = hs_pprof_new(HS_PPROF_HEAP);
	const char *sel_exit[] = {"exit"};
	struct hs_trace *t = must_read(s, "a.hst", sel_exit, 1, HS_WANT_ALLOCS);
	const char *inc[] = {"*check_pprof.c"};
	struct hs_group gi = {.include = inc, .ninclude = 1};
	ck_assert_int_eq(hs_pprof_add_heap(p, t, &t->heaps[0], 1, &gi), 0);
	hs_trace_free(t);
	pr = round_trip(p, "inc.pb.gz");
	hs_pprof_free(p);
	ck_assert_uint_eq(pr->n_sample, 2);
	ck_assert_int_eq(total(pr, 3), 124);
	perftools__profiles__profile__free_unpacked(pr, NULL);
	hs_session_free(s);
}
END_TEST

/* diff: one trace's s1 subtracted from its exit heap, stack by stack. */
START_TEST(test_diff_profile)
{
	write_trace("a.hst", 7);
	struct hs_session *s = hs_session_new(NULL);
	const char *sel[] = {"s1", "exit"};
	struct hs_trace *t = must_read(s, "a.hst", sel, 2, HS_WANT_ALLOCS);
	struct hs_pprof *p = hs_pprof_new(HS_PPROF_HEAP);
	/* the newer first: the order does not matter */
	ck_assert_int_eq(hs_pprof_add_heap(p, t, &t->heaps[1], 1, NULL), 0);
	ck_assert_int_eq(hs_pprof_add_heap(p, t, &t->heaps[0], -1, NULL), 0);
	uint64_t realtime = t->realtime;
	hs_trace_free(t);
	Profile *pr = round_trip(p, "diff.pb.gz");
	hs_pprof_free(p);
	/* stack 2 did not change: no sample; stack 1 shrank, stack 3 grew */
	ck_assert_uint_eq(pr->n_sample, 2);
	values_are(sample_at(pr, "pp_leaf"), 1, 1000, -1, -100);
	values_are(sample_in(pr, "/nonexistent/libfake.so"), 1, 7, 1, 7);
	ck_assert_int_eq(total(pr, 3), 131 - 224);
	ck_assert_int_eq(pr->time_nanos, (int64_t)(realtime + 7 * MS));
	ck_assert_int_eq(pr->duration_nanos, (int64_t)(4 * MS));
	ck_assert_uint_eq(pr->n_comment, 2);
	ck_assert_ptr_nonnull(strstr(str(pr, pr->comment[1]), "minus "));
	perftools__profiles__profile__free_unpacked(pr, NULL);
	hs_session_free(s);
}
END_TEST

/* leaks: a sample type per kind; each loss record a sample with its kind. */
START_TEST(test_leaks_profile)
{
	write_trace("a.hst", 7);
	struct hs_session *s = hs_session_new(NULL);
	struct hs_want w = {.flags = HS_WANT_LEAKS};
	struct hs_diag d = {""};
	struct hs_trace *t = hs_trace_read(s, tpath("a.hst"), &w, &d);
	ck_assert_msg(t != NULL, "%s", d.msg);
	ck_assert_uint_eq(t->leaks.total[HS_DEFINITE][1], 100);
	ck_assert_uint_eq(t->leaks.total[HS_INDIRECT][1], 7);
	ck_assert_uint_eq(t->leaks.total[HS_REACHABLE][1], 24);
	struct hs_pprof *p = hs_pprof_new(HS_PPROF_LEAKS);
	ck_assert_int_eq(hs_pprof_add_leaks(p, t, 1u << HS_INDIRECT | 1u << HS_REACHABLE), 0);
	hs_trace_free(t);
	Profile *pr = round_trip(p, "leaks.pb.gz");
	hs_pprof_free(p);

	static const char *const kinds[4] = {"definite", "indirect", "possible", "reachable"};
	ck_assert_uint_eq(pr->n_sample_type, 8);
	for (int i = 0; i < 4; i++) {
		char name[32];
		snprintf(name, sizeof(name), "%s_objects", kinds[i]);
		ck_assert_str_eq(str(pr, pr->sample_type[2 * i]->type), name);
		ck_assert_str_eq(str(pr, pr->sample_type[2 * i]->unit), "count");
		snprintf(name, sizeof(name), "%s_space", kinds[i]);
		ck_assert_str_eq(str(pr, pr->sample_type[2 * i + 1]->type), name);
		ck_assert_str_eq(str(pr, pr->sample_type[2 * i + 1]->unit), "bytes");
	}
	/* the most serious kind asked for */
	ck_assert_str_eq(str(pr, pr->default_sample_type), "indirect_space");
	ck_assert_uint_eq(pr->n_sample, 2);
	ck_assert_int_eq(total(pr, 1), 0); /* definite: not asked for */
	ck_assert_int_eq(total(pr, 2), 1);
	ck_assert_int_eq(total(pr, 3), 7);
	ck_assert_int_eq(total(pr, 7), 24);
	const Sample *r = sample_at(pr, "pp_inner");
	ck_assert_uint_eq(r->n_label, 2);
	ck_assert_str_eq(str(pr, r->label[1]->key), "kind");
	ck_assert_str_eq(str(pr, r->label[1]->str), "reachable");
	ck_assert_int_eq(r->value[6], 1);
	ck_assert_int_eq(pr->duration_nanos, (int64_t)(7 * MS));
	perftools__profiles__profile__free_unpacked(pr, NULL);
	hs_session_free(s);
}
END_TEST

/* Misuse is refused; a full disk is an error, not a silent short file. */
START_TEST(test_errors)
{
	write_trace("a.hst", 7);
	struct hs_session *s = hs_session_new(NULL);
	const char *sel[] = {"exit"};
	struct hs_trace *t = must_read(s, "a.hst", sel, 1, HS_WANT_LEAKS);
	struct hs_pprof *heap = hs_pprof_new(HS_PPROF_HEAP), *leaks = hs_pprof_new(HS_PPROF_LEAKS);

	ck_assert_ptr_null(hs_pprof_new((enum hs_pprof_type)7));
	/* a heap without allocations, a wrong sign, the wrong profile */
	ck_assert_int_eq(hs_pprof_add_heap(heap, t, &t->heaps[0], 1, NULL), -EINVAL);
	ck_assert_int_eq(hs_pprof_add_leaks(heap, t, ~0u), -EINVAL);
	hs_trace_free(t);
	t = must_read(s, "a.hst", sel, 1, HS_WANT_ALLOCS);
	ck_assert_int_eq(hs_pprof_add_heap(heap, t, &t->heaps[0], 2, NULL), -EINVAL);
	ck_assert_int_eq(hs_pprof_add_heap(leaks, t, &t->heaps[0], 1, NULL), -EINVAL);
	ck_assert_int_eq(hs_pprof_add_heap(heap, t, &t->heaps[0], 1, NULL), 0);
	hs_trace_free(t);
	FILE *full = fopen("/dev/full", "w");
	if (full) {
		ck_assert_int_eq(hs_render_pprof(full, heap), -EIO);
		fclose(full);
	}
	hs_pprof_free(heap);
	hs_pprof_free(leaks);
	hs_session_free(s);
}
END_TEST

Suite *pprof_suite(void)
{
	Suite *s = suite_create("pprof");
	TCase *tc = tcase_create("pprof");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_allocs);
	tcase_add_test(tc, test_modules);
	tcase_add_test(tc, test_heap_profile);
	tcase_add_test(tc, test_filters_and_traces);
	tcase_add_test(tc, test_diff_profile);
	tcase_add_test(tc, test_leaks_profile);
	tcase_add_test(tc, test_errors);
	suite_add_tcase(s, tc);
	return s;
}
