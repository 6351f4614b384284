/*
 * heapmap.c - live blocks and allocinfos, on util/hashmap.
 */
#include "shim/heapmap.h"

#include <stdlib.h>

#include "util/hashmap.h"

/*
 * live: addr -> info id << 32 | allocation time (low 32 bits of us), split
 * into shards that grow one at a time: growing one table of a million
 * blocks would need the old and the new table at once, 1.5x its size in
 * the traced process for a moment; a shard needs 1/64 of that.
 */
#define LIVE_SHARDS 64
static struct hashmap live[LIVE_SHARDS];
static uint64_t live_total;
/* pairs: ((stack << 40) | size) + 1 -> info id */
static struct hashmap pairs;
static struct heapmap_info *infos; /* by id; [0] unused */
static uint32_t ninfos = 1, infos_cap;
static int ready;

static int setup(void)
{
	if (ready)
		return 0;
	for (int i = 0; i < LIVE_SHARDS; i++)
		if (hashmap_init(&live[i], 64))
			return -1;
	if (hashmap_init(&pairs, 1024))
		return -1;
	ready = 1;
	return 0;
}

static uint32_t info_of(uint64_t size, uint32_t stack)
{
	/* Sizes past 2^40 bytes cannot have been allocated; clamp them so
	 * the key stays unique for every real one. */
	uint64_t key = (((uint64_t)stack << 40) | (size < (1ull << 40) - 1 ? size : (1ull << 40) - 2)) + 1;
	uint64_t *v = hashmap_get(&pairs, key);

	if (v)
		return (uint32_t)*v;
	if (ninfos >= infos_cap) {
		uint32_t cap = infos_cap ? infos_cap * 2 : 4096;
		struct heapmap_info *p = realloc(infos, cap * sizeof(*p));
		if (!p)
			return 0;
		infos = p;
		infos_cap = cap;
	}
	uint32_t id = ninfos;
	if (hashmap_put(&pairs, key, id))
		return 0;
	infos[id] = (struct heapmap_info){size, stack, 0};
	ninfos++;
	return id;
}

static struct hashmap *shard_of(uint64_t addr)
{
	return &live[((addr >> 4) * 0x9e3779b97f4a7c15ull) >> 58];
}

uint32_t heapmap_alloc(uint64_t addr, uint64_t size, uint32_t stack, uint64_t ts_us, uint32_t *dropped)
{
	*dropped = 0;
	if (setup())
		return 0;
	uint32_t id = info_of(size, stack);
	if (!id)
		return 0;
	struct hashmap *m = shard_of(addr);
	uint64_t *v = hashmap_get(m, addr);
	uint64_t val = (uint64_t)id << 32 | (uint32_t)ts_us;
	if (v) {
		*dropped = (uint32_t)(*v >> 32);
		*v = val;
		return id;
	}
	if (hashmap_put(m, addr, val))
		return 0;
	live_total++;
	return id;
}

uint32_t heapmap_free(uint64_t addr, uint64_t ts_us)
{
	if (!ready)
		return 0;
	struct hashmap *m = shard_of(addr);
	uint64_t *v = hashmap_get(m, addr);
	if (!v)
		return 0;
	/* wrap-safe: blocks and their frees are minutes apart at most */
	if ((int32_t)((uint32_t)ts_us - (uint32_t)*v) < 0)
		return 0;
	uint32_t id = (uint32_t)(*v >> 32);
	hashmap_del(m, addr);
	live_total--;
	return id;
}

struct heapmap_info *heapmap_info(uint32_t id)
{
	return &infos[id];
}

uint32_t heapmap_info_count(void)
{
	return ninfos;
}

uint64_t heapmap_live_count(void)
{
	return live_total;
}

void heapmap_each(void (*fn)(uint64_t addr, uint32_t info, void *arg), void *arg)
{
	if (!ready)
		return;
	for (int s = 0; s < LIVE_SHARDS; s++)
		for (size_t i = 0; i <= live[s].mask; i++)
			if (live[s].keys[i])
				fn(live[s].keys[i], (uint32_t)(live[s].vals[i] >> 32), arg);
}

void heapmap_unwrite_all(void)
{
	for (uint32_t id = 1; id < ninfos; id++)
		infos[id].written = 0;
}
