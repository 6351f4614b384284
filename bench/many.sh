#!/usr/bin/env bash
# make bench, part 4: one shell job of many short processes (about 1,800
# traces, bench/progs/many.sh): the job untraced and under `heapsnap run`,
# then top, leaks and info over its directory of traces, leaks over twice
# as many (memory must follow the distinct stacks and the report, not
# traces x sites), and `heapsnap check` of the whole job (run and
# analysis).  Wall time and peak RSS (GNU time), median of REPEATS runs.
#
#   bash bench/many.sh [ROUNDS]      default 450 (about 1,800 traces)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
H=$ROOT/build/bin/heapsnap
OUT=$ROOT/build/bench/many
ROUNDS=${1:-450}
REPEATS=${REPEATS:-3}
JOB=(bash "$ROOT/bench/progs/many.sh" "$ROUNDS")

# No file is deleted while the bench measures.  On ext4 without a journal
# (this machine's), an inode freed in an earlier second is skipped by every
# file creation in its block group for the next 60 to 360 seconds, each
# skip a look-up of its inode table block: after one repeat's 1,800 traces
# were removed, the next repeat's 3,600 creations (traces and ring files)
# each walked past them.  So the last bench's output is moved aside and
# removed at the end, every repeat writes into a directory of its own, and
# check keeps its traces (--output-dir; its own removal of them at the end
# is not timed).
rm -rf "$OUT.old"
[[ -e $OUT ]] && mv "$OUT" "$OUT.old"
mkdir -p "$OUT"
trap 'rm -rf "$OUT.old"' EXIT

# measure LABEL CMD...: run REPEATS times (a non-zero status is the
# command's verdict, not a failure of the bench), print the median wall
# time and its peak RSS.
measure() {
	local label=$1 i
	shift
	: >"$OUT/$label.times"
	for ((i = 0; i < REPEATS; i++)); do
		/usr/bin/time -f '%e %M' -o "$OUT/time.tmp" "$@" >/dev/null 2>&1 || true
		tail -1 "$OUT/time.tmp" >>"$OUT/$label.times"
	done
	sort -n "$OUT/$label.times" | awk -v l="$label" '{t[NR]=$1; m[NR]=$2} END {i=int((NR+1)/2); printf "| %s | %.2f s | %.0f MB |\n", l, t[i], m[i]/1024}'
}

# The traces of one traced run of the job, in $OUT/traces; a second copy
# of each (other names) in $OUT/twice.
mkdir -p "$OUT/traces"
"$H" run -q -o "$OUT/traces/job.hst" -- "${JOB[@]}" >/dev/null
ntraces=$(find "$OUT/traces" -name '*.hst*' ! -name '*.rings' | wc -l)
mkdir -p "$OUT/twice"
for f in "$OUT"/traces/*; do
	cp "$f" "$OUT/twice/"
	cp "$f" "$OUT/twice/copy-$(basename "$f")"
done

echo "| what ($ntraces traces of one job of $ROUNDS rounds) | wall (median of $REPEATS) | peak RSS |"
echo "|---|---:|---:|"
measure "job untraced" "${JOB[@]}"
mkdir -p "$OUT/run" "$OUT/check"
measure "job under heapsnap run" bash -c 'd=$(mktemp -d "$1/XXXXXX") && shift && exec "$1" run -q -o "$d/job.hst" -- "${@:2}"' _ "$OUT/run" "$H" "${JOB[@]}"
measure "top over the traces" "$H" top "$OUT/traces"
measure "top --snapshot peak over them" "$H" top "$OUT/traces" --snapshot peak
measure "leaks over the traces" "$H" leaks "$OUT/traces"
measure "leaks --format json over them" "$H" leaks "$OUT/traces" --format json
measure "info over the traces" "$H" info "$OUT/traces"
measure "leaks over twice as many" "$H" leaks "$OUT/twice"
measure "check -- the job (run and analysis)" bash -c 'd=$(mktemp -d "$1/XXXXXX") && shift && exec "$1" check --output-dir "$d" -- "${@:2}"' _ "$OUT/check" "$H" "${JOB[@]}"
