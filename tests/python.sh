#!/bin/bash
# python.sh - Python programs under the shim (Debian's /usr/bin/python3,
# never a pyenv shim on PATH: that is another program), each against the
# Python tool that answers the same question for Python objects only:
#
#   tracemalloc  a script builds known structures at known lines; the top
#                10 lines of the script by size at a snapshot are
#                tracemalloc's top 10 (a tracemalloc run of the same
#                script), each size within 5%, PYTHONMALLOC left alone
#   compare_to   a script frees, grows and builds structures between two
#                snapshots: diff's lines of the script that changed by
#                10 kB or more are those of tracemalloc's compare_to(), in
#                its order, each size difference and count difference
#                within 5%
#   leaks        a C extension built here leaks a malloc'ed buffer when
#                Python calls it: the leak's stack has the C function and
#                the Python lines that called it
#   objgraph     a module-level dict of lists grows; objgraph's
#                find_backref_chain names module -> module dict -> dict ->
#                list, and the scan's reference graph (a mid-run
#                heapsnap_leak_check) holds that chain, each hop an edge or
#                two (through the dict's storage)
#   versions     every CPython 3.8-3.13 found under ~/.pyenv: the script's
#                line is the allocation site and its Python callers are in
#                the traceback (the frame offsets of each version)
#   tracebacks   /usr/bin/python3 and every CPython under ~/.pyenv (with a
#                copy of its libpython without debug information: Python
#                frames need none, and its DWARF costs 5 s a trace)
#                against tracemalloc in the same interpreter: the Python tracebacks
#                of the blocks a script keeps are tracemalloc's, frame for
#                frame, each size within 5%, where CPython leaves frames
#                out (3.13's shim frame under __init__, a generator
#                function's frame while it makes its generator)
#   pythonmalloc PYTHONMALLOC=pymalloc, debug and malloc, which make the
#                interpreter install its allocators again over the shim's
#                wrappers: the program's output and status are unchanged,
#                the trace is readable, and the script's 30000 strings are
#                blocks at its line, of the sizes the default run sees
#   names        the interpreter's static functions without debug
#                information: in Debian's stripped python3.11 every frame
#                has a name, an approximate one (SYMBOL+0xN) where no
#                symbol covers it, whose start is the start of the unwind
#                entry that covers the frame and whose SYMBOL is the last
#                exported function before it (readelf's answers); in a
#                stripped copy of a pyenv libpython, each approximate name
#                is the start of the function the unstripped file's symbol
#                table names, and with its debug file none is approximate
#
#   bash tests/python.sh       (make check runs it)
#
# Ends with one line "python: N passed, M failed"; exits 1 if M > 0.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
HS=${HEAPSNAP_CLI:-$ROOT/build/bin/heapsnap}
EDGES=$ROOT/build/tests/python_edges
SRC=$ROOT/tests/python
PY=/usr/bin/python3

SUITE=python
. "$(dirname "$0")/harness.sh"
# The interpreter's default allocators (pymalloc) unless a test sets
# PYTHONMALLOC itself: an inherited one would test another set-up.
unset PYTHONMALLOC

if [ ! -x "$PY" ]; then
	skip python "/usr/bin/python3 is not installed"
	finish
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/heapsnap-python.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

# check NAME CODE FILES...: run python CODE with J = the JSON of FILES
# (one, or a list) and check()/eq() helpers; ok or fail NAME.
check() {
	local name=$1 code=$2
	shift 2
	if out=$("$PY" - "$@" <<EOF 2>&1
import json, sys
J = [json.load(open(f)) for f in sys.argv[1:]]
J = J[0] if len(J) == 1 else J
errs = []
def check(what, cond):
    if not cond:
        errs.append(what)
def eq(what, got, want):
    if got != want:
        errs.append('%s: got %r, want %r' % (what, got, want))
$code
print('; '.join(errs))
EOF
	) && [ -z "$out" ]; then
		ok "$name"
	else
		fail "$name" "$out"
	fi
}

