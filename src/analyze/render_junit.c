/*
 * render_junit.c - JUnit XML, what CI servers chart: a test case per
 * process of a CI run, named by its command line (stable from run to run,
 * so that CI history follows it), failed when it has leak sites that are
 * not in the baseline (all of them, with their stacks, in the one
 * failure's text), skipped when it had no pointer scan.  tests = the
 * processes, failures = the failed ones.  Valid against the JUnit schema
 * of Jenkins' xunit plugin (tests/junit-jenkins.xsd says which rules).
 */
#define _GNU_SOURCE
#include "analyze/render.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"

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

/* The order of the traces by start (then pid): a run's processes in the
 * order it started them, whatever their pids. */
static int by_start(const void *a, const void *b)
{
	const struct hs_trace *x = *(struct hs_trace *const *)a, *y = *(struct hs_trace *const *)b;

	if (x->t0 != y->t0)
		return x->t0 < y->t0 ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* A test case's name: the process's command line (its executable when
 * the trace has none), stable from run to run, unlike its pid. */
static const char *case_name(const struct hs_trace *t)
{
	return t->cmdline && *t->cmdline ? t->cmdline : render_exe(t);
}

/* The new leak sites of trace t in ci. */
static size_t new_sites(const struct hs_ci *ci, const struct hs_trace *t, uint64_t *bytes, uint64_t *blocks)
{
	size_t n = 0;

	*bytes = *blocks = 0;
	for (size_t k = 0; k < ci->nsites; k++)
		if (ci->sites[k].trace == t && !ci->sites[k].in_baseline) {
			n++;
			*bytes += ci->sites[k].rec->bytes;
			*blocks += ci->sites[k].rec->blocks;
		}
	return n;
}

/* One test case: trace t, the repeat-th process of its command line
 * (from 1), its failure listing its new leak sites, or its skip. */
static void junit_case(FILE *out, const struct hs_ci *ci, struct hs_trace *t, int repeat)
{
	const char *base = strrchr(render_exe(t), '/');
	uint64_t bytes, blocks;
	size_t n = new_sites(ci, t, &bytes, &blocks);

	fprintf(out, "    <testcase classname=\"heapsnap.");
	xml_text(out, base ? base + 1 : render_exe(t));
	fprintf(out, "\" name=\"");
	xml_text(out, case_name(t));
	if (repeat > 1)
		fprintf(out, " #%d", repeat);
	fprintf(out, "\">\n");
	if (n) {
		/* the totals, then the first (largest) site, as one line */
		const struct hs_ci_site *first = NULL;
		char msg[1024], site[512];
		for (size_t k = 0; !first && k < ci->nsites; k++)
			if (ci->sites[k].trace == t && !ci->sites[k].in_baseline)
				first = &ci->sites[k];
		snprintf(msg, sizeof(msg),
			 "%zu new leak site(s), %llu byte(s) in %llu object(s) (pid %u); %s of %llu byte(s) in %llu "
			 "object(s) allocated from %s",
			 n, (unsigned long long)bytes, (unsigned long long)blocks, t->pid, render_kind_title[first->rec->kind],
			 (unsigned long long)first->rec->bytes, (unsigned long long)first->rec->blocks,
			 hs_trace_site(t, first->rec->stack, site, sizeof(site)));
		fprintf(out, "      <failure type=\"leak\" message=\"");
		xml_text(out, msg);
		fprintf(out, "\">");
		char *text = NULL;
		size_t len = 0;
		FILE *mem = open_memstream(&text, &len);
		for (size_t k = 0; mem && k < ci->nsites; k++) {
			const struct hs_ci_site *s = &ci->sites[k];
			if (s->trace != t || s->in_baseline)
				continue;
			fprintf(mem, "%s of %llu byte(s) in %llu object(s) allocated from:\n", render_kind_title[s->rec->kind],
				(unsigned long long)s->rec->bytes, (unsigned long long)s->rec->blocks);
			render_text_stack(mem, hs_trace_stack(t, s->rec->stack), 1);
			fputc('\n', mem);
		}
		if (mem && !fclose(mem))
			xml_text(out, text);
		free(text);
		fprintf(out, "</failure>\n");
	} else if (!t->leaks.scanned) {
		fprintf(out, "      <skipped message=\"no pointer scan: the image exec'ed another or was killed\"/>\n");
	}
	fprintf(out, "    </testcase>\n");
}

void render_junit(FILE *out, const struct hs_ci *ci)
{
	struct hs_trace **order = malloc((size_t)(ci->ntraces ? ci->ntraces : 1) * sizeof(*order));
	int failures = 0, skipped = 0;
	uint64_t bytes, blocks;

	for (int i = 0; i < ci->ntraces; i++) {
		int failing = new_sites(ci, ci->traces[i], &bytes, &blocks) > 0;
		failures += failing;
		skipped += !failing && !ci->traces[i]->leaks.scanned;
	}
	/* Jenkins' xunit schema has no skipped on <testsuites> (junit-10.xsd) */
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(out, "<testsuites name=\"heapsnap\" tests=\"%d\" failures=\"%d\" errors=\"0\">\n", ci->ntraces, failures);
	fprintf(out, "  <testsuite name=\"heapsnap leaks\" tests=\"%d\" failures=\"%d\" errors=\"0\" skipped=\"%d\">\n",
		ci->ntraces, failures, skipped);
	if (order) {
		memcpy(order, ci->traces, (size_t)ci->ntraces * sizeof(*order));
		qsort(order, (size_t)ci->ntraces, sizeof(*order), by_start);
	}
	for (int i = 0; i < ci->ntraces; i++) {
		struct hs_trace *t = order ? order[i] : ci->traces[i];
		int repeat = 1;
		for (int j = 0; j < i; j++)
			repeat += !strcmp(case_name(order ? order[j] : ci->traces[j]), case_name(t));
		junit_case(out, ci, t, repeat);
	}
	free(order);
	fprintf(out, "  </testsuite>\n</testsuites>\n");
}
