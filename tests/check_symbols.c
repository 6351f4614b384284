/* Description: unit tests of src/analyze/symbols.c.  A shared object is
 * built at test time (cc -g -O2: an always-inline function called from a
 * non-inline one through a second always-inline one, and a C++ member
 * function), loaded with dlopen and run, so the ips looked up are real
 * return addresses; ITEM_MODULES items are synthesized from
 * dl_iterate_phdr as the shim writes them.  Checked:
 * function names (C++ demangled), file basenames and line numbers (found
 * by the marker comments of the generated source), the inlined frame and
 * its caller's line; separate debug files found by build-id
 * (HEAPSNAP_DEBUG_PATH) and by .gnu_debuglink; a static function of the
 * stripped file named by the nearest exported function before it
 * (SYMBOL+0xN, approximate), and by its own name wherever debug
 * information names it; module+offset only for a
 * missing file, a changed build-id and paths that are not regular files;
 * corrupt module bodies; libc through its -dbg package when installed. */
#define _GNU_SOURCE
#include <check.h>
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyze/symbols.h"
#include "check_suites.h"
#include "util/varint.h"

/* ---- the generated shared object --------------------------------------- */

static const char c_src[] =
	"void *hs_ret[5];\n"
	"volatile int hs_sink;\n"
	"__attribute__((noinline, noclone)) void hs_capture(int i)\n"
	"{\n"
	"	hs_ret[i] = __builtin_return_address(0);\n"
	"	__asm__ volatile(\"\" ::: \"memory\");\n"
	"}\n"
	"static inline __attribute__((always_inline)) void hs_inner(int i)\n"
	"{\n"
	"	hs_capture(i); /* MARK_INNER */\n"
	"	hs_sink++;\n"
	"}\n"
	"static inline __attribute__((always_inline)) void hs_mid(int i)\n"
	"{\n"
	"	hs_inner(i); /* MARK_MID */\n"
	"	hs_sink++;\n"
	"}\n"
	"__attribute__((noinline, noclone)) void hs_outer(void)\n"
	"{\n"
	"	hs_mid(0); /* MARK_OUTER */\n"
	"	hs_capture(1); /* MARK_PLAIN */\n"
	"	hs_sink++;\n"
	"}\n"
	"static __attribute__((noinline, noclone)) void hs_hidden(int i)\n"
	"{\n"
	"	hs_capture(i); /* MARK_HIDDEN */\n"
	"	hs_capture(i + 1);\n"
	"	hs_sink++;\n"
	"}\n"
	"void (*hs_hidden_addr)(int) = hs_hidden;\n"
	"void hs_widget_run(void);\n"
	"void hs_run(void)\n"
	"{\n"
	"	hs_outer();\n"
	"	hs_widget_run();\n"
	"	hs_hidden(3);\n"
	"	hs_sink++;\n"
	"}\n";

static const char cxx_src[] =
	"extern \"C\" void hs_capture(int i);\n"
	"namespace hs {\n"
	"struct Widget {\n"
	"	int n;\n"
	"	__attribute__((noinline)) void grow(int k);\n"
	"};\n"
	"void Widget::grow(int k)\n"
	"{\n"
	"	hs_capture(2); /* MARK_CXX */\n"
	"	n += k;\n"
	"}\n"
	"}\n"
	"extern \"C\" void hs_widget_run(void)\n"
	"{\n"
	"	static hs::Widget w;\n"
	"	w.grow(1);\n"
	"}\n";

/* What the unchecked fixture built, shared by every test (each forks from
 * the runner after it). */
static struct {
	int ready;		 /* 0: setup failed, why says why */
	char why[512];
	char dir[200];		 /* temporary directory */
	char so[PATH_MAX];	 /* dir/libhst.so, loaded */
	void *handle;
	uint64_t ret[5];	 /* return addresses: inlined call, plain call, C++ call,
				  * two calls in the static hs_hidden */
	uint64_t hidden;	 /* hs_hidden's address */
	uint64_t bias;		 /* load bias of libhst.so */
	const ElfW(Phdr) *phdr;	 /* its program headers (mapped) */
	int phnum;
	uint8_t bid[64];	 /* its build-id */
	size_t bid_len;
	unsigned l_inner, l_mid, l_outer, l_plain, l_cxx, l_hidden; /* marker lines */
} T;

/* Return the 1-based line of src holding marker, 0 if none. */
static unsigned marker_line(const char *src, const char *marker)
{
	unsigned line = 1;
	const char *hit = strstr(src, marker);

	if (!hit)
		return 0;
	for (const char *p = src; p < hit; p++)
		line += *p == '\n';
	return line;
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	int bad = fputs(text, f) < 0;
	return fclose(f) || bad ? -1 : 0;
}