# ---- tracemalloc --------------------------------------------------------------

test_tracemalloc() {
	cp "$SRC/structures.py" "$T/structures.py"
	"$PY" "$T/structures.py" tracemalloc "$T/tm.json" >/dev/null 2>"$T/tm.err" ||
		{ fail tracemalloc-oracle "$(head -c 300 "$T/tm.err")"; return; }
	"$HS" run -q --snapshot-signal USR2 -o "$T/st.hst" -- "$PY" "$T/structures.py" heapsnap >/dev/null 2>"$T/st.err" ||
		{ fail tracemalloc-run "$(head -c 300 "$T/st.err")"; return; }
	"$HS" top "$T/st.hst" --snapshot 0 --include '*/structures.py' --limit 10 --format json >"$T/top.json" &&
		"$HS" info "$T/st.hst" --format json >"$T/st.info.json" ||
		{ fail tracemalloc-top "top or info failed"; return; }
	check tracemalloc "
tm, hs, info = J
# pymalloc's objects are the domain events, not malloc's (PYTHONMALLOC
# at its default): the script's 200,000 or so objects
ev = info['events']
check('%d py_malloc and %d malloc events: not the default allocators' % (ev['py_malloc'], ev['malloc']),
      ev['py_malloc'] >= 200000 and ev['malloc'] < 1000)
want = ['%s:%d' % (x['file'], x['line']) for x in tm]
got = [x['key'] for x in hs['stats']]
eq('top 10 lines', got, want)
size = {x['key']: x['size'] for x in hs['stats']}
for x in tm:
    k = '%s:%d' % (x['file'], x['line'])
    if k in size:
        check('%s: %d B, tracemalloc %d B: more than 5%% apart' % (k, size[k], x['size']),
              abs(size[k] - x['size']) <= 0.05 * x['size'])
" "$T/tm.json" "$T/top.json" "$T/st.info.json"
	# The interpreter's frames are wrappers only with a Python frame
	# further out: turned off, the sites are CPython's own functions.
	HEAPSNAP_WRAPPERS=-[python] "$HS" top "$T/st.hst" --snapshot 0 --limit 5 --format json >"$T/raw.json" ||
		{ fail tracemalloc-raw "top failed"; return; }
	check tracemalloc-wrappers-off "
keys = [x['key'] for x in J['stats']]
check('with -[python], no .py line among the top sites %r' % keys, not any('.py:' in k for k in keys))
" "$T/raw.json"
}

# ---- diff against compare_to ---------------------------------------------------

test_compare() {
	cp "$SRC/compare.py" "$T/compare.py"
	"$PY" "$T/compare.py" tracemalloc "$T/cmp-tm.json" >/dev/null 2>"$T/cmp-tm.err" ||
		{ fail compare_to-oracle "$(head -c 300 "$T/cmp-tm.err")"; return; }
	"$HS" run -q --snapshot-signal USR2 -o "$T/cmp.hst" -- "$PY" "$T/compare.py" heapsnap >/dev/null 2>"$T/cmp.err" ||
		{ fail compare_to-run "$(head -c 300 "$T/cmp.err")"; return; }
	"$HS" diff "$T/cmp.hst" --from 0 --to 1 --include '*/compare.py' --limit 0 --format json >"$T/cmp.json" ||
		{ fail compare_to-diff "diff failed"; return; }
	check compare_to "
tm, hs = J
big = lambda d: abs(d) >= 10000
want = [x for x in tm if x['file'].endswith('/compare.py') and big(x['size_diff'])]
got = [x for x in hs['stats'] if big(x['size_diff'])]
# the script's seven: freed, grown in place, grown by others, new
check('tracemalloc: %d lines changed by 10 kB or more, want 7' % len(want), len(want) == 7)
eq('lines', [x['key'] for x in got], ['%s:%d' % (x['file'], x['line']) for x in want])
have = {x['key']: x for x in got}
for x in want:
    h = have.get('%s:%d' % (x['file'], x['line']))
    for f in ('size_diff', 'count_diff'):
        if h:
            check('line %d: %s %d, tracemalloc %d: more than 5%% apart' % (x['line'], f, h[f], x[f]),
                  abs(h[f] - x[f]) <= 0.05 * abs(x[f]))
" "$T/cmp-tm.json" "$T/cmp.json"
}

