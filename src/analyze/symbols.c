/*
 * symbols.c - offline symbolization with libdw (elfutils).
 *
 * One offline Dwfl session holds every module the trace names, reported
 * with dwfl_report_elf at the load bias the process used.  Its callbacks
 * are the standard ones: separate debug files are found by build-id under
 * the debuginfo path (HEAPSNAP_DEBUG_PATH, else libdw's default
 * ":.debug:/usr/lib/debug"), then by .gnu_debuglink.  libdw would ask a
 * debuginfod server when DEBUGINFOD_URLS is set; the heapsnap command
 * unsets it (tools/heapsnap.c): nothing is downloaded at run time.
 *
 * Module lookup does not go through dwfl_addrmodule: our own table, sorted
 * by address, maps an ip to the trace's module and remembers whether its
 * file on disk is the one the process ran (same build-id, same bias).  A
 * module whose file is missing, unreadable, not a regular file or changed
 * is still named, with module+offset frames only.
 *
 * The trace records the whole map at start and after every dlopen and
 * dlclose, so one address range can belong to two libraries over time (a
 * plugin unloaded, another loaded at its place).  Lookups carry no time,
 * so the first module seen at an address keeps it.
 *
 * Results are cached per ip; every string (names, files, module paths) is
 * interned and lives until sym_free.  Not thread-safe: one symbolizer per
 * thread.
 */
#define _GNU_SOURCE
#include "analyze/symbols.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trace/format.h"
#include "util/compiler.h"
#include "util/hashmap.h"

/* libstdc++'s demangler (the CLI links -lstdc++); declared here so that
 * this C file needs no C++ header. */
char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

#define SYM_MAX_DEPTH 64 /* frames kept per ip: inlined ones + the function */

/* One module of the trace's map. */
struct sym_module {
	uint64_t lo, hi;      /* addresses covered by its segments, [lo, hi) */
	uint64_t bias;	      /* load bias: ELF vaddr + bias = address */
	const char *path;     /* interned */
	Dwfl_Module *dwmod;   /* its file as reported to libdw, NULL if none */
	int trusted;	      /* dwmod is the file the process ran */
};

struct symbolizer {
	Dwfl *dwfl;		     /* NULL if libdw could not start */
	Dwfl_Callbacks cb;	     /* must outlive dwfl */
	char *debug_path;	     /* HEAPSNAP_DEBUG_PATH copy, or NULL */

	struct sym_module *mods;     /* sorted by lo, never overlapping */
	size_t nmods, capmods;

	struct hashmap cache;	     /* ip -> first frame index << 8 | count */
	struct sym_frame *frames;    /* every cached result, back to back */
	size_t nframes, capframes;

	struct hashmap pycodes;	     /* Python code id -> index + 1 in pycode */
	struct sym_pycode {
		const char *file, *name; /* interned */
		unsigned firstlineno;
	} *pycode;
	size_t npycode, cappycode;

	struct hashmap strmap;	     /* string hash -> index + 1 of a string */
	char **strs;		     /* interned strings, NUL-terminated */
	uint32_t *strnext;	     /* index + 1 of the next string with that hash */
	size_t nstrs, capstrs;
};

/* ------------------------------------------------------------------ */
/* Interned strings */

static uint64_t str_hash(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)p[i];
		h *= 0x100000001b3ull;
	}
	return h ? h : 1; /* 0 is the hashmap's empty key */
}

/*
 * Return the interned copy of p[0..n) (up to its first NUL), owned by s
 * until sym_free, or NULL when out of memory or p is NULL.
 */
