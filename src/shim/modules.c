/*
 * modules.c - module map capture with dl_iterate_phdr.
 */
#define _GNU_SOURCE
#include "shim/modules.h"

#include <elf.h>
#include <link.h>
#include <string.h>
#include <sys/mman.h>

#include "shim/backing.h"
#include "shim/clock.h"
#include "shim/ringfile.h"
#include "shim/stack.h"
#include "trace/ringfile.h"
#include "trace/encode.h"
#include "trace/format.h"
#include "util/assert.h"
#include "util/atomic.h"
#include "util/varint.h"

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

/* Captures made again when a module was unloaded during one. */
#define CAPTURE_TRIES 4

struct control_item *modules_capture(uint64_t ts, const char *exe)
{
	struct mbuf b = {0};
	struct capture_ctx c = {&b, exe, 0, 1};
	uint32_t epoch;

	/*
	 * The map belongs to the stack epoch it was taken in (stack.c: an
	 * unload that frees addresses starts a new one, after the library
	 * is gone).  Read after the walk, the epoch could already be the
	 * next one while the map still holds the library just unloaded: its
	 * entry would then span the epoch of whatever is loaded at its
	 * address next, and the stacks taken in that one would be read in
	 * the wrong library (stacks dlswap: libstacks_b.so's 500 mallocs
	 * shown in libstacks_a.so, once under load).  So the epoch is read
	 * before and after the walk, and a walk that an unload overlapped is
	 * made again.
	 */
	for (int tries = 1;; tries++) {
		epoch = stack_epoch();
		dl_iterate_phdr(capture_one, &c);
		if (b.oom || stack_epoch() == epoch || tries == CAPTURE_TRIES)
			break; /* (at the last try: the earlier epoch, when it began) */
		b.len = 0;
		c = (struct capture_ctx){&b, exe, 0, 1};
	}
	(void)modules_changed(); /* this map is the new reference */
	struct control_item *it = b.oom ? NULL : control_new(HST_REC_MODULES, ts, encode_modules_max(b.len));
	if (it) {
		it->len = (uint32_t)(encode_modules(it->body, ts, c.count, b.p, b.len) - it->body);
		it->epoch = epoch; /* the stacks taken with this map */
	}
	backing_ifree(b.p);
	return it;
}

/*
 * The modules the trace may need, written lazily.  Every module the
 * process has mapped since the trace began is kept here (one that is gone
 * too: a stack taken in its code may be written after its dlclose), and
 * written into the trace only when a record refers to it: a stack with a
 * frame in it (modules_want, before that STACK) or a scan root in it
 * that holds pointers (before the scan's end).  A process maps a dozen
 * modules or so, its shim's own among them (libunwind, the loader's
 * vdso), which no record names.  Only the collector touches the table
 * (its thread, or a scan while it is stopped): the dlclose wrapper hands
 * its capture over as a control item (modules_absorb).
 */
/* MODULES segments of the ring file at most (each holds a few hundred
 * modules; past them, the copies stop). */
#define MODULES_SEGS_MAX 64

struct mod_entry {
	uint64_t lo, hi;  /* span of its PT_LOAD segments, as the analyzer's */
	uint8_t *enc;	  /* its encoding in a MODULES body (private arena) */
	uint32_t len;	  /* bytes of enc */
	uint32_t seen;	  /* the refresh that last saw it mapped */
	uint32_t ep_lo, ep_hi; /* the stack epochs it was seen mapped in */
	uint32_t written; /* in the trace: mt.writes when it last was, else 0 */
	uint8_t wanted;	  /* to be written by the next modules_emit */
	uint8_t in_rings; /* in the ring file's MODULES segment */
};

static struct {
	struct mod_entry *e; /* by first sight */
	uint32_t n, cap;     /* entries used, allocated */
	uint32_t refresh;    /* refreshes so far */
	uint32_t nwanted;    /* entries with wanted set */
	uint32_t writes;     /* modules written into the trace */
	const char *exe;     /* the main program's path, at the last refresh */
	uint64_t hit_lo, hit_hi; /* a written module's span: the last hit */
	struct ringfile_stacks *seg; /* the ring file's MODULES segment */
	char *seg_next, *seg_end;    /* its free room */
	struct ringfile_stacks *segs[MODULES_SEGS_MAX]; /* all of them */
	uint32_t nsegs;
} mt;

