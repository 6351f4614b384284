/*
 * cmd_info.c - `heapsnap info TRACE... [--format text|json]`.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/info.h"
#include "cli.h"
#include "util/json.h"

static const char *trigger_name(int t)
{
	switch (t) {
	case HST_SNAP_EXIT:
		return "exit";
	case HST_SNAP_SIGNAL:
		return "signal";
	case HST_SNAP_INTERVAL:
		return "interval";
	case HST_SNAP_API:
		return "api";
	}
	return "unknown";
}

static const char *end_name(int r)
{
	switch (r) {
	case HST_END_EXIT:
		return "exit";
	case HST_END__EXIT:
		return "_exit";
	case HST_END_EXEC:
		return "exec";
	}
	return "unknown";
}

static double secs(const struct info *in, uint64_t ts)
{
	return ts >= in->hdr.mono_ns ? (double)(ts - in->hdr.mono_ns) / 1e9 : 0.0;
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

static void print_text(const struct info *in)
{
	printf("trace:      %s (format version %u)\n", in->path, in->hdr.version);
	printf("process:    pid %u, parent %u\n", in->pid, in->ppid);
	printf("executable: %s\n", or_empty(in->exe));
	printf("command:    %s\n", or_empty(in->cmdline));
	printf("allocator:  %s\n", in->allocator ? in->allocator : "?");
	if (in->options && *in->options)
		printf("options:    %s\n", in->options);
	printf("duration:   %.3f s\n", in->last_ts ? secs(in, in->last_ts) : 0.0);
	if (in->truncated)
		printf("status:     TRUNCATED: %s%s\n", in->truncation,
		       in->recovered ? "; events recovered from the ring file" : "");
	else if (in->end_status >= 0)
		printf("status:     complete (ended by %s, status %lld)\n", end_name(in->end_reason),
		       (long long)in->end_status);
	else
		printf("status:     complete (ended by %s)\n", end_name(in->end_reason));
	printf("events:     %llu", (unsigned long long)in->total_events);
	if (in->recovered)
		printf(" (%llu recovered from the ring file)", (unsigned long long)in->recovered);
	if (in->dropped)
		printf(" (%llu dropped)", (unsigned long long)in->dropped);
	printf("\n");
	for (unsigned k = 1; k <= HST_EV_KIND_MAX; k++)
		if (in->events[k])
			printf("  %-20s %llu\n", hst_event_name(k), (unsigned long long)in->events[k]);
	printf("live at end: %llu bytes in %llu blocks\n", (unsigned long long)in->live_bytes,
	       (unsigned long long)in->live_blocks);
	printf("peak:       %llu bytes in %llu blocks at %.3f s\n", (unsigned long long)in->peak_bytes,
	       (unsigned long long)in->peak_blocks, secs(in, in->peak_ts));
	printf("stacks:     %llu distinct\n", (unsigned long long)in->stacks);
	printf("size:       %llu bytes (records before compression: events %llu, stacks %llu, allocinfo %llu, "
	       "other %llu)\n",
	       (unsigned long long)in->file_bytes, (unsigned long long)in->raw_events,
	       (unsigned long long)in->raw_stacks, (unsigned long long)in->raw_allocinfo,
	       (unsigned long long)in->raw_other);
	printf("modules:    %llu\n", (unsigned long long)in->modules);
	printf("threads:    %zu\n", in->nthreads);
	for (size_t i = 0; i < in->nthreads; i++)
		printf("  #%-4u tid %-8u %-16s %llu events\n", in->threads[i].index, in->threads[i].tid,
		       in->threads[i].name, (unsigned long long)in->threads[i].events);
	if (in->scans)
		printf("scan:       %s, %llu blocks, %llu pointers found in %llu bytes, %.3f s; %llu threads stopped%s\n",
		       in->scan_reason == HST_SCAN_API ? "heapsnap_leak_check()" : "at exit",
		       (unsigned long long)in->scan_blocks, (unsigned long long)in->scan_edges,
		       (unsigned long long)in->scan_bytes, (double)in->scan_ns / 1e9, (unsigned long long)in->scan_stopped,
		       in->scan_missed ? " (some did not stop)" : "");
	else
		printf("scan:       none (killed, exec'ed, or --no-scan)\n");
	printf("snapshots:  %zu\n", in->nsnaps);
	for (size_t i = 0; i < in->nsnaps; i++)
		printf("  [%u] %-20s %8.3f s  (%s)\n", in->snaps[i].index, in->snaps[i].label,
		       secs(in, in->snaps[i].ts), trigger_name(in->snaps[i].trigger));
}

static void print_json(const struct info *in)
{
	printf("{\"schema\": 1, \"trace\": ");
	json_str(stdout, in->path, strlen(in->path));
	printf(", \"version\": %u, \"pid\": %u, \"ppid\": %u, \"exe\": ", in->hdr.version, in->pid, in->ppid);
	json_str(stdout, or_empty(in->exe), strlen(or_empty(in->exe)));
	printf(", \"cmdline\": ");
	json_str(stdout, or_empty(in->cmdline), strlen(or_empty(in->cmdline)));
	printf(", \"allocator\": ");
	json_str(stdout, or_empty(in->allocator), strlen(or_empty(in->allocator)));
	printf(", \"truncated\": %s", in->truncated ? "true" : "false");
	if (in->truncated) {
		printf(", \"truncation\": ");
		json_str(stdout, in->truncation, strlen(in->truncation));
	}
	printf(", \"recovered_events\": %llu, \"dropped_events\": %llu", (unsigned long long)in->recovered,
	       (unsigned long long)in->dropped);
	if (in->ended)
		printf(", \"end\": {\"reason\": \"%s\", \"status\": %lld}", end_name(in->end_reason),
		       (long long)in->end_status);
	printf(", \"duration\": %.6f, \"events\": {", in->last_ts ? secs(in, in->last_ts) : 0.0);
	for (unsigned k = 1; k <= HST_EV_KIND_MAX; k++)
		printf("%s\"%s\": %llu", k > 1 ? ", " : "", hst_event_name(k), (unsigned long long)in->events[k]);
	printf("}, \"total_events\": %llu", (unsigned long long)in->total_events);
	printf(", \"live\": {\"bytes\": %llu, \"blocks\": %llu}", (unsigned long long)in->live_bytes,
	       (unsigned long long)in->live_blocks);
	printf(", \"peak\": {\"bytes\": %llu, \"blocks\": %llu, \"time\": %.6f}", (unsigned long long)in->peak_bytes,
	       (unsigned long long)in->peak_blocks, secs(in, in->peak_ts));
	printf(", \"bytes\": {\"file\": %llu, \"events\": %llu, \"stacks\": %llu, \"allocinfo\": %llu, "
	       "\"other\": %llu}",
	       (unsigned long long)in->file_bytes, (unsigned long long)in->raw_events,
	       (unsigned long long)in->raw_stacks, (unsigned long long)in->raw_allocinfo,
	       (unsigned long long)in->raw_other);
	printf(", \"stacks\": %llu, \"modules\": %llu, \"threads\": %zu, \"thread_list\": [",
	       (unsigned long long)in->stacks, (unsigned long long)in->modules, in->nthreads);
	for (size_t i = 0; i < in->nthreads; i++) {
		printf("%s{\"index\": %u, \"tid\": %u, \"name\": ", i ? ", " : "", in->threads[i].index,
		       in->threads[i].tid);
		json_str(stdout, in->threads[i].name, strlen(in->threads[i].name));
		printf(", \"events\": %llu}", (unsigned long long)in->threads[i].events);
	}
	printf("]");
	if (in->scans)
		printf(", \"scan\": {\"reason\": \"%s\", \"count\": %d, \"blocks\": %llu, \"edges\": %llu, \"bytes\": %llu, "
		       "\"seconds\": %.6f, \"threads_stopped\": %llu, \"threads_missed\": %llu}",
		       in->scan_reason == HST_SCAN_API ? "api" : "exit", in->scans, (unsigned long long)in->scan_blocks,
		       (unsigned long long)in->scan_edges, (unsigned long long)in->scan_bytes, (double)in->scan_ns / 1e9,
		       (unsigned long long)in->scan_stopped, (unsigned long long)in->scan_missed);
	printf(", \"snapshots\": [");
	for (size_t i = 0; i < in->nsnaps; i++) {
		printf("%s{\"index\": %u, \"label\": ", i ? ", " : "", in->snaps[i].index);
		json_str(stdout, in->snaps[i].label, strlen(in->snaps[i].label));
		printf(", \"time\": %.6f, \"trigger\": \"%s\"}", secs(in, in->snaps[i].ts),
		       trigger_name(in->snaps[i].trigger));
	}
	printf("]}");
}

int cmd_info(int argc, char **argv)
{
	const char *format = "text";
	char **paths = argv + 1, **traces; /* in place: argv[1..] is compacted as it is read (no allocation to leak) */
	int npaths = 0, rc = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--format") && i + 1 < argc)
			format = argv[++i];
		else if (!strncmp(argv[i], "--format=", 9))
			format = argv[i] + 9;
		else if (argv[i][0] == '-' && argv[i][1])
			return cli_usage_error("info: unknown option '%s'", argv[i]);
		else {
			paths[npaths++] = argv[i];
		}
	}
	if (strcmp(format, "text") && strcmp(format, "json"))
		return cli_usage_error("info: --format takes text or json, not '%s'", format);
	if (!npaths)
		return cli_usage_error("info: no trace given");
	int n = cli_expand_traces(npaths, paths, &traces);
	if (n < 0)
		return EXIT_INPUT;
	struct info *infos = calloc((size_t)n, sizeof(*infos));
	int ntraces = n;
	for (int i = 0; i < n; i++) {
		struct hs_diag d = {""};
		if (info_collect(traces[i], &infos[i], &d)) {
			fprintf(stderr, "heapsnap: %s\n", d.msg);
			rc = EXIT_INPUT;
			n = i;
			break;
		}
	}
	cli_free_traces(traces, ntraces);
	if (rc == 0) {
		int json = !strcmp(format, "json");
		if (json && n > 1)
			printf("{\"schema\": 1, \"traces\": [");
		for (int i = 0; i < n; i++) {
			if (json) {
				printf(i ? ", " : "");
				print_json(&infos[i]);
			} else {
				if (i)
					printf("\n");
				print_text(&infos[i]);
			}
		}
		if (json)
			printf(n > 1 ? "]}\n" : "\n");
	}
	for (int i = 0; i < n; i++)
		info_free(&infos[i]);
	free(infos);
	return rc;
}
