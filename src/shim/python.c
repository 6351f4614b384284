/*
 * python.c - CPython: the allocator domains wrapped, the Python frames of
 * each stack read from the interpreter's own structures.
 * HOOK-SAFE (python_init and python_rehome too, though they run from the
 * constructor and in a forked child).
 *
 * Nothing here includes Python.h: the shim is built once for every
 * interpreter.  Two public structs are mirrored (PyMemAllocatorEx and
 * PyObjectArenaAllocator, unchanged since 3.5), and the thread state, the
 * frames and the code objects are read at the offsets of each version
 * (the layouts table), as tracemalloc reads them from inside and py-spy
 * from outside.  The offsets were taken from each version's headers with
 * offsetof; tests/python.sh checks them on every interpreter it finds.
 *
 * Why read the frames at each event rather than keep a shadow stack from a
 * profile function (PyEval_SetProfile, memray's way): a profile function
 * puts the 3.11 interpreter on its slow tracing path for every
 * instruction, whether or not anything is allocated (+40% instructions on
 * py_json, measured), needs a running interpreter and a call on every
 * thread to install, and cannot be installed from outside without
 * changing the program.  Reading the frames costs nothing between
 * allocations and a few loads a frame at each one.
 *
 * Where the frames go: each call of the interpreter's evaluation function
 * runs a "run" of Python frames (3.11+ runs Python-to-Python calls inside
 * one call; 3.8-3.10 one frame a call).  Every run ends with a mark the
 * walk sees (3.11 is_entry, 3.12+ an entry frame owned by the C stack) and
 * has an anchor: an address inside that call's C stack frame (its
 * _PyCFrame, or the entry frame, both locals of the evaluation function).
 * When the native stack holds as many _PyEval_EvalFrameDefault frames as
 * there are runs, the k-th run replaces the k-th such frame; when it was
 * cut at max_frames, the runs beyond its last such frame follow it.
 * Otherwise a frame is in the function's cold part (gcc's .cold clone:
 * error paths, where exceptions and tracebacks are made), which has no
 * symbol: the stack is unwound again with stack pointers, each run
 * replaces the native frame that holds its anchor, and the cold part's
 * extent (its unwind entry) is learned, so that the next stacks through it
 * take the fast way.
 */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include "shim/python.h"

#include <libunwind.h>
#include <link.h>
#include <string.h>

#include "shim/arena_map.h"
#include "shim/control.h"
#include "shim/dynsym.h"
#include "shim/hooks.h"
#include "shim/intercept.h"
#include "shim/log.h"
#include "shim/modules.h"
#include "shim/ring.h"
#include "shim/ringfile.h"
#include "shim/rings.h"
#include "shim/spin.h"
#include "shim/tls.h"
#include "shim/unwind.h"
#include "trace/encode.h"
#include "trace/format.h"
#include "util/varint.h"
#include "util/hooksafe.h"

_Atomic int python_hooked;

/* ---- the interpreter's structures, by version -------------------------------- */

enum py_gen {
	GEN_FRAMEOBJ, /* 3.8-3.10: PyFrameObject chain from tstate->frame */
	GEN_311,      /* _PyInterpreterFrame from tstate->cframe, is_entry ends a run */
	GEN_312,      /* as 3.11; an entry frame owned by the C stack ends a run */
	GEN_313,      /* tstate->current_frame; f_executable may be a non-code */
};

#define OWNED_BY_GENERATOR 1 /* enum _frameowner, 3.11 to 3.13 */
#define OWNED_BY_CSTACK 3    /* enum _frameowner, 3.12 and 3.13 */

struct py_layout {
	unsigned minor;	       /* 3.<minor> */
	enum py_gen gen;
	uint16_t ts_frame;     /* PyThreadState: frame (3.8-3.10), current_frame (3.13) */
	uint16_t ts_cframe;    /* PyThreadState: cframe (3.10-3.12), 0 if none */
	uint16_t cf_current;   /* _PyCFrame: current_frame (3.11, 3.12) */
	uint16_t cf_previous;  /* CFrame / _PyCFrame: previous */
	uint16_t fr_code;      /* frame: f_code (f_executable in 3.13) */
	uint16_t fr_previous;  /* frame: f_back / previous */
	uint16_t fr_instr;     /* frame: f_lasti (int), prev_instr, instr_ptr (3.13) */
	uint16_t fr_owner;     /* _PyInterpreterFrame: owner (3.11+) */
	uint16_t fr_entry;     /* _PyInterpreterFrame: is_entry (3.11) */
	uint16_t co_filename;  /* PyCodeObject fields */
	uint16_t co_name;
	uint16_t co_qualname;  /* 3.11+, else 0: co_name */
	uint16_t co_firstlineno;
	uint16_t co_code;      /* co_code_adaptive (3.11+): the instructions */
	uint16_t co_firsttraceable; /* _co_firsttraceable (3.11+): RESUME's index */
	uint8_t lasti_units;   /* 3.10: f_lasti counts 2-byte code units */
	uint8_t str_ascii;     /* sizeof(PyASCIIObject): ASCII data follows */
	uint8_t str_compact;   /* sizeof(PyCompactUnicodeObject): other data */
};

static const struct py_layout layouts[] = {
	{8, GEN_FRAMEOBJ, 24, 0, 0, 0, 32, 24, 104, 0, 0, 104, 112, 0, 40, 0, 0, 0, 48, 72},
	{9, GEN_FRAMEOBJ, 24, 0, 0, 0, 32, 24, 104, 0, 0, 104, 112, 0, 40, 0, 0, 0, 48, 72},
	{10, GEN_FRAMEOBJ, 24, 48, 0, 8, 32, 24, 96, 0, 0, 104, 112, 0, 40, 0, 0, 1, 48, 72},
	{11, GEN_311, 0, 56, 8, 16, 32, 48, 56, 69, 68, 112, 120, 128, 72, 184, 168, 0, 48, 72},
	{12, GEN_312, 0, 56, 0, 8, 0, 8, 56, 70, 0, 112, 120, 128, 68, 192, 176, 0, 40, 56},
	{13, GEN_313, 72, 0, 0, 0, 0, 8, 56, 70, 0, 112, 120, 128, 68, 200, 184, 0, 40, 56},
};

/* PyUnicodeObject state bits (the same in 3.8-3.13) and fixed offsets. */
#define STR_LENGTH 16
#define STR_STATE 32
#define STR_KIND(s) (((s) >> 2) & 7)
#define STR_COMPACT 0x20
#define STR_ASCII 0x40
#define OB_TYPE 8

/* PyMemAllocatorEx and PyObjectArenaAllocator (stable ABI since 3.5). */
struct py_mem { /* the field names are not the poisoned allocator names */
	void *ctx;
	void *(*m_malloc)(void *ctx, size_t size);
	void *(*m_calloc)(void *ctx, size_t nelem, size_t elsize);
	void *(*m_realloc)(void *ctx, void *ptr, size_t size);
	void (*m_free)(void *ctx, void *ptr);
};

struct py_arena {
	void *ctx;
	void *(*a_alloc)(void *ctx, size_t size);
	void (*a_free)(void *ctx, void *ptr, size_t size);
};

enum { DOMAIN_RAW, DOMAIN_MEM, DOMAIN_OBJ, NDOMAINS };

/* ---- process-wide state ------------------------------------------------------------ */

#define FRAMES_MAX 128	     /* Python frames read per stack (the innermost) */
#ifdef HS_ATTACH
/* The attach shim is loaded with dlopen: its initial-exec TLS must fit in
 * the static TLS surplus, and it never reads Python frames. */
#define MEMO_MAX 1
#else
#define MEMO_MAX 64	     /* outermost frames each thread remembers */
#endif
#define RUNS_MAX 128	     /* evaluation calls per stack */
#define CODE_MAX (1u << 20)  /* code objects */
#define LOC_MAX (1u << 22)   /* (code object, instruction) pairs */
#define NAME_MAX_BYTES 1024  /* of a file or function name */
#define ARENAS_MAX 65536     /* pymalloc arenas alive at once */
#define SEG_BYTES (1u << 20) /* code entries segment of the ring file */
#define UNWIND_MAX (OPT_MAX_FRAMES_LIMIT + 8)

static struct {
	const struct py_layout *layout; /* NULL: no frames for this version */
	unsigned layout_ix;		/* layout == &layouts[layout_ix] */
	int frames;			/* python_frames=1 and a known layout */
	uint32_t hexversion;
	char version[128];		/* Py_GetVersion(), cut at the first newline */
	_Atomic uint32_t flags;		/* HST_PY_* */
	_Atomic int late_checked;	/* the domains were checked after start */
	uint32_t max_frames;		/* native frames per stack */
	uintptr_t self_lo, self_hi;	/* the shim's code */
	uintptr_t eval_lo, eval_hi;	/* _PyEval_EvalFrameDefault (its hot part) */
	_Atomic uintptr_t cold_lo;	/* its cold part, once learned: [lo, lo + len) */
	_Atomic uintptr_t cold_len;
	uintptr_t code_type, str_type;	/* &PyCode_Type, &PyUnicode_Type */
	uintptr_t type_type;		/* &PyType_Type: the scan tells objects by it */
	void *(*this_tstate)(void);	/* PyGILState_GetThisThreadState */
	int (*addr2line)(void *code, int addr);	/* PyCode_Addr2Line */
	int (*is_initialized)(void);		/* Py_IsInitialized */
	void (*get_allocator)(int domain, struct py_mem *out);
	void (*set_allocator)(int domain, struct py_mem *in);
	struct py_mem orig[NDOMAINS];	/* what our wrappers call */
	struct py_mem ours[NDOMAINS];	/* our wrappers, with orig's ctx */
	void *(*raw_malloc)(void *, size_t); /* the raw domain's m_malloc at start */
	struct py_arena orig_arena;
} py;

/* ---- pymalloc arenas -------------------------------------------------------------- */

/*
 * The arenas pymalloc took while one of our domain wrappers was running:
 * those hold only traced objects (and free slots with stale pointers), so
 * the scan reads their objects as blocks and the rest not at all.  Arenas
 * taken before the wrappers were in place (PYTHONMALLOC set) are not
 * noted, and stay roots.  Slots are claimed and cleared under arena_lock,
 * which is never held across a call out; the scan reads them with the
 * world stopped, without the lock.
 */
struct arena_slot {
	_Atomic uintptr_t lo, hi; /* [lo, hi); lo == 0: free */
};
static struct arena_slot *arenas; /* ARENAS_MAX slots */
static _Atomic uint32_t arenas_used; /* slots ever used: the scan reads these */
static struct spin arena_lock;

static void arena_note(uintptr_t lo, size_t bytes)
{
	if (!arenas)
		return;
	spin_lock(&arena_lock);
	uint32_t n = atomic_load_rlx(&arenas_used); /* relaxed: lock held */
	uint32_t i = 0;
	while (i < n && atomic_load_rlx(&arenas[i].lo)) /* relaxed: lock held */
		i++;
	if (i < ARENAS_MAX) {
		/* relaxed: the scan reads with the world stopped */
		atomic_store_rlx(&arenas[i].hi, lo + bytes);
		atomic_store_rlx(&arenas[i].lo, lo);
		if (i == n)
			atomic_store_rlx(&arenas_used, n + 1);
	}
	spin_unlock(&arena_lock);
}

