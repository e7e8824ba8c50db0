"""The tree of docs/ARCHITECTURE.md, enforced per folder: a module may import its own folder and
the floors below it, never a floor above nor a folder beside it, so the tree cannot drift.

Every module belongs to a folder of the table: a new top-level module or folder fails until it
is placed. Every import counts, at module level, inside functions (the lazy ones) and under
``TYPE_CHECKING`` alike: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from sandbox.stack import PROJECT_DIR

# The Lambda code's folders, top to bottom. Folders on one floor do not know each other.
FLOORS: list[tuple[str, ...]] = [
    ("app",),  # entry: decorators and ~10-line handlers
    ("chalicelib.api",),  # http: routes, request validation, error mapping, the route guard
    ("chalicelib.wiring",),  # the composition root: the only builder of clients and adapters
    ("chalicelib.aws", "chalicelib.engines"),  # adapters behind the ports
    ("chalicelib.scim",),  # the identity provider's SCIM: enrollment's and erasure's services
    ("chalicelib.auth", "chalicelib.enrollment", "chalicelib.erasure", "chalicelib.reporting"),
    ("chalicelib.doors",),  # what door agents report; the daily report counts it
    ("chalicelib.scanning",),  # a photo to a decision; the features reuse its bounded imaging
    ("chalicelib.access",),  # the access policy, which the pipeline consults
    ("chalicelib.core",),  # models, errors, ports, settings, keys: imports no feature
]
PACKAGE = "chalicelib"  # its __init__ holds a docstring only
# Adapters are reached through ports: only the entry and the composition root build them.
ADAPTERS = ("chalicelib.aws", "chalicelib.engines")
MAY_IMPORT_ADAPTERS = ("app", "chalicelib.wiring")
# What each top-level folder may import of ours (besides itself). Lambda code never
# reaches the tools around it; the door agent is its own deployable.
FOLDERS: dict[str, tuple[str, ...]] = {
    "app": ("chalicelib",),
    "chalicelib": (),
    "door": (),
    "infra": ("chalicelib",),
    "sandbox": ("app", "chalicelib", "infra", "door"),  # it runs the app offline
    "bench": ("app", "chalicelib", "sandbox", "infra", "door"),  # it times door agents too
    "facegate_cli": (),  # the admin CLI talks HTTP to the API and is installed on its own
}
OURS = (*FOLDERS, "tests")


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


def place_of(module: str) -> tuple[int, str] | None:
    """The floor and the folder of ``module``; None for a module outside the table."""
    for floor, folders in enumerate(FLOORS):
        for folder in folders:
            if _matches(module, folder):
                return floor, folder
    return None


def known_modules() -> set[str]:
    return {module_name(path) for folder in ("app", "chalicelib") for path in sources(folder)}


def _problem(importer: str, target: str) -> str | None:
    here, there = place_of(importer), place_of(target)
    if here is None or there is None:
        return None  # reported by test_every_module_belongs_to_a_folder
    (floor, folder), (target_floor, target_folder) = here, there
    if folder == target_folder:
        return None
    if target_floor < floor:
        return f"{importer} -> {target}: {target_folder} is above {folder}"
    if target_floor == floor:
        return f"{importer} -> {target}: {folder} and {target_folder} are side by side"
    if target_folder in ADAPTERS and folder not in MAY_IMPORT_ADAPTERS:
        return f"{importer} -> {target}: adapters are built by wiring only"
    return None


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    """``importer -> imported: why`` for each import that leaves the importer's folder wrongly."""
    problems = []
    for importer, imported in sorted(graph.items()):
        for target in sorted(imported - {PACKAGE}):
            problem = _problem(importer, target)
            if problem is not None:
                problems.append(problem)
    return problems


def lambda_graph() -> dict[str, set[str]]:
    known = known_modules()
    graph = {}
    for folder in ("app", "chalicelib"):
        for path in sources(folder):
            # `from chalicelib.aws import dynamo` names both the package and the module;
            # keep the names that are modules of ours.
            graph[module_name(path)] = {name for name in imports_of(path) if name in known}
    return graph


def test_every_module_belongs_to_a_folder() -> None:
    assert sorted(m for m in known_modules() if place_of(m) is None and m != PACKAGE) == []


def test_every_folder_of_the_table_exists() -> None:
    known = known_modules()
    assert [folder for floors in FLOORS for folder in floors if folder not in known] == []


def test_imports_go_down_the_folders() -> None:
    assert layer_violations(lambda_graph()) == []


def test_an_upward_import_is_caught() -> None:
    graph = {"chalicelib.core.ports": {"chalicelib.scanning.pipeline"}}
    assert layer_violations(graph) == [
        "chalicelib.core.ports -> chalicelib.scanning.pipeline: chalicelib.scanning is above chalicelib.core"
    ]


def test_an_import_of_a_folder_beside_is_caught() -> None:
    graph = {"chalicelib.reporting.reports": {"chalicelib.erasure.job"}}
    (problem,) = layer_violations(graph)
    assert problem.endswith("chalicelib.reporting and chalicelib.erasure are side by side")


def test_a_service_importing_an_adapter_is_caught() -> None:
    graph = {
        "chalicelib.api.scans": {"chalicelib.aws.s3"},
        "chalicelib.scanning.pipeline": {"chalicelib.aws.s3"},
    }
    assert layer_violations(graph) == [
        "chalicelib.api.scans -> chalicelib.aws.s3: adapters are built by wiring only",
        "chalicelib.scanning.pipeline -> chalicelib.aws.s3: chalicelib.aws is above chalicelib.scanning",
    ]


def test_an_adapter_importing_an_engine_is_caught() -> None:
    graph = {"chalicelib.aws.faces": {"chalicelib.engines.local"}}
    (problem,) = layer_violations(graph)
    assert problem.startswith("chalicelib.aws.faces -> chalicelib.engines.local: ")


def test_a_module_outside_the_table_is_caught() -> None:
    assert place_of("chalicelib.helpers") is None and place_of("chalicelib.newfeature.things") is None


def test_every_top_level_folder_of_python_is_in_the_table() -> None:
    python_folders = {
        path.parent.relative_to(PROJECT_DIR).parts[0]
        for path in PROJECT_DIR.glob("*/*.py")
        if not path.parent.name.startswith(".")
    }
    top_modules = {path.stem for path in PROJECT_DIR.glob("*.py")}
    assert sorted((python_folders | top_modules) - set(OURS)) == []


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
