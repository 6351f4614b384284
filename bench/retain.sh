#!/usr/bin/env bash
# make bench, part 3: why is it still alive, at scale.  A service's heap
# (bench/progs/service_heap.c: 10 million blocks of 16..184 bytes, 1 GiB
# with malloc's headers, in lists of 100 from a global table) scanned
# while the program runs, then the analyses of that scan.  Wall time and
# peak RSS (GNU time), median of REPEATS runs:
#
#  1. the program untraced (it builds the heap and exits), traced with a
#     mid-run scan (--scan-signal: it raises the signal once its heap is
#     built, goes on until the scan has stopped and resumed it, then frees
#     it all), and traced with the exit scan only, the heap kept;
#  2. how long the mid-run scan stopped the program, as the program saw
#     it (the longest time its clock loop did not run), and the scan's
#     own seconds from the trace, against the exit scan's;
#  3. on the mid-run scan (--snapshot 0): leaks, top --retained,
#     retainers --site (every block a target) and --address (the chain
#     from every root), and the two dominator algorithms alone.
#
#   bash bench/retain.sh [BLOCKS]       default 10000000; REPEATS (default 3)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
H=$ROOT/build/bin/heapsnap
OUT=$ROOT/build/bench/retain
BLOCKS=${1:-10000000}
REPEATS=${REPEATS:-3}
rm -rf "$OUT"
mkdir -p "$OUT"
cc -O2 -g -o "$OUT/service_heap" "$ROOT/bench/progs/service_heap.c"
cc -O2 -I"$ROOT/src" -I"$ROOT/include" -o "$OUT/dombench" "$ROOT/bench/progs/dombench.c" \
	"$ROOT/build/lib/libheapsnap-analyze.a" -ldw -lelf -lzstd -lm -lstdc++

# measure LABEL CMD...: run REPEATS times, print the median wall time and
# peak RSS.
measure() {
	local label=$1 i
	shift
	: >"$OUT/times"
	for ((i = 0; i < REPEATS; i++)); do
		/usr/bin/time -f '%e %M' -o "$OUT/time.tmp" "$@" >"$OUT/last.out"
		cat "$OUT/time.tmp" >>"$OUT/times"
	done
	sort -n "$OUT/times" | awk -v l="$label" '{t[NR]=$1; m[NR]=$2} END {i=int((NR+1)/2); printf "| %s | %.2f s | %.0f MB |\n", l, t[i], m[i]/1024}'
}

echo "load average when this began: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
echo
echo "| what ($BLOCKS blocks) | wall (median of $REPEATS) | peak RSS |"
echo "|---|---:|---:|"
measure "service heap untraced (built, then exits)" "$OUT/service_heap" "$BLOCKS"
measure "traced, scanned mid-run (--scan-signal), then freed" \
	"$H" run -q --scan-signal USR2 -o "$OUT/mid.hst" -- "$OUT/service_heap" "$BLOCKS" scan
# the last of those runs: what the program saw, the scan from its trace
cp "$OUT/last.out" "$OUT/stall.txt"
measure "traced, the exit scan only (the heap kept)" "$H" run -q -o "$OUT/exit.hst" -- "$OUT/service_heap" "$BLOCKS"
addr=$(sed -n 's/.* a list at //p' "$OUT/stall.txt")
"$H" leaks "$OUT/mid.hst" --snapshot 0 --format json >"$OUT/mid.json"
"$H" leaks "$OUT/exit.hst" --format json >"$OUT/exit.json"
ls -l "$OUT/mid.hst" >"$OUT/mid.size"
python3 - "$OUT/stall.txt" "$OUT/mid.json" "$OUT/exit.json" "$OUT/mid.size" <<'PY'
import json, re, sys
stall = re.search(r"stopped ([0-9.]+) s, resumed ([0-9.]+) s", open(sys.argv[1]).read())
mid, ex = (json.load(open(f))["scan"] for f in sys.argv[2:4])
size = int(open(sys.argv[4]).read().split()[4])
print("| the program stopped by the mid-run scan (as it saw it) | %s s | back %s s after the signal |" % stall.groups())
print("| the mid-run scan alone (from the trace) | %.2f s | %d blocks, %d edges |" % (mid["seconds"], mid["blocks"], mid["edges"]))
print("| the exit scan alone, for comparison | %.2f s | %d blocks, %d edges |" % (ex["seconds"], ex["blocks"], ex["edges"]))
print("| the trace with the mid-run scan | | %.0f MB on disk |" % (size / 2**20))
PY
measure "leaks --snapshot 0 (the mid-run scan)" "$H" leaks "$OUT/mid.hst" --snapshot 0
measure "top --retained --snapshot 0" "$H" top "$OUT/mid.hst" --retained --snapshot 0
measure "retainers --snapshot 0 --site main (every block a target)" "$H" retainers "$OUT/mid.hst" --snapshot 0 --site main
measure "retainers --snapshot 0 --address (the chain from every root)" \
	"$H" retainers "$OUT/mid.hst" --snapshot 0 --address "$addr"
# dombench reads the trace's last scan: the exit trace's, the same heap
for a in snca chk; do
	measure "dominators alone, $a (dombench, with the read)" "$OUT/dombench" "$OUT/exit.hst" $a
	"$OUT/dombench" "$OUT/exit.hst" $a | awk -v a=$a '{printf "| %s, the tree alone | %s s | %s passes |\n", a, $2, $4}'
done
