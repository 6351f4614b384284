#!/usr/bin/env bash
# make bench, part 4: what a Python program's Python frames cost.  The
# shared harness's py_json work (its script and argument) untraced, under
# heapsnap with python_frames=0 and under heapsnap with its defaults
# (Python frames on), in two allocator set-ups: the harness's
# PYTHONMALLOC=malloc (every object through malloc: what the other tools
# see) and the default (pymalloc, its allocator domains wrapped by the
# shim).  Wall time (GNU time), median of REPEATS runs, each traced run
# divided by the untraced run of the same repeat (paired: the machine's
# drift hits all alike), and peak RSS.
#
#   bash bench/python.sh                  REPEATS (default 5)
#   bash bench/python.sh --instructions   instructions instead (callgrind,
#                                         every thread, one run each; slow),
#                                         and those of a program that is not
#                                         Python with python_frames on and off
#   --instructions=py, --instructions=other  only one of the two tables
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/harness.sh"
H=$ROOT/build/bin/heapsnap
LIB=${HEAPSNAP_LIB:-$ROOT/build/lib/libheapsnap.so}
OUT=$ROOT/build/bench/python
PY=$(readlink -f /usr/bin/python3)
SCRIPT=$HARNESS/workloads/py_json.py
ARG=25000 # the harness's (workloads/py_json.sh)
REPEATS=${REPEATS:-5}
MODE=${1:-wall}
rm -rf "$OUT"
mkdir -p "$OUT"
cd "$OUT"
export PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1

# cmd ALLOC CONFIG: the command line of one configuration.
cmd() {
	local env=(env)
	[[ $1 == malloc ]] && env+=(PYTHONMALLOC=malloc)
	case $2 in
	untraced) echo "${env[*]} $PY -s -B $SCRIPT $ARG" ;;
	frames0) echo "${env[*]} HEAPSNAP_OPTIONS=python_frames=0 $H run -q -o $OUT/t.hst -- $PY -s -B $SCRIPT $ARG" ;;
	frames1) echo "${env[*]} $H run -q -o $OUT/t.hst -- $PY -s -B $SCRIPT $ARG" ;;
	esac
}

CONFIGS=(untraced frames0 frames1)
declare -A LABEL=([untraced]="untraced" [frames0]="heapsnap, python_frames=0" [frames1]="heapsnap, Python frames on (default)")

if [[ $MODE == --instructions* ]]; then
	PART=${MODE#--instructions}
	PART=${PART#=} # empty (both), py or other
fi
if [[ $MODE == --instructions* && $PART != other ]]; then
	# Instructions of every thread of the python process (the shim's
	# collector included), from callgrind's totals; heapsnap's own command
	# is not counted (the shim is preloaded directly, as heapsnap run does),
	# nor the exit scan (scan=0: under valgrind it reads valgrind's own
	# mappings among the roots and faults).
	echo "| PYTHONMALLOC | configuration | instructions | x untraced | x python_frames=0 | events | per event over untraced |"
	echo "|---|---|---:|---:|---:|---:|---:|"
	for alloc in malloc default; do
		declare -A ir=() ev=([untraced]=0)
		for c in "${CONFIGS[@]}"; do
			local_env=()
			[[ $alloc == malloc ]] && local_env+=(PYTHONMALLOC=malloc)
			case $c in
			untraced) ;;
			frames0) local_env+=(LD_PRELOAD=$LIB HEAPSNAP_OPTIONS=output=$OUT/i.hst:scan=0:python_frames=0) ;;
			frames1) local_env+=(LD_PRELOAD=$LIB HEAPSNAP_OPTIONS=output=$OUT/i.hst:scan=0) ;;
			esac
			rm -f "$OUT"/i.hst* "$OUT"/cg.out.*
			env "${local_env[@]}" valgrind --tool=callgrind --separate-threads=no --callgrind-out-file="$OUT/cg.out.%p" \
				"$PY" -s -B "$SCRIPT" "$ARG" >/dev/null 2>"$OUT/cg.log"
			ir[$c]=$(awk '/^(summary|totals):/ { print $2; exit }' "$OUT"/cg.out.*)
			# valgrind's launcher is traced too (i.hst, a few events), the
			# interpreter later (i.hst.PID): the trace with the most events
			[[ $c == untraced ]] || ev[$c]=$(for t in "$OUT"/i.hst*; do
				[[ $t == *.rings ]] || "$H" info "$t" --format json 2>/dev/null |
					python3 -c 'import json, sys; print(json.load(sys.stdin)["total_events"])'
			done | sort -n | tail -n 1)
		done
		for c in "${CONFIGS[@]}"; do
			awk -v a="$alloc" -v l="${LABEL[$c]}" -v x="${ir[$c]}" -v u="${ir[untraced]}" -v f="${ir[frames0]}" \
				-v e="${ev[$c]}" 'BEGIN { printf "| %s | %s | %.3f G | %.2fx | %.2fx | %s | %s |\n", a, l, x / 1e9,
					x / u, x / f, e ? sprintf("%.2f M", e / 1e6) : "", e ? sprintf("%.0f", (x - u) / e) : "" }'
		done
	done
