"""Every audit target that is not an employee is an id no employee may take (finding B6): an
employee named ``door-events`` or ``retention`` would share that feature's audit partition.
The targets are found in the code, so a new one cannot be forgotten."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

from chalicelib.core.keys import RESERVED_IDS, employee_id_problem

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "app.py", *sorted((ROOT / "chalicelib").rglob("*.py"))]


def _text(node: ast.expr) -> str | None:
    """A literal target's text (an f-string's fields as ``x``), None for anything computed."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_text(part) or "x" for part in node.values)
    return None


def _targets_in(tree: ast.AST) -> set[str]:
    found: list[ast.expr | None] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            names = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(n, ast.Name) and n.id.endswith("TARGET") for n in names):
                found.append(node.value)
        elif isinstance(node, ast.FunctionDef) and "target" in node.name:  # access.admin.audit_target
            found += [ret.value for ret in ast.walk(node) if isinstance(ret, ast.Return)]
        elif isinstance(node, ast.Call):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            where = {"log": 2, "AuditEntry": 3, "between": 0}.get(called)
            if where is not None and len(node.args) > where:
                found.append(node.args[where])
            found += [k.value for k in node.keywords if k.arg == "target"]
    return {text for text in map(lambda n: _text(n) if n is not None else None, found) if text is not None}


@functools.cache
def audit_targets() -> frozenset[str]:
    return frozenset().union(*(_targets_in(ast.parse(path.read_text())) for path in SOURCES))


def test_the_scan_finds_the_audit_targets_we_know() -> None:
    known = {"daily-report", "erasure", "gallery-health", "consent", "door-events", "retention", "gallery"}
    assert known | {"access/door-commands", "#scim-token", "access/x/x"} <= audit_targets()


def test_every_audit_target_that_could_be_an_employee_id_is_reserved() -> None:
    could_be_employees = {t for t in audit_targets() if employee_id_problem(t.replace("x", "a")) is None}
    assert could_be_employees - RESERVED_IDS == set()
    for reserved in RESERVED_IDS:
        assert employee_id_problem(reserved) == f"employee id {reserved} is reserved"


def test_the_api_contract_names_every_reserved_id() -> None:
    described = (ROOT / "openapi.yaml").read_text().split("EmployeeIdValue:", 1)[1].split("Name:", 1)[0]
    assert all(reserved in described for reserved in RESERVED_IDS)
