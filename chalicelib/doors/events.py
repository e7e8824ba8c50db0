"""``record_door_event``: one door agent's report (``door-events/<door>/<time>-<hex>.json``) in,
one audit entry and one announcement to security out.

The folder names the door, and only that door's identity may write there (``infra/doors.py``):
the door named inside the JSON must agree. Everything else in it is the box's word, checked
for shape and bounded (a box by the door can be stolen): a kind we know, a time within the
last 15 days and not from the future, a short detail shown through the display sanitiser,
a few small counts. An S3 event delivered twice is one entry and one announcement.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.core.display import display_text
from chalicelib.core.errors import ObjectGone, ObjectUnreadable, UploadTooLarge
from chalicelib.core.json_text import strict_json
from chalicelib.core.keys import DOOR_EVENTS_PREFIX, is_camera_id
from chalicelib.core.local_days import iso_ms, utc_span
from chalicelib.core.models import AuditEntry, DoorEventKind, Upload
from chalicelib.core.observability import emit_door_event
from chalicelib.core.ports import AdminNotifier, AuditLog, AuditTrail, ImageStore

log = logging.getLogger(__name__)

TARGET = "door-events"  # the audit table's partition of door events: a day is one Query
MAX_BYTES = 4096  # a door event is a few hundred bytes
MAX_AGE = timedelta(days=15)  # older than any spooled upload can be
MAX_AHEAD = timedelta(minutes=5)
ALERTS_PER_MINUTE = 10  # a door that reports more is recorded, not announced (a flooding box)
NAME_SLACK = timedelta(seconds=1)  # the name carries milliseconds; the body the float they came from
MAX_DETAIL = 200
MAX_COUNTS = 4
NAME = re.compile(r"[0-9]{8}T[0-9]{6}\.[0-9]{3}Z-[0-9a-f]{16}\.json")


class Refused(ValueError):
    """A door event that is not recorded; its message says why (logged)."""


@dataclass(frozen=True)
class DoorEventPorts:
    images: ImageStore  # the camera bucket, where agents put their events
    audit: AuditLog
    trail: AuditTrail  # the same audit read back: how many alerts a door sent this minute
    announcer: AdminNotifier  # plain text on the decisions topic, where security listens


def record_door_event(
    upload: Upload,
    ports: DoorEventPorts,
    stage: str,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> AuditEntry | None:
    """Record and announce the event ``upload`` holds; None (logged) when refused or recorded
    before. Storage and SNS failures raise, for Lambda's retry."""
    try:
        door, name = _door_and_name(upload.key)
        stored = ports.images.read(upload, MAX_BYTES)
        entry = door_event_entry(door, stored.data, clock(), named_at=_named_at(name))
    except (Refused, UploadTooLarge, ObjectGone, ObjectUnreadable) as refusal:
        log.warning("door event %s not recorded: %s", display_text(upload.key, 200), refusal)
        return None
    # Once per door and file: a file written again (another body, another time) is not news.
    if not ports.audit.record(entry, unique=f"{door}/{name.removesuffix('.json')}"):
        log.info("door event %s was recorded before", display_text(upload.key, 200))
        return None
    kind = DoorEventKind(entry.action.removeprefix("door."))
    emit_door_event(stage, kind.value, kind.alarming)
    recent = _recent_of(ports.trail, door, clock())
    if recent > ALERTS_PER_MINUTE:  # recorded, counted and alarmed, but security is not flooded
        log.warning("door %s: %d events this minute; %s not announced", door, recent, kind.value)
        return entry
    subject, text = announcement(entry)
    if recent == ALERTS_PER_MINUTE:
        text += f"\n\n(More than {ALERTS_PER_MINUTE} events from this door in a minute: the rest are"
        text += " recorded, not announced: facegate doors events)"
    ports.announcer.publish(subject, text, {"status": kind.value, "kind": "door_event", "door": door})
    return entry


def _recent_of(trail: AuditTrail, door: str, now: datetime) -> int:
    """How many events ``door`` reported in the minute before ``now`` (this one included)."""
    start, end = (now - timedelta(minutes=1)), (now + MAX_AHEAD)
    entries = trail.between(TARGET, iso_ms(start), iso_ms(end))
    return sum(1 for entry in entries if entry.details.get("door_id") == door)


def _door_and_name(key: str) -> tuple[str, str]:
    parts = key.removeprefix(DOOR_EVENTS_PREFIX).split("/")
    if not key.startswith(DOOR_EVENTS_PREFIX) or len(parts) != 2:
        raise Refused("not door-events/<door>/<name>")
    door, name = parts
    if not is_camera_id(door) or not NAME.fullmatch(name):
        raise Refused("the door id or the file name is not one an agent writes")
    return door, name


