"""Routes under /reports: send a day's summary email now, as the hourly schedule would."""

from __future__ import annotations

from datetime import UTC, datetime

from chalice.app import Blueprint

from chalicelib.api import validation as valid
from chalicelib.api.http import AUTHORIZER, json_object, route_guard
from chalicelib.auth.tokens import ADMINS, Principal
from chalicelib.core.config import Settings
from chalicelib.core.errors import BadRequest

reports_api = Blueprint(__name__)
requires = route_guard(reports_api)


@reports_api.route("/reports", methods=["POST"], authorizer=AUTHORIZER)
@requires(ADMINS)
def send_report(actor: Principal) -> dict[str, object]:
    """Send one local day's report (by default the latest one due); the ledger sends a day once."""
    from chalicelib import wiring
    from chalicelib.reporting.reports import send_now  # here: the other routes never need it

    request, settings = reports_api.current_request, Settings.from_env()
    body = json_object(request) if request.raw_body else {}
    if set(body) - {"day"}:
        raise BadRequest("the body may only name a day")
    raw_day = body.get("day")
    if raw_day is not None and not isinstance(raw_day, str):
        raise BadRequest("day must be a date, YYYY-MM-DD")
    day = None if raw_day is None else valid.day(raw_day)
    return send_now(wiring.report_ports(settings), settings, datetime.now(UTC), day).to_dict()
