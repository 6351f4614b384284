/*
 * unwind.c - x86-64 stack capture at the cost of what changed.
 * HOOK-SAFE.
 *
 * The stack of an event is what libunwind's unw_backtrace gives.  On
 * x86-64 that is its fast trace (x86_64/Gtrace.c): every frame whose CFI
 * says "CFA = rsp + k or rbp + k, return address at CFA - 8, rbp unchanged
 * or saved at CFA + j" is stepped with
 *
 *     cfa = (rsp or rbp) + k;  ip = [cfa - 8];  rbp = [cfa + j];  rsp = cfa
 *
 * and anything else sends it to its slow unw_step loop.  This file does
 * the same two-load step, and the same stops (a return address or rbp the
 * CFI marks undefined, a return address below 0x4000), and hands every
 * other frame back to the caller (UNWIND_FALLBACK), which then runs
 * unw_backtrace itself: so its answer is libunwind's by construction.
 * stack_verify=1 checks that on every event.
 *
 * Rules.  The step of a return address comes from the module's .eh_frame,
 * found through .eh_frame_hdr's sorted table, interpreted once under
 * dl_iterate_phdr's lock (a module cannot be unloaded meanwhile), and kept
 * in a global lock-free table keyed by address.  Each rule is stamped with
 * a generation that dlclose bumps (unwind_modules_changed): a module
 * unloaded and another loaded at its address never share rules.  A table
 * only grows, by a copy published with one pointer store; the old one
 * stays mapped for readers still walking it.
 *
 * Memo (validated reuse of the previous unwind).  An unwind is a
 * deterministic function of the registers it starts from (pc, rsp, rbp),
 * of the rules, and of the stack words it reads.  Each thread keeps its
 * previous capture: per frame the registers, and which words the step
 * to the next frame read.  A new capture steps from the top as usual, and
 * at each frame looks for the memo's frame with the same rsp.  If pc and
 * rbp match too, and every word the memo's outer steps read still holds
 * the value read then (one or two loads and compares a frame, in the order
 * a full unwind would read them, so never an address it would not read),
 * the outer frames are the memo's, hash of the suffix included.  The cost
 * of a capture is then the frames that changed, plus one compare for each
 * frame that did not.
 *
 * The memo keeps frames outermost-last, anchored at the end of its arrays
 * (position UNWIND_MEMO_FRAMES - 1 is the outermost frame): a new capture
 * that shares the outer frames writes only its new inner frames, below
 * them, and the frames, innermost first, are always one contiguous array.
 *
 * The shim's entry points hand over their caller's frame (UNWIND_CALLER):
 * the unwind starts at the program's first frame, and the shim's own are
 * never stepped.
 *
 * Longjmp, exceptions, swapcontext, signals and threads need nothing
 * special: the memo is per thread, and a frame of it is only ever used
 * after the words it was computed from are checked.  A signal frame (the
 * trampoline's CFI is marked 'S') falls back.
 */
#define _GNU_SOURCE
#include "shim/unwind.h"

#include <elf.h>
#include <errno.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

#include "shim/arena_map.h"
#include "shim/rings.h"
#include "shim/tls.h"
#include "util/assert.h"
#include "util/atomic.h"
#include "util/hooksafe.h"

#define CAP UNWIND_MEMO_FRAMES
#define RULE_CACHE_BITS 8
#define RULE_CACHE (1u << RULE_CACHE_BITS) /* a thread's own rule cache: direct-mapped entries */
#define MIN_IP 0x4000 /* below this a return address ends the stack (as Gtrace.c) */
#define SHIM_FRAMES_MAX 16 /* the shim's own frames above the program's */
#define SHIM_MEMO 4	   /* of them, those whose rules a thread keeps */

/* ---- rules ------------------------------------------------------------------ */

/*
 * A rule in one word:
 *   bits  0-31  k, signed: CFA = (rsp or rbp) + k
 *   bits 32-47  j, signed: rbp saved at CFA + j (0: not saved)
 *   bit  48     CFA is rsp-based (else rbp-based)
 *   bits 56-57  kind
 * It is stored under a key that is the address with the rules' generation
 * (low 16 bits, never 0) in its top 16 bits: user addresses are below
 * 2^47, so one compare checks both, and a rule of an older generation is
 * simply not found.
 */
enum rule_kind { RULE_STEP = 1, RULE_LAST = 2, RULE_FALLBACK = 3 };

#define RULE_RSP (1ull << 48)
#define TAG_SHIFT 48
#define ADDR_LIMIT (1ull << 47) /* user addresses are below */

HS_INLINE unsigned rule_kind(uint64_t r)
{
	return (unsigned)(r >> 56);
}

HS_INLINE int64_t rule_off(uint64_t r)
{
	return (int32_t)r;
}

HS_INLINE int64_t rule_bp(uint64_t r)
{
	return (int16_t)(r >> 32);
}

static uint64_t rule_make(unsigned kind, int cfa_rsp, int64_t off, int64_t bp)
{
	if (kind == RULE_STEP && (off != (int32_t)off || bp != (int16_t)bp))
		kind = RULE_FALLBACK;
	if (kind != RULE_STEP)
		return (uint64_t)kind << 56;
	return (uint64_t)kind << 56 | (cfa_rsp ? RULE_RSP : 0) | (uint64_t)(uint16_t)bp << 32 | (uint32_t)off;
}

/* Is ip a return address worth a rule: at or above MIN_IP (below ends the
 * stack) and a user address? */
HS_INLINE bool ip_ok(uint64_t ip)
{
	return ip - MIN_IP < ADDR_LIMIT - MIN_IP;
}

struct rule_slot {
	_Atomic uint64_t key; /* address | generation << 48, 0 = free */
	_Atomic uint64_t val; /* its rule, 0 = being stored */
};

struct rule_table {
	unsigned shift;		/* 64 - log2(slots): a key's home slot is
				 * its multiplicative hash >> shift */
	uint64_t mask;		/* slots - 1 */
	_Atomic uint64_t used;	/* slots with a key */
	struct rule_slot s[];	/* open addressing, linear probing */
};

#define RULE_PROBES 32
#define RULE_TABLE_MIN 4096

static _Atomic(struct rule_table *) rules_now;
static _Atomic uint32_t rules_gen = 1;
static _Atomic int grow_owner; /* pid of the thread's process growing the
				* table, 0 = none */
static uint32_t frames_max;
static uintptr_t self_lo, self_hi;
static bool stats_on; /* count struct unwind_stats (stack_verify) */
static struct unwind_memo *_Atomic memos[RINGS_MAX];

HS_INLINE uint64_t rule_home(const struct rule_table *t, uint64_t key)
{
	return (key * 0x9e3779b97f4a7c15ull) >> t->shift;
}

/* Populated: probed before written (arena_map_table). */
static struct rule_table *rule_table_new(uint64_t slots)
{
	struct rule_table *t = arena_map_table(sizeof(*t) + slots * sizeof(struct rule_slot));

	if (t) {
		t->mask = slots - 1;
		t->shift = (unsigned)__builtin_clzll(slots) + 1;
	}
	return t;
}

/* Copy t's current rules into a table twice its size and publish it.  One
 * grower at a time (a child forked during a growth takes over); a rule
 * stored into t meanwhile may be lost, and is then computed again. */
static void rule_table_grow(struct rule_table *t, uint64_t tag)
{
	int me = (int)getpid(), owner = 0;

	if (!atomic_cas_acq_rel(&grow_owner, &owner, me) &&
	    (owner == me || !atomic_cas_acq_rel(&grow_owner, &owner, me)))
		return;
	/* relaxed: only the grower replaces the table */
	if (atomic_load_rlx(&rules_now) == t) {
		struct rule_table *x = rule_table_new((t->mask + 1) * 2);
		for (uint64_t i = 0; x && i <= t->mask; i++) {
			/* relaxed: the table is a cache; x is not published yet */
			uint64_t k = atomic_load_rlx(&t->s[i].key);
			uint64_t v = atomic_load_rlx(&t->s[i].val);
			if (!v || (k & ~(ADDR_LIMIT * 2 - 1)) != tag)
				continue; /* empty, or of an older generation */
			uint64_t j = rule_home(x, k);
			while (atomic_load_rlx(&x->s[j].key))
				j = (j + 1) & x->mask;
			atomic_store_rlx(&x->s[j].key, k);
			atomic_store_rlx(&x->s[j].val, v);
			atomic_store_rlx(&x->used, atomic_load_rlx(&x->used) + 1);
		}
		if (x)
			/* release: readers that load x see its slots */
			atomic_store_rel(&rules_now, x);
	}
	/* release: the next grower sees the table we published */
	atomic_store_rel(&grow_owner, 0);
}

/* Store rule v for key (whose top bits are the generation tag). */
static void rule_put(uint64_t key, uint64_t v)
{
	/* acquire: pairs with the release that published the table */
	struct rule_table *t = atomic_load_acq(&rules_now);
	uint64_t i = rule_home(t, key);

	for (unsigned n = 0; n < RULE_PROBES; n++, i = (i + 1) & t->mask) {
		struct rule_slot *s = &t->s[i];
		/* relaxed: a rule is self-contained (no pointer to follow) and
		 * its key says its generation */
		uint64_t k = atomic_load_rlx(&s->key);
		if (!k) {
			/* acq_rel: one thread claims the slot for its key */
			if (atomic_cas_acq_rel(&s->key, &k, key)) {
				k = key;
				/* relaxed: a count for the growth decision only */
				uint64_t used = atomic_fetch_add_rlx(&t->used, 1) + 1;
				atomic_store_rlx(&s->val, v); /* relaxed: see above */
				if (used * 2 > t->mask + 1)
					rule_table_grow(t, key & ~(ADDR_LIMIT * 2 - 1));
				return;
			}
		}
		if (k == key) {
			atomic_store_rlx(&s->val, v); /* relaxed: see above */
			return;
		}
	}
	rule_table_grow(t, key & ~(ADDR_LIMIT * 2 - 1));
}

