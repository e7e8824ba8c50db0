"""Every error facegate raises on purpose: one hierarchy, grouped by what it means.

A service raises the domain error; the HTTP layer maps the *base classes* to a status in
one table (``chalicelib.api.http.STATUS_OF``), so a new domain error needs no API change::

    FacegateError
    ├── BadRequest            400  the request itself is malformed
    │   ├── InvalidMetadata        an object's user metadata is unreadable (also ValueError)
    │   ├── DuplicateKey           a JSON object naming a key twice        (also ValueError)
    │   ├── NonFiniteNumber        NaN, Infinity or a number past a float  (also ValueError)
    │   ├── BadPageToken           a next_token no adapter issued          (also ValueError)
    │   ├── InvalidAccessDocument  an access entry it cannot hold          (also ValueError)
    │   ├── InvalidConsent         a consent without a known method or a reference (also ValueError)
    │   ├── ReportDayRefused       a report day an admin may not send now  (also ValueError)
    │   └── ScimRefused            a SCIM request refused, with its RFC 7644 scimType
    ├── Unauthorized          401  no usable token (with WWW-Authenticate: Bearer)
    │   └── TokenRevoked           signed out, disabled or deleted since it was issued
    ├── Forbidden             403  a valid token without the group the action needs
    │   └── ObjectUnreadable       an S3 object we may not read (denied, a key we may not use)
    ├── NotFound              404  no such employee, face, scan or job    (also LookupError)
    │   └── ObjectGone             the S3 object (version) is not there any more
    ├── Conflict              409  the request contradicts what is stored
    │   ├── AlreadyExists          an employee with this id exists         (also ValueError)
    │   ├── DuplicateFace          the face is another employee's (close enough to confuse)
    │   ├── AccessInUse            a camera on another door, a group still in use
    │   ├── UnknownNamed           a rule or holiday naming no stored group or employee
    │   ├── OldModelStillNeeded    employees still matched only by the model to retire
    │   ├── AccessChangedMeanwhile the access policy kept changing under the change: retry
    │   ├── DoorLockedDown         a remote unlock of a door that is locked down
    │   ├── EmployeeBeingErased    an id whose erasure job has not finished (the tombstone)
    │   ├── PendingFull            too many drop-folder photos wait for an admin already
    │   ├── PendingOutdated        a held photo of an earlier employee of that id: reject it
    │   └── ConsentMissing         no current biometric consent: no face may be stored
    ├── PayloadTooLarge       413  more bytes than we are willing to read
    │   └── UploadTooLarge         a camera object over the size limit     (also ValueError)
    ├── UnprocessablePhoto    422  a well-formed request whose photo cannot be used
    │   ├── RejectedImage          not a usable photo at all               (also ValueError)
    │   │   └── UnsafeStructure    refused from its file structure, before decoding
    │   └── EnrollmentError        a photo, but not one face fit to enroll (also ValueError)
    ├── Unavailable           503  a dependency did not answer; never a pass
    │   ├── KeysUnavailable        the user pool's signing keys
    │   ├── PoolUnavailable        the user pool, asked whether a token still holds
    │   └── AccessPolicyUnsettled  the access policy changed during every read of it
    └── InternalFailure       500  must surface (logged, "internal error"), so the caller
        │                          retries: Lambda redelivers the event, the queue the job
        ├── ConfigError            a setting is missing or malformed      (also ValueError)
        ├── MalformedResponse      DynamoDB's answer could not be read    (also RuntimeError)
        ├── SnapshotUnreadable     a gallery snapshot does not add up     (also ValueError)
        ├── SnapshotRaced          the gallery kept changing: none published (also RuntimeError)
        ├── SigningFailed          a decision could not be signed         (also RuntimeError)
        ├── ModelUnavailable       a face model's files missing or not ours (also RuntimeError)
        ├── ScanNotRecorded        the scan log refused the write         (also RuntimeError)
        ├── NotificationFailed     an alert could not be published        (also RuntimeError)
        └── RecordCopyNotWritten   a scan's processed/ copy was not stored (also RuntimeError)

The builtin second bases are kept where callers catch the builtin (``except ValueError``
around parsing, ``LookupError`` in the sandbox). Errors outside the Lambda stay with their
code: ``door.controller.Refused`` (the door's own verdict) and ``sandbox.stack.SandboxError``.
"""

from __future__ import annotations


