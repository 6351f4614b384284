/*
 * cli.h - what the subcommands of the heapsnap command share.
 *
 * Exit codes (DESIGN.md): 0 success, 1 usage error, 2 unreadable or
 * invalid input; `check` adds the program's own status and 23.
 */
#ifndef HS_TOOLS_CLI_H
#define HS_TOOLS_CLI_H

#include <getopt.h>
#include <stdio.h>

#define EXIT_USAGE 1
#define EXIT_INPUT 2

/* ---- the command line's conventions (cli.c) ----
 *
 * Every subcommand describes itself in a struct cli_cmd and reads its
 * arguments with cli_parse_start and cli_next_opt (getopt_long underneath),
 * so that all accept `--opt VALUE`, `--opt=VALUE`, `-o VALUE`, `-oVALUE`,
 * unique prefixes of long names and -h/--help, and report every usage
 * error in one style.  A new command follows the same pattern:
 *
 *	struct cli_parse p;
 *	int c;
 *	cli_parse_start(&p, &cmd_x, argc, argv);
 *	while ((c = cli_next_opt(&p)) > 0)
 *		switch (c) { case OPT_FOO: foo = p.arg; break; ... }
 *	if (c == CLI_STOP)
 *		return p.rc;
 *	n = cli_operands(&p, &operands);
 *
 * and is listed in the table of tools/heapsnap.c.
 */

/* One option of a command. */
struct cli_opt {
	const char *name; /* long name without "--", or NULL: short only */
	int key;	  /* what cli_next_opt returns; below 128 it is the short option -KEY too; 0 ends a table */
	const char *arg;  /* the value's name in the help ("FILE"), or NULL: the option takes no value */
	const char *help; /* one line in the help, or NULL: not listed */
};

/* Keys of options without a short form start here. */
#define CLI_LONG_ONLY 256

/* One subcommand. */
struct cli_cmd {
	const char *name;
	const char *synopsis;	    /* what follows "heapsnap NAME" in the usage line */
	const char *about;	    /* one sentence */
	const struct cli_opt *opts; /* ends with a key of 0 */
	int in_order;		    /* options end at the first operand (the program to run and its own) */
	int (*fn)(int argc, char **argv);
};

#define CLI_MAX_OPTS 48

/* The state of one walk over a command's arguments. */
struct cli_parse {
	const struct cli_cmd *cmd;
	int argc;
	char **argv;
	const char *arg; /* the value of the option cli_next_opt returned last, or NULL */
	int rc;		 /* after CLI_STOP: the command's exit status (0 after the help, else EXIT_USAGE) */
	int next;	 /* after CLI_END: the first operand's index in argv */
	struct option longs[CLI_MAX_OPTS + 2];
	char shorts[3 * CLI_MAX_OPTS + 4];
};

#define CLI_END (-1)  /* no more options: the operands follow (cli_operands) */
#define CLI_STOP (-2) /* the command ends with p->rc: help printed, or a usage error */

/* Start walking argv (argv[0] is the command's name) for cmd.  getopt_long
 * permutes argv so that the operands come last. */
void cli_parse_start(struct cli_parse *p, const struct cli_cmd *cmd, int argc, char **argv);
/* Return the key of the next option (p->arg its value), CLI_END, or
 * CLI_STOP with the help or one error line printed. */
int cli_next_opt(struct cli_parse *p);
/* After CLI_END: set *first to the operands and return their count. */
int cli_operands(const struct cli_parse *p, char ***first);
/* Print cmd's usage line, what it does and its options. */
void cli_help(FILE *out, const struct cli_cmd *cmd);
/* Print "heapsnap: CMD: <msg> (see heapsnap CMD --help)" to stderr (cmd
 * NULL: the command line as a whole); return EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* How a command printed for the user to run names heapsnap: "heapsnap"
 * when that is this program in PATH, else this program's absolute path. */
const char *cli_self(void);

struct hs_session;
/* Print the warnings the library returned, each as one "heapsnap: " line
 * on stderr. */
void cli_print_warnings(struct hs_session *s);

/* Whether the file -o names (NULL: stdout) is one of the n traces, which
 * opening it would destroy: return EXIT_USAGE, printed; else 0. */
int cli_output_check(const char *cmd, const char *path, char *const *traces, int n);
/* Open the file -o names for writing (NULL: stdout).  Return it, or NULL
 * with why printed. */
FILE *cli_output_open(const char *path);
/* Finish the output: close it unless it is stdout.  rc is the renderer's
 * (0 or a negative errno).  On failure print why, remove the file and
 * return EXIT_INPUT; else return 0. */
int cli_output_close(FILE *f, const char *path, int rc);

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
	const char *scan_signal;   /* --scan-signal */
	int snapshot_scan;	   /* --snapshot-scan */
	const char *allocator;	   /* --allocator */
	int no_scan;		   /* --no-scan */
	int quiet;		   /* -q */
};

/* The keys of run's options without a short form (-q is 'q', -o 'o'). */
enum {
	RUN_SNAPSHOT_SIGNAL = CLI_LONG_ONLY,
	RUN_SNAPSHOT_INTERVAL,
	RUN_ALLOCATOR,
	RUN_NO_SCAN,
	RUN_SCAN_SIGNAL,
	RUN_SNAPSHOT_SCAN,
	RUN_KEYS_END /* check's own keys start here */
};

/* The options of run that check takes too (check's -o is not run's). */
#define RUN_COMMON_OPTS                                                                                       \
	{"snapshot-signal", RUN_SNAPSHOT_SIGNAL, "SIG", "take a snapshot when the program receives SIG"},     \
	{"snapshot-interval", RUN_SNAPSHOT_INTERVAL, "SEC", "take a snapshot every SEC seconds"},             \
	{"scan-signal", RUN_SCAN_SIGNAL, "SIG", "take a snapshot with a pointer scan when the program receives SIG"}, \
	{"snapshot-scan", RUN_SNAPSHOT_SCAN, NULL, "scan the heap at every snapshot (signal, interval, API)"}, \
	{"no-scan", RUN_NO_SCAN, NULL, "no pointer scan at exit (no leak classes)"},                          \
	{"allocator", RUN_ALLOCATOR, "A", "the shim's own allocator: jemalloc (default) or system"},          \
	{"quiet", 'q', NULL, "do not name the traces written"}

/* Take the run option key with its value arg; return 1, or 0 if key is
 * not one of RUN_COMMON_OPTS. */
int run_option(int key, const char *arg, struct run_opts *o);
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

/* The subcommands, each beside its implementation (tools/cmd_*.c). */
extern const struct cli_cmd cli_cmd_run, cli_cmd_attach, cli_cmd_check, cli_cmd_info, cli_cmd_leaks, cli_cmd_cycles,
	cli_cmd_top, cli_cmd_diff, cli_cmd_report, cli_cmd_retainers;

int cmd_run(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_leaks(int argc, char **argv);
int cmd_cycles(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_retainers(int argc, char **argv);

#endif
