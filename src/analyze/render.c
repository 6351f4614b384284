/*
 * render.c - the public renderers: choose the format's file.
 */
#include "analyze/render.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/names.h"
#include "trace/format.h"

int hs_format_parse(const char *name, enum hs_format *out)
{
	static const char *const names[] = {
		[HS_FMT_TEXT] = "text",	  [HS_FMT_JSON] = "json", [HS_FMT_SARIF] = "sarif",
		[HS_FMT_JUNIT] = "junit", [HS_FMT_DOT] = "dot",	  [HS_FMT_FOLDED] = "folded",
		[HS_FMT_PPROF] = "pprof",
	};

	for (size_t i = 0; name && i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(name, names[i])) {
			*out = (enum hs_format)i;
			return 0;
		}
	return -EINVAL;
}

int hs_render_info(FILE *out, enum hs_format f, struct hs_trace *const *t, int n)
{
	if (f != HS_FMT_TEXT && f != HS_FMT_JSON)
		return -EINVAL;
	if (f == HS_FMT_JSON && n > 1)
		fprintf(out, "{\"schema\": 1, \"traces\": [");
	for (int i = 0; i < n; i++) {
		if (f == HS_FMT_JSON) {
			fputs(i ? ", " : "", out);
			render_json_info(out, t[i]);
		} else {
			if (i)
				fputc('\n', out);
			render_text_info(out, t[i]);
		}
	}
	if (f == HS_FMT_JSON)
		fputs(n > 1 ? "]}\n" : "\n", out);
	return 0;
}

const char *render_exe(const struct hs_trace *t)
{
	return t->exe ? t->exe : "?";
}

double render_seconds(const struct hs_trace *t, uint64_t ts)
{
	return ts >= t->t0 ? (double)(ts - t->t0) / 1e9 : 0.0;
}

