"""GET /door-events: what the door agents reported on a local day (held open, forced open, a
relay that failed, a camera gone dark, …), for admins and security."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from chalice.app import Blueprint

from chalicelib.api import validation as valid
from chalicelib.api.http import AUTHORIZER, query, route_guard
from chalicelib.auth.tokens import ADMINS, SECURITY, Principal
from chalicelib.core.config import Settings
from chalicelib.doors.events import events_of_day

door_events_api = Blueprint(__name__)
requires = route_guard(door_events_api)


@door_events_api.route("/door-events", methods=["GET"], authorizer=AUTHORIZER)
@requires(ADMINS, SECURITY)
def list_door_events(actor: Principal) -> dict[str, object]:
    """One local day's door events (today by default), optionally one door's, oldest first: the
    newest 1,000, and how many older ones were left out (``left_out``)."""
    from chalicelib import wiring

    settings = Settings.from_env()
    params = query(door_events_api.current_request)
    day = (
        valid.day(params["day"])
        if "day" in params
        else datetime.now(ZoneInfo(settings.timezone)).date().isoformat()
    )
    door = valid.door_id(params["door_id"]) if "door_id" in params else None
    events, left_out = events_of_day(wiring.api_ports(settings).audit_trail, day, settings.timezone, door)
    return {"day": day, "items": events, "left_out": left_out}
