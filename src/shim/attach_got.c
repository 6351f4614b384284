/*
 * attach_got.c - GOT patching for the attach shim: find, rewrite and
 * restore the slots of the allocation family in every loaded object, and
 * follow dlopen.  See attach_got.h.
 */
#define _GNU_SOURCE
#include "shim/attach_got.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shim/arena_map.h"
#include "shim/backing.h"
#include "shim/dynsym.h"
#include "shim/hooks.h"
#include "util/assert.h"
#include "util/atomic.h"
#include "util/compiler.h"
#include "util/fmt.h"

#define PAGE 4096ul

/* The C++ operators, by mangled name (hooks_cxx.c); only their addresses
 * are taken here. */
void _Znwm(void), _Znam(void), _ZnwmRKSt9nothrow_t(void), _ZnamRKSt9nothrow_t(void);
void _ZnwmSt11align_val_t(void), _ZnamSt11align_val_t(void);
void _ZnwmSt11align_val_tRKSt9nothrow_t(void), _ZnamSt11align_val_tRKSt9nothrow_t(void);
void _ZdlPv(void), _ZdaPv(void), _ZdlPvm(void), _ZdaPvm(void);
void _ZdlPvRKSt9nothrow_t(void), _ZdaPvRKSt9nothrow_t(void);
void _ZdlPvSt11align_val_t(void), _ZdaPvSt11align_val_t(void);
void _ZdlPvmSt11align_val_t(void), _ZdaPvmSt11align_val_t(void);
void _ZdlPvSt11align_val_tRKSt9nothrow_t(void), _ZdaPvSt11align_val_tRKSt9nothrow_t(void);

/* The dlopen wrapper (below). */
void got_dlopen_thunk(void);

/*
 * Which slots are patched, in which pass.  Frees go first and come back
 * last: a block allocated through a hook is then always freed through one
 * (its free is recorded), and a block that a free hook gets from before the
 * attach is only an unknown free.
 */
enum got_group { G_FREE, G_ALLOC, G_CXX_FREE, G_CXX_ALLOC, G_PROCESS };

/*
 * A name has two addresses: def, what the global scope binds a reference
 * to its address to (GLOB_DAT; what dlsym returns), and real, the function
 * a call ends in (JUMP_SLOT).  They differ when a non-PIE executable takes
 * the address of malloc: its PLT entry becomes the canonical address
 * (Debian's python3.11 does this), and a call to that address goes through
 * the executable's own slot, which the shim patches.  The shim forwards to
 * real, never to def.
 */
struct got_name {
	const char *name;
	void *hook;	     /* the shim's function */
	uint8_t group;	     /* enum got_group */
	void *def;	     /* canonical address in the global scope (0: none) */
	void *real;	     /* the definition calls end in (0: none) */
};

#define N(name, group) {#name, (void *)(name), group, NULL, NULL}
#define C(name, group) {#name, NULL, group, NULL, NULL} /* hook from hooks_c_names */
static struct got_name names[] = {
	C(free, G_FREE),
	C(malloc, G_ALLOC),
	C(calloc, G_ALLOC),
	C(realloc, G_ALLOC),
	C(reallocarray, G_ALLOC),
	C(posix_memalign, G_ALLOC),
	C(aligned_alloc, G_ALLOC),
	C(memalign, G_ALLOC),
	C(valloc, G_ALLOC),
	C(pvalloc, G_ALLOC),
	C(malloc_usable_size, G_ALLOC),
	N(_ZdlPv, G_CXX_FREE),
	N(_ZdaPv, G_CXX_FREE),
	N(_ZdlPvm, G_CXX_FREE),
	N(_ZdaPvm, G_CXX_FREE),
	N(_ZdlPvRKSt9nothrow_t, G_CXX_FREE),
	N(_ZdaPvRKSt9nothrow_t, G_CXX_FREE),
	N(_ZdlPvSt11align_val_t, G_CXX_FREE),
	N(_ZdaPvSt11align_val_t, G_CXX_FREE),
	N(_ZdlPvmSt11align_val_t, G_CXX_FREE),
	N(_ZdaPvmSt11align_val_t, G_CXX_FREE),
	N(_ZdlPvSt11align_val_tRKSt9nothrow_t, G_CXX_FREE),
	N(_ZdaPvSt11align_val_tRKSt9nothrow_t, G_CXX_FREE),
	N(_Znwm, G_CXX_ALLOC),
	N(_Znam, G_CXX_ALLOC),
	N(_ZnwmRKSt9nothrow_t, G_CXX_ALLOC),
	N(_ZnamRKSt9nothrow_t, G_CXX_ALLOC),
	N(_ZnwmSt11align_val_t, G_CXX_ALLOC),
	N(_ZnamSt11align_val_t, G_CXX_ALLOC),
	N(_ZnwmSt11align_val_tRKSt9nothrow_t, G_CXX_ALLOC),
	N(_ZnamSt11align_val_tRKSt9nothrow_t, G_CXX_ALLOC),
	N(exit, G_PROCESS),
	N(_exit, G_PROCESS),
	N(_Exit, G_PROCESS),
	N(execve, G_PROCESS),
	N(execv, G_PROCESS),
	N(execvp, G_PROCESS),
	N(execvpe, G_PROCESS),
	N(fexecve, G_PROCESS),
	N(execl, G_PROCESS),
	N(execlp, G_PROCESS),
	N(execle, G_PROCESS),
	N(dlclose, G_PROCESS),
	{"dlopen", (void *)got_dlopen_thunk, G_PROCESS, NULL, NULL},
};
#undef N
#undef C
#define NNAMES (sizeof(names) / sizeof(names[0]))