static void arena_forget(uintptr_t lo)
{
	if (!arenas)
		return;
	spin_lock(&arena_lock);
	uint32_t n = atomic_load_rlx(&arenas_used); /* relaxed: lock held */
	for (uint32_t i = 0; i < n; i++)
		if (atomic_load_rlx(&arenas[i].lo) == lo) { /* relaxed: lock held */
			atomic_store_rlx(&arenas[i].lo, 0);
			break;
		}
	spin_unlock(&arena_lock);
}

void python_arenas_each(void (*fn)(uintptr_t lo, uintptr_t hi, void *arg), void *arg)
{
	uint32_t n = arenas ? atomic_load_rlx(&arenas_used) : 0; /* relaxed: the world is stopped */

	for (uint32_t i = 0; i < n; i++) {
		uintptr_t lo = atomic_load_rlx(&arenas[i].lo), hi = atomic_load_rlx(&arenas[i].hi);
		if (lo && lo < hi)
			fn(lo, hi, arg);
	}
}

static void *py_arena_alloc(void *ctx, size_t bytes)
{
	void *p = py.orig_arena.a_alloc(py.orig_arena.ctx, bytes);

	(void)ctx;
	/* Only pymalloc's arenas, which it takes inside an object domain
	 * call; the interpreter's frame stack (3.11+) comes from here too,
	 * and it is a root. */
	if (p && tls.py_inner)
		arena_note((uintptr_t)p, bytes);
	return p;
}

static void py_arena_free(void *ctx, void *p, size_t bytes)
{
	(void)ctx;
	if (p)
		arena_forget((uintptr_t)p);
	py.orig_arena.a_free(py.orig_arena.ctx, p, bytes);
}

/* ---- the domain wrappers ------------------------------------------------------------ */

/*
 * One wrapper set per domain; each calls the allocator it replaced with
 * that allocator's own ctx, and ours carry the same ctx, so that a thread
 * reading the domain's struct while it is being replaced calls either
 * function with the right ctx.  tls.py_inner marks the call: what the
 * allocator does inside it (pymalloc passing a big block to the raw
 * domain, the raw domain calling malloc) is the same block, not another
 * event.
 */
static void *py_malloc(int d, size_t n)
{
	struct tls_state *t = &tls;
	const struct py_mem *o = &py.orig[d];

	if (t->py_inner)
		return o->m_malloc(o->ctx, n);
	t->py_inner = 1;
	void *p = o->m_malloc(o->ctx, n);
	t->py_inner = 0;
	if (p)
		hook_record_alloc(HST_EV_PY_MALLOC, p, n);
	return p;
}

static void *py_calloc(int d, size_t nelem, size_t elsize)
{
	struct tls_state *t = &tls;
	const struct py_mem *o = &py.orig[d];

	if (t->py_inner)
		return o->m_calloc(o->ctx, nelem, elsize);
	t->py_inner = 1;
	void *p = o->m_calloc(o->ctx, nelem, elsize);
	t->py_inner = 0;
	if (p) /* the allocator checked nelem * elsize for overflow */
		hook_record_alloc(HST_EV_PY_CALLOC, p, nelem * elsize);
	return p;
}

static void *py_realloc(int d, void *p, size_t n)
{
	struct tls_state *t = &tls;
	const struct py_mem *o = &py.orig[d];

	if (t->py_inner)
		return o->m_realloc(o->ctx, p, n);
	t->py_inner = 1;
	void *q = o->m_realloc(o->ctx, p, n);
	t->py_inner = 0;
	if (q) /* NULL: failed, p is still the block */
		hook_record_realloc(HST_EV_PY_REALLOC, p, q, n);
	return q;
}

static void py_free(int d, void *p)
{
	struct tls_state *t = &tls;
	const struct py_mem *o = &py.orig[d];

	if (t->py_inner) {
		o->m_free(o->ctx, p);
		return;
	}
	if (p) /* before the block can be handed out again */
		hook_record_free(HST_EV_PY_FREE, p);
	t->py_inner = 1;
	o->m_free(o->ctx, p);
	t->py_inner = 0;
}

#define DOMAIN_WRAPPERS(d, name)                                                                 \
	static void *py_malloc_##name(void *ctx, size_t n)                                      \
	{                                                                                        \
		(void)ctx;                                                                       \
		return py_malloc(d, n);                                                          \
	}                                                                                        \
	static void *py_calloc_##name(void *ctx, size_t nelem, size_t elsize)                   \
	{                                                                                        \
		(void)ctx;                                                                       \
		return py_calloc(d, nelem, elsize);                                              \
	}                                                                                        \
	static void *py_realloc_##name(void *ctx, void *p, size_t n)                            \
	{                                                                                        \
		(void)ctx;                                                                       \
		return py_realloc(d, p, n);                                                      \
	}                                                                                        \
	static void py_free_##name(void *ctx, void *p)                                          \
	{                                                                                        \
		(void)ctx;                                                                       \
		py_free(d, p);                                                                   \
	}

DOMAIN_WRAPPERS(DOMAIN_RAW, raw)
DOMAIN_WRAPPERS(DOMAIN_MEM, mem)
DOMAIN_WRAPPERS(DOMAIN_OBJ, obj)

static const struct py_mem wrappers[NDOMAINS] = {
	{NULL, py_malloc_raw, py_calloc_raw, py_realloc_raw, py_free_raw},
	{NULL, py_malloc_mem, py_calloc_mem, py_realloc_mem, py_free_mem},
	{NULL, py_malloc_obj, py_calloc_obj, py_realloc_obj, py_free_obj},
};

/* Put our wrapper around domain d's current allocator. */
static void wrap_domain(int d, const struct py_mem *cur)
{
	py.orig[d] = *cur;
	py.ours[d] = wrappers[d];
	py.ours[d].ctx = cur->ctx;
	py.set_allocator(d, &py.ours[d]);
}

struct control_item *python_record(void)
{
	size_t vlen = strlen(py.version);
	struct control_item *it =
		py.hexversion ? control_new(HST_REC_PYTHON, 0, encode_python_max(vlen)) : NULL;

	if (!it)
		return NULL;
	/* relaxed: a snapshot of the flags; a later change sends another */
	uint32_t flags = atomic_load_rlx(&py.flags);
	it->len = (uint32_t)(encode_python(it->body, py.hexversion, py.version, vlen, flags) - it->body);
	return it;
}


/*
 * Once the interpreter runs: are our wrappers still in place?  An explicit
 * PYTHONMALLOC (or -X dev) makes the interpreter install its allocators
 * again early in its start, over ours.  PYTHONMALLOC=malloc, every domain
 * malloc-based, needs nothing: every block reaches malloc and is recorded
 * there.  Otherwise each domain that is not ours is wrapped now, as at
 * start (PYTHONMALLOC=pymalloc puts the raw domain's malloc-based
 * allocator back too, so that one alone says nothing); the objects made
 * before are not traced, and the arenas that hold them stay roots (they
 * were not noted).
 */
static void late_check(void)
{
	int expect = 0;

	/* acq_rel: one thread checks */
	if (!atomic_cas_acq_rel(&py.late_checked, &expect, 1))
		return;
	uint32_t flags = atomic_load_rlx(&py.flags), was = flags; /* relaxed: only this thread writes it now */
	struct py_mem cur[NDOMAINS];
	int all_malloc = 1;
	for (int d = 0; d < NDOMAINS; d++) {
		py.get_allocator(d, &cur[d]);
		all_malloc &= cur[d].m_malloc == py.raw_malloc;
	}
	if (all_malloc)
		flags &= ~(uint32_t)HST_PY_ALLOCATORS;
	for (int d = 0; d < NDOMAINS && (flags & HST_PY_ALLOCATORS); d++) {
		if (cur[d].m_malloc == wrappers[d].m_malloc)
			continue;
		wrap_domain(d, &cur[d]);
		flags |= HST_PY_LATE;
	}
	if (flags != was) {
		atomic_store_rlx(&py.flags, flags); /* relaxed: read by python_record only */
		struct control_item *it = python_record();
		if (it) /* the collector runs by now: the interpreter has started */
			control_push(it);
	}
}

/* ---- code objects and lines ------------------------------------------------------------ */

/* A code object as first seen; id is what stacks name it by. */
struct py_code {
	uintptr_t code;		  /* its address */
	uintptr_t filename, name; /* its co_filename and co_qualname objects */
	int32_t firstlineno;
	uint32_t pad;
};

/* One instruction of a code object, and its line. */
struct py_loc {
	uintptr_t code;	  /* the code object's address */
	uint32_t addr;	  /* instruction offset, bytes */
	uint32_t code_id; /* its id in codes */
	uint32_t line;	  /* 0: unknown */
	uint32_t pad;
};

/* Open-addressing index, slot = hash32 << 32 | entry number, 0 = empty;
 * replaced whole by a bigger copy (the old one stays mapped), as stack.c's. */
struct py_index {
	uint64_t mask;		  /* slots - 1 */
	uint64_t used;		  /* filled slots (writers only) */
	_Atomic uint64_t slots[];
};

static struct py_code *codes;			  /* by id, 1.. */
static const struct ringfile_pycode_entry **code_entries; /* by id */
static _Atomic uint32_t ncodes;			  /* ids 1..ncodes are complete */
static struct py_loc *locs;			  /* 1.. */
static uint32_t nlocs;				  /* writers only */
static _Atomic(struct py_index *) code_index, loc_index;
static struct spin table_lock;
static char *seg_next, *seg_end; /* free space in the current code segment */
static struct ringfile_stacks *seg_cur;

/* Populated: probed before written (arena_map_table). */
static struct py_index *index_new(uint64_t slots)
{
	struct py_index *x = arena_map_table(sizeof(*x) + slots * sizeof(uint64_t));
	if (x)
		x->mask = slots - 1;
	return x;
}

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h | 1;
}

/* Put (h, entry) into x; caller holds table_lock. */
static void index_put(struct py_index *x, uint64_t h, uint32_t entry)
{
	uint64_t i = h & x->mask;

	/* relaxed: only writers (serialized by the lock) change slots */
	while (atomic_load_rlx(&x->slots[i]))
		i = (i + 1) & x->mask;
	/* release: the entry is complete before a reader finds its slot */
	atomic_store_rel(&x->slots[i], (h & 0xffffffff00000000ull) | entry);
	x->used++;
}

/* Double *slot's index when half full; rehash with key(entry).  Caller
 * holds table_lock. */
static void index_grow(_Atomic(struct py_index *) *slot, uint32_t n, uint64_t (*key)(uint32_t entry))
{
	struct py_index *old = atomic_load_rlx(slot); /* relaxed: lock held */

	if (old->used * 2 < old->mask + 1)
		return;
	struct py_index *x = index_new((old->mask + 1) * 2);
	if (!x)
		return;
	for (uint32_t e = 1; e <= n; e++)
		index_put(x, key(e), e);
	/* release: readers that load the new index see all its slots */
	atomic_store_rel(slot, x);
}

static uint64_t code_key(uint32_t id)
{
	return mix(codes[id].code);
}

static uint64_t loc_hash(uintptr_t code, uint32_t addr)
{
	return mix(code ^ (uint64_t)addr << 48 ^ (uint64_t)addr);
}

