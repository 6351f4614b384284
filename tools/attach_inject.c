/*
 * attach_inject.c - ptrace work for `heapsnap attach` (attach_inject.h).
 *
 * Loading a library into a running process means running dlopen on one of
 * its threads, and dlopen takes the loader's lock and allocates: the thread
 * must not be inside the allocator or the dynamic loader when it is made to
 * call it, or it waits forever for a lock it holds, or corrupts a heap it
 * was halfway through changing.  Only the chosen thread is stopped; the
 * others run on, so a lock that one of them holds is released as usual.
 * The thread is chosen, in this order:
 *
 *  1. a thread blocked in a system call that a program makes only at its
 *     top level, waiting for work (nanosleep, poll, select, accept, wait4,
 *     sigsuspend, recvmsg, ...; never futex or read, which the allocator
 *     and the loader use).  Such a thread holds none of their locks.
 *     These calls restart by themselves after the stop; then the ones that
 *     return EINTR to a stop instead (epoll_wait, sigtimedwait), as under
 *     gdb or strace;
 *  2. else (every thread computes): a thread about to enter malloc, free,
 *     calloc or realloc, caught with a hardware breakpoint on their entry
 *     (debug registers: no byte of code changes), called from outside the
 *     loader.  A thread entering malloc is not inside it: memray waits for
 *     the same moment.  Where the debug registers are accepted but never
 *     fire (some virtual machines: PVM guests), an int3 byte written on
 *     those entries does the same after HW_BREAKPOINT_WAIT_MS; every
 *     thread is then traced (new ones too, PTRACE_O_TRACECLONE), so that
 *     none meets the int3 untraced, and the bytes are put back with every
 *     thread stopped.  HEAPSNAP_ATTACH_BREAKPOINTS=int3 goes to it at
 *     once (the tests).
 *
 * Its stack must have room below the stack pointer (not a small
 * sigaltstack).  The calls run on that stack, below the red zone, and
 * return to address 0: the SIGSEGV there is the end of the call.  The
 * thread's registers, all of its extended state (SSE, AVX) included, are
 * put back before it goes on; an interrupted system call restarts.
 */
#define _GNU_SOURCE
#include "attach_inject.h"

#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif
#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif
#ifndef PTRACE_O_TRACECLONE
#define PTRACE_O_TRACECLONE 8
#endif
#ifndef PTRACE_EVENT_CLONE
#define PTRACE_EVENT_CLONE 3
#endif

#define STACK_ROOM (256 * 1024) /* bytes the calls may use below the stack pointer */
#define RED_ZONE 128
#define CALL_TIMEOUT_MS 60000
#define STOP_TIMEOUT_MS 2000
#define BREAKPOINT_WAIT_MS 10000 /* for a thread to enter the allocator, in all */
#define HW_BREAKPOINT_WAIT_MS 1500 /* of it with debug registers, before int3 */
#define MAX_THREADS 4096
#define MAX_OBJECTS 1024
#define MAPS_MAX (1 << 20) /* bytes of /proc/PID/maps read */

/*
 * The large buffers (a target's object table, 4 MB; the maps text, 1 MB)
 * are allocated when attach or detach runs, never static: every run of
 * the command would carry them otherwise, and a sanitized build's leak
 * check scans all of its static data at each exit (2,600 page faults).
 */

static void fail(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, INJECT_ERR_MAX, fmt, ap);
	va_end(ap);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000L};
	nanosleep(&ts, NULL);
}

/* Read /proc/PID/<what> into buf (NUL-terminated).  Return bytes or -1. */
static ssize_t read_proc(pid_t pid, const char *what, char *buf, size_t cap)
{
	char path[64];
	ssize_t n = 0;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, what);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (ssize_t k; (size_t)n < cap - 1 && (k = read(fd, buf + n, cap - 1 - (size_t)n)) > 0;)
		n += k;
	close(fd);
	buf[n] = 0;
	return n;
}

static ssize_t read_file(const char *path, char *buf, size_t cap)
{
	ssize_t n = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		n = read(fd, buf, cap - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = 0;
	return n;
}

/* The value of "Key:" in /proc/PID/status, or -1. */
static long status_field(pid_t pid, const char *key)
{
	char buf[8192];

	if (read_proc(pid, "status", buf, sizeof(buf)) < 0)
		return -1;
	for (char *line = buf; line && *line;) {
		char *nl = strchr(line, '\n');
		if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == ':')
			return strtol(line + strlen(key) + 1, NULL, 10);
		line = nl ? nl + 1 : NULL;
	}
	return -1;
}

static void comm_of(pid_t pid, char *out, size_t cap)
{
	if (read_proc(pid, "comm", out, cap) <= 0)
		snprintf(out, cap, "?");
	out[strcspn(out, "\n")] = 0;
}

/* ---- reading the target's memory -------------------------------------------------- */

struct target {
	pid_t pid;
	int mem;		 /* /proc/PID/mem */
	struct tobj {
		uint64_t base;	 /* l_addr */
		uint64_t dyn;	 /* l_ld */
		uint64_t lo, hi; /* executable mappings of its file, from maps */
		char name[PATH_MAX];
	} obj[MAX_OBJECTS];
	int nobj;
};

static int peek(const struct target *t, uint64_t addr, void *buf, size_t n)
{
	return pread(t->mem, buf, n, (off_t)addr) == (ssize_t)n ? 0 : -1;
}

static int poke(const struct target *t, uint64_t addr, const void *buf, size_t n)
{
	return pwrite(t->mem, buf, n, (off_t)addr) == (ssize_t)n ? 0 : -1;
}

static int peek_str(const struct target *t, uint64_t addr, char *out, size_t cap)
{
	size_t n = 0;

	while (n + 1 < cap) {
		char c;
		if (peek(t, addr + n, &c, 1))
			return -1;
		out[n++] = c;
		if (!c)
			return 0;
	}
	out[n] = 0;
	return 0;
}