void render_name(FILE *out, const char *name, int full)
{
	char *s = full || !strchr(name, '<') ? NULL : names_shorten(name);

	fputs(s ? s : name, out);
	free(s);
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

char *render_site(struct hs_trace *t, uint32_t id, int full)
{
	const struct hs_stack *s = hs_trace_stack(t, id);
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	if (!out)
		return NULL;
	const struct hs_frame *f = s->n ? &s->frames[0] : NULL;
	if (f && f->function) {
		render_name(out, f->function, full);
		if (f->file && f->line)
			fprintf(out, " %s:%u", base_name(f->file), f->line);
		else
			fprintf(out, " (%s)", base_name(f->module ? f->module : "?"));
	} else if (f) {
		fprintf(out, "%s+0x%llx", base_name(f->module ? f->module : "?"), (unsigned long long)f->offset);
	} else {
		fputs("(no stack)", out);
	}
	if (fclose(out)) {
		free(text);
		return NULL;
	}
	return text;
}

int hs_render_leaks(FILE *out, enum hs_format f, struct hs_trace *const *t, int n, const struct hs_leaks_view *v)
{
	struct hs_ci ci = {0};
	int rc = 0;

	switch (f) {
	case HS_FMT_TEXT:
		render_text_leaks(out, t, n, v);
		return 0;
	case HS_FMT_JSON:
		render_json_leaks(out, t, n, v);
		return 0;
	case HS_FMT_DOT:
		if (!v->cycles_only)
			return -EINVAL;
		render_dot_cycles(out, t, n, v->full_names);
		return 0;
	case HS_FMT_SARIF:
	case HS_FMT_JUNIT:
		if (v->cycles_only)
			return -EINVAL;
		/* every shown loss record is a failing site: there is no baseline */
		for (int i = 0; i < n && !rc; i++)
			rc = hs_ci_add(&ci, t[i], v->kinds, NULL);
		if (!rc && f == HS_FMT_SARIF)
			render_sarif(out, &ci);
		else if (!rc)
			render_junit(out, &ci);
		hs_ci_free(&ci);
		return rc;
	default:
		return -EINVAL;
	}
}

int hs_leaks_stream_begin(struct hs_leaks_stream *st, enum hs_format f, int n, const struct hs_leaks_view *v)
{
	memset(st, 0, sizeof(*st));
	if ((f != HS_FMT_TEXT && f != HS_FMT_JSON) || n < 1)
		return -EINVAL;
	st->f = f;
	st->n = n;
	st->v = v;
	st->mem = open_memstream(&st->buf, &st->len);
	return st->mem ? 0 : -ENOMEM;
}

int hs_leaks_stream_add(struct hs_leaks_stream *st, struct hs_trace *t)
{
	if (st->done >= st->n)
		return -EINVAL;
	if (st->f == HS_FMT_TEXT)
		render_text_leaks_one(st->mem, t, st->n, st->v);
	else
		render_json_leaks_one(st->mem, t, st->done, st->n, st->v);
	for (int k = 0; k < HS_LEAK_KINDS; k++) {
		st->total[k][0] += t->leaks.total[k][0];
		st->total[k][1] += t->leaks.total[k][1];
	}
	st->suppressed[0] += t->leaks.suppressed[0];
	st->suppressed[1] += t->leaks.suppressed[1];
	st->done++;
	return ferror(st->mem) ? -ENOMEM : 0;
}

int hs_leaks_stream_end(struct hs_leaks_stream *st, FILE *out)
{
	if (st->done != st->n)
		return -EINVAL;
	if (fclose(st->mem)) {
		st->mem = NULL;
		return -ENOMEM;
	}
	st->mem = NULL;
	if (st->f == HS_FMT_JSON)
		render_json_leaks_head(out, st->n, st->total, st->suppressed, st->v);
	fwrite(st->buf, 1, st->len, out);
	if (st->f == HS_FMT_JSON)
		render_json_leaks_end(out, st->n);
	else
		render_text_leaks_end(out, st->n, st->total, st->suppressed, st->v);
	return 0;
}

void hs_leaks_stream_free(struct hs_leaks_stream *st)
{
	if (st->mem)
		fclose(st->mem);
	free(st->buf);
	memset(st, 0, sizeof(*st));
}

int hs_render_check(FILE *out, enum hs_format f, const struct hs_ci *ci, const struct hs_check_view *v)
{
	switch (f) {
	case HS_FMT_TEXT:
		render_text_check(out, ci, v);
		return 0;
	case HS_FMT_JSON:
		render_json_check(out, ci, v);
		return 0;
	case HS_FMT_SARIF:
		render_sarif(out, ci);
		return 0;
	case HS_FMT_JUNIT:
		render_junit(out, ci);
		return 0;
	default:
		return -EINVAL;
	}
}

int hs_render_top(FILE *out, enum hs_format f, const struct hs_top *v)
{
	if (f == HS_FMT_TEXT)
		render_text_top(out, v);
	else if (f == HS_FMT_JSON)
		render_json_top(out, v);
	else
		return -EINVAL;
	return 0;
}

int hs_render_diff(FILE *out, enum hs_format f, const struct hs_diff *v)
{
	if (f == HS_FMT_TEXT)
		render_text_diff(out, v);
	else if (f == HS_FMT_JSON)
		render_json_diff(out, v);
	else
		return -EINVAL;
	return 0;
}

int hs_render_growth(FILE *out, enum hs_format f, const struct hs_growth *v)
{
	if (f == HS_FMT_TEXT)
		render_text_growth(out, v);
	else if (f == HS_FMT_JSON)
		render_json_growth(out, v);
	else
		return -EINVAL;
	return 0;
}

int hs_render_retainers(FILE *out, enum hs_format f, struct hs_trace *t, const struct hs_retainers *r,
			const struct hs_retainers_view *v)
{
	if (f == HS_FMT_TEXT)
		render_text_retainers(out, t, r, v);
	else if (f == HS_FMT_JSON)
		render_json_retainers(out, t, r, v);
	else if (f == HS_FMT_DOT)
		render_dot_retainers(out, t, r);
	else
		return -EINVAL;
	return 0;
}

const char *render_root_kind(int kind)
{
	switch (kind) {
	case HS_ROOT_GLOBAL:
		return "global";
	case HS_ROOT_STACK:
		return "stack";
	case HS_ROOT_REGS:
		return "registers";
	case HS_ROOT_ANON:
		return "anon";
	case HS_ROOT_IGNORED:
		return "ignored";
	case HS_ROOT_TLS:
		return "tls";
	}
	return "unknown";
}

const char *render_scan_where(const struct hs_trace *t, int64_t snapshot, int reason, uint64_t ts, char *buf,
			      size_t cap)
{
	const char *label = "";

	for (size_t i = 0; snapshot >= 0 && i < t->nsnapshots; i++)
		if (t->snapshots[i].index == (uint64_t)snapshot)
			label = t->snapshots[i].label;
	if (snapshot >= 0)
		snprintf(buf, cap, "snapshot %lld%s%s%s (%.3f s)", (long long)snapshot, *label ? " \"" : "", label,
			 *label ? "\"" : "", render_seconds(t, ts));
	else
		snprintf(buf, cap, "the %s scan (%.3f s)",
			 reason == HST_SCAN_API ? "heapsnap_leak_check()" : reason == HST_SCAN_DETACH ? "detach" : "exit",
			 render_seconds(t, ts));
	return buf;
}