/* ---- rules from .eh_frame ---------------------------------------------------- */

/* DWARF pointer encodings and call frame instructions (DWARF 5, 6.4.2;
 * LSB, "Exception Frames"). */
#define PE_OMIT 0xff
#define PE_DATAREL 0x30
#define PE_PCREL 0x10
#define PE_SDATA4 0x0b
#define NREGS 17 /* rax..r15 and the return address: libunwind's preserved set */
#define REG_RBP 6
#define REG_RSP 7
#define REG_RA 16
#define REMEMBER_MAX 8

enum where { W_SAME = 0, W_UNDEF, W_CFAREL, W_REG, W_EXPR, W_VALEXPR };

struct cfi_row {
	uint8_t cfa_where;  /* W_REG or W_EXPR; W_SAME until defined */
	uint8_t cfa_reg;    /* W_REG: the register */
	int32_t cfa_off;    /* W_REG: the offset */
	uint8_t where[NREGS]; /* enum where of each register */
	int32_t val[NREGS];   /* W_CFAREL: offset; W_REG: register */
};

struct cie {
	uint64_t code_align;
	int64_t data_align;
	uint8_t fde_enc;	  /* encoding of the FDE's addresses */
	uint8_t signal;		  /* 'S': a signal trampoline */
	int has_z;		  /* the FDE has augmentation data */
	const uint8_t *insns, *end; /* initial instructions */
};

struct cursor {
	const uint8_t *p, *end;
	int bad; /* a read ran past end or was malformed */
};

static uint64_t rd_u(struct cursor *c, unsigned bytes)
{
	uint64_t v = 0;

	if (c->bad || (size_t)(c->end - c->p) < bytes) {
		c->bad = 1;
		return 0;
	}
	memcpy(&v, c->p, bytes);
	c->p += bytes;
	return v;
}

static uint64_t rd_uleb(struct cursor *c)
{
	uint64_t v = 0;
	unsigned shift = 0;

	while (!c->bad) {
		if (c->p >= c->end || shift > 63) {
			c->bad = 1;
			break;
		}
		uint8_t b = *c->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			break;
	}
	return v;
}

static int64_t rd_sleb(struct cursor *c)
{
	uint64_t v = 0;
	unsigned shift = 0;
	uint8_t b = 0;

	while (!c->bad) {
		if (c->p >= c->end || shift > 63) {
			c->bad = 1;
			return 0;
		}
		b = *c->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			break;
	}
	if (shift < 64 && (b & 0x40))
		v |= ~0ull << shift;
	return (int64_t)v;
}

/* Read a pointer of encoding enc (absolute, pc-relative, or relative to
 * datarel when that is not 0).  Indirect pointers are read as the address
 * of the pointer: no caller needs what they point to. */
static uint64_t rd_enc(struct cursor *c, uint8_t enc, uintptr_t datarel)
{
	uintptr_t here = (uintptr_t)c->p;
	uint64_t v;

	if (enc == PE_OMIT)
		return 0;
	switch (enc & 0x0f) {
	case 0x00: v = rd_u(c, 8); break;
	case 0x01: v = rd_uleb(c); break;
	case 0x02: v = rd_u(c, 2); break;
	case 0x03: v = rd_u(c, 4); break;
	case 0x04: v = rd_u(c, 8); break;
	case 0x09: v = (uint64_t)rd_sleb(c); break;
	case 0x0a: v = (uint64_t)(int64_t)(int16_t)rd_u(c, 2); break;
	case 0x0b: v = (uint64_t)(int64_t)(int32_t)rd_u(c, 4); break;
	case 0x0c: v = rd_u(c, 8); break;
	default: c->bad = 1; return 0;
	}
	switch (enc & 0x70) {
	case 0x00: break;
	case PE_PCREL: v += here; break;
	case PE_DATAREL:
		if (!datarel)
			c->bad = 1;
		v += datarel;
		break;
	default: c->bad = 1;
	}
	return v;
}

/* Parse the CIE at p.  Return 0, or -1 for anything this file does not
 * handle (libunwind then decides). */
static int cie_parse(const uint8_t *p, struct cie *ci)
{
	struct cursor c = {p, p + 4, 0};
	uint64_t len = rd_u(&c, 4);

	if (!len || len == 0xffffffffu)
		return -1;
	c.end = c.p + len;
	if (rd_u(&c, 4) != 0)
		return -1; /* not a CIE */
	uint8_t version = (uint8_t)rd_u(&c, 1);
	if (version != 1 && version != 3)
		return -1;
	const char *aug = (const char *)c.p;
	const char *aug_nul = c.bad ? NULL : memchr(aug, 0, (size_t)(c.end - c.p));
	if (!aug_nul)
		return -1;
	size_t aug_len = (size_t)(aug_nul - aug);
	c.p += aug_len + 1;
	memset(ci, 0, sizeof(*ci));
	ci->code_align = rd_uleb(&c);
	ci->data_align = rd_sleb(&c);
	uint64_t ra = version == 1 ? rd_u(&c, 1) : rd_uleb(&c);
	if (ra != REG_RA)
		return -1;
	ci->fde_enc = 0; /* absptr unless 'R' says otherwise */
	if (aug[0] == 'z') {
		ci->has_z = 1;
		uint64_t n = rd_uleb(&c);
		if (c.bad || n > (uint64_t)(c.end - c.p))
			return -1;
		const uint8_t *aug_end = c.p + n;
		for (size_t i = 1; i < aug_len && !c.bad; i++) {
			if (aug[i] == 'R') {
				ci->fde_enc = (uint8_t)rd_u(&c, 1);
			} else if (aug[i] == 'L') {
				(void)rd_u(&c, 1);
			} else if (aug[i] == 'P') {
				uint8_t enc = (uint8_t)rd_u(&c, 1);
				if ((enc & 0x70) == 0x50) /* aligned: not seen on x86-64 */
					return -1;
				(void)rd_enc(&c, (uint8_t)(enc & 0x7f), 0);
			} else if (aug[i] == 'S') {
				ci->signal = 1;
			} else {
				break; /* as libunwind: the rest is skipped by length */
			}
		}
		c.p = aug_end;
	} else if (aug[0]) {
		return -1;
	}
	if (c.bad)
		return -1;
	ci->insns = c.p;
	ci->end = c.end;
	return 0;
}

static int reg_ok(uint64_t r)
{
	return r < NREGS;
}

static void set_reg(struct cfi_row *row, uint64_t r, uint8_t where, int64_t val, int *bad)
{
	if (!reg_ok(r) || val != (int32_t)val) {
		*bad = 1;
		return;
	}
	row->where[r] = where;
	row->val[r] = (int32_t)val;
}

/*
 * Run call frame instructions [p, end) from location loc while loc <=
 * target, as libunwind's run_cfi_program does.  init is the row after the
 * CIE's instructions (for DW_CFA_restore), NULL while running those.
 * Return 0, or -1 on anything malformed or unknown.
 */
static int cfi_run(const struct cie *ci, const uint8_t *p, const uint8_t *end, uint64_t loc, uint64_t target,
		   struct cfi_row *row, const struct cfi_row *init)
{
	struct cursor c = {p, end, 0};
	struct cfi_row saved[REMEMBER_MAX];
	unsigned nsaved = 0;
	int bad = 0;

