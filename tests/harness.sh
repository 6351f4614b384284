# harness.sh - what the shell test scripts share (sourced, not run): the
# pass/fail counters and the closing totals line, "NAME: N passed, M failed"
# (", K skipped" after it when tests were skipped), which CI reads, and the
# JSON assertion helper.  Set SUITE before sourcing.

passed=0
failed=0
skipped=0
ok() {
	passed=$((passed + 1))
	echo "ok   $1"
}
fail() {
	failed=$((failed + 1))
	echo "FAIL $1: ${*:2}"
}
skip() {
	skipped=$((skipped + 1))
	echo "SKIP $1: $2"
}
finish() {
	echo "$SUITE: $passed passed, $failed failed$([ "$skipped" -eq 0 ] || echo ", $skipped skipped")"
	[ "$failed" -eq 0 ]
	exit
}

# unreachable_as USER PATH...: the first PATH that USER (a uid) cannot
# read, and run if it is a program (a directory on the way that is not
# searchable: a clone inside a 0700 directory); nothing if it reaches them
# all.  Needs root and setpriv.
unreachable_as() {
	local user=$1 p
	shift
	for p in "$@"; do
		if ! setpriv --reuid="$user" --regid="$user" --clear-groups test -r "$p" ||
			{ [ -x "$p" ] && ! setpriv --reuid="$user" --regid="$user" --clear-groups test -x "$p"; }; then
			echo "$p"
			return
		fi
	done
}

# The JSON assertion helper: "$PY" -c "$CHECK_PY" CODE FILE.json... (the
# script sets PY to a python3).  CODE sees J (the loaded files, in order),
# eq(what, got, want), check(what, cond), ev(j, name) and
# delta(j, base, name); every failed assertion is reported, on one line.
CHECK_PY='
import json, sys
J = []
for f in sys.argv[2:]:
    with open(f) as fh:
        J.append(json.load(fh))
errs = []
def eq(what, got, want):
    if got != want:
        errs.append("%s: got %r, want %r" % (what, got, want))
def check(what, cond):
    if not cond:
        errs.append(what)
def ev(j, k):
    return j["events"][k]
def delta(j, base, k):
    return j["events"][k] - base["events"][k]
exec(sys.argv[1])
if errs:
    print("; ".join(errs))
    sys.exit(1)
'

# assert_json NAME CODE FILE.json...: ok or fail NAME with the reasons.
assert_json() {
	local name=$1 code=$2 out
	shift 2
	if out=$("$PY" -c "$CHECK_PY" "$code" "$@" 2>&1); then
		ok "$name"
	else
		fail "$name" "$out"
	fi
}
