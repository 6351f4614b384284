"""Description: builds structures, takes a snapshot, then frees some,
grows some and builds others at known lines, and takes another: heapsnap's
two snapshots (the snapshot signal) or tracemalloc's compare_to() of them,
whose lines it writes as JSON.  Used by tests/python.sh.

    python3 compare.py heapsnap          # under heapsnap run --snapshot-signal USR2
    python3 compare.py tracemalloc OUT   # the oracle: tracemalloc's compare_to"""
import os
import signal
import sys

mode = sys.argv[1]
if mode == "tracemalloc":
    import tracemalloc
    tracemalloc.start()


def snapshot():
    if mode == "tracemalloc":
        s = tracemalloc.take_snapshot()
        return s.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    os.kill(os.getpid(), signal.SIGUSR2)


gone = ["g%d" % i * 4 for i in range(25000)]
grows = [[i] for i in range(6000)]
stays = {i: "s%d" % i for i in range(9000)}
first = snapshot()
del gone
for i, l in enumerate(grows):
    l.extend(range(i % 5 + 3))
names = ["name-%07d" % i for i in range(18000)]
blobs = [bytes(700 + i % 3) for i in range(1100)]
table = {i: (i, -i) for i in range(7000)}
floats = [i / 3 for i in range(40000)]
second = snapshot()
if mode == "tracemalloc":
    import json
    top = [{"file": s.traceback[0].filename, "line": s.traceback[0].lineno, "size_diff": s.size_diff,
            "count_diff": s.count_diff} for s in second.compare_to(first, "lineno")]
    with open(sys.argv[2], "w") as f:
        json.dump(top, f)
print(len(names), len(stays))