/* Entries of the target's auxiliary vector. */
static uint64_t auxv_get(pid_t pid, uint64_t type)
{
	uint64_t v[2 * 128];
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/auxv", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, v, sizeof(v));
	close(fd);
	for (ssize_t i = 0; i + 1 < n / 8; i += 2)
		if (v[i] == type)
			return v[i + 1];
	return 0;
}

/* A pointer of a dynamic section: ld.so relocates them in place, except in
 * read-only ones (the vDSO). */
static uint64_t dptr(const struct tobj *o, uint64_t v)
{
	return v < o->base ? v + o->base : v;
}

/* The address of r_debug, from the executable's DT_DEBUG. */
static uint64_t find_r_debug(const struct target *t)
{
	uint64_t phdr = auxv_get(t->pid, AT_PHDR), phnum = auxv_get(t->pid, AT_PHNUM), bias = 0, dyn = 0;
	Elf64_Phdr ph;

	for (uint64_t i = 0; i < phnum; i++)
		if (!peek(t, phdr + i * sizeof(ph), &ph, sizeof(ph)) && ph.p_type == PT_PHDR)
			bias = phdr - ph.p_vaddr;
	for (uint64_t i = 0; i < phnum; i++)
		if (!peek(t, phdr + i * sizeof(ph), &ph, sizeof(ph)) && ph.p_type == PT_DYNAMIC)
			dyn = bias + ph.p_vaddr;
	for (Elf64_Dyn d; dyn && !peek(t, dyn, &d, sizeof(d)) && d.d_tag != DT_NULL; dyn += sizeof(d))
		if (d.d_tag == DT_DEBUG)
			return d.d_un.d_ptr;
	return 0;
}

/* Fill each object's executable range from /proc/PID/maps. */
static void add_text_ranges(struct target *t)
{
	char *maps = malloc(MAPS_MAX);

	if (!maps || read_proc(t->pid, "maps", maps, MAPS_MAX) <= 0) {
		free(maps);
		return;
	}
	for (char *line = maps; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		unsigned long lo, hi;
		char perms[8];
		int off = 0;
		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &lo, &hi, perms, &off) >= 3 && off && perms[2] == 'x')
			for (int i = 0; i < t->nobj; i++)
				if (t->obj[i].name[0] && !strcmp(line + off, t->obj[i].name)) {
					if (!t->obj[i].lo || lo < t->obj[i].lo)
						t->obj[i].lo = lo;
					if (hi > t->obj[i].hi)
						t->obj[i].hi = hi;
				}
		line = nl ? nl + 1 : NULL;
	}
	free(maps);
}

/* Read the loaded objects from the dynamic loader's list.  Return 0 or -1. */
static int read_objects(struct target *t, char *err)
{
	uint64_t rd = find_r_debug(t), lm = 0;

	if (!rd || peek(t, rd + 8, &lm, 8) || !lm) {
		fail(err, "process %d has no dynamic loader state (statically linked?)", t->pid);
		return -1;
	}
	t->nobj = 0;
	while (lm && t->nobj < MAX_OBJECTS) {
		uint64_t l[5]; /* l_addr, l_name, l_ld, l_next, l_prev */
		struct tobj *o = &t->obj[t->nobj];
		if (peek(t, lm, l, sizeof(l))) {
			fail(err, "cannot read the loaded objects of process %d", t->pid);
			return -1;
		}
		memset(o, 0, sizeof(*o));
		o->base = l[0];
		o->dyn = l[2];
		if (l[1])
			peek_str(t, l[1], o->name, sizeof(o->name));
		t->nobj++;
		lm = l[3];
	}
	add_text_ranges(t);
	return 0;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

static const struct tobj *find_object(const struct target *t, const char *base_prefix)
{
	for (int i = 0; i < t->nobj; i++)
		if (!strncmp(base_name(t->obj[i].name), base_prefix, strlen(base_prefix)))
			return &t->obj[i];
	return NULL;
}

/* Look name up in object o's GNU hash table (defined functions and
 * objects only).  Return its address or 0. */
static uint64_t lookup(const struct target *t, const struct tobj *o, const char *name)
{
	uint64_t symtab = 0, strtab = 0, gnu = 0, versym = 0, addr = o->dyn;

	for (Elf64_Dyn d; addr && !peek(t, addr, &d, sizeof(d)) && d.d_tag != DT_NULL; addr += sizeof(d)) {
		if (d.d_tag == DT_SYMTAB)
			symtab = dptr(o, d.d_un.d_ptr);
		else if (d.d_tag == DT_STRTAB)
			strtab = dptr(o, d.d_un.d_ptr);
		else if (d.d_tag == DT_GNU_HASH)
			gnu = dptr(o, d.d_un.d_ptr);
		else if (d.d_tag == DT_VERSYM)
			versym = dptr(o, d.d_un.d_ptr);
	}
	if (!symtab || !strtab || !gnu)
		return 0;
	uint32_t h = 5381, hdr[4]; /* nbuckets, symoffset, bloom words, bloom shift */
	for (const unsigned char *c = (const unsigned char *)name; *c; c++)
		h = h * 33 + *c;
	if (peek(t, gnu, hdr, sizeof(hdr)) || !hdr[0])
		return 0;
	uint64_t buckets = gnu + 16 + (uint64_t)hdr[2] * 8, chains = buckets + (uint64_t)hdr[0] * 4;
	uint32_t idx;
	if (peek(t, buckets + (h % hdr[0]) * 4, &idx, 4) || idx < hdr[1])
		return 0;
	uint64_t found = 0;
	for (;; idx++) {
		uint32_t ch;
		Elf64_Sym sym;
		char s[256];
		if (peek(t, chains + (uint64_t)(idx - hdr[1]) * 4, &ch, 4))
			return found;
		if ((ch | 1) == (h | 1) && !peek(t, symtab + (uint64_t)idx * sizeof(sym), &sym, sizeof(sym)) &&
		    sym.st_shndx != SHN_UNDEF && sym.st_value && !peek_str(t, strtab + sym.st_name, s, sizeof(s)) &&
		    !strcmp(s, name)) {
			uint16_t vs = 0;
			if (versym)
				peek(t, versym + (uint64_t)idx * 2, &vs, 2);
			found = o->base + sym.st_value;
			if (!(vs & 0x8000))
				return found; /* the default version */
		}
		if (ch & 1)
			return found;
	}
}

static const struct tobj *object_at(const struct target *t, uint64_t addr)
{
	for (int i = 0; i < t->nobj; i++)
		if (addr >= t->obj[i].lo && addr < t->obj[i].hi)
			return &t->obj[i];
	return NULL;
}

/* The first definition of name in the loader's order: what the global
 * scope binds it to. */
static uint64_t global_def(const struct target *t, const char *name)
{
	for (int i = 0; i < t->nobj; i++) {
		uint64_t a = lookup(t, &t->obj[i], name);
		if (a)
			return a;
	}
	return 0;
}

/* ---- checks -------------------------------------------------------------------------- */

int inject_precheck(pid_t pid, char *err)
{
	char path[64], buf[64];

	if (pid <= 0) {
		fail(err, "%d is not a process id", pid);
		return -1;
	}
	if (pid == getpid()) {
		fail(err, "heapsnap cannot attach to itself");
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%d", pid);
	if (access(path, F_OK)) {
		fail(err, "no process %d", pid);
		return -1;
	}
	if (read_proc(pid, "stat", buf, sizeof(buf)) > 0) {
		const char *p = strrchr(buf, ')');
		if (p && (p[2] == 'Z' || p[2] == 'X')) {
			fail(err, "process %d has exited (a zombie)", pid);
			return -1;
		}
	}
	/* The executable's ELF header, if we may read it (else ptrace's
	 * refusal will say why). */
	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int ok = pread(fd, &eh, sizeof(eh), 0) == (ssize_t)sizeof(eh) && !memcmp(eh.e_ident, ELFMAG, SELFMAG);
	int interp = 0;
	if (ok && (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64)) {
		close(fd);
		fail(err, "process %d is not an x86-64 program: heapsnap attach supports x86-64 only", pid);
		return -1;
	}
	for (int i = 0; ok && i < eh.e_phnum; i++)
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)) == (ssize_t)sizeof(ph) &&
		    ph.p_type == PT_INTERP)
			interp = 1;
	close(fd);
	if (ok && !interp) {
		fail(err, "process %d is statically linked: there is no dynamic loader to load the shim with", pid);
		return -1;
	}
	return 0;
}

