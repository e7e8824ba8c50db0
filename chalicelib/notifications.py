"""What a scan's notification says: a readable subject and text, a JSON body, filter attributes."""

from __future__ import annotations

import json
from dataclasses import dataclass

from chalicelib.display import display_text
from chalicelib.models import Scan, Status

SUBJECT_LIMIT = 99  # SNS subjects must be under 100 characters


@dataclass(frozen=True)
class Notification:
    subject: str
    text: str
    body: dict[str, object]
    attributes: dict[str, str]  # status, camera_id, employee_id: for subscription filter policies


def notification_for(scan: Scan) -> Notification:
    """Compose the announcement of ``scan`` for people and for machines.

    Every text a person reads passes through ``display_text``: no uploaded key, camera
    id, name or reason can add a line to it. The machine body keeps the data as it is.
    """
    d = scan.decision
    camera = display_text(scan.camera_id, 64)
    who = display_text(f"{d.employee_id or ''} {d.employee_name or ''}".strip(), 120)
    headline = {
        Status.AUTHORIZED: lambda: f"✅ Authorized: {who} at {camera} ({(d.similarity or 0):.1f}%)",
        Status.DENIED: lambda: f"🔒 Denied: {who} at {camera}: {display_text(d.reason or 'no access', 120)}",
        Status.UNKNOWN: lambda: f"🚫 Unknown person at {camera}",
        Status.NO_FACE: lambda: f"👤 No face seen at {camera}",
        Status.MULTIPLE_FACES: lambda: f"⚠️ Several faces at {camera}: possible tailgating",
        Status.LOW_QUALITY: lambda: f"🌫️ Face not clear enough at {camera}",
        Status.REJECTED: lambda: f"⛔ Unusable upload from {camera}",
        Status.ERROR: lambda: f"❌ Processing error at {camera}",
    }[d.status]()
    lines = [
        headline,
        "",
        f"Status: {d.status.value}",
        f"Camera: {camera}",
        f"Captured: {scan.captured_at}",
    ]
    if d.employee_id:
        lines.append(f"Employee: {who}")
    if d.similarity is not None:
        lines.append(f"Similarity: {d.similarity:.1f}")
    # Where the access policy was asked: which door, and which rule or holiday decided.
    for label, value in (("Door", d.door_id), ("Rule", d.access_rule), ("Holiday", d.holiday)):
        if value:
            lines.append(f"{label}: {display_text(value, 120)}")
    if d.faces_in_frame:
        lines.append(f"Faces in frame: {d.faces_in_frame}")
    if d.reason:
        lines.append(f"Reason: {display_text(d.reason, 300)}")
    lines += [f"Photo: {display_text(scan.object_key, 300)}", f"Scan: {scan.scan_id}"]
    return Notification(
        subject=_one_line(headline)[:SUBJECT_LIMIT],
        text="\n".join(lines),
        body=scan.to_dict(),
        attributes={
            "status": d.status.value,
            "camera_id": camera,
            "employee_id": d.employee_id or "none",
        },
    )


def sns_message(notification: Notification) -> str:
    """The ``MessageStructure=json`` message: text for people, JSON for machine protocols."""
    machine = json.dumps(notification.body, ensure_ascii=False, sort_keys=True)
    return json.dumps(
        {
            "default": notification.text,
            "email": notification.text,
            "sms": notification.subject,
            "sqs": machine,
            "lambda": machine,
            "http": machine,
            "https": machine,
            "firehose": machine,
        },
        ensure_ascii=False,
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())
