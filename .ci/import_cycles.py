#!/usr/bin/env python3
"""Fails when the files of a crate import each other in a circle.

Usage: python3 .ci/import_cycles.py CRATE_SRC_DIR...

A module's imports are the `crate::…`, `super::…` and `self::…` paths in
its code (comments and `#[cfg(test)]` parts left out); a circle is a
strongly connected set of two modules or more (Tarjan). The layers of a
crate should read top to bottom, for a person and for any tool that draws
the graph. `.ci/run` checks every crate of the workspace.
"""
import os
import re
import sys


def module_of(path):
    """`transport/ws.rs` → `transport::ws`; `transport/mod.rs` → `transport`."""
    name = path[: -len(".rs")]
    name = name[: -len("/mod")] if name.endswith("/mod") else name
    return name.replace("/", "::")


def graph_of(src):
    files = [
        os.path.relpath(os.path.join(d, f), src)
        for d, _, names in os.walk(src)
        for f in names
        if f.endswith(".rs")
    ]
    modules = {module_of(f) for f in files}
    graph = {}
    for f in files:
        with open(os.path.join(src, f)) as handle:
            code = handle.read().split("#[cfg(test)]")[0]
        code = "\n".join(l for l in code.split("\n") if not l.strip().startswith("//"))
        this = module_of(f)
        is_dir = f.endswith("mod.rs") or f in ("lib.rs", "main.rs")
        # What `super::` names: the module above this one.
        above = this.rpartition("::")[0]
        deps = set()

        def add(path):
            parts = path.split("::")
            # The longest prefix that is a module of the crate.
            for n in range(len(parts), 0, -1):
                candidate = "::".join(parts[:n])
                if candidate in modules:
                    deps.add(candidate)
                    return

        for group in re.finditer(r"use crate::\{([^;]*)\};", code, re.S):
            for item in re.split(r",\s*", group.group(1)):
                item = re.match(r"\s*([a-z_:]+)", item)
                if item:
                    add(item.group(1).rstrip(":"))
        for path in re.finditer(r"crate::([a-z_]+(?:::[a-z_]+)*)", code):
            add(path.group(1))
        for path in re.finditer(r"super::([a-z_]+(?:::[a-z_]+)*)", code):
            add((above + "::" if above else "") + path.group(1))
        if is_dir:
            for path in re.finditer(r"\bself::([a-z_]+(?:::[a-z_]+)*)", code):
                add((this + "::" if this else "") + path.group(1))
        graph[this] = {d for d in deps if d not in (this, "")}
    return graph


def cycles(graph):
    index, low, stack, on, found = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(10_000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


failed = False
for src in sys.argv[1:]:
    found = cycles(graph_of(src))
    for component in found:
        print(f"{src}: these modules import each other in a circle: {', '.join(component)}")
    if not found:
        print(f"{src}: no import circle")
    failed = failed or bool(found)
sys.exit(1 if failed else 0)