	while (c.p < c.end && loc <= target && !c.bad && !bad) {
		uint8_t op = *c.p++;
		uint64_t r, v;
		switch (op & 0xc0) {
		case 0x40: /* advance_loc */
			loc += (op & 0x3f) * ci->code_align;
			continue;
		case 0x80: /* offset */
			v = rd_uleb(&c);
			set_reg(row, op & 0x3f, W_CFAREL, (int64_t)v * ci->data_align, &bad);
			continue;
		case 0xc0: /* restore */
			r = op & 0x3f;
			if (!init || !reg_ok(r))
				return -1;
			row->where[r] = init->where[r];
			row->val[r] = init->val[r];
			continue;
		}
		switch (op) {
		case 0x00: /* nop */
			break;
		case 0x01: /* set_loc */
			loc = rd_enc(&c, ci->fde_enc, 0);
			break;
		case 0x02: loc += rd_u(&c, 1) * ci->code_align; break;
		case 0x03: loc += rd_u(&c, 2) * ci->code_align; break;
		case 0x04: loc += rd_u(&c, 4) * ci->code_align; break;
		case 0x05: /* offset_extended */
			r = rd_uleb(&c);
			v = rd_uleb(&c);
			set_reg(row, r, W_CFAREL, (int64_t)v * ci->data_align, &bad);
			break;
		case 0x06: /* restore_extended */
			r = rd_uleb(&c);
			if (!init || !reg_ok(r))
				return -1;
			row->where[r] = init->where[r];
			row->val[r] = init->val[r];
			break;
		case 0x07: /* undefined */
			set_reg(row, rd_uleb(&c), W_UNDEF, 0, &bad);
			break;
		case 0x08: /* same_value */
			set_reg(row, rd_uleb(&c), W_SAME, 0, &bad);
			break;
		case 0x09: /* register */
			r = rd_uleb(&c);
			v = rd_uleb(&c);
			set_reg(row, r, W_REG, (int64_t)(v & 0x7fffffff), &bad);
			break;
		case 0x0a: /* remember_state */
			if (nsaved == REMEMBER_MAX)
				return -1;
			saved[nsaved++] = *row;
			break;
		case 0x0b: /* restore_state */
			if (!nsaved)
				return -1;
			*row = saved[--nsaved];
			break;
		case 0x0c: /* def_cfa */
			r = rd_uleb(&c);
			v = rd_uleb(&c);
			if (!reg_ok(r) || v > INT32_MAX)
				return -1;
			row->cfa_where = W_REG;
			row->cfa_reg = (uint8_t)r;
			row->cfa_off = (int32_t)v;
			break;
		case 0x0d: /* def_cfa_register */
			r = rd_uleb(&c);
			if (!reg_ok(r))
				return -1;
			row->cfa_where = W_REG;
			row->cfa_reg = (uint8_t)r;
			break;
		case 0x0e: /* def_cfa_offset */
			v = rd_uleb(&c);
			if (v > INT32_MAX)
				return -1;
			row->cfa_off = (int32_t)v;
			break;
		case 0x0f: /* def_cfa_expression */
			row->cfa_where = W_EXPR;
			v = rd_uleb(&c);
			if (v > (uint64_t)(c.end - c.p))
				return -1;
			c.p += v;
			break;
		case 0x10: /* expression */
		case 0x16: /* val_expression */
			r = rd_uleb(&c);
			set_reg(row, r, op == 0x10 ? W_EXPR : W_VALEXPR, 0, &bad);
			v = rd_uleb(&c);
			if (v > (uint64_t)(c.end - c.p))
				return -1;
			c.p += v;
			break;
		case 0x11: /* offset_extended_sf */
			r = rd_uleb(&c);
			set_reg(row, r, W_CFAREL, rd_sleb(&c) * ci->data_align, &bad);
			break;
		case 0x12: /* def_cfa_sf */
			r = rd_uleb(&c);
			if (!reg_ok(r))
				return -1;
			int64_t o = rd_sleb(&c) * ci->data_align;
			if (o != (int32_t)o)
				return -1;
			row->cfa_where = W_REG;
			row->cfa_reg = (uint8_t)r;
			row->cfa_off = (int32_t)o;
			break;
		case 0x13: { /* def_cfa_offset_sf */
			int64_t o2 = rd_sleb(&c) * ci->data_align;
			if (o2 != (int32_t)o2)
				return -1;
			row->cfa_off = (int32_t)o2;
			break;
		}
		case 0x2e: /* GNU_args_size */
			(void)rd_uleb(&c);
			break;
		case 0x2f: /* GNU_negative_offset_extended */
			r = rd_uleb(&c);
			v = rd_uleb(&c);
			set_reg(row, r, W_CFAREL, -((int64_t)v * ci->data_align), &bad);
			break;
		default: /* val_offset and anything else libunwind does not read */
			return -1;
		}
	}
	return c.bad || bad ? -1 : 0;
}

/*
 * The rule for a row, with libunwind's classification of a frame
 * (x86_64/Gstash_frame.c, and the stops of unw_step): a step when the
 * CFA is rsp or rbp plus a constant, the return address is at CFA - 8 and
 * rbp and rsp are unchanged or at CFA + a small constant; the last frame
 * when the return address or rbp is undefined; otherwise a fallback, also
 * for any expression or register-to-register rule (which libunwind's fast
 * trace cannot evaluate either).
 */
static uint64_t rule_of_row(const struct cfi_row *row)
{
	if (row->cfa_where != W_REG || (row->cfa_reg != REG_RSP && row->cfa_reg != REG_RBP))
		return rule_make(RULE_FALLBACK, 0, 0, 0);
	for (unsigned r = 0; r < NREGS; r++)
		if (row->where[r] == W_REG || row->where[r] == W_EXPR || row->where[r] == W_VALEXPR)
			return rule_make(RULE_FALLBACK, 0, 0, 0);
	if (row->where[REG_RA] == W_UNDEF || row->where[REG_RBP] == W_UNDEF)
		return rule_make(RULE_LAST, 0, 0, 0);
	if (row->where[REG_RA] != W_CFAREL || row->val[REG_RA] != -8)
		return rule_make(RULE_FALLBACK, 0, 0, 0);
	/* rsp at CFA + j is allowed and, as in Gtrace.c, not read: rsp = CFA */
	if (row->where[REG_RSP] == W_CFAREL && (row->val[REG_RSP] == -1 || row->val[REG_RSP] >= 1 << 14 ||
						row->val[REG_RSP] <= -(1 << 14)))
		return rule_make(RULE_FALLBACK, 0, 0, 0);
	int64_t bp = 0;
	if (row->where[REG_RBP] == W_CFAREL) {
		bp = row->val[REG_RBP];
		if (bp == 0 || bp == -1 || bp >= 1 << 14 || bp <= -(1 << 14))
			return rule_make(RULE_FALLBACK, 0, 0, 0);
	}
	if (row->cfa_reg == REG_RSP && row->cfa_off <= 0)
		return rule_make(RULE_FALLBACK, 0, 0, 0); /* cannot be a frame */
	return rule_make(RULE_STEP, row->cfa_reg == REG_RSP, row->cfa_off, bp);
}

/* The rule at pc in the FDE at fde (from .eh_frame_hdr's table). */
static uint64_t rule_from_fde(const uint8_t *fde, uint64_t pc)
{
	const uint64_t fallback = rule_make(RULE_FALLBACK, 0, 0, 0);
	struct cursor c = {fde, fde + 4, 0};
	uint64_t len = rd_u(&c, 4);
	struct cie ci;

	if (!len || len == 0xffffffffu)
		return fallback;
	c.end = c.p + len;
	const uint8_t *id_at = c.p;
	uint32_t cie_off = (uint32_t)rd_u(&c, 4);
	if (!cie_off || cie_parse(id_at - cie_off, &ci) || ci.signal)
		return fallback;
	uint64_t start = rd_enc(&c, ci.fde_enc, 0);
	uint64_t range = rd_enc(&c, ci.fde_enc & 0x0f, 0);
	if (ci.has_z) {
		uint64_t n = rd_uleb(&c);
		if (n > (uint64_t)(c.end - c.p))
			return fallback;
		c.p += n;
	}
	if (c.bad || pc < start || pc - start >= range)
		return fallback; /* no FDE covers pc: libunwind guesses */
	struct cfi_row row, init;
	memset(&row, 0, sizeof(row));
	if (cfi_run(&ci, ci.insns, ci.end, 0, UINT64_MAX, &row, NULL))
		return fallback;
	init = row;
	if (cfi_run(&ci, c.p, c.end, start, pc, &row, &init))
		return fallback;
	return rule_of_row(&row);
}

/* The rule at pc in a module whose .eh_frame_hdr is at hdr. */
static uint64_t rule_from_hdr(uintptr_t hdr, uint64_t pc)
{
	const uint64_t fallback = rule_make(RULE_FALLBACK, 0, 0, 0);
	const uint8_t *h = (const uint8_t *)hdr;

	if (h[0] != 1 || h[3] != (PE_DATAREL | PE_SDATA4))
		return fallback; /* no binary search table: libunwind searches */
	struct cursor c = {h + 4, h + 4 + 16, 0};
	(void)rd_enc(&c, h[1], hdr);
	uint64_t count = rd_enc(&c, h[2], hdr);
	if (c.bad || !count)
		return fallback;
	const int32_t *tab = (const int32_t *)c.p; /* (start, fde) pairs, sorted */
	int64_t rel = (int64_t)(pc - hdr);
	uint64_t lo = 0, hi = count;
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (tab[2 * mid] <= rel)
			lo = mid;
		else
			hi = mid;
	}
	if (tab[2 * lo] > rel)
		return fallback;
	return rule_from_fde((const uint8_t *)(hdr + (intptr_t)tab[2 * lo + 1]), pc);
}

struct find_ctx {
	uint64_t pc;   /* the address to find a rule for */
	uint64_t rule; /* the result */
	int found;     /* a module holds pc */
};

static int find_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct find_ctx *f = data;
	uintptr_t hdr = 0;
	int mine = 0;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && f->pc >= lo && f->pc < lo + ph->p_memsz)
			mine = 1;
		else if (ph->p_type == PT_GNU_EH_FRAME)
			hdr = lo;
	}
	if (!mine)
		return 0;
	f->found = 1;
	f->rule = hdr ? rule_from_hdr(hdr, f->pc) : rule_make(RULE_FALLBACK, 0, 0, 0);
	return 1;
}

/* The rule of key (an address and its generation tag), from the table
 * past its home slot, or computed and remembered (once per return address
 * and generation). */
static HS_NOINLINE uint64_t rule_slow(const struct rule_table *t, uint64_t key, uint64_t *misses)
{
	uint64_t i = rule_home(t, key);

	for (unsigned n = 0; n < RULE_PROBES; n++, i = (i + 1) & t->mask) {
		/* relaxed: see rule_put */
		uint64_t k = atomic_load_rlx(&t->s[i].key);
		if (!k)
			break;
		uint64_t v = atomic_load_rlx(&t->s[i].val);
		if (k == key && v)
			return v;
	}
	++*misses;
	/* dl_iterate_phdr holds the loader's lock while we read the module's
	 * tables: it cannot be unloaded under us */
	struct find_ctx f = {key & (ADDR_LIMIT - 1), 0, 0};
	dl_iterate_phdr(find_cb, &f);
	if (!f.found)
		return rule_make(RULE_FALLBACK, 0, 0, 0); /* not remembered: a module
							   * may be loaded there later */
	rule_put(key, f.rule);
	return f.rule;
}

/* The rule of key (an address and its generation tag). */
HS_INLINE uint64_t rule_get(const struct rule_table *t, uint64_t key, uint64_t *misses)
{
	const struct rule_slot *s = &t->s[rule_home(t, key)];

	/* relaxed: see rule_put */
	if (HS_LIKELY(atomic_load_rlx(&s->key) == key)) {
		uint64_t v = atomic_load_rlx(&s->val);
		if (HS_LIKELY(v != 0))
			return v;
	}
	return rule_slow(t, key, misses);
}

