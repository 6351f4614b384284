/*
 * cmd_attach.c - `heapsnap attach PID`: trace a process that is already
 * running, then let it go.
 *
 * heapsnap listens on an abstract unix socket, loads libheapsnap-attach.so
 * into the process and calls its entry point with ptrace
 * (attach_inject.c), which connects back.  From then on the process
 * records into its trace; this command waits for --duration, SIGINT or
 * SIGTERM, asks the shim to detach over the socket, and checks every thread
 * out of the shim when it asks (ptrace again).  If this command dies, the
 * shim sees the socket close and detaches by itself (src/shim/attach.c).
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "attach_inject.h"
#include "cli.h"

#define CONNECT_TIMEOUT_MS 10000
#define QUIESCE_TIMEOUT_MS 5000
/* A process younger than this may still be starting (see still_starting). */
#define START_WAIT_S 2.0
#define START_RETRY_MS 20
#define START_TRIES 200
/* attach_session's status when the process was still starting: try again */
#define ATTACH_AGAIN (-1)

struct attach_opts {
	pid_t pid;
	const char *output;	   /* -o FILE */
	double duration;	   /* seconds, 0: until a signal */
	const char *snap_interval; /* --snapshot-interval */
	int scan;		   /* --scan-at-detach */
};

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
	stop_sig = sig;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_seconds(const char *s, double *out)
{
	char *end;

	if (!*s || strspn(s, "0123456789.") != strlen(s))
		return -1;
	*out = strtod(s, &end);
	return *end ? -1 : 0;
}

enum { ATTACH_DURATION = CLI_LONG_ONLY, ATTACH_SNAPSHOT_INTERVAL, ATTACH_SCAN };

static const struct cli_opt attach_opts[] = {
	{"output", 'o', "FILE", "write the trace to FILE (default: heapsnap.EXE.PID.hst here)"},
	{"duration", ATTACH_DURATION, "SEC", "detach after SEC seconds (default: at SIGINT or SIGTERM)"},
	{"snapshot-interval", ATTACH_SNAPSHOT_INTERVAL, "SEC", "take a snapshot every SEC seconds"},
	{"scan-at-detach", ATTACH_SCAN, NULL, "scan the heap for pointers before detaching"},
	{NULL, 0, NULL, NULL},
};

const struct cli_cmd cli_cmd_attach = {
	.name = "attach",
	.synopsis = "[OPTIONS] PID",
	.about = "Trace a running process for a while, then let it go on untraced.",
	.opts = attach_opts,
	.fn = cmd_attach,
};

/* Return 0, EXIT_USAGE (printed), or -1 after the help. */
static int parse(int argc, char **argv, struct attach_opts *o)
{
	struct cli_parse p;
	char **pids;
	int c;
	double v;

	cli_parse_start(&p, &cli_cmd_attach, argc, argv);
	while ((c = cli_next_opt(&p)) > 0) {
		switch (c) {
		case 'o':
			o->output = p.arg;
			break;
		case ATTACH_DURATION:
			if (parse_seconds(p.arg, &o->duration) || !(o->duration > 0))
				return cli_usage_error("attach", "--duration takes seconds > 0, not '%s'", p.arg);
			break;
		case ATTACH_SNAPSHOT_INTERVAL:
			if (parse_seconds(p.arg, &v) || !(v >= 0.001))
				return cli_usage_error("attach", "--snapshot-interval takes seconds >= 0.001, not '%s'",
						       p.arg);
			o->snap_interval = p.arg;
			break;
		case ATTACH_SCAN:
			o->scan = 1;
			break;
		}
	}
	if (c == CLI_STOP)
		return p.rc ? p.rc : -1;
	if (cli_operands(&p, &pids) != 1)
		return cli_usage_error("attach", "give one process id (heapsnap attach [OPTIONS] PID)");
	char *end;
	long pid = strtol(pids[0], &end, 10);
	if (*end || pid <= 0 || pid > INT_MAX)
		return cli_usage_error("attach", "'%s' is not a process id", pids[0]);
	o->pid = (pid_t)pid;
	if (o->output && strchr(o->output, ':'))
		return cli_usage_error("attach", "-o FILE may not contain ':'");
	return 0;
}

