"""The daily summary: local days across midnight UTC and daylight saving, sent once."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest

from chalicelib.access.control import CurrentPolicy
from chalicelib.core.config import Settings
from chalicelib.core.models import Employee, SearchResult, Status, Upload
from chalicelib.reporting.report_email import compose, csv_rows, render
from chalicelib.reporting.reports import ReportPorts, build_summary, run_daily_report
from chalicelib.reporting.summary import summarise
from chalicelib.scanning.pipeline import PipelinePorts, process_upload
from tests.access_site import entries
from tests.fakes import (
    InMemoryAccessStore,
    InMemoryEmployeeDirectory,
    InMemoryImageStore,
    InMemoryScanLog,
    RecordingNotifier,
    ScriptedEngine,
)
from tests.images import encoded, two_tone
from tests.unit.test_pipeline import MATCH

CHICAGO = Settings.from_env(
    {
        "FACEGATE_TIMEZONE": "America/Chicago",
        "FACEGATE_REPORT_FROM": "facegate@example.com",
        "FACEGATE_REPORT_TO": "facilities@example.com, security@example.com",
    }
)
NOBODY = SearchResult(faces=[])


class Outbox:
    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []
        self.fail_with: Exception | None = None

    def send(self, message: EmailMessage) -> str:
        if self.fail_with:
            raise self.fail_with
        self.sent.append(message)
        return f"m-{len(self.sent)}"


class Ledger:
    """The ledger's contract in memory: a claim is a lease, ``sent``/``release`` need its token."""

    def __init__(self) -> None:
        self.states: dict[str, str] = {}
        self.kept: dict[str, dict[str, int]] = {}
        self.claims: dict[str, tuple[str, datetime]] = {}  # day -> (token, lease until)

    def claim(self, day: str, now: datetime, lease_seconds: int) -> str | None:
        state = self.states.get(day)
        if state == "SENT" or (state == "SENDING" and now < self.claims[day][1]):
            return None
        token = f"claim-{len(self.claims)}-{day}-{now.isoformat()}"
        self.states[day] = "SENDING"
        self.claims[day] = (token, now + timedelta(seconds=lease_seconds))
        return token

    def _holds(self, day: str, token: str) -> bool:
        return self.states.get(day) == "SENDING" and self.claims[day][0] == token

    def sent(self, day: str, totals: dict[str, int], token: str) -> bool:
        if not self._holds(day, token):
            return False
        self.states[day] = "SENT"
        self.kept[day] = totals
        return True

    def release(self, day: str, reason: str, token: str) -> None:
        if self._holds(day, token):
            self.states[day] = "FAILED"

    def totals(self, day: str) -> dict[str, int] | None:
        return self.kept.get(day)


class Site:
    """A camera pipeline and a report over the same in-memory scan log."""

    def __init__(self) -> None:
        self.scans = InMemoryScanLog()
        self.images = InMemoryImageStore()
        self.outbox = Outbox()
        self.ledger = Ledger()
        self.engine = ScriptedEngine(MATCH)
        self.directory = InMemoryEmployeeDirectory(Employee("EMP001", "Jane <b>Doe</b>"))
        self.access_store = InMemoryAccessStore()
        self.access = CurrentPolicy(self.access_store, CHICAGO.timezone)

    def scan_at(self, utc: str, result: SearchResult = MATCH, camera: str = "front-door") -> None:
        self.engine.result = result
        key = f"incoming/{camera}/{utc}.jpg"
        self.images.objects[("cams", key)] = encoded(two_tone(), "JPEG")
        ports = PipelinePorts(
            self.images, self.engine, self.directory, self.scans, RecordingNotifier(), self.access
        )
        taken = datetime.fromisoformat(utc.replace("Z", "+00:00"))
        self.images.modified[("cams", key)] = taken  # S3 stored it when its event says
        process_upload(Upload("cams", key, "v1", None, utc), ports, CHICAGO, clock=lambda: taken)

    @property
    def ports(self) -> ReportPorts:
        return ReportPorts(self.scans, self.images, self.outbox, self.ledger, "cams")


