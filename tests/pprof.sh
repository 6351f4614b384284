#!/bin/bash
# pprof.sh - `top`, `diff` and `leaks --format pprof` read back by decoders
# that are not heapsnap's:
#
#   protoc     Debian's protoc --decode with profile.proto (tests/pprof_decode.py):
#              the sample types in order, period, default type; every
#              total equal to `heapsnap top/diff/leaks --format json` at
#              the same snapshot, and to the known allocations of
#              tests/progs/pprof_sites.c (alloc_* too); the largest line
#              and function equal to top's first; an inlined function and
#              its caller as one location, inlined first; the main mapping
#              as readelf describes the file (executable segment, file
#              offset, build id); C++ names demangled with their mangled
#              system names
#   go         Debian's go tool pprof, whose decoder has pprof's field
#              numbers compiled in: -top's total at inuse_space and
#              alloc_space equals heapsnap's; a real program (python3
#              with PYTHONMALLOC=malloc; sqlite3) with CPython's and
#              SQLite's functions and Python's frames
#   stacks     every stack of a profile, its functions leaf first and
#              inlined ones first, equal to `top --by traceback`'s (the
#              allocator wrappers left out alike), for pprof_sites,
#              python3 and sqlite3, and to `leaks --format json`'s
#   speedscope npm's speedscope (the version tests/speedscope pins,
#              installed by `make speedscope` into build/npm) imports
#              top and leaks profiles in headless Chromium
#              (tests/pprof_speedscope.py): its export's total is the
#              default sample type's, its frames the functions, an
#              inlined location named by its outermost function as pprof
#              orders lines
#   errors     options that do not apply, an unwritable output, a corrupt
#              trace: one line, exit 1 or 2, no file left behind
#
#   bash tests/pprof.sh        (make check runs it)
#
# Ends with one line "pprof: N passed, M failed"; exits 1 if M > 0.  SKIP
# is only for go, npm or a real program that is not installed, and for
# speedscope in the sanitizer pass (HEAPSNAP_TEST_NO_SPEEDSCOPE).
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
HS=${HEAPSNAP_CLI:-$ROOT/build/bin/heapsnap}
PROGS=$ROOT/build/tests/progs
LEAKS=$ROOT/build/tests/leaks
PY=/usr/bin/python3

SUITE=pprof
. "$(dirname "$0")/harness.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/heapsnap-pprof.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
# go tool pprof keeps nothing, but let nothing land in the real home
export HOME=$T

if ! make -s -C "$ROOT" progs leak-progs >"$T/build.log" 2>&1; then
	fail build "make progs leak-progs failed: $(tail -n 3 "$T/build.log" | tr '\n' ' ')"
	finish
fi
if ! command -v protoc >/dev/null; then
	fail protoc "protoc is not installed (protobuf-compiler, in make deps)"
	finish
fi
GO=$(command -v go || true)

# decode NAME CODE FILE...: tests/pprof_decode.py over the profiles and
# JSON files; ok or fail NAME.
decode() {
	local name=$1 code=$2 out
	shift 2
	if out=$("$PY" "$ROOT/tests/pprof_decode.py" "$ROOT/src/analyze" "$code" "$@" 2>&1); then
		ok "$name"
	else
		fail "$name" "$(echo "$out" | tail -n 3 | head -c 600)"
	fi
}

# gototal NAME FILE TYPE WANT: go tool pprof -top at TYPE runs and its
# total is WANT (bytes, or objects); SKIP without go.
gototal() {
	local name=$1 file=$2 type=$3 want=$4 got
	if [ -z "$GO" ]; then
		skip "$name" "go is not installed (golang-go, in make deps)"
		return
	fi
	if ! go tool pprof -top -sample_index="$type" -unit=B "$file" >"$file.$type.top" 2>"$file.$type.err"; then
		fail "$name" "go tool pprof failed: $(head -c 300 "$file.$type.err")"
		return
	fi
	got=$(sed -n 's/.*Total samples = \([-0-9]*\)B\{0,1\} *$/\1/p' "$file.$type.top")
	if [ "$got" = "$want" ]; then
		ok "$name"
	else
		fail "$name" "go tool pprof -top -sample_index=$type total '$got', heapsnap's $want"
	fi
}

