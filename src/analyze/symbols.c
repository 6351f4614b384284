/*
 * symbols.c - offline symbolization with libdw (elfutils).
 *
 * Each module file gets its own offline Dwfl session, reported with
 * dwfl_report_elf at base 0, so that an address in it is its ELF address
 * (what addr2line -e FILE takes): ip - load bias in whichever process ran
 * it.  That is what lets one file serve every trace of a session although
 * each process loaded it elsewhere, and one Dwfl per file means that files
 * of different processes, which may claim the same addresses, never meet.
 * Separate debug files are found by build-id under the debuginfo path
 * (HEAPSNAP_DEBUG_PATH, else libdw's default ":.debug:/usr/lib/debug"), then
 * by .gnu_debuglink.  libdw would ask a debuginfod server when
 * DEBUGINFOD_URLS is set; the heapsnap command unsets it (tools/heapsnap.c):
 * nothing is downloaded at run time.
 *
 * Module lookup does not go through dwfl_addrmodule: each trace's own
 * table, sorted by address, maps an ip to the trace's module and says
 * whether the file on disk is the one the process ran (same build-id).  A
 * module whose file is missing, unreadable, not a regular file or changed
 * is still named, with module+offset frames only.
 *
 * One address range can belong to two libraries over time (a plugin
 * unloaded, another loaded at its place).  The first module seen at an
 * address keeps it in the map (sym_modules); one seen there after it,
 * while another held the range, is kept aside with its era: the number of
 * MODULES records read up to its own.  A trace writes a module before the
 * first stack that has a frame in it (the whole map at start and after
 * each dlopen and dlclose in older traces, lazily since), so a stack
 * recorded in era e is looked up (sym_lookup_at) in the latest module of
 * era <= e at the address: the one mapped when it was recorded.
 *
 * Results are cached per (file, ELF address); every string (names, files,
 * module paths) is interned and lives until sym_files_free.  Not
 * thread-safe: one file set per thread.
 */
#define _GNU_SOURCE
#include "analyze/symbols.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <endian.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
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

#define SYM_MAX_DEPTH 64	    /* frames kept per ip: inlined ones + the function */
#define SYM_CACHE_OFFSET_BITS 40 /* ELF addresses cached: below 1 TiB (all real ones) */

/* A function symbol of a module, for naming the functions no symbol
 * covers (near_name). */
struct sym_near {
	uint64_t addr;		    /* its ELF address */
	const char *name;	    /* interned, demangled */
};

/* A scope of a compilation unit that has addresses (sym_cu). */
struct sym_scope {
	Dwarf_Die die;
	uint32_t parent;	    /* index + 1 of the scope around it, 0 at the top */
	uint32_t end;		    /* index after the last scope inside it (preorder) */
	uint32_t range, nranges;    /* its address ranges in the CU's table */
	int foreign;		    /* a DIE of another unit (imported): no index for it */
};

/* A compilation unit's scopes with addresses, indexed once (cu_index). */
struct sym_cu {
	int failed;		    /* libdw reported an error: ask it each time */
	struct sym_scope *scopes;   /* preorder */
	size_t nscopes, capscopes;
	Dwarf_Addr (*ranges)[2];    /* [low, high) */
	size_t nranges, capranges;
	struct hashmap subprograms; /* DIE address -> 1: the subprograms the walk meets */
};

/* One module file, opened once per file set. */
struct sym_file {
	const char *path;	    /* interned */
	uint32_t next;		    /* index + 1 of the next file with the same path hash */
	Dwfl *dwfl;		    /* its own session, NULL if libdw could not start */
	Dwfl_Module *mod;	    /* the file as reported, NULL if unusable */
	const unsigned char *bid;   /* its build-id (libdw's memory), NULL if none */
	int nbid;		    /* bytes */
	struct sym_near *near;	    /* its function symbols by address, one per address */
	size_t nnear;
	int near_read;		    /* near and fdes are read (they may still be empty) */
	const uint8_t *fdes;	    /* .eh_frame_hdr's table (libelf's memory), NULL if none */
	uint32_t nfdes;		    /* its entries: (start, FDE), 8 bytes each */
	uint64_t fdes_base;	    /* what its starts are relative to (the section's address) */
	struct hashmap cu_idx;	    /* CU DIE address -> index + 1 in cus (made on first use) */
	struct sym_cu *cus;
	size_t ncus, capcus;
};

struct sym_files {
	Dwfl_Callbacks cb;	     /* every file's session uses it: must outlive them */
	char *debug_path;	     /* the debuginfo path, or NULL for libdw's default */

	struct sym_file *files;	     /* by index */
	size_t nfiles, capfiles;
	struct hashmap file_idx;     /* path hash -> index + 1 of the first file with it */

	struct hashmap cache;	     /* (file + 1) << 40 | ELF address -> first frame << 8 | count */
	struct hs_frame *frames;     /* every cached result, back to back */
	size_t nframes, capframes;

	struct hashmap strmap;	     /* string hash -> index + 1 of a string */
	char **strs;		     /* interned strings, NUL-terminated */
	uint32_t *strnext;	     /* index + 1 of the next string with that hash */
	size_t nstrs, capstrs;

	struct hs_symbol_stats stats;
};

/* How a module of one trace's map reaches its file. */
struct sym_link {
	int64_t file;		     /* index in the file set, -1 if none */
	int trusted;		     /* that file is the one the process ran */
};

