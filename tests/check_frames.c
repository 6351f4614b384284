/* Description: unit tests of src/analyze/frames.c: the glob matcher, the
 * built-in allocator wrappers (C, libc internals, demangled C++ operator
 * new and std allocators, glib, xmalloc), the shim's own frames by module,
 * user code that must not match, and HEAPSNAP_WRAPPERS additions and
 * removals (each check builds the list from the variable's value then, as
 * a session does when it starts); the C++ standard library's frames
 * ([std]) and the shortening of template arguments (names.c). */
#define _GNU_SOURCE
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/frames.h"
#include "analyze/names.h"
#include "check_suites.h"

/* A frame with a function name and a module path, against the wrapper
 * list of the HEAPSNAP_WRAPPERS in force. */
static int wrapper(const char *function, const char *module)
{
	struct hs_frame f = {.ip = 0x1234, .function = function, .module = module};
	struct frames *w = frames_new(getenv("HEAPSNAP_WRAPPERS"));

	ck_assert_ptr_nonnull(w);
	int r = frames_is_wrapper(w, &f);
	frames_free(w);
	return r;
}

START_TEST(test_glob)
{
	ck_assert_int_eq(frames_glob("", ""), 1);
	ck_assert_int_eq(frames_glob("", "a"), 0);
	ck_assert_int_eq(frames_glob("*", ""), 1);
	ck_assert_int_eq(frames_glob("*", "anything"), 1);
	ck_assert_int_eq(frames_glob("**", "x"), 1);
	ck_assert_int_eq(frames_glob("malloc", "malloc"), 1);
	ck_assert_int_eq(frames_glob("malloc", "xmalloc"), 0);
	ck_assert_int_eq(frames_glob("malloc", "malloc2"), 0);
	ck_assert_int_eq(frames_glob("g_try_malloc*", "g_try_malloc"), 1);
	ck_assert_int_eq(frames_glob("g_try_malloc*", "g_try_malloc0_n"), 1);
	ck_assert_int_eq(frames_glob("*alloc", "calloc"), 1);
	ck_assert_int_eq(frames_glob("*alloc", "calloc_x"), 0);
	ck_assert_int_eq(frames_glob("a*b*c", "abc"), 1);
	ck_assert_int_eq(frames_glob("a*b*c", "aXbYbZc"), 1);
	ck_assert_int_eq(frames_glob("a*b*c", "aXbYc_"), 0);
	ck_assert_int_eq(frames_glob("a*bc", "abcbc"), 1);
	ck_assert_int_eq(frames_glob("*aab", "aaaab"), 1);
	/* no metacharacter but '*': '?' and '[' are literal */
	ck_assert_int_eq(frames_glob("a?c", "abc"), 0);
	ck_assert_int_eq(frames_glob("a?c", "a?c"), 1);
	ck_assert_int_eq(frames_glob("operator new[]*", "operator new[](unsigned long)"), 1);
	ck_assert_int_eq(frames_glob("[ab]", "a"), 0);
	ck_assert_int_eq(frames_glob(NULL, "a"), 0);
	ck_assert_int_eq(frames_glob("a", NULL), 0);
	/* many stars against a long non-match stays fast (no backtracking blow-up) */
	char s[4096];
	memset(s, 'a', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	ck_assert_int_eq(frames_glob("*a*a*a*a*a*a*a*a*a*a*b", s), 0);
}
END_TEST

START_TEST(test_builtin_c)
{
	unsetenv("HEAPSNAP_WRAPPERS");
	const char *yes[] = {"malloc", "calloc", "realloc", "reallocarray", "free", "posix_memalign",
			     "aligned_alloc", "memalign", "valloc", "pvalloc", "strdup", "strndup", "__strdup",
			     "__strndup", "wcsdup", "asprintf", "vasprintf", "__asprintf", "__vasprintf_internal",
			     "__libc_malloc", "__libc_calloc", "__libc_realloc", "g_malloc", "g_malloc0",
			     "g_realloc", "g_malloc_n", "g_try_malloc", "g_try_malloc0_n", "g_strdup",
			     "g_strndup", "g_memdup", "g_memdup2", "xmalloc", "xcalloc", "xrealloc", "xstrdup"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ck_assert_msg(wrapper(yes[i], "/usr/lib/x86_64-linux-gnu/libc.so.6"), "%s is a wrapper", yes[i]);
	const char *no[] = {"main", "my_malloc", "malloc_stats", "strdupa_user", "g_strdup_printf_user",
			    "PyMem_RawMalloc", "PyObject_Malloc", "xmalloc_user", "cache_alloc", "", NULL};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_msg(!wrapper(no[i], "/usr/bin/prog"), "%s is not a wrapper", no[i] ? no[i] : "NULL");
	ck_assert_int_eq(frames_is_wrapper(NULL, NULL), 0);
}
END_TEST

/* Demangled C++ names, with their parameter lists. */
START_TEST(test_builtin_cxx)
{
	unsetenv("HEAPSNAP_WRAPPERS");
	const char *yes[] = {
		"operator new(unsigned long)",
		"operator new[](unsigned long)",
		"operator new(unsigned long, std::nothrow_t const&)",
		"operator new[](unsigned long, std::align_val_t)",
		"operator new(unsigned long, std::align_val_t, std::nothrow_t const&)",
		"std::allocator<int>::allocate(unsigned long)",
		"std::allocator_traits<std::allocator<char> >::allocate(std::allocator<char>&, unsigned long)",
		"__gnu_cxx::new_allocator<int>::allocate(unsigned long, void const*)",
		"std::__new_allocator<std::_List_node<int> >::allocate(unsigned long, void const*)",
	};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ck_assert_msg(wrapper(yes[i], "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"), "%s is a wrapper", yes[i]);
	const char *no[] = {
		"std::vector<int, std::allocator<int> >::push_back(int const&)",
		"Pool::operator new(unsigned long)",
		"cache::Map::insert(int)",
		"operator delete(void*)",
	};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_msg(!wrapper(no[i], "/usr/bin/prog"), "%s is not a wrapper", no[i]);
}
END_TEST

/* The shim's frames are wrappers by module, whatever their name. */
START_TEST(test_shim_module)
{
	unsetenv("HEAPSNAP_WRAPPERS");
	ck_assert_int_eq(wrapper("hooks_malloc_slow", "/opt/heapsnap/lib/libheapsnap.so"), 1);
	ck_assert_int_eq(wrapper(NULL, "/opt/heapsnap/lib/libheapsnap.so"), 1);
	ck_assert_int_eq(wrapper(NULL, "libheapsnap.so"), 1);
	ck_assert_int_eq(wrapper("main", "/home/u/libheapsnapshot-not/prog"), 0);
	ck_assert_int_eq(wrapper("main", "/home/u/prog"), 0);
	ck_assert_int_eq(wrapper("main", NULL), 0);
	ck_assert_int_eq(wrapper(NULL, NULL), 0);
}
END_TEST

/* HEAPSNAP_WRAPPERS adds patterns, "-pat" removes, blanks and empty items
 * are ignored, and a new value takes effect at the next call. */
START_TEST(test_env)
{
	unsetenv("HEAPSNAP_WRAPPERS");
	ck_assert_int_eq(wrapper("my_alloc", "/p"), 0);
	ck_assert_int_eq(wrapper("Pool::get(unsigned long)", "/p"), 0);

	setenv("HEAPSNAP_WRAPPERS", " my_alloc , , Pool::get,cache_*,-xmalloc,-g_*", 1);
	ck_assert_int_eq(wrapper("my_alloc", "/p"), 1);
	ck_assert_int_eq(wrapper("my_alloc2", "/p"), 0);
	/* a pattern without parameters names a C++ function */
	ck_assert_int_eq(wrapper("Pool::get(unsigned long)", "/p"), 1);
	ck_assert_int_eq(wrapper("Pool::get(unsigned long) const", "/p"), 1);
	ck_assert_int_eq(wrapper("cache_new_entry", "/p"), 1);
	ck_assert_int_eq(wrapper("xmalloc", "/p"), 0);
	ck_assert_int_eq(wrapper("xcalloc", "/p"), 1);
	ck_assert_int_eq(wrapper("g_malloc", "/p"), 0);
	ck_assert_int_eq(wrapper("g_try_malloc0", "/p"), 0);
	ck_assert_int_eq(wrapper("malloc", "/p"), 1);

	/* "-*" leaves only what comes after it; the module rule stays */
	setenv("HEAPSNAP_WRAPPERS", "-*,only_me", 1);
	ck_assert_int_eq(wrapper("malloc", "/p"), 0);
	ck_assert_int_eq(wrapper("operator new(unsigned long)", "/p"), 0);
	ck_assert_int_eq(wrapper("only_me", "/p"), 1);
	ck_assert_int_eq(wrapper("x", "/lib/libheapsnap.so"), 1);

	/* removing the exact built-in pattern "__libc_*" */
	setenv("HEAPSNAP_WRAPPERS", "-__libc_*", 1);
	ck_assert_int_eq(wrapper("__libc_malloc", "/p"), 0);
	ck_assert_int_eq(wrapper("malloc", "/p"), 1);

	/* back to the built-ins */
	setenv("HEAPSNAP_WRAPPERS", "", 1);
	ck_assert_int_eq(wrapper("__libc_malloc", "/p"), 1);
	ck_assert_int_eq(wrapper("my_alloc", "/p"), 0);
	unsetenv("HEAPSNAP_WRAPPERS");
	ck_assert_int_eq(wrapper("xmalloc", "/p"), 1);
}
END_TEST

/* A name longer than the matcher's stack buffer, with parameters. */
START_TEST(test_long_name)
{
	char name[2000];

	setenv("HEAPSNAP_WRAPPERS", "very::long*::alloc", 1);
	strcpy(name, "very::long");
	memset(name + strlen(name), 'x', 1500);
	name[10 + 1500] = '\0';
	strcat(name, "::alloc(unsigned long)");
	ck_assert_int_eq(wrapper(name, "/p"), 1);
	name[9] = 'G'; /* "very::lonG..." */
	ck_assert_int_eq(wrapper(name, "/p"), 0);
	unsetenv("HEAPSNAP_WRAPPERS");
}
END_TEST

/* A frame with a function name, a source file and a module. */
static int wrapper_at(const char *function, const char *file, const char *module)
{
	struct hs_frame f = {.ip = 0x1234, .function = function, .file = file, .line = file ? 10 : 0, .module = module};
	struct frames *w = frames_new(getenv("HEAPSNAP_WRAPPERS"));

	ck_assert_ptr_nonnull(w);
	int r = frames_is_wrapper(w, &f);
	frames_free(w);
	return r;
}

/* [std]: the C++ standard library's functions in its headers or library */
START_TEST(test_std)
{
	const char *hdr = "/usr/include/c++/12/bits/allocated_ptr.h", *exe = "/work/app";
	const char *guarded = "std::__allocated_ptr<std::allocator<std::_Sp_counted_ptr_inplace<Node, std::allocator<void>, "
			      "(__gnu_cxx::_Lock_policy)2> > > std::__allocate_guarded<std::allocator<std::_Sp_counted_ptr_"
			      "inplace<Node, std::allocator<void>, (__gnu_cxx::_Lock_policy)2> > >(std::allocator<std::_Sp_"
			      "counted_ptr_inplace<Node, std::allocator<void>, (__gnu_cxx::_Lock_policy)2> >&)";

	ck_assert_int_eq(wrapper_at(guarded, hdr, exe), 1);
	ck_assert_int_eq(wrapper_at("void std::vector<long, std::allocator<long> >::_M_realloc_insert<long>(long&&)",
				    "/usr/include/c++/12/bits/vector.tcc", exe), 1);
	ck_assert_int_eq(wrapper_at("std::map<int, int>::operator[](int const&)", "/usr/include/c++/12/bits/stl_map.h", exe),
			 1);
	ck_assert_int_eq(wrapper_at("__gnu_cxx::__normal_iterator<int*>::base()", "/usr/include/c++/v1/iter.h", exe), 1);
	/* in libstdc++.so without debug information */
	ck_assert_int_eq(wrapper_at("std::__cxx11::basic_string<char>::_M_create(unsigned long&, unsigned long)", NULL,
				    "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"), 1);
	/* the program's own: a specialization in its file, its functions
	 * taking std types, a namespace merely named std inside another */
	ck_assert_int_eq(wrapper_at("std::hash<Key>::operator()(Key const&) const", "/work/src/key.h", exe), 0);
	ck_assert_int_eq(wrapper_at("make_cycle(std::string)", "/work/src/a.cc", exe), 0);
	ck_assert_int_eq(wrapper_at("ns::std::f()", "/usr/include/c++/12/x.h", exe), 0);
	ck_assert_int_eq(wrapper_at("std::f()", NULL, exe), 0);
	/* -[std] takes them out */
	setenv("HEAPSNAP_WRAPPERS", "-[std]", 1);
	ck_assert_int_eq(wrapper_at(guarded, hdr, exe), 0);
	unsetenv("HEAPSNAP_WRAPPERS");
}
END_TEST

static void short_is(const char *name, const char *want)
{
	char *s = names_shorten(name);

	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, want);
	free(s);
}

START_TEST(test_shorten)
{
	short_is("std::vector<std::pair<int, int>, std::allocator<std::pair<int, int> > >::push_back(int&&)",
		 "std::vector<\xe2\x80\xa6>::push_back(int&&)");
	short_is("std::__shared_count<(__gnu_cxx::_Lock_policy)2>::__shared_count<Node, std::allocator<void>>(Node*&, "
		 "std::_Sp_alloc_shared_tag<std::allocator<void> >)",
		 "std::__shared_count<\xe2\x80\xa6>::__shared_count<\xe2\x80\xa6>(Node*&, std::_Sp_alloc_shared_tag<\xe2\x80\xa6>)");
	/* operators, empty lists, names that are no templates, plain C */
	short_is("A::operator<<(int)", "A::operator<<(int)");
	short_is("A::operator<=>(A const&)", "A::operator<=>(A const&)");
	short_is("A::operator->()", "A::operator->()");
	short_is("bool operator< <int>(X<int> const&)", "bool operator< <int>(X<\xe2\x80\xa6> const&)");
	short_is("f<>()", "f<>()");
	short_is("<module>", "<module>");
	short_is("outer.<locals>.inner", "outer.<locals>.inner");
	short_is("main", "main");
	short_is("broken<unclosed", "broken<unclosed");
	ck_assert_int_eq(names_in_std("std::foo()"), 1);
	ck_assert_int_eq(names_in_std("int* std::foo<int>(int)"), 1);
	ck_assert_int_eq(names_in_std("foo(std::string)"), 0);
	ck_assert_int_eq(names_in_std(NULL), 0);
}
END_TEST

Suite *frames_suite(void)
{
	Suite *s = suite_create("frames");
	TCase *tc = tcase_create("frames");

	tcase_add_test(tc, test_glob);
	tcase_add_test(tc, test_builtin_c);
	tcase_add_test(tc, test_builtin_cxx);
	tcase_add_test(tc, test_shim_module);
	tcase_add_test(tc, test_env);
	tcase_add_test(tc, test_long_name);
	tcase_add_test(tc, test_std);
	tcase_add_test(tc, test_shorten);
	suite_add_tcase(s, tc);
	return s;
}
