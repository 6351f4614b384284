/*
 * collector.c - drain rings, merge, encode, write chunks.
 * Runs on its own thread, marked TS_INTERNAL: whatever it or the libraries
 * it calls allocate comes from the private arena and is never recorded.
 */
#define _GNU_SOURCE
#include "shim/collector.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "shim/backing.h"
#include "shim/clock.h"
#include "shim/control.h"
#include "shim/heapmap.h"
#include "shim/log.h"
#include "shim/modules.h"
#include "shim/rings.h"
#include "shim/stack.h"
#include "shim/tls.h"
#include "trace/format.h"
#include "trace/writer.h"
#include "util/atomic.h"
#include "util/varint.h"

#define CYCLE_BUDGET 65536   /* records drained per cycle, all rings */
#define EVENTS_PER_RECORD 65536
/* Event times are kept to 10 us: enough to place a snapshot or draw memory
 * over time (the order of events is the file's), and finer ticks cost
 * about a byte an event in noise that does not compress. */
#define TICK_NS 10000
#define SNAPS_PER_CYCLE 64

static struct trace_writer w;
static pthread_t collector_thread;
static _Atomic int running;  /* a collector thread is in its loop */
static _Atomic int sleeping; /* the collector waits on this futex word */
static _Atomic int stopping; /* collector_finish asked the loop to end */
static _Atomic uint64_t dropped_events;
static uint32_t flush_ms = 20;
static uint64_t interval_ns, next_interval_ns;
static uint32_t stacks_written; /* ids 1..stacks_written are in the file */
static uint32_t snap_index;	/* snapshots written */
static uint64_t events_written;
static const char *exe_path;
static int inherit_pending; /* a forked child must write its inherited blocks */

/* Records copied out of the rings this cycle. */
static struct ring_rec *scratch;
static size_t scratch_cap; /* records */

struct slice {
	struct ring *r;	   /* source ring */
	uint32_t thread;   /* thread index of its records */
	size_t at, end;	   /* records in scratch: [at, end) */
	uint64_t drained;  /* ring position after this slice */
	int retired;	   /* the ring's owner has exited */
};
static struct slice slices[RINGS_MAX];

struct snap {
	uint64_t ts;	   /* time of the snapshot */
	int trigger;	   /* enum hst_snap_trigger */
	const char *label; /* NUL-terminated, may be "" */
	uint32_t label_len;
};

static void *ialloc(size_t n)
{
	return backing_ialloc(n);
}

static void *irealloc(void *p, size_t n)
{
	return backing_irealloc(p, n);
}

static void ifree(void *p)
{
	backing_ifree(p);
}

