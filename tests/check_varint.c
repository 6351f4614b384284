/* Description: unit tests of src/util/varint.h: LEB128 round trips at every
 * length boundary, the exact wire bytes, zigzag mapping, and rejection of
 * truncated and over-long input. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "check_suites.h"
#include "util/varint.h"

/* Decode buf[0..n) as one varint; fail the test unless it takes all n bytes. */
static uint64_t decode_all(const uint8_t *buf, size_t n)
{
	const uint8_t *p = buf;
	uint64_t v = 0xdeadbeef;

	ck_assert_int_eq(varint_get(&p, buf + n, &v), 0);
	ck_assert_ptr_eq(p, buf + n);
	return v;
}

/* Encode v, check its length and that it decodes back. */
static void check_round_trip(uint64_t v, unsigned len)
{
	uint8_t buf[VARINT_MAX + 4];

	memset(buf, 0xAA, sizeof(buf));
	uint8_t *end = varint_put(buf, v);
	ck_assert_msg((unsigned)(end - buf) == len, "value %llu: %td bytes, want %u",
		      (unsigned long long)v, end - buf, len);
	/* the byte after the encoding is untouched */
	ck_assert_uint_eq(*end, 0xAA);
	ck_assert_uint_eq(decode_all(buf, len), v);
}

/* Lengths change exactly at powers of 2^7. */
START_TEST(test_round_trip_boundaries)
{
	check_round_trip(0, 1);
	/* both sides of every 7-bit boundary: 127/128 ... 2^63-1/2^63 */
	for (unsigned k = 1; k <= 9; k++) {
		check_round_trip((1ull << (7 * k)) - 1, k);
		check_round_trip(1ull << (7 * k), k + 1);
	}
}
END_TEST

/* Values around 2^32, 2^63 and the top of the range. */
START_TEST(test_round_trip_extremes)
{
	static const uint64_t vals[] = {
		127, 128, 255, 256, 300, 16383, 16384, (1ull << 32) - 1, 1ull << 32,
		(1ull << 63) - 1, 1ull << 63, (1ull << 63) + 1, UINT64_MAX - 1, UINT64_MAX,
	};
	static const unsigned lens[] = {1, 2, 2, 2, 2, 2, 3, 5, 5, 9, 10, 10, 10, 10};

	for (unsigned i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		uint8_t buf[VARINT_MAX];
		uint8_t *end = varint_put(buf, vals[i]);
		ck_assert_int_eq(end - buf, lens[i]);
		ck_assert_uint_eq(decode_all(buf, lens[i]), vals[i]);
	}
}
END_TEST

/* The wire bytes are part of the trace format: pin them down. */
START_TEST(test_wire_bytes)
{
	uint8_t buf[VARINT_MAX];
	static const uint8_t v300[] = {0xAC, 0x02};
	static const uint8_t v128[] = {0x80, 0x01};
	static const uint8_t vmax[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01};

	ck_assert_int_eq(varint_put(buf, 0) - buf, 1);
	ck_assert_uint_eq(buf[0], 0);
	ck_assert_int_eq(varint_put(buf, 127) - buf, 1);
	ck_assert_uint_eq(buf[0], 0x7F);
	ck_assert_int_eq(varint_put(buf, 128) - buf, 2);
	ck_assert_mem_eq(buf, v128, 2);
	ck_assert_int_eq(varint_put(buf, 300) - buf, 2);
	ck_assert_mem_eq(buf, v300, 2);
	ck_assert_int_eq(varint_put(buf, UINT64_MAX) - buf, 10);
	ck_assert_mem_eq(buf, vmax, 10);
}
END_TEST