/* Bytes of a MODULES segment: a process's modules, a few hundred bytes
 * each (another segment when they do not fit). */
#define MODULES_SEG_BYTES (64u * 1024)

/*
 * Copy entry e into the ring file as a MODULES record of its own: the
 * trace writes modules lazily, and a crash must not lose the map (a
 * reader recovers it from there with the stacks, src/trace/recover.c).
 * Each module once; the file is gone at a clean end.
 */
static void ring_append(struct mod_entry *e, uint64_t ts)
{
	size_t body = encode_modules_max(e->len);
	size_t bytes = (sizeof(struct ringfile_pycode_entry) + body + 7) & ~(size_t)7;

	if (body > UINT16_MAX || bytes > MODULES_SEG_BYTES - RINGFILE_STACKS_DATA_OFFSET)
		return; /* cannot be (a path is shorter than PATH_MAX) */
	if ((size_t)(mt.seg_end - mt.seg_next) < bytes) {
		struct ringfile_stacks *s =
			mt.nsegs < MODULES_SEGS_MAX ? ringfile_map(RINGFILE_SEG_MODULES, MODULES_SEG_BYTES) : NULL;
		if (!s)
			return; /* no ring file, or no room in it: no copy */
		mt.segs[mt.nsegs++] = s;
		mt.seg = s;
		mt.seg_next = (char *)s + RINGFILE_STACKS_DATA_OFFSET;
		mt.seg_end = (char *)s + s->seg.bytes;
	}
	struct ringfile_pycode_entry *r = (void *)mt.seg_next;
	mt.seg_next += bytes;
	/* release: a reader of the file sees used cover a reserved entry */
	atomic_store_rel(&mt.seg->used, (uint64_t)(mt.seg_next - (char *)mt.seg) - RINGFILE_STACKS_DATA_OFFSET);
	r->id = 0;
	r->len = (uint16_t)(encode_modules(r->body, ts, 1, e->enc, e->len) - r->body);
	/* release: the record is whole before a reader of the file sees ready */
	atomic_store_rel(&r->ready, 1);
	e->in_rings = 1;
}

/* Walk one module encoding at [*pp, end): its span and its end.  Return
 * 0, or -1 when it is not one (the capture is the shim's own: never). */
static int mod_parse(const uint8_t **pp, const uint8_t *end, uint64_t *lo, uint64_t *hi)
{
	uint64_t n, bias, nseg, vaddr, memsz, flags;
	const uint8_t *p = *pp;

	for (int i = 0; i < 2; i++) { /* path, build-id */
		if (varint_get(&p, end, &n) || n > (uint64_t)(end - p))
			return -1;
		p += n;
	}
	if (varint_get(&p, end, &bias) || varint_get(&p, end, &nseg))
		return -1;
	*lo = UINT64_MAX;
	*hi = 0;
	for (uint64_t i = 0; i < nseg; i++) {
		if (varint_get(&p, end, &vaddr) || varint_get(&p, end, &memsz) || varint_get(&p, end, &flags))
			return -1;
		*lo = bias + vaddr < *lo ? bias + vaddr : *lo;
		*hi = bias + vaddr + memsz > *hi ? bias + vaddr + memsz : *hi;
	}
	*pp = p;
	return 0;
}

/* The entry encoded as enc[0..len), added if new (first seen in epoch
 * ep).  NULL: no memory. */
static struct mod_entry *mod_find_or_add(const uint8_t *enc, uint32_t len, uint64_t lo, uint64_t hi, uint32_t ep)
{
	for (uint32_t i = 0; i < mt.n; i++)
		if (mt.e[i].len == len && mt.e[i].lo == lo && !memcmp(mt.e[i].enc, enc, len))
			return &mt.e[i];
	if (mt.n == mt.cap) {
		uint32_t cap = mt.cap ? mt.cap * 2 : 32;
		struct mod_entry *e = backing_irealloc(mt.e, cap * sizeof(*e));
		if (!e)
			return NULL;
		mt.e = e;
		mt.cap = cap;
	}
	uint8_t *copy = backing_ialloc(len);
	if (!copy)
		return NULL;
	memcpy(copy, enc, len);
	mt.e[mt.n] = (struct mod_entry){.lo = lo, .hi = hi, .enc = copy, .len = len, .ep_lo = ep, .ep_hi = ep};
	return &mt.e[mt.n++];
}

