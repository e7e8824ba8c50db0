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

Who may be enrolled: a new employee is created by HR, active, from the metadata (the drop
folder trusts HR as an admin of enrollment for new ids), and that first face is enrolled at
once while they are in no access group and named by no rule. Any other dropped face waits
for an admin (``enrollment.pending``): it would widen the access of someone HR did not just
create. An employee who has faces already gets a dropped photo only if it shows them
(``ErasureEngine.shows_employee``), before it is even held: a typo'd id or a compromised HR
system cannot add a stranger's face to someone who gets in; an admin can still add any
photo of theirs through the API.

A new employee is created just before their first face is added (``add_face`` wants the
employee to exist) and removed again if that face is refused, unless a face of theirs was
enrolled meanwhile (an admin's, see ``_undo_create``): a refused photo leaves no
half-created employee behind. A second photo of theirs dropped at the same moment finds
them created by the first, not by its own drop, so it waits for an admin. A removal that fails is a refusal
saying the employee may remain. Only a function killed between the steps can leave an
employee without faces: such an employee opens no door, and the next photo completes them.

Consent (when the stage requires it): the employee's consent to the notice in force, from
the API, or from the photo's metadata (``x-amz-meta-consent-method``: paper, e-signature
or import; ``x-amz-meta-consent-reference``), recorded with the uploader as its recorder
only once the photo has passed its checks (it reads as an image, it shows the employee who
has faces, a photo that will wait shows one face), just before the face is held or added;
a refusal after that withdraws it again. Without either, the photo is refused like any other.

Read failures a retry may mend (throttling, 5xx) are raised, the photo still there, for
Lambda's retries and then the failed-events queue; a photo that may not be read (access
denied, an encryption key we may not use) is refused and deleted if we may delete it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.access.ports import AccessStore
from chalicelib.core.config import ConsentSettings, ImageLimits, Policy
from chalicelib.core.display import display_text
from chalicelib.core.errors import (
    AlreadyExists,
    EnrollmentError,
    FacegateError,
    InternalFailure,
    InvalidMetadata,
    NotificationFailed,
    ObjectGone,
    ObjectUnreadable,
    RejectedImage,
    Unavailable,
    UploadTooLarge,
)
from chalicelib.core.keys import enrollment_of
from chalicelib.core.models import ConsentRecord, Employee, NormalisedImage, Upload
from chalicelib.core.ports import AdminNotifier, ErasureEngine, ImageStore, PendingFaces, StoredObject
from chalicelib.enrollment import pending as approval
from chalicelib.enrollment.consent import record_stated_consent, stated_consent, undo_consent
from chalicelib.enrollment.employees import EnrollmentPorts, add_face, create_employee, require_consent
from chalicelib.scanning.imaging import normalise

log = logging.getLogger(__name__)

DROP_ACTOR = "drop-folder"  # the audit actor when the event names no uploader
METADATA_FIELDS = ("name", "email", "department")  # x-amz-meta-<field>, for a new employee
# x-amz-meta-<key>: the consent's fields, for any employee (absent: the empty text)
CONSENT_FIELDS = {"consent-method": "method", "consent-reference": "reference"}
ENROLLED, REFUSED = "enrollment.enrolled", "enrollment.refused"  # audit actions, SNS `event`
PENDING = "enrollment.pending"  # held for an admin's approval (``enrollment.pending``)
SUBJECT_LIMIT = 99  # SNS subjects must be under 100 characters

# The reading of a new employee (``enrollment.employee_rules.new_employee``, the API's too),
# handed in by the handler so a test can give the drop folder another reading.
ReadEmployee = Callable[[dict[str, Any]], Employee]


@dataclass(frozen=True)
class DropPorts:
    """What drop-folder enrollment needs (``wiring.drop_ports``)."""

    images: ImageStore
    enrollment: EnrollmentPorts
    admins: AdminNotifier
    engine: ErasureEngine  # enrollment's engine, as the port that can match a photo to an employee
    pending: PendingFaces  # faces held for an admin's approval
    access: AccessStore  # who is named by a rule (a face of theirs waits)


