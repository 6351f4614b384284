/*
 * trace_fixture.c - traces for the tests, from the real encoder.
 */
#define _GNU_SOURCE
#include "trace_fixture.h"

#include <check.h>
#include <elf.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FX_TICK 10000 /* ns per time tick of the events written here */

/* dl_iterate_phdr callback: the first object is the program. */
static int find_self(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct fx_self *self = arg;

	(void)size;
	self->bias = info->dlpi_addr;
	self->lo = UINT64_MAX;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD) {
			if (self->nseg < (int)(sizeof(self->seg) / sizeof(self->seg[0])))
				self->seg[self->nseg++] = (struct fx_segment){ph->p_vaddr, ph->p_memsz, ph->p_offset,
									       ph->p_flags};
			if (ph->p_vaddr < self->lo)
				self->lo = ph->p_vaddr;
			if (ph->p_vaddr + ph->p_memsz > self->hi)
				self->hi = ph->p_vaddr + ph->p_memsz;
		}
		if (ph->p_type != PT_NOTE)
			continue;
		const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
			const uint8_t *desc = p + sizeof(*nh) + ((nh->n_namesz + 3) & ~3u);
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && !memcmp(p + sizeof(*nh), "GNU", 4) &&
			    nh->n_descsz <= sizeof(self->bid)) {
				memcpy(self->bid, desc, nh->n_descsz);
				self->bid_len = nh->n_descsz;
			}
			p = desc + ((nh->n_descsz + 3) & ~3u);
		}
	}
	return 1;
}

void fx_self(struct fx_self *self)
{
	memset(self, 0, sizeof(*self));
	ssize_t n = readlink("/proc/self/exe", self->path, sizeof(self->path) - 1);
	ck_assert_int_gt(n, 0);
	self->path[n] = 0;
	dl_iterate_phdr(find_self, self);
	ck_assert_uint_gt(self->bid_len, 0);
}

uint64_t fx_ret(void *f, uint64_t shift)
{
	/* inside the function even when it is one tail call long */
	return (uint64_t)(uintptr_t)f + 2 + shift;
}

void fx_module_self(struct fx *f, const struct fx_self *self, uint64_t shift)
{
	fx_module(f, self->path, self->bid, self->bid_len, self->bias + shift, self->lo, self->hi - self->lo);
}

/* Room for a record of at most n bytes. */
static uint8_t *room(struct fx *f, size_t n)
{
	uint8_t *p = writer_room(&f->w, n);

	ck_assert_ptr_nonnull(p);
	return p;
}

/* Take in the record written from p to end, within its bound max. */
static void put(struct fx *f, uint8_t *p, uint8_t *end, size_t max)
{
	ck_assert_uint_le((size_t)(end - p), max);
	writer_advance(&f->w, end);
}

/* Write the pending events: every other record follows them. */
static void flush_events(struct fx *f)
{
	if (!f->ev.count)
		return;
	size_t max = encode_events_max(&f->ev);
	uint8_t *p = room(f, max);
	put(f, p, encode_events(p, &f->ev), max);
}

void fx_open(struct fx *f, const char *path, uint32_t pid)
{
	memset(f, 0, sizeof(*f));
	f->ev.tick = FX_TICK;
	f->pid = pid;
	writer_init(&f->w, 1, malloc, realloc, free);
	ck_assert_int_eq(writer_create(&f->w, path, "prog", pid, 1, 42, 1700000000000000000ull, FX_T0, f->path,
				       sizeof(f->path)),
			 0);
}

void fx_process(struct fx *f, const char *exe)
{
	char cmdline[PATH_MAX + 4];
	size_t n = strlen(exe);

	memcpy(cmdline, exe, n + 1);
	memcpy(cmdline + n + 1, "-x", 2);
	struct encode_process pr = {f->pid, 1, exe, n, cmdline, n + 3, "", 0, "jemalloc", 8, 64};
	flush_events(f);
	size_t max = encode_process_max(&pr);
	uint8_t *p = room(f, max);
	put(f, p, encode_process(p, &pr), max);
}

void fx_module(struct fx *f, const char *path, const uint8_t *bid, size_t bid_len, uint64_t bias, uint64_t vaddr,
	       uint64_t memsz)
{
	uint8_t body[PATH_MAX + 256];

	ck_assert_uint_le(encode_module_max(strlen(path), bid_len) + ENCODE_SEGMENT_MAX, sizeof(body));
	uint8_t *e = encode_module(body, path, strlen(path), bid, bid_len, bias, 1);
	e = encode_segment(e, vaddr, memsz, 5 /* PF_R | PF_X */);
	flush_events(f);
	size_t max = encode_modules_max((size_t)(e - body));
	uint8_t *p = room(f, max);
	put(f, p, encode_modules(p, FX_T0, 1, body, (size_t)(e - body)), max);
}

