/*
 * collector.c - drain rings, merge, encode, write chunks.
 * Runs on its own thread, marked TS_INTERNAL: whatever it or the libraries
 * it calls allocate comes from the private arena and is never recorded.
 */
#define _GNU_SOURCE
#include "shim/collector.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "shim/arena_map.h"
#include "shim/backing.h"
#include "shim/clock.h"
#include "shim/control.h"
#include "shim/heapmap.h"
#include "shim/log.h"
#include "shim/modules.h"
#include "shim/recent.h"
#include "shim/python.h"
#include "shim/rings.h"
#include "shim/scan.h"
#include "shim/shim.h"
#include "shim/stack.h"
#include "shim/tls.h"
#include "shim/world.h"
#include "trace/encode.h"
#include "trace/format.h"
#include "trace/writer.h"
#include "util/assert.h"
#include "util/atomic.h"
#include "util/fmt.h"
#include "util/varint.h"

#define CYCLE_BUDGET 65536   /* records drained per cycle, all rings */
#define EVENTS_PER_RECORD 65536
/* An EVENTS_THREADS record (two threads' events or more) holds fewer:
 * zstd finds a consumer's frees again in its producer's allocations,
 * which come a whole slot's columns before them, only within its window
 * (64 KiB when the trace compresses poorly).  One prodcons trace's
 * events re-encoded by thread at level 3: 2.54 MB in records of a
 * cycle, 1.83 in records of 8192 events, 1.77 of 4096. */
#define THREADS_EVENTS_PER_RECORD 8192
/* Event times are kept to 100 us: enough to place a snapshot or draw memory
 * over time (the order of events is the file's), and finer ticks cost
 * about a byte an event in noise that does not compress. */
#define TICK_NS 100000
#define SNAPS_PER_CYCLE 64

#define COLLECTOR_STACK (512 * 1024)

/*
 * What a cycle takes from one ring: positions [pos, end).  The records stay
 * in the ring while the cycle merges them: the ring's head moves only after
 * the chunk that holds them is written.
 */
struct slice {
	struct ring *r;	   /* source ring */
	uint32_t thread;   /* thread index of its records */
	uint64_t pos, end; /* records still to merge */
	int retired;	   /* the owner has exited and this is all it left */
	uint32_t who;	   /* what the threads column calls it: thread, or
			    * its slot in an EVENTS_THREADS record (set by
			    * emit_events) */
};

/* RSS samples kept between two cycles: a cycle comes every flush_ms
 * (10000 at most), a sample every rss_ms; past this many the oldest
 * unwritten sample is replaced (its value held until the next anyway).
 * Half of it is more than RSS_HOLD_NS holds at the default rss_ms (10),
 * so that a program that allocates little writes its samples in a chunk
 * every RSS_HOLD_NS, not every 256 samples.  8 KiB. */
#define RSS_PENDING 512

/* Samples wait for a chunk that has other records to write, or at most
 * this long (or until RSS_PENDING / 2 are waiting): a chunk costs a
 * 24-byte header and a zstd block (its own literal table: 30 to 60 bytes
 * more than the samples alone), and a program that allocates little (xz)
 * would write little else.  The samples held are what a SIGKILL loses
 * (the events are in the ring file): two seconds of a memory curve at
 * most, for 3 or 4 chunks fewer in a short run. */
#define RSS_HOLD_NS 2000000000ull

/*
 * A quiet program's events wait in the rings (the ring file keeps them
 * for a crash) until a cycle has this much to write, or this long after
 * the last cycle: every chunk costs a 24-byte header and a zstd block of
 * its own, and a program that allocates a few times a second (xz) wrote a
 * chunk for each burst (xz: 4 chunks in its second).  Anything else the
 * collector is asked for (a snapshot, a thread's end, a full ring, an
 * unload) is written at once.  As long as RSS_HOLD_NS: a quiet program
 * writes a chunk every two seconds.
 */
#define QUIET_HOLD_NS 2000000000ull
#define QUIET_RECORDS 4096

/* At the end, the records of the last cycles wait for the exit scan's
 * chunk while they take less than this (collector_finish). */
#define FINISH_HOLD_BYTES (256u << 10)

/* A sample's time is kept to this grain (2^20 ns, about 1 ms): samples
 * come every rss_ms (10 by default), and a time delta that is a small
 * multiple of the grain repeats, where its nanoseconds were noise that
 * cost zstd three bytes a sample (xz's 42 samples: 250 bytes). */
#define RSS_TIME_GRAIN (1ull << 20)

struct snap {
	uint64_t ts;	   /* time of the snapshot */
	int trigger;	   /* enum hst_snap_trigger */
	const char *label; /* NUL-terminated, may be "" */
	uint32_t label_len;
};

/* Recently written stacks, the candidates a new stack may share its
 * outermost frames with. */
#define STACK_REFS 64

/* What the collector knows of the trace it writes: a forked child, which
 * writes a trace of its own, starts this afresh in one assignment. */
struct collector_trace {
	struct trace_writer w;		    /* the trace file */
	uint32_t flush_ms;		    /* cycle period (flush_ms=) */
	uint32_t rss_ms;		    /* RSS sampling period (rss_ms=), 0: off */
	uint64_t next_rss_ns;		    /* when the next sample is due */
	uint64_t last_cycle_ns;		    /* when the last cycle began */
	uint64_t last_rss;		    /* the last sample taken, bytes */
	struct encode_rss_sample rss_written; /* the last sample written
					       * (RSS_SERIES's base) */
	uint32_t nrss;			    /* samples taken, not written yet */
	struct encode_rss_sample rss[RSS_PENDING]; /* those samples */
	uint64_t interval_ns;		    /* snapshot_interval=, 0: none */
	uint64_t next_interval_ns;	    /* next interval snapshot, 0: not armed */
	uint32_t stacks_written;	    /* ids 1..stacks_written are in the file */
	uint64_t stack_first;		    /* the last STACK's first own frame */
	uint32_t pycodes_written;	    /* Python code ids 1..pycodes_written are */
	uint32_t recent_stacks[STACK_REFS]; /* ids, the candidates of STACK ref */
	uint32_t snap_index;		    /* snapshots written */
	uint64_t events_written;	    /* events written, implicit ones aside */
	uint64_t events_in_file;	    /* of those, in chunks the file holds */
	uint64_t events_pending;	    /* of those, in the EVENTS record being built */
	const char *path;		    /* the trace's name */
	int stop_said;			    /* the writer stopped, and we said so */
	_Atomic uint64_t dropped;	    /* events lost to interrupted ring writes */
	const char *exe_path;		    /* the main program's path, for MODULES */
	const char *scan_ring_path;	    /* set: scan at the end; the ring file
					     * (this path) is not a root */
	int snapshot_scan;		    /* snapshot_scan=1: interval snapshots are
					     * scanned ones */
	int interval_scan_due;		    /* an interval's scanned snapshot waits
					     * for the collector loop */
	int inherit_pending;		    /* a forked child must write the blocks it
					     * inherited */
	int finishing;			    /* collector_finish: the exit scan, the last
					     * snapshot and END go in one chunk */
	int ai_lost;			    /* an allocinfo an allocation named may be
					     * unwritten (no memory): frees check theirs */
};

/* The collector thread, while there is one. */
struct collector_thread {
	pthread_t id;	   /* valid while running */
	_Atomic int running;  /* a collector thread is in its loop */
	_Atomic int sleeping; /* it waits on this futex word */
	_Atomic int stopping; /* collector_stop asked the loop to end */
};

/* The threads of an EVENTS_THREADS record: a cycle's busy slices and the
 * inherited blocks' thread 0.  Apart from cs, which is initialized data:
 * untouched pages of these cost nothing. */
static struct encode_slot ev_slots[RINGS_MAX + 1];

/*
 * The collector's whole state.  Besides the trace and the thread, what
 * the process keeps across traces: the lock a fork waits on, the thread's
 * stack, and buffers reused from cycle to cycle.
 */
