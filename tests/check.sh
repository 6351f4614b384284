#!/bin/bash
# check.sh - `heapsnap check` end to end: exit codes (clean 0, leaky 23,
# --error-exitcode, the program's own failure first), suppressions that
# remove exactly what they match, baselines that pass the same run and
# fail only the new leak, SARIF 2.1.0's required properties, JUnit XML
# counts, the trace directory's cleanup, and a make-driven multi-process
# suite of Debian binaries with each leak attributed to its executable.
#
#   bash tests/check.sh        (make check runs it after the leak tests)
#
# Ends with exactly one line "check: N passed, M failed"; exits 1 if M > 0.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
HS=${HEAPSNAP_CLI:-$ROOT/build/bin/heapsnap}
P=$ROOT/build/tests/progs/check_leaky
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=$(command -v python3 || echo python3); fi

SUITE=check
. "$(dirname "$0")/harness.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/heapsnap-check-test.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
# check's own trace directories go here, so the cleanup can be seen.
mkdir tmp
export TMPDIR=$T/tmp

# expect_rc NAME WANT ARGS...: run heapsnap check ARGS, compare its status.
expect_rc() {
	local name=$1 want=$2
	shift 2
	"$HS" check "$@" >"$name.out" 2>"$name.err"
	local rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$name"; else fail "$name" "status $rc, want $want: $(tail -3 "$name.err")"; fi
}

# has NAME FILE PATTERN / hasnt NAME FILE PATTERN: grep -E in a report.
has() { if grep -qE -- "$3" "$2"; then ok "$1"; else fail "$1" "no /$3/ in $2: $(head -c 400 "$2")"; fi; }
hasnt() { if grep -qE -- "$3" "$2"; then fail "$1" "unexpected /$3/ in $2"; else ok "$1"; fi; }

# ---- exit codes ----
expect_rc clean 0 -- "$P" clean
has clean-summary clean.out 'SUMMARY: heapsnap: 0 byte\(s\) leaked in 0 allocation\(s\)'
expect_rc leaky 23 -- "$P" leak
has leaky-site leaky.out 'Direct leak of 300 byte\(s\) in 3 object\(s\) allocated from:'
has leaky-line leaky.out '#0 0x[0-9a-f]+ in leak_three .*check_leaky.c:18$'
has leaky-summary leaky.out 'SUMMARY: heapsnap: 300 byte\(s\) leaked in 3 allocation\(s\) at 1 new site'
expect_rc exitcode7 7 --error-exitcode 7 -- "$P" leak
expect_rc failing 3 -- "$P" fail
has failing-still-reports failing.out 'Direct leak of 300 byte'
expect_rc killed 137 -- /bin/sh -c 'kill -9 $$'
expect_rc fail-on-possible-only 0 --fail-on possible -- "$P" leak
expect_rc bad-fail-on 1 --fail-on lost -- "$P" leak
expect_rc bad-format 1 --format xml -- "$P" leak
expect_rc bad-exitcode 1 --error-exitcode 0 -- "$P" leak
expect_rc no-program 1 --keep
expect_rc missing-program 127 -- ./no-such-program
if [ -x /sbin/ldconfig ] && ldd /sbin/ldconfig 2>&1 | grep -q 'statically linked'; then
	expect_rc static-program 2 -- /sbin/ldconfig -p
	has static-program-says static-program.err 'wrote no trace \(statically linked'
else
	skip static-program "no statically linked /sbin/ldconfig"
fi
# curl --version probes for plugins with dlsym of names that do not exist:
# the dlerror state that leaves pending is curl's, freed at exit, not a
# leak (tests/leaks/dlsym_fail.c is the small version).  It used to be
# reported as one with jemalloc, and to crash curl with the system
# allocator.
if command -v curl >/dev/null; then
	expect_rc curl-version 0 -- curl --version
	has curl-version-clean curl-version.out 'SUMMARY: heapsnap: 0 byte\(s\) leaked in 0 allocation\(s\)'
	expect_rc curl-version-system 0 --allocator system -- curl --version
else
	skip curl-version "curl is not installed"
fi
expect_rc missing-suppressions 2 --suppressions nope.supp -- "$P" leak
has missing-suppressions-line missing-suppressions.err 'nope.supp'