/* Find the GNU build-id note in a loaded object's PT_NOTE segments. */
static size_t note_build_id(const struct dl_phdr_info *info, uint8_t *out, size_t cap)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const void *)p;
			const uint8_t *name = p + sizeof(*nh);
			const uint8_t *desc = name + ((nh->n_namesz + 3) & ~3u);
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && !memcmp(name, "GNU", 4) &&
			    nh->n_descsz <= cap) {
				memcpy(out, desc, nh->n_descsz);
				return nh->n_descsz;
			}
			p = desc + ((nh->n_descsz + 3) & ~3u);
		}
	}
	return 0;
}

static int find_so(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	if (!info->dlpi_name || strcmp(info->dlpi_name, T.so))
		return 0;
	T.bias = info->dlpi_addr;
	T.phdr = info->dlpi_phdr;
	T.phnum = info->dlpi_phnum;
	T.bid_len = note_build_id(info, T.bid, sizeof(T.bid));
	return 1;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int rc = system(cmd);
	if (rc)
		snprintf(T.why, sizeof(T.why), "command failed (%d): %.400s", rc, cmd);
	return rc;
}

/*
 * Build dir/libhst.so and its variants, load and run it:
 *   bid/libhst.so     stripped; its debug file in debug/.build-id/xx/yy.debug
 *   link/libhst.so    stripped, with a .gnu_debuglink to link/libhst.so.debug
 *   empty/            an empty debug directory
 *   fifo              a named pipe (a module path that must not block)
 */