void unwind_modules_changed(void)
{
	/* relaxed: a capture that reads the old generation is unwinding a
	 * stack through code that is still mapped (or the program unloads
	 * code it is running, which no tracer can follow) */
	uint32_t g = atomic_fetch_add_rlx(&rules_gen, 1) + 1;
	if (!(g & 0xffff)) {
		/* the 16-bit tags wrap: start a fresh table, so that no rule
		 * 65536 generations old is found (the old table stays mapped for
		 * readers; once per 65536 dlcloses) */
		struct rule_table *x = rule_table_new(RULE_TABLE_MIN);
		if (x)
			/* release: readers that load x see it empty */
			atomic_store_rel(&rules_now, x);
		atomic_fetch_add_rlx(&rules_gen, 1); /* relaxed: as above; tag 0 is
						      * never used */
	}
}

/* ---- memo ------------------------------------------------------------------ */

enum { ST_CAPTURES, ST_FALLBACKS, ST_REPEATS, ST_REUSED, ST_STEPPED, ST_MISSES, ST_CACHED, ST_COUNT };

struct trace_cache;

/*
 * The id of a stack that is k new frames on the memo's frames from p out:
 * a thread whose stacks share their outer part and vary inside (a call
 * loop, an interpreter's dispatch) makes the same few stacks on the same
 * suffix again and again.  The memo gives each frame it writes a serial,
 * never reused: frames p.. are, frame for frame, what they were when
 * frame p was written (a frame is only ever rewritten with a new serial,
 * and its outer frames are written with or before it), so (serial[p], the
 * k new pcs) names one stack exactly, and its id is known without
 * interning it again.  A direct-mapped cache by the stack's hash.
 */
#define IDC_SLOTS 256
#define IDC_FRAMES 8 /* the most new frames a key holds */
#define IDC_WHOLE (1ull << 63) /* a key's suffix: no memo frame (serials stay below) */

struct idc_entry {
	uint64_t suffix; /* serial of the memo frame the new frames led to;
			  * none: IDC_WHOLE | rules_gen */
	uint32_t k;	 /* new frames */
	uint32_t id;	 /* the stack's id; 0: unknown */
	uint64_t ips[IDC_FRAMES];
};

/*
 * rbp in -O2 code without frame pointers is just a register that functions
 * save and restore: its value in a frame changes with the data while the
 * unwind from that frame does not.  It matters (is live) only if this frame
 * or an outer one computes its CFA from rbp before a step restores rbp:
 *   live(q) = bp_cfa(q) || (!restores(q) && live(q + 1)).
 * Frames are matched, and rbp words checked, only where rbp is live: an
 * unwind cannot tell the difference elsewhere.
 *
 * What the step out of frame q read: the return address at sp[q + 1] - 8
 * (it was ip[q + 1]); rbp, if live outside, at bpw_addr[q] (it was
 * bpw_val[q] = bp[q + 1]); out of the outermost frame, the word that ended
 * the stack (end_addr, end_val; end_addr 0 when a rule ended it).
 */
struct unwind_memo {
	uint32_t owner;	   /* thread index of the thread that used it last */
	uint32_t gen;	   /* rules_gen its frames were made with */
	uint32_t top;	   /* position of the innermost frame; CAP: empty */
	uint32_t id;	   /* stack id of its frames, 0 = unknown */
	uint64_t end_addr; /* a complete capture: the word whose value (end_val <
			    * MIN_IP) ended the stack, or 0 when a rule did */
	uint64_t end_val;
	_Atomic uint64_t stat[ST_COUNT]; /* struct unwind_stats, in its order; relaxed */
	uint32_t maps_gen;  /* maps_gen when its words were last all read */
	uint32_t layout;    /* its layout in tc (index + 1), 0 = none */
	uint32_t win_caps;  /* captures in this window (TC_WINDOW) */
	uint32_t win_steps; /* frames they stepped */
	uint32_t seq;	    /* captures that returned UNWIND_OK */
	bool from_memo;	    /* the last of them is the memo's frames (not tc's) */
	bool tc_on;	    /* use tc */
	struct trace_cache *tc; /* stacks seen, by layout; NULL until needed */
	/* tc_on, a layout, and the memo and tc of the rules_gen (high half)
	 * and maps_gen (low half) of this stamp; 0: not known to be so (see
	 * tc_stamp_of) */
	uint64_t tc_stamp;
	const struct tc_layout *tc_lay; /* the layout, when tc_stamp is set */
	struct {
		uint64_t key, rule;
	} rc[RULE_CACHE]; /* this thread's recent rules, by key (which holds
			   * the generation: stale ones just miss) */
	uint64_t shim_key[SHIM_MEMO];  /* the pcs of the shim's frames last time */
	uint64_t shim_rule[SHIM_MEMO]; /* their rules (RULE_STEP) */
	/* The frames, at positions top..CAP-1 (outermost last). */
	uint64_t ip[CAP];	/* pc */
	uint64_t sp[CAP + 1];	/* rsp (the CFA of the frame inside); sp[CAP]
				 * is UINT64_MAX, the end of a search */
	uint64_t bp[CAP];	/* rbp */
	uint64_t hash[CAP];	/* unwind_hash of this frame and all outer ones */
	uint64_t bpw_addr[CAP]; /* where the step out read a live rbp, 0: none */
	uint64_t bpw_val[CAP];
	uint32_t bpw_next[CAP + 1]; /* the first frame at or outside q with a
				     * bpw_addr; CAP: none */
	uint8_t bp_live[CAP];	/* rbp in this frame matters to the unwind */
	/* Frames a capture steps before it meets the memo, innermost first. */
	uint64_t new_ip[CAP], new_sp[CAP], new_bp[CAP];
	int32_t new_bp_off[CAP]; /* the step out read rbp at CFA + this; 0: not */
	uint8_t new_bp_cfa[CAP]; /* the step out computed the CFA from rbp */
	/* Ids of stacks made of new frames on a known suffix (see idc_find). */
	uint64_t serial[CAP];	/* frame q and its outer frames as written then */
	uint64_t serials;	/* the last serial given */
	uint32_t idc_pending;	/* entry (index + 1) waiting for its id */
	bool idc_off;		/* the last capture's id was not the frames'
				 * (a Python stack): no use looking them up */
	struct idc_entry idc[IDC_SLOTS];
};

HS_INLINE void memo_count(struct unwind_memo *m, unsigned what, uint64_t n)
{
	/* only stack_verify's report reads them: not counted without it */
	if (HS_UNLIKELY(stats_on))
		/* relaxed: only the owner writes; stack_verify's report reads */
		atomic_store_rlx(&m->stat[what], atomic_load_rlx(&m->stat[what]) + n);
}

struct unwind_memo *unwind_memo_get(uint32_t slot, uint32_t owner)
{
	/* acquire: pairs with the release below */
	struct unwind_memo *m = atomic_load_acq(&memos[slot]);

	if (HS_UNLIKELY(!m)) {
		/* only the ring's owner maps its memo: no race for the slot */
		m = arena_map_mmap(sizeof(*m));
		if (!m)
			return NULL;
		m->top = CAP;
		m->owner = owner;
		m->sp[CAP] = UINT64_MAX;
		m->bpw_next[CAP] = CAP;
		/* release: stack_verify's report sees a complete memo */
		atomic_store_rel(&memos[slot], m);
	}
	if (HS_UNLIKELY(m->owner != owner)) {
		m->owner = owner;
		m->top = CAP;
		m->layout = 0;
		m->tc_stamp = 0;
		m->tc_on = false;
		tls.tc_try = 0; /* the caller is the owner */
		m->from_memo = false;
		m->win_caps = m->win_steps = 0;
	}
	return m;
}

/*
 * Do the memo's steps out of position p, and its end, still read what they
 * read?  Word by word in the order the unwind read them: each address is
 * one a full unwind from frame p would read, given the words before it.
 * Used when memory may have been unmapped since the memo's words were read.
 */
static HS_NOINLINE bool memo_holds_ordered(const struct unwind_memo *m, uint32_t p)
{
	for (uint32_t q = p; q + 1 < CAP; q++) {
		/* both words of a step at once: a full unwind reads both */
		uint64_t bpw = m->bpw_addr[q] ? *(const uint64_t *)m->bpw_addr[q] ^ m->bpw_val[q] : 0;
		if (((*(const uint64_t *)(m->sp[q + 1] - 8) ^ m->ip[q + 1]) | bpw) != 0)
			return false;
	}
	return !m->end_addr || *(const uint64_t *)m->end_addr == m->end_val;
}

/*
 * The same, when every word of the memo is still readable (no munmap,
 * mremap or mprotect since they were all read: see unwind_maps_changed):
 * all words read, one branch at the end.  A mismatch means the unwind
 * differs; the words read past it are only compared, never followed.
 */
HS_INLINE bool memo_holds(const struct unwind_memo *m, uint32_t p, bool readable)
{
	if (HS_UNLIKELY(!readable))
		return memo_holds_ordered(m, p);
	uint64_t diff = m->end_addr ? *(const uint64_t *)m->end_addr ^ m->end_val : 0, diff2 = 0;
	size_t q = p + 1;
	/* four frames an iteration, in two sums: the loads are independent */
	for (; q + 3 < CAP; q += 4) {
		diff |= (*(const uint64_t *)(m->sp[q] - 8) ^ m->ip[q]) |
			(*(const uint64_t *)(m->sp[q + 2] - 8) ^ m->ip[q + 2]);
		diff2 |= (*(const uint64_t *)(m->sp[q + 1] - 8) ^ m->ip[q + 1]) |
			 (*(const uint64_t *)(m->sp[q + 3] - 8) ^ m->ip[q + 3]);
	}
	for (; q < CAP; q++)
		diff |= *(const uint64_t *)(m->sp[q] - 8) ^ m->ip[q];
	for (q = m->bpw_next[p]; q < CAP; q = m->bpw_next[q + 1])
		diff |= *(const uint64_t *)m->bpw_addr[q] ^ m->bpw_val[q];
	return (diff | diff2) == 0;
}