struct symbolizer {
	struct sym_files *files;
	int own_files;		     /* sym_new: freed with the symbolizer */
	struct hs_module *mods;	     /* the map: sorted by lo, never overlapping */
	struct sym_link *links;	     /* of each module */
	size_t nmods, capmods;
	struct sym_later {	     /* a module at a known one's place, after it */
		struct hs_module mod;
		struct sym_link link;
		uint32_t era;	     /* of its MODULES record */
	} *later;		     /* in the order read */
	size_t nlater, caplater;
	uint32_t era;		     /* MODULES records read */
	struct hashmap pycodes;	     /* Python code id (the trace's) -> index + 1 in pycode */
	struct sym_pycode {
		const char *file, *name; /* interned in files */
		unsigned firstlineno;
	} *pycode;
	size_t npycode, cappycode;
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
 * Return the interned copy of p[0..n) (up to its first NUL), owned by f
 * until sym_files_free, or NULL when out of memory or p is NULL.
 */
static const char *intern_n(struct sym_files *f, const char *p, size_t n)
{
	if (!p)
		return NULL;
	n = strnlen(p, n);
	uint64_t h = str_hash(p, n);
	uint64_t *head = hashmap_get(&f->strmap, h);

	for (uint32_t i = head ? (uint32_t)*head : 0; i; i = f->strnext[i - 1]) {
		const char *q = f->strs[i - 1];
		if (!strncmp(q, p, n) && q[n] == '\0')
			return q;
	}
	if (f->nstrs == f->capstrs) {
		size_t cap = f->capstrs ? f->capstrs * 2 : 256;
		if (cap > UINT32_MAX - 1)
			return NULL;
		char **strs = realloc(f->strs, cap * sizeof(*strs));
		if (!strs)
			return NULL;
		f->strs = strs;
		uint32_t *next = realloc(f->strnext, cap * sizeof(*next));
		if (!next)
			return NULL;
		f->strnext = next;
		f->capstrs = cap;
	}
	char *q = malloc(n + 1);
	if (!q)
		return NULL;
	memcpy(q, p, n);
	q[n] = '\0';
	if (hashmap_put(&f->strmap, h, f->nstrs + 1)) {
		free(q);
		return NULL;
	}
	f->strs[f->nstrs] = q;
	f->strnext[f->nstrs] = head ? (uint32_t)*head : 0;
	f->nstrs++;
	return q;
}

static const char *intern(struct sym_files *f, const char *p)
{
	return p ? intern_n(f, p, strlen(p)) : NULL;
}

/* Return the interned demangled form of a C++ symbol, else name itself. */
static const char *intern_demangled(struct sym_files *f, const char *name)
{
	if (!name || name[0] != '_' || name[1] != 'Z')
		return intern(f, name);
	int status = -1;
	char *d = __cxa_demangle(name, NULL, NULL, &status);
	const char *r = intern(f, status == 0 && d ? d : name);
	free(d);
	return r;
}

/* ------------------------------------------------------------------ */
/* Life cycle */

struct sym_files *sym_files_new(const char *debug_path)
{
	struct sym_files *f = calloc(1, sizeof(*f));
	const char *dp = debug_path ? debug_path : getenv("HEAPSNAP_DEBUG_PATH");

	if (!f)
		return NULL;
	if (hashmap_init(&f->cache, 1024) || hashmap_init(&f->strmap, 1024) || hashmap_init(&f->file_idx, 64))
		goto err;
	if (dp && *dp && !(f->debug_path = strdup(dp)))
		goto err;
	f->cb.find_elf = dwfl_build_id_find_elf;
	f->cb.find_debuginfo = dwfl_standard_find_debuginfo;
	f->cb.section_address = dwfl_offline_section_address;
	f->cb.debuginfo_path = f->debug_path ? &f->debug_path : NULL;
	return f;
err:
	sym_files_free(f);
	return NULL;
}

void sym_files_free(struct sym_files *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->nfiles; i++) {
		struct sym_file *file = &f->files[i];
		if (file->dwfl)
			dwfl_end(file->dwfl);
		free(file->near);
		for (size_t k = 0; k < file->ncus; k++) {
			free(file->cus[k].scopes);
			free(file->cus[k].ranges);
			hashmap_free(&file->cus[k].subprograms);
		}
		free(file->cus);
		hashmap_free(&file->cu_idx);
	}
	free(f->files);
	hashmap_free(&f->file_idx);
	free(f->debug_path);
	hashmap_free(&f->cache);
	free(f->frames);
	hashmap_free(&f->strmap);
	for (size_t i = 0; i < f->nstrs; i++)
		free(f->strs[i]);
	free(f->strs);
	free(f->strnext);
	free(f);
}

void sym_files_stats(const struct sym_files *f, struct hs_symbol_stats *out)
{
	*out = f->stats;
}

struct symbolizer *sym_new_in(struct sym_files *files)
{
	struct symbolizer *s;

	if (!files || !(s = calloc(1, sizeof(*s))))
		return NULL;
	s->files = files;
	if (hashmap_init(&s->pycodes, 0)) { /* grows in a Python program only */
		free(s);
		return NULL;
	}
	return s;
}

struct symbolizer *sym_new(void)
{
	struct sym_files *f = sym_files_new(NULL);
	struct symbolizer *s = sym_new_in(f);

	if (!s) {
		sym_files_free(f);
		return NULL;
	}
	s->own_files = 1;
	return s;
}

void sym_free(struct symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nmods; i++)
		free((void *)s->mods[i].build_id);
	for (size_t i = 0; i < s->nlater; i++)
		free((void *)s->later[i].mod.build_id);
	free(s->mods);
	free(s->links);
	free(s->later);
	hashmap_free(&s->pycodes);
	free(s->pycode);
	if (s->own_files)
		sym_files_free(s->files);
	free(s);
}

/* ------------------------------------------------------------------ */
/* Files */

/*
 * Open path's file in a Dwfl session of its own, reported at base 0.
 * Fill file->dwfl and ->mod (NULL when the file cannot be used).  The
 * file is opened here, not by libdw, so that a path naming a FIFO or a
 * device (a corrupt or hostile trace) cannot block or feed garbage: only
 * regular files are handed over.
 */
