/*
 * scan.c - the scan itself: the live blocks as a sorted array, every root
 * and block read for pointers into them, the edges written.
 */
#define _GNU_SOURCE
#include "shim/scan.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/arena_map.h"
#include "shim/backing.h"
#include "shim/clock.h"
#include "shim/heapmap.h"
#include "shim/modules.h"
#include "shim/python.h"
#include "shim/rings.h"
#include "shim/roots.h"
#include "shim/tls.h"
#include "shim/world.h"
#include "util/assert.h"
#include "util/atomic.h"
#include "trace/encode.h"
#include "trace/format.h"

#define EDGES_PER_RECORD 4096
#define BLOCKS_PER_RECORD 4096

/* The scan's own memory: mmap, noted as not a root. */
static void *map_mem(size_t bytes)
{
	return arena_map_mmap(bytes);
}

/* ---- the heap as a sorted array ---------------------------------------------- */

/* 16 bytes a block: a heap of 10 million blocks needs 160 MB here (and
 * as much again while sorting). */
struct block {
	uint64_t addr; /* start */
	uint32_t info; /* allocinfo: the size comes from there */
	uint32_t seq;  /* allocation order */
};

/* End of block b for pointer matching: start + max(size, 1). */
static uint64_t block_end(const struct block *b)
{
	uint64_t size = heapmap_info(b->info)->size;
	return b->addr + (size ? size : 1);
}

/* The range of addresses mapping_of last answered for, and its answer
 * (NULL: a gap between mappings): consecutive lookups mostly fall in the
 * same mapping. */
struct map_hint {
	uint64_t lo, hi;
	const struct roots_map *m;
};

struct heap {
	struct block *b;	     /* sorted by addr */
	uint64_t n;		     /* blocks */
	uint64_t lo, hi;	     /* lowest start, highest end */
	uint32_t *first;	     /* by bucket of 2^shift bytes from lo: its
				      * first block (heap_index); NULL: none */
	uint64_t nfirst;	     /* buckets + 1 */
	unsigned shift;
	const struct roots_maps *maps; /* the process's mappings (vtables live in
					* read-only file mappings) */
	struct map_hint *hint;	     /* mapping_of's last answer */
	uint64_t py_type_type;	     /* &PyType_Type in a Python program, else 0 */
	uint32_t py_version;	     /* its PY_VERSION_HEX */
};

struct fill_ctx {
	struct heap *h;
	uint64_t cap;
};

static void fill_one(uint64_t addr, uint32_t info, uint32_t seq, void *arg)
{
	struct fill_ctx *c = arg;

	if (c->h->n < c->cap) {
		c->h->b[c->h->n++] = (struct block){addr, info, seq};
	}
}

/* Move b[r] down the max-heap b[0, n) to its place. */
static void sift_down(struct block *b, uint64_t r, uint64_t n)
{
	for (uint64_t c; (c = 2 * r + 1) < n; r = c) {
		if (c + 1 < n && b[c + 1].addr > b[c].addr)
			c++;
		if (b[r].addr >= b[c].addr)
			return;
		struct block t = b[r];
		b[r] = b[c];
		b[c] = t;
	}
}

/* Heapsort of the blocks by address, in place: for a small heap, whose
 * radix sort would cost more in its count table (512 KiB mapped, faulted
 * and cleared four times) than in sorting. */
static void sort_small(struct block *b, uint64_t n)
{
	for (uint64_t i = n / 2; i > 0; i--)
		sift_down(b, i - 1, n);
	for (uint64_t end = n; end > 1; end--) {
		struct block t = b[0];
		b[0] = b[end - 1];
		b[end - 1] = t;
		sift_down(b, 0, end - 1);
	}
}

/* Below this many blocks, sort_small; at and above it, the radix sort. */
#define SORT_SMALL_MAX 16384

/* LSD radix sort of the blocks by address, 16 bits a pass. */
static int sort_blocks(struct heap *h)
{
	if (h->n < SORT_SMALL_MAX) {
		sort_small(h->b, h->n);
		return 0;
	}
	struct block *tmp = map_mem(h->n * sizeof(*tmp) + 1);
	uint64_t *count = map_mem(65536 * sizeof(uint64_t));

	if (!tmp || !count) {
		if (tmp)
			arena_map_munmap(tmp, h->n * sizeof(*tmp) + 1);
		if (count)
			arena_map_munmap(count, 65536 * sizeof(uint64_t));
		return -1;
	}
	for (int shift = 0; shift < 64; shift += 16) {
		memset(count, 0, 65536 * sizeof(uint64_t));
		for (uint64_t i = 0; i < h->n; i++)
			count[(h->b[i].addr >> shift) & 0xffff]++;
		if (count[(h->b[0].addr >> shift) & 0xffff] == h->n)
			continue; /* all equal in this digit */
		uint64_t sum = 0;
		for (int d = 0; d < 65536; d++) {
			uint64_t c = count[d];
			count[d] = sum;
			sum += c;
		}
		for (uint64_t i = 0; i < h->n; i++)
			tmp[count[(h->b[i].addr >> shift) & 0xffff]++] = h->b[i];
		memcpy(h->b, tmp, h->n * sizeof(*tmp));
	}
	arena_map_munmap(tmp, h->n * sizeof(*tmp) + 1);
	arena_map_munmap(count, 65536 * sizeof(uint64_t));
	return 0;
}

