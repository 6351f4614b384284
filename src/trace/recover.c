/*
 * recover.c - read the events, threads and stacks of a dead process's ring
 * file (trace/ringfile.h) that its trace's chunks do not hold.
 *
 * The file is mapped read-only and private: its writer is gone, and
 * nothing in it is trusted (every segment and entry is bounds-checked
 * against the mapping).
 */
#define _GNU_SOURCE
#include "trace/recover.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "trace/encode.h"
#include "trace/format.h"
#include "trace/ringfile.h"
#include "util/atomic.h"
#include "util/crc32c.h"
#include "util/hashmap.h"

/* Events of one ring still to give: positions [pos, end). */
struct rcursor {
	const struct ringfile_ring *ring; /* its segment in the mapping */
	uint64_t pos, end;		  /* positions, free-running */
};

struct recover {
	uint8_t *map;	     /* the ring file, read-only */
	size_t size;	     /* its bytes */
	int phase;	     /* 0 threads, 1 stacks, 2 events */
	size_t seg;	     /* phase 1: offset of the segment being walked */
	size_t entry;	     /* phase 1: offset of the next entry in it */
	struct rcursor *cur; /* one per ring with events to give */
	size_t ncur;	     /* entries in cur */
	size_t *heap;	     /* phase 2: cursors with events left, a min-heap by
			      * (time of the next record, cursor): the merge costs
			      * log(rings) an event, not rings */
	size_t nheap;	     /* entries in heap; heap_built once it is made */
	int heap_built;
	size_t next_thread;  /* phase 0: next cursor to announce */
	struct hashmap blocks; /* address -> allocinfo of recovered blocks */
	uint64_t first_info;   /* allocinfo id of the first recovered block */
	uint64_t next_info;    /* the next one */
	uint64_t *info_size;   /* by id - first_info: requested bytes */
	uint32_t *info_stack;  /* by id - first_info: stack id */
	size_t info_cap;       /* entries allocated in both */
	uint64_t *ips;	       /* the stack of the last STACK item */
	size_t ips_cap;	       /* entries allocated */
	uint64_t count;	       /* events yielded */
};

/* The segment at off, if it is one that lies whole inside the file.  The
 * shim maps whole pages: a segment whose size is not a page multiple is
 * damage, and would put the next one at an address no struct may be read
 * at (off stays a page multiple). */
static const struct ringfile_seg *seg_at(const struct recover *c, size_t off)
{
	if (off % 4096 || off + sizeof(struct ringfile_seg) > c->size)
		return NULL;
	const struct ringfile_seg *s = (const void *)(c->map + off);
	if (s->magic != RINGFILE_SEG_MAGIC || s->bytes < 4096 || s->bytes % 4096 || s->bytes > c->size - off)
		return NULL;
	return s;
}

