/*
 * symbols.h - offline symbolization of the instruction pointers in a
 * trace, with libdw: function (C++ demangled), file:line, inlined frames,
 * separate debug files found by build-id.  A module whose file is gone or
 * changed (its build-id differs from the trace's) or that has no symbols
 * shows as module+0xoffset.
 *
 * Use:
 *   struct symbolizer *s = sym_new();
 *   sym_add_modules(s, &item);      for every ITEM_MODULES of the trace
 *   n = sym_lookup(s, ip, frames, max);
 *   sym_free(s);
 */
#ifndef HS_ANALYZE_SYMBOLS_H
#define HS_ANALYZE_SYMBOLS_H

#include <stdint.h>

#include "trace/reader.h"

/* One source-level frame.  Strings belong to the symbolizer and live until
 * sym_free; any may be NULL (unknown). */
struct sym_frame {
	uint64_t ip;	      /* the instruction pointer looked up */
	const char *function; /* demangled */
	const char *file;     /* as the debug info names it: absolute, or relative
			       * to the compile directory when the compiler
			       * was given a relative path */
	unsigned line;	      /* 0 if unknown */
	const char *module;   /* path of the module, NULL if ip is in none */
	uint64_t offset;      /* ip - module load bias: the ELF address, what
			       * addr2line -e MODULE takes */
	int inlined;	      /* 1 for a frame inlined into the next one */
	int python;	      /* 1 for a Python frame (format.h HST_PYFRAME): function,
			       * file and line are the Python code's, module is
			       * its file too, offset 0 */
};

struct symbolizer;

struct symbolizer *sym_new(void);
void sym_free(struct symbolizer *s);

/* Learn the modules of an ITEM_MODULES item (every map of the trace is
 * added; a module seen again at the same address is not duplicated). */
void sym_add_modules(struct symbolizer *s, const struct trace_item *modules);

/* Learn a Python code object (an ITEM_PYCODE item); the first definition
 * of an id is kept. */
void sym_add_pycode(struct symbolizer *s, const struct trace_item *pycode);

/*
 * Resolve a return address from a stack (ip - 1 is looked up, the call
 * instruction).  Fill up to max frames, innermost (most inlined) first,
 * the last being the function that contains the call.  Return how many
 * (at least 1: a frame with only module/offset, or only ip).  Results are
 * cached: asking again is cheap.  A smaller max drops the outermost
 * frames; max <= 0 returns 0.  A Python frame of a stack (HST_PYFRAME)
 * resolves to one frame, python set.
 */
int sym_lookup(struct symbolizer *s, uint64_t ip, struct sym_frame *frames, int max);

#endif