# The traces go to a private directory under TMPDIR, removed afterwards
# unless --keep.
if [ -z "$(ls tmp)" ]; then ok traces-removed; else fail traces-removed "left: $(ls tmp)"; fi
expect_rc keep 23 --keep -- "$P" leak
kept=$(ls tmp/*/heapsnap.check_leaky.*.hst 2>/dev/null | wc -l)
if [ "$kept" -eq 1 ]; then ok keep-trace; else fail keep-trace "$kept traces kept"; fi
"$HS" leaks tmp/*/ >kept.out 2>&1
has keep-readable kept.out 'definitely lost: 300 bytes in 3 blocks'
rm -rf tmp/*
expect_rc output-dir 23 --output-dir traces -- "$P" leak
n=$(ls traces/heapsnap.check_leaky.*.hst 2>/dev/null | wc -l)
if [ "$n" -eq 1 ] && [ -z "$(ls tmp)" ]; then ok output-dir-kept; else fail output-dir-kept "$n traces in traces/, tmp: $(ls tmp)"; fi
expect_rc dash-o-rejected 1 -o x.hst -- "$P" leak

# What check prints can be run as printed: the leaked cycles' command
# names the kept trace, quoted for the shell (a TMPDIR with a space and a
# quote), and heapsnap by a name that runs; without --keep the trace is
# gone, so no command is offered (it used to print "heapsnap cycles
# --keep") and the JSON report's "trace" is null, not a deleted path.
CYC=$ROOT/build/tests/leaks/cycle2
expect_rc cycles-hint 23 -- "$CYC"
hasnt cycles-hint-no-dead-command cycles-hint.out 'cycles --keep'
has cycles-hint-says-keep cycles-hint.out '1 leaked cycle\(s\) in pid [0-9]+; check --keep keeps the traces'
mkdir "keep it's"
TMPDIR="$T/keep it's" "$HS" check --keep -- "$CYC" >cycles-keep.out 2>cycles-keep.err
cmd=$(sed -n 's/^   (1 leaked cycle(s) in pid [0-9]*: \(.*\))$/\1/p' cycles-keep.out)
if [ -n "$cmd" ] && bash -c "$cmd" >cycles-cmd.out 2>&1; then
	has cycles-command-runs cycles-cmd.out '^Leaked cycle #1: 2 block\(s\), 6005 byte\(s\)'
else
	fail cycles-command-runs "command '$cmd' failed: $(head -c 300 cycles-cmd.out) $(head -c 300 cycles-keep.out)"
fi
rm -rf "keep it's"
"$HS" check --format json --output gone.json -- "$CYC" 2>/dev/null
"$HS" check --keep --format json --output kept.json -- "$CYC" 2>/dev/null
"$PY" - <<'PYEOF' >trace-field.out 2>&1
import json, os
gone = json.load(open("gone.json"))["processes"]
kept = json.load(open("kept.json"))["processes"]
assert len(gone) == 1 and gone[0]["trace"] is None, gone[0]["trace"]
assert len(kept) == 1 and os.path.isfile(kept[0]["trace"]), kept[0]["trace"]
print("fine")
PYEOF
has check-json-trace-field trace-field.out '^fine'
rm -rf tmp/*

# Outputs that cannot be written: one line, exit 2, before the program
# runs (the report used to fail only after the whole run).
not_run() {
	local name=$1 want=$2
	shift 2
	rm -f ran
	"$HS" check "$@" -- /bin/sh -c ': >ran' >"$name.out" 2>"$name.err"
	local rc=$?
	if [ "$rc" -ne 2 ]; then
		fail "$name" "status $rc, want 2: $(head -c 200 "$name.err")"
	elif [ -e ran ]; then
		fail "$name" "the program ran"
	elif [ "$(wc -l <"$name.err")" -ne 1 ] || ! grep -qF -- "$want" "$name.err"; then
		fail "$name" "want one line with '$want', got: $(head -c 300 "$name.err" | tr '\n' '|')"
	else
		ok "$name"
	fi
}
: >a-file
not_run report-missing-dir 'cannot write the report no/such/dir/r.json: No such file or directory' \
	--output no/such/dir/r.json
not_run report-is-directory 'cannot write the report tmp: Is a directory' --output tmp
not_run output-dir-is-file 'cannot create a-file: Not a directory' --output-dir a-file
not_run record-baseline-missing-dir 'cannot write the baseline no/dir/b.json: No such file or directory' \
	--record-baseline no/dir/b.json
not_run output-dir-unwritable 'cannot write the trace /proc/heapsnap.%e.%p.hst' --output-dir /proc

# ---- suppressions ----
printf '# the known one\nleak:leak_one\nleak:no_such_function_anywhere\n' >one.supp
expect_rc suppress-one 23 --suppressions one.supp -- "$P" leak2
has suppress-keeps-other suppress-one.out 'Direct leak of 300 byte\(s\) in 3 object\(s\)'
hasnt suppress-removes suppress-one.out ' in leak_one '
has suppress-count suppress-one.out 'leak:leak_one \(one.supp:2\) matched 1 site\(s\), 64 bytes in 1 blocks'
has suppress-unused suppress-one.err 'one.supp:3: suppression leak:no_such_function_anywhere matched nothing'
printf 'leak:leak_one\nleak:check_leaky.c\n' >all.supp
expect_rc suppress-all 0 --suppressions all.supp -- "$P" leak2

# ---- baselines ----
expect_rc baseline-make 23 --format json --output base.json -- "$P" leak
"$PY" - base.json <<'PYEOF' >baseline-json.out 2>&1
import json, sys
r = json.load(open(sys.argv[1]))
assert r["schema"] == 1 and r["exit_code"] == 23, r
assert r["failing"] == {"sites": 1, "blocks": 3, "bytes": 300}, r["failing"]
(p,) = [p for p in r["processes"] if p["exe"].endswith("/check_leaky")]
(l,) = p["leaks"]
assert l["kind"] == "definite" and l["blocks"] == 3 and l["bytes"] == 300 and l["new"], l
assert l["stack"][0]["function"] == "leak_three" and l["stack"][0]["line"] == 18, l["stack"][0]
assert l["signature"].startswith("check_leaky|leak_three@check_leaky.c:18;main"), l["signature"]
print("fine")
PYEOF
has baseline-json baseline-json.out '^fine$'
expect_rc baseline-same-passes 0 --baseline base.json -- "$P" leak
has baseline-same-says baseline-same-passes.out '1 leak site\(s\) already in the baseline'
"$PY" -c 'import json, sys; json.dump(json.load(open(sys.argv[1])), open(sys.argv[2], "w"), separators=(",", ":"))' base.json compact.json
expect_rc baseline-reformatted 0 --baseline compact.json -- "$P" leak
expect_rc baseline-new-fails 23 --baseline base.json -- "$P" leak2
has baseline-names-new baseline-new-fails.out 'Direct leak of 64 byte\(s\) in 1 object\(s\)'
has baseline-new-line baseline-new-fails.out 'in leak_one .*check_leaky.c:27$'
hasnt baseline-not-old baseline-new-fails.out 'leak_three'
# Recording a baseline does not fail the run (recording with --format json
# --output exits 23); it still fails with the program's own failure.
"$HS" check --record-baseline rec.json -- "$P" leak >rec.out 2>rec.err
rc=$?
if [ "$rc" -eq 0 ] && grep -q '^heapsnap: check: 1 leak site(s) recorded in the baseline rec.json$' rec.err; then
	ok record-baseline
else
	fail record-baseline "status $rc, want 0: $(head -c 300 rec.err)"
fi
expect_rc record-baseline-matches 0 --baseline rec.json -- "$P" leak
expect_rc record-baseline-new-fails 23 --baseline rec.json -- "$P" leak2
expect_rc record-baseline-program-fails 3 --record-baseline rec3.json -- "$P" fail
expect_rc record-baseline-update 0 --baseline rec.json --record-baseline rec2.json -- "$P" leak2
expect_rc record-baseline-updated 0 --baseline rec2.json -- "$P" leak2
echo '{"not": "a baseline"}' >junk.json
expect_rc baseline-foreign 2 --baseline junk.json -- "$P" leak
expect_rc baseline-missing 2 --baseline nope.json -- "$P" leak

# ---- baselines survive edits ----
# Known leak sites stay known when lines are inserted above them in the
# same file (the signature holds the allocation line; it used to be
# matched whole); the line only tells apart several sites of one function.
# A new site added to that function is the one reported.
mkdir edits && cd edits || exit 1
# src PAD NEW: two leak sites in one function (11 and 22 bytes), PAD
# comment lines above them, and with NEW=1 a third (44 bytes) after them.
src() {
	{
		echo '#include <stdlib.h>'
		echo 'static void *volatile keep;'
		for _ in $(seq "$1"); do echo '/* an inserted line */'; done
		echo '__attribute__((noinline)) static void two(void)'
		echo '{'
		echo '	keep = malloc(11);'
		echo '	keep = malloc(22);'
		[ "$2" = 1 ] && echo '	keep = malloc(44);'
		echo '	keep = 0;'
		echo '}'
		echo 'int main(void) { two(); return 0; }'
	} >edit.c
	cc -O0 -g -fno-omit-frame-pointer -o edit edit.c
}
src 0 0
"$HS" check --format json --output base13.json -- ./edit >/dev/null 2>&1
src 2 0
"$HS" check --baseline base13.json -- ./edit >moved.out 2>&1
rc=$?
if [ "$rc" -eq 0 ] && grep -q '2 leak site(s) already in the baseline' moved.out; then ok baseline-lines-moved; else
	fail baseline-lines-moved "status $rc, want 0: $(grep -E 'Direct|SUMMARY' moved.out | head -5 | tr '\n' '|')"