static void lib_setup(void)
{
	const char *base = getenv("TMPDIR");

	memset(&T, 0, sizeof(T));
	if (!base || strlen(base) > sizeof(T.dir) - 32)
		base = "/tmp";
	snprintf(T.dir, sizeof(T.dir), "%s/hs-sym-XXXXXX", base);
	if (!mkdtemp(T.dir)) {
		snprintf(T.why, sizeof(T.why), "mkdtemp %s failed", T.dir);
		return;
	}
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/t.c", T.dir);
	if (write_file(path, c_src))
		return;
	snprintf(path, sizeof(path), "%s/t2.cc", T.dir);
	if (write_file(path, cxx_src))
		return;
	T.l_inner = marker_line(c_src, "MARK_INNER");
	T.l_mid = marker_line(c_src, "MARK_MID");
	T.l_outer = marker_line(c_src, "MARK_OUTER");
	T.l_plain = marker_line(c_src, "MARK_PLAIN");
	T.l_cxx = marker_line(cxx_src, "MARK_CXX");
	T.l_hidden = marker_line(c_src, "MARK_HIDDEN");
	snprintf(T.so, sizeof(T.so), "%s/libhst.so", T.dir);
	if (sh("cd '%s' && cc -g -O2 -fPIC -c t.c -o t.o && c++ -g -O2 -fPIC -fno-exceptions -c t2.cc -o t2.o"
	       " && cc -shared -Wl,--build-id -o libhst.so t.o t2.o"
	       " && mkdir bid link empty && strip -o bid/libhst.so libhst.so"
	       " && objcopy --only-keep-debug libhst.so link/libhst.so.debug"
	       " && objcopy --strip-all --add-gnu-debuglink=link/libhst.so.debug libhst.so link/libhst.so"
	       " && mkfifo fifo",
	       T.dir))
		return;

	T.handle = dlopen(T.so, RTLD_NOW | RTLD_LOCAL);
	void (*run)(void) = T.handle ? (void (*)(void))dlsym(T.handle, "hs_run") : NULL;
	void **ret = T.handle ? dlsym(T.handle, "hs_ret") : NULL;
	void **hidden = T.handle ? dlsym(T.handle, "hs_hidden_addr") : NULL;
	if (!run || !ret || !hidden) {
		snprintf(T.why, sizeof(T.why), "dlopen %.200s: %.200s", T.so, dlerror());
		return;
	}
	run();
	for (int i = 0; i < 5; i++)
		T.ret[i] = (uint64_t)(uintptr_t)ret[i];
	T.hidden = (uint64_t)(uintptr_t)*hidden;
	dl_iterate_phdr(find_so, NULL);
	if (!T.phdr || !T.bid_len) {
		snprintf(T.why, sizeof(T.why), "%.200s: not in the link map or no build-id", T.so);
		return;
	}
	char hex[2 * sizeof(T.bid) + 1];
	for (size_t i = 0; i < T.bid_len; i++)
		sprintf(hex + 2 * i, "%02x", T.bid[i]);
	if (sh("cd '%s' && mkdir -p debug/.build-id/%.2s && objcopy --only-keep-debug libhst.so debug/.build-id/%.2s/%s.debug",
	       T.dir, hex, hex, hex + 2))
		return;
	T.ready = 1;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void lib_teardown(void)
{
	if (T.handle)
		dlclose(T.handle);
	if (T.dir[0] && strchr(T.dir, '/'))
		nftw(T.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	memset(&T, 0, sizeof(T));
}

#define NEED_LIB() \
	do { \
		if (!T.ready) \
			ck_abort_msg("setup failed: %s", T.why); \
	} while (0)

/* ---- ITEM_MODULES items ------------------------------------------------ */

struct mbody {
	uint8_t buf[1 << 16];
	size_t len;
	uint32_t count;
};

static void mb_v(struct mbody *b, uint64_t v)
{
	ck_assert_uint_le(b->len + VARINT_MAX, sizeof(b->buf));
	b->len = (size_t)(varint_put(b->buf + b->len, v) - b->buf);
}

static void mb_s(struct mbody *b, const void *p, size_t n)
{
	mb_v(b, n);
	ck_assert_uint_le(b->len + n, sizeof(b->buf));
	if (n)
		memcpy(b->buf + b->len, p, n);
	b->len += n;
}

/* Append one module as the shim's modules.c writes it. */
static void mb_module(struct mbody *b, const char *path, const uint8_t *bid, size_t bid_len, uint64_t bias,
		      const ElfW(Phdr) *phdr, int phnum)
{
	unsigned nseg = 0;

	mb_s(b, path, strlen(path));
	mb_s(b, bid, bid_len);
	mb_v(b, bias);
	for (int i = 0; i < phnum; i++)
		nseg += phdr[i].p_type == PT_LOAD;
	mb_v(b, nseg);
	for (int i = 0; i < phnum; i++) {
		if (phdr[i].p_type != PT_LOAD)
			continue;
		mb_v(b, phdr[i].p_vaddr);
		mb_v(b, phdr[i].p_memsz);
		mb_v(b, phdr[i].p_flags);
	}
	b->count++;
}

/* The test library's mapping under another path or build-id. */
static void mb_lib(struct mbody *b, const char *path, const uint8_t *bid, size_t bid_len)
{
	mb_module(b, path, bid, bid_len, T.bias, T.phdr, T.phnum);
}

static struct trace_item item_of(const struct mbody *b)
{
	struct trace_item it;

	memset(&it, 0, sizeof(it));
	it.type = ITEM_MODULES;
	it.modules.count = b->count;
	it.modules.body = b->buf;
	it.modules.len = b->len;
	return it;
}

/* A symbolizer that knows the test library under path. */
static struct symbolizer *sym_for(const char *path, const uint8_t *bid, size_t bid_len)
{
	static struct mbody b;
	struct symbolizer *s = sym_new();

	ck_assert_ptr_nonnull(s);
	memset(&b, 0, sizeof(b));
	mb_lib(&b, path, bid, bid_len);
	struct trace_item it = item_of(&b);
	sym_add_modules(s, &it);
	return s;
}

static const char *base_name(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;
	return s ? s + 1 : path;
}

/* Assert one frame's function, file basename, line and inlined flag. */
static void check_frame(const struct hs_frame *f, const char *function, const char *file, unsigned line,
			int inlined)
{
	ck_assert_ptr_nonnull(f->function);
	ck_assert_str_eq(f->function, function);
	ck_assert_ptr_nonnull(f->file);
	ck_assert_str_eq(base_name(f->file), file);
	ck_assert_uint_eq(f->line, line);
	ck_assert_int_eq(f->inlined, inlined);
}

/* Assert a frame that has only its module and offset. */
static void check_bare(const struct hs_frame *f, uint64_t ip, const char *module)
{
	ck_assert_uint_eq(f->ip, ip);
	ck_assert_ptr_null(f->function);
	ck_assert_ptr_null(f->file);
	ck_assert_uint_eq(f->line, 0);
	ck_assert_int_eq(f->inlined, 0);
	ck_assert_ptr_nonnull(f->module);
	ck_assert_str_eq(f->module, module);
	ck_assert_uint_eq(f->offset, ip - T.bias);
}

/* ---- tests ------------------------------------------------------------- */

/* The call inside two levels of always-inline functions: three frames,
 * the innermost inlined one at the call, each outer one at the line where
 * it calls the next. */
START_TEST(test_inlined)
{
	NEED_LIB();
	struct symbolizer *s = sym_for(T.so, T.bid, T.bid_len);
	struct hs_frame f[8];

	int n = sym_lookup(s, T.ret[0], f, 8);
	ck_assert_int_eq(n, 3);
	check_frame(&f[0], "hs_inner", "t.c", T.l_inner, 1);
	check_frame(&f[1], "hs_mid", "t.c", T.l_mid, 1);
	check_frame(&f[2], "hs_outer", "t.c", T.l_outer, 0);
	for (int i = 0; i < n; i++) {
		ck_assert_uint_eq(f[i].ip, T.ret[0]);
		ck_assert_str_eq(f[i].module, T.so);
		ck_assert_uint_eq(f[i].offset, T.ret[0] - T.bias);
	}
	/* f[0].file is the debug info's own (absolute) name */
	ck_assert_int_eq(f[0].file[0], '/');
	sym_free(s);
}
END_TEST

START_TEST(test_plain_call)
{
	NEED_LIB();
	struct symbolizer *s = sym_for(T.so, T.bid, T.bid_len);
	struct hs_frame f[8];

	ck_assert_int_eq(sym_lookup(s, T.ret[1], f, 8), 1);
	check_frame(&f[0], "hs_outer", "t.c", T.l_plain, 0);
	sym_free(s);
}
END_TEST

/* C++: the qualified, demangled name and the .cc file. */
START_TEST(test_cxx_demangled)
{
	NEED_LIB();
	struct symbolizer *s = sym_for(T.so, T.bid, T.bid_len);
	struct hs_frame f[8];

	int n = sym_lookup(s, T.ret[2], f, 8);
	ck_assert_int_ge(n, 1);
	check_frame(&f[n - 1], "hs::Widget::grow(int)", "t2.cc", T.l_cxx, 0);
	sym_free(s);
}
END_TEST

/* Asking again answers from the cache with the same interned strings;
 * max cuts the outermost frames; max 0 fills nothing. */
START_TEST(test_cache_and_max)
{
	NEED_LIB();
	struct symbolizer *s = sym_for(T.so, T.bid, T.bid_len);
	struct hs_frame a[8], b[8];

	ck_assert_int_eq(sym_lookup(s, T.ret[0], a, 8), 3);
	ck_assert_int_eq(sym_lookup(s, T.ret[0], b, 8), 3);
	for (int i = 0; i < 3; i++) {
		ck_assert_ptr_eq(a[i].function, b[i].function);
		ck_assert_ptr_eq(a[i].file, b[i].file);
		ck_assert_ptr_eq(a[i].module, b[i].module);
	}
	/* the same file is one string */
	ck_assert_ptr_eq(a[0].file, a[1].file);
	ck_assert_int_eq(sym_lookup(s, T.ret[0], b, 1), 1);
	ck_assert_str_eq(b[0].function, "hs_inner");
	ck_assert_int_eq(sym_lookup(s, T.ret[1], b, 0), 0);
	sym_free(s);
}
END_TEST

/* A module seen again (every later map repeats it) is not duplicated, and
 * one overlapping it later does not take its range. */
START_TEST(test_modules_again)
{
	NEED_LIB();
	static struct mbody b;
	struct symbolizer *s = sym_new();
	struct hs_frame f[8];

	memset(&b, 0, sizeof(b));
	mb_lib(&b, T.so, T.bid, T.bid_len);
	struct trace_item it = item_of(&b);
	for (int i = 0; i < 3; i++)
		sym_add_modules(s, &it);
	memset(&b, 0, sizeof(b));
	mb_lib(&b, "/nonexistent/other.so", NULL, 0);
	it = item_of(&b);
	sym_add_modules(s, &it);
	ck_assert_int_eq(sym_lookup(s, T.ret[0], f, 8), 3);
	check_frame(&f[2], "hs_outer", "t.c", T.l_outer, 0);
	sym_free(s);
}
END_TEST

/* A library unloaded and another loaded at its place, then the first
 * again: a stack is looked up in the module that held its address when
 * it was recorded (the era: MODULES records before it), the same one seen
 * again starts no era of its own. */
START_TEST(test_modules_swapped)
{
	NEED_LIB();
	static struct mbody b;
	struct symbolizer *s = sym_new();
	struct hs_frame f[8];

	memset(&b, 0, sizeof(b));
	mb_lib(&b, T.so, T.bid, T.bid_len);
	struct trace_item lib = item_of(&b);
	sym_add_modules(s, &lib);
	sym_add_modules(s, &lib); /* every map of an older trace repeats it */
	uint32_t era_lib = sym_era(s);
	static struct mbody ob;
	memset(&ob, 0, sizeof(ob));
	mb_lib(&ob, "/nonexistent/other.so", NULL, 0);
	struct trace_item other = item_of(&ob);
	sym_add_modules(s, &other);
	uint32_t era_other = sym_era(s);
	sym_add_modules(s, &other);
	ck_assert_uint_eq(sym_era(s), era_other + 1);
	sym_add_modules(s, &lib);
	uint32_t era_back = sym_era(s);

	ck_assert_int_eq(sym_lookup_at(s, T.ret[0], era_lib, f, 8), 3);
	check_frame(&f[2], "hs_outer", "t.c", T.l_outer, 0);
	for (uint32_t era = era_other; era < era_back; era++) {
		ck_assert_int_eq(sym_lookup_at(s, T.ret[0], era, f, 8), 1);
		check_bare(&f[0], T.ret[0], "/nonexistent/other.so");
	}
	ck_assert_int_eq(sym_lookup_at(s, T.ret[0], era_back, f, 8), 3);
	check_frame(&f[2], "hs_outer", "t.c", T.l_outer, 0);
	/* without an era, the first module seen; the map lists it alone */
	ck_assert_int_eq(sym_lookup(s, T.ret[0], f, 8), 3);
	size_t n;
	const struct hs_module *m = sym_modules(s, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(m[0].path, T.so);
	sym_free(s);
}
END_TEST

START_TEST(test_missing_file)
{
	NEED_LIB();
	char path[PATH_MAX];
	struct hs_frame f[8];

	snprintf(path, sizeof(path), "%s/gone/libhst.so", T.dir);
	struct symbolizer *s = sym_for(path, T.bid, T.bid_len);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(sym_lookup(s, T.ret[i], f, 8), 1);
		check_bare(&f[0], T.ret[i], path);
	}
	sym_free(s);
}
END_TEST

/* The file is there but is not the one the process ran. */
START_TEST(test_build_id_mismatch)
{
	NEED_LIB();
	uint8_t bid[sizeof(T.bid)];
	struct hs_frame f[8];

	memcpy(bid, T.bid, T.bid_len);
	bid[T.bid_len / 2] ^= 0x40;
	struct symbolizer *s = sym_for(T.so, bid, T.bid_len);
	ck_assert_int_eq(sym_lookup(s, T.ret[0], f, 8), 1);
	check_bare(&f[0], T.ret[0], T.so);
	sym_free(s);

	/* shorter, and none at all while the file has one */
	s = sym_for(T.so, T.bid, T.bid_len - 1);
	ck_assert_int_eq(sym_lookup(s, T.ret[1], f, 8), 1);
	check_bare(&f[0], T.ret[1], T.so);
	sym_free(s);
	s = sym_for(T.so, NULL, 0);
	ck_assert_int_eq(sym_lookup(s, T.ret[1], f, 8), 1);
	check_bare(&f[0], T.ret[1], T.so);
	sym_free(s);
}
END_TEST

/* A stripped file, its debug info under HEAPSNAP_DEBUG_PATH/.build-id. */
START_TEST(test_debug_by_build_id)
{
	NEED_LIB();
	char path[PATH_MAX], dbg[PATH_MAX];
	struct hs_frame f[8];

	snprintf(path, sizeof(path), "%s/bid/libhst.so", T.dir);
	snprintf(dbg, sizeof(dbg), "%s/debug", T.dir);
	ck_assert_int_eq(setenv("HEAPSNAP_DEBUG_PATH", dbg, 1), 0);
	struct symbolizer *s = sym_for(path, T.bid, T.bid_len);
	unsetenv("HEAPSNAP_DEBUG_PATH");
	ck_assert_int_eq(sym_lookup(s, T.ret[0], f, 8), 3);
	check_frame(&f[0], "hs_inner", "t.c", T.l_inner, 1);
	check_frame(&f[1], "hs_mid", "t.c", T.l_mid, 1);
	check_frame(&f[2], "hs_outer", "t.c", T.l_outer, 0);
	ck_assert_str_eq(f[2].module, path);
	int n = sym_lookup(s, T.ret[2], f, 8);
	check_frame(&f[n - 1], "hs::Widget::grow(int)", "t2.cc", T.l_cxx, 0);
	sym_free(s);
}
END_TEST

/* The control for the test above: the same stripped file with an empty
 * debug path has its dynamic symbols and nothing else. */
START_TEST(test_stripped_without_debug)
{
	NEED_LIB();
	char path[PATH_MAX], dbg[PATH_MAX];
	struct hs_frame f[8];

	snprintf(path, sizeof(path), "%s/bid/libhst.so", T.dir);
	snprintf(dbg, sizeof(dbg), "%s/empty", T.dir);
	ck_assert_int_eq(setenv("HEAPSNAP_DEBUG_PATH", dbg, 1), 0);
	struct symbolizer *s = sym_for(path, T.bid, T.bid_len);
	unsetenv("HEAPSNAP_DEBUG_PATH");
	ck_assert_int_eq(sym_lookup(s, T.ret[0], f, 8), 1);
	ck_assert_ptr_nonnull(f[0].function);
	ck_assert_str_eq(f[0].function, "hs_outer");
	ck_assert_ptr_null(f[0].file);
	ck_assert_uint_eq(f[0].line, 0);
	ck_assert_uint_eq(f[0].offset, T.ret[0] - T.bias);
	sym_free(s);
}
END_TEST

/* The exported functions of the test library, for the oracle below. */
static const char *const exported[] = {"hs_capture", "hs_outer", "hs_run", "hs_widget_run", "_ZN2hs6Widget4growEi"};

/*
 * A static function of a stripped file without debug information has no
 * symbol: it is named "SYMBOL+0xN" by the nearest exported function
 * before it, N bytes from that function to its own start (the program
 * knows both addresses), the same name for both its calls, and marked
 * approximate.
 */
START_TEST(test_stripped_static_nearest)
{
	NEED_LIB();
	char path[PATH_MAX], dbg[PATH_MAX];
	struct hs_frame f[8], g[8];

	snprintf(path, sizeof(path), "%s/bid/libhst.so", T.dir);
	snprintf(dbg, sizeof(dbg), "%s/empty", T.dir);
	ck_assert_int_eq(setenv("HEAPSNAP_DEBUG_PATH", dbg, 1), 0);
	struct symbolizer *s = sym_for(path, T.bid, T.bid_len);
	unsetenv("HEAPSNAP_DEBUG_PATH");
	ck_assert_int_eq(sym_lookup(s, T.ret[3], f, 8), 1);
	ck_assert_ptr_nonnull(f[0].function);
	ck_assert_int_eq(f[0].approximate, 1);
	ck_assert_ptr_null(f[0].file);
	ck_assert_uint_eq(f[0].offset, T.ret[3] - T.bias);
	const char *plus = strstr(f[0].function, "+0x");
	ck_assert_msg(plus, "%s is not SYMBOL+0xN", f[0].function);
	char name[256];
	ck_assert_uint_lt((size_t)(plus - f[0].function), sizeof(name));
	memcpy(name, f[0].function, (size_t)(plus - f[0].function));
	name[plus - f[0].function] = '\0';
	uint64_t n = strtoull(plus + 3, NULL, 16);
	void *sym = dlsym(T.handle, name);
	ck_assert_msg(sym, "%s is not an exported function of the library", name);
	uint64_t at = (uint64_t)(uintptr_t)sym;
	ck_assert_msg(at + n == T.hidden, "%s is at 0x%llx, hs_hidden at 0x%llx", f[0].function,
		      (unsigned long long)(at + n), (unsigned long long)T.hidden);
	for (size_t i = 0; i < sizeof(exported) / sizeof(exported[0]); i++) {
		uint64_t a = (uint64_t)(uintptr_t)dlsym(T.handle, exported[i]);
		ck_assert_msg(a && !(a > at && a < T.hidden), "%s lies between %s and hs_hidden", exported[i], name);
	}
	/* the other call in the function: the same name */
	ck_assert_int_eq(sym_lookup(s, T.ret[4], g, 8), 1);
	ck_assert_ptr_eq(g[0].function, f[0].function);
	ck_assert_int_eq(g[0].approximate, 1);
	/* exported functions keep their own names, not approximate */
	ck_assert_int_eq(sym_lookup(s, T.ret[1], g, 8), 1);
	ck_assert_str_eq(g[0].function, "hs_outer");
	ck_assert_int_eq(g[0].approximate, 0);
	sym_free(s);
}
END_TEST

/* Where debug information or a full symbol table names the static
 * function, that name is used, never the approximate one. */
START_TEST(test_static_named_by_debug)
{
	NEED_LIB();
	char path[PATH_MAX], dbg[PATH_MAX];
	struct hs_frame f[8];

	snprintf(path, sizeof(path), "%s/bid/libhst.so", T.dir);
	snprintf(dbg, sizeof(dbg), "%s/debug", T.dir);
	ck_assert_int_eq(setenv("HEAPSNAP_DEBUG_PATH", dbg, 1), 0);
	struct symbolizer *s = sym_for(path, T.bid, T.bid_len);
	unsetenv("HEAPSNAP_DEBUG_PATH");
	ck_assert_int_eq(sym_lookup(s, T.ret[3], f, 8), 1);
	check_frame(&f[0], "hs_hidden", "t.c", T.l_hidden, 0);
	ck_assert_int_eq(f[0].approximate, 0);
	sym_free(s);
	/* the unstripped file: the same */
	s = sym_for(T.so, T.bid, T.bid_len);
	ck_assert_int_eq(sym_lookup(s, T.ret[3], f, 8), 1);
	check_frame(&f[0], "hs_hidden", "t.c", T.l_hidden, 0);
	ck_assert_int_eq(f[0].approximate, 0);
	sym_free(s);
}
END_TEST

/* A stripped file whose .gnu_debuglink names a file beside it, found
 * through libdw's default path. */
START_TEST(test_debuglink)
{
	NEED_LIB();
	char path[PATH_MAX];
	struct hs_frame f[8];

	unsetenv("HEAPSNAP_DEBUG_PATH");
	snprintf(path, sizeof(path), "%s/link/libhst.so", T.dir);
	struct symbolizer *s = sym_for(path, T.bid, T.bid_len);
	ck_assert_int_eq(sym_lookup(s, T.ret[0], f, 8), 3);
	check_frame(&f[0], "hs_inner", "t.c", T.l_inner, 1);
	check_frame(&f[1], "hs_mid", "t.c", T.l_mid, 1);
	check_frame(&f[2], "hs_outer", "t.c", T.l_outer, 0);
	sym_free(s);
}
END_TEST

/* Addresses outside every module, and ip 0, give the ip alone. */
START_TEST(test_unknown_ip)
{
	NEED_LIB();
	struct symbolizer *s = sym_for(T.so, T.bid, T.bid_len);
	const uint64_t ips[] = {0, 1, 0x10, UINT64_MAX, T.bias - 1};
	struct hs_frame f[4];

	for (size_t i = 0; i < sizeof(ips) / sizeof(ips[0]); i++) {
		ck_assert_int_eq(sym_lookup(s, ips[i], f, 4), 1);
		ck_assert_uint_eq(f[0].ip, ips[i]);
		ck_assert_ptr_null(f[0].module);
		ck_assert_ptr_null(f[0].function);
		ck_assert_ptr_null(f[0].file);
	}
	/* an empty symbolizer too */
	struct symbolizer *e = sym_new();
	ck_assert_int_eq(sym_lookup(e, T.ret[0], f, 4), 1);
	ck_assert_ptr_null(f[0].module);
	sym_free(e);
	sym_free(s);
}
END_TEST

/* Paths that are not regular files are never opened for symbols (a FIFO
 * would block), and bodies that are garbage or cut short are survived. */
START_TEST(test_corrupt_modules)
{
	NEED_LIB();
	static struct mbody b;
	char fifo[PATH_MAX];
	struct hs_frame f[8];

	snprintf(fifo, sizeof(fifo), "%s/fifo", T.dir);
	const char *odd[] = {fifo, "/dev/zero", "/", T.dir, "", "[unnamed]", "linux-vdso.so.1"};
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		struct symbolizer *s = sym_for(odd[i], T.bid, T.bid_len);
		ck_assert_int_eq(sym_lookup(s, T.ret[1], f, 8), 1);
		check_bare(&f[0], T.ret[1], odd[i]);
		sym_free(s);
	}

	/* every prefix of a good body: the modules before the cut count */
	memset(&b, 0, sizeof(b));
	mb_lib(&b, T.so, T.bid, T.bid_len);
	size_t good = b.len;
	for (size_t cut = 0; cut <= good; cut++) {
		struct symbolizer *s = sym_new();
		struct trace_item it = item_of(&b);
		it.modules.len = cut;
		sym_add_modules(s, &it);
		int n = sym_lookup(s, T.ret[0], f, 8);
		ck_assert_int_eq(n, cut == good ? 3 : 1);
		sym_free(s);
	}

	/* random bytes, and nonsense fields: huge segment counts, ranges
	 * that wrap, a bias beyond the address space */
	uint64_t x = 0x9e3779b97f4a7c15ull;
	struct symbolizer *s = sym_new();
	for (int round = 0; round < 200; round++) {
		memset(&b, 0, sizeof(b));
		b.len = 1 + (size_t)(x % 300);
		for (size_t i = 0; i < b.len; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			b.buf[i] = (uint8_t)x;
		}
		struct trace_item it = item_of(&b);
		sym_add_modules(s, &it);
	}
	memset(&b, 0, sizeof(b));
	mb_s(&b, T.so, strlen(T.so));
	mb_s(&b, T.bid, T.bid_len);
	mb_v(&b, UINT64_MAX - 10);
	mb_v(&b, 1);
	mb_v(&b, 0);
	mb_v(&b, 100);
	mb_v(&b, 5);
	mb_s(&b, T.so, strlen(T.so));
	mb_s(&b, T.bid, T.bid_len);
	mb_v(&b, 0);
	mb_v(&b, UINT32_MAX);
	struct trace_item it = item_of(&b);
	sym_add_modules(s, &it);
	for (uint64_t ip = 1; ip < 1u << 20; ip = ip * 3 + 7)
		(void)sym_lookup(s, ip, f, 8);
	(void)sym_lookup(s, T.ret[0], f, 8);
	sym_free(s);
	sym_add_modules(NULL, &it);
}
END_TEST

/* ---- the whole process: libc through its separate debug file ---------- */

static struct mbody proc_body;

static int add_proc_module(struct dl_phdr_info *info, size_t size, void *data)
{
	int *first = data;
	uint8_t bid[64];
	char exe[PATH_MAX];
	const char *path = info->dlpi_name;

	(void)size;
	if (*first || !path || !*path) {
		ssize_t n = *first ? readlink("/proc/self/exe", exe, sizeof(exe) - 1) : -1;
		exe[n > 0 ? n : 0] = '\0';
		path = n > 0 ? exe : "[unnamed]";
	}
	*first = 0;
	size_t bid_len = note_build_id(info, bid, sizeof(bid));
	mb_module(&proc_body, path, bid, bid_len, info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum);
	return 0;
}

/* Every module of this process (the check runner, libc, libdw, ...);
 * strdup's entry in libc gets its name, and file:line when libc6-dbg put
 * libc's debug file under /usr/lib/debug/.build-id. */
START_TEST(test_process_libc)
{
	int first = 1;
	struct hs_frame f[8];
	Dl_info di;

	unsetenv("HEAPSNAP_DEBUG_PATH");
	memset(&proc_body, 0, sizeof(proc_body));
	dl_iterate_phdr(add_proc_module, &first);
	struct trace_item it = item_of(&proc_body);
	struct symbolizer *s = sym_new();
	sym_add_modules(s, &it);

	void *fn = dlsym(RTLD_DEFAULT, "strdup");
	ck_assert_ptr_nonnull(fn);
	ck_assert_int_ne(dladdr(fn, &di), 0);
	int n = sym_lookup(s, (uint64_t)(uintptr_t)fn + 1, f, 8);
	ck_assert_int_ge(n, 1);
	ck_assert_ptr_nonnull(f[n - 1].module);
	ck_assert_ptr_nonnull(f[n - 1].function);
	ck_assert_msg(strstr(f[n - 1].function, "strdup"), "strdup is named %s", f[n - 1].function);

	/* libc's debug file, if installed, must be found by build-id */
	char dbg[PATH_MAX] = "/usr/lib/debug/.build-id/";
	struct trace_module tm;
	size_t pos = 0;
	int have_dbg = 0;
	while (modules_next(&it, &pos, &tm) > 0) {
		if (tm.path.n != strlen(di.dli_fname) || memcmp(tm.path.p, di.dli_fname, tm.path.n) || tm.build_id.n < 2)
			continue;
		size_t o = strlen(dbg);
		for (size_t i = 0; i < tm.build_id.n; i++)
			o += (size_t)sprintf(dbg + o, i == 0 ? "%02x/" : "%02x", (uint8_t)tm.build_id.p[i]);
		strcat(dbg, ".debug");
		have_dbg = access(dbg, R_OK) == 0;
	}
	if (have_dbg) {
		ck_assert_ptr_nonnull(f[n - 1].file);
		ck_assert_msg(strstr(f[n - 1].file, "strdup"), "strdup is in %s", f[n - 1].file);
		ck_assert_uint_gt(f[n - 1].line, 0);
	}

	/* the test library is in the map too */
	if (T.ready) {
		ck_assert_int_eq(sym_lookup(s, T.ret[0], f, 8), 3);
		check_frame(&f[2], "hs_outer", "t.c", T.l_outer, 0);
	}
	sym_free(s);
}
END_TEST

Suite *symbols_suite(void)
{
	Suite *s = suite_create("symbols");
	TCase *tc = tcase_create("symbols");

	/* built once, in the runner: every forked test sees it loaded */
	tcase_add_unchecked_fixture(tc, lib_setup, lib_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_inlined);
	tcase_add_test(tc, test_plain_call);
	tcase_add_test(tc, test_cxx_demangled);
	tcase_add_test(tc, test_cache_and_max);
	tcase_add_test(tc, test_modules_again);
	tcase_add_test(tc, test_modules_swapped);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_build_id_mismatch);
	tcase_add_test(tc, test_debug_by_build_id);
	tcase_add_test(tc, test_stripped_without_debug);
	tcase_add_test(tc, test_stripped_static_nearest);
	tcase_add_test(tc, test_static_named_by_debug);
	tcase_add_test(tc, test_debuglink);
	tcase_add_test(tc, test_unknown_ip);
	tcase_add_test(tc, test_corrupt_modules);
	tcase_add_test(tc, test_process_libc);
	suite_add_tcase(s, tc);
	return s;
}