def test_a_local_day_crossing_midnight_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    site = Site()
    site.scan_at("2026-03-04T14:00:00Z")  # 08:00 CST on the 4th
    site.scan_at("2026-03-05T05:30:00Z")  # 23:30 CST on the 4th, already the 5th in UTC
    site.scan_at("2026-03-05T06:30:00Z", NOBODY)  # 00:30 CST on the 5th
    summary = build_summary("2026-03-04", site.ports, CHICAGO)
    assert summary.totals["AUTHORIZED"] == 2 and summary.total == 2
    assert summary.arrivals_by_hour[8] == 1 and summary.arrivals_by_hour[23] == 1
    [jane] = summary.admitted
    assert (jane.first, jane.last, jane.count) == ("08:00:00", "23:30:00", 2)
    assert build_summary("2026-03-05", site.ports, CHICAGO).totals["NO_FACE"] == 1


def test_the_day_clocks_spring_forward_has_23_hours() -> None:
    site = Site()
    site.scan_at("2026-03-08T07:30:00Z")  # 01:30 CST
    site.scan_at("2026-03-08T08:30:00Z")  # 03:30 CDT: 02:xx never happened
    site.scan_at("2026-03-09T04:30:00Z")  # 23:30 CDT, still the 8th
    site.scan_at("2026-03-09T05:30:00Z")  # 00:30 CDT on the 9th
    summary = build_summary("2026-03-08", site.ports, CHICAGO)
    assert summary.total == 3
    assert [hour for hour, count in enumerate(summary.arrivals_by_hour) if count] == [1, 3, 23]


def test_the_day_clocks_fall_back_counts_both_one_oclocks() -> None:
    site = Site()
    site.scan_at("2026-11-01T06:30:00Z")  # 01:30 CDT
    site.scan_at("2026-11-01T07:30:00Z")  # 01:30 CST, an hour later
    summary = build_summary("2026-11-01", site.ports, CHICAGO)
    assert summary.arrivals_by_hour[1] == 2
    assert summary.admitted[0].first == summary.admitted[0].last == "01:30:00"


def test_alerts_list_unknown_multiple_low_quality_and_errors_with_photo_links() -> None:
    site = Site()
    site.scan_at("2026-03-04T15:00:00Z", NOBODY)
    site.directory.fail_with = ConnectionError("down")
    site.scan_at("2026-03-04T16:00:00Z")
    summary = build_summary("2026-03-04", site.ports, CHICAGO)
    [alert] = summary.alerts  # NO_FACE is counted, not an alert
    assert (alert.time, alert.status, alert.camera_id) == ("10:00:00", "ERROR", "front-door")
    key = "incoming/front-door/2026-03-04T16:00:00Z.jpg"
    assert alert.photo_link == f"memory://cams/{key}?version=v1&expires_in={3 * 86400}"


def test_change_against_the_previous_day_comes_from_its_sent_report() -> None:
    site = Site()
    site.ledger.kept["2026-03-03"] = {"AUTHORIZED": 5, "UNKNOWN": 1}
    site.scan_at("2026-03-04T15:00:00Z")
    change = build_summary("2026-03-04", site.ports, CHICAGO).change()
    assert change is not None
    assert (change["AUTHORIZED"], change["UNKNOWN"], change["TOTAL"]) == (-4, -1, -5)


def test_user_text_is_escaped_in_html_and_defused_in_csv() -> None:
    site = Site()
    site.directory.employees["EMP001"] = Employee("EMP001", '=HYPERLINK("http://x") <script>')
    site.scan_at("2026-03-04T15:00:00Z")
    summary = build_summary("2026-03-04", site.ports, CHICAGO)
    html, text = render(summary)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<script>" in text
    assert "'=HYPERLINK" in csv_rows(summary)


def test_no_stored_text_can_forge_a_line_of_the_plain_text_report() -> None:
    site = Site()
    site.directory.employees["EMP001"] = Employee("EMP001", "Jane\u2028  EMP002 Mallory: entries: 9")
    site.scan_at("2026-03-04T15:00:00Z")
    site.scan_at("2026-03-04T15:05:00Z", NOBODY)
    summary = build_summary("2026-03-04", site.ports, CHICAGO)
    forged = replace(
        summary.scans[1], decision=replace(summary.scans[1].decision, reason="x\n  16:00:00 lobby ERROR")
    )
    summary = summarise(summary.day, [summary.scans[0], forged], CHICAGO.timezone)
    _, text = render(summary)
    lines = text.splitlines()
    assert not any(line.lstrip().startswith(("EMP002", "16:00:00")) for line in lines)
    assert "Jane\\u2028  EMP002" in text
    assert all(len(row.splitlines()) == 1 for row in csv_rows(summary).split("\r\n") if row)