@dataclass(frozen=True)
class DropOutcome:
    """What became of one dropped photo."""

    key: str
    employee_id: str | None
    enrolled: bool = False
    reason: str | None = None  # why it was refused (the API's message for the same error)
    face_id: str | None = None
    pending_id: str | None = None  # held for an admin's approval: not in the gallery
    waits: str | None = None  # why it is held (``enrollment.pending``'s words)
    created: bool = False  # a new employee was created (and kept: only when enrolled)
    gone: bool = False  # the photo was not there: a redelivery, nothing was done
    remains: bool = False  # refused, but the employee this photo created may remain
    photo_kept: bool = False  # refused unread, and the photo could not be deleted either

    def to_dict(self) -> dict[str, object]:
        return {name: value for name, value in self.__dict__.items() if value not in (None, False)}


def enroll_dropped(
    upload: Upload,
    ports: DropPorts,
    limits: ImageLimits,
    read_employee: ReadEmployee,
    *,
    policy: Policy,
    consent: ConsentSettings,
) -> DropOutcome:
    """Enroll one dropped photo, delete it, audit and announce the outcome.

    Raises what must be retried (``InternalFailure``, ``Unavailable``, an SDK error such as
    throttling or a 5xx) before the photo is deleted; after that, every failure is a
    refusal the administrators hear of. A photo that may not be read (``ObjectUnreadable``)
    is refused at once: a retry cannot help.
    """
    actor = upload.uploader or DROP_ACTOR
    parsed = enrollment_of(upload.key)
    try:  # a refused key is read too (bounded): the version read is the one to delete, once
        stored = ports.images.read(upload, limits.max_bytes)
    except ObjectGone:
        log.info("drop-folder photo %s is gone: handled already", display_text(upload.key))
        return DropOutcome(upload.key, parsed.employee_id, gone=True)
    except (UploadTooLarge, ObjectUnreadable) as error:
        version = error.version_id if isinstance(error, UploadTooLarge) else upload.version_id
        kept = not _try_delete(ports.images, upload.bucket, upload.key, version)
        outcome = DropOutcome(upload.key, parsed.employee_id, reason=str(error), photo_kept=kept)
    else:
        # Deleted before enrolling: enrollment photos are never kept, and a redelivery must
        # find nothing to do (see the module's docstring).
        ports.images.delete(upload.bucket, upload.key, stored.version_id)
        if parsed.employee_id is None:
            outcome = DropOutcome(upload.key, None, reason=parsed.problem)
        else:
            outcome = _enroll(
                upload.key, parsed.employee_id, stored, ports, limits, actor, read_employee, (policy, consent)
            )
    _report(outcome, ports, actor)
    return outcome


def _try_delete(images: ImageStore, bucket: str, key: str, version_id: str | None) -> bool:
    """Delete a refused photo if we may; False when it stays (``enroll/`` expires in a day)."""
    try:
        images.delete(bucket, key, version_id)
    except Exception:
        log.exception("drop-folder photo %s could not be deleted", display_text(key))
        return False
    return True


