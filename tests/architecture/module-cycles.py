#!/usr/bin/env python3
"""No import cycles between the agent's top-level modules (issue 10; ARCHITECTURE.md, "Layers").

Reads agent/src, finds each `crate::NAME` path in code (comments, `#[cfg(test)]` modules and
test-only files left out), builds the graph of top-level modules, and fails listing every cycle
(the strongly connected components, with the files behind each edge).

Usage: python3 tests/architecture/module-cycles.py [--allow a,b,c ...] [agent/src]

`--allow a,b,c` tolerates exactly that set of modules forming one cycle (for a cycle recorded as
debt in ARCHITECTURE.md while it is being removed); any other cycle, or that one growing, fails.
CI passes no `--allow`.
"""
import os
import re
import sys

CRATE_PATH = re.compile(r"crate::([a-z_0-9]+)")
TEST_MOD = re.compile(r"#\[cfg\(test\)\]\s*(?:pub(?:\([a-z]+\))?\s+)?mod\s+([a-z_0-9]+)\s*;")
INLINE_TEST_MOD = re.compile(r"#\[cfg\(test\)\]\s*mod\s+[a-z_0-9]+\s*\{")


def module_dir(path):
    """The folder holding the children of the module defined in `path`."""
    base = os.path.basename(path)
    if base in ("mod.rs", "main.rs", "lib.rs"):
        return os.path.dirname(path)
    return path[: -len(".rs")]


def test_only_paths(path, src):
    """Files and folders of the `#[cfg(test)] mod x;` children declared in `path`."""
    d = module_dir(path)
    for name in TEST_MOD.findall(src):
        yield os.path.join(d, name + ".rs")
        yield os.path.join(d, name)


def code_of(src):
    """The source without inline test modules and comment lines."""
    m = INLINE_TEST_MOD.search(src)
    if m:
        src = src[: m.start()]
    return "\n".join(l for l in src.split("\n") if not l.strip().startswith("//"))


def edges(root):
    files = {}
    for dirpath, _, names in os.walk(root):
        for n in names:
            if n.endswith(".rs"):
                p = os.path.join(dirpath, n)
                with open(p, encoding="utf-8") as f:
                    files[p] = f.read()
    excluded = set()
    for p, src in files.items():
        excluded.update(test_only_paths(p, src))
    graph = {}
    for p, src in files.items():
        if p in excluded or any(p.startswith(x + os.sep) for x in excluded):
            continue
        rel = os.path.relpath(p, root)
        top = rel.split(os.sep)[0].removesuffix(".rs")
        if top == "main":
            continue
        for used in CRATE_PATH.findall(code_of(src)):
            if used != top:
                graph.setdefault(top, {}).setdefault(used, set()).add(rel)
    return graph


def cycles(graph):
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, {}))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.get(w, {})))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def main():
    args = sys.argv[1:]
    allowed = []
    while args[:1] == ["--allow"]:
        allowed.append(sorted(args[1].split(",")))
        args = args[2:]
    root = args[0] if args else "agent/src"
    graph = edges(root)
    found = [c for c in cycles(graph) if c not in allowed]
    for comp in allowed:
        print(f"module-cycles: known cycle, recorded as debt: {', '.join(comp)}")
    if not found:
        other = " other" if allowed else ""
        print(f"module-cycles: no{other} import cycle between the top-level modules of {root}")
        return 0
    for comp in found:
        print(f"module-cycles: these modules import each other in a cycle: {', '.join(comp)}")
        for a in comp:
            for b in comp:
                if b in graph.get(a, {}):
                    print(f"  {a} -> {b}  ({', '.join(sorted(graph[a][b])[:3])})")
    return 1


if __name__ == "__main__":
    sys.exit(main())