/* Map path if it is a ring file of the trace with this nonce.  Return 0 or -1. */
static int map_file(struct recover *c, const char *path, uint64_t nonce)
{
	struct stat st;
	/* O_NONBLOCK and regular files only: a FIFO of that name is not ours
	 * and must not hang the reader. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size < RINGFILE_HEADER_SIZE) {
		close(fd);
		return -1;
	}
	void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return -1;
	c->map = map;
	c->size = (size_t)st.st_size;
	const struct ringfile_file_header *h = (const void *)c->map;
	if (memcmp(h->magic, RINGFILE_MAGIC, 8) || h->version != RINGFILE_VERSION || h->nonce != nonce)
		return -1;
	return 0;
}

/* One cursor per ring: [max(progress, head, tail - capacity), tail).  Return 0 or -1. */
static int find_rings(struct recover *c, const uint64_t *progress, size_t nprogress)
{
	size_t nrings = 0;

	for (size_t off = RINGFILE_HEADER_SIZE; seg_at(c, off); off += seg_at(c, off)->bytes)
		nrings += seg_at(c, off)->type == RINGFILE_SEG_RING;
	c->cur = calloc(nrings + 1, sizeof(*c->cur));
	if (!c->cur)
		return -1;
	for (size_t off = RINGFILE_HEADER_SIZE; seg_at(c, off); off += seg_at(c, off)->bytes) {
		const struct ringfile_ring *g = (const void *)(c->map + off);
		if (g->seg.type != RINGFILE_SEG_RING || !g->capacity || (g->capacity & (g->capacity - 1)) ||
		    RINGFILE_RING_SLOTS_OFFSET + (uint64_t)g->capacity * sizeof(struct ring_rec) > g->seg.bytes)
			continue;
		/* relaxed: a private copy of a dead process's file; nobody
		 * writes it any more */
		uint64_t tail = atomic_load_rlx(&((struct ringfile_ring *)g)->tail);
		uint64_t head = atomic_load_rlx(&((struct ringfile_ring *)g)->head);
		uint64_t from = head;
		if (g->ring_id < nprogress && progress[g->ring_id] > from)
			from = progress[g->ring_id];
		if (tail > g->capacity && tail - g->capacity > from)
			from = tail - g->capacity;
		if (from >= tail)
			continue;
		c->cur[c->ncur++] = (struct rcursor){g, from, tail};
	}
	return 0;
}

struct recover *recover_open(const char *trace_path, uint64_t nonce, const uint64_t *progress, size_t n,
			     uint64_t first_info)
{
	char path[4200];
	struct recover *c;

	if (snprintf(path, sizeof(path), "%s.rings", trace_path) >= (int)sizeof(path))
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->first_info = c->next_info = first_info ? first_info : 1;
	if (map_file(c, path, nonce) || find_rings(c, progress, n) || hashmap_init(&c->blocks, 1024)) {
		recover_close(c);
		return NULL;
	}
	return c;
}

/* ---- phase 0 and 1: threads and stacks --------------------------------------- */

/* The next ring with events that names a thread, as a THREAD item (its
 * start time is not known: 0).  Return 1, or 0 when every one was given. */
static int next_thread(struct recover *c, struct trace_item *it)
{
	while (c->next_thread < c->ncur) {
		const struct ringfile_ring *g = c->cur[c->next_thread++].ring;
		if (!g->thread_index)
			continue; /* the orphan ring: events of exited threads */
		it->type = ITEM_THREAD;
		it->thread.index = g->thread_index;
		it->thread.tid = g->tid;
		it->thread.ts = 0;
		return 1;
	}
	return 0;
}

/* Make room for n stack frames.  Return 0 or -1. */
static int ips_room(struct recover *c, size_t n)
{
	if (c->ips_cap >= n)
		return 0;
	uint64_t *p = realloc(c->ips, n * sizeof(*p));
	if (!p)
		return -1;
	c->ips = p;
	c->ips_cap = n;
	return 0;
}

/*
 * The next entry of PYCODE or MODULES segment s (a whole PYCODE or
 * MODULES record, trace/ringfile.h) as its item, advancing c->entry.
 * Return 1, or 0 at the segment's end.
 */
static int next_record(struct recover *c, const struct ringfile_seg *s, struct trace_item *it)
{
	/* relaxed: a dead process's file */
	uint64_t used = atomic_load_rlx(&((struct ringfile_stacks *)s)->used);

	if (used > s->bytes - RINGFILE_STACKS_DATA_OFFSET)
		used = s->bytes - RINGFILE_STACKS_DATA_OFFSET;
	while (c->entry + sizeof(struct ringfile_pycode_entry) <= used) {
		const struct ringfile_pycode_entry *e =
			(const void *)((const uint8_t *)s + RINGFILE_STACKS_DATA_OFFSET + c->entry);
		size_t bytes = (sizeof(*e) + e->len + 7) & ~(size_t)7;
		if (c->entry + bytes > used)
			return 0;
		c->entry += bytes;
		/* relaxed: as above; an entry whose writer died midway says not ready */
		if (!atomic_load_rlx(&((struct ringfile_pycode_entry *)e)->ready) || e->len < 5)
			continue;
		/* the record's tag and 4-byte length, then its body */
		if (s->type == RINGFILE_SEG_PYCODE && e->body[0] == HST_REC_PYCODE &&
		    !reader_decode_pycode(e->body + 5, e->len - 5u, it))
			return 1;
		if (s->type == RINGFILE_SEG_MODULES && e->body[0] == HST_REC_MODULES &&
		    !reader_decode_modules(e->body + 5, e->len - 5u, it))
			return 1;
	}
	return 0;
}

/*
 * The next complete stack entry of the file, as a STACK item, or Python
 * code entry, as a PYCODE item: an entry whose writer died midway says it
 * is not ready.  (The analyzer keeps the first definition of an id and
 * ignores repeats.)  Return 1, 0 when there are no more, -1 when out of
 * memory.
 */
static int next_stack(struct recover *c, struct trace_item *it)
{
	for (;;) {
		const struct ringfile_seg *s = seg_at(c, c->seg);
		if (!s)
			return 0;
		if ((s->type == RINGFILE_SEG_PYCODE || s->type == RINGFILE_SEG_MODULES) && next_record(c, s, it))
			return 1;
		if (s->type != RINGFILE_SEG_STACKS) {
			c->seg += s->bytes;
			c->entry = 0;
			continue;
		}
		/* relaxed: as above, a dead process's file */
		uint64_t used = atomic_load_rlx(&((struct ringfile_stacks *)s)->used);
		if (used > s->bytes - RINGFILE_STACKS_DATA_OFFSET)
			used = s->bytes - RINGFILE_STACKS_DATA_OFFSET;
		const struct ringfile_stack_entry *e =
			(const void *)((const uint8_t *)s + RINGFILE_STACKS_DATA_OFFSET + c->entry);
		size_t bytes = c->entry + sizeof(*e) <= used ? sizeof(*e) + (size_t)e->depth * sizeof(uint64_t) : 0;
		if (!bytes || c->entry + bytes > used) {
			c->seg += s->bytes;
			c->entry = 0;
			continue;
		}
		c->entry += bytes;
		/* relaxed: as above */
		if (!atomic_load_rlx(&((struct ringfile_stack_entry *)e)->ready) || !e->id)
			continue;
		if (ips_room(c, (size_t)e->depth + 1))
			return -1;
		memcpy(c->ips, e->ips, e->depth * sizeof(uint64_t));
		it->type = ITEM_STACK;
		it->stack.id = e->id;
		it->stack.depth = e->depth;
		it->stack.ips = c->ips;
		return 1;
	}
}

/* ---- phase 2: events ------------------------------------------------------------ */

/* Size and stack of recovered allocinfo id; 0 for any other id. */
static void get_info(const struct recover *c, uint32_t id, uint64_t *size, uint32_t *stack)
{
	uint64_t i = id - c->first_info;

	*size = id >= c->first_info && id < c->next_info ? c->info_size[i] : 0;
	*stack = id >= c->first_info && id < c->next_info ? c->info_stack[i] : 0;
}

/*
 * Ring records name blocks by address, chunks by allocinfo.  A recovered
 * allocation gets an allocinfo of its own (after every id of the chunks);
 * a recovered free is matched by address against recovered allocations
 * only: a block allocated before the last chunk cannot be named (info 0).
 */
static uint32_t recover_alloc(struct recover *c, const struct ring_rec *ev)
{
	uint64_t i = c->next_info - c->first_info;

	if (i >= c->info_cap) {
		size_t cap = c->info_cap ? c->info_cap * 2 : 1024;
		uint64_t *sz = realloc(c->info_size, cap * sizeof(*sz));
		if (!sz)
			return 0;
		c->info_size = sz;
		uint32_t *st = realloc(c->info_stack, cap * sizeof(*st));
		if (!st)
			return 0;
		c->info_stack = st;
		c->info_cap = cap;
	}
	if (c->next_info > UINT32_MAX || hashmap_put(&c->blocks, ring_rec_addr(ev), c->next_info))
		return 0;
	c->info_size[i] = ring_rec_size(ev);
	c->info_stack[i] = ring_rec_stack(ev);
	return (uint32_t)c->next_info++;
}

static uint32_t recover_free(struct recover *c, uint64_t addr)
{
	if (!addr) /* free(NULL): no block (and 0 is no hashmap key) */
		return 0;
	uint64_t *v = hashmap_get(&c->blocks, addr);
	uint32_t id = v ? (uint32_t)*v : 0;

	if (v)
		hashmap_del(&c->blocks, addr);
	return id;
}

static const struct ring_rec *cursor_rec(const struct rcursor *k, uint64_t pos)
{
	const struct ring_rec *slots = (const void *)((const uint8_t *)k->ring + RINGFILE_RING_SLOTS_OFFSET);
	return &slots[pos & (k->ring->capacity - 1)];
}

/* Does cursor a come before cursor b (the earlier next record; the
 * lower cursor on a tie, as the rings are in file order)? */
static int before(const struct recover *c, size_t a, size_t b)
{
	uint64_t ta = cursor_rec(&c->cur[a], c->cur[a].pos)->ts, tb = cursor_rec(&c->cur[b], c->cur[b].pos)->ts;

	return ta < tb || (ta == tb && a < b);
}

/* Restore the heap order below slot i. */
static void sift_down(struct recover *c, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < c->nheap && before(c, c->heap[l], c->heap[m]))
			m = l;
		if (r < c->nheap && before(c, c->heap[r], c->heap[m]))
			m = r;
		if (m == i)
			return;
		size_t t = c->heap[i];
		c->heap[i] = c->heap[m];
		c->heap[m] = t;
		i = m;
	}
}

