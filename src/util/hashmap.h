/*
 * hashmap.h - open-addressing map from u64 keys (never 0) to u64 values,
 * with deletion by backward shift (no tombstones).  Analyzer side.
 */
#ifndef HS_UTIL_HASHMAP_H
#define HS_UTIL_HASHMAP_H

#include <stddef.h>
#include <stdint.h>

struct hashmap {
	uint64_t *keys;	  /* 0 = empty */
	uint64_t *vals;	  /* value of the same slot */
	size_t mask;	  /* slots - 1 */
	size_t count;	  /* filled slots */
};

int hashmap_init(struct hashmap *m, size_t expect);
void hashmap_free(struct hashmap *m);
/* Return a pointer to key's value, or NULL. */
uint64_t *hashmap_get(const struct hashmap *m, uint64_t key);
/* Set key's value.  Return 0, or -1 when out of memory. */
int hashmap_put(struct hashmap *m, uint64_t key, uint64_t val);
/* Remove key; return 1 if it was there. */
int hashmap_del(struct hashmap *m, uint64_t key);

#endif
