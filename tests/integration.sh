#!/bin/bash
# integration.sh - run tests/progs/* and real Debian binaries under the real
# shim (`heapsnap run`) and check what `heapsnap info` reads back, exactly
# where the numbers are known.  Also the exit status pass-through of `run`
# and the exit codes and messages of `info` on bad input.
#
#   bash tests/integration.sh        (make check runs it after `make progs`)
#
# Prints one line per test ("ok NAME", "FAIL NAME: why", "SKIP NAME: why")
# and ends with exactly one line "integration: N passed, M failed"; exits 1
# if M > 0.  SKIP is only for a binary that is not installed.  Everything
# happens in a temporary directory that is removed at the end.
#
# HEAPSNAP_TEST_SECOND_PASS=1 (tests/sanitize.sh, after make check's first
# pass ran this suite with the release build): the tests that repeat a run
# only to raise the odds of catching a race (handoff, dlscan) run once, or
# shorter; every assertion stays.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
HS=${HEAPSNAP_CLI:-$ROOT/build/bin/heapsnap}
PROGS=$ROOT/build/tests/progs
# The real Debian interpreter: a pyenv shim in PATH is another program.
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=$(command -v python3 || echo python3); fi


SUITE=integration
. "$(dirname "$0")/harness.sh"
# runs of a race test: 2, or 1 in the second pass
RACE_RUNS=$([ -n "${HEAPSNAP_TEST_SECOND_PASS:-}" ] && echo 1 || echo 2)

T=$(mktemp -d "${TMPDIR:-/tmp}/heapsnap-integration.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
ulimit -c 0 # the crash tests must not leave core files
cd "$T" || exit 1

if ! make -s -C "$ROOT" progs >"$T/build.log" 2>&1; then
	fail build "make progs failed: $(tail -n 3 "$T/build.log" | tr '\n' ' ')"
	finish
fi

# ---- helpers ----------------------------------------------------------------

# run OUT PROG ARGS...: trace PROG into OUT; stdout to OUT.stdout, stderr to
# OUT.stderr; sets rc.  RUN_ALLOC=system adds --allocator system.  A run
# that hangs is killed after RUN_TIMEOUT (60) seconds: rc 124 or 137.
run() {
	local out=$1
	shift
	{
		timeout -k 5 "${RUN_TIMEOUT:-60}" "$HS" run ${RUN_ALLOC:+--allocator "$RUN_ALLOC"} -q -o "$out" -- "$@" \
			>"$out.stdout" 2>"$out.stderr"
		rc=$?
	} 2>/dev/null
}

# info FILE: `heapsnap info --format json FILE` into FILE.json (stderr
# FILE.ierr); returns its exit status.
info() {
	"$HS" info --format json "$1" >"$1.json" 2>"$1.ierr"
}

# A trace and its info, or a failure that says why not: need_info NAME FILE
need_info() {
	if [ ! -f "$2" ]; then
		fail "$1" "no trace $2 was written (beside it: $(find "$(dirname "$2")" -maxdepth 1 -type f -printf '%f ' | head -c 300))"
		return 1
	fi
	if ! info "$2"; then
		fail "$1" "heapsnap info $2 failed: $(head -c 300 "$2.ierr")"
		return 1
	fi
}

# Common checks of a trace of a program that ended normally.
COMPLETE='
for j in J:
    eq("%s: schema" % j["trace"], j.get("schema"), 1)
    check("%s: truncated (%s)" % (j["trace"], j.get("truncation")), not j["truncated"])
    eq("%s: dropped events" % j["trace"], j["dropped_events"], 0)
    eq("%s: recovered events" % j["trace"], j["recovered_events"], 0)
    eq("%s: lost events" % j["trace"], j["lost_events"], 0)
'

EVENT_NAMES='NAMES = ["malloc", "calloc", "realloc", "reallocarray", "free", "posix_memalign",
         "aligned_alloc", "memalign", "valloc", "pvalloc", "new", "new[]", "delete",
         "delete[]", "malloc_usable_size"]
'

# ---- baseline ----------------------------------------------------------------

# What the README ("What an empty program costs") says the empty programs
# record, as "N events (kind n, ...)": python3 -c "$README_EVENTS" README
# {c|cxx} prints {"total": N, "kind": n, ...}.  The baseline tests hold
# info to it exactly.
README_EVENTS='
import json, re, sys
text = " ".join(open(sys.argv[1]).read().split())
pat = {"c": r"An empty C program \(`int main\(void\) \{ return 0; \}`\) traced on Debian 12 records (\d+) events \(([^)]*)\)",
       "cxx": r"an empty C\+\+ program (\d+) events \(([^)]*)\)"}[sys.argv[2]]
m = re.search(pat, text)
if not m:
    sys.exit("README: no claim matching " + pat)
claim = {"total": int(m.group(1))}
for part in m.group(2).split(", "):
    kind, n = part.rsplit(" ", 1)
    claim[kind] = int(n)
print(json.dumps(claim))
'

# test_baseline ALLOCATOR [PROGRAM]: trace the empty program (empty, or
# empty_cxx) into $T/base-ALLOCATOR[-cxx]/empty.hst; its events are the
# README's.
test_baseline() {
	local alloc=$1 prog=${2:-empty} d=$T/base-$1 name=baseline-$1
	[ "$prog" = empty ] || { d=$d-cxx; name=$name-cxx; }
	mkdir -p "$d"
	RUN_ALLOC=$alloc run "$d/empty.hst" "$PROGS/$prog"
	if [ "$rc" -ne 0 ]; then
		fail "$name" "heapsnap run $prog exited $rc: $(head -c 300 "$d/empty.hst.stderr")"
		return
	fi
	if [ -s "$d/empty.hst.stderr" ]; then
		fail "$name" "the shim wrote to stderr: $(head -c 300 "$d/empty.hst.stderr")"
		return
	fi
	need_info "$name" "$d/empty.hst" || return
	local mode rings claim
	mode=$(stat -c %a "$d/empty.hst")
	rings=$(find "$d" -name '*.rings' | wc -l)
	if ! claim=$("$PY" -c "$README_EVENTS" "$ROOT/README.md" "$([ "$prog" = empty ] && echo c || echo cxx)" 2>&1); then
		fail "$name" "$claim"
		return
	fi
	echo "     baseline ($prog, $alloc): $("$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["total_events"], "events,", {k: v for k, v in j["events"].items() if v}, "live", j["live"])' "$d/empty.hst.json") (README: $claim)"
	assert_json "$name" "$COMPLETE
j = J[0]
claim = $claim
eq('total_events (the README says)', j['total_events'], claim.pop('total'))
eq('events (the README says)', {k: v for k, v in j['events'].items() if v}, claim)
eq('allocator', j['allocator'], '$alloc')
eq('end', j.get('end'), {'reason': 'exit', 'status': 0})
eq('trace file mode', '$mode', '600')
eq('ring files left after a clean exit', $rings, 0)
eq('threads', j['threads'], len(j['thread_list']))
check('no exit snapshot in %r' % j['snapshots'], any(s.get('label') == 'exit' for s in j['snapshots']))
" "$d/empty.hst.json"
}

# The README: without __libc_freeres at exit (libc_freeres=0), the empty C
# program records no event at all.
test_baseline_no_freeres() {
	local d=$T/base-nofreeres
	mkdir -p "$d"
	HEAPSNAP_OPTIONS=libc_freeres=0 run "$d/empty.hst" "$PROGS/empty"
	if [ "$rc" -ne 0 ] || [ -s "$d/empty.hst.stderr" ]; then
		fail baseline-no-freeres "exit $rc: $(head -c 300 "$d/empty.hst.stderr")"
	elif need_info baseline-no-freeres "$d/empty.hst"; then
		assert_json baseline-no-freeres "$COMPLETE
eq('events', J[0]['total_events'], 0)
" "$d/empty.hst.json"
	fi
}

# ---- exact counts ------------------------------------------------------------

# counts.c, per thread t (4 threads): malloc 100 + t, calloc 37, realloc 23
# (realloc(NULL, n) among them), reallocarray 19 (reallocarray(NULL, ...)
# among them), posix_memalign 13, aligned_alloc 11, memalign 7, valloc 5,
# pvalloc 3, malloc_usable_size 29 (2 of NULL), free 178 + t (3 free(NULL)),
# 425 + 2t events in all; leaks 1576 + 16t and 1592 + 16t bytes.
# On top of that, glibc's pthread_create makes a calloc per new thread for
# its DTV (elf/dl-tls.c), freed at exit (__libc_freeres), and a thread that
# ends, and its join, make free(NULL) calls (one per DTV slot the thread
# does not use, elf/dl-tls.c _dl_deallocate_tls, and a few more): that
# overhead is measured by `counts idle` (4 threads that do nothing), is
# printed, and must be the same for each thread.  Expected, per function:
#   counts - empty = what counts.c calls + (counts idle - empty)
COUNTS_C_WANT='{"malloc": 4 * 100 + 6, "calloc": 4 * 37, "realloc": 4 * 23,
        "reallocarray": 4 * 19, "posix_memalign": 4 * 13, "aligned_alloc": 4 * 11,
        "memalign": 4 * 7, "valloc": 4 * 5, "pvalloc": 4 * 3,
        "malloc_usable_size": 4 * 29, "free": 4 * 178 + 6}'
COUNTS_C_THREAD='"counts-w%d", 425'
COUNTS_C_LEAKED='8, sum(1576 + 16 * t + 1592 + 16 * t for t in range(4))'
# counts_cxx.cc, per thread t: new 56 + t, new[] 43, delete 57 + t,
# delete[] 44 (2 and 1 of a null pointer; 200 + 2t events); one 100-byte
# block leaked per thread; no
# malloc/free at all (the shim's operator new is not a malloc call).  Its
# baseline is the empty C++ program.
COUNTS_CXX_WANT='{"new": 4 * 56 + 6, "new[]": 4 * 43, "delete": 4 * 57 + 6, "delete[]": 4 * 44}'
COUNTS_CXX_THREAD='"cxx-w%d", 200'
COUNTS_CXX_LEAKED='4, 400'