static uint64_t loc_key(uint32_t e)
{
	return loc_hash(locs[e].code, locs[e].addr);
}

static inline uintptr_t rd(uintptr_t base, unsigned off)
{
	return *(const uintptr_t *)(base + off);
}

/* The name object of code: co_qualname (3.11+) or co_name. */
static uintptr_t code_name(uintptr_t code)
{
	const struct py_layout *L = py.layout;
	return rd(code, L->co_qualname ? L->co_qualname : L->co_name);
}

/* Is the code object at address code still the one codes[id] saw? */
HS_INLINE int code_same(uint32_t id, uintptr_t code)
{
	const struct py_code *c = &codes[id];
	const struct py_layout *L = py.layout;

	return c->code == code && c->filename == rd(code, L->co_filename) && c->name == code_name(code) &&
	       c->firstlineno == *(const int32_t *)(code + L->co_firstlineno);
}

/* Write str object s as UTF-8 to buf (at most NAME_MAX_BYTES bytes);
 * return the length, and "?" when it is not a string we can read (a
 * legacy string of 3.8-3.11, which names hardly are). */
static size_t utf8_of(uintptr_t s, char *buf)
{
	size_t n = 0;

	if (s && rd(s, OB_TYPE) == py.str_type) {
		uint32_t state = *(const uint32_t *)(s + STR_STATE);
		int64_t len = *(const int64_t *)(s + STR_LENGTH);
		unsigned kind = STR_KIND(state);
		if ((state & STR_COMPACT) && len >= 0 && (kind == 1 || kind == 2 || kind == 4)) {
			const uint8_t *data = (const uint8_t *)(s + ((state & STR_ASCII) ? py.layout->str_ascii
										  : py.layout->str_compact));
			for (int64_t i = 0; i < len && n + 4 <= NAME_MAX_BYTES; i++) {
				uint32_t c = kind == 1 ? data[i]
					   : kind == 2 ? ((const uint16_t *)data)[i]
						       : ((const uint32_t *)data)[i];
				if (c < 0x80) {
					buf[n++] = (char)c;
				} else if (c < 0x800) {
					buf[n++] = (char)(0xc0 | c >> 6);
					buf[n++] = (char)(0x80 | (c & 0x3f));
				} else if (c < 0x10000) {
					buf[n++] = (char)(0xe0 | c >> 12);
					buf[n++] = (char)(0x80 | ((c >> 6) & 0x3f));
					buf[n++] = (char)(0x80 | (c & 0x3f));
				} else {
					buf[n++] = (char)(0xf0 | c >> 18);
					buf[n++] = (char)(0x80 | ((c >> 12) & 0x3f));
					buf[n++] = (char)(0x80 | ((c >> 6) & 0x3f));
					buf[n++] = (char)(0x80 | (c & 0x3f));
				}
			}
		}
	}
	if (!n)
		buf[n++] = '?';
	return n;
}

/* Reserve bytes for a code entry in the ring file.  Caller holds
 * table_lock. */
static struct ringfile_pycode_entry *entry_alloc(size_t bytes)
{
	bytes = (bytes + 7) & ~(size_t)7;
	if ((size_t)(seg_end - seg_next) < bytes) {
		struct ringfile_stacks *s = ringfile_map(RINGFILE_SEG_PYCODE, SEG_BYTES);
		if (!s)
			return NULL;
		seg_cur = s;
		seg_next = (char *)s + RINGFILE_STACKS_DATA_OFFSET;
		seg_end = (char *)s + s->seg.bytes;
	}
	struct ringfile_pycode_entry *e = (void *)seg_next;
	seg_next += bytes;
	/* release: a reader of the file sees used cover a reserved entry */
	atomic_store_rel(&seg_cur->used, (uint64_t)(seg_next - (char *)seg_cur) - RINGFILE_STACKS_DATA_OFFSET);
	return e;
}

/* The id of the code object at code: found, or named now.  Caller holds
 * table_lock.  0 when the tables are full. */
static uint32_t code_intern(uintptr_t code)
{
	struct py_index *x = atomic_load_rlx(&code_index); /* relaxed: lock held */
	uint64_t h = mix(code);
	uint32_t n = atomic_load_rlx(&ncodes); /* relaxed: lock held */

	for (uint64_t i = h & x->mask;; i = (i + 1) & x->mask) {
		uint64_t s = atomic_load_rlx(&x->slots[i]); /* relaxed: lock held */
		if (!s)
			break;
		if ((uint32_t)(s >> 32) == (uint32_t)(h >> 32) && code_same((uint32_t)s, code))
			return (uint32_t)s;
	}
	/* New, or another code object at the address of a dead one. */
	if (n + 1 >= CODE_MAX)
		return 0;
	const struct py_layout *L = py.layout;
	uint32_t id = n + 1;
	struct py_code *c = &codes[id];
	c->code = code;
	c->filename = rd(code, L->co_filename);
	c->name = code_name(code);
	c->firstlineno = *(const int32_t *)(code + L->co_firstlineno);
	char file[NAME_MAX_BYTES], name[NAME_MAX_BYTES];
	size_t flen = utf8_of(c->filename, file), nlen = utf8_of(c->name, name);
	struct ringfile_pycode_entry *e = entry_alloc(sizeof(*e) + encode_pycode_max(flen, nlen));
	if (!e)
		return 0;
	e->id = id;
	e->len = (uint16_t)(encode_pycode(e->body, id, file, flen, name, nlen,
					  c->firstlineno > 0 ? (uint32_t)c->firstlineno : 0) -
			    e->body);
	/* release: the body is complete before a reader of the file sees ready */
	atomic_store_rel(&e->ready, 1);
	code_entries[id] = e;
	index_put(x, h, id);
	/* release: the collector that reads ncodes sees entries 1..id */
	atomic_store_rel(&ncodes, id);
	index_grow(&code_index, id, code_key);
	return id;
}

/* Slow path of py_pc: name the code and its line, under the lock. */
static HS_NOINLINE uint64_t pc_insert(uintptr_t code, uint32_t addr, uint64_t h)
{
	/* The line first: PyCode_Addr2Line walks the line table, and is a
	 * call out that the lock must not be held across.  It reads only the
	 * code object (3.8-3.13), and never allocates. */
	int line = py.addr2line((void *)code, (int)addr);
	uint64_t pc = 0;

	spin_lock(&table_lock);
	struct py_index *x = atomic_load_rlx(&loc_index); /* relaxed: lock held */
	uint64_t stale = UINT64_MAX;
	for (uint64_t i = h & x->mask;; i = (i + 1) & x->mask) {
		uint64_t s = atomic_load_rlx(&x->slots[i]); /* relaxed: lock held */
		if (!s)
			break;
		const struct py_loc *l = &locs[(uint32_t)s];
		if ((uint32_t)(s >> 32) != (uint32_t)(h >> 32) || l->code != code || l->addr != addr)
			continue;
		if (code_same(l->code_id, code)) {
			pc = hst_pyframe(l->code_id, l->line);
			goto out;
		}
		stale = i;
	}
	uint32_t id = code_intern(code);
	if (!id || nlocs + 1 >= LOC_MAX) {
		pc = hst_pyframe(id, 0);
		goto out;
	}
	uint32_t e = ++nlocs;
	locs[e] = (struct py_loc){code, addr, id, line > 0 ? (uint32_t)line : 0, 0};
	pc = hst_pyframe(id, locs[e].line);
	if (stale != UINT64_MAX) {
		/* release: the new entry is complete before its slot names it */
		atomic_store_rel(&x->slots[stale], (h & 0xffffffff00000000ull) | e);
	} else {
		index_put(x, h, e);
		index_grow(&loc_index, nlocs, loc_key);
	}
out:
	spin_unlock(&table_lock);
	return pc;
}

/* The stack entry of the instruction at byte offset addr of code. */
static uint64_t py_pc(uintptr_t code, uint32_t addr)
{
	uint64_t h = loc_hash(code, addr);
	/* acquire: pairs with the release that published the index */
	struct py_index *x = atomic_load_acq(&loc_index);

	for (uint64_t i = h & x->mask;; i = (i + 1) & x->mask) {
		/* acquire: pairs with the release in index_put; the entry the
		 * slot names is complete */
		uint64_t s = atomic_load_acq(&x->slots[i]);
		if (!s)
			break;
		const struct py_loc *l = &locs[(uint32_t)s];
		if ((uint32_t)(s >> 32) == (uint32_t)(h >> 32) && l->code == code && l->addr == addr) {
			if (code_same(l->code_id, code))
				return hst_pyframe(l->code_id, l->line);
			break; /* a dead code object's: named again */
		}
	}
	return pc_insert(code, addr, h);
}

uint32_t python_code_count(void)
{
	/* acquire: pairs with the release in code_intern */
	return atomic_load_acq(&ncodes);
}

const struct ringfile_pycode_entry *python_code_get(uint32_t id)
{
	return code_entries[id];
}

/* ---- reading the frames ---------------------------------------------------------------- */

struct py_walk {
	unsigned n;		       /* frames */
	unsigned nruns;		       /* evaluation calls */
	unsigned nempty;	       /* runs without frames */
	uint64_t pc[FRAMES_MAX];       /* innermost first: the frame's address
					* while walking, then its HST_PYFRAME */
	uintptr_t code[FRAMES_MAX];    /* its code object */
	uint32_t addr[FRAMES_MAX];     /* the instruction it runs, bytes into code */
	uint16_t end[RUNS_MAX];	       /* run k is pc[end[k-1] (or 0), end[k]) */
	uintptr_t anchor[RUNS_MAX];    /* an address in run k's C frame, 0: unknown */
};

/*
 * Each thread's last walk, its outermost frames by depth from the
 * outermost (e[0] is the outermost): a caller's frame does not
 * change while it waits for its callee, so consecutive stacks of a thread
 * share most of their outer frames, and a frame found again at the same
 * depth from the outermost, at the same address, running the same
 * instruction of the same code object, has the same entry.  Checking that
 * costs a few loads; naming a frame afresh a hash lookup.
 */
struct py_memo {
	uint32_t n; /* entries, e[0] the outermost */
	struct {
		uintptr_t frame; /* its address */
		uint32_t addr;	 /* its instruction */
		uint64_t pc;	 /* its entry */
		struct py_code code; /* its code object as named (code_same) */
	} e[MEMO_MAX];
};
static HS_TLS struct py_memo memo;

/* Remember frame, running instruction addr of code, as entry pc at depth
 * (from the outermost) in the thread's memo. */
HS_INLINE void memo_put(unsigned depth, uintptr_t frame, uint32_t addr, uint64_t pc, const struct py_code *c)
{
	if (depth < MEMO_MAX) {
		memo.e[depth].frame = frame;
		memo.e[depth].addr = addr;
		memo.e[depth].pc = pc;
		memo.e[depth].code = *c;
	}
}

/*
 * One element of a thread's last chain of interpreter frames, innermost
 * first, as the walk saw it: every field the walk and the naming of its
 * frames read.  An element whose fields all read the same again has the
 * same outcome (a frame and its entry, a frame left out, a run's end), so
 * that a chain of as many elements, each of the same kind as before,
 * makes the same walk with only the changed frames named again.
 */
