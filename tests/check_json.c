/* Description: unit tests of src/util/json.c: string literals escape what
 * JSON requires, pass valid UTF-8 through, and write every byte that is not
 * valid UTF-8 as \u00XX, so the output always parses. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_suites.h"
#include "util/json.h"

/* json_str of s[0..n) as a string (caller frees). */
static char *lit(const char *s, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	json_str(f, s, n);
	fclose(f);
	return buf;
}

#define CHECK_LIT(in, want)                                                   \
	do {                                                                  \
		char *got_ = lit(in, sizeof(in) - 1);                         \
		ck_assert_msg(!strcmp(got_, want), "%s, want %s", got_, want); \
		free(got_);                                                   \
	} while (0)

START_TEST(test_escapes)
{
	CHECK_LIT("", "\"\"");
	CHECK_LIT("plain", "\"plain\"");
	CHECK_LIT("q\"b\\", "\"q\\\"b\\\\\"");
	CHECK_LIT("a\nb\tc\rd", "\"a\\nb\\tc\\rd\"");
	CHECK_LIT("\x01\x1f", "\"\\u0001\\u001f\"");
	CHECK_LIT("nul\0in", "\"nul\\u0000in\"");
	CHECK_LIT("del\x7f", "\"del\x7f\"");
}
END_TEST

START_TEST(test_valid_utf8)
{
	CHECK_LIT("caf\xc3\xa9", "\"caf\xc3\xa9\"");		/* U+00E9 */
	CHECK_LIT("\xe2\x82\xac", "\"\xe2\x82\xac\"");		/* U+20AC */
	CHECK_LIT("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"");	/* U+1F600 */
	CHECK_LIT("\xef\xbf\xbd", "\"\xef\xbf\xbd\"");		/* U+FFFD */
	CHECK_LIT("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\"");	/* U+10FFFF */
}
END_TEST

START_TEST(test_invalid_bytes)
{
	CHECK_LIT("caf\xe9", "\"caf\\u00e9\"");			/* Latin-1 */
	CHECK_LIT("\xff\xfe", "\"\\u00ff\\u00fe\"");
	CHECK_LIT("\x80x", "\"\\u0080x\"");				/* stray continuation */
	CHECK_LIT("\xc3", "\"\\u00c3\"");				/* cut short at the end */
	CHECK_LIT("\xc3(", "\"\\u00c3(\"");				/* cut short by ASCII */
	CHECK_LIT("\xe2\x82", "\"\\u00e2\\u0082\"");
	CHECK_LIT("\xc0\xaf", "\"\\u00c0\\u00af\"");		/* overlong '/' */
	CHECK_LIT("\xe0\x80\xaf", "\"\\u00e0\\u0080\\u00af\"");	/* overlong */
	CHECK_LIT("\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\"");	/* surrogate U+D800 */
	CHECK_LIT("\xf4\x90\x80\x80", "\"\\u00f4\\u0090\\u0080\\u0080\""); /* above U+10FFFF */
	/* a valid sequence right after an invalid byte is kept whole */
	CHECK_LIT("\xe9\xc3\xa9", "\"\\u00e9\xc3\xa9\"");
}
END_TEST

START_TEST(test_utf8_len)
{
	ck_assert_uint_eq(json_utf8_len((const unsigned char *)"a", 1), 1);
	ck_assert_uint_eq(json_utf8_len((const unsigned char *)"\xc3\xa9", 2), 2);
	ck_assert_uint_eq(json_utf8_len((const unsigned char *)"\xc3\xa9", 1), 0);
	ck_assert_uint_eq(json_utf8_len((const unsigned char *)"\xe2\x82\xac", 3), 3);
	ck_assert_uint_eq(json_utf8_len((const unsigned char *)"\xf0\x9f\x98\x80", 4), 4);
	ck_assert_uint_eq(json_utf8_len((const unsigned char *)"\xf8\x88\x80\x80\x80", 5), 0);
}
END_TEST

START_TEST(test_cstr)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	json_cstr(f, NULL);
	fputc(' ', f);
	json_cstr(f, "x\xe9");
	fputc(' ', f);
	json_opt_str(f, NULL);
	fputc(' ', f);
	json_opt_str(f, "y");
	fclose(f);
	ck_assert_str_eq(buf, "\"\" \"x\\u00e9\" null \"y\"");
	free(buf);
}
END_TEST

Suite *json_suite(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("json");

	tcase_add_test(tc, test_escapes);
	tcase_add_test(tc, test_valid_utf8);
	tcase_add_test(tc, test_invalid_bytes);
	tcase_add_test(tc, test_utf8_len);
	tcase_add_test(tc, test_cstr);
	suite_add_tcase(s, tc);
	return s;
}