/* Why PTRACE_SEIZE of pid failed with error e: one line with what to do. */
static void explain_refusal(pid_t pid, int e, char *err)
{
	char comm[64], buf[16];
	long tracer = status_field(pid, "TracerPid");
	struct stat st;
	char path[64];

	comm_of(pid, comm, sizeof(comm));
	if (e == ESRCH) {
		fail(err, "process %d (%s) went away", pid, comm);
		return;
	}
	if (tracer > 0) {
		char tcomm[64];
		comm_of((pid_t)tracer, tcomm, sizeof(tcomm));
		fail(err, "process %d (%s) is already traced by process %ld (%s): detach that debugger or tracer first",
		     pid, comm, tracer, tcomm);
		return;
	}
	snprintf(path, sizeof(path), "/proc/%d", pid);
	uid_t me = geteuid();
	if (e == EPERM && !stat(path, &st) && st.st_uid != me && me != 0) {
		fail(err, "process %d (%s) belongs to user %u: run heapsnap as that user, or as root", pid, comm,
		     (unsigned)st.st_uid);
		return;
	}
	if (e == EPERM && read_file("/proc/sys/kernel/yama/ptrace_scope", buf, sizeof(buf)) > 0 && atoi(buf) > 0) {
		int scope = atoi(buf);
		fail(err,
		     scope >= 3 ? "ptrace is disabled on this system (kernel.yama.ptrace_scope = 3)"
		     : scope == 2
			     ? "kernel.yama.ptrace_scope = 2: only root (CAP_SYS_PTRACE) may attach; run heapsnap as root"
			     : "kernel.yama.ptrace_scope = 1: only a parent may attach to process %d; run heapsnap as root, "
			       "or set the sysctl to 0",
		     pid);
		return;
	}
	if (e == EPERM) {
		fail(err,
		     "not permitted to trace process %d (%s): it may not be dumpable (setuid, or prctl), or a "
		     "security module refuses; run heapsnap as root",
		     pid, comm);
		return;
	}
	fail(err, "cannot trace process %d (%s): %s", pid, comm, strerror(e));
}

/* ---- one stopped thread -------------------------------------------------------------- */

struct stopped {
	pid_t tid;
	int pending_sig;	      /* the stop was this signal's delivery: pass it on */
	struct user_regs_struct regs; /* as it was stopped */
	uint8_t xstate[16384];	      /* its extended state */
	struct iovec xiov;	      /* xstate, with its size */
	int have_xstate;	      /* from PTRACE_GETREGSET; else fp */
	struct user_fpregs_struct fp;
	double since;		      /* when it stopped (ms) */
};

/* Wait for tid's next stop within ms.  Return the status, 0 on timeout,
 * -1 if it is gone. */
static int wait_stop(pid_t tid, int ms)
{
	int status;
	double until = now_ms() + ms;

	for (;;) {
		pid_t r = waitpid(tid, &status, __WALL | WNOHANG);
		if (r == tid)
			return WIFSTOPPED(status) ? status : -1;
		if (r < 0 && errno != EINTR)
			return -1;
		if (now_ms() > until)
			return 0;
		sleep_us(50); /* the stop is usually a few microseconds away */
	}
}