/* One patched slot. */
struct patch {
	uintptr_t slot;	   /* address of the GOT entry */
	uintptr_t old;	   /* its value before */
	uintptr_t hook;	   /* the value we wrote */
	uintptr_t obj;	   /* the object: its PT_DYNAMIC address ... */
	const char *name;  /* ... and its link map's name string */
	uint8_t group;	   /* enum got_group of the name */
	uint8_t live;	   /* seen in the last walk of the loaded objects */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER; /* everything below */
static struct patch *patches; /* private memory, grows */
static uint32_t npatches, patches_cap;
static _Atomic int attached;   /* patch objects as they appear */
static uintptr_t self_dyn;     /* the attach shim's own PT_DYNAMIC: never patched */
static unsigned long long seen_adds, seen_subs;

/* The real dlopen, for the wrapper. */
static void *(*real_dlopen)(const char *, int) __attribute__((used));

/* ---- reading an object -------------------------------------------------------- */

struct object {
	uintptr_t base;			/* load bias */
	uintptr_t dyn;			/* PT_DYNAMIC address: the object's key */
	const char *name;		/* dlpi_name: the key's second half */
	uintptr_t text_lo, text_hi;	/* executable segments */
	uintptr_t relro_lo, relro_hi;	/* read-only after relocation, pages */
	const ElfW(Sym) *symtab;
	const char *strtab;
	const ElfW(Rela) *rel[2];	/* JMPREL, RELA */
	size_t nrel[2];
};

/* A d_ptr of the dynamic section: ld.so relocates them in place, except in
 * objects whose dynamic section is read-only (the vDSO). */
static uintptr_t dyn_ptr(uintptr_t base, uintptr_t v)
{
	return v < base ? v + base : v;
}

/* Fill o from info.  Return 0, or -1 for an object with nothing to patch. */
static int read_object(const struct dl_phdr_info *info, struct object *o)
{
	const ElfW(Dyn) *dyn = NULL;

	memset(o, 0, sizeof(*o));
	o->base = info->dlpi_addr;
	o->name = info->dlpi_name;
	o->text_lo = UINTPTR_MAX;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t s = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *)s;
		else if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			o->text_lo = s < o->text_lo ? s : o->text_lo;
			o->text_hi = s + ph->p_memsz > o->text_hi ? s + ph->p_memsz : o->text_hi;
		} else if (ph->p_type == PT_GNU_RELRO) {
			/* as glibc's _dl_protect_relro rounds it */
			o->relro_lo = s & ~(PAGE - 1);
			o->relro_hi = (s + ph->p_memsz) & ~(PAGE - 1);
		}
	}
	if (!dyn)
		return -1;
	o->dyn = (uintptr_t)dyn;
	size_t relasz = 0, pltsz = 0;
	uintptr_t rela = 0, jmprel = 0;
	int pltrel = DT_RELA;
	for (const ElfW(Dyn) *d = dyn; d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB:
			o->symtab = (const ElfW(Sym) *)dyn_ptr(o->base, d->d_un.d_ptr);
			break;
		case DT_STRTAB:
			o->strtab = (const char *)dyn_ptr(o->base, d->d_un.d_ptr);
			break;
		case DT_JMPREL:
			jmprel = dyn_ptr(o->base, d->d_un.d_ptr);
			break;
		case DT_PLTRELSZ:
			pltsz = d->d_un.d_val;
			break;
		case DT_PLTREL:
			pltrel = (int)d->d_un.d_val;
			break;
		case DT_RELA:
			rela = dyn_ptr(o->base, d->d_un.d_ptr);
			break;
		case DT_RELASZ:
			relasz = d->d_un.d_val;
			break;
		}
	}
	if (!o->symtab || !o->strtab || pltrel != DT_RELA)
		return -1;
	o->rel[0] = (const ElfW(Rela) *)jmprel;
	o->nrel[0] = jmprel ? pltsz / sizeof(ElfW(Rela)) : 0;
	o->rel[1] = (const ElfW(Rela) *)rela;
	o->nrel[1] = rela ? relasz / sizeof(ElfW(Rela)) : 0;
	return 0;
}

