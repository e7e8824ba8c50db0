"""The site of issue 15, written as an admin would write it: JSON documents for the API.

"Staff: front door 07:00–19:00 on weekdays; IT: also the server room, always; contractor X:
front door until the 30th; nobody on public holidays except security." The site is in
Chicago, so its weeks cross both DST changes of 2026 (8 March, 1 November).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from chalicelib.access.documents import door_from, group_from, holiday_from, rule_from
from chalicelib.access.policy import (
    AccessEntry,
    AccessGroup,
    AccessSnapshot,
    Door,
    Holiday,
    Rule,
    local_instant,
)

TIMEZONE = "America/Chicago"

DOORS: dict[str, dict[str, Any]] = {
    "front-door": {"name": "Front door", "cameras": ["front-door-in", "front-door-out"]},
    "server-room": {"name": "Server room", "cameras": ["server-room-cam"]},
}
GROUPS: dict[str, dict[str, Any]] = {
    "staff": {"name": "Staff"},
    "it": {"name": "IT", "description": "also the server room"},
    "security": {"name": "Security"},
}
WEEKDAYS_7_TO_19 = [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "07:00", "end": "19:00"}]
RULES: dict[str, dict[str, Any]] = {
    "staff-front-door": {
        "effect": "GRANT",
        "doors": ["front-door"],
        "schedule": WEEKDAYS_7_TO_19,
        "groups": ["staff"],
    },
    "it-server-room": {"effect": "GRANT", "doors": ["server-room"], "groups": ["it"]},
    "contractor-x": {
        "effect": "GRANT",
        "doors": ["front-door"],
        "employees": ["CON001"],
        "valid_from": "2026-10-01",
        "valid_until": "2026-10-30",
        "description": "contractor X, the October refit",
    },
    "security-everywhere": {"effect": "GRANT", "doors": ["*"], "groups": ["security"]},
}
HOLIDAYS: dict[str, dict[str, Any]] = {
    "2026-11-26": {"name": "Thanksgiving", "groups": ["security"]},
    "2026-12-25": {"name": "Christmas Day", "effect": "CLOSE", "doors": ["*"], "groups": ["security"]},
}

# Who works there (employee id → access groups); CON001 is contractor X, in no group.
STAFF = ("EMP001", frozenset({"staff"}))
IT = ("EMP002", frozenset({"staff", "it"}))
CONTRACTOR = ("CON001", frozenset[str]())
SECURITY = ("SEC001", frozenset({"security"}))


def entries(
    rules: dict[str, dict[str, Any]] | None = None, holidays: dict[str, dict[str, Any]] | None = None
) -> list[AccessEntry]:
    """The site's entries, each through the same ``*_from`` check as the API's PUT."""
    found: list[AccessEntry] = [door_from(door_id, body) for door_id, body in DOORS.items()]
    found += [group_from(group_id, body) for group_id, body in GROUPS.items()]
    found += [rule_from(rule_id, body) for rule_id, body in (RULES if rules is None else rules).items()]
    found += [holiday_from(day, body) for day, body in (HOLIDAYS if holidays is None else holidays).items()]
    return found


def snapshot(version: str = "v1", **kw: dict[str, dict[str, Any]]) -> AccessSnapshot:
    """The site as a container would load it at ``version``."""
    found = entries(**kw)
    return AccessSnapshot(
        version,
        doors=tuple(entry for entry in found if isinstance(entry, Door)),
        groups=tuple(entry for entry in found if isinstance(entry, AccessGroup)),
        rules=tuple(entry for entry in found if isinstance(entry, Rule)),
        holidays=tuple(entry for entry in found if isinstance(entry, Holiday)),
    )


def local(day: str, wall: str) -> datetime:
    """The instant the site's clocks show ``wall`` (HH:MM[:SS]) on ``day``."""
    return local_instant(date.fromisoformat(day), time.fromisoformat(wall), TIMEZONE)