static const char *intern_n(struct symbolizer *s, const char *p, size_t n)
{
	if (!p)
		return NULL;
	n = strnlen(p, n);
	uint64_t h = str_hash(p, n);
	uint64_t *head = hashmap_get(&s->strmap, h);

	for (uint32_t i = head ? (uint32_t)*head : 0; i; i = s->strnext[i - 1]) {
		const char *q = s->strs[i - 1];
		if (!strncmp(q, p, n) && q[n] == '\0')
			return q;
	}
	if (s->nstrs == s->capstrs) {
		size_t cap = s->capstrs ? s->capstrs * 2 : 256;
		if (cap > UINT32_MAX - 1)
			return NULL;
		char **strs = realloc(s->strs, cap * sizeof(*strs));
		if (!strs)
			return NULL;
		s->strs = strs;
		uint32_t *next = realloc(s->strnext, cap * sizeof(*next));
		if (!next)
			return NULL;
		s->strnext = next;
		s->capstrs = cap;
	}
	char *q = malloc(n + 1);
	if (!q)
		return NULL;
	memcpy(q, p, n);
	q[n] = '\0';
	if (hashmap_put(&s->strmap, h, s->nstrs + 1)) {
		free(q);
		return NULL;
	}
	s->strs[s->nstrs] = q;
	s->strnext[s->nstrs] = head ? (uint32_t)*head : 0;
	s->nstrs++;
	return q;
}

static const char *intern(struct symbolizer *s, const char *p)
{
	return p ? intern_n(s, p, strlen(p)) : NULL;
}

/* Return the interned demangled form of a C++ symbol, else name itself. */
static const char *intern_demangled(struct symbolizer *s, const char *name)
{
	if (!name || name[0] != '_' || name[1] != 'Z')
		return intern(s, name);
	int status = -1;
	char *d = __cxa_demangle(name, NULL, NULL, &status);
	const char *r = intern(s, status == 0 && d ? d : name);
	free(d);
	return r;
}

/* ------------------------------------------------------------------ */
/* Life cycle */

struct symbolizer *sym_new(void)
{
	struct symbolizer *s = calloc(1, sizeof(*s));
	const char *dp = getenv("HEAPSNAP_DEBUG_PATH");

	if (!s)
		return NULL;
	if (hashmap_init(&s->cache, 1024) || hashmap_init(&s->strmap, 1024) || hashmap_init(&s->pycodes, 64))
		goto err;
	if (dp && *dp && !(s->debug_path = strdup(dp)))
		goto err;
	s->cb.find_elf = dwfl_build_id_find_elf;
	s->cb.find_debuginfo = dwfl_standard_find_debuginfo;
	s->cb.section_address = dwfl_offline_section_address;
	s->cb.debuginfo_path = s->debug_path ? &s->debug_path : NULL;
	/* Without libdw every frame still gets its module and offset. */
	s->dwfl = dwfl_begin(&s->cb);
	return s;
err:
	sym_free(s);
	return NULL;
}

void sym_free(struct symbolizer *s)
{
	if (!s)
		return;
	if (s->dwfl)
		dwfl_end(s->dwfl);
	free(s->debug_path);
	free(s->mods);
	hashmap_free(&s->cache);
	hashmap_free(&s->pycodes);
	free(s->pycode);
	free(s->frames);
	hashmap_free(&s->strmap);
	for (size_t i = 0; i < s->nstrs; i++)
		free(s->strs[i]);
	free(s->strs);
	free(s->strnext);
	free(s);
}

/* ------------------------------------------------------------------ */
/* Modules */

