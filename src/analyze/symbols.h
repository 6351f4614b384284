/*
 * symbols.h - offline symbolization of the instruction pointers in a
 * trace, with libdw: function (C++ demangled), file:line, inlined frames,
 * separate debug files found by build-id.  A module whose file is gone or
 * changed (its build-id differs from the trace's) or that has no symbols
 * shows as module+0xoffset.
 *
 * Two levels, so that many traces share the expensive part:
 *
 *   struct sym_files   the module files and what was resolved in them,
 *                      one per analysis session: each file is opened
 *                      once and each (file, offset) resolved once, however
 *                      many traces (processes) name it;
 *   struct symbolizer  one trace's address map (which module is where in
 *                      that process), over a sym_files.
 *
 * Use:
 *   struct sym_files *files = sym_files_new(debug_path);
 *   struct symbolizer *s = sym_new_in(files);   per trace
 *   sym_add_modules(s, &item);      for every ITEM_MODULES of the trace
 *   n = sym_lookup(s, ip, frames, max);
 *   sym_free(s);  ...  sym_files_free(files);
 * sym_new() makes a symbolizer with files of its own (debug path from the
 * environment), freed with it.
 */
#ifndef HS_ANALYZE_SYMBOLS_H
#define HS_ANALYZE_SYMBOLS_H

#include <stdint.h>

#include <heapsnap-analyze.h>

#include "trace/reader.h"

struct sym_files;
struct symbolizer;

/* Start a file set; debug_path NULL: $HEAPSNAP_DEBUG_PATH, else libdw's
 * default.  Return it, or NULL when out of memory. */
struct sym_files *sym_files_new(const char *debug_path);
/* Free a file set, after every symbolizer over it: frames point into it. */
void sym_files_free(struct sym_files *f);
/* What the file set did so far. */
void sym_files_stats(const struct sym_files *f, struct hs_symbol_stats *out);

/* A symbolizer over files (shared), or over files of its own (sym_new).
 * NULL when out of memory. */
struct symbolizer *sym_new_in(struct sym_files *files);
struct symbolizer *sym_new(void);
void sym_free(struct symbolizer *s);

/* Learn the modules of an ITEM_MODULES item (every map of the trace is
 * added; a module seen again at the same address is not duplicated). */
void sym_add_modules(struct symbolizer *s, const struct trace_item *modules);

/* Learn a Python code object (an ITEM_PYCODE item) of the trace; the
 * first definition of an id is kept. */
void sym_add_pycode(struct symbolizer *s, const struct trace_item *pycode);

/*
 * Resolve a return address from a stack (ip - 1 is looked up, the call
 * instruction).  Fill up to max frames, innermost (most inlined) first,
 * the last being the function that contains the call.  Return how many
 * (at least 1: a frame with only module/offset, or only ip).  Results are
 * cached: asking again is cheap.  A smaller max drops the outermost
 * frames; max <= 0 returns 0.  Strings live until the files are freed.
 * A Python frame of a stack (format.h HST_PYFRAME) resolves to one frame,
 * python set.
 */
int sym_lookup(struct symbolizer *s, uint64_t ip, struct hs_frame *frames, int max);

/* sym_lookup for a stack recorded in era (sym_era when its record was
 * read): at an address where one module was unloaded and another loaded,
 * the one mapped then.  sym_lookup is era 0: the first module seen. */
int sym_lookup_at(struct symbolizer *s, uint64_t ip, uint32_t era, struct hs_frame *frames, int max);

/* The MODULES records read so far (sym_add_modules calls). */
uint32_t sym_era(const struct symbolizer *s);

/* What a data address of a module is: the variable (a symbol of the
 * module's symbol table, from its separate debug file if it has one) and
 * the section.  Strings are interned (they live until the files are
 * freed); any may be NULL when unknown. */
struct sym_data {
	const char *module;  /* path of the module holding addr, NULL: none */
	const char *symbol;  /* the variable, C++ demangled */
	uint64_t start;	     /* the variable's address in the process (symbol set) */
	uint64_t size;	     /* its bytes (symbol set) */
	const char *section; /* ".bss", ".data", ".data.rel.ro", ... */
};

/* Look up a data address (of a global, not a return address: addr itself
 * is looked up).  Return 0 with out filled (module NULL if addr is in no
 * module of the trace), or -1 when out of memory. */
int sym_data(struct symbolizer *s, uint64_t addr, struct sym_data *out);

/* The trace's modules, sorted by address (valid until the next
 * sym_add_modules). */
const struct hs_module *sym_modules(const struct symbolizer *s, size_t *n);

#endif