/* Consecutive varints decode one after another, then stop. */
START_TEST(test_sequence)
{
	static const uint64_t vals[] = {5, 0, 1ull << 40, 127, 128, UINT64_MAX, 3};
	uint8_t buf[sizeof(vals) / sizeof(vals[0]) * VARINT_MAX];
	uint8_t *w = buf;

	for (unsigned i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		w = varint_put(w, vals[i]);
	const uint8_t *p = buf;
	for (unsigned i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		uint64_t v;
		ck_assert_int_eq(varint_get(&p, w, &v), 0);
		ck_assert_uint_eq(v, vals[i]);
	}
	ck_assert_ptr_eq(p, w);
	/* nothing left: a further read is an error, not a zero */
	uint64_t v;
	ck_assert_int_eq(varint_get(&p, w, &v), -1);
}
END_TEST

/* Zigzag: small magnitudes of either sign map to small codes. */
START_TEST(test_zigzag)
{
	ck_assert_uint_eq(zigzag_enc(0), 0);
	ck_assert_uint_eq(zigzag_enc(-1), 1);
	ck_assert_uint_eq(zigzag_enc(1), 2);
	ck_assert_uint_eq(zigzag_enc(-2), 3);
	ck_assert_uint_eq(zigzag_enc(2), 4);
	ck_assert_uint_eq(zigzag_enc(-64), 127);
	ck_assert_uint_eq(zigzag_enc(64), 128);
	ck_assert_uint_eq(zigzag_enc(INT64_MAX), UINT64_MAX - 1);
	ck_assert_uint_eq(zigzag_enc(INT64_MIN), UINT64_MAX);

	static const int64_t vals[] = {0, 1, -1, 63, -64, 64, -65, 1ll << 40, -(1ll << 40),
				       INT64_MAX, INT64_MIN, INT64_MIN + 1};
	for (unsigned i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		uint8_t buf[VARINT_MAX];
		uint8_t *end = varint_put(buf, zigzag_enc(vals[i]));
		ck_assert_int_eq(zigzag_dec(decode_all(buf, (size_t)(end - buf))), vals[i]);
	}
}
END_TEST

/* Small negative deltas (the common case for addresses) stay one byte. */
START_TEST(test_zigzag_small_is_short)
{
	for (int64_t d = -64; d <= 63; d++) {
		uint8_t buf[VARINT_MAX];
		ck_assert_int_eq(varint_put(buf, zigzag_enc(d)) - buf, 1);
	}
}
END_TEST

/* Input that ends inside a number is refused. */
START_TEST(test_truncated)
{
	static const uint64_t vals[] = {128, 300, 1ull << 35, 1ull << 63, UINT64_MAX};

	for (unsigned i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		uint8_t buf[VARINT_MAX];
		size_t len = (size_t)(varint_put(buf, vals[i]) - buf);
		/* every proper prefix ends inside the number */
		for (size_t cut = 0; cut < len; cut++) {
			const uint8_t *p = buf;
			uint64_t v = 77;
			ck_assert_int_eq(varint_get(&p, buf + cut, &v), -1);
			/* a failed read does not move the cursor */
			ck_assert_ptr_eq(p, buf);
		}
	}
}
END_TEST

/* Ten bytes at most: an eleventh is refused, never shifted past 64 bits. */
START_TEST(test_too_long)
{
	uint8_t buf[16] = { 0 };
	const uint8_t *p;
	uint64_t v;

	/* 10 bytes is the limit: 2^63 as 9 continuation bytes and a 1 */
	memset(buf, 0x80, 9);
	buf[9] = 0x01;
	p = buf;
	ck_assert_int_eq(varint_get(&p, buf + 10, &v), 0);
	ck_assert_uint_eq(v, 1ull << 63);

	/* 11 bytes (a zero-padded encoding of 0) is rejected */
	memset(buf, 0x80, 10);
	buf[10] = 0x00;
	p = buf;
	ck_assert_int_eq(varint_get(&p, buf + 11, &v), -1);
	ck_assert_ptr_eq(p, buf);

	/* continuation bits forever: rejected even with plenty of input */
	memset(buf, 0xFF, sizeof(buf));
	p = buf;
	ck_assert_int_eq(varint_get(&p, buf + sizeof(buf), &v), -1);
	ck_assert_ptr_eq(p, buf);
}
END_TEST

/* Non-minimal encodings within 10 bytes are accepted (the writer's 4-byte
 * length holes rely on it). */
START_TEST(test_padded_accepted)
{
	static const uint8_t hole[] = {0x85, 0x80, 0x80, 0x00};
	const uint8_t *p = hole;
	uint64_t v;

	ck_assert_int_eq(varint_get(&p, hole + 4, &v), 0);
	ck_assert_uint_eq(v, 5);
	ck_assert_ptr_eq(p, hole + 4);
}
END_TEST

Suite *varint_suite(void)
{
	Suite *s = suite_create("varint");
	TCase *tc = tcase_create("varint");

	tcase_add_test(tc, test_round_trip_boundaries);
	tcase_add_test(tc, test_round_trip_extremes);
	tcase_add_test(tc, test_wire_bytes);
	tcase_add_test(tc, test_sequence);
	tcase_add_test(tc, test_zigzag);
	tcase_add_test(tc, test_zigzag_small_is_short);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_too_long);
	tcase_add_test(tc, test_padded_accepted);
	suite_add_tcase(s, tc);
	return s;
}
