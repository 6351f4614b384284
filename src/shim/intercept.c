/*
 * intercept.c - process events the trace must follow: exit, _exit/_Exit,
 * the exec family and dlclose; munmap, mremap, mprotect and madvise,
 * which may take stack memory away from under the unwinder's memo; and
 * pthread_setspecific and pthread_key_delete, which may change the
 * interpreter's thread state of a thread (python.c).  (dlopen is noticed by the collector, which
 * compares dl_iterate_phdr's load counters every cycle: wrapping dlopen
 * would make the shim its caller and change the library search path that
 * glibc derives from the caller's RUNPATH.)  fork is handled with
 * pthread_atfork in init.c; thread exit with a pthread key destructor.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim/clock.h"
#include "shim/control.h"
#include "shim/dynsym.h"
#include "shim/intercept.h"
#include "shim/log.h"
#include "shim/modules.h"
#include "shim/shim.h"
#include "shim/stack.h"
#include "shim/tls.h"
#include "shim/unwind.h"
#include "trace/format.h"
#include "util/atomic.h"
#include "util/compiler.h"

/*
 * The next definitions (libc's) of what this file wraps.  Found in the
 * symbol tables, not with dlsym, which frees and allocates the program's
 * dlerror state (dynsym.h); and all at load time (intercept_resolve), so
 * that _exit in a signal handler never needs the loader's lock.
 */
enum next_id { NEXT_START_MAIN, NEXT_EXIT, NEXT__EXIT, NEXT__EXIT_C99, NEXT_EXECVE, NEXT_EXECVPE,
	       NEXT_FEXECVE, NEXT_DLCLOSE, NEXT_SETUID, NEXT_SETGID, NEXT_SETEUID, NEXT_SETEGID,
	       NEXT_SETREUID, NEXT_SETREGID, NEXT_SETRESUID, NEXT_SETRESGID, NEXT_SETGROUPS,
	       NEXT_INITGROUPS, NEXT_UNSHARE, NEXT_SETNS, NEXT_SETSPECIFIC, NEXT_KEY_DELETE, NEXT_COUNT };
static const char *const next_names[NEXT_COUNT] = {
	"__libc_start_main", "exit", "_exit", "_Exit", "execve", "execvpe", "fexecve", "dlclose",
	"setuid", "setgid", "seteuid", "setegid", "setreuid", "setregid", "setresuid", "setresgid",
	"setgroups", "initgroups", "unshare", "setns", "pthread_setspecific", "pthread_key_delete",
};
static _Atomic(void *) next_fns[NEXT_COUNT];

/* The next definition of function id, or abort: without it the program
 * cannot go on.  Used outside allocation hooks only. */
static void *next_fn(enum next_id id)
{
	/* relaxed: every thread that looks finds the same address */
	void *f = atomic_load_rlx(&next_fns[id]);

	if (HS_LIKELY(f != NULL))
		return f;
	f = dynsym_next(next_names[id]);
	if (!f) {
		log_warn("cannot find the next definition of ", next_names[id], "");
		abort();
	}
	atomic_store_rlx(&next_fns[id], f); /* relaxed: as above */
	return f;
}

void intercept_resolve(void)
{
	for (int id = 0; id < NEXT_COUNT; id++) {
		void *f = dynsym_next(next_names[id]);
		if (f) /* else (dlclose in an old libdl not loaded yet) when called */
			atomic_store_rlx(&next_fns[id], f); /* relaxed: see next_fn */
	}
}

/*
 * Returning from main calls exit inside glibc, where no wrapper sees it:
 * to record the status, main itself is wrapped, from __libc_start_main.
 */
typedef int (*main_fn)(int, char **, char **);
static main_fn program_main;

/*
 * Zero the dead part of the stack below the caller.  The shim's hooks run
 * deep below the program's frames and leave the addresses of the blocks
 * they returned in slots there; the exit path (exit, _dl_fini, the
 * destructors) then runs over that area, and the pointer scan would read
 * those leftovers in its unset slots as live pointers, hiding leaks that
 * Valgrind, which leaves no such residue, reports.
 */
