"""Drop-folder enrollment: a photo at ``enroll/<employee-id>/<file>`` enrolled as the API would.

An HR system that may only put objects under ``enroll/`` drops a photo of an employee
there, naming a new employee in the object's user metadata (``x-amz-meta-name``, and
optionally ``-email`` and ``-department``; ignored for an existing employee: changes go
through ``PATCH /employees/{id}``). The photo is read (bounded), deleted at once, and
enrolled with the API's own service functions and rules, so both ways in refuse the same
photos with the same reasons. Every outcome is audited and announced to the
administrators' topic.

At-least-once delivery: deleting the version read *before* enrolling is the claim. A
redelivered event then finds the object gone and does nothing, so a photo is enrolled and
announced once; two deliveries racing through the read at the same instant are the one
case left: they enroll the same face twice for the same employee, which the duplicate-face
guard allows (it refuses only another employee's face) and which opens no other door.

A new employee is created just before their first face is added (``add_face`` wants the
employee to exist) and removed again if that face is refused, so a refused photo leaves no
half-created employee behind. Only a function killed between the two steps can leave an
employee without faces: such an employee opens no door, and the next photo completes them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.config import ImageLimits, Policy
from chalicelib.display import display_text
from chalicelib.enrollment import EnrollmentPorts, add_face, create_employee
from chalicelib.errors import (
    AlreadyExists,
    FacegateError,
    InternalFailure,
    NotificationFailed,
    ObjectGone,
    Unavailable,
    UploadTooLarge,
)
from chalicelib.keys import enrollment_of
from chalicelib.models import Employee, Upload
from chalicelib.ports import AdminNotifier, ImageStore, StoredObject

log = logging.getLogger(__name__)

DROP_ACTOR = "drop-folder"  # the audit actor when the event names no uploader
METADATA_FIELDS = ("name", "email", "department")  # x-amz-meta-<field>, for a new employee
ENROLLED, REFUSED = "enrollment.enrolled", "enrollment.refused"  # audit actions, SNS `event`
SUBJECT_LIMIT = 99  # SNS subjects must be under 100 characters

# The API's own reading of a new employee (``api.validation.new_employee``), handed in by
# the handler: the rules live in the HTTP layer, which a service may not import.
ReadEmployee = Callable[[dict[str, Any]], Employee]


@dataclass(frozen=True)
class DropPorts:
    """What drop-folder enrollment needs (``wiring.drop_ports``)."""

    images: ImageStore
    enrollment: EnrollmentPorts
    admins: AdminNotifier


@dataclass(frozen=True)
class DropOutcome:
    """What became of one dropped photo."""

    key: str
    employee_id: str | None
    enrolled: bool = False
    reason: str | None = None  # why it was refused (the API's message for the same error)
    face_id: str | None = None
    created: bool = False  # a new employee was created (and kept: only when enrolled)
    gone: bool = False  # the photo was not there: a redelivery, nothing was done

    def to_dict(self) -> dict[str, object]:
        return {name: value for name, value in self.__dict__.items() if value not in (None, False)}


def enroll_dropped(
    upload: Upload, ports: DropPorts, limits: ImageLimits, read_employee: ReadEmployee, *, policy: Policy
) -> DropOutcome:
    """Enroll one dropped photo, delete it whatever happens, audit and announce the outcome.

    Raises what must be retried (``InternalFailure``, ``Unavailable``, an SDK error) before
    the photo is deleted; after that, every failure is a refusal the administrators hear of.
    """
    actor = upload.uploader or DROP_ACTOR
    parsed = enrollment_of(upload.key)
    try:  # a refused key is read too (bounded): the version read is the one to delete, once
        stored = ports.images.read(upload, limits.max_bytes)
    except ObjectGone:
        log.info("drop-folder photo %s is gone: handled already", display_text(upload.key))
        return DropOutcome(upload.key, parsed.employee_id, gone=True)
    except UploadTooLarge as error:
        ports.images.delete(upload.bucket, upload.key, error.version_id)
        outcome = DropOutcome(upload.key, parsed.employee_id, reason=str(error))
    else:
        # Deleted before enrolling: enrollment photos are never kept, and a redelivery must
        # find nothing to do (see the module's docstring).
        ports.images.delete(upload.bucket, upload.key, stored.version_id)
        if parsed.employee_id is None:
            outcome = DropOutcome(upload.key, None, reason=parsed.problem)
        else:
            outcome = _enroll(
                upload.key, parsed.employee_id, stored, ports.enrollment, limits, actor, read_employee, policy
            )
    _report(outcome, ports, actor)
    return outcome


def _enroll(
    key: str,
    employee_id: str,
    stored: StoredObject,
    ports: EnrollmentPorts,
    limits: ImageLimits,
    actor: str,
    read_employee: ReadEmployee,
    policy: Policy,
) -> DropOutcome:
    created = False
    try:
        if ports.directory.get(employee_id) is None:
            employee = read_employee(new_employee_fields(employee_id, stored.metadata))
            try:
                create_employee(employee, ports, actor)
                created = True
            except AlreadyExists:  # another photo of theirs, dropped at the same time, won
                pass
        face = add_face(employee_id, stored.data, ports, limits, actor, policy=policy)
    except Exception as error:
        if created:
            _undo_create(employee_id, ports, actor, error)
        if isinstance(error, (InternalFailure, Unavailable)) or not isinstance(error, FacegateError):
            # The photo is deleted, so a retry could do nothing: tell the administrators.
            log.exception("drop-folder enrollment of %s failed", display_text(key))
            return DropOutcome(key, employee_id, reason="internal error: drop the photo again")
        return DropOutcome(key, employee_id, reason=str(error))
    return DropOutcome(key, employee_id, enrolled=True, face_id=face.face_id, created=created)


def _undo_create(employee_id: str, ports: EnrollmentPorts, actor: str, cause: Exception) -> None:
    """Remove the employee this drop created for a photo that was then refused."""
    ports.engine.remove_faces(employee_id)  # none, unless the failure came after the engine
    ports.directory.delete(employee_id)
    ports.log(actor, "employee.create.undone", employee_id, cause=type(cause).__name__)


def new_employee_fields(employee_id: str, metadata: Mapping[str, str]) -> dict[str, Any]:
    """The ``POST /employees`` body a dropped photo's metadata stands for."""
    body: dict[str, Any] = {"employee_id": employee_id}
    for name in METADATA_FIELDS:
        if name in metadata:
            body[name] = metadata_text(metadata[name])
    return body