enum { EL_FRAME, EL_HIDDEN, EL_ENTRY, EL_OTHER };
#define CHAIN_MAX 48 /* elements remembered: a longer chain is walked afresh */
struct py_el {
	uintptr_t frame, code, instr; /* instr: the raw word at fr_instr */
	struct py_code c;	      /* code's fields (EL_FRAME, EL_HIDDEN) */
	uint32_t flags;		      /* the frame's owner and is_entry bytes */
	int32_t first;		      /* code's first traceable instruction */
	uint16_t kind;		      /* EL_* */
	uint16_t j;		      /* EL_FRAME: its index in the walk */
};

/* The raw words the chain compares: the instruction word (an int in a
 * frame object) and the owner and entry bytes (none in a frame object). */
HS_INLINE uintptr_t el_instr(const struct py_layout *L, uintptr_t frame, const enum py_gen gen)
{
	return gen == GEN_FRAMEOBJ ? (uintptr_t)(intptr_t)*(const int *)(frame + L->fr_instr) : rd(frame, L->fr_instr);
}

HS_INLINE uint32_t el_flags(const struct py_layout *L, uintptr_t frame, const enum py_gen gen)
{
	if (gen == GEN_FRAMEOBJ)
		return 0;
	uint32_t f = *(const uint8_t *)(frame + L->fr_owner);
	return gen == GEN_311 ? f << 8 | *(const uint8_t *)(frame + L->fr_entry) : f;
}

HS_INLINE int32_t el_first(const struct py_layout *L, uintptr_t code, const enum py_gen gen)
{
	return gen == GEN_FRAMEOBJ || !L->co_firsttraceable ? 0 : *(const int32_t *)(code + L->co_firsttraceable);
}

/* The fields of code that name it (code_same). */
HS_INLINE struct py_code el_code(const struct py_layout *L, uintptr_t code)
{
	return (struct py_code){code, rd(code, L->co_filename), rd(code, L->co_qualname ? L->co_qualname : L->co_name),
				*(const int32_t *)(code + L->co_firstlineno), 0};
}

/* The byte offset of the instruction frame is running in code. */
HS_INLINE uint32_t frame_addr(const struct py_layout *L, uintptr_t frame, uintptr_t code, const enum py_gen gen)
{
	if (gen == GEN_FRAMEOBJ) {
		int lasti = *(const int *)(frame + L->fr_instr);
		if (lasti < 0)
			return 0;
		return L->lasti_units ? (uint32_t)lasti * 2 : (uint32_t)lasti;
	}
	uintptr_t instr = rd(frame, L->fr_instr), start = code + L->co_code;
	return instr > start ? (uint32_t)(instr - start) : 0;
}

/*
 * Is the frame one the interpreter itself leaves out of tracebacks and
 * tracemalloc's stacks (3.11+, _PyFrame_IsIncomplete in its
 * pycore_frame.h): not a generator's, and not yet at its first traceable
 * instruction (its RESUME)?  Such are a frame still being set up (a
 * generator function's own, while RETURN_GENERATOR makes the generator)
 * and 3.13's shim frame under a class's __init__ (_Py_InitCleanup, a code
 * object named "__init__" in a file "__init__").
 */
HS_INLINE int frame_incomplete(const struct py_layout *L, uintptr_t frame, uintptr_t code, const enum py_gen gen)
{
	if (gen == GEN_FRAMEOBJ || !L->co_firsttraceable || *(const uint8_t *)(frame + L->fr_owner) == OWNED_BY_GENERATOR)
		return 0;
	int32_t first = *(const int32_t *)(code + L->co_firsttraceable);
	uintptr_t instr = rd(frame, L->fr_instr);
	/* 2-byte code units; the comparison is CPython's */
	return first > 0 && instr < code + L->co_code + 2 * (uintptr_t)first;
}

/*
 * Read the Python frames of thread state ts, innermost first, split into
 * runs.  The frames are the calling thread's own: nothing else changes
 * them while it is in here (the GIL holder runs Python only on its own
 * thread state), and each was linked into the chain after it was set up.
 */
HS_INLINE void walk_gen(struct py_walk *w, uintptr_t ts, const enum py_gen gen, struct py_el *el, unsigned *nel)
{
	/* the offsets in locals: the stores into w cannot change them */
	const struct py_layout L = *py.layout;
	const uintptr_t code_type = py.code_type;
	uintptr_t frame = 0, cf = 0;
	unsigned n = 0, nruns = 0, nempty = 0, last = 0; /* last: where the last run ended */
	unsigned ne = 0; /* chain elements recorded into el; CHAIN_MAX + 1: none can be */

	switch (gen) {
	case GEN_FRAMEOBJ:
		frame = rd(ts, L.ts_frame);
		cf = L.ts_cframe ? rd(ts, L.ts_cframe) : 0;
		break;
	case GEN_311:
	case GEN_312:
		cf = rd(ts, L.ts_cframe);
		frame = cf ? rd(cf, L.cf_current) : 0;
		break;
	case GEN_313:
		frame = rd(ts, L.ts_frame);
		break;
	}
	for (unsigned steps = 0; frame && steps < 4 * FRAMES_MAX; steps++) {
		if (n == FRAMES_MAX || nruns == RUNS_MAX - 1)
			break;
		if (el && ne == CHAIN_MAX)
			ne = CHAIN_MAX + 1, el = NULL;
		struct py_el *e = el ? &el[ne++] : NULL;
		uintptr_t next = rd(frame, L.fr_previous);
		if (gen >= GEN_312 && *(const uint8_t *)(frame + L.fr_owner) == OWNED_BY_CSTACK) {
			/* the entry frame is a local of its C frame */
			nempty += n == last;
			w->end[nruns] = (uint16_t)(last = n);
			w->anchor[nruns++] = frame;
			if (e)
				*e = (struct py_el){.frame = frame, .flags = el_flags(&L, frame, gen), .kind = EL_ENTRY};
			frame = next;
			continue;
		}
		uintptr_t code = rd(frame, L.fr_code);
		if (!code || rd(code, OB_TYPE) != code_type) {
			if (gen == GEN_313) { /* f_executable that is not code */
				if (e)
					*e = (struct py_el){.frame = frame, .flags = el_flags(&L, frame, gen), .kind = EL_OTHER};
				frame = next;
				continue;
			}
			ne = CHAIN_MAX + 1, el = NULL;
			break; /* not what the layout says: stop reading */
		}
		int hidden = frame_incomplete(&L, frame, code, gen);
		if (e)
			*e = (struct py_el){frame, code, el_instr(&L, frame, gen), el_code(&L, code), el_flags(&L, frame, gen),
					    el_first(&L, code, gen), hidden ? EL_HIDDEN : EL_FRAME, (uint16_t)n};
		if (!hidden) {
			w->pc[n] = frame;
			w->code[n] = code;
			w->addr[n] = frame_addr(&L, frame, code, gen);
			n++;
		}
		if (gen == GEN_FRAMEOBJ || (gen == GEN_311 && *(const uint8_t *)(frame + L.fr_entry))) {
			/* the call's _PyCFrame is its local */
			nempty += n == last;
			w->end[nruns] = (uint16_t)(last = n);
			w->anchor[nruns++] = cf;
			if (cf)
				cf = rd(cf, L.cf_previous);
		}
		frame = next;
	}
	if (n > last) { /* frames read past the last mark (a cut walk) */
		w->end[nruns] = (uint16_t)n;
		w->anchor[nruns++] = 0;
	}
	w->n = n;
	w->nruns = nruns;
	w->nempty = nempty;
	if (nel) /* the whole chain, when it ended (not cut) and fits */
		*nel = frame ? CHAIN_MAX + 1 : ne;
}

/* walk_gen, made for each generation; the chain's elements into el[0..*nel)
 * unless el is NULL (*nel > CHAIN_MAX: the chain cannot be kept). */
static void walk(struct py_walk *w, uintptr_t ts, struct py_el *el, unsigned *nel)
{
	switch (py.layout->gen) {
	case GEN_FRAMEOBJ:
		walk_gen(w, ts, GEN_FRAMEOBJ, el, nel);
		break;
	case GEN_311:
		walk_gen(w, ts, GEN_311, el, nel);
		break;
	case GEN_312:
		walk_gen(w, ts, GEN_312, el, nel);
		break;
	case GEN_313:
		walk_gen(w, ts, GEN_313, el, nel);
		break;
	}
}

/* Give every frame of w its stack entry: from the thread's memo while the
 * frames, from the outermost in, are those it remembers at the same depth
 * (the same frame address running the same instruction of the same code
 * object), then from the tables; remember the frames named afresh.  A
 * frame inside the first one that changed is another call than the one
 * the memo holds at its depth: it is not compared.  Return how many
 * outermost frames were found in the memo. */
static unsigned name_frames(struct py_walk *w)
{
	struct py_memo *m = &memo;
	const struct py_layout *L = py.layout;
	const unsigned ofile = L->co_filename, oname = L->co_qualname ? L->co_qualname : L->co_name,
		       oline = L->co_firstlineno;
	unsigned n = w->n, depth = 0, mn = m->n < n ? m->n : n;

	for (; depth < mn; depth++) {
		unsigned j = n - 1 - depth;
		uintptr_t code = w->code[j];
		const struct py_code *c = &m->e[depth].code;
		/* code_is, with the offsets at hand */
		if (m->e[depth].frame != w->pc[j] || m->e[depth].addr != w->addr[j] || c->code != code ||
		    c->filename != rd(code, ofile) || c->name != rd(code, oname) ||
		    c->firstlineno != *(const int32_t *)(code + oline))
			break;
		w->pc[j] = m->e[depth].pc;
		/* what the tables give */
		HS_ASSERT(w->pc[j] == py_pc(code, w->addr[j]));
	}
	unsigned same = depth;
	for (; depth < n; depth++) {
		unsigned j = n - 1 - depth;
		uint64_t frame = w->pc[j];
		uintptr_t code = w->code[j];
		w->pc[j] = py_pc(code, w->addr[j]);
		if (depth < MEMO_MAX) {
			/* remember it as named (py_pc read the same fields) */
			m->e[depth].frame = frame;
			m->e[depth].addr = w->addr[j];
			m->e[depth].pc = w->pc[j];
			m->e[depth].code = (struct py_code){code, rd(code, ofile), rd(code, oname),
							    *(const int32_t *)(code + oline), 0};
		}
	}
	m->n = n < MEMO_MAX ? n : MEMO_MAX;
	return same;
}

/* ---- putting them into the native stack ------------------------------------------------ */

/* Append run k of w to out[o..cap); a run without frames leaves the
 * native frame ip in place (if any). */
static unsigned put_run(const struct py_walk *w, unsigned k, uint64_t ip, uint64_t *out, unsigned o, unsigned cap)
{
	unsigned from = k ? w->end[k - 1] : 0, to = w->end[k];

	if (from == to && ip && o < cap)
		out[o++] = ip;
	if (to - from > cap - o)
		to = from + (cap - o);
	memcpy(out + o, w->pc + from, (to - from) * sizeof(*out));
	return o + (to - from);
}

/* Append ips[from..to) to out[o..cap). */
static unsigned put_native(void *const *ips, unsigned from, unsigned to, uint64_t *out, unsigned o, unsigned cap)
{
	if (to - from > cap - o)
		to = from + (cap - o);
	memcpy(out + o, ips + from, (to - from) * sizeof(*out)); /* void * is a u64 here */
	return o + (to - from);
}