# ---- a program whose every allocation the test knows --------------------------

"$HS" run -q -o sites.hst -- "$PROGS/pprof_sites" >/dev/null 2>sites.err || fail sites-run "$(head -c 300 sites.err)"
"$HS" top sites.hst --format json --limit 0 >sites.top.json &&
	"$HS" top sites.hst --by function --format json --limit 0 >sites.fn.json &&
	"$HS" top sites.hst --by traceback --format json --limit 0 >sites.tb.json &&
	"$HS" top sites.hst --format pprof -o sites.pb.gz 2>sites.err ||
	fail sites-export "$(head -c 300 sites.err)"

# what readelf says of the program: build id, executable segment
BID=$(readelf -n "$PROGS/pprof_sites" | sed -n 's/.*Build ID: *//p')
TEXT=$(readelf -lW "$PROGS/pprof_sites" | awk '$1 == "LOAD" && / E / {print $2, $3, $6; exit}')

decode sites-top "
p = P[0]
top, fn = J
eq('sample types', p.types(), [('alloc_objects', 'count'), ('alloc_space', 'bytes'),
                               ('inuse_objects', 'count'), ('inuse_space', 'bytes')])
eq('default type', p.default_type(), 'inuse_space')
pt = p.m['period_type'][0]
eq('period type', (p.s(p.one(pt, 'type')), p.s(p.one(pt, 'unit'))), ('space', 'bytes'))
eq('period', p.one(p.m, 'period'), 1)
check('time and duration', p.one(p.m, 'time_nanos') > 1.6e18 and p.one(p.m, 'duration_nanos') > 0)
eq('inuse_space = top total', p.total('inuse_space'), top['total']['size'])
eq('inuse_objects = top count', p.total('inuse_objects'), top['total']['count'])
eq('inuse_space, as the program says', p.total('inuse_space'), 6040)
eq('alloc_space, as the program says', p.total('alloc_space'), 106240)
eq('alloc_objects, as the program says', p.total('alloc_objects'), 114)
line = p.by_leaf('inuse_space', lambda l: '%s:%d' % (l[2], l[3]))[0]
eq('largest line', line, (top['stats'][0]['key'], top['stats'][0]['size']))
func = p.by_leaf('inuse_space', lambda l: l[0])[0]
eq('largest function', func, (fn['stats'][0]['key'], fn['stats'][0]['size']))
" sites.pb.gz sites.top.json sites.fn.json

decode sites-stacks "
p, tb = P[0], J[0]
eq_stacks('inuse_space by stack', p.stacks('inuse_space'), top_stacks(tb, 'size'))
eq_stacks('inuse_objects by stack', p.stacks('inuse_objects'), top_stacks(tb, 'count'))
eq('the inlined stack', [k[:3] for k in p.stacks('inuse_space') if 'inlined' in k], [('inlined', 'site', 'main')])
" sites.pb.gz sites.tb.json

decode sites-locations "
p = P[0]
bid, text = '$BID', '$TEXT'.split()
# the inlined function and the one it was inlined into: one location
inl = [s for s in p.samples() if p.leaf(s) and p.leaf(s)[0] == 'inlined']
eq('samples at the inlined function', len(inl), 1)
if inl:
    ln = p.lines(inl[0]['location_id'][0])
    eq('its lines, inlined first', [(x[0], x[2].split('/')[-1]) for x in ln],
       [('inlined', 'pprof_sites.c'), ('site', 'pprof_sites.c')])
    eq('the caller is main', p.lines(inl[0]['location_id'][1])[0][0], 'main')