static struct collector {
	struct collector_trace t;	 /* the trace being written */
	struct collector_thread th;	 /* the thread draining the rings */
	pthread_mutex_t trim_lock;	 /* held by a trim (fork waits on it) */
	_Atomic uint32_t fork_waiting;	 /* threads waiting for trim_lock */
	pthread_mutex_t cycle_lock;	 /* held by a cycle (fork waits on it) */
	void *stack;			 /* every collector thread's stack */
	struct encode_events ev;	 /* the EVENTS record being built */
	struct encode_allocinfos ai;	 /* the allocinfos its events name first,
					  * written just before it */
	struct slice slices[RINGS_MAX];	 /* what the current cycle takes */
	struct slice slices_first[RINGS_MAX]; /* slices_retake's copy */
} cs = {
	.t.flush_ms = 20,
	.trim_lock = PTHREAD_MUTEX_INITIALIZER,
	.cycle_lock = PTHREAD_MUTEX_INITIALIZER,
	.ev.tick = TICK_NS,
	.ev.slots = ev_slots,
};

/* Why writes stopped, in words (no strerror: this may run in a hook's
 * thread, and the words are few). */
static const char *stop_reason(int rc)
{
	switch (-rc) {
	case ENOSPC:
		return ": the file system is full (ENOSPC)";
	case EDQUOT:
		return ": the disk quota is used up (EDQUOT)";
	case EFBIG:
		return ": the file size limit is reached (EFBIG)";
	case EIO:
		return ": input/output error (EIO)";
	default:
		return ": a write failed";
	}
}

/* Write the chunk built so far.  Once the writer stops (a full disk),
 * say so once on stderr; the program goes on untouched, the events that
 * follow are counted as lost. */
static void flush_trace(void)
{
	int rc = writer_flush(&cs.t.w);

	if (!rc && !writer_stopped(&cs.t.w)) {
		cs.t.events_in_file = cs.t.events_written;
	} else if (writer_stopped(&cs.t.w) && !cs.t.stop_said) {
		cs.t.stop_said = 1;
		log_warn(cs.t.path, stop_reason(rc), ": the trace stops here, the program goes on");
	}
}

/* The heap map's large tables: mappings of the shim's own, populated
 * (each is written all over as soon as made), that double where they lie
 * (heapmap.c, region_grow_in_place). */
static const struct heapmap_tables heap_tables = {arena_map_table, arena_map_remap, arena_map_munmap};

