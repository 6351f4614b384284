#!/bin/bash
# report.sh - `heapsnap report` tested in real browsers: each report is
# loaded by Debian's chromium, headless (tests/report_browser.py drives it
# over the DevTools protocol), which fails on any JavaScript error or any
# load at all, and compares what the rendered page shows with `heapsnap
# info/leaks/top/diff --format json` on the same trace; then by Debian's
# firefox-esr, headless (tests/report_firefox.py, over Marionette), with
# the same checks of what it rendered.  Also the command's
# exit codes and messages, and the size of the page.
#
#   bash tests/report.sh            (make check runs it)
#   REPORT_SCREENSHOT=FILE.png bash tests/report.sh   also saves the
#                                   screenshot of the python3 report (the
#                                   README's tools/report/screenshot.png)
#
# Ends with one line "report: N passed, M failed"; exits 1 if M > 0.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
HS=$ROOT/build/bin/heapsnap
PROGS=$ROOT/build/tests/progs
LEAKS=$ROOT/build/tests/leaks
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=$(command -v python3 || echo python3); fi
BROWSER="$PY $ROOT/tests/report_browser.py"
SMALL_MAX=300000 # bytes: "a few hundred kB" for a small trace

SUITE=report
. "$(dirname "$0")/harness.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/heapsnap-report.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
ulimit -c 0
cd "$T" || exit 1

if ! command -v chromium >/dev/null; then
	fail chromium "chromium is not installed (make deps installs it)"
	finish
fi

# trace NAME RUN-OPTIONS... -- PROG ARGS: trace into $T/NAME.hst; 0 if written.
trace() {
	local name=$1
	shift
	# (braces: the shell's note about a program killed on purpose stays quiet)
	{ timeout -k 5 60 "$HS" run -q -o "$T/$name.hst" "$@" >"$T/$name.out" 2>&1; } 2>/dev/null
	[ -f "$T/$name.hst" ]
}

# jsons NAME: the command's own JSON of the trace, for the comparisons.
jsons() {
	local f=$T/$1.hst
	"$HS" info "$f" --format json >"$T/$1.info.json" &&
		"$HS" leaks "$f" --format json >"$T/$1.leaks.json" &&
		"$HS" top "$f" --format json >"$T/$1.top.json"
}

# page NAME TEST REPORT-OPTIONS...: write $T/NAME.html; fail TEST if it
# cannot be written.
page() {
	local name=$1 test=$2
	shift 2
	if ! "$HS" report "$T/$name.hst" -o "$T/$name.html" "$@" >"$T/$name.rout" 2>&1; then
		fail "$test" "heapsnap report failed: $(head -c 300 "$T/$name.rout")"
		return 1
	fi
}

# browse TEST PAGE CHECK-OPTIONS...: have chromium load and check it (one
# browser loads every page at the end: see run_browser).
browse() {
	printf '%q ' "$@" >>"$T/batch"
	echo >>"$T/batch"
}

# run_browser [firefox]: have chromium (or Firefox, its tests named
# firefox-NAME) load and check every page of the batch.
run_browser() {
	local line out prefix=""
	[ -s "$T/batch" ] || return
	if [ "${1:-}" = firefox ]; then
		prefix=firefox-
		if ! command -v firefox-esr >/dev/null; then
			fail firefox "firefox-esr is not installed (make deps installs it)"
			return
		fi
		out=$($PY "$ROOT/tests/report_firefox.py" --batch "$T/batch" 2>&1)
	else
		out=$($BROWSER --batch "$T/batch" 2>&1)
	fi
	while IFS= read -r line; do
		case $line in
		"ok   "*) ok "$prefix${line#ok   }" ;;
		"FAIL "*) line=${line#FAIL }; fail "$prefix${line%%: *}" "${line#*: }" ;;
		*) fail "${prefix}report-browser" "$line" ;;
		esac
	done <<<"$out"
}