/* Seize tid and stop it.  Return 0, or -1 (errno: the seize failed; 0: it
 * did not stop or went away, and is let go). */
static int stop_thread(pid_t tid, struct stopped *s)
{
	int status;

	if (ptrace(PTRACE_SEIZE, tid, 0, 0))
		return -1;
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) || (status = wait_stop(tid, STOP_TIMEOUT_MS)) <= 0) {
		ptrace(PTRACE_DETACH, tid, 0, 0);
		errno = 0;
		return -1;
	}
	s->tid = tid;
	s->since = now_ms();
	/* A signal on its way to the thread stopped it before the interrupt
	 * did: it is delivered when the thread is let go. */
	s->pending_sig = (status >> 16) == 0 && WSTOPSIG(status) != SIGTRAP ? WSTOPSIG(status) : 0;
	if (ptrace(PTRACE_GETREGS, tid, 0, &s->regs)) {
		ptrace(PTRACE_DETACH, tid, 0, (void *)(long)s->pending_sig);
		errno = 0;
		return -1;
	}
	return 0;
}

/* Let a stopped thread go, its registers untouched. */
static void let_go(const struct stopped *s)
{
	ptrace(PTRACE_DETACH, s->tid, 0, (void *)(long)s->pending_sig);
}

static void save_fpu(struct stopped *s)
{
	s->xiov.iov_base = s->xstate;
	s->xiov.iov_len = sizeof(s->xstate);
	s->have_xstate = !ptrace(PTRACE_GETREGSET, s->tid, (void *)NT_X86_XSTATE, &s->xiov);
	if (!s->have_xstate)
		ptrace(PTRACE_GETFPREGS, s->tid, 0, &s->fp);
}

/* Put the thread's registers back and let it go. */
static void release_thread(struct stopped *s)
{
	ptrace(PTRACE_SETREGS, s->tid, 0, &s->regs);
	if (s->have_xstate)
		ptrace(PTRACE_SETREGSET, s->tid, (void *)NT_X86_XSTATE, &s->xiov);
	else
		ptrace(PTRACE_SETFPREGS, s->tid, 0, &s->fp);
	let_go(s);
}

/* Room on the stack mapping below sp (the main stack can grow). */
static int stack_has_room(pid_t pid, uint64_t sp)
{
	char *maps = malloc(MAPS_MAX);
	int room = 0;

	if (!maps || read_proc(pid, "maps", maps, MAPS_MAX) <= 0) {
		free(maps);
		return 0;
	}
	for (char *line = maps; line && *line;) {
		char *nl = strchr(line, '\n');
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && sp > lo && sp <= hi) {
			room = strstr(line, "[stack]") || sp - lo >= STACK_ROOM;
			break;
		}
		line = nl ? nl + 1 : NULL;
	}
	free(maps);
	return room;
}

/*
 * Call fn(a0, a1) in the stopped thread on its own stack, below sp.
 * Return 0 with *ret, or -1.
 */
static int remote_call(const struct target *t, struct stopped *s, uint64_t fn, uint64_t a0, uint64_t a1, uint64_t sp,
		       uint64_t *ret, char *err)
{
	struct user_regs_struct r = s->regs;
	uint64_t zero = 0;

	sp = (sp & ~15ull) - 8; /* as after a call: rsp + 8 aligned to 16 */
	if (poke(t, sp, &zero, 8)) {
		fail(err, "cannot write to the stack of thread %d", s->tid);
		return -1;
	}
	r.rip = fn;
	r.rdi = a0;
	r.rsi = a1;
	r.rax = 0;
	r.rsp = sp;
	r.orig_rax = (unsigned long long)-1; /* no system call restart on these registers */
	if (ptrace(PTRACE_SETREGS, s->tid, 0, &r) || ptrace(PTRACE_CONT, s->tid, 0, 0)) {
		fail(err, "cannot run code in thread %d: %s", s->tid, strerror(errno));
		return -1;
	}
	for (;;) {
		int status = wait_stop(s->tid, CALL_TIMEOUT_MS);
		if (status <= 0) {
			fail(err, status ? "process %d exited during the attach"
					 : "thread %d did not come back from the call into the process",
			     status ? t->pid : s->tid);
			return -1;
		}
		int sig = WSTOPSIG(status);
		if ((status >> 16) == PTRACE_EVENT_STOP || sig == SIGTRAP) {
			ptrace(PTRACE_CONT, s->tid, 0, 0);
			continue;
		}
		if (sig == SIGSEGV && !ptrace(PTRACE_GETREGS, s->tid, 0, &r) && r.rip == 0) {
			*ret = r.rax;
			return 0;
		}
		if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE) {
			fail(err, "the call into process %d crashed (signal %d at %#llx)", t->pid, sig, r.rip);
			return -1;
		}
		/* a signal for the program: its handler runs, as anywhere */
		ptrace(PTRACE_CONT, s->tid, 0, (void *)(long)sig);
	}
}

/* ---- finding a safe point -------------------------------------------------------------- */

/* Waiting calls that restart by themselves after a ptrace stop. */
static const long quiet_calls[] = {
	SYS_nanosleep, SYS_clock_nanosleep, SYS_poll,	 SYS_ppoll, SYS_select,	 SYS_pselect6,
	SYS_pause,     SYS_rt_sigsuspend,   SYS_accept,	 SYS_accept4, SYS_wait4, SYS_waitid,
	SYS_recvfrom,  SYS_recvmsg,	    SYS_msgrcv,
};
/* Waiting calls that return EINTR to one. */
static const long eintr_calls[] = {SYS_epoll_wait, SYS_epoll_pwait, SYS_rt_sigtimedwait,
#ifdef SYS_epoll_pwait2
				   SYS_epoll_pwait2
#endif
};

static int in_list(long nr, const long *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == nr)
			return 1;
	return 0;
}