fi
src 2 1
"$HS" check --baseline base13.json -- ./edit >moved-new.out 2>&1
rc=$?
if [ "$rc" -eq 23 ] && [ "$(grep -c '^Direct leak' moved-new.out)" -eq 1 ] && grep -q '^Direct leak of 44 byte' moved-new.out; then
	ok baseline-moved-plus-new
else
	fail baseline-moved-plus-new "status $rc, want 23 and only the 44-byte site: $(grep -E '^Direct|SUMMARY' moved-new.out | tr '\n' '|')"
fi
src 0 1
"$HS" check --baseline base13.json -- ./edit >new.out 2>&1
rc=$?
if [ "$rc" -eq 23 ] && [ "$(grep -c '^Direct leak' new.out)" -eq 1 ] && grep -q '^Direct leak of 44 byte' new.out; then
	ok baseline-new-site-same-function
else
	fail baseline-new-site-same-function "status $rc: $(grep -E '^Direct|SUMMARY' new.out | tr '\n' '|')"
fi
cd "$T" || exit 1

# ---- SARIF 2.1.0 for GitHub code scanning: valid against the SARIF
# 2.1.0 JSON schema (tests/sarif/), rules with the fullDescription and
# help GitHub's ingestion requires, a driver with its version and
# informationUri, relative URIs with a uriBaseId that the run defines, and
# each result located at the first frame in the program's own code: a
# leak that glibc allocated (getline, realpath) for the program is at the
# program's line, not in libio/ or stdlib/ ----
SCHEMA=$ROOT/tests/sarif/sarif-2.1.0-rtm.5.json
# sarif_valid NAME FILE...: each a SARIF log the schema accepts, with what
# GitHub needs; prints "fine" into NAME.out.
sarif_valid() {
	local name=$1
	shift
	"$PY" - "$SCHEMA" "$("$HS" --version | cut -d' ' -f2)" "$@" <<'PYEOF' >"$name.out" 2>&1
import json, re, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
version = sys.argv[2]
check = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
for path in sys.argv[3:]:
    log = json.load(open(path))
    errs = ["%s: %s" % ("/".join(map(str, e.path)), e.message[:200]) for e in check.iter_errors(log)]
    assert not errs, (path, errs[:3])
    (run,) = log["runs"]
    d = run["tool"]["driver"]
    assert d["name"] == "heapsnap" and d["version"] == version, d.get("version")
    assert re.match(r"^[a-z][a-z0-9+.-]*:", d["informationUri"]), d.get("informationUri")
    for r in d["rules"]:
        for k in ("shortDescription", "fullDescription", "help"):
            assert r[k]["text"].strip(), (r["id"], k)
        assert r["name"] and r["fullDescription"]["text"] != r["shortDescription"]["text"], r["id"]
    bases = run.get("originalUriBaseIds", {})
    for b in bases.values():
        assert b["uri"].startswith("file:///") and b["uri"].endswith("/"), b
    def locations(x):
        if isinstance(x, dict):
            if "artifactLocation" in x:
                yield x["artifactLocation"]
            for v in x.values():
                yield from locations(v)
        elif isinstance(x, list):
            for v in x:
                yield from locations(v)
    for a in locations(run["results"]):
        absolute = re.match(r"^[a-z][a-z0-9+.-]*:", a["uri"])
        assert absolute or a.get("uriBaseId") in bases, ("a relative URI without a base", a)
print("fine")
PYEOF
	has "$name" "$name.out" '^fine$'
}
expect_rc sarif 23 --format sarif --output out.sarif -- "$P" leak2
sarif_valid sarif-schema out.sarif
"$PY" - out.sarif <<'PYEOF' >sarif-check.out 2>&1
import json, sys
log = json.load(open(sys.argv[1]))
run = log["runs"][0]
ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
assert len(set(ids)) == len(ids)
res = run["results"]
assert len(res) == 2, len(res)
lines = []
for r in res:
    assert r["ruleId"] == ids[r["ruleIndex"]] == "definite-leak" and r["level"] == "error"
    (loc,) = r["locations"]
    phys = loc["physicalLocation"]
    art = phys["artifactLocation"]
    assert art["uri"] == "tests/progs/check_leaky.c" and art["uriBaseId"] == "%SRCROOT%", art
    lines.append(phys["region"]["startLine"])
    assert len(r["codeFlows"][0]["threadFlows"][0]["locations"]) >= 3
    assert all(isinstance(v, str) for v in r["partialFingerprints"].values())