# mapping 1 is the program, as readelf describes it
m = p.mappings[1]
eq('mapping 1', p.s(p.one(m, 'filename')), '$PROGS/pprof_sites')
eq('its build id', p.s(p.one(m, 'build_id')), bid)
eq('its file offset', p.one(m, 'file_offset'), int(text[0], 16))
eq('its size', p.one(m, 'memory_limit') - p.one(m, 'memory_start'), int(text[2], 16))
eq('its start, in the load', (p.one(m, 'memory_start') - int(text[1], 16)) % 4096, 0)
check('its flags', all(p.one(m, k, False) for k in ('has_functions', 'has_filenames', 'has_line_numbers')))
for lid, l in p.locations.items():
    mid = p.one(l, 'mapping_id')
    if mid:
        mm = p.mappings[mid]
        a = p.one(l, 'address')
        check('location %d: 0x%x outside its mapping' % (lid, a),
              p.one(mm, 'memory_start') <= a < p.one(mm, 'memory_limit'))
" sites.pb.gz

gototal sites-go-inuse sites.pb.gz inuse_space 6040
gototal sites-go-alloc sites.pb.gz alloc_space 106240
gototal sites-go-objects sites.pb.gz alloc_objects 114
if [ -n "$GO" ]; then
	# the largest function of -top is top's
	first=$(awk '/flat%/ {getline; print $6; exit}' sites.pb.gz.inuse_space.top)
	if [ "$first" = main ]; then ok sites-go-first; else fail sites-go-first "go tool pprof -top's first function '$first', want main"; fi
fi

# A snapshot the program took: everything up to it, nothing after.
"$HS" top sites.hst --snapshot mid --format json >mid.top.json &&
	"$HS" top sites.hst --snapshot mid --format pprof -o mid.pb.gz || fail mid-export "top --snapshot mid failed"
decode snapshot-mid "
p = P[0]
eq('inuse_space at mid', p.total('inuse_space'), J[0]['total']['size'])
eq('alloc_space up to mid', p.total('alloc_space'), 100640)
eq('alloc_objects up to mid', p.total('alloc_objects'), 110)
check('duration: the snapshot', abs(p.one(p.m, 'duration_nanos') - J[0]['snapshot']['time'] * 1e9) < 1000)
" mid.pb.gz mid.top.json

# ---- diff: one profile of the newer heap minus the older ----------------------

"$HS" diff sites.hst --from mid --to exit --format json >diff.json &&
	"$HS" diff sites.hst --from mid --to exit --format pprof -o diff.pb.gz || fail diff-export "diff failed"
decode diff-one-trace "
p = P[0]
d = J[0]
eq('inuse_space: growth', p.total('inuse_space'), 6040 - 640)
eq('the same as diff --format json', p.total('inuse_space'), sum(s['size_diff'] for s in d['stats']))
eq('alloc_space: allocated between', p.total('alloc_space'), 106240 - 100640)
eq('no sample for the unchanged stack', [p.leaf(s)[0] for s in p.samples() if p.leaf(s)[0] == 'inlined'], [])
" diff.pb.gz diff.json
"$HS" run -q -o sites2.hst -- "$PROGS/pprof_sites" >/dev/null 2>&1
"$HS" top sites.hst --snapshot mid --format json >a.json
"$HS" top sites2.hst --format json >b.json
"$HS" diff sites.hst sites2.hst --from mid --format pprof -o diff2.pb.gz || fail diff-export2 "diff OLD NEW failed"
decode diff-two-traces "
p = P[0]
a, b = J
eq('inuse_space: NEW minus OLD', p.total('inuse_space'), b['total']['size'] - a['total']['size'])
eq('inuse_objects', p.total('inuse_objects'), b['total']['count'] - a['total']['count'])
check('some value is negative', any(v < 0 for s in p.samples() for v in s['value']))
eq('one pid label per process', len({p.labels(s)['pid'] for s in p.samples()}), 2)
" diff2.pb.gz a.json b.json

# ---- leaks: a sample type per kind, C++ names ----------------------------------

"$HS" run -q -o cxx.hst -- "$LEAKS/cxx_new" >/dev/null 2>&1
"$HS" leaks cxx.hst --kinds all --format json >leaks.json &&
	"$HS" leaks cxx.hst --kinds all --format pprof -o leaks.pb.gz || fail leaks-export "leaks failed"
