"""What the API accepts: ids, photos, pages, access ids and instants; a clear 4xx for anything
else. The employee record's rules (id, name, email, department) are the enrollment feature's,
shared with the drop folder, and re-exported here for the routes."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from chalicelib.access import documents as access_documents
from chalicelib.access.policy import local_instant
from chalicelib.core.errors import BadRequest, PayloadTooLarge
from chalicelib.core.keys import CAMERA_ID_RULE, is_camera_id
from chalicelib.core.keys import EMPLOYEE_ID as EMPLOYEE_ID  # the rules live in keys.py: the drop folder's
from chalicelib.core.keys import RESERVED_IDS as RESERVED_IDS  # keys carry employee ids too
from chalicelib.core.models import Status
from chalicelib.enrollment.employee_rules import employee_changes as employee_changes
from chalicelib.enrollment.employee_rules import employee_id as employee_id
from chalicelib.enrollment.employee_rules import new_employee as new_employee
from chalicelib.enrollment.employee_rules import only_fields

SCAN_ID = re.compile(r"[0-9a-f]{32}")
FACE_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
MAX_PHOTO_BYTES = 5 * 1024 * 1024
DEFAULT_LIMIT, MAX_LIMIT = 50, 100
# ASCII only and short: str.isdigit() takes '²' (int() then fails) and int() refuses over 4,300 digits.
LIMIT = re.compile(r"[0-9]{1,3}")


def scan_id(value: str) -> str:
    if not SCAN_ID.fullmatch(value):
        raise BadRequest("scan_id must be 32 lowercase hex characters")
    return value


def face_id(value: str) -> str:
    if not FACE_ID.fullmatch(value):
        raise BadRequest("face_id is malformed")
    return value


def pending_id(value: str) -> str:
    """A held drop-folder photo's id (``keys.PENDING_ID``: 32 lowercase hex digits)."""
    from chalicelib.core.keys import PENDING_ID

    if not PENDING_ID.fullmatch(value):
        raise BadRequest("pending_id must be 32 lowercase hex digits")
    return value


def no_fields(body: dict[str, Any]) -> None:
    """A body that takes nothing: none, or ``{}``."""
    if body:
        raise BadRequest("this request takes no fields: send {} or no body")


def photo(body: dict[str, Any]) -> bytes:
    """The ``image`` field: base64 of a JPEG or PNG, at most 5 MB decoded."""
    only_fields(body, {"image"})
    encoded = body.get("image")
    if not isinstance(encoded, str) or not encoded:
        raise BadRequest("image is required: base64 of a JPEG or PNG")
    if encoded.startswith("data:") and "," in encoded:
        encoded = encoded.split(",", 1)[1]
    if len(encoded) > (MAX_PHOTO_BYTES * 4) // 3 + 4:
        raise PayloadTooLarge(f"image over {MAX_PHOTO_BYTES} bytes")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("image is not valid base64") from None
    if len(data) > MAX_PHOTO_BYTES:
        raise PayloadTooLarge(f"image over {MAX_PHOTO_BYTES} bytes")
    return data


def limit(params: dict[str, str]) -> int:
    raw = params.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not LIMIT.fullmatch(raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


def day(raw: str) -> str:
    """Exactly YYYY-MM-DD (``date.fromisoformat`` also reads ``2026-W52-5``, which would name
    another day than the one in the path)."""
    if not access_documents.DATE.fullmatch(raw):
        return _bad_day()
    try:
        return date.fromisoformat(raw).isoformat()
    except ValueError:
        return _bad_day()


def status(raw: str | None) -> str | None:
    if raw is None:
        return None
    if raw not in Status.__members__:
        raise BadRequest(f"status must be one of {', '.join(Status.__members__)}")
    return raw


def camera_id(raw: str | None) -> str | None:
    if raw is None:
        return None
    if not is_camera_id(raw):
        raise BadRequest(f"camera_id must be {CAMERA_ID_RULE}")
    return raw


def door_id(value: str) -> str:
    return _access_id(value, access_documents.door_problem, "door_id")


def group_id(value: str) -> str:
    return _access_id(value, access_documents.group_problem, "group_id")


def rule_id(value: str) -> str:
    return _access_id(value, access_documents.rule_problem, "rule_id")


def door_param(params: dict[str, str]) -> str:
    """The ``door`` query parameter: a door id or a camera id (both follow the camera id rule)."""
    raw = params.get("door")
    if raw is None:
        raise BadRequest("door is required: a door id or a camera id")
    return _access_id(raw, access_documents.door_problem, "door")


# YYYY-MM-DDTHH:MM[:SS[.ffffff]] and an optional Z or ±HH:MM (a "+" sent unencoded in a
# query string arrives as a space: read as "+").
INSTANT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[-+ ]([01][0-9]|2[0-3]):[0-5][0-9])?"  # fromisoformat takes +00:60 and -05:99 as offsets
)
INSTANT_RULE = "an ISO-8601 time, YYYY-MM-DDTHH:MM[:SS] with Z or ±HH:MM, or without: the site's local time"
FIRST_YEAR, LAST_YEAR = 1970, 2999  # far from datetime's ends, where a zone shift overflows


def instant(raw: str | None, timezone: str) -> datetime | None:
    """The ``at`` query parameter as an aware instant (None when absent). Without an offset it
    is the site's wall time; a wall time the spring change skips is refused, the repeated
    autumn hour is its first occurrence."""
    if raw is None:
        return None
    if not INSTANT.fullmatch(raw):
        raise BadRequest(f"at must be {INSTANT_RULE}")
    text = raw[:-6] + "+" + raw[-5:] if raw[-6] == " " else raw
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"at must be {INSTANT_RULE}") from None
    if not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        raise BadRequest(f"at must be in the years {FIRST_YEAR}–{LAST_YEAR}")
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    try:
        return local_instant(parsed.date(), parsed.time(), timezone).astimezone(UTC)
    except ValueError as gap:
        raise BadRequest(f"at: {gap}") from None


def _access_id(value: str, problem: Callable[[str], str | None], called: str) -> str:
    found = problem(value)
    if found is not None:
        raise BadRequest(f"{called}: {found}")
    return value


def _bad_day() -> str:
    raise BadRequest("day must be a date, YYYY-MM-DD")


def flag(params: dict[str, str], name: str) -> bool:
    """A yes-or-no query parameter: absent or ``false`` is no, ``true`` yes, anything else 400."""
    raw = params.get(name, "false")
    if raw not in ("true", "false"):
        raise BadRequest(f"{name} must be true or false")
    return raw == "true"
