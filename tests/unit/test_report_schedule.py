"""When the daily report goes out: "since" its local hour, across real daylight-saving changes,
exactly once a day; and a claim that outlives its run (a crash, a lost answer) expires."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest

from chalicelib.core.config import Settings
from chalicelib.reporting.reports import due_days, latest_due_day, report_due_at, run_daily_report
from tests.unit.test_reports import CHICAGO, Site

# (zone, a day the clocks change there): spring forward and fall back, whole and half hours,
# at 02:00 local (US, EU), at midnight (Santiago skips 00:00–01:00; Havana too).
TRANSITIONS = [
    ("America/New_York", date(2026, 3, 8)),
    ("America/New_York", date(2026, 11, 1)),
    ("Europe/Berlin", date(2026, 3, 29)),
    ("Europe/Berlin", date(2026, 10, 25)),
    ("Australia/Lord_Howe", date(2026, 4, 5)),  # back 30 minutes
    ("Australia/Lord_Howe", date(2026, 10, 4)),  # forward 30 minutes
    ("America/Santiago", date(2026, 9, 6)),
    ("America/Havana", date(2026, 3, 8)),
]


def settings_for(zone: str, hour: int) -> Settings:
    return replace(CHICAGO, timezone=zone, report=replace(CHICAGO.report, hour=hour))


def hourly_runs(around: date, minute: int = 0) -> list[datetime]:
    """The schedule's runs (every hour at ``minute`` past, UTC) from two days before to three after."""
    start = datetime(around.year, around.month, around.day, 0, minute, tzinfo=UTC) - timedelta(days=2)
    return [start + timedelta(hours=n) for n in range(24 * 5)]


@pytest.mark.parametrize(("zone", "changes_on"), TRANSITIONS)
@pytest.mark.parametrize("minute", [0, 59])
def test_every_report_hour_is_sent_once_a_day_at_the_first_run_since_it(
    zone: str, changes_on: date, minute: int
) -> None:
    tz = ZoneInfo(zone)
    runs = hourly_runs(changes_on, minute)
    for hour in range(24):
        settings = settings_for(zone, hour)
        sent: dict[str, datetime] = {}
        for now in runs:
            for due_day in due_days(now, settings):
                sent.setdefault(due_day, now)  # the ledger: the first claim of a day wins
        for offset in (-1, 0, 1):  # the days fully inside the runs
            day = changes_on + timedelta(days=offset)
            due = report_due_at(day, hour, tz)
            assert day.isoformat() in sent, (zone, hour, day)
            first_run = min(now for now in runs if now >= due)
            assert sent[day.isoformat()] == first_run, (zone, hour, day)
            assert first_run - due < timedelta(hours=1)
            local = due.astimezone(tz)
            assert local.date() == day or (local.hour, local.minute) < (1, 30), (zone, hour, local)


@pytest.mark.parametrize(
    ("zone", "day", "hour", "due_utc"),
    [
        # 02:00 that spring-forward skips is due when the gap ends: 03:00 local
        ("America/New_York", date(2026, 3, 8), 2, datetime(2026, 3, 8, 7, tzinfo=UTC)),
        ("Europe/Berlin", date(2026, 3, 29), 2, datetime(2026, 3, 29, 1, tzinfo=UTC)),
        # 01:00 (New York) and 02:00 (Berlin) that fall-back repeats: due at the first of the two
        ("America/New_York", date(2026, 11, 1), 1, datetime(2026, 11, 1, 5, tzinfo=UTC)),
        ("Europe/Berlin", date(2026, 10, 25), 2, datetime(2026, 10, 25, 0, tzinfo=UTC)),
        # the hour after the change: as any other day
        ("America/New_York", date(2026, 3, 8), 3, datetime(2026, 3, 8, 7, tzinfo=UTC)),
        ("Europe/Berlin", date(2026, 10, 25), 3, datetime(2026, 10, 25, 2, tzinfo=UTC)),
    ],
)
def test_the_due_instant_of_a_skipped_or_repeated_hour(
    zone: str, day: date, hour: int, due_utc: datetime
) -> None:
    assert report_due_at(day, hour, ZoneInfo(zone)) == due_utc


def test_the_scheduled_runs_send_the_skipped_hours_report_once() -> None:
    # New York, report hour 2, on the day 02:00 becomes 03:00: a run "in" hour 2 never comes.
    site, settings = Site(), settings_for("America/New_York", 2)
    sent: dict[str, datetime] = {}
    for now in hourly_runs(date(2026, 3, 8)):
        outcome = run_daily_report(site.ports, settings, now)
        if outcome.sent:
            assert outcome.day not in sent
            sent[outcome.day] = now
    assert sent["2026-03-08"] == datetime(2026, 3, 8, 7, tzinfo=UTC)  # 03:00 EDT, the first run since
    assert list(sent) == [f"2026-03-{day:02}" for day in range(5, 11)]  # every day, once
    assert len(site.outbox.sent) == len(sent)


