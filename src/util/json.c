/*
 * json.c - JSON string escaping, with invalid UTF-8 made valid (json.h).
 */
#include "util/json.h"

#include <stdlib.h>
#include <string.h>

size_t json_utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned min, cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		min = 0x80;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		min = 0x800;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		min = 0x10000;
		cp = c & 0x07;
	} else {
		return 0; /* a continuation byte, or 0xc0/0xc1/0xf5..0xff: never valid first */
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, UTF-16 surrogates and what lies beyond Unicode */
	if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/*
 * The length of the longest prefix of s[0..n) that is written as it is:
 * printable ASCII but '"' and '\\' (and '<' with html set), DEL, and
 * whole valid UTF-8 sequences.
 */
static size_t plain_run(const unsigned char *s, size_t n, int html)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		if (c >= 0x80) {
			size_t len = json_utf8_len(s + i, n - i);
			if (!len)
				break;
			i += len;
			continue;
		}
		if (c < 0x20 || c == '"' || c == '\\' || (c == '<' && html))
			break;
		i++;
	}
	return i;
}

/* json_str, and with html set '<' as \u003c too. */
static void str(FILE *f, const char *s, size_t n, int html)
{
	const unsigned char *u = (const unsigned char *)s;

	fputc('"', f);
	for (size_t i = 0; i < n;) {
		size_t run = plain_run(u + i, n - i, html);
		if (run) {
			/* one call for what needs no escape, not a call a byte */
			fwrite(u + i, 1, run, f);
			i += run;
			continue;
		}
		unsigned char c = u[i];
		if (c == '<' && html)
			c = 0; /* below: written as \u003c, like a control character */
		switch (c) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		default:
			if (c < 0x20) {
				fprintf(f, "\\u%04x", c ? c : u[i]);
			} else if (c < 0x80) {
				fputc(c, f);
			} else {
				size_t len = json_utf8_len(u + i, n - i);
				if (!len) {
					fprintf(f, "\\u%04x", c); /* the byte, as U+0080..U+00FF */
					break;
				}
				fwrite(u + i, 1, len, f);
				i += len;
				continue;
			}
		}
		i++;
	}
	fputc('"', f);
}

void json_str(FILE *f, const char *s, size_t n)
{
	str(f, s, n, 0);
}

void json_str_html(FILE *f, const char *s, size_t n)
{
	str(f, s, n, 1);
}

void json_cstr(FILE *f, const char *s)
{
	json_str(f, s ? s : "", s ? strlen(s) : 0);
}

void json_opt_str(FILE *f, const char *s)
{
	if (s)
		json_str(f, s, strlen(s));
	else
		fputs("null", f);
}

/* Read exactly four hex digits at p into *v; 0, or -1 if they are not. */
static int hex4(const char *p, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;
		if (d < 0)
			return -1; /* also stops at the terminating NUL */
		*v = *v << 4 | (unsigned)d;
	}
	return 0;
}

/* Write code point v as UTF-8 at o; return the end. */
static char *utf8_put(char *o, unsigned v)
{
	if (v < 0x80) {
		*o++ = (char)v;
	} else if (v < 0x800) {
		*o++ = (char)(0xc0 | v >> 6);
		*o++ = (char)(0x80 | (v & 0x3f));
	} else if (v < 0x10000) {
		*o++ = (char)(0xe0 | v >> 12);
		*o++ = (char)(0x80 | ((v >> 6) & 0x3f));
		*o++ = (char)(0x80 | (v & 0x3f));
	} else {
		*o++ = (char)(0xf0 | v >> 18);
		*o++ = (char)(0x80 | ((v >> 12) & 0x3f));
		*o++ = (char)(0x80 | ((v >> 6) & 0x3f));
		*o++ = (char)(0x80 | (v & 0x3f));
	}
	return o;
}

char *json_parse_str(const char *p, const char **end)
{
	/* every escape decodes to no more bytes than it takes */
	char *out = malloc(strlen(p) + 1), *o = out;

	if (!out)
		return NULL;
	for (; *p && *p != '"'; p++) {
		if (*p != '\\') {
			*o++ = *p;
			continue;
		}
		p++;
		switch (*p) {
		case 'n':
			*o++ = '\n';
			break;
		case 't':
			*o++ = '\t';
			break;
		case 'r':
			*o++ = '\r';
			break;
		case 'b':
			*o++ = '\b';
			break;
		case 'f':
			*o++ = '\f';
			break;
		case 'u': {
			unsigned v, lo;
			if (hex4(p + 1, &v)) {
				free(out);
				return NULL;
			}
			p += 4;
			/* A surrogate pair, as Python's json.dump writes non-BMP text. */
			if (v >= 0xd800 && v < 0xdc00 && p[1] == '\\' && p[2] == 'u' && !hex4(p + 3, &lo) &&
			    lo >= 0xdc00 && lo < 0xe000) {
				v = 0x10000 + ((v - 0xd800) << 10) + (lo - 0xdc00);
				p += 6;
			}
			o = utf8_put(o, v);
			break;
		}
		case 0:
			free(out);
			return NULL;
		default:
			*o++ = *p;
			break;
		}
	}
	if (*p != '"') {
		free(out);
		return NULL;
	}
	*o = 0;
	*end = p + 1;
	return out;
}
