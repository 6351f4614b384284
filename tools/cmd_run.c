/*
 * cmd_run.c - `heapsnap run`: run a program with the shim preloaded and
 * pass its stdio, signals and exit status through unchanged.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"


static pid_t child;

/* Find libheapsnap.so: $HEAPSNAP_LIB, else ../lib/ beside this binary. */
static int find_shim(char *out, size_t cap)
{
	const char *env = getenv("HEAPSNAP_LIB");
	char self[PATH_MAX - 64];

	if (env && *env) {
		snprintf(out, cap, "%s", env);
	} else {
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n <= 0)
			return -1;
		self[n] = 0;
		char *slash = strrchr(self, '/');
		*slash = 0;
		snprintf(out, cap, "%s/../lib/libheapsnap.so", self);
	}
	if (access(out, R_OK)) {
		fprintf(stderr, "heapsnap: cannot find the shim at %s (set HEAPSNAP_LIB)\n", out);
		return -1;
	}
	char *real = realpath(out, NULL);
	if (real) {
		snprintf(out, cap, "%s", real);
		free(real);
	}
	return 0;
}

/* Make FILE absolute, so that a child that changes directory writes next
 * to it too. */
static char *absolute(const char *path)
{
	char cwd[PATH_MAX];

	if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return strdup(path);
	char *out;
	if (asprintf(&out, "%s/%s", cwd, path) < 0)
		return NULL;
	return out;
}

static int set_env(const struct run_opts *o, const char *shim, const char *output)
{
	const char *pre = getenv("LD_PRELOAD");
	const char *old = getenv("HEAPSNAP_OPTIONS");
	char *preload, *opts;

	if (asprintf(&preload, "%s%s%s", shim, pre && *pre ? ":" : "", pre && *pre ? pre : "") < 0)
		return -1;
	/* Ours come last: the shim lets later keys win. */
	if (asprintf(&opts, "%s%s%s%s%s%s%s%s%s%s%s", old && *old ? old : "", old && *old ? ":" : "",
		     output ? "output=" : "", output ? output : "", output ? ":" : "",
		     o->snap_signal ? "snapshot_signal=" : "", o->snap_signal ? o->snap_signal : "",
		     o->snap_signal ? ":" : "", o->no_scan ? "scan=0:" : "",
		     o->allocator ? "allocator=" : "", o->allocator ? o->allocator : "") < 0)
		return -1;
	if (o->scan_signal || o->snapshot_scan) {
		char *more;
		if (asprintf(&more, "%s%s%s%s%s", opts, *opts && opts[strlen(opts) - 1] != ':' ? ":" : "",
			     o->scan_signal ? "scan_signal=" : "", o->scan_signal ? o->scan_signal : "",
			     o->snapshot_scan ? (o->scan_signal ? ":snapshot_scan=1" : "snapshot_scan=1") : "") < 0)
			return -1;
		free(opts);
		opts = more;
	}
	if (o->snap_interval) {
		char *more;
		if (asprintf(&more, "%s%ssnapshot_interval=%s", opts, *opts && opts[strlen(opts) - 1] != ':' ? ":" : "",
			     o->snap_interval) < 0)
			return -1;
		free(opts);
		opts = more;
	}
	size_t n = strlen(opts);
	while (n && opts[n - 1] == ':')
		opts[--n] = 0;
	setenv("LD_PRELOAD", preload, 1);
	setenv("HEAPSNAP_OPTIONS", opts, 1);
	free(preload);
	free(opts);
	return 0;
}

/*
 * Forward a signal to the program.  A terminal's SIGINT, SIGQUIT and
 * SIGWINCH reach the whole foreground process group, the program included;
 * those (si_code SI_KERNEL) are not sent twice.
 */
static void forward(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	if (si && si->si_code == SI_KERNEL && (sig == SIGINT || sig == SIGQUIT || sig == SIGWINCH))
		return;
	if (child > 0)
		kill(child, sig);
}

static const int forwarded[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM, SIGWINCH, SIGCONT, SIGPWR};