def _enroll(
    key: str,
    employee_id: str,
    stored: StoredObject,
    ports: DropPorts,
    limits: ImageLimits,
    actor: str,
    read_employee: ReadEmployee,
    rules: tuple[Policy, ConsentSettings],
) -> DropOutcome:
    enrollment, (policy, consent) = ports.enrollment, rules
    created: Employee | None = None  # the employee this photo created
    recorded: ConsentRecord | None = None  # the consent this photo's metadata recorded
    try:
        stated = stated_consent(
            {field: metadata_text(stored.metadata.get(key, ""), key) for key, field in CONSENT_FIELDS.items()}
        )
        if enrollment.directory.get(employee_id) is None:
            employee = read_employee(new_employee_fields(employee_id, stored.metadata))
            # created meanwhile (another photo, an admin): not by this drop
            with contextlib.suppress(AlreadyExists):
                created = create_employee(employee, enrollment, actor)
        image = _checked_image(stored.data, limits)  # junk is refused before anything is kept
        if created is None:
            _check_shows(employee_id, image, ports.engine)
        waits = approval.hold_reason(employee_id, created, enrollment.directory.get, ports.access)
        if waits is not None:
            _check_one_face(image, ports.engine)  # add_face's check, for a photo that waits
        # Only a photo that passed its checks records the consent it states, just before it is
        # held or stored; a refusal after this point undoes it (below).
        recorded = record_stated_consent(employee_id, stated, enrollment, consent, actor)
        require_consent(employee_id, enrollment, consent, actor)  # before a face is held or stored
        if waits is not None:
            held = approval.hold(employee_id, stored.data, waits, ports.pending, enrollment, actor)
            return DropOutcome(
                key, employee_id, pending_id=held.pending_id, waits=held.reason, created=created is not None
            )
        face = add_face(employee_id, stored.data, enrollment, limits, actor, policy=policy, consent=consent)
    except Exception as error:
        if recorded is not None:
            _undo_consent(recorded, enrollment, actor)
        note = None if created is None else _undo_create(created, enrollment, actor, error)
        if isinstance(error, (InternalFailure, Unavailable)) or not isinstance(error, FacegateError):
            # The photo is deleted, so a retry could do nothing: tell the administrators.
            log.exception("drop-folder enrollment of %s failed", display_text(key))
            reason = "internal error: drop the photo again"
        else:
            reason = str(error)
        if note:
            reason = f"{reason}; {note}"
        return DropOutcome(key, employee_id, reason=reason, remains=note is not None)
    return DropOutcome(key, employee_id, enrolled=True, face_id=face.face_id, created=created is not None)


def _checked_image(photo: bytes, limits: ImageLimits) -> NormalisedImage:
    """The photo as enrollment reads it (``imaging.normalise``); ``EnrollmentError`` as
    ``add_face`` words a refusal."""
    try:
        return normalise(photo, limits)
    except RejectedImage as error:
        raise EnrollmentError(str(error)) from None


def _check_one_face(image: NormalisedImage, engine: ErasureEngine) -> None:
    """Refuse a photo to be held unless it shows one face, as ``add_face`` would: only a
    photo an admin could approve waits."""
    faces = len(engine.search(image).faces)
    if faces == 0:
        raise EnrollmentError("no face found in the photo")
    if faces > 1:
        raise EnrollmentError(f"{faces} faces in the photo: enroll a photo of one person")


def _undo_consent(record: ConsentRecord, ports: EnrollmentPorts, actor: str) -> None:
    try:
        undo_consent(record, ports, actor)
    except Exception:  # the refusal still stands; the record says when it was given
        log.exception("undoing the consent recorded for %s failed", display_text(record.employee_id))


def _check_shows(employee_id: str, image: NormalisedImage, engine: ErasureEngine) -> None:
    """Refuse a photo that does not show an employee who has faces already: a typo'd id or
    a compromised HR system must not add a stranger's face (the API's admins still may)."""
    if not engine.list_faces(employee_id):
        return  # a first face: nothing to compare with (a new employee is HR's to create)
    if not engine.shows_employee(image, employee_id):
        raise EnrollmentError(
            f"this photo does not match {employee_id}'s enrolled faces: an admin can add it through the API"
        )


