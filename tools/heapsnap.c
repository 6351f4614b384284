/*
 * heapsnap.c - the heapsnap command: subcommand table and shared helpers.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char usage_text[] =
	"usage: heapsnap COMMAND [OPTIONS]\n"
	"\n"
	"  run   [-o FILE] [--snapshot-signal SIG] [--snapshot-interval SEC] [--no-scan]\n"
	"        [--allocator jemalloc|system] [-q] -- PROG [ARGS...]\n"
	"  check [run options] [--fail-on KINDS] [--suppressions FILE] [--baseline FILE]\n"
	"        [--error-exitcode N] [--format text|json|sarif|junit] [--output FILE]\n"
	"        [--output-dir DIR] [--keep] -- PROG [ARGS...]\n"
	"  info   TRACE... [--format text|json]\n"
	"  leaks  TRACE... [--kinds KINDS] [--suppressions FILE] [--format text|json|sarif|junit]\n"
	"  cycles TRACE... [--format text|json|dot]\n"
	"  top    TRACE... [--snapshot SEL] [--by lineno|function|file|module|traceback] [--cumulative]\n"
	"         [--include PAT] [--exclude PAT] [--limit N] [--format text|json|folded] [--growth]\n"
	"  diff   TRACE --from SEL --to SEL | diff OLD.hst NEW.hst   [same grouping options]\n"
	"\n"
	"See heapsnap(1).\n";

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("heapsnap: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (heapsnap --help for usage)\n", stderr);
	return EXIT_USAGE;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cli_expand_traces(int argc, char **argv, char ***out)
{
	char **list = NULL;
	int n = 0;

	for (int i = 0; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) || !S_ISDIR(st.st_mode)) {
			list = realloc(list, (size_t)(n + 1) * sizeof(*list));
			list[n++] = strdup(argv[i]);
			continue;
		}
		DIR *dir = opendir(argv[i]);
		if (!dir) {
			fprintf(stderr, "heapsnap: %s: cannot open directory: %s\n", argv[i], strerror(errno));
			return -1;
		}
		int first = n;
		for (struct dirent *e; (e = readdir(dir));) {
			if (e->d_name[0] == '.' || ends_with(e->d_name, ".rings"))
				continue;
			if (!ends_with(e->d_name, ".hst") && !strstr(e->d_name, ".hst."))
				continue;
			list = realloc(list, (size_t)(n + 1) * sizeof(*list));
			if (asprintf(&list[n], "%s/%s", argv[i], e->d_name) < 0)
				return -1;
			n++;
		}
		closedir(dir);
		if (n == first) {
			fprintf(stderr, "heapsnap: %s: no traces (*.hst) in this directory\n", argv[i]);
			return -1;
		}
		qsort(list + first, (size_t)(n - first), sizeof(*list), by_name);
	}
	*out = list;
	return n;
}

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
};

static const struct command commands[] = {
	{"run", cmd_run},
	{"check", cmd_check},
	{"info", cmd_info},
	{"leaks", cmd_leaks},
	{"cycles", cmd_cycles},
	{"top", cmd_top},
	{"diff", cmd_diff},
};

int main(int argc, char **argv)
{
	/* Nothing is downloaded at run time (DESIGN.md): libdw would ask a
	 * debuginfod server for missing debug info if this were set. */
	unsetenv("DEBUGINFOD_URLS");
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if (!strcmp(argv[1], "--version")) {
		puts("heapsnap 0.1");
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	return cli_usage_error("unknown command '%s'", argv[1]);
}
