/*
 * modules.c - module map capture with dl_iterate_phdr.
 */
#define _GNU_SOURCE
#include "shim/modules.h"

#include <elf.h>
#include <link.h>
#include <string.h>

#include "shim/backing.h"
#include "trace/format.h"
#include "util/varint.h"

/* A growable byte buffer on the private arena. */
struct mbuf {
	uint8_t *p; /* storage */
	size_t len; /* bytes used */
	size_t cap; /* bytes allocated */
	int oom;    /* an append failed */
};

static void mb_room(struct mbuf *b, size_t n)
{
	if (b->oom || b->len + n <= b->cap)
		return;
	size_t cap = b->cap ? b->cap * 2 : 4096;
	while (cap < b->len + n)
		cap *= 2;
	uint8_t *q = backing_irealloc(b->p, cap);
	if (!q) {
		b->oom = 1;
		return;
	}
	b->p = q;
	b->cap = cap;
}

static void mb_v(struct mbuf *b, uint64_t v)
{
	mb_room(b, VARINT_MAX);
	if (!b->oom)
		b->len = (size_t)(varint_put(b->p + b->len, v) - b->p);
}

static void mb_s(struct mbuf *b, const void *s, size_t n)
{
	mb_v(b, n);
	mb_room(b, n);
	if (!b->oom) {
		memcpy(b->p + b->len, s, n);
		b->len += n;
	}
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
	size_t bid_len = build_id(info, &bid);
	mb_s(c->b, path, strlen(path));
	mb_s(c->b, bid, bid_len);
	mb_v(c->b, info->dlpi_addr);
	for (int i = 0; i < info->dlpi_phnum; i++)
		nseg += info->dlpi_phdr[i].p_type == PT_LOAD;
	mb_v(c->b, nseg);
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		mb_v(c->b, ph->p_vaddr);
		mb_v(c->b, ph->p_memsz);
		mb_v(c->b, ph->p_flags);
	}
	c->count++;
	return 0;
}

struct control_item *modules_capture(uint64_t ts, const char *exe)
{
	struct mbuf b = {0};
	struct capture_ctx c = {&b, exe, 0, 1};

	dl_iterate_phdr(capture_one, &c);
	(void)modules_changed(); /* this map is the new reference */
	struct control_item *it = b.oom ? NULL : control_new(HST_REC_MODULES, ts, b.len + 2 * VARINT_MAX);
	if (it) {
		uint8_t *p = varint_put(it->body, ts);
		p = varint_put(p, c.count);
		memcpy(p, b.p, b.len);
		it->len = (uint32_t)(p + b.len - it->body);
	}
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

static int text_one(struct dl_phdr_info *info, size_t size, void *data)
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
