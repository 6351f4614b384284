/*
 * recent.c - each thread's latest allocation, by address.
 */
#include "shim/recent.h"

#include <string.h>

#include "shim/rings.h"
#include "util/assert.h"

/* At most twice the rings, a power of two: the table stays at most half
 * full. */
#define SLOTS (2 * RINGS_MAX)

/* The table's first size.  A program of a few threads has a few entries:
 * 64 slots are one page, where all SLOTS (128 KiB) were touched at random
 * by the first hundred allocations (32 page faults, and in a forked child
 * 32 copies of the parent's pages by recent_reset's memset). */
#define SLOTS_MIN 64

struct slot {
	uint64_t addr;	 /* 0: empty */
	struct ring *r;	 /* whose latest allocation it is */
};

/* The table is slots[0, cap): it doubles when it would be over half full.
 * scratch holds the entries while they move (never touched before). */
static struct slot slots[SLOTS], scratch[SLOTS / 2];
static uint32_t cap = SLOTS_MIN, used;

static uint32_t slot_of(uint64_t addr)
{
	/* Fibonacci hashing of the address without its alignment bits */
	return (uint32_t)(((addr >> 4) * 0x9e3779b97f4a7c15ull) >> 32) & (cap - 1);
}

/* The slot holding addr, or -1. */
static int32_t find(uint64_t addr)
{
	for (uint32_t i = slot_of(addr);; i = (i + 1) & (cap - 1)) {
		if (slots[i].addr == addr)
			return (int32_t)i;
		if (!slots[i].addr)
			return -1;
	}
}

/* Empty slot i, shifting back the entries of its probe run. */
static void delete_at(uint32_t i)
{
	uint32_t j = i;

	used--;
	for (;;) {
		slots[i].addr = 0;
		for (;;) {
			j = (j + 1) & (cap - 1);
			if (!slots[j].addr)
				return;
			uint32_t home = slot_of(slots[j].addr);
			/* j's entry may move to i if its home is not in (i, j] */
			if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
				break;
		}
		slots[i] = slots[j];
		i = j;
	}
}

static void insert(uint64_t addr, struct ring *r)
{
	uint32_t i = slot_of(addr);

	while (slots[i].addr)
		i = (i + 1) & (cap - 1);
	slots[i].addr = addr;
	slots[i].r = r;
	used++;
}

/* Double the table: its entries go to scratch and back. */
static void grow(void)
{
	uint32_t n = 0;

	HS_ASSERT(cap < SLOTS && used <= SLOTS / 2);
	for (uint32_t i = 0; i < cap; i++)
		if (slots[i].addr)
			scratch[n++] = slots[i];
	memset(slots, 0, cap * sizeof(slots[0]));
	cap *= 2;
	used = 0;
	for (uint32_t i = 0; i < n; i++)
		insert(scratch[i].addr, scratch[i].r);
}

void recent_alloc(struct ring *r, uint64_t addr)
{
	int32_t at;

	if (r->latest && (at = find(r->latest)) >= 0 && slots[at].r == r)
		delete_at((uint32_t)at);
	r->latest = addr;
	/* an entry left for this address (a block freed implicitly) is stale */
	if ((at = find(addr)) >= 0) {
		slots[at].r->latest = 0;
		delete_at((uint32_t)at);
	}
	/* One entry a ring at most: at SLOTS the table is half full at most. */
	if (2 * (used + 1) > cap && cap < SLOTS)
		grow();
	insert(addr, r);
}

bool recent_free(uint64_t addr)
{
	int32_t at = addr ? find(addr) : -1;

	if (at < 0)
		return false;
	slots[at].r->latest = 0;
	delete_at((uint32_t)at);
	return true;
}

void recent_reset(void)
{
	memset(slots, 0, cap * sizeof(slots[0]));
	cap = SLOTS_MIN;
	used = 0;
	for (uint32_t i = 0; i < rings_count(); i++)
		rings_get(i)->latest = 0;
}
