"""Routes under /faces: drop-folder faces waiting for an admin (``enrollment.pending``)."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.api import validation as valid
from chalicelib.api.http import AUTHORIZER, json_object, route_guard
from chalicelib.auth.tokens import ADMINS, Principal
from chalicelib.core.config import Settings
from chalicelib.enrollment import pending

faces_api = Blueprint(__name__)
requires = route_guard(faces_api)


@faces_api.route("/faces/pending", methods=["GET"], authorizer=AUTHORIZER)
@requires(ADMINS)
def pending_faces(actor: Principal) -> dict[str, object]:
    """The photos waiting for approval, oldest first."""
    from chalicelib import wiring

    held = pending.pending_faces(wiring.api_ports(Settings.from_env()).pending_faces)
    return {"items": [face.to_dict() for face in held]}


@faces_api.route("/faces/pending/{pending_id}/approve", methods=["POST"], authorizer=AUTHORIZER)
@requires(ADMINS)
def approve(actor: Principal, pending_id: str) -> Response:
    """Enroll the held photo as ``POST /employees/{id}/faces`` would (audited)."""
    from chalicelib import wiring

    settings, request = Settings.from_env(), faces_api.current_request
    valid.no_fields(json_object(request) if request.raw_body else {})
    ports = wiring.api_ports(settings)
    record = pending.approve(
        valid.pending_id(pending_id),
        ports.pending_faces,
        ports.enrollment,
        settings.limits,
        actor.username,
        policy=settings.policy,
    )
    return Response(record.to_dict(), status_code=201)


@faces_api.route("/faces/pending/{pending_id}/reject", methods=["POST"], authorizer=AUTHORIZER)
@requires(ADMINS)
def reject(actor: Principal, pending_id: str) -> Response:
    """Delete the held photo, every version (audited)."""
    from chalicelib import wiring

    settings, request = Settings.from_env(), faces_api.current_request
    valid.no_fields(json_object(request) if request.raw_body else {})
    ports = wiring.api_ports(settings)
    pending.reject(
        valid.pending_id(pending_id), ports.pending_faces, ports.enrollment, settings.limits, actor.username
    )
    return Response(body="", status_code=204)
