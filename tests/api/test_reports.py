"""POST /reports: an admin sends a day's report now; the ledger still sends a day only once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from chalicelib.core.config import Settings
from chalicelib.reporting.reports import latest_due_day
from sandbox.mailbox import sent_emails
from tests.api.conftest import Api


def test_a_day_is_sent_once_and_the_latest_due_day_is_the_default(api: Api) -> None:
    due = latest_due_day(datetime.now(UTC), api.stack.settings)
    earlier = (date.fromisoformat(due) - timedelta(days=3)).isoformat()
    first = api.call("POST", "/reports", {"day": earlier})
    assert first.status == 200, first.json
    assert first.json["day"] == earlier
    assert (first.json["sent"], first.json["reason"], first.json["scans"]) == (True, "sent", 0)
    again = api.call("POST", "/reports", {"day": earlier})
    assert (again.status, again.json["sent"], again.json["reason"]) == (200, False, "already sent")
    default = api.call("POST", "/reports")
    assert (default.status, default.json["day"], default.json["sent"]) == (200, due, True)
    assert len(sent_emails()) == 2


def test_a_bad_day_or_body_is_a_400_and_security_may_not_send(api: Api) -> None:
    for body in (
        {"day": "05/01/2026"},
        {"day": 20260105},
        {"day": ""},
        {"day": "2026-01-05", "to": "x@example.com"},
    ):
        reply = api.call("POST", "/reports", body)
        assert reply.status == 400, (body, reply.json)
    assert api.call("POST", "/reports", {"day": "2026-01-05"}, token="security").status == 403
    assert sent_emails() == []


def test_the_default_day_is_never_one_the_schedule_has_yet_to_send() -> None:
    at_six = Settings.from_env({"FACEGATE_TIMEZONE": "UTC", "FACEGATE_REPORT_HOUR": "18"})
    assert latest_due_day(datetime(2026, 1, 5, 17, 59, tzinfo=UTC), at_six) == "2026-01-04"
    assert latest_due_day(datetime(2026, 1, 5, 18, 0, tzinfo=UTC), at_six) == "2026-01-05"
    assert latest_due_day(datetime(2026, 1, 1, 0, 30, tzinfo=UTC), at_six) == "2025-12-31"


def test_a_day_not_due_yet_or_past_the_scans_kept_is_refused_and_claims_nothing(api: Api) -> None:
    settings = api.stack.settings
    due = date.fromisoformat(latest_due_day(datetime.now(UTC), settings))
    too_old = due - timedelta(days=settings.retention_days + 1)
    for day in (due + timedelta(days=1), date(9999, 12, 31), too_old, date(1, 1, 1)):
        reply = api.call("POST", "/reports", {"day": day.isoformat()})
        assert reply.status == 400, (day, reply.json)
    assert sent_emails() == []
    # The scheduled run of a refused future day is not stopped by the ledger: nothing was claimed.
    from chalicelib import wiring

    assert wiring.report_ports(settings).ledger.claim(
        (due + timedelta(days=1)).isoformat(), datetime.now(UTC), 60
    )