decode leaks "
p = P[0]
s = J[0]['summary']
kinds = ['definite', 'indirect', 'possible', 'reachable']
eq('sample types', p.types(), [(k + x, u) for k in kinds for x, u in (('_objects', 'count'), ('_space', 'bytes'))])
eq('default type', p.default_type(), 'definite_space')
for k in kinds:
    eq(k + ' bytes', p.total(k + '_space'), s[k]['bytes'])
    eq(k + ' blocks', p.total(k + '_objects'), s[k]['blocks'])
check('definite bytes', s['definite']['bytes'] > 0)
for smp in p.samples():
    lab = p.labels(smp)
    check('kind label', lab.get('kind') in kinds)
cxx = [l for lid in p.locations for l in p.lines(lid) if l[1].startswith('_Z')]
check('C++ functions with mangled system names', cxx)
check('and demangled names', all(not n.startswith('_Z') and '(' in n for n, *_ in cxx))
# each loss record's stack, operator new left out as the report leaves it out
want = {}
for r in J[0]['leaks']:
    k = (r['kind'],) + tuple(f['function'] or '?' for f in r['stack'])
    want[k] = want.get(k, 0) + r['bytes']
got = {}
for k in kinds:
    for st, v in p.stacks(k + '_space', 'kind').items():
        got[st] = got.get(st, 0) + v
eq_stacks('bytes by kind and stack', got, {k: v for k, v in want.items() if v})
check('no operator new', not [k for k in got if any(f.startswith('operator new') for f in k)])
" leaks.pb.gz leaks.json
gototal leaks-go leaks.pb.gz definite_space "$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"]["definite"]["bytes"])' leaks.json)"

# ---- real programs ----------------------------------------------------------

# real NAME TRACE SEL WANT_RE: export TRACE's heap at SEL; totals equal
# top's, at inuse_space and alloc_space read back by go tool pprof; -top
# names functions matching WANT_RE (the program's own, symbolized).
real() {
	local name=$1 trace=$2 sel=$3 want=$4
	"$HS" top "$trace" --snapshot "$sel" --format json >"$name.json" &&
		"$HS" top "$trace" --snapshot "$sel" --by traceback --format json --limit 0 >"$name.tb.json" &&
		"$HS" top "$trace" --snapshot "$sel" --format pprof -o "$name.pb.gz" ||
		{ fail "$name-export" "top failed"; return; }
	decode "$name-totals" "
p = P[0]
eq('inuse_space = top total', p.total('inuse_space'), J[0]['total']['size'])
eq('inuse_objects = top count', p.total('inuse_objects'), J[0]['total']['count'])
check('alloc_space >= inuse_space', p.total('alloc_space') >= p.total('inuse_space'))
# the 24 innermost functions of each stack: top cuts a traceback key at
# 4096 bytes, deep in CPython's recursion of imports
eq_stacks('inuse_space by stack', p.stacks('inuse_space', depth=24), top_stacks(J[1], 'size', 24))
eq_stacks('inuse_objects by stack', p.stacks('inuse_objects', depth=24), top_stacks(J[1], 'count', 24))
" "$name.pb.gz" "$name.json" "$name.tb.json"
	local size alloc
	size=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"]["size"])' "$name.json")
	alloc=$("$PY" "$ROOT/tests/pprof_decode.py" "$ROOT/src/analyze" "print(P[0].total('alloc_space'))" "$name.pb.gz")
	gototal "$name-go-inuse" "$name.pb.gz" inuse_space "$size"
	gototal "$name-go-alloc" "$name.pb.gz" alloc_space "$alloc"
	[ -z "$GO" ] && return
	if go tool pprof -top -nodefraction=0 "$name.pb.gz" 2>/dev/null | grep -qE "$want"; then
		ok "$name-go-symbols"
	else
		fail "$name-go-symbols" "no function matching '$want' in go tool pprof -top"
	fi
}

if [ -x "$PY" ]; then
	cat >script.py <<'EOF'