/* libheapsnap-attach.so: beside $HEAPSNAP_LIB, else in ../lib/ beside this
 * binary.  Return 0 or -1 (printed). */
static int find_attach_shim(char *out, size_t cap)
{
	const char *env = getenv("HEAPSNAP_LIB");
	char dir[PATH_MAX];

	if (env && *env) {
		snprintf(dir, sizeof(dir), "%s", env);
	} else {
		ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
		if (n <= 0)
			return -1;
		dir[n] = 0;
		*strrchr(dir, '/') = 0;
		strncat(dir, "/../lib/x", sizeof(dir) - strlen(dir) - 1);
	}
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	if ((size_t)snprintf(out, cap, "%s/libheapsnap-attach.so", dir) >= cap) {
		fprintf(stderr, "heapsnap: the path of the attach shim is too long\n");
		return -1;
	}
	char *real = realpath(out, NULL);
	if (!real) {
		fprintf(stderr, "heapsnap: cannot find the attach shim at %s (set HEAPSNAP_LIB to libheapsnap.so beside it)\n",
			out);
		return -1;
	}
	snprintf(out, cap, "%s", real);
	free(real);
	return 0;
}

/* The process sees the shim through its own root (a container): it must be
 * the same file there. */
static int shim_visible(pid_t pid, const char *shim)
{
	char there[PATH_MAX + 64];
	struct stat a, b;

	snprintf(there, sizeof(there), "/proc/%d/root%s", pid, shim);
	if (stat(shim, &a) || stat(there, &b))
		return errno == EACCES; /* may not look: ptrace will tell */
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Is pid in heapsnap's network namespace?  The shim connects back through
 * an abstract unix socket, which belongs to one.  (1 when it cannot tell:
 * the connection will.) */
static int same_netns(pid_t pid)
{
	char there[64];
	struct stat a, b;

	snprintf(there, sizeof(there), "/proc/%d/ns/net", pid);
	if (stat("/proc/self/ns/net", &a) || stat(there, &b))
		return 1;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Listen on a fresh abstract socket; its name goes to name.  Return the fd
 * or -1. */
static int listen_socket(char *name, size_t cap)
{
	struct sockaddr_un sa;
	uint64_t r = 0;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint64_t)now_s() * 1000003u ^ (uint64_t)getpid();
	snprintf(name, cap, "heapsnap-attach.%d.%016llx", getpid(), (unsigned long long)r);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path + 1, name, strlen(name));
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name))) ||
	    listen(fd, 1)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Accept the shim's connection and check that it is the process's. */
static int accept_shim(int lfd, pid_t pid)
{
	struct pollfd p = {lfd, POLLIN, 0};
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (poll(&p, 1, CONNECT_TIMEOUT_MS) <= 0)
		return -1;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) || cred.pid != pid) {
		close(fd);
		return -1;
	}
	return fd;
}

struct conn {
	int fd;
	char buf[8192];
	size_t len;
};

/* Wait for a line (without its newline) until deadline (0: none) or a
 * signal.  Return 1, 0 (deadline or signal), -1 (end of file). */
static int next_line(struct conn *c, char *line, size_t cap, double deadline, const sigset_t *wait_mask)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		if (nl) {
			size_t n = (size_t)(nl - c->buf);
			size_t k = n < cap - 1 ? n : cap - 1;
			memcpy(line, c->buf, k);
			line[k] = 0;
			memmove(c->buf, nl + 1, c->len - n - 1);
			c->len -= n + 1;
			return 1;
		}
		if (c->len == sizeof(c->buf))
			c->len = 0; /* an overlong line: drop it */
		struct pollfd p = {c->fd, POLLIN, 0};
		struct timespec ts, *tp = NULL;
		if (deadline > 0) {
			double left = deadline - now_s();
			if (left <= 0)
				return 0;
			ts.tv_sec = (time_t)left;
			ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
			tp = &ts;
		}
		int rc = ppoll(&p, 1, tp, wait_mask);
		if (rc < 0 && errno == EINTR) {
			if (stop_sig)
				return 0;
			continue;
		}
		if (rc == 0)
			return 0;
		ssize_t k = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		c->len += (size_t)k;
	}
}

