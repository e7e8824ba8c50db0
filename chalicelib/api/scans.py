"""Routes for door events and for recognising a photo without recording it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from chalice.app import Blueprint

from chalicelib.api import validation as valid
from chalicelib.api.http import AUTHORIZER, json_object, page_body, query, route_guard
from chalicelib.auth.tokens import ADMINS, SECURITY, Principal
from chalicelib.core.config import Settings
from chalicelib.enrollment import lookup

scans_api = Blueprint(__name__)
requires = route_guard(scans_api)  # every route here needs a token of one of the named groups


@scans_api.route("/scans", methods=["GET"], authorizer=AUTHORIZER)
@requires(ADMINS, SECURITY)
def list_scans(actor: Principal) -> dict[str, object]:
    """One local day's scans (today by default), optionally one status or camera."""
    from chalicelib import wiring

    request, settings = scans_api.current_request, Settings.from_env()
    params = query(request)
    day = (
        valid.day(params["day"])
        if "day" in params
        else datetime.now(ZoneInfo(settings.timezone)).date().isoformat()
    )
    page = lookup.scans_of_day(
        day,
        valid.limit(params),
        params.get("next_token"),
        wiring.api_ports(settings).enrollment,
        status=valid.status(params.get("status")),
        camera_id=valid.camera_id(params.get("camera_id")),
    )
    return page_body(page)


@scans_api.route("/scans/{scan_id}", methods=["GET"], authorizer=AUTHORIZER)
@requires(ADMINS, SECURITY)
def get_scan(actor: Principal, scan_id: str) -> dict[str, object]:
    from chalicelib import wiring

    settings = Settings.from_env()
    return lookup.scan_by_id(valid.scan_id(scan_id), wiring.api_ports(settings).enrollment).to_dict()


@scans_api.route("/recognize", methods=["POST"], authorizer=AUTHORIZER)
@requires(ADMINS, SECURITY)
def recognize(actor: Principal) -> dict[str, object]:
    """Who is in this photo: the decision a scan would reach, without a door event."""
    from chalicelib import wiring

    request, settings = scans_api.current_request, Settings.from_env()
    photo = valid.photo(json_object(request))
    return lookup.recognize(photo, wiring.api_ports(settings).enrollment, settings).body
