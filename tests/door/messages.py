"""Decision messages as the door's queue receives them (raw delivery of the ``sqs`` body)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from chalicelib.core.models import Decision, Scan, Status
from chalicelib.core.ports import MessageSigner
from chalicelib.scanning.notifications import notification_for, sns_message
from chalicelib.scanning.signing import signature_for

NOW = datetime(2026, 3, 8, 14, 30, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def scan(
    scan_id: str = "a" * 32,
    status: Status = Status.AUTHORIZED,
    camera: str = "front-door",
    captured: datetime = NOW - timedelta(seconds=2),
    employee: str | None = "EMP001",
) -> Scan:
    return Scan(
        scan_id,
        camera,
        f"incoming/{camera}/a.jpg",
        "v1",
        iso(captured),
        iso(captured + timedelta(seconds=1)),
        "2026-03-08",
        Decision(status, employee_id=employee, employee_name="Avery Stone" if employee else None),
        "local",
        0,
    )


def message(of: Scan, signer: MessageSigner | None) -> str:
    """The body SNS delivers to an SQS subscription with raw delivery."""
    notification = notification_for(of)
    if signer is not None:
        notification = replace(
            notification, body={**notification.body, "signature": signature_for(of, signer)}
        )
    return str(json.loads(sns_message(notification))["sqs"])


def tampered(body: str, **changes: str) -> str:
    """``body`` with fields of its signed payload changed, the MAC kept."""
    document = json.loads(body)
    claims = json.loads(document["signature"]["payload"])
    claims.update(changes)
    document["signature"]["payload"] = json.dumps(claims, sort_keys=True, separators=(",", ":"))
    document.update(changes)
    return json.dumps(document)