def _undo_create(employee: Employee, ports: EnrollmentPorts, actor: str, cause: Exception) -> str | None:
    """Remove the employee this drop created for a photo that was then refused, unless
    a face of theirs was enrolled meanwhile (an admin's, or an approved held photo's);
    ``None`` when removed, else why not.

    No face is removed: the refused ``add_face`` stored none, and any face there is someone
    else's doing. The face store is not the directory, so no conditional delete can say
    "only while faceless": the faces are listed before the delete and again after it (a
    face that landed in between puts the employee back).
    """
    employee_id, why = employee.employee_id, type(cause).__name__
    kept = f"employee {employee_id} was kept: another photo enrolled a face for them meanwhile"
    try:
        if ports.engine.list_faces(employee_id):
            ports.log(actor, "employee.create.kept", employee_id, cause=why)
            return kept
        ports.directory.delete(employee_id)
        if ports.engine.list_faces(employee_id):
            ports.directory.create(employee)
            ports.log(actor, "employee.create.kept", employee_id, cause=why, restored=True)
            return kept
        ports.log(actor, "employee.create.undone", employee_id, cause=why)
        return None
    except Exception:
        log.exception("undoing the drop folder's creation of %s failed", display_text(employee_id))
        try:
            ports.log(actor, "employee.create.undo_failed", employee_id, cause=why)
        except Exception:
            log.exception("auditing the failed undo of %s failed", display_text(employee_id))
        return f"the new employee {employee_id} may remain (with no face): check it and delete it"


def new_employee_fields(employee_id: str, metadata: Mapping[str, str]) -> dict[str, Any]:
    """The ``POST /employees`` body a dropped photo's metadata stands for."""
    body: dict[str, Any] = {"employee_id": employee_id}
    for name in METADATA_FIELDS:
        if name in metadata:
            body[name] = metadata_text(metadata[name], name)
    return body


def metadata_text(value: str, field: str = "metadata") -> str:
    """A metadata value as the uploader wrote it: S3 returns non-ASCII values RFC 2047-encoded.

    ``InvalidMetadata`` for a malformed encoded word (bad base64, an unknown charset, bytes
    not in it); text that is no encoded word is returned as it is, for the API's rules.
    """
    if "=?" not in value:
        return value
    from email.errors import HeaderParseError  # only for encoded values: cold start
    from email.header import decode_header, make_header

    try:
        return str(make_header(decode_header(value)))
    except (HeaderParseError, LookupError, UnicodeDecodeError):
        raise InvalidMetadata(f"{field} metadata is not valid RFC 2047") from None


def _report(outcome: DropOutcome, ports: DropPorts, actor: str) -> None:
    """Audit the outcome, then announce it; ``NotificationFailed`` when the announcement fails."""
    event = ENROLLED if outcome.enrolled else PENDING if outcome.pending_id else REFUSED
    details: dict[str, Any] = {"key": outcome.key, "source": DROP_ACTOR}
    if outcome.face_id:
        details["face_id"] = outcome.face_id
    if outcome.pending_id:
        details["pending_id"] = outcome.pending_id
        details["waits"] = outcome.waits
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
    elif outcome.pending_id:
        subject = f"facegate: {who}'s drop-folder photo waits for approval"
        first = (
            f"A photo of employee {who} from the drop folder waits for an administrator: "
            f"it is not enrolled until approved (facegate faces approve {outcome.pending_id}, "
            f"or reject)."
        )
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
    if outcome.pending_id:
        lines.append(f"Pending id: {outcome.pending_id}")
        lines.append(f"Why it waits: {display_text(outcome.waits, 200)}")
    if outcome.reason:
        lines.append(f"Reason: {display_text(outcome.reason, 500)}")
        if outcome.remains:
            lines.append(f"Check the employee: GET /employees/{who}.")
        else:
            lines.append("No employee was created or changed.")
    if outcome.photo_kept:
        lines += ["", "The photo could not be deleted: it expires from enroll/ within a day."]
    elif outcome.pending_id:
        lines += ["", "The photo is held until approved or rejected (it expires if nobody decides)."]
    else:
        lines += ["", "The photo has been deleted (enrollment photos are never kept)."]
    return display_text(subject, SUBJECT_LIMIT), "\n".join(lines) + "\n"
