"""drive.py - run a program under `heapsnap run` or `heapsnap check` and
scan its heap at the points it names, from outside, with the scan signal.

The program prints one line per phase and then waits for a line on its
stdin; at each phase this script sends the scan signal to the heapsnap
command (which forwards it), waits until the trace holds that many
scanned snapshots (`heapsnap info` on the trace being written), and lets
the program go on.  Used by tests/retain.sh.

  python3 drive.py HEAPSNAP TRACE_OR_DIR [--kill-after K] [--signal SIG]
                   [--input FILE] -- run|check [OPTIONS] -- PROG [ARGS]

TRACE_OR_DIR: the trace `run -o` writes, or the directory `check
--output-dir` writes into (the program's trace is the one named after
it).  --kill-after K: SIGKILL the program after the K-th scan instead of
letting it finish.  --input FILE: the program's stdin comes from FILE, in
sections separated by lines "@@scan@@": the first at once, each next one
after a scan (instead of a line "go"), stdin closed after the last; then
the program's lines are only copied.  --prefix P: only lines that start
with P are phases (the others are copied).  Prints the program's phase lines, then "status N"
with the heapsnap command's exit status.
"""
import glob, json, os, signal, subprocess, sys, time

TIMEOUT = 60


def main():
    argv = sys.argv[1:]
    hs, where = argv[0], argv[1]
    argv = argv[2:]
    kill_after, sig, sections, prefix = None, "USR2", None, ""
    while argv and argv[0] != "--":
        if argv[0] == "--kill-after":
            kill_after = int(argv[1])
            argv = argv[2:]
        elif argv[0] == "--signal":
            sig = argv[1]
            argv = argv[2:]
        elif argv[0] == "--prefix":
            prefix = argv[1]
            argv = argv[2:]
        elif argv[0] == "--input":
            with open(argv[1]) as f:
                sections = f.read().split("@@scan@@\n")
            argv = argv[2:]
        else:
            sys.exit("drive.py: unknown option %s" % argv[0])
    cmd = [hs] + argv[1:]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    prog = os.path.basename(cmd[-1])
    if sections:
        p.stdin.write(sections.pop(0))
        p.stdin.flush()

    def trace():
        if not os.path.isdir(where):
            return where
        found = [f for f in glob.glob(os.path.join(where, "heapsnap.%s.*.hst" % prog)) if ".rings" not in f]
        return found[0] if found else None

    def scanned():
        t = trace()
        if not t or not os.path.exists(t):
            return 0
        r = subprocess.run([hs, "info", "--format", "json", t], capture_output=True, text=True)
        try:
            return sum(1 for s in json.loads(r.stdout)["snapshots"] if s.get("scanned"))
        except (ValueError, KeyError):
            return 0

    def child():
        with open("/proc/%d/task/%d/children" % (p.pid, p.pid)) as f:
            return int(f.read().split()[0])

    k = 0
    while True:
        line = p.stdout.readline()
        if not line:
            break
        print(line, end="", flush=True)
        if p.stdin.closed or not line.startswith(prefix):
            continue
        k += 1
        p.send_signal(getattr(signal, "SIG" + sig))
        t0 = time.time()
        while scanned() < k:
            if time.time() - t0 > TIMEOUT or p.poll() is not None:
                print("drive.py: no scan %d after %.0f s" % (k, time.time() - t0), flush=True)
                p.kill()
                sys.exit(1)
            time.sleep(0.02)
        if kill_after == k:
            os.kill(child(), signal.SIGKILL)
            break
        if sections is None:
            p.stdin.write("go\n")
        elif sections:
            p.stdin.write(sections.pop(0))
        if sections == []:
            p.stdin.close()
            continue
        p.stdin.flush()
    if not p.stdin.closed:
        p.stdin.close()
    rest = p.stdout.read()
    print(rest, end="")
    print("status %d" % p.wait())


main()