static const struct got_name *find_name(const char *s)
{
	for (size_t i = 0; i < NNAMES; i++)
		if (names[i].real && !strcmp(names[i].name, s))
			return &names[i];
	return NULL;
}

/*
 * The mappings of the process and whether each is writable, read from
 * /proc/self/maps at the start of a pass.  A slot's page is made writable
 * for a moment only when it is read-only and in the object's RELRO, and
 * then made read-only again: never when the loader has not protected it
 * yet (an object another thread is still relocating), which would fault
 * the loader's next write.
 */
#define VIEW_TEXT (1u << 20)
struct maps_view {
	char *text;		/* mmap'd, VIEW_TEXT bytes */
	struct { uintptr_t lo, hi; int w; } *m; /* in the same mapping, after the text */
	uint32_t n, cap;
};
static struct maps_view view; /* valid during a pass; caller holds lock */

static void view_read(void)
{
	size_t len = 0;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	view.n = 0;
	if (!view.text && !(view.text = arena_map_mmap(2 * VIEW_TEXT)))
		goto out;
	view.m = (void *)(view.text + VIEW_TEXT);
	view.cap = VIEW_TEXT / sizeof(*view.m);
	for (ssize_t k; fd >= 0 && len < VIEW_TEXT - 1 && (k = read(fd, view.text + len, VIEW_TEXT - 1 - len)) > 0;)
		len += (size_t)k;
	view.text[len] = 0;
	for (const char *p = view.text; *p && view.n < view.cap;) {
		uintptr_t lo = (uintptr_t)fmt_scan_hex(&p);
		if (*p == '-')
			p++;
		uintptr_t hi = (uintptr_t)fmt_scan_hex(&p);
		if (*p == ' ')
			p++;
		view.m[view.n].lo = lo;
		view.m[view.n].hi = hi;
		view.m[view.n].w = p[0] && p[1] == 'w';
		view.n++;
		const char *nl = strchr(p, '\n');
		if (!nl)
			break;
		p = nl + 1;
	}
out:
	if (fd >= 0)
		close(fd);
}

/* 1 writable, 0 read-only, -1 not mapped when the view was read. */
static int view_writable(uintptr_t a)
{
	for (uint32_t i = 0; i < view.n; i++)
		if (a >= view.m[i].lo && a < view.m[i].hi)
			return view.m[i].w;
	return -1;
}

/* Store v into slot: directly if its page is writable, else through a
 * moment of PROT_WRITE if it is in the object's RELRO.  Return 0 or -1
 * (left alone). */
static int write_slot(const struct object *o, uintptr_t slot, uintptr_t v)
{
	int w = view_writable(slot);
	int ro = !w && slot >= o->relro_lo && slot < o->relro_hi;
	uintptr_t page = slot & ~(PAGE - 1);

	if (w < 0 || (!w && !ro))
		return -1;
	if (ro && mprotect((void *)page, PAGE, PROT_READ | PROT_WRITE))
		return -1;
	/* release: a thread that calls through the slot finds the shim set
	 * up (phase, backing, rings); a plain aligned store, so concurrent
	 * callers see the old or the new target, never a torn one */
	__atomic_store_n((uintptr_t *)slot, v, __ATOMIC_RELEASE);
	if (ro)
		mprotect((void *)page, PAGE, PROT_READ);
	return 0;
}

static int add_patch(struct patch p)
{
	if (npatches == patches_cap) {
		uint32_t cap = patches_cap ? patches_cap * 2 : 1024;
		struct patch *q = backing_irealloc(patches, cap * sizeof(*q));
		if (!q)
			return -1;
		patches = q;
		patches_cap = cap;
	}
	patches[npatches++] = p;
	return 0;
}