int collector_open(const struct options *opts, const char *exe, uint32_t pid, uint32_t ppid,
		   uint64_t nonce, char *path, size_t cap)
{
	struct timespec rt;
	const char *slash = strrchr(exe, '/');

	clock_gettime(CLOCK_REALTIME, &rt);
	writer_init(&w, opts->zstd_level, ialloc, irealloc, ifree);
	flush_ms = opts->flush_ms;
	interval_ns = opts->snapshot_interval_ns;
	exe_path = exe;
	return writer_create(&w, opts->output, slash ? slash + 1 : exe, pid, ppid, nonce,
			     (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec, clock_now_ns(),
			     path, cap);
}

bool collector_running(void)
{
	/* relaxed: a hint; ring_wait re-checks on every round */
	return atomic_load_rlx(&running);
}

void collector_wake(void)
{
	/* relaxed load first: the exchange (and the system call) only when
	 * the collector actually sleeps */
	if (atomic_load_rlx(&sleeping) && atomic_exchange_acq_rel(&sleeping, 0))
		syscall(SYS_futex, &sleeping, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void collector_pause(void)
{
	struct timespec ts = {0, 200000};
	nanosleep(&ts, NULL);
}

void collector_count_drop(void)
{
	/* relaxed: a statistic */
	atomic_fetch_add_rlx(&dropped_events, 1);
}

/* Sleep until woken or flush_ms passes. */
static void nap(void)
{
	struct timespec ts = {flush_ms / 1000, (long)(flush_ms % 1000) * 1000000L};

	/* acq_rel: a producer's wake after this store is not lost (or the
	 * timeout bounds the delay if it races) */
	atomic_exchange_acq_rel(&sleeping, 1);
	syscall(SYS_futex, &sleeping, FUTEX_WAIT_PRIVATE, 1, &ts, NULL, 0);
	atomic_store_rlx(&sleeping, 0); /* relaxed: only a hint for wakers */
}

static void emit_stacks(void)
{
	uint32_t n = stack_count();

	for (uint32_t id = stacks_written + 1; id <= n; id++) {
		const struct ringfile_stack_entry *e = stack_get(id);
		size_t off = writer_begin(&w, HST_REC_STACK);
		writer_v(&w, id);
		writer_v(&w, e->depth);
		for (unsigned i = 0; i < e->depth; i++) {
			if (i == 0)
				writer_v(&w, e->ips[0]);
			else
				writer_z(&w, (int64_t)(e->ips[i] - e->ips[i - 1]));
		}
		writer_end(&w, off);
	}
	stacks_written = n;
}

static void emit_thread(struct ring *r)
{
	size_t off = writer_begin(&w, HST_REC_THREAD);
	writer_v(&w, r->thread_index);
	writer_v(&w, r->tid);
	writer_v(&w, r->start_ns);
	writer_end(&w, off);
	r->announced = r->thread_index;
}

static void emit_thread_end(uint32_t index, uint64_t end_ns, const char *name)
{
	size_t off = writer_begin(&w, HST_REC_THREAD_END);
	writer_v(&w, index);
	writer_v(&w, end_ns);
	writer_s(&w, name, strnlen(name, 16));
	writer_end(&w, off);
}

static void emit_snapshot(const struct snap *s)
{
	size_t off = writer_begin(&w, HST_REC_SNAPSHOT);
	writer_v(&w, s->ts);
	writer_v(&w, snap_index++);
	writer_v(&w, (uint64_t)s->trigger);
	writer_s(&w, s->label, s->label_len);
	writer_end(&w, off);
}

/* Copy what ring r holds (up to budget records) into scratch. */
static size_t drain_ring(struct ring *r, size_t nslices, size_t *used, size_t budget)
{
	/* acquire: a RETIRED owner stored its last tail before the state */
	int state = atomic_load_acq(&r->state);
	if (state == RING_FREE)
		return nslices;
	/* (C) acquire: pairs with (B) in ring_commit; records below tail are
	 * complete */
	uint64_t tail = atomic_load_acq(&r->hdr->tail);
	uint64_t n = tail - r->drained;
	int retired = state == RING_RETIRED;
	if (n > budget) {
		n = budget;
		retired = 0; /* its end waits for the rest */
	}
	if (!n && !retired)
		return nslices;
	if (r->thread_index && r->announced != r->thread_index)
		emit_thread(r);
	if (*used + n > scratch_cap) {
		size_t cap = scratch_cap ? scratch_cap : 65536;
		while (cap < *used + n)
			cap *= 2;
		struct ring_rec *s = backing_irealloc(scratch, cap * sizeof(*s));
		if (!s)
			return nslices;
		scratch = s;
		scratch_cap = cap;
	}
	for (uint64_t i = 0; i < n; i++)
		scratch[*used + i] = r->slots[(r->drained + i) & r->mask];
	struct slice *sl = &slices[nslices];
	sl->r = r;
	sl->thread = r->thread_index;
	sl->at = *used;
	sl->end = *used + n;
	sl->drained = r->drained + n;
	sl->retired = retired;
	*used += n;
	return nslices + 1;
}

/* An event with its blocks resolved to allocinfo ids, ready to encode. */
struct resolved {
	uint64_t ts;	 /* ns */
	uint32_t thread; /* thread index */
	uint32_t a;	 /* allocinfo: the block (alloc, free) or the old one (realloc) */
	uint32_t b;	 /* realloc: the new block's allocinfo */
	uint8_t kind;	 /* enum hst_event_kind, maybe | HST_EV_IMPLICIT */
};
static struct resolved *res;
static size_t res_cap; /* entries */

static int res_push(size_t *n, struct resolved r)
{
	if (*n == res_cap) {
		size_t cap = res_cap ? res_cap * 2 : 65536;
		struct resolved *p = backing_irealloc(res, cap * sizeof(*p));
		if (!p)
			return -1;
		res = p;
		res_cap = cap;
	}
	res[(*n)++] = r;
	return 0;
}

/* Track one block allocated at addr; an implicit free of the block it
 * displaces goes first. */
static uint32_t resolve_alloc(size_t *n, const struct ring_rec *ev, uint32_t thread)
{
	uint32_t dropped;
	uint32_t id = heapmap_alloc(ev->addr, ev->size, ev->stack, ev->ts / 1000, &dropped);

	if (dropped)
		res_push(n, (struct resolved){ev->ts, thread, dropped, 0, HST_EV_FREE | HST_EV_IMPLICIT});
	return id;
}

/*
 * Merge the slices by time and resolve every event against the heap model,
 * appending to res after its first n entries.  Return the new count.
 */
static size_t resolve_events(size_t nslices, size_t n)
{
	for (;;) {
		struct slice *best = NULL;
		for (size_t i = 0; i < nslices; i++) {
			struct slice *s = &slices[i];
			if (s->at < s->end && (!best || scratch[s->at].ts < scratch[best->at].ts))
				best = s;
		}
		if (!best)
			return n;
		const struct ring_rec *rec = &scratch[best->at], *ev = rec;
		unsigned nrec = 1;
		if ((rec->flags & RING_REC_OLD) && best->at + 1 < best->end) {
			ev = rec + 1;
			nrec = 2;
		}
		best->at += nrec;
		struct resolved r = {ev->ts, best->thread, 0, 0, ev->kind};
		switch (hst_event_shape(ev->kind)) {
		case HST_SHAPE_ALLOC:
			r.a = resolve_alloc(&n, ev, best->thread);
			break;
		case HST_SHAPE_FREE:
			r.a = heapmap_free(ev->addr, ev->ts / 1000);
			break;
		case HST_SHAPE_REALLOC:
			/* rec->size of the first record is the free lag (ns) */
			r.a = nrec == 2 ? heapmap_free(rec->addr, (ev->ts - rec->size) / 1000) : 0;
			r.b = ev->addr ? resolve_alloc(&n, ev, best->thread) : 0;
			break;
		case HST_SHAPE_ADDR:
			break;
		}
		if (res_push(&n, r))
			return n;
	}
}

static void emit_allocinfo(uint32_t id)
{
	struct heapmap_info *in;

	if (!id || (in = heapmap_info(id))->written)
		return;
	size_t off = writer_begin(&w, HST_REC_ALLOCINFO);
	writer_v(&w, id);
	writer_v(&w, in->size);
	writer_v(&w, in->stack);
	writer_end(&w, off);
	in->written = 1;
}

/* The four columns of an EVENTS record being built (format.h). */
struct column {
	uint8_t *p;   /* bytes */
	size_t len;   /* used */
	size_t cap;   /* allocated */
};
static struct column cols[4]; /* kinds, threads, times, blocks */

static uint8_t *col_room(struct column *c, size_t n)
{
	if (c->len + n > c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 65536;
		while (cap < c->len + n)
			cap *= 2;
		uint8_t *p = backing_irealloc(c->p, cap);
		if (!p)
			return NULL;
		c->p = p;
		c->cap = cap;
	}
	return c->p + c->len;
}

static void col_v(struct column *c, uint64_t v)
{
	uint8_t *p = col_room(c, VARINT_MAX);
	if (p)
		c->len = (size_t)(varint_put(p, v) - c->p);
}

/* State of the EVENTS record being built. */
struct evrec {
	uint64_t base;	  /* time of its first event, ns */
	uint32_t count;	  /* events in it */
	uint64_t prev_us; /* time delta base, ticks */
};

static void evrec_add(struct evrec *e, const struct resolved *r)
{
	uint64_t us = r->ts / TICK_NS;
	uint8_t *k = col_room(&cols[0], 1);

	if (!k)
		return;
	if (!e->count) {
		e->base = r->ts;
		e->prev_us = us;
	}
	*k = r->kind;
	cols[0].len++;
	col_v(&cols[1], r->thread);
	col_v(&cols[2], zigzag_enc((int64_t)(us - e->prev_us)));
	e->prev_us = us;
	switch (hst_event_shape(r->kind & HST_EV_KIND_MASK)) {
	case HST_SHAPE_ALLOC:
	case HST_SHAPE_FREE:
		col_v(&cols[3], r->a);
		break;
	case HST_SHAPE_REALLOC:
		col_v(&cols[3], r->a);
		col_v(&cols[3], r->b);
		break;
	case HST_SHAPE_ADDR:
		break;
	}
	e->count++;
}

static void evrec_flush(struct evrec *e)
{
	if (!e->count)
		return;
	size_t off = writer_begin(&w, HST_REC_EVENTS);
	writer_v(&w, e->base);
	writer_v(&w, e->count);
	writer_v(&w, TICK_NS);
	for (int i = 0; i < 4; i++) {
		writer_v(&w, cols[i].len);
		writer_raw(&w, cols[i].p, cols[i].len);
		cols[i].len = 0;
	}
	writer_end(&w, off);
	e->count = 0;
}

static void inherit_one(uint64_t addr, uint32_t info, void *arg)
{
	size_t *n = arg;

	(void)addr;
	res_push(n, (struct resolved){0, 0, info, 0, HST_EV_MALLOC | HST_EV_IMPLICIT});
}

/* Resolved implicit allocations for every block a forked child inherited,
 * stamped now.  Return how many. */
static size_t resolve_inherited(uint64_t now)
{
	size_t n = 0;

	heapmap_each(inherit_one, &n);
	for (size_t i = 0; i < n; i++)
		res[i].ts = now;
	return n;
}

/* Write the resolved events, with snaps (sorted by time) in place. */
static void emit_events(size_t nres, struct snap *snaps, size_t nsnaps)
{
	struct evrec e = {0};
	size_t next_snap = 0;

	for (size_t i = 0; i < nres; i++) {
		emit_allocinfo(res[i].a);
		emit_allocinfo(res[i].b);
	}
	for (size_t i = 0; i < nres; i++) {
		const struct resolved *r = &res[i];
		while (next_snap < nsnaps && snaps[next_snap].ts < r->ts) {
			evrec_flush(&e);
			emit_snapshot(&snaps[next_snap++]);
		}
		evrec_add(&e, r);
		if (!(r->kind & HST_EV_IMPLICIT))
			events_written++;
		if (e.count == EVENTS_PER_RECORD)
			evrec_flush(&e);
	}
	evrec_flush(&e);
	while (next_snap < nsnaps)
		emit_snapshot(&snaps[next_snap++]);
}

static void emit_progress(size_t nslices)
{
	if (!nslices)
		return;
	size_t off = writer_begin(&w, HST_REC_PROGRESS);
	writer_v(&w, nslices);
	for (size_t i = 0; i < nslices; i++) {
		writer_v(&w, slices[i].r->hdr->ring_id);
		writer_v(&w, slices[i].drained);
	}
	writer_end(&w, off);
}

static void sort_snaps(struct snap *s, size_t n)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && s[j].ts < s[j - 1].ts; j--) {
			struct snap t = s[j];
			s[j] = s[j - 1];
			s[j - 1] = t;
		}
}

/*
 * One cycle.  Return the number of records drained; more_pending is set
 * when the budget left records in some ring.
 */
static size_t cycle(bool *more_pending, struct snap *extra)
{
	struct snap snaps[SNAPS_PER_CYCLE];
	size_t nsnaps = 0, used = 0, nslices = 0;
	struct control_item *ctl = control_take();
	uint64_t now = clock_now_ns(), sig_ts;

	if (modules_changed()) {
		struct control_item *m = modules_capture(now, exe_path);
		if (m) {
			struct control_item **tail = &ctl;
			while (*tail)
				tail = &(*tail)->next;
			*tail = m;
		}
	}
	for (struct control_item *it = ctl; it; it = it->next) {
		if (it->tag == HST_REC_SNAPSHOT) {
			if (nsnaps < SNAPS_PER_CYCLE)
				snaps[nsnaps++] = (struct snap){it->ts, HST_SNAP_API, (const char *)it->body, it->len};
			continue;
		}
		size_t off = writer_begin(&w, it->tag);
		writer_raw(&w, it->body, it->len);
		writer_end(&w, off);
	}
	while (nsnaps < SNAPS_PER_CYCLE && (sig_ts = control_take_signal_snapshot()))
		snaps[nsnaps++] = (struct snap){sig_ts, HST_SNAP_SIGNAL, "", 0};
	if (interval_ns && now >= next_interval_ns) {
		if (next_interval_ns && nsnaps < SNAPS_PER_CYCLE)
			snaps[nsnaps++] = (struct snap){now, HST_SNAP_INTERVAL, "", 0};
		next_interval_ns = now + interval_ns;
	}
	if (extra && nsnaps < SNAPS_PER_CYCLE)
		snaps[nsnaps++] = *extra;
	sort_snaps(snaps, nsnaps);

	*more_pending = false;
	uint32_t nrings = rings_count();
	for (uint32_t i = 0; i < nrings; i++) {
		size_t budget = used < CYCLE_BUDGET ? CYCLE_BUDGET - used : 0;
		struct ring *r = rings_get(i);
		nslices = drain_ring(r, nslices, &used, budget);
		if (!budget && atomic_load_rlx(&r->hdr->tail) != r->drained) /* relaxed: a hint */
			*more_pending = true;
		else if (nslices && slices[nslices - 1].r == r && !slices[nslices - 1].retired &&
			 atomic_load_acq(&r->state) == RING_RETIRED) /* acquire: see drain_ring */
			*more_pending = true;
	}
	size_t nres = 0;
	if (inherit_pending) {
		nres = resolve_inherited(now);
		inherit_pending = 0;
	}
	nres = resolve_events(nslices, nres);
	emit_stacks();
	emit_events(nres, snaps, nsnaps);
	for (size_t i = 0; i < nslices; i++)
		if (slices[i].retired && slices[i].thread)
			emit_thread_end(slices[i].thread, slices[i].r->end_ns, slices[i].r->name);
	emit_progress(nslices);
	writer_flush(&w);
	for (size_t i = 0; i < nslices; i++) {
		struct ring *r = slices[i].r;
		r->drained = slices[i].drained;
		/* (D) release: the chunk holding these records is written; pairs
		 * with (A) in ring_reserve */
		atomic_store_rel(&r->hdr->head, r->drained);
		if (slices[i].retired) {
			r->announced = 0;
			/* release: the ring is empty and written out before a
			 * new owner can claim it */
			atomic_store_rel(&r->state, RING_FREE);
		}
	}
	while (ctl) {
		struct control_item *next = ctl->next;
		control_free(ctl);
		ctl = next;
	}
	return used;
}

static void *collector_main(void *arg)
{
	sigset_t all;

	(void)arg;
	tls.state = TS_INTERNAL;
	/* The program's signal handlers must never run on this thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	prctl(PR_SET_NAME, "heapsnap", 0, 0, 0);
	/* relaxed: the loop condition; finish waits with pthread_join */
	while (!atomic_load_rlx(&stopping)) {
		bool more;
		cycle(&more, NULL);
		if (!more)
			nap();
	}
	return NULL;
}

int collector_start(void)
{
	pthread_attr_t attr;

	/* relaxed: set before the thread exists; producers only read a hint */
	atomic_store_rlx(&stopping, 0);
	atomic_store_rlx(&running, 1);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	int rc = pthread_create(&collector_thread, &attr, collector_main, NULL);
	pthread_attr_destroy(&attr);
	if (rc) {
		atomic_store_rlx(&running, 0);
		return -rc;
	}
	return 0;
}

/* Read /proc/self/task/<tid>/comm into name[16]. */
static void thread_name(uint32_t tid, char *name)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%u/comm", tid);
	FILE *f = fopen(path, "re");
	name[0] = 0;
	if (!f)
		return;
	if (fgets(name, 16, f))
		name[strcspn(name, "\n")] = 0;
	fclose(f);
}