#define SCRUB_MAX (64 * 1024)
#define SCRUB_CHUNK 4096

/* Bytes of this thread's stack below the caller's frame (0 if unknown).
 * pthread_getattr_np allocates for the main thread: as shim-internal. */
static size_t stack_room(void)
{
	struct tls_state *t = &tls;
	uint8_t saved = t->state;
	pthread_attr_t attr;
	void *lo = NULL;
	size_t size = 0;

	t->state = TS_INTERNAL;
	if (!pthread_getattr_np(pthread_self(), &attr)) {
		pthread_attr_getstack(&attr, &lo, &size);
		pthread_attr_destroy(&attr);
	}
	t->state = saved;
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	return lo && here > (uintptr_t)lo + SCRUB_CHUNK ? here - (uintptr_t)lo - SCRUB_CHUNK : 0;
}

/* Zero 4 KiB below the caller, and recurse for the next 4 KiB. */
static HS_NOINLINE void scrub_chunks(size_t left)
{
	char area[SCRUB_CHUNK];

	explicit_bzero(area, sizeof(area));
	if (left > 2 * SCRUB_CHUNK)
		scrub_chunks(left - SCRUB_CHUNK);
	__asm__ volatile("" : : "r"(area) : "memory"); /* keep the frame: no tail call */
}

static HS_NOINLINE void scrub_dead_stack(void)
{
	if (!shim_on())
		return; /* no scan to mislead; and a shim that stepped aside
			 * has no allocator of its own for stack_room */
	size_t room = stack_room();

	scrub_chunks(room < SCRUB_MAX ? room : SCRUB_MAX);
}

static int main_wrapper(int argc, char **argv, char **envp)
{
	int rc = program_main(argc, argv, envp);
	shim.exit_status = rc & 0xff;
	shim.exit_sp = (uint64_t)(uintptr_t)__builtin_frame_address(0);
	scrub_dead_stack();
	return rc;
}

HS_EXPORT int __libc_start_main(main_fn main, int argc, char **argv, void (*init)(void), void (*fini)(void),
				void (*rtld_fini)(void), void *stack_end)
{
	int (*next)(main_fn, int, char **, void (*)(void), void (*)(void), void (*)(void), void *) =
		next_fn(NEXT_START_MAIN);

	program_main = main;
	return next(main_wrapper, argc, argv, init, fini, rtld_fini, stack_end);
}

HS_EXPORT void exit(int status)
{
	void (*next)(int) = next_fn(NEXT_EXIT);

	if ((uint32_t)getpid() == shim.pid) { /* not a vfork child, which shares our memory */
		shim.exit_status = status & 0xff;
		shim.exit_sp = (uint64_t)(uintptr_t)__builtin_frame_address(0);
		scrub_dead_stack();
	}
	next(status);
	__builtin_unreachable();
}

HS_EXPORT void _exit(int status)
{
	void (*next)(int) = next_fn(NEXT__EXIT);

	scrub_dead_stack();
	stack_verify_report();
	shim_finish(HST_END__EXIT, status & 0xff);
	next(status);
	__builtin_unreachable();
}

HS_EXPORT void _Exit(int status)
{
	void (*next)(int) = next_fn(NEXT__EXIT_C99);

	scrub_dead_stack();
	stack_verify_report();
	shim_finish(HST_END__EXIT, status & 0xff);
	next(status);
	__builtin_unreachable();
}

HS_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	int (*next)(const char *, char *const[], char *const[]) = next_fn(NEXT_EXECVE);

	stack_verify_report();
	shim_finish(HST_END_EXEC, 0);
	int rc = next(path, argv, envp);
	int saved = errno;
	shim_resume_after_exec();
	errno = saved;
	return rc;
}

HS_EXPORT int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