/* Make the heap of the cursors that have events.  Return 0 or -1. */
static int build_heap(struct recover *c)
{
	c->heap_built = 1;
	c->heap = malloc((c->ncur ? c->ncur : 1) * sizeof(*c->heap));
	if (!c->heap)
		return -1;
	for (size_t i = 0; i < c->ncur; i++)
		if (c->cur[i].pos < c->cur[i].end)
			c->heap[c->nheap++] = i;
	for (size_t i = c->nheap / 2; i-- > 0;)
		sift_down(c, i);
	return 0;
}

/* The cursor at the top of the heap has moved: put it back in order, or
 * out when it has no events left. */
static void reheap_top(struct recover *c)
{
	struct rcursor *k = &c->cur[c->heap[0]];

	if (k->pos >= k->end)
		c->heap[0] = c->heap[--c->nheap];
	if (c->nheap)
		sift_down(c, 0);
}

/* The next event by time across the rings.  Return 1, 0 when there are
 * no more, -1 when out of memory. */
static int next_event(struct recover *c, struct trace_item *it)
{
	if (!c->heap_built && build_heap(c))
		return -1;
	for (;;) {
		if (!c->nheap)
			return 0;
		struct rcursor *best = &c->cur[c->heap[0]];
		const struct ring_rec *rec = cursor_rec(best, best->pos), *ev = rec;
		unsigned n = 1;
		if (ring_rec_old(rec)) {
			if (best->pos + 1 >= best->end) {
				best->pos++;
				reheap_top(c);
				continue; /* half a realloc: the rest was never committed */
			}
			ev = cursor_rec(best, best->pos + 1);
			n = 2;
		}
		best->pos += n;
		reheap_top(c); /* rec and ev stay valid: the mapping does not move */
		unsigned kind = ring_rec_kind(ev);
		if (!hst_event_name(kind))
			continue;
		it->type = ITEM_EVENT;
		it->ev.kind = (uint8_t)kind;
		it->ev.thread = best->ring->thread_index;
		it->ev.ts = ev->ts / 1000 * 1000;
		switch (hst_event_shape(kind)) {
		case HST_SHAPE_ALLOC:
			it->ev.info = recover_alloc(c, ev);
			break;
		case HST_SHAPE_FREE:
			it->ev.info = recover_free(c, ring_rec_addr(ev));
			break;
		case HST_SHAPE_REALLOC:
			it->ev.old_info = n == 2 ? recover_free(c, ring_rec_addr(rec)) : 0;
			it->ev.info = ring_rec_addr(ev) ? recover_alloc(c, ev) : 0;
			break;
		case HST_SHAPE_ADDR:
			break;
		}
		get_info(c, it->ev.old_info, &it->ev.old_size, &it->ev.old_stack);
		get_info(c, it->ev.info, &it->ev.size, &it->ev.stack);
		c->count++;
		return 1;
	}
}

