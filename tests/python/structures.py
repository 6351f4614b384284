"""Description: builds known structures at known lines and keeps them, then
takes a snapshot: heapsnap's (the snapshot signal) or tracemalloc's, whose
top 10 lines by size it writes as JSON.  Used by tests/python.sh.

    python3 structures.py heapsnap          # under heapsnap run --snapshot-signal USR2
    python3 structures.py tracemalloc OUT   # the oracle: tracemalloc's statistics"""
import os
import signal
import sys

mode = sys.argv[1]
if mode == "tracemalloc":
    import tracemalloc
    tracemalloc.start()


class Record:
    def __init__(self, i):
        self.name = "record-%06d" % i
        self.tags = [i, i + 1, i + 2]


def build():
    words = ["w%d" % i * 3 for i in range(30000)]
    table = {i: str(i) * 5 for i in range(20000)}
    records = [Record(i) for i in range(8000)]
    blobs = [bytes(1000 + i % 7) for i in range(900)]
    nested = [[j for j in range(40)] for _ in range(1500)]
    floats = [i * 0.5 for i in range(50000)]
    pairs = {(i, i * 2) for i in range(12000)}
    big = bytearray(700000)
    text = "-".join(words[:20000])
    return words, table, records, blobs, nested, floats, pairs, big, text


kept = build()
if mode == "tracemalloc":
    snap = tracemalloc.take_snapshot()
    snap = snap.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    top = [{"file": s.traceback[0].filename, "line": s.traceback[0].lineno, "size": s.size, "count": s.count}
           for s in snap.statistics("lineno")[:10]]
    import json
    with open(sys.argv[2], "w") as f:
        json.dump(top, f)
else:
    os.kill(os.getpid(), signal.SIGUSR2)
print(len(kept))
