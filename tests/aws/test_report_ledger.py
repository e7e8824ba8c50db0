"""The daily report's ledger on DynamoDB (moto): a failed send releases the day, the retry sends once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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


def test_a_claim_expires_after_its_lease_and_a_late_finish_never_marks_the_newer_claim(stack: Stack) -> None:
    audit = wiring.table(stack.settings.audit_table)
    ledger, key = DynamoReportLedger(audit), {"target": TARGET, "entry": DAY}
    start = datetime(2026, 3, 5, 12, tzinfo=UTC)
    first = ledger.claim(DAY, start, 60)
    assert first is not None
    # The first run died or lost its answer: within its lease nobody may take the day …
    for later in (start, start + timedelta(seconds=1), start + timedelta(seconds=59)):
        assert ledger.claim(DAY, later, 60) is None
    # … from its end on, the next run may.
    second = ledger.claim(DAY, start + timedelta(seconds=60), 60)
    assert second is not None and second != first
    # The first run wakes up late: neither its failure nor its success counts any more.
    ledger.release(DAY, "late failure", first)
    assert ledger.sent(DAY, {"AUTHORIZED": 9}, first) is False
    item = audit.get_item(Key=key, ConsistentRead=True)["Item"]
    assert (item["state"], item["claim"]) == ("SENDING", second) and "failure" not in item
    assert ledger.totals(DAY) is None
    assert ledger.sent(DAY, {"AUTHORIZED": 1}, second) is True
    assert ledger.totals(DAY) == {"AUTHORIZED": 1}
    # A sent day stays sent, however late the next run.
    assert ledger.claim(DAY, start + timedelta(days=30), 60) is None
    assert ledger.sent(DAY, {"AUTHORIZED": 5}, second) is False  # sent once: not again
    assert ledger.totals(DAY) == {"AUTHORIZED": 1}


def test_a_claim_stuck_from_before_leases_is_free_and_a_released_one_at_once(stack: Stack) -> None:
    audit = wiring.table(stack.settings.audit_table)
    ledger = DynamoReportLedger(audit)
    audit.put_item(Item={"target": TARGET, "entry": DAY, "state": "SENDING", "at": "2026-03-04T23:00:00Z"})
    now = datetime(2026, 3, 5, 12, tzinfo=UTC)
    token = ledger.claim(DAY, now, 900)
    assert token is not None
    ledger.release(DAY, "smtp down", token)
    assert ledger.claim(DAY, now, 900) is not None  # a FAILED day is free before its lease ends