static void file_open(struct sym_files *f, struct sym_file *file)
{
	struct stat st;
	int fd;

	if (file->path[0] == '\0')
		return;
	fd = open(file->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || !(file->dwfl = dwfl_begin(&f->cb))) {
		close(fd);
		return;
	}
	/* On success libdw owns fd.  An ET_EXEC file ignores the base: its
	 * addresses are its ELF addresses already. */
	dwfl_report_begin(file->dwfl);
	file->mod = dwfl_report_elf(file->dwfl, file->path, file->path, fd, 0, true);
	dwfl_report_end(file->dwfl, NULL, NULL);
	if (!file->mod) {
		close(fd);
		return;
	}
	GElf_Addr vaddr;
	int n = dwfl_module_build_id(file->mod, &file->bid, &vaddr);
	file->nbid = n > 0 ? n : 0;
	f->stats.files++;
}

/* Return the index of path's file (interned path), opened on first use,
 * or -1 when out of memory. */
static int64_t file_get(struct sym_files *f, const char *path)
{
	uint64_t h = (uint64_t)(uintptr_t)path * 0x9e3779b97f4a7c15ull; /* interned: the pointer is the identity */
	uint64_t *head = hashmap_get(&f->file_idx, h ? h : 1);

	for (uint32_t i = head ? (uint32_t)*head : 0; i; i = f->files[i - 1].next)
		if (f->files[i - 1].path == path)
			return i - 1;
	if (f->nfiles == f->capfiles) {
		size_t cap = f->capfiles ? 2 * f->capfiles : 64;
		struct sym_file *files = realloc(f->files, cap * sizeof(*files));
		if (!files)
			return -1;
		f->files = files;
		f->capfiles = cap;
	}
	if (hashmap_put(&f->file_idx, h ? h : 1, f->nfiles + 1))
		return -1;
	struct sym_file *file = &f->files[f->nfiles];
	*file = (struct sym_file){.path = path, .next = head ? (uint32_t)*head : 0};
	file_open(f, file);
	return (int64_t)f->nfiles++;
}

/* Set *off to the file offset of file's loadable segment at ELF address
 * vaddr, if its program headers have one (else leave it). */