# check_counts NAME PROG BASE WANT THREAD LEAKED: run PROG and PROG idle,
# compare with the empty program's trace BASE.
check_counts() {
	local name=$1 prog=$2 base=$3 want=$4 thread=$5 leaked=$6 d=$T/$1 m
	mkdir -p "$d"
	for m in work idle; do
		run "$d/$m.hst" "$PROGS/$prog" "$m"
		if [ "$rc" -ne 0 ]; then
			fail "$name" "$prog $m exited $rc: $(head -c 300 "$d/$m.hst.stderr")"
			return
		fi
		if [ -s "$d/$m.hst.stdout" ]; then
			fail "$name" "$prog $m printed something: $(head -c 200 "$d/$m.hst.stdout")"
			return
		fi
		need_info "$name" "$d/$m.hst" || return
	done
	[ -f "$base" ] || { fail "$name" "no baseline"; return; }
	echo "     $name: 4 idle threads cost $("$PY" -c "$CHECK_PY" "$EVENT_NAMES
idle, base = J
print({k: delta(idle, base, k) for k in NAMES if delta(idle, base, k)})" "$d/idle.hst.json" "$base")"
	assert_json "$name" "$COMPLETE$EVENT_NAMES
j, idle, base = J
want = dict.fromkeys(NAMES, 0)
want.update($want)
over = {k: delta(idle, base, k) for k in NAMES}
check('4 idle threads cost %r: more than a DTV (calloc and free) and the same free(NULL) calls each' % over,
      all(not v for k, v in over.items() if k not in ('calloc', 'free')) and 0 <= over['calloc'] <= 4
      and over['free'] >= over['calloc'] and (over['free'] - over['calloc']) % 4 == 0)
for k in NAMES:
    eq('events[%s] - baseline' % k, delta(j, base, k), want[k] + over[k])
eq('total_events - baseline', j['total_events'] - base['total_events'],
   sum(want.values()) + sum(over.values()))
eq('allocator', j['allocator'], '${RUN_ALLOC:-jemalloc}')
byname = {t['name']: t['events'] for t in j['thread_list']}
tname, tevents = $thread
for t in range(4):
    eq('events of thread ' + tname % t, byname.get(tname % t), tevents + 2 * t)
# (an idle thread can be listed too: libstdc++'s end of a thread calls
# free(NULL) on it, a recorded call)
eq('threads (main and 4 workers)', j['threads'], 5)
blocks, nbytes = $leaked
eq('live - idle run', {k: j['live'][k] - idle['live'][k] for k in ('blocks', 'bytes')},
   {'blocks': blocks, 'bytes': nbytes})
" "$d/work.hst.json" "$d/idle.hst.json" "$base"
}

test_counts() {
	RUN_ALLOC=$1 check_counts "counts-$1" counts "$T/base-$1/empty.hst.json" \
		"$COUNTS_C_WANT" "$COUNTS_C_THREAD" "$COUNTS_C_LEAKED"
}

test_counts_cxx() {
	check_counts counts-cxx counts_cxx "$T/base-jemalloc-cxx/empty.hst.json" \
		"$COUNTS_CXX_WANT" "$COUNTS_CXX_THREAD" "$COUNTS_CXX_LEAKED"
}

# THREAD_NULL_FREES: the free(NULL) calls a C test program's thread makes
# when it ends and is joined (the same for every one: counts idle shows it),
# as python code reading the counts-jemalloc run.
THREAD_NULL_FREES='(lambda i, b: ((i["events"]["free"] - b["events"]["free"]) - (i["events"]["calloc"] - b["events"]["calloc"])) // 4)(json.load(open("'$T'/counts-jemalloc/idle.hst.json")), json.load(open("'$T'/base-jemalloc/empty.hst.json")))'

# ---- exit status pass-through -----------------------------------------------

test_status() {
	local d=$T/status
	mkdir -p "$d"

	run "$d/exit3.hst" "$PROGS/status" exit 3
	if [ "$rc" -ne 3 ]; then
		fail status-exit-3 "heapsnap run returned $rc, want 3"
	elif [ "$(cat "$d/exit3.hst.stdout")" != "status: exit 3" ]; then
		fail status-exit-3 "stdout: $(head -c 200 "$d/exit3.hst.stdout")"
	elif need_info status-exit-3 "$d/exit3.hst"; then
		assert_json status-exit-3 "$COMPLETE
j, base = J
eq('end', j.get('end'), {'reason': 'exit', 'status': 3})
eq('malloc - baseline (10 + the stdout buffer)', delta(j, base, 'malloc'), 11)
" "$d/exit3.hst.json" "$T/base-jemalloc/empty.hst.json"
	fi

	# The program raises SIGTERM itself.
	run "$d/raise.hst" "$PROGS/status" raise 15
	if [ "$rc" -ne 143 ]; then
		fail status-raise-sigterm "heapsnap run returned $rc, want 143 (SIGTERM)"
	elif need_info status-raise-sigterm "$d/raise.hst"; then
		assert_json status-raise-sigterm "
j, base = J
check('not truncated after death by SIGTERM', j['truncated'])
eq('malloc - baseline', delta(j, base, 'malloc'), 11)
" "$d/raise.hst.json" "$T/base-jemalloc/empty.hst.json"
	fi

	# SIGTERM sent to `heapsnap run`, which forwards it to the program.
	local pid i stuck=""
	{
		"$HS" run -q -o "$d/fwd.hst" -- "$PROGS/status" wait "$d/ready" >"$d/fwd.stdout" 2>&1 &
		pid=$!
		for i in $(seq 200); do
			[ -e "$d/ready" ] && break
			sleep 0.05
		done
		kill -TERM "$pid"
		for i in $(seq 200); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		if kill -0 "$pid" 2>/dev/null; then
			stuck=$(ps -o pid=,stat=,wchan:24=,args= -p "$pid" --ppid "$pid" | tr -s ' \n' ' ;')
			# shellcheck disable=SC2046 # one pid per word
			kill -KILL $(pgrep -P "$pid") "$pid"
		fi
		wait "$pid"
		rc=$?
	} 2>/dev/null
	if [ ! -e "$d/ready" ]; then
		fail status-forwarded-sigterm "the program never started"
	elif [ -n "$stuck" ]; then
		fail status-forwarded-sigterm "still running 10 s after SIGTERM: $stuck"
	elif [ "$rc" -ne 143 ]; then
		fail status-forwarded-sigterm "heapsnap run returned $rc, want 143 (SIGTERM)"
	elif need_info status-forwarded-sigterm "$d/fwd.hst"; then
		assert_json status-forwarded-sigterm "
j, base = J
check('not truncated after death by SIGTERM', j['truncated'])
eq('malloc - baseline', delta(j, base, 'malloc'), 11)
" "$d/fwd.hst.json" "$T/base-jemalloc/empty.hst.json"
	fi
}

# ---- real programs, unchanged ------------------------------------------------

# same_run NAME DIR -- CMD...: run CMD untraced and traced (trace DIR/trace.hst
# and whatever children write beside it); stdout and status must match, and
# every trace must read back complete.  Extra python checks in EXTRA_CHECK
# run over the traces' JSON.
same_run() {
	local name=$1 d=$2
	shift 3
	mkdir -p "$d/traces"
	{ timeout -k 5 60 "$@" >"$d/plain.stdout" 2>"$d/plain.stderr"; } 2>/dev/null
	local prc=$?
	run "$d/traces/trace.hst" "$@"
	mv "$d/traces/trace.hst.stdout" "$d/traced.stdout"
	mv "$d/traces/trace.hst.stderr" "$d/traced.stderr"
	if [ "$rc" -ne "$prc" ]; then
		fail "$name" "status $rc traced, $prc untraced ($(head -c 200 "$d/traced.stderr"))"
		return
	fi
	if ! cmp -s "$d/plain.stdout" "$d/traced.stdout"; then
		fail "$name" "stdout differs: $(diff "$d/plain.stdout" "$d/traced.stdout" | head -n 4 | tr '\n' ' ')"
		return
	fi
	check_traces "$name" "$d/traces"
}