/*
 * May slot (a relocation for name n, whose symbol the object itself
 * defines at own, 0 if not) be patched?  Yes if it holds the global
 * definition (either address), or an unresolved lazy PLT entry (a value in
 * the object's own code that is no definition of its own) that lazy
 * binding would resolve to it.
 */
static int patchable(const struct object *o, const struct got_name *n, uintptr_t v, uintptr_t own, int jump_slot)
{
	if (v == (uintptr_t)n->def || v == (uintptr_t)n->real)
		return 1;
	return jump_slot && v >= o->text_lo && v < o->text_hi && v != own && (!own || own == (uintptr_t)n->real);
}

/* Patch the slots of group g in object o.  Caller holds lock. */
static uint32_t patch_object(const struct object *o, int g)
{
	uint32_t done = 0;

	HS_ASSERT(pthread_mutex_trylock(&lock) == EBUSY); /* held (by us: a normal mutex says so) */
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < o->nrel[k]; i++) {
			const ElfW(Rela) *r = &o->rel[k][i];
			unsigned type = (unsigned)ELF64_R_TYPE(r->r_info);
			if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT)
				continue;
			const ElfW(Sym) *sym = &o->symtab[ELF64_R_SYM(r->r_info)];
			const struct got_name *n = find_name(o->strtab + sym->st_name);
			if (!n || n->group != g)
				continue;
			uintptr_t slot = o->base + r->r_offset;
			uintptr_t v = *(const uintptr_t *)slot;
			uintptr_t own = sym->st_shndx != SHN_UNDEF ? o->base + sym->st_value : 0;
			if (v == (uintptr_t)n->hook || !patchable(o, n, v, own, type == R_X86_64_JUMP_SLOT))
				continue;
			struct patch p = {slot, v, (uintptr_t)n->hook, o->dyn, o->name, (uint8_t)g, 1};
			if (add_patch(p))
				return done;
			if (write_slot(o, slot, p.hook))
				npatches--;
			else
				done++;
		}
	return done;
}

struct pass {
	int group;	/* enum got_group */
	uint32_t done;	/* slots patched or restored */
};

static int patch_one(struct dl_phdr_info *info, size_t size, void *data)
{
	struct pass *ps = data;
	struct object o;

	(void)size;
	if (read_object(info, &o) || o.dyn == self_dyn || (!o.nrel[0] && !o.nrel[1]))
		return 0;
	ps->done += patch_object(&o, ps->group);
	return 0;
}

/* Patch every loaded object, frees first.  Caller holds lock. */
static uint32_t patch_all(void)
{
	static const int order[] = {G_FREE, G_CXX_FREE, G_PROCESS, G_ALLOC, G_CXX_ALLOC};
	uint32_t done = 0;

	view_read();
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		struct pass ps = {order[i], 0};
		dl_iterate_phdr(patch_one, &ps);
		done += ps.done;
	}
	return done;
}

/* Restore the group's slots of the object that info describes, newest
 * first: a slot patched twice (an object unloaded, another loaded at its
 * address) gets its latest old value, and an older record then finds the
 * slot no longer ours.  Caller holds lock; the loader's lock, held across
 * the callback, keeps the object mapped. */
static int restore_one(struct dl_phdr_info *info, size_t size, void *data)
{
	struct pass *ps = data;
	struct object o;

	(void)size;
	HS_ASSERT(pthread_mutex_trylock(&lock) == EBUSY);
	if (read_object(info, &o))
		return 0;
	for (uint32_t i = npatches; i-- > 0;) {
		struct patch *p = &patches[i];
		if (p->obj != o.dyn || p->name != o.name || p->group != ps->group || !p->slot)
			continue;
		if (*(const uintptr_t *)p->slot == p->hook && !write_slot(&o, p->slot, p->old))
			ps->done++;
		p->slot = 0;
	}
	return 0;
}

/*
 * dl_iterate_phdr callback, on the main program (the first object): a
 * non-PIE executable that takes a function's address makes its PLT entry
 * the canonical address, an undefined symbol with a value; references to
 * the address elsewhere (GLOB_DAT) are bound to it.
 */
