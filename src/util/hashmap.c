/*
 * hashmap.c - linear probing with backward-shift deletion.
 */
#include "util/hashmap.h"

static size_t slot_of(uint64_t key, size_t mask)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdull;
	key ^= key >> 33;
	return (size_t)key & mask;
}

int hashmap_init_in(struct hashmap *m, size_t expect, const struct hs_allocator *mem)
{
	size_t n = 16;

	while (n < expect * 2)
		n *= 2;
	m->mem = mem;
	m->keys = mem->zalloc(n * sizeof(*m->keys));
	m->vals = mem->zalloc(n * sizeof(*m->vals));
	m->mask = n - 1;
	m->count = 0;
	if (!m->keys || !m->vals) {
		hashmap_free(m);
		return -1;
	}
	return 0;
}

void hashmap_free(struct hashmap *m)
{
	if (m->mem) {
		m->mem->release(m->keys);
		m->mem->release(m->vals);
	}
	m->keys = m->vals = NULL;
	m->mask = m->count = 0;
}

uint64_t *hashmap_get(const struct hashmap *m, uint64_t key)
{
	for (size_t i = slot_of(key, m->mask);; i = (i + 1) & m->mask) {
		if (m->keys[i] == key)
			return &m->vals[i];
		if (!m->keys[i])
			return NULL;
	}
}

static int grow(struct hashmap *m)
{
	struct hashmap n;

	if (hashmap_init_in(&n, (m->mask + 1), m->mem))
		return -1;
	for (size_t i = 0; i <= m->mask; i++)
		if (m->keys[i])
			hashmap_put(&n, m->keys[i], m->vals[i]);
	hashmap_free(m);
	*m = n;
	return 0;
}

int hashmap_put(struct hashmap *m, uint64_t key, uint64_t val)
{
	if ((m->count + 1) * 4 > (m->mask + 1) * 3 && grow(m))
		return -1;
	for (size_t i = slot_of(key, m->mask);; i = (i + 1) & m->mask) {
		if (m->keys[i] == key) {
			m->vals[i] = val;
			return 0;
		}
		if (!m->keys[i]) {
			m->keys[i] = key;
			m->vals[i] = val;
			m->count++;
			return 0;
		}
	}
}

int hashmap_del(struct hashmap *m, uint64_t key)
{
	size_t i = slot_of(key, m->mask);

	while (m->keys[i] != key) {
		if (!m->keys[i])
			return 0;
		i = (i + 1) & m->mask;
	}
	/* Shift later members of the cluster back over the hole. */
	for (size_t j = (i + 1) & m->mask; m->keys[j]; j = (j + 1) & m->mask) {
		size_t home = slot_of(m->keys[j], m->mask);
		/* j's entry may move to i if its home is not in (i, j] */
		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			i = j;
		}
	}
	m->keys[i] = 0;
	m->vals[i] = 0;
	m->count--;
	return 1;
}