/* Blocks a bucket of the index holds on average, at most (when the heap
 * is one dense range): 1 byte of index a block. */
#define INDEX_BLOCKS 4

/*
 * Index the sorted blocks by address: first[k] is the first block that
 * starts at or after lo + k * 2^shift.  A word the scan reads is then
 * searched for among the blocks of its bucket only (a few), not among all
 * of them (log2 n steps, each a likely cache miss on a big heap).  No
 * memory for it: find_block searches them all.
 */
static void heap_index(struct heap *h)
{
	unsigned shift = 0;

	if (h->n < 2 * INDEX_BLOCKS || h->n > UINT32_MAX)
		return;
	while (((h->hi - h->lo) >> shift) >= h->n / INDEX_BLOCKS)
		shift++;
	uint64_t buckets = ((h->hi - h->lo - 1) >> shift) + 1;
	uint32_t *first = map_mem((buckets + 1) * sizeof(uint32_t));
	if (!first)
		return;
	uint64_t k = 0;
	for (uint64_t i = 0; i < h->n; i++)
		for (uint64_t b = (h->b[i].addr - h->lo) >> shift; k <= b; k++)
			first[k] = (uint32_t)i;
	for (; k <= buckets; k++)
		first[k] = (uint32_t)h->n;
	h->first = first;
	h->nfirst = buckets + 1;
	h->shift = shift;
}

/* The block containing v, or -1. */
static int64_t find_block(const struct heap *h, uint64_t v)
{
	if (v < h->lo || v >= h->hi)
		return -1;
	uint64_t lo = 0, hi = h->n;
	if (h->first) {
		/* blocks before the bucket's first start below v, and those from
		 * the next bucket's first start above it: the last block that
		 * starts at or below v is first[k] - 1 or in between */
		uint64_t k = (v - h->lo) >> h->shift;
		HS_ASSERT(k + 1 < h->nfirst);
		lo = h->first[k];
		hi = h->first[k + 1];
	}
	while (lo < hi) {
		uint64_t mid = (lo + hi) / 2;
		if (h->b[mid].addr <= v)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || v >= block_end(&h->b[lo - 1]))
		return -1;
	return (int64_t)(lo - 1);
}

/* ---- memcheck's leak heuristics ---------------------------------------------- */

/* The mapping that holds v, or NULL.  The mappings are in address order. */
static const struct roots_map *mapping_of(const struct heap *h, uint64_t v)
{
	const struct roots_map *m = h->maps->m;
	uint32_t lo = 0, hi = h->maps->n;
	struct map_hint *c = h->hint;

	if (v - c->lo < c->hi - c->lo)
		return c->m;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (m[mid].hi <= v)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* m[lo] is the first mapping that ends above v: v is in it, or in
	 * the gap before it (after m[lo - 1], or after the last one) */
	c->lo = lo ? m[lo - 1].hi : 0;
	c->hi = lo < h->maps->n ? m[lo].lo : UINT64_MAX;
	c->m = NULL;
	if (lo < h->maps->n && v >= m[lo].lo) {
		c->lo = m[lo].lo;
		c->hi = m[lo].hi;
		c->m = &m[lo];
	}
	return c->m;
}

/* Is v the address of something in a read-only file mapping (a vtable)? */
static int in_readonly(const struct heap *h, uint64_t v)
{
	const struct roots_map *m = mapping_of(h, v);

	return m && m->r == 'r' && m->w != 'w' && memchr(m->path, '/', m->path_len);
}

/* May the scan read [v, v + n): inside one live block, or one readable
 * mapping? */
static int readable(const struct heap *h, uint64_t v, uint64_t n)
{
	const struct roots_map *m = mapping_of(h, v);

	if (m)
		return m->r == 'r' && v + n <= m->hi;
	return 0;
}

/* CPython's objects (3.8 to 3.13): the offsets and flags of the type
 * object that tell a GC object and its pre-header (Include/object.h,
 * Include/internal/pycore_object.h _PyType_PreHeaderSize). */
#define PY_OB_TYPE 8		  /* PyObject.ob_type */
#define PY_TP_FLAGS 168		  /* PyTypeObject.tp_flags: 21 words in */
#define PY_TPFLAGS_HAVE_GC (1ul << 14)
#define PY_TPFLAGS_TYPE_SUBCLASS (1ul << 31)
#define PY_TPFLAGS_MANAGED_DICT (1ul << 4)   /* 3.11+: two words before the GC head */
#define PY_TPFLAGS_MANAGED_WEAKREF (1ul << 3) /* 3.12+: the same two words */
#define PY_GC_HEAD 16		  /* sizeof(PyGC_Head) */