/* Fill out from the memo's frames; same of them, the outermost, are
 * those of the memo's last result if that was its frames too. */
static void memo_result(struct unwind_memo *m, uint32_t same, struct unwind_stack *out)
{
	uint32_t depth = CAP - m->top;

	out->ips = &m->ip[m->top];
	out->same = m->from_memo ? same : 0;
	if (depth <= frames_max) {
		out->n = depth;
		out->hash = m->hash[m->top];
	} else {
		out->n = frames_max;
		out->hash = unwind_hash(out->ips, frames_max);
		out->same = 0; /* the outermost frames are cut */
	}
	out->id = m->id;
	out->seq = ++m->seq;
	out->token = (uintptr_t)m;
	m->from_memo = true;
}

/* The id of the stack of k new frames (new_ip) on the memo's frames from p
 * (CAP: none), whose hash is h; or 0, and the entry it will have is made
 * (unwind_memo_set_id fills it in). */
static uint32_t idc_find(struct unwind_memo *m, uint32_t p, uint32_t k, uint64_t h)
{
	m->idc_pending = 0;
	/* (idc_off first: a Python program's threads, whose stack ids are
	 * never the frames', return here at every capture) */
	if (k > IDC_FRAMES || CAP - p + k > frames_max || m->idc_off)
		return 0; /* too many new frames, a stack cut at frames_max, or
			   * ids that are not the frames' */
	/* A whole stack, keyed by its frames alone, in this generation only:
	 * after a dlclose the same addresses may be another library's, whose
	 * stack has another id (stack_modules_unloaded).  Relaxed: see
	 * unwind_modules_changed. */
	uint64_t suffix = p < CAP ? m->serial[p] : IDC_WHOLE | atomic_load_rlx(&rules_gen);
	uint32_t i = (uint32_t)(h >> 56) & (IDC_SLOTS - 1);
	struct idc_entry *e = &m->idc[i];

	if (e->suffix == suffix && e->k == k && e->id) {
		uint64_t diff = 0;
		for (uint32_t j = 0; j < k; j++)
			diff |= e->ips[j] ^ m->new_ip[j];
		if (!diff)
			return e->id;
	}
	e->suffix = suffix;
	e->k = k;
	e->id = 0;
	memcpy(e->ips, m->new_ip, k * sizeof(uint64_t));
	m->idc_pending = i + 1;
	return 0;
}

/* Put the k new frames below position p (the memo's frame they lead to, or
 * CAP), and hash them in.  bp_cfa: a new frame's CFA came from rbp. */
HS_INLINE void memo_splice(struct unwind_memo *m, uint32_t p, uint32_t k, bool bp_cfa)
{
	uint32_t top = p - k, next = m->bpw_next[p];
	uint64_t h = UNWIND_HASH_SEED, outer_sp = m->sp[p], outer_bp = 0, serial = m->serials;
	uint8_t outer_live = 0; /* rbp is live in the frame outside */

	if (p < CAP) {
		h = m->hash[p];
		outer_bp = m->bp[p];
		outer_live = m->bp_live[p];
	}
	if (!outer_live && !bp_cfa) {
		/* Code without frame pointers, the common case: rbp is live in
		 * none of the new frames (so bp[q] is never read, nor is any
		 * word a step read for rbp). */
		for (uint32_t i = k; i-- > 0;) {
			uint32_t q = top + i;
			uint64_t ip = m->new_ip[i];
			h = unwind_hash_step(h, ip);
			m->ip[q] = ip;
			m->sp[q] = m->new_sp[i];
			m->hash[q] = h;
			m->serial[q] = ++serial;
			m->bpw_addr[q] = 0;
			m->bpw_next[q] = next;
			m->bp_live[q] = 0;
		}
		goto out;
	}
	/* outermost new frame first: each needs its outer frame's registers
	 * for its check, and the hash of the outer frames */
	for (uint64_t i = k, q = p; i-- > 0;) {
		q--;
		uint64_t ip = m->new_ip[i], sp = m->new_sp[i];
		int64_t off = m->new_bp_off[i];
		/* the word read for rbp matters if rbp is live outside */
		uint64_t check_bp = (uint64_t)(off != 0) & outer_live;
		m->bpw_addr[q] = (outer_sp + (uint64_t)off) & -check_bp;
		m->bpw_val[q] = outer_bp;
		next = check_bp ? (uint32_t)q : next;
		m->bpw_next[q] = next;
		h = unwind_hash_step(h, ip);
		outer_live = m->new_bp_cfa[i] | ((off == 0) & outer_live);
		outer_bp = m->new_bp[i];
		m->ip[q] = ip;
		m->sp[q] = sp;
		m->bp[q] = outer_bp;
		m->hash[q] = h;
		m->serial[q] = ++serial;
		m->bp_live[q] = outer_live;
		outer_sp = sp;
	}
out:
	m->serials = serial;
	/* No new frame but another first one (the stack is the memo's frames
	 * from p out, the inner ones gone: a tail call into malloc from the
	 * frame that called the function that called it last time): another
	 * stack, whose id is not the memo's either. */
	if (k || top != m->top)
		m->id = idc_find(m, p, k, h);
	m->top = top;
}

/* ---- trace cache -------------------------------------------------------------- */

/*
 * When a thread's consecutive stacks differ far out (a random choice among
 * many deep call paths, as in churn), the memo saves little: most frames
 * are stepped.  Such a thread (TC_WINDOW captures stepping TC_STEPS
 * frames each on average) gets a cache of the stacks it has seen, keyed by
 * their layout (each frame's rsp and rbp, and where each step read rbp)
 * and by the words the steps read (return addresses, rbp, the last word).
 *
 * A capture whose first frame has the memo's rsp and rbp reads those words
 * at the memo's addresses (readable: the memo read them all, and no
 * munmap, mremap or mprotect has happened since; see unwind_maps_changed),
 * and looks them up among the stacks of the memo's layout.  A stack found
 * has the same first frame and, step by step, the same words at the same
 * addresses: its own unwind, which made that layout, is what a full
 * unwind would do now.  Its stack id is known: no interning either.
 *
 * The words are few at each position of a layout (the return addresses of
 * the few call sites that lead there), so a layout keeps, per position,
 * the words seen there in a table of TC_VALS, and a word's code is its
 * place in that table, by a multiplicative hash whose multiplier is chosen
 * so that the position's words all have different places.  The codes of a
 * stack's words (3 bits each, in two 64-bit words) name it exactly within
 * its layout, so a stack is an entry of 24 bytes, not its frames.  A
 * lookup reads the layout's tables, which every lookup of the layout reads
 * and which therefore stay in the cache, and one entry.  (Entries that
 * held the frames, 288 bytes behind an index, cost each of churn's lookups
 * four L1 misses, two of them one after the other.)
 */
#define TC_FRAMES 40	/* the deepest stack cached */
#define TC_POS (TC_FRAMES + 1) /* positions of a key: the frames, the word that ended the stack */
#define TC_CODE_BITS 3
#define TC_VALS (1u << TC_CODE_BITS) /* words a position tells apart */
#define TC_PER_KEY 21	/* positions a 64-bit key word holds (21 * 3 bits) */
#define TC_LAYOUTS 16	/* layouts a cache holds */
#define TC_SLOT_BITS 11
#define TC_SLOTS (1u << TC_SLOT_BITS) /* entries' slots, open addressing */
#define TC_ENTRIES (TC_SLOTS / 4 * 3) /* stacks a cache holds: 3/4 of its slots */
#define TC_WINDOW 4096	/* captures between two decisions on the cache */
#define TC_STEPS 6	/* frames stepped a capture that make a cache worth it */
#define TC_MUL 0x9e3779b97f4a7c15ull /* the first multiplier of a position */
#define TC_TRIES 256	/* multipliers tried to tell a position's words apart */
/* A free place: no word a stack is keyed by (a return address is a user
 * address, the word that ends a stack is below MIN_IP).  A word read
 * that equals it matches no entry: an entry's code at a position is
 * always one of a word it had (see tc_codes). */
#define TC_EMPTY UINT64_MAX

_Static_assert(TC_POS <= 2 * TC_PER_KEY && TC_PER_KEY * TC_CODE_BITS <= 64, "a key is two words");
_Static_assert(TC_POS <= 64, "a layout's closed positions are bits of a word");

/* One position of a layout. */
struct tc_pos {
	uint64_t addr;		/* where its word is read; position 0: none (the
				 * first frame's pc, which the capture has) */
	uint64_t mul;		/* the code of word x: x * mul >> (64 - TC_CODE_BITS) */
	uint64_t val[TC_VALS];	/* the word of each code, TC_EMPTY: none yet */
};

struct tc_layout {
	uint64_t hash;		     /* of sp, bp, bp_addr, end_addr */
	uint32_t n;		     /* frames */
	uint32_t nbp;		     /* live rbp words: bpw_addr, bpw_val */
	uint32_t npos;		     /* positions: n, and the last word if end_addr */
	uint32_t nkey0;		     /* of them, those in a key's first word */
	uint64_t closed;	     /* bit j: position j takes no new word (no
				      * multiplier told its words apart) */
	uint64_t end_addr;	     /* where the last word was read, 0: a rule ended */
	uint64_t bp0_mask;	     /* ~0 if rbp is live in the first frame, else 0 */
	uint64_t sp[TC_FRAMES];	     /* rsp of each frame, innermost first */
	uint64_t bp[TC_FRAMES];	     /* rbp of each frame where live, else 0 */
	uint64_t bp_addr[TC_FRAMES]; /* where the step out of it read a live rbp */
	struct {
		uint64_t addr, val;
	} bpw[TC_FRAMES]; /* the live rbp words and their values */
	/* what a lookup reads: the frames' return addresses (each frame's
	 * pc but the first), then the word at end_addr */
	struct tc_pos pos[TC_POS];
};

