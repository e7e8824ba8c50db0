"""SCIM Users as employees: list (filter, paging), read, create, replace, patch, delete.

Every change goes through the enrollment service (``update_employee``: ``active: false``
suspends at once, so the next scan decides UNKNOWN) or the erasure job (``start_erasure``),
audited with the actor ``scim``. Faces are never created here: enrollment stays with the photo
paths and their rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.core.errors import AlreadyExists, NotFound, ScimRefused
from chalicelib.core.keys import employee_id_problem
from chalicelib.core.models import Employee
from chalicelib.core.ports import ScimCredential
from chalicelib.enrollment import employees as enrollment
from chalicelib.enrollment.employees import EnrollmentPorts
from chalicelib.erasure import job as erasure
from chalicelib.erasure.steps import ErasurePorts
from chalicelib.scim import credential, patch
from chalicelib.scim.resources import LIST_SCHEMA, folded, new_employee, user_resource

ACTOR = "scim"
# The token's audit entries: a target no employee id can be ('#' is outside the id rule), so
# they never mix with an employee's entries.
AUDIT_TARGET = "#scim-token"
MAX_COUNT = 100  # per page: RFC 7644 lets the server lower a client's count
MAX_START_INDEX = 10_000
PAGE = 100  # employees read per directory page
MAX_PAGES = 100  # a listing reads at most 10,000 employees' worth of pages: beyond, tooMany


@dataclass(frozen=True)
class ScimPorts:
    """What the SCIM routes need: enrollment's and erasure's ports, and the token's store."""

    enrollment: EnrollmentPorts
    erasure: ErasurePorts
    credential: ScimCredential


def issue_token(ports: ScimPorts, actor: str) -> str:
    """A new SCIM token (the one before stops working now); shown once, only its hash kept."""
    token = credential.new_token()
    ports.credential.store(credential.digest(token))
    ports.enrollment.log(actor, "scim.token.issue", AUDIT_TARGET)  # never the token, nor its hash
    return token


def list_users(wanted: str | None, start: int, count: int, ports: ScimPorts, base: str) -> dict[str, Any]:
    """A ListResponse: the one user a filter names (or none), else a page of every user."""
    if wanted is not None:
        found = _employee(wanted, ports)
        every = [found] if found is not None else []
    else:
        every = _every_employee(ports)
    page = every[start - 1 : start - 1 + count]
    return {
        "schemas": [LIST_SCHEMA],
        "totalResults": len(every),
        "startIndex": start,
        "itemsPerPage": len(page),
        "Resources": [user_resource(employee, base) for employee in page],
    }


def get_user(user_id: str, ports: ScimPorts, base: str) -> dict[str, Any]:
    return user_resource(_existing(user_id, ports), base)


def create_user(body: dict[str, Any], ports: ScimPorts, base: str) -> dict[str, Any]:
    """A new employee, without faces; ``AlreadyExists`` (409 uniqueness) for a taken userName."""
    employee = new_employee(body)
    _no_case_twin(employee.employee_id, ports)
    created = enrollment.create_employee(
        Employee(employee.employee_id, employee.name, True, employee.email), ports.enrollment, ACTOR
    )
    if not employee.active:  # created suspended: through the service's suspension path
        created = enrollment.update_employee(created.employee_id, {"active": False}, ports.enrollment, ACTOR)
    return user_resource(created, base)


def replace_user(user_id: str, body: dict[str, Any], ports: ScimPorts, base: str) -> dict[str, Any]:
    """PUT: the name, email and ``active`` the body says (a missing email is removed, a missing
    ``active`` kept)."""
    current = _existing(user_id, ports)
    body = folded(body)  # attribute names as SCIM compares them: "Active" is "active"
    employee = new_employee(body)
    if employee.employee_id != current.employee_id:
        raise ScimRefused("userName is the employee id and cannot change", "mutability")
    # A PUT without ``active`` keeps it: omitting it never re-admits a suspended leaver.
    active = employee.active if "active" in body else current.active
    changes = {"name": employee.name, "email": employee.email, "active": active}
    updated = enrollment.update_employee(user_id, changes, ports.enrollment, ACTOR)
    return user_resource(updated, base)


def patch_user(user_id: str, body: dict[str, Any], ports: ScimPorts, base: str) -> dict[str, Any]:
    """PATCH: the operations' changes, if any, through the enrollment service."""
    current = _existing(user_id, ports)
    changes = patch.changes_of(body, current.employee_id)
    if not changes:
        return user_resource(current, base)
    return user_resource(enrollment.update_employee(user_id, changes, ports.enrollment, ACTOR), base)


def delete_user(user_id: str, ports: ScimPorts) -> None:
    """DELETE: the erasure job, as DELETE /employees/{id} starts it; the user is gone at once."""
    _existing(user_id, ports)
    erasure.start_erasure(user_id, ports.erasure, ACTOR)


def _existing(user_id: str, ports: ScimPorts) -> Employee:
    employee = _employee(user_id, ports)
    if employee is None:
        raise NotFound(f"no user {user_id[:64]}")
    return employee


def _employee(user_id: str, ports: ScimPorts) -> Employee | None:
    """The employee of that id, or None (a value no employee id could be names no one)."""
    if employee_id_problem(user_id) is not None:
        return None
    return ports.enrollment.directory.get(user_id)


def _no_case_twin(employee_id: str, ports: ScimPorts) -> None:
    """``AlreadyExists`` (409 uniqueness) when an employee's id differs from ``employee_id``
    in case only. Employee ids are case-sensitive and SCIM's userName is advertised caseExact,
    but an identity provider that sends ``emp777`` for EMP777 would otherwise create a second,
    faceless employee and later suspend that one, never the leaver. Bounded as a listing is
    (``MAX_PAGES``): beyond, SCIM creates nothing (``tooMany``) rather than skip the check."""
    wanted, token = employee_id.casefold(), None
    for _ in range(MAX_PAGES):
        page = ports.enrollment.directory.listing(PAGE, token)
        for other in page.items:
            if other.employee_id != employee_id and other.employee_id.casefold() == wanted:
                raise AlreadyExists(
                    f"employee {other.employee_id} exists: userName is the employee id, case included"
                )
        token = page.next_token
        if token is None:
            return
    raise ScimRefused("too many employees to check userName against: create them by the API", "tooMany")


def _every_employee(ports: ScimPorts) -> list[Employee]:
    employees: list[Employee] = []
    token: str | None = None
    for _ in range(MAX_PAGES):
        page = ports.enrollment.directory.listing(PAGE, token)
        employees.extend(page.items)
        token = page.next_token
        if token is None:
            return sorted(employees, key=lambda employee: employee.employee_id)
    raise ScimRefused("too many users to list: filter by userName", "tooMany")
