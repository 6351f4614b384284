/*
 * json.h - what every JSON renderer needs: string literals that are valid
 * JSON whatever bytes they are given.
 *
 * Names come from traces and debug information as bytes, not necessarily
 * UTF-8 (a file name in Latin-1, a mangled symbol).  Valid UTF-8 is written
 * as is; each byte that is not part of a valid UTF-8 sequence (a stray
 * continuation byte, a truncated or overlong sequence, a surrogate, a code
 * point above U+10FFFF) is written as \u00XX, XX being the byte: a reader
 * sees U+0080..U+00FF, the character Latin-1 gives that byte, and can get
 * the byte back.  heapsnap(1) documents this.
 */
#ifndef HS_UTIL_JSON_H
#define HS_UTIL_JSON_H

#include <stddef.h>
#include <stdio.h>

/* Write s[0..n) as a JSON string literal, quotes included. */
void json_str(FILE *f, const char *s, size_t n);

/* The same with '<' as \u003c, for JSON inside an HTML <script>: the
 * text then never ends the script element it sits in. */
void json_str_html(FILE *f, const char *s, size_t n);

/* Write the NUL-terminated s as a JSON string literal; NULL as "". */
void json_cstr(FILE *f, const char *s);

/* Write the NUL-terminated s as a JSON string literal; NULL as null. */
void json_opt_str(FILE *f, const char *s);

/* Decode the JSON string literal at p (just past its opening quote) into
 * a new NUL-terminated string (caller frees), \u escapes (and surrogate
 * pairs) as UTF-8; *end is set past the closing quote.  NULL if malformed
 * or out of memory. */
char *json_parse_str(const char *p, const char **end);

/* The length of the valid UTF-8 sequence at s[0..n) (1 to 4), or 0 when
 * s[0] does not start one.  n > 0. */
size_t json_utf8_len(const unsigned char *s, size_t n);

#endif