int recover_next(struct recover *c, struct trace_item *it)
{
	memset(it, 0, sizeof(*it));
	if (c->phase == 0) {
		if (next_thread(c, it))
			return 1;
		c->phase = 1;
		c->seg = RINGFILE_HEADER_SIZE;
		c->entry = 0;
	}
	if (c->phase == 1) {
		int rc = next_stack(c, it);
		if (rc)
			return rc;
		c->phase = 2;
	}
	return next_event(c, it);
}

uint64_t recover_count(const struct recover *c)
{
	return c->count;
}

void recover_close(struct recover *c)
{
	if (!c)
		return;
	if (c->map)
		munmap(c->map, c->size);
	free(c->cur);
	free(c->heap);
	if (c->blocks.keys)
		hashmap_free(&c->blocks);
	free(c->info_size);
	free(c->info_stack);
	free(c->ips);
	free(c);
}

/* ---- merging the ring file into the trace ---------------------------------------- */

/* The records of the merge, built in memory. */
struct merge {
	uint8_t *p;		  /* records of the chunk being built */
	size_t len, cap;
	struct encode_events ev;  /* the EVENTS record being built */
	uint64_t first_info;	  /* recovered allocinfos from here (file ids) */
	uint64_t written_to;	  /* allocinfos first_info..written_to-1 are written */
	int fd;			  /* the trace, open for writing */
	uint64_t off;		  /* where the next chunk goes */
};