# check_traces NAME DIR: every trace in DIR reads back complete; no ring file
# is left; EXTRA_CHECK (python) holds over them.
check_traces() {
	local name=$1 dir=$2 f jsons=()
	for f in "$dir"/*; do
		case $f in
		*.json | *.ierr) continue ;;
		*.rings)
			fail "$name" "ring file left after a clean exit: $f"
			return
			;;
		esac
		need_info "$name" "$f" || return
		jsons+=("$f.json")
	done
	if [ ${#jsons[@]} -eq 0 ]; then
		fail "$name" "no trace written"
		return
	fi
	assert_json "$name" "$COMPLETE${EXTRA_CHECK:-}" "${jsons[@]}"
}

test_python() {
	local d=$T/python
	if [ ! -x /usr/bin/python3 ]; then
		skip python3 "/usr/bin/python3 is not installed"
		return
	fi
	mkdir -p "$d"
	cat >"$d/script.py" <<'EOF'
import collections, hashlib, json, re
d = {str(i): [i, i * i, "x" * (i % 50)] for i in range(20000)}
c = collections.Counter(len(v[2]) for v in d.values())
s = json.dumps(d, sort_keys=True)
words = re.findall(r"[a-z]+", "the quick brown fox jumps over the lazy dog " * 2000)
print(len(s), hashlib.sha256(s.encode()).hexdigest())
print(sorted(c.items())[:3], collections.Counter(words).most_common(2))
EOF
	EXTRA_CHECK="
eq('traces', len(J), 1)
check('python3 with PYTHONMALLOC=malloc made only %d events' % J[0]['total_events'], J[0]['total_events'] > 10000)
" PYTHONMALLOC=malloc same_run python3 "$d" -- /usr/bin/python3 "$d/script.py"
}

test_sqlite() {
	local d=$T/sqlite sq
	sq=$(command -v sqlite3) || { skip sqlite3 "sqlite3 is not installed"; return; }
	mkdir -p "$d"
	EXTRA_CHECK="
eq('traces', len(J), 1)
check('sqlite3 made only %d events' % J[0]['total_events'], J[0]['total_events'] > 1000)
" same_run sqlite3 "$d" -- "$sq" :memory: "
create table t(a integer primary key, b text, c blob);
insert into t(b, c) select 'row-' || value, zeroblob(value % 300) from generate_series(1, 5000);
create index tb on t(b);
select count(*), sum(a), max(b), sum(length(c)) from t;
select b from t where b like 'row-49%' order by b limit 3;
delete from t where a % 3 = 0;
select count(*), total(length(c)) from t;"
}

# git init/add/commit/log in a fresh repository, each command traced into its
# own file (git commit also forks and execs `git maintenance run --auto`,
# whose images write FILE.<pid> and FILE.<pid>.1).
git_session() {
	local repo=$1 trace=$2
	mkdir -p "$repo" && cd "$repo" || return 99
	step() {
		local n=$1
		shift
		if [ -n "$trace" ]; then
			timeout -k 5 60 "$HS" run -q -o "$trace/$n.hst" -- "$@"
		else
			timeout -k 5 60 "$@"
		fi || return
	}
	step init git -c init.defaultBranch=main init -q . &&
		printf 'hello\n' >a.txt && printf 'world\n' >b.txt && mkdir sub && seq 1 500 >sub/c.txt &&
		step add git add a.txt b.txt sub &&
		step commit git -c user.name=Tester -c user.email=t@example.org commit -q -m first &&
		seq 1 3 500 >sub/c.txt &&
		step commit2 git -c user.name=Tester -c user.email=t@example.org commit -q -a -m second &&
		step log git --no-pager log --stat &&
		step diff git --no-pager diff HEAD~1 --stat &&
		step revparse git rev-parse HEAD
	local r=$?
	cd "$T" || return 99
	return $r
}

test_git() {
	local d=$T/git
	command -v git >/dev/null || { skip git "git is not installed"; return; }
	mkdir -p "$d/home" "$d/traces"
	(
		export GIT_CONFIG_NOSYSTEM=1 HOME=$d/home XDG_CONFIG_HOME=$d/home/.config LC_ALL=C GIT_PAGER=cat \
			GIT_AUTHOR_DATE='2020-01-01T00:00:00Z' GIT_COMMITTER_DATE='2020-01-01T00:00:00Z'
		git_session "$d/plain" "" >"$d/plain.stdout" 2>"$d/plain.stderr"
		echo $? >"$d/plain.rc"
		git_session "$d/traced" "$d/traces" >"$d/traced.stdout" 2>"$d/traced.stderr"
		echo $? >"$d/traced.rc"
	)
	if [ "$(cat "$d/plain.rc")" != 0 ]; then
		fail git "the untraced git session failed: $(head -c 300 "$d/plain.stderr")"
	elif [ "$(cat "$d/traced.rc")" != 0 ]; then
		fail git "the traced git session failed with $(cat "$d/traced.rc"): $(head -c 300 "$d/traced.stderr")"
	elif ! cmp -s "$d/plain.stdout" "$d/traced.stdout"; then
		fail git "stdout differs: $(diff "$d/plain.stdout" "$d/traced.stdout" | head -n 4 | tr '\n' ' ')"
	else
		EXTRA_CHECK="
check('only %d traces for 7 git commands' % len(J), len(J) >= 7)
" check_traces git "$d/traces"
	fi
}

test_maps() {
	EXTRA_CHECK="
j = J[0]
eq('traces', len(J), 1)
check('only %d operator new calls' % ev(j, 'new'), ev(j, 'new') > 50000)
eq('delete vs new (every node and string freed)', ev(j, 'delete'), ev(j, 'new'))
eq('delete[] vs new[]', ev(j, 'delete[]'), ev(j, 'new[]'))
" same_run maps "$T/maps" -- "$PROGS/maps"
}

# ---- fork and exec -----------------------------------------------------------

test_fork_exec() {
	local d=$T/fork f
	mkdir -p "$d"
	run "$d/fe.hst" "$PROGS/fork_exec"
	mv "$d/fe.hst.stdout" "$d/stdout"
	mv "$d/fe.hst.stderr" "$d/stderr"
	if [ "$rc" -ne 0 ]; then
		fail fork-exec "exited $rc: $(head -c 300 "$d/stderr")"
		return
	fi
	local parent c1 c2 execpid
	read -r parent c1 c2 < <(sed -n 's/^parent=\([0-9]*\) child1=\([0-9]*\) child2=\([0-9]*\)$/\1 \2 \3/p' "$d/stdout")
	execpid=$(sed -n 's/^exec pid=\([0-9]*\)$/\1/p' "$d/stdout")
	if [ -z "${parent:-}" ] || [ -z "$execpid" ]; then
		fail fork-exec "unexpected output: $(head -c 200 "$d/stdout")"
		return
	fi
	local want got
	want=$(printf '%s\n' fe.hst "fe.hst.$c1" "fe.hst.$c2" "fe.hst.$parent" | sort | tr '\n' ' ')
	got=$(cd "$d" && find . -maxdepth 1 -name 'fe.hst*' ! -name '*.json' ! -name '*.ierr' | sed 's|^\./||' | sort | tr '\n' ' ')
	if [ "$want" != "$got" ]; then
		fail fork-exec-files "traces: got [$got], want [$want]"
		return
	fi
	ok fork-exec-files
	for f in fe.hst "fe.hst.$c1" "fe.hst.$c2" "fe.hst.$parent"; do
		need_info fork-exec "$d/$f" || return
	done
	assert_json fork-exec "$COMPLETE
base, pre, child1, child2, post = J
eq('exec printed pid', $execpid, $parent)
# FILE: the parent before exec; none of its children's events
eq('FILE pid', pre['pid'], $parent)
eq('FILE end', pre.get('end'), {'reason': 'exec', 'status': 0})
eq('FILE valloc', ev(pre, 'valloc'), 5)
eq('FILE calloc (child 2 only)', ev(pre, 'calloc'), ev(base, 'calloc'))
eq('FILE memalign (the exec image only)', ev(pre, 'memalign'), 0)
# FILE.C1: the first child only, from the fork on
eq('child1 pid', child1['pid'], $c1)
eq('child1 ppid', child1['ppid'], $parent)
eq('child1 end', child1.get('end'), {'reason': 'exit', 'status': 0})
eq('child1 malloc', ev(child1, 'malloc'), 8)
# (plus what glibc frees at exit, as in the empty program)
eq('child1 free', ev(child1, 'free'), 3 + ev(base, 'free'))
eq('child1 total', child1['total_events'], 11 + ev(base, 'free'))
# the child starts with the blocks it inherited: the parent's 5 valloc
# blocks of 100 bytes, live at the fork (implicit allocations, not counted
# as calls)
eq('child1 live (malloc(0) is a block of 0 bytes)', child1['live'], {'blocks': 5 + 5, 'bytes': 1003 + 1004 + 1005 + 1006 + 5 * 100})
eq('child1 peak bytes', child1['peak']['bytes'], sum(range(1000, 1007)) + 5 * 100)
# FILE.C2: the second child, ended by _exit
eq('child2 pid', child2['pid'], $c2)
eq('child2 end', child2.get('end'), {'reason': '_exit', 'status': 0})
eq('child2 calloc', ev(child2, 'calloc'), 11)
eq('child2 total', child2['total_events'], 11)
# FILE.P: the image exec started, same pid
eq('exec image pid', post['pid'], $parent)
check('exec image cmdline %r does not end with exec' % post['cmdline'], post['cmdline'].endswith(' exec'))
eq('exec image memalign', ev(post, 'memalign'), 17)
eq('exec image valloc', ev(post, 'valloc'), 0)
eq('exec image end', post.get('end', {}).get('reason'), 'exit')
" "$T/base-jemalloc/empty.hst.json" "$d/fe.hst.json" "$d/fe.hst.$c1.json" "$d/fe.hst.$c2.json" "$d/fe.hst.$parent.json"
}

# ---- threads -----------------------------------------------------------------

test_threads() {
	local d=$T/threads
	mkdir -p "$d"
	run "$d/te.hst" "$PROGS/threads_exit"
	if [ "$rc" -ne 0 ]; then
		fail threads-exit "exited $rc: $(head -c 300 "$d/te.hst.stderr")"
		return
	fi
	need_info threads-exit "$d/te.hst" || return
	assert_json threads-exit "$COMPLETE
j, base = J
eq('threads', j['threads'], 201)
eq('thread_list entries', len(j['thread_list']), 201)
eq('distinct thread indexes', len({t['index'] for t in j['thread_list']}), 201)
workers = {t['name']: t['events'] for t in j['thread_list'] if t['name'].startswith('te-')}
eq('named worker threads', sorted(workers), sorted('te-%d' % i for i in range(200)))
bad = {n: e for n, e in workers.items() if e != 6}
check('workers without exactly 6 events: %r' % dict(list(bad.items())[:5]), not bad)
eq('malloc - baseline', delta(j, base, 'malloc'), 600)
# frees: 600 by the workers, the free(NULL) calls of ending and joining
# each of the 200 threads, plus glibc freeing DTVs of stacks it drops (each
# DTV was a calloc of the main thread)
frees, dtvs, nulls = delta(j, base, 'free'), delta(j, base, 'calloc'), 200 * $THREAD_NULL_FREES
check('free - baseline = %d, want 600 + %d free(NULL) + at most %d DTVs' % (frees, nulls, dtvs),
      600 + nulls <= frees <= 600 + nulls + dtvs)
" "$d/te.hst.json" "$T/base-jemalloc/empty.hst.json"
}

# ---- blocks freed by another thread --------------------------------------------

# handoff.c: two threads allocate 600,000 blocks in all and each frees
# the other's; 3 blocks of 100 bytes stay (two runs, one in the second
# pass).  flush_ms=200 lets each collector cycle find more records than
# its budget, so that cycles cut the rings: a free taken in a cycle
# before the allocation of its block would be an unknown free and leave
# that block live for good.  Exact counts: live at exit 3 blocks, 300
# bytes; every free but the empty program's and the two threads'
# free(NULL)s names a block.
test_handoff() {
	local d=$T/handoff i
	mkdir -p "$d"
	for i in $(seq 1 "$RACE_RUNS"); do
		HEAPSNAP_OPTIONS=flush_ms=200 run "$d/h$i.hst" "$PROGS/handoff" 300000
		if [ "$rc" -ne 0 ]; then
			fail handoff "exited $rc: $(head -c 300 "$d/h$i.hst.stderr")"
			return
		fi
		need_info handoff "$d/h$i.hst" || return
	done
	assert_json handoff "$COMPLETE
base = J[-1]
for j in J[:-1]:
    eq('%s: malloc - baseline' % j['trace'], delta(j, base, 'malloc'), 600004)  # and stdout's buffer
    eq('%s: live blocks - baseline' % j['trace'], j['live']['blocks'] - base['live']['blocks'], 3)
    eq('%s: live bytes - baseline' % j['trace'], j['live']['bytes'] - base['live']['bytes'], 300)
    eq('%s: unknown frees - baseline' % j['trace'], j['unknown_frees'] - base['unknown_frees'], 2 * $THREAD_NULL_FREES)
" "$d"/h*.hst.json "$T/base-jemalloc/empty.hst.json"
	# Once more, 2,400,000 blocks: over a second and a half, so that the
	# collector re-fits the TSC's line (clock.c: a second after the start,
	# to switch at two) while the threads hand blocks over.
	[ -n "${HEAPSNAP_TEST_SECOND_PASS:-}" ] && return
	HEAPSNAP_OPTIONS=flush_ms=200 run "$d/long.hst" "$PROGS/handoff" 1200000
	if [ "$rc" -ne 0 ]; then
		fail handoff-long "exited $rc: $(head -c 300 "$d/long.hst.stderr")"
		return
	fi
	need_info handoff-long "$d/long.hst" || return
	assert_json handoff-long "$COMPLETE
j, base = J
eq('malloc - baseline', delta(j, base, 'malloc'), 2400004)
eq('live blocks - baseline', j['live']['blocks'] - base['live']['blocks'], 3)
eq('unknown frees - baseline', j['unknown_frees'] - base['unknown_frees'], 2 * $THREAD_NULL_FREES)
" "$d/long.hst.json" "$T/base-jemalloc/empty.hst.json"
}

# ---- scans while a thread loads libraries ---------------------------------------

# dlscan.c: 300 leak checks (each a scan with the other threads stopped;
# 100 in the second pass) while a thread loads and unloads a library in a
# loop.  A collector that read the loader's module list with the threads
# stopped waited for good on the lock a stopped dlopen holds: the run hung
# (3 of 3 runs).
test_dlscan() {
	local d=$T/dlscan n=$((RACE_RUNS == 1 ? 100 : 300))
	mkdir -p "$d"
	RUN_TIMEOUT=30 run "$d/ds.hst" "$PROGS/dlscan" "$PROGS/libstacks_a.so" "$n"
	if [ "$rc" -ne 0 ]; then
		fail dlscan "exited $rc (124/137: hung): $(head -c 300 "$d/ds.hst.stderr")"
		return
	fi
	if ! grep -q "^$n scans, [1-9][0-9]* loads\$" "$d/ds.hst.stdout"; then
		fail dlscan "want $n scans and some loads: $(head -c 200 "$d/ds.hst.stdout")"
		return
	fi
	need_info dlscan "$d/ds.hst" || return
	assert_json dlscan "$COMPLETE
j = J[0]
eq('scans ($n leak checks and the exit scan)', j['scan']['count'], $n + 1)
" "$d/ds.hst.json"
}

# ---- no allocation inside a hook -----------------------------------------------

# nomalloc.c interposes its own malloc family in the program and aborts
# (exit 134) when one of its calls comes in while a hook of the shim is in
# progress on the same thread.  Both allocators; the trace must hold the
# calls it made, so the hooks did run.
test_nomalloc() {
	local d=$T/nomalloc a
	mkdir -p "$d"
	for a in jemalloc system; do
		RUN_ALLOC=$a run "$d/$a.hst" "$PROGS/nomalloc"
		if [ "$rc" -ne 0 ]; then
			fail "nomalloc-$a" "exited $rc: $(head -c 300 "$d/$a.hst.stderr")"
			continue
		fi
		if ! grep -q '^nomalloc: [0-9]* calls through the shim$' "$d/$a.hst.stdout"; then
			fail "nomalloc-$a" "unexpected output: $(head -c 200 "$d/$a.hst.stdout")"
			continue
		fi
		need_info "nomalloc-$a" "$d/$a.hst" || continue
		assert_json "nomalloc-$a" "$COMPLETE
j, base = J
for name in ('posix_memalign', 'aligned_alloc', 'memalign', 'valloc', 'pvalloc', 'malloc_usable_size'):
    eq(name + ' - baseline', delta(j, base, name), 5 * 200)
# 1000 through site() (malloc, calloc or realloc(NULL)), 6 growing reallocs
# each of the 1000 rounds
made = sum(delta(j, base, n) for n in ('malloc', 'calloc', 'realloc'))
check('malloc + calloc + realloc - baseline = %d, want >= 7000' % made, made >= 7000)
check('threads: %d, want >= 5' % j['threads'], j['threads'] >= 5)
" "$d/$a.hst.json" "$T/base-$a/empty.hst.json"
	done
}

# ---- the ring file is not a root ---------------------------------------------------

# With HEAPSNAP_OPTIONS=output= a relative path (LD_PRELOAD by hand, not
# `heapsnap run`, which makes it absolute), the exit scan must still skip
# the ring file, which /proc/self/maps names by its absolute path: it reads
# about as many bytes as with an absolute path, not the rings' megabytes
# (5 threads' rings of 65536 records are 7.5 MiB).
test_ring_not_root() {
	local d=$T/ringroot shim=${HEAPSNAP_LIB:-$ROOT/build/lib/libheapsnap.so}
	mkdir -p "$d"
	(cd "$d" && HEAPSNAP_OPTIONS=output=rel.hst LD_PRELOAD=$shim "$PROGS/counts" >/dev/null 2>"$d/rel.err")
	(cd "$d" && HEAPSNAP_OPTIONS=output=$d/abs.hst LD_PRELOAD=$shim "$PROGS/counts" >/dev/null 2>"$d/abs.err")
	need_info ring-not-root "$d/rel.hst" || return
	need_info ring-not-root "$d/abs.hst" || return
	assert_json ring-not-root "
rel, ab = J
check('relative output: the scan read %d bytes, absolute: %d' % (rel['scan']['bytes'], ab['scan']['bytes']),
      rel['scan']['bytes'] < ab['scan']['bytes'] + 262144)
" "$d/rel.hst.json" "$d/abs.hst.json"
}

# A burst of events still in the ring when the collector stops at exit,
# then __libc_freeres's frees into the same ring (tests/progs/exit_burst.c):
# the exit path makes room instead of dropping them.  Three runs: without
# the room, 13 of 16 runs dropped 156 events.
test_exit_burst() {
	local d=$T/exitburst i
	mkdir -p "$d"
	for i in 1 2 3; do
		HEAPSNAP_OPTIONS=ring_records=1024 run "$d/b$i.hst" "$PROGS/exit_burst" 480
		if [ "$rc" -ne 0 ]; then
			fail exit-burst "run $i exited $rc: $(head -c 300 "$d/b$i.hst.stderr")"
			return
		fi
		need_info exit-burst "$d/b$i.hst" || return
	done
	assert_json exit-burst "$COMPLETE
for j in J:
    check('%s: %d mallocs, the burst has 480' % (j['trace'], j['events']['malloc']), j['events']['malloc'] >= 480)
    eq('%s: end' % j['trace'], j.get('end'), {'reason': 'exit', 'status': 0})
" "$d/b1.hst.json" "$d/b2.hst.json" "$d/b3.hst.json"
}

# A trim whose purge is cut by ring drains (collector.c, trim_between)
# gives back what one purge did, and the events drained between its
# madvise calls are all in the trace.
test_trim_slices() {
	local d=$T/trim
	mkdir -p "$d"
	run "$d/t.hst" "$PROGS/trim_slices"
	if [ "$rc" -ne 0 ]; then
		fail trim-slices "exited $rc: $(cat "$d/t.hst.stdout") $(head -c 300 "$d/t.hst.stderr")"
		return
	fi
	need_info trim-slices "$d/t.hst" || return
	assert_json trim-slices "$COMPLETE
import re
out = open('$d/t.hst.stdout').read()
n = int(re.search(r'(\\d+) worker blocks', out).group(1))
j = J[0]
check('%d mallocs, the program made %d and more' % (j['events']['malloc'], n + 512), j['events']['malloc'] >= n + 512)
eq('end', j.get('end'), {'reason': 'exit', 'status': 0})
" "$d/t.hst.json"
}

# A child forked while the collector trims can still purge (collector.c,
# trim: fork waits for the purge to end), and every process's trace is
# complete.  Without the wait, 21 of 24 children (6 runs) kept their
# freed pages.
test_fork_trim() {
	local d=$T/forktrim f
	mkdir -p "$d"
	run "$d/t.hst" "$PROGS/fork_trim"
	if [ "$rc" -ne 0 ]; then
		fail fork-trim "exited $rc: $(cat "$d/t.hst.stdout") $(head -c 300 "$d/t.hst.stderr")"
		return
	fi
	ok fork-trim
	for f in "$d"/t.hst "$d"/t.hst.[0-9]*; do
		case $f in *.json | *.ierr | *.stdout | *.stderr) continue ;; esac
		need_info fork-trim "$f" || return
		assert_json "fork-trim-$(basename "$f")" "$COMPLETE
eq('end', J[0].get('end'), {'reason': 'exit', 'status': 0})
" "$f.json"
	done
}

# ---- dlopen ------------------------------------------------------------------

test_dlopen() {
	local d=$T/dlopen m
	mkdir -p "$d"
	for m in none close keep late; do
		run "$d/$m.hst" "$PROGS/dlopen" "$m"
		if [ "$rc" -ne 0 ]; then
			fail "dlopen-$m" "exited $rc: $(head -c 300 "$d/$m.hst.stderr")"
			return
		fi
		need_info "dlopen-$m" "$d/$m.hst" || return
	done
	"$PROGS/dlopen" close >"$d/plain.stdout" 2>&1
	if ! cmp -s "$d/plain.stdout" "$d/close.hst.stdout"; then
		fail dlopen "stdout differs from the untraced run: $(head -c 200 "$d/close.hst.stdout")"
		return
	fi
	for m in close keep late; do
		assert_json "dlopen-$m" "$COMPLETE
j, none = J
eq('aligned_alloc (made in the library)', delta(j, none, 'aligned_alloc'), 29)
eq('pvalloc (made in the library)', delta(j, none, 'pvalloc'), 29)
check('modules: the library is among those the stacks name (%d, %d without it)'
      % (j['modules'], none['modules']), j['modules'] > none['modules'])
" "$d/$m.hst.json" "$d/none.hst.json"
		# Modules are written when a stack first names them (late: 300 ms
		# after the load), and after a dlclose too: the library's frames
		# are symbolized.  Each pvalloc'd page is freed before the next
		# allocation: temporary.
		"$HS" top "$d/$m.hst" --temporary --by function --limit 0 >"$d/$m.fn" 2>&1
		"$HS" top "$d/$m.hst" --temporary --by module --limit 0 >"$d/$m.mod" 2>&1
		if grep -q '^helper_work: size=118784 B, count=29,' "$d/$m.fn" &&
			grep -q '/libdl_helper\.so: size=118784 B, count=29,' "$d/$m.mod"; then
			ok "dlopen-$m-symbolized"
		else
			fail "dlopen-$m-symbolized" "no helper_work or libdl_helper.so with 29 pages: $(head -c 300 "$d/$m.fn") $(head -c 300 "$d/$m.mod")"
		fi
	done
}

# ---- stack capture, checked against the full unwind --------------------------

# verify_run NAME DIR -- CMD...: run CMD traced into DIR/trace.hst with
# stack_verify=1, which compares every captured stack with libunwind's full
# unwind and prints one report per process image on stderr.  Every report
# must say 0 mismatches, and the stacks checked must be at least what the
# program says it allocated ("allocations=N" lines on stdout, summed), or
# MIN_CHECKED.
verify_run() {
	local name=$1 d=$2 sums want
	shift 3
	mkdir -p "$d"
	HEAPSNAP_OPTIONS=stack_verify=1 run "$d/trace.hst" "$@"
	if [ "$rc" -ne 0 ]; then
		fail "$name" "exited $rc: $(head -c 300 "$d/trace.hst.stderr")"
		return 1
	fi
	sums=$(awk '/^heapsnap: stack_verify: [0-9]+ stacks checked, [0-9]+ mismatches/ { n++; c += $3; m += $6 }
		END { printf "%d %d %d", n, c, m }' "$d/trace.hst.stderr")
	set -- $sums
	want=$(sed -n 's/.*allocations=\([0-9]*\).*/\1/p' "$d/trace.hst.stdout" | awk '{s += $1} END {print s + 0}')
	[ "$want" -gt 0 ] || want=${MIN_CHECKED:-1000}
	if [ "$1" -eq 0 ]; then
		fail "$name" "no stack_verify report: $(head -c 300 "$d/trace.hst.stderr")"
	elif [ "$3" -ne 0 ]; then
		fail "$name" "$3 of $2 stacks differ from the full unwind: $(grep -m 3 mismatch "$d/trace.hst.stderr" | tr '\n' ' ')"
	elif [ "$2" -lt "$want" ]; then
		fail "$name" "only $2 stacks checked, the program made $want allocations"
	else
		echo "     $name: $2 stacks checked in $1 process image(s), 0 mismatches"
		ok "$name"
		return 0
	fi
	return 1
}