int collector_open(const struct options *opts, const char *exe, uint32_t pid, uint32_t ppid,
		   uint64_t nonce, char *path, size_t cap)
{
	struct timespec rt;
	const char *slash = strrchr(exe, '/');

	clock_gettime(CLOCK_REALTIME, &rt);
	writer_init(&cs.t.w, opts->zstd_level, backing_ialloc, backing_irealloc, backing_ifree);
	heapmap_use(&backing_private);
	heapmap_use_tables(&heap_tables);
	cs.t.flush_ms = opts->flush_ms;
	cs.t.rss_ms = opts->rss_ms;
	cs.t.scan_ring_path = NULL;
	cs.t.snapshot_scan = opts->snapshot_scan;
	cs.t.interval_ns = opts->snapshot_interval_ns;
	cs.t.exe_path = exe;
	cs.t.path = path;
	return writer_create(&cs.t.w, opts->output, slash ? slash + 1 : exe, pid, ppid, nonce,
			     (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec, clock_now_ns(),
			     path, cap);
}

void collector_abandon(void)
{
	writer_abandon(&cs.t.w, cs.t.path);
}

void collector_enable_scan(const char *ring_path)
{
	cs.t.scan_ring_path = ring_path;
}

void collector_write_now(struct control_item *it)
{
	if (!it)
		return;
	if (collector_running()) {
		control_push(it);
		return;
	}
	writer_raw(&cs.t.w, it->body, it->len);
	flush_trace();
	control_free(it);
}

bool collector_running(void)
{
	/* relaxed: a hint; ring_wait re-checks on every round */
	return atomic_load_rlx(&cs.th.running);
}

void collector_wake(void)
{
	/* seq_cst: the caller's stores (a ring's tail) before the load of
	 * sleeping; pairs with the fence in nap: either nap sees the tail or
	 * we see it sleeping (a store may otherwise pass a later load) */
	atomic_fence_seq_cst();
	/* relaxed load first: the exchange (and the system call) only when
	 * the collector actually sleeps */
	if (atomic_load_rlx(&cs.th.sleeping) && atomic_exchange_acq_rel(&cs.th.sleeping, 0))
		syscall(SYS_futex, &cs.th.sleeping, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void collector_pause(_Atomic uint64_t *head, uint64_t seen)
{
	struct timespec ts = {0, 1000000};
	/* the head's low half (x86_64 is little-endian): it changes
	 * whenever the head moves */
	syscall(SYS_futex, (uint32_t *)(void *)head, FUTEX_WAIT_PRIVATE, (uint32_t)seen, &ts, NULL, 0);
}

void collector_count_drop(void)
{
	/* relaxed: a statistic */
	atomic_fetch_add_rlx(&cs.t.dropped, 1);
}

/* The resident memory of the process, bytes, from /proc/self/statm (its
 * second field, in pages); 0 when it cannot be read.  Opened each time: a
 * forked child must read its own. */
static uint64_t read_rss(void)
{
	char buf[128];
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	uint64_t pages = 0;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	const char *p = strchr(buf, ' ');
	if (!p)
		return 0;
	for (p++; *p >= '0' && *p <= '9'; p++)
		pages = pages * 10 + (uint64_t)(*p - '0');
	return pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Take a sample when one is due; keep it for the next cycle unless it
 * equals the last one (the value holds between records). */
static void sample_rss(uint64_t now)
{
	if (!cs.t.rss_ms || now < cs.t.next_rss_ns)
		return;
	cs.t.next_rss_ns = now + (uint64_t)cs.t.rss_ms * 1000000u;
	uint64_t bytes = read_rss();
	if (!bytes || bytes == cs.t.last_rss)
		return;
	cs.t.last_rss = bytes;
	if (cs.t.nrss == RSS_PENDING)
		cs.t.nrss--; /* a cycle is late: the newest sample replaces the last kept */
	cs.t.rss[cs.t.nrss].ts = now & ~(RSS_TIME_GRAIN - 1);
	cs.t.rss[cs.t.nrss].bytes = bytes;
	cs.t.nrss++;
}

/* Write the samples taken since the last cycle, in one RSS_SERIES. */
static void emit_rss(void)
{
	if (!cs.t.nrss)
		return;
	uint8_t *p = writer_room(&cs.t.w, encode_rss_series_max(cs.t.nrss));
	if (p) { /* no memory: the next ones are from the last written */
		writer_advance(&cs.t.w, encode_rss_series(p, cs.t.rss, cs.t.nrss, cs.t.rss_written));
		cs.t.rss_written = cs.t.rss[cs.t.nrss - 1];
	}
	cs.t.nrss = 0;
}

/*
 * Is a ring over half full (by what this thread drained)?  Its owner
 * woke us when it crossed half full (ring_kick), but not if we were busy
 * in a cycle then: the wake was lost, and the owner filled the other half
 * and waited a whole cycle (ring_wait).  churn, 6 runs each interleaved on
 * a busy machine (load 2-9): full-ring waits a run 18-30 -> 7-37 (median
 * 20 -> 12.5), their time (median) 101 -> 59 ms.  Most of the rest came
 * with the collector's long purges (backing_trim_peak: about 12 a run
 * over 1 ms, the longest 28-54 ms), which now drain the rings between
 * their madvise calls (trim_between).
 */
static bool rings_behind(void)
{
	uint32_t n = rings_count();

	for (uint32_t i = 0; i < n; i++) {
		struct ring *r = rings_get(i);
		/* relaxed: ordered after the sleeping store by nap's fence */
		if (atomic_load_rlx(&r->hdr->tail) - r->drained > (r->mask + 1) / 2)
			return true;
	}
	return false;
}

/* Sleep until woken or cs.t.flush_ms passes, sampling the resident memory
 * every rss_ms meanwhile; not at all while a ring is over half full. */
static void nap(void)
{
	uint64_t now = clock_now_ns(), end = now + (uint64_t)cs.t.flush_ms * 1000000u;

	for (;;) {
		sample_rss(now);
		uint64_t until = cs.t.rss_ms && cs.t.next_rss_ns < end ? cs.t.next_rss_ns : end;
		if (until <= now)
			return;
		/* the TSC's blocks must be re-fitted within CLOCK_PERIOD_NS or
		 * stamps stand still (clock.h): a long flush_ms naps in parts */
		if (until - now > CLOCK_PERIOD_NS / 4)
			until = now + CLOCK_PERIOD_NS / 4;
		struct timespec ts = {(time_t)((until - now) / 1000000000u), (long)((until - now) % 1000000000u)};
		/* acq_rel: a producer's wake after this store is not lost (or the
		 * timeout bounds the delay if it races) */
		atomic_exchange_acq_rel(&cs.th.sleeping, 1);
		/* seq_cst: the sleeping store before the loads of the tails;
		 * pairs with the fence in collector_wake */
		atomic_fence_seq_cst();
		if (rings_behind()) {
			/* release: as the exchange below */
			atomic_store_rel(&cs.th.sleeping, 0);
			return;
		}
		syscall(SYS_futex, &cs.th.sleeping, FUTEX_WAIT_PRIVATE, 1, &ts, NULL, 0);
		/* acq_rel: 0 means a producer woke us (collector_wake stored it) */
		if (!atomic_exchange_acq_rel(&cs.th.sleeping, 0))
			return;
		clock_calibrate();
		now = clock_now_ns();
		if (now >= end)
			return;
	}
}


/* Number of outermost frames a and b have in common. */
static unsigned shared_suffix(const struct ringfile_stack_entry *a, const struct ringfile_stack_entry *b)
{
	unsigned n = 0;

	while (n < a->depth && n < b->depth && a->ips[a->depth - 1 - n] == b->ips[b->depth - 1 - n])
		n++;
	return n;
}

/* The Python code objects named since the last cycle, up to n: their
 * entries hold whole PYCODE records. */
static void emit_pycodes(uint32_t n)
{
	for (uint32_t id = cs.t.pycodes_written + 1; id <= n; id++) {
		const struct ringfile_pycode_entry *e = python_code_get(id);
		writer_raw(&cs.t.w, e->body, e->len);
	}
	cs.t.pycodes_written = n;
}

/* The frames of stack e from its innermost up to the shared ones (those
 * of its ref, written before it): their modules are to be written. */
static void want_modules(const struct ringfile_stack_entry *e, unsigned shared)
{
	uint32_t ep = stack_epoch_of(e->id);

	/* After an unload, the ref's modules may not be the last written at
	 * their addresses (another library's, written for another stack):
	 * every frame's is looked at. */
	if (stack_epoch())
		shared = 0;
	for (unsigned k = 0; k + shared < e->depth; k++)
		if (!hst_is_pyframe(e->ips[k]) && e->ips[k])
			modules_want_ip(e->ips[k], ep);
}

static void emit_stacks(void)
{
	uint32_t n = stack_count();
	size_t at = cs.t.w.len; /* the modules the stacks name go before them */

	modules_want_missed();

	/* Codes after stacks: a stack counted here names codes that were
	 * complete before it was, so they are counted too. */
	if (python_wanted())
		emit_pycodes(python_code_count());

	uint32_t ep = stack_epoch_of(cs.t.stacks_written + 1);
	for (uint32_t id = cs.t.stacks_written + 1; id <= n; id++) {
		const struct ringfile_stack_entry *e = stack_get(id);
		uint32_t ref = 0;
		unsigned shared = 0;
		/* The stacks of an epoch after an unload (stack.h) get modules
		 * of their own, after the previous epoch's stacks: a reader
		 * takes the last module written at an address before a stack. */
		if (HS_UNLIKELY(stack_epoch_of(id) != ep)) {
			ep = stack_epoch_of(id);
			if (modules_pending())
				modules_emit(&cs.t.w, at, clock_now_ns());
			at = cs.t.w.len;
		}
		/* Slot id % STACK_REFS: slot 0 stays empty until stack STACK_REFS,
		 * so an empty slot is skipped, not the end (stopping there
		 * left every stack of a small trace without a ref). */
		for (int i = 0; i < STACK_REFS; i++) {
			if (!cs.t.recent_stacks[i])
				continue;
			const struct ringfile_stack_entry *c = stack_get(cs.t.recent_stacks[i]);
			/* Only a candidate that shares frame number shared (from
			 * the outermost) can share more than the best so far: one
			 * compare rejects the others, where the whole suffix
			 * (deep in a Python program, 64 candidates) cost most of
			 * the collector's time. */
			if (shared && (shared >= c->depth || shared >= e->depth ||
				       c->ips[c->depth - 1 - shared] != e->ips[e->depth - 1 - shared]))
				continue;
			unsigned k = shared_suffix(e, c);
			if (k > shared) {
				shared = k;
				ref = cs.t.recent_stacks[i];
			}
		}
		want_modules(e, shared);
		uint8_t *p = writer_room(&cs.t.w, encode_stack_max(e->depth));
		if (p)
			writer_advance(&cs.t.w,
				       encode_stack_near(p, id, e->depth, ref, shared, e->ips, &cs.t.stack_first));
		cs.t.recent_stacks[id % STACK_REFS] = id;
	}
	cs.t.stacks_written = n;
	if (modules_pending())
		modules_emit(&cs.t.w, at, clock_now_ns());
}

static void emit_thread(struct ring *r)
{
	uint8_t *p = writer_room(&cs.t.w, ENCODE_THREAD_MAX);

	if (p)
		writer_advance(&cs.t.w, encode_thread(p, r->thread_index, r->tid, r->start_ns));
	r->announced = r->thread_index;
}

static void emit_thread_end(uint32_t index, uint64_t end_ns, const char *name)
{
	size_t n = strnlen(name, 16);
	uint8_t *p = writer_room(&cs.t.w, encode_thread_end_max(n));

	if (p)
		writer_advance(&cs.t.w, encode_thread_end(p, index, end_ns, name, n));
}

static void emit_snapshot(const struct snap *s)
{
	uint8_t *p = writer_room(&cs.t.w, encode_snapshot_max(s->label_len));

	if (p)
		writer_advance(&cs.t.w, encode_snapshot(p, s->ts, cs.t.snap_index, s->trigger, s->label, s->label_len));
	cs.t.snap_index++;
}

/* Take everything ring r holds as the next slice (fair_share cuts it to
 * the cycle's budget). */
static size_t drain_ring(struct ring *r, size_t nslices, size_t *used)
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
	if (!n && (!retired || (r->held & RING_HELD_RETIRED)))
		return nslices;
	if (r->thread_index && r->announced != r->thread_index)
		emit_thread(r);
	cs.slices[nslices] = (struct slice){r, r->thread_index, r->drained, tail, retired, r->thread_index};
	*used += n;
	return nslices + 1;
}

static const struct ring_rec *slice_rec(const struct slice *s, uint64_t pos)
{
	return &s->r->slots[pos & s->r->mask];
}

/* Records the slices would take if none took more than cap. */
static uint64_t taken_under_cap(size_t nslices, uint64_t cap)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < nslices; i++) {
		uint64_t n = cs.slices[i].end - cs.slices[i].pos;
		sum += n < cap ? n : cap;
	}
	return sum;
}

/*
 * When the rings hold more than the cycle's budget, cut every slice to
 * one cap, the largest that keeps the total within the budget (at least
 * 2: a realloc's pair), and lower *horizon to the first record a cut
 * leaves in its ring.  Every ring with records gives some: one that gave
 * none would bound nothing, and the others' frees of blocks it allocated
 * would come before their allocations (unknown frees, false leaks).  The
 * ring whose first left record sets the horizon keeps what it gives (its
 * stamps are in order: ring_stamp), so each cycle makes progress.
 * Return whether a slice was cut.
 */
static bool fair_share(size_t nslices, size_t *used, uint64_t *horizon)
{
	if (*used <= CYCLE_BUDGET)
		return false;
	uint64_t lo = 2, hi = CYCLE_BUDGET;
	while (lo < hi) { /* the largest cap within the budget */
		uint64_t mid = (lo + hi + 1) / 2;
		if (taken_under_cap(nslices, mid) <= CYCLE_BUDGET)
			lo = mid;
		else
			hi = mid - 1;
	}
	for (size_t i = 0; i < nslices; i++) {
		struct slice *s = &cs.slices[i];
		uint64_t n = s->end - s->pos;
		if (n <= lo)
			continue;
		n = lo;
		/* never between the two records of a realloc */
		if (ring_rec_old(slice_rec(s, s->pos + n - 1)))
			n--;
		*used -= s->end - (s->pos + n);
		s->end = s->pos + n;
		s->retired = 0; /* its end waits for the rest */
		uint64_t left = slice_rec(s, s->end)->ts;
		if (left < *horizon)
			*horizon = left;
	}
	return true;
}

/*
 * A snapshot of this cycle raised the horizon past the time it began:
 * read every ring's tail again and take the records stamped before the
 * horizon.  An event that comes before a snapshot in the program
 * (stamped before it, on its thread or on one that handed over to it)
 * was committed before the snapshot was queued, so before the control
 * queue was taken, but maybe after the first reading of its tail; and a
 * ring may have had nothing then, or not been counted yet.  Slices stay
 * in the order of the rings.  Return how many there are.
 */
static size_t slices_retake(size_t nslices, uint64_t horizon, size_t *used)
{
	struct slice *first = cs.slices_first;
	size_t j = 0, n = 0;
	uint32_t nrings = rings_count();

	memcpy(first, cs.slices, nslices * sizeof(*first));
	for (uint32_t i = 0; i < nrings; i++) {
		struct ring *r = rings_get(i);
		struct slice s;
		if (j < nslices && first[j].r == r) {
			s = first[j++];
		} else {
			/* acquire: see drain_ring */
			if (atomic_load_acq(&r->state) == RING_FREE)
				continue;
			s = (struct slice){r, r->thread_index, r->drained, r->drained, 0, r->thread_index};
		}
		/* (C) acquire, as in drain_ring */
		uint64_t tail = atomic_load_acq(&r->hdr->tail);
		uint64_t end = s.end;
		while (end < tail && slice_rec(&s, end)->ts < horizon)
			end++;
		if (end == s.end && s.pos == s.end && !s.retired)
			continue; /* nothing, now as before */
		if (end > s.end)
			s.retired = 0; /* what it holds now may not be its last */
		*used += end - s.end;
		s.end = end;
		if (r->thread_index && r->announced != r->thread_index)
			emit_thread(r);
		cs.slices[n++] = s;
	}
	return n;
}

/*
 * Keep in each slice only the records stamped before horizon, the time
 * the cycle began (or the first record the budget left in a ring); the
 * others wait for the next cycle.  The tails are read one after the
 * other: without this, a consumer thread's free could be taken while the
 * allocation of its block, which the producer committed after its tail
 * was read, waits for the next cycle; the free then names no block, and
 * the block stays live for good (a false leak).  A free is stamped after
 * its block's allocation is committed (the program hands the block over
 * in between), so before horizon means after an allocation this cycle
 * has.  Empty slices go, but for a retired ring's.  Return how many are
 * left; *used follows.  (What waits was stamped after the cycle began,
 * or is more than the budget, which the caller tells the loop.)
 */
static size_t slices_to_horizon(size_t nslices, uint64_t horizon, size_t *used)
{
	size_t kept = 0;

	for (size_t i = 0; i < nslices; i++) {
		struct slice s = cs.slices[i];
		uint64_t end = s.end;
		while (end > s.pos && slice_rec(&s, end - 1)->ts >= horizon)
			end--;
		/* never between the two records of a realloc */
		if (end > s.pos && end < s.end && ring_rec_old(slice_rec(&s, end - 1)))
			end--;
		if (end < s.end) {
			*used -= s.end - end;
			s.end = end;
			s.retired = 0; /* its end waits for the rest */
		}
		if (s.pos < s.end || s.retired)
			cs.slices[kept++] = s;
	}
	return kept;
}

/* Make room for a batch of allocinfos in every column.  Return 0 or -1. */
static HS_NOINLINE int ai_make_room(struct encode_allocinfos *a)
{
	enum { BATCH = 1024 };

	for (int i = 0; i < 3; i++) {
		struct encode_column *c = &a->col[i];
		if (c->cap - c->len >= BATCH * ENCODE_ALLOCINFOS_COL_MAX)
			continue;
		size_t cap = c->cap ? c->cap * 2 : 16384;
		uint8_t *p = backing_irealloc(c->p, cap);
		if (p) {
			c->p = p;
			c->cap = cap;
		}
		if (c->cap - c->len < ENCODE_ALLOCINFOS_COL_MAX)
			return -1;
	}
	return 0;
}

/* Allocinfo id goes into the next ALLOCINFOS record, unless written. */
static void emit_allocinfo(uint32_t id)
{
	struct encode_allocinfos *a = &cs.ai;

	if (!id || heapmap_info_written(id))
		return;
	for (int i = 0; i < 3; i++)
		if (HS_UNLIKELY(a->col[i].cap - a->col[i].len < ENCODE_ALLOCINFOS_COL_MAX) && ai_make_room(a)) {
			cs.t.ai_lost = 1; /* no memory: tried again at the next event that names it */
			return;
		}
	const struct heapmap_info *in = heapmap_info(id);
	encode_allocinfos_add(a, id, in->size, in->stack);
	heapmap_info_write(id);
}

/* Write the allocinfos gathered so far (before the events that name
 * them).  Without memory for the record they are unwritten again. */
static void ai_flush(void)
{
	struct encode_allocinfos *a = &cs.ai;

	if (!a->count)
		return;
	uint8_t *p = writer_room(&cs.t.w, encode_allocinfos_max(a));
	if (p) {
		writer_advance(&cs.t.w, encode_allocinfos(p, a));
		return;
	}
	const uint8_t *q = a->col[0].p, *end = q + a->col[0].len;
	uint64_t v, id = 0;
	cs.t.ai_lost = 1;
	while (q < end && !varint_get(&q, end, &v)) {
		id += (uint64_t)zigzag_dec(v);
		heapmap_info_unwrite((uint32_t)id);
	}
	encode_allocinfos_clear(a);
}



/* Events the columns have room for without growing (a lower bound: a
 * flush only makes more room). */
static uint32_t ev_room;

/* Make room in every column for a batch of events.  Return 0 or -1. */
static HS_NOINLINE int ev_make_room(struct encode_events *e)
{
	enum { BATCH = 1024 };
	size_t room = SIZE_MAX;

	for (int i = 0; i < ENCODE_EVENT_COLS; i++) {
		struct encode_column *c = &e->col[i];
		while (c->cap - c->len < BATCH * ENCODE_EVENT_COL_MAX) {
			size_t cap = c->cap ? c->cap * 2 : 65536;
			uint8_t *p = backing_irealloc(c->p, cap);
			if (!p)
				break;
			c->p = p;
			c->cap = cap;
		}
		if (c->cap - c->len < ENCODE_EVENT_COL_MAX)
			return -1;
		size_t n = (c->cap - c->len) / ENCODE_EVENT_COL_MAX;
		room = n < room ? n : room;
	}
	ev_room = (uint32_t)room;
	return 0;
}

/* Append one event: a is the allocinfo of the block (the old block for a
 * realloc), b the new block of a realloc.  Their ALLOCINFO records go
 * first, if not written yet.  Without memory for the columns the event is
 * lost. */
HS_INLINE void evrec_add(struct encode_events *e, uint64_t ts, uint32_t thread, uint8_t kind, uint32_t a, uint32_t b,
			    bool temporary)
{
	if (HS_UNLIKELY(!ev_room) && ev_make_room(e)) {
		/* no memory (the program took it all): lost, and counted */
		if (!(kind & HST_EV_IMPLICIT))
			atomic_fetch_add_rlx(&cs.t.dropped, 1); /* relaxed: a statistic */
		cs.t.ai_lost = 1;
		return;
	}
	ev_room--;
	/* A freed block's allocinfo was written with its allocation (or
	 * with the implicit one of a forked child's inherited blocks),
	 * unless memory ran out since the trace began. */
	switch (hst_event_shape(kind & HST_EV_KIND_MASK)) {
	case HST_SHAPE_ALLOC:
		emit_allocinfo(a);
		break;
	case HST_SHAPE_FREE:
		if (HS_UNLIKELY(cs.t.ai_lost))
			emit_allocinfo(a);
		break;
	case HST_SHAPE_REALLOC:
		if (HS_UNLIKELY(cs.t.ai_lost))
			emit_allocinfo(a);
		emit_allocinfo(b);
		break;
	case HST_SHAPE_ADDR:
		break;
	}
	encode_event(e, ts, thread, kind, a, b);
	if (temporary)
		encode_event_temporary(e);
	if (!(kind & HST_EV_IMPLICIT)) {
		cs.t.events_written++;
		cs.t.events_pending++;
	}
}

/* Write the events gathered so far as one EVENTS record. */
static void evrec_flush(struct encode_events *e)
{
	ai_flush();
	uint8_t *p = writer_room(&cs.t.w, encode_events_max(e));

	if (p) {
		writer_advance(&cs.t.w, encode_events(p, e));
	} else {
		/* no memory: lost, and counted as such, not as written */
		encode_events_clear(e);
		cs.t.events_written -= cs.t.events_pending;
		atomic_fetch_add_rlx(&cs.t.dropped, cs.t.events_pending); /* relaxed: a statistic */
	}
	cs.t.events_pending = 0;
}

/* Track a block allocated by ev; an implicit free of the block it
 * displaces (whose own free is late) goes first.  Return its allocinfo. */
static uint32_t track_alloc(struct encode_events *e, const struct ring_rec *ev, uint32_t thread)
{
	uint32_t displaced;
	uint32_t id = heapmap_alloc(ring_rec_addr(ev), ring_rec_size(ev), ring_rec_stack(ev), &displaced);

	if (displaced)
		evrec_add(e, ev->ts, thread, HST_EV_FREE | HST_EV_IMPLICIT, displaced, 0, false);
	return id;
}

struct inherit_ctx {
	struct encode_events *e; /* record to append to */
	uint64_t now;	 /* stamp of the implicit allocations */
	uint32_t who;	 /* thread 0 as the record calls it (slice.who) */
};

static void inherit_one(uint64_t addr, uint32_t info, uint32_t seq, void *arg)
{
	struct inherit_ctx *c = arg;

	(void)addr;
	(void)seq;
	evrec_add(c->e, c->now, c->who, HST_EV_MALLOC | HST_EV_IMPLICIT, info, 0, false);
}

/*
 * The slice whose next record comes first (the lowest index among equal
 * times), or NULL when all are merged.  *limit is the time before which a
 * record of that slice still comes first: a later slice's next time + 1
 * (it wins a tie), or an earlier slice's (which wins ties); UINT64_MAX
 * when no other slice has records.
 */
static struct slice *merge_pick(size_t nslices, uint64_t *limit)
{
	struct slice *best = NULL;
	uint64_t best_ts = 0, lim = UINT64_MAX;

	for (size_t i = 0; i < nslices; i++) {
		struct slice *sl = &cs.slices[i];
		if (sl->pos >= sl->end)
			continue;
		uint64_t ts = slice_rec(sl, sl->pos)->ts;
		if (!best || ts < best_ts) {
			/* the old best comes before best in index: it wins ties */
			if (best)
				lim = best_ts < lim ? best_ts : lim;
			best = sl;
			best_ts = ts;
		} else {
			/* a later slice: best goes first while its times are <= ts */
			uint64_t l = ts == UINT64_MAX ? ts : ts + 1;
			lim = l < lim ? l : lim;
		}
	}
	*limit = lim;
	return best;
}

/* Take the next event of slice s (two records for the old and the new
 * block of a realloc), resolve its blocks against the heap model, and add
 * it to e. */
static void merge_one(struct encode_events *e, struct slice *s)
{
	const struct ring_rec *rec = slice_rec(s, s->pos), *ev = rec;
	unsigned nrec = 1;

	if (ring_rec_old(rec) && s->pos + 1 < s->end) {
		ev = slice_rec(s, s->pos + 1);
		nrec = 2;
	}
	s->pos += nrec;
	uint32_t a = 0, b = 0;
	unsigned kind = ring_rec_kind(ev);
	enum hst_event_shape shape = hst_event_shape(kind);
	bool temporary = false;
	/* a free of a block still its thread's latest allocation is
	 * temporary (recent.c); the free is resolved before the
	 * allocation of a realloc, which may reuse the address */
	switch (shape) {
	case HST_SHAPE_ALLOC:
		a = track_alloc(e, ev, s->who);
		if (a)
			recent_alloc(s->r, ring_rec_addr(ev));
		break;
	case HST_SHAPE_FREE:
		a = heapmap_free(ring_rec_addr(ev));
		temporary = a && recent_free(ring_rec_addr(ev));
		break;
	case HST_SHAPE_REALLOC:
		a = nrec == 2 ? heapmap_free(ring_rec_addr(rec)) : 0;
		temporary = a && recent_free(ring_rec_addr(rec));
		b = ring_rec_addr(ev) ? track_alloc(e, ev, s->who) : 0;
		if (b)
			recent_alloc(s->r, ring_rec_addr(ev));
		break;
	case HST_SHAPE_ADDR:
		break;
	}
	evrec_add(e, ev->ts, s->who, (uint8_t)kind, a, b, temporary);
}

/* How many records ahead of the one merged the heap model's slot is
 * prefetched: enough to cover a miss to memory at the collector's
 * ~100-200 instructions per record, few enough that the line is still
 * there when used. */
#define PREFETCH_AHEAD 8

/*
 * Merge the slices by time, resolve each event's blocks against the heap
 * model, and write them with the snapshots (sorted by time) in place.
 */
static void emit_events(size_t nslices, struct snap *snaps, size_t nsnaps, uint64_t now)
{
	struct encode_events *e = &cs.ev;
	size_t next_snap = 0, busy = 0;

	/* Two threads' events or more: each thread's kinds and blocks
	 * apart, their freed blocks apart from the allocated ones
	 * (EVENTS_THREADS, format.h), a slot for each busy slice.  The
	 * previous cycle wrote all its events. */
	HS_ASSERT(!e->count);
	for (size_t i = 0; i < nslices; i++)
		busy += cs.slices[i].pos < cs.slices[i].end;
	e->split = busy >= 2;
	e->nslots = 0;
	for (size_t i = 0; i < nslices; i++) {
		struct slice *sl = &cs.slices[i];
		sl->who = sl->thread;
		if (e->split && sl->pos < sl->end) {
			sl->who = e->nslots;
			ev_slots[e->nslots++] = (struct encode_slot){.thread = sl->thread};
		}
	}
	if (cs.t.inherit_pending) {
		struct inherit_ctx c = {e, now, 0};
		if (e->split) {
			c.who = e->nslots;
			ev_slots[e->nslots++] = (struct encode_slot){.thread = 0};
		}
		heapmap_each(inherit_one, &c);
		cs.t.inherit_pending = 0;
	}
	uint32_t per_record = e->split ? THREADS_EVENTS_PER_RECORD : EVENTS_PER_RECORD;
	for (;;) {
		uint64_t limit;
		struct slice *best = merge_pick(nslices, &limit);
		if (!best)
			break;
		/* the run of best's records that come before every other
		 * slice's next one, without looking at the others again */
		do {
			/* a realloc's event is its second record (the new block) */
			const struct ring_rec *rec = slice_rec(best, best->pos);
			uint64_t ts = ring_rec_old(rec) && best->pos + 1 < best->end ? slice_rec(best, best->pos + 1)->ts
										 : rec->ts;
			while (next_snap < nsnaps && snaps[next_snap].ts < ts) {
				evrec_flush(e);
				emit_snapshot(&snaps[next_snap++]);
			}
			/* the heap model's slots are mostly cold: ask for one
			 * a few events ahead of its use */
			if (best->pos + PREFETCH_AHEAD < best->end)
				heapmap_prefetch(ring_rec_addr(slice_rec(best, best->pos + PREFETCH_AHEAD)));
			merge_one(e, best);
			if (e->count >= per_record)
				evrec_flush(e);
		} while (best->pos < best->end && slice_rec(best, best->pos)->ts < limit);
	}
	evrec_flush(e);
	while (next_snap < nsnaps)
		emit_snapshot(&snaps[next_snap++]);
}

static void emit_progress(size_t nslices)
{
	uint8_t *rec = nslices ? writer_room(&cs.t.w, encode_progress_max(nslices)) : NULL;

	if (!rec)
		return;
	uint8_t *p = encode_progress_begin(rec, nslices);
	for (size_t i = 0; i < nslices; i++)
		p = encode_progress_ring(p, cs.slices[i].r->hdr->ring_id, cs.slices[i].end);
	writer_advance(&cs.t.w, encode_close(rec, p));
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
static size_t cycle_locked(bool *more_pending, struct snap *extra);

/* A cycle, under cs.cycle_lock: fork waits for it to end (collector_lock). */
static size_t cycle(bool *more_pending, struct snap *extra)
{
	pthread_mutex_lock(&cs.cycle_lock);
	size_t n = cycle_locked(more_pending, extra);
	pthread_mutex_unlock(&cs.cycle_lock);
	return n;
}

/* The chunk holding the records drained from the held rings is written:
 * give their space back (and the rings of exited owners). */
static void release_held(void)
{
	for (uint32_t i = 0; i < rings_count(); i++) {
		struct ring *r = rings_get(i);
		if (!r->held)
			continue;
		/* (D) release: the chunk holding these records is written; pairs
		 * with (A) in ring_reserve */
		atomic_store_rel(&r->hdr->head, r->drained);
		/* seq_cst: the head before the load of waiting; pairs with the
		 * fence in collector_wake, which the owner calls after its store
		 * of waiting: it sees this head or we see it waiting */
		atomic_fence_seq_cst();
		/* relaxed: ordered by the fence */
		if (atomic_load_rlx(&r->waiting))
			syscall(SYS_futex, (uint32_t *)(void *)&r->hdr->head, FUTEX_WAKE_PRIVATE, INT_MAX, NULL,
				NULL, 0);
		if (r->held & RING_HELD_RETIRED) {
			r->announced = 0;
			/* release: the ring is empty and written out before a
			 * new owner can claim it */
			atomic_store_rel(&r->state, RING_FREE);
		}
		r->held = 0;
	}
}

static size_t cycle_locked(bool *more_pending, struct snap *extra)
{
	struct snap snaps_here[SNAPS_PER_CYCLE], *snaps = snaps_here, *snaps_big = NULL;
	size_t nsnaps = 0, cap = SNAPS_PER_CYCLE, used = 0, nslices = 0;
	uint64_t now, sig_ts;

	/* cycle_lock is held (by anyone, as far as a mutex can tell: then
	 * trylock fails) */
	HS_ASSERT(pthread_mutex_trylock(&cs.cycle_lock) == EBUSY);
	HS_ASSERT(tls.state == TS_INTERNAL);
	/* here too: a cycle may run while the collector is stopped (at exit,
	 * a scan from the program) or busy (a scan's rounds, world stopped),
	 * and stamps that stood still would keep a drain's rounds from ever
	 * taking the records stamped at now */
	clock_refit();
	now = clock_now_ns();

	/*
	 * The rings first, then the control queue: a snapshot is stamped and
	 * queued before the events that follow it are committed, so when a
	 * ring's tail already holds those events, the queue holds the
	 * snapshot.  (The other way round, a snapshot queued between the two
	 * would land after events that follow it.)
	 */
	*more_pending = false;
	cs.t.last_cycle_ns = now;
	uint64_t horizon = now;
	uint32_t nrings = rings_count();
	for (uint32_t i = 0; i < nrings; i++) {
		struct ring *r = rings_get(i);
		nslices = drain_ring(r, nslices, &used);
		if (nslices && cs.slices[nslices - 1].r == r && !cs.slices[nslices - 1].retired &&
		    atomic_load_acq(&r->state) == RING_RETIRED) /* acquire: see drain_ring */
			*more_pending = true;
	}
	if (fair_share(nslices, &used, &horizon))
		*more_pending = true; /* the budget left records: no nap */
	struct control_item *ctl = control_take();

	/* Maps taken by dlclose, while the library was still loaded, go into
	 * the module table (modules.c), not the trace; the map after the
	 * close waits for the next cycle, so that this cycle's stacks, taken
	 * before it, find the library still mapped. */
	bool absorbed = false;
	for (struct control_item *it = ctl; it; it = it->next)
		if (it->tag == HST_REC_MODULES) {
			modules_absorb(it->body, it->len, 1, it->epoch);
			absorbed = true;
		}
	if (!absorbed && modules_changed())
		modules_refresh(now, cs.t.exe_path);
	/* Every snapshot the program asked for is written: when they came
	 * faster than cycles (a loaded machine delays the collector), room
	 * for all of them, besides the signal, interval and extra ones. */
	size_t napi = 0;
	for (struct control_item *it = ctl; it; it = it->next)
		napi += it->tag == HST_REC_SNAPSHOT;
	if (napi > SNAPS_PER_CYCLE / 2 && (snaps_big = backing_ialloc(sizeof(*snaps) * (napi + SNAPS_PER_CYCLE)))) {
		snaps = snaps_big;
		cap = napi + SNAPS_PER_CYCLE;
	}
	for (struct control_item *it = ctl; it; it = it->next) {
		if (it->tag == HST_REC_SNAPSHOT) {
			if (nsnaps < cap)
				snaps[nsnaps++] = (struct snap){it->ts, HST_SNAP_API, (const char *)it->body, it->len};
			continue;
		}
		if (it->tag == HST_REC_MODULES)
			continue; /* taken into the table above */
		writer_raw(&cs.t.w, it->body, it->len); /* a whole record */
	}
	while (nsnaps < cap && (sig_ts = control_take_signal_snapshot()))
		snaps[nsnaps++] = (struct snap){sig_ts, HST_SNAP_SIGNAL, "", 0};
	if (cs.t.interval_ns && now >= cs.t.next_interval_ns) {
		/* with snapshot_scan=1 the collector loop takes it, scanned */
		if (cs.t.next_interval_ns && cs.t.snapshot_scan && cs.t.scan_ring_path)
			cs.t.interval_scan_due = 1;
		else if (cs.t.next_interval_ns && nsnaps < cap)
			snaps[nsnaps++] = (struct snap){now, HST_SNAP_INTERVAL, "", 0};
		cs.t.next_interval_ns = now + cs.t.interval_ns;
	}
	if (extra && nsnaps < cap)
		snaps[nsnaps++] = *extra;
	sort_snaps(snaps, nsnaps);
	/* the events before a snapshot of this cycle stay before it (taken
	 * after the rings, it may be stamped after the cycle began) */
	if (nsnaps && snaps[nsnaps - 1].ts >= horizon) {
		horizon = snaps[nsnaps - 1].ts + 1;
		nslices = slices_retake(nslices, horizon, &used);
	}
	nslices = slices_to_horizon(nslices, horizon, &used);
	sample_rss(now);
	if (nslices || ctl || nsnaps || cs.t.nrss >= RSS_PENDING / 2 ||
	    (cs.t.nrss && now - cs.t.rss[0].ts >= RSS_HOLD_NS))
		emit_rss();
	emit_stacks();
	emit_events(nslices, snaps, nsnaps, now);
	for (size_t i = 0; i < nslices; i++)
		if (cs.slices[i].retired && cs.slices[i].thread)
			emit_thread_end(cs.slices[i].thread, cs.slices[i].r->end_ns, cs.slices[i].r->name);
	emit_progress(nslices);
	/* At the end, the last events wait in the buffer for the chunk of the
	 * exit scan and END (one chunk for a small program, not two), and
	 * their ring space with them (collector_finish releases it): a crash
	 * during the scan finds them in the ring file still.  A large buffer
	 * goes out now, lest a thread still running wait on a full ring. */
	bool hold = cs.t.finishing && cs.t.w.len < FINISH_HOLD_BYTES;
	if (!hold)
		flush_trace();
	for (size_t i = 0; i < nslices; i++) {
		struct ring *r = cs.slices[i].r;
		r->drained = cs.slices[i].end;
		r->held |= (uint8_t)(RING_HELD | (cs.slices[i].retired ? RING_HELD_RETIRED : 0));
	}
	if (!hold)
		release_held();
	while (ctl) {
		struct control_item *next = ctl->next;
		control_free(ctl);
		ctl = next;
	}
	if (snaps_big)
		backing_ifree(snaps_big);
	return used;
}

static void scan_snapshot_here(int trigger);

/* May this turn of the loop leave its records in the rings (QUIET_HOLD_NS)?
 * Not when anything but a few events waits: RSS samples past their hold,
 * a control item or signal snapshot, an interval snapshot, a forked
 * child's inherited blocks, an exited thread's ring (a thread that starts
 * must find it free), a ring a quarter full (its owner may wait). */
static bool quiet(uint64_t now)
{
	if (now - cs.t.last_cycle_ns >= QUIET_HOLD_NS || cs.t.inherit_pending ||
	    cs.t.nrss >= RSS_PENDING / 2 || (cs.t.nrss && now - cs.t.rss[0].ts >= RSS_HOLD_NS) ||
	    control_pending() || (cs.t.interval_ns && now >= cs.t.next_interval_ns))
		return false;
	uint64_t pending = 0;
	for (uint32_t i = 0; i < rings_count(); i++) {
		struct ring *r = rings_get(i);
		/* relaxed: a hint; a wrong answer delays by one cycle period at
		 * most, as the owner's wake (ring_kick) calls again */
		int state = atomic_load_rlx(&r->state);
		if (state == RING_RETIRED)
			return false;
		if (state == RING_FREE)
			continue;
		uint64_t n = atomic_load_rlx(&r->hdr->tail) - r->drained;
		if (n > (r->mask + 1) / 4)
			return false;
		pending += n;
	}
	return pending < QUIET_RECORDS;
}

/* After each madvise call of a trim (backing_trim_peak, which says why):
 * drain when a ring is over half full, as a nap woken by the ring's owner
 * (ring_kick) would, so that a cycle drains as much as it does between
 * trims (the trace's chunks are no smaller).  But not while a fork waits
 * for the trim (collector_lock): it waits for the purge alone. */
static void trim_between(void)
{
	bool more;

	/* relaxed: a hint; trim_lock, not this, keeps the fork out */
	if (!atomic_load_rlx(&cs.fork_waiting) && rings_behind())
		(void)cycle(&more, NULL);
}

/*
 * A trim, under cs.trim_lock: fork waits for it to end (collector_lock).
 * jemalloc marks an arena's decay as purging for the length of a purge,
 * with its locks released and the extents it purges taken out of its
 * caches onto the purging thread's stack.  A child forked meanwhile has
 * no such thread: the mark stayed set for good (that arena never purged
 * again, by decay or trim) and those extents were lost to it
 * (tests/progs/fork_trim.c: without this lock, 21 of 24 children forked
 * inside a trim kept their freed pages).  jemalloc's own fork handlers
 * (registered when it started, before the shim's) run after the shim's
 * (gdb: prefork, then je_jemalloc_prefork), so the purge is not waiting
 * for a lock the forking thread holds.
 */
static void trim(void)
{
	pthread_mutex_lock(&cs.trim_lock);
	backing_trim_peak(trim_between);
	pthread_mutex_unlock(&cs.trim_lock);
}

static void *collector_main(void *arg)
{
	sigset_t all;

	(void)arg;
	tls.state = TS_INTERNAL;
	/* The program's signal handlers must never run on this thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	world_signals_blocked_here();
	writer_thread_blocks_sigxfsz();
	prctl(PR_SET_NAME, "heapsnap", 0, 0, 0);
	/* relaxed: the loop condition; finish waits with pthread_join */
	while (!atomic_load_rlx(&cs.th.stopping)) {
		bool more = false;
		clock_calibrate();
		if (!quiet(clock_now_ns()))
			cycle(&more, NULL);
		trim();
		if (control_take_scan())
			scan_snapshot_here(HST_SNAP_SIGNAL);
		if (cs.t.interval_scan_due) {
			cs.t.interval_scan_due = 0;
			scan_snapshot_here(HST_SNAP_INTERVAL);
		}
		if (!more)
			nap();
	}
	return NULL;
}

int collector_start(void)
{
	pthread_attr_t attr;

	/* relaxed: set before the thread exists; producers only read a hint */
	atomic_store_rlx(&cs.th.stopping, 0);
	cs.t.last_cycle_ns = clock_now_ns(); /* the first cycle may wait (quiet) */
	atomic_store_rlx(&cs.th.running, 1);
	pthread_attr_init(&attr);
	/* A stack of our own (not a root for the scan, arena_map.h), so that
	 * glibc keeps no cached stack of ours with a DTV in it for
	 * __libc_freeres to free into the trace at exit. */
	if (!cs.stack)
		cs.stack = arena_map_mmap(COLLECTOR_STACK);
	if (cs.stack)
		pthread_attr_setstack(&attr, cs.stack, COLLECTOR_STACK);
	else
		pthread_attr_setstacksize(&attr, COLLECTOR_STACK);
	int rc = pthread_create(&cs.th.id, &attr, collector_main, NULL);
	pthread_attr_destroy(&attr);
	if (rc) {
		atomic_store_rlx(&cs.th.running, 0);
		return -rc;
	}
	return 0;
}

/* Read /proc/self/task/<tid>/comm into name[16].  With open and read:
 * stdio would allocate inside the exit path (and needs its list lock). */
static void thread_name(uint32_t tid, char *name)
{
	char path[64];
	struct fmt_buf b;
	ssize_t n = 0;

	fmt_init(&b, path, sizeof(path));
	fmt_str(&b, "/proc/self/task/");
	fmt_u64(&b, tid);
	fmt_str(&b, "/comm");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, name, 15);
		close(fd);
	}
	name[n > 0 ? n : 0] = 0;
	name[strcspn(name, "\n")] = 0;
}

