# Description: a Python program whose module-level list grows, for
# tests/retain.sh: each of three phases appends 1000 bytes objects of 200
# bytes (made at the line marked ITEM, the list's storage grown at the
# line marked GROW), then prints what Python says of the list and waits
# for a line on stdin while the heap is scanned.  It reads stdin with
# os.read: a buffered reader's 8 KiB buffer would land on the list's old
# storage, and a scan reads the stale pointers in its unwritten part.
import ctypes
import os
import sys

items = []


def make(n):
    return (bytes(200)  # ITEM
            for _ in range(n))


for phase in range(1, 4):
    items.extend(make(1000))  # GROW
    # ob_item, the list's storage: PyListObject's fourth word
    storage = ctypes.c_void_p.from_address(id(items) + 24).value
    print("phase %d items %d item_bytes %d storage_bytes %d storage 0x%x"
          % (phase, len(items), sum(sys.getsizeof(x) for x in items),
             sys.getsizeof(items) - sys.getsizeof([]), storage), flush=True)
    while os.read(0, 1) not in (b"\n", b""):
        pass
