"""Routes of biometric consent: record, show and withdraw an employee's; list every one."""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.api import validation as valid
from chalicelib.api.http import AUTHORIZER, json_object, query, route_guard
from chalicelib.auth.tokens import ADMINS, Principal
from chalicelib.core.config import Settings
from chalicelib.enrollment import consent
from chalicelib.erasure import job as erasure

consent_api = Blueprint(__name__)
requires = route_guard(consent_api)
PATH = "/employees/{employee_id}/consent"


@consent_api.route(PATH, methods=["PUT"], authorizer=AUTHORIZER)
@requires(ADMINS)
def give_consent(actor: Principal, employee_id: str) -> Response:
    from chalicelib import wiring

    request, settings = consent_api.current_request, Settings.from_env()
    method, reference = consent.consent_fields(json_object(request))
    ports = wiring.api_ports(settings).enrollment
    record = consent.give_consent(
        valid.employee_id(employee_id), method, reference, ports, settings.consent, actor.username
    )
    return Response(record.to_dict(), status_code=201)


@consent_api.route(PATH, methods=["GET"], authorizer=AUTHORIZER)
@requires(ADMINS)
def show_consent(actor: Principal, employee_id: str) -> dict[str, object]:
    from chalicelib import wiring

    settings = Settings.from_env()
    ports = wiring.api_ports(settings).enrollment
    return consent.consent_of(valid.employee_id(employee_id), ports, settings.consent)


@consent_api.route(PATH, methods=["DELETE"], authorizer=AUTHORIZER)
@requires(ADMINS)
def withdraw_consent(actor: Principal, employee_id: str) -> Response:
    """Withdrawn consent ends the purpose: the employee's erasure starts at once (202)."""
    from chalicelib import wiring

    ports, checked = wiring.api_ports(Settings.from_env()), valid.employee_id(employee_id)
    consent.withdraw_consent(checked, ports.enrollment, actor.username)
    job = erasure.start_erasure(checked, ports.erasure, actor.username)
    location: dict[str, str | list[str]] = {"Location": f"/erasures/{job.job_id}"}
    return Response(erasure.public(job), status_code=202, headers=location)


@consent_api.route("/consents", methods=["GET"], authorizer=AUTHORIZER)
@requires(ADMINS)
def export_consents(actor: Principal) -> dict[str, object]:
    from chalicelib import wiring

    params = query(consent_api.current_request)
    ports = wiring.api_ports(Settings.from_env()).enrollment
    page = consent.export_page(valid.limit(params), params.get("next_token"), ports)
    return {"items": list(page.items), "next_token": page.next_token}