void modules_absorb(const uint8_t *rec, size_t len, int whole, uint32_t epoch)
{
	const uint8_t *p = rec + 1, *end = rec + len;
	uint64_t body, ts, count, lo, hi;

	HS_ASSERT(len && rec[0] == HST_REC_MODULES);
	if (varint_get(&p, end, &body) || varint_get(&p, end, &ts) || varint_get(&p, end, &count))
		return;
	if (whole)
		mt.refresh++;
	mt.hit_lo = mt.hit_hi = 0; /* another module may be mapped there now */
	for (uint64_t i = 0; i < count; i++) {
		const uint8_t *m = p;
		if (mod_parse(&p, end, &lo, &hi))
			break;
		struct mod_entry *e = lo < hi ? mod_find_or_add(m, (uint32_t)(p - m), lo, hi, epoch) : NULL;
		if (!e)
			continue;
		e->seen = mt.refresh;
		/* mapped again after it was gone (loaded again): from now on */
		if (epoch > e->ep_hi + 1)
			e->ep_lo = epoch;
		e->ep_hi = epoch > e->ep_hi ? epoch : e->ep_hi;
	}
	for (uint32_t i = 0; i < mt.n; i++)
		if (!mt.e[i].in_rings)
			ring_append(&mt.e[i], ts);
}

void modules_refresh(uint64_t ts, const char *exe)
{
	mt.exe = exe;
	struct control_item *it = modules_capture(ts, exe);

	if (!it)
		return; /* no memory: the table stays as it was */
	modules_absorb(it->body, it->len, 1, it->epoch);
	control_free(it);
}

/* The entry to write for address a in a record of stack epoch ep, or
 * NULL: none holds it, or the one that does is the last written there (a
 * reader takes a stack's frames to be in the last module written at
 * their address before it: after a dlclose and another library loaded at
 * its place, that one is written, and the first again for a stack of its
 * time).  The one mapped in epoch ep; else the one mapped last.  *in: the
 * entry was mapped in epoch ep. */
static struct mod_entry *mod_for(uint64_t a, uint32_t ep, int *in)
{
	struct mod_entry *best = NULL;
	uint32_t last = 0;

	*in = 0;
	for (uint32_t i = 0; i < mt.n; i++) {
		struct mod_entry *e = &mt.e[i];
		if (a < e->lo || a >= e->hi)
			continue;
		last = e->written > last ? e->written : last;
		int e_in = e->ep_lo <= ep && ep <= e->ep_hi;
		if (!best || e_in > *in || (e_in == *in && e->seen > best->seen)) {
			best = e;
			*in = e_in;
		}
	}
	if (best && best->written && best->written == last) {
		if (ep == stack_epoch()) { /* the hit cache is for this epoch's records */
			mt.hit_lo = best->lo;
			mt.hit_hi = best->hi;
		}
		return NULL;
	}
	return best;
}

/* Set while a scan holds the program's threads stopped (under the
 * collector's cycle lock, as every caller of modules_changed). */
static int world_stopped;

/* Addresses of stacks written while the world was stopped that were in
 * no module the table knew: looked up again after the scan
 * (modules_want_missed).  Past MISSED_MAX, a frame may go unnamed. */
#define MISSED_MAX 256
static struct missed {
	uint64_t a;
	uint32_t ep;
} missed[MISSED_MAX];
static unsigned nmissed;

static void want(struct mod_entry *e)
{
	if (e && !e->wanted) {
		e->wanted = 1;
		mt.nwanted++;
	}
}

void modules_want(uint64_t a)
{
	int in;

	if (a >= mt.hit_lo && a < mt.hit_hi)
		return;
	want(mod_for(a, stack_epoch(), &in));
}