void collector_stop(void)
{
	HS_ASSERT(tls.state == TS_INTERNAL);
	/* relaxed: a plain flag; the join below orders everything */
	if (atomic_load_rlx(&cs.th.running)) {
		atomic_store_rlx(&cs.th.stopping, 1);
		collector_wake();
		pthread_join(cs.th.id, NULL);
		atomic_store_rlx(&cs.th.running, 0);
	}
}

/* Drain until a cycle finds nothing (other threads may still run). */
static void drain_all(void)
{
	bool more = true;

	for (int rounds = 0; rounds < 64; rounds++)
		if (!cycle(&more, NULL) && !more)
			break;
}

void collector_make_room(unsigned n)
{
	struct ring *r = tls.ring;

	HS_ASSERT(tls.state == TS_INTERNAL && !collector_running());
	/* acquire: pairs with (D); the slots below head are free */
	if (!r || r->tail + n - atomic_load_acq(&r->hdr->head) <= r->mask + 1)
		return;
	drain_all();
	flush_trace();
	release_held();
}

bool collector_is_self(void)
{
	/* relaxed: a thread asks about itself; the id is set before the
	 * collector runs and stays until it is joined */
	return atomic_load_rlx(&cs.th.running) && pthread_equal(pthread_self(), cs.th.id);
}