class FacegateError(Exception):
    """The root of every error facegate raises on purpose; ``str(error)`` is safe to show,
    and so is ``fields``: what the API's error body carries beside the message."""

    @property
    def fields(self) -> dict[str, object]:
        return {}


# The bases, one per meaning (and per HTTP status).


class BadRequest(FacegateError):
    """The request is malformed: a field, a parameter, the body."""


class InvalidMetadata(BadRequest, ValueError):
    """An object's user metadata cannot be read (a malformed RFC 2047 encoded word)."""


class DuplicateKey(BadRequest, ValueError):
    """A JSON object that names a key twice, which ``json.loads`` would take, the last winning."""


class NonFiniteNumber(BadRequest, ValueError):
    """A JSON number that is no finite number: ``NaN``, ``Infinity``, ``-Infinity`` (which
    ``json.loads`` takes, though JSON has none) or one past a float's range (``1e999999``)."""


class Unauthorized(FacegateError):
    """No usable token."""


class Forbidden(FacegateError):
    """A valid token without the group the action needs."""


class NotFound(FacegateError, LookupError):
    """No such employee, face, scan or erasure job."""


class Conflict(FacegateError):
    """The request contradicts what is stored."""


class PayloadTooLarge(FacegateError):
    """More bytes than we are willing to read."""


class UnprocessablePhoto(FacegateError):
    """A well-formed request whose photo cannot be used; ``str(error)`` says why."""


class Unavailable(FacegateError):
    """A dependency did not answer; a check that needed it fails closed."""


class InternalFailure(FacegateError):
    """Something that must not be swallowed: raised so that the caller retries (and logged)."""


# The domain errors.


class BadPageToken(BadRequest, ValueError):
    """A ``next_token`` that no adapter issued."""


class InvalidConsent(BadRequest, ValueError):
    """A consent's ``method`` is not one we know or its ``reference`` is missing or unfit."""


class InvalidAccessDocument(BadRequest, ValueError):
    """A door, group, rule or holiday document the access policy cannot hold."""


class ReportDayRefused(BadRequest, ValueError):
    """A report day an admin may not send now: in the future, today before the report hour
    (the ledger would then stop the scheduled run), or older than the scans kept."""


class ScimRefused(BadRequest):
    """A SCIM request refused; ``scim_type`` is RFC 7644's (invalidFilter, invalidSyntax,
    invalidValue, mutability, invalidPath, noTarget, tooMany), for the SCIM error body."""

    def __init__(self, message: str, scim_type: str) -> None:
        super().__init__(message)
        self.scim_type = scim_type

    @property
    def fields(self) -> dict[str, object]:
        return {"scimType": self.scim_type}


class TokenRevoked(Unauthorized):
    """The pool no longer honours the token: signed out, user disabled or deleted."""


class ObjectGone(NotFound):
    """The object (or the version asked for) is not in the bucket (expired, erased)."""


class ObjectUnreadable(Forbidden):
    """The object is there but may not be read (access denied, an encryption key we may not
    use): a retry cannot help."""


class AlreadyExists(Conflict, ValueError):
    """An employee with this id exists."""


class AccessInUse(Conflict):
    """An access change that would break what is stored: a camera already on another
    door, a group that members or rules still name."""


class OldModelStillNeeded(Conflict):
    """Retiring a face model while some employees have only its faces: it would lock them
    out without a trace (``facegate gallery migration`` lists them)."""


class AccessChangedMeanwhile(Conflict):
    """Other admins changed the access policy between every read and write of this change
    (``access_admin.COMMIT_ATTEMPTS`` times): nothing was written; sending it again is safe."""


class DoorLockedDown(Conflict):
    """A remote unlock of a door that is locked down: release the lockdown first (audited
    too), so a lockdown is never undone by a command that does not say so."""


class EmployeeBeingErased(Conflict):
    """Creating an employee whose erasure job has not finished: their record is the job's
    tombstone until DONE, so a drop, an import or the API cannot bring them back meanwhile."""

    def __init__(self, employee_id: str, job_id: str) -> None:
        super().__init__(
            f"employee {employee_id} is being erased (job {job_id}): they can be created again "
            f"once GET /erasures/{job_id} says DONE"
        )
        self.job_id = job_id

    @property
    def fields(self) -> dict[str, object]:
        return {"erasure_job_id": self.job_id}


class PendingFull(Conflict):
    """A drop-folder photo to hold for approval while ``enrollment.pending.MAX_PENDING``
    wait already: refused, so the held photos stay bounded."""