static void send_str(int fd, const char *s)
{
	(void)!send(fd, s, strlen(s), MSG_NOSIGNAL);
}

/* A line from the shim that is not protocol: its warnings. */
static void pass_on(const char *line)
{
	if (line[0] != '@')
		fprintf(stderr, "%s\n", line);
}

static const char *attach_error(int rc)
{
	switch (-rc) {
	case EBUSY:
		return "it is already attached by another heapsnap attach";
	case ENOTRECOVERABLE:
		return "an earlier heapsnap attach to it ended before it could check the threads (it was killed): "
		       "the shim cannot be used again in this process";
	default:
		return strerror(-rc);
	}
}

/* After "detach": answer the quiesce request, wait for "@detached". */
static int finish_detach(struct conn *c, pid_t pid, const char *trace)
{
	char line[1024];
	double paused = 0;
	unsigned restored = 0;
	unsigned long long finish_ns = 0;
	int clean = 0, rc;

	while ((rc = next_line(c, line, sizeof(line), 0, NULL)) != -1) {
		if (rc == 0)
			continue; /* a signal: keep going, the trace is being finished */
		pass_on(line);
		struct quiesce_req q;
		if (!strncmp(line, "@quiesce ", 9)) {
			int ok = !inject_parse_quiesce(line + 9, &q) &&
				 inject_quiesce(pid, &q, QUIESCE_TIMEOUT_MS, &paused);
			send_str(c->fd, ok ? "quiet\n" : "busy\n");
		} else if (!strncmp(line, "@detached ", 10) &&
			   sscanf(line + 10, "%u %llu %d", &restored, &finish_ns, &clean) == 3) {
			break;
		}
	}
	if (rc == -1) {
		fprintf(stderr, "heapsnap: process %d ended while detaching: trace written to %s\n", pid, trace);
		return 0;
	}
	fprintf(stderr, "heapsnap: detached from process %d: trace written to %s\n", pid, trace);
	fprintf(stderr,
		"heapsnap: detach: %u slots restored; finishing the trace took %.1f ms; threads paused at most %.3f ms "
		"each\n",
		restored, (double)finish_ns / 1e6, paused);
	if (!clean)
		fprintf(stderr,
			"heapsnap: WARNING: not every thread could be checked out of the shim: its rings stay mapped "
			"in process %d, and it cannot be attached again\n",
			pid);
	return 0;
}

/* What /proc/PID/exe names, into buf ("" if it cannot be read). */
static void exe_of(pid_t pid, char *buf, size_t cap)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(path, buf, cap - 1);
	buf[n > 0 ? n : 0] = 0;
}

/* Seconds since process pid started (/proc/PID/stat's starttime, the
 * 22nd field, after the ")" that ends the name), and its state (the
 * 3rd: R running, S sleeping, ...); -1 if unknown. */
static double age_of(pid_t pid, char *state)
{
	char path[64], buf[1024];
	double up;
	unsigned long long start;
	FILE *f;

	*state = '?';
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	if (p && p[1] == ' ')
		*state = p[2];
	for (int field = 2; p && field < 22; field++) /* p at the space before field+1 */
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &start) != 1 || !(f = fopen("/proc/uptime", "r")))
		return -1;
	int ok = fscanf(f, "%lf", &up) == 1;
	fclose(f);
	return ok ? up - (double)start / (double)sysconf(_SC_CLK_TCK) : -1;
}

