/*
 * dynsym.c - symbol lookup in the loaded objects' dynamic symbol tables.
 * No allocation, no stdio, no dlerror state; not async-signal-safe
 * (dl_iterate_phdr takes the loader's lock): callers that can run in a
 * signal handler resolve what they need beforehand.  dynsym_next is
 * HS_HOOKSAFE all the same: the first call of a hook reaches it (allocator=
 * system), and so does a throwing operator new that failed.
 */
#define _GNU_SOURCE
#include "shim/dynsym.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>

#include "util/compiler.h"

#define VERSYM_HIDDEN 0x8000 /* an old version, reachable only with dlvsym */
#define VERSYM_INDEX 0x7fff  /* 0: local, 1: global unversioned, 2+: a version */

struct find {
	const char *name;   /* symbol wanted */
	uint32_t gnu_hash;  /* of name, for DT_GNU_HASH */
	uint32_t sysv_hash; /* of name, for DT_HASH */
	uintptr_t after;    /* an address in the object to search after; 0: all */
	int passed;	    /* that object has been seen */
	int data;	    /* data objects (STT_OBJECT) match too */
	void *found;	    /* result */
	size_t size;	    /* its st_size */
};

/* The tables of one object, as mapped. */
struct tables {
	const ElfW(Sym) *sym;	  /* DT_SYMTAB */
	const char *str;	  /* DT_STRTAB */
	const uint32_t *gnu;	  /* DT_GNU_HASH, or NULL */
	const uint32_t *sysv;	  /* DT_HASH, or NULL */
	const ElfW(Half) *versym; /* DT_VERSYM, or NULL */
};

static HS_HOOKSAFE uint32_t hash_gnu(const char *s)
{
	uint32_t h = 5381;

	for (; *s; s++)
		h = h * 33 + (uint8_t)*s;
	return h;
}

static HS_HOOKSAFE uint32_t hash_sysv(const char *s)
{
	uint32_t h = 0;

	for (; *s; s++) {
		h = (h << 4) + (uint8_t)*s;
		uint32_t g = h & 0xf0000000u;
		h ^= g >> 24;
		h &= ~g;
	}
	return h;
}

/* Does one of the object's PT_LOAD segments hold addr? */
static HS_HOOKSAFE int holds(const struct dl_phdr_info *info, uintptr_t addr)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t s = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && addr >= s && addr < s + ph->p_memsz)
			return 1;
	}
	return 0;
}

/* An address from the dynamic section.  ld.so relocates the entries in
 * place, except in a read-only section (the vDSO's, glibc's
 * l_ld_readonly): an entry below the load bias is still relative. */
static HS_HOOKSAFE const void *dyn_ptr(const struct dl_phdr_info *info, ElfW(Addr) v)
{
	return (const void *)(v < info->dlpi_addr ? info->dlpi_addr + v : v);
}

/* Find the object's tables.  Return 0, or -1 if it has none to search. */
static HS_HOOKSAFE int tables_of(const struct dl_phdr_info *info, struct tables *t)
{
	const ElfW(Dyn) *d = NULL;

	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
			d = (const void *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
	memset(t, 0, sizeof(*t));
	for (; d && d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB:
			t->sym = dyn_ptr(info, d->d_un.d_ptr);
			break;
		case DT_STRTAB:
			t->str = dyn_ptr(info, d->d_un.d_ptr);
			break;
		case DT_GNU_HASH:
			t->gnu = dyn_ptr(info, d->d_un.d_ptr);
			break;
		case DT_HASH:
			t->sysv = dyn_ptr(info, d->d_un.d_ptr);
			break;
		case DT_VERSYM:
			t->versym = dyn_ptr(info, d->d_un.d_ptr);
			break;
		}
	}
	return t->sym && t->str && (t->gnu || t->sysv) ? 0 : -1;
}

/*
 * Is symbol i the definition of f->name that dlsym would return?  A
 * defined global or weak function whose version is not hidden.  Return its
 * address (an IFUNC's resolved target), or NULL.
 */