struct tc_entry {
	uint64_t key[2]; /* the codes of its words: positions 0-20, then 21-40,
			  * the first one of each in the highest bits */
	uint32_t layout; /* index in layouts + 1, 0: a free slot */
	uint32_t id;	 /* its stack id, 0 until stack.c interned it */
};

struct trace_cache {
	uint32_t gen;		     /* rules_gen of what it holds */
	uint32_t nlayouts, nentries; /* used */
	uint32_t pending;	     /* slot (index + 1) waiting for its id */
	uint64_t hits, misses;	     /* lookups in this window found, not found
				      * (counted apart: a hit writes one) */
	uint64_t vals[TC_POS];	     /* the words a lookup read: the stack found */
	struct tc_layout layouts[TC_LAYOUTS];
	struct tc_entry slots[TC_SLOTS];
};

static _Atomic uint32_t maps_gen = 1;

/* A memo's tc_stamp when its rules are of generation gen and its words
 * were read at maps_gen mgen (not 0: rules_gen starts at 1, and would
 * have to wrap, with maps_gen at 0 too). */
HS_INLINE uint64_t tc_stamp_of(uint32_t gen, uint32_t mgen)
{
	return (uint64_t)gen << 32 | mgen;
}

void unwind_maps_changed(void)
{
	/* relaxed: a thread that reads an old value is one that runs while
	 * another unmaps stack memory it uses, which no tracer can follow */
	atomic_fetch_add_rlx(&maps_gen, 1);
}

/* Forget the stacks, keep the layouts. */
static void tc_clear(struct trace_cache *tc)
{
	tc->nentries = tc->pending = 0;
	memset(tc->slots, 0, sizeof(tc->slots));
}

static void tc_flush(struct trace_cache *tc, uint32_t gen)
{
	tc->gen = gen;
	tc->nlayouts = 0;
	tc_clear(tc);
}

/* rbp of memo frame q as part of a layout: where it is not live, any. */
static uint64_t tc_bp(const struct unwind_memo *m, uint32_t q)
{
	return m->bp_live[q] ? m->bp[q] : 0;
}

/* Intern the memo's layout; return its index + 1 (0: not cacheable). */
static uint32_t tc_layout_of(struct unwind_memo *m)
{
	struct trace_cache *tc = m->tc;
	uint32_t top = m->top, n = CAP - top;
	uint64_t h = UNWIND_HASH_SEED ^ n, end_addr = m->end_addr;

	if (n > TC_FRAMES || n > frames_max)
		return 0;
	for (uint32_t q = top; q < CAP; q++)
		h = unwind_hash_step(unwind_hash_step(unwind_hash_step(h, m->sp[q]), tc_bp(m, q)), m->bpw_addr[q]);
	h = unwind_hash_step(h, end_addr);
	for (uint32_t i = 0; i < tc->nlayouts; i++) {
		const struct tc_layout *l = &tc->layouts[i];
		if (l->hash != h || l->n != n || l->end_addr != end_addr)
			continue;
		uint32_t j = 0;
		while (j < n && l->sp[j] == m->sp[top + j] && l->bp[j] == tc_bp(m, top + j) &&
		       l->bp_addr[j] == m->bpw_addr[top + j])
			j++;
		if (j == n)
			return i + 1;
	}
	if (tc->nlayouts == TC_LAYOUTS)
		tc_flush(tc, tc->gen); /* start over: the old stacks name old layouts */
	struct tc_layout *l = &tc->layouts[tc->nlayouts++];
	l->hash = h;
	l->n = n;
	l->end_addr = end_addr;
	l->npos = n + (end_addr != 0);
	l->nkey0 = l->npos < TC_PER_KEY ? l->npos : TC_PER_KEY;
	l->closed = 0;
	l->nbp = 0;
	l->bp0_mask = m->bp_live[top] ? ~0ull : 0;
	for (uint32_t j = 0; j < n; j++) {
		uint32_t q = top + j;
		l->sp[j] = m->sp[q];
		l->bp[j] = tc_bp(m, q);
		l->bp_addr[j] = m->bpw_addr[q];
		/* frame j's pc is the return address the step out of frame
		 * j - 1 read, below its CFA (frame j's rsp) */
		l->pos[j].addr = j ? m->sp[q] - 8 : 0;
		if (m->bpw_addr[q]) {
			l->bpw[l->nbp].addr = m->bpw_addr[q];
			l->bpw[l->nbp++].val = m->bpw_val[q];
		}
	}
	if (end_addr)
		l->pos[n].addr = end_addr;
	for (uint32_t j = 0; j < l->npos; j++) {
		l->pos[j].mul = TC_MUL;
		for (uint32_t c = 0; c < TC_VALS; c++)
			l->pos[j].val[c] = TC_EMPTY;
	}
	return tc->nlayouts;
}

HS_INLINE uint32_t tc_code(uint64_t mul, uint64_t x)
{
	return (uint32_t)((x * mul) >> (64 - TC_CODE_BITS));
}

/* The slot where the search for (key, layout) starts: one multiply (the
 * top bits of the product depend on every bit of the key; a collision
 * only lengthens a search). */
HS_INLINE uint32_t tc_slot(const uint64_t key[2], uint32_t layout)
{
	uint64_t h = (key[0] ^ key[1] << 1 ^ layout) * TC_MUL;
	return (uint32_t)(h >> (64 - TC_SLOT_BITS));
}

/* Give position p a multiplier that tells its words and x apart, and
 * place them: false if none of TC_TRIES does (or p has no free place). */
static bool tc_separate(struct tc_pos *p, uint64_t x)
{
	uint64_t w[TC_VALS + 1];
	uint32_t k = 0;

	for (uint32_t c = 0; c < TC_VALS; c++)
		if (p->val[c] != TC_EMPTY)
			w[k++] = p->val[c];
	if (k == TC_VALS)
		return false;
	w[k++] = x;
	for (uint64_t t = 0; t < TC_TRIES; t++) {
		uint64_t mul = TC_MUL * (2 * t + 3), taken = 0; /* odd: the code depends on every bit */
		uint32_t i = 0;
		for (; i < k && !(taken >> tc_code(mul, w[i]) & 1); i++)
			taken |= 1ull << tc_code(mul, w[i]);
		if (i < k)
			continue;
		p->mul = mul;
		for (uint32_t c = 0; c < TC_VALS; c++)
			p->val[c] = TC_EMPTY;
		for (i = 0; i < k; i++)
			p->val[tc_code(mul, w[i])] = w[i];
		return true;
	}
	return false;
}

/* The key of the stack ips[0..l->n), ended by end_val, in layout l; its
 * words made known to l's positions.  A position whose new word takes
 * another multiplier changes the codes of the stacks seen: they are
 * forgotten (tc_clear), which is rare (at most TC_VALS times a position
 * until the layout is flushed).  Since a word of a position keeps its code
 * until then, an entry found by a key is the stack whose words have those
 * codes: all those words, exactly.  false: not cacheable. */
static bool tc_codes(struct trace_cache *tc, struct tc_layout *l, const uint64_t *ips, uint64_t end_val,
		     uint64_t key[2])
{
	key[0] = key[1] = 0;
	for (uint32_t j = 0; j < l->npos; j++) {
		struct tc_pos *p = &l->pos[j];
		uint64_t x = j < l->n ? ips[j] : end_val;
		uint32_t c = tc_code(p->mul, x);
		if (p->val[c] == TC_EMPTY) {
			p->val[c] = x;
		} else if (p->val[c] != x) {
			/* a search that failed is not made again for every
			 * stack with such a word */
			if ((l->closed >> j & 1) || !tc_separate(p, x)) {
				l->closed |= 1ull << j;
				return false;
			}
			tc_clear(tc);
			c = tc_code(p->mul, x);
		}
		key[j / TC_PER_KEY] = key[j / TC_PER_KEY] << TC_CODE_BITS | c;
	}
	return true;
}

/* The entry of (key, layout), or the free slot where it goes. */
HS_INLINE struct tc_entry *tc_find(struct trace_cache *tc, const uint64_t key[2], uint32_t layout)
{
	/* never full (TC_ENTRIES < TC_SLOTS): the search ends */
	HS_ASSERT(tc->nentries <= TC_ENTRIES && layout >= 1 && layout <= tc->nlayouts);
	for (uint32_t i = tc_slot(key, layout);; i = (i + 1) & (TC_SLOTS - 1)) {
		struct tc_entry *e = &tc->slots[i];
		if (!e->layout || (e->key[0] == key[0] && e->key[1] == key[1] && e->layout == layout))
			return e;
	}
}

/* Add the memo's stack (interned as id later: unwind_memo_set_id). */
static void tc_add(struct unwind_memo *m)
{
	struct trace_cache *tc = m->tc;
	uint64_t key[2];

	tc->pending = 0;
	m->layout = tc_layout_of(m);
	if (!m->layout)
		return;
	struct tc_layout *l = &tc->layouts[m->layout - 1];
	if (!tc_codes(tc, l, &m->ip[m->top], m->end_addr ? m->end_val : 0, key))
		return;
	struct tc_entry *e = tc_find(tc, key, m->layout);
	if (e->layout)
		return; /* known */
	if (tc->nentries == TC_ENTRIES) {
		tc_clear(tc); /* full: start over */
		e = tc_find(tc, key, m->layout);
	}
	tc->nentries++;
	e->key[0] = key[0];
	e->key[1] = key[1];
	e->layout = m->layout;
	e->id = 0;
	tc->pending = (uint32_t)(e - tc->slots) + 1;
	if (m->id)
		unwind_memo_set_id(m, m->id); /* known already (idc_find) */
}

