/*
 * names.c - C++ names as people read them: every template argument list
 * shortened to "<…>", as heaptrack shows them ("std::vector<…>::push_back"
 * for "std::vector<std::__cxx11::basic_string<char, std::char_traits<char>,
 * std::allocator<char> >, std::allocator<...> >::push_back"), and the
 * standard library's own functions told apart from the program's.
 */
#define _GNU_SOURCE
#include "analyze/names.h"

#include <stdlib.h>
#include <string.h>

static int ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Does name[0..i) end with the keyword "operator"? */
static int after_operator(const char *name, size_t i)
{
	return i >= 8 && !memcmp(name + i - 8, "operator", 8) && (i == 8 || !ident_char(name[i - 9]));
}

/* The length of the operator token at s ("<", "<<=", "->*", ...), which
 * follows the keyword "operator": its '<' and '>' are no brackets. */
static size_t operator_len(const char *s)
{
	static const char *const ops[] = {"<=>", "<<=", ">>=", "->*", "<<", ">>", "<=", ">=", "->", "<", ">"};

	for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
		if (!strncmp(s, ops[k], strlen(ops[k])))
			return strlen(ops[k]);
	return 0;
}

/* The index just past the '>' that closes the '<' at name[i], or 0 if it
 * is not closed. */
static size_t close_of(const char *name, size_t i)
{
	int depth = 0;

	for (size_t j = i; name[j]; j++) {
		size_t op = after_operator(name, j) ? operator_len(name + j) : 0;
		if (op) {
			j += op - 1;
			continue;
		}
		if (name[j] == '<')
			depth++;
		else if (name[j] == '>' && !(j > 0 && name[j - 1] == '-') && --depth == 0)
			return j + 1;
	}
	return 0;
}

char *names_shorten(const char *name)
{
	size_t n = strlen(name), o = 0;
	char *out = malloc(2 * n + 1);

	if (!out)
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t op = after_operator(name, i) ? operator_len(name + i) : 0, end;
		if (op) {
			memcpy(out + o, name + i, op);
			o += op;
			i += op;
		} else if (name[i] == '<' && i > 0 && ident_char(name[i - 1]) && name[i + 1] != '>' &&
			   (end = close_of(name, i))) {
			/* a template's arguments: they follow its name */
			memcpy(out + o, "<\xe2\x80\xa6>", 5);
			o += 5;
			i = end;
		} else {
			out[o++] = name[i++];
		}
	}
	out[o] = 0;
	return out;
}

/* The qualified name of function name, without its return type and
 * parameters: [*start, *start + *len). */
static void qualified_name(const char *name, size_t *start, size_t *len)
{
	int depth = 0;
	size_t end = strlen(name), s = 0;

	/* the parameter list: from the last ')' back to its '(' */
	const char *close = strrchr(name, ')');
	if (close) {
		int d = 0;
		for (const char *p = close; p >= name; p--) {
			if (*p == ')')
				d++;
			else if (*p == '(' && --d == 0) {
				end = (size_t)(p - name);
				break;
			}
		}
	}
	for (size_t i = 0; i < end; i++) {
		size_t op = after_operator(name, i) ? operator_len(name + i) : 0;
		if (op) {
			i += op - 1;
			continue;
		}
		if (name[i] == '<' || name[i] == '(')
			depth++;
		else if ((name[i] == '>' && !(i && name[i - 1] == '-')) || name[i] == ')')
			depth--;
		else if (name[i] == ' ' && depth == 0 && name[i + 1] != '<' && !after_operator(name, i))
			s = i + 1;
	}
	*start = s;
	*len = end > s ? end - s : 0;
}

int names_in_std(const char *function)
{
	size_t s, n;

	if (!function)
		return 0;
	qualified_name(function, &s, &n);
	return (n > 5 && !strncmp(function + s, "std::", 5)) || (n > 11 && !strncmp(function + s, "__gnu_cxx::", 11));
}
