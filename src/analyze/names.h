/*
 * names.h - C++ function names as people read them (names.c).
 */
#ifndef HS_ANALYZE_NAMES_H
#define HS_ANALYZE_NAMES_H

/* name with every template argument list shortened to "<…>", so that
 * "std::vector<std::pair<int, int>, std::allocator<...> >::push_back"
 * reads "std::vector<…>::push_back"; operators ("operator<<") and names
 * that are no templates ("<module>") are left alone.  Return it (the
 * caller frees) or NULL when out of memory. */
char *names_shorten(const char *name);

/* Is function (demangled, NULL allowed) a member of the C++ standard
 * library's namespaces, std:: or __gnu_cxx::, once its return type and
 * parameters are set aside? */
int names_in_std(const char *function);

#endif