def test_the_scheduled_runs_send_the_repeated_hours_report_once() -> None:
    site, settings = Site(), settings_for("America/New_York", 1)
    runs = hourly_runs(date(2026, 11, 1))
    sent = [now for now in runs if run_daily_report(site.ports, settings, now).sent]
    assert datetime(2026, 11, 1, 5, tzinfo=UTC) in sent  # the first 01:00 (EDT)
    assert datetime(2026, 11, 1, 6, tzinfo=UTC) not in sent  # the second 01:00 (EST): not again
    assert len(sent) == len(site.outbox.sent) == 6  # 2026-10-30 to 2026-11-04, once each


def test_a_run_after_a_failed_one_the_same_day_sends_it() -> None:
    site = Site()
    site.outbox.fail_with = ConnectionError("ses down")
    with pytest.raises(ConnectionError):
        run_daily_report(site.ports, CHICAGO, datetime(2026, 3, 5, 0, 5, tzinfo=UTC))  # 18:05 CST
    site.outbox.fail_with = None
    later = run_daily_report(site.ports, CHICAGO, datetime(2026, 3, 5, 1, 5, tzinfo=UTC))  # 19:05
    assert (later.day, later.sent) == ("2026-03-04", True)


def test_the_latest_due_day_follows_the_due_instant() -> None:
    settings = settings_for("America/New_York", 2)
    assert latest_due_day(datetime(2026, 3, 8, 6, 59, tzinfo=UTC), settings) == "2026-03-07"  # 01:59 EST
    assert latest_due_day(datetime(2026, 3, 8, 7, tzinfo=UTC), settings) == "2026-03-08"  # 03:00 EDT


# --- the claim is a lease -----------------------------------------------------------------------


class Crash(BaseException):
    """The function killed mid-send (its timeout, an out-of-memory): nothing releases the claim."""


class CrashingOutbox:
    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> str:
        raise Crash


EVENING = datetime(2026, 3, 5, 0, 5, tzinfo=UTC)  # 18:05 CST on the 4th


def test_a_claim_left_by_a_run_that_died_expires_after_the_functions_timeout() -> None:
    site, lease = Site(), CHICAGO.report.timeout_seconds
    crashing = replace(site.ports, mailer=CrashingOutbox())
    with pytest.raises(Crash):
        run_daily_report(crashing, CHICAGO, EVENING)
    assert site.ledger.states["2026-03-04"] == "SENDING"
    within = run_daily_report(site.ports, CHICAGO, EVENING + timedelta(seconds=lease - 1))
    assert (within.sent, within.reason) == (False, "already sent")  # it might still be sending
    after = run_daily_report(site.ports, CHICAGO, EVENING + timedelta(seconds=lease))
    assert (after.day, after.sent) == ("2026-03-04", True)
    assert site.ledger.states["2026-03-04"] == "SENT" and len(site.outbox.sent) == 1


class SlowOutbox:
    """Its send takes longer than the claim's lease: meanwhile the next run claims and sends."""

    def __init__(self, site: Site, settings: Settings) -> None:
        self.site, self.settings = site, settings
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> str:
        late = EVENING + timedelta(seconds=self.settings.report.timeout_seconds)
        assert run_daily_report(self.site.ports, self.settings, late).sent
        self.site.scan_at("2026-03-04T20:00:00Z")  # the next run's totals are not ours
        self.sent.append(message)
        return "slow"


def test_a_send_that_finishes_after_its_claim_expired_never_marks_the_newer_claim() -> None:
    site = Site()
    slow = replace(site.ports, mailer=SlowOutbox(site, CHICAGO))
    run_daily_report(slow, CHICAGO, EVENING)
    # The newer claim's send is the ledger's: its totals, its state, whatever the late one says.
    assert site.ledger.states["2026-03-04"] == "SENT"
    assert sum(site.ledger.kept["2026-03-04"].values()) == 0
    assert len(site.outbox.sent) == 1


@pytest.mark.parametrize("stage", ["dev", "prod", "sandbox"])
def test_the_lease_is_the_timeout_of_every_function_that_claims_a_day(stage: str) -> None:
    from infra.stage import function_timeout, stage_variables

    settings = Settings.from_env(stage_variables(stage))
    claimers = ("daily_report", "api_handler")  # the schedule, and POST /reports
    assert settings.report.timeout_seconds >= max(function_timeout(stage, name) for name in claimers)
