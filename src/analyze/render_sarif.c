/*
 * render_sarif.c - SARIF 2.1.0, what code-scanning services (GitHub,
 * GitLab) read: a rule per leak class and a result per leak site of a CI
 * run that is not in the baseline, located at its first frame with a
 * source line, its whole stack as a code flow, and its signature as the
 * partial fingerprint that matches it across runs.
 */
#define _GNU_SOURCE
#include "analyze/render.h"

#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "util/json.h"

/* A file name as a SARIF artifact URI: relative to the working directory
 * when it lies under it (GitHub resolves those against the checkout),
 * else an absolute file: URI; reserved characters percent-encoded. */
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
	json_cstr(out, enc);
}

static void sarif_location(FILE *out, const struct hs_frame *f, const char *cwd)
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
		json_cstr(out, f->function);
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

void render_sarif(FILE *out, const struct hs_ci *ci)
{
	char cwd[PATH_MAX] = "/";

	if (!getcwd(cwd, sizeof(cwd)))
		strcpy(cwd, "/");
	fprintf(out, "{\"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\", \"version\": \"2.1.0\", "
		     "\"runs\": [{\"tool\": {\"driver\": {\"name\": \"heapsnap\", \"rules\": [");
	for (int k = 0; k < HS_LEAK_KINDS; k++)
		fprintf(out,
			"%s{\"id\": \"%s\", \"shortDescription\": {\"text\": \"%s\"}, \"defaultConfiguration\": "
			"{\"level\": \"%s\"}}",
			k ? ", " : "", rule_id[k], rule_text[k], k == HS_REACHABLE ? "note" : "error");
	fprintf(out, "]}}, \"results\": [");
	int first = 1;
	for (size_t i = 0; i < ci->nsites; i++) {
		const struct hs_ci_site *s = &ci->sites[i];
		if (s->in_baseline)
			continue;
		const struct hs_loss_record *rec = s->rec;
		const struct hs_stack *st = hs_trace_stack(s->trace, rec->stack);
		char msg[1024], site[512];
		snprintf(msg, sizeof(msg), "%s of %llu byte(s) in %llu object(s) allocated from %s in %s (pid %u)",
			 render_kind_title[rec->kind], (unsigned long long)rec->bytes, (unsigned long long)rec->blocks,
			 hs_trace_site(s->trace, rec->stack, site, sizeof(site)), render_exe(s->trace), s->trace->pid);
		fprintf(out, "%s{\"ruleId\": \"%s\", \"ruleIndex\": %d, \"level\": \"%s\", \"message\": {\"text\": ",
			first ? "" : ", ", rule_id[rec->kind], rec->kind, rec->kind == HS_REACHABLE ? "note" : "error");
		json_cstr(out, msg);
		fprintf(out, "}, \"locations\": [");
		int at = 0;
		while (at < st->n && !(st->frames[at].file && st->frames[at].line))
			at++;
		if (st->n)
			sarif_location(out, &st->frames[at < st->n ? at : 0], cwd);
		fprintf(out, "], \"partialFingerprints\": {\"heapsnapSignature/v1\": ");
		json_cstr(out, s->signature);
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
