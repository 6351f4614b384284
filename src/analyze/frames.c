/*
 * frames.c - allocator wrapper frames: the built-in pattern list, edited
 * by a spec in HEAPSNAP_WRAPPERS's syntax, and the glob matcher.
 *
 * A frame is a wrapper when its module is the shim (basename starting
 * with "libheapsnap") or when a pattern matches its function name, either
 * whole ("operator new(unsigned long)") or without its parameter list
 * ("std::allocator<int>::allocate"), so that a pattern can name a C++
 * function without spelling its signature.  "[std]" stands for the C++
 * standard library's own code, which only passes an allocation on to the
 * program's line (make_shared, containers' node allocation, ...).
 */
#define _GNU_SOURCE
#include "analyze/frames.h"

#include "analyze/names.h"

#include <stdlib.h>
#include <string.h>

/*
 * Allocation entry points and the functions that only pass an allocation
 * on: the C allocator, libc's strdup/asprintf family and its internal
 * names, C++ operator new (every form, as demangled) and the standard
 * allocators, glib (g_new/g_new0/g_renew expand to the *_n forms), and the
 * GNU xmalloc family; "[python]", the Python interpreter's own frames
 * inside a Python frame (frames_is_interpreter); "[std]", the functions
 * of the C++ standard library (std::, __gnu_cxx::) in its headers or its
 * shared library: std::make_shared and std::allocate_shared with
 * std::__allocate_guarded and the _Sp_counted_* control blocks, the
 * containers' node and buffer allocation (_M_get_node, _M_allocate,
 * _M_realloc_insert, ...) and their members that call it (push_back,
 * operator[], ...), std::string's _M_create (std_frame).
 */
static const char *const builtin[] = {
	"malloc", "calloc", "realloc", "reallocarray", "free", "posix_memalign",
	"aligned_alloc", "memalign", "valloc", "pvalloc",
	"strdup", "strndup", "__strdup", "__strndup", "wcsdup",
	"asprintf", "vasprintf", "__asprintf", "__vasprintf_internal", "__libc_*",
	"operator new*",
	"std::allocator*allocate*", "__gnu_cxx::new_allocator*allocate*", "std::__new_allocator*",
	"g_malloc", "g_malloc0", "g_realloc", "g_malloc_n", "g_malloc0_n", "g_realloc_n",
	"g_try_malloc*", "g_try_realloc*", "g_strdup", "g_strndup", "g_memdup*",
	"xmalloc", "xcalloc", "xrealloc", "xstrdup",
	"[python]", "[std]",
};

#define BUILTIN_COUNT (sizeof(builtin) / sizeof(builtin[0]))

/* A list of patterns in force. */
struct frames {
	char *buf;	   /* the spec split into patterns (pats point into it) */
	const char **pats; /* built-ins and additions, minus removals */
	size_t npats;
};

void frames_free(struct frames *w)
{
	if (!w)
		return;
	free(w->buf);
	free(w->pats);
	free(w);
}

/* Remove from w every pattern that glob rm matches as a string. */
static void remove_matching(struct frames *w, const char *rm)
{
	size_t j = 0;

	for (size_t i = 0; i < w->npats; i++)
		if (!frames_glob(rm, w->pats[i]))
			w->pats[j++] = w->pats[i];
	w->npats = j;
}

/*
 * The built-ins, then each comma-separated item of spec in order, "pat"
 * adding a pattern and "-pat" removing every pattern in force that pat
 * matches as a glob ("-g_*" drops glib's, "-*" all).  Blanks around items
 * are ignored.
 */
struct frames *frames_new(const char *spec)
{
	struct frames *w = calloc(1, sizeof(*w));
	size_t cap = BUILTIN_COUNT; /* at most one addition per item */