static int list_threads(pid_t pid, pid_t *out, int cap)
{
	char path[64];
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	for (struct dirent *e; (e = readdir(d)) && n < cap;)
		if (e->d_name[0] != '.')
			out[n++] = (pid_t)atoi(e->d_name);
	closedir(d);
	return n;
}

/* The system call tid is blocked in, from /proc (-1 if running). */
static long blocked_in(pid_t pid, pid_t tid)
{
	char what[64], buf[256];

	snprintf(what, sizeof(what), "task/%d/syscall", tid);
	if (read_proc(pid, what, buf, sizeof(buf)) <= 0 || buf[0] < '0' || buf[0] > '9')
		return -1;
	return strtol(buf, NULL, 10);
}

/* Stop a thread blocked in one of the calls in list; the stop must show it
 * still there.  Return 0 with *s, or -1 (seize_errno set on a refusal). */
static int stop_waiting_thread(const struct target *t, const pid_t *tids, int n, const long *list, size_t nl,
			       struct stopped *s, int *seize_errno)
{
	for (int i = 0; i < n; i++) {
		long nr = blocked_in(t->pid, tids[i]);
		if (nr < 0 || !in_list(nr, list, nl))
			continue;
		if (stop_thread(tids[i], s)) {
			if (errno)
				*seize_errno = errno;
			if (errno == EPERM)
				return -1;
			continue;
		}
		uint16_t insn = 0;
		peek(t, s->regs.rip - 2, &insn, 2);
		if ((long)s->regs.orig_rax == nr && insn == 0x050f /* syscall */ &&
		    stack_has_room(t->pid, s->regs.rsp)) {
			save_fpu(s);
			return 0;
		}
		let_go(s);
	}
	return -1;
}

#define DR_OFF(i) (offsetof(struct user, u_debugreg) + (i) * sizeof(long))

/* Set (addr != NULL) or clear the four debug registers of stopped tid. */
static int set_breakpoints(pid_t tid, const uint64_t *addr)
{
	unsigned long dr7 = 0;

	if (ptrace(PTRACE_POKEUSER, tid, (void *)DR_OFF(7), 0))
		return -1;
	for (int i = 0; i < 4 && addr; i++) {
		if (!addr[i])
			continue;
		if (ptrace(PTRACE_POKEUSER, tid, (void *)DR_OFF(i), (void *)addr[i]))
			return -1;
		dr7 |= 1ul << (2 * i); /* local enable; condition 00: execution, length 00 */
	}
	ptrace(PTRACE_POKEUSER, tid, (void *)DR_OFF(6), 0);
	return dr7 && ptrace(PTRACE_POKEUSER, tid, (void *)DR_OFF(7), (void *)dr7) ? -1 : 0;
}

/*
 * Every thread computes: catch one entering the allocator.  Each thread is
 * stopped briefly to arm its debug registers, then runs until one of them
 * reaches malloc, free, calloc or realloc from outside the loader.  Return
 * 0 with that thread in *s, every other one let go, or -1.
 */
static void note_pause(double *max, double ms)
{
	if (ms > *max)
		*max = ms;
}

/* The next ptrace stop of any traced thread before until (ms): its tid
 * with *status, or 0 (a thread that exits is passed over). */
static pid_t next_stop(double until, int *status)
{
	while (now_ms() < until) {
		pid_t w = waitpid(-1, status, __WALL | WNOHANG);
		if (w > 0 && WIFSTOPPED(*status))
			return w;
		if (w <= 0)
			sleep_us(100);
	}
	return 0;
}

static int catch_allocating_thread(const struct target *t, const pid_t *tids, int n, struct stopped *s,
				   int *seize_errno, double *others_ms, char *err)
{
	static const char *const entries[4] = {"malloc", "free", "calloc", "realloc"};
	pid_t armed[MAX_THREADS];
	uint64_t addr[4];
	int narmed = 0, rc = -1;
	const struct tobj *ld = NULL;
	uint64_t ld_base = auxv_get(t->pid, AT_BASE);

	for (int i = 0; i < 4; i++)
		addr[i] = global_def(t, entries[i]);
	for (int i = 0; i < t->nobj; i++)
		if (t->obj[i].base == ld_base)
			ld = &t->obj[i];
	for (int i = 0; i < n; i++) {
		struct stopped tmp;
		if (stop_thread(tids[i], &tmp)) {
			if (errno)
				*seize_errno = errno;
			continue;
		}
		if (set_breakpoints(tids[i], addr)) {
			let_go(&tmp);
			continue;
		}
		armed[narmed++] = tids[i];
		ptrace(PTRACE_CONT, tids[i], 0, (void *)(long)tmp.pending_sig);
		note_pause(others_ms, now_ms() - tmp.since);
	}
	if (!narmed) {
		fail(err, "cannot set breakpoints in process %d", t->pid);
		return -1;
	}
	double until = now_ms() + HW_BREAKPOINT_WAIT_MS;
	pid_t hit = 0;
	int status;
	for (pid_t w; !hit && (w = next_stop(until, &status));) {
		int sig = WSTOPSIG(status);
		long dr6 = sig == SIGTRAP && !(status >> 16) ? ptrace(PTRACE_PEEKUSER, w, (void *)DR_OFF(6), 0) : 0;
		if (!(dr6 & 0xf)) { /* not our breakpoint: the program's signal */
			ptrace(PTRACE_CONT, w, 0, (status >> 16) ? 0 : (void *)(long)sig);
			continue;
		}
		struct user_regs_struct r;
		uint64_t ret = 0;
		ptrace(PTRACE_GETREGS, w, 0, &r);
		peek(t, r.rsp, &ret, 8);
		const struct tobj *caller = object_at(t, ret);
		if ((!ld || caller != ld) && stack_has_room(t->pid, r.rsp)) {
			hit = w;
			s->tid = w;
			s->regs = r;
			s->since = now_ms();
			break;
		}
		r.eflags |= 1 << 16; /* RF: go past this breakpoint once */
		ptrace(PTRACE_SETREGS, w, 0, &r);
		ptrace(PTRACE_CONT, w, 0, 0);
	}
	/* Disarm everyone; the caught thread stays stopped. */
	for (int i = 0; i < narmed; i++) {
		if (armed[i] == hit) {
			set_breakpoints(hit, NULL);
			continue;
		}
		int sig = 0, st;
		double since = now_ms();
		if (ptrace(PTRACE_INTERRUPT, armed[i], 0, 0) == 0 && (st = wait_stop(armed[i], STOP_TIMEOUT_MS)) > 0) {
			/* our breakpoint or interrupt, or a signal for the
			 * program, passed on when the thread goes */
			if (!(st >> 16) && WSTOPSIG(st) != SIGTRAP)
				sig = WSTOPSIG(st);
			set_breakpoints(armed[i], NULL);
		}
		ptrace(PTRACE_DETACH, armed[i], 0, (void *)(long)sig);
		note_pause(others_ms, now_ms() - since);
	}
	if (hit) {
		save_fpu(s);
		rc = 0;
	}
	return rc;
}

