/*
 * report_assets.S - the page of `heapsnap report` (tools/report/), built
 * into the library: each file as a NUL-terminated string, so the page is
 * edited as HTML, CSS and JavaScript, never as C string literals.  The
 * Makefile passes -Wa,-I. and lists the files as prerequisites.
 */
	.section .rodata
	.balign 8

#define ASSET(sym, file) \
	.global sym; \
	.type sym, @object; \
sym: \
	.incbin file; \
	.byte 0; \
	.size sym, . - sym

ASSET(hs_report_html, "tools/report/report.html")
ASSET(hs_report_css, "tools/report/report.css")
ASSET(hs_report_js_util, "tools/report/util.js")
ASSET(hs_report_js_chart, "tools/report/chart.js")
ASSET(hs_report_js_flame, "tools/report/flame.js")
ASSET(hs_report_js_tables, "tools/report/tables.js")
ASSET(hs_report_js_leaks, "tools/report/leaks.js")
ASSET(hs_report_js_main, "tools/report/main.js")

	.section .note.GNU-stack, "", @progbits
