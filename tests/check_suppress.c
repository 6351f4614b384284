/* Description: unit tests of src/analyze/suppress.c: LeakSanitizer
 * suppression files (comments, blanks, leak: lines, anchors and wildcards
 * matched against function, file and module of any frame), other types
 * skipped with a warning the session returns (never printed), the
 * warning for a suppression that matched nothing, and the errors of a
 * missing file, a line that is no suppression and an empty pattern. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <heapsnap-analyze.h>

#include "analyze/suppress.h"
#include "check_suites.h"

static char path[64];

/* Write text to a new temporary file (path). */
static void write_file(const char *text)
{
	strcpy(path, "/tmp/hs-suppress-XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* Load text as a suppression file in session s; return what load returns. */
static int load(struct hs_session *s, struct hs_suppressions *sup, const char *text, struct hs_diag *d)
{
	write_file(text);
	int rc = hs_suppressions_load(s, sup, path, d);
	unlink(path);
	return rc;
}

/* The index of the suppression matching one frame, or -1. */
static int match(const struct hs_suppressions *sup, const char *function, const char *file, const char *module)
{
	struct hs_frame f = {.ip = 1, .function = function, .file = file, .module = module};
	return suppress_match(sup, &f, 1);
}

START_TEST(test_patterns)
{
	struct hs_session *s = hs_session_new(NULL);
	struct hs_suppressions sup;
	struct hs_diag d = {""};

	ck_assert_int_eq(load(s, &sup,
			      "# a comment\n"
			      "\n"
			      "leak:exact_fn$\n"			/* 0 */
			      "   leak:  ^anchored  \n"		/* 1: blanks around */
			      "leak:mid*dle\n"				/* 2 */
			      "leak:libfoo.so\n"			/* 3 */
			      "leak:src/cache.c\n",			/* 4 */
			      &d),
			 0);
	ck_assert_uint_eq(sup.n, 5);
	ck_assert_str_eq(sup.s[1].pattern, "^anchored");
	ck_assert_uint_eq(sup.s[1].line, 4);
	ck_assert_str_eq(sup.s[0].glob, "*exact_fn");
	ck_assert_str_eq(sup.s[1].glob, "anchored*");
	ck_assert_int_eq(match(&sup, "my_exact_fn", NULL, NULL), 0);
	ck_assert_int_eq(match(&sup, "exact_fn2", NULL, NULL), -1);
	ck_assert_int_eq(match(&sup, "anchored_thing", NULL, NULL), 1);
	ck_assert_int_eq(match(&sup, "not_anchored", NULL, NULL), -1);
	ck_assert_int_eq(match(&sup, "a_middle_b", NULL, NULL), 2);
	ck_assert_int_eq(match(&sup, "a_mid_and_dle", NULL, NULL), 2);
	ck_assert_int_eq(match(&sup, "main", NULL, "/usr/lib/libfoo.so.1"), 3);
	ck_assert_int_eq(match(&sup, "main", "/home/u/src/cache.c", "/usr/bin/p"), 4);
	ck_assert_int_eq(match(&sup, "main", "/home/u/src/other.c", "/usr/bin/p"), -1);
	ck_assert_int_eq(match(&sup, NULL, NULL, NULL), -1);
	/* any frame of the stack, the first suppression that matches wins */
	struct hs_frame st[3] = {{.function = "malloc"}, {.function = "helper"}, {.function = "x_middle"}};
	ck_assert_int_eq(suppress_match(&sup, st, 3), 2);
	ck_assert_int_eq(suppress_match(&sup, st, 2), -1);
	ck_assert_ptr_null(hs_session_take_warning(s));
	hs_suppressions_free(&sup);
	hs_session_free(s);
}
END_TEST

/* Other suppression types are skipped with a warning; unused suppressions
 * get one each on request; nothing goes to stderr. */
START_TEST(test_warnings)
{
	struct hs_session *s = hs_session_new(NULL);
	struct hs_suppressions sup;
	struct hs_diag d = {""};

	ck_assert_int_eq(load(s, &sup, "interceptor_via_fun:foo\nleak:used\nleak:unused\n", &d), 0);
	ck_assert_uint_eq(sup.n, 2);
	char *w = hs_session_take_warning(s);
	ck_assert_ptr_nonnull(w);
	ck_assert_msg(strstr(w, ":1: 'interceptor_via_fun:' suppressions do not apply to leaks, skipped"), "%s", w);
	ck_assert_msg(!strncmp(w, path, strlen(path)), "names the file: %s", w);
	free(w);
	ck_assert_ptr_null(hs_session_take_warning(s));
	sup.s[0].leaks = 1; /* as if it had matched a loss record */
	hs_suppressions_warn_unused(s, &sup);
	w = hs_session_take_warning(s);
	ck_assert_ptr_nonnull(w);
	ck_assert_msg(strstr(w, ":3: suppression leak:unused matched nothing"), "%s", w);
	free(w);
	ck_assert_ptr_null(hs_session_take_warning(s));
	hs_suppressions_free(&sup);
	hs_session_free(s);
}
END_TEST

START_TEST(test_errors)
{
	struct hs_session *s = hs_session_new(NULL);
	struct hs_suppressions sup;
	struct hs_diag d = {""};

	ck_assert_int_eq(hs_suppressions_load(s, &sup, "/nonexistent/hs.supp", &d), -ENOENT);
	ck_assert_msg(strstr(d.msg, "/nonexistent/hs.supp: cannot open suppressions"), "%s", d.msg);
	ck_assert_int_eq(load(s, &sup, "leak:ok\nno colon here\n", &d), -EINVAL);
	ck_assert_msg(strstr(d.msg, ":2: not a suppression (expected leak:PATTERN): no colon here"), "%s", d.msg);
	ck_assert_uint_eq(sup.n, 0);
	ck_assert_int_eq(load(s, &sup, "leak:   \n", &d), -EINVAL);
	ck_assert_msg(strstr(d.msg, ":1: empty leak: pattern"), "%s", d.msg);
	ck_assert_int_eq(load(s, &sup, ":x\n", &d), -EINVAL);
	hs_session_free(s);
}
END_TEST

Suite *suppress_suite(void)
{
	Suite *s = suite_create("suppress");
	TCase *tc = tcase_create("suppress");

	tcase_add_test(tc, test_patterns);
	tcase_add_test(tc, test_warnings);
	tcase_add_test(tc, test_errors);
	suite_add_tcase(s, tc);
	return s;
}