import json

def build(n):
    return [{"a": i, "b": str(i) * 10} for i in range(n)]

kept = build(20000)
text = json.dumps(kept)
EOF
	PYTHONMALLOC=malloc "$HS" run -q -o py.hst -- "$PY" script.py >/dev/null 2>py.err || fail python-run "$(head -c 300 py.err)"
	# at the peak, when the script's list is live: CPython's functions
	# (PyEval_EvalCode, ...), then the script's frames
	real python py.hst peak ' _?Py[A-Za-z]*_[A-Za-z_]+$'
	if [ -n "$GO" ]; then
		if go tool pprof -top -nodefraction=0 python.pb.gz 2>/dev/null | grep -qE ' build(\.<locals>\.<listcomp>)?$'; then
			ok python-go-frames
		else
			fail python-go-frames "the script's function build is not in go tool pprof -top"
		fi
	fi
else
	skip python "/usr/bin/python3 is not installed"
fi

if command -v sqlite3 >/dev/null; then
	"$HS" run -q -o sql.hst -- sqlite3 :memory: \
		"create table t(a, b); with recursive c(x) as (select 1 union all select x + 1 from c where x < 5000)
		 insert into t select x, hex(randomblob(50)) from c; create index i on t(b); select count(*) from t;" \
		>/dev/null 2>sql.err || fail sqlite-run "$(head -c 300 sql.err)"
	# at the peak: SQLite frees everything before it exits
	real sqlite sql.hst peak ' sqlite3[A-Za-z_]+$'
else
	skip sqlite "sqlite3 is not installed"
fi

# ---- speedscope ---------------------------------------------------------------

# What a speedscope export holds: the total of its profile (the sample type
# speedscope chose), the self weight of each frame name, the frame names.
SS_PY='
def ss(d):
    p = d["profiles"][d.get("activeProfileIndex") or 0]
    names = [f["name"] for f in d["shared"]["frames"]]
    selfw = {}
    if p["type"] == "sampled":
        for st, w in zip(p["samples"], p["weights"]):
            if st:
                selfw[names[st[-1]]] = selfw.get(names[st[-1]], 0) + w
    else:
        stack, at = [], p["startValue"]
        for e in p["events"]:
            if stack:
                selfw[names[stack[-1]]] = selfw.get(names[stack[-1]], 0) + e["at"] - at
            at = e["at"]
            if e["type"] == "O":
                stack.append(e["frame"])
            else:
                stack.pop()
    return p["unit"], p["endValue"] - p["startValue"], {k: v for k, v in selfw.items() if v}, set(names)
'

SPEEDSCOPE=$ROOT/build/npm/node_modules/speedscope/dist/release/index.html
if [ -n "${HEAPSNAP_TEST_NO_SPEEDSCOPE:-}" ]; then
	skip speedscope "HEAPSNAP_TEST_NO_SPEEDSCOPE is set (tests/sanitize.sh: make check's first pass ran it)"
elif ! command -v npm >/dev/null; then
	skip speedscope "npm is not installed"
elif ! make -s -C "$ROOT" speedscope >npm.log 2>&1; then
	fail speedscope-install "make speedscope (npm ci) failed: $(tail -n 3 npm.log | tr '\n' ' ' | head -c 300)"
else
	set -- sites.pb.gz ss-sites.json leaks.pb.gz ss-leaks.json
	[ -e python.pb.gz ] && set -- "$@" python.pb.gz ss-python.json
	[ -e sqlite.pb.gz ] && set -- "$@" sqlite.pb.gz ss-sqlite.json
	"$PY" "$ROOT/tests/pprof_speedscope.py" "$SPEEDSCOPE" "$@" >ss.out 2>&1
	while read -r verdict file why; do
		file=${file%:}
		case $verdict in
		ok) ok "speedscope-import-${file%.pb.gz}" ;;
		FAIL) fail "speedscope-import-${file%.pb.gz}" "$why" ;;
		esac
	done <ss.out
	grep -qE '^(ok|FAIL) ' ss.out || fail speedscope "pprof_speedscope.py: $(head -c 300 ss.out)"
	# inuse_space, the default type; the inlined location is named by the
	# function it was inlined into (its last line, as pprof orders them)
	[ -s ss-sites.json ] && assert_json speedscope-sites "$SS_PY