def metadata_text(value: str) -> str:
    """A metadata value as the uploader wrote it: S3 returns non-ASCII values RFC 2047-encoded."""
    if "=?" not in value:
        return value
    from email.header import decode_header, make_header  # only for encoded values: cold start

    try:
        return str(make_header(decode_header(value)))
    except (LookupError, ValueError, UnicodeDecodeError):
        return value  # not an encoded word after all: the API's rules judge it as it is


def _report(outcome: DropOutcome, ports: DropPorts, actor: str) -> None:
    """Audit the outcome, then announce it; ``NotificationFailed`` when the announcement fails."""
    event = ENROLLED if outcome.enrolled else REFUSED
    details: dict[str, Any] = {"key": outcome.key, "source": DROP_ACTOR}
    if outcome.face_id:
        details["face_id"] = outcome.face_id
    if outcome.reason:
        details["reason"] = outcome.reason
    ports.enrollment.log(actor, event, outcome.employee_id or "(invalid)", **details)
    subject, message = admin_message(outcome, actor)
    attributes = {"event": event}
    if outcome.employee_id:
        attributes["employee_id"] = outcome.employee_id
    try:
        ports.admins.publish(subject, message, attributes)
    except Exception as error:  # audited already; the photo is gone, so a retry does nothing
        raise NotificationFailed(f"the administrators were not told of {outcome.key}") from error


def admin_message(outcome: DropOutcome, actor: str) -> tuple[str, str]:
    """The administrators' subject and plain-text message about one dropped photo."""
    who = display_text(outcome.employee_id or "(invalid id)", 48)
    if outcome.enrolled:
        subject = f"facegate: {who} enrolled from the drop folder"
        first = f"A photo of employee {who} was enrolled from the drop folder."
        if outcome.created:
            first += " The employee is new: created from the photo's metadata."
    else:
        subject = f"facegate: drop-folder photo refused ({who})"
        first = "A photo in the drop folder was refused."
    lines = [
        first,
        "",
        f"Employee: {who}",
        f"Photo: {display_text(outcome.key, 200)}",
        f"Uploaded by: {display_text(actor, 200)}",
    ]
    if outcome.face_id:
        lines.append(f"Face id: {outcome.face_id}")
    if outcome.reason:
        lines += [f"Reason: {display_text(outcome.reason, 500)}", "No employee was created or changed."]
    lines += ["", "The photo has been deleted (enrollment photos are never kept)."]
    return display_text(subject, SUBJECT_LIMIT), "\n".join(lines) + "\n"