/*
 * Stop the other threads, drain every ring, scan, let them go.  The world
 * stops before the last drain, so that the heap model it reads is the
 * heap it scans.  The collector must be stopped, or be the caller.  With
 * snap, the snapshot is written at the scan (its time is set here): the
 * heap a reader replays at it is the heap scanned; if the scan cannot
 * run, the snapshot is still written.
 */
static int scan_now(int reason, uint64_t caller_sp, struct snap *snap)
{
	struct world world;
	bool more = true;
	uint64_t snapshot = 0;

	HS_ASSERT(!collector_running() || collector_is_self());
	/* The cycle lock first: a thread stopped inside fork's prefork while
	 * holding it would otherwise block the drain below for good. */
	pthread_mutex_lock(&cs.cycle_lock);
	if (!cs.t.scan_ring_path || world_stop(&world, caller_sp)) {
		pthread_mutex_unlock(&cs.cycle_lock);
		drain_all();
		if (snap) {
			snap->ts = clock_now_ns();
			cycle(&more, snap);
		}
		return -1;
	}
	modules_world_stopped(1);
	for (int rounds = 0; rounds < 64; rounds++)
		if (!cycle_locked(&more, NULL) && !more)
			break;
	if (snap) {
		snap->ts = clock_now_ns();
		emit_snapshot(snap);
		snapshot = cs.t.snap_index; /* 1 + its index */
	}
	scan_write(&cs.t.w, &world, reason, snapshot, cs.t.scan_ring_path);
	if (reason == HST_SCAN_DETACH) /* the trace ends at the scan: heapsnap attach lets go */
		atomic_store_rel(&shim.phase, PHASE_OFF); /* release: hooks that see OFF stop recording */
	modules_world_stopped(0);
	world_resume(&world);
	if (!cs.t.finishing) /* else with the exit snapshot and END */
		flush_trace();
	pthread_mutex_unlock(&cs.cycle_lock);
	return 0;
}