void collector_finish(int reason, int status)
{
	/* relaxed: a plain flag; the join below orders everything */
	if (atomic_load_rlx(&running)) {
		atomic_store_rlx(&stopping, 1);
		collector_wake();
		pthread_join(collector_thread, NULL);
		atomic_store_rlx(&running, 0);
	}
	/* Drain until a cycle finds nothing: threads may still be running. */
	bool more = true;
	for (int rounds = 0; rounds < 64; rounds++)
		if (!cycle(&more, NULL) && !more)
			break;
	struct snap exit_snap = {clock_now_ns(), HST_SNAP_EXIT, "exit", 4};
	cycle(&more, reason == HST_END_EXEC ? NULL : &exit_snap);

	/* Name the threads that are still alive. */
	uint32_t nrings = rings_count();
	for (uint32_t i = 0; i < nrings && reason != HST_END_EXEC; i++) {
		struct ring *r = rings_get(i);
		/* acquire: see drain_ring */
		if (atomic_load_acq(&r->state) != RING_OWNED || !r->thread_index)
			continue;
		if (r->announced != r->thread_index)
			emit_thread(r);
		char name[16];
		thread_name(r->tid, name);
		emit_thread_end(r->thread_index, exit_snap.ts, name);
	}
	size_t off = writer_begin(&w, HST_REC_END);
	writer_v(&w, clock_now_ns());
	writer_v(&w, (uint64_t)reason);
	writer_z(&w, status);
	writer_v(&w, events_written);
	writer_v(&w, atomic_load_rlx(&dropped_events)); /* relaxed: a statistic */
	writer_end(&w, off);
	if (reason == HST_END_EXEC)
		writer_flush(&w);
	else
		writer_close(&w);
}

void collector_forget(void)
{
	/* The child inherits the parent's live blocks: its trace starts with
	 * them (implicit allocations), and every allocinfo is new to it. */
	heapmap_unwrite_all();
	inherit_pending = 1;
	/* relaxed: the forked child has one thread */
	atomic_store_rlx(&running, 0);
	atomic_store_rlx(&sleeping, 0);
	atomic_store_rlx(&stopping, 0);
	if (w.fd >= 0)
		close(w.fd);
	w.fd = -1;
	w.len = 0;
	w.error = 0;
	stacks_written = 0;
	snap_index = 0;
	events_written = 0;
	atomic_store_rlx(&dropped_events, 0);
	next_interval_ns = 0;
	uint32_t nrings = rings_count();
	for (uint32_t i = 0; i < nrings; i++)
		rings_get(i)->announced = 0;
}
