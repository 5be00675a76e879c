"""The house's shape: no import cycle, no module over 400 lines, few top-level modules.

Imports are read with ``ast`` from every module of ``musiclatent`` and ``demo``,
function-level ones included (a cycle through a lazy import is still a cycle
in the design). Imports under ``if TYPE_CHECKING:`` never run and do not
count. ``from musiclatent.x import y`` is an edge to the module
``musiclatent.x.y`` when there is one, else to ``musiclatent.x``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("musiclatent", "demo")
MAX_LINES = 400
MAX_TOP_LEVEL_MODULES = 6
# Import edges that close a known cycle, each with what would break it. The change that breaks a
# cycle must delete its entry here: the test fails while an entry is stale.
KNOWN_CYCLE_EDGES: set[tuple[str, str]] = set()   # lazy imports allowed to close a cycle: none


def module_files() -> dict[str, Path]:
    """Dotted name -> file of every module in PACKAGES (``pkg/__init__.py`` is ``pkg``).

    Folders without ``__init__.py`` (``demo/examples``, the model files) hold
    scripts and data, not modules of the package.
    """
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            folders = path.relative_to(ROOT).parents
            if not all((ROOT / f / "__init__.py").exists() for f in folders if f != Path(".")):
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _type_checking_only(tree: ast.AST) -> set[int]:
    """ids of the nodes inside ``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``) bodies."""
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else test.attr if isinstance(test, ast.Attribute) else ""
            if name == "TYPE_CHECKING":
                skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skip


def _resolve(dotted: str, modules) -> str | None:
    """The longest prefix of ``dotted`` that is one of ``modules`` (None: a third-party import)."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        if ".".join(parts[:i]) in modules:
            return ".".join(parts[:i])
    return None


def imports_of(source: str, name: str, is_package: bool, modules) -> set[str]:
    """The modules among ``modules`` that the module ``name`` (given as ``source``) imports."""
    tree = ast.parse(source)
    skip = _type_checking_only(tree)
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(_resolve(alias.name, modules) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from . import x, from ..y import z
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in modules else _resolve(target, modules))
    found.discard(None)
    found.discard(name)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = module_files()
    return {name: imports_of(path.read_text(), name, path.name == "__init__.py", modules)
            for name, path in modules.items()}


def reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    """Whether ``goal`` can be reached from ``start`` along imports."""
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return False


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]``, or None (iterative depth-first search)."""
    state = {}  # 1: on the current path, 2: done
    for start in sorted(graph):
        if state.get(start):
            continue
        path, stack = [start], [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


# --------------------------------------------------------------------------- the checker itself

def test_imports_are_resolved_to_modules_including_lazy_and_relative_ones():
    modules = {"pkg", "pkg.a", "pkg.sub", "pkg.sub.b", "pkg.sub.c"}
    source = """
import os
import pkg.sub.b
from pkg import a
from pkg.sub import helper_function
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from pkg import never_run
def f():
    from . import c
    from ..a import something
"""
    found = imports_of(source, "pkg.sub.d", False, modules)
    assert found == {"pkg.sub.b", "pkg.a", "pkg.sub", "pkg.sub.c"}
    assert imports_of("from . import b\n", "pkg.sub", True, modules) == {"pkg.sub.b"}


def test_reaches():
    graph = {"a": {"b"}, "b": {"c"}, "c": set(), "d": {"a"}}
    assert reaches(graph, "a", "c") and reaches(graph, "d", "c")
    assert not reaches(graph, "c", "a")


@pytest.mark.parametrize("graph, cycle", [
    ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
    ({"a": {"b", "c"}, "b": {"c"}, "c": set()}, None),  # a diamond is no cycle
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
    ({"a": {"b"}, "b": {"b"}}, ["b", "b"]),
], ids=["chain", "diamond", "three-cycle", "self-import"])
def test_find_cycle(graph, cycle):
    assert find_cycle(graph) == cycle


# --------------------------------------------------------------------------- the package

def test_the_walk_sees_the_package():
    graph = import_graph()
    assert {"musiclatent", "musiclatent.midi.io", "demo.app"} <= graph.keys()
    assert "musiclatent.midi.notation" in graph["musiclatent.midi.io"]
    assert "demo.app" in graph["musiclatent.cli.generate"]  # a function-level import
    assert "demo.examples.make_examples" not in graph  # a script beside the package


def test_no_import_cycle():
    graph = import_graph()
    for a, b in sorted(KNOWN_CYCLE_EDGES):
        assert b in graph.get(a, ()), f"{a} no longer imports {b}: delete the entry from KNOWN_CYCLE_EDGES"
        graph[a] = graph[a] - {b}
    for a, b in sorted(KNOWN_CYCLE_EDGES):
        assert reaches(graph, b, a), f"{a} -> {b} closes no cycle now: delete it from KNOWN_CYCLE_EDGES"
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_no_module_over_400_lines():
    long = {str(path.relative_to(ROOT)): n for path in module_files().values()
            if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split them by responsibility): {long}"


def test_few_top_level_modules():
    top = sorted(p.name for p in (ROOT / "musiclatent").glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, f"top-level modules of musiclatent/: {top}"
