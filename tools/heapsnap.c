/*
 * heapsnap.c - the heapsnap command: subcommand table and shared helpers.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <heapsnap-analyze.h>

#include "cli.h"

void cli_print_warnings(struct hs_session *s)
{
	for (char *w; (w = hs_session_take_warning(s)); free(w))
		fprintf(stderr, "heapsnap: %s\n", w);
}

int cli_output_check(const char *cmd, const char *path, char *const *traces, int n)
{
	struct stat out, in;

	if (!path || stat(path, &out))
		return 0;
	for (int i = 0; i < n; i++)
		if (!stat(traces[i], &in) && in.st_dev == out.st_dev && in.st_ino == out.st_ino)
			return cli_usage_error(cmd, "-o %s is one of the traces it reads", path);
	return 0;
}

FILE *cli_output_open(const char *path)
{
	FILE *f = path ? fopen(path, "w") : stdout;

	if (!f)
		fprintf(stderr, "heapsnap: %s: cannot write: %s\n", path, strerror(errno));
	return f;
}

int cli_output_close(FILE *f, const char *path, int rc)
{
	if (!path) {
		if (!rc && (fflush(f) || ferror(f)))
			rc = errno ? -errno : -EIO;
	} else if (fclose(f) && !rc) {
		rc = errno ? -errno : -EIO;
	}
	if (!rc)
		return 0;
	fprintf(stderr, "heapsnap: %s: cannot write: %s\n", path ? path : "standard output", strerror(-rc));
	if (path)
		unlink(path);
	return EXIT_INPUT;
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

static const struct cli_cmd *const commands[] = {
	&cli_cmd_run, &cli_cmd_attach, &cli_cmd_check, &cli_cmd_info, &cli_cmd_leaks,
	&cli_cmd_cycles, &cli_cmd_top, &cli_cmd_diff, &cli_cmd_retainers, &cli_cmd_report,
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct cli_cmd *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (!strcmp(name, commands[i]->name))
			return commands[i];
	return NULL;
}

/* The usage of heapsnap as a whole: the commands, one line each. */
static void usage(FILE *out)
{
	fputs("usage: heapsnap COMMAND [OPTIONS] [ARGS...]\n\ncommands:\n", out);
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-8s %s\n", commands[i]->name, commands[i]->about);
	fputs("  help     Print the help of a command: heapsnap help COMMAND (or heapsnap COMMAND --help).\n"
	      "\nSee heapsnap(1).\n",
	      out);
}

/* heapsnap help [COMMAND] */
static int help(int argc, char **argv)
{
	const struct cli_cmd *c = argc > 1 ? find_command(argv[1]) : NULL;

	if (argc > 2)
		return cli_usage_error("help", "one command at a time");
	if (argc > 1 && !strcmp(argv[1], "help"))
		argc = 1;
	if (argc < 2) {
		usage(stdout);
		return 0;
	}
	if (!c)
		return cli_usage_error(NULL, "unknown command '%s'", argv[1]);
	cli_help(stdout, c);
	return 0;
}

int main(int argc, char **argv)
{
	/* Nothing is downloaded at run time (DESIGN.md): libdw would ask a
	 * debuginfod server for missing debug info if this were set. */
	unsetenv("DEBUGINFOD_URLS");
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return help(1, argv + 1);
	if (!strcmp(argv[1], "help"))
		return help(argc - 1, argv + 1);
	if (!strcmp(argv[1], "--version")) {
		puts("heapsnap " HS_VERSION);
		return 0;
	}
	const struct cli_cmd *c = find_command(argv[1]);
	if (!c)
		return cli_usage_error(NULL, "unknown command '%s'", argv[1]);
	return c->fn(argc - 1, argv + 1);
}