/* Is t a Python type object?  Its type is PyType_Type, or a metaclass:
 * a type whose own type is PyType_Type and that subclasses type
 * (Py_TPFLAGS_TYPE_SUBCLASS; any other object of a static type, a tuple,
 * has PyType_Type two steps up too). */
static int python_is_type(const struct heap *h, uint64_t t)
{
	if (!t || (t & 7) || !readable(h, t, PY_TP_FLAGS + 8))
		return 0;
	uint64_t meta = *(const uint64_t *)(uintptr_t)(t + PY_OB_TYPE);
	if (meta == h->py_type_type)
		return 1;
	return meta && !(meta & 7) && readable(h, meta, PY_TP_FLAGS + 8) &&
	       *(const uint64_t *)(uintptr_t)(meta + PY_OB_TYPE) == h->py_type_type &&
	       (*(const uint64_t *)(uintptr_t)(meta + PY_TP_FLAGS) & PY_TPFLAGS_TYPE_SUBCLASS);
}

/*
 * Where the object of block b starts if it is a Python GC object (a list,
 * a dict, an instance): after the PyGC_Head that starts the block, and
 * after the managed dict's two words before that (3.11+), so 16 or 32;
 * 0 if it is not one.  Its type says so: an object of a GC type whose
 * pre-header has that size.
 */
static unsigned python_object_at(const struct heap *h, const struct block *b)
{
	uint64_t size = heapmap_info(b->info)->size;

	for (unsigned obj = PY_GC_HEAD; obj <= 2 * PY_GC_HEAD; obj += PY_GC_HEAD) {
		if (obj + 16 > size)
			return 0;
		uint64_t type = *(const uint64_t *)(uintptr_t)(b->addr + obj + PY_OB_TYPE);
		if (!python_is_type(h, type))
			continue;
		uint64_t flags = *(const uint64_t *)(uintptr_t)(type + PY_TP_FLAGS);
		uint64_t pre = h->py_version >= 0x030c0000   ? flags & (PY_TPFLAGS_MANAGED_DICT | PY_TPFLAGS_MANAGED_WEAKREF)
			       : h->py_version >= 0x030b0000 ? flags & PY_TPFLAGS_MANAGED_DICT
							     : 0;
		if ((flags & PY_TPFLAGS_HAVE_GC) && obj == PY_GC_HEAD + (pre ? 16 : 0))
			return obj;
	}
	return 0;
}

/*
 * Does an interior pointer v into block b count as a pointer to its start?
 * Valgrind memcheck's default heuristics (--leak-check-heuristics=all) say
 * yes for four C++ and C idioms, and heapsnap follows it so that the
 * classes agree:
 *   stdstring      v is 3 words in; the block holds length <= capacity and
 *                  is 3 words + capacity + 1 bytes long (old-ABI string)
 *   length64       v is 8 bytes in; the first word is the size after it
 *   newarray       v is 8 bytes in; the first word, a count n > 0, divides
 *                  the size after it (new[] of a type with a destructor)
 *   multipleinheritance  v is a word-aligned address inside the block that
 *                  holds a vtable pointer, and so does the block's start
 * Such edges are written with target offset 0.  (A Python program's
 * pointers to its GC objects are handled before: python_edge.)
 */
static int heuristic_start(const struct heap *h, const struct block *b, uint64_t v)
{
	uint64_t size = heapmap_info(b->info)->size, off = v - b->addr;
	const uint64_t *w = (const uint64_t *)(uintptr_t)b->addr;

	if (size >= 24 && off == 24 && w[0] <= w[1] && size == 24 + w[1] + 1)
		return 1; /* stdstring */
	if (size >= 8 && off == 8 && (w[0] == size - 8 || (w[0] && (size - 8) % w[0] == 0)))
		return 1; /* length64, newarray */
	if (!(off & 7) && off + 8 <= size && size >= 16) {
		uint64_t inner = *(const uint64_t *)(uintptr_t)v;
		if (w[0] && inner && in_readonly(h, w[0]) && in_readonly(h, inner))
			return 1; /* multipleinheritance */
	}
	return 0;
}

/* ---- roots that vanish while they are read ------------------------------------ */

/*
 * The roots are the mappings that /proc/self/maps listed, read after:
 * one can be unmapped or protected meanwhile by a thread that did not stop
 * (world.h: one that blocks every signal runs on), or be a shared file
 * mapping whose file another process truncated (SIGBUS).  Under Valgrind
 * the list holds Valgrind's own memory too (tens of MB: its heap, the
 * translations), which it unmaps as it translates the scan's own code:
 * the scans of churn and perl under callgrind, and of a small program
 * under --tool=none, died of SIGSEGV there.  (Valgrind refuses the
 * program an mprotect of its memory, which would tell it apart, but warns
 * on stderr at each; so it is read, as the program's.)  While a root is
 * read, a fault of the scanning thread inside that root ends the root
 * (guard_handler jumps back to root(), which keeps the edges of the parts
 * read before: collect_guarded); any other fault, or a fault of another
 * thread, is the program's: its disposition is put back and the faulting
 * instruction runs again under it.
 */