#define MERGE_CHUNK (8u << 20) /* a chunk is written past this many bytes */

/* Room for n more bytes of records.  Return them or NULL. */
static uint8_t *merge_room(struct merge *m, size_t n)
{
	if (m->len + n > m->cap) {
		size_t cap = m->cap ? m->cap : 65536;
		while (cap < m->len + n)
			cap *= 2;
		uint8_t *p = realloc(m->p, cap);
		if (!p)
			return NULL;
		m->p = p;
		m->cap = cap;
	}
	return m->p + m->len;
}

/* Room for one more event in every column.  Return 0 or -1. */
static int columns_room(struct encode_events *e)
{
	for (int i = 0; i < ENCODE_EVENT_COLS; i++) {
		struct encode_column *c = &e->col[i];
		if (c->cap - c->len >= ENCODE_EVENT_COL_MAX)
			continue;
		size_t cap = c->cap ? c->cap * 2 : 4096;
		uint8_t *p = realloc(c->p, cap);
		if (!p)
			return -1;
		c->p = p;
		c->cap = cap;
	}
	return 0;
}

/* Write the records built so far as one raw chunk at m->off (format.h: a
 * chunk is written whole or not at all as far as a reader can tell: its
 * checksums).  Return 0 or -1. */
static int merge_flush(struct merge *m)
{
	uint8_t h[HST_CHUNK_HEADER_SIZE];

	if (!m->len)
		return 0;
	memset(h, 0, sizeof(h));
	uint32_t words[5] = {HST_CHUNK_MAGIC, HST_CODEC_RAW, (uint32_t)m->len, (uint32_t)m->len,
			     crc32c(0, m->p, m->len)};
	for (int i = 0; i < 5; i++)
		for (int k = 0; k < 4; k++)
			h[4 * i + k] = (uint8_t)(words[i] >> (8 * k));
	uint32_t hcrc = crc32c(0, h, 20);
	for (int k = 0; k < 4; k++)
		h[20 + k] = (uint8_t)(hcrc >> (8 * k));
	struct iovec iov[2] = {{h, sizeof(h)}, {m->p, m->len}};
	ssize_t want = (ssize_t)(sizeof(h) + m->len);
	if (pwritev(m->fd, iov, 2, (off_t)m->off) != want)
		return -1;
	m->off += (uint64_t)want;
	m->len = 0;
	return 0;
}

/* End the EVENTS record being built. */
static int merge_events(struct merge *m)
{
	uint8_t *p = merge_room(m, encode_events_max(&m->ev));

	if (!p)
		return -1;
	m->len = (size_t)(encode_events(p, &m->ev) - m->p);
	return m->len > MERGE_CHUNK ? merge_flush(m) : 0;
}

/* An ALLOCINFO for recovered allocinfo id (when it is the next one not
 * written yet: ids come in order). */
static int merge_allocinfo(struct merge *m, uint32_t id, uint64_t size, uint32_t stack)
{
	if (id < m->first_info || id < m->written_to)
		return 0;
	uint8_t *p = merge_room(m, ENCODE_ALLOCINFO_MAX);
	if (!p)
		return -1;
	m->len = (size_t)(encode_allocinfo(p, id, size, stack) - m->p);
	m->written_to = (uint64_t)id + 1;
	return 0;
}

