"""Routes under /employees: the directory, enrollment photos, erasure and an employee's scans."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib import enrollment, lookup
from chalicelib.api import validation as valid
from chalicelib.api.http import AUTHORIZER, caller, json_errors, json_object, query
from chalicelib.auth import ADMINS, SECURITY
from chalicelib.config import Settings

employees_api = Blueprint(__name__)


def _ports(settings: Settings) -> enrollment.EnrollmentPorts:
    from chalicelib import wiring

    return wiring.enrollment_ports(settings)


@employees_api.route("/employees", methods=["POST"], authorizer=AUTHORIZER)
@json_errors
def create_employee() -> Response:
    request, settings = employees_api.current_request, Settings.from_env()
    actor = caller(request, settings, ADMINS)
    employee = valid.new_employee(json_object(request))
    created = enrollment.create_employee(employee, _ports(settings), actor.username)
    return Response(created.to_dict(), status_code=201)


@employees_api.route("/employees", methods=["GET"], authorizer=AUTHORIZER)
@json_errors
def list_employees() -> dict[str, object]:
    request, settings = employees_api.current_request, Settings.from_env()
    caller(request, settings, ADMINS, SECURITY)
    params = query(request)
    page = _ports(settings).directory.listing(valid.limit(params), params.get("next_token"))
    return {"items": [employee.to_dict() for employee in page.items], "next_token": page.next_token}


@employees_api.route("/employees/{employee_id}", methods=["GET"], authorizer=AUTHORIZER)
@json_errors
def get_employee(employee_id: str) -> dict[str, object]:
    settings = Settings.from_env()
    caller(employees_api.current_request, settings, ADMINS, SECURITY)
    return enrollment.get_employee(valid.employee_id(employee_id), _ports(settings).directory).to_dict()


@employees_api.route("/employees/{employee_id}", methods=["PATCH"], authorizer=AUTHORIZER)
@json_errors
def update_employee(employee_id: str) -> dict[str, object]:
    request, settings = employees_api.current_request, Settings.from_env()
    actor = caller(request, settings, ADMINS)
    changes = valid.employee_changes(json_object(request))
    updated = enrollment.update_employee(
        valid.employee_id(employee_id), changes, _ports(settings), actor.username
    )
    return updated.to_dict()


@employees_api.route("/employees/{employee_id}", methods=["DELETE"], authorizer=AUTHORIZER)
@json_errors
def erase_employee(employee_id: str) -> Response:
    from chalicelib import erasure, wiring

    settings = Settings.from_env()
    actor = caller(employees_api.current_request, settings, ADMINS)
    ports = wiring.erasure_ports(settings)
    job = erasure.start_erasure(valid.employee_id(employee_id), ports, actor.username)
    location: dict[str, str | list[str]] = {"Location": f"/erasures/{job.job_id}"}
    return Response(erasure.public(job), status_code=202, headers=location)


@employees_api.route("/employees/{employee_id}/faces", methods=["POST"], authorizer=AUTHORIZER)
@json_errors
def add_face(employee_id: str) -> Response:
    request, settings = employees_api.current_request, Settings.from_env()
    actor = caller(request, settings, ADMINS)
    photo = valid.photo(json_object(request))
    record = enrollment.add_face(
        valid.employee_id(employee_id), photo, _ports(settings), settings.limits, actor.username
    )
    return Response(record.to_dict(), status_code=201)


@employees_api.route("/employees/{employee_id}/faces", methods=["GET"], authorizer=AUTHORIZER)
@json_errors
def list_faces(employee_id: str) -> dict[str, object]:
    settings = Settings.from_env()
    caller(employees_api.current_request, settings, ADMINS, SECURITY)
    faces = enrollment.faces_of(valid.employee_id(employee_id), _ports(settings))
    return {"items": [face.to_dict() for face in faces]}


@employees_api.route("/employees/{employee_id}/faces/{face_id}", methods=["DELETE"], authorizer=AUTHORIZER)
@json_errors
def remove_face(employee_id: str, face_id: str) -> Response:
    settings = Settings.from_env()
    actor = caller(employees_api.current_request, settings, ADMINS)
    enrollment.remove_face(
        valid.employee_id(employee_id), valid.face_id(face_id), _ports(settings), actor.username
    )
    return Response(body="", status_code=204)


@employees_api.route("/employees/{employee_id}/scans", methods=["GET"], authorizer=AUTHORIZER)
@json_errors
def employee_scans(employee_id: str) -> dict[str, object]:
    request, settings = employees_api.current_request, Settings.from_env()
    caller(request, settings, ADMINS, SECURITY)
    params = query(request)
    ports = _ports(settings)
    enrollment.get_employee(valid.employee_id(employee_id), ports.directory)
    page = ports.scans.by_employee(employee_id, valid.limit(params), params.get("next_token"))
    return lookup.page_of(page)
