"""Routes under /faces: drop-folder faces waiting for an admin (``enrollment.pending``) and the
look-alike pairs the duplicate guard lets through (``enrollment.lookalikes``)."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.api import validation as valid
from chalicelib.api.http import AUTHORIZER, json_object, route_guard
from chalicelib.auth.tokens import ADMINS, Principal
from chalicelib.core.config import Settings
from chalicelib.enrollment import lookalikes, pending

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
        consent=settings.consent,
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


@faces_api.route("/faces/allowed-pairs", methods=["GET"], authorizer=AUTHORIZER)
@requires(ADMINS)
def allowed_pairs(actor: Principal) -> dict[str, object]:
    """The look-alike pairs the duplicate guard lets through (``enrollment.lookalikes``)."""
    from chalicelib import wiring

    pairs = lookalikes.allowed_pairs(wiring.api_ports(Settings.from_env()).enrollment)
    return {"items": [{"employee_ids": list(pair)} for pair in pairs]}


@faces_api.route("/faces/allowed-pairs/{employee_a}/{employee_b}", methods=["PUT"], authorizer=AUTHORIZER)
@requires(ADMINS)
def allow_pair(actor: Principal, employee_a: str, employee_b: str) -> dict[str, object]:
    """Let a face of either resemble the other's (twins); audited on both."""
    from chalicelib import wiring

    request = faces_api.current_request
    valid.no_fields(json_object(request) if request.raw_body else {})
    ports = wiring.api_ports(Settings.from_env()).enrollment
    pair = lookalikes.allow_pair(
        valid.employee_id(employee_a), valid.employee_id(employee_b), ports, actor.username
    )
    return {"employee_ids": list(pair)}


@faces_api.route("/faces/allowed-pairs/{employee_a}/{employee_b}", methods=["DELETE"], authorizer=AUTHORIZER)
@requires(ADMINS)
def remove_pair(actor: Principal, employee_a: str, employee_b: str) -> Response:
    """The guard refuses their look-alike faces again (faces enrolled meanwhile stay); audited."""
    from chalicelib import wiring

    ports = wiring.api_ports(Settings.from_env()).enrollment
    lookalikes.remove_pair(
        valid.employee_id(employee_a), valid.employee_id(employee_b), ports, actor.username
    )
    return Response(body="", status_code=204)
