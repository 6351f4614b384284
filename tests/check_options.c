/* Description: unit tests of src/shim/options.c: defaults, every key, bad
 * values that keep the previous value with exactly one warning line,
 * unknown keys, separators, and signal names. */
#define _GNU_SOURCE
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check_suites.h"
#include "shim/options.h"

/* The defaults.  They are user-visible (heapsnap.1), so a change to one
 * should be deliberate and show up here. */
#define DEF_OUTPUT "heapsnap.%e.%p.hst"
#define DEF_MAX_FRAMES 64
#define DEF_RING_RECORDS 65536
#define DEF_ZSTD_LEVEL 10
#define DEF_FLUSH_MS 20

static char warn_text[8192]; /* stderr of the last parse() */

/* Parse s into o with stderr captured into warn_text. */
static void parse(struct options *o, const char *s)
{
	FILE *f = tmpfile();
	int saved = dup(STDERR_FILENO);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fileno(f), STDERR_FILENO), 0);
	options_parse(o, s);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	size_t n = fread(warn_text, 1, sizeof(warn_text) - 1, f);
	warn_text[n] = 0;
	fclose(f);
}

/* Number of lines in warn_text. */
static int warn_lines(void)
{
	int n = 0;

	for (const char *p = warn_text; *p; p++)
		n += *p == '\n';
	return n;
}

/* Assert that o holds every default. */
static void assert_defaults(const struct options *o)
{
	ck_assert_str_eq(o->output, DEF_OUTPUT);
	ck_assert_int_eq(o->allocator, OPT_ALLOC_JEMALLOC);
	ck_assert_uint_eq(o->max_frames, DEF_MAX_FRAMES);
	ck_assert_uint_eq(o->ring_records, DEF_RING_RECORDS);
	ck_assert_int_eq(o->snapshot_signal, 0);
	ck_assert_uint_eq(o->snapshot_interval_ns, 0);
	ck_assert(o->scan);
	ck_assert_int_eq(o->scan_signal, 0);
	ck_assert(!o->snapshot_scan);
	ck_assert_int_eq(o->zstd_level, DEF_ZSTD_LEVEL);
	ck_assert_uint_eq(o->flush_ms, DEF_FLUSH_MS);
	ck_assert_uint_eq(o->rss_ms, 10);
	ck_assert(!o->stack_verify);
}

/* NULL and "" both give every default, silently. */
START_TEST(test_defaults)
{
	struct options o;

	memset(&o, 0x5a, sizeof(o));
	parse(&o, NULL);
	assert_defaults(&o);
	ck_assert_str_eq(warn_text, "");
	memset(&o, 0x5a, sizeof(o));
	parse(&o, "");
	assert_defaults(&o);
	ck_assert_str_eq(warn_text, "");
}
END_TEST

/* Every key at once, each to a non-default value. */
START_TEST(test_every_key)
{
	struct options o;

	parse(&o, "output=/tmp/x.%p.hst:allocator=system:max_frames=32:ring_records=1024:"
		  "snapshot_signal=SIGUSR1:snapshot_interval=2.5:scan=0:zstd_level=19:flush_ms=500:"
		  "scan_signal=RTMIN+3:snapshot_scan=1");
	ck_assert_str_eq(warn_text, "");
	ck_assert_str_eq(o.output, "/tmp/x.%p.hst");
	ck_assert_int_eq(o.allocator, OPT_ALLOC_SYSTEM);
	ck_assert_uint_eq(o.max_frames, 32);
	ck_assert_uint_eq(o.ring_records, 1024);
	ck_assert_int_eq(o.snapshot_signal, SIGUSR1);
	ck_assert_uint_eq(o.snapshot_interval_ns, 2500000000ull);
	ck_assert(!o.scan);
	ck_assert_int_eq(o.zstd_level, 19);
	ck_assert_uint_eq(o.flush_ms, 500);
	ck_assert_int_eq(o.scan_signal, SIGRTMIN + 3);
	ck_assert(o.snapshot_scan);
}
END_TEST

