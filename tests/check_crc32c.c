/* Description: unit tests of src/util/crc32c.c: published CRC-32C vectors,
 * incremental use equal to one shot, and agreement with a bitwise reference
 * at every length and misalignment (the SSE4.2 path has 8-byte and tail
 * loops). */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "check_suites.h"
#include "util/crc32c.h"

/* Bit-at-a-time CRC-32C, the definition the fast paths must match. */
static uint32_t crc_ref(const uint8_t *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82F63B78u & -(c & 1));
	}
	return ~c;
}

/* Deterministic filler so failures reproduce. */
static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

/* The standard check value of the CRC catalogue. */
START_TEST(test_check_value)
{
	ck_assert_uint_eq(crc32c(0, "123456789", 9), 0xE3069283u);
}
END_TEST

/* Zero bytes: the identity of the running CRC. */
START_TEST(test_empty)
{
	ck_assert_uint_eq(crc32c(0, "", 0), 0);
	/* no bytes leave a running CRC unchanged */
	ck_assert_uint_eq(crc32c(0xE3069283u, "x", 0), 0xE3069283u);
}
END_TEST

/* RFC 3720 appendix B.4 (iSCSI) test vectors. */
START_TEST(test_rfc3720_vectors)
{
	uint8_t buf[32];

	memset(buf, 0, sizeof(buf));
	ck_assert_uint_eq(crc32c(0, buf, 32), 0x8A9136AAu);
	memset(buf, 0xFF, sizeof(buf));
	ck_assert_uint_eq(crc32c(0, buf, 32), 0x62A8AB43u);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	ck_assert_uint_eq(crc32c(0, buf, 32), 0x46DD794Eu);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)(31 - i);
	ck_assert_uint_eq(crc32c(0, buf, 32), 0x113FDB5Cu);
}
END_TEST

/* Chunks are checksummed in pieces nowhere; still, the API promises it. */
START_TEST(test_incremental)
{
	uint8_t buf[1000];
	uint32_t whole;

	fill(buf, sizeof(buf), 1);
	whole = crc32c(0, buf, sizeof(buf));
	/* every split point, including 0 and the end */
	for (size_t cut = 0; cut <= sizeof(buf); cut++) {
		uint32_t c = crc32c(0, buf, cut);
		c = crc32c(c, buf + cut, sizeof(buf) - cut);
		ck_assert_msg(c == whole, "split at %zu: %08x, want %08x", cut, c, whole);
	}
	/* many small pieces */
	uint32_t c = 0;
	for (size_t i = 0; i < sizeof(buf); i += 7)
		c = crc32c(c, buf + i, sizeof(buf) - i < 7 ? sizeof(buf) - i : 7);
	ck_assert_uint_eq(c, whole);
}
END_TEST

/* Every length 0..40 and many more, at 9 alignments. */
START_TEST(test_matches_reference)
{
	uint8_t buf[300];

	fill(buf, sizeof(buf), 42);
	for (size_t off = 0; off < 9; off++)
		for (size_t n = 0; n + off <= sizeof(buf); n += (n < 40 ? 1 : 13))
			ck_assert_msg(crc32c(0, buf + off, n) == crc_ref(buf + off, n),
				      "offset %zu length %zu", off, n);
}
END_TEST

/* Any single flipped bit changes the checksum (what the reader relies on). */
START_TEST(test_detects_bit_flip)
{
	uint8_t buf[64];

	fill(buf, sizeof(buf), 7);
	uint32_t good = crc32c(0, buf, sizeof(buf));
	for (size_t bit = 0; bit < sizeof(buf) * 8; bit++) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ck_assert_uint_ne(crc32c(0, buf, sizeof(buf)), good);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	ck_assert_uint_eq(crc32c(0, buf, sizeof(buf)), good);
}
END_TEST

Suite *crc32c_suite(void)
{
	Suite *s = suite_create("crc32c");
	TCase *tc = tcase_create("crc32c");

	tcase_add_test(tc, test_check_value);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_rfc3720_vectors);
	tcase_add_test(tc, test_incremental);
	tcase_add_test(tc, test_matches_reference);
	tcase_add_test(tc, test_detects_bit_flip);
	suite_add_tcase(s, tc);
	return s;
}