# ---- a C extension's leak -----------------------------------------------------

test_extension() {
	local suffix
	suffix=$("$PY" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))') || return
	if ! cc -shared -fPIC -g -O0 -I"$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')" \
		-o "$T/leaky$suffix" "$SRC/leaky.c" 2>"$T/cc.err"; then
		fail extension-build "$(head -c 300 "$T/cc.err")"
		return
	fi
	cat >"$T/leaker.py" <<'EOF'
import leaky

def handler(n):
    return leaky.leak_buffer(n)

for size in (4096,):
    handler(size)
EOF
	(cd "$T" && PYTHONPATH=$T "$HS" run -q -o "$T/ext.hst" -- "$PY" "$T/leaker.py") >/dev/null 2>"$T/ext.err" ||
		{ fail extension-run "$(head -c 300 "$T/ext.err")"; return; }
	"$HS" leaks "$T/ext.hst" --format json >"$T/ext.json" 2>"$T/ext.err"
	check extension-leak "
leak = [l for l in J['leaks'] if l['bytes'] == 4096 and l['blocks'] == 1]
eq('4096-byte leaks', len(leak), 1)
if leak:
    l = leak[0]
    eq('kind', l['kind'], 'definite')
    st = l['stack']
    eq('site', (st[0]['function'], st[0]['file'].split('/')[-1], st[0]['line']),
       ('leak_buffer', 'leaky.c', 17))
    py = [(f['function'], f['file'].split('/')[-1], f['line']) for f in st if f.get('python')]
    eq('Python frames', py, [('handler', 'leaker.py', 4), ('<module>', 'leaker.py', 7)])
    check('the C frame comes before the Python frames', st.index(next(f for f in st if f.get('python'))) > 0)
" "$T/ext.json"
	"$HS" leaks "$T/ext.hst" >"$T/ext.txt" 2>&1
	if grep -q '\[python\] in handler .*leaker.py:4' "$T/ext.txt"; then
		ok extension-text
	else
		fail extension-text "no '[python] in handler leaker.py:4' line: $(head -c 400 "$T/ext.txt")"
	fi
}

# ---- objgraph's back-reference chain in the scan's graph ------------------------

test_objgraph() {
	if ! "$PY" -c 'import objgraph' 2>/dev/null; then
		skip objgraph "python3-objgraph is not installed"
		return
	fi
	if [ ! -x "$EDGES" ]; then
		fail objgraph "$EDGES is not built"
		return
	fi
	cat >"$T/grow.py" <<'EOF'
import ctypes, inspect, objgraph, sys
registry = {}
for step in range(3):
    registry.setdefault("sessions", []).extend(str(i) for i in range(1000))
chain = objgraph.find_backref_chain(registry["sessions"], inspect.ismodule)
print(" ".join("%x" % id(o) for o in chain))
sys.stdout.flush()
ctypes.CDLL(None).heapsnap_rt_leak_check()
EOF
	"$HS" run -q -o "$T/og.hst" -- "$PY" "$T/grow.py" >"$T/chain" 2>"$T/og.err" ||
		{ fail objgraph-run "$(head -c 300 "$T/og.err")"; return; }
	"$EDGES" "$T/og.hst" >"$T/edges.txt" || { fail objgraph-edges "edges failed"; return; }
	"$PY" - "$T/chain" "$T/edges.txt" >"$T/og.out" 2>&1 <<'EOF'
import bisect, sys
chain = [int(x, 16) for x in open(sys.argv[1]).read().split()]
starts, size, out = [], {}, {}
for line in open(sys.argv[2]):
    f = line.split()
    if f[0] == 'B':
        starts.append(int(f[1], 16))
        size[starts[-1]] = int(f[2])
    else:
        out.setdefault(int(f[1], 16), set()).add(int(f[2], 16))
def block(addr):
    # a Python object lies inside its block: a GC object after its
    # PyGC_Head, so id() is an interior address
    i = bisect.bisect_right(starts, addr) - 1
    return starts[i] if i >= 0 and addr < starts[i] + max(size[starts[i]], 1) else None
errs = []
if len(chain) != 4:
    errs.append('objgraph chain of %d objects, want module, module dict, dict, list' % len(chain))
for a, b in zip(chain, chain[1:]):
    ba, bb = block(a), block(b)
    if ba is None or bb is None:
        errs.append('%x or %x is in no block of the scan' % (a, b))
    elif bb not in out.get(ba, ()) and not any(bb in out.get(m, ()) for m in out.get(ba, ())):
        errs.append('no path of one or two edges %x -> %x' % (a, b))
print('; '.join(errs))
EOF
	if [ -z "$(cat "$T/og.out")" ]; then
		ok objgraph-chain
	else
		fail objgraph-chain "$(head -c 400 "$T/og.out")"
	fi
}