unit, total, selfw, names = ss(J[0])
eq('unit', unit, 'bytes')
eq('total: inuse_space', total, J[1]['total']['size'])
eq('self by function', selfw, {'main': 5400, 'site': 640})
check('inlined is not a frame of its own', 'inlined' not in names)
" ss-sites.json sites.top.json
	[ -s ss-leaks.json ] && assert_json speedscope-leaks "$SS_PY
unit, total, selfw, names = ss(J[0])
eq('total: definite_space', total, J[1]['summary']['definite']['bytes'])
check('demangled C++ names', 'leak_all()' in names)
" ss-leaks.json leaks.json
	[ -s ss-python.json ] && assert_json speedscope-python "$SS_PY
unit, total, selfw, names = ss(J[0])
eq('total', total, J[1]['total']['size'])
check('the script function build', 'build' in names or 'build.<locals>.<listcomp>' in names)
import re
check('CPython functions', [n for n in names if re.match('_?Py[A-Za-z]*_[A-Za-z_]+$', n)])
" ss-python.json python.json
	[ -s ss-sqlite.json ] && assert_json speedscope-sqlite "$SS_PY
unit, total, selfw, names = ss(J[0])
eq('total', total, J[1]['total']['size'])
check('SQLite functions', 'sqlite3_step' in names)
" ss-sqlite.json sqlite.json
fi

# ---- errors -------------------------------------------------------------------

# usage NAME ARGS...: exit 1, one line on stderr.
usage() {
	local name=$1 rc
	shift
	"$HS" "$@" >/dev/null 2>err.txt
	rc=$?
	if [ $rc -eq 1 ] && [ "$(wc -l <err.txt)" -eq 1 ]; then ok "$name"; else fail "$name" "exit $rc: $(head -c 300 err.txt)"; fi
}
usage usage-by top sites.hst --format pprof --by function -o x.pb.gz
usage usage-limit top sites.hst --format pprof --limit 3 -o x.pb.gz
usage usage-growth top sites.hst --format pprof --growth -o x.pb.gz
usage usage-cycles cycles cxx.hst --format pprof -o x.pb.gz
[ -e x.pb.gz ] && fail usage-no-file "a usage error left x.pb.gz"

"$HS" top sites.hst --format pprof -o "$T/no/such/dir/x.pb.gz" 2>err.txt
rc=$?
if [ $rc -eq 2 ] && grep -q 'no/such/dir/x.pb.gz: cannot write' err.txt; then ok unwritable; else fail unwritable "exit $rc: $(head -c 300 err.txt)"; fi
printf 'not a trace, not at all' >bad.hst
"$HS" top bad.hst --format pprof -o bad.pb.gz 2>err.txt
rc=$?
if [ $rc -eq 2 ] && [ ! -e bad.pb.gz ]; then ok corrupt-trace; else fail corrupt-trace "exit $rc, $(ls bad.pb.gz 2>&1)"; fi
# -o naming a trace it reads: refused before anything is opened
cp sites.hst keep.hst
usage output-is-input top sites.hst --format pprof -o sites.hst
cmp -s sites.hst keep.hst || fail output-is-input-kept "the trace was changed"
# -o for text and JSON writes what standard output would have shown
"$HS" leaks cxx.hst --kinds all --format json -o leaks-o.json && cmp -s leaks-o.json leaks.json &&
	ok output-json || fail output-json "leaks --format json -o differs from its standard output"
# stdout, when it is not a terminal
"$HS" top sites.hst --format pprof >stdout.pb.gz 2>err.txt && cmp -s stdout.pb.gz sites.pb.gz &&
	ok stdout || fail stdout "top --format pprof >file differs from -o file: $(head -c 300 err.txt)"

finish
