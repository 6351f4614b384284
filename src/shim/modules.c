/*
 * modules.c - module map capture with dl_iterate_phdr.
 */
#define _GNU_SOURCE
#include "shim/modules.h"

#include <elf.h>
#include <link.h>
#include <string.h>

#include "shim/backing.h"
#include "trace/encode.h"
#include "trace/format.h"

/* The modules' encodings, in a growable buffer on the private arena. */
struct mbuf {
	uint8_t *p; /* storage */
	size_t len; /* bytes used */
	size_t cap; /* bytes allocated */
	int oom;    /* an append failed */
};

/* Return room for n more bytes, or NULL (and oom set). */
static uint8_t *mb_room(struct mbuf *b, size_t n)
{
	if (b->oom)
		return NULL;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *q = backing_irealloc(b->p, cap);
		if (!q) {
			b->oom = 1;
			return NULL;
		}
		b->p = q;
		b->cap = cap;
	}
	return b->p + b->len;
}

/* The caller wrote up to end, inside room from mb_room. */
static void mb_advance(struct mbuf *b, uint8_t *end)
{
	b->len = (size_t)(end - b->p);
}

/* Find the GNU build-id note of a loaded object; return its length. */
static size_t build_id(const struct dl_phdr_info *info, const uint8_t **out)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
		const uint8_t *end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const void *)p;
			const uint8_t *name = p + sizeof(*nh);
			const uint8_t *desc = name + ((nh->n_namesz + 3) & ~3u);
			if (desc + nh->n_descsz > end)
				break;
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && !memcmp(name, "GNU", 4)) {
				*out = desc;
				return nh->n_descsz;
			}
			p = desc + ((nh->n_descsz + 3) & ~3u);
		}
	}
	return 0;
}

struct capture_ctx {
	struct mbuf *b;	 /* record body being built */
	const char *exe; /* the main program's path */
	uint64_t count;	 /* modules written */
	int first;	 /* the next object is the main program */
};

static int capture_one(struct dl_phdr_info *info, size_t size, void *data)
{
	struct capture_ctx *c = data;
	const char *path = info->dlpi_name;
	const uint8_t *bid = NULL;
	unsigned nseg = 0;

	(void)size;
	if (c->first || !path || !*path)
		path = c->first ? c->exe : "[unnamed]";
	c->first = 0;
	size_t bid_len = build_id(info, &bid), path_len = strlen(path);
	for (int i = 0; i < info->dlpi_phnum; i++)
		nseg += info->dlpi_phdr[i].p_type == PT_LOAD;
	uint8_t *p = mb_room(c->b, encode_module_max(path_len, bid_len) + nseg * ENCODE_SEGMENT_MAX);
	if (!p)
		return 1; /* no memory: stop, the capture fails */
	p = encode_module(p, path, path_len, bid, bid_len, info->dlpi_addr, nseg);
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD)
			p = encode_segment(p, ph->p_vaddr, ph->p_memsz, ph->p_flags);
	}
	mb_advance(c->b, p);
	c->count++;
	return 0;
}

struct control_item *modules_capture(uint64_t ts, const char *exe)
{
	struct mbuf b = {0};
	struct capture_ctx c = {&b, exe, 0, 1};

	dl_iterate_phdr(capture_one, &c);
	(void)modules_changed(); /* this map is the new reference */
	struct control_item *it = b.oom ? NULL : control_new(HST_REC_MODULES, ts, encode_modules_max(b.len));
	if (it)
		it->len = (uint32_t)(encode_modules(it->body, ts, c.count, b.p, b.len) - it->body);
	backing_ifree(b.p);
	return it;
}

static unsigned long long seen_adds, seen_subs;

static int counters(struct dl_phdr_info *info, size_t size, void *data)
{
	unsigned long long *out = data;

	(void)size;
	out[0] = info->dlpi_adds;
	out[1] = info->dlpi_subs;
	return 1; /* the counters are the same in every entry: stop */
}

int modules_changed(void)
{
	unsigned long long now[2] = {0, 0};

	dl_iterate_phdr(counters, now);
	int changed = now[0] != seen_adds || now[1] != seen_subs;
	seen_adds = now[0];
	seen_subs = now[1];
	return changed;
}

struct text_ctx {
	uintptr_t addr;	  /* address to find */
	uintptr_t lo, hi; /* result */
	int found;	  /* 1 once found */
};

static HS_HOOKSAFE int text_one(struct dl_phdr_info *info, size_t size, void *data)
{
	struct text_ctx *t = data;
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	int mine = 0;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uintptr_t s = info->dlpi_addr + ph->p_vaddr, e = s + ph->p_memsz;
		if (t->addr >= s && t->addr < e)
			mine = 1;
		if (ph->p_flags & PF_X) {
			lo = s < lo ? s : lo;
			hi = e > hi ? e : hi;
		}
	}
	if (!mine)
		return 0;
	t->lo = lo;
	t->hi = hi;
	t->found = 1;
	return 1;
}

int modules_text_of(const void *addr, uintptr_t *lo, uintptr_t *hi)
{
	struct text_ctx t = {(uintptr_t)addr, 0, 0, 0};

	dl_iterate_phdr(text_one, &t);
	if (!t.found)
		return -1;
	*lo = t.lo;
	*hi = t.hi;
	return 0;
}