class PendingOutdated(Conflict):
    """Approving a drop-folder photo held before the employee's record was created, or
    for an id with no employee (erased, being erased): it may show an earlier person of
    that id, so it is never enrolled; only a reject removes it."""


class ConsentMissing(Conflict):
    """The stage requires consent (``FACEGATE_CONSENT_REQUIRED``) and the employee has none
    to the notice in force: no face of theirs may be stored (``PUT /employees/{id}/consent``)."""


class DuplicateFace(Conflict):
    """The photo's face matches another employee's closely enough to make scans of either
    ambiguous (``recognition.confusable_at``): refused, naming that employee."""

    def __init__(self, other_employee_id: str, similarity: float) -> None:
        super().__init__(
            f"this face matches employee {other_employee_id} (similarity {similarity:.1f}): "
            "enrolled for a second employee, it would make scans of either ambiguous"
        )
        self.other_employee_id = other_employee_id
        self.similarity = similarity

    @property
    def fields(self) -> dict[str, object]:
        return {"other_employee_id": self.other_employee_id, "similarity": self.similarity}


class UnknownNamed(Conflict):
    """A rule or holiday naming a group or employee that does not exist: creating it later
    would grant access no admin looked at. Stored only when the admin says so
    (``allow_unknown``); ``unknown_groups`` and ``unknown_employees`` go into the body."""

    def __init__(self, entry: str, groups: list[str], employees: list[str]) -> None:
        named = [f"group {name}" for name in groups] + [f"employee {name}" for name in employees]
        super().__init__(
            f"{entry} names what does not exist: {', '.join(named[:5])}{', …' if len(named) > 5 else ''}"
            " (create it first, or send allow_unknown=true to store the name anyway)"
        )
        self.unknown_groups = groups
        self.unknown_employees = employees

    @property
    def fields(self) -> dict[str, object]:
        return {"unknown_groups": self.unknown_groups, "unknown_employees": self.unknown_employees}


class UploadTooLarge(PayloadTooLarge, ValueError):
    """The stored object is larger than we are willing to read (``version_id``: which one)."""

    def __init__(self, message: str, version_id: str | None = None) -> None:
        super().__init__(message)
        self.version_id = version_id


class RejectedImage(UnprocessablePhoto, ValueError):
    """The upload is not a usable photo; ``str(error)`` is the reason to record."""


class UnsafeStructure(RejectedImage):
    """The file is refused from its structure; ``str(error)`` is the reason."""


class EnrollmentError(UnprocessablePhoto, ValueError):
    """A photo cannot be enrolled; ``str(error)`` says why (no face, several, too small…)."""


class KeysUnavailable(Unavailable):
    """The pool's public keys could not be fetched (never a pass)."""


class PoolUnavailable(Unavailable):
    """The user pool could not be asked whether a token still holds (never a pass)."""


class AccessPolicyUnsettled(Unavailable):
    """The access policy changed while it was read, every time it was read (never a pass)."""


class ConfigError(InternalFailure, ValueError):
    """A setting is missing or malformed."""


class MalformedResponse(InternalFailure, RuntimeError):
    """DynamoDB's answer could not be read: whether the call took effect is unknown."""


class SnapshotUnreadable(InternalFailure, ValueError):
    """A gallery snapshot's bytes are not one this code wrote (the caller reads the table)."""


class SnapshotRaced(InternalFailure, RuntimeError):
    """The gallery kept changing while a snapshot of it was built: none was published (a
    snapshot is published only while the store's heads are still the ones it was built at)."""


class ModelUnavailable(InternalFailure, RuntimeError):
    """A face model cannot be used: its package is missing or a file's hash is not the pinned one.

    Never a fallback to another model: the scan fails and is retried or recorded as an error.
    """


class SigningFailed(InternalFailure, RuntimeError):
    """The decision could not be signed; an AUTHORIZED is then not published at all."""


class ScanNotRecorded(InternalFailure, RuntimeError):
    """The scan log refused the write: raised so that Lambda retries the event."""


class NotificationFailed(InternalFailure, RuntimeError):
    """The alert could not be published: raised so that a redelivery tries again."""


class RecordCopyNotWritten(InternalFailure, RuntimeError):
    """The scan's ``processed/`` copy (Athena's row) could not be stored: raised so that a
    redelivery puts it again."""
