#!/usr/bin/env python3
"""make-damaged.py - write the damaged traces of issue 15 as regression
inputs of the fuzz targets (tests/fuzz/regress/TARGET/NAME, fuzz.h layout):
small files whose numbers ask for far more than they hold.  Each must be
read, or refused as corrupt, in milliseconds and a few MB (the fuzzers run
them with -malloc_limit_mb and a timeout; tests/faults.sh times the command
on the trace alone).

    python3 tests/fuzz/make-damaged.py
"""
import os
import struct
import zlib

ROOT = os.path.dirname(os.path.abspath(__file__))

# CRC-32C (Castagnoli), as src/util/crc32c.c
POLY = 0x82F63B78
TABLE = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ POLY if c & 1 else c >> 1
    TABLE.append(c)


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def v(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def z(n):
    return v((n << 1) ^ (n >> 63) if n >= 0 else ((-n) << 1) - 1)


def s(b):
    return v(len(b)) + b


def rec(tag, body):
    return bytes([tag]) + v(len(body)) + body


def header(nonce=0x1122334455667788, pid=4321):
    h = bytearray(64)
    h[0:8] = b'HEAPSNAP'
    struct.pack_into('<IIIIQQQ', h, 8, 1, 64, pid, 1, nonce, 1700000000123456789, 5000000000)
    struct.pack_into('<I', h, 60, crc32c(bytes(h[:60])))
    return bytes(h)


def chunk(payload):
    h = bytearray(24)
    struct.pack_into('<IBBBBIII', h, 0, 0x4b434853, 0, 0, 0, 0, len(payload), len(payload), crc32c(payload))
    struct.pack_into('<I', h, 20, crc32c(bytes(h[:20])))
    return bytes(h) + payload


PROCESS = rec(1, v(4321) + v(1) + s(b'/usr/bin/prog') + s(b'prog') + s(b'') + s(b'jemalloc') + v(64))
END = rec(9, v(6000000000) + v(0) + z(0) + v(0) + v(0))


def events(base, tick, evs):
    """evs: (kind, thread, dticks, [infos])"""
    cols = [bytearray() for _ in range(4)]
    for kind, thread, dt, infos in evs:
        cols[0].append(kind)
        cols[1] += v(thread)
        cols[2] += z(dt)
        for i in infos:
            cols[3] += v(i)
    body = v(base) + v(len(evs)) + v(tick)
    for c in cols:
        body += v(len(c)) + bytes(c)
    return rec(6, body)


def trace(*records):
    return header() + chunk(b''.join(records))


def pack(first, second=b''):
    return struct.pack('<I', len(first)) + first + second


def write(target, name, data):
    d = os.path.join(ROOT, 'regress', target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


SCAN = lambda blocks: rec(11, v(5100000000) + v(0) + v(blocks) + v(0) + v(1) + v(0))

damaged = {
    # item 5: one allocinfo id near 2^31 made the reader and the replay
    # size their tables by it (42 GB of address space)
    'huge-allocinfo-id': trace(PROCESS, rec(10, v((1 << 31) - 5) + v(24) + v(1)),
                               events(5000000000, 100000, [(1, 1, 0, [(1 << 31) - 5]), (5, 1, 1, [(1 << 31) - 5])]),
                               END),
    # an event naming allocinfo ids never defined, near 2^32
    'undefined-allocinfo-ids': trace(PROCESS, events(5000000000, 100000,
                                                     [(1, 1, 0, [0xFFFFFFF0]), (3, 1, 1, [0xFFFFFFF0, 0xFFFFFFFE])]),
                                     END),
    # a stack id just under the old limit (2^26): a 1 GB table
    'huge-stack-id': trace(PROCESS, rec(3, v((1 << 26) - 1) + v(1) + v(0) + v(0) + v(0x401000)),
                           rec(10, v(1) + v(8) + v((1 << 26) - 1)),
                           events(5000000000, 100000, [(1, 1, 0, [1])]), END),
    # stacks that share their frames: a few bytes each, 1024 frames kept
    'shared-frames': trace(PROCESS, rec(3, v(1) + v(1000) + v(0) + v(0) + v(0x401000) + b''.join(z(16) for _ in range(999))),
                           *[rec(3, v(i) + v(1000) + v(i - 1) + v(1000)) for i in range(2, 3000)], END),
    # a scan announcing 2^40 blocks, with two
    'scan-huge-count': trace(PROCESS, rec(10, v(1) + v(8) + v(0)), SCAN(1 << 40),
                             rec(12, v(2) + z(0x7f0000001000) + v(1) + z(0) + z(16) + v(1) + z(1)),
                             rec(15, v(0) + v(32) + v(5200000000)), END),
    # edges whose blocks and sources are far past the blocks that came
    'scan-edges-out-of-range': trace(PROCESS, rec(10, v(1) + v(8) + v(0)), SCAN(3),
                                     rec(12, v(1) + z(0x7f0000001000) + v(1) + z(0)),
                                     rec(14, v(0) + v(1 << 40) + v(2) + v(8) + v(((1 << 35) << 1)) + v(8) + v(3)),
                                     rec(14, v(1) + v(7) + v(1) + v(0) + v(0)),
                                     rec(15, v(2) + v(32) + v(5200000000)), END),
    # EVENTS announcing 2^32-1 events over one column byte
    'events-count': trace(PROCESS, rec(6, v(5000000000) + v(0xFFFFFFFF) + v(100000) + v(1) + b'\x01' + v(0) + v(0) + v(0)),
                          END),
    # a module with 2^32-1 segments
    'module-segments': trace(PROCESS, rec(2, v(5000000000) + v(1) + s(b'/lib/x.so') + s(b'') + v(0) + v(0xFFFFFFFF)
                                           + v(0) + v(4096) + v(5)), END),
    # PROGRESS naming the last ring id and a position near 2^64
    'progress': trace(PROCESS, rec(8, v(2) + v(65535) + v((1 << 64) - 1) + v(1 << 40) + v(1))),
}

# A killed trace with a ring file whose segment sizes are not page
# multiples (UBSan: misaligned struct ringfile_seg in seg_at) and whose
# ring claims a huge capacity.
killed = trace(PROCESS, rec(3, v(1) + v(1) + v(0) + v(0) + v(0x401000)), rec(4, v(1) + v(1001) + v(50)))
rings = bytearray(4096)
rings[0:8] = b'HSRINGS1'
struct.pack_into('<IIQ', rings, 8, 1, 0, 0x1122334455667788)
seg = bytearray(4096 + 100)
struct.pack_into('<IIQ', seg, 0, 0x47455348, 1, 4096 + 100)
struct.pack_into('<IIII', seg, 16, 0, 1, 1001, 16)
struct.pack_into('<Q', seg, 64, 40)
seg2 = bytearray(4096)
struct.pack_into('<IIQ', seg2, 0, 0x47455348, 2, 4096)
rings += seg + seg2
damaged_rings = {
    'rings-misaligned-segment': (killed, bytes(rings)),
}
big_cap = bytearray(4096)
big_cap[0:8] = b'HSRINGS1'
struct.pack_into('<IIQ', big_cap, 8, 1, 0, 0x1122334455667788)
seg = bytearray(4096)
struct.pack_into('<IIQ', seg, 0, 0x47455348, 1, 4096)
struct.pack_into('<IIII', seg, 16, 0, 1, 1001, 1 << 31)
struct.pack_into('<Q', seg, 64, (1 << 64) - 1)
damaged_rings['rings-huge-capacity'] = (killed, bytes(big_cap + seg))

for target in ('reader', 'info', 'leaks', 'stats'):
    for name, data in damaged.items():
        write(target, name, pack(data))
    for name, (t, r) in damaged_rings.items():
        write(target, name, pack(t, r))
write('diff', 'huge-allocinfo-id', pack(damaged['huge-allocinfo-id'], damaged['huge-allocinfo-id']))
write('diff', 'scan-huge-count', pack(damaged['scan-huge-count'], damaged['huge-stack-id']))
print('wrote', len(damaged) + len(damaged_rings), 'damaged traces')
