#!/bin/bash
# api.sh - the analyzer library's second front end (tests/example_api.c):
# a program built from include/heapsnap-analyze.h and
# build/lib/libheapsnap-analyze.a alone prints, for traces of real
# programs, the same leak summary and top lines as the heapsnap command's
# JSON, and shows that one session's symbolizer opens each module file
# once for many processes.
#
#   bash tests/api.sh        (make check runs it)
#
# Ends with exactly one line "api: N passed, M failed"; exits 1 if M > 0.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
HS=${HEAPSNAP_CLI:-$ROOT/build/bin/heapsnap}
EX=$ROOT/build/tests/example_api
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=$(command -v python3 || echo python3); fi

SUITE=api
. "$(dirname "$0")/harness.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/heapsnap-api.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

# The example is the library's alone: no header of src/ or tools/, no
# symbol of the command.
if grep -q '#include "' "$ROOT/tests/example_api.c"; then
	fail public-header-only "tests/example_api.c includes a private header"
else
	ok public-header-only
fi
if nm "$EX" | grep -qE ' T (cmd_|cli_|run_)'; then fail no-tools-code "$(nm "$EX" | grep -E ' T (cmd_|cli_|run_)' | head -3)"; else ok no-tools-code; fi

# compare NAME TRACE...: example_api's numbers for each trace equal those
# of `heapsnap leaks` and `heapsnap top` in JSON.
compare() {
	local name=$1
	shift
	if ! "$EX" "$@" >"$name.ex" 2>"$name.err"; then
		fail "$name" "example_api failed: $(head -c 300 "$name.err")"
		return
	fi
	local t
	for t in "$@"; do
		"$HS" leaks --kinds all --format json "$t" >"$t.leaks.json" &&
			"$HS" top --format json --limit 5 "$t" >"$t.top.json" || {
			fail "$name" "heapsnap on $t failed"
			return
		}
	done
	if "$PY" - "$name.ex" "$@" >"$name.out" 2>&1 <<'PYEOF'; then ok "$name"; else fail "$name" "$(tail -3 "$name.out")"; fi
import json, sys
text = open(sys.argv[1]).read().split("\n")
got, cur = {}, None
for line in text:
    if line.startswith("== "):
        cur = line.split()[1]
        got[cur] = {"top": []}
    elif line.startswith("leaks: no pointer scan"):
        got[cur]["leaks"] = None
    elif line.startswith("leaks:"):
        w = line.split()[1:]
        got[cur]["leaks"] = {w[i]: tuple(int(x) for x in w[i + 1].split("/")) for i in range(0, 8, 2)}
        got[cur]["cycles"] = int(w[9])
    elif line.startswith("top: "):
        w = line.split()
        got[cur]["total"] = (int(w[1]), int(w[4]))
    elif line.startswith("  "):
        key, size, count = line[2:].rsplit(" ", 2)
        got[cur]["top"].append((key, int(size), int(count)))
errs = []
for t in sys.argv[2:]:
    lk = json.load(open(t + ".leaks.json"))
    tp = json.load(open(t + ".top.json"))
    g = got.get(t)
    if g is None:
        errs.append("%s: not in the output" % t)
        continue
    if lk["scanned"]:
        want = {k: (lk["summary"][k]["blocks"], lk["summary"][k]["bytes"]) for k in ("definite", "indirect", "possible", "reachable")}
        if g["leaks"] != want:
            errs.append("%s leaks: %r, heapsnap leaks says %r" % (t, g["leaks"], want))
        if g["cycles"] != len(lk["cycles"]):
            errs.append("%s cycles: %r, want %r" % (t, g["cycles"], len(lk["cycles"])))
    elif g["leaks"] is not None:
        errs.append("%s: not scanned, yet leaks %r" % (t, g["leaks"]))
    want = [(x["key"], x["size"], x["count"]) for x in tp["stats"]]
    if g["top"] != want:
        errs.append("%s top: %r, heapsnap top says %r" % (t, g["top"], want))
    if g["total"] != (tp["total"]["size"], tp["total"]["count"]):
        errs.append("%s total: %r, want %r" % (t, g["total"], tp["total"]))
if errs:
    print("; ".join(errs))
    sys.exit(1)
print("fine", len(sys.argv) - 2, "traces")
PYEOF
}

# Leak scenarios with known classes and cycles, and a real Debian program.
for p in list two_cycles tree; do
	"$HS" run -q -o "$p.hst" -- "$ROOT/build/tests/leaks/$p" >/dev/null 2>&1
done
compare leak-scenarios list.hst two_cycles.hst tree.hst
has_known() { grep -q "leaks: definite 2/160 indirect 5/376 possible 0/0 reachable 3/264 cycles 0" leak-scenarios.ex; }
if has_known; then ok list-known-numbers; else fail list-known-numbers "$(grep -A1 '== list' leak-scenarios.ex)"; fi
if command -v sqlite3 >/dev/null; then
	"$HS" run -q -o sqlite.hst -- sqlite3 :memory: 'create table t(x); insert into t values (1), (2); select sum(x) from t;' \
		>/dev/null 2>&1
	compare sqlite sqlite.hst
else
	skip sqlite "sqlite3 is not installed"
fi

# One session over the traces of a process tree: every trace maps libc and
# the dynamic linker, each module file is opened once, not once per trace.
"$HS" run -q -o job.hst -- /bin/sh -c 'ls / >/dev/null; cat /etc/hostname >/dev/null; true' >/dev/null 2>&1
set -- job.hst*
if [ "$#" -ge 3 ]; then
	compare job "$@"
	line=$(grep '^symbolizer:' job.ex)
	read -r files mods traces < <(echo "$line" | sed -E 's/symbolizer: ([0-9]+) files opened for ([0-9]+) modules of ([0-9]+) traces/\1 \2 \3/')
	if [ "${traces:-0}" -eq "$#" ] && [ "${files:-0}" -gt 0 ] && [ "$files" -lt "$mods" ]; then
		ok job-files-once "$line"
	else
		fail job-files-once "$line (traces: $#)"
	fi
else
	fail job "the shell wrote $# trace(s), want 3 or more"
fi

# A trace that cannot be read: one line, status 2, the others still shown.
"$EX" list.hst nosuch.hst >bad.out 2>bad.err
rc=$?
if [ "$rc" -eq 2 ] && grep -q 'nosuch.hst' bad.err && grep -q '^== list.hst' bad.out; then
	ok unreadable
else
	fail unreadable "status $rc: $(head -c 200 bad.err)"
fi

finish
