/*
 * heapmap.c - live blocks and allocinfos.
 *
 * Live blocks cost the traced process memory, so they are kept compact:
 * the address space is cut into 16 MiB regions, and each region has its
 * own open-addressing table of 10-byte slots: an 8-byte word
 *
 *   bits  0..21  (offset in region >> 3) + 1   (0 = empty slot)
 *   bits 22..37  the low half of the block's allocation sequence number
 *   bits 38..63  allocinfo id (below 2^26: a free takes it with a shift)
 *
 * and right after it the number's high half (the number, 32 bits: the
 * leak analysis names the first allocated member of a leaked cycle,
 * however far apart its members were allocated): about 16 bytes per live
 * block on average (tables are 42-85% full), and a region grows alone, so
 * growing never needs twice the memory of the whole heap.  The number
 * sits in its slot, not in an array of its own, because the heap model is
 * the collector's main source of cache misses (a block's slot is cold by
 * the time it is freed): one line per lookup instead of two (a slot
 * straddles two lines one time in eight).
 *
 * The tables are most of the shim's memory in a program with many live
 * blocks: jq (bench), 445,000 blocks at its peak RSS, 8.5-10 MB of tables
 * with 12-byte slots (the word, then the whole number; allocinfo ids of 42
 * bits) against a 51 MB untraced peak.  Ids past 2^26 (67 million (size,
 * stack) pairs, 1 GB of allocinfos) are not given: such blocks are
 * recorded with allocinfo 0, as when memory runs out.
 */
#include "shim/heapmap.h"

#include <string.h>

#include "util/assert.h"
#include "util/hashmap.h"

#define REGION_SHIFT 24
#define KEY_BITS 22
#define KEY_MASK ((1ull << KEY_BITS) - 1)
#define SEQ_LO_BITS 16 /* the sequence number's low half, in the word */
#define ID_SHIFT (KEY_BITS + SEQ_LO_BITS)
#define ID_MAX ((1u << (64 - ID_SHIFT)) - 1)


/* Packed: 10 bytes, so a slot's word and number share a cache line
 * (x86-64 loads them unaligned at no cost). */
struct slot {
	uint64_t w;	 /* see above */
	uint16_t seq_hi; /* allocation order of the block: its high half */
} __attribute__((packed));

static struct slot slot_make(uint64_t key, uint32_t id, uint32_t seq)
{
	return (struct slot){key | (uint64_t)(seq & 0xffff) << KEY_BITS | (uint64_t)id << ID_SHIFT,
			     (uint16_t)(seq >> SEQ_LO_BITS)};
}

static uint32_t slot_id(uint64_t w)
{
	return (uint32_t)(w >> ID_SHIFT);
}

static uint32_t slot_seq(const struct slot *s)
{
	return (uint32_t)(s->w >> KEY_BITS & 0xffff) | (uint32_t)s->seq_hi << SEQ_LO_BITS;
}

struct region {
	struct slot *slots; /* see above */
	uint32_t mask;	 /* slots - 1 */
	uint32_t count;	 /* filled slots */
};

static struct hashmap region_of; /* (addr >> REGION_SHIFT) + 1 -> index in regions */
static struct region *regions;
static uint32_t nregions, regions_cap;
static uint64_t live_total;
static uint32_t alloc_seq; /* allocations seen, wrapping at 2^32 */

/* Addresses whose block was dropped by an allocation at the same address
 * before its own free arrived: the next free there is that late free. */
static struct hashmap late;

/* The allocinfo of each (stack, size): a table of its own, key and id
 * side by side, so that an allocation's lookup reads one line (a hashmap
 * keeps its keys and values in two arrays: two lines, both cold in
 * churn).  key is ((stack << 40) | size) + 1, 0 a free slot. */
struct pair {
	uint64_t key;
	uint64_t id;
};
static struct pair *pairs;
static uint32_t pairs_mask, pairs_count;

static struct heapmap_info *infos; /* by id; [0] unused */
static uint32_t ninfos = 1, infos_cap;
/* Bit id: that allocinfo's ALLOCINFO record is in the current trace.  A
 * bitmap, not a field of infos: each allocation asks, and a few KB of
 * bits stay in the cache where its info would be a miss (churn: 34,000
 * allocinfos, 540 KB of infos, 8 KB of bits). */
static uint64_t *written;
static int ready;
static const struct hs_allocator *mem; /* heapmap_use */
static const struct heapmap_tables *tables; /* heapmap_use_tables, or NULL */

void heapmap_use(const struct hs_allocator *a)
{
	mem = a;
}

void heapmap_use_tables(const struct heapmap_tables *t)
{
	tables = t;
}

