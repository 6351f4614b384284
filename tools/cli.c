/*
 * cli.c - the command line's conventions, in one place: how every
 * subcommand reads its options (getopt_long underneath), prints its help,
 * and reports a usage error.
 *
 * A subcommand describes itself in a struct cli_cmd (name, synopsis, one
 * line about it, its options) and walks its arguments with cli_next_opt.
 * Every command then accepts what GNU tools accept: `--opt VALUE` and
 * `--opt=VALUE`, `-o VALUE` and `-oVALUE`, a unique prefix of a long name,
 * options before or after the operands (up to `--`; a command that runs a
 * program stops at the program's name), and `-h`/`--help`.  Every usage
 * error is one line, "heapsnap: CMD: what is wrong (see heapsnap CMD
 * --help)", and exit status 1.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

const char *cli_self(void)
{
	static char self[PATH_MAX];
	const char *path = getenv("PATH");
	char *real = realpath("/proc/self/exe", NULL);

	if (!real)
		return "heapsnap";
	snprintf(self, sizeof(self), "%s", real);
	free(real);
	/* the first heapsnap in PATH, as a shell would find it */
	for (const char *p = path; p && *p;) {
		size_t n = strcspn(p, ":");
		char cand[PATH_MAX];
		snprintf(cand, sizeof(cand), "%.*s/heapsnap", (int)(n ? n : 1), n ? p : ".");
		if (access(cand, X_OK) == 0) {
			char *r = realpath(cand, NULL);
			int same = r && !strcmp(r, self);
			free(r);
			return same ? "heapsnap" : self;
		}
		p += n + (p[n] == ':');
	}
	return self;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "heapsnap: %s%s", cmd ? cmd : "", cmd ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (cmd)
		fprintf(stderr, " (see heapsnap %s --help)\n", cmd);
	else
		fputs(" (see heapsnap --help)\n", stderr);
	return EXIT_USAGE;
}

/* ---- help ---- */

/* "-o, --output FILE" or "    --format F", as the help lists an option. */
static void opt_label(char *buf, size_t cap, const struct cli_opt *o)
{
	int n = 0;

	if (o->key > 0 && o->key < 128)
		n = snprintf(buf, cap, "-%c%s", o->key, o->name ? ", " : "");
	else
		n = snprintf(buf, cap, "    ");
	if (n >= 0 && (size_t)n < cap && o->name)
		n += snprintf(buf + n, cap - (size_t)n, "--%s", o->name);
	if (n >= 0 && (size_t)n < cap && o->arg)
		snprintf(buf + n, cap - (size_t)n, " %s", o->arg);
}

#define HELP_COLUMN 28

static void print_opt(FILE *out, const char *label, const char *help)
{
	int w = fprintf(out, "  %s", label);
	if (w > HELP_COLUMN - 2)
		fprintf(out, "\n%*s", HELP_COLUMN, "");
	else
		fprintf(out, "%*s", HELP_COLUMN - w, "");
	fprintf(out, "%s\n", help);
}

void cli_help(FILE *out, const struct cli_cmd *cmd)
{
	char label[64];

	fprintf(out, "usage: heapsnap %s %s\n\n%s\n\noptions:\n", cmd->name, cmd->synopsis, cmd->about);
	for (const struct cli_opt *o = cmd->opts; o && o->key; o++)
		if (o->help) {
			opt_label(label, sizeof(label), o);
			print_opt(out, label, o->help);
		}
	print_opt(out, "-h, --help", "print this help and exit");
	fprintf(out, "\nA long option takes its value as --opt VALUE or --opt=VALUE.  See heapsnap(1).\n");
}

/* ---- parsing ---- */