assert sorted(lines) == [18, 27], lines
print("fine")
PYEOF
has sarif-results sarif-check.out '^fine$'
# glibc allocates, the program leaks: located at the program's lines
cat >libc_leak.c <<'CEOF'
#include <stdio.h>
#include <stdlib.h>
static void *volatile keep;
int main(void)
{
	char *line = NULL;
	size_t n = 0;
	FILE *f = fopen("/proc/self/status", "r");
	keep = realpath(".", NULL); /* SITE:realpath */
	if (getline(&line, &n, f) > 0) /* SITE:getline */
		keep = line;
	keep = line = NULL;
	fclose(f);
	return 0;
}
CEOF
if cc -O0 -g -fno-omit-frame-pointer -o libc_leak libc_leak.c; then
	expect_rc sarif-libc 23 --format sarif --output libc.sarif -- ./libc_leak
	sarif_valid sarif-libc-schema libc.sarif
	"$PY" - libc.sarif "$(grep -n 'SITE:realpath' libc_leak.c | cut -d: -f1)" "$(grep -n 'SITE:getline' libc_leak.c | cut -d: -f1)" <<'PYEOF' >sarif-libc.out 2>&1
import json, sys
run = json.load(open(sys.argv[1]))["runs"][0]
got = sorted((l["physicalLocation"]["artifactLocation"]["uri"], l["physicalLocation"]["artifactLocation"].get("uriBaseId"),
              l["physicalLocation"]["region"]["startLine"]) for r in run["results"] for l in r["locations"])
