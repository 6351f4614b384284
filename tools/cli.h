/*
 * cli.h - what the subcommands of the heapsnap command share.
 *
 * Exit codes (DESIGN.md): 0 success, 1 usage error, 2 unreadable or
 * invalid input; `check` adds the program's own status and 23.
 */
#ifndef HS_TOOLS_CLI_H
#define HS_TOOLS_CLI_H

#include <stdio.h>

#define EXIT_USAGE 1
#define EXIT_INPUT 2

/* Print "heapsnap: <msg>" and the usage hint to stderr; return EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct hs_session;
/* Print the warnings the library returned, each as one "heapsnap: " line
 * on stderr. */
void cli_print_warnings(struct hs_session *s);

/* Expand the TRACE arguments (files or directories of *.hst) into a list
 * of files.  Return the count, or -1 with an error printed. */
int cli_expand_traces(int argc, char **argv, char ***out);
/* Free what cli_expand_traces returned. */
void cli_free_traces(char **list, int n);

/* Options of `run`, shared with `check`. */
struct run_opts {
	const char *output;	   /* -o FILE, or NULL for the default name */
	int output_is_pattern;	   /* check: output is a %p pattern in a private directory */
	const char *snap_signal;   /* --snapshot-signal */
	const char *snap_interval; /* --snapshot-interval */
	const char *allocator;	   /* --allocator */
	int no_scan;		   /* --no-scan */
	int quiet;		   /* -q */
};

/* If argv[*i] is a run option, take it (and its value: *i advances) and
 * return 1; else return 0. */
int run_option(int argc, char **argv, int *i, struct run_opts *o);
/* Check the run options' values; return 0 or EXIT_USAGE (printed). */
int run_validate(const struct run_opts *o, const char *cmd);
/* Run prog under the shim, forwarding signals; *status as from waitpid.
 * Return 0; EXIT_INPUT, before it starts, when the trace cannot be
 * written where the options say or -o names something that is not
 * heapsnap's to replace; EXIT_USAGE when it could not be started
 * (printed). */
int run_spawn(const struct run_opts *o, char **prog, int *status);
/* Why a file cannot be written at path: an errno value, or 0.  replace:
 * an existing file will be removed and created anew (its directory must
 * be writable); else it is rewritten in place. */
int run_output_error(const char *path, int replace);
/* Exit the way a waitpid status says (re-raising its signal). */
int run_pass_status(int status);

int cmd_run(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_leaks(int argc, char **argv);
int cmd_cycles(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_report(int argc, char **argv);

#endif