# The bundled leaky program: every leak class, a leaked cycle, snapshots.
test_leaky() {
	cc -O0 -g -fno-omit-frame-pointer -I"$ROOT/include" -o "$T/leaky" "$ROOT/tests/demo/leaky.c" || {
		fail report-leaky "cannot build tests/demo/leaky.c"
		return
	}
	trace leaky -- "$T/leaky" && jsons leaky && page leaky report-leaky || {
		fail report-leaky "no trace or no JSON: $(head -c 300 "$T/leaky.out")"
		return
	}
	browse report-leaky "$T/leaky.html" --click-flame --info "$T/leaky.info.json" \
		--leaks "$T/leaky.leaks.json" --top "$T/leaky.top.json"
	local size
	size=$(stat -c %s "$T/leaky.html")
	if [ "$size" -le "$SMALL_MAX" ]; then
		ok report-small-size
	else
		fail report-small-size "the report of a small trace is $size bytes, more than $SMALL_MAX"
	fi
	# no src= at all, no link to anything but the page's own sections, no
	# CSS import or url() other than an SVG fragment (#marker)
	if grep -qiE '\<src=|href="[^#]|@import|url\([^#]' "$T/leaky.html"; then
		fail report-self-contained "the page names something to load: $(grep -oiE '\<src=[^ ]*|href="[^#][^"]*"|@import[^;]*|url\([^#][^)]*\)' "$T/leaky.html" | head -3 | tr '\n' ' ')"
	else
		ok report-self-contained
	fi
}

# Snapshots from a signal: growth sites with sparklines, the chosen A and B
# (--from, --to) compared under the chart as `diff` compares them, and
# another run of the same program as the baseline.
test_snapshots() {
	trace sn --snapshot-signal USR2 -- "$PROGS/snapshots" && jsons sn || {
		fail report-snapshots "no trace: $(head -c 300 "$T/sn.out")"
		return
	}
	trace sn2 --snapshot-signal USR2 -- "$PROGS/snapshots" || {
		fail report-snapshots "no second trace"
		return
	}
	"$HS" top "$T/sn.hst" --growth --format json >"$T/sn.growth.json"
	"$HS" diff "$T/sn.hst" --from 1 --to s3 --format json >"$T/sn.diff.json"
	"$HS" diff "$T/sn2.hst" "$T/sn.hst" --to s3 --format json >"$T/sn.base.json"
	page sn report-snapshots --from 1 --to s3 --baseline "$T/sn2.hst" || return
	browse report-snapshots "$T/sn.html" --info "$T/sn.info.json" --leaks "$T/sn.leaks.json" \
		--growth "$T/sn.growth.json" --range-diff "$T/sn.diff.json" --baseline "$T/sn.base.json" --click-flame
}

# Leak scenarios with cycles: two 2-cycles, and one of 1000 blocks (drawn
# in part; the counts stay exact).
test_cycles() {
	local p
	for p in two_cycles cycle1000; do
		trace "$p" -- "$LEAKS/$p" && jsons "$p" && page "$p" "report-$p" || {
			fail "report-$p" "no trace: $(head -c 300 "$T/$p.out")"
			continue
		}
		browse "report-$p" "$T/$p.html" --info "$T/$p.info.json" --leaks "$T/$p.leaks.json" --top "$T/$p.top.json"
	done
}

# No scan (--no-scan) and a killed process (truncated, no scan): the page
# renders, says why the leak sections are empty, and shows the rest.
test_partial() {
	trace noscan --no-scan -- "$T/leaky" && jsons noscan && page noscan report-no-scan &&
		browse report-no-scan "$T/noscan.html" --no-scan --info "$T/noscan.info.json" --top "$T/noscan.top.json"
	trace killed -- "$PROGS/crash" kill 500
	if [ -f "$T/killed.hst" ] && jsons killed && page killed report-truncated; then
		browse report-truncated "$T/killed.html" --truncated --no-scan --info "$T/killed.info.json" --top "$T/killed.top.json"
	else
		fail report-truncated "no trace of the killed program"
	fi
}

# A real program nobody here wrote: CPython grows a dict in four steps with
# a snapshot signal after each; the chart rises at each snapshot.
test_python() {
	cat >"$T/grow.py" <<'PYEOF'
import os, signal, time
d = {}
for step in range(4):
    for i in range(20000):
        d[(step, i)] = [i, str(i)]
    time.sleep(0.05)
    os.kill(os.getpid(), signal.SIGUSR2)
    time.sleep(0.05)
print(len(d))
PYEOF
	PYTHONMALLOC=malloc trace py --snapshot-signal USR2 -- "$PY" "$T/grow.py" && jsons py || {
		fail report-python "no trace: $(head -c 300 "$T/py.out")"
		return
	}
	# B is snapshot 3: the top table shows it, as `top --snapshot 3` does
	"$HS" top "$T/py.hst" --snapshot 3 --format json >"$T/py.top3.json"
	page py report-python --from 0 --to 3 || return
	browse report-python "$T/py.html" --steps 4 --info "$T/py.info.json" --leaks "$T/py.leaks.json" \
		--top "$T/py.top3.json" --click-flame ${REPORT_SCREENSHOT:+--screenshot "$REPORT_SCREENSHOT" --clip 1500}
}

# Temporary allocations (tests/progs/temporary.c): the page's table and
# total are those of `top --temporary` and `info`.
test_temporary() {
	trace tmp -- "$PROGS/temporary" && jsons tmp && page tmp report-temporary || {
		fail report-temporary "no trace: $(head -c 300 "$T/tmp.out")"
		return
	}
	"$HS" top "$T/tmp.hst" --temporary --format json >"$T/tmp.temp.json"
	browse report-temporary "$T/tmp.html" --info "$T/tmp.info.json" --temporary "$T/tmp.temp.json" --click-flame
}

# Resident memory: CPython maps and touches 64 MiB outside the heap; the
# chart's RSS line rises above 60 MiB while the live heap stays small.
test_rss() {
	cat >"$T/mm.py" <<'PYEOF'
import mmap, time
m = mmap.mmap(-1, 64 << 20)
for i in range(0, 64 << 20, 4096):
    m[i] = 1
time.sleep(0.1)
PYEOF
	PYTHONMALLOC=malloc trace mm -- "$PY" "$T/mm.py" && page mm report-rss || {
		fail report-rss "no trace: $(head -c 300 "$T/mm.out")"
		return
	}
	browse report-rss "$T/mm.html" --rss-above 60
}

# Several traces (tests/progs/fork_exec.c: the parent, its image after
# exec, two forked children): the summary adds them up (its peak the
# largest), the leak sections hold the three scanned traces, and choosing
# each process in the header redraws the time-based sections with its own
# top table, as `top` computes it on that trace alone.
test_processes() {
	mkdir -p "$T/fe" || return
	{ timeout -k 5 60 "$HS" run -q -o "$T/fe/fe.hst" -- "$PROGS/fork_exec" >"$T/fe.out" 2>&1; } 2>/dev/null
	local f b infos="" tops="" traces=("$T/fe/fe.hst")
	for f in "$T"/fe/fe.hst.*; do traces+=("$f"); done
	if [ "${#traces[@]}" -ne 4 ]; then
		fail report-processes "want 4 traces of fork_exec, got ${#traces[@]}: $(head -c 300 "$T/fe.out")"
		return
	fi
	for f in "${traces[@]}"; do
		b=$(basename "$f")
		"$HS" info "$f" --format json >"$T/$b.info.json" && "$HS" top "$f" --format json >"$T/$b.top.json" || {
			fail report-processes "info or top failed on $f"
			return
		}
		infos+=${infos:+,}$T/$b.info.json
		tops+=${tops:+,}$T/$b.top.json
	done
	"$HS" leaks "${traces[@]}" --format json >"$T/fe.leaks.json"
	if ! "$HS" report "${traces[@]}" -o "$T/fe.html" >"$T/fe.rout" 2>&1; then
		fail report-processes "heapsnap report failed: $(head -c 300 "$T/fe.rout")"
		return
	fi
	browse report-processes "$T/fe.html" --infos "$infos" --processes "$tops" --leaks "$T/fe.leaks.json" --click-flame
}

# Bad input: one line on stderr and the documented exit code.
test_errors() {
	local rc
	"$HS" report "$T/leaky.hst" -o /nonexistent/dir/r.html >"$T/e1" 2>&1
	rc=$?
	if [ "$rc" -eq 2 ] && [ "$(wc -l <"$T/e1")" -eq 1 ] && grep -q "cannot write" "$T/e1"; then
		ok report-unwritable
	else
		fail report-unwritable "want exit 2 and one line, got $rc: $(cat "$T/e1")"
	fi
	"$HS" report "$T/missing.hst" -o "$T/m.html" >"$T/e2" 2>&1
	rc=$?
	if [ "$rc" -eq 2 ] && [ "$(wc -l <"$T/e2")" -eq 1 ] && [ ! -e "$T/m.html" ]; then
		ok report-missing-trace
	else
		fail report-missing-trace "want exit 2, one line and no page, got $rc: $(cat "$T/e2")"
	fi
	"$HS" report "$T/leaky.hst" >"$T/e3" 2>&1
	rc=$?
	if [ "$rc" -eq 1 ]; then ok report-no-output; else fail report-no-output "want exit 1, got $rc"; fi
	"$HS" report "$T/leaky.hst" -o "$T/x.html" --from nosuch >"$T/e4" 2>&1
	rc=$?
	if [ "$rc" -eq 2 ] && grep -q "nosuch" "$T/e4"; then
		ok report-bad-selector
	else
		fail report-bad-selector "want exit 2 naming the selector, got $rc: $(cat "$T/e4")"
	fi
}

test_leaky
test_snapshots
test_cycles
test_partial
test_python
test_rss
test_temporary
test_processes
test_errors
run_browser
run_browser firefox
finish