# ---- retainers against objgraph: the same chain, named --------------------------

# A module-level dict of lists, pymalloc left on: objgraph's
# find_backref_chain goes module -> module dict -> dict -> list; one of the
# chains `retainers --address` gives for the list holds the module dict,
# the dict and the list in that order, each (but the list) at most one
# block (its keys table) from the next.  Python's pointers to its GC
# objects point past their PyGC_Head: the scan takes them for start
# pointers, and the collector's own list links are no chain.
test_objgraph_retainers() {
	if ! "$PY" -c 'import objgraph' 2>/dev/null; then
		skip objgraph-retainers "python3-objgraph is not installed"
		return
	fi
	cat >"$T/registry.py" <<'EOF'
import ctypes, inspect, objgraph, sys
registry = {}
for step in range(3):
    registry.setdefault("sessions", []).extend(str(i) for i in range(1000))
chain = objgraph.find_backref_chain(registry["sessions"], inspect.ismodule)
print(" ".join("0x%x" % id(o) for o in chain))
sys.stdout.flush()
ctypes.CDLL(None).heapsnap_rt_snapshot(b"chain")
EOF
	"$HS" run -q --snapshot-scan -o "$T/reg.hst" -- "$PY" "$T/registry.py" >"$T/reg.chain" 2>"$T/reg.err" ||
		{ fail objgraph-retainers "$(head -c 300 "$T/reg.err")"; return; }
	local list
	list=$(awk '{print $NF}' "$T/reg.chain")
	"$HS" retainers "$T/reg.hst" --snapshot chain --address "$list" --max-paths 100 --format json \
		>"$T/reg.json" 2>"$T/reg.rerr" || { fail objgraph-retainers "$(head -c 300 "$T/reg.rerr")"; return; }
	"$HS" retainers "$T/reg.hst" --snapshot chain --address "$list" --max-paths 100 >"$T/reg.txt" 2>&1
	check objgraph-retainers "
import os
ids = [int(x, 16) for x in open('$T/reg.chain').read().split()]
eq('objgraph: module, module dict, dict, list', len(ids), 4)
t = J['targets'][0]
# a GC object's block begins 16 bytes before it (its PyGC_Head)
want = [i - 16 for i in ids[1:]]
eq('the target: the list\\'s block', int(t['address'], 16), want[-1])
eq('reachable', t['leaked']['blocks'], 0)
def chain(p):
    return [int(a, 16) for h in p['hops'] for a in h.get('addresses', [])]
def holds(c):
    pos = [c.index(w) if w in c else -1 for w in want]
    return -1 not in pos and pos == sorted(pos) and pos[-1] == len(c) - 1 and \
        all(b - a <= 2 for a, b in zip(pos, pos[1:]))
ok = [p for p in t['paths'] if holds(chain(p))]
check('a chain holds the module dict, the dict and the list in order, a keys table between each '
      '(chains: %s)' % [[h['site'] for h in p['hops']] for p in t['paths'][:5]], ok)
for p in ok[:1]:
    check('its root is named: %r' % p['root']['name'], p['root']['name'] and p['root']['kind'])
" "$T/reg.json"
}

# ---- the frame offsets of every version at hand ---------------------------------

# nodebug_libdir PYTHON: a directory (made once) with a copy of a pyenv
# interpreter's libpython without its debug information, for
# LD_LIBRARY_PATH (its RUNPATH names the original): symbolizing the DWARF
# of a debug-built interpreter costs seconds a trace, and Python frames
# need none of it.
nodebug_libdir() {
	local m lib
	m=$(basename "$1")
	if [ ! -d "$T/nodebug-$m" ]; then
		mkdir -p "$T/nodebug-$m"
		for lib in "$(dirname "$1")"/../lib/libpython3*.so.1.0; do
			[ -f "$lib" ] && strip --strip-debug -o "$T/nodebug-$m/$(basename "$lib")" "$lib"
		done
	fi
	echo "$T/nodebug-$m"
}

test_versions() {
	local p m found=0
	cat >"$T/calls.py" <<'EOF'
def make(n):
    return [str(i) * 10 for i in range(n)]

class Holder:
    def __init__(self):
        self.data = make(2000)

keep = [Holder() for _ in range(5)]
EOF
	for p in "$HOME"/.pyenv/versions/3.{8,9,10,11,12,13}*/bin/python3.[0-9]*; do
		case $p in *-config | *.py) continue ;; esac
		[ -x "$p" ] || continue
		found=1
		m=$(basename "$p")
		# one version with its debug information (the native frames
		# around the Python ones named from DWARF), the others without
		# (quicker to symbolize)
		local libdir=
		[ "$m" = python3.12 ] || libdir=$(nodebug_libdir "$p")
		LD_LIBRARY_PATH=$libdir "$HS" run -q -o "$T/$m.hst" -- "$p" "$T/calls.py" >/dev/null 2>"$T/$m.err" ||
			{ fail "version-$m" "$(head -c 300 "$T/$m.err")"; continue; }
		"$HS" top "$T/$m.hst" --snapshot peak --include '*/calls.py' --limit 1 --by traceback --format json \
			>"$T/$m.json" || { fail "version-$m" "top failed"; continue; }
		check "version-$m" "
key = J['stats'][0]['key'] if J['stats'] else ''
lines = key.split('\n')
check('site %r is calls.py:2' % lines[:1], lines[0].endswith('/calls.py:2 in <listcomp>') or
      lines[0].endswith('/calls.py:2 in make.<locals>.<listcomp>') or lines[0].endswith('/calls.py:2 in make'))
py = [l for l in lines if '/calls.py:' in l]
check('Python callers %r: make, __init__, <module>' % py,
      any(l.endswith(':2 in make') for l in py) and any(':6 in ' in l and '__init__' in l for l in py)
      and any(l.endswith(':8 in <module>') for l in py))
" "$T/$m.json"
	done
	[ $found = 1 ] || skip versions "no CPython 3.8-3.13 under ~/.pyenv"
}

