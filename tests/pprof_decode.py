"""pprof_decode.py - tests/pprof.sh's reader of pprof profiles, independent
of heapsnap's encoder: gunzip in Python, then Debian's protoc --decode
(the C++ protobuf library) with the repository's profile.proto, and a
parser of protoc's text format.  Field numbers are checked separately by
go tool pprof, which has them compiled in.

    python3 tests/pprof_decode.py PROTO_DIR CODE FILE...

runs CODE with P, the profiles of FILE... (in order), J, a JSON file's
contents for each further argument naming one (*.json), the helpers
below, and top_stacks(j, field, depth), a `top --by traceback --format json`
added up as Profile.stacks adds up a profile; each failed check(), eq()
or eq_stacks() (two such dicts: the first stack that differs) is printed
on one line, exit 1.
"""
import codecs
import gzip
import json
import subprocess
import sys


def parse_text(text):
    """protoc's text format as nested dicts of lists."""
    stack = [{}]
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.endswith("{"):
            d = {}
            stack[-1].setdefault(line[:-1].strip(), []).append(d)
            stack.append(d)
        elif line == "}":
            stack.pop()
        else:
            key, val = line.split(":", 1)
            val = val.strip()
            if val.startswith('"'):
                val = codecs.escape_decode(val[1:-1].encode())[0].decode("utf-8", "replace")
            elif val in ("true", "false"):
                val = val == "true"
            else:
                val = int(val)
            stack[-1].setdefault(key, []).append(val)
    return stack[0]


class Profile:
    def __init__(self, proto_dir, path):
        with open(path, "rb") as f:
            raw = gzip.decompress(f.read())
        out = subprocess.run(
            ["protoc", "--decode", "perftools.profiles.Profile", "--proto_path=" + proto_dir, "profile.proto"],
            input=raw, capture_output=True, check=True)
        self.m = parse_text(out.stdout.decode())
        self.strings = self.m.get("string_table", [])
        self.locations = {l["id"][0]: l for l in self.m.get("location", [])}
        self.functions = {f["id"][0]: f for f in self.m.get("function", [])}
        self.mappings = {m["id"][0]: m for m in self.m.get("mapping", [])}

    def s(self, i):
        return self.strings[i]

    def one(self, d, key, default=0):
        return d.get(key, [default])[0]

    def types(self):
        return [(self.s(self.one(t, "type")), self.s(self.one(t, "unit"))) for t in self.m["sample_type"]]

    def index(self, name):
        return [t for t, _ in self.types()].index(name)

    def samples(self):
        return self.m.get("sample", [])

    def total(self, name):
        i = self.index(name)
        return sum(s["value"][i] for s in self.samples())

    def lines(self, loc_id):
        """(function, system name, file, line) of each line of a location."""
        res = []
        for ln in self.locations[loc_id].get("line", []):
            f = self.functions[self.one(ln, "function_id")]
            res.append((self.s(self.one(f, "name")), self.s(self.one(f, "system_name")),
                        self.s(self.one(f, "filename")), self.one(ln, "line")))
        return res

    def leaf(self, sample):
        """The innermost line of a sample's leaf location, or None."""
        ids = sample.get("location_id", [])
        lines = self.lines(ids[0]) if ids else []
        return lines[0] if lines else None

    def by_leaf(self, name, key):
        """Values of type name added up by key(leaf line), largest first."""
        i = self.index(name)
        acc = {}
        for s in self.samples():
            k = key(self.leaf(s))
            acc[k] = acc.get(k, 0) + s["value"][i]
        return sorted(acc.items(), key=lambda kv: (-kv[1], str(kv[0])))

    def stacks(self, name, label=None, depth=None):
        """Values of type name added up by stack, those that are not 0: the
        key is the function of every line of every location, leaf first
        and each location's lines innermost first ("?" for a location
        without lines), the first depth of them if depth is given, after
        the sample's label's value if label names one."""
        i = self.index(name)
        acc = {}
        for s in self.samples():
            key = tuple(ln[0] for lid in s.get("location_id", []) for ln in (self.lines(lid) or [("?",)]))[:depth]
            if label:
                key = (self.labels(s).get(label),) + key
            acc[key] = acc.get(key, 0) + s["value"][i]
        return {k: v for k, v in acc.items() if v}

    def default_type(self):
        return self.s(self.one(self.m, "default_sample_type"))

    def labels(self, sample):
        return {self.s(self.one(l, "key")): (self.s(self.one(l, "str")) if self.one(l, "str") else self.one(l, "num"))
                for l in sample.get("label", [])}


def top_stacks(j, field, depth=None):
    """The stats of `top --by traceback --format json` added up by their
    stack's functions, as Profile.stacks keys them: a traceback line
    "FILE:LINE in FUNCTION" or "FUNCTION (MODULE) in FUNCTION" gives its
    function, one without " in " (no symbol) "?"; the first depth of
    them if depth is given."""
    acc = {}
    for st in j["stats"]:
        key = tuple(ln.rsplit(" in ", 1)[1] if " in " in ln else "?" for ln in st["key"].split("\n"))[:depth]
        acc[key] = acc.get(key, 0) + st[field]
    return {k: v for k, v in acc.items() if v}


def main():
    proto_dir, code = sys.argv[1], sys.argv[2]
    P = [Profile(proto_dir, f) for f in sys.argv[3:] if not f.endswith(".json")]
    J = [json.load(open(f)) for f in sys.argv[3:] if f.endswith(".json")]
    errs = []

    def check(what, cond):
        if not cond:
            errs.append(what)

    def eq(what, got, want):
        if got != want:
            errs.append("%s: got %r, want %r" % (what, got, want))

    def eq_stacks(what, got, want):
        keys = sorted(set(got) | set(want), key=str)
        bad = [k for k in keys if got.get(k) != want.get(k)]
        if not want:
            errs.append("%s: no stack to compare" % what)
        elif bad:
            errs.append("%s: %d of %d stacks differ, first %r: got %r, want %r" %
                        (what, len(bad), len(keys), bad[0][:8], got.get(bad[0]), want.get(bad[0])))

    exec(code, {"P": P, "J": J, "check": check, "eq": eq, "eq_stacks": eq_stacks, "top_stacks": top_stacks})
    if errs:
        print("; ".join(errs))
        sys.exit(1)


if __name__ == "__main__":
    main()
