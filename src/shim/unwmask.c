/*
 * unwmask.c - libunwind's signal masking, once per full unwind (unwmask.h
 * says why).
 * HOOK-SAFE (unwmask_begin, unwmask_end).
 */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include "shim/unwmask.h"

#include <elf.h>
#include <libunwind.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "util/assert.h"
#include "util/atomic.h"
#include "util/compiler.h"
#include "util/hooksafe.h"

#define PAGE 4096ul

static _Atomic int redirected; /* unwmask_init found and wrote the slot */
static HS_TLS int quiet;	/* inside unwmask_begin/end: signals blocked */

/* What libunwind's sigprocmask slot now holds.  Inside unwmask_begin /
 * unwmask_end every signal is blocked already, and libunwind only ever
 * blocks them all and then restores the mask it was given back: nothing
 * to do, and a full mask as the old one.  Elsewhere (libunwind called by
 * the program, or by the shim without stack_verify) it is sigprocmask. */
static int masked_sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	if (quiet) {
		if (old)
			sigfillset(old);
		return 0;
	}
	return sigprocmask(how, set, old);
}

int unwmask_begin(sigset_t *saved)
{
	sigset_t all;

	/* relaxed: only whether the slot was written; a thread that reads 0
	 * leaves the masking to libunwind, which is correct too */
	if (!atomic_load_rlx(&redirected))
		return 0;
	HS_ASSERT(!quiet);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, saved);
	quiet = 1; /* after the block: no handler on this thread sees it set */
	return 1;
}

void unwmask_end(const sigset_t *saved)
{
	HS_ASSERT(quiet);
	quiet = 0;
	pthread_sigmask(SIG_SETMASK, saved, NULL);
}

/* ---- finding the slot ---------------------------------------------------------- */

struct find {
	uintptr_t code;	 /* an address in libunwind's code (unw_step) */
	uintptr_t slot;	 /* the sigprocmask slot found, or 0 */
	uintptr_t relro_lo, relro_hi; /* that object's RELRO, pages */
};

/* A d_ptr of the dynamic section: ld.so relocates them in place, except in
 * objects whose dynamic section is read-only. */
static uintptr_t dyn_ptr(uintptr_t base, uintptr_t v)
{
	return v < base ? v + base : v;
}

/* The JUMP_SLOT or GLOB_DAT relocation of sigprocmask among rel[0..n): its
 * slot, or 0. */
static uintptr_t slot_of(uintptr_t base, const ElfW(Rela) *rel, size_t n, const ElfW(Sym) *symtab,
			 const char *strtab)
{
	for (size_t i = 0; rel && i < n; i++) {
		unsigned type = (unsigned)ELF64_R_TYPE(rel[i].r_info);
		if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT)
			continue;
		if (!strcmp(strtab + symtab[ELF64_R_SYM(rel[i].r_info)].st_name, "sigprocmask"))
			return base + rel[i].r_offset;
	}
	return 0;
}

/* dl_iterate_phdr's callback: in the object whose code holds f->code,
 * find the slot.  Return 1 (stop) at that object. */
static int find_slot(struct dl_phdr_info *info, size_t size, void *data)
{
	struct find *f = data;
	const ElfW(Dyn) *dyn = NULL;
	uintptr_t relro_lo = 0, relro_hi = 0;
	int mine = 0;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t s = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && f->code >= s && f->code < s + ph->p_memsz)
			mine = 1;
		else if (ph->p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *)s;
		else if (ph->p_type == PT_GNU_RELRO) {
			/* as glibc's _dl_protect_relro rounds it */
			relro_lo = s & ~(PAGE - 1);
			relro_hi = (s + ph->p_memsz) & ~(PAGE - 1);
		}
	}
	if (!mine)
		return 0;
	f->relro_lo = relro_lo;
	f->relro_hi = relro_hi;
	const ElfW(Sym) *symtab = NULL;
	const char *strtab = NULL;
	const ElfW(Rela) *jmprel = NULL, *rela = NULL;
	size_t pltsz = 0, relasz = 0;
	for (const ElfW(Dyn) *d = dyn; d && d->d_tag != DT_NULL; d++) {
		uintptr_t p = dyn_ptr(info->dlpi_addr, d->d_un.d_ptr);
		switch (d->d_tag) {
		case DT_SYMTAB: symtab = (const ElfW(Sym) *)p; break;
		case DT_STRTAB: strtab = (const char *)p; break;
		case DT_JMPREL: jmprel = (const ElfW(Rela) *)p; break;
		case DT_PLTRELSZ: pltsz = d->d_un.d_val; break;
		case DT_RELA: rela = (const ElfW(Rela) *)p; break;
		case DT_RELASZ: relasz = d->d_un.d_val; break;
		}
	}
	if (symtab && strtab) {
		f->slot = slot_of(info->dlpi_addr, jmprel, pltsz / sizeof(ElfW(Rela)), symtab, strtab);
		if (!f->slot)
			f->slot = slot_of(info->dlpi_addr, rela, relasz / sizeof(ElfW(Rela)), symtab, strtab);
	}
	return 1;
}

int unwmask_init(void)
{
	struct find f = {(uintptr_t)unw_step, 0, 0, 0};

	dl_iterate_phdr(find_slot, &f);
	if (!f.slot)
		return -1;
	/* libunwind is relocated (a dependency of the shim, or loaded before
	 * the attach shim's init): its RELRO, if the slot is there (a
	 * libunwind linked with -z now; Debian's is not), is read-only for
	 * good */
	int ro = f.slot >= f.relro_lo && f.slot < f.relro_hi;
	void *page = (void *)(f.slot & ~(PAGE - 1));
	if (ro && mprotect(page, PAGE, PROT_READ | PROT_WRITE))
		return -1;
	/* relaxed: the function needs nothing written before it; one aligned
	 * store, so another thread that calls through the slot meanwhile
	 * finds sigprocmask or the function above, never half of each */
	__atomic_store_n((uintptr_t *)f.slot, (uintptr_t)masked_sigprocmask, __ATOMIC_RELAXED);
	if (ro)
		mprotect(page, PAGE, PROT_READ);
	/* relaxed: unwmask_begin needs no other write of this thread's */
	atomic_store_rlx(&redirected, 1);
	return 0;
}