def _named_at(name: str) -> datetime:
    """The time in an event file's name (the agent names it when the event happens)."""
    try:
        return datetime.strptime(name[:19], "%Y%m%dT%H%M%S.%f").replace(tzinfo=UTC)
    except ValueError:
        raise Refused("the file name's time is not a time") from None


def door_event_entry(door: str, data: bytes, now: datetime, named_at: datetime | None = None) -> AuditEntry:
    """The audit entry of one event body from door ``door``'s folder; ``Refused`` otherwise.
    With ``named_at`` (the file name's time), the body's ``at`` must agree with it."""
    try:
        document = strict_json(data)
    except (ValueError, RecursionError) as error:
        raise Refused(f"not a JSON event: {type(error).__name__}") from None
    if not isinstance(document, dict):
        raise Refused("not a JSON object")
    if document.get("door_id") != door:
        raise Refused("the event names another door than its folder")
    try:
        kind = DoorEventKind(str(document.get("kind")))
    except ValueError:
        raise Refused("an unknown kind of door event") from None
    at = _moment(document.get("at"), now)
    if named_at is not None and abs(at - named_at) > NAME_SLACK:
        raise Refused("at is not the time in the file's name")
    at = named_at or at  # the name's: one file, one time, however often it is written
    detail = document.get("detail", "")
    if not isinstance(detail, str):
        raise Refused("detail is not text")
    return AuditEntry(
        at=iso_ms(at),
        actor=f"door:{door}",
        action=f"door.{kind.value}",
        target=TARGET,
        details={"door_id": door, "detail": display_text(detail, MAX_DETAIL), "counts": _counts(document)},
    )


def _moment(raw: object, now: datetime) -> datetime:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not -1e12 < raw < 1e12:
        raise Refused("at is not a time")  # NaN fails the range too; a 310-digit int never floats
    if not math.isfinite(raw):
        raise Refused("at is not a time")
    try:
        at = datetime.fromtimestamp(raw, UTC)
    except (OverflowError, OSError, ValueError):
        raise Refused("at is not a time") from None
    if not now - MAX_AGE <= at <= now + MAX_AHEAD:
        raise Refused("at is out of range (older than 15 days, or from the future)")
    return at


def _counts(document: dict[str, Any]) -> dict[str, int]:
    counts = document.get("counts", {})
    if not isinstance(counts, dict) or len(counts) > MAX_COUNTS:
        raise Refused("counts is not a small object")
    checked: dict[str, int] = {}
    for name, value in counts.items():
        if not re.fullmatch(r"[a-z_]{1,32}", name) or isinstance(value, bool) or not isinstance(value, int):
            raise Refused("counts holds something other than small whole numbers")
        if not 0 <= value <= 1_000_000:
            raise Refused("counts holds something other than small whole numbers")
        checked[name] = value
    return checked


LISTED = 1000  # a day's listing answers the newest this many (a flooding box cannot hide the rest)


def events_of_day(
    audit: AuditTrail, day: str, timezone: str, door_id: str | None = None
) -> tuple[list[dict[str, Any]], int]:
    """The door events of the site's local ``day`` (one door's, or every door's), oldest first:
    the newest ``LISTED``, and how many older ones were left out."""
    entries = [
        entry
        for entry in audit.between(TARGET, *utc_span(day, timezone))
        if door_id is None or entry.details.get("door_id") == door_id
    ]
    kept = entries[-LISTED:]
    return [door_event_document(entry) for entry in kept], len(entries) - len(kept)


def door_event_document(entry: AuditEntry) -> dict[str, Any]:
    """What the API answers for one door event."""
    return {
        "door_id": entry.details.get("door_id"),
        "kind": entry.action.removeprefix("door."),
        "at": entry.at,
        "detail": entry.details.get("detail", ""),
        "counts": entry.details.get("counts", {}),
    }


def announcement(entry: AuditEntry) -> tuple[str, str]:
    """The subject and the text security reads (all of it through the display sanitiser)."""
    door = display_text(entry.details["door_id"], 64)
    kind = entry.action.removeprefix("door.")
    subject = f"Door event: {kind} at {door}"
    lines = [subject, "", f"Door: {door}", f"Event: {kind}", f"At: {entry.at}"]
    if entry.details.get("detail"):
        lines.append(f"Detail: {entry.details['detail']}")
    counts = entry.details.get("counts", {})
    if counts:  # one line of name=value: a count's name cannot pose as a field of the alert
        lines.append("Counts: " + ", ".join(f"{name}={value}" for name, value in counts.items()))
    return subject, "\n".join(lines)