/* Return the index of the first module with lo > addr (0..nmods). */
static size_t mod_upper(const struct symbolizer *s, uint64_t addr)
{
	size_t lo = 0, hi = s->nmods;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->mods[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Return the module covering addr, or NULL. */
static struct sym_module *mod_find(struct symbolizer *s, uint64_t addr)
{
	size_t i = mod_upper(s, addr);

	if (i == 0 || addr >= s->mods[i - 1].hi)
		return NULL;
	return &s->mods[i - 1];
}

/*
 * Report path's file to libdw at bias.  Return the module, or NULL when
 * the file cannot be used.  The file is opened here, not by libdw, so that
 * a path naming a FIFO or a device (a corrupt or hostile trace) cannot
 * block or feed garbage: only regular files are handed over.
 */
static Dwfl_Module *mod_report(struct symbolizer *s, const char *path, uint64_t bias)
{
	struct stat st;
	Dwfl_Module *m;
	int fd;

	if (!s->dwfl || path[0] == '\0')
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return NULL;
	}
	/* add_p_vaddr: base is the bias, what dl_iterate_phdr's dlpi_addr is;
	 * on success libdw owns fd. */
	m = dwfl_report_elf(s->dwfl, path, path, fd, bias, true);
	if (!m)
		close(fd);
	return m;
}

/* Is m's file the one the process ran: same build-id, same bias? */
static int mod_matches(Dwfl_Module *m, const struct trace_module *tm)
{
	const unsigned char *bits = NULL;
	GElf_Addr vaddr, bias = 0;

	if (!m || !dwfl_module_getelf(m, &bias) || bias != tm->load_bias)
		return 0;
	int n = dwfl_module_build_id(m, &bits, &vaddr);
	if (n < 0)
		n = 0;
	return (size_t)n == tm->build_id.n && (n == 0 || !memcmp(bits, tm->build_id.p, (size_t)n));
}

/* Add one module of the map, unless it is known or overlaps a known one. */
static void mod_add(struct symbolizer *s, const struct trace_module *tm)
{
	/* No segments, or addresses that wrap around: a corrupt map.  Not
	 * NEVER(): corrupt traces are ordinary input here (tests feed them in
	 * debug builds too). */
	if (tm->lo >= tm->hi || tm->lo < tm->load_bias)
		return;
	const char *path = intern_n(s, tm->path.p, tm->path.n);
	if (!path)
		return;
	size_t i = mod_upper(s, tm->lo);
	/* The same module again (the usual case: every map repeats it), or
	 * another one at its place: the first seen keeps the range. */
	if (i > 0 && s->mods[i - 1].hi > tm->lo)
		return;
	if (i < s->nmods && s->mods[i].lo < tm->hi)
		return;
	if (s->nmods == s->capmods) {
		size_t cap = s->capmods ? s->capmods * 2 : 64;
		struct sym_module *mods = realloc(s->mods, cap * sizeof(*mods));
		if (!mods)
			return;
		s->mods = mods;
		s->capmods = cap;
	}

	/* libdw knows a module by name and address range: reporting the
	 * same file at the same bias twice would mark the first for removal
	 * (DWFL_E_OVERLAP), so reuse it. */
	Dwfl_Module *dm = NULL;
	size_t k;
	for (k = 0; k < s->nmods; k++)
		if (s->mods[k].path == path && s->mods[k].bias == tm->load_bias)
			break;
	if (k < s->nmods) {
		dm = s->mods[k].dwmod;
	} else if (s->dwfl) {
		dwfl_report_begin_add(s->dwfl);
		dm = mod_report(s, path, tm->load_bias);
		dwfl_report_end(s->dwfl, NULL, NULL);
	}

	memmove(&s->mods[i + 1], &s->mods[i], (s->nmods - i) * sizeof(*s->mods));
	s->mods[i] = (struct sym_module){
		.lo = tm->lo,
		.hi = tm->hi,
		.bias = tm->load_bias,
		.path = path,
		.dwmod = dm,
		.trusted = mod_matches(dm, tm),
	};
	s->nmods++;
}

void sym_add_modules(struct symbolizer *s, const struct trace_item *modules)
{
	struct trace_module tm;
	size_t pos = 0;

	if (!s || !modules || NEVER(modules->type != ITEM_MODULES))
		return;
	/* A corrupt tail ends the walk; the modules before it stay. */
	while (modules_next(modules, &pos, &tm) > 0)
		mod_add(s, &tm);
}

/* ------------------------------------------------------------------ */
/* Resolution */

/*
 * Return the interned name a reader knows a function by, from a symbol or
 * a DWARF linkage name: C++ demangled; glibc's internal aliases lose their
 * "__GI_" prefix ("__GI___libc_malloc" is __libc_malloc: hidden_proto in
 * glibc's include/libc-symbols.h renames internal calls that way).
 */
static const char *intern_function(struct symbolizer *s, const char *name)
{
	if (name && !strncmp(name, "__GI_", 5) && name[5])
		name += 5;
	return intern_demangled(s, name);
}

/*
 * Return the name of a function's DIE (following abstract_origin and
 * specification): its linkage name demangled when it is a C++ one (the
 * qualified name and signature), else its plain name (a C linkage name is
 * an asm alias, such as glibc's __GI_*), else NULL.
 */
static const char *die_function(struct symbolizer *s, Dwarf_Die *die)
{
	Dwarf_Attribute mem;
	Dwarf_Attribute *a = dwarf_attr_integrate(die, DW_AT_linkage_name, &mem);

	if (!a)
		a = dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &mem);
	const char *linkage = a ? dwarf_formstring(a) : NULL;
	if (linkage && linkage[0] == '_' && linkage[1] == 'Z')
		return intern_demangled(s, linkage);
	const char *name = dwarf_diename(die);
	return name ? intern(s, name) : intern_function(s, linkage);
}

