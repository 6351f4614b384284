#!/usr/bin/env bash
# Per-event cost breakdown of the shim on the shared harness's workloads:
# where a traced run spends its time, by component, in ns per event.
#
#   bash bench/breakdown.sh [WORKLOAD...]        default: py_json churn perl
#
# Each workload runs once untraced under `perf stat` (task-clock) and once
# traced under `perf record -e cpu-clock` (a sample every 50 us of CPU, on
# every thread).  Every sample is charged, by the function it landed in, to
# one component:
#
#   stack      unwinding (src/shim/unwind.c, libunwind where it falls back)
#   intern     finding the stack's id (hash, index, compare, insert)
#   python     a Python program's frames merged into its stacks (python.c)
#   time       the event's timestamp (clock_gettime in the vDSO)
#   hook+ring  the hooks, the thread state and the ring write
#   backing    the backing allocator (jemalloc, in the shim)
#   collector  the collector thread: merge, heap map, encoding, zstd
#   program    everything else on the program's threads (its own work,
#              libc, the kernel)
#
# and divided by the trace's event count (every call: allocations, frees,
# reallocs).  The collector runs on its own thread: on 2 idle cores its
# time is not on the program's critical path.  Sampling on a busy machine
# inflates every component alike; the split is what to read.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/bench/harness.sh"
export BENCH_BUILD=${BENCH_BUILD:-$ROOT/build/bench/build} BENCH_DATA=${BENCH_DATA:-$ROOT/build/bench/data}
OUT=$ROOT/build/bench/breakdown
PERIOD_NS=50000
mkdir -p "$OUT"
[[ -x $BENCH_BUILD/churn ]] || bash "$HARNESS/setup.sh" >/dev/null
[[ $# -gt 0 ]] || set -- py_json churn perl

printf '| workload | events | with stack | untraced | traced (app threads) | stack | intern | python | time | hook+ring | backing | program | collector |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
for w in "$@"; do
	script=$HARNESS/workloads/$w.sh
	[[ -f $script ]] || { echo "breakdown: no workload $w" >&2; exit 2; }
	bash "$script" --prepare
	bash "$script" perf stat -x, -e task-clock -o "$OUT/$w.stat" >/dev/null 2>&1
	untraced_ms=$(awk -F, '/task-clock/ {printf "%.0f", $1}' "$OUT/$w.stat")
	rm -f "$OUT/$w.hst"*
	bash "$script" perf record -q -e cpu-clock -c $PERIOD_NS -o "$OUT/$w.data" \
		"$ROOT/build/bin/heapsnap" run -q -o "$OUT/$w.hst" -- >/dev/null 2>&1
	perf script -i "$OUT/$w.data" -F comm,ip,sym,dso 2>/dev/null >"$OUT/$w.samples"
	"$ROOT/build/bin/heapsnap" info --format json "$OUT/$w.hst" >"$OUT/$w.info.json"
	python3 - "$w" "$OUT/$w.samples" "$OUT/$w.info.json" "$untraced_ms" "$PERIOD_NS" <<'PY'
import json, re, sys
w, samples, info, untraced_ms, period = sys.argv[1:6]
JEMALLOC = re.compile(r"^(hsje_|je_|arena_|tcache_|extent_|sz_|emap_|pac_|pa_|edata_|"
                      r"rtree_|hpa_|sec_|eset_|base_|bin_|large_|tsd_|witness_|nstime_|"
                      r"prof_|ecache_|psset_|hpdata_|ctl_|background_|decay_|mutex_|san_|"
                      r"bitmap_|do_rallocx|imalloc|ifree|isfree|iralloc)")
INTERN = re.compile(r"^(index_find|index_put|index_grow|insert|hash_ips|entry_equals|"
                    r"entry_alloc|intern$|intern\.|__memcmp)")
PYTHON = re.compile(r"^(python_stack|intern_python|put_run|put_native|find_eval|find_evals|walk|name_frames|"
                    r"code_name|is_code|late_check|learn_cold|rd|utf8_of)(\.|$)")
def component(comm, sym, dso):
    if comm == "heapsnap":
        return "collector"
    if "libunwind" in dso or re.match(r"^(stack_capture|stack_|unwind_|memo_|tc_|rule_|full_unwind|"
                                      r"libunwind_steps)", sym):
        return "stack"
    if PYTHON.match(sym):
        return "python"
    if INTERN.match(sym):
        return "intern"
    if "vdso" in dso or "clock_gettime" in sym:
        return "time"
    if "libheapsnap" in dso:
        return "backing" if JEMALLOC.match(sym) else "hook+ring"
    return "program"
n = {}
line_re = re.compile(r"^\s*(.*?)\s+([0-9a-f]+)\s+(.*) \((.*)\)$")
for line in open(samples):
    m = line_re.match(line.rstrip("\n"))
    if not m:
        continue
    c = component(m.group(1), m.group(3), m.group(4))
    n[c] = n.get(c, 0) + 1
d = json.load(open(info))
ev = d["total_events"]
stacked = sum(v for k, v in d["events"].items()
              if k not in ("free", "delete", "delete[]", "malloc_usable_size"))
ns = lambda c: n.get(c, 0) * int(period) / ev
app = sum(v for c, v in n.items() if c != "collector") * int(period) / 1e6
cols = ["stack", "intern", "python", "time", "hook+ring", "backing", "program", "collector"]
print("| %s | %.2f M | %.2f M | %s ms | %.0f ms | %s |" % (
    w, ev / 1e6, stacked / 1e6, untraced_ms, app,
    " | ".join("%.1f" % ns(c) for c in cols)))
PY
done
echo
echo "Components in ns per event (all events); 'with stack' are the events that capture one."
