#!/bin/bash
# sanitize.sh - the unit suites and the command-line suites once more, with
# the analyzer (the heapsnap command and the unit test runner) built under
# AddressSanitizer (with LeakSanitizer) and UndefinedBehaviorSanitizer in
# a build directory of its own, and everything built with HS_DEBUG=1: the
# preconditions of the analyzer and of the shim (which runs without
# sanitizers, inside the traced programs) are assertions that abort.  Any
# sanitizer report fails the suite, whether or not the test that triggered
# it noticed: every report is written to a log directory, and a non-empty
# directory is a failure; a failed assertion fails the test it aborts.
# Valgrind, which checks the traced programs and not the analyzer, is not
# run again.
#
#   bash tests/sanitize.sh SAN_BUILD_DIR     (make check builds it and runs this)
#
# Ends with exactly one line "sanitize: N passed, M failed"; exits 1 if M > 0.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SAN=$(cd "${1:?usage: sanitize.sh SAN_BUILD_DIR}" && pwd)

SUITE=sanitize
. "$(dirname "$0")/harness.sh"

LOG=$(mktemp -d "${TMPDIR:-/tmp}/heapsnap-sanitize.XXXXXX") || exit 1
trap 'rm -rf "$LOG"' EXIT
# exitcode 99: a report is never mistaken for one of heapsnap's own exit codes.
export ASAN_OPTIONS="log_path=$LOG/asan:detect_leaks=1:exitcode=99"
export UBSAN_OPTIONS="log_path=$LOG/ubsan:print_stacktrace=1:halt_on_error=1:exitcode=99"
# HEAPSNAP_TEST_NO_SPEEDSCOPE: speedscope reads the same profiles in make
# check's first pass; a second browser run would check speedscope again,
# not the sanitized heapsnap.
export HEAPSNAP_CLI=$SAN/bin/heapsnap HEAPSNAP_LIB=$SAN/lib/libheapsnap.so HEAPSNAP_TEST_NO_VALGRIND=1 HEAPSNAP_TEST_NO_SPEEDSCOPE=1

# suite NAME CMD...: run a suite, keep its failures and its totals line.
suite() {
	local name=$1
	shift
	"$@" >"$LOG.$name.out" 2>&1
	local rc=$?
	grep -E '^FAIL ' "$LOG.$name.out"
	if [ "$rc" -eq 0 ]; then ok "$name ($(tail -n 1 "$LOG.$name.out"))"; else fail "$name" "$(tail -n 1 "$LOG.$name.out")"; fi
	rm -f "$LOG.$name.out"
}

suite unit env CK_FORK=yes "$SAN/tests/check_all"
suite integration bash "$ROOT/tests/integration.sh"
suite leaks bash "$ROOT/tests/leaks.sh"
suite cli bash "$ROOT/tests/cli.sh"
suite check bash "$ROOT/tests/check.sh"
suite attach bash "$ROOT/tests/attach.sh"
suite pprof bash "$ROOT/tests/pprof.sh"

n=$(find "$LOG" -type f | wc -l)
if [ "$n" -eq 0 ]; then
	ok "no sanitizer reports"
else
	fail "sanitizer-reports" "$n report(s); the first:"
	find "$LOG" -type f | head -n 1 | xargs head -n 40
fi
finish