want = sorted(("libc_leak.c", "%SRCROOT%", int(x)) for x in sys.argv[2:])
assert got == want, (got, want)
# the frames in glibc are still in the code flow
flows = [tl["location"]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]
         for tl in r["codeFlows"][0]["threadFlows"][0]["locations"]]
assert any("libc_leak.c" != u for u in flows), flows
print("fine")
PYEOF
	has sarif-own-code sarif-libc.out '^fine$'
else
	fail sarif-libc "could not build the test program"
fi

# ---- JUnit: a test case per traced process, named by its command line
# (the same from run to run, unlike a pid: CI history follows it), failed
# when it has new leak sites (one <failure> that lists them all), skipped
# without a pointer scan; tests = the processes, failures = the failed
# ones; valid against the JUnit schema of Jenkins' xunit plugin, which
# refuses a skipped attribute on <testsuites> (tests/junit-jenkins.xsd) ----
XSD=$ROOT/tests/junit-jenkins.xsd
xsd_valid() { # NAME FILE
	if xmllint --noout --schema "$XSD" "$2" >"$1.xmllint" 2>&1; then ok "$1"; else fail "$1" "$(head -c 400 "$1.xmllint")"; fi
}
expect_rc junit 23 --format junit --output out.xml -- "$P" leak2
xsd_valid junit-xsd out.xml
"$PY" - out.xml "$P" <<'PYEOF' >junit-check.out 2>&1
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
prog = sys.argv[2]
assert root.tag == "testsuites" and root.get("tests") == "1" and root.get("failures") == "1", root.attrib
assert "skipped" not in root.attrib, root.attrib
(suite,) = root.findall("testsuite")
(case,) = suite.findall("testcase")
assert suite.get("tests") == "1" and suite.get("failures") == "1" and suite.get("skipped") == "0", suite.attrib
assert case.get("classname") == "heapsnap.check_leaky" and case.get("name") == prog + " leak2", case.attrib
(f,) = case.findall("failure")
m = f.get("message")
assert m.startswith("2 new leak site(s), 364 byte(s) in 4 object(s) (pid "), m
assert m.endswith("; Direct leak of 300 byte(s) in 3 object(s) allocated from leak_three check_leaky.c:18"), m
assert "in leak_three tests/progs/check_leaky.c:18" in f.text and "in leak_one tests/progs/check_leaky.c:27" in f.text, f.text
print("fine")
PYEOF
has junit-valid junit-check.out '^fine$'
# A suite, run twice: the same test case names both times (a repeated
# command line numbered in the order the processes started), each
# process's result its own.
for i in 1 2; do
	"$HS" check --format junit --output "suite$i.xml" -- sh -c "'$P' leak; '$P' clean; '$P' leak" >/dev/null 2>&1
	rc=$?
	[ "$rc" -eq 23 ] || fail "junit-suite-$i" "status $rc, want 23"
	xsd_valid "junit-suite-xsd-$i" "suite$i.xml"