/* ---- the same with int3 ------------------------------------------------------------------ */

struct soft_bp {
	uint64_t addr[4];
	uint8_t orig[4];
	int armed[4];
	pid_t tids[MAX_THREADS]; /* every thread, traced */
	int sig[MAX_THREADS];	 /* the signal each was stopped by, to pass on */
	int n;
};

static int bp_index(const struct soft_bp *b, uint64_t rip)
{
	for (int i = 0; i < 4; i++)
		if (b->addr[i] && rip == b->addr[i] + 1)
			return i;
	return -1;
}

static void bp_restore(const struct target *t, struct soft_bp *b, int i)
{
	if (b->armed[i] && !poke(t, b->addr[i], &b->orig[i], 1))
		b->armed[i] = 0;
}

/* A thread stopped by an int3 of ours (status from waitpid): put its rip
 * back on the entry, which runs as it was once the byte is restored. */
static int rewind_if_ours(const struct soft_bp *b, pid_t tid, int status, struct user_regs_struct *r)
{
	if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGTRAP || (status >> 16) ||
	    ptrace(PTRACE_GETREGS, tid, 0, r) || bp_index(b, r->rip) < 0)
		return 0;
	r->rip--;
	ptrace(PTRACE_SETREGS, tid, 0, r);
	return 1;
}

/* Trace every thread of the process, each stopped; 0, or -1 (all let go). */
static int seize_all(const struct target *t, struct soft_bp *b, int *seize_errno)
{
	pid_t tids[MAX_THREADS];
	int n = list_threads(t->pid, tids, MAX_THREADS);

	b->n = 0;
	for (int i = 0; i < n; i++) {
		int st;
		if (ptrace(PTRACE_SEIZE, tids[i], 0, (void *)(long)PTRACE_O_TRACECLONE) ||
		    ptrace(PTRACE_INTERRUPT, tids[i], 0, 0) || (st = wait_stop(tids[i], STOP_TIMEOUT_MS)) <= 0) {
			if (errno)
				*seize_errno = errno;
			ptrace(PTRACE_DETACH, tids[i], 0, 0);
			goto undo;
		}
		/* a signal's delivery stopped it first: passed on when it goes
		 * (the interrupt's own stop follows, and is let go too) */
		b->sig[b->n] = !(st >> 16) && WSTOPSIG(st) != SIGTRAP ? WSTOPSIG(st) : 0;
		b->tids[b->n++] = tids[i];
	}
	/* a thread made meanwhile is not traced: int3 would kill the process */
	if (list_threads(t->pid, tids, MAX_THREADS) == b->n)
		return 0;
undo:
	for (int i = 0; i < b->n; i++)
		ptrace(PTRACE_DETACH, b->tids[i], 0, (void *)(long)b->sig[i]);
	b->n = 0;
	return -1;
}

/* Stop every traced thread but keep, restore the bytes, rewind the
 * threads an int3 stopped, and let them go. */
static void soft_disarm(const struct target *t, struct soft_bp *b, pid_t keep, double *others_ms)
{
	static int sigs[MAX_THREADS];
	struct user_regs_struct r;

	/* b->n grows when a thread stops in a clone: its child is traced too */
	for (int i = 0; i < b->n; i++) {
		int st;
		sigs[i] = 0;
		if (b->tids[i] == keep)
			continue;
		double since = now_ms();
		if (ptrace(PTRACE_INTERRUPT, b->tids[i], 0, 0) == 0 && (st = wait_stop(b->tids[i], STOP_TIMEOUT_MS)) > 0) {
			unsigned long child = 0;
			if ((st >> 16) == PTRACE_EVENT_CLONE && !ptrace(PTRACE_GETEVENTMSG, b->tids[i], 0, &child) &&
			    b->n < MAX_THREADS)
				b->tids[b->n++] = (pid_t)child;
			else if (!rewind_if_ours(b, b->tids[i], st, &r) && !(st >> 16))
				sigs[i] = WSTOPSIG(st);
		}
		note_pause(others_ms, now_ms() - since);
	}
	for (int i = 0; i < 4; i++)
		bp_restore(t, b, i);
	for (int i = 0; i < b->n; i++)
		if (b->tids[i] != keep)
			ptrace(PTRACE_DETACH, b->tids[i], 0, (void *)(long)sigs[i]);
}