/* Frame ip held an evaluation call's anchor but is not in the function's
 * hot part: note the extent of the unwind entry that covers it, the cold
 * part (gcc makes one per function). */
static void learn_cold(uintptr_t ip)
{
	unw_proc_info_t pi;

	/* relaxed: a race stores the same range twice, or one of two; the
	 * range is only compared, and a missed one means another slow walk */
	if (atomic_load_rlx(&py.cold_len) ||
	    unw_get_proc_info_by_ip(unw_local_addr_space, ip - 1, &pi, NULL) || pi.start_ip >= pi.end_ip ||
	    pi.end_ip - pi.start_ip > (1u << 20))
		return;
	atomic_store_rlx(&py.cold_lo, pi.start_ip);
	atomic_store_rlx(&py.cold_len, pi.end_ip - pi.start_ip);
}

/*
 * Not every evaluation frame was recognized: unwind again, with stack
 * pointers, and give the native frame that holds each run's anchor way to
 * that run; learn the cold part on the way.  Runs that no frame holds
 * follow the last frame.  Return 0 if the unwind failed.
 */
static HS_NOINLINE unsigned splice_by_stack(const struct py_walk *w, uint64_t *out, unsigned cap)
{
	unw_context_t uc;
	unw_cursor_t c;
	uint64_t ip[UNWIND_MAX], sp[UNWIND_MAX];
	unsigned n = 0, o = 0, k = 0;

	if (unw_getcontext(&uc) || unw_init_local(&c, &uc))
		return 0;
	do {
		unw_word_t a, b;
		if (unw_get_reg(&c, UNW_REG_IP, &a) || unw_get_reg(&c, UNW_REG_SP, &b) || !a)
			break;
		if (!n && a >= py.self_lo && a < py.self_hi)
			continue; /* the shim's own frames */
		ip[n] = a;
		sp[n] = b;
		n++;
	} while (n < py.max_frames && unw_step(&c) > 0);
	for (unsigned i = 0; i < n && o < cap; i++) {
		uint64_t hi = i + 1 < n ? sp[i + 1] : UINT64_MAX;
		int replaced = 0;
		while (k < w->nruns && w->anchor[k] >= sp[i] && w->anchor[k] < hi && o < cap) {
			if (!replaced && !(ip[i] - 1 >= py.eval_lo && ip[i] - 1 < py.eval_hi))
				learn_cold(ip[i]);
			o = put_run(w, k++, replaced ? 0 : ip[i], out, o, cap);
			replaced = 1;
		}
		if (!replaced)
			out[o++] = ip[i];
	}
	while (k < w->nruns && o < cap)
		o = put_run(w, k++, 0, out, o, cap);
	return o;
}

/* ---- each thread's last stack ------------------------------------------------------- */

/*
 * Each thread's last stack as python_stack made it, right-aligned in v
 * (its outermost frame at v[OUT_CAP - 1]), with the hash of every suffix
 * and its shape: where its evaluation frames were and how many Python
 * frames each run had.  Consecutive stacks of a thread share most of their
 * outer frames: the unwinder says how many outermost native frames are
 * those of its previous capture, name_frames how many outermost Python
 * frames are the memo's, and from the two shapes follows how many
 * outermost entries of the stack are those of the last one.  Only the
 * entries inside them are written and hashed again; the very stack of
 * last time keeps its id.  One per ring slot, as the unwinder's memos: a
 * thread owns its ring's.
 *
 * The stacks a thread made are also kept as a trie of their entries from
 * the outermost in, hash-consed (struct py_trie): node (parent, x) is
 * entry x inside the suffix that node parent names (0: none), so a node
 * names one suffix exactly, node[i] names v[i..OUT_CAP), and the node of
 * a whole stack keeps its stack id once interned.  Entries kept are kept
 * with their nodes: a stack's id is found by naming its new entries (a
 * hash probe each, in memory of the thread's own), not by the stack
 * index's probe and the compare of every entry (intern in stack.c).
 */
#define OUT_CAP OPT_MAX_FRAMES_LIMIT
#define TRIE_BITS 10 /* 16 KiB a thread: py_json's stacks are interned 27.1 k times (12 bits: 26.5 k), with fewer misses */
#define TRIE_SLOTS (1u << TRIE_BITS)
#define TRIE_FILL (TRIE_SLOTS / 2) /* nodes before the trie starts over: 1.2 probes a node */
struct py_trie {
	uint32_t used;	/* nodes */
	uint32_t epoch; /* ids_epoch of its ids */
	struct {
		uint64_t x;	 /* the entry */
		uint32_t parent; /* its suffix's node + 1; 0: a free slot */
		uint32_t id;	 /* the stack id of the suffix it names, 0: unknown */
	} n[TRIE_SLOTS];	 /* open addressing, linear probing; node i + 1 is n[i] */
};
struct py_last {
	uint32_t owner;		  /* thread index of its user */
	uint32_t start;		  /* the stack is v[start..OUT_CAP) */
	uint32_t id;		  /* its stack id, 0: not known */
	uint32_t epoch;		  /* ids_epoch when id was given */
	uintptr_t token;	  /* the unwinder's memo and capture it was made from */
	uint32_t seq;
	uint32_t valid;		  /* v, the shape and the frames memo are of one stack (the shape's
				   * evaluation frames are all the stack's: find_evals takes them) */
	uint32_t nnat;		  /* its native frames */
	uint32_t nruns;		  /* its runs, as many as evaluation frames */
	uint32_t npy;		  /* its Python frames */
	uintptr_t cold_len;	  /* the cold part's extent when its evaluation frames were found */
	uint32_t fin;		  /* its entries but the native frames inside its innermost evaluation frame */
	uint16_t d[RUNS_MAX];	  /* depth from the outermost of evaluation frame j, outermost first */
	uint16_t len[RUNS_MAX];	  /* Python frames of run j, outermost first */
	uint64_t v[OUT_CAP];
	uint64_t sh[OUT_CAP + 1]; /* sh[i]: unwind_hash of v[i..OUT_CAP) */
	uint32_t nel;		  /* the chain of the thread's last walk: el[0..nel), */
	uint32_t chain_ok;	  /* when set; w is that walk, its frames named */
	struct py_el el[CHAIN_MAX];
	struct py_walk w;
	uint32_t node[OUT_CAP + 1]; /* node[i]: the trie's node of v[i..OUT_CAP); node[OUT_CAP] 0 */
	uint32_t pending;	  /* the last stack's node, waiting for its id; 0: none */
	struct py_trie trie;
};
static _Atomic(struct py_last *) lasts[RINGS_MAX];
static HS_TLS struct py_last *last_now; /* the one the thread's last stack went to */
static _Atomic uint32_t ids_epoch;	/* python_forget_ids calls */

/* The memo of ring slot `slot` for thread `owner`, made on first use. */
static struct py_last *last_get(uint32_t slot, uint32_t owner)
{
	/* acquire: pairs with the release below */
	struct py_last *m = atomic_load_acq(&lasts[slot]);

	if (HS_UNLIKELY(!m)) {
		/* only the ring's owner maps its memo: no race for the slot */
		m = arena_map_mmap(sizeof(*m));
		if (!m)
			return NULL;
		m->owner = owner;
		m->sh[OUT_CAP] = UNWIND_HASH_SEED;
		/* release: a later owner of the slot sees the memo complete */
		atomic_store_rel(&lasts[slot], m);
	}
	if (HS_UNLIKELY(m->owner != owner)) {
		m->owner = owner;
		m->valid = 0;
		m->chain_ok = 0;
	}
	return m;
}

/*
 * Chain element e of m, whose frame, running code c at instruction word
 * instr, changed since the last walk: give it the outcome walk_gen and
 * name_frames give it, in its old place, and raise *inner to the frames up
 * to it when its entry changed.  Return -1 when its outcome is of another
 * kind (the chain is not the last one's shape), else 0.  Out of line, so
 * that chain_gen's loop, the compare of an unchanged element, stays short.
 */
static HS_NOINLINE int el_changed(struct py_last *m, struct py_el *e, const struct py_layout *L, uintptr_t frame,
				  struct py_code c, uintptr_t instr, uint32_t flags, int32_t first, unsigned *inner)
{
	const enum py_gen gen = L->gen;
	struct py_walk *w = &m->w;

	if (e->kind > EL_HIDDEN)
		return -1;
	int hidden = frame_incomplete(L, frame, c.code, gen);
	if (hidden != (e->kind == EL_HIDDEN) || (gen == GEN_311 && (flags & 0xff) != (e->flags & 0xff)))
		return -1;
	*e = (struct py_el){frame, c.code, instr, c, flags, first, e->kind, e->j};
	if (!hidden) {
		unsigned j = e->j;
		uint32_t addr = frame_addr(L, frame, c.code, gen);
		uint64_t pc = py_pc(c.code, addr);
		memo_put(w->n - 1 - j, frame, addr, pc, &c);
		if (pc != w->pc[j] && j + 1 > *inner)
			*inner = j + 1;
		w->pc[j] = pc;
		w->code[j] = c.code;
		w->addr[j] = addr;
	}
	return 0;
}

/*
 * Walk the chain of thread state ts again as m's last walk (m->w, its
 * frames named) over m's chain: when it has as many elements, each of the
 * same kind as before (the one compare that decides it made the same way),
 * only the elements whose fields changed are read further and their frames
 * named again, in m->w, which then is the walk walk_gen and name_frames
 * make.  Return how many outermost frames keep their entries, or -1 when
 * the chain is not the last one's shape (m->w and the chain are then
 * partly rewritten: walk afresh).
 */
