"""The report gauge: is the latest day whose report hour + 1 has passed still unsent?

Chicago, report hour 18 (CST is UTC-6 in March before the 8th, CDT UTC-5 after).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from chalicelib.core.config import ReportSettings
from chalicelib.reporting.reports import report_overdue, run_daily_report
from tests.unit.test_reports import CHICAGO, Ledger, Site


def sent(*days: str) -> Ledger:
    ledger = Ledger()
    for day in days:
        token = ledger.claim(day, datetime(2026, 1, 1, tzinfo=UTC), 60)
        assert token is not None
        ledger.sent(day, {}, token)  # a day without scans is sent with empty totals: still sent
    return ledger


def at(utc: str) -> datetime:
    return datetime.fromisoformat(utc).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "days_sent", "overdue"),
    [
        # the report hour itself is grace: the day judged is still yesterday
        ("2026-03-05T00:30", ["2026-03-03"], False),  # 18:30 CST on the 4th, yesterday sent
        ("2026-03-05T00:59:59", ["2026-03-03"], False),
        # from 19:00 the 4th itself is judged
        ("2026-03-05T01:00", ["2026-03-03"], True),
        ("2026-03-05T01:00", ["2026-03-04"], False),
        # late evening, already the 5th in UTC: still the 4th in Chicago
        ("2026-03-05T05:30", ["2026-03-04"], False),
        ("2026-03-05T05:30", ["2026-03-05"], True),
        # the next morning a missed report is still overdue, until a later one goes out
        ("2026-03-05T16:00", [], True),
        ("2026-03-05T16:00", ["2026-03-04"], False),
    ],
)
def test_the_day_judged_turns_an_hour_after_the_report_hour(
    now: str, days_sent: list[str], overdue: bool
) -> None:
    assert report_overdue(sent(*days_sent), CHICAGO, at(now)) is overdue


def test_a_report_hour_that_spring_forward_skips_is_overdue_an_hour_after_the_gap() -> None:
    # 2026-03-08: 02:00 CST becomes 03:00 CDT, so the hourly run never sees local hour 2: the
    # 03:00 run sends it (test_report_schedule.py), and the gauge judges it from the gap's end.
    two_am = replace(CHICAGO, report=replace(CHICAGO.report, hour=2))
    assert report_overdue(sent("2026-03-07"), two_am, at("2026-03-08T08:59")) is False  # 03:59 CDT
    assert report_overdue(sent("2026-03-07"), two_am, at("2026-03-08T09:00")) is True  # 04:00 CDT


def test_a_report_sent_in_its_hour_is_not_overdue_and_one_that_failed_is() -> None:
    site = Site()
    site.scan_at("2026-03-04T15:00:00Z")
    evening, an_hour_later = at("2026-03-05T00:10"), at("2026-03-05T01:10")  # 18:10 and 19:10 CST
    assert run_daily_report(site.ports, CHICAGO, evening).sent is True
    assert report_overdue(site.ledger, CHICAGO, an_hour_later) is False

    failing = Site()
    failing.outbox.fail_with = ConnectionError("ses down")
    with pytest.raises(ConnectionError):
        run_daily_report(failing.ports, CHICAGO, evening)
    assert failing.ledger.states["2026-03-04"] == "FAILED"
    assert report_overdue(failing.ledger, CHICAGO, an_hour_later) is True


def test_the_report_hour_is_a_setting() -> None:
    assert ReportSettings().hour == CHICAGO.report.hour == 18  # the cases above assume it
