/*
 * recent.c - each thread's latest allocation, by address.
 */
#include "shim/recent.h"

#include <string.h>

#include "shim/rings.h"

/* Twice the rings, a power of two: the table stays at most half full. */
#define SLOTS (2 * RINGS_MAX)

static struct {
	uint64_t addr;	 /* 0: empty */
	struct ring *r;	 /* whose latest allocation it is */
} slots[SLOTS];

static uint32_t slot_of(uint64_t addr)
{
	/* Fibonacci hashing of the address without its alignment bits */
	return (uint32_t)(((addr >> 4) * 0x9e3779b97f4a7c15ull) >> 32) & (SLOTS - 1);
}

/* The slot holding addr, or -1. */
static int32_t find(uint64_t addr)
{
	for (uint32_t i = slot_of(addr);; i = (i + 1) & (SLOTS - 1)) {
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

	for (;;) {
		slots[i].addr = 0;
		for (;;) {
			j = (j + 1) & (SLOTS - 1);
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
	uint32_t i = slot_of(addr);
	while (slots[i].addr)
		i = (i + 1) & (SLOTS - 1);
	slots[i].addr = addr;
	slots[i].r = r;
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
	memset(slots, 0, sizeof(slots));
	for (uint32_t i = 0; i < rings_count(); i++)
		rings_get(i)->latest = 0;
}