/* A scanned snapshot taken by the collector thread itself (scan_signal,
 * snapshot_scan's intervals): the program's threads are all stopped. */
static void scan_snapshot_here(int trigger)
{
	struct snap s = {0, trigger, "", 0};

	if (cs.t.scan_ring_path && !writer_stopped(&cs.t.w))
		(void)scan_now(HST_SCAN_SNAPSHOT, (uint64_t)(uintptr_t)__builtin_frame_address(0), &s);
}

int collector_leak_check(uint64_t caller_sp)
{
	HS_ASSERT(tls.state == TS_INTERNAL);
	if (!cs.t.scan_ring_path)
		return -1;
	collector_stop();
	int rc = scan_now(HST_SCAN_API, caller_sp, NULL);
	if (collector_start())
		rc = -1;
	return rc;
}

int collector_scan_snapshot(uint64_t caller_sp, const char *label, uint32_t len)
{
	struct snap s = {0, HST_SNAP_API, label, len};

	HS_ASSERT(tls.state == TS_INTERNAL);
	collector_stop();
	int rc = scan_now(HST_SCAN_SNAPSHOT, caller_sp, &s);
	if (collector_start())
		rc = -1;
	return rc;
}

void collector_finish(int reason, int status, uint64_t caller_sp)
{
	HS_ASSERT(tls.state == TS_INTERNAL);
	collector_stop();
	cs.t.finishing = 1;
	if (reason == HST_END_EXEC || writer_stopped(&cs.t.w))
		drain_all(); /* no scan: a trace that stopped has no room for it */
	else
		(void)scan_now(reason == HST_END_DETACH ? HST_SCAN_DETACH : HST_SCAN_EXIT, caller_sp, NULL);
	bool more;
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
	emit_rss(); /* the samples still held (an exec has no last snapshot) */
	if (writer_stopped(&cs.t.w))
		writer_last(&cs.t.w); /* END alone, into the reserved bytes */
	/* The events the last cycles held (cycle_locked) go in END's chunk:
	 * in the file if END is, unless the writer stopped (END alone). */
	uint64_t in_file = writer_stopped(&cs.t.w) ? cs.t.events_in_file : cs.t.events_written;
	uint8_t *p = writer_room(&cs.t.w, ENCODE_END_MAX);
	if (p)
		writer_advance(&cs.t.w, encode_end_lost(p, clock_now_ns(), reason, status, in_file,
					      atomic_load_rlx(&cs.t.dropped), /* relaxed: a statistic */
					      cs.t.events_written - in_file));
	flush_trace();
	release_held();
	if (reason != HST_END_EXEC)
		writer_close(&cs.t.w);
	else
		writer_trim(&cs.t.w); /* its descriptor closes at the exec */
}