	if (!w)
		return NULL;
	if (spec && !*spec)
		spec = NULL;
	for (const char *p = spec; p && *p; p++)
		cap += *p == ',';
	w->pats = malloc((cap + 1) * sizeof(*w->pats));
	if (!w->pats || (spec && !(w->buf = strdup(spec)))) {
		frames_free(w);
		return NULL;
	}
	memcpy(w->pats, builtin, sizeof(builtin));
	w->npats = BUILTIN_COUNT;
	char *save = NULL;
	for (char *tok = w->buf ? strtok_r(w->buf, ",", &save) : NULL; tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ' || *tok == '\t')
			tok++;
		char *end = tok + strlen(tok);
		while (end > tok && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (tok[0] == '-')
			remove_matching(w, tok + 1);
		else if (tok[0])
			w->pats[w->npats++] = tok;
	}
	return w;
}

int frames_glob(const char *pattern, const char *s)
{
	const char *star = NULL, *resume = NULL;

	if (!pattern || !s)
		return 0;
	/* Greedy with backtracking to the last '*' only: a later star can
	 * always absorb what an earlier one would have, so this is linear
	 * per star and never exponential. */
	while (*s) {
		if (*pattern == '*') {
			star = ++pattern;
			resume = s;
		} else if (*pattern == *s) {
			pattern++;
			s++;
		} else if (star) {
			pattern = star;
			s = ++resume;
		} else {
			return 0;
		}
	}
	while (*pattern == '*')
		pattern++;
	return *pattern == '\0';
}

/* Return 1 if any pattern of w (NULL: the built-ins) matches name. */
static int match_any(const struct frames *w, const char *name)
{
	const char *const *pats = w ? w->pats : builtin;
	size_t n = w ? w->npats : BUILTIN_COUNT;

	for (size_t i = 0; i < n; i++)
		if (frames_glob(pats[i], name))
			return 1;
	return 0;
}

/*
 * Return the length of name without its trailing parameter list: the
 * last ')' and its matching '(' ("f(int) const" -> "f", "A::operator()()"
 * -> "A::operator()"); 0 if name has none.
 */
static size_t name_sans_params(const char *name)
{
	const char *close = strrchr(name, ')');
	int depth = 0;

	if (!close)
		return 0;
	for (const char *p = close; p >= name; p--) {
		if (*p == ')')
			depth++;
		else if (*p == '(' && --depth == 0) {
			while (p > name && p[-1] == ' ')
				p--;
			return (size_t)(p - name);
		}
	}
	return 0;
}

/* Is f code of the C++ standard library: a function of its namespaces
 * in its headers (libstdc++'s .../c++/12/..., libc++'s .../c++/v1/...) or
 * in its shared library?  A specialization in the program's own files
 * (std::hash<MyKey>) is the program's. */
static int std_frame(const struct hs_frame *f)
{
	const char *base = f->module ? strrchr(f->module, '/') : NULL;

	base = base ? base + 1 : f->module;
	if (!names_in_std(f->function))
		return 0;
	if (f->file)
		return strstr(f->file, "/c++/") != NULL;
	return base && (!strncmp(base, "libstdc++", 9) || !strncmp(base, "libc++", 6));
}

int frames_is_wrapper(const struct frames *w, const struct hs_frame *f)
{
	if (!f || f->python)
		return 0;
	if (f->module) {
		const char *base = strrchr(f->module, '/');
		base = base ? base + 1 : f->module;
		if (!strncmp(base, "libheapsnap", 11))
			return 1;
	}
	/* an approximate name ("SYMBOL+0xN") is not the function's: it is
	 * no wrapper by name */
	if (!f->function || !*f->function || f->approximate)
		return 0;
	if (match_any(w, f->function))
		return 1;
	if (std_frame(f) && match_any(w, "[std]"))
		return 1;
	size_t n = name_sans_params(f->function);
	if (n == 0)
		return 0;
	char stackbuf[256];
	char *bare = n < sizeof(stackbuf) ? stackbuf : malloc(n + 1);
	if (!bare)
		return 0;
	memcpy(bare, f->function, n);
	bare[n] = '\0';
	int r = match_any(w, bare);
	if (bare != stackbuf)
		free(bare);
	return r;
}

int frames_is_interpreter(const struct frames *w, const struct hs_frame *f)
{
	if (!f || f->python || !f->module)
		return 0;
	if (!match_any(w, "[python]"))
		return 0;
	const char *base = strrchr(f->module, '/');
	base = base ? base + 1 : f->module;
	return !strncmp(base, "python3", 7) || !strncmp(base, "libpython3", 10) || strstr(f->module, "/lib-dynload/");
}
