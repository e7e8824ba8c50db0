"""The duplicate guard's one override: a named pair of genuine look-alikes (twins).

``add_face`` refuses a face that scores ``recognition.confusable_at`` or more against
another employee's. For two people who really do look alike an admin may allow exactly that
pair: a new face of either is then not refused for resembling the other, and still refused
for resembling anyone else. The pair is symmetric and kept on both employees' records (as
their access groups are); it is honoured only while both list each other, so it ends with
either of them. Allowing and removing are audited on both employees. Scans of either may
still be UNKNOWN (ambiguous) at the door: the margin rule is not overridden.
"""

from __future__ import annotations

from chalicelib.core.errors import BadRequest, NotFound
from chalicelib.enrollment.employees import EnrollmentPorts, allowed_lookalikes, get_employee


def allow_pair(employee_a: str, employee_b: str, ports: EnrollmentPorts, actor: str) -> tuple[str, str]:
    """Allow the pair (both must exist); ``NotFound``, ``BadRequest`` for one employee twice."""
    a, b = _pair(employee_a, employee_b)
    get_employee(a, ports)
    get_employee(b, ports)
    if not ports.directory.set_lookalike(a, b, True):
        raise NotFound(f"no employee {a}")
    if not ports.directory.set_lookalike(b, a, True):  # erased meanwhile: a half pair is inert
        ports.directory.set_lookalike(a, b, False)
        raise NotFound(f"no employee {b}")
    for target, other in ((a, b), (b, a)):
        ports.log(actor, "face.lookalike.allow", target, other_employee_id=other)
    return a, b


def remove_pair(employee_a: str, employee_b: str, ports: EnrollmentPorts, actor: str) -> None:
    """End the pair; ``NotFound`` when it is not allowed."""
    a, b = _pair(employee_a, employee_b)
    if (a, b) not in _allowed(a, ports):
        raise NotFound(f"no allowed look-alike pair {a} {b}")
    ports.directory.set_lookalike(a, b, False)
    ports.directory.set_lookalike(b, a, False)
    for target, other in ((a, b), (b, a)):
        ports.log(actor, "face.lookalike.remove", target, other_employee_id=other)


def allowed_pairs(ports: EnrollmentPorts) -> list[tuple[str, str]]:
    """Every allowed pair, (lower id, higher id), sorted."""
    return ports.directory.lookalike_pairs()


def _allowed(employee_id: str, ports: EnrollmentPorts) -> set[tuple[str, str]]:
    return {_pair(employee_id, other) for other in allowed_lookalikes(employee_id, ports)}


def _pair(employee_a: str, employee_b: str) -> tuple[str, str]:
    if employee_a == employee_b:
        raise BadRequest("a look-alike pair is two different employees")
    return (employee_a, employee_b) if employee_a < employee_b else (employee_b, employee_a)
