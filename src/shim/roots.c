/*
 * roots.c - enumerate the roots of the pointer scan (see roots.h).
 */
#define _GNU_SOURCE
#include "shim/roots.h"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <ucontext.h>
#include <string.h>
#include <unistd.h>

#include "shim/arena_map.h"
#include "shim/dynsym.h"
#include "shim/python.h"
#include "shim/ringfile.h"
#include "shim/unwind.h"
#include "shim/tls.h"
#include "shim/world.h"
#include "trace/format.h"
#include "util/atomic.h"
#include "util/fmt.h"

#define RED_ZONE 128	    /* bytes below the stack pointer a leaf may use */
#define IGNORED_MAX 65536
#define MAPS_TEXT_MAX (1 << 22) /* bytes of /proc/self/maps read, at most */
#define NONROOTS_MAX 65536
#define ROOT_NAME_MAX 511 /* bytes of a root's name (a path) in the trace */

static uintptr_t shim_tls_size;		     /* bytes of the shim's static TLS block */
static intptr_t shim_tls_offset;	     /* &tls - the block's start, the same in every thread */
static uintptr_t shim_data_lo, shim_data_hi; /* the shim's writable segments (data, bss), pages */
static uint64_t tls_static_size;	     /* glibc's static TLS block with the TCB, bytes */
static uint64_t tls_tcb_size;		     /* its thread descriptor (struct pthread), bytes */

static _Atomic uint32_t nignored;
static uintptr_t ignored[IGNORED_MAX];

/* ---- the shim's own memory ------------------------------------------------ */

uintptr_t roots_tls_block(void)
{
	return shim_tls_size ? (uintptr_t)&tls - (uintptr_t)shim_tls_offset : 0;
}

struct tls_find {
	uintptr_t self;	 /* an address in the shim's code */
	uintptr_t block; /* the calling thread's TLS block of the shim */
	size_t size;	 /* its PT_TLS size */
};

/* dl_iterate_phdr callback: the shim's TLS block and writable segments. */
static int find_self(struct dl_phdr_info *info, size_t size, void *data)
{
	struct tls_find *f = data;
	int mine = 0;
	size_t tls_size = 0;
	uintptr_t wlo = UINTPTR_MAX, whi = 0;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t s = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && f->self >= s && f->self < s + ph->p_memsz)
			mine = 1;
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W)) {
			wlo = s < wlo ? s : wlo;
			whi = s + ph->p_memsz > whi ? s + ph->p_memsz : whi;
		}
		if (ph->p_type == PT_TLS)
			tls_size = ph->p_memsz;
	}
	if (!mine)
		return 0;
	if (whi) {
		shim_data_lo = wlo & ~(uintptr_t)4095;
		shim_data_hi = (whi + 4095) & ~(uintptr_t)4095;
	}
	f->block = (uintptr_t)info->dlpi_tls_data;
	f->size = tls_size;
	return 1;
}

void roots_setup(void)
{
	struct tls_find f = {(uintptr_t)roots_setup, 0, 0};

	dl_iterate_phdr(find_self, &f);
	if (f.block && f.size) {
		shim_tls_offset = (intptr_t)((uintptr_t)&tls - f.block);
		shim_tls_size = f.size;
	}
	/*
	 * Where a thread's static TLS is: glibc puts it, with the thread
	 * descriptor (the TCB) above it, at the thread pointer: [tp + tcb -
	 * size, tp + tcb) (x86-64, TLS_TCB_AT_TP: nptl/allocatestack.c,
	 * elf/dl-tls.c).  The sizes come from ld.so's
	 * _dl_get_tls_static_info and libc's _thread_db_sizeof_pthread (what
	 * libthread_db reads), both GLIBC_PRIVATE: without them TLS is read
	 * as part of the mapping that holds it, unnamed.
	 */
	void (*get_static)(size_t *, size_t *) = (void (*)(size_t *, size_t *))dynsym_any("_dl_get_tls_static_info");
	const uint32_t *tcb = dynsym_symbol("_thread_db_sizeof_pthread", NULL);
	if (get_static && tcb) {
		size_t size = 0, align = 0;
		get_static(&size, &align);
		if (size > *tcb && size < (16u << 20)) {
			tls_static_size = size;
			tls_tcb_size = *tcb;
		}
	}
}