/* Return the file an inlined_subroutine was called from, as an index of
 * the CU's file table (DW_AT_call_file); NULL if unknown. */
static const char *die_call_file(struct symbolizer *s, Dwarf_Die *die, Dwarf_Files *files, size_t nfiles)
{
	Dwarf_Attribute mem;
	Dwarf_Word idx;

	if (!files || dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &mem), &idx) || idx >= nfiles)
		return NULL;
	return intern(s, dwarf_filesrc(files, idx, NULL, NULL));
}

static unsigned die_call_line(Dwarf_Die *die)
{
	Dwarf_Attribute mem;
	Dwarf_Word line;

	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &mem), &line) || line > UINT32_MAX)
		return 0;
	return (unsigned)line;
}

/*
 * Resolve ip in module m into out[0..SYM_MAX_DEPTH): the inlined frames,
 * innermost first, then the function that holds them.  Return how many
 * (>= 1).
 */
static int resolve(struct symbolizer *s, const struct sym_module *m, uint64_t ip, struct sym_frame *out)
{
	const struct sym_frame base = {.ip = ip, .module = m->path, .offset = ip - m->bias};
	Dwarf_Addr pc = ip - 1; /* the call instruction, not the next one */
	GElf_Off symoff;
	GElf_Sym sym;
	int n = 0, line = 0;

	out[0] = base;
	if (!m->trusted)
		return 1;
	const char *symname = dwfl_module_addrinfo(m->dwmod, pc, &symoff, &sym, NULL, NULL, NULL);

	/* file:line of the innermost frame, from the line table */
	const char *file = NULL;
	Dwfl_Line *ln = dwfl_module_getsrc(m->dwmod, pc);
	if (ln)
		file = intern(s, dwfl_lineinfo(ln, NULL, &line, NULL, NULL, NULL));
	unsigned uline = line > 0 ? (unsigned)line : 0;

	/*
	 * The scopes around pc.  dwarf_getscopes stops at the innermost
	 * inlined instance (it continues with the scopes of its abstract
	 * definition), so walk up from that DIE with dwarf_getscopes_die to
	 * get the concrete chain: inlined_subroutine ... subprogram, CU.
	 * Each inlined frame's caller line is its DW_AT_call_file/line.
	 */
	Dwarf_Addr bias = 0;
	Dwarf_Die *cu = dwfl_module_addrdie(m->dwmod, pc, &bias);
	Dwarf_Die *scopes = NULL, *chain = NULL, *fn = NULL;
	int nchain = 0;
	if (cu && dwarf_getscopes(cu, pc - bias, &scopes) > 0)
		nchain = dwarf_getscopes_die(&scopes[0], &chain);
	Dwarf_Files *files = NULL;
	size_t nfiles = 0;
	if (nchain > 0 && dwarf_getsrcfiles(cu, &files, &nfiles))
		files = NULL;
	for (int i = 0; i < nchain; i++) {
		int tag = dwarf_tag(&chain[i]);
		if (tag == DW_TAG_subprogram) {
			fn = &chain[i];
			break;
		}
		if (tag != DW_TAG_inlined_subroutine)
			continue;
		if (n < SYM_MAX_DEPTH - 1) {
			out[n] = base;
			out[n].function = die_function(s, &chain[i]);
			out[n].file = file;
			out[n].line = uline;
			out[n].inlined = 1;
			n++;
		}
		file = die_call_file(s, &chain[i], files, nfiles);
		uline = die_call_line(&chain[i]);
	}

	/*
	 * The function itself.  Its DWARF name beats the symbol table's: a
	 * clone ("f.constprop.0") or a split cold part ("f.cold") is still
	 * f in the source.  A mangled symbol beats a DWARF name that is not
	 * mangled, which lacks the C++ qualification.
	 */
	const char *name = NULL;
	int sym_mangled = symname && symname[0] == '_' && symname[1] == 'Z';
	if (fn) {
		name = die_function(s, fn);
		if (name && sym_mangled && !strchr(name, ':') && !strchr(name, '('))
			name = NULL;
	}
	if (!name)
		name = intern_function(s, symname);
	out[n] = base;
	out[n].function = name;
	out[n].file = file;
	out[n].line = uline;
	n++;
	free(chain);
	free(scopes);
	return n;
}