struct guard {
	sigjmp_buf jmp;		  /* set in root() for the root being read */
	_Atomic int tid;	  /* the scanning thread's id, while guarding, else 0 */
	volatile uint64_t lo, hi; /* the root being read; lo == hi: none */
	struct sigaction old[2];  /* SIGSEGV's and SIGBUS's dispositions before */
};

static struct guard guard;

/* SIGSEGV and SIGBUS while the scan reads roots: async-signal-safe. */
static void guard_handler(int sig, siginfo_t *si, void *uc)
{
	uint64_t a = (uint64_t)(uintptr_t)si->si_addr;

	(void)uc;
	/* relaxed: only the scanner can read its own id here (it wrote it) */
	if (si->si_code > 0 && atomic_load_rlx(&guard.tid) == (int)syscall(SYS_gettid) && a - guard.lo < guard.hi - guard.lo)
		siglongjmp(guard.jmp, 1);
	sigaction(sig, &guard.old[sig == SIGBUS], NULL);
	if (si->si_code <= 0) /* sent (kill, tgkill), not a fault: send it again */
		syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), sig);
}

/* Install guard_handler for SIGSEGV and SIGBUS, remembering the program's. */
static void guard_begin(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = guard_handler;
	/* SA_NODEFER: siglongjmp leaves the handler without restoring the
	 * mask, and a fault while its signal is blocked kills the process */
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	guard.lo = guard.hi = 0;
	atomic_store_rlx(&guard.tid, (int)syscall(SYS_gettid)); /* relaxed: see guard_handler */
	sigaction(SIGSEGV, &sa, &guard.old[0]);
	sigaction(SIGBUS, &sa, &guard.old[1]);
}

/* Put the program's dispositions back. */
static void guard_end(void)
{
	sigaction(SIGSEGV, &guard.old[0], NULL);
	sigaction(SIGBUS, &guard.old[1], NULL);
	atomic_store_rlx(&guard.tid, 0); /* relaxed: see guard_handler */
}

/* ---- writing ------------------------------------------------------------------ */

/* One edge of the source being scanned. */
struct edge_out {
	uint64_t src_off; /* bytes from the source's start */
	uint64_t dst;	  /* target block */
	uint64_t dst_off; /* 0: a start pointer */
};

/* Where the scan stands. */
struct out {
	struct trace_writer *w;	    /* the trace */
	uint64_t edges;	  /* written */
	uint64_t scanned; /* bytes read */
	uint32_t nroots;  /* roots read (those with edges are described) */
	uint32_t *stamp;  /* by block: the source that last pointed to it */
	uint32_t *slot;	  /* by block: its edge in edges_buf for that source */
	uint8_t *py;	  /* by block, in a Python program: 0 not known yet, 1 not a
			   * GC object, else 1 + where its object starts (bytes) */
	uint32_t stamp_now; /* the source being scanned */
	uint32_t kept;	    /* edges of the root being read, as of its last
			     * whole part (collect_guarded) */
	struct edge_out *edges_buf; /* the current source's edges */
	uint32_t edges_cap;	    /* entries mapped for edges_buf */
	const struct heap *h;	    /* the live blocks */
	struct encode_graph g;	    /* the SCAN_GRAPH record being built */
	void *g_mem;		    /* its columns; NULL: SCAN_EDGES records */
	int pagemap;		    /* /proc/self/pagemap, or -1 (collect_mapped) */
	int private_mem;	    /* the range read is private memory (collect_mapped) */
};

/* Double the edge buffer (mmap: the world is stopped).  Return 0 or -1. */
static int edges_grow(struct out *o)
{
	uint32_t cap = o->edges_cap ? o->edges_cap * 2 : 65536;
	struct edge_out *p = map_mem((size_t)cap * sizeof(*p));

	if (!p)
		return -1;
	if (o->edges_buf) {
		memcpy(p, o->edges_buf, (size_t)o->edges_cap * sizeof(*p));
		arena_map_munmap(o->edges_buf, (size_t)o->edges_cap * sizeof(*p));
	}
	o->edges_buf = p;
	o->edges_cap = cap;
	return 0;
}

/*
 * A Python program's pointers to its GC objects (lists, dicts, instances)
 * point at the object, past the PyGC_Head that begins its block (and the
 * managed dict's words, 3.11+): taken for start pointers, else every such
 * object would be reached through interior pointers only ("possible").
 * The PyGC_Head itself links the object into the collector's lists: the
 * words that point to it are those links, from other objects' heads and
 * from the generations in the interpreter state, and keep nothing alive
 * (reference counts do).  They are no edges: the chains of `retainers`
 * and the dominators would otherwise follow the collector's lists, and
 * objgraph's gc.get_referrers() does not see them either.
 * Return the target offset to write, or UINT64_MAX for no edge.
 */
