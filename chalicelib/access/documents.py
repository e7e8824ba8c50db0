"""Doors, groups, rules, holidays and lockdowns as JSON documents: the API's bodies and the stored items.

``*_from`` checks a document strictly (unknown fields, ids, sizes, times, dates) and raises
``InvalidAccessDocument`` naming the field; ``document`` is the inverse. The stored items are
these documents, so what the API accepted is exactly what a container reads back.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, time
from typing import Any

from chalicelib.access.policy import (
    ALWAYS,
    ANY,
    DAYS,
    AccessGroup,
    Door,
    Effect,
    Holiday,
    HolidayEffect,
    Lockdown,
    Rule,
    Window,
)
from chalicelib.core.display import is_hidden
from chalicelib.core.errors import InvalidAccessDocument
from chalicelib.core.keys import CAMERA_ID_RULE, employee_id_problem, is_camera_id

MAX_NAME = 120
MAX_DESCRIPTION = 500
MAX_CAMERAS = 32
MAX_DOORS = 200
MAX_GROUPS = 100
MAX_EMPLOYEES = 500
MAX_WINDOWS = 28
# Why a door is unlocked from afar, locked down or released: required, a few words at least.
MIN_REASON, MAX_REASON = 3, 200
MAX_ACTOR = 128  # Cognito usernames are at most 128 characters
INSTANT_MS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z", re.ASCII)
CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])", re.ASCII)
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
# As in employee names: zero-width (non-)joiners are how some scripts write; every other
# character display.py escapes (controls, bidi, lone surrogates that DynamoDB cannot store) is refused.
TEXT_JOINERS = frozenset({"\u200c", "\u200d"})

Entry = Door | AccessGroup | Rule | Holiday | Lockdown


def door_problem(value: str) -> str | None:
    """Doors share the camera id rule: an unmapped camera is a door of its own."""
    return None if is_camera_id(value) else f"door id must be {CAMERA_ID_RULE}"


def group_problem(value: str) -> str | None:
    return employee_id_problem(value, called="group id")


def rule_problem(value: str) -> str | None:
    return employee_id_problem(value, called="rule id")


def door_from(door_id: str, body: dict[str, Any]) -> Door:
    _only(body, {"door_id", "name", "cameras"}, door_id, "door_id")
    _check_id(door_id, door_problem)
    cameras = _ids(body, "cameras", MAX_CAMERAS, _camera_problem, default=[])
    return Door(door_id, _text(body, "name", MAX_NAME), frozenset(cameras))


def group_from(group_id: str, body: dict[str, Any]) -> AccessGroup:
    _only(body, {"group_id", "name", "description"}, group_id, "group_id")
    _check_id(group_id, group_problem)
    return AccessGroup(
        group_id, _text(body, "name", MAX_NAME), _text(body, "description", MAX_DESCRIPTION, "")
    )


def rule_from(rule_id: str, body: dict[str, Any]) -> Rule:
    fields = {"rule_id", "effect", "doors", "schedule", "groups", "employees", "valid_from", "valid_until"}
    _only(body, fields | {"description"}, rule_id, "rule_id")
    _check_id(rule_id, rule_problem)
    effect = _choice(body, "effect", Effect)
    doors = _ids(body, "doors", MAX_DOORS, _door_or_any)
    groups = _ids(body, "groups", MAX_GROUPS, _group_or_any, default=[])
    employees = _ids(body, "employees", MAX_EMPLOYEES, employee_id_problem, default=[])
    if not groups and not employees:
        raise InvalidAccessDocument("a rule names at least one of groups or employees")
    schedule = body.get("schedule")
    windows = ALWAYS if schedule is None else _windows(schedule)
    valid_from, valid_until = _date(body, "valid_from"), _date(body, "valid_until")
    if valid_from and valid_until and valid_until < valid_from:
        raise InvalidAccessDocument("valid_until is before valid_from")
    return Rule(
        rule_id,
        effect,
        frozenset(doors),
        windows=windows,
        groups=frozenset(groups),
        employees=frozenset(employees),
        valid_from=valid_from,
        valid_until=valid_until,
        description=_text(body, "description", MAX_DESCRIPTION, ""),
    )


def holiday_from(day: str, body: dict[str, Any]) -> Holiday:
    _only(body, {"day", "name", "effect", "doors", "groups"}, day, "day")
    parsed = _parse_date(day, "day")
    effect = _choice(body, "effect", HolidayEffect, default=HolidayEffect.CLOSE)
    doors = _ids(body, "doors", MAX_DOORS, _door_or_any, default=[ANY])
    groups = _ids(body, "groups", MAX_GROUPS, _group_or_any, default=[])
    if effect is HolidayEffect.OPEN and not groups:
        raise InvalidAccessDocument("an OPEN holiday names the groups it lets in")
    return Holiday(parsed, _text(body, "name", MAX_NAME), effect, frozenset(doors), frozenset(groups))


def lockdown_from(door_id: str, body: dict[str, Any]) -> Lockdown:
    """A stored lockdown (written by ``access.remote``, never taken whole from a request)."""
    _only(body, {"door_id", "since", "actor", "reason"}, door_id, "door_id")
    _check_id(door_id, door_problem)
    since = body.get("since")
    if not isinstance(since, str) or INSTANT_MS.fullmatch(since) is None:
        raise InvalidAccessDocument("since must be a UTC time, YYYY-MM-DDTHH:MM:SS.mmmZ")
    return Lockdown(door_id, since, _text(body, "actor", MAX_ACTOR), reason_text(body.get("reason")))


def reason_text(raw: object) -> str:
    """Why a door is commanded from afar: MIN_REASON–MAX_REASON characters once trimmed, no
    control, format or separator characters (it reaches the audit, the API and the CLI's
    tables); ``InvalidAccessDocument`` (a 400) otherwise."""
    if not isinstance(raw, str):
        raise InvalidAccessDocument(f"reason is required: {MIN_REASON}–{MAX_REASON} characters saying why")
    text = raw.strip()
    if not MIN_REASON <= len(text) <= MAX_REASON:
        raise InvalidAccessDocument(f"reason must be {MIN_REASON}–{MAX_REASON} characters, not {len(text)}")
    if any(is_hidden(char) and char not in TEXT_JOINERS for char in text):
        raise InvalidAccessDocument("reason must not contain control characters")
    return text


def entry_from(kind: str, entry_id: str, body: dict[str, Any]) -> Entry:
    """``body`` as an entry of ``kind`` (``door|group|rule|holiday``, as ``access.entry_key``
    names them), checked as strictly as the ``*_from`` of that kind."""
    parse = _PARSERS.get(kind)
    if parse is None:
        raise InvalidAccessDocument(f"no kind of access entry {kind!r}")
    return parse(entry_id, body)


def document(entry: Entry) -> dict[str, Any]:
    """The JSON document of ``entry`` (lists sorted, so equal entries read equal)."""
    if isinstance(entry, Door):
        return {"door_id": entry.door_id, "name": entry.name, "cameras": sorted(entry.cameras)}
    if isinstance(entry, AccessGroup):
        return {"group_id": entry.group_id, "name": entry.name, "description": entry.description}
    if isinstance(entry, Lockdown):
        return {"door_id": entry.door_id, "since": entry.since, "actor": entry.actor, "reason": entry.reason}
    if isinstance(entry, Holiday):
        return {
            "day": entry.day.isoformat(),
            "name": entry.name,
            "effect": entry.effect.value,
            "doors": sorted(entry.doors),
            "groups": sorted(entry.groups),
        }
    return {
        "rule_id": entry.rule_id,
        "effect": entry.effect.value,
        "doors": sorted(entry.doors),
        "schedule": [window_document(window) for window in entry.windows],
        "groups": sorted(entry.groups),
        "employees": sorted(entry.employees),
        "valid_from": None if entry.valid_from is None else entry.valid_from.isoformat(),
        "valid_until": None if entry.valid_until is None else entry.valid_until.isoformat(),
        "description": entry.description,
    }


_PARSERS: dict[str, Callable[[str, dict[str, Any]], Entry]] = {
    "door": door_from,
    "group": group_from,
    "rule": rule_from,
    "holiday": holiday_from,
    "lockdown": lockdown_from,
}


def window_document(window: Window) -> dict[str, Any]:
    return {
        "days": [DAYS[day] for day in sorted(window.days)],
        "start": window.start.strftime("%H:%M"),
        "end": window.end.strftime("%H:%M"),
    }


def _windows(raw: object) -> tuple[Window, ...]:
    if not isinstance(raw, list) or not raw or len(raw) > MAX_WINDOWS:
        raise InvalidAccessDocument(f"schedule must be a list of 1–{MAX_WINDOWS} windows")
    windows = []
    for index, item in enumerate(raw):
        where = f"schedule[{index}]"
        if not isinstance(item, dict) or set(item) - {"days", "start", "end"}:
            raise InvalidAccessDocument(f"{where} must be an object of days, start and end")
        days = item.get("days")
        if not isinstance(days, list) or not days or any(day not in DAYS for day in days):
            raise InvalidAccessDocument(f"{where}.days must list days of {', '.join(DAYS)}")
        if len(set(days)) != len(days):
            raise InvalidAccessDocument(f"{where}.days names a day twice")
        windows.append(
            Window(
                frozenset(DAYS.index(day) for day in days),
                _clock(item.get("start"), f"{where}.start"),
                _clock(item.get("end"), f"{where}.end"),
            )
        )
    return tuple(windows)


def _clock(raw: object, where: str) -> time:
    """``HH:MM`` on a 24-hour clock, 00:00–23:59, in ASCII digits (``str.isdigit`` would let
    ``０７:００`` in and ``0²:00`` through to a crash in ``int``)."""
    found = CLOCK.fullmatch(raw) if isinstance(raw, str) else None
    if found is None:
        raise InvalidAccessDocument(f"{where} must be HH:MM (00:00–23:59)")
    return time(int(found[1]), int(found[2]))


def _date(body: dict[str, Any], name: str) -> date | None:
    raw = body.get(name)
    return None if raw is None else _parse_date(raw, name)


def _parse_date(raw: object, name: str) -> date:
    """Exactly ``YYYY-MM-DD``: ``date.fromisoformat`` also reads ``2026-W52-5`` and
    ``20261225xx``, which would store a holiday under another day than its path's."""
    if not isinstance(raw, str) or DATE.fullmatch(raw) is None:
        raise InvalidAccessDocument(f"{name} must be a date, YYYY-MM-DD")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidAccessDocument(f"{name} must be a date, YYYY-MM-DD") from None


