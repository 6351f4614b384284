/*
 * render_sarif.c - SARIF 2.1.0, what code-scanning services (GitHub,
 * GitLab) read: a rule per leak class (with the descriptions and help
 * GitHub's ingestion requires) and a result per leak site of a CI run that
 * is not in the baseline, located at the first frame of its stack in the
 * program's own code (not in the C library it called), its whole stack as
 * a code flow, and its signature as the partial fingerprint that matches
 * it across runs.  A file under the working directory is a URI relative
 * to %SRCROOT%, which the run maps to that directory (GitHub: the
 * checkout); any other is an absolute file: URI.
 */
#define _GNU_SOURCE
#include "analyze/render.h"

#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/json.h"

/* Where the driver's informationUri points: the build's HOMEPAGE (make
 * HOMEPAGE=https://...), by default the installed manual page. */
#ifndef HS_HOMEPAGE
#define HS_HOMEPAGE "file:///usr/local/share/man/man1/heapsnap.1"
#endif

#define SRCROOT "%SRCROOT%"

/* Write path percent-encoded (RFC 3986: unreserved characters and '/' as
 * they are), after prefix. */
static void uri_string(FILE *out, const char *prefix, const char *path)
{
	char enc[3 * PATH_MAX + 16], *e = enc;

	e += snprintf(enc, sizeof(enc), "%s", prefix);
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

/* path relative to cwd when it lies under it, else NULL. */
static const char *under(const char *path, const char *cwd)
{
	size_t n = strlen(cwd);

	if (path[0] != '/')
		return NULL;
	if (n == 1) /* cwd is "/" */
		return path + 1;
	return !strncmp(path, cwd, n) && path[n] == '/' ? path + n + 1 : NULL;
}

/* An artifactLocation's members for a file: relative to %SRCROOT% when it
 * lies in the working directory or is relative (the compile directory,
 * taken to be it), else an absolute file: URI. */
static void sarif_artifact(FILE *out, const char *path, const char *cwd)
{
	const char *rel = under(path, cwd);

	fprintf(out, "\"uri\": ");
	if (rel || path[0] != '/') {
		uri_string(out, "", rel ? rel : path);
		fprintf(out, ", \"uriBaseId\": \"%s\"", SRCROOT);
	} else {
		uri_string(out, "file://", path);
	}
}

static void sarif_location(FILE *out, const struct hs_frame *f, const char *cwd)
{
	fprintf(out, "{\"physicalLocation\": {\"artifactLocation\": {");
	if (f->file && f->line) {
		sarif_artifact(out, f->file, cwd);
		fprintf(out, "}, \"region\": {\"startLine\": %u}}", f->line);
	} else {
		sarif_artifact(out, f->module ? f->module : "/unknown", cwd);
		fprintf(out, "}}");
	}
	if (f->function) {
		fprintf(out, ", \"message\": {\"text\": ");
		json_cstr(out, f->function);
		fprintf(out, "}");
	}
	fprintf(out, "}");
}

/* Is f in the program's own code, for a result's location: a source line
 * in a file in the working directory (an absolute path under it, or a
 * relative one, to the compile directory, that exists there), which a
 * code-scanning service finds in the checkout?  A C library's file
 * ("elf/dl-exception.c") is not there. */
static int own_code(const struct hs_frame *f, const char *cwd)
{
	struct stat st;

	if (!f->file || !f->line)
		return 0;
	if (f->file[0] == '/')
		return under(f->file, cwd) != NULL;
	return !stat(f->file, &st) && S_ISREG(st.st_mode);
}

/* Is f's module one of the system's (its libraries, the loader)? */
static int system_module(const struct hs_frame *f)
{
	static const char *const dirs[] = {"/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/", "/usr/libexec/"};

	for (size_t i = 0; f->module && i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (!strncmp(f->module, dirs[i], strlen(dirs[i])))
			return 1;
	return 0;
}

/* The frame a result is located at: the first in the program's own code;
 * else the first with a source line outside the system's libraries; else
 * the first with a source line; else the first. */
static const struct hs_frame *result_frame(const struct hs_stack *st, const char *cwd)
{
	for (int i = 0; i < st->n; i++)
		if (own_code(&st->frames[i], cwd))
			return &st->frames[i];
	for (int i = 0; i < st->n; i++)
		if (st->frames[i].file && st->frames[i].line && !system_module(&st->frames[i]))
			return &st->frames[i];
	for (int i = 0; i < st->n; i++)
		if (st->frames[i].file && st->frames[i].line)
			return &st->frames[i];
	return &st->frames[0];
}

/* The rules, by enum hs_leak_kind. */
static const struct {
	const char *id, *name, *brief, *full, *help;
} rules[HS_LEAK_KINDS] = {
	{"reachable", "StillReachable", "Memory still reachable at exit",
	 "A block still allocated at exit that a pointer in the program's memory reaches, as Valgrind's memcheck "
	 "classifies it: not lost, but never freed.",
	 "The block was allocated at this location and was still in use when the process ended. That is often "
	 "intended (a cache, a singleton); free it at exit if the program must end with an empty heap."},
	{"possible-leak", "PossibleLeak", "Memory possibly leaked: reachable only through interior pointers",
	 "A block that no pointer to its start reaches at exit, only pointers into its middle, as Valgrind's "
	 "memcheck classifies it: lost, unless the program finds its start from such a pointer.",
	 "The block was allocated at this location. If the program keeps only a pointer into the block (past a "
	 "header, to a member), make sure it frees the block from it; otherwise it is a leak like a definite one."},
	{"indirect-leak", "IndirectLeak", "Memory indirectly leaked: reachable only from leaked blocks",
	 "A block that only leaked blocks point to at exit, as Valgrind's memcheck classifies it, or a member of "
	 "a leaked cycle other than its first.",
	 "The block was allocated at this location and leaks because the blocks that point to it leak: fixing "
	 "their leak fixes this one. In a leaked cycle (objects that own each other, as reference counts do), "
	 "break the cycle, with a weak reference for instance."},
	{"definite-leak", "DefiniteLeak", "Memory definitely leaked: no pointer to it remains",
	 "A block that no pointer reaches at exit, found by a scan of the process's roots and live blocks for "
	 "pointers, as Valgrind's memcheck classifies it.",
	 "The block was allocated at this location and the program lost every pointer to it: free it when its "
	 "owner is done with it. The code flow shows the whole allocation stack. A known leak can be "
	 "suppressed (a LeakSanitizer suppression, leak:FUNCTION) or accepted in a baseline "
	 "(heapsnap check --record-baseline FILE)."},
};

static void sarif_rules(FILE *out)
{
	for (int k = 0; k < HS_LEAK_KINDS; k++) {
		fprintf(out, "%s{\"id\": \"%s\", \"name\": \"%s\", \"shortDescription\": {\"text\": ", k ? ", " : "",
			rules[k].id, rules[k].name);
		json_cstr(out, rules[k].brief);
		fprintf(out, "}, \"fullDescription\": {\"text\": ");
		json_cstr(out, rules[k].full);
		fprintf(out, "}, \"help\": {\"text\": ");
		json_cstr(out, rules[k].help);
		fprintf(out, ", \"markdown\": ");
		json_cstr(out, rules[k].help);
		fprintf(out, "}, \"defaultConfiguration\": {\"level\": \"%s\"}, \"properties\": {\"tags\": [\"memory\", "
			     "\"leak\"], \"precision\": \"%s\"}}",
			k == HS_REACHABLE ? "note" : "error", k == HS_POSSIBLE ? "medium" : "high");
	}
}

void render_sarif(FILE *out, const struct hs_ci *ci)
{
	char cwd[PATH_MAX] = "/";

	if (!getcwd(cwd, sizeof(cwd)))
		strcpy(cwd, "/");
	fprintf(out, "{\"$schema\": \"https://json.schemastore.org/sarif-2.1.0.json\", \"version\": \"2.1.0\", "
		     "\"runs\": [{\"tool\": {\"driver\": {\"name\": \"heapsnap\", \"version\": \"" HS_VERSION "\", "
		     "\"informationUri\": ");
	json_cstr(out, HS_HOMEPAGE);
	fprintf(out, ", \"rules\": [");
	sarif_rules(out);
	/* the base's URI ends with a slash, as SARIF requires (cwd has none) */
	char base[PATH_MAX + 2];
	snprintf(base, sizeof(base), "%s/", strcmp(cwd, "/") ? cwd : "");
	fprintf(out, "]}}, \"originalUriBaseIds\": {\"%s\": {\"uri\": ", SRCROOT);
	uri_string(out, "file://", base);
	fprintf(out, "}}, \"results\": [");
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
			first ? "" : ", ", rules[rec->kind].id, rec->kind, rec->kind == HS_REACHABLE ? "note" : "error");
		json_cstr(out, msg);
		fprintf(out, "}, \"locations\": [");
		if (st->n)
			sarif_location(out, result_frame(st, cwd), cwd);
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