def test_the_hour_decides_and_a_day_is_sent_once() -> None:
    site = Site()
    site.scan_at("2026-03-04T15:00:00Z")
    afternoon = datetime(2026, 3, 4, 23, 10, tzinfo=UTC)  # 17:10 CST
    evening = datetime(2026, 3, 5, 0, 10, tzinfo=UTC)  # 18:10 CST on the 4th
    assert run_daily_report(site.ports, CHICAGO, afternoon).reason == "not 18:00 local yet"
    outcome = run_daily_report(site.ports, CHICAGO, evening)
    assert (outcome.day, outcome.sent, outcome.scans) == ("2026-03-04", True, 1)
    assert run_daily_report(site.ports, CHICAGO, evening).reason == "already sent"
    assert len(site.outbox.sent) == 1
    assert site.ledger.totals("2026-03-04") == {
        status.value: int(status is Status.AUTHORIZED) for status in Status
    }


def test_a_failed_send_is_raised_and_the_retry_sends_once() -> None:
    site = Site()
    evening = datetime(2026, 3, 5, 0, 10, tzinfo=UTC)
    site.outbox.fail_with = ConnectionError("ses down")
    with pytest.raises(ConnectionError):
        run_daily_report(site.ports, CHICAGO, evening)
    site.outbox.fail_with = None
    assert run_daily_report(site.ports, CHICAGO, evening).sent is True
    assert run_daily_report(site.ports, CHICAGO, evening).sent is False
    assert len(site.outbox.sent) == 1


def test_a_day_without_scans_sends_a_short_no_activity_email() -> None:
    site = Site()
    run_daily_report(site.ports, CHICAGO, datetime.now(UTC), day="2026-03-04")
    [message] = site.outbox.sent
    assert message["Subject"] == "facegate daily summary 2026-03-04: no activity"
    body = message.get_body(("plain",))
    assert body is not None and "No activity" in body.get_content()


def test_the_email_has_text_html_and_the_csv() -> None:
    site = Site()
    site.scan_at("2026-03-04T15:00:00Z")
    message = compose(build_summary("2026-03-04", site.ports, CHICAGO), "a@example.com", ("b@example.com",))
    assert message.get_content_type() == "multipart/mixed"
    assert [part.get_content_type() for part in message.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "text/html", "text/csv",
    ]  # fmt: skip


def test_reports_need_a_sender_and_recipients() -> None:
    with pytest.raises(ValueError, match="FACEGATE_REPORT_FROM"):
        run_daily_report(Site().ports, Settings.from_env({}), datetime.now(UTC), day="2026-03-04")


def test_a_manual_day_must_be_a_date() -> None:
    with pytest.raises(ValueError):
        run_daily_report(Site().ports, CHICAGO, datetime.now(UTC), day="yesterday")


def test_summarise_of_nothing() -> None:
    summary = summarise("2026-03-04", [], "America/Chicago")
    assert summary.total == 0 and summary.admitted == [] and summary.change() is None


def denying_site() -> Site:
    """The issue's access policy; Jane is staff (front door, weekdays 07:00–19:00)."""
    site = Site()
    jane = site.directory.employees["EMP001"]
    site.directory.employees["EMP001"] = replace(jane, groups=frozenset({"staff"}))
    assert site.access_store.commit("", put=entries())
    return site


