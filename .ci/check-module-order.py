#!/usr/bin/env python3
"""Fails when the files of src/ import each other in a circle.

Every `.rs` file under src/ is a node. A file depends on another when its code (comments and
string literals left out) names a path into it: `crate::a::b`, `super::x`, `self::x`, or a
`mod x;` declaration with a `pub use x::...`. Each path goes to the deepest file module it
names, so naming an item through a re-export (`crate::backend::SessionBackend`) depends on the
file that re-exports it (`backend/mod.rs`), as the compiler sees it too. Inline modules
(`mod tests { ... }`) belong to their file.

On success it prints the files in an order where each depends only on those before it; on a
cycle it prints the cycle, file by file, with the line that makes each step, and exits 1.

Usage: python3 .ci/check-module-order.py [SRC_DIR]   (default: src)
"""
import re
import sys
from pathlib import Path

SRC = Path(sys.argv[1] if len(sys.argv) > 1 else "src")

PATH = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+|::\{)")
USE_GROUP = re.compile(r"\b(crate|super|self)::\{([^;]*?)\}", re.S)
MOD_DECL = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+([A-Za-z_][A-Za-z0-9_]*)\s*;", re.M)
INLINE_MOD = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+([A-Za-z_][A-Za-z0-9_]*)\s*\{")


def module_of(path):
    """The module path of a file: ("crate", "backend", "redis") for src/backend/redis.rs."""
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] in ("lib", "main", "mod"):
        parts.pop()
    return ("crate", *parts)


def strip(code):
    """The code without comments, string and char literals (doc links are not imports)."""
    out, i, n = [], 0, len(code)
    while i < n:
        c = code[i]
        if code.startswith("//", i):
            j = code.find("\n", i)
            i = n if j < 0 else j
        elif code.startswith("/*", i):
            j = code.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif c == "r" and re.match(r'r#*"', code[i:]) and (i == 0 or not code[i - 1].isalnum()):
            hashes = re.match(r"r(#*)\"", code[i:]).group(1)
            end = code.find('"' + hashes, i + 2 + len(hashes))
            i = n if end < 0 else end + 1 + len(hashes)
            out.append('""')
        elif c == '"':
            j = i + 1
            while j < n and code[j] != '"':
                j += 2 if code[j] == "\\" else 1
            out.append('""')
            i = j + 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", code[i:]):
            i += len(re.match(r"'(\\.|[^\\'])'", code[i:]).group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def inline_module_at(code):
    """For each offset, the inline-module path it sits in (e.g. ("tests",))."""
    stack, spans = [], []
    depth, pending = 0, []
    for m in re.finditer(r"[{}]|^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+[A-Za-z_]\w*\s*\{", code, re.M):
        token = m.group(0)
        if token.strip().endswith("{") and "mod" in token:
            name = INLINE_MOD.match(token).group(1)
            depth += 1
            stack.append((name, depth))
            spans.append((m.end(), tuple(s[0] for s in stack)))
        elif token == "{":
            depth += 1
        else:
            if stack and stack[-1][1] == depth:
                stack.pop()
                spans.append((m.end(), tuple(s[0] for s in stack)))
            depth -= 1
    return spans


def inline_path(spans, offset):
    current = ()
    for start, path in spans:
        if start > offset:
            break
        current = path
    return current


files = sorted(p for p in SRC.rglob("*.rs"))
modules = {module_of(p): p for p in files}


def resolve(target):
    """The file that holds the deepest module of `target`, a module path."""
    for end in range(len(target), 0, -1):
        if target[:end] in modules:
            return modules[target[:end]]
    return None


edges = {}  # file -> {file: line}
for path in files:
    code = strip(path.read_text())
    here = module_of(path)
    spans = inline_module_at(code)
    deps = edges.setdefault(path, {})

    def add(target, offset):
        dep = resolve(target)
        if dep is not None and dep != path:
            line = code.count("\n", 0, offset) + 1
            deps.setdefault(dep, line)

    def base(root, offset):
        inner = here + inline_path(spans, offset)
        if root == "crate":
            return ("crate",)
        if root == "self":
            return inner
        return inner[:-1]

    for m in PATH.finditer(code):
        root, rest = m.group(1), m.group(2)
        if rest == "::{":
            continue
        names = rest.strip(":").split("::")
        # `super::super::x`
        start = base(root, m.start())
        while names and names[0] == "super":
            start, names = start[:-1], names[1:]
        add(start + tuple(names), m.start())
    for m in USE_GROUP.finditer(code):
        start = base(m.group(1), m.start())
        for item in re.split(r",", m.group(2)):
            first = item.strip().split("::")[0].strip("{} \n")
            if first and first not in ("self", "*"):
                add(start + (first,), m.start())
            else:
                add(start, m.start())
    for m in MOD_DECL.finditer(code):
        # A declared child file that this file also re-exports from or uses.
        name = m.group(1)
        if re.search(rf"\b{name}::", code):
            add(here + inline_path(spans, m.start()) + (name,), m.start())

# Tarjan's strongly connected components.
index, low, on_stack, stack, components = {}, {}, set(), [], []
counter = [0]


def connect(node):
    index[node] = low[node] = counter[0]
    counter[0] += 1
    stack.append(node)
    on_stack.add(node)
    for dep in edges.get(node, {}):
        if dep not in index:
            connect(dep)
            low[node] = min(low[node], low[dep])
        elif dep in on_stack:
            low[node] = min(low[node], index[dep])
    if low[node] == index[node]:
        component = []
        while True:
            top = stack.pop()
            on_stack.discard(top)
            component.append(top)
            if top == node:
                break
        components.append(component)


sys.setrecursionlimit(10_000)
for node in files:
    if node not in index:
        connect(node)

cycles = [c for c in components if len(c) > 1]
if cycles:
    for component in cycles:
        members = set(component)
        # One cycle through the component, for the message.
        start = min(component)
        path, node, seen = [start], start, {start}
        while True:
            nxt = next(d for d in sorted(edges[node]) if d in members)
            if nxt in seen:
                path = path[path.index(nxt):] + [nxt]
                break
            path.append(nxt)
            seen.add(nxt)
            node = nxt
        print(
            f"import cycle among {len(component)} files of {SRC}/ "
            f"({', '.join(sorted(str(m.relative_to(SRC)) for m in component))}), for example:",
            file=sys.stderr,
        )
        for a, b in zip(path, path[1:]):
            print(f"  {a}:{edges[a][b]} -> {b}", file=sys.stderr)
    sys.exit(1)

# Components come out dependencies first: that is the order.
print(f"no import cycle among the {len(files)} files of {SRC}/; an order where each depends only on those before it:")
for component in components:
    print(f"  {component[0]}")