/* Keep n frames for ip in the cache; on failure the result is simply not
 * cached. */
static void cache_put(struct symbolizer *s, uint64_t ip, const struct sym_frame *f, int n)
{
	if ((size_t)n > s->capframes - s->nframes) {
		size_t cap = s->capframes ? s->capframes * 2 : 1024;
		while (cap - s->nframes < (size_t)n)
			cap *= 2;
		struct sym_frame *frames = realloc(s->frames, cap * sizeof(*frames));
		if (!frames)
			return;
		s->frames = frames;
		s->capframes = cap;
	}
	if (hashmap_put(&s->cache, ip, (uint64_t)s->nframes << 8 | (uint64_t)n))
		return;
	memcpy(&s->frames[s->nframes], f, (size_t)n * sizeof(*f));
	s->nframes += (size_t)n;
}

/* ------------------------------------------------------------------ */
/* Python frames */

void sym_add_pycode(struct symbolizer *s, const struct trace_item *it)
{
	if (!s || NEVER(it->type != ITEM_PYCODE) || !it->pycode.id || hashmap_get(&s->pycodes, it->pycode.id))
		return;
	if (s->npycode == s->cappycode) {
		size_t cap = s->cappycode ? s->cappycode * 2 : 256;
		struct sym_pycode *p = realloc(s->pycode, cap * sizeof(*p));
		if (!p)
			return;
		s->pycode = p;
		s->cappycode = cap;
	}
	struct sym_pycode *c = &s->pycode[s->npycode];
	c->file = intern_n(s, it->pycode.file.p, it->pycode.file.n);
	c->name = intern_n(s, it->pycode.name.p, it->pycode.name.n);
	c->firstlineno = it->pycode.firstlineno;
	if (!hashmap_put(&s->pycodes, it->pycode.id, s->npycode + 1))
		s->npycode++;
}

/* The frame of Python stack entry ip: its code's function and file, and
 * its line; a code the trace never named has neither (nor a line). */
static struct sym_frame py_frame(struct symbolizer *s, uint64_t ip)
{
	uint64_t *v = s ? hashmap_get(&s->pycodes, hst_pyframe_code(ip)) : NULL;
	const struct sym_pycode *c = v ? &s->pycode[*v - 1] : NULL;
	struct sym_frame f = {.ip = ip, .python = 1};

	if (c) {
		f.function = c->name;
		f.file = c->file;
		f.module = c->file;
		f.line = hst_pyframe_line(ip);
	}
	return f;
}

/* When max is smaller than the number of frames, the outermost ones are
 * left out (the innermost frame is where the call is written).  max <= 0
 * returns 0. */
int sym_lookup(struct symbolizer *s, uint64_t ip, struct sym_frame *frames, int max)
{
	struct sym_frame tmp[SYM_MAX_DEPTH];
	const struct sym_frame *f = tmp;
	int n;

	if (max <= 0)
		return 0;
	if (hst_is_pyframe(ip)) {
		frames[0] = py_frame(s, ip);
		return 1;
	}
	uint64_t *v = s && ip ? hashmap_get(&s->cache, ip) : NULL;
	if (v) {
		f = &s->frames[*v >> 8];
		n = (int)(*v & 0xff);
	} else {
		struct sym_module *m = s && ip ? mod_find(s, ip - 1) : NULL;
		if (m) {
			n = resolve(s, m, ip, tmp);
		} else {
			tmp[0] = (struct sym_frame){.ip = ip};
			n = 1;
		}
		if (s && ip)
			cache_put(s, ip, tmp, n);
	}
	if (n > max)
		n = max;
	memcpy(frames, f, (size_t)n * sizeof(*f));
	return n;
}