void cli_parse_start(struct cli_parse *p, const struct cli_cmd *cmd, int argc, char **argv)
{
	int nl = 0, ns = 0;

	memset(p, 0, sizeof(*p));
	p->cmd = cmd;
	p->argc = argc;
	p->argv = argv;
	/* "+": options end at the first operand (the program to run);
	 * ":": a missing value is told apart from an unknown option. */
	if (cmd->in_order)
		p->shorts[ns++] = '+';
	p->shorts[ns++] = ':';
	for (const struct cli_opt *o = cmd->opts; o && o->key; o++) {
		assert(nl < CLI_MAX_OPTS && o->key != 'h' && o->key != ':');
		if (o->name)
			p->longs[nl++] = (struct option){o->name, o->arg ? required_argument : no_argument, NULL, o->key};
		if (o->key < 128) {
			p->shorts[ns++] = (char)o->key;
			if (o->arg)
				p->shorts[ns++] = ':';
		}
	}
	p->longs[nl++] = (struct option){"help", no_argument, NULL, 'h'};
	p->shorts[ns++] = 'h';
	p->shorts[ns] = 0;
	/* 0, not 1: glibc starts afresh, permutation state included */
	optind = 0;
	opterr = 0;
}

static const struct cli_opt *find_key(const struct cli_cmd *cmd, int key)
{
	for (const struct cli_opt *o = cmd->opts; o && o->key; o++)
		if (o->key == key)
			return o;
	return NULL;
}

/* The error of a long option getopt_long refused: the text as typed. */
static int long_error(struct cli_parse *p, const char *tok)
{
	const char *name = tok + 2, *eq = strchr(name, '=');
	size_t len = eq ? (size_t)(eq - name) : strlen(name);
	const struct cli_opt *match = NULL;
	int nmatch = 0;

	for (const struct cli_opt *o = p->cmd->opts; o && o->key; o++) {
		if (!o->name || strncmp(o->name, name, len))
			continue;
		if (strlen(o->name) == len) { /* exact: no ambiguity */
			match = o;
			nmatch = 1;
			break;
		}
		match = o;
		nmatch++;
	}
	if (nmatch > 1) {
		char list[256];
		int n = 0;
		for (const struct cli_opt *o = p->cmd->opts; o && o->key; o++)
			if (o->name && !strncmp(o->name, name, len) && n >= 0 && (size_t)n < sizeof(list))
				n += snprintf(list + n, sizeof(list) - (size_t)n, "%s--%s", n ? ", " : "", o->name);
		return cli_usage_error(p->cmd->name, "option '--%.*s' is ambiguous: %s", (int)len, name, list);
	}
	if (nmatch == 1 && eq && !match->arg)
		return cli_usage_error(p->cmd->name, "option '--%s' takes no value", match->name);
	return cli_usage_error(p->cmd->name, "unknown option '--%.*s'", (int)len, name);
}

int cli_next_opt(struct cli_parse *p)
{
	int c = getopt_long(p->argc, p->argv, p->shorts, p->longs, NULL);
	const char *tok = optind > 0 && optind <= p->argc ? p->argv[optind - 1] : "";
	int is_long = !strncmp(tok, "--", 2);
	const struct cli_opt *o;

	p->arg = optarg;
	switch (c) {
	case -1:
		p->next = optind;
		return CLI_END;
	case 'h':
		cli_help(stdout, p->cmd);
		p->rc = 0;
		return CLI_STOP;
	case ':':
		o = find_key(p->cmd, optopt);
		if (o && o->name && is_long)
			p->rc = cli_usage_error(p->cmd->name, "option '--%s' needs a value", o->name);
		else
			p->rc = cli_usage_error(p->cmd->name, "option '-%c' needs a value", optopt);
		return CLI_STOP;
	case '?':
		if (is_long)
			p->rc = long_error(p, tok);
		else
			p->rc = cli_usage_error(p->cmd->name, "unknown option '-%c'", optopt);
		return CLI_STOP;
	default:
		return c;
	}
}

int cli_operands(const struct cli_parse *p, char ***first)
{
	*first = p->argv + p->next;
	return p->argc - p->next;
}