# ---- Python tracebacks against tracemalloc's, in every interpreter at hand -----------

# tracebacks_one NAME PYTHON [LIBDIR]: LIBDIR goes first on LD_LIBRARY_PATH
tracebacks_one() {
	local name=$1 py=$2 libdir=${3:-}
	LD_LIBRARY_PATH=$libdir "$py" "$T/tracebacks.py" tracemalloc "$T/$name.tm.json" >/dev/null 2>"$T/$name.err" ||
		{ fail "tracebacks-$name" "tracemalloc run: $(head -c 300 "$T/$name.err")"; return; }
	LD_LIBRARY_PATH=$libdir "$HS" run -q -o "$T/$name.tb.hst" -- "$py" "$T/tracebacks.py" heapsnap \
		>/dev/null 2>"$T/$name.err" ||
		{ fail "tracebacks-$name" "$(head -c 300 "$T/$name.err")"; return; }
	# the blocks live at exit whose site is the script, by whole stack:
	# a few kB of JSON where every block live at exit, with every frame
	# (leaks --kinds all), was 30-220 MB
	"$HS" top "$T/$name.tb.hst" --by traceback --include '*/tracebacks.py' --limit 0 --format json \
		>"$T/$name.top.json" 2>"$T/$name.err" ||
		{ fail "tracebacks-$name" "top: $(head -c 300 "$T/$name.err")"; return; }
	check "tracebacks-$name" "
tm, hs = J
# the blocks by their Python traceback (innermost first): of each stack's
# lines (heapsnap(1), Statistics keys), those of a Python source
got = {}
for rec in hs['stats']:
    py = []
    for line in rec['key'].split('\n'):
        f, _, n = line.split(' in ', 1)[0].rpartition(':')
        if n.isdigit() and (f.endswith('.py') or f.startswith('<')):
            py.append((f, int(n)))
    py = tuple(py)
    if py and py[0][0].endswith('/tracebacks.py'):
        got[py] = got.get(py, 0) + rec['size']
got = {k: v for k, v in got.items() if v >= 100000}
want = {tuple(map(tuple, s['frames'])): s['size'] for s in tm if s['size'] >= 100000}
eq('tracebacks of 100 kB or more', sorted(got), sorted(want))
for k in want:
    if k in got:
        check('%r: %d B, tracemalloc %d B: more than 5%% apart' % (k, got[k], want[k]),
              abs(got[k] - want[k]) <= 0.05 * want[k])
" "$T/$name.tm.json" "$T/$name.top.json"
}

