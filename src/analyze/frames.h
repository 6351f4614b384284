/*
 * frames.h - which frames of an allocation stack are allocator wrappers
 * (malloc itself, libc's strdup and asprintf family, C++ operator new,
 * glib's g_malloc, ...), so that reports name the first frame outside
 * them: the allocation site the programmer wrote.
 *
 * The list is built in; HEAPSNAP_WRAPPERS (comma-separated patterns, '*'
 * matches any run of characters) adds to it, and a pattern starting with
 * '-' removes a built-in one (every pattern it matches: "-g_*" drops
 * glib's).  A pattern matches the demangled function name whole or
 * without its parameter list ("Pool::get" matches "Pool::get(int)").
 * Frames of the shim itself (module libheapsnap*) are always wrappers.
 */
#ifndef HS_ANALYZE_FRAMES_H
#define HS_ANALYZE_FRAMES_H

#include "analyze/symbols.h"

/* Is this frame inside an allocator wrapper?  (Never a Python frame.) */
int frames_is_wrapper(const struct sym_frame *f);

/*
 * Is this native frame the Python interpreter's own: its executable or
 * libpython (module python3* or libpython3*), or an extension module of
 * its standard library (a module under lib-dynload/)?  Such frames are
 * wrappers when a Python frame is further out in the stack, so that the
 * Python line is the allocation site, as tracemalloc reports it; a C
 * extension of the program's own is not.  The built-in pattern "[python]"
 * stands for this rule: HEAPSNAP_WRAPPERS=-[python] turns it off.
 */
int frames_is_interpreter(const struct sym_frame *f);

/* Glob match: '*' any run, everything else literal.  Return 1 on match. */
int frames_glob(const char *pattern, const char *s);

#endif
