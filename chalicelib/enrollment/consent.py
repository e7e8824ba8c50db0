"""Biometric consent: record it, withdraw it, show it, and list every one for an auditor.

A consent names the notice version the employee agreed to, when, how (``method``: a paper
form, an e-signature, an import roster; ``reference``: the form's number, the signature's id,
the roster's column) and who recorded it. ``employees.require_consent`` is the gate every
way a face is stored passes. Withdrawal is recorded here; the route then starts the
employee's erasure (``erasure.job.start_erasure``), a feature beside this one.

A consent is one person's: one lifetime of an employee id. It counts only for the employee
created at or before it was given (``ConsentRecord.given_to``), the erasure job ends every
consent of the id before the id may be created again (``erasure.steps.end_consents``), and
a consent written while its employee's erasure began is undone at once (``give_consent``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.core.config import ConsentSettings
from chalicelib.core.errors import InvalidConsent, NotFound
from chalicelib.core.local_days import iso_ms
from chalicelib.core.models import CONSENT_METHODS, ConsentRecord
from chalicelib.core.ports import Page
from chalicelib.enrollment.employees import EnrollmentPorts, get_employee, has_consent

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
    """Record an existing employee's consent to the notice in force (audited); ``NotFound``
    without them, also when their erasure began (or the id changed hands) while it was written:
    the consent is then withdrawn again, so none stays current on an employee being erased."""
    employee = get_employee(employee_id, ports)
    record = ConsentRecord(employee_id, consent.notice_version, _now(ports), method, reference, actor)
    ports.consents.give(record)
    # Checked again after the write (a consistent read): an erasure or a withdrawal that began
    # between the read above and the write has already ended the consents it saw, not this one.
    after = ports.directory.get(employee_id)
    if after is None or after.created_at != employee.created_at:
        ports.consents.withdraw(employee_id, _now(ports), actor, given_at=record.given_at)
        ports.log(actor, "consent.undone", employee_id, given_at=record.given_at)
        raise NotFound(f"no employee {employee_id}")
    ports.log(actor, "consent.give", employee_id, notice=consent.notice_version, method=method)
    return record


def stated_consent(stated: Mapping[str, str]) -> tuple[str, str] | None:
    """The consent a drop-folder photo states (``method``, ``reference``; empty when absent),
    checked before anything is written; ``InvalidConsent`` for a malformed one, None for none."""
    if not any(stated.values()):
        return None
    return consent_fields({name: value for name, value in stated.items() if value})


def record_stated_consent(
    employee_id: str,
    stated: tuple[str, str] | None,
    ports: EnrollmentPorts,
    consent: ConsentSettings,
    actor: str,
) -> ConsentRecord | None:
    """Record a stated consent (``stated_consent``) unless the employee has a current one of
    their own; the record written, or None. None stated: ``add_face``'s gate decides."""
    if stated is None or has_consent(get_employee(employee_id, ports), ports, consent):
        return None
    return give_consent(employee_id, *stated, ports, consent, actor)


def undo_consent(record: ConsentRecord, ports: EnrollmentPorts, actor: str) -> None:
    """Withdraw a consent just recorded for a photo that was then refused (audited)."""
    ports.consents.withdraw(record.employee_id, _now(ports), actor, given_at=record.given_at)
    ports.log(actor, "consent.undone", record.employee_id, given_at=record.given_at)


def withdraw_consent(employee_id: str, ports: EnrollmentPorts, actor: str) -> int:
    """Mark the employee's consents withdrawn (audited); how many were. The employee must
    exist: their erasure starts next, and a second withdrawal finds them gone (404)."""
    get_employee(employee_id, ports)
    withdrawn = ports.consents.withdraw(employee_id, _now(ports), actor)
    ports.log(actor, "consent.withdraw", employee_id, withdrawn=withdrawn)
    return withdrawn


def consent_of(employee_id: str, ports: EnrollmentPorts, consent: ConsentSettings) -> dict[str, Any]:
    """What GET /employees/{id}/consent shows: whether a new face may be stored now (never
    for an employee who is gone or being erased, nor on an earlier holder's consent), the
    notice in force, and the whole history of the id. Answered after an erasure too (no
    employee needed): the history is the proof an auditor asks for."""
    history = ports.consents.history(employee_id)
    employee = ports.directory.get(employee_id)
    return {
        "employee_id": employee_id,
        "required": consent.required,
        "notice_version": consent.notice_version,
        "current": employee is not None
        and any(record.covers(consent.notice_version) and record.given_to(employee) for record in history),
        "history": [record.to_dict() for record in history],
    }


def export_page(limit: int, token: str | None, ports: EnrollmentPorts) -> Page[dict[str, Any]]:
    """One page of every consent, each with the name of the employee who gave it while they
    still exist (an erased employee's consent stays, nameless: the ledger holds no name; one
    given before the id's current holder was created is an earlier person's: nameless too)."""
    page = ports.consents.listing(limit, token)
    employees = {
        employee_id: ports.directory.get(employee_id) for employee_id in {r.employee_id for r in page.items}
    }
    items = []
    for record in page.items:
        employee = employees[record.employee_id]
        name = employee.name if employee is not None and record.given_to(employee) else ""
        items.append({**record.to_dict(), "name": name})
    return Page(items, page.next_token)


def _now(ports: EnrollmentPorts) -> str:
    return iso_ms(ports.clock())
