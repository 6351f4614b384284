/*
 * cli.h - what the subcommands of the heapsnap command share.
 *
 * Exit codes (DESIGN.md): 0 success, 1 usage error, 2 unreadable or
 * invalid input; `check` adds the program's own status and 23.
 */
#ifndef HS_TOOLS_CLI_H
#define HS_TOOLS_CLI_H

#define EXIT_USAGE 1
#define EXIT_INPUT 2

/* Print "heapsnap: <msg>" and the usage hint to stderr; return EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Expand the TRACE arguments (files or directories of *.hst) into a list
 * of files.  Return the count, or -1 with an error printed. */
int cli_expand_traces(int argc, char **argv, char ***out);

int cmd_run(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_leaks(int argc, char **argv);
int cmd_cycles(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_diff(int argc, char **argv);

#endif
