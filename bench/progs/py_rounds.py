"""The py_json workload of the shared bench harness, in rounds, for
bench/attach.sh: build records, JSON round trip, dict/str/list churn.
Each round prints "round I CPU_SECONDS MONOTONIC_SECONDS" (flushed);
runs until the file argv[1] exists, or argv[2] rounds."""
import json
import os
import sys
import time


def work(n):
    records = []
    for i in range(n):
        records.append({
            "id": i,
            "name": "user%06d" % i,
            "email": "user%d@example%d.org" % (i, i % 97),
            "tags": ["t%d" % (i % 17), "g%d" % (i % 5), "x" * (i % 7)],
            "score": (i * 7919) % 10007 / 10.0,
            "meta": {"k": str(i) * 3, "even": i % 2 == 0, "bucket": i % 251},
        })
    back = json.loads(json.dumps(records))
    by_tag = {}
    for r in back:
        by_tag.setdefault(r["tags"][0], []).append(r["name"].upper())
    words = " ".join(r["email"] for r in back).replace("@", " ").replace(".", " ").split()
    freq = {}
    for w in words:
        freq[w[-3:]] = freq.get(w[-3:], 0) + 1
    return len(by_tag) + len(freq)


stop, rounds = sys.argv[1], int(sys.argv[2])
for r in range(rounds):
    if os.path.exists(stop):
        break
    c0 = time.process_time()
    work(4000)
    print("round", r, time.process_time() - c0, time.monotonic(), flush=True)
