#!/usr/bin/env python3
"""The README's table from one run of the shared harness.

    python3 bench/table.py build/bench/results/LABEL

reads LABEL.summary.tsv and LABEL.meta.tsv (written by ../shared/bench's
run.sh) and prints heapsnap ("ours"), heaptrack and LeakSanitizer side by
side: wall time, peak RSS and trace bytes, each tool's ratio against the
untraced run of the same repeat (median of the paired ratios), the
geomeans, then the issue's targets, each met or not.  A tool that is
missing from the run, or failed on a workload, shows "-".
"""
import csv
import math
import sys

TOOLS = [("ours", "heapsnap"), ("heaptrack", "heaptrack"), ("lsan", "LSan")]


def load(prefix):
    rows = {}
    with open(prefix + ".summary.tsv") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            if r["workload"] != "GEOMEAN":  # the harness's own; computed here alike
                rows[(r["workload"], r["tool"])] = r
    meta = {}
    try:
        with open(prefix + ".meta.tsv") as f:
            for r in csv.DictReader(f, delimiter="\t"):
                meta[r["key"]] = r["value"]
    except OSError:
        pass
    return rows, meta


def num(r, key):
    """The field as a float, or None when the run failed or it is empty."""
    if not r or r.get("status") != "ok" or not r.get(key):
        return None
    try:
        return float(r[key])
    except ValueError:
        return None


def ratio(x):
    return "-" if x is None else "%.2fx" % x


def size(b):
    if b is None:
        return "-"
    for unit, div in (("MB", 1e6), ("kB", 1e3)):
        if b >= div:
            return "%.1f %s" % (b / div, unit) if b < 100 * div else "%.0f %s" % (b / div, unit)
    return "%d B" % b


def geomean(xs):
    xs = [x for x in xs if x]
    return math.exp(sum(map(math.log, xs)) / len(xs)) if xs else None


def main(prefix):
    rows, meta = load(prefix)
    workloads = sorted({w for w, _ in rows})
    tools = [(t, name) for t, name in TOOLS if any((w, t) in rows for w in workloads)]
    head = ["workload", "untraced"] + [n for _, n in tools] + \
        ["%s RSS" % n for _, n in tools] + ["%s trace" % n for t, n in tools if t != "lsan"]
    print("| " + " | ".join(head) + " |")
    print("|---|" + "---:|" * (len(head) - 1))
    wall = {t: [] for t, _ in tools}
    rss = {t: [] for t, _ in tools}
    for w in workloads:
        base = num(rows.get((w, "none")), "median_wall_s")
        cells = [w, "-" if base is None else "%.2f s" % base]
        for t, _ in tools:
            x = num(rows.get((w, t)), "wall_ratio")
            wall[t].append(x)
            cells.append(ratio(x))
        for t, _ in tools:
            x = num(rows.get((w, t)), "rss_ratio")
            rss[t].append(x)
            cells.append(ratio(x))
        for t, _ in tools:
            if t != "lsan":
                cells.append(size(num(rows.get((w, t)), "median_trace_bytes")))
        print("| " + " | ".join(cells) + " |")
    cells = ["**geomean**", ""]
    cells += ["**%s**" % ratio(geomean(wall[t])) for t, _ in tools]
    cells += ["**%s**" % ratio(geomean(rss[t])) for t, _ in tools]
    cells += ["" for t, _ in tools if t != "lsan"]
    print("| " + " | ".join(cells) + " |")
    print()
    print("%s; median of %s paired runs; %s." % (
        meta.get("host_cpu", "?"), meta.get("repeats", "?"), meta.get("date_utc", "?")))
    targets(rows, workloads)


def targets(rows, workloads):
    """The issue's targets for heapsnap, one line each: met or missed."""
    if not any((w, "ours") in rows for w in workloads):
        return
    print()
    ours = lambda w, k: num(rows.get((w, "ours")), k)
    ht = lambda w, k: num(rows.get((w, "heaptrack")), k)
    checks = []
    g = geomean([ours(w, "wall_ratio") for w in workloads])
    checks.append(("wall geomean <= 1.35x", g is not None and g <= 1.35, ratio(g)))
    for w in ("py_json", "churn"):
        if w in workloads:
            x = ours(w, "wall_ratio")
            checks.append(("%s wall <= 1.8x" % w, x is not None and x <= 1.8, ratio(x)))
    have_ht = any((w, "heaptrack") in rows for w in workloads)
    slower, bigger, fat = [], [], []
    for w in workloads:
        o, h = ours(w, "wall_ratio"), ht(w, "wall_ratio")
        if have_ht and (o is None or (h is not None and o >= h)):
            slower.append(w)
        o, h = ours(w, "median_trace_bytes"), ht(w, "median_trace_bytes")
        if have_ht and (o is None or (h is not None and o > h)):
            bigger.append(w)
        o = ours(w, "rss_ratio")
        if w != "prodcons" and (o is None or o > 1.4):
            fat.append(w)
    if have_ht:
        checks.append(("wall below heaptrack's on every workload", not slower, ", ".join(slower) or "all"))
        checks.append(("trace no larger than heaptrack's on every workload", not bigger,
                       ", ".join(bigger) or "all"))
    checks.append(("peak RSS <= 1.4x (prodcons aside)", not fat, ", ".join(fat) or "all"))
    for what, ok, detail in checks:
        print("- %s %s: %s" % ("met" if ok else "MISSED", what,
                               detail if not ok or detail != "all" else "every workload"))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: table.py RESULTS/LABEL")
    try:
        main(sys.argv[1])
    except OSError as e:
        sys.exit("table.py: %s" % e)
