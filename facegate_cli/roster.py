"""A roster CSV as an import plan: who to create, which photos to enroll, what to refuse.

Pure: reads the CSV text and asks ``exists`` about photo files; no HTTP, no journal.
Columns: employee_id, name, email, department, photos (file names separated by ``;``,
relative to the photos folder), and optionally consent_method (paper, e-signature or import)
and consent_reference (the form's reference, the signature's id): the employee's biometric
consent, recorded before their photos (the API refuses a face without one where the stage
requires it). Rows are refused here with a reason when the API would
refuse them anyway (the id rule is the API's), so the server sees only plausible work.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

COLUMNS = ("employee_id", "name", "email", "department", "photos")
CONSENT_COLUMNS = ("consent_method", "consent_reference")  # optional: both or neither
CONSENT_METHODS = ("paper", "e-signature", "import")  # the API's (chalicelib/core/models.py)
# The API's rule (chalicelib/core/keys.py), not only dots either; the CLI imports nothing from
# chalicelib: tests/cli/test_roster.py holds the two to the same answers.
EMPLOYEE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
RESERVED_IDS = frozenset(
    {"daily-report", "erasure", "gallery-health", "consent", "door-events", "retention", "gallery"}
)
ID_RULE = "1–64 characters of A–Z, a–z, 0–9, _ . : - (not only dots)"


class RosterError(ValueError):
    """The file as a whole cannot be read as a roster (a missing column, not a CSV)."""


@dataclass(frozen=True)
class Refusal:
    """A row or one photo of it that is not imported, and why (one line of the refused CSV)."""

    line: int
    employee_id: str
    photo: str  # "" when the whole row is refused
    reason: str


@dataclass(frozen=True)
class Person:
    """One valid row: the employee to create and the photos (relative names) to enroll."""

    line: int
    employee_id: str
    name: str
    email: str | None
    department: str | None
    photos: tuple[str, ...]
    consent: tuple[str, str] | None = None  # (method, reference) to record before the photos

    def body(self) -> dict[str, str]:
        """The ``POST /employees`` body."""
        body = {"employee_id": self.employee_id, "name": self.name}
        if self.email:
            body["email"] = self.email
        if self.department:
            body["department"] = self.department
        return body


@dataclass
class Plan:
    """Every valid row in file order, and every refusal found before talking to the API."""

    people: list[Person] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


def parse(
    text: str, photo_exists: Callable[[str], bool], inside: Callable[[str], bool] = lambda _: True
) -> Plan:
    """The plan for roster ``text``; ``RosterError`` when a column is missing or named twice
    (spaces and case aside), or the CSV is broken. ``inside(name)``: the photo, links
    followed, is in the photos folder."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))  # Excel writes a BOM
    try:
        return _parse(reader, photo_exists, inside)
    except csv.Error as error:  # a field over csv's 128 KiB limit, say
        raise RosterError(f"line {reader.line_num + 1}: not a readable CSV row: {error}") from None


def _parse(
    reader: csv.DictReader[str], photo_exists: Callable[[str], bool], inside: Callable[[str], bool]
) -> Plan:
    header = [name.strip() for name in reader.fieldnames or []]
    named = Counter(name.casefold() for name in header if name)
    first = {name.casefold(): name for name in reversed(header)}  # each as first spelled
    twice = [first[folded] for folded, count in named.items() if count > 1]
    if twice:  # which one would count? csv keeps the last: refused rather than guessed
        raise RosterError(f"the roster names a column more than once: {', '.join(twice)}")
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        raise RosterError(f"the roster has no column {', '.join(missing)} (needs {', '.join(COLUMNS)})")
    reader.fieldnames = header
    plan, seen = Plan(), dict[str, int]()
    for row in reader:
        line = reader.line_num
        values = {column: (row.get(column) or "").strip() for column in COLUMNS + CONSENT_COLUMNS}
        employee_id = values["employee_id"]
        problem = _row_problem(values, seen)
        if problem is not None:
            plan.refused.append(Refusal(line, employee_id, "", problem))
            continue
        seen[employee_id] = line
        photos = tuple(dict.fromkeys(name.strip() for name in values["photos"].split(";") if name.strip()))
        kept = []
        for name in photos:
            if _escapes(name) or not inside(name):
                plan.refused.append(Refusal(line, employee_id, name, "photo path leaves the photos folder"))
            elif not photo_exists(name):
                plan.refused.append(Refusal(line, employee_id, name, "photo file not found"))
            else:
                kept.append(name)
        plan.people.append(
            Person(
                line=line,
                employee_id=employee_id,
                name=values["name"],
                email=values["email"] or None,
                department=values["department"] or None,
                photos=tuple(kept),
                consent=_consent(values),
            )
        )
    return plan


def _row_problem(values: dict[str, str], seen: dict[str, int]) -> str | None:
    employee_id = values["employee_id"]
    if not employee_id:
        return "employee_id is empty"
    # Not only dots: "." and ".." would bend the API's URL paths.
    if not EMPLOYEE_ID.fullmatch(employee_id) or employee_id.strip(".") == "":
        return f"bad employee_id: must be {ID_RULE}"
    if employee_id in RESERVED_IDS:
        return f"bad employee_id: {employee_id} is reserved"
    if employee_id in seen:
        return f"duplicate employee_id: already on line {seen[employee_id]}"
    if not values["name"]:
        return "name is empty"
    method, reference = values["consent_method"], values["consent_reference"]
    if (method or reference) and not (method and reference):
        return "consent needs both consent_method and consent_reference"
    if method and method not in CONSENT_METHODS:
        return f"bad consent_method: must be one of {', '.join(CONSENT_METHODS)}"
    if len(reference) > 200 or not reference.isprintable():
        return "bad consent_reference: must be 1-200 printable characters"
    return None


def _consent(values: dict[str, str]) -> tuple[str, str] | None:
    method, reference = values["consent_method"], values["consent_reference"]
    return (method, reference) if method and reference else None


def _escapes(name: str) -> bool:
    """An absolute name or one with ``..`` would read files outside the photos folder."""
    path = Path(name)
    return path.is_absolute() or ".." in path.parts


def stays_inside(folder: Path) -> Callable[[str], bool]:
    """Whether a photo name, links followed, stays in ``folder`` (a link may point anywhere)."""
    root = folder.resolve()

    def inside(name: str) -> bool:
        return (root / name).resolve().is_relative_to(root)

    return inside
