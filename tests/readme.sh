#!/bin/bash
# readme.sh - README.md works from the top, as a newcomer runs it on a
# fresh clone: every command block of it is run, in order, in one shell,
# in a scratch directory that looks like the top of the checkout (build/
# and tests/ of this tree), with the PATH of a fresh Debian 12 machine.
# The commands are taken from README.md itself, so that this test breaks
# when the README drifts from what heapsnap does.
#
# The fenced blocks of README.md, by their info string:
#   sh       commands, one a line; a trailing comment may say "exit N",
#            the status the command must end with (else 0);
#   console  "$ command" lines, each followed by lines of its expected
#            output: they must come in its output in that order, after
#            addresses, pids, times and the scratch directory are
#            normalized ("..." stands for any lines);
#   text     synopses, sample output, diagrams: not run;
#   yaml     CI configuration for other machines: not run, but every
#            option of a heapsnap command in it must be one that
#            `heapsnap COMMAND --help` lists.
# A block without one of these is a failure: every block is classified.
# `make TARGET` lines run in this tree (make -C); `make check`, which runs
# this test, is the one command not run, and `make install` installs
# into a scratch PREFIX.
#
#   bash tests/readme.sh        (make check runs it; HEAPSNAP_README=FILE
#                                reads another copy of the README)
#
# Ends with exactly one line "readme: N passed, M failed"; exits 1 if M > 0.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=$(command -v python3 || echo python3); fi

SUITE=readme
. "$(dirname "$0")/harness.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/heapsnap-readme.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
W=$T/checkout
mkdir -p "$W" "$T/out"
ln -s "$ROOT/build" "$W/build"
ln -s "$ROOT/tests" "$W/tests"

# The blocks, as a script to run and a list of what to compare.
if ! "$PY" - "${HEAPSNAP_README:-$ROOT/README.md}" "$T" <<'PYEOF' >"$T/parse.out" 2>&1; then
import json, re, shlex, sys

readme, tdir = sys.argv[1], sys.argv[2]
lines = open(readme, encoding="utf-8").read().split("\n")
steps, yaml_cmds, bad = [], [], []
i = 0
while i < len(lines):
    m = re.match(r"^```(\S*)\s*$", lines[i])
    if not m:
        i += 1
        continue
    kind, start = m.group(1), i + 1
    j = start
    while j < len(lines) and not lines[j].startswith("```"):
        j += 1
    body = lines[start:j]
    i = j + 1
    where = "README.md:%d" % start
    if kind == "sh":
        for k, l in enumerate(body):
            cmd = l.strip()
            if not cmd:
                continue
            st = re.search(r"\bexit (\d+)\b", l.partition(" #")[2])
            steps.append({"where": "README.md:%d" % (start + k + 1), "cmd": cmd,
                          "status": int(st.group(1)) if st else 0, "expect": []})
    elif kind == "console":
        cur = None
        for k, l in enumerate(body):
            if l.startswith("$ "):
                st = re.search(r"\bexit (\d+)\b", l.partition(" #")[2])
                cur = {"where": "README.md:%d" % (start + k + 1), "cmd": l[2:].strip(),
                       "status": int(st.group(1)) if st else 0, "expect": []}
                steps.append(cur)
            elif cur is None:
                bad.append("%s: output before the first '$ ' command" % where)
            elif l.strip():
                cur["expect"].append(l.rstrip())
    elif kind == "yaml":
        for l in body:
            m2 = re.match(r"^\s*(?:-\s+)?(?:run:\s+)?heapsnap (\w+)(.*)$", l)
            if m2:
                yaml_cmds.append({"where": where, "cmd": m2.group(1), "args": m2.group(2)})
    elif kind != "text":
        bad.append("%s: a block of kind '%s': say sh, console, text or yaml" % (where, kind or "(none)"))