test_tracebacks() {
	local p
	cp "$SRC/tracebacks.py" "$T/tracebacks.py"
	tracebacks_one "$(basename "$(readlink -f "$PY")")" "$PY"
	for p in "$HOME"/.pyenv/versions/3.{8,9,10,11,12,13}*/bin/python3.[0-9]*; do
		case $p in *-config | *.py) continue ;; esac
		[ -x "$p" ] || continue
		tracebacks_one "pyenv-$(basename "$p")" "$p" "$(nodebug_libdir "$p")"
	done
}

# ---- names in a stripped interpreter ------------------------------------------------

# The checks' shared code: ELF tables from readelf, and the frames of a
# module in a leaks report.
NAMES_PY='
import subprocess
def readelf(*args):
    return subprocess.run(["readelf", "-W"] + list(args), capture_output=True, text=True).stdout.splitlines()
def functions(path, dyn):
    # (address, size, name) of the defined functions of its .dynsym or .symtab
    out = []
    for l in readelf("--dyn-syms" if dyn else "--syms", path):
        f = l.split()
        if len(f) >= 8 and f[3] in ("FUNC", "IFUNC") and f[6] != "UND" and int(f[1], 16):
            out.append((int(f[1], 16), int(f[2]), f[7].split("@")[0]))
    return out
def fdes(path):
    # the address ranges of its unwind entries
    out = []
    for l in readelf("--debug-dump=frames", path):
        if " FDE " in l and "pc=" in l:
            a, b = l.split("pc=")[1].split("..")
            out.append((int(a, 16), int(b, 16)))
    return out
def frames_of(report, module):
    for rec in report["leaks"]:
        for f in rec["stack"]:
            if not f.get("python") and f["module"] == module:
                yield f
def split(name):
    sym, n = name.rsplit("+0x", 1)
    return sym, int(n, 16)
'