static uint64_t python_edge(struct out *o, const struct heap *h, uint64_t j, uint64_t off)
{
	if (!o->py[j])
		o->py[j] = (uint8_t)(1 + python_object_at(h, &h->b[j]));
	unsigned obj = o->py[j] - 1u;
	if (!obj)
		return off;
	if (off == obj - PY_GC_HEAD)
		return UINT64_MAX; /* the collector's link */
	return off == obj ? 0 : off;
}

/* The word v, read at a, in [lo, hi) of the heap: add its edge if it
 * points into a block (see collect_edges).  Return false when there is no
 * memory left for edges. */
HS_INLINE bool collect_word(struct out *o, const struct heap *h, uint64_t base, uint64_t a, uint64_t v, uint32_t *n)
{
	int64_t j = find_block(h, v);
	if (j < 0)
		return true;
	uint64_t dst_off = v - h->b[j].addr;
	if (o->py && (dst_off = python_edge(o, h, (uint64_t)j, dst_off)) == UINT64_MAX)
		return true;
	if (dst_off && heuristic_start(h, &h->b[j], v))
		dst_off = 0;
	if (o->stamp[j] == o->stamp_now) {
		struct edge_out *e = &o->edges_buf[o->slot[j]];
		if (!dst_off)
			e->dst_off = 0;
		return true;
	}
	if (*n == o->edges_cap && edges_grow(o))
		return false;
	o->stamp[j] = o->stamp_now;
	o->slot[j] = *n;
	o->edges_buf[(*n)++] = (struct edge_out){a - base, (uint64_t)j, dst_off};
	return true;
}

/*
 * Read [lo, hi) for pointers into the heap and add them to the edges of
 * the source being scanned (o->stamp_now), at offsets from base; n edges
 * are in edges_buf so far.  Return the new count.  Each target appears
 * once per source: at the first offset that points to it, with target
 * offset 0 if any word points to its start (or is taken for one by the
 * heuristics), else the first interior offset.  A big block of an
 * interpreter's arena holds many pointers into the same few blocks; the
 * graph needs one edge each.
 */
static uint32_t collect_edges(struct out *o, const struct heap *h, uint64_t base, uint64_t lo, uint64_t hi,
			      uint32_t n)
{
	/* Most words of a big root (an interpreter's or a compiler's own
	 * heap, zeros) point nowhere near the blocks: four of them cost four
	 * loads and subtractions, three minimums and one branch here. */
	const uint64_t heap_lo = h->lo, heap_span = h->hi - h->lo;
	uint64_t a = (lo + 7) & ~7ull;

	for (; a + 32 <= hi; a += 32) {
		const uint64_t *p = (const uint64_t *)(uintptr_t)a;
		uint64_t d0 = p[0] - heap_lo, d1 = p[1] - heap_lo, d2 = p[2] - heap_lo, d3 = p[3] - heap_lo;
		d0 = d0 < d1 ? d0 : d1;
		d2 = d2 < d3 ? d2 : d3;
		if ((d0 < d2 ? d0 : d2) >= heap_span)
			continue; /* the nearest of the four is out too */
		for (unsigned i = 0; i < 4; i++) {
			uint64_t v = p[i];
			if (v - heap_lo < heap_span && !collect_word(o, h, base, a + 8 * i, v, &n))
				goto out;
		}
	}
	for (; a + 8 <= hi; a += 8) {
		uint64_t v = *(const uint64_t *)(uintptr_t)a;
		if (v - heap_lo < heap_span && !collect_word(o, h, base, a, v, &n))
			break;
	}
out:
	o->scanned += hi > lo ? hi - lo : 0;
	return n;
}

/*
 * Pages never written since they were mapped hold no pointer; reading one
 * maps it (the zero page, or, where the kernel keeps none, as on PVM
 * guests booted with pvm_no_zero_page, a fresh page: xz's 32 MB of
 * buffers it never touched made its traced peak RSS 2.6x untraced, and
 * 5,500 page faults).  So a range of SPARSE_MIN bytes or more is read
 * only where /proc/self/pagemap says its pages are mapped (present, or
 * swapped out: bits 63 and 62), a run of them at a time: blocks, and
 * roots of private anonymous memory (an unmapped page reads as zeros).
 * Not a file's mapping (HST_ROOT_DATA: a module's data, but also a shared
 * file, shm or memfd, whose pages pagemap can show unmapped while they
 * hold data) nor named shared anonymous memory ([anon_shmem:...]): those
 * are read whole.
 */
#define SPARSE_MIN (64u << 10)
#define PM_CHUNK 512 /* entries read at a time: 4 KiB of stack */
#define PM_PAGE 4096u

/* The first run [*a, *b) of mapped pages of [lo, hi); 0 if none.  A
 * failed read says "mapped": the range is read as before. */
