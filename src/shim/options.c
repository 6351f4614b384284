/*
 * options.c - the HEAPSNAP_OPTIONS parser.
 * HOOK-SAFE: runs from the first allocation of the process, before any
 * constructor, so it uses neither the heap nor stdio.
 */
#include "shim/options.h"

#include <signal.h>
#include <string.h>

#include "shim/log.h"
#include "util/fmt.h"
#include "util/hooksafe.h"

struct signame {
	const char *name;
	int num;
};

static const struct signame signames[] = {
	{"HUP", SIGHUP},   {"INT", SIGINT},	{"QUIT", SIGQUIT}, {"USR1", SIGUSR1},
	{"USR2", SIGUSR2}, {"ALRM", SIGALRM}, {"TERM", SIGTERM}, {"CHLD", SIGCHLD},
	{"CONT", SIGCONT}, {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU}, {"URG", SIGURG},
	{"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"PWR", SIGPWR},
};

int options_signal_number(const char *s, unsigned n)
{
	uint64_t v;

	if (!fmt_parse_u64(s, n, &v))
		return v > 0 && v < 65 && v != SIGKILL && v != SIGSTOP ? (int)v : 0;
	if (n > 3 && !memcmp(s, "SIG", 3)) {
		s += 3;
		n -= 3;
	}
	for (unsigned i = 0; i < sizeof(signames) / sizeof(signames[0]); i++)
		if (strlen(signames[i].name) == n && !memcmp(signames[i].name, s, n))
			return signames[i].num;
	if (n >= 6 && !memcmp(s, "RTMIN+", 6) && !fmt_parse_u64(s + 6, n - 6, &v) &&
	    v <= (uint64_t)(SIGRTMAX - SIGRTMIN))
		return SIGRTMIN + (int)v;
	return 0;
}

/* Parse "1.5" (seconds) into nanoseconds.  Return 0 or -1. */
static int parse_seconds(const char *s, unsigned n, uint64_t *ns)
{
	uint64_t whole = 0, frac = 0, scale = 1000000000ull;
	unsigned i = 0;

	for (; i < n && s[i] != '.'; i++) {
		if (s[i] < '0' || s[i] > '9' || whole > 1000000)
			return -1;
		whole = whole * 10 + (uint64_t)(s[i] - '0');
	}
	if (i < n)
		i++;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (scale > 1) {
			scale /= 10;
			frac += (uint64_t)(s[i] - '0') * scale;
		}
	}
	*ns = whole * 1000000000ull + frac;
	return n ? 0 : -1;
}

static bool key_is(const char *k, unsigned kn, const char *want)
{
	return strlen(want) == kn && !memcmp(k, want, kn);
}

static void warn_bad(const char *k, unsigned kn, const char *why)
{
	char name[64];
	unsigned n = kn < sizeof(name) - 1 ? kn : sizeof(name) - 1;

	memcpy(name, k, n);
	name[n] = 0;
	log_warn("HEAPSNAP_OPTIONS: ", name, why);
}