done
"$PY" - suite1.xml suite2.xml "$P" <<'PYEOF' >junit-suite.out 2>&1
import sys, xml.etree.ElementTree as ET
prog = sys.argv[3]
runs = []
for path in sys.argv[1:3]:
    root = ET.parse(path).getroot()
    cases = root.findall(".//testcase")
    assert root.get("tests") == str(len(cases)) == "4", (root.attrib, len(cases))
    failed = [c for c in cases if c.findall("failure")]
    assert root.get("failures") == str(len(failed)) == "2", root.attrib
    assert all(len(c.findall("failure")) <= 1 for c in cases)
    runs.append([(c.get("classname"), c.get("name"), bool(c.findall("failure"))) for c in cases])
assert runs[0] == runs[1], runs
names = [n for _, n, _ in runs[0]]
assert names[1:] == [prog + " leak", prog + " clean", prog + " leak #2"], names
assert [f for _, _, f in runs[0]] == [False, True, False, True], runs[0]
assert not any("pid" in n for n in names), names
print("fine")
PYEOF
has junit-stable-names junit-suite.out '^fine$'

# ---- the same renderings from `leaks`, on a trace of run ----
"$HS" run -q -o leak2.hst -- "$P" leak2
"$HS" leaks leak2.hst --format sarif >leaks.sarif 2>leaks-sarif.err
sarif_valid leaks-sarif-schema leaks.sarif
"$PY" -c 'import json, sys; r = json.load(open(sys.argv[1]))["runs"][0]["results"]; print(sorted(x["locations"][0]["physicalLocation"]["region"]["startLine"] for x in r))' leaks.sarif >leaks-sarif.out 2>&1
has leaks-sarif leaks-sarif.out '^\[18, 27\]$'
"$HS" leaks leak2.hst --kinds definite --format junit >leaks.xml 2>leaks-junit.err
"$PY" -c 'import sys, xml.etree.ElementTree as ET; r = ET.parse(sys.argv[1]).getroot(); print(r.get("failures"), len(r.findall(".//failure")), r.find(".//failure").get("message").split(",")[0])' leaks.xml >leaks-junit.out 2>&1
has leaks-junit leaks-junit.out '^1 1 2 new leak site\(s\)$'
"$HS" leaks leak2.hst --suppressions one.supp --format junit >leaks-supp.xml 2>/dev/null
"$PY" -c 'import sys, xml.etree.ElementTree as ET; print(len(ET.parse(sys.argv[1]).findall(".//failure")))' leaks-supp.xml >leaks-supp.out 2>&1
has leaks-junit-suppressed leaks-supp.out '^1$'

# ---- a test suite: make drives /bin/sh, python3, sqlite3, git and two
# leaky runs; the leaks must be the leaky runs' only, each in its pid ----
mkdir suite && cp "$ROOT/tests/check_suite.mk" suite/Makefile
(cd suite && PATH=/usr/bin:/bin "$HS" check --format json --output ../suite.json -- \
	make -s P="$P" PY="$PY" >../suite.out 2>../suite.err)