def test_denied_attempts_are_listed_in_their_own_section_with_who_where_when_and_why() -> None:
    site = denying_site()
    site.scan_at("2026-03-04T15:00:00Z", camera="front-door-in")  # 09:00 CST, a Wednesday
    site.scan_at("2026-03-05T02:00:00Z", camera="front-door-in")  # 20:00 CST, after hours
    summary = build_summary("2026-03-04", site.ports, CHICAGO)
    assert summary.totals["DENIED"] == 1 and summary.totals["AUTHORIZED"] == 1
    [denial] = summary.denied
    assert (denial.time, denial.employee_id, denial.name) == ("20:00:00", "EMP001", "Jane <b>Doe</b>")
    assert (denial.door_id, denial.camera_id, denial.reason_code) == (
        "front-door",
        "front-door-in",
        "OUTSIDE_SCHEDULE",
    )
    assert (denial.reason, denial.decided_by) == (
        "outside the schedule of the rule for this door",
        "staff-front-door",
    )
    assert denial.photo_link is not None
    assert summary.alerts == []  # not listed twice
    html, text = render(summary)
    section = html[html.index("Denied attempts") : html.index("Events to review")]
    assert "Jane &lt;b&gt;Doe&lt;/b&gt;" in section and "<b>Doe" not in html
    assert "front-door (front-door-in)" in section and "staff-front-door" in section
    assert (
        "  20:00:00 EMP001 Jane <b>Doe</b> at front-door (front-door-in): "
        "outside the schedule of the rule for this door [staff-front-door]"
    ) in text.splitlines()
    assert "Nothing to review." in html
    message = compose(summary, "a@example.com", ("b@example.com",))
    assert message["Subject"] == "facegate daily summary 2026-03-04: 1 entry, 1 alert (1 denied)"
    [row] = [row for row in csv.DictReader(io.StringIO(csv_rows(summary))) if row["status"] == "DENIED"]
    assert (row["door_id"], row["access_rule"], row["holiday"], row["reason_code"]) == (
        "front-door",
        "staff-front-door",
        "",
        "OUTSIDE_SCHEDULE",
    )


def test_a_holiday_denial_names_the_holiday_and_an_erased_one_no_one() -> None:
    site = denying_site()
    site.scan_at("2026-11-26T16:00:00Z", camera="front-door-in")  # Thanksgiving, 10:00 CST
    summary = build_summary("2026-11-26", site.ports, CHICAGO)
    [denial] = summary.denied
    assert (denial.reason_code, denial.decided_by) == ("HOLIDAY_CLOSED", "holiday 2026-11-26")
    erased = replace(
        summary.scans[0], decision=replace(summary.scans[0].decision, employee_id=None, employee_name=None)
    )
    summary = summarise(summary.day, [erased], CHICAGO.timezone)
    html, text = render(summary)
    assert "EMP001" not in html and "Jane" not in text and "(erased)" in text


def test_an_erased_scan_is_listed_without_a_link_to_its_photo_or_the_photos_key() -> None:
    """Erasure deleted the photo: a link would be dead, and the key still names the camera
    and the file (which may carry the time). The record itself stays, without its employee."""
    site = denying_site()
    site.scan_at("2026-03-05T02:00:00Z", camera="front-door-in")  # DENIED, after hours
    site.directory.fail_with = ConnectionError("down")
    site.scan_at("2026-03-05T03:00:00Z")  # an ERROR after the match: to review
    site.directory.fail_with = None
    for scan_id in list(site.scans.scans):
        site.scans.anonymise(scan_id)

    summary = build_summary("2026-03-04", site.ports, CHICAGO)

    [denial], [alert] = summary.denied, summary.alerts
    assert denial.photo_link is None and alert.photo_link is None
    html, text = render(summary)
    rows = csv_rows(summary)
    for shown in (html, text, rows):
        assert "incoming/" not in shown and "memory://" not in shown
    assert "(erased)" in text


def test_no_stored_text_can_forge_a_line_of_the_denied_section() -> None:
    site = denying_site()
    site.directory.employees["EMP001"] = replace(
        site.directory.employees["EMP001"], name="Jane\u2028  16:00:00 EMP002 Mallory at vault: fine"
    )
    site.scan_at("2026-03-05T02:00:00Z")
    _, text = render(build_summary("2026-03-04", site.ports, CHICAGO))
    assert not any(line.lstrip().startswith("16:00:00") for line in text.splitlines())
    assert "Jane\\u2028  16:00:00" in text


def test_nobody_denied_says_so() -> None:
    site = Site()
    site.scan_at("2026-03-04T15:00:00Z")
    html, text = render(build_summary("2026-03-04", site.ports, CHICAGO))
    assert "Nobody was denied." in html
    assert "Denied attempts:\n  nobody" in text