json.dump({"steps": steps, "yaml": yaml_cmds, "bad": bad}, open(tdir + "/plan.json", "w"))
with open(tdir + "/run.sh", "w") as f:
    f.write('cd "%s/checkout" || exit 1\n' % tdir)
    for n, s in enumerate(steps):
        cmd = s["cmd"]
        words = shlex.split(cmd, comments=True) if "make" in cmd.split()[:1] else []
        if words[:1] == ["make"]:
            if "check" in words:
                cmd = "echo 'not run: make check runs this test'"
                s["skipped"] = "make check runs this very test"
            else:
                words = ['PREFIX="$T_PREFIX"' if w.startswith("PREFIX=") else shlex.quote(w) for w in words[1:]]
                cmd = 'make -s -C "$ROOT" ' + " ".join(words)
        f.write('eval %s >"$T_OUT/%d" 2>&1 </dev/null; echo $? >"$T_OUT/%d.rc"\n' % (shlex.quote(cmd), n, n))
    f.write('kill $(jobs -p) 2>/dev/null; wait 2>/dev/null\n')
json.dump({"steps": steps, "yaml": yaml_cmds, "bad": bad}, open(tdir + "/plan.json", "w"))
PYEOF
	fail parse "$(tail -n 5 "$T/parse.out")"
	finish
fi

# Run them: the PATH of a fresh Debian 12 machine (no pyenv, no other
# heapsnap), as root runs them there.
env -i HOME="$T" TERM=dumb LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	ROOT="$ROOT" T_OUT="$T/out" T_PREFIX="$T/prefix" TMPDIR="$T" \
	timeout -k 5 120 bash "$T/run.sh" >"$T/run.log" 2>&1
rc=$?
[ "$rc" -eq 0 ] || fail run "the README's commands ran into trouble (status $rc): $(tail -n 3 "$T/run.log")"

# Compare, and count: one line per command, "ok", "FAIL" or "SKIP".
while IFS= read -r line; do
	case $line in
	"ok   "*) ok "${line#ok   }" ;;
	"FAIL "*) fail "${line#FAIL }" ;;
	"SKIP "*)
		line=${line#SKIP }
		skip "${line%%	*}" "${line#*	}"
		;;
	*) echo "$line" ;;
	esac
done < <("$PY" - "$T" "$ROOT" <<'PYEOF'
import json, os, re, subprocess, sys

tdir, root = sys.argv[1], sys.argv[2]
plan = json.load(open(tdir + "/plan.json"))
work = tdir + "/checkout"

def norm(s):
    s = s.replace(work + "/", "").replace(root + "/", "")
    s = re.sub(r"0x[0-9a-f]+", "0x…", s)
    s = re.sub(r"\bpid \d+", "pid N", s)
    s = re.sub(r"\bparent \d+", "parent N", s)
    s = re.sub(r"\d+\.\d+ s\b", "T s", s)
    return s.rstrip()

def report(ok, name, why=""):
    print(("ok   %s" % name) if ok else ("FAIL %s: %s" % (name, why)))

for b in plan["bad"]:
    report(False, "blocks", b)
if not plan["bad"]:
    report(True, "blocks (every fenced block is sh, console, text or yaml)")
for n, s in enumerate(plan["steps"]):
    name = "%s %s" % (s["where"], s["cmd"][:60])
    if s.get("skipped"):
        print("SKIP %s\t%s" % (name, s["skipped"]))
        continue
    try:
        rc = int(open("%s/out/%d.rc" % (tdir, n)).read())
        out = open("%s/out/%d" % (tdir, n), errors="replace").read()
    except OSError:
        report(False, name, "did not run")
        continue
    if rc != s["status"]:
        report(False, name, "exit %d, the README says %d: %s" % (rc, s["status"], out[-300:].replace("\n", " | ")))
        continue
    got = [norm(l) for l in out.split("\n")]
    k, missing = 0, None
    for want in s["expect"]:
        w = norm(want)
        if w.strip() == "...":
            continue
        while k < len(got) and got[k] != w:
            k += 1
        if k == len(got):
            missing = want
            break
        k += 1
    if missing is not None:
        report(False, name, "the README shows %r, which its output does not have (in that order): %s"
               % (missing, " | ".join(got[:12])))
    else:
        report(True, name)

# CI configuration: the options of each heapsnap command are its own.
for y in plan["yaml"]:
    help_text = subprocess.run([root + "/build/bin/heapsnap", y["cmd"], "--help"], capture_output=True, text=True)
    opts = re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", y["args"].split(" -- ")[0])
    unknown = [o for o in opts if o not in help_text.stdout]
    name = "%s heapsnap %s%s" % (y["where"], y["cmd"], y["args"][:50])
    report(help_text.returncode == 0 and not unknown, name,
           "not a command, or options it does not have: %s" % unknown)
PYEOF
)
finish