/* Turn one recovered item into records.  Return 0 or -1. */
static int merge_item(struct merge *m, const struct trace_item *it, uint64_t *events)
{
	uint8_t *p;

	switch (it->type) {
	case ITEM_THREAD:
		if (!(p = merge_room(m, ENCODE_THREAD_MAX)))
			return -1;
		m->len = (size_t)(encode_thread(p, it->thread.index, it->thread.tid, it->thread.ts) - m->p);
		return 0;
	case ITEM_STACK:
		if (!(p = merge_room(m, encode_stack_max(it->stack.depth))))
			return -1;
		m->len = (size_t)(encode_stack(p, it->stack.id, it->stack.depth, 0, 0, it->stack.ips) - m->p);
		return 0;
	case ITEM_MODULES: /* the map: the trace holds only the modules its records named */
		if (!(p = merge_room(m, encode_modules_max(it->modules.len))))
			return -1;
		m->len = (size_t)(encode_modules(p, it->modules.ts, it->modules.count, it->modules.body,
						 it->modules.len) - m->p);
		return 0;
	case ITEM_EVENT:
		/* the ALLOCINFOs go before the EVENTS record that names them */
		if (merge_allocinfo(m, it->ev.info, it->ev.size, it->ev.stack) ||
		    merge_allocinfo(m, it->ev.old_info, it->ev.old_size, it->ev.old_stack) || columns_room(&m->ev))
			return -1;
		if (hst_event_shape(it->ev.kind) == HST_SHAPE_REALLOC)
			encode_event(&m->ev, it->ev.ts, it->ev.thread, it->ev.kind, it->ev.old_info, it->ev.info);
		else
			encode_event(&m->ev, it->ev.ts, it->ev.thread, it->ev.kind, it->ev.info, 0);
		(*events)++;
		return m->ev.count >= 65536 ? merge_events(m) : 0;
	}
	return 0;
}

int recover_merge(const char *trace_path, uint64_t nonce, const uint64_t *progress, size_t n,
		  uint64_t first_info, uint64_t end_off)
{
	char path[4200];
	struct stat st;
	struct merge m = {.fd = -1, .off = end_off, .first_info = first_info, .written_to = first_info};
	struct recover *c = NULL;
	uint64_t events = 0;
	int rc = 0;

	if (snprintf(path, sizeof(path), "%s.rings", trace_path) >= (int)sizeof(path))
		return 0;
	/* Only a ring file nobody holds: the shim keeps its lock for the
	 * life of the process (a live process's rings are read, not merged). */
	int rfd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (rfd < 0 || fstat(rfd, &st) || !S_ISREG(st.st_mode) || flock(rfd, LOCK_EX | LOCK_NB))
		goto out;
	m.fd = open(trace_path, O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY);
	if (m.fd < 0 || fstat(m.fd, &st) || !S_ISREG(st.st_mode) || flock(m.fd, LOCK_EX | LOCK_NB) ||
	    (uint64_t)st.st_size < end_off)
		goto out;
	c = recover_open(trace_path, nonce, progress, n, first_info);
	if (!c)
		goto out;
	m.ev.tick = 1000; /* recovered times are to the microsecond */
	struct trace_item it;
	int got;
	while ((got = recover_next(c, &it)) > 0)
		if (merge_item(&m, &it, &events))
			goto out;
	if (got < 0 || merge_events(&m))
		goto out;
	uint8_t *p = merge_room(&m, ENCODE_RECOVERED_MAX);
	if (!p)
		goto out;
	m.len = (size_t)(encode_recovered(p, events) - m.p);
	/* Whatever follows the last whole chunk (a torn one) goes, then the
	 * recovered records, then the ring file. */
	if (ftruncate(m.fd, (off_t)end_off) || merge_flush(&m))
		goto out;
	unlink(path);
	rc = 1;
out:
	if (!rc && m.fd >= 0 && m.off > end_off)
		(void)ftruncate(m.fd, (off_t)end_off); /* half a merge: as before */
	recover_close(c);
	for (int i = 0; i < ENCODE_EVENT_COLS; i++)
		free(m.ev.col[i].p);
	free(m.p);
	if (m.fd >= 0)
		close(m.fd);
	if (rfd >= 0)
		close(rfd);
	return rc;
}

void recover_remove_stale(const char *trace_path, uint64_t nonce)
{
	char path[4200];
	struct ringfile_file_header h;
	struct stat st;

	if (snprintf(path, sizeof(path), "%s.rings", trace_path) >= (int)sizeof(path))
		return;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return;
	if (!fstat(fd, &st) && S_ISREG(st.st_mode) && !flock(fd, LOCK_EX | LOCK_NB) &&
	    pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h) && !memcmp(h.magic, RINGFILE_MAGIC, 8) &&
	    h.nonce == nonce)
		unlink(path);
	close(fd);
}
