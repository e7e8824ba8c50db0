"""Biometric consent: record it, withdraw it, show it, and list every one for an auditor.

A consent names the notice version the employee agreed to, when, how (``method``: a paper
form, an e-signature, an import roster; ``reference``: the form's number, the signature's id,
the roster's column) and who recorded it. ``employees.require_consent`` is the gate every
way a face is stored passes. Withdrawal is recorded here; the route then starts the
employee's erasure (``erasure.job.start_erasure``), a feature beside this one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.core.config import ConsentSettings
from chalicelib.core.errors import InvalidConsent
from chalicelib.core.local_days import iso_ms
from chalicelib.core.models import CONSENT_METHODS, ConsentRecord
from chalicelib.core.ports import Page
from chalicelib.enrollment.employees import EnrollmentPorts, get_employee

REFERENCE_CHARS = 200  # a form number or a signature id: short, printable


def consent_fields(body: dict[str, Any]) -> tuple[str, str]:
    """The ``method`` and ``reference`` of a consent; ``InvalidConsent`` says what is wrong."""
    unknown = sorted(set(body) - {"method", "reference"})
    if unknown:
        raise InvalidConsent(f"unknown consent field {unknown[0][:40]!r}: only method and reference")
    method, reference = body.get("method"), body.get("reference")
    if method not in CONSENT_METHODS:
        raise InvalidConsent(f"method must be one of {', '.join(CONSENT_METHODS)}")
    if (
        not isinstance(reference, str)
        or not reference.strip()
        or len(reference) > REFERENCE_CHARS
        or not reference.isprintable()
    ):
        raise InvalidConsent(f"reference must be 1-{REFERENCE_CHARS} printable characters")
    return method, reference.strip()


def give_consent(
    employee_id: str,
    method: str,
    reference: str,
    ports: EnrollmentPorts,
    consent: ConsentSettings,
    actor: str,
) -> ConsentRecord:
    """Record an existing employee's consent to the notice in force (audited)."""
    get_employee(employee_id, ports)
    record = ConsentRecord(employee_id, consent.notice_version, _now(ports), method, reference, actor)
    ports.consents.give(record)
    ports.log(actor, "consent.give", employee_id, notice=consent.notice_version, method=method)
    return record


def record_stated_consent(
    employee_id: str, stated: Mapping[str, str], ports: EnrollmentPorts, consent: ConsentSettings, actor: str
) -> None:
    """Record the consent a drop-folder photo states (``method``, ``reference``; empty when
    absent) unless the employee has a current one; ``InvalidConsent`` for a malformed one.
    None stated: nothing to record, and ``add_face``'s gate decides."""
    if not any(stated.values()):
        return
    method, reference = consent_fields({name: value for name, value in stated.items() if value})
    if any(record.covers(consent.notice_version) for record in ports.consents.history(employee_id)):
        return
    give_consent(employee_id, method, reference, ports, consent, actor)


def withdraw_consent(employee_id: str, ports: EnrollmentPorts, actor: str) -> int:
    """Mark the employee's consents withdrawn (audited); how many were. The employee must
    exist: their erasure starts next, and a second withdrawal finds them gone (404)."""
    get_employee(employee_id, ports)
    withdrawn = ports.consents.withdraw(employee_id, _now(ports), actor)
    ports.log(actor, "consent.withdraw", employee_id, withdrawn=withdrawn)
    return withdrawn


def consent_of(employee_id: str, ports: EnrollmentPorts, consent: ConsentSettings) -> dict[str, Any]:
    """What GET /employees/{id}/consent shows: whether a new face may be stored now, the
    notice in force, and the whole history. Answered after an erasure too (no employee
    needed): the history is the proof an auditor asks for."""
    history = ports.consents.history(employee_id)
    return {
        "employee_id": employee_id,
        "required": consent.required,
        "notice_version": consent.notice_version,
        "current": any(record.covers(consent.notice_version) for record in history),
        "history": [record.to_dict() for record in history],
    }


def export_page(limit: int, token: str | None, ports: EnrollmentPorts) -> Page[dict[str, Any]]:
    """One page of every consent, each with the employee's name while they still exist
    (an erased employee's consent stays, nameless: the ledger holds no name)."""
    page = ports.consents.listing(limit, token)
    names: dict[str, str] = {}
    for employee_id in {record.employee_id for record in page.items}:
        employee = ports.directory.get(employee_id)
        names[employee_id] = employee.name if employee is not None else ""
    items = [{**record.to_dict(), "name": names[record.employee_id]} for record in page.items]
    return Page(items, page.next_token)


def _now(ports: EnrollmentPorts) -> str:
    return iso_ms(ports.clock())