rc=$?
if [ $rc -eq 23 ]; then ok suite-status; else fail suite-status "status $rc: $(tail -3 suite.err)"; fi
"$PY" - suite.json <<'PYEOF' >suite-check.out 2>&1
import json, os, sys
r = json.load(open(sys.argv[1]))
procs = r["processes"]
names = {os.path.basename(p["exe"]) for p in procs if p["scanned"]}
for want in ("make", "sqlite3", "git", "check_leaky"):
    assert want in names, (want, names)
assert any(n.startswith("python3") for n in names), names
leaky = sorted((p for p in procs if p["leaks"]), key=lambda p: len(p["leaks"]))
assert [os.path.basename(p["exe"]) for p in leaky] == ["check_leaky", "check_leaky"], \
    [(p["exe"], [l["site"] for l in p["leaks"]]) for p in leaky]
assert [sorted(l["bytes"] for l in p["leaks"]) for p in leaky] == [[300], [64, 300]]
assert leaky[0]["pid"] != leaky[1]["pid"]
assert r["failing"] == {"sites": 3, "blocks": 7, "bytes": 664}, r["failing"]
print("fine")
PYEOF
has suite-attribution suite-check.out '^fine$'
has suite-output-passes suite.out '^git version'

# ---- a real job, with Valgrind as the oracle: every process's definite
# and indirect totals, attributed to the same executables ----
if ! command -v valgrind >/dev/null; then
	skip job-valgrind "valgrind is not installed"
elif [ -n "${HEAPSNAP_TEST_NO_VALGRIND:-}" ]; then
	skip job-valgrind "HEAPSNAP_TEST_NO_VALGRIND is set (the sanitizer pass: the oracle ran in the first)"
else
	export PY
	HOME=$T PATH=/usr/bin:/bin "$HS" check --format json --output job.json -- bash "$ROOT/tests/check_job.sh" >job.out 2>job.err
	mkdir vg
	# (no inlined frames: only each process's totals are compared)
	HOME=$T PATH=/usr/bin:/bin valgrind --trace-children=yes --leak-check=full --read-inline-info=no --log-file="$T/vg/%p" \
		bash "$ROOT/tests/check_job.sh" >vg.out 2>&1
	if cmp -s job.out vg.out; then ok job-output; else fail job-output "$(diff job.out vg.out | head -5)"; fi
	"$PY" - job.json vg <<'PYEOF' >job-check.out 2>&1
import json, os, re, sys
ours = []
for p in json.load(open(sys.argv[1]))["processes"]:
    s = p["summary"]
    t = (os.path.basename(p["exe"]), s["definite"]["bytes"], s["definite"]["blocks"],
         s["indirect"]["bytes"], s["indirect"]["blocks"])
    if p["scanned"] and any(t[1:]):
        ours.append(t)
theirs = []
num = lambda m: int(m.replace(",", ""))
for f in os.listdir(sys.argv[2]):
    text = open(os.path.join(sys.argv[2], f)).read()
    cmd = re.search(r"== Command: (\S+)", text)
    d = re.search(r"definitely lost: ([\d,]+) bytes in ([\d,]+) blocks", text)
    i = re.search(r"indirectly lost: ([\d,]+) bytes in ([\d,]+) blocks", text)
    if cmd and d:
        t = (os.path.basename(cmd.group(1)), num(d.group(1)), num(d.group(2)), num(i.group(1)), num(i.group(2)))
        if any(t[1:]):
            theirs.append(t)
assert sorted(ours) == sorted(theirs), (sorted(ours), sorted(theirs))
print("fine", len(ours), "leaking processes:", sorted(ours))
PYEOF
	has job-valgrind job-check.out '^fine'
	cat job-check.out
fi

