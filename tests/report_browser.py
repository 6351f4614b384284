#!/usr/bin/env python3
"""Load a heapsnap report in headless Chromium and check what the page shows.

    report_browser.py --batch FILE      each line: NAME PAGE.html [options below]
    report_browser.py PAGE.html [--screenshot OUT.png] [--clip HEIGHT] [--dump OUT.json]
                      [--click-flame] [--info I.json] [--leaks L.json] [--top T.json]
                      [--growth G.json] [--range-diff D.json] [--baseline B.json] [--temporary T.json]
                      [--truncated] [--no-scan] [--steps N] [--rss-above MIB]
                      [--infos I1.json,I2.json,...] [--processes T1.json,T2.json,...]

Chromium is driven through the DevTools protocol on --remote-debugging-pipe
(file descriptors 3 and 4, messages ending in NUL), so nothing beyond the
standard library is needed.  It reads what the rendered DOM shows (the
text of the summary, the leak summary, the top table, the cycles, the chart)
and fails, one line per problem, on any uncaught exception, console error,
network request or failed load (a report loads nothing), and on any number
that differs from the heapsnap command's JSON given with --info, --leaks,
--top (`top --format json`: its first 5 lines and total), --temporary
(`top --temporary`: the first 5 lines of the temporary table), --growth (`top
--growth`), --range-diff (`diff --from A --to B`: the chart's A-to-B table)
or --baseline (`diff OLD NEW`).  --click-flame clicks a flame-graph frame
with the mouse and checks that it zooms to the full width.  --steps N: the
heap line of the chart rises at each of N snapshots; --rss-above MIB: the
resident-memory line rises above the y-axis tick of MIB MiB.  A report of
several traces: --infos (each trace's `info --format json`, in the report's
order) checks the summary's sums, its largest peak and each trace's peak;
--processes (each trace's `top --format json`) chooses each process in the
header and checks that the sections redraw with its top table.  Exit 0 when every
check passed, 1 when one failed, 2 when Chromium could not be driven.
With --batch, one browser loads every page of the file, and one line per
page says "ok NAME" or "FAIL NAME: why"; the exit status is 0 unless the
browser could not be driven.
"""
import base64
import json
import os
import select
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
    "--remote-debugging-pipe", "--hide-scrollbars", "--mute-audio",
]