test_stack_verify() {
	local d=$T/verify m
	for m in longjmp coro signal threads fork exec dlswap deep unmapped tailcall; do
		verify_run "stack-verify-$m" "$d/$m" -- "$PROGS/stacks" "$m" || continue
		if [ "$m" = dlswap ] && ! grep -q '^same_base=1$' "$d/$m/trace.hst.stdout"; then
			fail stack-verify-dlswap-same-address "libstacks_b.so was not loaded where libstacks_a.so had been: $(head -c 100 "$d/$m/trace.hst.stdout")"
		elif [ "$m" = dlswap ]; then
			# Modules written lazily, one library dlclosed and another
			# loaded at its address (the same return addresses): each
			# malloc is read in the library mapped when it was made.
			# libstacks_a.so's 500 + 500 (sizes 16 + i % 32: 15,630 B
			# each 500), libstacks_b.so's 500 between them, and go's
			# 1,500 whichever library: both are the same code.
			"$HS" top "$d/$m/trace.hst" --temporary --by function --limit 0 >"$d/$m/fn" 2>&1
			"$HS" top "$d/$m/trace.hst" --temporary --by module --limit 0 >"$d/$m/mod" 2>&1
			if grep -q '^go: size=46890 B, count=1500,' "$d/$m/fn" &&
				grep -q '/libstacks_a\.so: size=31260 B, count=1000,' "$d/$m/mod" &&
				grep -q '/libstacks_b\.so: size=15630 B, count=500,' "$d/$m/mod"; then
				ok stack-verify-dlswap-symbolized
			else
				fail stack-verify-dlswap-symbolized "$(head -c 300 "$d/$m/fn") $(head -c 400 "$d/$m/mod")"
			fi
		fi
	done
	# the thread's trace cache: random deep paths, twelve words at one
	# position, three layouts one after the other; most stacks must come
	# from the cache (or this test checks the cache's stacks no more)
	if verify_run stack-verify-paths "$d/paths" -- "$PROGS/stacks" paths; then
		local cached
		cached=$(sed -n 's/^heapsnap: stack_verify: .*captures \([0-9]*\): [0-9]* repeated, \([0-9]*\) cached.*/\1 \2/p' \
			"$d/paths/trace.hst.stderr")
		set -- $cached
		if [ $# -eq 2 ] && [ $(($2 * 2)) -ge "$1" ]; then
			ok stack-verify-paths-cached
		else
			fail stack-verify-paths-cached "want at least half the captures from the trace cache: $(grep -m 1 captures "$d/paths/trace.hst.stderr")"
		fi
	fi
	verify_run stack-verify-cxx-exceptions "$d/cxx" -- "$PROGS/stacks_cxx"
	if [ -x /usr/bin/python3 ]; then
		mkdir -p "$d"
		# generators, coroutines, exceptions and threads too: the shim's
		# reuse of each thread's last Python stack is checked against
		# the general way by the HS_DEBUG=1 build (san-integration)
		cat >"$d/python.py" <<'EOF'
import collections, ctypes, json, re, sys, threading
d = {str(i): [i, i * i, "x" * (i % 50)] for i in range(1000)}
s = json.dumps(d, sort_keys=True)
back = json.loads(s)
words = re.findall(r"[a-z]+", "the quick brown fox jumps over the lazy dog " * 100)
print(len(s), len(back), collections.Counter(words).most_common(1))


def gen(n):
    for i in range(n):
        yield [str(i)] * 3


def deep(k):
    if k == 0:
        return [x for x in gen(40)]
    return deep(k - 1)


def raising(i):
    try:
        raise ValueError("x" * i)
    except ValueError as e:
        return str(e) + "y"


def work():
    return [(deep(k % 7), raising(k)) for k in range(10)]


class Tick:
    def __await__(self):
        yield


async def coro(n):
    out = []
    for i in range(n):
        out.append({"i": str(i)})
        await Tick()
    return out


def run(*coros):
    """Round robin until every coroutine is done."""
    done, todo = [], list(coros)
    while todo:
        for c in list(todo):
            try:
                c.send(None)
            except StopIteration as e:
                done.append(e.value)
                todo.remove(c)
    return done


threads = [threading.Thread(target=work) for _ in range(2)]
for t in threads:
    t.start()
work()
for t in threads:
    t.join()
print(sum(map(len, run(coro(60), coro(80)))))

# A thread Python did not start calls back 20 times (ctypes makes its
# interpreter state for each call and deletes it after) and allocates
# between the calls, with no Python running on it.
got = []
callback = ctypes.CFUNCTYPE(None, ctypes.c_int)(lambda i: got.append([str(i)] * 3))
assert ctypes.CDLL(sys.argv[1]).foreign_calls(callback) == 0 and len(got) == 20
print("foreign", len(got))
EOF
		PYTHONMALLOC=malloc MIN_CHECKED=20000 verify_run stack-verify-python "$d/python" -- /usr/bin/python3 "$d/python.py" \
			"$PROGS/libforeign.so" &&
			{ grep -qx 'foreign 20' "$d/python/trace.hst.stdout" && ok stack-verify-python-foreign ||
				fail stack-verify-python-foreign "no 'foreign 20': $(head -c 300 "$d/python/trace.hst.stdout")"; }
	else
		skip stack-verify-python "/usr/bin/python3 is not installed"
	fi
	if command -v sqlite3 >/dev/null; then
		MIN_CHECKED=2000 verify_run stack-verify-sqlite "$d/sqlite" -- "$(command -v sqlite3)" :memory: "
create table t(a integer primary key, b text);
insert into t(b) select 'row-' || value from generate_series(1, 3000);
create index tb on t(b);
select count(*), max(b) from t where b like 'row-2%';"
	else
		skip stack-verify-sqlite "sqlite3 is not installed"
	fi
	if command -v perl >/dev/null; then
		MIN_CHECKED=5000 verify_run stack-verify-perl "$d/perl" -- "$(command -v perl)" -e '
my %h; for my $i (1 .. 5000) { my $k = "k$i"; $h{$k} = [ split /,/, "a,b,$i" ]; $h{$k}[1] =~ s/b/bb/ }
print scalar(keys %h), " ", join(",", (sort keys %h)[0 .. 2]), "\n";'
	else
		skip stack-verify-perl "perl is not installed"
	fi
	if command -v git >/dev/null; then
		mkdir -p "$d/repo"
		(cd "$d/repo" && git init -q . && git config user.email t@t && git config user.name t &&
			for i in 1 2 3; do echo "$i" >"f$i" && git add "f$i" && git commit -qm "c$i"; done) >/dev/null 2>&1
		MIN_CHECKED=200 verify_run stack-verify-git "$d/git" -- "$(command -v git)" -C "$d/repo" log -p --stat
	else
		skip stack-verify-git "git is not installed"
	fi
}

# ---- signal handler that allocates -------------------------------------------

test_sig_alloc() {
	local d=$T/sig
	mkdir -p "$d"
	RUN_TIMEOUT=30 run "$d/sig.hst" "$PROGS/sig_alloc"
	if [ "$rc" -eq 142 ]; then
		fail sig-alloc "deadlock: the program's 10 s alarm (SIGALRM) killed it"
		return
	elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		fail sig-alloc "deadlock: killed after 30 s"
		return
	elif [ "$rc" -ne 0 ]; then
		fail sig-alloc "exited $rc: $(head -c 300 "$d/sig.hst.stderr")"
		return
	fi
	local iters large sigs failed
	iters=$(sed -n 's/^iterations=//p' "$d/sig.hst.stdout")
	large=$(sed -n 's/^large=//p' "$d/sig.hst.stdout")
	sigs=$(sed -n 's/^signals=//p' "$d/sig.hst.stdout")
	failed=$(sed -n 's/^failed=//p' "$d/sig.hst.stdout")
	if [ -z "$iters" ] || [ -z "$large" ] || [ -z "$sigs" ] || [ -z "$failed" ]; then
		fail sig-alloc "unexpected output: $(head -c 200 "$d/sig.hst.stdout")"
		return
	fi
	need_info sig-alloc "$d/sig.hst" || return
	echo "     sig-alloc: $sigs signals handled during $iters iterations ($failed handler mallocs got NULL)"
	assert_json sig-alloc "
j, base = J
check('truncated', not j['truncated'])
check('no signal was handled', $sigs > 0)
eq('realloc', ev(j, 'realloc'), $iters)
# A signal's 4 events are all recorded or all dropped (a ring write of the
# interrupted call is in progress or not): handler frees = handler mallocs.
# A handler malloc that returned NULL (the nested pool ran out) and its
# free(NULL) are no events.
hm = delta(j, base, 'malloc') - $iters - $large   # handler mallocs recorded
eq('handler events recorded + dropped', 2 * hm + j['dropped_events'], 4 * $sigs - 2 * $failed)
# frees beyond those: glibc's, of the signal thread's DTV (at most), and
# the free(NULL) calls of its end and join
extra = delta(j, base, 'free') - $iters - $large - hm - $THREAD_NULL_FREES
check('%d frees unaccounted for' % extra, 0 <= extra <= delta(j, base, 'calloc'))
" "$d/sig.hst.json" "$T/base-jemalloc/empty.hst.json"
}

# ---- crash -------------------------------------------------------------------

# crash MODE N: N + 1 mallocs, ceil(N / 4) frees, 77 callocs, 33 reallocs.
# The baseline is `crash kill 0` (whatever happens before main, nothing of
# what happens at a normal exit), checked against its own 1 + 77 + 33.
CRASH_CHECK='
j, base = J
check("not truncated", j["truncated"])
eq("malloc - crash 0", delta(j, base, "malloc"), N)
eq("free - crash 0", delta(j, base, "free"), (N + 3) // 4)
eq("calloc - crash 0", delta(j, base, "calloc"), 0)
eq("realloc - crash 0", delta(j, base, "realloc"), 0)
eq("total - crash 0", j["total_events"] - base["total_events"], N + (N + 3) // 4)
eq("dropped", j["dropped_events"], 0)
'
# The live heap at the crash.  When every event of the run is still in the
# ring file, each free is matched to its block: exact.  When some are in
# chunks, a free read back from the ring file can only be matched to a
# block also read back from it (chunks name blocks by allocinfo, not by
# address; README, "Crash safety"), so the live count is an upper bound:
# never below the truth, never above what was allocated.
CRASH_LIVE='
j, base = J
live = j["live"]["blocks"] - base["live"]["blocks"]
truth = N - (N + 3) // 4
if j["recovered_events"] >= N + (N + 3) // 4:
    eq("live blocks - crash 0", live, truth)
else:
    check("live blocks - crash 0 = %d, want between %d and %d" % (live, truth, N), truth <= live <= N)
'

# The baseline, crash kill 0, must be exact itself: a run whose events
# are all in chunks or all still in the ring file.  When the crash splits
# them (one run in 30 or so: the collector wrote the callocs, the reallocs
# of one block are in the ring file), its live count is an upper bound
# like any other (the block the first realloc moved is still counted), one
# too many: every live count below would be one short.  So it runs again,
# up to 10 times, until it is exact.
test_crash() {
	local d=$T/crash mode n sig base=$T/crash/kill-0.hst try
	mkdir -p "$d"
	for try in $(seq 10); do
		rm -f "$base" "$base.rings"
		run "$base" "$PROGS/crash" kill 0
		if [ "$rc" -ne 137 ]; then
			fail crash-baseline "heapsnap run crash kill 0 returned $rc, want 137"
			return
		fi
		need_info crash-baseline "$base" || return
		"$PY" -c 'import json, sys; j = json.load(open(sys.argv[1]))
sys.exit(j["recovered_events"] not in (0, j["total_events"]))' "$base.json" && break
	done
	assert_json crash-baseline "
j, empty = J
check('not truncated', j['truncated'])
eq('malloc, calloc, realloc - empty program', [delta(j, empty, k) for k in ('malloc', 'calloc', 'realloc')], [1, 77, 33])
check('exact: recovered %d of %d events' % (j['recovered_events'], j['total_events']),
      j['recovered_events'] in (0, j['total_events']))
" "$base.json" "$T/base-jemalloc/empty.hst.json"
	for spec in kill:1000:137 segv:1000:139 kill:200000:137; do
		IFS=: read -r mode n sig <<<"$spec"
		local name=crash-$mode-$n f=$d/$mode-$n.hst
		run "$f" "$PROGS/crash" "$mode" "$n"
		if [ "$rc" -ne "$sig" ]; then
			fail "$name" "heapsnap run returned $rc, want $sig"
			continue
		fi
		if [ ! -f "$f.rings" ]; then
			fail "$name" "no ring file $f.rings beside the trace"
			continue
		fi
		need_info "$name" "$f" || continue
		local more=""
		# 250k events do not fit the rings: some must come from chunks
		[ "$n" -gt 100000 ] && more="
check('recovered %d of %d events from the ring file: want some, not all'
      % (j['recovered_events'], j['total_events']),
      0 < j['recovered_events'] < j['total_events'])"
		assert_json "$name" "N = $n$CRASH_CHECK$more" "$f.json" "$base.json"
		assert_json "$name-live" "N = $n$CRASH_LIVE" "$f.json" "$base.json"
	done

	# The process and module records are written at start: a crash soon
	# after must not lose them (without them nothing can be symbolized).
	# Twenty runs, because whether the collector got to write them first is
	# a race.
	local i lost=0 why="" out
	for i in $(seq 20); do
		run "$d/early$i.hst" "$PROGS/crash" kill 1000
		if [ "$rc" -ne 137 ] || ! info "$d/early$i.hst"; then
			lost=$((lost + 1))
			why="run $i: status $rc, $(head -c 200 "$d/early$i.hst.ierr")"
			continue
		fi
		if ! out=$("$PY" -c "$CHECK_PY" "
j = J[0]
check('exe %r' % j['exe'], j['exe'].endswith('/crash'))
check('modules %d' % j['modules'], j['modules'] > 0)
check('cmdline %r' % j['cmdline'], j['cmdline'].endswith('crash kill 1000'))
" "$d/early$i.hst.json"); then
			lost=$((lost + 1))
			why="run $i: $out"
		fi
	done
	if [ "$lost" -eq 0 ]; then
		ok crash-early-process-record
	else
		fail crash-early-process-record "$lost of 20 traces of a crash right after start lack the PROCESS/MODULES records ($why)"
	fi
}

# ---- top, diff, --growth (tracemalloc-style statistics) -----------------------

# snapshots.c allocates known sizes at known lines between snapshots taken
# through the API and a signal: top, diff and --growth report exactly those.
test_stats() {
	local d=$T/stats f
	mkdir -p "$d"
	f=$d/sn.hst
	timeout 60 "$HS" run -q --snapshot-signal USR2 -o "$f" -- "$PROGS/snapshots" >"$d/out" 2>&1
	if [ $? -ne 0 ]; then
		fail stats-run "$(head -c 300 "$d/out")"
		return
	fi
	local grow once temp
	grow=$(grep -n '/\* GROW \*/' "$ROOT/tests/progs/snapshots.c" | cut -d: -f1)
	once=$(grep -n '/\* ONCE \*/' "$ROOT/tests/progs/snapshots.c" | cut -d: -f1)
	temp=$(grep -n '/\* TEMP \*/' "$ROOT/tests/progs/snapshots.c" | cut -d: -f1)
	"$HS" top "$f" --snapshot s2 --format json >"$d/s2.json" &&
		"$HS" top "$f" --snapshot 1 --format json >"$d/s1.json" &&
		"$HS" diff "$f" --from 1 --to s3 --format json >"$d/diff.json" &&
		"$HS" diff "$f" --from s0 --to s2 --by function --format json >"$d/difffn.json" &&
		"$HS" top "$f" --growth --format json >"$d/growth.json" &&
		"$HS" top "$f" --snapshot peak --format json >"$d/peak.json" &&
		"$HS" top "$f" --snapshot s3 --format folded >"$d/folded" &&
		"$HS" top "$f" --snapshot s2 --exclude '*snapshots.c' --format json >"$d/excl.json"
	if [ $? -ne 0 ]; then
		fail stats-commands "a top or diff command failed"
		return
	fi
	assert_json stats-top "
s2, s1 = J[0], J[1]
def line(j, n):
    return [x for x in j['stats'] if x['key'].endswith('snapshots.c:%d' % n)]
eq('s2 label', s2['snapshot']['label'], 's2')
eq('s2 GROW', [(x['size'], x['count']) for x in line(s2, $grow)], [(8000, 8)])
eq('s2 ONCE', [(x['size'], x['count']) for x in line(s2, $once)], [(1500, 3)])
eq('s2 TEMP (freed)', line(s2, $temp), [])
eq('snapshot 1 (the signal) GROW', [(x['size'], x['count']) for x in line(s1, $grow)], [(4000, 4)])
eq('snapshot 1 ONCE', [(x['size'], x['count']) for x in line(s1, $once)], [(1500, 3)])
" "$d/s2.json" "$d/s1.json"
	assert_json stats-diff "
d, fn = J[0], J[1]
def line(j, n):
    return [(x['size'], x['size_diff'], x['count'], x['count_diff']) for x in j['stats'] if x['key'].endswith('snapshots.c:%d' % n)]
eq('GROW 1 -> s3', line(d, $grow), [(12000, 8000, 12, 8)])
eq('ONCE 1 -> s3', line(d, $once), [(0, -1500, 0, -3)])
eq('first line: largest absolute difference', d['stats'][0]['key'].endswith(':$grow'), True)
g = [x for x in fn['stats'] if x['key'] == 'grow']
eq('by function: grow s0 -> s2', [(x['size_diff'], x['count_diff']) for x in g], [(8000, 8)])
" "$d/diff.json" "$d/difffn.json"
	assert_json stats-growth "
g, p = J[0], J[1]
eq('growing sites', [(x['key'].rsplit(':', 1)[1], x['sizes']) for x in g['growth']], [('$grow', [0, 4000, 8000, 12000])])
eq('snapshots considered', len(g['snapshots']), 4)
eq('peak: GROW and ONCE both live', sorted((x['size'], x['count']) for x in p['stats'] if 'snapshots.c' in x['key']), [(1500, 3), (12000, 12)])
" "$d/growth.json" "$d/peak.json"
	assert_json stats-filter "
eq('exclude the program: none of its lines', [x for x in J[0]['stats'] if 'snapshots.c' in x['key']], [])
" "$d/excl.json"
	if grep -qE '^(.*;)?main;grow 12000$' "$d/folded"; then
		ok stats-folded
	else
		fail stats-folded "no 'main;grow 12000' line: $(head -c 300 "$d/folded")"
	fi
	"$HS" top "$f" --snapshot nosuch >/dev/null 2>"$d/err"
	if [ $? -eq 2 ] && [ "$(wc -l <"$d/err")" -eq 1 ]; then
		ok stats-unknown-snapshot
	else
		fail stats-unknown-snapshot "want exit 2 and one line: $(cat "$d/err")"
	fi
}

# A real program nobody here wrote: CPython grows a dict in four steps and
# sends itself the snapshot signal after each.  The site that grew at every
# snapshot is the Python code that grows it (its frames are in the stacks);
# with python_frames=0 they are CPython's object allocators.  The
# differences add up to the change of the live heap between the snapshots.
test_stats_python() {
	local d=$T/stats-py f
	mkdir -p "$d"
	f=$d/py.hst
	cat >"$d/grow.py" <<'PYEOF'
import os, signal
d = {}
for step in range(4):
    for i in range(20000):
        d[(step, i)] = [i, str(i)]
    os.kill(os.getpid(), signal.SIGUSR2)
print(len(d))
PYEOF
	PYTHONMALLOC=malloc timeout 60 "$HS" run -q --snapshot-signal USR2 -o "$f" -- "$PY" "$d/grow.py" >"$d/out" 2>&1
	if [ $? -ne 0 ] || [ "$(cat "$d/out")" != 80000 ]; then
		fail stats-python-run "$(head -c 300 "$d/out")"
		return
	fi
	HEAPSNAP_OPTIONS=python_frames=0 PYTHONMALLOC=malloc timeout 60 "$HS" run -q --snapshot-signal USR2 \
		-o "$d/native.hst" -- "$PY" "$d/grow.py" >/dev/null 2>&1
	"$HS" top "$f" --growth --by function --limit 0 --format json >"$d/g.json" &&
		"$HS" top "$f" --growth --by lineno --limit 0 --format json >"$d/gl.json" &&
		"$HS" top "$d/native.hst" --growth --by function --limit 0 --format json >"$d/gn.json" &&
		"$HS" diff "$f" --from 0 --to 3 --limit 0 --format json >"$d/d.json" &&
		"$HS" top "$f" --snapshot 0 --limit 0 --format json >"$d/t0.json" &&
		"$HS" top "$f" --snapshot 3 --limit 0 --format json >"$d/t3.json"
	if [ $? -ne 0 ]; then
		fail stats-python "a top or diff command failed"
		return
	fi
	assert_json stats-python "
g, gl, gn, d, t0, t3 = J
keys = [x['key'] for x in g['growth']]
eq('growing functions', keys, ['<module>'])
lines = [x['key'] for x in gl['growth']]
check('growing lines %r: grow.py:5, the line that adds to the dict' % lines, lines[:1] == ['$d/grow.py:5'])
keys = [x['key'] for x in gn['growth']]
check('without Python frames, growing sites %r include CPython object allocators' % keys[:6],
      any(k.startswith(('_PyObject_GC_New', 'PyUnicode_New', 'PyList_New', 'PyObject_Malloc')) for k in keys))
eq('snapshots', len(g['snapshots']), 4)
eq('diff total = live bytes at 3 - live bytes at 0', d['total']['size_diff'], t3['total']['size'] - t0['total']['size'])
eq('diff total count', d['total']['count_diff'], t3['total']['count'] - t0['total']['count'])
check('the heap grew by more than 80000 list objects worth', d['total']['size_diff'] > 80000 * 3 // 4 * 56)
" "$d/g.json" "$d/gl.json" "$d/gn.json" "$d/d.json" "$d/t0.json" "$d/t3.json"
}

# Temporary allocations (heaptrack's measure): tests/progs/temporary.c makes
# them on known lines (the markers in its source), under both allocators;
# `top --temporary` counts them by line, `info` in total, and both agree.
test_temporary() {
	local alloc d f src=$ROOT/tests/progs/temporary.c line
	for alloc in jemalloc system; do
		d=$T/temporary-$alloc
		mkdir -p "$d"
		f=$d/t.hst
		RUN_ALLOC=$alloc run "$f" "$PROGS/temporary"
		if [ "$rc" -ne 0 ] || ! need_info "temporary-$alloc" "$f"; then
			[ "$rc" -ne 0 ] && fail "temporary-$alloc" "exit $rc: $(head -c 300 "$f.stderr")"
			continue
		fi
		"$HS" top "$f" --temporary --limit 0 --format json >"$d/top.json" &&
			"$HS" top "$f" --temporary --limit 0 >"$d/top.txt" || {
			fail "temporary-$alloc" "top --temporary failed"
			continue
		}
		line() { grep -n "/\* $1 \*/" "$src" | head -n 1 | cut -d: -f1; }
		assert_json "temporary-$alloc" "
i, t = J
by = {x['key'].rsplit('/', 1)[-1]: x['count'] for x in t['stats']}
def at(l): return by.get('temporary.c:%s' % l, 0)
eq('TEMP: freed at once', at($(line TEMP)), 1000)
eq('DOUBLE: freed after the next allocation', at($(line DOUBLE)), 0)
eq('KEPT', at($(line KEPT)), 0)
eq('GROW: the old block of a realloc', at($(line GROW)), 1)
eq('GROWN: freed after another allocation', at($(line GROWN)), 0)
eq('CROSS: freed by another thread', at($(line CROSS)), 1)
eq('info temporary = top --temporary total', i['temporary'], t['total']['count'])
eq('total = sum of the lines', t['total']['count'], sum(by.values()))
check('temporary flag in the JSON', t.get('temporary') is True)
" "$f.json" "$d/top.json"
		if ! grep -q "^\[ Top .* by temporary allocations" "$d/top.txt"; then
			fail "temporary-$alloc-text" "$(head -n 2 "$d/top.txt")"
		else
			ok "temporary-$alloc-text"
		fi
	done
	"$HS" top "$f" --temporary --snapshot exit >"$d/err" 2>&1
	if [ $? -eq 1 ]; then ok temporary-usage; else fail temporary-usage "--temporary --snapshot: want exit 1"; fi
}

# A snapshot holds exactly what was allocated before it, even while the
# collector is busy with another thread's events (tests/progs/snapshot_order.c);
# and every snapshot asked for is written, however many come between two
# cycles of the collector: "burst" takes its 400 snapshots as fast as it
# can, as a loaded machine that delays the collector makes them come (the
# collector kept 64 a cycle, once, and lost the others).
test_snapshot_order() {
	local d=$T/order f mode name
	mkdir -p "$d"
	for mode in paced burst; do
		name=snapshot-order-$mode
		f=$d/order-$mode.hst
		run "$f" "$PROGS/snapshot_order" "$mode"
		if [ "$rc" -ne 0 ]; then
			fail "$name" "exited $rc: $(head -c 300 "$f.stderr")"
			continue
		fi
		"$HS" top "$f" --growth --limit 5 >"$f.growth" 2>&1
		local verdict
		verdict=$("$PY" -c '
import sys
for line in open(sys.argv[1]):
    if "snapshot_order.c:" in line:
        vals = [int(x) for x in line.split(":")[-1].split()]
        bad = [(i, v) for i, v in enumerate(vals) if v != 1000 * i]
        print("ok" if len(vals) == 400 and not bad else
              "%d snapshots; first wrong (snapshot, KEEP bytes): %s" % (len(vals), bad[:3]))
        break
else:
    print("no KEEP line growing at every snapshot")' "$f.growth")
		if [ "$verdict" = ok ]; then
			ok "$name"
		else
			fail "$name" "$verdict"
		fi
	done
}

# top --growth ranks by a trend that noise does not hide: a leak that
# grows in 7 of 9 intervals (one flat, one dip) and one that starts after
# 4 snapshots of start-up are found (only a site growing at every step
# was, before), an oscillation, a cache that fills and stays full and a
# single late allocation are not; --growth-share sets the share.
test_growth_noisy() {
	local d=$T/growth f
	mkdir -p "$d"
	f=$d/g.hst
	run "$f" "$PROGS/growth_noisy"
	if [ "$rc" -ne 0 ]; then
		fail growth-noisy "exited $rc: $(head -c 300 "$f.stderr")"
		return
	fi
	"$HS" top "$f" --growth --by function >"$d/default.txt" 2>"$d/err"
	if grep -q '^noisy_alloc: size=6500 B (+6500 B, +722 B per snapshot, grew in 7 of 9 intervals): 0 1000 2000 2000 3000 4000 3500 4500 5500 6500$' "$d/default.txt" &&
		grep -q '^late_alloc: ' "$d/default.txt" && ! grep -q '^\(osc\|fill\|once\)_alloc' "$d/default.txt"; then
		ok growth-noisy-text
	else
		fail growth-noisy-text "$(head -c 400 "$d/default.txt")"
	fi
	"$HS" top "$f" --growth --by function --format json >"$d/default.json" 2>"$d/err" &&
		"$HS" top "$f" --growth --by function --format json --growth-share 1 >"$d/all.json" 2>>"$d/err" &&
		"$HS" top "$f" --growth --by function --format json --growth-share=0.3 >"$d/third.json" 2>>"$d/err" ||
		{ fail growth-noisy "heapsnap top --growth failed: $(head -c 300 "$d/err")"; return; }
	assert_json growth-noisy "
d, a, t = J
def rows(j):
    return {g['key']: (g['grew'], g['intervals'], g['growth']) for g in j['growth']}
eq('snapshots', len(d['snapshots']), 10)
eq('default share', d['share'], 0.6)
eq('default: the growing sites (grew, intervals since they began, bytes)', rows(d),
   {'noisy_alloc': (7, 9, 6500), 'late_alloc': (6, 6, 4200), 'steady_alloc': (9, 9, 2700)})
eq('ranked by growth', [g['key'] for g in d['growth']], ['noisy_alloc', 'late_alloc', 'steady_alloc'])
eq('noisy sizes', d['growth'][0]['sizes'], [0, 1000, 2000, 2000, 3000, 4000, 3500, 4500, 5500, 6500])
eq('--growth-share 1: only those that grew at every step once begun', sorted(rows(a)), ['late_alloc', 'steady_alloc'])
eq('--growth-share 0.3: the cache that filled in 3 of 9 intervals too, never the oscillation',
   sorted(rows(t)), ['fill_alloc', 'late_alloc', 'noisy_alloc', 'steady_alloc'])
" "$d/default.json" "$d/all.json" "$d/third.json"
	"$HS" top "$f" --growth-share 0.5 >/dev/null 2>"$d/usage"
	if [ $? -eq 1 ] && [ "$(wc -l <"$d/usage")" -eq 1 ]; then ok growth-share-usage; else fail growth-share-usage "want exit 1, one line"; fi
}

# --snapshot-interval 0.1: a program that lives 1 s gets interval
# snapshots, never two closer than the interval (the collector takes one
# when a cycle finds it due, so a loaded machine makes them late, never
# early), never more than the run's length allows, and, even late, a few.
test_stats_interval() {
	local d=$T/stats-int f
	mkdir -p "$d"
	f=$d/int.hst
	timeout 60 "$HS" run -q --snapshot-interval 0.1 -o "$f" -- /bin/sleep 1 >"$d/out" 2>&1
	if [ $? -ne 0 ] || ! info "$f"; then
		fail stats-interval "$(head -c 300 "$d/out")"
		return
	fi
	assert_json stats-interval "
j = J[0]
snaps = [s for s in j['snapshots'] if s['trigger'] == 'interval']
times = [s['time'] for s in snaps]
# times are kept to the 100 us tick
check('%d interval snapshots at %r in %.3f s: want 3 at least, %d at most'
      % (len(snaps), times, j['duration'], j['duration'] / 0.1 + 1),
      3 <= len(snaps) <= j['duration'] / 0.1 + 1)
check('spaced 0.1 s at least: %r' % times, all(b - a >= 0.1 - 0.0002 for a, b in zip(times, times[1:])))
check('the first at 0.1 s at least: %r' % times, times and times[0] >= 0.1 - 0.0002)
" "$f.json"
}

# ---- heapsnap info on bad input ----------------------------------------------

# bad_input NAME FILE: info must exit 2 with one stderr line naming FILE.
bad_input() {
	local name=$1 f=$2 r
	"$HS" info "$f" >"$T/bad.stdout" 2>"$T/bad.stderr"
	r=$?
	local lines
	lines=$(wc -l <"$T/bad.stderr")
	if [ "$r" -ne 2 ]; then
		fail "$name" "exit $r, want 2 ($(head -c 200 "$T/bad.stderr"))"
	elif [ "$lines" -ne 1 ]; then
		fail "$name" "$lines lines on stderr, want 1: $(head -c 300 "$T/bad.stderr" | tr '\n' '|')"
	elif ! grep -qF -- "$f" "$T/bad.stderr"; then
		fail "$name" "stderr does not name $f: $(cat "$T/bad.stderr")"
	elif [ -s "$T/bad.stdout" ]; then
		fail "$name" "printed a report anyway: $(head -c 100 "$T/bad.stdout")"
	else
		ok "$name"
	fi
}

test_bad_input() {
	local d=$T/bad src=$T/counts-jemalloc/work.hst
	mkdir -p "$d"
	bad_input info-missing-file "$d/missing.hst"
	: >"$d/empty.hst"
	bad_input info-empty-file "$d/empty.hst"
	head -c 8192 /dev/urandom >"$d/random.hst"
	bad_input info-random-bytes "$d/random.hst"
	bad_input info-foreign-file /bin/true
	if [ ! -f "$src" ]; then
		fail info-corrupt "no trace to corrupt (counts failed)"
		return
	fi
	# Cut and flip with the chunk layout of src/trace/format.h: a 64-byte
	# header, then chunks of a 24-byte header (u32 magic, u8 codec, 3 pad,
	# u32 stored, u32 raw, u32 crc, u32 hcrc) and `stored` payload bytes.
	if ! "$PY" - "$src" "$d" <<'EOF'; then
import struct, sys
src, d = sys.argv[1], sys.argv[2]
b = open(src, "rb").read()
off, chunks = 64, []
while off + 24 <= len(b):
    stored = struct.unpack_from("<I", b, off + 8)[0]
    chunks.append((off, stored))
    off += 24 + stored
if off != len(b) or len(chunks) < 2:
    sys.exit("unexpected layout: %d chunks, walk ends at %d of %d" % (len(chunks), off, len(b)))
def put(name, data):
    open(d + "/" + name, "wb").write(data)
put("cut-header.hst", b[:40])
big = max(chunks, key=lambda c: c[1])
flip = bytearray(b)
flip[big[0] + 24 + big[1] // 2] ^= 0x01
put("flip-payload.hst", bytes(flip))
flip = bytearray(b)
flip[chunks[1][0] + 8] ^= 0x40
put("flip-chunk-header.hst", bytes(flip))
last = chunks[-1]
put("cut-last-chunk.hst", b[:last[0] + 24 + last[1] // 2])
put("cut-chunk-header.hst", b[:last[0] + 10])
put("cut-chunk-boundary.hst", b[:chunks[1][0]])
EOF
		fail info-corrupt "cannot build the corrupt traces"
		return
	fi
	bad_input info-cut-in-header "$d/cut-header.hst"
	bad_input info-flipped-payload-byte "$d/flip-payload.hst"
	bad_input info-flipped-chunk-header-byte "$d/flip-chunk-header.hst"

	# Torn tails are what a killed process leaves: exit 0, truncated.
	local c r
	for c in cut-last-chunk cut-chunk-header cut-chunk-boundary; do
		info "$d/$c.hst"
		r=$?
		if [ "$r" -ne 0 ]; then
			fail "info-$c" "exit $r, want 0: $(head -c 200 "$d/$c.hst.ierr")"
			continue
		fi
		assert_json "info-$c" "
j, full = J
check('not reported truncated', j['truncated'])
check('%d events, more than the whole trace' % j['total_events'], j['total_events'] <= full['total_events'])
" "$d/$c.hst.json" "$src.json"
	done
}

test_usage() {
	local args name r
	while IFS='|' read -r name args; do
		# shellcheck disable=SC2086 # word splitting of args is intended
		"$HS" $args >/dev/null 2>"$T/usage.stderr"
		r=$?
		if [ "$r" -ne 1 ]; then
			fail "usage-$name" "heapsnap $args: exit $r, want 1"
		elif [ ! -s "$T/usage.stderr" ]; then
			fail "usage-$name" "heapsnap $args: nothing on stderr"
		else
			ok "usage-$name"
		fi
	done <<EOF
info-unknown-option|info --bogus $T/counts-jemalloc/work.hst
info-no-trace|info
info-no-trace-json|info --format json
info-bad-format|info --format xml $T/counts-jemalloc/work.hst
run-no-program|run
run-unknown-option|run --bogus -- /bin/true
run-bad-allocator|run --allocator tcmalloc -- /bin/true
unknown-command|frobnicate
no-command|
EOF
}

# Where the trace cannot be written, `run` says so in one line and exits 2
# without starting the program (it used to run it untraced, exit 0, with
# only the shim's warning).  The program would leave a marker file.
test_output_location() {
	local d=$T/outloc name where lines
	mkdir -p "$d"
	: >"$d/file"
	while IFS='|' read -r name where; do
		rm -f "$d/ran"
		if [ "$where" = "(cwd /proc)" ]; then
			(cd /proc && "$HS" run -- /bin/sh -c ": >'$d/ran'") >"$d/out" 2>"$d/err"
		else
			"$HS" run -o "$where" -- /bin/sh -c ": >'$d/ran'" >"$d/out" 2>"$d/err"
		fi
		rc=$?
		lines=$(wc -l <"$d/err")
		if [ "$rc" -ne 2 ]; then
			fail "run-output-$name" "exit $rc, want 2 ($(head -c 200 "$d/err"))"
		elif [ -e "$d/ran" ]; then
			fail "run-output-$name" "the program ran"
		elif [ "$lines" -ne 1 ] || ! grep -q '^heapsnap: cannot write the trace ' "$d/err"; then
			fail "run-output-$name" "want one line 'heapsnap: cannot write the trace ...', got: $(head -c 300 "$d/err" | tr '\n' '|')"
		elif [ "$where" != "(cwd /proc)" ] && ! grep -qF -- "$where" "$d/err"; then
			fail "run-output-$name" "the line does not name $where: $(cat "$d/err")"
		else
			ok "run-output-$name"
		fi
	done <<EOF
missing-dir|$d/no/such/dir/x.hst
a-directory|$d
under-a-file|$d/file/x.hst
colon|$d/a:b.hst
cwd-not-writable|(cwd /proc)
EOF
	# and where it can, the program runs and the trace is there
	rm -f "$d/ran"
	"$HS" run -q -o "$d/new.hst" -- /bin/sh -c ": >'$d/ran'" >"$d/out" 2>"$d/err"
	rc=$?
	if [ "$rc" -eq 0 ] && [ -e "$d/ran" ] && [ -s "$d/new.hst" ] && [ ! -s "$d/err" ] && [ -z "$(ls -A "$d" | grep probe)" ]; then
		ok run-output-writable
	else
		fail run-output-writable "exit $rc, ran: $([ -e "$d/ran" ] && echo yes || echo no), files: $(ls -A "$d" | tr '\n' ' '), stderr: $(head -c 200 "$d/err")"
	fi
}

# A malformed HEAPSNAP_OPTIONS: one warning, the program runs, defaults apply.
test_bad_options() {
	local d=$T/options
	mkdir -p "$d"
	HEAPSNAP_OPTIONS='bogus=1' run "$d/o.hst" "$PROGS/empty"
	local lines
	lines=$(wc -l <"$d/o.hst.stderr")
	if [ "$rc" -ne 0 ]; then
		fail bad-options "exit $rc"
	elif [ "$lines" -ne 1 ] || ! grep -q bogus "$d/o.hst.stderr"; then
		fail bad-options "want one warning naming 'bogus', got: $(head -c 300 "$d/o.hst.stderr" | tr '\n' '|')"
	elif need_info bad-options "$d/o.hst"; then
		assert_json bad-options "$COMPLETE" "$d/o.hst.json"
	fi
}

# A forked child's PROCESS record names the options it runs with, its
# parent's from the start, not what the program has since put in
# HEAPSNAP_OPTIONS (a shell's export used to show up in its subshells'
# traces, which never parsed it).
test_fork_options() {
	local d=$T/fork-options f n=0
	mkdir -p "$d"
	HEAPSNAP_OPTIONS=rss_ms=7 run "$d/o.hst" bash -c 'export HEAPSNAP_OPTIONS=changed; (true); true'
	if [ "$rc" -ne 0 ]; then
		fail fork-options "exit $rc: $(head -c 300 "$d/o.hst.stderr")"
		return
	fi
	for f in "$d"/o.hst "$d"/o.hst.[0-9]*; do
		[[ -f $f && $f != *.rings ]] || continue
		n=$((n + 1))
		if "$HS" info "$f" | grep -q '^options: *rss_ms=7:output='; then
			ok "fork-options-$(basename "$f")"
		else
			fail "fork-options-$(basename "$f")" "$("$HS" info "$f" 2>&1 | grep '^options')"
		fi
	done
	[ "$n" -ge 2 ] || fail fork-options "want the shell's trace and its subshell's, found $n"
}

# ---- the program's MALLOC_CONF ---------------------------------------------

# MALLOC_CONF and /etc/malloc.conf are the program's: the shim's jemalloc
# must not read them (backing.c).  Before, with the options below, jemalloc's
# statistics went into the program's stderr, jemalloc started two threads
# of its own (jemalloc_bg_thd) in the program, and an option this build
# does not know, with abort_conf:true, aborted the run (134, no trace).
MALLOC_CONF_PROGRAM='stats_print:true,background_thread:true,abort_conf:true,no_such_option:1'
test_malloc_conf() {
	local d=$T/malloc-conf m
	mkdir -p "$d"
	for m in plain conf; do
		if [ $m = conf ]; then
			MALLOC_CONF=$MALLOC_CONF_PROGRAM run "$d/$m.hst" "$PROGS/counts" work
		else
			run "$d/$m.hst" "$PROGS/counts" work
		fi
		if [ "$rc" -ne 0 ] || [ -s "$d/$m.hst.stderr" ]; then
			fail malloc-conf "counts work ($m) exited $rc: $(head -c 300 "$d/$m.hst.stderr")"
			return
		fi
		need_info malloc-conf "$d/$m.hst" || return
	done
	assert_json malloc-conf "$COMPLETE
conf, plain = J
eq('events with MALLOC_CONF', conf['events'], plain['events'])
eq('live with MALLOC_CONF', conf['live'], plain['live'])
eq('threads with MALLOC_CONF', conf['threads'], plain['threads'])
" "$d/conf.hst.json" "$d/plain.hst.json"
	# The threads the program has, read by itself after freeing enough for
	# jemalloc's decay to have work (a background thread starts with it).
	MALLOC_CONF=$MALLOC_CONF_PROGRAM run "$d/py.hst" "$PY" -c '
import os, time
x = [bytearray(100000) for i in range(300)]
del x
time.sleep(0.2)
print(sorted(open("/proc/self/task/%s/comm" % t).read().strip() for t in os.listdir("/proc/self/task")))'
	if [ "$rc" -ne 0 ] || [ -s "$d/py.hst.stderr" ]; then
		fail malloc-conf-threads "python3 exited $rc: $(head -c 300 "$d/py.hst.stderr")"
	elif [ "$(cat "$d/py.hst.stdout")" != "['heapsnap', 'python3']" ]; then
		fail malloc-conf-threads "want the program's thread and the collector: $(head -c 200 "$d/py.hst.stdout")"
	else
		ok malloc-conf-threads
	fi
}

# ---- main --------------------------------------------------------------------

start=$SECONDS
test_baseline jemalloc
test_baseline system
test_baseline jemalloc empty_cxx
test_baseline_no_freeres
test_counts jemalloc
test_counts system
test_counts_cxx
test_status
test_python
test_sqlite
test_git
test_maps
test_fork_exec
test_threads
test_handoff
test_dlscan
test_nomalloc
test_ring_not_root
test_exit_burst
test_trim_slices
test_fork_trim
test_dlopen
test_stack_verify
test_sig_alloc
test_crash
test_stats
test_stats_python
test_temporary
test_stats_interval
test_snapshot_order
test_growth_noisy
test_bad_input
test_usage
test_output_location
test_bad_options
test_fork_options
test_malloc_conf
echo "     ($((SECONDS - start)) s)"
finish