/* a of a stack of epoch ep.  A library loaded since the table was last
 * refreshed (the collector's cycle) is not in it yet: the map is taken
 * again, once, when a is in no module of its epoch and the loader says
 * objects came or went. */
static void want_at(uint64_t a, uint32_t ep)
{
	int in;
	struct mod_entry *e = mod_for(a, ep, &in);

	if (!in && ep == stack_epoch() && world_stopped) {
		/* the map cannot be taken now: after the scan */
		if (nmissed < MISSED_MAX)
			missed[nmissed++] = (struct missed){a, ep};
	} else if (!in && ep == stack_epoch() && modules_changed()) {
		modules_refresh(clock_now_ns(), mt.exe);
		e = mod_for(a, ep, &in);
	}
	want(e);
}

void modules_want_missed(void)
{
	int in;

	if (!nmissed || world_stopped)
		return;
	if (modules_changed())
		modules_refresh(clock_now_ns(), mt.exe);
	for (unsigned i = 0; i < nmissed; i++)
		want(mod_for(missed[i].a, missed[i].ep, &in));
	nmissed = 0;
}

void modules_want_ip(uint64_t ip, uint32_t ep)
{
	/* a return address: the call is the byte before it (the innermost
	 * frame's may be the instruction itself) */
	if (ip - 1 >= mt.hit_lo && ip < mt.hit_hi && ep == stack_epoch())
		return;
	want_at(ip - 1, ep);
	want_at(ip, ep);
}

int modules_pending(void)
{
	return mt.nwanted != 0;
}

void modules_emit(struct trace_writer *w, size_t at, uint64_t ts)
{
	uint8_t head[ENCODE_HEAD + 2 * ENCODE_V];
	size_t blen = 0;

	if (!mt.nwanted)
		return;
	for (uint32_t i = 0; i < mt.n; i++)
		blen += mt.e[i].wanted ? mt.e[i].len : 0;
	/* Built in place, no other buffer: a scan calls this with the world
	 * stopped, where a stopped thread may hold an allocator's lock. */
	size_t hlen = (size_t)(encode_modules(head, ts, mt.nwanted, NULL, 0) - head), n = hlen + blen;
	if (!writer_room(w, n))
		return; /* no memory: they stay wanted, for the next record that names them */
	HS_ASSERT(at <= w->len);
	uint8_t *rec = w->buf + at, *q = rec + hlen;
	memmove(rec + n, rec, w->len - at);
	memcpy(rec, head, hlen);
	for (uint32_t i = 0; i < mt.n; i++)
		if (mt.e[i].wanted) {
			memcpy(q, mt.e[i].enc, mt.e[i].len);
			q += mt.e[i].len;
			mt.e[i].wanted = 0;
			mt.e[i].written = ++mt.writes;
		}
	encode_close(rec, q); /* the length of the whole body */
	w->len += n;
	mt.nwanted = 0;
	mt.hit_lo = mt.hit_hi = 0; /* the last written at an address may have changed */
}

void modules_forget(void)
{
	for (uint32_t i = 0; i < mt.n; i++)
		mt.e[i].written = mt.e[i].wanted = mt.e[i].in_rings = 0;
	mt.nwanted = mt.writes = 0;
	mt.hit_lo = mt.hit_hi = 0;
	/* the old ring file's segments (a forked child's parent's, or a
	 * detached session's): a new trace copies the modules into its own
	 * at its first refresh */
	for (uint32_t i = 0; i < mt.nsegs; i++)
		munmap(mt.segs[i], mt.segs[i]->seg.bytes);
	mt.nsegs = 0;
	mt.seg = NULL;
	mt.seg_next = mt.seg_end = NULL;
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

unsigned long long modules_unloads(void)
{
	unsigned long long now[2] = {0, 0};

	dl_iterate_phdr(counters, now);
	return now[1];
}


void modules_world_stopped(int stopped)
{
	world_stopped = stopped;
}

int modules_changed(void)
{
	unsigned long long now[2] = {0, 0};

	/* A stopped thread may be inside dlopen or dlclose, holding the
	 * loader's lock, which dl_iterate_phdr takes: asking now would wait
	 * for good.  The change is seen at the first cycle after the scan. */
	if (world_stopped)
		return 0;
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
