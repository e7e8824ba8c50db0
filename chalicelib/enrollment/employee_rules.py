"""What an employee record accepts: the id, the name, the email and the department.

Domain rules, not HTTP ones: the API's validation and the drop folder (through the handler)
read a new employee with the same ``new_employee``, so both refuse the same record for the
same reason. A refusal is ``BadRequest`` with a message naming the field.
"""

from __future__ import annotations

import re
from typing import Any

from chalicelib.core.display import is_hidden
from chalicelib.core.errors import BadRequest
from chalicelib.core.keys import employee_id_problem
from chalicelib.core.models import Employee

EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
# Zero-width (non-)joiners are part of how some scripts write names; every other character
# display.py would escape (controls, separators, bidi, lone surrogates…) is refused.
NAME_JOINERS = frozenset({"\u200c", "\u200d"})


def employee_id(value: str) -> str:
    problem = employee_id_problem(value, called="employee_id")  # the field's name in bodies
    if problem is not None:
        raise BadRequest(problem)
    return value


def new_employee(body: dict[str, Any]) -> Employee:
    only_fields(body, {"employee_id", "name", "email", "department"})
    raw_id = body.get("employee_id")
    if not isinstance(raw_id, str):
        raise BadRequest("employee_id is required and must be a string")
    if "name" not in body:
        raise BadRequest("name is required")
    return Employee(
        employee_id=employee_id(raw_id),
        name=_text(body, "name", 200),
        email=_email(body),
        department=_optional_text(body, "department", 100),
    )


def employee_changes(body: dict[str, Any]) -> dict[str, Any]:
    only_fields(body, {"name", "email", "department", "active"})
    if not body:
        raise BadRequest("nothing to change: send name, email, department or active")
    changes: dict[str, Any] = {}
    if "name" in body:
        changes["name"] = _text(body, "name", 200)
    if "email" in body:
        changes["email"] = _email(body)
    if "department" in body:
        changes["department"] = _optional_text(body, "department", 100)
    if "active" in body:
        if not isinstance(body["active"], bool):
            raise BadRequest("active must be true or false")
        changes["active"] = body["active"]
    return changes


def only_fields(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadRequest(f"unknown field: {', '.join(unknown)}")


def _text(body: dict[str, Any], field: str, max_length: int) -> str:
    value = body.get(field)
    if not isinstance(value, str):
        raise BadRequest(f"{field} must be a string")
    value = value.strip()
    if not 1 <= len(value) <= max_length:
        raise BadRequest(f"{field} must be 1–{max_length} characters")
    if any(is_hidden(char) and char not in NAME_JOINERS for char in value):
        raise BadRequest(f"{field} must not contain control characters")
    return value


def _optional_text(body: dict[str, Any], field: str, max_length: int) -> str | None:
    return None if body.get(field) is None else _text(body, field, max_length)


def _email(body: dict[str, Any]) -> str | None:
    value = _optional_text(body, "email", 254)
    if value is not None and not EMAIL.fullmatch(value):
        raise BadRequest("email is not an email address")
    return value
