#!/usr/bin/env bash
# make bench: heapsnap against the untraced program, heaptrack and
# LeakSanitizer on the shared harness's real workloads (../shared/bench),
# measured in the same run, median of REPEATS (default 5) paired runs.
# On a machine nobody else uses: the ratios are wall time.
#
#   bash bench/run.sh [run.sh options, e.g. -w churn,sqlite -n 7]
#   TOOLS=none,ours bash bench/run.sh      (a quicker look at heapsnap alone)
#
# Results: build/bench/results/<label>.md (the harness's report), then
# <label>.table.md, printed last: heapsnap, heaptrack and LeakSanitizer side
# by side as the README shows them (bench/table.py), with the targets.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/harness.sh"
export BENCH_BUILD=$ROOT/build/bench/build BENCH_DATA=$ROOT/build/bench/data
bash "$HARNESS/setup.sh" >/dev/null
export OURS_PREFIX="$ROOT/build/bin/heapsnap run -q ${HEAPSNAP_RUN_FLAGS:-} -o @TRACE@/trace.hst --"
export OURS_DESC="heapsnap (this tree): heapsnap run, default options"
label=${LABEL:-heapsnap-$(date -u +%Y%m%d-%H%M%S)}
bash "$HARNESS/run.sh" -n "${REPEATS:-5}" -t "${TOOLS:-none,heaptrack,lsan,ours}" -o "$ROOT/build/bench/results" -l "$label" "$@"
python3 "$ROOT/bench/table.py" "$ROOT/build/bench/results/$label" >"$ROOT/build/bench/results/$label.table.md"
echo
echo "## heapsnap, heaptrack and LeakSanitizer ($label.table.md)"
echo
cat "$ROOT/build/bench/results/$label.table.md"