/* Apply one key=value pair. */
static void apply(struct options *o, const char *k, unsigned kn, const char *v, unsigned vn)
{
	uint64_t num;

	if (key_is(k, kn, "output")) {
		if (!vn || vn >= sizeof(o->output))
			return warn_bad(k, kn, ": empty or too long, using the default");
		memcpy(o->output, v, vn);
		o->output[vn] = 0;
	} else if (key_is(k, kn, "allocator")) {
		if (vn == 8 && !memcmp(v, "jemalloc", 8))
			o->allocator = OPT_ALLOC_JEMALLOC;
		else if (vn == 6 && !memcmp(v, "system", 6))
			o->allocator = OPT_ALLOC_SYSTEM;
		else
			warn_bad(k, kn, ": not jemalloc or system, using jemalloc");
	} else if (key_is(k, kn, "max_frames")) {
		if (fmt_parse_u64(v, vn, &num) || !num || num > OPT_MAX_FRAMES_LIMIT)
			return warn_bad(k, kn, ": not a number from 1 to 256, using 64");
		o->max_frames = (uint32_t)num;
	} else if (key_is(k, kn, "ring_records")) {
		if (fmt_parse_u64(v, vn, &num) || num < 1024 || num > (1u << 24) || (num & (num - 1)))
			return warn_bad(k, kn, ": not a power of two from 1024 to 16777216, using the default");
		o->ring_records = (uint32_t)num;
	} else if (key_is(k, kn, "snapshot_signal")) {
		int sig = options_signal_number(v, vn);
		if (!sig)
			return warn_bad(k, kn, ": not a signal name or number, ignored");
		o->snapshot_signal = sig;
	} else if (key_is(k, kn, "scan_signal")) {
		int sig = options_signal_number(v, vn);
		if (!sig)
			return warn_bad(k, kn, ": not a signal name or number, ignored");
		o->scan_signal = sig;
	} else if (key_is(k, kn, "snapshot_scan")) {
		if (vn != 1 || (v[0] != '0' && v[0] != '1'))
			return warn_bad(k, kn, ": not 0 or 1, using 0");
		o->snapshot_scan = v[0] == '1';
	} else if (key_is(k, kn, "snapshot_interval")) {
		if (parse_seconds(v, vn, &num) || num < 1000000)
			return warn_bad(k, kn, ": not a number of seconds >= 0.001, ignored");
		o->snapshot_interval_ns = num;
	} else if (key_is(k, kn, "scan")) {
		if (vn != 1 || (v[0] != '0' && v[0] != '1'))
			return warn_bad(k, kn, ": not 0 or 1, using 1");
		o->scan = v[0] == '1';
	} else if (key_is(k, kn, "libc_freeres")) {
		if (vn != 1 || (v[0] != '0' && v[0] != '1'))
			return warn_bad(k, kn, ": not 0 or 1, using 1");
		o->libc_freeres = v[0] == '1';
	} else if (key_is(k, kn, "python_frames")) {
		if (vn != 1 || (v[0] != '0' && v[0] != '1'))
			return warn_bad(k, kn, ": not 0 or 1, using 1");
		o->python_frames = v[0] == '1';
	} else if (key_is(k, kn, "python_allocators")) {
		if (vn != 1 || (v[0] != '0' && v[0] != '1'))
			return warn_bad(k, kn, ": not 0 or 1, using 1");
		o->python_allocators = v[0] == '1';
	} else if (key_is(k, kn, "zstd_level")) {
		if (fmt_parse_u64(v, vn, &num) || num > 19)
			return warn_bad(k, kn, ": not a number from 0 to 19, using the default");
		o->zstd_level = (int)num;
	} else if (key_is(k, kn, "stack_verify")) {
		if (vn != 1 || (v[0] != '0' && v[0] != '1'))
			return warn_bad(k, kn, ": not 0 or 1, using 0");
		o->stack_verify = v[0] == '1';
	} else if (key_is(k, kn, "flush_ms")) {
		if (fmt_parse_u64(v, vn, &num) || !num || num > 10000)
			return warn_bad(k, kn, ": not a number from 1 to 10000, using the default");
		o->flush_ms = (uint32_t)num;
	} else if (key_is(k, kn, "rss_ms")) {
		if (fmt_parse_u64(v, vn, &num) || num > 60000)
			return warn_bad(k, kn, ": not a number from 0 (off) to 60000, using 10");
		o->rss_ms = (uint32_t)num;
	} else {
		warn_bad(k, kn, ": unknown option, ignored");
	}
}

void options_parse(struct options *o, const char *s)
{
	memset(o, 0, sizeof(*o));
	strcpy(o->output, "heapsnap.%e.%p.hst");
	o->allocator = OPT_ALLOC_JEMALLOC;
	o->max_frames = 64;
	o->ring_records = 65536;
	o->scan = true;
	o->libc_freeres = true;
	o->python_frames = true;
	o->python_allocators = true;
	o->zstd_level = 10;
	o->flush_ms = 20;
	o->rss_ms = 10;
	if (!s)
		return;
	while (*s) {
		const char *end = strchr(s, ':');
		unsigned n = end ? (unsigned)(end - s) : (unsigned)strlen(s);
		const char *eq = memchr(s, '=', n);
		if (n && !eq)
			warn_bad(s, n, ": expected key=value, ignored");
		else if (n)
			apply(o, s, (unsigned)(eq - s), eq + 1, (unsigned)(n - (unsigned)(eq - s) - 1));
		s += n;
		if (*s == ':')
			s++;
	}
}
