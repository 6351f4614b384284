/*
 * scan.c - stop the world, enumerate roots, find pointers, write edges.
 *
 * Roots, as Valgrind's memcheck and LeakSanitizer take them: every
 * readable and writable mapping of the process (module data and bss,
 * anonymous memory such as custom pools, the main thread's TLS), except
 * the allocator's own memory (arena_map.h), the shim's own memory and the
 * ring file; thread stacks from each stopped thread's stack pointer up
 * (not the dead part below it); and each thread's saved registers.
 * Static TLS of other threads sits at the top of their stack mapping, and
 * dynamic TLS blocks are heap blocks reached from there, so both are
 * covered.
 */
#define _GNU_SOURCE
#include "shim/scan.h"

#include <dirent.h>
#include <link.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "shim/arena_map.h"
#include "shim/backing.h"
#include "shim/clock.h"
#include "shim/heapmap.h"
#include "shim/rings.h"
#include "shim/tls.h"
#include "trace/encode.h"
#include "trace/format.h"
#include "util/atomic.h"
#include "util/fmt.h"

#define STOP_TIMEOUT_MS 500 /* then threads that have not answered run on */
#define RED_ZONE 128	    /* bytes below the stack pointer a leaf may use */
#define EDGES_PER_RECORD 4096
#define IGNORED_MAX 65536

static int stop_signal;
static uintptr_t shim_tls_size;	  /* bytes of the shim's static TLS block */
static uintptr_t shim_data_lo, shim_data_hi; /* the shim's writable segments (data, bss), pages */
static intptr_t shim_tls_offset;  /* &tls - the block's start, the same in every thread */

/* Start of the calling thread's shim TLS block, or 0 if unknown. */
static uintptr_t shim_tls_block(void)
{
	return shim_tls_size ? (uintptr_t)&tls - (uintptr_t)shim_tls_offset : 0;
}

struct tls_find {
	uintptr_t self;	  /* an address in the shim's code */
	uintptr_t block;  /* the calling thread's TLS block of the shim */
	size_t size;	  /* its PT_TLS size */
};

static int find_tls(struct dl_phdr_info *info, size_t size, void *data)
{
	struct tls_find *f = data;
	int mine = 0;
	size_t tls_size = 0;

	(void)size;
	uintptr_t wlo = UINTPTR_MAX, whi = 0;
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
static struct scan_world *current;   /* the world being stopped, for the handler */
static _Atomic int release_word;     /* futex: 1 when stopped threads may go */
static _Atomic uint32_t stopped_word; /* futex: threads that answered */

static _Atomic uint32_t nignored;
static uintptr_t ignored[IGNORED_MAX];

/* The scan's own memory: mmap, noted as not a root. */
static void *map_mem(size_t bytes)
{
	return arena_map_mmap(bytes);
}

static void futex_wait(_Atomic int *word, int val, long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, ms >= 0 ? &ts : NULL, NULL, 0);
}

static void futex_wake_all(void *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
}

/* ---- stopping threads ------------------------------------------------------ */

/*
 * The stop signal's handler, in each stopped thread: note the registers,
 * say so, wait for the release.  Async-signal-safe: atomics and futex.
 */
static void stop_handler(int sig, siginfo_t *si, void *ctx)
{
	int saved = errno;
	struct scan_world *w = current;
	uint32_t tid = (uint32_t)syscall(SYS_gettid);

	(void)sig;
	(void)si;
	if (!w)
		goto out;
	for (uint32_t i = 0; i < w->nthreads; i++) {
		struct scan_thread *t = &w->threads[i];
		if (t->tid != tid)
			continue;
		const ucontext_t *uc = ctx;
		memcpy(t->regs, uc->uc_mcontext.gregs, sizeof(t->regs));
		t->sp = (uint64_t)uc->uc_mcontext.gregs[REG_RSP];
		t->tls_lo = shim_tls_block();
		/* release: regs and sp are written before the scanner sees 1 */
		atomic_store_rel(&t->state, 1);
		/* relaxed count; the futex wake below tells the scanner */
		atomic_fetch_add_rlx(&stopped_word, 1);
		futex_wake_all(&stopped_word);
		/* acquire: pairs with the release in scan_resume_world */
		while (!atomic_load_acq(&release_word))
			futex_wait(&release_word, 0, -1);
		break;
	}
out:
	errno = saved;
}