/* Forward sig, unless it is ignored (nohup): then it stays ignored here
 * and in the program, which inherits the disposition. */
static void forward_one(int sig)
{
	struct sigaction sa, old;

	if (sigaction(sig, NULL, &old) == 0 && old.sa_handler == SIG_IGN)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = forward;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static void install_forwarding(void)
{
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		forward_one(forwarded[i]);
	for (int s = SIGRTMIN; s <= SIGRTMAX; s++)
		forward_one(s);
}

/* In the child: what we forward goes back to the default action; what
 * was ignored stays ignored. */
static void reset_forwarding(void)
{
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int s = 1; s <= SIGRTMAX; s++)
		if (sigaction(s, NULL, &old) == 0 && (old.sa_flags & SA_SIGINFO) && old.sa_sigaction == forward)
			sigaction(s, &sa, NULL);
}

/* End this process the way the program ended. */
static int pass_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		struct rlimit no_core = {0, 0};
		setrlimit(RLIMIT_CORE, &no_core); /* the program dumped its own */
		signal(sig, SIG_DFL);
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise(sig);
		return 128 + sig;
	}
	return 1;
}

/* Name the traces this run wrote: FILE and FILE.<pid>[.<n>] with -o (a
 * literal name: glob metacharacters in it are escaped), else the default
 * names in the current directory, made since the run started. */
static void report_traces(const struct run_opts *o, const char *output, time_t started)
{
	char pattern[2 * PATH_MAX + 8], *p = pattern;
	glob_t g;

	if (o->quiet)
		return;
	if (output) {
		for (const char *s = output; *s && p < pattern + sizeof(pattern) - 8; s++) {
			if (strchr("*?[]\\", *s))
				*p++ = '\\';
			*p++ = *s;
		}
		strcpy(p, "*");
	} else {
		strcpy(pattern, "heapsnap.*.hst*");
	}
	if (glob(pattern, 0, NULL, &g))
		return;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *f = g.gl_pathv[i];
		struct stat st;
		size_t n = strlen(f), base = output ? strlen(output) : 0;
		if (n > 6 && !strcmp(f + n - 6, ".rings"))
			continue;
		if (output && n > base && (f[base] != '.' || f[base + 1] < '0' || f[base + 1] > '9'))
			continue; /* FILE.<pid> only, not FILEfoo */
		if (lstat(f, &st) || !S_ISREG(st.st_mode) || st.st_mtime < started)
			continue; /* a FIFO or device of that name is no trace */
		fprintf(stderr, "heapsnap: trace written to %s\n", f);
	}
	globfree(&g);
}

int run_option(int key, const char *arg, struct run_opts *o)
{
	switch (key) {
	case RUN_SNAPSHOT_SIGNAL:
		o->snap_signal = arg;
		break;
	case RUN_SNAPSHOT_INTERVAL:
		o->snap_interval = arg;
		break;
	case RUN_ALLOCATOR:
		o->allocator = arg;
		break;
	case RUN_SCAN_SIGNAL:
		o->scan_signal = arg;
		break;
	case RUN_SNAPSHOT_SCAN:
		o->snapshot_scan = 1;
		break;
	case RUN_NO_SCAN:
		o->no_scan = 1;
		break;
	case 'q':
		o->quiet = 1;
		break;
	default:
		return 0;
	}
	return 1;
}

int run_validate(const struct run_opts *o, const char *cmd)
{
	if (o->no_scan && (o->scan_signal || o->snapshot_scan))
		return cli_usage_error(cmd, "--%s needs the pointer scan: not with --no-scan",
				       o->scan_signal ? "scan-signal" : "snapshot-scan");
	if (o->allocator && strcmp(o->allocator, "jemalloc") && strcmp(o->allocator, "system"))
		return cli_usage_error(cmd, "--allocator takes jemalloc or system, not '%s'", o->allocator);
	if (o->snap_interval) {
		char *end;
		double v = strtod(o->snap_interval, &end);
		if (*end || !(v >= 0.001) || strspn(o->snap_interval, "0123456789.") != strlen(o->snap_interval))
			return cli_usage_error(cmd, "--snapshot-interval takes seconds >= 0.001, not '%s'",
					       o->snap_interval);
	}
	return 0;
}

