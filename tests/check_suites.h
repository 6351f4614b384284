/*
 * check_suites.h - the list of unit suites; add a suite here and in its
 * own tests/check_<module>.c.
 */
#ifndef HS_TESTS_CHECK_SUITES_H
#define HS_TESTS_CHECK_SUITES_H

#include <check.h>

Suite *varint_suite(void);
Suite *crc32c_suite(void);
Suite *hashmap_suite(void);
Suite *heapmap_suite(void);
Suite *options_suite(void);
Suite *reader_suite(void);
Suite *recover_suite(void);
Suite *encode_suite(void);
Suite *replay_suite(void);
Suite *symbols_suite(void);
Suite *frames_suite(void);
Suite *nestpool_suite(void);
Suite *json_suite(void);
Suite *dynsym_suite(void);
Suite *series_suite(void);
Suite *graph_suite(void);
Suite *suppress_suite(void);
Suite *api_suite(void);
Suite *stats_suite(void);
Suite *clock_suite(void);
Suite *dom_suite(void);
Suite *pprof_suite(void);
Suite *recent_suite(void);

#define CHECK_SUITES \
	{ varint_suite, crc32c_suite, hashmap_suite, heapmap_suite, options_suite, reader_suite, recover_suite, encode_suite, \
	  replay_suite, symbols_suite, frames_suite, nestpool_suite, json_suite, dynsym_suite, series_suite, \
	  graph_suite, suppress_suite, api_suite, stats_suite, clock_suite, dom_suite, pprof_suite, recent_suite }

#endif