static int find_canonical(struct dl_phdr_info *info, size_t size, void *data)
{
	struct object o;

	(void)size;
	(void)data;
	if (read_object(info, &o))
		return 1;
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < o.nrel[k]; i++) {
			const ElfW(Sym) *sym = &o.symtab[ELF64_R_SYM(o.rel[k][i].r_info)];
			if (sym->st_shndx != SHN_UNDEF || !sym->st_value)
				continue;
			for (size_t j = 0; j < NNAMES; j++)
				if (names[j].real && !strcmp(names[j].name, o.strtab + sym->st_name))
					names[j].def = (void *)(o.base + sym->st_value);
		}
	return 1;
}

static void resolve_defs(void)
{
	int cxx_ok = 1;

	for (size_t i = 0; i < NNAMES; i++)
		for (unsigned k = 0; !names[i].hook && k < hooks_c_count; k++)
			if (!strcmp(names[i].name, hooks_c_names[k].name))
				names[i].hook = hooks_c_names[k].fn;
	/* The first definition in load order is the one calls end in: objects
	 * loaded later with RTLD_LOCAL (the shim among them) come after
	 * glibc and an LD_PRELOADed allocator. */
	for (size_t i = 0; i < NNAMES; i++)
		names[i].def = names[i].real = names[i].hook ? dynsym_any(names[i].name) : NULL;
	dl_iterate_phdr(find_canonical, NULL);

	/* new/delete are served by the program's malloc and free: right only
	 * for libstdc++'s operators, which are exactly that.  A program that
	 * replaces them keeps its own, and they call malloc. */
	for (size_t i = 0; i < NNAMES; i++) {
		Dl_info di;
		if (names[i].group != G_CXX_ALLOC && names[i].group != G_CXX_FREE)
			continue;
		if (names[i].real &&
		    (!dladdr(names[i].real, &di) || !di.dli_fname || !strstr(di.dli_fname, "libstdc++")))
			cxx_ok = 0;
	}
	for (size_t i = 0; i < NNAMES; i++)
		if (!cxx_ok && (names[i].group == G_CXX_ALLOC || names[i].group == G_CXX_FREE))
			names[i].def = names[i].real = NULL;
}

void *got_real(const char *name)
{
	const struct got_name *n = find_name(name);

	return n ? n->real : NULL;
}

static int find_self(struct dl_phdr_info *info, size_t size, void *data)
{
	struct object o;

	(void)size;
	(void)data;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t s = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && (uintptr_t)got_init >= s && (uintptr_t)got_init < s + ph->p_memsz &&
		    !read_object(info, &o)) {
			self_dyn = o.dyn;
			return 1;
		}
	}
	return 0;
}

int got_init(void)
{
	pthread_mutex_lock(&lock);
	dl_iterate_phdr(find_self, NULL);
	resolve_defs();
	real_dlopen = (void *(*)(const char *, int))got_real("dlopen");
	pthread_mutex_unlock(&lock);
	return find_name("malloc") ? 0 : -1;
}

static int counters(struct dl_phdr_info *info, size_t size, void *data)
{
	unsigned long long *out = data;

	(void)size;
	out[0] = info->dlpi_adds;
	out[1] = info->dlpi_subs;
	return 1;
}

static int mark_live(struct dl_phdr_info *info, size_t size, void *data)
{
	struct object o;

	(void)size;
	(void)data;
	if (read_object(info, &o))
		return 0;
	for (uint32_t i = 0; i < npatches; i++)
		if (patches[i].obj == o.dyn && patches[i].name == o.name)
			patches[i].live = 1;
	return 0;
}

/* Forget the records of objects that were unloaded: their addresses may
 * be another object's by the time of the detach.  Caller holds lock. */
static void purge_unloaded(void)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < npatches; i++)
		patches[i].live = 0;
	dl_iterate_phdr(mark_live, NULL);
	for (uint32_t i = 0; i < npatches; i++)
		if (patches[i].live)
			patches[k++] = patches[i];
	npatches = k;
}

int got_modules_changed(void)
{
	unsigned long long now[2] = {0, 0};

	dl_iterate_phdr(counters, now);
	pthread_mutex_lock(&lock);
	int changed = now[0] != seen_adds || now[1] != seen_subs;
	if (now[1] != seen_subs)
		purge_unloaded();
	seen_adds = now[0];
	seen_subs = now[1];
	pthread_mutex_unlock(&lock);
	return changed;
}

uint32_t got_attach(void)
{
	(void)got_modules_changed(); /* this map is the reference */
	pthread_mutex_lock(&lock);
	atomic_store_rlx(&attached, 1); /* relaxed: read under the lock, or as a hint */
	uint32_t n = patch_all();
	pthread_mutex_unlock(&lock);
	return n;
}