HS_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	int (*next)(const char *, char *const[], char *const[]) = next_fn(NEXT_EXECVPE);

	stack_verify_report();
	shim_finish(HST_END_EXEC, 0);
	int rc = next(file, argv, envp);
	int saved = errno;
	shim_resume_after_exec();
	errno = saved;
	return rc;
}

HS_EXPORT int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

HS_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	int (*next)(int, char *const[], char *const[]) = next_fn(NEXT_FEXECVE);

	stack_verify_report();
	shim_finish(HST_END_EXEC, 0);
	int rc = next(fd, argv, envp);
	int saved = errno;
	shim_resume_after_exec();
	errno = saved;
	return rc;
}

/* Collect the variadic arguments of execl* into an array on the stack. */
#define EXECL_ARGV(first, ap, argv, extra)                                 \
	size_t argc_ = 1;                                                  \
	va_start(ap, first);                                               \
	while (va_arg(ap, char *))                                         \
		argc_++;                                                   \
	va_end(ap);                                                        \
	char *argv[argc_ + 1];                                             \
	va_start(ap, first);                                               \
	argv[0] = (char *)(first);                                         \
	for (size_t i_ = 1; i_ <= argc_; i_++)                             \
		argv[i_] = va_arg(ap, char *);                             \
	extra;                                                             \
	va_end(ap)

HS_EXPORT int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	EXECL_ARGV(arg, ap, argv, (void)0);
	return execve(path, argv, environ);
}

HS_EXPORT int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	EXECL_ARGV(arg, ap, argv, (void)0);
	return execvpe(file, argv, environ);
}

HS_EXPORT int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	char **envp;
	EXECL_ARGV(arg, ap, argv, envp = va_arg(ap, char **));
	return execve(path, argv, envp);
}

HS_EXPORT int dlclose(void *handle)
{
	int (*next)(void *) = next_fn(NEXT_DLCLOSE);

	/* Record the map while the library is still in it: stacks taken in
	 * its code must stay symbolizable after it is gone. */
	if (shim_on()) {
		struct tls_state *t = &tls;
		uint8_t saved = t->state;
		t->state = TS_INTERNAL;
		struct control_item *m = modules_capture(clock_now_ns(), shim.exe);
		if (m)
			control_push(m);
		t->state = saved;
	}
	/* Rules of unwinding cached for its code must not outlive it (another
	 * module may be loaded at its address). */
	unsigned long long unloads = modules_unloads();
	stack_modules_unloading();
	stack_modules_changed();
	int rc = next(handle);
	if (modules_unloads() != unloads)
		stack_modules_unloaded(); /* same addresses, other code: other stacks */
	stack_modules_changed();
	return rc;
}

/*
 * Memory taken away.  The unwinder reads words of a thread's previous stack
 * again only while no memory can have been unmapped or made unreadable
 * since it last read them (unwind.c, trace cache): each of these says it
 * may have been, then does what glibc's wrapper does, the system call.
 */
HS_EXPORT HS_HOOKSAFE int munmap(void *addr, size_t len)
{
	unwind_maps_changed();
	return (int)syscall(SYS_munmap, addr, len);
}

HS_EXPORT HS_HOOKSAFE void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *new_addr = NULL;

	if (flags & MREMAP_FIXED) {
		va_list ap;
		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	unwind_maps_changed();
	return (void *)syscall(SYS_mremap, old, old_len, new_len, flags, new_addr);
}

HS_EXPORT HS_HOOKSAFE int mprotect(void *addr, size_t len, int prot)
{
	if (!(prot & PROT_READ))
		unwind_maps_changed();
	return (int)syscall(SYS_mprotect, addr, len, prot);
}

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* Linux 6.13: pages that fault when read */
#endif

HS_EXPORT HS_HOOKSAFE int madvise(void *addr, size_t len, int advice)
{
	if (advice == MADV_GUARD_INSTALL)
		unwind_maps_changed();
	return (int)syscall(SYS_madvise, addr, len, advice);
}

