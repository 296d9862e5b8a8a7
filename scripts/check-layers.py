#!/usr/bin/env python3
"""Checks that tvlogin's top-level modules import downward only.

A top-level module is src/NAME.rs or src/NAME/ (src/commands/dashboard.rs belongs to
`commands`). An edge A -> B is a `crate::B` path (or `crate::{B, ...}`) in A's non-test code;
code after a module's first `#[cfg(test)]` line is test code and is skipped, since tests may
reach anywhere. Every module must be in LAYERS below, and every edge must go to a lower layer:
that is the layering a newcomer can follow from the bottom up, and it makes a cycle impossible.

Usage: scripts/check-layers.py [SRC_DIR] [--edges]
Exit status: 0 when every edge goes down, 1 otherwise (each offending edge is printed with the
files that make it).
"""
import pathlib
import re
import sys

# Bottom to top. A module may import only modules on lines above its own.
LAYERS = [
    # The one redacting wrapper for secrets: std only, so every module may hold secrets in it.
    ["secret"],
    # Leaves: no crate imports but `secret` (the embedded server is a crate of its own,
    # crates/tvlogin-server;
    # clock is the one wall clock).
    # qr is the QR matrix and its plain-text rendering (the plain login and the TUI draw it).
    ["exit", "humanize", "sanitize", "child_env", "clock", "signals", "qr"],
    # Errors, and the browser opener (which only needs the child environment).
    ["error", "browser"],
    # Where the files are.
    ["paths"],
    # The OAuth client: HTTP, discovery, the device flow, refresh, revocation.
    ["oauth"],
    # Tokens for people: decoding, verification, verdicts.
    ["token"],
    # Where tokens and state are kept.
    ["store"],
    # config.toml, presets, flags-as-data merged into a login configuration.
    ["config"],
    # Sessions: refresh, persist, logout, the profiles known, and the one resolver of a
    # profile's login settings.
    ["session"],
    # The login use case: the device flow driven to its end, stored, reported.
    ["login"],
    # The terminal UI wing: one loop, the terminal guard, theme, text, widgets, and the
    # screens (login, inspector, dashboard), each with model, update, view and screen.
    ["tui"],
    # The command line's flags, then the commands that take them.
    ["cli"],
    ["commands"],
]


def module_of(src: pathlib.Path, f: pathlib.Path) -> str:
    return f.relative_to(src).parts[0].removesuffix(".rs")


def edges(src: pathlib.Path) -> dict:
    graph: dict = {}
    single = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")
    group = re.compile(r"\bcrate::\{([^}]*)\}")
    for f in sorted(src.rglob("*.rs")):
        a = module_of(src, f)
        if a in ("main", "lib"):
            continue
        graph.setdefault(a, {})
        text = f.read_text(encoding="utf-8", errors="replace")
        cut = text.find("#[cfg(test)]")
        if cut >= 0:
            text = text[:cut]
        names = single.findall(text)
        for g in group.findall(text):
            names += [p.strip().split("::")[0] for p in g.split(",") if p.strip()]
        for b in names:
            if b != a and b not in ("self", "super"):
                graph[a].setdefault(b, set()).add(str(f.relative_to(src.parent)))
    return graph


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    src = pathlib.Path(args[0] if args else "src")
    graph = edges(src)
    rank = {m: i for i, layer in enumerate(LAYERS) for m in layer}
    if "--edges" in sys.argv:
        for a in sorted(graph, key=lambda m: (rank.get(m, -1), m)):
            print(f"{a} -> {', '.join(sorted(graph[a])) or '(nothing)'}")
    problems = []
    for a in sorted(graph):
        if a not in rank:
            problems.append(f"module {a} is not in LAYERS (scripts/check-layers.py): place it")
            continue
        for b, files in sorted(graph[a].items()):
            if b not in rank:
                problems.append(f"{a} -> {b}: {b} is not in LAYERS: place it")
            elif rank[b] >= rank[a]:
                where = ", ".join(sorted(files))
                problems.append(f"{a} -> {b} goes up or sideways ({where})")
    for p in problems:
        print(p)
    n_edges = sum(len(v) for v in graph.values())
    print(f"{len(graph)} modules, {n_edges} edges, {len(problems)} against the layers")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
