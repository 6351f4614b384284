#!/bin/bash
# suite.sh - run one suite of make check, with its output held back and
# printed whole when it ends, so that suites run side by side (make -j)
# never interleave their lines.
#
#   bash tests/suite.sh LOGDIR NAME TITLE CMD...
#
# Runs CMD with stdout and stderr in LOGDIR/NAME.log, then prints, under a
# lock (LOGDIR/print.lock) so that two suites ending together do not mix:
#
#   == TITLE
#   ...the whole log...
#   -- NAME: ok|FAILED (exit N), W s wall, C CPU-s
#
# and writes LOGDIR/NAME.result, one line "STATUS WALL CPU TOTALS", read by
# tests/summary.sh (TOTALS: the log's last line, the suite's totals line).
# Always exits 0: a failed suite must not stop make from starting the
# others; summary.sh fails the check.
set -u
dir=$1 name=$2 title=$3
shift 3
log=$dir/$name.log
# CPU seconds are those of the suite's processes that were waited for
# (user + system): unlike wall time they mean something on a loaded machine.
TIMEFORMAT='%R %U %S'
{ time "$@" >"$log" 2>&1 </dev/null; } 2>"$dir/$name.time"
status=$?
read -r wall user sys <"$dir/$name.time" 2>/dev/null
cpu=$(awk -v u="${user:-0}" -v s="${sys:-0}" 'BEGIN { printf "%.1f", u + s }')
totals=$(grep -v '^[[:space:]]*$' "$log" | tail -n 1)
exec 9>>"$dir/print.lock"
flock 9
echo "== $title"
cat "$log"
if [ "$status" = 0 ]; then
	echo "-- $name: ok, ${wall} s wall, $cpu CPU-s"
else
	echo "-- $name: FAILED (exit $status), ${wall} s wall, $cpu CPU-s"
fi
flock -u 9
echo "$status $wall $cpu $totals" >"$dir/$name.result"
exit 0