static int mapped_run(int fd, uint64_t lo, uint64_t hi, uint64_t *a, uint64_t *b)
{
	uint64_t e[PM_CHUNK];
	uint64_t page = lo & ~(uint64_t)(PM_PAGE - 1);
	int in = 0;

	while (page < hi) {
		size_t np = (hi - page + PM_PAGE - 1) / PM_PAGE;
		np = np < PM_CHUNK ? np : PM_CHUNK;
		if (pread(fd, e, np * 8, (off_t)(page / PM_PAGE * 8)) != (ssize_t)(np * 8)) {
			if (!in)
				*a = page > lo ? page : lo;
			*b = hi;
			return 1;
		}
		for (size_t i = 0; i < np; i++, page += PM_PAGE) {
			int mapped = (e[i] >> 62) != 0;
			if (mapped && !in) {
				in = 1;
				*a = page > lo ? page : lo;
			} else if (!mapped && in) {
				*b = page;
				return 1;
			}
		}
	}
	if (in)
		*b = hi;
	return in;
}

/* collect_edges on the mapped pages of [lo, hi) (see above). */
static uint32_t collect_mapped(struct out *o, const struct heap *h, uint64_t base, uint64_t lo, uint64_t hi,
			       uint32_t n)
{
	uint64_t a, b;

	if (o->pagemap < 0 || !o->private_mem || hi - lo < SPARSE_MIN)
		return collect_edges(o, h, base, lo, hi, n);
	for (; lo < hi && mapped_run(o->pagemap, lo, hi, &a, &b); lo = b)
		n = collect_edges(o, h, base, a, b, n);
	return n;
}

/* Bytes of a root read between the notes of its edges in o->kept. */
#define GUARD_PART (1u << 20)

/*
 * collect_edges on [lo, hi) of a root, GUARD_PART bytes at a time (parts
 * aligned to it, so no word straddles two), noting in o->kept how many
 * edges the parts read whole hold: all that is left of the root's edges
 * if a fault ends it (guard_handler).
 */
static uint32_t collect_guarded(struct out *o, const struct heap *h, uint64_t base, uint64_t lo, uint64_t hi,
				uint32_t n)
{
	for (uint64_t end; lo < hi; lo = end) {
		end = (lo | (GUARD_PART - 1)) + 1;
		end = end < hi && end > lo ? end : hi;
		n = collect_mapped(o, h, base, lo, end, n);
		o->kept = n;
		/* the store lands before the next part is read, where a fault
		 * jumps to root(), which reads it */
		atomic_signal_fence(memory_order_seq_cst);
	}
	return n;
}

/* Keep chunks of a few MiB: a big heap writes hundreds of them. */
static void bound_chunk(struct out *o)
{
	if (o->w->len > WRITER_CHUNK_TARGET * 4)
		writer_flush(o->w);
}

/* Write the SCAN_GRAPH record built so far (before any other record, so
 * that the edges keep their place among the scan's records). */
static void graph_flush(struct out *o)
{
	if (!o->g_mem || !o->g.edges)
		return;
	uint32_t n = o->g.edges;
	uint8_t *rec = writer_room(o->w, encode_graph_max(&o->g));
	if (rec) {
		writer_advance(o->w, encode_graph(rec, &o->g));
		o->edges += n;
	} else {
		encode_graph_clear(&o->g); /* no memory: these edges are lost */
	}
	bound_chunk(o);
}

/* Write the n collected edges of source (kind 0 block, 1 root) number src. */
static void emit_edges(struct out *o, int kind, uint64_t src, uint32_t n)
{
	if (o->g_mem) {
		for (uint32_t k = 0; k < n; k++) {
			const struct edge_out *e = &o->edges_buf[k];
			if (!encode_graph_room(&o->g))
				graph_flush(o);
			encode_graph_edge(&o->g, kind, src, e->src_off, e->dst, e->dst_off != 0);
		}
		return;
	}
	for (uint32_t i = 0; i < n; i += EDGES_PER_RECORD) {
		uint32_t count = n - i < EDGES_PER_RECORD ? n - i : EDGES_PER_RECORD;
		uint8_t *rec = writer_room(o->w, encode_scan_edges_max(count));
		if (!rec)
			break; /* no memory: the rest of this source's edges are lost */
		struct encode_edges st;
		uint8_t *p = encode_scan_edges_begin(rec, &st, kind, src, count);
		for (uint32_t k = i; k < i + count; k++) {
			const struct edge_out *e = &o->edges_buf[k];
			p = encode_scan_edge(p, &st, e->src_off, e->dst, e->dst_off != 0);
		}
		writer_advance(o->w, encode_close(rec, p));
		o->edges += count;
		if (o->w->len > WRITER_CHUNK_TARGET * 4)
			writer_flush(o->w); /* one block may hold millions */
	}
	/* Keep chunks of a few MiB: a big heap writes hundreds of them. */
	if (o->w->len > WRITER_CHUNK_TARGET * 4)
		writer_flush(o->w);
}

/* Read [lo, hi) for pointers into the heap, and write them as the edges of
 * source (kind 0 block, 1 root) number src, at offsets from lo. */
static void scan_range(struct out *o, const struct heap *h, int kind, uint64_t src, uint64_t lo, uint64_t hi)
{
	o->stamp_now++;
	o->private_mem = 1; /* a block */
	emit_edges(o, kind, src, collect_mapped(o, h, lo, lo, hi, 0));
}

