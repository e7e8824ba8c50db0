"""No import cycles among the project's own modules: a cycle makes import order matter and
hides which module a change really touches.

Every import counts (module level, inside functions, under ``TYPE_CHECKING``): a lazy import
breaks the cycle at run time only, not in the design. An import of a package counts as an
import of its ``__init__``, which may re-export; a module's own ancestors do not count, since
importing ``a.b.c`` runs ``a`` and ``a.b`` first anyway.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

from sandbox.stack import PROJECT_DIR

ROOTS = ("app.py", "chalicelib", "sandbox", "infra", "bench", "door", "facegate_cli")


def modules(root: Path) -> dict[str, Path]:
    found = {}
    for top in ROOTS:
        base = root / top
        for path in [base] if top.endswith(".py") else sorted(base.rglob("*.py")):
            found[".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")] = path
    return found


def _imported_names(tree: ast.AST) -> Iterable[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def import_graph(sources: dict[str, str]) -> dict[str, set[str]]:
    """``module -> the modules of ours it imports``, from each module's source text."""
    graph: dict[str, set[str]] = {name: set() for name in sources}
    for name, text in sources.items():
        for imported in _imported_names(ast.parse(text)):
            target = imported
            while target and target not in sources:  # `from a.b import f`: the module a.b
                target = target.rpartition(".")[0]
            if target and target != name and not name.startswith(target + "."):
                graph[name].add(target)
    return graph


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module ``start`` imports, directly or through others."""
    seen: set[str] = set()
    todo = list(graph[start])
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(graph[name])
    return seen


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each set of modules that import each other, round, as one path ``a, b, …, a``
    (a few hundred modules: reachability from each is cheap enough)."""
    reach = {name: reachable(graph, name) for name in graph}
    found, placed = [], set()
    for name in sorted(graph):
        if name in placed or name not in reach[name]:
            continue
        component = {name} | {other for other in reach[name] if name in reach[other]}
        placed |= component
        found.append(shortest_round(name, graph, component))
    return found


def shortest_round(start: str, graph: dict[str, set[str]], members: set[str]) -> list[str]:
    """The shortest way from ``start`` back to itself through ``members``, for the message."""
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for name in frontier:
            for target in sorted(graph[name] & members):
                if target == start:
                    path = [name]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if target not in came_from:
                    came_from[target] = name
                    following.append(target)
        frontier = following
    raise AssertionError(f"{start} is in no cycle")


def test_the_project_has_no_import_cycle() -> None:
    sources = {name: path.read_text() for name, path in modules(PROJECT_DIR).items()}
    assert [" -> ".join(cycle) for cycle in cycles(import_graph(sources))] == []


def test_a_cycle_is_found_and_named() -> None:
    sources = {
        "chalicelib.core.keys": "from chalicelib.scanning import events\n",
        "chalicelib.scanning": "",
        "chalicelib.scanning.events": "def f():\n    from chalicelib.core.keys import camera_key\n",
        "chalicelib.core": "",
    }
    assert cycles(import_graph(sources)) == [
        ["chalicelib.core.keys", "chalicelib.scanning.events", "chalicelib.core.keys"]
    ]


def test_a_package_importing_its_own_module_is_no_cycle() -> None:
    sources = {"a": "from a import b\n", "a.b": "import a.c\n", "a.c": ""}
    assert cycles(import_graph(sources)) == []
