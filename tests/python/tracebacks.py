"""Description: allocations whose Python tracebacks CPython itself shortens:
a class's __init__ called through 3.13's shim frame (CALL_ALLOC_AND_ENTER_INIT
runs __init__ under a frame of its own, named "__init__", that tracebacks
leave out) and generator objects, made while the generator function's frame
is not yet at its first instruction.  Keeps them and leaves with os._exit, so
that the exit scan sees them all.  Used by tests/python.sh.

    python3 tracebacks.py heapsnap          # under heapsnap run
    python3 tracebacks.py tracemalloc OUT   # the oracle: tracemalloc's top
                                            # 3 tracebacks, innermost first
Imports nothing more than it needs under heapsnap, so that its trace stays
small (the analyses symbolize every stack live at exit)."""
import os
import sys


def make(n):
    return [str(i) * 10 for i in range(n)]


class Holder:
    def __init__(self):
        self.data = make(500)


def gen(n):
    yield n


def gens(n):
    return [gen(i) for i in range(n)]


def build():
    holders = [Holder() for _ in range(24)]
    return holders, gens(5000)


if sys.argv[1] == "tracemalloc":
    import tracemalloc
    tracemalloc.start(16)
kept = build()
if sys.argv[1] == "tracemalloc":
    import json
    snap = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(True, __file__)])
    top = [{"size": s.size, "frames": [[f.filename, f.lineno] for f in reversed(list(s.traceback))]}
           for s in snap.statistics("traceback")[:3]]
    with open(sys.argv[2], "w") as f:
        json.dump(top, f)
sys.stdout.flush()
os._exit(0)
