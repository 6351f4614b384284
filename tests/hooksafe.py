#!/usr/bin/env python3
"""hooksafe.py - prove that no code reachable from an allocation hook can
allocate from the traced heap, take a lock that may be held across a call
out of the shim, or call a libc function that is not async-signal-safe.

    python3 tests/hooksafe.py ALLOWLIST SOURCE_DIR OBJECT...

The objects are the shim's, compiled with -ffunction-sections, so that
each function has a section of its own and the relocations of that section
are exactly the functions and symbols it refers to (calls, and addresses
taken, which is conservative: a function whose address is passed on may be
called).  From the roots, the check walks those references through every
object, and fails when

  - a function it reaches is neither in a HOOK-SAFE file (one whose first
    comment says HOOK-SAFE; it must then include util/hooksafe.h last,
    which poisons the worst names at compile time) nor marked HS_HOOKSAFE
    where it is declared or defined: every function a hook can run has been
    written, and reviewed, as hook code;
  - a function it reaches refers to a symbol outside the shim's objects
    that the allowlist does not grant it (libc, libunwind, jemalloc);
  - any object of the shim, hook-reachable or not (the collector, the
    scan), refers to the traced heap's allocator or to stdio: the shim's
    own memory comes from its private arena explicitly (backing_private),
    never from a thread state that redirects malloc.

The roots are every function of the HOOK-SAFE files (the allocation hooks
among them) and every function marked HS_HOOKSAFE (signal handlers, the
slow paths the first call of a hook takes).  Calls through pointers held in
data are not followed.

Allowlist lines:  SYMBOL [from FUNC[,FUNC...]]  # why it is safe
SYMBOL and FUNC may be shell patterns; "from" limits the callers.

Prints one line per violation, with the call path from a root, and ends
with "check-hooksafe: N functions reached from hooks, M violations";
exits 1 if M > 0.
"""
import fnmatch
import os
import re
import subprocess
import sys


# What no object of the shim may refer to (an undefined symbol: the
# program's, or libc's, definition).
NEVER = set('malloc calloc realloc reallocarray free posix_memalign aligned_alloc memalign valloc pvalloc '
            'strdup strndup asprintf vasprintf open_memstream getline getdelim qsort '
            'printf fprintf sprintf snprintf vprintf vfprintf vsprintf vsnprintf dprintf vdprintf '
            'puts fputs putc fputc putchar fwrite fread fgets fgetc getc fflush fopen fdopen fclose '
            'perror strerror hs_libc_allocator'.split())


def readelf(opts, obj):
    return subprocess.run(['readelf', '-W'] + opts + [obj], capture_output=True, text=True,
                          check=True).stdout


def base(name):
    """foo.constprop.0, foo.part.1, foo.cold, foo.isra.0: all foo."""
    return name.split('.')[0]


class Obj:
    def __init__(self, path):
        self.path = path
        self.sections = {}      # index -> name
        self.funcs = {}         # symbol name -> section index
        self.data = set()       # defined data symbols (OBJECT, TLS)
        self.globals = set()    # defined symbols with global binding
        self.in_section = {}    # section name -> [function names]
        self.refs = {}          # section name -> [referenced symbol names]
        self.undefined = set()  # symbols it refers to and does not define
        for line in readelf(['-S'], path).splitlines():
            m = re.match(r'\s*\[\s*(\d+)\]\s+(\S+)', line)
            if m:
                self.sections[int(m.group(1))] = m.group(2)
        for line in readelf(['-s'], path).splitlines():
            f = line.split()
            if len(f) == 8 and f[0].endswith(':') and f[6] == 'UND':
                self.undefined.add(f[7])
            if len(f) < 8 or not f[0].endswith(':') or not f[6].isdigit():
                continue
            kind, bind, ndx, name = f[3], f[4], int(f[6]), f[7]
            if bind == 'GLOBAL' or bind == 'WEAK':
                self.globals.add(name)
            if kind == 'FUNC':
                self.funcs[name] = ndx
                self.in_section.setdefault(self.sections.get(ndx, ''), []).append(name)
            elif kind in ('OBJECT', 'TLS'):
                self.data.add(name)
        section = None
        for line in readelf(['-r'], path).splitlines():
            m = re.match(r"Relocation section '\.rela(\S+)'", line)
            if m:
                section = m.group(1)
                self.refs.setdefault(section, [])
                continue
            f = line.split()
            if section and len(f) >= 5 and re.match(r'[0-9a-f]{16}$', f[0]):
                self.refs[section].append(f[4])


def hooksafe_file(src):
    """Does the first comment of src say HOOK-SAFE?"""
    with open(src) as fh:
        text = fh.read()
    end = text.find('*/')
    return 'HOOK-SAFE' in text[:end], text