/* Does process pid's program have a dynamic loader (PT_INTERP)? */
static int has_interp(pid_t pid)
{
	char path[64];
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (pread(fd, &eh, sizeof(eh), 0) == (ssize_t)sizeof(eh) && !memcmp(eh.e_ident, ELFMAG, SELFMAG) &&
	    eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof(ph))
		for (unsigned i = 0; i < eh.e_phnum && !found; i++)
			found = pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) == (ssize_t)sizeof(ph) &&
				ph.p_type == PT_INTERP;
	close(fd);
	return found;
}

/*
 * Did the attach fail because the process had not finished starting?
 * `prog & heapsnap attach $!` can come before the shell's child has
 * exec'd the program (the shim, loaded into the shell, goes with the old
 * image: the program is no longer what it was), or while the dynamic
 * loader has not yet listed the libraries (a young, dynamically linked
 * process, running).  Then the attach is tried again; a process that
 * waits (blocked: refusals of a sleeping process come at once), a static
 * one, or one that has run for START_WAIT_S is refused as before.
 */
static int still_starting(pid_t pid, const char *exe_before)
{
	char exe[PATH_MAX];

	if (kill(pid, 0) && errno == ESRCH)
		return 0;
	exe_of(pid, exe, sizeof(exe));
	if (strcmp(exe, exe_before))
		return 1;
	char state;
	double age = age_of(pid, &state);
	return age >= 0 && age < START_WAIT_S && state == 'R' && has_interp(pid);
}

/*
 * A process still starting (younger than START_WAIT_S, dynamically
 * linked, running) is given until then to block somewhere, as a started
 * program soon does: a thread blocked in a wait is the safe point found
 * at once, where a thread that runs must be caught entering the
 * allocator, which a program that only waits (sleep 30) never does.
 */
static void wait_started(pid_t pid)
{
	char state;
	double age;

	while ((age = age_of(pid, &state)) >= 0 && age < START_WAIT_S && state == 'R' && has_interp(pid))
		nanosleep(&(struct timespec){0, START_RETRY_MS * 1000000L}, NULL);
}

static int attach_session(const struct attach_opts *o, const char *shim)
{
	char name[96], err[INJECT_ERR_MAX], line[PATH_MAX + 64], trace[PATH_MAX + 64] = "?", cwd[PATH_MAX];
	char *args = NULL, *out = NULL;
	struct inject_stats st;
	char exe_before[PATH_MAX];
	int lfd = -1, status = EXIT_INPUT, rc = 0;
	struct conn c = {.fd = -1};

	exe_of(o->pid, exe_before, sizeof(exe_before));
	if (o->output && o->output[0] == '/')
		out = strdup(o->output);
	else if (getcwd(cwd, sizeof(cwd)) && !strchr(cwd, ':'))
		(void)!asprintf(&out, "%s/%s", cwd, o->output ? o->output : "heapsnap.%e.%p.hst");
	if (!out) {
		fprintf(stderr, "heapsnap: the current directory's name has a ':': give -o with an absolute path\n");
		return EXIT_USAGE;
	}
	lfd = listen_socket(name, sizeof(name));
	if (lfd < 0) {
		fprintf(stderr, "heapsnap: cannot create a socket: %s\n", strerror(errno));
		goto out;
	}
	if (asprintf(&args, "ctl=%s\noutput=%s:scan=%d%s%s", name, out, o->scan,
		     o->snap_interval ? ":snapshot_interval=" : "", o->snap_interval ? o->snap_interval : "") < 0)
		goto out;
	if (inject_attach(o->pid, shim, args, &rc, &st, err)) {
		if (still_starting(o->pid, exe_before))
			status = ATTACH_AGAIN;
		else
			fprintf(stderr, "heapsnap: %s\n", err);
		goto out;
	}
	if (rc) {
		fprintf(stderr, "heapsnap: cannot attach to process %d: %s\n", o->pid, attach_error(rc));
		goto out;
	}
	c.fd = accept_shim(lfd, o->pid);
	if (c.fd < 0) {
		if (still_starting(o->pid, exe_before))
			status = ATTACH_AGAIN;
		else
			fprintf(stderr, "heapsnap: process %d did not connect back to heapsnap\n", o->pid);
		goto out;
	}
	unsigned slots = 0, objects = 0;
	while ((rc = next_line(&c, line, sizeof(line), now_s() + CONNECT_TIMEOUT_MS / 1e3, NULL)) == 1) {
		pass_on(line);
		if (!strncmp(line, "@trace ", 7))
			snprintf(trace, sizeof(trace), "%s", line + 7);
		else if (!strncmp(line, "@error ", 7)) {
			fprintf(stderr, "heapsnap: process %d: %s\n", o->pid, line + 7);
			goto out;
		} else if (sscanf(line, "@attached %u %u", &slots, &objects) == 2)
			break;
	}
	if (rc != 1) {
		if (still_starting(o->pid, exe_before))
			status = ATTACH_AGAIN;
		else
			fprintf(stderr, "heapsnap: process %d did not start tracing\n", o->pid);
		goto out;
	}
	fprintf(stderr, "heapsnap: attached to process %d: tracing into %s\n", o->pid, trace);
	fprintf(stderr,
		"heapsnap: attach: thread %d paused %.3f ms (%s%s), other threads %.3f ms; %u slots patched in %u "
		"objects\n",
		st.tid, st.pause_ms, st.how, st.loaded ? "; shim loaded" : "; shim already loaded", st.others_ms, slots,
		objects);

	/* Trace until the duration ends, a signal comes, or the process ends. */
	sigset_t unblocked;
	sigemptyset(&unblocked);
	double deadline = o->duration > 0 ? now_s() + o->duration : 0;
	while ((rc = next_line(&c, line, sizeof(line), deadline, &unblocked)) == 1)
		pass_on(line);
	if (rc == -1) {
		fprintf(stderr, "heapsnap: process %d ended while attached (exit or exec): trace written to %s\n", o->pid,
			trace);
		status = 0;
		goto out;
	}
	send_str(c.fd, "detach\n");
	status = finish_detach(&c, o->pid, trace);
out:
	if (c.fd >= 0)
		close(c.fd);
	if (lfd >= 0)
		close(lfd);
	free(args);
	free(out);
	return status;
}

