#!/usr/bin/env bash
# make demo: build the bundled leaky program, trace it, print the report.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/build/demo
mkdir -p "$OUT"
# Built from the top of the tree with a relative path, so that its reports
# name tests/demo/leaky.c wherever the tree is (README.md shows them).
(cd "$ROOT" && cc -O0 -g -fno-omit-frame-pointer -Iinclude -o build/demo/leaky tests/demo/leaky.c -pthread)
echo "\$ heapsnap run -o build/demo/leaky.hst -- build/demo/leaky"
"$ROOT/build/bin/heapsnap" run -o "$OUT/leaky.hst" -- "$OUT/leaky"
echo
echo "\$ heapsnap info build/demo/leaky.hst"
"$ROOT/build/bin/heapsnap" info "$OUT/leaky.hst"
echo
echo "\$ heapsnap leaks build/demo/leaky.hst"
"$ROOT/build/bin/heapsnap" leaks "$OUT/leaky.hst"
echo "\$ heapsnap cycles build/demo/leaky.hst"
"$ROOT/build/bin/heapsnap" cycles "$OUT/leaky.hst"
echo "\$ heapsnap check --format junit --output build/demo/leaks.xml -- build/demo/leaky; echo \$?"
status=0
"$ROOT/build/bin/heapsnap" check --format junit --output "$OUT/leaks.xml" -- "$OUT/leaky" || status=$?
echo "$status    (23: leaks remain, as LeakSanitizer's exit code; the JUnit report is in build/demo/leaks.xml)"