def marked_functions(src_dir):
    """Names declared or defined after HS_HOOKSAFE anywhere in the sources."""
    names = set()
    for root, _, files in os.walk(src_dir):
        for fn in files:
            if not fn.endswith(('.c', '.h')):
                continue
            with open(os.path.join(root, fn)) as fh:
                text = re.sub(r'__attribute__\s*\(\(.*?\)\)', ' ', fh.read())
            for m in re.finditer(r'\bHS_HOOKSAFE\b([^;{()#]*?)(\w+)\s*\(', text):
                names.add(m.group(2))
    names.discard('HS_HOOKSAFE')
    return names


def read_allowlist(path):
    rules = []
    with open(path) as fh:
        for n, line in enumerate(fh, 1):
            text = line.split('#', 1)[0].split()
            if not text:
                continue
            callers = None
            if len(text) >= 3 and text[1] == 'from':
                callers = text[2].split(',')
            elif len(text) != 1:
                sys.exit('%s:%d: expected "SYMBOL [from FUNC,...]"' % (path, n))
            rules.append({'sym': text[0], 'from': callers, 'line': n, 'used': False})
    return rules


def allowed(rules, sym, caller):
    for r in rules:
        if fnmatch.fnmatchcase(sym, r['sym']) and (
                r['from'] is None or any(fnmatch.fnmatchcase(caller, c) for c in r['from'])):
            r['used'] = True
            return True
    return False


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    rules = read_allowlist(sys.argv[1])
    src_dir = sys.argv[2]
    objs = [Obj(p) for p in sys.argv[3:]]
    marked = marked_functions(src_dir)
    problems = []

    # Where each object's source is, and whether it is a HOOK-SAFE file.
    safe_obj = {}
    for o in objs:
        rel = re.split(r'/obj/(?:shim|attach)/', o.path, maxsplit=1)[-1][:-2] + '.c'
        src = rel if os.path.exists(rel) else os.path.join(src_dir, rel)
        safe, text = hooksafe_file(src)
        safe_obj[o.path] = safe
        if safe:
            includes = re.findall(r'^#include\s+\S+', text, re.M)
            if not includes or includes[-1] != '#include "util/hooksafe.h"':
                problems.append('%s: a HOOK-SAFE file must include "util/hooksafe.h" last' % src)

    for o in objs:
        for sym in sorted(o.undefined & NEVER):
            problems.append('%s refers to %s: the shim takes its memory from backing_private and '
                            'writes with write(2)' % (os.path.basename(o.path), sym))

    # Global definitions across the objects: name -> (object, kind).
    global_def = {}
    for o in objs:
        for name in o.globals:
            global_def[name] = (o, 'func' if name in o.funcs else 'data')

    def node(o, name):
        """The node of function name as referred to from object o, or
        None (data), or the name itself (outside the shim)."""
        if name in o.funcs:
            return (o, name) if name not in o.globals else (global_def[name][0], name)
        if name in o.data:
            return None
        if name in global_def:
            d, kind = global_def[name]
            return (d, name) if kind == 'func' else None
        return name

    def refs_of(o, fname):
        """What function fname of o refers to: nodes and outside names."""
        out = []
        sec = o.sections.get(o.funcs[fname], '')
        for target in o.refs.get(sec, []):
            if target.startswith('.'):
                # a section symbol: the functions of a text section
                for f in o.in_section.get(target, []) if target.startswith('.text') else []:
                    out.append((o, f))
            elif target != '_GLOBAL_OFFSET_TABLE_':
                n = node(o, target)
                if n is not None:
                    out.append(n)
        return out

    roots = []
    for o in objs:
        for f in o.funcs:
            if safe_obj[o.path] or base(f) in marked:
                roots.append((o, f))
    parent = {r: None for r in roots}
    queue = list(roots)
    while queue:
        cur = queue.pop(0)
        o, f = cur
        if not safe_obj[o.path] and base(f) not in marked:
            problems.append('%s (%s) is reached from a hook but is neither in a HOOK-SAFE file nor '
                            'marked HS_HOOKSAFE: %s' % (base(f), os.path.basename(o.path), path_of(parent, cur)))
        for t in refs_of(o, f):
            if isinstance(t, str):
                if not allowed(rules, t, base(f)):
                    problems.append('%s (%s) calls %s, which hook-safe code may not call: %s' %
                                    (base(f), os.path.basename(o.path), t, path_of(parent, cur)))
            elif t not in parent:
                parent[t] = cur
                queue.append(t)

    for p in sorted(set(problems)):
        print('FAIL ' + p)
    unused = [r for r in rules if not r['used']]
    if os.environ.get('HOOKSAFE_VERBOSE'):
        for r in unused:
            print('note: %s:%d: %s is allowed but no hook-reachable code of this build uses it' %
                  (sys.argv[1], r['line'], r['sym']))
    print('check-hooksafe: %d functions reached from hooks, %d violations (%d of %d allowlist entries '
          'unused in this build)' % (len(parent), len(set(problems)), len(unused), len(rules)))
    return 1 if problems else 0


def path_of(parent, n):
    chain = []
    while n is not None:
        chain.append(base(n[1]))
        n = parent[n]
    return ' <- '.join(chain)


if __name__ == '__main__':
    sys.exit(main())
