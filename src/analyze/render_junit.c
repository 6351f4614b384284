/*
 * render_junit.c - JUnit XML, what CI servers chart: a test case per
 * process of a CI run, a failure per leak site of it that is not in the
 * baseline, with its stack as the failure's text.
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

void render_junit(FILE *out, const struct hs_ci *ci)
{
	int skipped = 0;

	for (int i = 0; i < ci->ntraces; i++)
		skipped += !ci->traces[i]->leaks.scanned;
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(out, "<testsuites name=\"heapsnap\" tests=\"%d\" failures=\"%zu\" errors=\"0\" skipped=\"%d\">\n",
		ci->ntraces, ci->failing, skipped);
	fprintf(out, "  <testsuite name=\"heapsnap leaks\" tests=\"%d\" failures=\"%zu\" errors=\"0\" skipped=\"%d\">\n",
		ci->ntraces, ci->failing, skipped);
	for (int i = 0; i < ci->ntraces; i++) {
		struct hs_trace *t = ci->traces[i];
		const char *base = strrchr(render_exe(t), '/');
		char name[PATH_MAX + 32];
		snprintf(name, sizeof(name), "%s (pid %u)", render_exe(t), t->pid);
		fprintf(out, "    <testcase classname=\"heapsnap.");
		xml_text(out, base ? base + 1 : render_exe(t));
		fprintf(out, "\" name=\"");
		xml_text(out, name);
		fprintf(out, "\">\n");
		if (!t->leaks.scanned)
			fprintf(out, "      <skipped message=\"no pointer scan: the image exec'ed another or was killed\"/>\n");
		for (size_t k = 0; k < ci->nsites; k++) {
			const struct hs_ci_site *s = &ci->sites[k];
			char msg[1024], site[512];
			if (s->trace != t || s->in_baseline)
				continue;
			snprintf(msg, sizeof(msg), "%s of %llu byte(s) in %llu object(s) allocated from %s",
				 render_kind_title[s->rec->kind], (unsigned long long)s->rec->bytes,
				 (unsigned long long)s->rec->blocks, hs_trace_site(t, s->rec->stack, site, sizeof(site)));
			fprintf(out, "      <failure type=\"%s\" message=\"", hs_leak_kind_name(s->rec->kind));
			xml_text(out, msg);
			fprintf(out, "\">");
			char *text = NULL;
			size_t len = 0;
			FILE *mem = open_memstream(&text, &len);
			if (mem) {
				render_text_stack(mem, hs_trace_stack(t, s->rec->stack), 1);
				fclose(mem);
				xml_text(out, text);
			}
			free(text);
			fprintf(out, "</failure>\n");
		}
		fprintf(out, "    </testcase>\n");
	}
	fprintf(out, "  </testsuite>\n</testsuites>\n");
}