def _ids(
    body: dict[str, Any],
    name: str,
    most: int,
    problem: Callable[[str], str | None],
    default: list[str] | None = None,
) -> list[str]:
    raw = body.get(name, default)
    if raw is None:
        raise InvalidAccessDocument(f"{name} is required")
    if not isinstance(raw, list) or len(raw) > most or any(not isinstance(value, str) for value in raw):
        raise InvalidAccessDocument(f"{name} must be a list of at most {most} strings")
    if name == "doors" and not raw:
        raise InvalidAccessDocument("doors must name at least one door (or *)")
    if len(set(raw)) != len(raw):
        raise InvalidAccessDocument(f"{name} names an entry twice")
    for value in raw:
        found = problem(value)
        if found is not None:
            raise InvalidAccessDocument(f"{name}: {found}")
    return list(raw)


def _camera_problem(value: str) -> str | None:
    return None if is_camera_id(value) else f"camera id must be {CAMERA_ID_RULE}"


def _door_or_any(value: str) -> str | None:
    return None if value == ANY else door_problem(value)


def _group_or_any(value: str) -> str | None:
    return None if value == ANY else group_problem(value)


def _check_id(value: str, problem: Callable[[str], str | None]) -> None:
    found = problem(value)
    if found is not None:
        raise InvalidAccessDocument(found)


