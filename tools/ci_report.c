/*
 * ci_report.c - what `check` and `leaks` share for continuous integration:
 * the leak sites a CI run fails on, their signatures and the baseline that
 * holds them, and the SARIF 2.1.0 and JUnit XML renderings.
 *
 * A leak site's signature, which baselines store and match, is the
 * executable's base name, the allocation site's file:line and the function
 * names of its stack (module+offset where there is no symbol): stable across
 * runs and address-space randomization, and across edits that move lines
 * in the callers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ci_report.h"
#include "cli.h"
#include "util/json.h"

const char *const ci_kind_title[LEAK_KINDS] = {"Still reachable", "Possible leak", "Indirect leak", "Direct leak"};

const char *ci_exe(const struct leak_report *r)
{
	return r->exe ? r->exe : "?";
}

static void sig_append(char **buf, size_t *len, size_t *cap, const char *s)
{
	size_t n = strlen(s);

	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		*buf = realloc(*buf, *cap);
	}
	memcpy(*buf + *len, s, n + 1);
	*len += n;
}

/* Make buf valid UTF-8 in place of its invalid bytes: each becomes the
 * character Latin-1 gives it, as the JSON renderers write it (util/json.h),
 * so that a signature read back from a baseline compares equal.  Return
 * the new string (buf is freed), or NULL when out of memory. */
static char *utf8_fix(char *buf)
{
	const unsigned char *u = (const unsigned char *)buf;
	size_t n = strlen(buf), extra = 0;

	for (size_t i = 0; i < n;) {
		size_t len = json_utf8_len(u + i, n - i);
		extra += !len;
		i += len ? len : 1;
	}
	if (!extra)
		return buf;
	char *out = malloc(n + extra + 1), *o = out;
	if (!out) {
		free(buf);
		return NULL;
	}
	for (size_t i = 0; i < n;) {
		size_t len = json_utf8_len(u + i, n - i);
		if (len) {
			memcpy(o, u + i, len);
			o += len;
			i += len;
		} else {
			*o++ = (char)(0xc0 | u[i] >> 6);
			*o++ = (char)(0x80 | (u[i] & 0x3f));
			i++;
		}
	}
	*o = 0;
	free(buf);
	return out;
}

static char *signature(struct leak_report *r, const struct leak_group *g)
{
	const struct sym_stack *s = leaks_stack(r, g->stack);
	const char *exe = r->exe ? strrchr(r->exe, '/') : NULL;
	char *buf = NULL, part[PATH_MAX + 64];
	size_t len = 0, cap = 0;

	exe = exe ? exe + 1 : (r->exe ? r->exe : "?");
	sig_append(&buf, &len, &cap, exe);
	for (int i = 0; i < s->n; i++) {
		const struct sym_frame *f = &s->frames[i];
		const char *mod = f->module ? strrchr(f->module, '/') : NULL;
		mod = mod ? mod + 1 : (f->module ? f->module : "?");
		if (f->function)
			snprintf(part, sizeof(part), "%s%s", i ? ";" : "|", f->function);
		else
			snprintf(part, sizeof(part), "%s%s+0x%llx", i ? ";" : "|", mod, (unsigned long long)f->offset);
		sig_append(&buf, &len, &cap, part);
		if (i == 0 && f->file && f->line) {
			const char *base = strrchr(f->file, '/');
			snprintf(part, sizeof(part), "@%s:%u", base ? base + 1 : f->file, f->line);
			sig_append(&buf, &len, &cap, part);
		}
	}
	if (!s->n)
		sig_append(&buf, &len, &cap, "|<no stack>");
	return utf8_fix(buf);
}

