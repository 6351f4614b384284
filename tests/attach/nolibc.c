/* Description: a dynamically linked program without glibc: no libc.so.6
 * in its link map (it is built with -nostdlib and raw system calls), as a
 * musl program would be.  heapsnap attach must refuse it with one clear
 * line.  It sleeps until killed. */
#include <sys/syscall.h>
#include <time.h>

static long sys2(long nr, long a, long b)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return ret;
}

void _start(void)
{
	struct timespec ts = {1, 0};

	for (;;)
		sys2(SYS_nanosleep, (long)&ts, 0);
}
