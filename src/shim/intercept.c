/*
 * intercept.c - process events the trace must follow: exit, _exit/_Exit,
 * the exec family and dlclose.  (dlopen is noticed by the collector, which
 * compares dl_iterate_phdr's load counters every cycle: wrapping dlopen
 * would make the shim its caller and change the library search path that
 * glibc derives from the caller's RUNPATH.)  fork is handled with
 * pthread_atfork in init.c; thread exit with a pthread key destructor.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim/clock.h"
#include "shim/control.h"
#include "shim/modules.h"
#include "shim/shim.h"
#include "trace/format.h"
#include "util/compiler.h"

/* Find the next definition of name (libc's), or abort: without it the
 * program cannot go on.  Used outside allocation hooks only. */
static void *next_fn(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);
	if (!f)
		abort();
	return f;
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
		next_fn("__libc_start_main");

	program_main = main;
	return next(main_wrapper, argc, argv, init, fini, rtld_fini, stack_end);
}

HS_EXPORT void exit(int status)
{
	void (*next)(int) = next_fn("exit");

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
	void (*next)(int) = next_fn("_exit");

	scrub_dead_stack();
	shim_finish(HST_END__EXIT, status & 0xff);
	next(status);
	__builtin_unreachable();
}

HS_EXPORT void _Exit(int status)
{
	void (*next)(int) = next_fn("_Exit");

	scrub_dead_stack();
	shim_finish(HST_END__EXIT, status & 0xff);
	next(status);
	__builtin_unreachable();
}

HS_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	int (*next)(const char *, char *const[], char *const[]) = next_fn("execve");

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
	int (*next)(const char *, char *const[], char *const[]) = next_fn("execvpe");

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
	int (*next)(int, char *const[], char *const[]) = next_fn("fexecve");

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
	int (*next)(void *) = next_fn("dlclose");

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
	return next(handle);
}