/* The trim lock first: a trim takes the cycle lock inside (its drains). */
void collector_lock(void)
{
	/* relaxed: a hint to the trim's drains (trim_between), no more */
	atomic_fetch_add_rlx(&cs.fork_waiting, 1);
	pthread_mutex_lock(&cs.trim_lock);
	/* relaxed: as above */
	atomic_fetch_sub_rlx(&cs.fork_waiting, 1);
	pthread_mutex_lock(&cs.cycle_lock);
}

void collector_unlock(void)
{
	pthread_mutex_unlock(&cs.cycle_lock);
	pthread_mutex_unlock(&cs.trim_lock);
}

void collector_absorb_rings(void)
{
	uint32_t n = rings_count();

	for (uint32_t i = 0; i < n; i++) {
		struct ring *r = rings_get(i);
		/* relaxed: the forked child has one thread */
		uint64_t tail = atomic_load_rlx(&r->hdr->tail);
		for (uint64_t pos = r->drained; pos < tail; pos++) {
			const struct ring_rec *rec = &r->slots[pos & r->mask];
			uint32_t displaced;
			switch (hst_event_shape(ring_rec_kind(rec))) {
			case HST_SHAPE_ALLOC:
				heapmap_alloc(ring_rec_addr(rec), ring_rec_size(rec), ring_rec_stack(rec), &displaced);
				break;
			case HST_SHAPE_FREE:
				heapmap_free(ring_rec_addr(rec));
				break;
			case HST_SHAPE_REALLOC:
				if (ring_rec_old(rec))
					heapmap_free(ring_rec_addr(rec));
				else if (ring_rec_addr(rec))
					heapmap_alloc(ring_rec_addr(rec), ring_rec_size(rec), ring_rec_stack(rec),
						      &displaced);
				break;
			case HST_SHAPE_ADDR:
				break;
			}
		}
	}
}