/* Each key alone changes that field and nothing else. */
START_TEST(test_each_key_alone)
{
	struct options o, d;

	parse(&d, NULL);
	parse(&o, "allocator=jemalloc");
	ck_assert_int_eq(o.allocator, OPT_ALLOC_JEMALLOC);
	parse(&o, "max_frames=1");
	ck_assert_uint_eq(o.max_frames, 1);
	o.max_frames = d.max_frames;
	ck_assert_mem_eq(&o, &d, sizeof(o));
	parse(&o, "max_frames=256");
	ck_assert_uint_eq(o.max_frames, 256);
	parse(&o, "ring_records=16777216");
	ck_assert_uint_eq(o.ring_records, 1u << 24);
	o.ring_records = d.ring_records;
	ck_assert_mem_eq(&o, &d, sizeof(o));
	parse(&o, "scan=1");
	ck_assert(o.scan);
	parse(&o, "scan=0");
	ck_assert(!o.scan);
	o.scan = d.scan;
	ck_assert_mem_eq(&o, &d, sizeof(o));
	parse(&o, "stack_verify=1");
	ck_assert(o.stack_verify);
	parse(&o, "stack_verify=0");
	ck_assert(!o.stack_verify);
	ck_assert_mem_eq(&o, &d, sizeof(o));
	parse(&o, "zstd_level=0");
	ck_assert_int_eq(o.zstd_level, 0);
	parse(&o, "zstd_level=1");
	ck_assert_int_eq(o.zstd_level, 1);
	parse(&o, "flush_ms=1");
	ck_assert_uint_eq(o.flush_ms, 1);
	parse(&o, "flush_ms=10000");
	ck_assert_uint_eq(o.flush_ms, 10000);
	parse(&o, "rss_ms=0");
	ck_assert_uint_eq(o.rss_ms, 0);
	parse(&o, "rss_ms=60000");
	ck_assert_uint_eq(o.rss_ms, 60000);
	parse(&o, "snapshot_interval=0.001");
	ck_assert_uint_eq(o.snapshot_interval_ns, 1000000);
	parse(&o, "snapshot_interval=3");
	ck_assert_uint_eq(o.snapshot_interval_ns, 3000000000ull);
	parse(&o, "snapshot_interval=.25");
	ck_assert_uint_eq(o.snapshot_interval_ns, 250000000);
	parse(&o, "snapshot_interval=1.123456789");
	ck_assert_uint_eq(o.snapshot_interval_ns, 1123456789);
	parse(&o, "snapshot_signal=12");
	ck_assert_int_eq(o.snapshot_signal, 12);
	o.snapshot_signal = d.snapshot_signal;
	ck_assert_mem_eq(&o, &d, sizeof(o));
	parse(&o, "scan_signal=SIGUSR1");
	ck_assert_int_eq(o.scan_signal, SIGUSR1);
	o.scan_signal = d.scan_signal;
	ck_assert_mem_eq(&o, &d, sizeof(o));
	parse(&o, "snapshot_scan=1");
	ck_assert(o.snapshot_scan);
	parse(&o, "snapshot_scan=0");
	ck_assert(!o.snapshot_scan);
	ck_assert_mem_eq(&o, &d, sizeof(o));
	ck_assert_str_eq(warn_text, "");
}
END_TEST

/* output keeps everything after the first '=' (paths may contain '='). */
START_TEST(test_output_value)
{
	struct options o;
	char s[OPT_PATH_MAX + 16];

	parse(&o, "output=/tmp/a=b/%e.hst");
	ck_assert_str_eq(o.output, "/tmp/a=b/%e.hst");
	/* the longest that fits: OPT_PATH_MAX - 1 bytes */
	strcpy(s, "output=");
	memset(s + 7, 'x', OPT_PATH_MAX - 1);
	s[7 + OPT_PATH_MAX - 1] = 0;
	parse(&o, s);
	ck_assert_uint_eq(strlen(o.output), OPT_PATH_MAX - 1);
	ck_assert_str_eq(warn_text, "");
	/* one more byte is too long: default kept, one warning */
	s[7 + OPT_PATH_MAX - 1] = 'x';
	s[7 + OPT_PATH_MAX] = 0;
	parse(&o, s);
	ck_assert_str_eq(o.output, DEF_OUTPUT);
	ck_assert_int_eq(warn_lines(), 1);
	parse(&o, "output=");
	ck_assert_str_eq(o.output, DEF_OUTPUT);
	ck_assert_int_eq(warn_lines(), 1);
}
END_TEST