/* The code of the word x at position p, k the key word it goes into;
 * diff collects whether x is that code's word: a multiply and a shift,
 * a load and compare, the key's shift (churn: 21 positions a lookup). */
#define TC_READ(p, x, k, diff)                                       \
	do {                                                         \
		uint64_t c_ = (x) * (p)->mul >> (64 - TC_CODE_BITS); \
		diff |= (p)->val[c_] ^ (x);                          \
		k = c_ + (k << TC_CODE_BITS);                        \
	} while (0)

/* Read the words of positions [p, end) and return their key word (on k);
 * store: into v too.  Two a round, which halves the loop's own
 * instructions (four a round, more registers than there are: no fewer). */
HS_INLINE uint64_t tc_read(const struct tc_pos *p, const struct tc_pos *end, uint64_t *v, uint64_t k,
			   uint64_t *diff, bool store)
{
	const struct tc_pos *last = end - 1; /* end > the layout's first position */
	uint64_t d = 0;

	for (; p < last; p += 2, v += 2) {
		uint64_t x = *(const uint64_t *)p[0].addr, y = *(const uint64_t *)p[1].addr;
		if (store) {
			v[0] = x;
			v[1] = y;
		}
		TC_READ(&p[0], x, k, d);
		TC_READ(&p[1], y, k, d);
	}
	if (p < end) {
		uint64_t x = *(const uint64_t *)p->addr;
		if (store)
			v[0] = x;
		TC_READ(p, x, k, d);
	}
	*diff |= d;
	return k;
}

/*
 * Look the stack whose first frame is (ip0, sp, bp) up among those of the
 * memo's layout: true with out set, or false.  The layout's words are
 * readable (maps_gen checked by the caller) and of this generation of
 * rules (tc->gen checked by the caller).  The first frame must be the
 * layout's own (rsp, and rbp where live): a lookup then reads the words a
 * full unwind from it reads, up to the first that differs from every
 * stack of the layout.  store: out->ips gets the frames (stack_verify, a
 * Python program's frames); else out->ips is not to be read.
 */
HS_INLINE bool tc_lookup(struct unwind_memo *m, struct trace_cache *tc, const struct tc_layout *l, uint64_t ip0,
			 uint64_t sp, uint64_t bp, bool store, struct unwind_stack *out)
{
	uint64_t *v = tc->vals;

	HS_ASSERT(m->layout >= 1 && m->layout <= tc->nlayouts && l == &tc->layouts[m->layout - 1]);
	if (sp != l->sp[0] || ((bp ^ l->bp[0]) & l->bp0_mask))
		return false; /* another first frame */
	for (uint32_t i = 0; i < l->nbp; i++)
		if (*(const uint64_t *)l->bpw[i].addr != l->bpw[i].val)
			goto miss; /* a live rbp differs: another layout */
	/* the words and their codes: one key word, then the other */
	const struct tc_pos *p = l->pos;
	uint64_t diff = 0, key[2], k = 0;
	if (store)
		v[0] = ip0;
	TC_READ(p, ip0, k, diff);
	key[0] = tc_read(p + 1, p + l->nkey0, v + 1, k, &diff, store);
	key[1] = l->npos > TC_PER_KEY ? tc_read(p + TC_PER_KEY, p + l->npos, v + TC_PER_KEY, 0, &diff, store) : 0;
	if (diff)
		goto miss; /* a word not seen there */
	const struct tc_entry *e = tc_find(tc, key, m->layout);
	if (!e->id)
		goto miss; /* not seen (or not interned yet) */
	tc->hits++;
	out->ips = v;
	out->n = l->n;
	out->id = e->id;
	out->hash = 0;
	out->same = 0;
	out->seq = ++m->seq;
	out->token = (uintptr_t)m;
	m->from_memo = false; /* the memo's frames are not this stack's */
	return true;
miss:
	tc->misses++;
	return false;
}

/* Every TC_WINDOW captures: give the thread a cache if its captures step
 * many frames, stop using it if it finds little. */
static void tc_decide(struct unwind_memo *m)
{
	struct trace_cache *tc = m->tc;

	m->tc_stamp = 0; /* tc_on or the layout may change */
	if (!m->tc_on && m->win_steps >= TC_STEPS * m->win_caps) {
		if (!tc) {
			tc = m->tc = arena_map_mmap(sizeof(*tc));
			if (tc)
				tc_flush(tc, 0);
		}
		m->tc_on = tc != NULL;
		m->layout = 0;
	} else if (m->tc_on && tc->hits + tc->misses > TC_WINDOW / 4 && tc->hits * 3 < tc->misses) {
		m->tc_on = false; /* the stacks are not among those seen */
	}
	if (tc)
		tc->hits = tc->misses = 0;
	m->win_caps = m->win_steps = 0;
	tls.tc_try = m->tc_on; /* (the owner's: only it captures on m) */
}

void unwind_memo_set_id(struct unwind_memo *m, uint32_t id)
{
	m->id = id;
	m->idc_off = !id;
	if (m->idc_pending) {
		m->idc[m->idc_pending - 1].id = id;
		m->idc_pending = 0;
	}
	if (m->tc && m->tc->pending) {
		m->tc->slots[m->tc->pending - 1].id = id;
		m->tc->pending = 0;
	}
}

/* The rule of key, through the thread's cache. */
HS_INLINE uint64_t rule_cached(struct unwind_memo *m, const struct rule_table *t, uint64_t key, uint64_t *misses)
{
	uint32_t i = (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> (64 - RULE_CACHE_BITS));

	if (HS_LIKELY(m->rc[i].key == key))
		return m->rc[i].rule;
	uint64_t v = rule_get(t, key, misses);
	if (rule_kind(v) == RULE_STEP || rule_kind(v) == RULE_LAST) {
		m->rc[i].key = key;
		m->rc[i].rule = v;
	}
	return v;
}

/* After a capture with tc_on: may the next one look its stack up at once
 * (tc_ready)?  (Apart: capture_slow's registers are for its loops.) */
static HS_NOINLINE void tc_stamp_set(struct unwind_memo *m, uint32_t gen)
{
	bool ready = m->layout && m->gen == gen && m->tc->gen == gen;

	m->tc_stamp = ready ? tc_stamp_of(gen, m->maps_gen) : 0;
	m->tc_lay = ready ? &m->tc->layouts[m->layout - 1] : NULL;
	tls.tc_try = 1;
}

/* tc_lookup with the frames copied out, for capture_slow (apart: its
 * registers are not the loop's). */
static HS_NOINLINE bool tc_lookup_ips(struct unwind_memo *m, uint64_t ip0, uint64_t sp, uint64_t bp,
				      struct unwind_stack *out)
{
	return tc_lookup(m, m->tc, &m->tc->layouts[m->layout - 1], ip0, sp, bp, true, out);
}

/* unwind_capture but its fast path (flags: UNWIND_F_*). */
static HS_NOINLINE int capture_slow(struct unwind_memo *m, uint64_t ip, uint64_t sp, uint64_t bp, unsigned flags,
				    struct unwind_stack *out)
{
	/* acquire: pairs with the release that published the table */
	const struct rule_table *tab = atomic_load_acq(&rules_now);
	/* relaxed: see unwind_modules_changed and unwind_maps_changed */
	uint32_t gen = atomic_load_rlx(&rules_gen), mgen = atomic_load_rlx(&maps_gen);
	uint64_t tag = (uint64_t)(gen & 0xffff) << TAG_SHIFT, misses = 0, key = ip | tag, v, cfa;
	uint32_t k = 0, p = m->gen == gen ? m->top : CAP, same = 0, top0 = p;
	uint64_t next_sp = m->sp[p]; /* the memo's frame p (UINT64_MAX at CAP) */
	bool readable = m->maps_gen == mgen; /* the memo's words: see memo_holds */
	bool bp_cfa = false; /* a new frame's CFA came from rbp */

