#!/bin/bash
# run.sh - run the libFuzzer targets (make fuzz, make fuzz-check).
#
#   bash tests/fuzz/run.sh BUILD SECONDS|check TIMEOUT MALLOC_MB TARGET...
#
# SECONDS: fuzz each target that long from tests/fuzz/corpus/TARGET (and
# the regression inputs), growing BUILD/corpus/TARGET; findings (a crash, a
# sanitizer report, an input that runs TIMEOUT seconds or allocates more
# than MALLOC_MB) go to BUILD/findings.  Prints each target's executions.
#
# check (make check): every seed and regression input once, then each
# target for FUZZ_CHECK_SECONDS (default 1: make check's smoke test; the
# search for new findings is make fuzz's) from a scratch copy of its seeds.  Ends with "fuzz: N passed, M failed"; exits 1 if M > 0.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$1 SECS=$2 TIMEOUT=$3 MALLOC=$4
shift 4
OPTS=(-timeout="$TIMEOUT" -malloc_limit_mb="$MALLOC" -rss_limit_mb=2048)
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

SUITE=fuzz
. "$ROOT/tests/harness.sh"

inputs() { # the seed and regression files of target $1
	find "$ROOT/tests/fuzz/corpus/$1" "$ROOT/tests/fuzz/regress/$1" -type f 2>/dev/null
}

for t in "$@"; do
	bin=$B/fuzz_$t
	if [ "$SECS" = check ]; then
		mapfile -t files < <(inputs "$t")
		if [ "${#files[@]}" -eq 0 ]; then
			fail "$t-inputs" "no seeds in tests/fuzz/corpus/$t"
			continue
		fi
		if "$bin" "${OPTS[@]}" "${files[@]}" >"$B/$t.replay.log" 2>&1; then
			ok "$t: ${#files[@]} seed and regression inputs"
		else
			fail "$t-inputs" "$(grep -m1 -E 'ERROR|SUMMARY|Running' "$B/$t.replay.log" | tail -1)"
		fi
		work=$(mktemp -d "${TMPDIR:-/tmp}/hs-fuzz-check.XXXXXX")
		cp "${files[@]}" "$work/" 2>/dev/null
		if "$bin" "${OPTS[@]}" -max_total_time="${FUZZ_CHECK_SECONDS:-1}" -print_final_stats=1 \
			-artifact_prefix="$work/finding-" "$work" >"$B/$t.fuzz.log" 2>&1; then
			ok "$t: $(sed -n 's/^stat::number_of_executed_units: *//p' "$B/$t.fuzz.log") executions, nothing found"
		else
			fail "$t-fuzz" "$(grep -m1 -E 'ERROR|SUMMARY' "$B/$t.fuzz.log"); the input: $(ls "$work"/finding-* 2>/dev/null | head -1)"
			mkdir -p "$B/findings" && cp "$work"/finding-* "$B/findings/" 2>/dev/null
		fi
		rm -rf "$work"
	else
		mkdir -p "$B/corpus/$t" "$B/findings"
		regress=()
		[ -d "$ROOT/tests/fuzz/regress/$t" ] && regress=("$ROOT/tests/fuzz/regress/$t")
		echo "== fuzz_$t for $SECS s"
		nice -n 19 "$bin" "${OPTS[@]}" -max_total_time="$SECS" -print_final_stats=1 \
			-artifact_prefix="$B/findings/$t-" "$B/corpus/$t" "$ROOT/tests/fuzz/corpus/$t" "${regress[@]}" \
			>"$B/$t.fuzz.log" 2>&1
		rc=$?
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$B/$t.fuzz.log")
		rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$B/$t.fuzz.log")
		if [ "$rc" -eq 0 ]; then
			ok "$t: $execs executions in $SECS s, peak RSS $rss MB, nothing found"
		else
			fail "$t" "$(grep -m1 -E 'ERROR|SUMMARY' "$B/$t.fuzz.log") after $execs executions; see $B/$t.fuzz.log"
		fi
	fi
done
finish