/* A bad value keeps the default and prints one warning naming the key. */
START_TEST(test_bad_values_keep_defaults)
{
	static const char *const bad[] = {
		"allocator=tcmalloc", "allocator=", "allocator=Jemalloc",
		"max_frames=0", "max_frames=257", "max_frames=abc", "max_frames=-1", "max_frames=",
		"max_frames=18446744073709551616", /* 2^64: overflows */
		"ring_records=1000", "ring_records=512", "ring_records=33554432", "ring_records=3000",
		"ring_records=0x400",
		"snapshot_signal=NOPE", "snapshot_signal=9", "snapshot_signal=KILL",
		"snapshot_signal=SIGSTOP", "snapshot_signal=0", "snapshot_signal=65", "snapshot_signal=",
		"snapshot_interval=0", "snapshot_interval=0.0009", "snapshot_interval=abc",
		"snapshot_interval=1.2.3", "snapshot_interval=", "snapshot_interval=-1",
		"snapshot_interval=1s",
		"scan=2", "scan=yes", "scan=", "scan=01",
		"scan_signal=NOPE", "scan_signal=9", "scan_signal=", "snapshot_scan=2", "snapshot_scan=",
		"stack_verify=2", "stack_verify=yes", "stack_verify=",
		"zstd_level=20", "zstd_level=-1", "zstd_level=x",
		"flush_ms=0", "flush_ms=10001", "flush_ms=1.5",
		"rss_ms=60001", "rss_ms=-1", "rss_ms=", "rss_ms=10ms",
	};
	struct options o;

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse(&o, bad[i]);
		assert_defaults(&o);
		ck_assert_msg(warn_lines() == 1, "'%s': %d warning lines: %s", bad[i], warn_lines(), warn_text);
		/* the warning names the key */
		char key[64];
		size_t kn = strcspn(bad[i], "=");
		memcpy(key, bad[i], kn);
		key[kn] = 0;
		ck_assert_msg(strstr(warn_text, key) != NULL, "'%s': warning does not name the key: %s", bad[i],
			      warn_text);
		ck_assert_msg(strstr(warn_text, "HEAPSNAP_OPTIONS") != NULL, "'%s': %s", bad[i], warn_text);
	}
}
END_TEST

/* A bad value later in the string does not undo an earlier good one, and
 * the pairs around it still apply. */
START_TEST(test_bad_value_among_good)
{
	struct options o;

	parse(&o, "max_frames=16:max_frames=999:zstd_level=3:bogus=1:flush_ms=7");
	ck_assert_uint_eq(o.max_frames, 16);
	ck_assert_int_eq(o.zstd_level, 3);
	ck_assert_uint_eq(o.flush_ms, 7);
	ck_assert_int_eq(warn_lines(), 2);
	/* the last good value wins */
	parse(&o, "max_frames=16:max_frames=8");
	ck_assert_uint_eq(o.max_frames, 8);
}
END_TEST

/* Keys are case-sensitive and exact: near misses are unknown. */
START_TEST(test_unknown_keys_ignored)
{
	struct options o;

	parse(&o, "frobnicate=1:Output=/x:max-frames=3");
	assert_defaults(&o);
	ck_assert_int_eq(warn_lines(), 3);
	ck_assert_ptr_nonnull(strstr(warn_text, "frobnicate"));
	ck_assert_ptr_nonnull(strstr(warn_text, "max-frames"));
	/* a key with no '=' is not taken as a flag */
	parse(&o, "scan:max_frames=12");
	ck_assert(o.scan);
	ck_assert_uint_eq(o.max_frames, 12);
	ck_assert_int_eq(warn_lines(), 1);
	ck_assert_ptr_nonnull(strstr(warn_text, "scan"));
}
END_TEST

/* Empty pairs (leading, doubled or trailing colons) are silently skipped. */
START_TEST(test_separators)
{
	struct options o;

	parse(&o, ":max_frames=5::zstd_level=2:");
	ck_assert_uint_eq(o.max_frames, 5);
	ck_assert_int_eq(o.zstd_level, 2);
	ck_assert_str_eq(warn_text, "");
	parse(&o, ":::");
	assert_defaults(&o);
	ck_assert_str_eq(warn_text, "");
}
END_TEST

/* A very long unknown key is cut in the warning, never overflows. */
START_TEST(test_long_unknown_key)
{
	struct options o;
	char s[600];

	memset(s, 'k', 500);
	strcpy(s + 500, "=1:max_frames=9");
	parse(&o, s);
	ck_assert_uint_eq(o.max_frames, 9);
	ck_assert_int_eq(warn_lines(), 1);
	ck_assert_uint_lt(strlen(warn_text), 512);
}
END_TEST