/*
 * An attached process's heap holds the blocks the program allocated
 * before the attach, which the trace never saw, between the traced ones:
 * those are roots (their pointers keep blocks from after the attach
 * alive).  So in an attached process every root region is read except the
 * traced blocks in it (read as blocks): return its edges' count.  The
 * allocator's free memory is read too: its stale pointers can hide a
 * leak, never make one.
 */
static uint32_t collect_between_blocks(struct out *o, const struct heap *h, uint64_t lo, uint64_t hi)
{
	uint64_t i = 0, b = h->n, cursor = lo;
	uint32_t n = 0;

	while (i < b) { /* the first block at or after lo */
		uint64_t mid = (i + b) / 2;
		if (h->b[mid].addr < lo)
			i = mid + 1;
		else
			b = mid;
	}
	for (; cursor < hi; i++) {
		uint64_t gap_end = i < h->n && h->b[i].addr < hi ? h->b[i].addr : hi;
		if (gap_end > cursor)
			n = collect_guarded(o, h, lo, cursor, gap_end, n);
		if (gap_end >= hi)
			break;
		uint64_t end = (block_end(&h->b[i]) + 7) & ~7ull;
		cursor = end > gap_end ? end : gap_end;
	}
	return n;
}

static void write_root(struct out *o, uint32_t id, int kind, uint32_t thread, uint64_t lo, uint64_t hi,
		       const char *name, size_t name_len, uint64_t pc)
{
	graph_flush(o); /* its edges first: they keep their place */
	uint8_t *p = writer_room(o->w, encode_scan_root_max(name_len));

	if (p)
		writer_advance(o->w, encode_scan_root(p, id, kind, thread, lo, hi - lo, name, name_len, pc));
}

/*
 * roots_fn: read the root [lo, hi), write its edges, and describe it if
 * it held any.  The analyses name a root only as the start of an edge (an
 * ignored block, by its address: it is described always); most roots of
 * a process hold none (xz: 20 of 21, 800 bytes of SCAN_ROOT before
 * compression), and SCAN_END says how many were read.
 */
static void root(int kind, uint32_t thread, uint64_t lo, uint64_t hi, const char *name, size_t name_len, uint64_t pc,
		 void *arg)
{
	struct out *o = arg;

	if (hi <= lo)
		return;
	uint32_t id = o->nroots++, n;
	uint64_t edges = o->edges + o->g.edges;
	o->stamp_now++;
	o->kept = 0;
	o->private_mem = kind != HST_ROOT_DATA && !(name_len >= 11 && !memcmp(name, "[anon_shmem", 11));
	guard.lo = lo;
	guard.hi = hi;
	if (sigsetjmp(guard.jmp, 0))
		n = o->kept; /* the root vanished while read (guard_handler) */
	else if (backing_unknown_heap() && kind != HST_ROOT_REGS)
		n = collect_between_blocks(o, o->h, lo, hi);
	else
		n = collect_guarded(o, o->h, lo, lo, hi, 0);
	guard.hi = guard.lo;
	emit_edges(o, 1, id, n);
	/* (a graph flush moves edges from g to o->edges; one that lost them
	 * for want of memory changes the sum too) */
	int held = o->edges + o->g.edges != edges;
	if (held || kind == HST_ROOT_IGNORED)
		write_root(o, id, kind, thread, lo, hi, name, name_len, pc);
	/* a module's data that holds pointers: retainer paths name it */
	if (kind == HST_ROOT_DATA && held)
		modules_want(lo);
}

/*
 * roots_skip_fn: with allocator=system, memory that holds live blocks is
 * glibc's heap or one of its arenas: its free chunks keep stale pointers,
 * and its blocks are read as blocks.  (jemalloc's memory is known exactly,
 * arena_map.h: there a program's pool that the kernel merged with a
 * jemalloc mapping stays a root.)  Not in an attached process: there the
 * heap is a root between its traced blocks (scan_between_blocks).
 */
static int holds_block(uint64_t lo, uint64_t hi, void *arg)
{
	const struct heap *h = ((const struct out *)arg)->h;
	uint64_t a = 0, b = h->n;

	while (a < b) {
		uint64_t mid = (a + b) / 2;
		if (h->b[mid].addr < lo)
			a = mid + 1;
		else
			b = mid;
	}
	return a < h->n && h->b[a].addr < hi;
}

/* Gather the live blocks, sorted by address, into h (cap of them at most).
 * Return 0, or -1 without memory for the array. */
static int heap_build(struct heap *h, uint64_t cap)
{
	h->b = map_mem(cap * sizeof(*h->b) + 1);
	if (!h->b)
		return -1;
	struct fill_ctx fc = {h, cap};
	heapmap_each(fill_one, &fc);
	if (h->n && sort_blocks(h))
		h->n = 0;
	return 0;
}