/* Read exactly four hex digits at p into *v; 0, or -1 if they are not. */
static int hex4(const char *p, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
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

/* Decode the JSON string literal at p (just past its opening quote) into
 * a new string; *end is set past the closing quote.  NULL if malformed. */
static char *json_unquote(const char *p, const char **end)
{
	char *out = malloc(strlen(p) + 1), *o = out;

	for (; *p && *p != '"'; p++) {
		if (*p != '\\') {
			*o++ = *p;
			continue;
		}
		p++;
		switch (*p) {
		case 'n': *o++ = '\n'; break;
		case 't': *o++ = '\t'; break;
		case 'r': *o++ = '\r'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
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
		case 0: free(out); return NULL;
		default: *o++ = *p; break;
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

static int by_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* If p is at the key "signature" followed by a colon and a string, return
 * the position just past the string's opening quote; else NULL.  Any JSON
 * whitespace may surround the colon, so a reformatted baseline still reads. */
static const char *signature_value(const char *p)
{
	static const char key[] = "\"signature\"";

	p += sizeof(key) - 1;
	p += strspn(p, " \t\r\n");
	if (*p++ != ':')
		return NULL;
	p += strspn(p, " \t\r\n");
	return *p == '"' ? p + 1 : NULL;
}

/* Read the signatures of a `check --format json` report.  Return 0, or -1
 * with an error printed (exit 2). */
int ci_baseline_load(struct ci_baseline *b, const char *path)
{
	FILE *f = fopen(path, "r");
	struct stat st;

	if (!f || fstat(fileno(f), &st)) {
		fprintf(stderr, "heapsnap: %s: cannot read the baseline: %s\n", path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	char *text = malloc((size_t)st.st_size + 1);
	size_t n = fread(text, 1, (size_t)st.st_size, f);
	fclose(f);
	text[n] = 0;
	if (!strstr(text, "\"heapsnap check\"")) {
		fprintf(stderr, "heapsnap: %s: not a baseline (make one with heapsnap check --format json --output FILE)\n",
			path);
		free(text);
		return -1;
	}
	for (const char *p = strstr(text, "\"signature\""); p; p = strstr(p + 1, "\"signature\"")) {
		const char *v = signature_value(p), *end;
		char *s = v ? json_unquote(v, &end) : NULL;
		if (!s) {
			fprintf(stderr, "heapsnap: %s: malformed signature at byte %zu\n", path, (size_t)(p - text));
			free(text);
			return -1;
		}
		b->sigs = realloc(b->sigs, (b->n + 1) * sizeof(*b->sigs));
		b->sigs[b->n++] = utf8_fix(s); /* a baseline written before JSON escaped bytes */
		p = end - 1;
	}
	free(text);
	if (b->n > 1) /* sigs is NULL when empty */
		qsort(b->sigs, b->n, sizeof(*b->sigs), by_str);
	return 0;
}

int ci_baseline_has(const struct ci_baseline *b, const char *sig)
{
	return b->n && bsearch(&sig, b->sigs, b->n, sizeof(*b->sigs), by_str) != NULL;
}

void ci_baseline_free(struct ci_baseline *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->sigs[i]);
	free(b->sigs);
}

void ci_add_sites(struct ci_result *res, struct leak_report *r, unsigned kinds, const struct ci_baseline *base)
{
	for (uint64_t k = 0; k < r->ngroups; k++) {
		const struct leak_group *g = &r->groups[k];
		if (!(kinds & (1u << g->kind)) || g->suppressed >= 0)
			continue;
		if (res->nsites == res->cap) {
			res->cap = res->cap ? 2 * res->cap : 64;
			res->sites = realloc(res->sites, res->cap * sizeof(*res->sites));
		}
		struct ci_site *s = &res->sites[res->nsites++];
		s->r = r;
		s->g = g;
		s->signature = signature(r, g);
		s->in_baseline = base && ci_baseline_has(base, s->signature);
		if (!s->in_baseline) {
			res->failing++;
			res->failing_blocks += g->blocks;
			res->failing_bytes += g->bytes;
		}
	}
}

void ci_sites_free(struct ci_result *res)
{
	for (size_t i = 0; i < res->nsites; i++)
		free(res->sites[i].signature);
	free(res->sites);
	res->sites = NULL;
	res->nsites = res->cap = 0;
}

static void sarif_uri(FILE *out, const char *path, const char *cwd)
{
	size_t n = strlen(cwd);
	char enc[3 * PATH_MAX + 16], *e = enc;

	if (path[0] == '/' && n > 1 && !strncmp(path, cwd, n) && path[n] == '/')
		path += n + 1;
	else if (path[0] == '/')
		e += sprintf(e, "file://");
	for (const char *p = path; *p && e < enc + sizeof(enc) - 4; p++) {
		unsigned char c = (unsigned char)*p;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("-._~/", c))
			*e++ = (char)c;
		else
			e += sprintf(e, "%%%02X", c);
	}
	*e = 0;
	json_str(out, enc, strlen(enc));
}

static void sarif_location(FILE *out, const struct sym_frame *f, const char *cwd)
{
	fprintf(out, "{\"physicalLocation\": {\"artifactLocation\": {\"uri\": ");
	if (f->file && f->line) {
		sarif_uri(out, f->file, cwd);
		fprintf(out, "}, \"region\": {\"startLine\": %u}}", f->line);
	} else {
		sarif_uri(out, f->module ? f->module : "unknown", cwd);
		fprintf(out, "}}");
	}
	if (f->function) {
		fprintf(out, ", \"message\": {\"text\": ");
		json_str(out, f->function, strlen(f->function));
		fprintf(out, "}");
	}
	fprintf(out, "}");
}

static const char *const rule_id[] = {"reachable", "possible-leak", "indirect-leak", "definite-leak"};
static const char *const rule_text[] = {
	"Memory still reachable at exit",
	"Memory possibly leaked: reachable only through interior pointers",
	"Memory indirectly leaked: reachable only from leaked blocks",
	"Memory definitely leaked: no pointer to it remains",
};

void ci_write_sarif(FILE *out, const struct ci_result *res)
{
	char cwd[PATH_MAX] = "/";

	if (!getcwd(cwd, sizeof(cwd)))
		strcpy(cwd, "/");
	fprintf(out, "{\"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\", \"version\": \"2.1.0\", "
		     "\"runs\": [{\"tool\": {\"driver\": {\"name\": \"heapsnap\", \"rules\": [");
	for (int k = 0; k < LEAK_KINDS; k++)
		fprintf(out, "%s{\"id\": \"%s\", \"shortDescription\": {\"text\": \"%s\"}, \"defaultConfiguration\": "
			     "{\"level\": \"%s\"}}",
			k ? ", " : "", rule_id[k], rule_text[k], k == LEAK_REACHABLE ? "note" : "error");
	fprintf(out, "]}}, \"results\": [");
	int first = 1;
	for (size_t i = 0; i < res->nsites; i++) {
		const struct ci_site *s = &res->sites[i];
		if (s->in_baseline)
			continue;
		const struct sym_stack *st = leaks_stack(s->r, s->g->stack);
		char msg[1024], site[512];
		snprintf(msg, sizeof(msg), "%s of %llu byte(s) in %llu object(s) allocated from %s in %s (pid %u)",
			 ci_kind_title[s->g->kind], (unsigned long long)s->g->bytes, (unsigned long long)s->g->blocks,
			 leaks_site(s->r, s->g->stack, site, sizeof(site)), ci_exe(s->r), s->r->pid);
		fprintf(out, "%s{\"ruleId\": \"%s\", \"ruleIndex\": %d, \"level\": \"%s\", \"message\": {\"text\": ",
			first ? "" : ", ", rule_id[s->g->kind], s->g->kind, s->g->kind == LEAK_REACHABLE ? "note" : "error");
		json_str(out, msg, strlen(msg));
		fprintf(out, "}, \"locations\": [");
		int at = 0;
		while (at < st->n && !(st->frames[at].file && st->frames[at].line))
			at++;
		if (st->n)
			sarif_location(out, &st->frames[at < st->n ? at : 0], cwd);
		fprintf(out, "], \"partialFingerprints\": {\"heapsnapSignature/v1\": ");
		json_str(out, s->signature, strlen(s->signature));
		fprintf(out, "}");
		if (st->n) {
			fprintf(out, ", \"codeFlows\": [{\"threadFlows\": [{\"locations\": [");
			for (int f = 0; f < st->n; f++) {
				fprintf(out, "%s{\"location\": ", f ? ", " : "");
				sarif_location(out, &st->frames[f], cwd);
				fprintf(out, "}");
			}
			fprintf(out, "]}]}]");
		}
		fprintf(out, "}");
		first = 0;
	}
	fprintf(out, "]}]}\n");
}

/* Write s as XML character data or attribute text.  Bytes that are not
 * valid UTF-8, and the two code points XML forbids (U+FFFE, U+FFFF), are
 * written as the character Latin-1 gives the byte, as JSON writes them
 * (util/json.h). */
static void xml_text(FILE *out, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s);

	for (size_t i = 0; i < n;) {
		unsigned char c = u[i];
		if (c == '<')
			fputs("&lt;", out);
		else if (c == '>')
			fputs("&gt;", out);
		else if (c == '&')
			fputs("&amp;", out);
		else if (c == '"')
			fputs("&quot;", out);
		else if (c < 0x20 && c != '\n' && c != '\t')
			fputc('?', out); /* not allowed in XML 1.0 */
		else if (c < 0x80)
			fputc(c, out);
		else {
			size_t len = json_utf8_len(u + i, n - i);
			if (!len || (len == 3 && c == 0xef && u[i + 1] == 0xbf && (u[i + 2] & 0xfe) == 0xbe)) {
				fprintf(out, "&#x%02X;", c);
			} else {
				fwrite(u + i, 1, len, out);
				i += len;
				continue;
			}
		}
		i++;
	}
}

void ci_write_junit(FILE *out, const struct ci_result *res)
{
	int skipped = 0;

	for (int i = 0; i < res->nreps; i++)
		skipped += !res->reps[i].scanned;
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(out, "<testsuites name=\"heapsnap\" tests=\"%d\" failures=\"%zu\" errors=\"0\" skipped=\"%d\">\n",
		res->nreps, res->failing, skipped);
	fprintf(out, "  <testsuite name=\"heapsnap leaks\" tests=\"%d\" failures=\"%zu\" errors=\"0\" skipped=\"%d\">\n",
		res->nreps, res->failing, skipped);
	for (int i = 0; i < res->nreps; i++) {
		struct leak_report *r = &res->reps[i];
		const char *base = strrchr(ci_exe(r), '/');
		char name[PATH_MAX + 32];
		snprintf(name, sizeof(name), "%s (pid %u)", ci_exe(r), r->pid);
		fprintf(out, "    <testcase classname=\"heapsnap.");
		xml_text(out, base ? base + 1 : ci_exe(r));
		fprintf(out, "\" name=\"");
		xml_text(out, name);
		fprintf(out, "\">\n");
		if (!r->scanned)
			fprintf(out, "      <skipped message=\"no pointer scan: the image exec'ed another or was killed\"/>\n");
		for (size_t k = 0; k < res->nsites; k++) {
			const struct ci_site *s = &res->sites[k];
			char msg[1024], site[512];
			if (s->r != r || s->in_baseline)
				continue;
			snprintf(msg, sizeof(msg), "%s of %llu byte(s) in %llu object(s) allocated from %s",
				 ci_kind_title[s->g->kind], (unsigned long long)s->g->bytes, (unsigned long long)s->g->blocks,
				 leaks_site(r, s->g->stack, site, sizeof(site)));
			fprintf(out, "      <failure type=\"%s\" message=\"", leak_kind_name(s->g->kind));
			xml_text(out, msg);
			fprintf(out, "\">");
			char *text = NULL;
			size_t len = 0;
			FILE *mem = open_memstream(&text, &len);
			cli_print_stack(mem, leaks_stack(r, s->g->stack));
			fclose(mem);
			xml_text(out, text);
			free(text);
			fprintf(out, "</failure>\n");
		}
		fprintf(out, "    </testcase>\n");
	}
	fprintf(out, "  </testsuite>\n</testsuites>\n");
}