fi
if [[ $MODE == --instructions* && $PART != py ]]; then
	# A program that is not Python (the harness's jq, a real Debian
	# binary that allocates a lot) under the shim with python_frames on
	# and off: the totals, and what the shim's Python module cost in it
	# (inclusive, from callgrind_annotate): python_init's look-ups at
	# start; python_stack never runs (python_wanted(), one relaxed load a
	# stack, is inlined and not counted here).
	[[ -z $PART ]] && echo
	echo "| jq (not Python) | instructions | python_init (inclusive) | python_stack (inclusive) | all of python.c (self) | events |"
	echo "|---|---:|---:|---:|---:|---:|"
	export BENCH_DATA=$ROOT/build/bench/data
	for pf in 1 0; do
		rm -f "$OUT"/j.hst* "$OUT"/cg.out.*
		bash "$HARNESS/workloads/jq.sh" env LD_PRELOAD="$LIB" HEAPSNAP_OPTIONS="output=$OUT/j.hst:scan=0:python_frames=$pf" \
			valgrind --tool=callgrind --separate-threads=no --callgrind-out-file="$OUT/cg.out.%p" 2>"$OUT/cg.log"
		cg=$(ls "$OUT"/cg.out.*)
		callgrind_annotate --auto=no --inclusive=yes --threshold=100 "$cg" >"$OUT/incl.txt"
		callgrind_annotate --auto=no --inclusive=no --threshold=100 "$cg" >"$OUT/self.txt"
		# cost FILE PATTERN: the instructions of the lines naming python.c:PATTERN
		cost() { awk -v re="[ /]src/shim/python[.]c:$2 " '$0 ~ re { gsub(",", "", $1); n += $1 } END { print n + 0 }' "$1"; }
		ev=$(for t in "$OUT"/j.hst*; do
			[[ $t == *.rings ]] || "$H" info "$t" --format json 2>/dev/null |
				python3 -c 'import json, sys; print(json.load(sys.stdin)["total_events"])'
		done | sort -n | tail -n 1)
		printf '| python_frames=%s | %s | %s | %s | %s | %s |\n' "$pf" "$(awk '/^(summary|totals):/ { print $2; exit }' "$cg")" \
			"$(cost "$OUT/incl.txt" python_init)" "$(cost "$OUT/incl.txt" python_stack)" "$(cost "$OUT/self.txt" '[^ ]+')" "$ev"
	done
fi
[[ $MODE == --instructions* ]] && exit 0

# Wall: each repeat runs every configuration once, in the same order.
: >runs.tsv
for ((r = 0; r < REPEATS; r++)); do
	for alloc in malloc default; do
		for c in "${CONFIGS[@]}"; do
			rm -f "$OUT"/t.hst*
			# shellcheck disable=SC2046
			/usr/bin/time -f '%e %M' -o time.tmp $(cmd "$alloc" "$c") >/dev/null
			printf '%d\t%s\t%s\t%s\n' "$r" "$alloc" "$c" "$(cat time.tmp)" >>runs.tsv
		done
	done
done
python3 - runs.tsv "${LABEL[untraced]}" "${LABEL[frames0]}" "${LABEL[frames1]}" <<'PY'
import statistics, sys
runs = [l.split() for l in open(sys.argv[1])]
labels = dict(zip(("untraced", "frames0", "frames1"), sys.argv[2:5]))
wall = {(a, c, int(r)): float(w) for r, a, c, w, m in runs}
rss = {}
for r, a, c, w, m in runs:
    rss.setdefault((a, c), []).append(int(m))
reps = sorted({int(r) for r, *_ in runs})
med = statistics.median
print("| PYTHONMALLOC | configuration | wall (median of %d) | x untraced (paired) | x python_frames=0 (paired) | peak RSS |" % len(reps))
print("|---|---|---:|---:|---:|---:|")
for a in ("malloc", "default"):
    for c in ("untraced", "frames0", "frames1"):
        w = med(wall[a, c, r] for r in reps)
        xu = med(wall[a, c, r] / wall[a, "untraced", r] for r in reps)
        xf = med(wall[a, c, r] / wall[a, "frames0", r] for r in reps)
        print("| %s | %s | %.2f s | %.2fx | %.2fx | %.0f MB |" % (a, labels[c], w, xu, xf, med(rss[a, c]) / 1024))
PY
