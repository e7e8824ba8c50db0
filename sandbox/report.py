"""``python -m sandbox report``: run the real scheduled handler and save the email it sent."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sandbox.mailbox import sent_emails, write_report_files
from sandbox.stack import SandboxError


def scheduled_event(day: str | None = None) -> dict[str, Any]:
    """An EventBridge scheduled event, as Lambda receives it; ``day`` makes it a manual run."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/facegate-sandbox-daily_report"],
        "detail": {"day": day} if day else {},
    }


def run_retention_sweep() -> dict[str, Any]:
    """Invoke ``retention_sweep`` (hourly in AWS; the sandbox has no scheduler) against the
    running stack: the day's sweep, or nothing when today's is done."""
    import app

    return dict(app.retention_sweep(scheduled_event(), None))


def run_report(day: str, out: Path) -> list[Path]:
    """Invoke ``daily_report`` for ``day`` against the running stack; write HTML, text, CSV."""
    import app

    already = len(sent_emails())
    outcome = app.daily_report(scheduled_event(day), None)
    new = sent_emails()[already:]
    if not new:
        raise SandboxError(f"the report for {day} was not sent: {outcome['reason']}")
    return write_report_files(new[-1], out, f"report-{outcome['day']}")
