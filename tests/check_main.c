/*
 * check_main.c - the one runner of every unit suite (CK_FORK: a crash
 * fails its own test only).  Each tests/check_<module>.c exports
 * Suite *<module>_suite(void).
 */
#include <check.h>
#include <stdlib.h>

#include "check_suites.h"

int main(void)
{
	SRunner *sr = srunner_create(NULL);
	Suite *(*const suites[])(void) = CHECK_SUITES;

	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		srunner_add_suite(sr, suites[i]());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