uint32_t got_patch_new(void)
{
	uint32_t n = 0;

	pthread_mutex_lock(&lock);
	if (atomic_load_rlx(&attached)) /* relaxed: the lock orders it */
		n = patch_all();
	pthread_mutex_unlock(&lock);
	return n;
}

uint32_t got_detach(void)
{
	static const int order[] = {G_CXX_ALLOC, G_ALLOC, G_PROCESS, G_CXX_FREE, G_FREE};
	uint32_t done = 0;

	pthread_mutex_lock(&lock);
	atomic_store_rlx(&attached, 0); /* relaxed: read under the lock, or as a hint */
	view_read();
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		struct pass ps = {order[i], 0};
		dl_iterate_phdr(restore_one, &ps);
		done += ps.done;
	}
	npatches = 0; /* records of unloaded objects go with them */
	pthread_mutex_unlock(&lock);
	return done;
}

void got_counts(uint32_t *slots, uint32_t *objects)
{
	uint32_t s = 0, o = 0;

	pthread_mutex_lock(&lock);
	for (uint32_t i = 0; i < npatches; i++) {
		if (!patches[i].slot)
			continue;
		s++;
		uint32_t k = 0;
		while (k < i && (!patches[k].slot || patches[k].obj != patches[i].obj))
			k++;
		o += k == i;
	}
	pthread_mutex_unlock(&lock);
	*slots = s;
	*objects = o;
}

void got_lock(void)
{
	pthread_mutex_lock(&lock);
}

void got_unlock(void)
{
	pthread_mutex_unlock(&lock);
}

/* ---- dlopen ------------------------------------------------------------------ */

/*
 * dlopen looks at its caller: the caller's namespace, its RUNPATH for a
 * bare name, its directory for $ORIGIN.  A wrapper that calls dlopen itself
 * would be the caller, so the slot points at a thunk that asks
 * got_dlopen_direct first: a name glibc resolves without the caller (a
 * path, no $, a caller in the base namespace) goes through
 * got_dlopen_patching, which patches what the call loaded as soon as it
 * returns; any other call jumps to dlopen with the caller's frame intact,
 * and its objects are patched when the control thread next notices them
 * (attach.c, every 50 ms).  What a library's constructors allocate inside
 * dlopen is not seen either way.
 */
int got_dlopen_direct(const char *file, int mode, void *caller) __attribute__((used));
int got_dlopen_direct(const char *file, int mode, void *caller)
{
	Dl_info di;
	struct link_map *lm = NULL;

	(void)mode;
	if (!file || !strchr(file, '/') || strchr(file, '$'))
		return 1;
	/* relaxed: a hint; got_patch_new checks it again under the lock */
	if (!atomic_load_rlx(&attached))
		return 1;
	if (!dladdr1(caller, &di, (void **)&lm, RTLD_DL_LINKMAP) || !lm)
		return 1;
	/* The base namespace's list starts with the main program (dlinfo
	 * would touch the thread's dlerror state: dynsym.h). */
	while (lm->l_prev)
		lm = lm->l_prev;
	return lm != _r_debug.r_map;
}

void *got_dlopen_patching(const char *file, int mode) __attribute__((used));
void *got_dlopen_patching(const char *file, int mode)
{
	void *h = real_dlopen(file, mode);
	int saved = errno;

	if (h)
		(void)got_patch_new();
	errno = saved;
	return h;
}

/* The thunk: rdi = file, esi = mode, (%rsp) = the caller's return address. */
__asm__(".text\n"
	".globl got_dlopen_thunk\n"
	".hidden got_dlopen_thunk\n"
	".type got_dlopen_thunk, @function\n"
	"got_dlopen_thunk:\n"
	".cfi_startproc\n"
	"	sub $24, %rsp\n"
	".cfi_adjust_cfa_offset 24\n"
	"	mov %rdi, (%rsp)\n"
	"	mov %rsi, 8(%rsp)\n"
	"	mov 24(%rsp), %rdx\n"
	"	call got_dlopen_direct\n"
	"	mov (%rsp), %rdi\n"
	"	mov 8(%rsp), %rsi\n"
	"	add $24, %rsp\n"
	".cfi_adjust_cfa_offset -24\n"
	"	test %eax, %eax\n"
	"	jnz 1f\n"
	"	jmp got_dlopen_patching\n"
	"1:	jmp *real_dlopen(%rip)\n"
	".cfi_endproc\n"
	".size got_dlopen_thunk, .-got_dlopen_thunk\n");