static const struct cli_opt run_opts[] = {
	{"output", 'o', "FILE", "write the trace to FILE (default: heapsnap.EXE.PID.hst here)"},
	RUN_COMMON_OPTS,
	{NULL, 0, NULL, NULL},
};

const struct cli_cmd cli_cmd_run = {
	.name = "run",
	.synopsis = "[OPTIONS] [--] PROG [ARGS...]",
	.about = "Run PROG with the shim preloaded and trace its heap; exit as PROG did.",
	.opts = run_opts,
	.in_order = 1,
	.fn = cmd_run,
};

static int parse(int argc, char **argv, struct run_opts *o, int *first)
{
	struct cli_parse p;
	char **prog;
	int c;

	cli_parse_start(&p, &cli_cmd_run, argc, argv);
	while ((c = cli_next_opt(&p)) > 0)
		if (c == 'o')
			o->output = p.arg;
		else
			run_option(c, p.arg, o);
	if (c == CLI_STOP)
		return p.rc;
	if (!cli_operands(&p, &prog))
		return cli_usage_error("run", "no program given (heapsnap run [OPTIONS] -- PROG [ARGS])");
	*first = p.next;
	return run_validate(o, "run");
}

int run_output_error(const char *path, int replace)
{
	struct stat st;
	char probe[PATH_MAX];

	if (!stat(path, &st)) {
		if (S_ISDIR(st.st_mode))
			return EISDIR;
		if (!replace) {
			/* written in place: may we?  (not truncated here) */
			int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
			if (fd < 0)
				return errno;
			close(fd);
			return 0;
		}
	} else if (errno != ENOENT) {
		return errno; /* a component is not a directory, or not searchable */
	}
	/* A file must be created in its directory: create one there, and
	 * remove it (permission bits alone do not say it for root, or on
	 * /proc). */
	const char *slash = strrchr(path, '/');
	int n = slash ? snprintf(probe, sizeof(probe), "%.*s/.heapsnap-probe-XXXXXX", (int)(slash - path), path)
		      : snprintf(probe, sizeof(probe), ".heapsnap-probe-XXXXXX");
	if (n < 0 || (size_t)n >= sizeof(probe))
		return ENAMETOOLONG;
	int fd = mkstemp(probe);
	if (fd < 0)
		return errno;
	close(fd);
	unlink(probe);
	return 0;
}

#define SHIM_OUTPUT_MAX 1023 /* OPT_PATH_MAX - 1 in src/shim/options.h */

/*
 * Can the shim create the trace?  If not, it would warn and let the
 * program run untraced: say so now, before the program starts.  The name
 * travels in HEAPSNAP_OPTIONS, whose separator it cannot hold, into a
 * buffer of the shim's.  Return 0, or EXIT_INPUT with one line printed.
 */
static int check_trace_location(const char *output)
{
	const char *why = NULL;
	int err = 0;

	if (strchr(output, ':'))
		why = "a ':' cannot be passed to the shim (it separates HEAPSNAP_OPTIONS)";
	else if (strlen(output) > SHIM_OUTPUT_MAX)
		err = ENAMETOOLONG;
	else
		err = run_output_error(output, 1);
	if (!why && !err)
		return 0;
	fprintf(stderr, "heapsnap: cannot write the trace %s: %s\n", output, why ? why : strerror(err));
	return EXIT_INPUT;
}

/* Does HEAPSNAP_OPTIONS in the environment name the output itself? */
static int env_sets_output(void)
{
	const char *env = getenv("HEAPSNAP_OPTIONS");

	for (const char *p = env; p && *p; p = strchr(p, ':') ? strchr(p, ':') + 1 : "")
		if (!strncmp(p, "output=", 7))
			return 1;
	return 0;
}

