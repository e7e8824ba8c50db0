"""The import direction of docs/ARCHITECTURE.md, enforced: a module may import its own layer
and the layers below it, never one above, so the layers cannot drift silently.

Every import counts, at module level, inside functions (the lazy ones) and under
``TYPE_CHECKING`` alike: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from sandbox.stack import PROJECT_DIR

# Top to bottom. A module belongs to the first layer with a matching prefix.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("entry", ("app",)),
    ("http", ("chalicelib.api",)),
    ("composition", ("chalicelib.wiring",)),
    (
        "services",
        (
            "chalicelib.pipeline",
            "chalicelib.access_control",
            "chalicelib.enrollment",
            "chalicelib.lookup",
            "chalicelib.erasure",
            "chalicelib.erasure_steps",
            "chalicelib.drop_folder",
            "chalicelib.reports",
            "chalicelib.auth",
            "chalicelib.access_admin",
        ),
    ),
    ("adapters", ("chalicelib.aws", "chalicelib.engines")),
    (
        "domain",
        (
            "chalicelib.recognition",
            "chalicelib.access_documents",
            "chalicelib.imaging",
            "chalicelib.image_structure",
            "chalicelib.signing",
            "chalicelib.notifications",
            "chalicelib.summary",
            "chalicelib.report_email",
            "chalicelib.thumbnails",
            "chalicelib.display",
            "chalicelib.json_text",
            "chalicelib.keys",
            "chalicelib.events",
            "chalicelib.observability",
        ),
    ),
    (
        "base",
        (
            "chalicelib.ports",
            "chalicelib.models",
            "chalicelib.errors",
            "chalicelib.config",
            "chalicelib.access",
        ),
    ),
]
# Packages side by side in one layer that must not know each other.
INDEPENDENT = [("chalicelib.aws", "chalicelib.engines")]
# Adapters are reached through ports: only the composition root and the entry build them.
ADAPTERS = ("chalicelib.aws", "chalicelib.engines")
MAY_IMPORT_ADAPTERS = ("app", "chalicelib.wiring", *ADAPTERS)
# What each top-level folder may import of ours (besides itself). Lambda code never
# reaches the tools around it; the reference door controller is its own deployable.
FOLDERS: dict[str, tuple[str, ...]] = {
    "app": ("chalicelib",),
    "chalicelib": (),
    "door": (),
    "infra": ("chalicelib",),
    "sandbox": ("app", "chalicelib", "infra", "door"),  # it runs the app offline
    "bench": ("app", "chalicelib", "sandbox", "infra"),
    "facegate": (),  # the admin CLI talks HTTP to the API and is installed on its own
}
OURS = ("app", "chalicelib", "door", "infra", "sandbox", "bench", "tests", "facegate")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PROJECT_DIR).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module of ours that ``path`` imports, anywhere in the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from chalicelib import wiring` imports the module chalicelib.wiring
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
            found.add(node.module)
    return {name for name in found if name.split(".")[0] in OURS}


def sources(folder: str) -> list[Path]:
    if folder == "app":
        return [PROJECT_DIR / "app.py"]
    return sorted((PROJECT_DIR / folder).rglob("*.py"))


def _matches(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def layer_of(module: str) -> int | None:
    for index, (_, prefixes) in enumerate(LAYERS):
        if any(_matches(module, prefix) for prefix in prefixes):
            return index
    return None


def known_modules() -> set[str]:
    return {module_name(path) for folder in ("app", "chalicelib") for path in sources(folder)}


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    """``importer -> imported`` pairs that go up a layer or across independent packages."""
    known = set(graph)
    problems = []
    for importer, imported in sorted(graph.items()):
        here = layer_of(importer)
        for target in sorted(imported & known):
            there = layer_of(target)
            if here is None or there is None:
                continue  # reported by test_every_module_has_a_layer
            if there < here:
                problems.append(f"{importer} ({LAYERS[here][0]}) -> {target} ({LAYERS[there][0]})")
            if any(_matches(target, adapter) for adapter in ADAPTERS) and not any(
                _matches(importer, allowed) for allowed in MAY_IMPORT_ADAPTERS
            ):
                problems.append(f"{importer} -> {target}: adapters are built by wiring only")
            for left, right in INDEPENDENT:
                for one, other in ((left, right), (right, left)):
                    if _matches(importer, one) and _matches(target, other):
                        problems.append(f"{importer} -> {target}: {left} and {right} are independent")
    return problems


def lambda_graph() -> dict[str, set[str]]:
    known = known_modules()
    graph = {}
    for folder in ("app", "chalicelib"):
        for path in sources(folder):
            # `from chalicelib.aws import dynamo` names both the package and the module;
            # keep the most specific names that are modules of ours.
            graph[module_name(path)] = {name for name in imports_of(path) if name in known}
    return graph


def test_every_module_has_a_layer() -> None:
    assert sorted(module for module in known_modules() if layer_of(module) is None) == ["chalicelib"]


def test_imports_go_down_the_layers() -> None:
    assert layer_violations(lambda_graph()) == []


def test_an_upward_import_is_caught() -> None:
    graph = {"chalicelib.ports": {"chalicelib.pipeline"}, "chalicelib.pipeline": set()}
    assert layer_violations(graph) == ["chalicelib.ports (base) -> chalicelib.pipeline (services)"]


def test_a_service_importing_an_adapter_is_caught() -> None:
    graph = {"chalicelib.pipeline": {"chalicelib.aws.s3"}, "chalicelib.aws.s3": set()}
    assert layer_violations(graph) == [
        "chalicelib.pipeline -> chalicelib.aws.s3: adapters are built by wiring only"
    ]


def test_an_adapter_importing_an_engine_is_caught() -> None:
    graph = {"chalicelib.aws.faces": {"chalicelib.engines.local"}, "chalicelib.engines.local": set()}
    (problem,) = layer_violations(graph)
    assert problem.startswith("chalicelib.aws.faces -> chalicelib.engines.local: ")


def _outermost(names: set[str]) -> set[str]:
    """``tests.fakes`` for ``{tests.fakes, tests.fakes.InMemoryFaceStore}``."""
    return {name for name in names if not any(name.startswith(other + ".") for other in names)}


@pytest.mark.parametrize("folder", sorted(FOLDERS))
def test_folders_import_only_what_they_may(folder: str) -> None:
    allowed = (folder, *FOLDERS[folder])
    strays = [
        f"{module_name(path)} -> {name}"
        for path in sources(folder)
        for name in sorted(_outermost(imports_of(path)))
        if name.split(".")[0] not in allowed
    ]
    assert strays == []