void scan_setup(int signal)
{
	struct sigaction sa;
	struct tls_find f = {(uintptr_t)scan_setup, 0, 0};

	dl_iterate_phdr(find_tls, &f);
	if (f.block && f.size) {
		shim_tls_offset = (intptr_t)((uintptr_t)&tls - f.block);
		shim_tls_size = f.size;
	}
	stop_signal = signal;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = stop_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask);
	sigaction(signal, &sa, NULL);
}

/* The thread index of tid, from the ring it owns, or 0. */
static uint32_t index_of_tid(uint32_t tid)
{
	uint32_t n = rings_count();

	for (uint32_t i = 0; i < n; i++) {
		struct ring *r = rings_get(i);
		/* acquire: see drain_ring in collector.c */
		if (atomic_load_acq(&r->state) == RING_OWNED && r->tid == tid)
			return r->thread_index;
	}
	return 0;
}

int scan_stop_world(struct scan_world *w, uint64_t self_sp)
{
	char buf[4096];
	uint32_t self = (uint32_t)syscall(SYS_gettid);
	pid_t pid = getpid();

	memset(w, 0, sizeof(*w));
	w->self_sp = self_sp;
	w->self_tls_lo = shim_tls_block();
	w->self_index = index_of_tid(self);
	w->threads = map_mem(SCAN_THREADS_MAX * sizeof(struct scan_thread));
	if (!w->threads)
		return -1;
	/* relaxed: no stopped thread exists yet */
	atomic_store_rlx(&release_word, 0);
	atomic_store_rlx(&stopped_word, 0);
	int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	for (;;) {
		long n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (long off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			uint64_t tid;
			off += d->d_reclen;
			if (fmt_parse_u64(d->d_name, strlen(d->d_name), &tid) || tid == self ||
			    w->nthreads == SCAN_THREADS_MAX)
				continue;
			struct scan_thread *t = &w->threads[w->nthreads++];
			t->tid = (uint32_t)tid;
			t->index = index_of_tid((uint32_t)tid);
		}
	}
	close(fd);
	current = w;
	for (uint32_t i = 0; i < w->nthreads; i++)
		if (syscall(SYS_tgkill, pid, w->threads[i].tid, stop_signal))
			atomic_store_rlx(&w->threads[i].state, 2); /* gone: relaxed, only we read it */
	/* Wait for the answers, up to STOP_TIMEOUT_MS: a thread that blocks
	 * the signal never answers, and its whole stack mapping is then read
	 * as an anonymous root instead. */
	for (int waited = 0; waited < STOP_TIMEOUT_MS; waited += 10) {
		uint32_t expect = 0;
		for (uint32_t i = 0; i < w->nthreads; i++)
			expect += atomic_load_rlx(&w->threads[i].state) != 2;
		/* acquire: pairs with the handlers' increments */
		uint32_t got = atomic_load_acq(&stopped_word);
		if (got >= expect)
			break;
		futex_wait((_Atomic int *)&stopped_word, (int)got, 10);
	}
	for (uint32_t i = 0; i < w->nthreads; i++)
		/* acquire: pairs with the release in stop_handler */
		w->stopped += atomic_load_acq(&w->threads[i].state) == 1;
	return 0;
}

void scan_resume_world(struct scan_world *w)
{
	/* release: the scan is over before a stopped thread goes on */
	atomic_store_rel(&release_word, 1);
	futex_wake_all(&release_word);
	/* A thread may still be entering the handler (slow to answer): it
	 * finds the release already set and returns at once, but it reads
	 * the world, so the world stays mapped. */
	current = NULL;
}

