#!/usr/bin/env bash
# Instructions per allocation call, by where they run: deterministic
# figures for a machine whose wall clock cannot be trusted (shared, busy).
#
#   bash bench/instructions.sh [WORKLOAD...]        default: py_json churn perl
#   HEAPSNAP_LIB=/path/to/libheapsnap.so bash bench/instructions.sh ...
#   INSTRUCTIONS_OUT=DIR    where the profiles go (build/bench/instructions)
#
# Each workload of the shared harness runs under valgrind's callgrind twice,
# untraced and traced (one profile per thread), and the calls are counted
# with the harness's allocount.so.  Printed, in instructions per call
# (malloc, free, ...), the program's own and then the shim's, by where
# they run (the function's source file; inlined code counts where it came
# from):
#
#   program    the untraced program
#   shim       what the traced program's own thread runs on top of that,
#              the sum of the columns that follow
#   unwind     stack capture: src/shim/unwind.c, stack_capture, libunwind
#   intern     a stack's id: hashing, the index, comparing (stack.c)
#   python     a Python program's frames (python.c); 0 elsewhere
#   time       the event's timestamp (clock.h, clock.c)
#   hook+ring  the hooks, the thread state, the ring write
#   backing    the backing allocator (jemalloc in the shim, backing.c)
#   scan       the exit scan (scan.c, roots.c, world.c), on this thread
#   libc+rest  everything else the traced thread runs beyond the untraced
#              program: memcpy and memcmp called by the shim, other shim
#              files, and the program's own difference: negative where
#              the untraced program's glibc malloc ran more than that
#   collector  the collector thread (merge, heap map, encoding, zstd)
#
# A run takes 50 to 100 times as long as the program does.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/harness.sh"
export BENCH_BUILD=${BENCH_BUILD:-$ROOT/build/bench/build} BENCH_DATA=${BENCH_DATA:-$ROOT/build/bench/data}
LIB=${HEAPSNAP_LIB:-$ROOT/build/lib/libheapsnap.so}
OUT=${INSTRUCTIONS_OUT:-$ROOT/build/bench/instructions}
mkdir -p "$OUT"
[[ -x $BENCH_BUILD/allocount.so ]] || bash "$HARNESS/setup.sh" >/dev/null
[[ $# -gt 0 ]] || set -- py_json churn perl

summary() {
	awk '/^summary:/ { print $2 }' "$1"
}

# selfcost FILE: callgrind's functions by their own instructions.
selfcost() {
	callgrind_annotate --auto=no --threshold=100 "$1" 2>/dev/null
}

printf '| workload | calls | program | shim | unwind | intern | python | time | hook+ring | backing | scan | libc+rest | collector |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
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
	selfcost "$main" >"$OUT/$w.self"
	python3 - "$w" "$calls" "$(summary "$none")" "$(summary "$main")" "$([[ -n $coll ]] && summary "$coll" || echo 0)" \
		"$OUT/$w.self" "$(basename "$LIB")" <<'PY'
import re, sys
w, calls, none, main, coll = sys.argv[1], *map(int, sys.argv[2:6])
selfs, lib = sys.argv[6], sys.argv[7]
HOOK = ("hooks.c", "ring.h", "rings.c", "ringfile.h", "event.h", "intercept.c", "tls.h", "hooks_cxx.c",
        "recent.c", "heapmap.c", "nestpool.c", "spin.h")
def component(where, obj):
    path, _, fn = where.rpartition(":")
    f = path.rsplit("/", 1)[-1]
    if "libunwind" in obj or f == "unwind.c" or fn == "stack_capture" or f == "unwind.h" and fn != "intern_python":
        return "unwind"
    if f in ("stack.c", "unwind.h"):
        return "intern"
    if f == "python.c":
        return "python"
    if f in ("clock.h", "clock.c"):
        return "time"
    if f in HOOK:
        return "hook+ring"
    if f == "backing.c" or (lib in obj and path == "???"):
        return "backing"
    if f in ("scan.c", "roots.c", "world.c"):
        return "scan"
    return "rest"
n = {}
# "1,234 (12.34%)  file:function [object]"
LINE = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*?)(?: \[(.*)\])?$")
for line in open(selfs):
    m = LINE.match(line.rstrip("\n"))
    if not m or m.group(2).startswith(("PROGRAM TOTALS", "=>")):
        continue
    c = component(m.group(2), m.group(3) or "")
    n[c] = n.get(c, 0) + int(m.group(1).replace(",", ""))
shim = main - none
n["rest"] = shim - sum(v for k, v in n.items() if k != "rest")
per = lambda x: x / calls if calls else 0
cols = ["unwind", "intern", "python", "time", "hook+ring", "backing", "scan", "rest"]
print("| %s | %.2f M | %.0f | %.0f | %s | %.0f |" % (
    w, calls / 1e6, per(none), per(shim), " | ".join("%.0f" % per(n.get(c, 0)) for c in cols), per(coll)))
PY
done
