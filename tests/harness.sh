# harness.sh - what the shell test scripts share (sourced, not run): the
# pass/fail counters and the closing totals line, "NAME: N passed, M failed",
# which CI reads.  Set SUITE before sourcing.

passed=0
failed=0
ok() {
	passed=$((passed + 1))
	echo "ok   $1"
}
fail() {
	failed=$((failed + 1))
	echo "FAIL $1: ${*:2}"
}
skip() {
	echo "SKIP $1: $2"
}
finish() {
	echo "$SUITE: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}
