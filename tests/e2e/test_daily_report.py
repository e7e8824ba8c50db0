"""The scheduled report handler against local AWS: one day read, one email sent through SES."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from chalice.test import Client

from app import app
from chalicelib import wiring
from chalicelib.access.policy import Door, Effect, Rule
from chalicelib.aws.scans import DynamoScanLog
from chalicelib.core.models import Decision, Employee, Scan, Status
from sandbox.enroll import enroll_employee
from sandbox.mailbox import sent_emails
from sandbox.report import scheduled_event
from sandbox.stack import PROJECT_DIR, Stack


def invoke(day: str | None) -> Any:
    with Client(app, stage_name="sandbox", project_dir=str(PROJECT_DIR)) as client:
        return client.lambda_.invoke("daily_report", scheduled_event(day)).payload


def test_the_email_reads_back_from_ses_with_both_parts_and_the_csv(stack: Stack, photos: Path) -> None:
    enroll_employee(stack, Employee("EMP001", "Avery <Stone>"), [photos / "obama.jpg"])
    stack.upload("front-door", "a.jpg", (photos / "obama2.jpg").read_bytes())
    stack.upload("front-door", "b.png", (photos / "astronaut.png").read_bytes())
    stack.pump(expected=2)
    [scan] = (
        DynamoScanLog(wiring.table(stack.settings.scans_table))
        .by_day(_today(stack), 10, status="UNKNOWN")
        .items
    )

    outcome = invoke(scan.day)
    assert outcome["sent"] is True and outcome["scans"] == 2
    [message] = sent_emails()
    assert message["Subject"] == f"facegate daily summary {scan.day}: 1 entry, 1 alert"
    assert message["From"] == "facegate-sandbox@example.com"
    assert message["To"] == "facilities@example.com"
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Avery &lt;Stone&gt;" in html and "Avery <Stone>" in text
    assert "X-Amz-Signature" in html  # a presigned link to the stranger's photo
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == f"facegate-{scan.day}.csv"
    rows = list(csv.DictReader(io.StringIO(attachment.get_content())))
    assert sorted(row["status"] for row in rows) == ["AUTHORIZED", "UNKNOWN"]
    assert invoke(scan.day)["reason"] == "already sent"
    assert len(sent_emails()) == 1


def test_a_denied_attempt_reaches_the_email_in_its_own_section(stack: Stack, photos: Path) -> None:
    enroll_employee(stack, Employee("EMP001", "Avery <Stone>"), [photos / "obama.jpg"])
    store = wiring.access_store(stack.settings)
    ended = Rule(
        "avery-2020-pass",
        Effect.GRANT,
        frozenset({"front-door"}),
        employees=frozenset({"EMP001"}),
        valid_from=date(2020, 1, 1),
        valid_until=date(2020, 1, 31),
    )
    front = Door("front-door", "Front door", frozenset({"front-door"}))  # a site policy: cameras on doors
    assert store.commit(store.version(), put=[front, ended])
    stack.upload("front-door", "a.jpg", (photos / "obama2.jpg").read_bytes())
    stack.pump(expected=1)
    [scan] = DynamoScanLog(wiring.table(stack.settings.scans_table)).by_day(_today(stack), 10).items
    assert (scan.status, scan.decision.access_rule) == (Status.DENIED, "avery-2020-pass")

    assert invoke(scan.day)["sent"] is True
    [message] = sent_emails()
    assert message["Subject"] == f"facegate daily summary {scan.day}: 0 entries, 1 alert (1 denied)"
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    denied = html[html.index("Denied attempts") : html.index("Events to review")]
    assert "Avery &lt;Stone&gt;" in denied and "avery-2020-pass" in denied and "X-Amz-Signature" in denied
    assert (
        "Avery <Stone> at front-door: the temporary pass for this door has expired [avery-2020-pass]" in text
    )
    [attachment] = list(message.iter_attachments())
    [row] = list(csv.DictReader(io.StringIO(attachment.get_content())))
    assert (row["status"], row["door_id"], row["access_rule"]) == ("DENIED", "front-door", "avery-2020-pass")


def test_the_report_reads_only_its_days_items_among_ten_days(stack: Stack) -> None:
    scans = DynamoScanLog(wiring.table(stack.settings.scans_table))
    start = datetime(2026, 3, 1, 15, tzinfo=UTC)
    for day_number in range(10):
        for visit in range(3 + day_number):
            at = start + timedelta(days=day_number, minutes=visit)
            scans.record(_scan(f"{day_number:02d}{visit:030d}", at))
    read = {"items": 0, "queries": 0}
    tables: list[str] = []

    def count(parsed: dict[str, Any], **_: Any) -> None:
        read["items"] += int(parsed.get("ScannedCount", 0))
        read["queries"] += 1

    def table_of(params: dict[str, Any], **_: Any) -> None:
        tables.append(str(params["TableName"]))

    dynamodb = wiring.table(stack.settings.scans_table).meta.client
    dynamodb.meta.events.register("after-call.dynamodb.Query", count)
    dynamodb.meta.events.register("provide-client-params.dynamodb.Query", table_of)
    try:
        outcome = invoke("2026-03-05")
    finally:
        dynamodb.meta.events.unregister("after-call.dynamodb.Query", count)
        dynamodb.meta.events.unregister("provide-client-params.dynamodb.Query", table_of)
    assert outcome["scans"] == 7
    # The day's scans, then the day's remote door commands, door events and retention entries in
    # the audit (none here): one query each.
    audit = stack.settings.audit_table
    assert tables == [stack.settings.scans_table, audit, audit, audit]
    assert read == {"items": 7, "queries": 4}


def _scan(scan_id: str, at: datetime) -> Scan:
    iso = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    local_day = (at - timedelta(hours=6)).date().isoformat()  # Chicago in March, before DST
    admitted = Decision(Status.AUTHORIZED, employee_id="EMP001", employee_name="A", similarity=90.0)
    key = f"incoming/front-door/{scan_id}.jpg"
    return Scan(scan_id, "front-door", key, "v1", iso, iso, local_day, admitted, "local", 0)


def _today(stack: Stack) -> str:
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(stack.settings.timezone)).date().isoformat()