static int catch_with_int3(const struct target *t, struct stopped *s, int *seize_errno, double *others_ms,
			   int wait_ms)
{
	static const char *const entries[4] = {"malloc", "free", "calloc", "realloc"};
	static struct soft_bp b; /* large; attach is single-threaded */
	const struct tobj *ld = NULL;
	uint64_t ld_base = auxv_get(t->pid, AT_BASE);
	uint8_t cc = 0xcc;
	double since = now_ms();

	memset(&b, 0, sizeof(b));
	for (int i = 0; i < t->nobj; i++)
		if (t->obj[i].base == ld_base)
			ld = &t->obj[i];
	if (seize_all(t, &b, seize_errno))
		return -1;
	for (int i = 0; i < 4; i++) {
		b.addr[i] = global_def(t, entries[i]);
		for (int j = 0; j < i; j++)
			if (b.addr[j] == b.addr[i])
				b.addr[i] = 0; /* aliases: one byte */
		if (b.addr[i] && !peek(t, b.addr[i], &b.orig[i], 1) && b.orig[i] != 0xcc && !poke(t, b.addr[i], &cc, 1))
			b.armed[i] = 1;
	}
	for (int i = 0; i < b.n; i++)
		ptrace(PTRACE_CONT, b.tids[i], 0, (void *)(long)b.sig[i]);
	note_pause(others_ms, now_ms() - since);
	double until = now_ms() + wait_ms;
	pid_t hit = 0;
	int status;
	for (pid_t w; !hit && (b.armed[0] || b.armed[1] || b.armed[2] || b.armed[3]) && (w = next_stop(until, &status));) {
		struct user_regs_struct r;
		if ((status >> 16) == PTRACE_EVENT_CLONE) {
			unsigned long child = 0;
			if (!ptrace(PTRACE_GETEVENTMSG, w, 0, &child) && b.n < MAX_THREADS)
				b.tids[b.n++] = (pid_t)child; /* traced from its start; reports a stop */
			ptrace(PTRACE_CONT, w, 0, 0);
			continue;
		}
		int known = 0;
		for (int i = 0; i < b.n; i++)
			known |= b.tids[i] == w;
		if (!known && b.n < MAX_THREADS)
			b.tids[b.n++] = w; /* a new thread's first stop came before its parent's event */
		if (!rewind_if_ours(&b, w, status, &r)) {
			/* an interrupt's or a new thread's stop (an event), or the
			 * program's own signal, SIGTRAP too */
			int sig = (status >> 16) ? 0 : WSTOPSIG(status);
			ptrace(PTRACE_CONT, w, 0, (void *)(long)sig);
			continue;
		}
		uint64_t ret = 0;
		peek(t, r.rsp, &ret, 8);
		const struct tobj *caller = object_at(t, ret);
		if ((!ld || caller != ld) && stack_has_room(t->pid, r.rsp)) {
			hit = w;
			ptrace(PTRACE_SETOPTIONS, w, 0, 0); /* the shim's own threads are not ours to trace */
			s->tid = w;
			s->regs = r;
			s->pending_sig = 0;
			s->since = now_ms();
			break;
		}
		/* the loader's call: this entry is given up, the others stay */
		bp_restore(t, &b, bp_index(&b, r.rip + 1));
		ptrace(PTRACE_CONT, w, 0, 0);
	}
	soft_disarm(t, &b, hit, others_ms);
	if (!hit)
		return -1;
	save_fpu(s);
	return 0;
}

/* Stop a thread at a safe point (see the top of this file). */
static int stop_at_safe_point(const struct target *t, struct stopped *s, struct inject_stats *st, char *err)
{
	pid_t tids[MAX_THREADS];
	int n = list_threads(t->pid, tids, MAX_THREADS), seize_errno = 0;

	if (!n) {
		fail(err, "no process %d", t->pid);
		return -1;
	}
	if (!stop_waiting_thread(t, tids, n, quiet_calls, sizeof(quiet_calls) / sizeof(quiet_calls[0]), s,
				 &seize_errno)) {
		st->how = "blocked in a system call";
		return 0;
	}
	if (seize_errno == EPERM)
		goto refused;
	if (!stop_waiting_thread(t, tids, n, eintr_calls, sizeof(eintr_calls) / sizeof(eintr_calls[0]), s,
				 &seize_errno)) {
		st->how = "blocked in a system call (it returns EINTR)";
		return 0;
	}
	if (seize_errno == EPERM)
		goto refused;
	double t0 = now_ms();
	const char *bp = getenv("HEAPSNAP_ATTACH_BREAKPOINTS"); /* "int3": the fallback alone (tests) */
	if ((!bp || strcmp(bp, "int3")) && !catch_allocating_thread(t, tids, n, s, &seize_errno, &st->others_ms, err)) {
		st->how = "entering the allocator";
		return 0;
	}
	if (seize_errno == EPERM)
		goto refused;
	if (!catch_with_int3(t, s, &seize_errno, &st->others_ms, BREAKPOINT_WAIT_MS - (int)(now_ms() - t0))) {
		st->how = "entering the allocator (int3)";
		return 0;
	}
	if (!seize_errno || seize_errno == ESRCH) {
		fail(err, "no thread of process %d reached a safe point (blocked in a wait, or entering malloc) within %d s",
			     t->pid, BREAKPOINT_WAIT_MS / 1000);
		return -1;
	}
refused:
	explain_refusal(t->pid, seize_errno, err);
	return -1;
}

/* ---- attach ------------------------------------------------------------------------------ */

/* Is the preloaded shim in the process (heapsnap run)? */
static int has_preload_shim(const struct target *t)
{
	return find_object(t, "libheapsnap.so") != NULL;
}

/* Copy s onto the stack below *sp; return its address. */
static uint64_t push_string(const struct target *t, uint64_t *sp, const char *s)
{
	size_t n = strlen(s) + 1;

	*sp = (*sp - n) & ~15ull;
	return poke(t, *sp, s, n) ? 0 : *sp;
}