test_names() {
	local bin lib v dir bid trace
	bin=$(readlink -f "$PY")
	# test_tracebacks ran this very command on this interpreter: its
	# trace is this test's input, unless that run failed
	trace=$T/$(basename "$bin").tb.hst
	if [ ! -s "$trace" ]; then
		trace=$T/names.hst
		"$HS" run -q -o "$trace" -- "$PY" "$T/tracebacks.py" heapsnap >/dev/null 2>"$T/names.err" ||
			{ fail names-debian "$(head -c 300 "$T/names.err")"; return; }
	fi
	"$HS" leaks "$trace" --kinds all --format json >"$T/names.json" 2>>"$T/names.err" ||
		{ fail names-debian "$(head -c 300 "$T/names.err")"; return; }
	if readelf -S "$bin" | grep -q '\.symtab'; then
		skip names-debian "$bin is not stripped"
	else
		check names-debian "$NAMES_PY
bin = '$bin'
dyn = sorted(a for a, s, n in functions(bin, True))
addr = {n: a for a, s, n in functions(bin, True)}
ranges = fdes(bin)
seen = set()
for f in frames_of(J, bin):
    off = int(f['offset'], 16)
    check('frame at 0x%x has no name' % off, f['function'])
    if not f.get('approximate') or off in seen:
        continue
    seen.add(off)
    sym, n = split(f['function'])
    start = [a for a, b in ranges if a <= off - 1 < b]
    check('%s (frame 0x%x): SYMBOL+N at 0x%x, not the start of its unwind entry %s' % (
          f['function'], off, addr.get(sym, 0) + n, [hex(a) for a in start]), start == [addr.get(sym, -1) + n])
    before = [a for a in dyn if a <= addr.get(sym, 0) + n]
    check('%s: %s is not the last exported function before it' % (f['function'], sym),
          before and before[-1] == addr.get(sym))
check('approximate names in %s: %d, want some' % (bin, len(seen)), len(seen) >= 10)
" "$T/names.json"
	fi

	# A stripped copy of a pyenv interpreter's libpython, loaded through
	# LD_LIBRARY_PATH (its RUNPATH names the original); the original's
	# symbol table is the oracle.  A script that ends normally: the blocks
	# live at exit are few, and the check with the debug file stays quick.
	for lib in "$HOME"/.pyenv/versions/3.1[1-3]*/lib/libpython3.1[1-3].so.1.0; do
		[ -f "$lib" ] && readelf -S "$lib" | grep -q '\.symtab' || continue
		v=$(basename "$lib" .so.1.0)
		v=${v#libpython}
		dir=$T/stripped
		mkdir -p "$dir"
		strip -o "$dir/$(basename "$lib")" "$lib" || { fail names-stripped "strip $lib failed"; return; }
		LD_LIBRARY_PATH=$dir "$HS" run -q -o "$T/names-$v.hst" -- "$(dirname "$lib")/../bin/python$v" \
			-c 'x = [str(i) * 3 for i in range(1000)]' >/dev/null 2>"$T/names.err" &&
			"$HS" leaks "$T/names-$v.hst" --kinds all --format json >"$T/names-$v.json" 2>>"$T/names.err" ||
			{ fail names-stripped "$(head -c 300 "$T/names.err")"; return; }
		check "names-stripped-libpython$v" "$NAMES_PY
mod, orig = '$dir/$(basename "$lib")', '$lib'
addr = {n: a for a, s, n in functions(mod, True)}
real = functions(orig, False)
seen = set()
for f in frames_of(J, mod):
    off = int(f['offset'], 16)
    check('frame at 0x%x has no name' % off, f['function'])
    if not f.get('approximate') or off in seen:
        continue
    seen.add(off)
    sym, n = split(f['function'])
    names = sorted(name for a, s, name in real if a <= off - 1 < a + s and a == addr.get(sym, -1) + n)
    check('%s (frame 0x%x) is not the start of the function there' % (f['function'], off), names)
check('approximate names in %s: %d, want some' % (mod, len(seen)), len(seen) >= 10)
" "$T/names-$v.json"
		# its debug file (by build-id): full names, none approximate
		bid=$(readelf -n "$lib" | sed -n 's/.*Build ID: *//p')
		mkdir -p "$T/debug/.build-id/${bid:0:2}"
		objcopy --only-keep-debug "$lib" "$T/debug/.build-id/${bid:0:2}/${bid:2}.debug"
		HEAPSNAP_DEBUG_PATH=$T/debug "$HS" leaks "$T/names-$v.hst" --kinds all --format json >"$T/names-$v.dbg.json"
		check "names-stripped-libpython$v-debug" "$NAMES_PY
mod = '$dir/$(basename "$lib")'
fr = list(frames_of(J, mod))
check('no frames of %s' % mod, fr)
check('approximate names with the debug file: %r' % sorted(set(f['function'] for f in fr if f.get('approximate')))[:5],
      not any(f.get('approximate') for f in fr))
check('frames without a name', all(f['function'] for f in fr))
" "$T/names-$v.dbg.json"
		return
	done
	skip names-stripped "no pyenv CPython 3.11-3.13 with a libpython that has a symbol table"
}

# ---- an explicit PYTHONMALLOC: the allocators installed again, wrapped again ------------

test_pythonmalloc() {
	local m st
	cat >"$T/pm.py" <<'EOF'
import sys
keep = [str(i) * 3 for i in range(30000)]
print(len(keep), sum(len(s) for s in keep))
sys.exit(3)
EOF
	for m in default pymalloc debug malloc; do
		local env=()
		[ $m = default ] || env=(PYTHONMALLOC=$m)
		env "${env[@]}" "$PY" "$T/pm.py" >"$T/pm-$m.plain" 2>&1
		st=$?
		env "${env[@]}" "$HS" run -q -o "$T/pm-$m.hst" -- "$PY" "$T/pm.py" >"$T/pm-$m.out" 2>"$T/pm-$m.err"
		if [ $? != $st ] || [ $st != 3 ] || ! cmp -s "$T/pm-$m.plain" "$T/pm-$m.out"; then
			fail "pythonmalloc-$m" "status or output differ (untraced $st): $(head -c 300 "$T/pm-$m.out" "$T/pm-$m.err")"
			continue
		fi
		"$HS" info "$T/pm-$m.hst" --format json >"$T/pm-$m.info.json" &&
			"$HS" top "$T/pm-$m.hst" --snapshot peak --include '*/pm.py' --format json >"$T/pm-$m.top.json" ||
			{ fail "pythonmalloc-$m" "the trace is not readable"; continue; }
		check "pythonmalloc-$m" "
info, top = J[0], J[1]
ev = info['events']
eq('truncated', info['truncated'], False)
eq('status', info['end']['status'], 3)
# the 30000 strings are blocks: domain events, or malloc events with
# PYTHONMALLOC=malloc (every domain malloc-based, left alone)
n = ev['malloc'] if '$m' == 'malloc' else ev['py_malloc']
check('%d %s events, want 30000 or more' % (n, 'malloc' if '$m' == 'malloc' else 'py_malloc'), n >= 30000)
line = [s for s in top['stats'] if s['key'].endswith('/pm.py:2')]
check('pm.py:2 in the top lines %r' % [s['key'] for s in top['stats']], line)
if line:
    check('pm.py:2: %d blocks, want 30000 or more' % line[0]['count'], line[0]['count'] >= 30000)
" "$T/pm-$m.info.json" "$T/pm-$m.top.json"
	done
	# every mode sees the same blocks at the script's line as the default
	check pythonmalloc-same-sizes "
sizes = [[s['size'] for s in t['stats'] if s['key'].endswith('/pm.py:2')] for t in J]
check('pm.py:2 sizes (default, pymalloc, debug, malloc) %r differ by more than 1%%' % sizes,
      all(s for s in sizes) and max(s[0] for s in sizes) <= 1.01 * min(s[0] for s in sizes))
" "$T/pm-default.top.json" "$T/pm-pymalloc.top.json" "$T/pm-debug.top.json" "$T/pm-malloc.top.json"
}

test_tracemalloc
test_compare
test_extension
test_objgraph
test_objgraph_retainers
test_versions
test_tracebacks
test_names
test_pythonmalloc
finish