/* Call options_signal_number on a NUL-terminated string. */
static int sig(const char *s)
{
	return options_signal_number(s, (unsigned)strlen(s));
}

/* The three spellings of a signal, and realtime signals. */
START_TEST(test_signal_names)
{
	ck_assert_int_eq(sig("SIGUSR2"), SIGUSR2);
	ck_assert_int_eq(sig("USR2"), SIGUSR2);
	ck_assert_int_eq(sig("12"), 12);
	ck_assert_int_eq(sig("SIGUSR1"), SIGUSR1);
	ck_assert_int_eq(sig("HUP"), SIGHUP);
	ck_assert_int_eq(sig("SIGPROF"), SIGPROF);
	ck_assert_int_eq(sig("WINCH"), SIGWINCH);
	ck_assert_int_eq(sig("RTMIN+1"), SIGRTMIN + 1);
	ck_assert_int_eq(sig("SIGRTMIN+1"), SIGRTMIN + 1);
	ck_assert_int_eq(sig("RTMIN+0"), SIGRTMIN);
	ck_assert_int_eq(sig("64"), 64);
	/* the length argument is honoured: "USR2" out of "USR2:scan=0" */
	ck_assert_int_eq(options_signal_number("USR2:scan=0", 4), SIGUSR2);
	ck_assert_int_eq(options_signal_number("SIGUSR1", 6), 0); /* "SIGUSR" */
}
END_TEST

/* Not signals, or signals that cannot be caught. */
START_TEST(test_signal_rejects)
{
	ck_assert_int_eq(sig(""), 0);
	ck_assert_int_eq(sig("0"), 0);
	ck_assert_int_eq(sig("65"), 0);
	ck_assert_int_eq(sig("9"), 0);	/* SIGKILL cannot be caught */
	ck_assert_int_eq(sig("19"), 0); /* SIGSTOP neither */
	ck_assert_int_eq(sig("KILL"), 0);
	ck_assert_int_eq(sig("SIGSTOP"), 0);
	ck_assert_int_eq(sig("SIG"), 0);
	ck_assert_int_eq(sig("SIGSIGUSR2"), 0);
	ck_assert_int_eq(sig("usr2"), 0);
	ck_assert_int_eq(sig("USR"), 0);
	ck_assert_int_eq(sig("USR22"), 0);
	ck_assert_int_eq(sig("RTMIN"), 0);
	ck_assert_int_eq(sig("RTMIN+"), 0);
	ck_assert_int_eq(sig("RTMIN+x"), 0);
	ck_assert_int_eq(sig("12a"), 0);
	ck_assert_int_eq(sig("-12"), 0);
}
END_TEST

/* RTMIN+N beyond SIGRTMAX is not a signal. */
START_TEST(test_signal_rtmin_range)
{
	int span = SIGRTMAX - SIGRTMIN;
	char s[64];

	snprintf(s, sizeof(s), "RTMIN+%d", span);
	ck_assert_int_eq(sig(s), SIGRTMAX);
	snprintf(s, sizeof(s), "RTMIN+%d", span + 1);
	ck_assert_int_eq(sig(s), 0);
	ck_assert_int_eq(sig("RTMIN+1000"), 0);
	/* huge offsets must not wrap around to a small signal number */
	ck_assert_int_eq(sig("RTMIN+4294967295"), 0);
	ck_assert_int_eq(sig("RTMIN+18446744073709551615"), 0);
}
END_TEST

Suite *options_suite(void)
{
	Suite *s = suite_create("options");
	TCase *tc = tcase_create("parse");
	TCase *ts = tcase_create("signals");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_every_key);
	tcase_add_test(tc, test_each_key_alone);
	tcase_add_test(tc, test_output_value);
	tcase_add_test(tc, test_bad_values_keep_defaults);
	tcase_add_test(tc, test_bad_value_among_good);
	tcase_add_test(tc, test_unknown_keys_ignored);
	tcase_add_test(tc, test_separators);
	tcase_add_test(tc, test_long_unknown_key);
	suite_add_tcase(s, tc);
	tcase_add_test(ts, test_signal_names);
	tcase_add_test(ts, test_signal_rejects);
	tcase_add_test(ts, test_signal_rtmin_range);
	suite_add_tcase(s, ts);
	return s;
}
