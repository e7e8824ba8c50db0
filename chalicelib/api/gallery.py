"""Routes under /gallery: what the enrolled faces look like to the door policy."""

from __future__ import annotations

import re

from chalice.app import Blueprint, Response

from chalicelib.api.http import AUTHORIZER, json_object, route_guard
from chalicelib.auth.tokens import ADMINS, Principal
from chalicelib.core.config import Settings
from chalicelib.core.display import display_text
from chalicelib.core.errors import BadRequest, NotFound
from chalicelib.enrollment import employees as enrollment
from chalicelib.enrollment import gallery_health as health

gallery_api = Blueprint(__name__)
requires = route_guard(gallery_api)
JOB_ID = re.compile(r"[0-9a-f]{32}")


@gallery_api.route("/gallery/health", methods=["POST"], authorizer=AUTHORIZER)
@requires(ADMINS)
def start_gallery_health(actor: Principal) -> Response:
    """202 with a new job, or 200 with the one already running (at most one at a time)."""
    from chalicelib import wiring

    request = gallery_api.current_request
    if request.raw_body and json_object(request):  # the body is checked like every body: none or {}
        raise BadRequest("this request takes no fields: send {} or no body")
    job, started = health.start_health(wiring.api_ports(Settings.from_env()).health, actor.username)
    location: dict[str, str | list[str]] = {"Location": f"/gallery/health/{job.job_id}"}
    return Response(health.public(job), status_code=202 if started else 200, headers=location)


@gallery_api.route("/gallery/health", methods=["GET"], authorizer=AUTHORIZER)
@requires(ADMINS)
def latest_gallery_health(actor: Principal) -> dict[str, object]:
    """The latest job: its state, progress and, once DONE, its report; 404 before any."""
    from chalicelib import wiring

    return health.health_status(None, wiring.api_ports(Settings.from_env()).health)


@gallery_api.route("/gallery/health/{job_id}", methods=["GET"], authorizer=AUTHORIZER)
@requires(ADMINS)
def gallery_health_job(actor: Principal, job_id: str) -> dict[str, object]:
    from chalicelib import wiring

    if not JOB_ID.fullmatch(job_id):
        raise NotFound(f"no gallery health job {display_text(job_id, 40)}")
    return health.health_status(job_id, wiring.api_ports(Settings.from_env()).health)


@gallery_api.route("/gallery/retire-old-model", methods=["POST"], authorizer=AUTHORIZER)
@requires(ADMINS)
def retire_old_model(actor: Principal) -> dict[str, int]:
    from chalicelib import wiring

    request = gallery_api.current_request
    if request.raw_body and json_object(request):  # the body is checked like every body: none or {}
        raise BadRequest("this request takes no fields: send {} or no body")
    ports = wiring.api_ports(Settings.from_env()).enrollment
    return enrollment.retire_old_model(ports, actor.username)