static int setup(void)
{
	if (ready)
		return 0;
	HS_ASSERT(mem != NULL);
	if (!mem || hashmap_init_in(&region_of, 64, mem) || hashmap_init_in(&late, 16, mem))
		return -1;
	if (!pairs) {
		pairs = mem->zalloc(1024 * sizeof(*pairs));
		if (!pairs)
			return -1;
		pairs_mask = 1023;
		pairs_count = 0;
	}
	ready = 1;
	return 0;
}

static uint32_t pair_home(uint64_t key, uint32_t mask)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdull;
	key ^= key >> 33;
	return (uint32_t)key & mask;
}

/* The slot of key in pairs: its own, or the free one where it goes. */
static struct pair *pair_slot(uint64_t key)
{
	for (uint32_t i = pair_home(key, pairs_mask);; i = (i + 1) & pairs_mask)
		if (pairs[i].key == key || !pairs[i].key)
			return &pairs[i];
}

/* Double pairs.  Return 0 or -1 (then it is unchanged). */
static int pairs_grow(void)
{
	uint32_t mask = pairs_mask * 2 + 1;
	struct pair *n = mem->zalloc(((size_t)mask + 1) * sizeof(*n));

	if (!n)
		return -1;
	for (uint32_t i = 0; i <= pairs_mask; i++) {
		if (!pairs[i].key)
			continue;
		uint32_t j = pair_home(pairs[i].key, mask);
		while (n[j].key)
			j = (j + 1) & mask;
		n[j] = pairs[i];
	}
	mem->release(pairs);
	pairs = n;
	pairs_mask = mask;
	return 0;
}

/* Make room for infos up to cap, and their bits.  Return 0 or -1. */
static int infos_grow(uint32_t cap)
{
	struct heapmap_info *p = mem->resize(infos, cap * sizeof(*p));

	if (!p)
		return -1;
	infos = p;
	uint64_t *w = mem->resize(written, cap / 64 * sizeof(*w));
	if (!w)
		return -1; /* infos is larger, infos_cap not yet: harmless */
	memset(w + infos_cap / 64, 0, (cap - infos_cap) / 64 * sizeof(*w));
	written = w;
	infos_cap = cap;
	return 0;
}

static uint32_t info_of(uint64_t size, uint32_t stack)
{
	/* Sizes past 2^40 bytes cannot have been allocated; clamp them so
	 * the key stays unique for every real one. */
	uint64_t key = (((uint64_t)stack << 40) | (size < (1ull << 40) - 1 ? size : (1ull << 40) - 2)) + 1;
	struct pair *e = pair_slot(key);

	if (e->key)
		return (uint32_t)e->id;
	if (ninfos > ID_MAX || (ninfos >= infos_cap && infos_grow(infos_cap ? infos_cap * 2 : 4096)))
		return 0;
	/* at most 3/4 full, as util/hashmap.c */
	if ((pairs_count + 1) * 4 > (pairs_mask + 1) * 3) {
		if (pairs_grow())
			return 0;
		e = pair_slot(key);
	}
	uint32_t id = ninfos;
	*e = (struct pair){key, id};
	pairs_count++;
	infos[id] = (struct heapmap_info){size, stack};
	heapmap_info_unwrite(id);
	ninfos++;
	return id;
}

static uint64_t key_of(uint64_t addr)
{
	return ((addr & ((1ull << REGION_SHIFT) - 1)) >> 3) + 1;
}

static uint32_t home(uint64_t key, uint32_t mask)
{
	return (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> 40) & mask;
}

/* Regions found lately, by the low bits of their key: consecutive blocks
 * mostly share a region, and a program's size classes live in a few
 * (churn's blocks spread over several, and one remembered region missed
 * two lookups in five). */
#define RECENT_REGIONS 8
static struct {
	uint64_t rkey;	 /* 0: none */
	uint32_t region; /* its index in regions */
} recent_region[RECENT_REGIONS];

/* Is a table of this many slots mapped (heapmap_use_tables)? */
static int table_mapped(uint32_t slots)
{
	return tables && (size_t)slots * sizeof(struct slot) >= HEAPMAP_TABLE_MAP_MIN;
}

static struct slot *table_new(uint32_t slots)
{
	size_t bytes = (size_t)slots * sizeof(struct slot);

	return table_mapped(slots) ? tables->map(bytes) : mem->zalloc(bytes);
}

static void table_free(struct slot *s, uint32_t slots)
{
	if (s && table_mapped(slots))
		tables->unmap(s, (size_t)slots * sizeof(struct slot));
	else
		mem->release(s);
}

/* The region of addr; created if create is set.  NULL if none. */
static struct region *region_get(uint64_t addr, int create)
{
	uint64_t rkey = (addr >> REGION_SHIFT) + 1;
	unsigned c = (unsigned)rkey & (RECENT_REGIONS - 1);