static HS_HOOKSAFE void *match(const struct dl_phdr_info *info, const struct tables *t, uint32_t i, struct find *f)
{
	const ElfW(Sym) *s = &t->sym[i];
	/* (the ELF32_ and ELF64_ forms of these are the same) */
	unsigned type = ELF64_ST_TYPE(s->st_info), bind = ELF64_ST_BIND(s->st_info);

	if (s->st_shndx == SHN_UNDEF || !s->st_value ||
	    (type != STT_FUNC && type != STT_GNU_IFUNC && !(f->data && type == STT_OBJECT)) ||
	    (bind != STB_GLOBAL && bind != STB_WEAK))
		return NULL;
	if (t->versym && ((t->versym[i] & VERSYM_HIDDEN) || !(t->versym[i] & VERSYM_INDEX)))
		return NULL;
	if (strcmp(t->str + s->st_name, f->name))
		return NULL;
	uintptr_t addr = info->dlpi_addr + s->st_value;
	f->size = s->st_size;
	if (type == STT_GNU_IFUNC) /* the resolver picks the implementation, as ld.so calls it */
		return ((void *(*)(unsigned long))addr)(getauxval(AT_HWCAP));
	return (void *)addr;
}

/* DT_GNU_HASH: nbuckets, symoffset, bloom words, bloom shift; the bloom
 * filter; the buckets; one chain word per symbol from symoffset, its low
 * bit marking the end of a bucket's run. */
static HS_HOOKSAFE void *lookup_gnu(const struct dl_phdr_info *info, const struct tables *t, struct find *f)
{
	const uint32_t *h = t->gnu;
	uint32_t nbuckets = h[0], symoffset = h[1], bloom_words = h[2];

	if (!nbuckets)
		return NULL;
	const uint32_t *buckets = (const uint32_t *)((const ElfW(Addr) *)(h + 4) + bloom_words);
	const uint32_t *chain = buckets + nbuckets;
	uint32_t i = buckets[f->gnu_hash % nbuckets];
	if (i < symoffset)
		return NULL;
	for (;; i++) {
		uint32_t c = chain[i - symoffset];
		if ((c | 1) == (f->gnu_hash | 1)) {
			void *p = match(info, t, i, f);
			if (p)
				return p;
		}
		if (c & 1)
			return NULL;
	}
}

/* DT_HASH: nbucket, nchain, the buckets, one chain link per symbol. */
static HS_HOOKSAFE void *lookup_sysv(const struct dl_phdr_info *info, const struct tables *t, struct find *f)
{
	const uint32_t *h = t->sysv;
	uint32_t nbucket = h[0], nchain = h[1];

	if (!nbucket)
		return NULL;
	const uint32_t *bucket = h + 2, *chain = bucket + nbucket;
	for (uint32_t i = bucket[f->sysv_hash % nbucket], n = 0; i != STN_UNDEF && i < nchain && n < nchain;
	     i = chain[i], n++) {
		void *p = match(info, t, i, f);
		if (p)
			return p;
	}
	return NULL;
}

static HS_HOOKSAFE int search_one(struct dl_phdr_info *info, size_t size, void *data)
{
	struct find *f = data;
	struct tables t;

	(void)size;
	if (f->after && !f->passed) {
		f->passed = holds(info, f->after);
		return 0;
	}
	/* The vDSO defines clock_gettime and friends for glibc's own use,
	 * and is in no search scope of dlsym. */
	if (holds(info, (uintptr_t)getauxval(AT_SYSINFO_EHDR)) || tables_of(info, &t))
		return 0;
	f->found = t.gnu ? lookup_gnu(info, &t, f) : lookup_sysv(info, &t, f);
	return f->found != NULL; /* the first definition wins */
}

static HS_HOOKSAFE void *search(const char *name, uintptr_t after, int data, size_t *size)
{
	struct find f = {name, hash_gnu(name), hash_sysv(name), after, 0, data, NULL, 0};

	dl_iterate_phdr(search_one, &f);
	if (size)
		*size = f.found ? f.size : 0;
	return f.found;
}

void *dynsym_symbol(const char *name, size_t *size)
{
	return search(name, 0, 1, size);
}

void *dynsym_next(const char *name)
{
#ifdef HS_ATTACH
	/* The attach shim is loaded last, by dlopen: the definition to forward
	 * to is the one the program's calls end in, the first in load order. */
	return search(name, 0, 0, NULL);
#else
	return search(name, (uintptr_t)dynsym_next, 0, NULL);
#endif
}

void *dynsym_any(const char *name)
{
	return search(name, 0, 0, NULL);
}

/* jemalloc's one dlsym call (background_thread.c: pthread_create, for
 * background threads, which nothing turns on since the program's
 * MALLOC_CONF no longer reaches the shim's jemalloc: backing.c), renamed
 * to this by src/shim/jemalloc.syms. */
void *hsje_dlsym(void *handle, const char *name);
void *hsje_dlsym(void *handle, const char *name)
{
	return handle == RTLD_NEXT ? dynsym_next(name) : dynsym_any(name);
}