HS_INLINE int chain_gen(struct py_last *m, uintptr_t ts, const struct py_layout *L)
{
	/* made for each entry of layouts: its offsets are constants */
	const enum py_gen gen = L->gen;
	const unsigned o_prev = L->fr_previous, o_code = L->fr_code, o_instr = L->fr_instr, o_owner = L->fr_owner,
		       o_entry = L->fr_entry, o_file = L->co_filename,
		       o_name = L->co_qualname ? L->co_qualname : L->co_name, o_line = L->co_firstlineno,
		       o_first = gen == GEN_FRAMEOBJ ? 0 : L->co_firsttraceable;
	const uintptr_t code_type = py.code_type;
	struct py_walk *w = &m->w;
	struct py_el *e = m->el, *end = m->el + m->nel;
	unsigned nrec = w->n, inner = 0; /* frames up to the innermost changed entry */
	uintptr_t frame = 0;

	switch (gen) {
	case GEN_FRAMEOBJ:
	case GEN_313:
		frame = rd(ts, L->ts_frame);
		break;
	case GEN_311:
	case GEN_312: {
		uintptr_t cf = rd(ts, L->ts_cframe);
		frame = cf ? rd(cf, L->cf_current) : 0;
		break;
	}
	}
	for (; e < end; e++) {
		if (!frame)
			return -1;
		uintptr_t next = rd(frame, o_prev);
		uint32_t flags = 0;
		if (gen == GEN_311 && o_owner == o_entry + 1) /* one load (x86-64: owner the high byte, as el_flags) */
			flags = *(const uint16_t *)(frame + o_entry);
		else if (gen == GEN_311)
			flags = (uint32_t)*(const uint8_t *)(frame + o_owner) << 8 | *(const uint8_t *)(frame + o_entry);
		else if (gen != GEN_FRAMEOBJ)
			flags = *(const uint8_t *)(frame + o_owner);
		if (gen >= GEN_312 && flags == OWNED_BY_CSTACK) {
			if (e->kind != EL_ENTRY)
				return -1;
			e->frame = frame; /* the run's anchor; unused when the runs are where they were */
			frame = next;
			continue;
		}
		uintptr_t code = rd(frame, o_code);
		if (!code || rd(code, OB_TYPE) != code_type) {
			if (gen != GEN_313 || e->kind != EL_OTHER)
				return -1;
			frame = next;
			continue;
		}
		uintptr_t instr = gen == GEN_FRAMEOBJ ? (uintptr_t)(intptr_t)*(const int *)(frame + o_instr)
						      : rd(frame, o_instr);
		uintptr_t file = rd(code, o_file), name = rd(code, o_name);
		int32_t line = *(const int32_t *)(code + o_line), first = o_first ? *(const int32_t *)(code + o_first) : 0;
		/* (the frame's address does not change its entry; an element
		 * of another kind has no code: e->c.code == 0) */
		if (code == e->c.code && instr == e->instr && flags == e->flags && file == e->c.filename &&
		    name == e->c.name && line == e->c.firstlineno && first == e->first) {
			frame = next;
			continue;
		}
		/* changed: as walk_gen and name_frames make it, in its old place */
		if (el_changed(m, e, L, frame, (struct py_code){code, file, name, line, 0}, instr, flags, first, &inner))
			return -1;
		frame = next;
	}
	return frame ? -1 : (int)(nrec - inner);
}

/* chain_gen, made for each generation; the debug build checks its walk
 * against a walk afresh. */
static int chain(struct py_last *m, uintptr_t ts)
{
	int r = -1;

	_Static_assert(HS_ARRAY_SIZE(layouts) == 6, "a case for each layout");
	switch (py.layout_ix) {
	case 0:
		r = chain_gen(m, ts, &layouts[0]);
		break;
	case 1:
		r = chain_gen(m, ts, &layouts[1]);
		break;
	case 2:
		r = chain_gen(m, ts, &layouts[2]);
		break;
	case 3:
		r = chain_gen(m, ts, &layouts[3]);
		break;
	case 4:
		r = chain_gen(m, ts, &layouts[4]);
		break;
	case 5:
		r = chain_gen(m, ts, &layouts[5]);
		break;
	}
#ifdef HS_DEBUG
	if (r >= 0) { /* what walking afresh and naming from the tables make */
		struct py_walk fw;
		const struct py_walk *w = &m->w;
		walk(&fw, ts, NULL, NULL);
		HS_ASSERT(fw.n == w->n && fw.nruns == w->nruns && fw.nempty == w->nempty && (unsigned)r <= w->n);
		HS_ASSERT(!memcmp(fw.end, w->end, w->nruns * sizeof(*fw.end)));
		HS_ASSERT(!memcmp(fw.code, w->code, w->n * sizeof(*fw.code)));
		HS_ASSERT(!memcmp(fw.addr, w->addr, w->n * sizeof(*fw.addr)));
		for (unsigned j = 0; j < w->n; j++)
			HS_ASSERT(w->pc[j] == py_pc(fw.code[j], fw.addr[j]));
	}
#endif
	return r;
}

void python_stack_interned(uint32_t id)
{
	struct py_last *m = last_now;

	if (m) {
		m->id = id;
		m->epoch = atomic_load_rlx(&ids_epoch); /* relaxed: see python_forget_ids */
		/* relaxed: as above; an id given across python_forget_ids
		 * is not kept (the trie is cleared at its next use) */
		if (m->pending && m->trie.epoch == atomic_load_rlx(&ids_epoch))
			m->trie.n[m->pending - 1].id = id;
		m->pending = 0;
	}
}

/* The node of entry x inside the suffix of node parent, whose suffix hash
 * (unwind_hash: the trie's key, x and the entries outside it) is h, made
 * if new (the trie is never full: see last_rehash). */
HS_INLINE uint32_t trie_node(struct py_trie *t, uint32_t parent, uint64_t x, uint64_t h)
{
	uint32_t pp = parent + 1;

	/* the top bits of h depend on every entry of the suffix (unwind.h) */
	for (uint32_t i = (uint32_t)(h >> (64 - TRIE_BITS));; i = (i + 1) & (TRIE_SLOTS - 1)) {
		if (t->n[i].x == x && t->n[i].parent == pp)
			return i + 1;
		if (!t->n[i].parent) {
			t->n[i].x = x;
			t->n[i].parent = pp;
			t->n[i].id = 0;
			t->used++;
			return i + 1;
		}
	}
}

/* Empty m's trie for ids of epoch, and name again the entries of m's
 * stack from clean out (they are kept). */
static HS_NOINLINE void trie_clear(struct py_last *m, uint32_t epoch, uint32_t clean)
{
	struct py_trie *t = &m->trie;

	memset(t, 0, sizeof(*t));
	t->epoch = epoch;
	for (uint32_t i = OUT_CAP; i-- > clean;)
		m->node[i] = trie_node(t, m->node[i + 1], m->v[i], m->sh[i]);
}

/* Hash m's entries [start, clean) in over the kept ones and name their
 * suffixes in the trie; return the stack's hash. */
HS_INLINE uint64_t last_rehash(struct py_last *m, uint32_t start, uint32_t clean)
{
	struct py_trie *t = &m->trie;
	/* relaxed: see python_forget_ids */
	uint32_t epoch = atomic_load_rlx(&ids_epoch);

	if (HS_UNLIKELY(t->epoch != epoch || t->used + (clean - start) > TRIE_FILL))
		trie_clear(m, epoch, clean); /* ids of another epoch, or full */
	uint64_t h = m->sh[clean];
	uint32_t p = m->node[clean];
	for (uint32_t i = clean; i-- > start;) {
		m->sh[i] = h = unwind_hash_step(h, m->v[i]);
		m->node[i] = p = trie_node(t, p, m->v[i], h);
	}
	return h;
}

/* The id of m's stack, v[start..OUT_CAP) (named: last_rehash), when it
 * was interned before; else 0, and its node waits for the id
 * (python_stack_interned). */
static uint32_t trie_id(struct py_last *m, uint32_t start)
{
	uint32_t p = m->node[start];

	HS_ASSERT(start < OUT_CAP && p >= 1 && p <= TRIE_SLOTS);
	uint32_t id = m->trie.n[p - 1].id;
	m->pending = id ? 0 : p;
	if (id) /* the id's epoch, as python_stack_interned sets it */
		m->epoch = m->trie.epoch;
	return id;
}

void python_forget_ids(void)
{
	/* relaxed: capturing threads only compare it with the epoch they
	 * stamped (dlclose calls this while they run); a late read keeps an
	 * id of the epoch before, which still names the same frames: no
	 * thread runs in a library while it is being unmapped */
	atomic_fetch_add_rlx(&ids_epoch, 1);
}

/* Python frames of run k of w (innermost first). */
HS_INLINE unsigned run_len(const struct py_walk *w, unsigned k)
{
	return w->end[k] - (k ? w->end[k - 1] : 0u);
}

/*
 * How many outermost entries the stack of native frames ips[0..n), whose
 * outermost `same` are those of m's stack, and of w's runs, whose
 * outermost `pysame` frames are those of m's stack, shares with m's stack.
 * Evaluation frame j from the outermost is at[ne - 1 - j] (ne == nruns).
 */
static unsigned shared_entries(const struct py_last *m, unsigned n, unsigned same, const struct py_walk *w,
			       const uint16_t *at, unsigned pysame)
{
	unsigned ne = w->nruns, pos = 0, nd = 0, pd = 0;

	for (unsigned j = 0;; j++) {
		/* the native frames outside evaluation frame j (or the last ones) */
		unsigned dn = j < ne ? n - 1u - at[ne - 1 - j] : n, dm = j < m->nruns ? m->d[j] : m->nnat;
		if (dn != dm || dn >= same || j >= ne || j >= m->nruns) {
			unsigned lim = dn < dm ? dn : dm;
			return pos + (lim < same ? lim : same) - nd;
		}
		pos += dn - nd;
		nd = dn + 1;
		/* run j in place of it */
		unsigned ln = run_len(w, ne - 1 - j), lm = m->len[j];
		unsigned got = pysame - pd; /* its outermost frames found in the memo */
		if (ln != lm || got < ln) {
			if (!ln || !lm)
				return pos;
			unsigned k = ln < lm ? ln : lm;
			return pos + (got < k ? got : k);
		}
		pos += ln ? ln : 1;
		pd += ln;
	}
}

/*
 * How many outermost entries the stack of native frames ips[0..n) and w's
 * runs shares with m's stack, when it has that stack's shape (as many
 * evaluation frames, at the same depths from the outermost, and runs as
 * long) and its innermost evaluation frame is among the outermost `same`
 * native frames, those of m's stack, as are its outermost `pysame` Python
 * frames; UINT32_MAX when it is not so.  The common case (a thread
 * allocating again from the Python line it runs, or the next one), in
 * a loop over the runs without the native frames between them.
 */
static unsigned same_shape(const struct py_last *m, unsigned n, unsigned same, const struct py_walk *w,
			   const uint16_t *at, unsigned pysame)
{
	unsigned ne = w->nruns, din = n - 1u - at[0]; /* the innermost one's depth */

	if (!ne || ne != m->nruns || w->n != m->npy || din >= same)
		return UINT32_MAX;
	unsigned keep = UINT32_MAX, pf = 0, extra = 0; /* Python frames, entries past one a run, so far */
	for (unsigned j = 0; j < ne; j++) {
		unsigned k = ne - 1 - j, d = n - 1u - at[k], ln = run_len(w, k);
		if (d != m->d[j] || ln != m->len[j])
			return UINT32_MAX;
		/* run j starts at entry d + extra (from the outermost) */
		if (keep == UINT32_MAX && pysame < pf + ln)
			keep = d + extra + (pysame - pf);
		pf += ln;
		extra += ln ? ln - 1 : 0;
	}
	if (keep != UINT32_MAX)
		return keep;
	/* every run as it was: the native frames inside the innermost
	 * evaluation frame, but the outermost `same` */
	unsigned lim = n < m->nnat ? n : m->nnat;
	return m->fin + (same < lim ? same : lim) - din - 1;
}

/* Writing a stack into v from its outermost entry in, the outermost
 * `keep` entries left as they are. */
struct out_w {
	uint64_t *v;   /* the slot of the outermost entry: v[-q] is entry q */
	uint32_t q;    /* entries so far */
	uint32_t keep;
};

HS_INLINE void ow_put(struct out_w *o, uint64_t x)
{
	if (o->q >= o->keep)
		o->v[-(intptr_t)o->q] = x;
	o->q++;
}

/* Room for the entries [from..*to) past the kept outer part: NULL when
 * all of them are kept, else where the innermost goes (written downwards),
 * with *to cut to the entries that are written. */
