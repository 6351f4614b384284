#!/usr/bin/env bash
# make bench, part 3: heapsnap attach.
#
#  1. The pause of the target: how long the thread that loads the shim is
#     stopped at each attach (the first loads the shim, the next ones call
#     it again), with a thread blocked in a system call (the test server)
#     and with every thread computing (python3, caught entering malloc);
#     at each detach, the longest stop of a thread checked out of the
#     shim, and how long finishing the trace took.  Medians of CYCLES.
#  2. What tracing costs after the attach: the shared harness's py_json
#     work in rounds (bench/progs/py_rounds.py, PYTHONMALLOC=malloc), CPU
#     seconds per round (process_time), median: untraced and attached
#     rounds of one process, and rounds under heapsnap run, with its
#     default allocator (jemalloc) and with the system allocator, which is
#     what attach forwards to.
#
#   bash bench/attach.sh          CYCLES (default 10), ROUNDS (default 12)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
H=$ROOT/build/bin/heapsnap
AB=$ROOT/build/tests/attach
OUT=$ROOT/build/bench/attach
PY=/usr/bin/python3
CYCLES=${CYCLES:-10}
ROUNDS=${ROUNDS:-12}
make -s -C "$ROOT" attach-progs >/dev/null
rm -rf "$OUT"
mkdir -p "$OUT"
cd "$OUT"

median() { sort -g | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]; else print "-"}'; }
mono() { "$PY" -c 'import time; print(time.monotonic())'; }
wait_rounds() { # FILE N: until FILE has N round lines
	while [ "$(grep -c '^round' "$1" 2>/dev/null || true)" -lt "$2" ]; do sleep 0.1; done
}

# ---- 1. pauses ------------------------------------------------------------------------

# cycles NAME PID: CYCLES attach/detach cycles of 0.3 s; NAME.pauses gets
# "first|again ATTACH_MS DETACH_MS FINISH_MS" lines.
cycles() {
	local name=$1 pid=$2 i
	: >"$name.pauses"
	for ((i = 0; i < CYCLES; i++)); do
		"$H" attach "$pid" -o "$OUT/$name.hst" --duration 0.3 2>"$name.err"
		rm -f "$OUT/$name.hst"*
		local a d f kind
		a=$(sed -n 's/^heapsnap: attach: thread [0-9]* paused \([0-9.]*\) ms.*/\1/p' "$name.err")
		kind=$(grep -q 'shim loaded' "$name.err" && echo first || echo again)
		d=$(sed -n 's/.*threads paused at most \([0-9.]*\) ms.*/\1/p' "$name.err")
		f=$(sed -n 's/.*finishing the trace took \([0-9.]*\) ms.*/\1/p' "$name.err")
		echo "$kind $a $d $f" >>"$name.pauses"
	done
}

report_pauses() { # NAME LABEL
	local first again det fin
	first=$(awk '$1 == "first" {print $2}' "$1.pauses" | median)
	again=$(awk '$1 == "again" {print $2}' "$1.pauses" | median)
	det=$(awk '{print $3}' "$1.pauses" | median)
	fin=$(awk '{print $4}' "$1.pauses" | median)
	printf '| %s | %s ms | %s ms | %s ms | %s ms |\n' "$2" "$first" "$again" "$det" "$fin"
}

"$AB/server" "$OUT/server.sock" >/dev/null 2>&1 &
SPID=$!
while [ ! -S "$OUT/server.sock" ]; do sleep 0.1; done
cycles server "$SPID"
kill "$SPID"

rm -f stop.busy
PYTHONMALLOC=malloc "$PY" "$ROOT/bench/progs/py_rounds.py" "$OUT/stop.busy" 100000 >busy.out &
BPID=$!
wait_rounds busy.out 2
cycles busy "$BPID"
touch stop.busy
wait "$BPID" || true

echo "Pause of the target (median of $CYCLES attach/detach cycles):"
echo
echo "| target | attach, shim loaded | attach again | detach, per thread | finishing the trace |"
echo "|---|---:|---:|---:|---:|"
report_pauses server "test server, 5 threads blocked in nanosleep/accept"
report_pauses busy "python3 py_json rounds, computing (breakpoint on malloc)"

# ---- 2. overhead ----------------------------------------------------------------------

rm -f stop.att
PYTHONMALLOC=malloc "$PY" "$ROOT/bench/progs/py_rounds.py" "$OUT/stop.att" 100000 >att.out &
PPID_=$!
wait_rounds att.out $((ROUNDS + 1))
t_attach=$(mono)
"$H" attach "$PPID_" -o "$OUT/att.hst" 2>att.err &
HPID=$!
while ! grep -qs '^heapsnap: attached' att.err; do sleep 0.1; done
t_on=$(mono)
n=$(grep -c '^round' att.out)
wait_rounds att.out $((n + ROUNDS + 1))
t_detach=$(mono)
kill -INT "$HPID"
wait "$HPID"
touch stop.att
wait "$PPID_" || true
# a round started at END - CPU... is untraced if it ended before the attach
# began, traced if it started after the attach was done and ended before the
# detach began
untraced=$(awk -v a="$t_attach" '$1 == "round" && $2 > 0 && $4 < a {print $3}' att.out | median)
attached=$(awk -v on="$t_on" -v d="$t_detach" '$1 == "round" && $4 - $3 > on && $4 < d {print $3}' att.out | median)

rm -f stop.run
PYTHONMALLOC=malloc "$H" run -q -o "$OUT/run.hst" -- "$PY" "$ROOT/bench/progs/py_rounds.py" "$OUT/stop.run" \
	$((ROUNDS + 1)) >run.out
traced_run=$(awk '$1 == "round" && $2 > 0 {print $3}' run.out | median)
rm -f stop.run
PYTHONMALLOC=malloc "$H" run -q --allocator system -o "$OUT/runsys.hst" -- "$PY" "$ROOT/bench/progs/py_rounds.py" \
	"$OUT/stop.run" $((ROUNDS + 1)) >runsys.out
traced_sys=$(awk '$1 == "round" && $2 > 0 {print $3}' runsys.out | median)

echo
echo "CPU seconds per round of py_json work (4000 records, PYTHONMALLOC=malloc), median of $ROUNDS:"
echo
echo "| untraced | after heapsnap attach | heapsnap run | heapsnap run --allocator system |"
echo "|---:|---:|---:|---:|"
awk -v u="$untraced" -v a="$attached" -v r="$traced_run" -v s="$traced_sys" \
	'BEGIN {printf "| %.4f s | %.4f s (%.2fx) | %.4f s (%.2fx) | %.4f s (%.2fx) |\n", u, a, a / u, r, r / u, s, s / u}'