/* Is path a regular file that is empty or begins with magic (heapsnap's
 * own: a trace, a ring file)?  1 yes, 0 no (*what says what it is), -1
 * there is nothing at path. */
static int ours(const char *path, const char *magic, const char **what)
{
	struct stat st;
	char head[8];

	if (lstat(path, &st))
		return -1;
	*what = S_ISDIR(st.st_mode) ? "is a directory"
		: S_ISLNK(st.st_mode) ? "is a symbolic link"
		: !S_ISREG(st.st_mode) ? "is not a regular file (a device, FIFO or socket)"
				       : "exists and is not heapsnap's";
	if (!S_ISREG(st.st_mode))
		return 0;
	if (st.st_size == 0)
		return 1;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	int yes = fd >= 0 && read(fd, head, 8) == 8 && !memcmp(head, magic, 8);
	if (fd >= 0)
		close(fd);
	return yes;
}

/*
 * The user named the trace (-o FILE): a stale trace there, and its ring
 * file, would push the new trace to FILE.<pid>, so they go.  But only
 * what heapsnap made: anything else at either name (another file, a
 * symbolic link, /dev/null, a directory, a FIFO) is refused, with one
 * line, before the program runs.  Return 0 or EXIT_INPUT.
 */
static int clear_output(const char *output)
{
	char rings[PATH_MAX + 8];
	const char *what;

	snprintf(rings, sizeof(rings), "%s.rings", output);
	int trace = ours(output, "HEAPSNAP", &what);
	if (trace == 0) {
		fprintf(stderr, "heapsnap: -o %s: %s; give the name of a new file or of an old trace\n", output,
			what);
		return EXIT_INPUT;
	}
	int ring = ours(rings, "HSRINGS1", &what);
	if (ring == 0) {
		fprintf(stderr, "heapsnap: %s: %s (the trace's ring file goes there); choose another -o\n", rings,
			what);
		return EXIT_INPUT;
	}
	if (trace == 1)
		unlink(output);
	if (ring == 1)
		unlink(rings);
	return 0;
}

int run_spawn(const struct run_opts *o, char **prog, int *status)
{
	char shim[PATH_MAX];

	if (find_shim(shim, sizeof(shim)))
		return EXIT_USAGE;
	/* Without -o the trace goes to the shim's default name, in the
	 * current directory (unless the environment's options say where). */
	char *output = o->output ? absolute(o->output) : NULL;
	char *where = output ? NULL : env_sets_output() ? NULL : absolute("heapsnap.%e.%p.hst");
	int bad = (output || where) && check_trace_location(output ? output : where);
	free(where);
	if (bad || (output && !o->output_is_pattern && clear_output(output))) {
		free(output);
		return EXIT_INPUT;
	}
	if (set_env(o, shim, output)) {
		free(output);
		return EXIT_USAGE;
	}
	/* A signal that comes before the program's pid is known must wait,
	 * not be dropped: block them all across fork. */
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	install_forwarding();
	time_t started = time(NULL);
	child = fork();
	if (child < 0) {
		fprintf(stderr, "heapsnap: fork: %s\n", strerror(errno));
		free(output);
		return EXIT_USAGE;
	}
	if (child == 0) {
		reset_forwarding();
		sigprocmask(SIG_SETMASK, &old, NULL);
		execvp(prog[0], prog);
		fprintf(stderr, "heapsnap: %s: %s\n", prog[0], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	while (waitpid(child, status, 0) < 0)
		if (errno != EINTR) {
			fprintf(stderr, "heapsnap: waitpid: %s\n", strerror(errno));
			free(output);
			return EXIT_USAGE;
		}
	if (!o->output_is_pattern)
		report_traces(o, output, started);
	free(output);
	return 0;
}

int run_pass_status(int status)
{
	return pass_status(status);
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o = {0};
	int first = 0, status;

	int rc = parse(argc, argv, &o, &first);
	if (rc || !first)
		return rc; /* a usage error, or the help */
	rc = run_spawn(&o, argv + first, &status);
	return rc ? rc : pass_status(status);
}