HS_INLINE uint64_t *ow_span(struct out_w *o, unsigned from, unsigned *to)
{
	if (o->q + (*to - from) <= o->keep) {
		o->q += *to - from;
		return NULL;
	}
	if (o->q < o->keep) {
		*to -= o->keep - o->q;
		o->q = o->keep;
	}
	uint64_t *dst = o->v - o->q;
	o->q += *to - from;
	return dst;
}

/* Native frames ips[from..to), outermost first. */
HS_INLINE void ow_native(struct out_w *o, void *const *ips, unsigned from, unsigned to)
{
	uint64_t *dst = ow_span(o, from, &to);

	if (dst)
		while (to > from)
			*dst-- = (uint64_t)(uintptr_t)ips[--to];
}

/* Run k of w, outermost frame first; a run without frames leaves the
 * native frame ip in place. */
HS_INLINE void ow_run(struct out_w *o, const struct py_walk *w, unsigned k, uint64_t ip)
{
	unsigned from = k ? w->end[k - 1] : 0, to = w->end[k];

	if (from == to) {
		ow_put(o, ip);
		return;
	}
	uint64_t *dst = ow_span(o, from, &to);

	if (dst)
		while (to > from)
			*dst-- = w->pc[--to];
}

/*
 * The positions in ips[0..n) of the evaluation function's frames, innermost
 * first, at most RUNS_MAX: those among the outermost `same` frames, which
 * are those of the last stack, from d[0..nd) (the last stack's, by depth
 * from the outermost, outermost first); the others compared (two compares
 * a frame, the hot part and the cold one [clo, clo + clen), an empty range
 * until learned).  The same positions a comparison of every frame finds.
 */
static unsigned find_evals(void *const *ips, unsigned n, unsigned same, const uint16_t *d, unsigned nd,
			   uintptr_t clo, uintptr_t clen, uint16_t *at)
{
	uintptr_t lo = py.eval_lo + 1, len = py.eval_hi - py.eval_lo;
	unsigned ne = 0, from = n - same, kn = 0;

	clo++;
	while (kn < nd && d[kn] < same)
		kn++; /* those in the frames the stacks share */
	for (unsigned i = 0; i < from && ne < RUNS_MAX; i++)
		if ((uintptr_t)ips[i] - lo < len || (uintptr_t)ips[i] - clo < clen)
			at[ne++] = (uint16_t)i;
	for (unsigned j = kn; j-- > 0 && ne < RUNS_MAX;)
		at[ne++] = (uint16_t)(n - 1 - d[j]);
#ifdef HS_DEBUG
	{ /* what comparing every frame finds */
		unsigned k = 0;
		for (unsigned i = 0; i < n && k < RUNS_MAX; i++)
			if ((uintptr_t)ips[i] - lo < len || (uintptr_t)ips[i] - clo < clen) {
				HS_ASSERT(k < ne && at[k] == i);
				k++;
			}
		HS_ASSERT(k == ne);
	}
#endif
	return ne;
}

/* The length of the stack made of ips[0..n) and w's runs, every one in
 * place of its evaluation frame (ne == nruns): a run without frames leaves
 * its frame in place. */
HS_INLINE unsigned assembled_len(unsigned n, const struct py_walk *w)
{
#ifdef HS_DEBUG
	unsigned len = n - w->nruns;
	for (unsigned k = 0; k < w->nruns; k++)
		len += run_len(w, k) ? run_len(w, k) : 1;
	HS_ASSERT(len == n - w->nruns + w->n + w->nempty);
#endif
	return n - w->nruns + w->n + w->nempty;
}

#ifdef HS_DEBUG
/* Is v[0..len) with hash h the stack the forward assembly in python_stack
 * makes of ips[0..n) and w's runs, run k in place of frame at[k]? */
static void check_assembly(void *const *ips, unsigned n, const struct py_walk *w, const uint16_t *at, unsigned ne,
			   const uint64_t *v, unsigned len, uint64_t h)
{
	uint64_t fw[OUT_CAP];
	unsigned fo = 0, from = 0;

	for (unsigned k = 0; k < ne; k++) {
		fo = put_native(ips, from, at[k], fw, fo, OUT_CAP);
		fo = put_run(w, k, (uint64_t)(uintptr_t)ips[at[k]], fw, fo, OUT_CAP);
		from = at[k] + 1u;
	}
	fo = put_native(ips, from, n, fw, fo, OUT_CAP);
	HS_ASSERT(fo == len && !memcmp(fw, v, len * sizeof(*fw)) && h == unwind_hash(fw, fo));
}
#endif

/*
 * The thread's last stack again, but for the native frames inside its
 * innermost evaluation frame and the Python frames inside the first one
 * whose entry changed: the chain found every frame in its old place, the
 * outermost pysame keeping their entries (m->w), the stack follows m's
 * (follows in python_stack), every evaluation frame of m's stack is among
 * the outermost native frames the unwinder found unchanged, and none is
 * among the others.  Then the k-th evaluation frame is where it was (m's
 * shape): how many outermost entries the stacks share follows from the
 * runs' lengths alone, as same_shape finds it, and only the entries inside
 * them are written and hashed (find_evals, same_shape and assemble_last
 * would find and make the same).  Return 0 when it is not so (nothing
 * changed).
 */
static int repeat_last(struct py_last *m, void *const *ips, unsigned n, const struct python_native *nat,
		       uintptr_t clo, uintptr_t clen, unsigned pysame, struct python_out *res)
{
	const struct py_walk *w = &m->w;
	unsigned ne = m->nruns, same = nat->same;

	if (!ne || m->d[ne - 1] >= same)
		return 0;
	unsigned din = m->d[ne - 1], len = m->fin + (n - 1 - din); /* the innermost one's depth */
	if (len > OUT_CAP)
		return 0;
	uintptr_t lo = py.eval_lo + 1, elen = py.eval_hi - py.eval_lo, cl = clo + 1;
	for (unsigned i = 0; i < n - same; i++)
		if ((uintptr_t)ips[i] - lo < elen || (uintptr_t)ips[i] - cl < clen)
			return 0;
	unsigned keep = UINT32_MAX;
	if (pysame < w->n) { /* the run that holds the first changed entry */
		unsigned pf = 0, extra = 0; /* Python frames, entries past one a run, before run j */
		for (unsigned j = 0; keep == UINT32_MAX; j++) {
			unsigned ln = m->len[j];
			if (pysame < pf + ln)
				keep = m->d[j] + extra + (pysame - pf);
			pf += ln;
			extra += ln ? ln - 1 : 0;
		}
	} else { /* every run as it was */
		unsigned lim = n < m->nnat ? n : m->nnat;
		keep = m->fin + (same < lim ? same : lim) - din - 1;
	}
	if (keep >= m->fin) {
		for (unsigned q = keep; q < len; q++) /* entry q from the outermost */
			m->v[OUT_CAP - 1 - q] = (uint64_t)(uintptr_t)ips[len - 1 - q];
	} else { /* as assemble_last, evaluation frame k at n - 1 - m->d[ne - 1 - k] */
		struct out_w o = {m->v + OUT_CAP - 1, 0, keep};
		unsigned at = n - 1 - m->d[0];
		ow_native(&o, ips, at + 1u, n);
		for (unsigned k = ne; k-- > 0;) {
			unsigned inner = k ? n - 1 - m->d[ne - k] : 0; /* past evaluation frame k - 1 */
			ow_run(&o, w, k, (uint64_t)(uintptr_t)ips[at]);
			ow_native(&o, ips, k ? inner + 1u : 0, at);
			at = inner;
		}
		HS_ASSERT(o.q == len);
	}
	uint32_t start = OUT_CAP - len, clean = OUT_CAP - keep;
	uint64_t h = last_rehash(m, start, clean);
#ifdef HS_DEBUG
	{
		uint16_t at[RUNS_MAX];
		HS_ASSERT(find_evals(ips, n, 0, NULL, 0, clo, clen, at) == ne);
		HS_ASSERT(w->nruns == ne && m->npy == w->n && pysame <= w->n);
		for (unsigned j = 0; j < ne; j++)
			HS_ASSERT(at[ne - 1 - j] == n - 1 - m->d[j] && run_len(w, ne - 1 - j) == m->len[j]);
		HS_ASSERT(keep == same_shape(m, n, same, w, at, pysame) && keep == shared_entries(m, n, same, w, at, pysame));
		check_assembly(ips, n, w, at, ne, m->v + start, len, h);
	}
#endif
	res->ips = m->v + start;
	res->n = len;
	res->hash = h;
	/* relaxed: see python_forget_ids */
	res->id = keep == len && start == m->start && m->epoch == atomic_load_rlx(&ids_epoch)
			  ? m->id
			  : trie_id(m, start);
	m->start = start;
	m->id = res->id;
	m->token = nat->token;
	m->seq = nat->seq;
	m->nnat = n;
	m->valid = 1;
	return 1;
}

/*
 * The stack of ips with the runs of w, the k-th evaluation frame (at[k])
 * giving way to run k (ne == nruns, not cut), into m over its last stack
 * (follows: the stack follows m's, as the unwinder's memo says); *res
 * set.  The same stack the forward assembly in python_stack makes.
 */
static void assemble_last(struct py_last *m, int follows, void *const *ips, unsigned n,
			  const struct python_native *nat, uintptr_t clen,
			  const struct py_walk *w, const uint16_t *at, unsigned pysame, unsigned len,
			  struct python_out *res)
{
	unsigned ne = w->nruns, keep = 0, shape = 0;
	uint32_t old_start = m->start;

	if (follows) {
		keep = same_shape(m, n, nat->same, w, at, pysame);
		shape = keep != UINT32_MAX;
		if (!shape)
			keep = shared_entries(m, n, nat->same, w, at, pysame);
	}
	HS_ASSERT(keep <= len && keep <= OUT_CAP - old_start);
#ifdef HS_DEBUG
	HS_ASSERT(!shape || keep == shared_entries(m, n, nat->same, w, at, pysame));
#endif
	if (shape && keep >= m->fin) {
		/* only native frames inside the innermost evaluation frame:
		 * entry q from the outermost is ips[len - 1 - q] */
		for (unsigned q = keep; q < len; q++)
			m->v[OUT_CAP - 1 - q] = (uint64_t)(uintptr_t)ips[len - 1 - q];
	} else {
		struct out_w o = {m->v + OUT_CAP - 1, 0, keep};
		ow_native(&o, ips, ne ? at[ne - 1] + 1u : 0, n);
		for (unsigned k = ne; k-- > 0;) {
			ow_run(&o, w, k, (uint64_t)(uintptr_t)ips[at[k]]);
			ow_native(&o, ips, k ? at[k - 1] + 1u : 0, at[k]);
		}
		HS_ASSERT(o.q == len);
	}
	uint32_t start = OUT_CAP - len, clean = OUT_CAP - keep;
	uint64_t h = last_rehash(m, start, clean);
#ifdef HS_DEBUG
	check_assembly(ips, n, w, at, ne, m->v + start, len, h);
#endif
	res->ips = m->v + start;
	res->n = len;
	res->hash = h;
	/* relaxed: see python_forget_ids */
	res->id = keep == len && start == old_start && m->epoch == atomic_load_rlx(&ids_epoch)
			  ? m->id
			  : trie_id(m, start);
	m->start = start;
	m->id = res->id;
	m->token = nat->token;
	m->seq = nat->seq;
	m->nnat = n;
	m->cold_len = clen;
	if (!shape) { /* the same shape needs no writing */
		m->nruns = ne;
		m->npy = w->n;
		m->fin = ne ? len - at[0] : 0;
		for (unsigned j = 0; j < ne; j++) {
			m->d[j] = (uint16_t)(n - 1 - at[ne - 1 - j]);
			m->len[j] = (uint16_t)run_len(w, ne - 1 - j);
		}
	}
	HS_ASSERT(!ne || m->fin == len - at[0]);
	m->valid = 1;
}

