/*
 * frames.h - which frames of an allocation stack are allocator wrappers
 * (malloc itself, libc's strdup and asprintf family, C++ operator new,
 * glib's g_malloc, ...), so that reports name the first frame outside
 * them: the allocation site the programmer wrote.
 *
 * The list is built in; a spec in HEAPSNAP_WRAPPERS's syntax
 * (comma-separated patterns, '*' matches any run of characters) adds to
 * it, and a pattern starting with '-' removes a built-in one (every
 * pattern it matches: "-g_*" drops glib's).  A pattern matches the
 * demangled function name whole or without its parameter list
 * ("Pool::get" matches "Pool::get(int)").  Frames of the shim itself
 * (module libheapsnap*) are always wrappers.
 *
 * A struct frames is the list in force; each analysis session has its own
 * (the library keeps no global state).
 */
#ifndef HS_ANALYZE_FRAMES_H
#define HS_ANALYZE_FRAMES_H

#include <heapsnap-analyze.h>

struct frames;

/* The built-in list edited by spec (NULL or "": the built-ins).  Return
 * it, or NULL when out of memory. */
struct frames *frames_new(const char *spec);
void frames_free(struct frames *w);

/* Is this frame inside an allocator wrapper of w (NULL: the built-ins)?
 * (Never a Python frame.) */
int frames_is_wrapper(const struct frames *w, const struct hs_frame *f);

/*
 * Is this native frame the Python interpreter's own: its executable or
 * libpython (module python3* or libpython3*), or an extension module of
 * its standard library (a module under lib-dynload/)?  Such frames are
 * wrappers when a Python frame is further out in the stack, so that the
 * Python line is the allocation site, as tracemalloc reports it; a C
 * extension of the program's own is not.  The built-in pattern "[python]"
 * of w stands for this rule: HEAPSNAP_WRAPPERS=-[python] turns it off.
 */
int frames_is_interpreter(const struct frames *w, const struct hs_frame *f);

/* Glob match: '*' any run, everything else literal.  Return 1 on match. */
int frames_glob(const char *pattern, const char *s);

#endif