int inject_attach(pid_t pid, const char *shim_path, const char *args, int *rc, struct inject_stats *st,
		  char *err)
{
	struct target *t = calloc(1, sizeof(*t));
	struct stopped s = {0};
	char path[64];
	int ret = -1;

	memset(st, 0, sizeof(*st));
	if (!t) {
		fail(err, "out of memory");
		return -1;
	}
	t->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	t->mem = open(path, O_RDWR | O_CLOEXEC);
	if (t->mem < 0) {
		int e = errno == EACCES ? EPERM : errno;
		explain_refusal(pid, e, err);
		free(t);
		return -1;
	}
	if (read_objects(t, err))
		goto out;
	const struct tobj *libc = find_object(t, "libc.so.6");
	if (!libc) {
		fail(err, "process %d does not use glibc (no libc.so.6 is loaded): heapsnap attach needs glibc", pid);
		goto out;
	}
	if (has_preload_shim(t)) {
		fail(err, "process %d is already traced by heapsnap run (libheapsnap.so is preloaded)", pid);
		goto out;
	}
	uint64_t dlopen_fn = lookup(t, libc, "dlopen"), dlerror_fn = lookup(t, libc, "dlerror");
	if (!dlopen_fn) {
		fail(err, "the glibc of process %d is older than 2.34 (no dlopen in libc.so.6)", pid);
		goto out;
	}
	double t0 = now_ms();
	if (stop_at_safe_point(t, &s, st, err))
		goto out;
	st->tid = s.tid;
	st->wait_ms = s.since - t0;
	uint64_t sp = s.regs.rsp - RED_ZONE, ret_v = 0;
	const struct tobj *shim = find_object(t, "libheapsnap-attach.so");
	if (!shim) {
		uint64_t a = push_string(t, &sp, shim_path);
		if (!a || remote_call(t, &s, dlopen_fn, a, RTLD_NOW | RTLD_LOCAL, sp, &ret_v, err))
			goto release;
		if (!ret_v) {
			char msg[400] = "unknown error";
			uint64_t m = 0;
			if (dlerror_fn && !remote_call(t, &s, dlerror_fn, 0, 0, sp, &m, err) && m)
				peek_str(t, m, msg, sizeof(msg));
			fail(err, "cannot load %s into process %d: %s", shim_path, pid, msg);
			goto release;
		}
		st->loaded = 1;
		if (read_objects(t, err))
			goto release;
		shim = find_object(t, "libheapsnap-attach.so");
	}
	uint64_t entry = shim ? lookup(t, shim, "heapsnap_rt_attach") : 0;
	if (!entry) {
		fail(err, "process %d has a libheapsnap-attach.so without heapsnap_rt_attach", pid);
		goto release;
	}
	uint64_t a = push_string(t, &sp, args);
	if (!a || remote_call(t, &s, entry, a, 0, sp, &ret_v, err))
		goto release;
	*rc = (int)ret_v;
	ret = 0;
release:
	release_thread(&s);
	st->pause_ms = now_ms() - s.since;
out:
	close(t->mem);
	free(t);
	return ret;
}

/* ---- detach: every thread out of the shim ------------------------------------------------ */

int inject_parse_quiesce(const char *s, struct quiesce_req *q)
{
	unsigned long lo, hi;
	long self;

	if (sscanf(s, "%ld %zu %zu %zu %d %lu %lu %ld", &q->tls_off, &q->state_off, &q->depth_off, &q->ring_off,
		   &q->active, &lo, &hi, &self) != 8)
		return -1;
	q->text_lo = lo;
	q->text_hi = hi;
	q->self = (pid_t)self;
	return 0;
}

/* Check a stopped thread; reset its state if it is out.  Return 1 if out. */
static int thread_out(const struct target *t, const struct stopped *s, const struct quiesce_req *q)
{
	uint64_t tls = s->regs.fs_base + (uint64_t)q->tls_off;
	uint8_t state = 0, depth = 0;

	if (s->regs.rip >= q->text_lo && s->regs.rip < q->text_hi)
		return 0;
	if (peek(t, tls + q->depth_off, &depth, 1) || peek(t, tls + q->state_off, &state, 1))
		return 1; /* no TLS block of ours: a thread the shim never saw */
	if (depth)
		return 0;
	if (state == (uint8_t)q->active) {
		uint8_t uninit = 0;
		uint64_t null = 0;
		poke(t, tls + q->ring_off, &null, 8);
		poke(t, tls + q->state_off, &uninit, 1);
	}
	return 1;
}

int inject_quiesce(pid_t pid, const struct quiesce_req *q, int timeout_ms, double *max_pause_ms)
{
	struct target *t = calloc(1, sizeof(*t));
	pid_t tids[MAX_THREADS], done[MAX_THREADS];
	struct stopped s;
	char path[64];
	int ndone = 0, busy = 0;
	double until = now_ms() + timeout_ms;

	*max_pause_ms = 0;
	if (!t)
		return 0;
	t->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	t->mem = open(path, O_RDWR | O_CLOEXEC);
	if (t->mem < 0) {
		free(t);
		return 0;
	}
	for (;;) {
		int n = list_threads(pid, tids, MAX_THREADS);
		busy = 0;
		for (int i = 0; i < n; i++) {
			int seen = tids[i] == q->self;
			for (int k = 0; k < ndone && !seen; k++)
				seen = done[k] == tids[i];
			if (seen)
				continue;
			if (stop_thread(tids[i], &s)) {
				char task[64];
				snprintf(task, sizeof(task), "/proc/%d/task/%d", pid, tids[i]);
				if (!access(task, F_OK))
					busy++; /* still there, and did not stop */
				continue;
			}
			int out = thread_out(t, &s, q);
			let_go(&s);
			double pause = now_ms() - s.since;
			if (pause > *max_pause_ms)
				*max_pause_ms = pause;
			if (out && ndone < MAX_THREADS)
				done[ndone++] = tids[i];
			else
				busy++;
		}
		if (!busy || now_ms() > until)
			break;
		sleep_us(2000);
	}
	close(t->mem);
	free(t);
	return !busy;
}
