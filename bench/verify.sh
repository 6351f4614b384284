#!/usr/bin/env bash
# make bench-verify: the shared harness's workloads traced with
# HEAPSNAP_OPTIONS=stack_verify=1, which also runs libunwind's full unwind
# on every event and compares (src/shim/stack.c).  Prints, per workload,
# the stacks checked and the mismatches summed over its process images, and
# fails unless every workload was checked with 0 mismatches.  (make check's
# integration suite does the same on its own programs and on python3,
# sqlite3, perl and git.)
#
#   bash bench/verify.sh [WORKLOAD...]        default: all nine
#   HEAPSNAP=/path/to/bin/heapsnap bash bench/verify.sh   (another build)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/harness.sh"
export BENCH_BUILD=${BENCH_BUILD:-$ROOT/build/bench/build} BENCH_DATA=${BENCH_DATA:-$ROOT/build/bench/data}
OUT=$ROOT/build/bench/verify
HEAPSNAP=${HEAPSNAP:-$ROOT/build/bin/heapsnap}
mkdir -p "$OUT"
[[ -x $BENCH_BUILD/churn ]] || bash "$HARNESS/setup.sh" >/dev/null
if [[ $# -eq 0 ]]; then
	for f in "$HARNESS"/workloads/*.sh; do
		b=$(basename "$f" .sh)
		[[ $b == _* ]] || set -- "$@" "$b"
	done
fi

printf '| workload | process images | stacks checked | mismatches | frames stepped | frames reused | captures by libunwind |\n'
printf '|---|---:|---:|---:|---:|---:|---:|\n'
bad=0
total=0
for w in "$@"; do
	script=$HARNESS/workloads/$w.sh
	[[ -f $script ]] || { echo "verify: no workload $w" >&2; exit 2; }
	bash "$script" --prepare >/dev/null
	rm -rf "${OUT:?}/$w" && mkdir -p "$OUT/$w"
	rc=0
	HEAPSNAP_OPTIONS=stack_verify=1 BENCH_SCRATCH=$OUT/$w/scratch bash "$script" \
		"$HEAPSNAP" run -q -o "$OUT/$w/trace.hst" -- >/dev/null 2>"$OUT/$w/stderr" || rc=$?
	# one report a process image: "N stacks checked, M mismatches (captures
	# C: R repeated, K cached, F by libunwind; ...)"
	read -r n checked mism stepped reused fallback < <(awk '
		/^heapsnap: stack_verify: [0-9]+ stacks checked, [0-9]+ mismatches/ {
			n++; c += $3; m += $6
			for (i = 2; i <= NF; i++) {
				if ($i == "stepped,") s += $(i - 1)
				if ($i == "reused;") r += $(i - 1)
				if ($i == "libunwind;") f += $(i - 2)
			}
		}
		END { printf "%d %d %d %d %d %d\n", n, c, m, s, r, f }' "$OUT/$w/stderr")
	printf '| %s | %d | %d | %d | %d | %d | %d |\n' "$w" "$n" "$checked" "$mism" "$stepped" "$reused" "$fallback"
	total=$((total + checked))
	if [[ $rc -ne 0 || $n -eq 0 || $checked -eq 0 || $mism -ne 0 ]]; then
		echo "verify: $w: exit $rc, $n reports, $mism mismatches; see $OUT/$w/stderr" >&2
		grep -m 3 mismatch "$OUT/$w/stderr" >&2 || true
		bad=1
	fi
done
echo
echo "stack_verify: $total stacks checked over $# workloads, $([[ $bad -eq 0 ]] && echo "0 mismatches" || echo FAILED)"
exit $bad
