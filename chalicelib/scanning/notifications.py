"""What a scan's notification says: a readable subject and text, a JSON body, filter attributes.

A person reads the subject in a mail list or an SMS and the text in the mail: both say first
what the door did ("Door unlocks" / "Door stays locked"), then the camera, the time on the
site's clock and where the photo is. Machines read the JSON body and the attributes, which
keep the data as it is.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.core.display import display_text
from chalicelib.core.json_text import utf8_json
from chalicelib.core.models import Scan, Status
from chalicelib.scanning.signing import door_of

# SNS Publish: "Subjects must be UTF-8 text with no line breaks or control characters, and
# less than 100 characters long" (the API reference today). Its earlier text, which AWS's own
# Prometheus alert receiver still enforces, asked for ASCII beginning with a letter, number or
# punctuation mark. A subject SNS refuses fails the whole Publish, so subjects are kept to the
# stricter rule: printable ASCII, starting with a letter, at most 99 characters.
SUBJECT_LIMIT = 99
OPENS = "Door unlocks"
STAYS_LOCKED = "Door stays locked"


@dataclass(frozen=True)
class AlertSite:
    """What an alert says about where it happened: the site's time zone and camera bucket."""

    timezone: str = "UTC"
    camera_bucket: str | None = None


ANYWHERE = AlertSite()  # UTC, no bucket named: for callers that know no site


@dataclass(frozen=True)
class Notification:
    subject: str
    text: str
    body: dict[str, object]
    attributes: dict[str, str]  # status, camera_id, door_id, employee_id: for subscription filter policies


def notification_for(scan: Scan, site: AlertSite = ANYWHERE) -> Notification:
    """Compose the announcement of ``scan`` for people and for machines.

    Every text a person reads passes through ``display_text``: no uploaded key, camera
    id, name or reason can add a line to it. The machine body keeps the data as it is.
    """
    d = scan.decision
    camera = display_text(scan.camera_id, 64)
    who = display_text(f"{d.employee_id or ''} {d.employee_name or ''}".strip(), 120)
    action = OPENS if d.status.opens_door else STAYS_LOCKED
    what = {
        Status.AUTHORIZED: lambda: f"{who} at {camera} ({(d.similarity or 0):.1f}%)",
        Status.DENIED: lambda: f"{who} denied at {camera}: {display_text(d.reason or 'no access', 120)}",
        Status.UNKNOWN: lambda: f"unknown person at {camera}",
        Status.NO_FACE: lambda: f"no face seen at {camera}",
        Status.MULTIPLE_FACES: lambda: f"several faces at {camera}, possible tailgating",
        Status.LOW_QUALITY: lambda: f"face not clear enough at {camera}",
        Status.REJECTED: lambda: f"unusable upload from {camera}",
        Status.ERROR: lambda: f"processing error at {camera}",
    }[d.status]()
    headline = f"{action}: {what}"
    lines = [headline, "", f"Status: {d.status.value}", f"Camera: {camera}"]
    # Where the access policy was asked: which door, and which rule or holiday decided.
    for label, value in (("Door", d.door_id), ("Rule", d.access_rule), ("Holiday", d.holiday)):
        if value:
            lines.append(f"{label}: {display_text(value, 120)}")
    lines.append(f"Captured: {local_time(scan.captured_at, site.timezone)}")
    if d.employee_id:
        lines.append(f"Employee: {who}")
    if d.similarity is not None:
        lines.append(f"Similarity: {d.similarity:.1f}")
    if d.faces_in_frame:
        lines.append(f"Faces in frame: {d.faces_in_frame}")
    if d.reason:
        lines.append(f"Reason: {display_text(d.reason, 300)}")
    lines += [f"Photo: {photo_location(scan, site.camera_bucket)}", f"Scan: {display_text(scan.scan_id, 64)}"]
    return Notification(
        subject=sns_subject(headline),
        text="\n".join(lines),
        body=scan.to_dict(),
        attributes={
            "status": d.status.value,
            "camera_id": camera,
            "door_id": display_text(door_of(scan), 64),  # each door's queue filters on it
            "employee_id": display_text(d.employee_id) or "none",  # an id as it is; a stored oddity escaped
        },
    )


def local_time(captured_at: str, timezone: str) -> str:
    """``captured_at`` (UTC ISO-8601) on the site's clock: "2026-12-02 10:41:07 CST (UTC-06:00)".

    An unknown zone falls back to UTC and an unreadable time is shown as stored: an alert
    must go out whatever its wording costs.
    """
    try:
        moment = datetime.fromisoformat(captured_at.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return display_text(captured_at, 64)
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    try:
        local = moment.astimezone(zone)
    except OverflowError:  # year 9999 east of UTC: past what a datetime holds
        return display_text(captured_at, 64)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()} (UTC{offset[:3]}:{offset[3:]})"


def photo_location(scan: Scan, bucket: str | None) -> str:
    """Where the uploaded photo is: ``s3://bucket/key``, and the version read when there is one."""
    key = display_text(scan.object_key, 400)
    where = f"s3://{display_text(bucket, 63)}/{key}" if bucket else key
    return f"{where} (version {display_text(scan.object_version, 64)})" if scan.object_version else where


def sns_subject(text: str) -> str:
    """``text`` as a subject SNS accepts whatever it holds: printable ASCII on one line, not
    starting with a space, 1 to ``SUBJECT_LIMIT`` characters.

    Accents are dropped (José → Jose), combining marks with them (however many are stacked),
    and any other character outside printable ASCII becomes ``?``; the text keeps the rest.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(_ascii(char) for char in decomposed if not unicodedata.category(char).startswith("M"))
    subject = " ".join(kept.split())  # no line break, no leading space
    if not subject:
        return "facegate alert"
    if len(subject) > SUBJECT_LIMIT:
        cut = subject[: SUBJECT_LIMIT - 3]
        word = cut.rfind(" ")  # end on a whole word unless that loses too much
        return (cut[:word] if word >= SUBJECT_LIMIT // 2 else cut).rstrip() + "..."
    return subject


def _ascii(char: str) -> str:
    return char if " " <= char <= "~" else " " if char.isspace() else "?"


def sns_message(notification: Notification) -> str:
    """The ``MessageStructure=json`` message: text for people, JSON for machine protocols."""
    machine = _json(notification.body, sort_keys=True)
    return _json(
        {
            "default": notification.text,
            "email": notification.text,
            "sms": notification.subject,
            "sqs": machine,
            "lambda": machine,
            "http": machine,
            "https": machine,
            "firehose": machine,
        }
    )


def _json(document: dict[str, object], sort_keys: bool = False) -> str:
    return utf8_json(document, sort_keys=sort_keys)