int cmd_attach(int argc, char **argv)
{
	struct attach_opts o = {0};
	char shim[PATH_MAX], err[INJECT_ERR_MAX];
	struct sigaction sa;
	sigset_t block;

	int rc = parse(argc, argv, &o);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (find_attach_shim(shim, sizeof(shim)))
		return EXIT_USAGE;
	if (inject_precheck(o.pid, err)) {
		fprintf(stderr, "heapsnap: %s\n", err);
		return EXIT_INPUT;
	}
	if (!shim_visible(o.pid, shim)) {
		fprintf(stderr,
			"heapsnap: process %d does not see %s (another mount namespace, a container?): run heapsnap "
			"inside it\n",
			o.pid, shim);
		return EXIT_INPUT;
	}
	if (!same_netns(o.pid)) {
		fprintf(stderr,
			"heapsnap: process %d is in another network namespace (a container?): run heapsnap in it, "
			"e.g. nsenter -t %d -n heapsnap attach %d\n",
			o.pid, o.pid, o.pid);
		return EXIT_INPUT;
	}
	/* SIGINT, SIGTERM and SIGHUP end the tracing; they wait, blocked,
	 * while the process runs our calls, and are taken in ppoll. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigaction(sigs[i], &sa, NULL);
		sigaddset(&block, sigs[i]);
	}
	signal(SIGPIPE, SIG_IGN);
	sigprocmask(SIG_BLOCK, &block, NULL);
	for (int tries = 1;; tries++) {
		wait_started(o.pid);
		rc = attach_session(&o, shim);
		if (rc != ATTACH_AGAIN)
			return rc;
		if (tries == START_TRIES || stop_sig) {
			fprintf(stderr, "heapsnap: process %d did not finish starting\n", o.pid);
			return EXIT_INPUT;
		}
		nanosleep(&(struct timespec){0, START_RETRY_MS * 1000000L}, NULL);
	}
}
