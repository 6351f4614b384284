/*
 * json.h - the few helpers every JSON renderer needs: escaped strings.
 */
#ifndef HS_UTIL_JSON_H
#define HS_UTIL_JSON_H

#include <stddef.h>
#include <stdio.h>

/* Write s[0..n) as a JSON string literal, quotes included. */
void json_str(FILE *f, const char *s, size_t n);

#endif
