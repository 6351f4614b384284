/*
 * python.h - CPython programs: the Python frames of every stack, and the
 * interpreter's allocator domains traced.
 *
 * When the traced process is CPython (3.8 to 3.13: it exports
 * PyMem_SetAllocator and a version the shim knows), the shim
 *
 *   - wraps the raw, mem and object allocator domains (PyMem_SetAllocator,
 *     as tracemalloc does) before the interpreter starts, so that every
 *     object allocation and free is an event (kinds HST_EV_PY_*), and the
 *     arena allocator (PyObject_SetArenaAllocator), so that the exit scan
 *     reads pymalloc's arenas as the blocks they hold, not as roots;
 *   - reads the calling thread's Python frames at every stack capture, as
 *     tracemalloc and py-spy do: from the thread state down the chain of
 *     interpreter frames, with the structure offsets of each version, and
 *     puts them in the stack where the interpreter's evaluation frames
 *     (_PyEval_EvalFrameDefault) are.  A Python frame in a stack is a
 *     pseudo address (format.h HST_PYFRAME): a code object id and a line;
 *     code objects are named once (PYCODE records).
 *
 * HOOK-SAFE, except python_init (constructor) and python_rehome (forked
 * child).
 */
#ifndef HS_SHIM_PYTHON_H
#define HS_SHIM_PYTHON_H

#include <stddef.h>
#include <stdint.h>

#include "shim/control.h"
#include "shim/options.h"
#include "trace/ringfile.h"
#include "util/atomic.h"
#include "util/compiler.h"

/* Set by python_init when the stack capture must call python_stack. */
extern _Atomic int python_hooked;

/* Detect CPython and install the wrappers the options ask for.  Called
 * from the constructor (thread TS_INTERNAL), before main. */
void python_init(const struct options *opts);

/* Is the stack capture to look at Python frames?  HOOK-SAFE. */
HS_INLINE int python_wanted(void)
{
	/* relaxed: a flag set once before main; a capture that misses it
	 * just has no Python frames */
	return atomic_load_rlx(&python_hooked);
}

/* What the unwinder knows of a native stack: its outermost `same` frames
 * are those of the stack numbered seq - 1 of the memo named token
 * (struct unwind_stack).  All 0: nothing. */
struct python_native {
	uint32_t same, seq;
	uintptr_t token;
};

/* A stack python_stack made: valid until the thread's next capture. */
struct python_out {
	const uint64_t *ips; /* innermost first */
	unsigned n;
	uint64_t hash;	     /* unwind_hash(ips, n) */
	uint32_t id;	     /* its stack id when known (the thread's previous
			      * stack again), else 0: the caller interns it */
};

/*
 * Put the calling thread's Python frames into a native stack: ips[0..n)
 * (return addresses, innermost first, the shim's own frames already cut;
 * cut: the unwinder stopped at its frame limit; nat: what the unwinder
 * knows of it, NULL: nothing, and then the stack is made in buf[0..cap),
 * cap == OPT_MAX_FRAMES_LIMIT).
 * Set *res to the result (at most cap entries) and return 1, or return 0
 * when the stack has no Python frames (ips stands as it is).
 * Each evaluation frame of the interpreter gives way to the Python frames
 * it was running.  HOOK-SAFE.
 */
int python_stack(void *const *ips, unsigned n, int cut, const struct python_native *nat, uint64_t *buf,
		 unsigned cap, struct python_out *res);

/* The caller interned the stack python_stack last gave this thread (with
 * res->id == 0) as id.  HOOK-SAFE. */
void python_stack_interned(uint32_t id);

/* The stack ids handed out so far are void (stack_reset): forget the ones
 * remembered.  No thread captures a stack meanwhile. */
void python_forget_ids(void);

/* Code objects named so far: ids 1..python_code_count() are complete. */
uint32_t python_code_count(void);

/* The ring-file entry of code id (1 <= id <= python_code_count()). */
const struct ringfile_pycode_entry *python_code_get(uint32_t id);

/* A PYTHON record with the current flags for the collector, or NULL when
 * this is not a Python program (or out of memory). */
struct control_item *python_record(void);

/* Call fn for every pymalloc arena that holds only traced objects: such
 * arenas are not roots of the scan.  The world is stopped. */
void python_arenas_each(void (*fn)(uintptr_t lo, uintptr_t hi, void *arg), void *arg);

/* What the scan needs to tell where a Python object starts in its block
 * (scan.c): the address of PyType_Type, and the interpreter's
 * PY_VERSION_HEX in *hexversion; 0 when this is not a Python program. */
uintptr_t python_type_type(uint32_t *hexversion);

/* fork(): take / release the table lock; in the child, copy the code
 * entries into the child's ring file. */
void python_lock(void);
void python_unlock(void);
int python_rehome(void);

#endif