/*
 * The calling thread's interpreter thread state, as
 * PyGILState_GetThisThreadState gives it: the value of the interpreter's
 * key for this thread (3.8-3.13; NULL once the key is deleted), which
 * changes only by pthread_setspecific on this thread or by the key's
 * deletion.  The preloaded shim counts both (intercept.c): the thread keeps
 * what it read until either happens.  (The attach shim cannot see them.)
 */
HS_INLINE uintptr_t this_tstate(void)
{
#ifdef HS_ATTACH
	return (uintptr_t)py.this_tstate();
#else
	struct tls_state *t = &tls;
	/* relaxed: see intercept.c */
	uint32_t sets = t->key_sets, dels = atomic_load_rlx(&intercept_key_deletes);

	if (HS_LIKELY(t->py_ts && t->py_ts_sets == sets && t->py_ts_dels == dels)) {
		HS_ASSERT(t->py_ts == (uintptr_t)py.this_tstate());
		return t->py_ts;
	}
	t->py_ts = (uintptr_t)py.this_tstate();
	t->py_ts_sets = sets;
	t->py_ts_dels = dels;
	return t->py_ts;
#endif
}

int python_stack(void *const *ips, unsigned n, int cut, const struct python_native *nat, uint64_t *out,
		 unsigned cap, struct python_out *res)
{
	struct py_walk wl, *w = &wl;
	uint16_t at[RUNS_MAX];
	struct py_last *m = NULL;

	last_now = NULL;
	/* relaxed: a hint; late_check decides under its own CAS */
	if (HS_UNLIKELY(!atomic_load_rlx(&py.late_checked)) && py.is_initialized && py.is_initialized())
		late_check();
	if (!py.frames)
		return 0;
	/* relaxed: see learn_cold; len before lo would only miss a frame */
	uintptr_t clen = atomic_load_rlx(&py.cold_len), clo = atomic_load_rlx(&py.cold_lo);
	int follows = 0;
	if (nat && cap == OUT_CAP && (m = last_get(tls.ring->slot, tls.thread_index))) {
		follows = m->valid && nat->token && nat->token == m->token && nat->seq == m->seq + 1 &&
			  nat->same <= n && m->cold_len == clen && !cut;
		m->valid = 0; /* until this stack is in it */
	}
	uintptr_t ts = this_tstate();
	if (!ts)
		return 0;
	int pysame = -1;
	if (m) {
		w = &m->w;
		if (m->chain_ok)
			pysame = chain(m, ts);
		if (pysame >= 0 && follows && w->n && repeat_last(m, ips, n, nat, clo, clen, (unsigned)pysame, res)) {
			last_now = m;
			return 1;
		}
	}
	unsigned ne = follows ? find_evals(ips, n, nat->same, m->d, m->nruns, clo, clen, at)
			      : find_evals(ips, n, 0, NULL, 0, clo, clen, at);
	/* the chain's runs have the anchors of the walk that made them: good
	 * for a stack whose evaluation frames are all found */
	if (pysame >= 0 && ne != w->nruns)
		pysame = -1;
	if (pysame < 0) {
		unsigned nel = 0;
		walk(w, ts, m ? m->el : NULL, m ? &nel : NULL);
		pysame = (int)name_frames(w);
		if (m) {
			m->nel = nel;
			m->chain_ok = nel <= CHAIN_MAX;
		}
	}
	if (!w->n)
		return 0;
	res->id = 0;
	/* Fewer than the runs in a stack that was not cut: a cold frame not
	 * learned yet (3.8 and 3.9 have no anchors to find it by). */
	if (ne < w->nruns && !cut && (py.layout->gen != GEN_FRAMEOBJ || py.layout->ts_cframe)) {
		unsigned o = splice_by_stack(w, out, cap);
		if (o) {
			res->ips = out;
			res->n = o;
			res->hash = unwind_hash(out, o);
			return 1;
		}
	}
	/* The common case: every run in place of its evaluation frame. */
	unsigned len;
	if (m && ne == w->nruns && !cut && (len = assembled_len(n, w)) <= OUT_CAP) {
		assemble_last(m, follows, ips, n, nat, clen, w, at, (unsigned)pysame, len, res);
		last_now = m;
		return 1;
	}
	/* The k-th evaluation frame gives way to run k; the runs beyond the
	 * last one found (a cut stack) follow the last frame. */
	unsigned o = 0, from = 0, k = 0;
	for (; k < ne && k < w->nruns; k++) {
		o = put_native(ips, from, at[k], out, o, cap);
		o = put_run(w, k, (uint64_t)(uintptr_t)ips[at[k]], out, o, cap);
		from = at[k] + 1u;
	}
	o = put_native(ips, from, n, out, o, cap);
	for (; k < w->nruns; k++)
		o = put_run(w, k, 0, out, o, cap);
	res->ips = out;
	res->n = o;
	res->hash = unwind_hash(out, o);
	return 1;
}

/* ---- start ---------------------------------------------------------------------------- */

/* A function or data symbol of the program: dynsym, never dlsym, whose
 * failure would leave dlerror state in the program (dynsym.h). */
static void *sym(const char *name)
{
	return dynsym_symbol(name, NULL);
}

/* Parse "3.11.2 (main, ...)" into a PY_VERSION_HEX (a final release). */
static uint32_t parse_version(const char *s)
{
	uint32_t part[3] = {0, 0, 0};

	for (int i = 0; i < 3 && *s >= '0' && *s <= '9'; i++) {
		while (*s >= '0' && *s <= '9')
			part[i] = part[i] * 10 + (uint32_t)(*s++ - '0');
		if (*s == '.')
			s++;
	}
	return part[0] << 24 | part[1] << 16 | part[2] << 8 | 0xf0;
}

/* Find the hot part of _PyEval_EvalFrameDefault: its dynamic symbol. */
static void find_eval(void)
{
	size_t size = 0;
	void *f = dynsym_symbol("_PyEval_EvalFrameDefault", &size);

	if (f && size) {
		py.eval_lo = (uintptr_t)f;
		py.eval_hi = (uintptr_t)f + size;
	}
}

static int map_tables(void)
{
	codes = arena_map_mmap(CODE_MAX * sizeof(*codes));
	code_entries = arena_map_mmap(CODE_MAX * sizeof(*code_entries));
	locs = arena_map_mmap(LOC_MAX * sizeof(*locs));
	struct py_index *ci = index_new(4096), *li = index_new(16384);
	if (!codes || !code_entries || !locs || !ci || !li)
		return -1;
	/* release: publish the empty indexes */
	atomic_store_rel(&code_index, ci);
	atomic_store_rel(&loc_index, li);
	return 0;
}

void python_init(const struct options *opts)
{
	void (*set_arena)(struct py_arena *) = sym("PyObject_SetArenaAllocator");
	void (*get_arena)(struct py_arena *) = sym("PyObject_GetArenaAllocator");
	const char *(*get_version)(void) = sym("Py_GetVersion");

	py.set_allocator = sym("PyMem_SetAllocator");
	py.get_allocator = sym("PyMem_GetAllocator");
	if (!py.set_allocator || !py.get_allocator || !get_version || !set_arena || !get_arena)
		return; /* not a Python program */
	const char *v = get_version();
	size_t vlen = 0;
	while (v[vlen] && v[vlen] != '\n' && vlen < sizeof(py.version) - 1)
		vlen++;
	memcpy(py.version, v, vlen);
	py.hexversion = parse_version(v);
	unsigned major = py.hexversion >> 24, minor = (py.hexversion >> 16) & 0xff;
	for (size_t i = 0; i < HS_ARRAY_SIZE(layouts); i++)
		if (major == 3 && layouts[i].minor == minor) {
			py.layout = &layouts[i];
			py.layout_ix = (unsigned)i;
		}
	py.max_frames = opts->max_frames;
	py.this_tstate = sym("PyGILState_GetThisThreadState");
	py.addr2line = (int (*)(void *, int))sym("PyCode_Addr2Line");
	py.is_initialized = (int (*)(void))sym("Py_IsInitialized");
	py.code_type = (uintptr_t)sym("PyCode_Type");
	py.str_type = (uintptr_t)sym("PyUnicode_Type");
	py.type_type = (uintptr_t)sym("PyType_Type");
	find_eval();
	(void)modules_text_of((const void *)python_init, &py.self_lo, &py.self_hi);
	if (opts->python_frames && !py.layout)
		log_warn("Python ", py.version, ": no Python frames for this version (3.8 to 3.13 are known)");
	py.frames = opts->python_frames && py.layout && py.this_tstate && py.addr2line && py.code_type &&
		    py.str_type && py.eval_lo && !map_tables();
	uint32_t flags = py.frames ? HST_PY_FRAMES : 0;
	struct py_mem raw;
	py.get_allocator(DOMAIN_RAW, &raw);
	py.raw_malloc = raw.m_malloc;
	if (opts->python_allocators) {
		arenas = arena_map_mmap(ARENAS_MAX * sizeof(*arenas));
		get_arena(&py.orig_arena);
		struct py_arena ours = {py.orig_arena.ctx, py_arena_alloc, py_arena_free};
		set_arena(&ours);
		for (int d = 0; d < NDOMAINS; d++) {
			struct py_mem cur;
			py.get_allocator(d, &cur);
			wrap_domain(d, &cur);
		}
		flags |= HST_PY_ALLOCATORS;
	}
	atomic_store_rlx(&py.flags, flags); /* relaxed: before any reader (constructor) */
	if (flags)
		/* relaxed: a flag the hooks read; they start using it on their
		 * next capture */
		atomic_store_rlx(&python_hooked, 1);
}

uintptr_t python_type_type(uint32_t *hexversion)
{
	*hexversion = py.hexversion;
	return py.hexversion ? py.type_type : 0;
}

/* ---- fork ------------------------------------------------------------------------------ */

void python_lock(void)
{
	spin_lock(&table_lock);
	spin_lock(&arena_lock);
}

void python_unlock(void)
{
	spin_unlock(&arena_lock);
	spin_unlock(&table_lock);
}

int python_rehome(void)
{
	uint32_t n = atomic_load_rlx(&ncodes); /* relaxed: one thread after fork */

	spin_reset(&table_lock);
	spin_reset(&arena_lock);
	seg_next = seg_end = NULL;
	seg_cur = NULL;
	for (uint32_t id = 1; id <= n; id++) {
		const struct ringfile_pycode_entry *old = code_entries[id];
		struct ringfile_pycode_entry *e = entry_alloc(sizeof(*e) + old->len);
		if (!e)
			return -1;
		memcpy(e, old, sizeof(*e) + old->len);
		code_entries[id] = e;
	}
	return 0;
}