void fx_module_segments(struct fx *f, const char *path, const uint8_t *bid, size_t bid_len, uint64_t bias,
			const struct fx_segment *seg, int n)
{
	uint8_t body[PATH_MAX + 1024];

	ck_assert_uint_le(encode_module_max(strlen(path), bid_len) + (size_t)n * ENCODE_SEGMENT_MAX, sizeof(body));
	uint8_t *e = encode_module(body, path, strlen(path), bid, bid_len, bias, (unsigned)n);
	for (int i = 0; i < n; i++)
		e = encode_segment(e, seg[i].vaddr, seg[i].memsz, seg[i].flags);
	flush_events(f);
	size_t max = encode_modules_max((size_t)(e - body));
	uint8_t *p = room(f, max);
	put(f, p, encode_modules(p, FX_T0, 1, body, (size_t)(e - body)), max);
}

void fx_stack(struct fx *f, uint32_t id, uint32_t depth, const uint64_t *ips)
{
	flush_events(f);
	size_t max = encode_stack_max(depth);
	uint8_t *p = room(f, max);
	put(f, p, encode_stack(p, id, depth, 0, 0, ips), max);
}

void fx_allocinfo(struct fx *f, uint32_t id, uint64_t size, uint32_t stack)
{
	flush_events(f);
	uint8_t *p = room(f, ENCODE_ALLOCINFO_MAX);
	put(f, p, encode_allocinfo(p, id, size, stack), ENCODE_ALLOCINFO_MAX);
}

void fx_event(struct fx *f, uint64_t ts, uint32_t thread, uint8_t kind, uint32_t a, uint32_t b)
{
	for (int i = 0; i < ENCODE_EVENT_COLS; i++) {
		struct encode_column *c = &f->ev.col[i];
		if (c->cap - c->len < ENCODE_EVENT_COL_MAX) {
			c->cap = c->cap ? c->cap * 2 : 256;
			c->p = realloc(c->p, c->cap);
			ck_assert_ptr_nonnull(c->p);
		}
	}
	encode_event(&f->ev, ts, thread, kind, a, b);
}

void fx_snapshot(struct fx *f, uint64_t ts, uint32_t index, int trigger, const char *label)
{
	flush_events(f);
	size_t max = encode_snapshot_max(strlen(label));
	uint8_t *p = room(f, max);
	put(f, p, encode_snapshot(p, ts, index, trigger, label, strlen(label)), max);
}

void fx_scan(struct fx *f, uint64_t ts, uint64_t nblocks)
{
	flush_events(f);
	memset(&f->blocks, 0, sizeof(f->blocks));
	uint8_t *p = room(f, ENCODE_SCAN_MAX);
	put(f, p, encode_scan(p, ts, HST_SCAN_EXIT, nblocks, 0, 1, 0), ENCODE_SCAN_MAX);
}

void fx_blocks(struct fx *f, size_t n, const uint64_t *addr, const uint32_t *info, const uint32_t *seq)
{
	size_t max = encode_scan_blocks_max(n);
	uint8_t *p = room(f, max), *e = encode_scan_blocks_begin(p, n);
	for (size_t i = 0; i < n; i++)
		e = encode_scan_block(e, &f->blocks, addr[i], info[i], seq[i]);
	put(f, p, encode_close(p, e), max);
}

void fx_root(struct fx *f, uint32_t index, int kind, uint64_t addr, uint64_t bytes, const char *name)
{
	size_t max = encode_scan_root_max(strlen(name));
	uint8_t *p = room(f, max);
	put(f, p, encode_scan_root(p, index, kind, 0, addr, bytes, name, strlen(name), 0), max);
}

void fx_edges(struct fx *f, int from_root, uint64_t src, size_t n, const uint64_t *offset, const uint64_t *target,
	      const int *interior)
{
	struct encode_edges s;
	size_t max = encode_scan_edges_max(n);
	uint8_t *p = room(f, max), *e = encode_scan_edges_begin(p, &s, from_root, src, n);
	for (size_t i = 0; i < n; i++)
		e = encode_scan_edge(e, &s, offset[i], target[i], interior ? interior[i] : 0);
	put(f, p, encode_close(p, e), max);
}

void fx_scan_end(struct fx *f, uint64_t edges, uint64_t ts)
{
	uint8_t *p = room(f, ENCODE_SCAN_END_MAX);
	put(f, p, encode_scan_end(p, edges, 4096, ts, 0), ENCODE_SCAN_END_MAX);
}

void fx_end(struct fx *f, uint64_t ts, int64_t status)
{
	flush_events(f);
	uint8_t *p = room(f, ENCODE_END_MAX);
	put(f, p, encode_end(p, ts, HST_END_EXIT, status, 0, 0), ENCODE_END_MAX);
}

void fx_close(struct fx *f)
{
	flush_events(f);
	ck_assert_int_eq(writer_close(&f->w), 0);
	for (int i = 0; i < ENCODE_EVENT_COLS; i++)
		free(f->ev.col[i].p);
}
