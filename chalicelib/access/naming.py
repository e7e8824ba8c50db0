"""Names a rule or holiday may hold: groups and employees that exist.

A rule naming a group that does not exist grants nothing today and everything to whoever
is put into a group of that name tomorrow, with no admin looking at the rule again. So a
rule or holiday that names an unknown group or employee is refused (``UnknownNamed``, 409)
unless the admin says explicitly that the name is meant (``allow_unknown``, audited).
Groups are checked against the snapshot the change commits at (a group deleted meanwhile
moves the version, and the check runs again); employees against the directory.
"""

from __future__ import annotations

from chalicelib.access.policy import ANY, AccessSnapshot, Holiday, Rule, entry_key
from chalicelib.core.errors import UnknownNamed
from chalicelib.core.ports import EmployeeDirectory


def unknown_names(
    snapshot: AccessSnapshot, directory: EmployeeDirectory, entry: Rule | Holiday
) -> tuple[list[str], list[str]]:
    """The groups and the employees ``entry`` names that do not exist (``*`` always does)."""
    stored = {group.group_id for group in snapshot.groups}
    groups = sorted(name for name in entry.groups if name != ANY and name not in stored)
    named = sorted(entry.employees) if isinstance(entry, Rule) else []
    # Bounded: a rule names at most documents.MAX_EMPLOYEES employees.
    employees = [employee_id for employee_id in named if directory.get(employee_id) is None]
    return groups, employees


def refuse_unknown(groups: list[str], employees: list[str], entry: Rule | Holiday) -> None:
    """``UnknownNamed`` when ``entry`` names any group or employee that does not exist."""
    if groups or employees:
        kind, entry_id = entry_key(entry)
        raise UnknownNamed(f"{kind} {entry_id}", groups, employees)
