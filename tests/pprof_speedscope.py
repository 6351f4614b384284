#!/usr/bin/env python3
"""Import pprof profiles into speedscope, in headless Chromium, and write
what speedscope made of each as its own JSON export.

    pprof_speedscope.py INDEX.html PROFILE OUT.json [PROFILE OUT.json ...]

INDEX.html is speedscope's release page (npm's speedscope package,
dist/release/index.html).  Each profile is loaded as speedscope's command
line loads a file (a script calling speedscope.loadFileFromBase64, named
in the page's #localProfilePath), so speedscope's own importer reads it:
its gunzip, its protobuf decoder, its choice of sample type.  Then the
toolbar's Export button is clicked and the JSON document it saves (the
format of speedscope's file-format-schema.json) is written to OUT.json.

One line per profile: "ok PROFILE" or "FAIL PROFILE: why" (an alert, as
speedscope shows for a file it cannot import; its "Something went wrong"
page, for one its importer threw on; an uncaught exception; a console
error; a request off this machine; no export within the time).
Exit 0 when every profile imported, 1 when one did not, 2 when Chromium
could not be driven.  tests/pprof.sh checks the exports' numbers.
"""
import base64
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report_browser import Browser, errors_of  # noqa: E402

# Keep the Blob the Export button saves (speedscope hands it to
# URL.createObjectURL for a download link), so that it can be read back.
CAPTURE = """
(() => {
  const create = URL.createObjectURL.bind(URL);
  URL.createObjectURL = o => {
    if (o instanceof Blob && o.type === "text/json") window.__hsExport = o;
    return create(o);
  };
})();
"""

# Click the toolbar's Export button once the profile is shown: "clicked";
# speedscope's page for an import that threw: its text; else null.
CLICK_EXPORT = """
(() => {
  if (/Something went wrong/.test(document.body.innerText)) return document.body.innerText;
  const b = [...document.querySelectorAll("div")].find(d => /^\\S*Export$/.test(d.textContent.trim()));
  if (!b || !document.querySelector("canvas")) return null;
  b.click();
  return "clicked";
})()
"""


def problems(b, page):
    """What went wrong in the page: file:// loads are speedscope's own."""
    out = []
    for e in b.events:
        if e.get("method") == "Page.javascriptDialogOpening":
            out.append("alert: %s" % e["params"].get("message", "")[:200])
    for p in errors_of(b.events, page):
        if not p.startswith("request: file://"):
            out.append(p)
    return out


def import_one(b, index, profile, out, scratch):
    """Load profile into a fresh speedscope page and save its export."""
    with open(profile, "rb") as f:
        data = base64.b64encode(f.read()).decode()
    loader = os.path.join(scratch, "load-%d.js" % len(os.listdir(scratch)))
    with open(loader, "w") as f:
        f.write("speedscope.loadFileFromBase64(%s, %s)" % (json.dumps(os.path.basename(profile)), json.dumps(data)))
    page = "file://" + os.path.abspath(index) + "#localProfilePath=" + loader
    # about:blank first: a new hash alone would not load the page again
    b.send("Page.navigate", {"url": "about:blank"})
    b.pump(0.2)
    b.events = []
    b.send("Page.navigate", {"url": page})
    deadline = time.time() + 30
    text = None
    while time.time() < deadline and text is None:
        b.pump(0.2)
        bad = problems(b, page)
        if bad:
            if any(p.startswith("alert:") for p in bad):
                b.send("Page.handleJavaScriptDialog", {"accept": True})
            return "; ".join(bad)
        state = b.eval(CLICK_EXPORT)
        if state == "clicked":
            text = b.eval("window.__hsExport ? window.__hsExport.text() : null")
        elif state:
            return "speedscope: " + " ".join(state.split())[-200:]
    if text is None:
        return "no export within 30 s"
    with open(out, "w") as f:
        f.write(text)
    return None


def main():
    if len(sys.argv) < 4 or len(sys.argv) % 2:
        sys.stderr.write("usage: pprof_speedscope.py INDEX.html PROFILE OUT.json [PROFILE OUT.json ...]\n")
        return 2
    index = sys.argv[1]
    pairs = list(zip(sys.argv[2::2], sys.argv[3::2]))
    try:
        b = Browser(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    except OSError as e:
        print("FAIL chromium: %s" % e)
        return 2
    failed = 0
    scratch = tempfile.mkdtemp(prefix="hs-speedscope-")
    try:
        b.open_page()
        b.send("Page.addScriptToEvaluateOnNewDocument", {"source": CAPTURE})
        for profile, out in pairs:
            why = import_one(b, index, profile, out, scratch)
            if why:
                failed += 1
                print("FAIL %s: %s" % (profile, why))
            else:
                print("ok %s" % profile)
    except (RuntimeError, TimeoutError, EOFError, OSError) as e:
        print("FAIL chromium: %s" % e)
        return 2
    finally:
        b.close()
        for f in os.listdir(scratch):
            os.unlink(os.path.join(scratch, f))
        os.rmdir(scratch)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
