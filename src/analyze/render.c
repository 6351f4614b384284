/*
 * render.c - the public renderers: choose the format's file.
 */
#include "analyze/render.h"

#include <errno.h>
#include <string.h>

int hs_format_parse(const char *name, enum hs_format *out)
{
	static const char *const names[] = {
		[HS_FMT_TEXT] = "text",	  [HS_FMT_JSON] = "json", [HS_FMT_SARIF] = "sarif",
		[HS_FMT_JUNIT] = "junit", [HS_FMT_DOT] = "dot",	  [HS_FMT_FOLDED] = "folded",
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
