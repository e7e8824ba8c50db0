"""Routes under /reports: send a day's summary email now, as the hourly schedule would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from chalice.app import Blueprint

from chalicelib.api import validation as valid
from chalicelib.api.http import AUTHORIZER, json_object, route_guard
from chalicelib.auth import ADMINS, Principal
from chalicelib.config import Settings
from chalicelib.errors import BadRequest

reports_api = Blueprint(__name__)
requires = route_guard(reports_api)


@reports_api.route("/reports", methods=["POST"], authorizer=AUTHORIZER)
@requires(ADMINS)
def send_report(actor: Principal) -> dict[str, object]:
    """Send one local day's report (by default the latest one due); the ledger sends a day once."""
    from chalicelib import wiring
    from chalicelib.reports import run_daily_report  # here: the other routes never need it

    request, settings = reports_api.current_request, Settings.from_env()
    body = json_object(request) if request.raw_body else {}
    if set(body) - {"day"}:
        raise BadRequest("the body may only name a day")
    now = datetime.now(UTC)
    raw_day = body.get("day")
    if raw_day is not None and not isinstance(raw_day, str):
        raise BadRequest("day must be a date, YYYY-MM-DD")
    # Given a day, run_daily_report sends whatever the hour: a manual send means now.
    day = valid.day(raw_day) if raw_day else latest_due_day(now, settings)
    return run_daily_report(wiring.report_ports(settings), settings, now, day).to_dict()


def latest_due_day(now: datetime, settings: Settings) -> str:
    """Today once the report hour has come, else yesterday: never a day the schedule has yet
    to send (sending today at noon would make the 18:00 run find it "already sent")."""
    local_now = now.astimezone(ZoneInfo(settings.timezone))
    due = local_now.date() if local_now.hour >= settings.report.hour else local_now.date() - timedelta(days=1)
    return due.isoformat()