	memo_count(m, ST_CAPTURES, 1);
	if (HS_UNLIKELY(++m->win_caps == TC_WINDOW))
		tc_decide(m);
	if (flags & UNWIND_F_CALLER) {
		/* A hook's caller: a return address, the program's (the common
		 * case: no frame of the shim to step), or the shim's own. */
		if (!ip_ok(ip))
			goto fallback;
		if (HS_LIKELY(ip < self_lo || ip >= self_hi))
			goto program;
		key = (ip - 1) | tag;
	}
	/* The shim's frames: the first is the caller's, at its exact pc (or
	 * a return address, above).  The shim is never unloaded (-z
	 * nodelete), so the rules of its pcs never change: the thread keeps
	 * those of its last capture's shim frames. */
	for (unsigned i = 0;; i++) {
		if (HS_LIKELY(i < SHIM_MEMO && m->shim_key[i] == (key & (ADDR_LIMIT - 1)))) {
			v = m->shim_rule[i];
		} else {
			v = rule_cached(m, tab, key, &misses);
			if (rule_kind(v) != RULE_STEP || i == SHIM_FRAMES_MAX)
				goto fallback;
			if (i < SHIM_MEMO) {
				m->shim_key[i] = key & (ADDR_LIMIT - 1);
				m->shim_rule[i] = v;
			}
		}
		cfa = ((v & RULE_RSP) ? sp : bp) + (uint64_t)rule_off(v);
		ip = *(const uint64_t *)(cfa - 8);
		if (rule_bp(v))
			bp = *(const uint64_t *)(cfa + (uint64_t)rule_bp(v));
		sp = cfa;
		if (!ip_ok(ip))
			goto fallback;
		if (ip < self_lo || ip >= self_hi)
			break;
		key = (ip - 1) | tag;
	}
program:
	/* A stack seen before, with the memo's layout?  (Looked up before the
	 * memo is checked: a thread with a cache rarely repeats its last
	 * stack, and the cache holds that one too.) */
	if (HS_UNLIKELY(m->tc_on) && m->layout && p < CAP && readable) {
		if (m->tc->gen != gen) {
			tc_flush(m->tc, gen);
			m->layout = 0;
		} else if (!(flags & UNWIND_F_TRIED) && tc_lookup_ips(m, ip, sp, bp, out)) {
			memo_count(m, ST_CACHED, 1);
			goto counted;
		}
	}
	/* The program's frames, until one is the memo's or the stack ends. */
	for (;;) {
		if (sp >= next_sp) {
			while (next_sp < sp)
				next_sp = m->sp[++p];
			if (sp == next_sp && m->ip[p] == ip && (m->bp[p] == bp || !m->bp_live[p]) && p >= k &&
			    memo_holds(m, p, readable)) {
				same = CAP - p; /* positions p.. keep their frames */
				memo_splice(m, p, k, bp_cfa);
				memo_count(m, k ? ST_STEPPED : ST_REPEATS, k ? k : 1);
				memo_count(m, ST_REUSED, CAP - p);
				goto done;
			}
		}
		if (k == CAP)
			goto fallback; /* deeper than a memo: libunwind */
		m->new_ip[k] = ip;
		m->new_sp[k] = sp;
		m->new_bp[k] = bp;
		v = rule_cached(m, tab, (ip - 1) | tag, &misses);
		if (rule_kind(v) != RULE_STEP) {
			if (rule_kind(v) != RULE_LAST)
				goto fallback;
			m->new_bp_off[k] = 0;
			m->new_bp_cfa[k++] = 0;
			m->end_addr = 0;
			goto complete;
		}
		cfa = ((v & RULE_RSP) ? sp : bp) + (uint64_t)rule_off(v);
		ip = *(const uint64_t *)(cfa - 8);
		int32_t off = (int32_t)rule_bp(v);
		m->new_bp_cfa[k] = !(v & RULE_RSP);
		bp_cfa |= !(v & RULE_RSP);
		m->new_bp_off[k++] = off;
		if (off)
			bp = *(const uint64_t *)(cfa + (uint64_t)off);
		sp = cfa;
		if (!ip_ok(ip)) {
			if (ip >= MIN_IP)
				goto fallback; /* not a user address: libunwind decides */
			m->end_addr = cfa - 8;
			m->end_val = ip;
			goto complete;
		}
	}
complete:
	/* the whole stack is new: it replaces the memo */
	memo_splice(m, CAP, k, bp_cfa);
	m->gen = gen;
	memo_count(m, ST_STEPPED, k);
done:
	/* every word of the memo was read by this capture */
	m->maps_gen = mgen;
	m->win_steps += k;
	if (HS_UNLIKELY(m->tc_on) && (k || m->top != top0))
		tc_add(m); /* another stack: its layout is the memo's now */
	memo_result(m, same, out);
counted:
	if (misses)
		memo_count(m, ST_MISSES, misses);
	/* the next capture may look its stack up at once (tc_ready; without
	 * tc_on, tc_stamp is 0 already: tc_decide) */
	if (HS_UNLIKELY(m->tc_on))
		tc_stamp_set(m, gen);
	return UNWIND_OK;
fallback:
	if (misses)
		memo_count(m, ST_MISSES, misses);
	memo_count(m, ST_FALLBACKS, 1);
	m->top = CAP;
	m->layout = 0;
	m->tc_stamp = 0;
	m->from_memo = false;
	return UNWIND_FALLBACK;
}

/* May the hook's caller's stack (caller true) be looked up in m's trace
 * cache at once: a thread with a cache, a program's frame (not the
 * shim's), a memo of the rules and maps of now (relaxed: see
 * unwind_modules_changed and unwind_maps_changed), so that its layout's
 * words are readable and the cache's stacks of this generation. */
HS_INLINE bool tc_ready(const struct unwind_memo *m, uint64_t ip)
{
	return HS_LIKELY(m->tc_stamp == tc_stamp_of(atomic_load_rlx(&rules_gen), atomic_load_rlx(&maps_gen)) &&
			 ip_ok(ip) && (ip < self_lo || ip >= self_hi));
}

/* A stack found in the cache: counted, and every TC_WINDOW captures the
 * cache judged. */
HS_INLINE void tc_found(struct unwind_memo *m)
{
	if (HS_UNLIKELY(stats_on)) {
		memo_count(m, ST_CAPTURES, 1);
		memo_count(m, ST_CACHED, 1);
	}
	if (HS_UNLIKELY(++m->win_caps == TC_WINDOW))
		tc_decide(m);
}

uint32_t unwind_cached(uint32_t slot, uint32_t owner, uint64_t ip, uint64_t sp, uint64_t bp, bool *tried)
{
	/* acquire: pairs with the release in unwind_memo_get */
	struct unwind_memo *m = atomic_load_acq(&memos[slot]);
	struct unwind_stack out;

	/* (a memo last used by another thread is reset by unwind_memo_get:
	 * not used here) */
	if (HS_LIKELY(m && m->owner == owner && tc_ready(m, ip))) {
		if (HS_LIKELY(tc_lookup(m, m->tc, m->tc_lay, ip, sp, bp, false, &out))) {
			tc_found(m);
			return out.id;
		}
		*tried = true;
	}
	return 0;
}

/* unwind_capture's lookup in the cache, then the rest if it is not there. */
static HS_NOINLINE int capture_cached(struct unwind_memo *m, uint64_t ip, uint64_t sp, uint64_t bp, bool need_ips,
				      struct unwind_stack *out)
{
	if (HS_LIKELY(need_ips ? tc_lookup(m, m->tc, m->tc_lay, ip, sp, bp, true, out)
			       : tc_lookup(m, m->tc, m->tc_lay, ip, sp, bp, false, out))) {
		tc_found(m);
		return UNWIND_OK;
	}
	return capture_slow(m, ip, sp, bp, UNWIND_F_CALLER | UNWIND_F_TRIED, out);
}

int unwind_capture(struct unwind_memo *m, uint64_t ip, uint64_t sp, uint64_t bp, unsigned flags,
		   struct unwind_stack *out)
{
	/* the stacks of a thread with a trace cache are mostly there: looked
	 * up at once, in as few instructions as can be */
	if ((flags & (UNWIND_F_CALLER | UNWIND_F_TRIED)) == UNWIND_F_CALLER && tc_ready(m, ip))
		return capture_cached(m, ip, sp, bp, flags & UNWIND_F_IPS, out);
	return capture_slow(m, ip, sp, bp, flags, out);
}

int unwind_step_stopped(uintptr_t hdr, int innermost, uint64_t *pc, uint64_t *sp, uint64_t *bp, uint64_t lo,
			uint64_t hi)
{
	uint64_t r = rule_from_hdr(hdr, innermost ? *pc : *pc - 1);

	if (rule_kind(r) != RULE_STEP)
		return 0;
	uint64_t cfa = ((r & RULE_RSP) ? *sp : *bp) + (uint64_t)rule_off(r);
	if (cfa <= *sp || cfa < lo + 8 || cfa > hi)
		return 0;
	uint64_t ra = *(const uint64_t *)(uintptr_t)(cfa - 8);
	if (rule_bp(r)) {
		uint64_t at = cfa + (uint64_t)rule_bp(r);
		if (at < lo || at + 8 > hi)
			return 0;
		*bp = *(const uint64_t *)(uintptr_t)at;
	}
	*sp = cfa;
	*pc = ra;
	return ip_ok(ra);
}

/* ---- set-up and statistics ------------------------------------------------- */

int unwind_init(uint32_t max_frames, uintptr_t skip_lo, uintptr_t skip_hi, bool stats)
{
	struct rule_table *t = rule_table_new(RULE_TABLE_MIN);

	if (!t)
		return -ENOMEM;
	frames_max = max_frames;
	self_lo = skip_lo;
	self_hi = skip_hi;
	stats_on = stats;
	/* release: publish the empty table */
	atomic_store_rel(&rules_now, t);
	return 0;
}

void unwind_forget_ids(void)
{
	for (uint32_t i = 0; i < RINGS_MAX; i++) {
		/* relaxed: no thread captures stacks meanwhile (the caller's
		 * precondition) */
		struct unwind_memo *m = atomic_load_rlx(&memos[i]);
		if (!m)
			continue;
		m->top = CAP;
		m->id = 0;
		m->layout = 0;
		m->tc_stamp = 0;
		m->from_memo = false;
		m->idc_pending = 0;
		for (uint32_t j = 0; j < IDC_SLOTS; j++)
			m->idc[j].id = 0;
		if (m->tc)
			tc_flush(m->tc, 0);
	}
}

void unwind_stats_get(struct unwind_stats *s)
{
	uint64_t sum[ST_COUNT] = {0};

	for (uint32_t i = 0; i < RINGS_MAX; i++) {
		/* acquire: pairs with the release in unwind_memo_get */
		const struct unwind_memo *m = atomic_load_acq(&memos[i]);
		for (unsigned j = 0; m && j < ST_COUNT; j++)
			sum[j] += atomic_load_rlx(&m->stat[j]); /* relaxed: counts */
	}
	s->captures = sum[ST_CAPTURES];
	s->fallbacks = sum[ST_FALLBACKS];
	s->repeats = sum[ST_REPEATS];
	s->reused = sum[ST_REUSED];
	s->stepped = sum[ST_STEPPED];
	s->rule_misses = sum[ST_MISSES];
	s->cached = sum[ST_CACHED];
}