/* ---- ignored blocks ------------------------------------------------------------ */

void roots_ignore(const void *p)
{
	/* relaxed: the index only has to be unique; the scan runs later */
	uint32_t i = atomic_fetch_add_rlx(&nignored, 1);
	if (i < IGNORED_MAX)
		ignored[i] = (uintptr_t)p;
}

uint32_t roots_ignored(const uintptr_t **list)
{
	uint32_t n = atomic_load_rlx(&nignored); /* relaxed: the world is stopped */

	*list = ignored;
	return n < IGNORED_MAX ? n : IGNORED_MAX;
}

/* ---- /proc/self/maps ------------------------------------------------------------ */

static uint64_t dec(const char **p)
{
	uint64_t v = 0;
	for (; **p >= '0' && **p <= '9'; (*p)++)
		v = v * 10 + (uint64_t)(**p - '0');
	return v;
}

/* Skip the field at *p and the spaces after it. */
static void next_field(const char **p)
{
	while (**p && **p != ' ')
		(*p)++;
	while (**p == ' ')
		(*p)++;
}

/* Parse one line "lo-hi perms offset major:minor inode   path". */
static void parse_line(const char *line, struct roots_map *e)
{
	const char *p = line;

	memset(e, 0, sizeof(*e));
	e->lo = fmt_scan_hex(&p);
	p++;
	e->hi = fmt_scan_hex(&p);
	p++;
	e->r = p[0];
	e->w = p[1];
	next_field(&p); /* perms */
	e->offset = fmt_scan_hex(&p);
	next_field(&p); /* offset */
	e->dev_major = (uint32_t)fmt_scan_hex(&p);
	if (*p == ':')
		p++;
	e->dev_minor = (uint32_t)fmt_scan_hex(&p);
	next_field(&p); /* device */
	e->inode = dec(&p);
	next_field(&p); /* inode */
	e->path = p;
	e->path_len = strlen(p);
}

int roots_maps_read(struct roots_maps *m)
{
	size_t len = 0;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	memset(m, 0, sizeof(*m));
	if (fd < 0)
		return -1;
	m->text_cap = MAPS_TEXT_MAX;
	m->text = arena_map_mmap(m->text_cap);
	if (!m->text) {
		close(fd);
		return -1;
	}
	for (ssize_t n; len < m->text_cap - 1 && (n = read(fd, m->text + len, m->text_cap - 1 - len)) > 0;)
		len += (size_t)n;
	close(fd);
	m->text[len] = 0;
	for (size_t i = 0; i < len; i++)
		m->cap += m->text[i] == '\n';
	m->cap++;
	m->m = arena_map_mmap(m->cap * sizeof(*m->m));
	if (!m->m) {
		roots_maps_free(m);
		return -1;
	}
	for (char *line = m->text; *line && m->n < m->cap;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		parse_line(line, &m->m[m->n++]);
		if (!nl)
			break;
		line = nl + 1;
	}
	return 0;
}

void roots_maps_free(struct roots_maps *m)
{
	if (m->m)
		arena_map_munmap(m->m, m->cap * sizeof(*m->m));
	if (m->text)
		arena_map_munmap(m->text, m->text_cap);
	memset(m, 0, sizeof(*m));
}

/* ---- memory that is not a root ------------------------------------------------ */

/* jemalloc's and the shim's memory, sorted by start. */
struct nonroots {
	struct {
		uint64_t lo, hi;
	} *r;
	uint32_t n, cap;
};

static void nonroot_add(uintptr_t lo, uintptr_t hi, void *arg)
{
	struct nonroots *nr = arg;

	if (nr->n < nr->cap) {
		nr->r[nr->n].lo = lo;
		nr->r[nr->n].hi = hi;
		nr->n++;
	}
}

static void nonroots_sort(struct nonroots *nr)
{
	for (uint32_t i = 1; i < nr->n; i++)
		for (uint32_t j = i; j > 0 && nr->r[j].lo < nr->r[j - 1].lo; j--) {
			uint64_t a = nr->r[j].lo, b = nr->r[j].hi;
			nr->r[j] = nr->r[j - 1];
			nr->r[j - 1].lo = a;
			nr->r[j - 1].hi = b;
		}
}

