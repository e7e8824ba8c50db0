"""The daily summary counts the site's local day of remote door commands and door events from the audit (one
partition, one Query), and the email says so only when there were any."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.access.remote import AUDIT_TARGET
from chalicelib.core.models import AuditEntry
from chalicelib.reporting.report_email import render
from chalicelib.reporting.reports import build_summary, door_commands
from tests.fakes import InMemoryAuditLog
from tests.unit.test_reports import CHICAGO, Site


def audit(*entries: tuple[str, str, str]) -> InMemoryAuditLog:
    log = InMemoryAuditLog()
    for at, action, target in entries:
        log.record(AuditEntry(at, "guard", action, target, {"door_id": "front-door", "reason": "r"}))
    return log


def test_a_local_day_of_commands_across_midnight_utc_and_nothing_else() -> None:
    log = audit(
        ("2026-03-04T05:59:59.999Z", "door.unlock", AUDIT_TARGET),  # 23:59 CST on the 3rd
        ("2026-03-04T06:00:00.000Z", "door.unlock", AUDIT_TARGET),  # 00:00 CST on the 4th
        ("2026-03-04T14:00:00.000Z", "door.lockdown", AUDIT_TARGET),
        ("2026-03-05T05:30:00.000Z", "door.release", AUDIT_TARGET),  # 23:30 CST, the 5th in UTC
        ("2026-03-05T06:00:00.000Z", "door.unlock", AUDIT_TARGET),  # the 5th
        ("2026-03-04T15:00:00.000Z", "access.door.put", "access/door/front-door"),  # another target
        ("2026-03-04T15:00:00.000Z", "employee.create", "EMP001"),
    )
    assert door_commands(log, "2026-03-04", CHICAGO.timezone) == {"unlock": 1, "lockdown": 1, "release": 1}
    assert door_commands(log, "2026-03-05", CHICAGO.timezone) == {"unlock": 1, "lockdown": 0, "release": 0}


def test_the_day_clocks_spring_forward_ends_at_local_midnight() -> None:
    log = audit(
        ("2026-03-09T04:59:59.000Z", "door.unlock", AUDIT_TARGET),  # 23:59 CDT on the 8th
        ("2026-03-09T05:00:00.000Z", "door.unlock", AUDIT_TARGET),  # 00:00 CDT on the 9th
    )
    assert door_commands(log, "2026-03-08", CHICAGO.timezone)["unlock"] == 1


def test_the_summary_and_the_email_show_the_days_commands_only_when_there_were_any() -> None:
    site = Site()
    site.scan_at("2026-03-04T14:00:00Z")
    log = audit(("2026-03-04T15:00:00.000Z", "door.unlock", AUDIT_TARGET))
    counted = build_summary("2026-03-04", replace(site.ports, audit=log), CHICAGO)
    assert counted.door_commands == {"unlock": 1, "lockdown": 0, "release": 0}
    html, text = render(counted)
    assert "Remote door commands (audited): unlock 1, lockdown 0, release 0" in text
    assert "Remote door commands</h2>" in html and "Unlock 1 &middot; lockdown 0" in html
    quiet = build_summary("2026-03-04", replace(site.ports, audit=InMemoryAuditLog()), CHICAGO)
    assert quiet.door_commands_sent == 0
    assert "Remote door commands" not in "".join(render(quiet))
    uncounted = build_summary("2026-03-04", site.ports, CHICAGO)  # no audit port: nothing asked
    assert uncounted.door_commands == {}


def test_a_day_without_scans_still_shows_its_commands() -> None:
    log = audit(("2026-03-04T15:00:00.000Z", "door.lockdown", AUDIT_TARGET))
    summary = build_summary("2026-03-04", replace(Site().ports, audit=log), CHICAGO)
    assert not summary.scans
    assert "lockdown 1" in render(summary)[1]


def test_the_email_counts_the_days_door_events_by_kind_and_says_nothing_without_them() -> None:
    from chalicelib.doors.events import TARGET

    log = audit(
        ("2026-03-04T15:00:00.000Z", "door.HELD_OPEN", TARGET),
        ("2026-03-04T15:01:00.000Z", "door.CLOSED", TARGET),
        ("2026-03-04T16:00:00.000Z", "door.HELD_OPEN", TARGET),
        ("2026-03-04T17:00:00.000Z", "door.FORCED_OPEN", TARGET),
        ("2026-03-05T07:00:00.000Z", "door.FORCED_OPEN", TARGET),  # the next local day
    )
    summary = build_summary("2026-03-04", replace(Site().ports, audit=log), CHICAGO)
    assert summary.door_events_reported == [("HELD_OPEN", 2), ("FORCED_OPEN", 1), ("CLOSED", 1)]
    html, text = render(summary)
    assert "Door events: HELD_OPEN 2, FORCED_OPEN 1, CLOSED 1 (which door and when" in text
    assert "Door events</h2>" in html and "HELD_OPEN 2 &middot; FORCED_OPEN 1" in html
    quiet = build_summary("2026-03-04", replace(Site().ports, audit=InMemoryAuditLog()), CHICAGO)
    assert "Door events" not in "".join(render(quiet))