static void file_offset_of(const struct sym_file *file, uint64_t vaddr, uint64_t *off)
{
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(file->mod, &bias);
	size_t n;

	if (!elf || elf_getphdrnum(elf, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr mem, *ph = gelf_getphdr(elf, (int)i, &mem);
		if (ph && ph->p_type == PT_LOAD && ph->p_vaddr == vaddr) {
			*off = ph->p_offset;
			return;
		}
	}
}

/* ------------------------------------------------------------------ */
/* A trace's map */

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

/* Return the index of the module covering addr, or -1. */
static long mod_find(const struct symbolizer *s, uint64_t addr)
{
	size_t i = mod_upper(s, addr);

	if (i == 0 || addr >= s->mods[i - 1].hi)
		return -1;
	return (long)i - 1;
}

/* The module that holds addr for a stack of era (the latest one of era
 * <= era kept aside, else the map's), and its link; -1 when none. */
static int mod_at(const struct symbolizer *s, uint64_t addr, uint32_t era, const struct hs_module **m,
		  const struct sym_link **link)
{
	for (size_t i = s->nlater; i-- > 0;) {
		const struct sym_later *l = &s->later[i];
		if (l->era <= era && addr >= l->mod.lo && addr < l->mod.hi) {
			*m = &l->mod;
			*link = &l->link;
			return 0;
		}
	}
	long mi = mod_find(s, addr);
	if (mi < 0)
		return -1;
	*m = &s->mods[mi];
	*link = &s->links[mi];
	return 0;
}

/* Modules kept aside at most (each lookup looks at them all). */
#define SYM_LATER_MAX 4096

/* Fill *m and *link from tm (path interned).  Return 0, or -1 when out
 * of memory. */
static int mod_make(struct symbolizer *s, const struct trace_module *tm, const char *path, struct hs_module *m,
		    struct sym_link *link)
{
	uint8_t *bid = tm->build_id.n ? malloc(tm->build_id.n) : NULL;
	if (tm->build_id.n && !bid)
		return -1;
	if (bid)
		memcpy(bid, tm->build_id.p, tm->build_id.n);
	int64_t fi = file_get(s->files, path);
	const struct sym_file *file = fi >= 0 ? &s->files->files[fi] : NULL;
	/* the file on disk is the one the process ran: the same build-id */
	int trusted = file && file->mod && (size_t)file->nbid == tm->build_id.n &&
		      (file->nbid == 0 || !memcmp(file->bid, tm->build_id.p, tm->build_id.n));
	uint64_t text_offset = tm->text_vaddr - (tm->lo - tm->load_bias);
	if (trusted)
		file_offset_of(file, tm->text_vaddr, &text_offset);
	*m = (struct hs_module){
		.path = path,
		.build_id = bid,
		.build_id_len = tm->build_id.n,
		.lo = tm->lo,
		.hi = tm->hi,
		.bias = tm->load_bias,
		.text_lo = tm->text_lo,
		.text_hi = tm->text_hi,
		.text_offset = text_offset,
	};
	*link = (struct sym_link){.file = fi, .trusted = trusted};
	return 0;
}

/* Module tm overlaps one of the map: keep it aside for the stacks of
 * this era on, unless it is the one holding its place now (every map of
 * an older trace repeats the modules). */
static void later_add(struct symbolizer *s, const struct trace_module *tm, const char *path)
{
	const struct hs_module *cur;
	const struct sym_link *link;

	if (!mod_at(s, tm->lo, UINT32_MAX, &cur, &link) && cur->path == path && cur->lo == tm->lo &&
	    cur->hi == tm->hi && cur->bias == tm->load_bias)
		return;
	if (s->nlater == SYM_LATER_MAX)
		return; /* a corrupt trace's: lookups stay cheap, the first keeps it */
	if (s->nlater == s->caplater) {
		/* as many as modules loaded where others were unloaded */
		size_t cap = s->caplater ? s->caplater * 2 : 8;
		struct sym_later *l = realloc(s->later, cap * sizeof(*l));
		if (!l)
			return;
		s->later = l;
		s->caplater = cap;
	}
	struct sym_later *l = &s->later[s->nlater];
	if (mod_make(s, tm, path, &l->mod, &l->link))
		return;
	l->era = s->era;
	s->nlater++;
}

/* Add one module of the map; one overlapping a known one goes aside. */
static void mod_add(struct symbolizer *s, const struct trace_module *tm)
{
	/* No segments, or addresses that wrap around: a corrupt map.  Not
	 * NEVER(): corrupt traces are ordinary input here (tests feed them in
	 * debug builds too). */
	if (tm->lo >= tm->hi || tm->lo < tm->load_bias)
		return;
	const char *path = intern_n(s->files, tm->path.p, tm->path.n);
	if (!path)
		return;
	size_t i = mod_upper(s, tm->lo);
	/* The same module again, or another one at its place: the first
	 * seen keeps the range in the map. */
	if ((i > 0 && s->mods[i - 1].hi > tm->lo) || (i < s->nmods && s->mods[i].lo < tm->hi)) {
		later_add(s, tm, path);
		return;
	}
	if (s->nmods == s->capmods) {
		/* a process maps a dozen modules or so; a trace of many
		 * is held with the others until their report is rendered */
		size_t cap = s->capmods ? s->capmods * 2 : 16;
		struct hs_module *mods = realloc(s->mods, cap * sizeof(*mods));
		if (!mods)
			return;
		s->mods = mods;
		struct sym_link *links = realloc(s->links, cap * sizeof(*links));
		if (!links)
			return;
		s->links = links;
		s->capmods = cap;
	}
	struct hs_module m;
	struct sym_link link;
	if (mod_make(s, tm, path, &m, &link))
		return;
	memmove(&s->mods[i + 1], &s->mods[i], (s->nmods - i) * sizeof(*s->mods));
	memmove(&s->links[i + 1], &s->links[i], (s->nmods - i) * sizeof(*s->links));
	s->mods[i] = m;
	s->links[i] = link;
	s->nmods++;
}

void sym_add_modules(struct symbolizer *s, const struct trace_item *modules)
{
	struct trace_module tm;
	size_t pos = 0;

	if (!s || !modules || NEVER(modules->type != ITEM_MODULES))
		return;
	s->era++;
	/* A corrupt tail ends the walk; the modules before it stay. */
	while (modules_next(modules, &pos, &tm) > 0)
		mod_add(s, &tm);
}

uint32_t sym_era(const struct symbolizer *s)
{
	return s ? s->era : 0;
}

const struct hs_module *sym_modules(const struct symbolizer *s, size_t *n)
{
	*n = s->nmods;
	return s->mods;
}

/* ------------------------------------------------------------------ */
/* Resolution */

/*
 * Return the interned name a reader knows a function by, from a symbol or
 * a DWARF linkage name: C++ demangled; glibc's internal aliases lose their
 * "__GI_" prefix ("__GI___libc_malloc" is __libc_malloc: hidden_proto in
 * glibc's include/libc-symbols.h renames internal calls that way).
 */
static const char *intern_function(struct sym_files *f, const char *name)
{
	if (name && !strncmp(name, "__GI_", 5) && name[5])
		name += 5;
	return intern_demangled(f, name);
}

/*
 * Return the name of a function's DIE (following abstract_origin and
 * specification): its linkage name demangled when it is a C++ one (the
 * qualified name and signature), else its plain name (a C linkage name is
 * an asm alias, such as glibc's __GI_*), else NULL.
 */
static const char *die_function(struct sym_files *f, Dwarf_Die *die)
{
	Dwarf_Attribute mem;
	Dwarf_Attribute *a = dwarf_attr_integrate(die, DW_AT_linkage_name, &mem);

	if (!a)
		a = dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &mem);
	const char *linkage = a ? dwarf_formstring(a) : NULL;
	if (linkage && linkage[0] == '_' && linkage[1] == 'Z')
		return intern_demangled(f, linkage);
	const char *name = dwarf_diename(die);
	return name ? intern(f, name) : intern_function(f, linkage);
}

/* Return the interned name of a function's DIE as the binary spells it:
 * its linkage name (mangled for C++), else its plain name, else NULL. */
static const char *die_system_name(struct sym_files *f, Dwarf_Die *die)
{
	Dwarf_Attribute mem;
	Dwarf_Attribute *a = dwarf_attr_integrate(die, DW_AT_linkage_name, &mem);

	if (!a)
		a = dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &mem);
	const char *linkage = a ? dwarf_formstring(a) : NULL;
	return intern(f, linkage ? linkage : dwarf_diename(die));
}

/* Return the file an inlined_subroutine was called from, as an index of
 * the CU's file table (DW_AT_call_file); NULL if unknown. */
static const char *die_call_file(struct sym_files *f, Dwarf_Die *die, Dwarf_Files *files, size_t nfiles)
{
	Dwarf_Attribute mem;
	Dwarf_Word idx;

	if (!files || dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &mem), &idx) || idx >= nfiles)
		return NULL;
	return intern(f, dwarf_filesrc(files, idx, NULL, NULL));
}

static unsigned die_call_line(Dwarf_Die *die)
{
	Dwarf_Attribute mem;
	Dwarf_Word line;

	if (dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &mem), &line) || line > UINT32_MAX)
		return 0;
	return (unsigned)line;
}

/* ------------------------------------------------------------------ */
/* Functions without a symbol: named by the nearest one before them */

static int near_cmp(const void *a, const void *b)
{
	const struct sym_near *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return strcmp(x->name, y->name); /* aliases: one order whatever the table's */
}