/* Everything that is not a root: jemalloc's and the shim's mappings, the
 * shim's static TLS in every thread (jemalloc's thread data is there, with
 * caches keyed by block addresses), the shim's data and bss.  Return 0, or
 * -1 without memory for the list (then everything is read). */
static int nonroots_collect(struct nonroots *nr, const struct world *w)
{
	nr->n = 0;
	nr->cap = NONROOTS_MAX;
	nr->r = arena_map_mmap(NONROOTS_MAX * sizeof(*nr->r));
	if (!nr->r)
		return -1;
	arena_map_each(nonroot_add, nr);
	for (uint32_t i = 0; i < w->nthreads; i++)
		if (w->threads[i].state == WORLD_STOPPED && w->threads[i].tls_lo)
			nonroot_add(w->threads[i].tls_lo, w->threads[i].tls_lo + shim_tls_size, nr);
	if (w->self_tls_lo)
		nonroot_add(w->self_tls_lo, w->self_tls_lo + shim_tls_size, nr);
	if (shim_data_hi)
		nonroot_add(shim_data_lo, shim_data_hi, nr);
	/* pymalloc's arenas: their objects are blocks */
	python_arenas_each(nonroot_add, nr);
	nonroots_sort(nr);
	return 0;
}

/* Pass [lo, hi) to fn as roots of the given kind, except the parts that
 * are not roots. */
static void root_except(const struct nonroots *nr, int kind, uint32_t thread, uint64_t lo, uint64_t hi,
			const char *name, size_t name_len, uint64_t pc, roots_fn *fn, void *arg)
{
	uint64_t start = lo;

	for (uint32_t i = 0; i < nr->n && start < hi; i++) {
		if (nr->r[i].hi <= start || nr->r[i].lo >= hi)
			continue;
		if (nr->r[i].lo > start)
			fn(kind, thread, start, nr->r[i].lo, name, name_len, pc, arg);
		start = nr->r[i].hi;
	}
	if (start < hi)
		fn(kind, thread, start, hi, name, name_len, pc, arg);
}

/* The thread whose stack pointer lies in [lo, hi), or NULL; self (the
 * scanner) is reported through *is_self. */
static const struct world_thread *stack_owner(const struct world *w, uint64_t lo, uint64_t hi, int *is_self)
{
	*is_self = w->self_sp >= lo && w->self_sp < hi;
	for (uint32_t i = 0; i < w->nthreads; i++) {
		const struct world_thread *t = &w->threads[i];
		if (t->state == WORLD_STOPPED && t->sp >= lo && t->sp < hi)
			return t;
	}
	return NULL;
}

/* Is mapping e a ring file: this process's by its path, or by its file,
 * or one inherited from a process it was forked from (a relative
 * ring_path never matches the absolute paths of /proc/self/maps)?  An
 * inherited stack segment is a megabyte of return addresses: reading it
 * cost a short forked child more than the rest of its scan. */
static int is_ring_file(const struct roots_map *e, const char *ring_path)
{
	if (ring_path && e->path_len && !strcmp(e->path, ring_path))
		return 1;
	return ringfile_is_ours(e->dev_major, e->dev_minor, e->inode);
}

/* ---- the frames of a stopped thread's stack ---------------------------------- */

#define STACK_FRAMES_MAX 256

/* The .eh_frame_hdr of the module that maps pc, from its first mapping
 * (file offset 0), where its ELF and program headers are; 0 if unknown.
 * Read from the mappings, not dl_iterate_phdr: a stopped thread may hold
 * the loader's lock. */
