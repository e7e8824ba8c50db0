"""The daily report's ledger on DynamoDB (moto): a failed send releases the day, the retry sends once."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from chalicelib import wiring
from chalicelib.aws.ledger import TARGET, DynamoReportLedger
from chalicelib.aws.scans import DynamoScanLog
from chalicelib.reporting.reports import ReportPorts, run_daily_report
from sandbox.stack import Stack
from tests.fakes import InMemoryImageStore

DAY = "2026-03-04"


class FlakyMailer:
    """Fails its first send, as SES does when throttled; records the ones that went."""

    def __init__(self) -> None:
        self.attempts = 0
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> str:
        self.attempts += 1
        if self.attempts == 1:
            raise RuntimeError("SES throttled")
        self.sent.append(message)
        return f"m-{len(self.sent)}"


def test_a_failed_send_releases_the_day_and_the_retry_sends_it_once(stack: Stack) -> None:
    settings = stack.settings
    audit = wiring.table(settings.audit_table)
    mailer = FlakyMailer()
    ports = ReportPorts(
        scans=DynamoScanLog(wiring.table(settings.scans_table)),
        images=InMemoryImageStore(),
        mailer=mailer,
        ledger=DynamoReportLedger(audit),
        camera_bucket=settings.camera_bucket,
    )
    now = datetime(2026, 3, 5, 12, tzinfo=UTC)
    key = {"target": TARGET, "entry": DAY}

    with pytest.raises(RuntimeError, match="SES throttled"):
        run_daily_report(ports, settings, now, day=DAY)
    released = audit.get_item(Key=key, ConsistentRead=True)["Item"]
    assert released["state"] == "FAILED" and "SES throttled" in str(released["failure"])
    assert mailer.sent == []

    retried = run_daily_report(ports, settings, now, day=DAY)
    assert (retried.sent, retried.reason) == (True, "sent")
    sent = audit.get_item(Key=key, ConsistentRead=True)["Item"]
    totals = sent["totals"]
    assert sent["state"] == "SENT" and isinstance(totals, dict) and sum(totals.values()) == 0

    again = run_daily_report(ports, settings, now, day=DAY)
    assert (again.sent, again.reason) == (False, "already sent")
    assert len(mailer.sent) == 1 and mailer.attempts == 2
    assert DAY in str(mailer.sent[0]["Subject"])