def _only(body: dict[str, Any], allowed: set[str], path_id: str, id_field: str) -> None:
    if not isinstance(body, dict):
        raise InvalidAccessDocument("the body must be a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidAccessDocument(f"unknown field(s): {', '.join(unknown)}")
    if id_field in body and body[id_field] != path_id:
        raise InvalidAccessDocument(f"{id_field} in the body differs from the path")


def _text(body: dict[str, Any], name: str, most: int, default: str | None = None) -> str:
    raw = body.get(name, default)
    if not isinstance(raw, str) or (default is None and not raw.strip()) or len(raw) > most:
        need = "a string" if default is not None else "a non-empty string"
        raise InvalidAccessDocument(f"{name} must be {need} of at most {most} characters")
    text = raw.strip() if default is None else raw
    if any(is_hidden(char) and char not in TEXT_JOINERS for char in text):
        raise InvalidAccessDocument(f"{name} must not contain control characters")
    return text


def _choice(body: dict[str, Any], name: str, kind: type[Any], default: Any = None) -> Any:
    raw = body.get(name)
    if raw is None and default is not None:
        return default
    try:
        return kind(raw)
    except ValueError:
        options = ", ".join(member.value for member in kind)
        raise InvalidAccessDocument(f"{name} must be one of {options}") from None
