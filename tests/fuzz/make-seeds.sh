#!/bin/bash
# make-seeds.sh - make the seed corpus of the fuzz targets, tests/fuzz/corpus/
# TARGET/NAME, from real traces of the test programs: complete, with
# snapshots, with a pointer scan and leaked cycles, threaded, a forked
# child, killed with its ring file, and cut short.  The seeds are in the
# tree; run this again when the format changes (make progs leak-progs
# first).  Input layout: tests/fuzz/fuzz.h.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HS=$ROOT/build/bin/heapsnap
P=$ROOT/build/tests/progs
L=$ROOT/build/tests/leaks
C=$ROOT/tests/fuzz/corpus
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"

# Small rings: seeds stay small (the ring file's stack segments are cut to
# what they hold, below).
export HEAPSNAP_OPTIONS=ring_records=1024
run() { # NAME PROG ARGS...: trace into NAME.hst
	local name=$1
	shift
	"$HS" run -q -o "$T/$name.hst" -- "$@" >/dev/null 2>&1 || true
}
run counts "$P/counts"
run snapshots "$P/snapshots"
run threads "$P/threads_exit"
run stacks "$P/stacks"
run cycle2 "$L/cycle2"
run tree "$L/tree"
run two_cycles "$L/two_cycles"
run interior "$L/interior"
run fork "$L/fork_child"
run killed "$P/crash" kill 300

# pack OUT FIRST [SECOND]: the fuzz.h layout
pack() {
	python3 - "$@" <<'PY'
import struct, sys
out, first = sys.argv[1], open(sys.argv[2], 'rb').read()
second = open(sys.argv[3], 'rb').read() if len(sys.argv) > 3 else b''
open(out, 'wb').write(struct.pack('<I', len(first)) + first + second)
PY
}

# compact RINGS: each segment cut to what it holds (page multiples), so
# that a seed is kilobytes, not the megabyte of an empty stack segment.
compact() {
	python3 - "$1" <<'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read()
out, off = bytearray(data[:4096]), 4096
while off + 16 <= len(data):
    magic, typ, size = struct.unpack_from('<IIQ', data, off)
    if magic != 0x47455348 or size < 4096 or off + size > len(data):
        break
    seg = bytearray(data[off:off + size])
    if typ in (2, 4):  # stacks, modules: keep the entries used
        used = struct.unpack_from('<Q', seg, 16)[0]
        keep = (64 + used + 4095) // 4096 * 4096
        seg = seg[:keep]
        struct.pack_into('<Q', seg, 8, keep)
    out += seg
    off += size
open(sys.argv[1], 'wb').write(bytes(out))
PY
}

mkdir -p "$C"/{reader,info,leaks,stats,diff}
compact killed.hst.rings
for t in reader info leaks stats; do
	for n in counts snapshots threads stacks cycle2 tree two_cycles interior fork; do
		pack "$C/$t/$n" "$n.hst"
	done
	pack "$C/$t/killed-rings" killed.hst killed.hst.rings
	pack "$C/$t/killed-no-rings" killed.hst
	head -c $(( $(stat -c %s snapshots.hst) * 2 / 3 )) snapshots.hst >cut.hst
	pack "$C/$t/cut" cut.hst
done
pack "$C/diff/counts-snapshots" counts.hst snapshots.hst
pack "$C/diff/cycle2-tree" cycle2.hst tree.hst
pack "$C/diff/snapshots-killed" snapshots.hst killed.hst
pack "$C/diff/stacks-threads" stacks.hst threads.hst
ls -la "$C"/*/ | head -80
