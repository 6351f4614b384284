#!/bin/bash
# summary.sh - the end of make check: a line per suite (its totals line,
# wall and CPU seconds) from what tests/suite.sh left in LOGDIR, then the
# grand total line.
#
#   bash tests/summary.sh LOGDIR WALL_START NAME...
#
# A suite without a result did not run (its build failed, or make stopped):
# that is a failure too, and its log, if any, is printed.  The last line is
#
#   check: S suites, P passed, F failed; T tests passed, U failed (W s wall, C CPU-s)
#
# Exits 1 if any suite failed or did not run.
set -u
dir=$1 start=$2
shift 2

ok=0 bad=0 tpass=0 tfail=0 cpu_all=0
failed=()
echo "== summary"
printf '%-16s %-8s %8s %8s  %s\n' suite status wall CPU-s "totals line"
for name in "$@"; do
	if [ ! -f "$dir/$name.result" ]; then
		bad=$((bad + 1))
		failed+=("$name")
		printf '%-16s %-8s %8s %8s  %s\n' "$name" "NOT RUN" - - "(its build failed, or it was stopped)"
		continue
	fi
	read -r status wall cpu totals <"$dir/$name.result"
	if [ "$status" = 0 ]; then ok=$((ok + 1)); st=ok; else bad=$((bad + 1)); st=FAILED; failed+=("$name"); fi
	printf '%-16s %-8s %8s %8s  %s\n' "$name" "$st" "$wall" "$cpu" "$totals"
	cpu_all=$(awk -v a="$cpu_all" -v b="$cpu" 'BEGIN { printf "%.1f", a + b }')
	# The tests of a suite: "NAME: N passed, M failed", or libcheck's
	# "100%: Checks: N, Failures: F, Errors: E".
	if [[ $totals =~ :\ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
		tpass=$((tpass + BASH_REMATCH[1]))
		tfail=$((tfail + BASH_REMATCH[2]))
	elif [[ $totals =~ Checks:\ ([0-9]+),\ Failures:\ ([0-9]+),\ Errors:\ ([0-9]+) ]]; then
		tfail=$((tfail + BASH_REMATCH[2] + BASH_REMATCH[3]))
		tpass=$((tpass + BASH_REMATCH[1] - BASH_REMATCH[2] - BASH_REMATCH[3]))
	fi
done
if [ "${#failed[@]}" -gt 0 ]; then
	echo "failed: ${failed[*]} (each one's output is above, whole, under its == title)"
fi
wall=$(($(date +%s) - start))
echo "check: $# suites, $ok passed, $bad failed; $tpass tests passed, $tfail failed ($wall s wall, $cpu_all CPU-s in the suites)"
[ "$bad" -eq 0 ]
