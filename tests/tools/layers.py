#!/usr/bin/env python3
"""layers.py -- fail when a call or an include goes up a layer, or when the
daemon's files call each other in a cycle.

Reads the C sources of common/, engine/, daemon/ and cli/ (comments and
strings removed) and builds two graphs:

  includes   file -> header it includes with "..."
  references file -> file defining a non-static function whose name the
             first file uses (a call, or its address taken, e.g. a
             handler put in a table: the loop must not name them either)

The rules (README.md, "How it is built"):
  - common/ uses only common/;
  - engine/ uses common/ and engine/, never the daemon or the CLI;
  - outside engine/, only engine/engine.h is included (the other engine
    headers are private to the folder; the engine's own unit tests in
    tests/ may include them);
  - cli/ uses common/ and engine.h, never the daemon;
  - daemon/ files sit in the layers of DAEMON_LAYERS, and a file uses
    only files of its own layer or below, never one above;
  - no cycle among the daemon's files (within one layer either), nor
    among the engine's.

Usage: layers.py [SRCDIR]   (default: the repository this file is in)
Prints every violation and exits 1 if there is any, else prints the
layers with their files and exits 0.
"""
import os
import re
import sys

# Top first: a file may use files of its own layer and of the layers
# below it.  Names are file stems in daemon/.
DAEMON_LAYERS = [
    ('main', ['main']),
    ('loop', ['loop']),
    ('control', ['control', 'dispatch', 'commands', 'fleet_ctl']),
    ('operations', ['reload', 'confirm', 'membership', 'membersd', 'membatch',
                    'drift', 'lockout', 'disable', 'droplog', 'status',
                    'fleet', 'fleet_watch', 'fleet_reg']),
    ('storage', ['state', 'journal', 'snapshot', 'memindex', 'runtime',
                 'fleet_store']),
    ('base', ['log', 'notify', 'watch', 'reply', 'fleet_etcd', 'fleet_map',
              'fleet_b64']),
]
FOLDERS = ['common', 'engine', 'daemon', 'cli']
ENGINE_PUBLIC = 'engine.h'

COMMENT_RE = re.compile(r'/\*.*?\*/|//[^\n]*', re.S)
STRING_RE = re.compile(r'"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'')
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
PREPROC_RE = re.compile(r'^\s*#(?:[^\n]*\\\n)*[^\n]*', re.M)
# A definition starts at column 0: return type, name, parameters, then
# the body's opening brace on a line of its own (STYLE.md).
DEF_RE = re.compile(r'^([A-Za-z_][\w \t\*]*?)\b([A-Za-z_]\w*)\(([^;{}]*?)\)\s*'
                    r'(?:__attribute__\s*\(\(.*?\)\)\s*)?\n\{', re.M | re.S)
IDENT_RE = re.compile(r'\b[A-Za-z_]\w*\b')


def strip(text):
    text = COMMENT_RE.sub(' ', text)
    return STRING_RE.sub('""', text)


def daemon_layer(stem):
    for i, (_, stems) in enumerate(DAEMON_LAYERS):
        if stem in stems:
            return i
    return None


def load(root):
    files = {}
    for folder in FOLDERS:
        d = os.path.join(root, folder)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if name.endswith(('.c', '.h')):
                with open(os.path.join(d, name), encoding='utf-8') as f:
                    files[folder + '/' + name] = f.read()
    return files


def analyse(files):
    headers = {}                    # basename -> folder/name
    for path in files:
        if path.endswith('.h'):
            headers[os.path.basename(path)] = path
    defs = {}                       # function name -> defining file
    code = {}
    for path, text in files.items():
        s = strip(text)
        code[path] = PREPROC_RE.sub(' ', s)
        if not path.endswith('.c'):
            continue
        for m in DEF_RE.finditer(code[path]):
            if 'static' in m.group(1).split() or m.group(2) == 'main':
                continue
            defs.setdefault(m.group(2), path)
    incs, refs = {}, {}
    for path, text in files.items():
        incs[path] = sorted({headers[h] for h in INCLUDE_RE.findall(strip_comments_only(text))
                             if h in headers})
        if path.endswith('.c'):
            used = {}
            for name in IDENT_RE.findall(code[path]):
                f = defs.get(name)
                if f and f != path:
                    used.setdefault(f, set()).add(name)
            refs[path] = used
    return incs, refs


def strip_comments_only(text):
    return COMMENT_RE.sub(' ', text)


def folder(path):
    return path.split('/')[0]


def stem(path):
    return os.path.splitext(os.path.basename(path))[0]


def allowed(src, dst, kind):
    """None when src may use dst, else why not."""
    fs, fd = folder(src), folder(dst)
    if fs == 'common' and fd != 'common':
        return 'common/ uses only common/'
    if fs == 'engine' and fd not in ('common', 'engine'):
        return 'engine/ uses only common/ and engine/'
    if fd == 'engine' and fs != 'engine' and kind == 'include' \
            and os.path.basename(dst) != ENGINE_PUBLIC:
        return 'engine/%s is private to engine/ (include engine.h)' % os.path.basename(dst)
    if fs == 'cli' and fd == 'daemon':
        return 'cli/ does not use the daemon'
    if fs == 'daemon' and fd == 'daemon' and kind == 'call':
        ls, ld = daemon_layer(stem(src)), daemon_layer(stem(dst))
        if ls is None or ld is None:
            return None         # reported once as "in no layer"
        if ld < ls:
            return 'upward: %s layer uses %s layer' % (DAEMON_LAYERS[ls][0],
                                                        DAEMON_LAYERS[ld][0])
    return None


def cycles(refs, top):
    """Strongly connected components of more than one file of folder top."""
    nodes = sorted(p for p in refs if folder(p) == top)
    graph = {p: sorted(d for d in refs[p] if folder(d) == top) for p in nodes}
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        # iterative Tarjan: the graph is small, but no recursion limit
        work = [(v, iter(graph[v]))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        while work:
            node, it = work[-1]
            pushed = False
            for w in it:
                if w not in graph:
                    continue
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(graph[w])))
                    pushed = True
                    break
                if w in on:
                    low[node] = min(low[node], index[w])
            if pushed:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))

    for v in nodes:
        if v not in index:
            visit(v)
    return out


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    files = load(root)
    incs, refs = analyse(files)
    bad = []
    for src in sorted(files):
        if folder(src) == 'daemon' and src.endswith('.c') and daemon_layer(stem(src)) is None:
            bad.append('%s: in no layer of the daemon (tests/tools/layers.py)' % src)
        for dst in incs[src]:
            why = allowed(src, dst, 'include')
            if why:
                bad.append('%s includes %s: %s' % (src, dst, why))
        for dst, names in sorted(refs.get(src, {}).items()):
            why = allowed(src, dst, 'call')
            if why:
                bad.append('%s uses %s (%s): %s' % (src, dst, ', '.join(sorted(names)), why))
    for top in ('daemon', 'engine'):
        for comp in cycles(refs, top):
            bad.append('cycle of %d %s files: %s' % (len(comp), top, ' '.join(
                os.path.basename(p) for p in comp)))
    if bad:
        for line in bad:
            print(line)
        print('layers.py: %d violations' % len(bad))
        return 1
    for name, stems in DAEMON_LAYERS:
        present = [s for s in stems if 'daemon/%s.c' % s in files]
        print('daemon %-10s %s' % (name, ' '.join(present)))
    print('layers.py: no cycle, no upward use (%d files)' % len(files))
    return 0


if __name__ == '__main__':
    sys.exit(main())
