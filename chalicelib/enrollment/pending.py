"""Drop-folder faces that wait for an admin: a drop never gives anyone more access than the
uploader could grant.

Whoever may write ``enroll/`` (an HR system) may create a new employee with their first
face: that employee is in no access group and named by no rule, so the face opens only
what the site lets every new employee through. Any other face would widen someone's
access (an existing employee's, a member of a group, an employee a rule names), so it is
held under ``pending/`` (``PendingFaces``), outside the gallery: no scan can match it
until an admin approves it (``approve``: the API's ``add_face``, its duplicate guard
included) or rejects it (``reject``: every version deleted). Held photos are bounded
(``MAX_PENDING``) and expire after ``keys.PENDING_DAYS`` if nobody decides.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from chalicelib.access.ports import AccessStore
from chalicelib.core.config import ConsentSettings, ImageLimits, Policy
from chalicelib.core.errors import NotFound, PendingFull, PendingOutdated
from chalicelib.core.models import Employee, FaceRecord, PendingFace
from chalicelib.core.ports import PendingFaces
from chalicelib.enrollment.employees import EnrollmentPorts, add_face

MAX_PENDING = 100  # photos waiting at once; a drop beyond is refused (PendingFull)

# Why a dropped face waits (the reasons shown to admins; ids only, no personal data).
EXISTING = "the employee existed before this drop"
IN_GROUPS = "the employee is in access groups"
NAMED_BY_RULE = "an access rule names the employee"


def hold_reason(
    employee_id: str, created: Employee | None, current: Callable[[str], Employee | None], access: AccessStore
) -> str | None:
    """Why a dropped face of ``employee_id`` must wait for an admin, or None when the drop
    that ``created`` them may enroll it at once (new, in no group, named by no rule).

    ``current`` reads the employee now (consistent): an admin may have added the new
    employee to a group between their creation and this check."""
    if created is None:
        return EXISTING
    employee = current(employee_id)
    if employee is None or employee.groups:
        return IN_GROUPS if employee is not None else EXISTING
    if any(employee_id in rule.employees for rule in access.load().rules):
        return NAMED_BY_RULE
    return None


def hold(
    employee_id: str, photo: bytes, reason: str, pending: PendingFaces, ports: EnrollmentPorts, actor: str
) -> PendingFace:
    """Keep the photo for an admin (audited); ``PendingFull`` when ``MAX_PENDING`` wait."""
    if pending.count(MAX_PENDING) >= MAX_PENDING:
        raise PendingFull(f"{MAX_PENDING} drop-folder photos wait for approval already: decide those first")
    held_at = ports.clock().isoformat(timespec="milliseconds").replace("+00:00", "Z")
    face = PendingFace(uuid.uuid4().hex, employee_id, held_at, actor, reason)
    pending.hold(face, photo)
    ports.log(actor, "face.pending", employee_id, pending_id=face.pending_id, reason=reason)
    return face


def pending_faces(pending: PendingFaces) -> list[PendingFace]:
    """The photos waiting for approval, oldest first (at most ``MAX_PENDING``)."""
    return pending.listing(MAX_PENDING)


def approve(
    pending_id: str,
    pending: PendingFaces,
    ports: EnrollmentPorts,
    limits: ImageLimits,
    actor: str,
    *,
    policy: Policy,
    consent: ConsentSettings,
) -> FaceRecord:
    """Enroll a held photo as ``POST /employees/{id}/faces`` would (its refusals and its
    duplicate guard), then delete it; a refused photo stays held for another decision.

    ``PendingOutdated`` for a photo of an id with no employee now (erased, being erased) or
    held before the employee's record was created: it may show the person erased under
    that id, whose face must never come back under someone else's name."""
    face, photo = _held(pending_id, pending, limits)
    _current(face, ports)
    record = add_face(face.employee_id, photo, ports, limits, actor, policy=policy, consent=consent)
    pending.discard(pending_id)
    ports.log(actor, "face.pending.approve", face.employee_id, pending_id=pending_id, face_id=record.face_id)
    return record


def reject(
    pending_id: str, pending: PendingFaces, ports: EnrollmentPorts, limits: ImageLimits, actor: str
) -> None:
    """Delete a held photo, every version of it (audited)."""
    face, _ = _held(pending_id, pending, limits)
    pending.discard(pending_id)
    ports.log(actor, "face.pending.reject", face.employee_id, pending_id=pending_id)


def _current(face: PendingFace, ports: EnrollmentPorts) -> None:
    employee = ports.directory.get(face.employee_id)  # absent while an erasure runs
    if employee is None:
        raise PendingOutdated(f"pending face {face.pending_id}: employee {face.employee_id} no longer exists")
    # Both UTC ISO-8601 at milliseconds from our clocks; a record older than ``created_at``
    # has none (its erasure purges the photos it held).
    if employee.created_at is not None and _instant(face.held_at) < _instant(employee.created_at):
        raise PendingOutdated(
            f"pending face {face.pending_id} was held before employee {face.employee_id} was created"
        )


def _instant(stamp: str) -> datetime:
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)  # unreadable: as old as can be (refused)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _held(pending_id: str, pending: PendingFaces, limits: ImageLimits) -> tuple[PendingFace, bytes]:
    held = pending.get(pending_id, limits.max_bytes)
    if held is None:
        raise NotFound(f"no pending face {pending_id}")
    return held