	if (recent_region[c].rkey == rkey)
		return &regions[recent_region[c].region];
	uint64_t *v = hashmap_get(&region_of, rkey);
	if (v) {
		recent_region[c].rkey = rkey;
		recent_region[c].region = (uint32_t)*v;
		return &regions[*v];
	}
	if (!create)
		return NULL;
	if (nregions == regions_cap) {
		uint32_t cap = regions_cap ? regions_cap * 2 : 64;
		struct region *p = mem->resize(regions, cap * sizeof(*p));
		if (!p)
			return NULL;
		regions = p;
		regions_cap = cap;
	}
	struct region *r = &regions[nregions];
	r->slots = table_new(16);
	if (!r->slots || hashmap_put(&region_of, rkey, nregions)) {
		table_free(r->slots, 16);
		return NULL;
	}
	r->mask = 15;
	r->count = 0;
	nregions++;
	return r;
}

/* Find key's slot in r, or -1. */
static int64_t slot_find(const struct region *r, uint64_t key)
{
	for (uint32_t i = home(key, r->mask);; i = (i + 1) & r->mask) {
		uint64_t s = r->slots[i].w;
		if (!s)
			return -1;
		if ((s & KEY_MASK) == key)
			return i;
	}
}

/* Put an entry in the first free slot from its home (count unchanged). */
static void slot_place(struct region *r, struct slot e)
{
	uint32_t i = home(e.w & KEY_MASK, r->mask);

	while (r->slots[i].w)
		i = (i + 1) & r->mask;
	r->slots[i] = e;
}

static void slot_put(struct region *r, struct slot e)
{
	slot_place(r, e);
	r->count++;
}

/*
 * Double a mapped table where it lies and rehash it in place.  A table
 * that doubles by copy needs new pages for all of the new table while the
 * old one's go back: 2 x its final size of fresh pages over its growth,
 * each a page fault or a populated page and, on a shadow-paged VM, a
 * hypervisor exit at its first touch (py_json, 25000: 9,000 pages, about
 * 36 MB, populated by the collector a run).  remap keeps the old pages
 * (mremap moves their page table entries), so only the new half is new.
 *
 * In place: with homes taken from the hash's low bits, an entry's home in
 * the doubled table is its old home h or h + m (m the old size).  The
 * entries of the first run of full slots are set aside (they may have
 * wrapped around from the end); then no entry left lies before its home,
 * and the entries are taken out and put back in slot order.  An entry at
 * slot i with home h <= i probes [h, i) (slots done: put back or empty)
 * up to i, empty now; with home h + m it probes the new half (put back
 * entries only) and, wrapping, [0, i] again.  No probe passes an entry not
 * yet moved, whose slot will empty, so every entry stays reachable from
 * its home.  The runs set aside go back last, into a consistent table.
 * Return 0, or -1 with the table unchanged (then the caller copies).
 */
#define WRAP_ON_STACK 256
static int region_grow_in_place(struct region *r)
{
	uint32_t m = r->mask + 1, run = 0;
	size_t bytes = (size_t)m * sizeof(struct slot);
	struct slot on_stack[WRAP_ON_STACK], *wrap = on_stack;

	while (run < m && r->slots[run].w)
		run++;
	if (run == m || (run > WRAP_ON_STACK && !(wrap = mem->zalloc((size_t)run * sizeof(*wrap)))))
		return -1;
	struct slot *s = tables->remap(r->slots, bytes, 2 * bytes);
	if (!s) {
		if (wrap != on_stack)
			mem->release(wrap);
		return -1;
	}
	r->slots = s;
	r->mask = 2 * m - 1;
	memcpy(wrap, s, (size_t)run * sizeof(*s));
	memset(s, 0, (size_t)run * sizeof(*s));
	for (uint32_t i = run; i < m; i++) {
		if (!s[i].w)
			continue;
		struct slot e = s[i];
		s[i].w = 0;
		slot_place(r, e);
	}
	for (uint32_t i = 0; i < run; i++)
		slot_place(r, wrap[i]);
	if (wrap != on_stack)
		mem->release(wrap);
	return 0;
}

static int region_grow(struct region *r)
{
	uint32_t n2 = (r->mask + 1) * 2;

	if (table_mapped(r->mask + 1) && !region_grow_in_place(r))
		return 0;
	struct region n = {table_new(n2), n2 - 1, 0};
	if (!n.slots)
		return -1;
	for (uint32_t i = 0; i <= r->mask; i++)
		if (r->slots[i].w)
			slot_put(&n, r->slots[i]);
	table_free(r->slots, r->mask + 1);
	*r = n;
	return 0;
}