void collector_forget(void)
{
	/* The parent's file and buffers: the child writes to neither. */
	writer_discard(&cs.t.w);
	/* The child inherits the parent's live blocks: its trace starts with
	 * them (implicit allocations), and every allocinfo is new to it. */
	cs.t = (struct collector_trace){.inherit_pending = 1};
	modules_forget(); /* the next trace holds none yet */
	writer_init(&cs.t.w, 0, backing_ialloc, backing_irealloc, backing_ifree); /* no file until collector_open */
	heapmap_unwrite_all();
	recent_reset();
	/* Plain stores: the forked child has one thread, and no collector. */
	cs.th = (struct collector_thread){0};
	pthread_mutex_init(&cs.trim_lock, NULL);
	pthread_mutex_init(&cs.cycle_lock, NULL);
	/* Another thread of the parent may have been waiting to fork too (glibc
	 * runs prepare handlers outside its fork lock): its count is not ours,
	 * and left set it would stop this child's trims from draining. */
	atomic_store_rlx(&cs.fork_waiting, 0);
	encode_events_clear(&cs.ev);
	encode_allocinfos_clear(&cs.ai);
	uint32_t nrings = rings_count();
	for (uint32_t i = 0; i < nrings; i++) {
		rings_get(i)->announced = 0;
		rings_get(i)->held = 0;
	}
}
