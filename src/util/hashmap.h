/*
 * hashmap.h - open-addressing map from u64 keys (never 0) to u64 values,
 * with deletion by backward shift (no tombstones).  Its memory comes from
 * the allocator it is given: the shim's collector gives its private arena
 * (hashmap_init_in), the analyzer libc's (hashmap_init).  Not hook-safe.
 */
#ifndef HS_UTIL_HASHMAP_H
#define HS_UTIL_HASHMAP_H

#include <stddef.h>
#include <stdint.h>

#include "util/alloc.h"

struct hashmap {
	uint64_t *keys;	  /* 0 = empty */
	uint64_t *vals;	  /* value of the same slot */
	size_t mask;	  /* slots - 1 */
	size_t count;	  /* filled slots */
	const struct hs_allocator *mem; /* where keys and vals come from */
};

/* Make an empty map for about expect keys, its memory from mem.  Return 0,
 * or -1 when out of memory. */
int hashmap_init_in(struct hashmap *m, size_t expect, const struct hs_allocator *mem);

/* hashmap_init_in with libc's allocator (the analyzer). */
static inline int hashmap_init(struct hashmap *m, size_t expect)
{
	return hashmap_init_in(m, expect, &hs_libc_allocator);
}

void hashmap_free(struct hashmap *m);
/* Return a pointer to key's value, or NULL. */
uint64_t *hashmap_get(const struct hashmap *m, uint64_t key);
/* Set key's value.  Return 0, or -1 when out of memory. */
int hashmap_put(struct hashmap *m, uint64_t key, uint64_t val);
/* Remove key; return 1 if it was there. */
int hashmap_del(struct hashmap *m, uint64_t key);

#endif
