#!/usr/bin/env bash
# make bench, part 2: the exit scan of a big heap and the analysis of a
# big trace, each as wall time and peak memory (GNU time), median of
# REPEATS runs.
#
#   bash bench/scale.sh [BLOCKS] [PAIRS]     defaults 10000000 50000000
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
H=$ROOT/build/bin/heapsnap
OUT=$ROOT/build/bench/scale
BLOCKS=${1:-10000000}
PAIRS=${2:-50000000}
REPEATS=${REPEATS:-3}
mkdir -p "$OUT"
cc -O2 -o "$OUT/bigheap" "$ROOT/bench/progs/bigheap.c"
cc -O1 -fno-omit-frame-pointer -o "$OUT/events" "$ROOT/bench/progs/events.c"

# measure LABEL CMD...: run REPEATS times, print the median wall time and
# peak RSS; WALL and CPU (user + system) are set to the medians.
measure() {
	local label=$1 i
	shift
	: >"$OUT/$label.times"
	for ((i = 0; i < REPEATS; i++)); do
		/usr/bin/time -f '%e %M %U %S' -o "$OUT/time.tmp" "$@" >/dev/null
		cat "$OUT/time.tmp" >>"$OUT/$label.times"
	done
	sort -n "$OUT/$label.times" | awk -v l="$label" '{t[NR]=$1; m[NR]=$2} END {i=int((NR+1)/2); printf "| %s | %.2f s | %.0f MB |\n", l, t[i], m[i]/1024}'
	WALL=$(sort -n "$OUT/$label.times" | awk '{t[NR]=$1} END {print t[int((NR+1)/2)]}')
	CPU=$(awk '{print $3 + $4}' "$OUT/$label.times" | sort -n | awk '{t[NR]=$1} END {print t[int((NR+1)/2)]}')
}

echo "load average when this began: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"
echo
echo "| what | wall (median of $REPEATS) | peak RSS |"
echo "|---|---:|---:|"
measure "bigheap untraced ($BLOCKS blocks)" "$OUT/bigheap" "$BLOCKS"
measure "bigheap traced, exit scan" "$H" run -q -o "$OUT/bigheap.hst" -- "$OUT/bigheap" "$BLOCKS"
"$H" info "$OUT/bigheap.hst" --format json >"$OUT/bigheap.info.json"
python3 - "$OUT/bigheap.info.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
s = d.get("scan") or {}
print("| exit scan alone (from the trace) | %.2f s | %s blocks, %s edges, %.0f MB read |" % (
    s.get("seconds", 0), s.get("blocks"), s.get("edges"), s.get("bytes", 0) / 2**20))
PY
measure "leaks on that trace" "$H" leaks "$OUT/bigheap.hst"

measure "events untraced ($PAIRS pairs)" "$OUT/events" "$PAIRS"
measure "events traced" "$H" run -q -o "$OUT/events.hst" -- "$OUT/events" "$PAIRS"
ls -l "$OUT/events.hst" | awk '{printf "| trace of %s pairs | | %.0f MB on disk |\n", "'"$PAIRS"'", $5/2^20}'
measure "info on the 2x$PAIRS-event trace" "$H" info "$OUT/events.hst"
measure "leaks on the 2x$PAIRS-event trace" "$H" leaks "$OUT/events.hst"
measure "top on the 2x$PAIRS-event trace" "$H" top "$OUT/events.hst"
TOP_WALL=$WALL TOP_CPU=$CPU
measure "top --snapshot peak on it (one pass)" "$H" top "$OUT/events.hst" --snapshot peak
measure "diff start -> exit on it" "$H" diff "$OUT/events.hst" --from start --to exit
measure "report on it" "$H" report "$OUT/events.hst" -o "$OUT/events.html"
# the issue's bound: report at most twice the time of top on the same trace
awk -v tw="$TOP_WALL" -v rw="$WALL" -v tc="$TOP_CPU" -v rc="$CPU" 'BEGIN {
	printf "| report / top (at most 2) | %.2fx wall | %.2fx CPU (user + system: %.2f s / %.2f s) |\n",
		(tw > 0 ? rw / tw : 0), (tc > 0 ? rc / tc : 0), rc, tc }'
ls -l "$OUT/events.html" | awk '{printf "| its report | | %.2f MB |\n", $5/2^20}'
# time to interactive: from navigation to the page's last script done, in
# headless chromium (tests/report_browser.py), median of REPEATS loads
for ((i = 0; i < REPEATS; i++)); do
	python3 "$ROOT/tests/report_browser.py" "$OUT/events.html" --dump "$OUT/tti.json" >/dev/null
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["ready_ms"], d["wall_to_ready_s"])' "$OUT/tti.json"
done | sort -n | awk '{t[NR]=$1; w[NR]=$2} END {i=int((NR+1)/2); printf "| report interactive in chromium | %.2f s (page scripts done, from navigation) | %.2f s from navigate to ready |\n", t[i]/1000, w[i]}'