static uintptr_t eh_frame_hdr_of(const struct roots_maps *maps, uint64_t pc)
{
	const struct roots_map *m = NULL, *first = NULL;

	for (uint32_t i = 0; i < maps->n && !m; i++)
		if (pc >= maps->m[i].lo && pc < maps->m[i].hi)
			m = &maps->m[i];
	if (!m || !m->inode)
		return 0;
	for (uint32_t i = 0; i < maps->n && !first; i++)
		if (maps->m[i].inode == m->inode && maps->m[i].dev_major == m->dev_major &&
		    maps->m[i].dev_minor == m->dev_minor && maps->m[i].offset == 0 && maps->m[i].r == 'r')
			first = &maps->m[i];
	if (!first || first->hi - first->lo < sizeof(ElfW(Ehdr)))
		return 0;
	const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)(uintptr_t)first->lo;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_phentsize != sizeof(ElfW(Phdr)) ||
	    eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(ElfW(Phdr)) > first->hi - first->lo)
		return 0;
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(uintptr_t)(first->lo + eh->e_phoff);
	uint64_t bias = UINT64_MAX, hdr = 0;
	for (unsigned i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0 && bias == UINT64_MAX)
			bias = first->lo - (ph[i].p_vaddr & ~(uint64_t)4095);
	for (unsigned i = 0; i < eh->e_phnum && bias != UINT64_MAX; i++)
		if (ph[i].p_type == PT_GNU_EH_FRAME)
			hdr = bias + ph[i].p_vaddr;
	/* the table must lie in one of the module's readable mappings */
	for (uint32_t i = 0; hdr && i < maps->n; i++)
		if (hdr >= maps->m[i].lo && hdr + 16 <= maps->m[i].hi)
			return maps->m[i].r == 'r' && maps->m[i].inode == m->inode ? (uintptr_t)hdr : 0;
	return 0;
}

/*
 * The stack of stopped thread t, in its mapping e, as a root per frame
 * that its modules' CFI can step (unwind.h): [its stack pointer, its
 * CFA), named by its function (pc), so that a pointer on the stack names
 * the frame that holds it; the rest of the stack as one root.  The frames
 * come from the thread's saved registers and its own stack words, read
 * inside its stack only.
 */
static void stack_frames(const struct roots_maps *maps, const struct nonroots *cut, const struct world_thread *t,
			 const struct roots_map *e, roots_fn *fn, void *arg)
{
	uint64_t pc = t->regs[REG_RIP], sp = t->sp, bp = t->regs[REG_RBP];
	uint64_t lo = t->sp - RED_ZONE > e->lo ? t->sp - RED_ZONE : e->lo;
	uint64_t named = pc + 1; /* the innermost frame: where it stopped */

	for (int i = 0; i < STACK_FRAMES_MAX; i++) {
		uintptr_t hdr = eh_frame_hdr_of(maps, pc);
		if (!hdr || !unwind_step_stopped(hdr, i == 0, &pc, &sp, &bp, e->lo, e->hi))
			break;
		/* [lo, sp) is the frame just stepped over: sp is its CFA */
		root_except(cut, HST_ROOT_STACK, t->index, lo, sp, "[stack]", 7, named, fn, arg);
		lo = sp;
		named = pc; /* a return address into the caller */
	}
	root_except(cut, HST_ROOT_STACK, t->index, lo, e->hi, "[stack]", 7, 0, fn, arg);
}

/* The static TLS of every stopped thread and of the caller: into tr
 * (each range with its thread index in thread[]), and into cut, which
 * holds the other memory that is not read as part of its mapping. */
static void tls_collect(const struct world *w, struct nonroots *tr, uint32_t *thread, struct nonroots *cut)
{
	if (!tls_static_size)
		return;
	for (uint32_t i = 0; i <= w->nthreads; i++) {
		const struct world_thread *t = i < w->nthreads ? &w->threads[i] : NULL;
		uint64_t tp = t ? (t->state == WORLD_STOPPED ? t->tp : 0) : w->self_tp;
		if (!tp || tr->n == tr->cap)
			continue;
		thread[tr->n] = t ? t->index : w->self_index;
		nonroot_add(tp + tls_tcb_size - tls_static_size, tp + tls_tcb_size, tr);
		nonroot_add(tp + tls_tcb_size - tls_static_size, tp + tls_tcb_size, cut);
	}
}