class Browser:
    """One Chromium process and one page, spoken to over the pipe."""

    def __init__(self, binary):
        self.profile = tempfile.mkdtemp(prefix="hs-chromium-")
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()
        # Chromium reads commands on fd 3 and writes replies on fd 4.  Moved
        # out of the way first (either end may be 3 or 4 already); fds not
        # in pass_fds are closed after preexec_fn runs.
        def child_fds():
            r, w = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(r, 3)
            os.dup2(w, 4)
        self.proc = subprocess.Popen(
            [binary] + CHROMIUM_FLAGS + ["--user-data-dir=" + self.profile, "about:blank"],
            preexec_fn=child_fds, pass_fds=(3, 4),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.session = None

    def close(self):
        try:
            self.send("Browser.close", session=False, wait=False)
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def _read_message(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.time()
            if left <= 0 or not select.select([self.from_browser], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self.from_browser, 1 << 20)
            if not chunk:
                raise EOFError("Chromium closed the pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=True, wait=True, timeout=30):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.to_browser, json.dumps(msg).encode() + b"\0")
        if not wait:
            return None
        deadline = time.time() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.events.append(m)

    def pump(self, seconds):
        """Collect events for a while."""
        deadline = time.time() + seconds
        try:
            while True:
                self.events.append(self._read_message(deadline))
        except TimeoutError:
            pass

    def open_page(self):
        self.target = target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 session=False)["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            self.send(domain + ".enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False})

    def eval(self, expr):
        r = self.send("Runtime.evaluate", {"expression": expr, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in r:
            raise RuntimeError("evaluate: %s" % r["exceptionDetails"])
        return r["result"].get("value")

    def click(self, x, y):
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent",
                      {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1})


def errors_of(events, page_url):
    """Everything that says the page failed or reached out."""
    out = []
    for e in events:
        m, p = e.get("method"), e.get("params", {})
        if m == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            out.append("exception: %s" % (d.get("exception", {}).get("description") or d.get("text")))
        elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            out.append("console.%s: %s" % (p["type"], " ".join(str(a.get("value", a.get("description")))
                                                               for a in p.get("args", []))))
        elif m == "Log.entryAdded" and p["entry"].get("level") == "error":
            out.append("log: %s" % p["entry"].get("text"))
        elif m == "Network.loadingFailed":
            out.append("failed load: %s" % p.get("errorText"))
        elif m == "Network.requestWillBeSent" and p["request"]["url"] != page_url:
            out.append("request: %s" % p["request"]["url"])
    return out


# What the page shows, read from the rendered DOM (text, not the data).
EXTRACT = r"""
(() => {
  const num = s => s === null ? null : Number(String(s).replace(/[^0-9-]/g, ""));
  const field = f => { const e = document.querySelector('[data-field="' + f + '"]'); return e ? e.textContent : null; };
  const out = {ready: document.body.getAttribute("data-ready"), ready_ms: Number(document.body.getAttribute("data-ready-ms")),
    error_box: document.getElementById("error").hidden ? "" : document.getElementById("error").textContent};
  out.summary = {peak_bytes: num(field("peak.bytes")), live_bytes: num(field("live.bytes")), events: num(field("events")),
    cycles: num(field("cycles.count")), truncated: field("truncated"), no_scan: field("no-scan")};
  out.leak_summary = {};
  document.querySelectorAll('table[data-table="leak-summary"] tbody tr').forEach(tr => {
    const td = tr.querySelectorAll("td");
    out.leak_summary[tr.getAttribute("data-kind")] = {bytes: num(td[1].textContent), blocks: num(td[2].textContent)};
  });
  out.top = [...document.querySelectorAll('table[data-table="top-lineno"] tbody tr')].slice(0, 5).map(tr => {
    const td = tr.querySelectorAll("td");
    return {key: td[0].textContent, size: num(td[1].textContent), count: num(td[2].textContent)};
  });
  out.top_total = {size: num(field("top.total.size")), count: num(field("top.total.count"))};
  out.cycles = [...document.querySelectorAll("div.cycle")].map(d => ({
    blocks: num(d.querySelector('[data-field="cycle.blocks"]').textContent),
    nodes: d.querySelectorAll("g.node").length, edges: d.querySelectorAll("g.edge").length}));
  out.loss_records = document.querySelectorAll('[data-list="leaks"] details').length;
  out.chart = {heap_points: (document.querySelector(".heap-line") || {getAttribute: () => ""}).getAttribute("points").split(" ").length,
    rss: !!document.querySelector(".rss-line"), snapshots: document.querySelectorAll("g.snap").length,
    peak: !!document.querySelector("g.peak")};
  out.temporary_total = num(field("temporary.total"));
  /* the largest resident size the chart draws: the RSS line's topmost point, read back through the y axis */
  const rss = document.querySelector(".rss-line");
  if (rss) {
    const ticks = [...document.querySelectorAll(".chart .axis text[text-anchor=end]")].map(t => [Number(t.getAttribute("y")) - 4, t.textContent]);
    const ys = rss.getAttribute("points").split(" ").map(p => Number(p.split(",")[1]));
    out.chart.rss_top_y = Math.min(...ys);
    out.chart.y_ticks = ticks;
  }
  out.allocating_total = num(field("allocating.total"));
  return out;
})()
"""

# The widest frame below the root that does not span the graph yet.
FIND_FRAME = r"""
(() => {
  const svg = document.querySelector('svg[data-chart="flame"]');
  const full = svg.getBoundingClientRect().width;
  let best = null;
  svg.querySelectorAll("g.frame:not(.dim)").forEach(g => {
    const w = g.querySelector("rect").getBoundingClientRect().width;
    if (w < full * 0.9 && w > 4 && (!best || w > best.w)) best = {g: g, w: w};
  });
  if (!best) return {full: full, frame: null};
  /* to the middle of the window, clear of the sticky header */
  best.g.scrollIntoView({block: "center"});
  const r = best.g.querySelector("rect").getBoundingClientRect();
  return {full: full, frame: {name: best.g.getAttribute("data-frame"), w: r.width, x: r.left + Math.min(r.width / 2, 20), y: r.top + r.height / 2}};
})()
"""

WIDTH_OF = r"""
(name => {
  const svg = document.querySelector('svg[data-chart="flame"]');
  const g = [...svg.querySelectorAll("g.frame")].find(g => g.getAttribute("data-frame") === name);
  return g ? g.querySelector("rect").getBoundingClientRect().width : null;
})(%s)
"""


# The heap line's value (SVG y: smaller is more) just before each snapshot
# marker, read from the rendered polyline.
STEPS = r"""
(() => {
  const pts = document.querySelector(".heap-line").getAttribute("points").split(" ").map(p => p.split(",").map(Number));
  return [...document.querySelectorAll("g.snap line")].map(l => {
    const x = Number(l.getAttribute("x1"));
    let y = null;
    pts.forEach(p => { if (p[0] <= x) y = p[1]; });
    return y;
  });
})()
"""

RANGE_DIFF = r"""
({rows: [...document.querySelectorAll('table[data-table="range-diff"] tbody tr')].map(tr => {
  const td = tr.querySelectorAll("td");
  return {key: td[0].textContent, size_diff: Number(td[2].textContent.replace(/[^0-9-]/g, "")),
          count_diff: Number(td[3].textContent.replace(/[^0-9-]/g, ""))};
}),
 rest: [document.querySelector('[data-field="range-diff.rest.size"]'), document.querySelector('[data-field="range-diff.rest.count"]')]
       .map(e => e ? Number(e.textContent.replace(/[^0-9-]/g, "")) : 0)})
"""

# The loss records listed (not suppressed, not reachable): class, bytes, blocks.
LOSS_RECORDS = r"""
[...document.querySelectorAll('[data-list="leaks"] details:not(.suppressed)')].filter(d => d.getAttribute("data-kind") !== "reachable").map(d => {
  const n = d.querySelector("summary .num").textContent.split(" in ");
  return [d.getAttribute("data-kind"), Number(n[0].replace(/[^0-9]/g, "")), Number(n[1].replace(/[^0-9]/g, ""))];
})
"""

BASELINE = r"""
({total: document.querySelector('[data-field="baseline.total.size_diff"]').textContent,
  rows: [...document.querySelectorAll('table[data-table="baseline"] tbody tr')].map(tr => {
  const td = tr.querySelectorAll("td");
  return {key: td[0].textContent, size_diff: Number(td[2].textContent.replace(/[^0-9-]/g, ""))};
})})
"""

TEMPORARY = r"""
[...document.querySelectorAll('table[data-table="temporary"] tbody tr')].map(tr => {
  const td = tr.querySelectorAll("td");
  return {key: td[0].textContent, count: Number(td[1].textContent.replace(/[^0-9-]/g, "")),
          size: Number(td[2].textContent.replace(/[^0-9-]/g, ""))};
})
"""

GROWTH = r"""
[...document.querySelectorAll('table[data-table="growth"] tbody tr')].map(tr => {
  const td = tr.querySelectorAll("td");
  return {key: td[0].textContent, size: Number(td[1].textContent.replace(/[^0-9-]/g, "")),
          spark: tr.querySelectorAll("svg.spark polyline").length};
})
"""


# Per trace, the peak the summary's facts show.
TRACE_PEAKS = r"""
[...document.querySelectorAll('[data-field^="trace-peak."]')].map(e => Number(e.textContent.split(" B")[0].replace(/[^0-9]/g, "")))
"""

# The processes the header offers.
PROCESS_OPTIONS = r"""
(() => { const s = document.getElementById("process"); return s ? s.options.length : 0; })()
"""

# Choose process %d in the header; what the time-based sections show then.
CHOOSE_PROCESS = r"""
(i => {
  const s = document.getElementById("process");
  s.value = String(i);
  s.dispatchEvent(new Event("change"));
  const num = t => Number(String(t).replace(/[^0-9-]/g, ""));
  const field = f => { const e = document.querySelector('[data-field="' + f + '"]'); return e ? e.textContent : null; };
  return {
    note: field("process.timeline"),
    heap_line: !!document.querySelector(".heap-line"),
    flames: document.querySelectorAll('svg[data-chart="flame"]').length,
    top: [...document.querySelectorAll('table[data-table="top-lineno"] tbody tr')].slice(0, 5).map(tr => {
      const td = tr.querySelectorAll("td");
      return {key: td[0].textContent, size: num(td[1].textContent), count: num(td[2].textContent)};
    }),
    total: {size: num(field("top.total.size")), count: num(field("top.total.count"))}};
})(%d)
"""


def load(path):
    with open(path) as f:
        return json.load(f)


def check_page(out, args, b, errs):
    """Compare what the page shows with the command's JSON."""
    def eq(what, got, want):
        if got != want:
            errs.append("%s: page shows %r, heapsnap says %r" % (what, got, want))

    def opt(name):
        return args[args.index(name) + 1] if name in args else None

    if opt("--info"):
        i = load(opt("--info"))
        eq("peak bytes", out["summary"]["peak_bytes"], i["peak"]["bytes"])
        eq("live bytes at exit", out["summary"]["live_bytes"], i["live"]["bytes"])
        eq("events", out["summary"]["events"], i["total_events"])
    if opt("--leaks"):
        l = load(opt("--leaks"))
        if "traces" in l:
            # `leaks` of several traces: the summary adds them up, the
            # cycles are each trace's in order
            l["scanned"] = any(t["scanned"] for t in l["traces"])
            l["cycles"] = [c for t in l["traces"] for c in t.get("cycles", [])]
            l["leaks"] = [x for t in l["traces"] for x in t.get("leaks", [])]
        if l["scanned"]:
            for k in ("definite", "indirect", "possible", "reachable", "suppressed"):
                eq(k + " leak summary", out["leak_summary"].get(k), l["summary"][k])
            eq("cycle count", out["summary"]["cycles"], len(l["cycles"]))
            eq("cycles drawn", len(out["cycles"]), len(l["cycles"]))
            eq("cycle member counts", [c["blocks"] for c in out["cycles"]], [c["blocks"] for c in l["cycles"]])
            eq("cycle nodes drawn", [c["nodes"] for c in out["cycles"]], [min(c["blocks"], 24) for c in l["cycles"]])
            eq("cycle edges drawn", [c["edges"] for c in out["cycles"]],
               [sum(1 for e in c["edges"] if e["from"] < 24 and e["to"] < 24) for c in l["cycles"]])
            if len(l["leaks"]) < 500:
                eq("loss records", sorted(b.eval(LOSS_RECORDS)),
                   sorted([x["kind"], x["bytes"], x["blocks"]] for x in l["leaks"] if x["kind"] != "reachable"))
    if opt("--info"):
        eq("temporary allocations", out["temporary_total"], load(opt("--info")).get("temporary"))
    if opt("--temporary"):
        t = load(opt("--temporary"))
        rows = b.eval(TEMPORARY)
        eq("temporary sites", rows[:5], [{"key": x["key"], "count": x["count"], "size": x["size"]} for x in t["stats"][:5]])
    if opt("--top"):
        t = load(opt("--top"))
        eq("top 5 lines", out["top"], [{"key": x["key"], "size": x["size"], "count": x["count"]} for x in t["stats"][:5]])
        eq("top total", out["top_total"], t["total"])
    if opt("--growth"):
        g = load(opt("--growth"))
        rows = b.eval(GROWTH)
        eq("growth sites", sorted((r["key"], r["size"]) for r in rows),
           sorted((x["key"], x["sizes"][-1]) for x in g["growth"]))
        eq("growth sparklines", sum(r["spark"] for r in rows), len(g["growth"]))
    if opt("--range-diff"):
        # every row the page lists (the 15 largest changes), and the rest
        # adding up to the whole heap's change, as `diff` has them
        d = load(opt("--range-diff"))
        got = b.eval(RANGE_DIFF)
        want = [{"key": x["key"], "size_diff": x["size_diff"], "count_diff": x["count_diff"]}
                for x in d["stats"] if x["size_diff"] or x["count_diff"]]
        want.sort(key=lambda x: (-abs(x["size_diff"]), x["key"]))
        eq("A to B differences", got["rows"], want[:15])
        eq("A to B, every other site", got["rest"],
           [d["total"]["size_diff"] - sum(x["size_diff"] for x in want[:15]),
            d["total"]["count_diff"] - sum(x["count_diff"] for x in want[:15])])
    if opt("--baseline"):
        d = load(opt("--baseline"))
        got = b.eval(BASELINE)
        eq("baseline total", int(got["total"].replace(",", "").replace(" B", "")), d["total"]["size_diff"])
        want = [{"key": x["key"], "size_diff": x["size_diff"]} for x in d["stats"]]
        eq("baseline lines", got["rows"][:5], want[:5])
    if opt("--infos"):
        # several traces, each one's `info --format json`, in the report's order
        infos = [load(p) for p in opt("--infos").split(",")]
        eq("events of every trace", out["summary"]["events"], sum(i["total_events"] for i in infos))
        eq("live bytes of every trace", out["summary"]["live_bytes"], sum(i["live"]["bytes"] for i in infos))
        eq("the largest peak", out["summary"]["peak_bytes"], max(i["peak"]["bytes"] for i in infos))
        eq("the peak of each trace", b.eval(TRACE_PEAKS), [i["peak"]["bytes"] for i in infos])
    if opt("--processes"):
        # each process chosen in the header: its chart and its top table
        # (`top --format json` of its trace)
        tops = [load(p) for p in opt("--processes").split(",")]
        eq("processes to choose from", b.eval(PROCESS_OPTIONS), len(tops))
        for i, t in enumerate(tops):
            got = b.eval(CHOOSE_PROCESS % i)
            eq("process %d: top 5 lines" % i, got["top"],
               [{"key": x["key"], "size": x["size"], "count": x["count"]} for x in t["stats"][:5]])
            eq("process %d: top total" % i, got["total"], t["total"])
            eq("process %d: drawn once" % i, (got["heap_line"], got["flames"]), (True, 1))
            pid = "Process %s " % load(opt("--infos").split(",")[i])["pid"] if opt("--infos") else "Process "
            if not got["note"] or pid not in got["note"]:
                errs.append("process %d: the sections do not say they show %r: %r" % (i, pid, got["note"]))
    if "--truncated" in args and not out["summary"]["truncated"]:
        errs.append("the page does not say the trace is truncated")
    if "--no-scan" in args and not out["summary"]["no_scan"]:
        errs.append("the page does not say the trace has no pointer scan")
    if opt("--rss-above"):
        # the RSS line must rise above the tick labelled with this many MiB
        mib = int(opt("--rss-above"))
        ch = out["chart"]
        tick = [y for y, text in ch.get("y_ticks", []) if text == "%d MiB" % mib or text == "%.1f MiB" % mib]
        if not ch["rss"]:
            errs.append("the chart has no resident-memory line")
        elif not tick or ch["rss_top_y"] > tick[0]:
            errs.append("the resident-memory line stays below %d MiB (top y %r, ticks %r)" % (mib, ch["rss_top_y"], ch.get("y_ticks")))
    if opt("--steps"):
        ys = b.eval(STEPS)
        eq("snapshot markers", len(ys), int(opt("--steps")))
        if any(y is None for y in ys) or any(b_ >= a for a, b_ in zip(ys, ys[1:])):
            errs.append("the heap line does not rise at every snapshot: y = %r" % ys)
    f = out.get("flame")
    if "--click-flame" in args:
        if not f or not f["frame"]:
            errs.append("no flame-graph frame narrower than the graph to click")
        elif not f["after"] or f["after"] <= f["frame"]["w"] or abs(f["after"] - f["full"]) > 2:
            errs.append("clicking frame %r (%.0f px of %.0f) did not zoom it: %r px after" %
                        (f["frame"]["name"], f["frame"]["w"], f["full"], f["after"]))


def check_one(b, args):
    """Load the page args[0] in a new tab of b, check it; return the errors."""
    page = os.path.abspath(args[0])
    url = "file://" + page
    shot = args[args.index("--screenshot") + 1] if "--screenshot" in args else None
    clip = int(args[args.index("--clip") + 1]) if "--clip" in args else 0
    b.open_page()
    b.events = []
    t0 = time.time()
    b.send("Page.navigate", {"url": url})
    ready = None
    while time.time() - t0 < 30:
        ready = b.eval("document.readyState === 'complete' && document.body && document.body.getAttribute('data-ready')")
        if ready:
            break
        b.pump(0.02)
    out = b.eval(EXTRACT) if ready else {"ready": None}
    out["wall_to_ready_s"] = round(time.time() - t0, 3)
    if shot:
        params = {"format": "png"}
        if clip:
            params["clip"] = {"x": 0, "y": 0, "width": 1280, "height": clip, "scale": 1}
            params["captureBeyondViewport"] = True
        b.eval("window.scrollTo(0, 0)")
        data = b.send("Page.captureScreenshot", params)["data"]
        with open(shot, "wb") as f:
            f.write(base64.b64decode(data))
    if "--click-flame" in args and ready:
        found = b.eval(FIND_FRAME)
        out["flame"] = {"full": found["full"], "frame": found["frame"]}
        if found["frame"]:
            f = found["frame"]
            b.click(f["x"], f["y"])
            out["flame"]["after"] = b.eval(WIDTH_OF % json.dumps(f["name"]))
    # let late events (a failed load, an error in a timer) arrive
    b.pump(0.1)
    errs = errors_of([e for e in b.events if e.get("sessionId") == b.session], url)
    if not ready:
        errs.append("the page never became ready (body[data-ready])")
    elif out["error_box"]:
        errs.append("the page reports: " + out["error_box"].strip())
    else:
        check_page(out, args, b, errs)
    b.send("Target.closeTarget", {"targetId": b.target}, session=False)
    out["errors"] = errs
    if "--dump" in args:
        with open(args[args.index("--dump") + 1], "w") as f:
            json.dump(out, f, indent=1)
    return errs


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__, file=sys.stderr)
        return 1
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if not binary:
        print("report_browser: chromium is not installed")
        return 2
    b = Browser(binary)
    try:
        if args[0] != "--batch":
            errs = check_one(b, args)
            for e in errs:
                print(e)
            return 1 if errs else 0
        # --batch FILE: lines "NAME PAGE OPTIONS...", one browser for all
        with open(args[1]) as f:
            jobs = [shlex.split(line) for line in f if line.strip()]
        for job in jobs:
            errs = check_one(b, job[1:])
            print("ok   %s" % job[0] if not errs else "FAIL %s: %s" % (job[0], "; ".join(errs)[:2000]))
        return 0
    finally:
        b.close()


if __name__ == "__main__":
    sys.exit(main())
