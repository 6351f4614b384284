/*
 * roots.c - enumerate the roots of the pointer scan (see roots.h).
 */
#define _GNU_SOURCE
#include "shim/roots.h"

#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

#include "shim/arena_map.h"
#include "shim/python.h"
#include "shim/ringfile.h"
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
			const char *name, size_t name_len, roots_fn *fn, void *arg)
{
	uint64_t start = lo;

	for (uint32_t i = 0; i < nr->n && start < hi; i++) {
		if (nr->r[i].hi <= start || nr->r[i].lo >= hi)
			continue;
		if (nr->r[i].lo > start)
			fn(kind, thread, start, nr->r[i].lo, name, name_len, arg);
		start = nr->r[i].hi;
	}
	if (start < hi)
		fn(kind, thread, start, hi, name, name_len, arg);
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

/* Is mapping e the ring file: its path, or its file (a relative ring_path
 * never matches the absolute paths of /proc/self/maps)? */
static int is_ring_file(const struct roots_map *e, const char *ring_path, const struct ringfile_id *ring)
{
	if (ring_path && e->path_len && !strcmp(e->path, ring_path))
		return 1;
	return ring && e->inode && e->inode == ring->inode && e->dev_major == ring->dev_major &&
	       e->dev_minor == ring->dev_minor;
}

void roots_each(const struct roots_maps *maps, const struct world *w, const char *ring_path, roots_skip_fn *skip,
		roots_fn *fn, void *arg)
{
	struct nonroots nr = {0};
	struct ringfile_id ring;
	const struct ringfile_id *rid = ringfile_identity(&ring) ? NULL : &ring;
	const char *prev_path = "", *self = NULL;
	size_t prev_len = 0, self_len = 0;
	uint64_t prev_hi = 0;

	/* Registers of every stopped thread. */
	for (uint32_t i = 0; i < w->nthreads; i++) {
		const struct world_thread *t = &w->threads[i];
		if (t->state == WORLD_STOPPED)
			fn(HST_ROOT_REGS, t->index, (uint64_t)(uintptr_t)t->regs,
			   (uint64_t)(uintptr_t)t->regs + sizeof(t->regs), "[registers]", 11, arg);
	}
	(void)nonroots_collect(&nr, w);
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
		if (is_ring_file(e, ring_path, rid))
			continue;
		if (!strncmp(e->path, "[v", 2)) /* [vvar] [vdso] [vsyscall] */
			continue;
		if (skip && skip(e->lo, e->hi, arg))
			continue;
		int is_self;
		const struct world_thread *t = stack_owner(w, e->lo, e->hi, &is_self);
		if (is_self)
			root_except(&nr, HST_ROOT_STACK, w->self_index, w->self_sp, e->hi, "[stack]", 7, fn, arg);
		else if (t)
			root_except(&nr, HST_ROOT_STACK, t->index, t->sp - RED_ZONE > e->lo ? t->sp - RED_ZONE : e->lo,
				    e->hi, "[stack]", 7, fn, arg);
		else if (name_len && name[0] == '/')
			root_except(&nr, HST_ROOT_DATA, 0, e->lo, e->hi, name, name_len, fn, arg);
		else
			root_except(&nr, HST_ROOT_ANON, 0, e->lo, e->hi, name_len ? name : "[anon]", name_len ? name_len : 6,
				    fn, arg);
	}
	if (nr.r)
		arena_map_munmap(nr.r, NONROOTS_MAX * sizeof(*nr.r));
}
