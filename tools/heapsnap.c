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

#include <heapsnap-analyze.h>

#include "cli.h"

static const char usage_text[] =
	"usage: heapsnap COMMAND [OPTIONS]\n"
	"\n"
	"  run   [-o FILE] [--snapshot-signal SIG] [--snapshot-interval SEC] [--no-scan]\n"
	"        [--allocator jemalloc|system] [-q] -- PROG [ARGS...]\n"
	"  attach PID [-o FILE] [--duration SEC] [--snapshot-interval SEC] [--scan-at-detach]\n"
	"  check [run options] [--fail-on KINDS] [--suppressions FILE] [--baseline FILE]\n"
	"        [--error-exitcode N] [--format text|json|sarif|junit] [--output FILE]\n"
	"        [--output-dir DIR] [--keep] -- PROG [ARGS...]\n"
	"  info   TRACE... [--format text|json]\n"
	"  leaks  TRACE... [--kinds KINDS] [--suppressions FILE] [--format text|json|sarif|junit]\n"
	"  cycles TRACE... [--format text|json|dot]\n"
	"  top    TRACE... [--snapshot SEL] [--by lineno|function|file|module|traceback] [--cumulative]\n"
	"         [--include PAT] [--exclude PAT] [--limit N] [--format text|json|folded] [--growth | --temporary]\n"
	"  diff   TRACE --from SEL --to SEL | diff OLD.hst NEW.hst   [same grouping options]\n"
	"  report TRACE... -o report.html [--from SEL --to SEL] [--baseline OLD.hst] [--suppressions FILE]\n"
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

void cli_print_warnings(struct hs_session *s)
{
	for (char *w; (w = hs_session_take_warning(s)); free(w))
		fprintf(stderr, "heapsnap: %s\n", w);
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

void cli_free_traces(char **list, int n)
{
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/* Append s (taken) to *list of *n; return 0 or -1 (s freed). */
static int list_add(char ***list, int *n, char *s)
{
	char **l = s ? realloc(*list, (size_t)(*n + 1) * sizeof(**list)) : NULL;

	if (!l) {
		free(s);
		fprintf(stderr, "heapsnap: out of memory\n");
		return -1;
	}
	l[(*n)++] = s;
	*list = l;
	return 0;
}

/* Add the traces of directory dir (regular files named *.hst or *.hst.*,
 * sorted; a FIFO or device of that name is skipped: reading it could
 * block for ever).  Return 0 or -1 (printed). */
static int add_dir(const char *dir, char ***list, int *n)
{
	DIR *d = opendir(dir);
	int first = *n;

	if (!d) {
		fprintf(stderr, "heapsnap: %s: cannot open directory: %s\n", dir, strerror(errno));
		return -1;
	}
	for (struct dirent *e; (e = readdir(d));) {
		struct stat st;
		char *path;
		if (e->d_name[0] == '.' || ends_with(e->d_name, ".rings"))
			continue;
		if (!ends_with(e->d_name, ".hst") && !strstr(e->d_name, ".hst."))
			continue;
		if (asprintf(&path, "%s/%s", dir, e->d_name) < 0)
			path = NULL;
		if (path && (stat(path, &st) || !S_ISREG(st.st_mode))) {
			free(path);
			continue;
		}
		if (list_add(list, n, path)) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	if (*n == first) {
		fprintf(stderr, "heapsnap: %s: no traces (*.hst) in this directory\n", dir);
		return -1;
	}
	qsort(*list + first, (size_t)(*n - first), sizeof(**list), by_name);
	return 0;
}

int cli_expand_traces(int argc, char **argv, char ***out)
{
	char **list = NULL;
	int n = 0;

	for (int i = 0; i < argc; i++) {
		struct stat st;
		int rc = stat(argv[i], &st) || !S_ISDIR(st.st_mode) ? list_add(&list, &n, strdup(argv[i]))
								     : add_dir(argv[i], &list, &n);
		if (rc) {
			cli_free_traces(list, n);
			return -1;
		}
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
	{"attach", cmd_attach},
	{"check", cmd_check},
	{"info", cmd_info},
	{"leaks", cmd_leaks},
	{"cycles", cmd_cycles},
	{"top", cmd_top},
	{"diff", cmd_diff},
	{"report", cmd_report},
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
