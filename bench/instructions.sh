#!/usr/bin/env bash
# Instructions per allocation call, by where they run: deterministic
# figures for a machine whose wall clock cannot be trusted (shared, busy).
#
#   bash bench/instructions.sh [WORKLOAD...]        default: py_json churn perl
#   HEAPSNAP_LIB=/path/to/libheapsnap.so bash bench/instructions.sh ...
#
# Each workload of the shared harness runs under valgrind's callgrind twice,
# untraced and traced (one profile per thread), and the calls are counted
# with the harness's allocount.so.  Printed, per call (malloc, free, ...):
#
#   program    the untraced program's instructions
#   shim       what the traced program's own thread runs on top of that
#   stack      of it, stack_capture (the unwind and the id of the stack)
#   python     of that, a Python program's frames (python_stack and its
#              interning); 0 elsewhere
#   collector  the collector thread (merge, heap map, encoding, zstd)
#
# A run takes 50 to 100 times as long as the program does.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/harness.sh"
export BENCH_BUILD=${BENCH_BUILD:-$ROOT/build/bench/build} BENCH_DATA=${BENCH_DATA:-$ROOT/build/bench/data}
LIB=${HEAPSNAP_LIB:-$ROOT/build/lib/libheapsnap.so}
OUT=$ROOT/build/bench/instructions
mkdir -p "$OUT"
[[ -x $BENCH_BUILD/allocount.so ]] || bash "$HARNESS/setup.sh" >/dev/null
[[ $# -gt 0 ]] || set -- py_json churn perl

# inclusive FILE FUNCTION: the function's inclusive instructions, or 0.
inclusive() {
	callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null |
		awk -v f="$2" '$0 ~ (":" f " \\[") { gsub(",", "", $1); print $1; found = 1; exit } END { if (!found) print 0 }'
}

summary() {
	awk '/^summary:/ { print $2 }' "$1"
}

printf '| workload | calls | program | shim | stack | python | collector |\n'
printf '|---|---:|---:|---:|---:|---:|---:|\n'
for w in "$@"; do
	script=$HARNESS/workloads/$w.sh
	[[ -f $script ]] || { echo "instructions: no workload $w" >&2; exit 2; }
	bash "$script" --prepare
	rm -f "$OUT/$w".*
	ALLOCOUNT_OUT="$OUT/$w.count" bash "$script" env LD_PRELOAD="$BENCH_BUILD/allocount.so" >/dev/null 2>&1
	# one line per process (pid, executable, counts..., total): the largest
	calls=$(awk -F'\t' '$NF > n { n = $NF } END { print n + 0 }' "$OUT/$w.count")
	bash "$script" valgrind --tool=callgrind --separate-threads=yes \
		--callgrind-out-file="$OUT/$w.none.%p" >/dev/null 2>"$OUT/$w.none.log"
	bash "$script" valgrind --tool=callgrind --trace-children=yes --separate-threads=yes \
		--callgrind-out-file="$OUT/$w.traced.%p" env LD_PRELOAD="$LIB" \
		HEAPSNAP_OPTIONS=output="$OUT/$w.hst" >/dev/null 2>"$OUT/$w.traced.log"
	none=$(ls "$OUT/$w".none.*-01 | head -1)
	main=$(ls "$OUT/$w".traced.*-01 | head -1)
	coll=$(ls "$OUT/$w".traced.*-02 2>/dev/null | head -1 || true)
	python3 - "$w" "$calls" "$(summary "$none")" "$(summary "$main")" "$([[ -n $coll ]] && summary "$coll" || echo 0)" \
		"$(inclusive "$main" stack_capture)" "$(inclusive "$main" intern_python)" <<'PY'
import sys
w, calls, none, main, coll, stack, py = sys.argv[1], *map(int, sys.argv[2:])
per = lambda x: x / calls if calls else 0
print("| %s | %.2f M | %.0f | %.0f | %.0f | %.0f | %.0f |" % (
    w, calls / 1e6, per(none), per(main - none), per(stack), per(py), per(coll)))
PY
done
