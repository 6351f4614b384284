#!/bin/bash
# sanitize.sh - a suite once more, with the analyzer (the heapsnap command
# and the unit test runner) built under AddressSanitizer (with
# LeakSanitizer) and UndefinedBehaviorSanitizer in a build directory of its
# own, and everything built with HS_DEBUG=1: the preconditions of the
# analyzer and of the shim (which runs without sanitizers, inside the
# traced programs) are assertions that abort.  Any sanitizer report fails
# the suite, whether or not the test that triggered it noticed: every
# report is written to a log directory, and a non-empty directory is a
# failure; a failed assertion fails the test it aborts.  Valgrind, which
# checks the traced programs and not the analyzer, is not run again.
#
#   bash tests/sanitize.sh SAN_BUILD_DIR SUITE    (SUITE: unit, integration,
#                                                  leaks, cli, check, attach,
#                                                  pprof)
#
# make check runs each of them as a suite of its own (san-SUITE), side by
# side.  Ends with exactly one line "san-SUITE: N passed, M failed"; exits
# 1 if M > 0.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SAN=$(cd "${1:?usage: sanitize.sh SAN_BUILD_DIR SUITE}" && pwd)
name=${2:?usage: sanitize.sh SAN_BUILD_DIR SUITE}

SUITE=san-$name
. "$(dirname "$0")/harness.sh"

LOG=$(mktemp -d "${TMPDIR:-/tmp}/heapsnap-sanitize.XXXXXX") || exit 1
trap 'rm -rf "$LOG" "$LOG.out"' EXIT
# exitcode 99: a report is never mistaken for one of heapsnap's own exit codes.
export ASAN_OPTIONS="log_path=$LOG/asan:detect_leaks=1:exitcode=99"
export UBSAN_OPTIONS="log_path=$LOG/ubsan:print_stacktrace=1:halt_on_error=1:exitcode=99"
# HEAPSNAP_TEST_NO_SPEEDSCOPE: speedscope reads the same profiles in make
# check's first pass; a second browser run would check speedscope again,
# not the sanitized heapsnap.  HEAPSNAP_TEST_SECOND_PASS: the first pass
# ran the suite; a test repeated only for the odds of catching a race runs
# once here (tests/integration.sh).
export HEAPSNAP_CLI=$SAN/bin/heapsnap HEAPSNAP_LIB=$SAN/lib/libheapsnap.so HEAPSNAP_TEST_NO_VALGRIND=1 HEAPSNAP_TEST_NO_SPEEDSCOPE=1 \
	HEAPSNAP_TEST_SECOND_PASS=1

case $name in
unit) cmd=(env CK_FORK=yes "$SAN/tests/check_all") ;;
integration | leaks | cli | check | attach | pprof) cmd=(bash "$ROOT/tests/$name.sh") ;;
*)
	echo "sanitize.sh: no suite $name" >&2
	exit 1
	;;
esac

# The suite's own lines first, whole; its tests count as this suite's
# (its totals line "NAME: N passed, M failed", or libcheck's "Checks: N,
# Failures: F, Errors: E"), and a failure its totals do not show (a crash,
# an exit status) counts once more; then the reports' verdict.
"${cmd[@]}" >"$LOG.out" 2>&1
rc=$?
cat "$LOG.out"
totals=$(tail -n 1 "$LOG.out")
if [[ $totals =~ :\ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
	passed=$((passed + BASH_REMATCH[1])) failed=$((failed + BASH_REMATCH[2]))
elif [[ $totals =~ Checks:\ ([0-9]+),\ Failures:\ ([0-9]+),\ Errors:\ ([0-9]+) ]]; then
	passed=$((passed + BASH_REMATCH[1] - BASH_REMATCH[2] - BASH_REMATCH[3]))
	failed=$((failed + BASH_REMATCH[2] + BASH_REMATCH[3]))
fi
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
	fail "$name" "exit status $rc: $totals"
fi

n=$(find "$LOG" -type f | wc -l)
if [ "$n" -eq 0 ]; then
	ok "no sanitizer reports"
else
	fail "sanitizer-reports" "$n report(s); the first:"
	find "$LOG" -type f | head -n 1 | xargs head -n 40
fi
finish