/* Write the SCAN_BLOCKS records: every block, in address order. */
static void write_blocks(struct trace_writer *tw, const struct heap *h)
{
	struct encode_blocks bst = {0, 0};

	for (uint64_t i = 0; i < h->n; i += BLOCKS_PER_RECORD) {
		uint64_t n = h->n - i < BLOCKS_PER_RECORD ? h->n - i : BLOCKS_PER_RECORD;
		uint8_t *rec = writer_room(tw, encode_scan_blocks_max(n));
		if (!rec)
			continue; /* no memory: these blocks are lost (edges name them) */
		uint8_t *p = encode_scan_blocks_begin(rec, n);
		for (uint64_t k = i; k < i + n; k++)
			p = encode_scan_block(p, &bst, h->b[k].addr, h->b[k].info, h->b[k].seq);
		writer_advance(tw, encode_close(rec, p));
		if (tw->len > WRITER_CHUNK_TARGET * 4)
			writer_flush(tw);
	}
}

void scan_write(struct trace_writer *tw, const struct world *w, int reason, uint64_t snapshot,
		const char *ring_path)
{
	struct heap h = {0};
	struct roots_maps maps;
	struct map_hint hint = {0, 0, NULL};
	struct out o = {.w = tw, .h = &h, .pagemap = -1};
	uint64_t cap = heapmap_live_count();

	HS_ASSERT(tls.state == TS_INTERNAL);
	/* The heap model is complete: with every other thread stopped, every
	 * ring is drained. */
	for (uint32_t i = 0; i < rings_count() && w->stopped == w->nthreads; i++)
		/* relaxed: the owners are stopped */
		HS_ASSERT(atomic_load_rlx(&rings_get(i)->hdr->tail) == rings_get(i)->drained);
	if (heap_build(&h, cap))
		return;
	o.stamp = map_mem((cap + 1) * sizeof(uint32_t));
	o.slot = map_mem((cap + 1) * sizeof(uint32_t));
	if (!o.stamp || !o.slot)
		h.n = 0; /* no memory to scan with: the scan lists no blocks */
	if (h.n) {
		h.lo = h.b[0].addr;
		for (uint64_t i = 0; i < h.n; i++)
			if (block_end(&h.b[i]) > h.hi)
				h.hi = block_end(&h.b[i]);
		heap_index(&h);
	}
	/* The mappings, read once, after the scan's own memory is mapped. */
	if (roots_maps_read(&maps))
		memset(&maps, 0, sizeof(maps)); /* no roots but registers */
	h.maps = &maps;
	h.hint = &hint;
	h.py_type_type = python_type_type(&h.py_version);
	if (h.py_type_type && !(o.py = map_mem(cap + 1)))
		h.py_type_type = 0; /* no memory: pointers to objects stay interior */
	if ((o.g_mem = map_mem(encode_graph_mem())))
		encode_graph_init(&o.g, o.g_mem, h.n);

	uint8_t *p = writer_room(tw, ENCODE_SCAN_MAX);
	if (p)
		writer_advance(tw, encode_scan(p, clock_now_ns(), reason, h.n, snapshot, w->stopped,
								  w->nthreads - w->stopped));
	write_blocks(tw, &h);
	int saved_errno = errno;
	o.pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	/* Roots: registers and mappings, then the ignored blocks. */
	guard_begin();
	roots_each(&maps, w, ring_path, backing_is_system() && !backing_unknown_heap() ? holds_block : NULL, root, &o);
	const uintptr_t *ignored;
	uint32_t ni = roots_ignored(&ignored);
	for (uint32_t i = 0; i < ni; i++) {
		int64_t j = find_block(&h, ignored[i]);
		if (j >= 0)
			root(HST_ROOT_IGNORED, 0, h.b[j].addr, block_end(&h.b[j]), "[ignored]", 9, 0, &o);
	}
	guard_end();
	/* Blocks. */
	for (uint64_t i = 0; i < h.n; i++) {
		uint64_t size = heapmap_info(h.b[i].info)->size;
		scan_range(&o, &h, 0, i, h.b[i].addr, h.b[i].addr + size);
	}
	if (o.pagemap >= 0)
		close(o.pagemap);
	errno = saved_errno;
	graph_flush(&o);
	p = writer_room(tw, ENCODE_SCAN_END_MAX);
	if (p)
		writer_advance(tw, encode_scan_end(p, o.edges, o.scanned, clock_now_ns(), o.nroots));
	modules_emit(tw, tw->len, clock_now_ns()); /* those of the roots with pointers */
	roots_maps_free(&maps);
	arena_map_munmap(h.b, cap * sizeof(*h.b) + 1);
	if (h.first)
		arena_map_munmap(h.first, h.nfirst * sizeof(uint32_t));
	if (o.stamp)
		arena_map_munmap(o.stamp, (cap + 1) * sizeof(uint32_t));
	if (o.slot)
		arena_map_munmap(o.slot, (cap + 1) * sizeof(uint32_t));
	if (o.py)
		arena_map_munmap(o.py, cap + 1);
	if (o.edges_buf)
		arena_map_munmap(o.edges_buf, (size_t)o.edges_cap * sizeof(struct edge_out));
	if (o.g_mem)
		arena_map_munmap(o.g_mem, encode_graph_mem());
}