# ---- names that are not UTF-8 ----
# A leak allocated in a function whose symbol holds the bytes e9 and ff,
# called from a file whose name holds e9: every JSON, SARIF and JUnit
# report must still parse as strict UTF-8, show each such byte as the
# character Latin-1 gives it (heapsnap(1)), and a baseline written with
# those names must match the run that wrote it.
mkdir u8 && cd u8 || exit 1
printf '#include <stdlib.h>\nvoid *mk(size_t n) __asm__("mk_\\xe9t\\xff");\nvoid *mk(size_t n) { return malloc(n); }\n' >mk.c
main_c="main_$(printf '\xe9').c"
printf '#include <stdlib.h>\nvoid *mk(size_t n) __asm__("mk_\\xe9t\\xff");\nint main(void) { mk(10); return 0; }\n' >"$main_c"
if cc -O0 -fno-omit-frame-pointer -c mk.c -o mk.o && cc -O0 -g -fno-omit-frame-pointer -o u8leak mk.o "$main_c"; then
	"$HS" check --keep --format json --output base.json -- ./u8leak >/dev/null 2>u8.err
	"$HS" check --baseline base.json -- ./u8leak >/dev/null 2>u8b.err
	rc=$?
	if [ "$rc" -eq 0 ]; then ok u8-baseline-matches; else fail u8-baseline-matches "status $rc: $(tail -2 u8b.err)"; fi
	trace=$(ls "$TMPDIR"/*/heapsnap.u8leak.*.hst | head -1)
	"$HS" check --format sarif --output u8.sarif -- ./u8leak 2>/dev/null
	"$HS" check --format junit --output u8.xml -- ./u8leak 2>/dev/null
	for f in json sarif junit; do "$HS" leaks --format $f "$trace" >"leaks.$f" 2>&1; done
	"$HS" info --format json "$trace" >info.json 2>&1
	"$HS" cycles --format json "$trace" >cycles.json 2>&1
	"$HS" top --format json --by traceback "$trace" >top.json 2>&1
	"$PY" - <<'PYEOF' >u8-check.out 2>&1
import json, xml.etree.ElementTree as ET
def strict(p):
    return open(p, "rb").read().decode("utf-8")  # raises on any invalid byte
fn, src = "mk_\u00e9t\u00ff", "main_\u00e9.c"
base = json.loads(strict("base.json"))
leak = base["processes"][0]["leaks"][0]
assert leak["stack"][0]["function"] == fn, leak["stack"][0]
assert leak["stack"][1]["file"].endswith("/" + src), leak["stack"][1]
assert fn in leak["signature"], leak["signature"]
lk = json.loads(strict("leaks.json"))
assert lk["leaks"][0]["stack"][0]["function"] == fn and lk["leaks"][0]["site"].startswith(fn), lk["leaks"][0]
for p in ("u8.sarif", "leaks.sarif"):
    s = json.loads(strict(p))
    r = s["runs"][0]["results"][0]
    assert src in r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] or "%E9" in r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], r["locations"]
    assert fn in r["message"]["text"], r["message"]
for p in ("u8.xml", "leaks.junit"):
    root = ET.fromstring(strict(p).encode("utf-8"))
    f = root.find(".//failure")
    assert fn in f.get("message") and src in f.text, (f.get("message"), f.text)
for p in ("info.json", "cycles.json", "top.json"):
    json.loads(strict(p))
assert any(src in x["key"] for x in json.loads(strict("top.json"))["stats"])
print("fine")
PYEOF
	has u8-reports-parse u8-check.out '^fine'
else
	fail u8-build "could not build the test program"
fi
cd "$T" || exit 1

# One symbolizer for every process of the run: each module file the traces
# name is opened once, however many traces name it.  strace without -f
# sees the analyzer's own opens only; those before it opens the first
# trace are its own loading.
if command -v strace >/dev/null; then
	# (LeakSanitizer cannot run under ptrace: the sanitizer pass's leak
	# check is off for this one run)
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		strace -o syms.strace -e trace=open,openat "$HS" check -- /bin/sh -c "$P; $P; $P" >syms.out 2>&1
	has syms-four-traces syms.out '4 trace\(s\)'
	"$PY" - syms.strace "$P" <<'PYEOF' >syms-once.out 2>&1
import collections, re, sys
opens = []
for line in open(sys.argv[1]):
    m = re.search(r'open(?:at)?\((?:AT_FDCWD, )?"([^"]*)", ([A-Z_|]+).*\) = (-?\d+)', line)
    if m and int(m.group(3)) >= 0 and "O_DIRECTORY" not in m.group(2):
        opens.append(m.group(1))
first = next(i for i, p in enumerate(opens) if p.endswith(".hst"))
n = collections.Counter(p for p in opens[first:] if not p.endswith(".hst"))
twice = sorted(p for p in n if n[p] > 1)
libc = [p for p in n if p.endswith("/libc.so.6")]
assert not twice, "opened more than once: %s" % twice
assert n[sys.argv[2]] == 1 and len(libc) == 1, "program %d, libc %s of %s" % (n[sys.argv[2]], libc, sorted(n))
print("fine: %d files, each opened once" % len(n))
PYEOF
	has syms-each-module-once syms-once.out '^fine'
else
	skip syms-each-module-once "strace is not installed"
fi

finish