/* Remove slot i, shifting later members of its cluster back. */
static void slot_del(struct region *r, uint32_t i)
{
	for (uint32_t j = (i + 1) & r->mask; r->slots[j].w; j = (j + 1) & r->mask) {
		uint32_t h = home(r->slots[j].w & KEY_MASK, r->mask);
		/* j's entry may move to i unless its home lies in (i, j] */
		if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j)) {
			r->slots[i] = r->slots[j];
			i = j;
		}
	}
	r->slots[i].w = 0;
	r->count--;
}

void heapmap_prefetch(uint64_t addr)
{
	uint64_t rkey = (addr >> REGION_SHIFT) + 1;
	unsigned c = (unsigned)rkey & (RECENT_REGIONS - 1);

	/* only the remembered regions: a hash lookup would cost more than
	 * the miss it might save */
	if (recent_region[c].rkey != rkey)
		return;
	const struct region *r = &regions[recent_region[c].region];
	__builtin_prefetch(&r->slots[home(key_of(addr), r->mask)], 1);
}

uint32_t heapmap_alloc(uint64_t addr, uint64_t size, uint32_t stack, uint32_t *dropped)
{
	*dropped = 0;
	if (setup())
		return 0;
	uint32_t id = info_of(size, stack);
	struct region *r = region_get(addr, 1);
	if (!id || !r)
		return 0;
	alloc_seq++;
	uint64_t key = key_of(addr);
	struct slot entry = slot_make(key, id, alloc_seq);
	int64_t i = slot_find(r, key);
	if (i >= 0) {
		*dropped = slot_id(r->slots[i].w);
		r->slots[i] = entry;
		uint64_t *n = hashmap_get(&late, addr);
		if (n)
			(*n)++;
		else
			hashmap_put(&late, addr, 1);
		return id;
	}
	if ((uint64_t)(r->count + 1) * 20 > (uint64_t)(r->mask + 1) * 17 && region_grow(r))
		return 0;
	slot_put(r, entry);
	live_total++;
	return id;
}

uint32_t heapmap_free(uint64_t addr)
{
	if (!ready || !addr) /* free(NULL): no block (and 0 is no hashmap key) */
		return 0;
	/* late is almost always empty: skip hashing the address for it */
	uint64_t *n = late.count ? hashmap_get(&late, addr) : NULL;
	if (n) {
		/* the late free of a block already dropped */
		if (!--*n)
			hashmap_del(&late, addr);
		return 0;
	}
	struct region *r = region_get(addr, 0);
	int64_t i = r ? slot_find(r, key_of(addr)) : -1;
	if (i < 0)
		return 0;
	uint32_t id = slot_id(r->slots[i].w);
	slot_del(r, (uint32_t)i);
	live_total--;
	return id;
}

struct heapmap_info *heapmap_info(uint32_t id)
{
	return &infos[id];
}

bool heapmap_info_written(uint32_t id)
{
	return written[id / 64] >> (id % 64) & 1;
}

void heapmap_info_write(uint32_t id)
{
	written[id / 64] |= 1ull << (id % 64);
}

void heapmap_info_unwrite(uint32_t id)
{
	written[id / 64] &= ~(1ull << (id % 64));
}

uint32_t heapmap_info_count(void)
{
	return ninfos;
}

uint64_t heapmap_live_count(void)
{
	return live_total;
}

void heapmap_each(void (*fn)(uint64_t addr, uint32_t info, uint32_t seq, void *arg), void *arg)
{
	if (!ready)
		return;
	for (size_t k = 0; k <= region_of.mask; k++) {
		if (!region_of.keys[k])
			continue;
		uint64_t base = (region_of.keys[k] - 1) << REGION_SHIFT;
		const struct region *r = &regions[region_of.vals[k]];
		for (uint32_t i = 0; i <= r->mask; i++)
			if (r->slots[i].w)
				fn(base + (((r->slots[i].w & KEY_MASK) - 1) << 3), slot_id(r->slots[i].w),
				   slot_seq(&r->slots[i]), arg);
	}
}

void heapmap_unwrite_all(void)
{
	if (written)
		memset(written, 0, infos_cap / 64 * sizeof(*written));
}

void heapmap_reset(void)
{
	if (!ready)
		return;
	for (uint32_t i = 0; i < nregions; i++)
		table_free(regions[i].slots, regions[i].mask + 1);
	mem->release(regions);
	mem->release(infos);
	mem->release(written);
	mem->release(pairs);
	hashmap_free(&region_of);
	hashmap_free(&late);
	regions = NULL;
	infos = NULL;
	written = NULL;
	pairs = NULL;
	pairs_mask = pairs_count = 0;
	nregions = regions_cap = infos_cap = 0;
	memset(recent_region, 0, sizeof(recent_region)); /* the regions are gone */
	ninfos = 1;
	live_total = 0;
	alloc_seq = 0;
	ready = 0;
}
