# Sourced by the bench scripts: find the shared harness (../shared/bench
# beside the checkout, or beside the main checkout when this is a git
# worktree; HEAPSNAP_BENCH_HARNESS overrides) and set HARNESS.
HARNESS=${HEAPSNAP_BENCH_HARNESS:-}
if [[ -z $HARNESS ]]; then
	for d in "$ROOT/../shared/bench" "$(git -C "$ROOT" rev-parse --path-format=absolute --git-common-dir 2>/dev/null)/../../shared/bench"; do
		[[ -f $d/run.sh ]] && { HARNESS=$(cd "$d" && pwd); break; }
	done
fi
[[ -n $HARNESS && -f $HARNESS/run.sh ]] || { echo "bench: harness not found (set HEAPSNAP_BENCH_HARNESS)" >&2; exit 2; }
