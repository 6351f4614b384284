/*
 * check_quiet.h - libcheck's assertions without the mark point a passing
 * one records (make compiles every unit test with -include of this file).
 *
 * check.h's ck_assert_msg, on success, calls _mark_point, which writes the
 * file and line down the pipe to the runner and flushes it: one write(2)
 * per passing assertion, millions in the tests that assert in loops (a
 * dominator tree of 300,000 nodes, every byte of 4,000 blocks), most of
 * the unit runner's time, more under ASan.  A failing assertion is
 * reported as before (_ck_assert_failed, with its file, line and message),
 * so every test fails in the same cases; what is lost is the "last
 * location" libcheck prints when a test crashes, which becomes the test's
 * first line (mark_point() still records one where a test asks for it).
 */
#ifndef HS_TESTS_CHECK_QUIET_H
#define HS_TESTS_CHECK_QUIET_H

/* Included before the test file's own first line: the test files define
 * _GNU_SOURCE (identically) before their includes, and must find it so. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>

#undef ck_assert_msg
#define ck_assert_msg(expr, ...) \
	((expr) ? (void)0 : _ck_assert_failed(__FILE__, __LINE__, "Assertion '" #expr "' failed", ##__VA_ARGS__))

#endif
