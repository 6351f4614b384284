/*
 * heapsnap.h - optional API for programs traced by heapsnap.
 *
 * Every function is a no-op when the program runs without the shim
 * (libheapsnap.so): the calls go through weak references that stay NULL
 * unless the shim is preloaded.  Nothing needs to be linked.
 *
 *   heapsnap_snapshot(label)  mark a snapshot in the trace; heapsnap top and
 *                             diff select it by label.  Returns 0, or -1
 *                             without the shim.
 *   heapsnap_leak_check()     scan the heap for pointers now, as at exit:
 *                             heapsnap leaks reports the last scan of a
 *                             trace.  Returns 0, or -1 without the shim or
 *                             with scanning off.
 *   heapsnap_ignore(p)        the block at p is a root: neither it nor what
 *                             it points to is reported as leaked.
 *   heapsnap_disable()        allocations made by this thread until the
 *   heapsnap_enable()         matching enable are not recorded (nesting).
 */
#ifndef HEAPSNAP_H
#define HEAPSNAP_H

#ifdef __cplusplus
extern "C" {
#endif

int heapsnap_rt_snapshot(const char *label) __attribute__((weak));
int heapsnap_rt_leak_check(void) __attribute__((weak));
void heapsnap_rt_ignore(const void *p) __attribute__((weak));
void heapsnap_rt_disable(void) __attribute__((weak));
void heapsnap_rt_enable(void) __attribute__((weak));

static inline int heapsnap_snapshot(const char *label)
{
	return heapsnap_rt_snapshot ? heapsnap_rt_snapshot(label) : -1;
}

static inline int heapsnap_leak_check(void)
{
	return heapsnap_rt_leak_check ? heapsnap_rt_leak_check() : -1;
}

static inline void heapsnap_ignore(const void *p)
{
	if (heapsnap_rt_ignore)
		heapsnap_rt_ignore(p);
}

static inline void heapsnap_disable(void)
{
	if (heapsnap_rt_disable)
		heapsnap_rt_disable();
}

static inline void heapsnap_enable(void)
{
	if (heapsnap_rt_enable)
		heapsnap_rt_enable();
}

#ifdef __cplusplus
}
#endif

#endif