/*
 * Find the search table of file's .eh_frame_hdr: the start of every
 * function that has an unwind entry (gcc's cold part of a function has an
 * entry of its own), sorted.  Only the layout the linkers write (GNU ld,
 * gold, lld: version 1, a 4-byte count, datarel sdata4 pairs) in a file of
 * the host's byte order is used; any other leaves fdes NULL.
 */
static void near_read_fdes(struct sym_file *file)
{
	GElf_Addr bias = 0;
	Elf *elf = dwfl_module_getelf(file->mod, &bias);
	GElf_Ehdr eh;
	size_t shstrndx;

	if (!elf || !gelf_getehdr(elf, &eh) || elf_getshdrstrndx(elf, &shstrndx) ||
	    eh.e_ident[EI_DATA] != (__BYTE_ORDER == __LITTLE_ENDIAN ? ELFDATA2LSB : ELFDATA2MSB))
		return;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		const char *name;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(name = elf_strptr(elf, shstrndx, sh.sh_name)) || strcmp(name, ".eh_frame_hdr"))
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		const uint8_t *p = d ? d->d_buf : NULL;
		uint32_t count;
		/* version, then the encodings: eh_frame_ptr (any 4-byte one),
		 * fde_count (udata4), table (datarel | sdata4) */
		if (!p || d->d_size < 12 || p[0] != 1 || (p[1] & 0x07) != DW_EH_PE_udata4 ||
		    p[2] != DW_EH_PE_udata4 || p[3] != (DW_EH_PE_datarel | DW_EH_PE_sdata4))
			return;
		memcpy(&count, p + 8, sizeof(count));
		if (count > (d->d_size - 12) / 8)
			return;
		file->fdes = p + 12;
		file->nfdes = count;
		file->fdes_base = sh.sh_addr + bias;
		return;
	}
}

/*
 * Read the function symbols of file's symbol table, as libdw chose it
 * (the .symtab of the file or of its debug file, else the .dynsym: for a
 * stripped file, its exported functions), sorted by address, one per
 * address; and its table of function starts.  Out of memory leaves the
 * symbols empty.
 */
static void near_read(struct sym_files *f, struct sym_file *file)
{
	int n = dwfl_module_getsymtab(file->mod);
	size_t k = 0;

	file->near_read = 1;
	near_read_fdes(file);
	if (n <= 1 || !(file->near = malloc((size_t)n * sizeof(*file->near))))
		return;
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		GElf_Word shndx;
		const char *name = dwfl_module_getsym_info(file->mod, i, &sym, &addr, &shndx, NULL, NULL);
		int type = GELF_ST_TYPE(sym.st_info);
		if (!name || !*name || shndx == SHN_UNDEF || !addr || (type != STT_FUNC && type != STT_GNU_IFUNC))
			continue;
		const char *in = intern_function(f, name);
		if (in)
			file->near[k++] = (struct sym_near){.addr = addr, .name = in};
	}
	qsort(file->near, k, sizeof(*file->near), near_cmp);
	size_t j = 0;
	for (size_t i = 0; i < k; i++)
		if (j == 0 || file->near[j - 1].addr != file->near[i].addr)
			file->near[j++] = file->near[i];
	file->nnear = j;
}

/* The start of the function holding pc: the last function start at or
 * before pc in the table, when an unwind entry covers pc (the entries do
 * not overlap, so it is that entry's); pc itself otherwise. */