void roots_each(const struct roots_maps *maps, const struct world *w, const char *ring_path, roots_skip_fn *skip,
		roots_fn *fn, void *arg)
{
	struct nonroots nr = {0}, cut = {0}, tr = {0};
	uint32_t *tls_thread = NULL;
	const char *prev_path = "", *self = NULL;
	size_t prev_len = 0, self_len = 0;
	uint64_t prev_hi = 0;

	/* Registers of every stopped thread. */
	for (uint32_t i = 0; i < w->nthreads; i++) {
		const struct world_thread *t = &w->threads[i];
		if (t->state == WORLD_STOPPED)
			fn(HST_ROOT_REGS, t->index, (uint64_t)(uintptr_t)t->regs,
			   (uint64_t)(uintptr_t)t->regs + sizeof(t->regs), "[registers]", 11, 0, arg);
	}
	(void)nonroots_collect(&nr, w);
	/* cut: what is not read with its mapping (nr, and the threads' TLS,
	 * read on its own below, named for its thread) */
	(void)nonroots_collect(&cut, w);
	tr.cap = w->nthreads + 1;
	tr.r = arena_map_mmap(tr.cap * sizeof(*tr.r));
	tls_thread = arena_map_mmap(tr.cap * sizeof(*tls_thread));
	if (tr.r && tls_thread && cut.r)
		tls_collect(w, &tr, tls_thread, &cut);
	nonroots_sort(&cut);
	for (uint32_t i = 0; i < maps->n; i++) {
		const struct roots_map *e = &maps->m[i];
		/* An anonymous mapping right after a module's file mapping is
		 * that module's bss: it keeps the module's name. */
		const char *name = e->path;
		size_t name_len = e->path_len;
		if (!e->path_len && prev_hi == e->lo && prev_len && prev_path[0] == '/') {
			name = prev_path;
			name_len = prev_len;
		}
		if (name_len > ROOT_NAME_MAX)
			name_len = ROOT_NAME_MAX;
		prev_path = e->path;
		prev_len = e->path_len;
		prev_hi = e->hi;
		if (e->path_len && e->path[0] == '/' && (uint64_t)(uintptr_t)roots_each >= e->lo &&
		    (uint64_t)(uintptr_t)roots_each < e->hi) {
			self = e->path; /* our code: this path is the shim */
			self_len = e->path_len;
		}
		if (e->r != 'r' || e->w != 'w')
			continue;
		/* The shim's own file mappings and the rings are not roots; its
		 * bss, an anonymous mapping that the kernel may have merged with
		 * the program's, is cut out exactly (nonroots). */
		if (e->path_len && self && e->path_len == self_len && !memcmp(e->path, self, self_len))
			continue;
		if (is_ring_file(e, ring_path))
			continue;
		if (!strncmp(e->path, "[v", 2)) /* [vvar] [vdso] [vsyscall] */
			continue;
		if (skip && skip(e->lo, e->hi, arg))
			continue;
		int is_self;
		const struct world_thread *t = stack_owner(w, e->lo, e->hi, &is_self);
		if (is_self)
			root_except(&cut, HST_ROOT_STACK, w->self_index, w->self_sp, e->hi, "[stack]", 7, 0, fn, arg);
		else if (t)
			stack_frames(maps, &cut, t, e, fn, arg);
		else if (name_len && name[0] == '/')
			root_except(&cut, HST_ROOT_DATA, 0, e->lo, e->hi, name, name_len, 0, fn, arg);
		else
			root_except(&cut, HST_ROOT_ANON, 0, e->lo, e->hi, name_len ? name : "[anon]", name_len ? name_len : 6, 0,
				    fn, arg);
	}
	/* each thread's static TLS, but for the shim's own block in it */
	for (uint32_t i = 0; i < tr.n; i++)
		root_except(&nr, HST_ROOT_TLS, tls_thread[i], tr.r[i].lo, tr.r[i].hi, "[tls]", 5, 0, fn, arg);
	if (nr.r)
		arena_map_munmap(nr.r, NONROOTS_MAX * sizeof(*nr.r));
	if (cut.r)
		arena_map_munmap(cut.r, NONROOTS_MAX * sizeof(*cut.r));
	if (tr.r)
		arena_map_munmap(tr.r, tr.cap * sizeof(*tr.r));
	if (tls_thread)
		arena_map_munmap(tls_thread, tr.cap * sizeof(*tls_thread));
}
