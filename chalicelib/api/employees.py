"""Routes under /employees: the directory, enrollment photos, erasure and an employee's scans."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.api import validation as valid
from chalicelib.api.http import AUTHORIZER, json_object, page_body, query, route_guard
from chalicelib.auth.tokens import ADMINS, SECURITY, Principal
from chalicelib.core.config import Settings
from chalicelib.enrollment import employees as enrollment
from chalicelib.enrollment import lookup
from chalicelib.erasure import job as erasure

employees_api = Blueprint(__name__)
requires = route_guard(employees_api)  # every route here needs a token of one of the named groups


def _ports(settings: Settings) -> enrollment.EnrollmentPorts:
    from chalicelib import wiring

    return wiring.api_ports(settings).enrollment


@employees_api.route("/employees", methods=["POST"], authorizer=AUTHORIZER)
@requires(ADMINS)
def create_employee(actor: Principal) -> Response:
    request, settings = employees_api.current_request, Settings.from_env()
    employee = valid.new_employee(json_object(request))
    created = enrollment.create_employee(employee, _ports(settings), actor.username)
    return Response(created.to_dict(), status_code=201)


@employees_api.route("/employees", methods=["GET"], authorizer=AUTHORIZER)
@requires(ADMINS, SECURITY)
def list_employees(actor: Principal) -> dict[str, object]:
    request, settings = employees_api.current_request, Settings.from_env()
    params = query(request)
    page = enrollment.list_employees(valid.limit(params), params.get("next_token"), _ports(settings))
    return page_body(page)


@employees_api.route("/employees/{employee_id}", methods=["GET"], authorizer=AUTHORIZER)
@requires(ADMINS, SECURITY)
def get_employee(actor: Principal, employee_id: str) -> dict[str, object]:
    settings = Settings.from_env()
    return enrollment.get_employee(valid.employee_id(employee_id), _ports(settings)).to_dict()


@employees_api.route("/employees/{employee_id}", methods=["PATCH"], authorizer=AUTHORIZER)
@requires(ADMINS)
def update_employee(actor: Principal, employee_id: str) -> dict[str, object]:
    request, settings = employees_api.current_request, Settings.from_env()
    changes = valid.employee_changes(json_object(request))
    updated = enrollment.update_employee(
        valid.employee_id(employee_id), changes, _ports(settings), actor.username
    )
    return updated.to_dict()


@employees_api.route("/employees/{employee_id}", methods=["DELETE"], authorizer=AUTHORIZER)
@requires(ADMINS)
def erase_employee(actor: Principal, employee_id: str) -> Response:
    from chalicelib import wiring

    ports = wiring.api_ports(Settings.from_env()).erasure
    job = erasure.start_erasure(valid.employee_id(employee_id), ports, actor.username)
    location: dict[str, str | list[str]] = {"Location": f"/erasures/{job.job_id}"}
    return Response(erasure.public(job), status_code=202, headers=location)


@employees_api.route("/employees/{employee_id}/faces", methods=["POST"], authorizer=AUTHORIZER)
@requires(ADMINS)
def add_face(actor: Principal, employee_id: str) -> Response:
    request, settings = employees_api.current_request, Settings.from_env()
    photo = valid.photo(json_object(request))
    record = enrollment.add_face(
        valid.employee_id(employee_id),
        photo,
        _ports(settings),
        settings.limits,
        actor.username,
        policy=settings.policy,
        consent=settings.consent,
    )
    return Response(record.to_dict(), status_code=201)


@employees_api.route("/employees/{employee_id}/faces", methods=["GET"], authorizer=AUTHORIZER)
@requires(ADMINS, SECURITY)
def list_faces(actor: Principal, employee_id: str) -> dict[str, object]:
    settings = Settings.from_env()
    faces = enrollment.faces_of(valid.employee_id(employee_id), _ports(settings))
    return {"items": [face.to_dict() for face in faces]}


@employees_api.route("/employees/{employee_id}/faces/{face_id}", methods=["DELETE"], authorizer=AUTHORIZER)
@requires(ADMINS)
def remove_face(actor: Principal, employee_id: str, face_id: str) -> Response:
    settings = Settings.from_env()
    enrollment.remove_face(
        valid.employee_id(employee_id), valid.face_id(face_id), _ports(settings), actor.username
    )
    return Response(body="", status_code=204)


@employees_api.route("/employees/{employee_id}/scans", methods=["GET"], authorizer=AUTHORIZER)
@requires(ADMINS, SECURITY)
def employee_scans(actor: Principal, employee_id: str) -> dict[str, object]:
    request, settings = employees_api.current_request, Settings.from_env()
    params = query(request)
    page = lookup.scans_of_employee(
        valid.employee_id(employee_id), valid.limit(params), params.get("next_token"), _ports(settings)
    )
    return page_body(page)