static uint64_t near_start(const struct sym_file *file, uint64_t pc)
{
	Dwarf_Addr bias = 0;
	Dwarf_CFI *cfi = file->fdes ? dwfl_module_eh_cfi(file->mod, &bias) : NULL;
	Dwarf_Frame *frame = NULL;

	if (!cfi || dwarf_cfi_addrframe(cfi, pc - bias, &frame)) {
		free(frame);
		return pc;
	}
	free(frame);
	size_t lo = 0, hi = file->nfdes;
	while (lo < hi) { /* the first entry that starts above pc */
		size_t mid = lo + (hi - lo) / 2;
		int32_t rel;
		memcpy(&rel, file->fdes + 8 * mid, sizeof(rel));
		if (file->fdes_base + (uint64_t)(int64_t)rel <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return pc;
	int32_t rel;
	memcpy(&rel, file->fdes + 8 * (lo - 1), sizeof(rel));
	return file->fdes_base + (uint64_t)(int64_t)rel;
}

/*
 * Return the interned approximate name of the function that holds pc,
 * which no symbol covers and no debug information names (a static
 * function of a stripped module): "SYMBOL+0xN", the function starting N
 * bytes past SYMBOL, the nearest function symbol before it; NULL when
 * none is before it.  The start comes from the unwind tables, so that
 * every call in one function gets the same name (gcc's cold part of a
 * function, an entry of its own, gets a name of its own).
 */
static const char *near_name(struct sym_files *f, struct sym_file *file, uint64_t pc)
{
	if (!file->near_read)
		near_read(f, file);
	uint64_t at = near_start(file, pc);
	size_t lo = 0, hi = file->nnear;
	while (lo < hi) { /* the first symbol above at */
		size_t mid = lo + (hi - lo) / 2;
		if (file->near[mid].addr <= at)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct sym_near *s = &file->near[lo - 1];
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s+0x%llx", s->name, (unsigned long long)(at - s->addr));
	return intern(f, buf);
}

/* ------------------------------------------------------------------ */
/* The scopes of a compilation unit, by address */

/*
 * dwarf_getscopes and dwarf_getscopes_die walk a CU's DIEs from its root at
 * every call: for CPython's ceval.c (one function, thousands of inlined
 * calls) that was most of the time of a Python trace's report.  Instead a
 * CU is walked once, as libdw walks it (libdw_visit_scopes.c: into the
 * children of the DIEs that may hold scopes, an imported unit's children
 * in its place), into its DIEs with addresses in preorder, each with the
 * end of its subtree; a lookup then follows the first scope that holds pc
 * down as dwarf_getscopes does, skipping the subtrees that do not.  The
 * answer is the same, and so is its absence: dwarf_getscopes returns
 * nothing when the abstract origin of the innermost inlined instance on
 * the way is not in the CU.  Whatever the index does not know as libdw
 * would (an error, a DIE of another unit) is asked of libdw itself.
 */

/* Does libdw_visit_scopes.c descend into a DIE of this tag? */
static int may_have_scopes(int tag)
{
	switch (tag) {
	case DW_TAG_compile_unit:
	case DW_TAG_module:
	case DW_TAG_lexical_block:
	case DW_TAG_with_stmt:
	case DW_TAG_catch_block:
	case DW_TAG_try_block:
	case DW_TAG_entry_point:
	case DW_TAG_inlined_subroutine:
	case DW_TAG_subprogram:
	case DW_TAG_namespace:
	case DW_TAG_class_type:
	case DW_TAG_structure_type:
		return 1;
	}
	return 0;
}

/* Add die to c's scopes under parent (index + 1, or 0) if it has
 * addresses.  Return its index + 1, 0 if it has none, -1 on a libdw error
 * or when out of memory. */
static long cu_add_scope(struct sym_cu *c, Dwarf_Die *die, uint32_t parent, const Dwarf_Die *root)
{
	Dwarf_Addr base, lo, hi;
	size_t first = c->nranges;
	ptrdiff_t off = 0;

	while ((off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0) {
		if (c->nranges == c->capranges) {
			size_t cap = c->capranges ? 2 * c->capranges : 256;
			Dwarf_Addr(*r)[2] = realloc(c->ranges, cap * sizeof(*r));
			if (!r)
				return -1;
			c->ranges = r;
			c->capranges = cap;
		}
		c->ranges[c->nranges][0] = lo;
		c->ranges[c->nranges][1] = hi;
		c->nranges++;
	}
	/* an error (malformed ranges): getscopes takes some for "not here"
	 * and fails on others, the CU is left to it */
	if (off < 0)
		return -1;
	if (c->nranges == first)
		return 0;
	if (c->nscopes == c->capscopes) {
		size_t cap = c->capscopes ? 2 * c->capscopes : 256;
		struct sym_scope *sc = cap < UINT32_MAX ? realloc(c->scopes, cap * sizeof(*sc)) : NULL;
		if (!sc)
			return -1;
		c->scopes = sc;
		c->capscopes = cap;
	}
	c->scopes[c->nscopes] = (struct sym_scope){
		.die = *die,
		.parent = parent,
		.range = (uint32_t)first,
		.nranges = (uint32_t)(c->nranges - first),
		.foreign = die->cu != root->cu,
	};
	return (long)++c->nscopes;
}

/* One link of the chain of imported units being walked (cycles are an error). */
struct cu_import {
	const void *addr;
	const struct cu_import *up;
};

/*
 * Walk die and its siblings as libdw_visit_scopes.c does, adding the ones
 * with addresses under parent (index + 1; 0 at the top; -1 below a DIE
 * without addresses, where getscopes looks no further: those are walked
 * for their subprograms only).  Return 0, or -1 on a libdw error.
 */
static int cu_walk(struct sym_cu *c, Dwarf_Die die, long parent, const struct cu_import *imports, const Dwarf_Die *root)
{
	int ret;

	do {
		while (dwarf_tag(&die) == DW_TAG_imported_unit) {
			Dwarf_Die unit = die, child;
			Dwarf_Attribute mem;
			if (dwarf_formref_die(dwarf_attr(&die, DW_AT_import, &mem), &child) &&
			    dwarf_tag(&child) != DW_TAG_compile_unit && dwarf_child(&child, &child) == 0) {
				for (const struct cu_import *i = imports; i; i = i->up)
					if (i->addr == unit.addr)
						return -1;
				struct cu_import link = {unit.addr, imports};
				if (cu_walk(c, child, parent, &link, root))
					return -1;
			}
			if ((ret = dwarf_siblingof(&unit, &die)) != 0)
				return ret < 0 ? -1 : 0;
		}
		long self = -1;
		if (parent >= 0 && (self = cu_add_scope(c, &die, (uint32_t)parent, root)) < 0)
			return -1;
		int tag = dwarf_tag(&die);
		if (tag == DW_TAG_subprogram && hashmap_put(&c->subprograms, (uint64_t)(uintptr_t)die.addr, 1))
			return -1;
		Dwarf_Die child;
		if (may_have_scopes(tag) && dwarf_haschildren(&die)) {
			if ((ret = dwarf_child(&die, &child)) < 0)
				return -1;
			if (ret == 0 && cu_walk(c, child, self > 0 ? self : -1, imports, root))
				return -1;
		}
		if (self > 0)
			c->scopes[self - 1].end = (uint32_t)c->nscopes;
	} while ((ret = dwarf_siblingof(&die, &die)) == 0);
	return ret < 0 ? -1 : 0;
}

/* Return the index of cu's scopes in file, made on first use; NULL when
 * out of memory. */
static struct sym_cu *cu_index(struct sym_file *file, Dwarf_Die *cu)
{
	uint64_t key = (uint64_t)(uintptr_t)cu->addr;
	uint64_t *v;

	if (!file->cu_idx.keys && hashmap_init(&file->cu_idx, 64))
		return NULL;
	if ((v = hashmap_get(&file->cu_idx, key)))
		return &file->cus[*v - 1];
	if (file->ncus == file->capcus) {
		size_t cap = file->capcus ? 2 * file->capcus : 16;
		struct sym_cu *cus = realloc(file->cus, cap * sizeof(*cus));
		if (!cus)
			return NULL;
		file->cus = cus;
		file->capcus = cap;
	}
	struct sym_cu *c = &file->cus[file->ncus];
	*c = (struct sym_cu){0};
	if (hashmap_init(&c->subprograms, 64) || hashmap_put(&file->cu_idx, key, file->ncus + 1)) {
		hashmap_free(&c->subprograms);
		return NULL;
	}
	file->ncus++;
	Dwarf_Die child;
	int ret = dwarf_child(cu, &child);
	if (ret < 0 || (ret == 0 && cu_walk(c, child, 0, NULL, cu))) {
		c->failed = 1;
		free(c->scopes);
		free(c->ranges);
		hashmap_free(&c->subprograms);
		*c = (struct sym_cu){.failed = 1};
	}
	return c;
}

static int scope_has(const struct sym_cu *c, const struct sym_scope *sc, Dwarf_Addr pc)
{
	for (uint32_t i = 0; i < sc->nranges; i++)
		if (pc >= c->ranges[sc->range + i][0] && pc < c->ranges[sc->range + i][1])
			return 1;
	return 0;
}

/*
 * The scopes around pc in the CU cu, innermost first, as
 * dwarf_getscopes_die(dwarf_getscopes(cu, pc)[0]) returns them, into
 * *chain (malloc'd): return how many, 0 or -1 when there are none.  The
 * CU itself, last in libdw's, is left out: it names no frame.
 */
static int cu_scopes(struct sym_file *file, Dwarf_Die *cu, Dwarf_Addr pc, Dwarf_Die **chain)
{
	struct sym_cu *c = cu_index(file, cu);
	Dwarf_Die *scopes = NULL;
	uint32_t in = 0, inlined = 0;

	*chain = NULL;
	if (!c || c->failed)
		goto libdw;
	/* the first scope that holds pc, then the first one in it, ... */
	for (uint32_t i = 0, end = (uint32_t)c->nscopes; i < end;) {
		struct sym_scope *sc = &c->scopes[i];
		if (!scope_has(c, sc, pc)) {
			i = sc->end;
			continue;
		}
		if (sc->foreign)
			goto libdw;
		if (dwarf_tag(&sc->die) == DW_TAG_inlined_subroutine)
			inlined = i + 1;
		in = i + 1;
		end = sc->end;
		i++;
	}
	if (!in)
		return 0;
	if (inlined) {
		/* dwarf_getscopes then looks for its abstract definition */
		Dwarf_Attribute mem;
		Dwarf_Die origin;
		if (!dwarf_formref_die(dwarf_attr(&c->scopes[inlined - 1].die, DW_AT_abstract_origin, &mem), &origin))
			return -1;
		if (origin.cu != cu->cu || dwarf_tag(&origin) != DW_TAG_subprogram)
			goto libdw;
		if (!hashmap_get(&c->subprograms, (uint64_t)(uintptr_t)origin.addr))
			return 0;
	}
	int n = 0;
	for (uint32_t i = in; i; i = c->scopes[i - 1].parent)
		n++;
	if (!(*chain = malloc((size_t)n * sizeof(**chain))))
		return -1;
	n = 0;
	for (uint32_t i = in; i; i = c->scopes[i - 1].parent)
		(*chain)[n++] = c->scopes[i - 1].die;
	return n;
libdw:;
	int n2 = -1;
	if (dwarf_getscopes(cu, pc, &scopes) > 0)
		n2 = dwarf_getscopes_die(&scopes[0], chain);
	free(scopes);
	return n2;
}

/*
 * Resolve the return address at ELF address off of file into
 * out[0..SYM_MAX_DEPTH): the inlined frames, innermost first, then the
 * function that holds them; base is what every frame starts from (ip,
 * module, offset).  Return how many (>= 1).
 */
static int resolve(struct sym_files *f, struct sym_file *file, uint64_t off, const struct hs_frame *base,
		   struct hs_frame *out)
{
	Dwarf_Addr pc = off - 1; /* the call instruction, not the next one */
	GElf_Off symoff;
	GElf_Sym sym;
	int n = 0, line = 0;

	f->stats.resolved++;
	out[0] = *base;
	const char *symname = dwfl_module_addrinfo(file->mod, pc, &symoff, &sym, NULL, NULL, NULL);

	/* file:line of the innermost frame, from the line table */
	const char *src = NULL;
	Dwfl_Line *ln = dwfl_module_getsrc(file->mod, pc);
	if (ln)
		src = intern(f, dwfl_lineinfo(ln, NULL, &line, NULL, NULL, NULL));
	unsigned uline = line > 0 ? (unsigned)line : 0;

	/*
	 * The scopes around pc, the concrete chain: inlined_subroutine ...
	 * subprogram (cu_scopes).  Each inlined frame's caller line is its
	 * DW_AT_call_file/line.
	 */
	Dwarf_Addr bias = 0;
	Dwarf_Die *cu = dwfl_module_addrdie(file->mod, pc, &bias);
	Dwarf_Die *chain = NULL, *fn = NULL;
	int nchain = cu ? cu_scopes(file, cu, pc - bias, &chain) : 0;
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
			out[n] = *base;
			out[n].function = die_function(f, &chain[i]);
			out[n].system_name = die_system_name(f, &chain[i]);
			out[n].file = src;
			out[n].line = uline;
			out[n].inlined = 1;
			n++;
		}
		src = die_call_file(f, &chain[i], files, nfiles);
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
		name = die_function(f, fn);
		if (name && sym_mangled && !strchr(name, ':') && !strchr(name, '('))
			name = NULL;
	}
	if (!name)
		name = intern_function(f, symname);
	int approximate = 0;
	if (!name && (name = near_name(f, file, pc)))
		approximate = 1;
	out[n] = *base;
	out[n].function = name;
	out[n].approximate = approximate;
	/* the symbol as it is ("f.constprop.0", "__GI___libc_malloc"), but
	 * for a version the symbol table spells in it ("@@GLIBC_2.34": no
	 * name the linker resolves has an '@'); the DIE's names where the
	 * symbol table has none */
	out[n].system_name = symname ? intern_n(f, symname, strcspn(symname, "@"))
			     : fn    ? die_system_name(f, fn)
				     : NULL;
	out[n].file = src;
	out[n].line = uline;
	n++;
	free(chain);
	return n;
}

/* Keep n frames under key in the cache; on failure the result is simply
 * not cached. */
static void cache_put(struct sym_files *f, uint64_t key, const struct hs_frame *fr, int n)
{
	if ((size_t)n > f->capframes - f->nframes) {
		size_t cap = f->capframes ? f->capframes * 2 : 1024;
		while (cap - f->nframes < (size_t)n)
			cap *= 2;
		struct hs_frame *frames = realloc(f->frames, cap * sizeof(*frames));
		if (!frames)
			return;
		f->frames = frames;
		f->capframes = cap;
	}
	if (hashmap_put(&f->cache, key, (uint64_t)f->nframes << 8 | (uint64_t)n))
		return;
	memcpy(&f->frames[f->nframes], fr, (size_t)n * sizeof(*fr));
	f->nframes += (size_t)n;
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
	c->file = intern_n(s->files, it->pycode.file.p, it->pycode.file.n);
	c->name = intern_n(s->files, it->pycode.name.p, it->pycode.name.n);
	c->firstlineno = it->pycode.firstlineno;
	if (!hashmap_put(&s->pycodes, it->pycode.id, s->npycode + 1))
		s->npycode++;
}

/* The frame of Python stack entry ip: its code's function and file, and
 * its line; a code the trace never named has neither (nor a line). */
static struct hs_frame py_frame(const struct symbolizer *s, uint64_t ip)
{
	uint64_t *v = s ? hashmap_get(&s->pycodes, hst_pyframe_code(ip)) : NULL;
	const struct sym_pycode *c = v ? &s->pycode[*v - 1] : NULL;
	struct hs_frame f = {.ip = ip, .python = 1};

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
int sym_lookup(struct symbolizer *s, uint64_t ip, struct hs_frame *frames, int max)
{
	return sym_lookup_at(s, ip, 0, frames, max);
}

int sym_lookup_at(struct symbolizer *s, uint64_t ip, uint32_t era, struct hs_frame *frames, int max)
{
	struct hs_frame tmp[SYM_MAX_DEPTH];
	const struct hs_module *m = NULL;
	const struct sym_link *link = NULL;
	int n;

	if (max <= 0)
		return 0;
	if (hst_is_pyframe(ip)) {
		frames[0] = py_frame(s, ip);
		return 1;
	}
	if (s)
		s->files->stats.lookups++;
	if (!s || !ip || mod_at(s, ip - 1, era, &m, &link)) {
		frames[0] = (struct hs_frame){.ip = ip};
		return 1;
	}
	const struct hs_frame base = {.ip = ip, .module = m->path, .offset = ip - m->bias};
	if (!link->trusted) {
		frames[0] = base;
		return 1;
	}
	struct sym_files *f = s->files;
	uint64_t fi = (uint64_t)link->file;
	const struct hs_frame *src = tmp;
	int cacheable = base.offset < (1ull << SYM_CACHE_OFFSET_BITS);
	uint64_t key = (fi + 1) << SYM_CACHE_OFFSET_BITS | base.offset;
	uint64_t *v = cacheable ? hashmap_get(&f->cache, key) : NULL;
	if (v) {
		src = &f->frames[*v >> 8];
		n = (int)(*v & 0xff);
	} else {
		n = resolve(f, &f->files[fi], base.offset, &base, tmp);
		if (cacheable)
			cache_put(f, key, tmp, n);
	}
	if (n > max)
		n = max;
	/* cached frames are the file's: this trace's ip goes in each */
	for (int i = 0; i < n; i++) {
		frames[i] = src[i];
		frames[i].ip = ip;
	}
	return n;
}

/* ------------------------------------------------------------------ */
/* Data addresses */

/* The name of the section at ELF address *a of a file's module, or NULL. */
static const char *section_name(struct sym_files *f, Dwfl_Module *mod, Dwarf_Addr a)
{
	Dwarf_Addr bias, addr = a;
	Elf_Scn *scn = dwfl_module_address_section(mod, &addr, &bias);
	Elf *elf = scn ? dwfl_module_getelf(mod, &bias) : NULL;
	size_t shstrndx;
	GElf_Shdr sh;

	if (!elf || elf_getshdrstrndx(elf, &shstrndx) || !gelf_getshdr(scn, &sh))
		return NULL;
	const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
	return name ? intern(f, name) : NULL;
}

int sym_data(struct symbolizer *s, uint64_t addr, struct sym_data *out)
{
	long mi = s ? mod_find(s, addr) : -1;

	memset(out, 0, sizeof(*out));
	if (mi < 0)
		return 0;
	const struct hs_module *m = &s->mods[mi];
	out->module = m->path;
	if (!s->links[mi].trusted)
		return 0;
	struct sym_files *f = s->files;
	const struct sym_file *file = &f->files[s->links[mi].file];
	uint64_t elf_addr = addr - m->bias;
	GElf_Off symoff;
	GElf_Sym sym;
	const char *name = dwfl_module_addrinfo(file->mod, elf_addr, &symoff, &sym, NULL, NULL, NULL);
	/* a symbol whose extent holds the address; libdw also gives the
	 * nearest one below it, which is some other variable */
	if (name && (symoff < sym.st_size || (!sym.st_size && !symoff))) {
		out->symbol = intern_demangled(f, name);
		out->start = addr - symoff;
		out->size = sym.st_size;
		if (!out->symbol)
			return -1;
	}
	out->section = section_name(f, file->mod, elf_addr);
	return 0;
}