void scan_ignore(const void *p)
{
	/* relaxed: the index only has to be unique; the scan runs later */
	uint32_t i = atomic_fetch_add_rlx(&nignored, 1);
	if (i < IGNORED_MAX)
		ignored[i] = (uintptr_t)p;
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

#define RO_MAX 4096

struct heap {
	struct block *b; /* sorted by addr */
	uint64_t n;
	uint64_t lo, hi; /* lowest start, highest end */
	uint64_t ro[RO_MAX][2]; /* read-only file mappings (vtables live there) */
	uint32_t nro;
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

/* LSD radix sort of the blocks by address, 16 bits a pass. */
static int sort_blocks(struct heap *h)
{
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

/* The block containing v, or -1. */
static int64_t find_block(const struct heap *h, uint64_t v)
{
	if (v < h->lo || v >= h->hi)
		return -1;
	uint64_t lo = 0, hi = h->n;
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

static uint64_t hex(const char **p);

/* ---- memcheck's leak heuristics ---------------------------------------------- */

/* Is v the address of something in a read-only file mapping (a vtable)? */
static int in_readonly(const struct heap *h, uint64_t v)
{
	for (uint32_t i = 0; i < h->nro; i++)
		if (v >= h->ro[i][0] && v < h->ro[i][1])
			return 1;
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
 * Such edges are written with target offset 0.
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

/* Collect the read-only file mappings from /proc/self/maps. */
static void read_readonly(struct heap *h)
{
	size_t cap = 1 << 22, len = 0;
	char *text = map_mem(cap);
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	if (!text || fd < 0)
		goto out;
	for (ssize_t n; len < cap - 1 && (n = read(fd, text + len, cap - 1 - len)) > 0;)
		len += (size_t)n;
	text[len] = 0;
	for (char *line = text; line && *line && h->nro < RO_MAX;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		const char *p = line;
		uint64_t lo = hex(&p);
		p++;
		uint64_t hi = hex(&p);
		p++;
		if (p[0] == 'r' && p[1] != 'w' && strchr(line, '/')) {
			h->ro[h->nro][0] = lo;
			h->ro[h->nro][1] = hi;
			h->nro++;
		}
		line = nl ? nl + 1 : NULL;
	}
out:
	if (fd >= 0)
		close(fd);
	if (text)
		arena_map_munmap(text, cap);
}

/* ---- writing ------------------------------------------------------------------ */

/* One edge of the source being scanned. */
struct edge_out {
	uint64_t src_off; /* bytes from the source's start */
	uint64_t dst;	  /* target block */
	uint64_t dst_off; /* 0: a start pointer */
};

struct out {
	struct trace_writer *w;
	uint64_t edges;	  /* written */
	uint64_t scanned; /* bytes read */
	uint32_t nroots;  /* roots written */
	uint32_t *stamp;  /* by block: the source that last pointed to it */
	uint32_t *slot;	  /* by block: its edge in edges_buf for that source */
	uint32_t stamp_now; /* the source being scanned */
	struct edge_out *edges_buf; /* the current source's edges */
	uint32_t edges_cap;
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

/* Read [lo, hi) for pointers into the heap; write them as the edges of
 * source (kind 0 block, 1 root) number src, at offsets from lo. */
/*
 * Read [lo, hi) for pointers into the heap, and write them as the edges of
 * source (kind 0 block, 1 root) number src, at offsets from lo.  Each
 * target appears once per source: at the first offset that points to it,
 * with target offset 0 if any word points to its start (or is taken for
 * one by the heuristics), else the first interior offset.  A big block of
 * an interpreter's arena holds many pointers into the same few blocks;
 * the graph needs one edge each.
 */
static void scan_range(struct out *o, const struct heap *h, int kind, uint64_t src, uint64_t lo, uint64_t hi)
{
	uint32_t n = 0;

	o->stamp_now++;
	for (uint64_t a = (lo + 7) & ~7ull; a + 8 <= hi; a += 8) {
		uint64_t v = *(const uint64_t *)(uintptr_t)a;
		int64_t j = find_block(h, v);
		if (j < 0)
			continue;
		uint64_t dst_off = v - h->b[j].addr;
		if (dst_off && heuristic_start(h, &h->b[j], v))
			dst_off = 0;
		if (o->stamp[j] == o->stamp_now) {
			struct edge_out *e = &o->edges_buf[o->slot[j]];
			if (!dst_off)
				e->dst_off = 0;
			continue;
		}
		if (n == o->edges_cap && edges_grow(o))
			break;
		o->stamp[j] = o->stamp_now;
		o->slot[j] = n;
		o->edges_buf[n++] = (struct edge_out){a - lo, (uint64_t)j, dst_off};
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
	o->scanned += hi > lo ? hi - lo : 0;
	/* Keep chunks of a few MiB: a big heap writes hundreds of them. */
	if (o->w->len > WRITER_CHUNK_TARGET * 4)
		writer_flush(o->w);
}

static void write_root(struct out *o, int kind, uint32_t thread, uint64_t lo, uint64_t hi, const char *name,
		       size_t name_len)
{
	uint8_t *p = writer_room(o->w, encode_scan_root_max(name_len));

	if (p)
		writer_advance(o->w, encode_scan_root(p, o->nroots, kind, thread, lo, hi - lo, name, name_len));
	o->nroots++;
}

static void root(struct out *o, const struct heap *h, int kind, uint32_t thread, uint64_t lo, uint64_t hi,
		 const char *name, size_t name_len)
{
	if (hi <= lo)
		return;
	uint32_t id = o->nroots;
	write_root(o, kind, thread, lo, hi, name, name_len);
	scan_range(o, h, 1, id, lo, hi);
}

/* Does [lo, hi) contain the start of a live block? */
static int holds_block(const struct heap *h, uint64_t lo, uint64_t hi)
{
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

/* The thread whose stack pointer lies in [lo, hi), or NULL; self (the
 * scanner) is reported through *is_self. */
static const struct scan_thread *stack_owner(const struct scan_world *w, uint64_t lo, uint64_t hi, int *is_self)
{
	*is_self = w->self_sp >= lo && w->self_sp < hi;
	for (uint32_t i = 0; i < w->nthreads; i++) {
		const struct scan_thread *t = &w->threads[i];
		if (t->state == 1 && t->sp >= lo && t->sp < hi)
			return t;
	}
	return NULL;
}

/* Memory that is not a root (jemalloc's, the shim's), sorted. */
struct nonroots {
	struct { uint64_t lo, hi; } *r;
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

static uint64_t hex(const char **p)
{
	uint64_t v = 0;
	for (;; (*p)++) {
		char c = **p;
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (d < 0)
			return v;
		v = v * 16 + (uint64_t)d;
	}
}

/* Scan [lo, hi) as roots of the given kind, except the parts that are not
 * roots (jemalloc's and the shim's memory, the shim's TLS). */
static void root_except(struct out *o, const struct heap *h, const struct nonroots *nr, int kind, uint32_t thread,
			uint64_t lo, uint64_t hi, const char *name, size_t nl)
{
	uint64_t start = lo;

	for (uint32_t i = 0; i < nr->n && start < hi; i++) {
		if (nr->r[i].hi <= start || nr->r[i].lo >= hi)
			continue;
		if (nr->r[i].lo > start)
			root(o, h, kind, thread, start, nr->r[i].lo, name, nl);
		start = nr->r[i].hi;
	}
	if (start < hi)
		root(o, h, kind, thread, start, hi, name, nl);
}

/* Walk /proc/self/maps and scan every root mapping. */
static void scan_mappings(struct out *o, const struct heap *h, const struct scan_world *w, const char *ring_path)
{
	size_t cap = 1 << 22, len = 0;
	char *text = map_mem(cap);
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	char prev_path[512] = "", self[512] = "";
	uint64_t prev_hi = 0;
	struct nonroots nr = {map_mem(65536 * 2 * sizeof(uint64_t)), 0, 65536};

	if (nr.r) {
		arena_map_each(nonroot_add, &nr);
		/* The shim's static TLS in every thread: jemalloc's thread data
		 * is there, with caches keyed by block addresses. */
		for (uint32_t i = 0; i < w->nthreads; i++)
			if (w->threads[i].state == 1 && w->threads[i].tls_lo)
				nonroot_add(w->threads[i].tls_lo, w->threads[i].tls_lo + shim_tls_size, &nr);
		if (w->self_tls_lo)
			nonroot_add(w->self_tls_lo, w->self_tls_lo + shim_tls_size, &nr);
		if (shim_data_hi)
			nonroot_add(shim_data_lo, shim_data_hi, &nr);
		nonroots_sort(&nr);
	}

	if (!text || fd < 0)
		goto out;
	for (;;) {
		ssize_t n = read(fd, text + len, cap - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len >= cap - 1)
			break;
	}
	text[len] = 0;
	for (char *line = text; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		const char *p = line;
		uint64_t lo = hex(&p);
		p++;
		uint64_t hi = hex(&p);
		p++;
		char perm_r = p[0], perm_w = p[1];
		/* skip perms, offset, dev, inode to the path */
		for (int field = 0; field < 4 && *p; field++) {
			while (*p && *p != ' ')
				p++;
			while (*p == ' ')
				p++;
		}
		const char *path = p;
		size_t plen = strlen(path);
		line = nl ? nl + 1 : NULL;
		/* An anonymous mapping right after a module's file mapping is
		 * that module's bss: it keeps the module's name. */
		char name[512];
		size_t name_len = plen < sizeof(name) - 1 ? plen : sizeof(name) - 1;
		memcpy(name, path, name_len);
		if (!plen && prev_hi == lo && prev_path[0] == '/') {
			name_len = strlen(prev_path);
			memcpy(name, prev_path, name_len);
		}
		name[name_len] = 0;
		if (plen) {
			size_t k = plen < sizeof(prev_path) - 1 ? plen : sizeof(prev_path) - 1;
			memcpy(prev_path, path, k);
			prev_path[k] = 0;
		} else {
			prev_path[0] = 0;
		}
		prev_hi = hi;
		if (plen && path[0] == '/' && (uint64_t)(uintptr_t)scan_write >= lo && (uint64_t)(uintptr_t)scan_write < hi)
			memcpy(self, prev_path, sizeof(self)); /* our code: this path is the shim */
		if (perm_r != 'r' || perm_w != 'w')
			continue;
		/* The shim's own file mappings and the rings are not roots; its
		 * bss, an anonymous mapping that the kernel may have merged with
		 * the program's, is cut out exactly (shim_data, nonroots). */
		if (plen && ((self[0] && !strcmp(path, self)) || !strcmp(path, ring_path)))
			continue;
		if (!strncmp(path, "[v", 2)) /* [vvar] [vdso] [vsyscall] */
			continue;
		/* With allocator=system, memory that holds live blocks is
		 * glibc's heap or one of its arenas: its free chunks keep stale
		 * pointers, and its blocks are read as blocks.  (jemalloc's
		 * memory is known exactly, arena_map.h: there a program's pool
		 * that the kernel merged with a jemalloc mapping stays a root.) */
		if (backing_is_system() && holds_block(h, lo, hi))
			continue;
		int is_self;
		const struct scan_thread *t = stack_owner(w, lo, hi, &is_self);
		if (is_self) {
			root_except(o, h, &nr, HST_ROOT_STACK, w->self_index, w->self_sp, hi, "[stack]", 7);
			continue;
		}
		if (t) {
			root_except(o, h, &nr, HST_ROOT_STACK, t->index, t->sp - RED_ZONE > lo ? t->sp - RED_ZONE : lo,
				    hi, "[stack]", 7);
			continue;
		}
		if (name_len && name[0] == '/') {
			root_except(o, h, &nr, HST_ROOT_DATA, 0, lo, hi, name, name_len);
			continue;
		}
		root_except(o, h, &nr, HST_ROOT_ANON, 0, lo, hi, name_len ? name : "[anon]", name_len ? name_len : 6);
	}
out:
	if (fd >= 0)
		close(fd);
	if (text)
		arena_map_munmap(text, cap);
	if (nr.r)
		arena_map_munmap(nr.r, 65536 * 2 * sizeof(uint64_t));
}

void scan_write(struct trace_writer *tw, struct scan_world *w, int reason, const char *ring_path)
{
	static struct heap h; /* 64 KiB of ranges: not on the stack */
	struct out o = {tw, 0, 0, 0, NULL, NULL, 0, NULL, 0};
	uint64_t cap = heapmap_live_count();

	memset(&h, 0, sizeof(h));
	read_readonly(&h);

	h.b = map_mem(cap * sizeof(*h.b) + 1);
	if (!h.b)
		return;
	struct fill_ctx fc = {&h, cap};
	heapmap_each(fill_one, &fc);
	if (h.n && sort_blocks(&h))
		h.n = 0;
	o.stamp = map_mem((cap + 1) * sizeof(uint32_t));
	o.slot = map_mem((cap + 1) * sizeof(uint32_t));
	if (!o.stamp || !o.slot)
		h.n = 0; /* no memory to scan with: the scan lists no blocks */
	if (h.n) {
		h.lo = h.b[0].addr;
		for (uint64_t i = 0; i < h.n; i++)
			if (block_end(&h.b[i]) > h.hi)
				h.hi = block_end(&h.b[i]);
	}

	uint8_t *p = writer_room(tw, ENCODE_SCAN_MAX);
	if (p)
		writer_advance(tw, encode_scan(p, clock_now_ns(), reason, h.n, w->stopped, w->nthreads - w->stopped));

	struct encode_blocks bst = {0, 0};
	for (uint64_t i = 0; i < h.n; i += 4096) {
		uint64_t n = h.n - i < 4096 ? h.n - i : 4096;
		uint8_t *rec = writer_room(tw, encode_scan_blocks_max(n));
		if (!rec)
			continue; /* no memory: these blocks are lost (edges name them) */
		p = encode_scan_blocks_begin(rec, n);
		for (uint64_t k = i; k < i + n; k++)
			p = encode_scan_block(p, &bst, h.b[k].addr, h.b[k].info, h.b[k].seq);
		writer_advance(tw, encode_close(rec, p));
		if (tw->len > WRITER_CHUNK_TARGET * 4)
			writer_flush(tw);
	}

	/* Roots: registers of every stopped thread, then the mappings. */
	for (uint32_t i = 0; i < w->nthreads; i++) {
		const struct scan_thread *t = &w->threads[i];
		if (t->state == 1)
			root(&o, &h, HST_ROOT_REGS, t->index, (uint64_t)(uintptr_t)t->regs,
			     (uint64_t)(uintptr_t)t->regs + sizeof(t->regs), "[registers]", 11);
	}
	scan_mappings(&o, &h, w, ring_path);
	/* Ignored blocks are roots. */
	uint32_t ni = atomic_load_rlx(&nignored); /* relaxed: the world is stopped */
	for (uint32_t i = 0; i < ni && i < IGNORED_MAX; i++) {
		int64_t j = find_block(&h, ignored[i]);
		if (j >= 0)
			root(&o, &h, HST_ROOT_IGNORED, 0, h.b[j].addr, block_end(&h.b[j]), "[ignored]", 9);
	}
	/* Blocks. */
	for (uint64_t i = 0; i < h.n; i++) {
		uint64_t size = heapmap_info(h.b[i].info)->size;
		scan_range(&o, &h, 0, i, h.b[i].addr, h.b[i].addr + size);
	}
	p = writer_room(tw, ENCODE_SCAN_END_MAX);
	if (p)
		writer_advance(tw, encode_scan_end(p, o.edges, o.scanned, clock_now_ns()));
	arena_map_munmap(h.b, cap * sizeof(*h.b) + 1);
	if (o.stamp)
		arena_map_munmap(o.stamp, (cap + 1) * sizeof(uint32_t));
	if (o.slot)
		arena_map_munmap(o.slot, (cap + 1) * sizeof(uint32_t));
	if (o.edges_buf)
		arena_map_munmap(o.edges_buf, (size_t)o.edges_cap * sizeof(struct edge_out));
}
