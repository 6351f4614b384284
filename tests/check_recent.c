/* Description: unit tests of src/shim/recent.c, which live block is each
 * thread's latest allocation (the collector's "temporary" free): a free
 * of a ring's latest block is temporary once; a newer allocation, or the
 * same address allocated by another ring, replaces it; the table starts
 * small and grows to one entry for each of RINGS_MAX rings, compared
 * operation by operation with a plain model of one latest address a
 * ring.  The rings are this file's own (rings_count and rings_get stand
 * in for rings.c's registry). */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_suites.h"
#include "shim/recent.h"
#include "shim/rings.h"

static struct ring test_rings[RINGS_MAX];
static uint32_t test_nrings;

uint32_t rings_count(void)
{
	return test_nrings;
}

struct ring *rings_get(uint32_t i)
{
	return &test_rings[i];
}

static void use_rings(uint32_t n)
{
	memset(test_rings, 0, sizeof(test_rings));
	test_nrings = n;
	recent_reset();
}

START_TEST(test_one_ring)
{
	use_rings(1);
	struct ring *r = rings_get(0);
	recent_alloc(r, 0x1000);
	recent_alloc(r, 0x2000);
	ck_assert(!recent_free(0x1000)); /* no longer the latest */
	ck_assert(recent_free(0x2000));
	ck_assert(!recent_free(0x2000)); /* once */
	ck_assert_uint_eq(r->latest, 0);
	ck_assert(!recent_free(0));
}
END_TEST

START_TEST(test_same_address_other_ring)
{
	use_rings(2);
	struct ring *a = rings_get(0), *b = rings_get(1);
	recent_alloc(a, 0x5000);
	/* b allocates at a's address: a's block was freed unseen */
	recent_alloc(b, 0x5000);
	ck_assert_uint_eq(a->latest, 0);
	ck_assert_uint_eq(b->latest, 0x5000);
	ck_assert(recent_free(0x5000));
	ck_assert(!recent_free(0x5000));
	ck_assert_uint_eq(b->latest, 0);
}
END_TEST

/* Random allocations and frees over n rings, each checked against the
 * model: latest[i] is ring i's latest live allocation, or 0. */
static void against_model(uint32_t n, unsigned ops, unsigned seed)
{
	uint64_t *latest = calloc(n, sizeof(*latest));

	ck_assert_ptr_nonnull(latest);
	use_rings(n);
	srand(seed);
	for (unsigned k = 0; k < ops; k++) {
		uint32_t i = (uint32_t)rand() % n;
		/* addresses from a small range, so that rings collide */
		uint64_t addr = 16 * (1 + (uint64_t)rand() % (4 * n + 64));
		if (rand() % 3) {
			recent_alloc(rings_get(i), addr);
			for (uint32_t j = 0; j < n; j++)
				if (latest[j] == addr)
					latest[j] = 0;
			latest[i] = addr;
		} else {
			bool want = false;
			for (uint32_t j = 0; j < n; j++)
				if (latest[j] == addr) {
					latest[j] = 0;
					want = true;
				}
			ck_assert_int_eq(recent_free(addr), want);
		}
	}
	for (uint32_t j = 0; j < n; j++) {
		ck_assert_uint_eq(rings_get(j)->latest, latest[j]);
		if (latest[j])
			ck_assert(recent_free(latest[j]));
	}
	free(latest);
}

START_TEST(test_model_few)
{
	against_model(3, 20000, 1);
}
END_TEST

START_TEST(test_model_growing)
{
	/* 40, then 300 rings: the table doubles past its first 64 slots */
	against_model(40, 20000, 2);
	against_model(300, 60000, 3);
}
END_TEST

START_TEST(test_every_ring)
{
	/* one entry for each of RINGS_MAX rings: the table at its largest,
	 * half full; a reset empties it and it starts small again */
	use_rings(RINGS_MAX);
	for (uint32_t i = 0; i < RINGS_MAX; i++)
		recent_alloc(rings_get(i), 0x100000 + 64 * (uint64_t)i);
	for (uint32_t i = 0; i < RINGS_MAX; i += 2)
		ck_assert(recent_free(0x100000 + 64 * (uint64_t)i));
	recent_reset();
	for (uint32_t i = 1; i < RINGS_MAX; i += 2)
		ck_assert(!recent_free(0x100000 + 64 * (uint64_t)i));
	against_model(8, 5000, 4);
}
END_TEST

Suite *recent_suite(void)
{
	Suite *s = suite_create("recent");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_one_ring);
	tcase_add_test(tc, test_same_address_other_ring);
	tcase_add_test(tc, test_model_few);
	tcase_add_test(tc, test_model_growing);
	tcase_add_test(tc, test_every_ring);
	suite_add_tcase(s, tc);
	return s;
}