/*
 * A thread's value of a key changes only by pthread_setspecific on that
 * thread, or by the key's deletion: the interpreter keeps each thread's
 * thread state under a key (python.c keeps what it read, until one of
 * these says it may have changed).  Each counts once the change is made,
 * before its caller can go on to free what the old value named.
 */
_Atomic uint32_t intercept_key_deletes;

/* The shim's own thread start calls it from a hook: libc's, found by the
 * constructor, or here by the hook-safe lookup (libc always has it). */
HS_EXPORT HS_HOOKSAFE int pthread_setspecific(pthread_key_t key, const void *value)
{
	/* relaxed: see next_fn */
	int (*next)(pthread_key_t, const void *) = atomic_load_rlx(&next_fns[NEXT_SETSPECIFIC]);

	if (HS_UNLIKELY(!next)) {
		next = (int (*)(pthread_key_t, const void *))dynsym_next("pthread_setspecific");
		atomic_store_rlx(&next_fns[NEXT_SETSPECIFIC], (void *)next);
	}
	int rc = next(key, value);
	tls.key_sets++;
	return rc;
}

HS_EXPORT int pthread_key_delete(pthread_key_t key)
{
	int rc = ((int (*)(pthread_key_t))next_fn(NEXT_KEY_DELETE))(key);

	/* relaxed: a thread that reads the count before this is one that
	 * reads the key's value concurrently with its deletion, as it would
	 * without the count */
	atomic_fetch_add_rlx(&intercept_key_deletes, 1);
	return rc;
}

/* ---- calls that want the program's threads only (shim_quiesce) ---- */

/* Call the next fn(args) with the collector thread stopped around it;
 * keep the call's errno. */
#define QUIESCED(id, fn, ...)                                         \
	do {                                                          \
		__typeof__(&fn) next = (__typeof__(&fn))next_fn(id);  \
		int q = shim_quiesce();                               \
		int rc = next(__VA_ARGS__);                           \
		int saved_errno = errno;                              \
		shim_unquiesce(q);                                    \
		errno = saved_errno;                                  \
		return rc;                                            \
	} while (0)

HS_EXPORT int setuid(uid_t uid)
{
	QUIESCED(NEXT_SETUID, setuid, uid);
}

HS_EXPORT int setgid(gid_t gid)
{
	QUIESCED(NEXT_SETGID, setgid, gid);
}

HS_EXPORT int seteuid(uid_t uid)
{
	QUIESCED(NEXT_SETEUID, seteuid, uid);
}

HS_EXPORT int setegid(gid_t gid)
{
	QUIESCED(NEXT_SETEGID, setegid, gid);
}

HS_EXPORT int setreuid(uid_t r, uid_t e)
{
	QUIESCED(NEXT_SETREUID, setreuid, r, e);
}

HS_EXPORT int setregid(gid_t r, gid_t e)
{
	QUIESCED(NEXT_SETREGID, setregid, r, e);
}

HS_EXPORT int setresuid(uid_t r, uid_t e, uid_t s)
{
	QUIESCED(NEXT_SETRESUID, setresuid, r, e, s);
}

HS_EXPORT int setresgid(gid_t r, gid_t e, gid_t s)
{
	QUIESCED(NEXT_SETRESGID, setresgid, r, e, s);
}

HS_EXPORT int setgroups(size_t n, const gid_t *list)
{
	QUIESCED(NEXT_SETGROUPS, setgroups, n, list);
}

HS_EXPORT int initgroups(const char *user, gid_t group)
{
	QUIESCED(NEXT_INITGROUPS, initgroups, user, group);
}

HS_EXPORT int unshare(int flags)
{
	QUIESCED(NEXT_UNSHARE, unshare, flags);
}

HS_EXPORT int setns(int fd, int nstype)
{
	QUIESCED(NEXT_SETNS, setns, fd, nstype);
}
