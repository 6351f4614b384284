/*
 * hooks_cxx.c - the C++ operator new/delete family, by mangled name, so the
 * shim needs no C++ runtime: plain, array, nothrow, sized and aligned forms.
 * HOOK-SAFE.
 *
 * A throwing new that cannot allocate calls the next definition of the same
 * operator (libstdc++'s), which runs the new_handler and throws
 * std::bad_alloc as the program expects; its own malloc call comes back
 * through our malloc.
 */
#define _GNU_SOURCE
#include <stddef.h>

#include "shim/dynsym.h"
#include "shim/hooks.h"
#include "shim/unwind.h"
#include "trace/format.h"
#include "util/compiler.h"
#define HS_HOOKSAFE_ALLOCATOR /* operator new and delete forward to the C hooks */
#include "util/hooksafe.h"

#define DEFAULT_ALIGN 16 /* __STDCPP_DEFAULT_NEW_ALIGNMENT__ on x86-64 */

typedef void *(*new_fn)(size_t);
typedef void *(*new_aligned_fn)(size_t, size_t);

/* The next definitions are found in the symbol tables: dlsym would free
 * and allocate the program's dlerror state (dynsym.h). */
static void *new_failed(const char *name, size_t n)
{
	new_fn next = (new_fn)dynsym_next(name);
	return next ? next(n) : NULL;
}

static void *new_aligned_failed(const char *name, size_t n, size_t align)
{
	new_aligned_fn next = (new_aligned_fn)dynsym_next(name);
	return next ? next(n, align) : NULL;
}

static size_t cxx_align(size_t align)
{
	return align > DEFAULT_ALIGN ? align : 0;
}

/* operator new(size_t) */
HS_EXPORT void *_Znwm(size_t n)
{
	void *p = hook_alloc(HST_EV_NEW, n, 0, UNWIND_CALLER);
	return p ? p : new_failed("_Znwm", n);
}

/* operator new[](size_t) */
HS_EXPORT void *_Znam(size_t n)
{
	void *p = hook_alloc(HST_EV_NEW_ARRAY, n, 0, UNWIND_CALLER);
	return p ? p : new_failed("_Znam", n);
}

/* operator new(size_t, const std::nothrow_t&) */
HS_EXPORT void *_ZnwmRKSt9nothrow_t(size_t n, const void *nt)
{
	(void)nt;
	return hook_alloc(HST_EV_NEW, n, 0, UNWIND_CALLER);
}

/* operator new[](size_t, const std::nothrow_t&) */
HS_EXPORT void *_ZnamRKSt9nothrow_t(size_t n, const void *nt)
{
	(void)nt;
	return hook_alloc(HST_EV_NEW_ARRAY, n, 0, UNWIND_CALLER);
}

/* operator new(size_t, std::align_val_t) */
HS_EXPORT void *_ZnwmSt11align_val_t(size_t n, size_t align)
{
	void *p = hook_alloc(HST_EV_NEW, n, cxx_align(align), UNWIND_CALLER);
	return p ? p : new_aligned_failed("_ZnwmSt11align_val_t", n, align);
}

/* operator new[](size_t, std::align_val_t) */
HS_EXPORT void *_ZnamSt11align_val_t(size_t n, size_t align)
{
	void *p = hook_alloc(HST_EV_NEW_ARRAY, n, cxx_align(align), UNWIND_CALLER);
	return p ? p : new_aligned_failed("_ZnamSt11align_val_t", n, align);
}

/* operator new(size_t, std::align_val_t, const std::nothrow_t&) */
HS_EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, size_t align, const void *nt)
{
	(void)nt;
	return hook_alloc(HST_EV_NEW, n, cxx_align(align), UNWIND_CALLER);
}

/* operator new[](size_t, std::align_val_t, const std::nothrow_t&) */
HS_EXPORT void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t n, size_t align, const void *nt)
{
	(void)nt;
	return hook_alloc(HST_EV_NEW_ARRAY, n, cxx_align(align), UNWIND_CALLER);
}

/* operator delete(void*) */
HS_EXPORT void _ZdlPv(void *p)
{
	hook_free(HST_EV_DELETE, p, 0);
}

/* operator delete[](void*) */
HS_EXPORT void _ZdaPv(void *p)
{
	hook_free(HST_EV_DELETE_ARRAY, p, 0);
}

/* operator delete(void*, size_t) */
HS_EXPORT void _ZdlPvm(void *p, size_t n)
{
	hook_free(HST_EV_DELETE, p, n);
}

/* operator delete[](void*, size_t) */
HS_EXPORT void _ZdaPvm(void *p, size_t n)
{
	hook_free(HST_EV_DELETE_ARRAY, p, n);
}

/* operator delete(void*, const std::nothrow_t&) */
HS_EXPORT void _ZdlPvRKSt9nothrow_t(void *p, const void *nt)
{
	(void)nt;
	hook_free(HST_EV_DELETE, p, 0);
}

/* operator delete[](void*, const std::nothrow_t&) */
HS_EXPORT void _ZdaPvRKSt9nothrow_t(void *p, const void *nt)
{
	(void)nt;
	hook_free(HST_EV_DELETE_ARRAY, p, 0);
}

/* operator delete(void*, std::align_val_t) */
HS_EXPORT void _ZdlPvSt11align_val_t(void *p, size_t align)
{
	(void)align;
	hook_free(HST_EV_DELETE, p, 0);
}

/* operator delete[](void*, std::align_val_t) */
HS_EXPORT void _ZdaPvSt11align_val_t(void *p, size_t align)
{
	(void)align;
	hook_free(HST_EV_DELETE_ARRAY, p, 0);
}

/* operator delete(void*, size_t, std::align_val_t): the size is not passed
 * on, because jemalloc would need the alignment with it */
HS_EXPORT void _ZdlPvmSt11align_val_t(void *p, size_t n, size_t align)
{
	(void)n;
	(void)align;
	hook_free(HST_EV_DELETE, p, 0);
}

/* operator delete[](void*, size_t, std::align_val_t) */
HS_EXPORT void _ZdaPvmSt11align_val_t(void *p, size_t n, size_t align)
{
	(void)n;
	(void)align;
	hook_free(HST_EV_DELETE_ARRAY, p, 0);
}

/* operator delete(void*, std::align_val_t, const std::nothrow_t&) */
HS_EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t align, const void *nt)
{
	(void)align;
	(void)nt;
	hook_free(HST_EV_DELETE, p, 0);
}

/* operator delete[](void*, std::align_val_t, const std::nothrow_t&) */
HS_EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t align, const void *nt)
{
	(void)align;
	(void)nt;
	hook_free(HST_EV_DELETE_ARRAY, p, 0);
}
