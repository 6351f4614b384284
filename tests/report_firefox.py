#!/usr/bin/env python3
"""Load heapsnap reports in headless Firefox and check what the pages show.

    report_firefox.py --batch FILE      each line: NAME PAGE.html [options of report_browser.py]

The same checks as report_browser.py (Chromium), read from the DOM that
Firefox rendered: the summary, the leak summary, the top table, the cycles,
the chart, the processes of a report of several traces; --click-flame
clicks a flame-graph frame and checks that it zooms to the full width.

Firefox is driven through Marionette, its own remote protocol (a TCP
connection on localhost; messages "LENGTH:JSON"), which firefox-esr has
built in, so nothing beyond the standard library is needed.  Marionette
does not hand over the console, so a script error shows as a page that
never becomes ready (main.js marks the body when every section drew) or
as the error box the page fills; errors after that are caught by a
listener installed once the page is ready.  A load shows as a resource
entry of the page's performance timeline (a report has none).

One line per page: "ok NAME" or "FAIL NAME: why".  Exit 0 unless Firefox
could not be driven (2).
"""
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report_browser as rb  # noqa: E402  (the checks and the DOM readers)

PREFS = """
user_pref("marionette.port", 0);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("app.update.disabledForTesting", true);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("browser.safebrowsing.update.enabled", false);
"""


class Firefox:
    """One headless Firefox and its Marionette session."""

    def __init__(self, binary):
        self.dir = tempfile.mkdtemp(prefix="hs-firefox-")
        self.profile = os.path.join(self.dir, "profile")
        os.mkdir(self.profile)
        with open(os.path.join(self.profile, "user.js"), "w") as f:
            f.write(PREFS)
        env = dict(os.environ, HOME=self.dir, MOZ_HEADLESS="1")
        self.proc = subprocess.Popen(
            [binary, "--headless", "--marionette", "--no-remote", "--profile", self.profile, "about:blank"],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(self.profile, "MarionetteActivePort")
        deadline = time.time() + 60
        port = None
        while time.time() < deadline and self.proc.poll() is None:
            if os.path.exists(port_file):
                with open(port_file) as f:
                    text = f.read().strip()
                if text.isdigit():
                    port = int(text)
                    break
            time.sleep(0.1)
        if not port:
            raise RuntimeError("Firefox did not open its Marionette port")
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.buf = b""
        self.next_id = 0
        self._read()  # the server's greeting
        self.send("WebDriver:NewSession", {"capabilities": {"alwaysMatch": {"pageLoadStrategy": "normal"}}})

    def _read(self):
        while b":" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("Firefox closed the connection")
            self.buf += chunk
        head, rest = self.buf.split(b":", 1)
        n = int(head)
        while len(rest) < n:
            chunk = self.sock.recv(max(65536, n - len(rest)))
            if not chunk:
                raise EOFError("Firefox closed the connection")
            rest += chunk
        self.buf = rest[n:]
        return json.loads(rest[:n])

    def send(self, command, params=None):
        self.next_id += 1
        msg = json.dumps([0, self.next_id, command, params or {}]).encode()
        self.sock.sendall(str(len(msg)).encode() + b":" + msg)
        while True:
            m = self._read()
            if isinstance(m, list) and m[0] == 1 and m[1] == self.next_id:
                if m[2]:
                    raise RuntimeError("%s: %s" % (command, m[2].get("message", m[2])))
                return m[3]

    def eval(self, expr):
        """The value of a JavaScript expression in the page (report_browser's interface)."""
        return self.send("WebDriver:ExecuteScript", {"script": "return " + expr.strip() + ";", "args": []})["value"]

    def close(self):
        try:
            self.send("Marionette:Quit", {"flags": ["eForceQuit"]})
        except (OSError, RuntimeError, EOFError):
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


# Clicking the frame FIND_FRAME found (by its name): Marionette's own
# clicks need element references; a click event is what the page listens to.
CLICK_FRAME = r"""
(name => {
  const svg = document.querySelector('svg[data-chart="flame"]');
  const g = [...svg.querySelectorAll("g.frame")].find(g => g.getAttribute("data-frame") === name);
  g.dispatchEvent(new MouseEvent("click", {bubbles: true}));
  return true;
})(%s)
"""

WATCH_ERRORS = r"""
(() => { window.__hsErrors = []; window.addEventListener("error", e => window.__hsErrors.push(String(e.message))); return true; })()
"""


def check_one(ff, args):
    page = os.path.abspath(args[0])
    ff.send("WebDriver:Navigate", {"url": "file://" + page})
    t0 = time.time()
    ready = None
    while time.time() - t0 < 30:
        ready = ff.eval("document.readyState === 'complete' && document.body && document.body.getAttribute('data-ready')")
        if ready:
            break
        time.sleep(0.05)
    errs = []
    if not ready:
        box = ff.eval("(document.getElementById('error') || {}).textContent || ''")
        return ["the page never became ready (body[data-ready])" + (": " + box.strip() if box else "")]
    ff.eval(WATCH_ERRORS)
    out = ff.eval(rb.EXTRACT)
    if out["error_box"]:
        return ["the page reports: " + out["error_box"].strip()]
    if "--click-flame" in args:
        found = ff.eval(rb.FIND_FRAME)
        out["flame"] = {"full": found["full"], "frame": found["frame"]}
        if found["frame"]:
            ff.eval(CLICK_FRAME % json.dumps(found["frame"]["name"]))
            out["flame"]["after"] = ff.eval(rb.WIDTH_OF % json.dumps(found["frame"]["name"]))
    rb.check_page(out, args, ff, errs)
    loads = ff.eval("performance.getEntriesByType('resource').map(e => e.name)")
    if loads:
        errs.append("the page loaded: %s" % ", ".join(loads[:3]))
    late = ff.eval("window.__hsErrors || []")
    errs.extend("script error: %s" % e for e in late)
    return errs


def main():
    if len(sys.argv) != 3 or sys.argv[1] != "--batch":
        sys.stderr.write(__doc__)
        return 1
    binary = shutil.which("firefox-esr") or shutil.which("firefox")
    if not binary:
        print("firefox-esr is not installed")
        return 2
    with open(sys.argv[2]) as f:
        jobs = [shlex.split(line) for line in f if line.strip()]
    try:
        ff = Firefox(binary)
    except (OSError, RuntimeError, EOFError) as e:
        print("cannot drive Firefox: %s" % e)
        return 2
    try:
        for job in jobs:
            name, args = job[0], job[1:]
            try:
                errs = check_one(ff, args)
            except (RuntimeError, KeyError, TypeError) as e:
                errs = ["%s: %s" % (type(e).__name__, e)]
            print(("FAIL %s: %s" % (name, "; ".join(errs))) if errs else ("ok   %s" % name))
            sys.stdout.flush()
    finally:
        ff.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
