"""The services' ports: what they need from engines, storage and messaging, named for the role."""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar, runtime_checkable

from chalicelib.core.config import Policy
from chalicelib.core.health_jobs import HealthCensus, HealthJob, HealthPart
from chalicelib.core.models import (
    AuditEntry,
    ConsentRecord,
    Employee,
    ErasureJob,
    FaceRecord,
    GalleryHealth,
    NormalisedImage,
    PendingFace,
    Scan,
    SearchResult,
    Upload,
)

if TYPE_CHECKING:  # the email package costs a cold start every function would pay
    from email.message import EmailMessage

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing; ``next_token`` is opaque and None on the last page."""

    items: Sequence[T]
    next_token: str | None = None


@dataclass(frozen=True)
class StoredObject:
    """An object's bytes, the version they were read from (None when unversioned), its user
    metadata (``x-amz-meta-<name>``, names lowercase, values as S3 returns them) and when S3
    stored it (``LastModified``, S3's clock; None when the answer carried none)."""

    data: bytes
    version_id: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    last_modified: datetime | None = None


class FaceEngine(Protocol):
    """Finds and matches faces; owns the biometric data (embeddings or a collection)."""

    name: str

    def add_face(
        self,
        employee_id: str,
        image: NormalisedImage,
        *,
        refuse_at: float | None = None,
        allow: frozenset[str] = frozenset(),
    ) -> FaceRecord:
        """Enroll the single face in ``image`` for ``employee_id`` or raise ``EnrollmentError``.

        With ``refuse_at`` (the service passes ``recognition.confusable_at``), raise
        ``DuplicateFace`` instead, storing nothing, when the face scores at or above it
        against any face of another employee; the employee's own faces never refuse it, nor
        do the faces of the employees in ``allow`` (look-alikes an admin allowed as a pair
        with this one: ``enrollment.lookalikes``), and nobody else's.
        The check is repeated after the write and a face refused then is removed again,
        so of two enrollments of one face under two ids at once at most one stays (both
        may be refused). The face is embedded (or sent) once. None: no check (tools).
        """
        ...

    def search(self, image: NormalisedImage) -> SearchResult:
        """Detect every face in ``image`` and match the largest against the enrolled."""
        ...

    def list_faces(self, employee_id: str) -> list[FaceRecord]:
        """The faces enrolled for an employee."""
        ...

    def remove_faces(self, employee_id: str, face_ids: Sequence[str] | None = None) -> None:
        """Forget the given faces of an employee, or all of them (and the employee's user)."""
        ...

    def gallery_health(self, policy: Policy) -> GalleryHealth:
        """Every pair of employees whose nearest faces score at or above
        ``recognition.confusable_at(policy)``, the employees with one face, and the faces
        that score below ``policy.match_threshold`` against their employee's other faces."""
        ...

    def health_census(self, policy: Policy) -> HealthCensus:
        """The gallery counted in one cheap pass: its faces in a fixed walking order, how
        many one slice takes (bounded work per call), faces per employee, old-model-only."""
        ...

    def health_slice(self, policy: Policy, start: int, stop: int) -> HealthPart:
        """Faces ``start:stop`` of the census's order against the whole gallery: what
        ``gallery_health`` would find from them (the job adds slices up to the same report)."""
        ...


@runtime_checkable
class RetiresModels(Protocol):
    """An engine whose faces are of more than one model (the local engine, while upgrading)."""

    def retire_old_model(self) -> tuple[int, int]:
        """Remove every face of a model other than the current one: (faces, employees).
        ``OldModelStillNeeded`` while any employee has only such faces."""
        ...


class ErasureEngine(FaceEngine, Protocol):
    """An engine that can also say whether an employee appears anywhere in a photo."""

    def shows_employee(self, image: NormalisedImage, employee_id: str) -> bool:
        """True when any face in ``image`` matches the employee's enrolled faces."""
        ...


# The model of every face stored before faces carried their model's id: dlib's ResNet.
FIRST_MODEL = "dlib-resnet-v1"


@dataclass(frozen=True)
class StoredFace:
    """One enrolled embedding as the store keeps it (float32 little-endian bytes), with the
    id of the model that made it (faces stored before models had ids are dlib's)."""

    employee_id: str
    face_id: str
    embedding: bytes
    created_at: str
    model: str = FIRST_MODEL


# How far the gallery's change log has come: one sequence number per shard of employees.
Heads = tuple[int, ...]


@dataclass(frozen=True)
class FaceChange:
    """One entry of the gallery's change log: faces of one employee added or removed."""

    shard: int
    seq: int
    employee_id: str
    face_ids: tuple[str, ...]
    added: bool


class FaceStore(Protocol):
    """Where the local engine keeps its gallery of embeddings, with a log of every change."""

    def put(self, face: StoredFace) -> None:
        """Store one face and log the change, atomically."""
        ...

    def delete(self, employee_id: str, face_ids: Sequence[str] | None = None) -> list[str]:
        """Delete the given faces (all of the employee's when None), logging the change;
        return the ids deleted."""
        ...

    def of_employee(self, employee_id: str) -> list[StoredFace]:
        """The faces of one employee."""
        ...

    def heads(self) -> Heads:
        """How far the change log has come (a strongly consistent read, one call)."""
        ...

    def changes(self, after: Heads, upto: Heads) -> list[FaceChange] | None:
        """Every change after ``after`` up to ``upto``, in order within each shard; None when
        the log cannot say (its entries expired, or ``upto`` is behind ``after``)."""
        ...

    def faces_of(self, keys: Sequence[tuple[str, str]]) -> list[StoredFace]:
        """The stored faces of these (employee_id, face_id) keys that still exist (consistent)."""
        ...

    def load(self, consistent: bool = False) -> list[StoredFace]:
        """Every stored face; ``consistent``: including every face whose put has returned
        (a strongly consistent read)."""
        ...


@dataclass(frozen=True)
class PackedSnapshot:
    """The whole gallery as one object (``engines.snapshot_format``), as of ``heads``."""

    heads: Heads
    data: bytes


class GallerySnapshots(Protocol):
    """Where the packed gallery is kept for cold containers."""

    def latest(self) -> PackedSnapshot | None:
        """The latest snapshot, its bytes checked against the digest it was published with;
        None when there is none, or it cannot be read whole."""
        ...

    def latest_heads(self) -> Heads | None:
        """The heads the latest snapshot was built at (without reading it); None when there is
        none or its object is gone."""
        ...

    def publish(self, snapshot: PackedSnapshot) -> bool:
        """Make ``snapshot`` the latest and delete every older one, every version of it; False
        (and nothing published) when the store's heads are no longer ``snapshot.heads``."""
        ...

    def sweep(self) -> None:
        """Delete every version but the latest snapshot's."""
        ...

    def withdraw(self) -> None:
        """Delete the manifest and every snapshot: cold containers read the store until the
        next publish (slower, never wrong)."""
        ...


class ImageStore(Protocol):
    """The camera bucket."""

    def read(self, upload: Upload, max_bytes: int) -> StoredObject:
        """The upload's bytes; raise ``UploadTooLarge`` rather than read past ``max_bytes``."""
        ...

    def version(self, upload: Upload) -> str | None:
        """The version id of the object the upload names (its header only), None if unversioned."""
        ...

    def write_json(self, bucket: str, key: str, document: dict[str, object]) -> None:
        """Store a JSON document (the enriched result under ``processed/``)."""
        ...

    def ensure_json(self, bucket: str, key: str, document: dict[str, object]) -> bool:
        """Store a JSON document as ``write_json`` does, unless an object is at ``key`` already
        (a conditional write: no new version of a copy that is there): True when stored."""
        ...

    def claim(self, bucket: str, key: str) -> bool:
        """Create an empty object at ``key`` unless one is there (a conditional write): True
        when this call created it, False when it was there already."""
        ...

    def delete(self, bucket: str, key: str, version_id: str | None = None) -> None:
        """Delete one version of an object, or every version when none is given (purge)."""
        ...

    def link(self, bucket: str, key: str, version_id: str | None, expires_in: int) -> str:
        """A link that shows the object to whoever holds it, for ``expires_in`` seconds."""
        ...


class PendingFaces(Protocol):
    """Drop-folder photos waiting for an admin's approval (``pending/`` of the camera bucket)."""

    def hold(self, face: PendingFace, photo: bytes) -> None:
        """Keep ``photo`` as ``face`` until it is approved or rejected (or expires)."""
        ...

    def count(self, limit: int) -> int:
        """How many photos wait, counting no further than ``limit``."""
        ...

    def listing(self, limit: int) -> list[PendingFace]:
        """At most ``limit`` waiting photos, oldest first."""
        ...

    def get(self, pending_id: str, max_bytes: int) -> tuple[PendingFace, bytes] | None:
        """One waiting photo and its bytes (bounded), or None when there is none."""
        ...

    def discard(self, pending_id: str) -> None:
        """Delete the waiting photo, every version of it (approved or rejected)."""
        ...

    def purge_employee(self, employee_id: str) -> int:
        """Delete every version of every held photo of ``employee_id`` (their erasure), those
        no longer current included; how many photos went."""
        ...


class EmployeeDirectory(Protocol):
    """Who the enrolled people are and whether they may enter."""

    def get(self, employee_id: str) -> Employee | None:
        """The employee, or None when there is no such record."""
        ...

    def put(self, employee: Employee) -> None:
        """Create or replace an employee."""
        ...

    def create(self, employee: Employee) -> bool:
        """Create ``employee`` unless the id exists; True when this call created it."""
        ...

    def listing(self, limit: int, token: str | None = None) -> Page[Employee]:
        """Employees, a page at a time."""
        ...

    def delete(self, employee_id: str) -> None:
        """Forget an employee record, unless an erasure has marked it: the job's tombstone,
        which only ``end_erasure`` lifts."""
        ...

    def set_membership(self, employee_id: str, group_id: str, member: bool) -> bool:
        """Add the employee to access group ``group_id`` (or remove them), in one update that
        touches nothing else; False when there is no such employee (or one being erased)."""
        ...

    def members(self, group_id: str) -> list[str]:
        """The ids of every employee in access group ``group_id``, sorted."""
        ...

    def set_lookalike(self, employee_id: str, other_id: str, allowed: bool) -> bool:
        """Record on ``employee_id``'s item that their faces may resemble ``other_id``'s (or
        no longer), touching nothing else; False when there is no such employee (or one being
        erased). One side of a pair: ``lookalikes`` honours a pair only both sides hold."""
        ...

    def lookalikes(self, employee_id: str) -> frozenset[str]:
        """The ids ``employee_id``'s item lists as allowed look-alikes (a consistent read)."""
        ...

    def lookalike_pairs(self) -> list[tuple[str, str]]:
        """Every pair both of whose items list each other, each as (lower id, higher id), sorted."""
        ...

    def erasure_of(self, employee_id: str) -> str | None:
        """The erasure job marked on the employee's record while it runs (a consistent read),
        None when no job is erasing them: the record is the job's tombstone until DONE."""
        ...

    def begin_erasure(self, employee_id: str, job_id: str) -> str | None:
        """Mark the employee as being erased by ``job_id`` and suspend them, unless a job is
        marked already: return the job marked on the record (this one or the running one),
        None when there is no such employee. A marked employee reads as absent (``get``)."""
        ...

    def present(self, employee_ids: Collection[str]) -> frozenset[str]:
        """The ids among ``employee_ids`` that have a record no erasure has marked (consistent
        reads by key, a hundred at a time: the cost is the ids asked for)."""
        ...

    def end_erasure(self, employee_id: str, job_id: str) -> bool:
        """Delete the record only while ``job_id`` is the erasure marked on it (one conditional
        delete): False when it is gone or is not that job's (re-created, or another job's)."""
        ...

    def stamp(self, employee_id: str, clock: str, at: str) -> bool:
        """Start or advance one retention clock (``core.retention``) in one conditional update
        that touches nothing else: ``enrolled_at`` and ``inactive_since`` (only while the
        employee is inactive) are set when unset, ``last_seen`` only moves forward. False when
        nothing changed, or there is no such employee (or one being erased)."""
        ...


class Recorded(enum.Enum):
    """What ``ScanLog.record`` did."""

    WRITTEN = "written"
    DUPLICATE = "duplicate"  # a record with this scan id exists already
    EMPLOYEE_GONE = "employee gone"  # the scan names an employee who is erased or being erased


class ScanLog(Protocol):
    """The door-event log: one record per camera object version."""

    def get(self, scan_id: str) -> Scan | None:
        """The recorded scan, or None."""
        ...

    def record(self, scan: Scan) -> Recorded:
        """Write ``scan`` unless its id exists.

        A scan that names an employee is written only while that employee's record exists
        and no erasure has begun (one atomic check with the write), so a scan decided
        before an erasure cannot leave their identity behind it.
        """
        ...

    def set_notification(self, scan_id: str, state: str, *, expected: str) -> bool:
        """Move the scan's notification state from ``expected`` to ``state``; True if it moved."""
        ...

    def by_day(
        self,
        day: str,
        limit: int,
        token: str | None = None,
        *,
        status: str | None = None,
        camera_id: str | None = None,
        reason_code: str | None = None,
    ) -> Page[Scan]:
        """Scans of one local day in time order, from the ``by_day`` index; optionally only
        those of a status, a camera, or a ``reason_code`` (the pipeline's structured reason)."""
        ...

    def by_employee(self, employee_id: str, limit: int, token: str | None = None) -> Page[Scan]:
        """An employee's scans, newest first, from the ``by_employee`` index."""
        ...

    def anonymise(self, scan_id: str) -> None:
        """Strip the employee's identity from a scan; the door event itself stays."""
        ...

    def delete(self, scan_id: str) -> None:
        """Forget a scan record altogether (erasure of a photo that showed the employee)."""
        ...


class Notifier(Protocol):
    """Announces decisions to the door controller and the security desk."""

    def publish(self, scan: Scan) -> None:
        """Publish one scan's outcome."""
        ...


class AdminNotifier(Protocol):
    """Tells the administrators what happened (plain text, not the door-decision topic)."""

    def publish(self, subject: str, message: str, attributes: Mapping[str, str]) -> None:
        """Publish one message; ``attributes`` are for subscription filter policies."""
        ...


class MessageSigner(Protocol):
    """Signs door decisions (the camera's key) or door commands (the API's key), so that a
    door agent can tell them from forgeries."""

    @property
    def key_id(self) -> str:
        """The key (id, ARN or alias) a verifier must use."""
        ...

    def sign(self, message: bytes) -> bytes:
        """The MAC of ``message``; raise when it cannot be made."""
        ...


class DoorQueues(Protocol):
    """Each door's own queue (``infra/doors.py`` makes one per door): how a remote command
    reaches the door agent."""

    def address(self, door_id: str) -> str:
        """Where ``door_id``'s queue is; ``NotFound`` when the door has none."""
        ...

    def send(self, address: str, body: str) -> None:
        """Put one message on the queue at ``address``; raise when it was not accepted."""
        ...


class AuditLog(Protocol):
    """Who did what to whom, when."""

    def record(self, entry: AuditEntry, unique: str | None = None) -> bool:
        """Append one entry; with ``unique``, at most once (False when it was there already)."""
        ...


class ConsentLedger(Protocol):
    """Every consent given and withdrawn, per employee, kept past their erasure (no
    biometric data in it); read by employee, or whole a page at a time for an auditor."""

    def history(self, employee_id: str) -> list[ConsentRecord]:
        """The employee's consents, oldest first (consistent read)."""
        ...

    def give(self, record: ConsentRecord) -> None:
        """Append one consent."""
        ...

    def withdraw(self, employee_id: str, at: str, actor: str, given_at: str | None = None) -> int:
        """Mark every consent of the employee not yet withdrawn as withdrawn (only those given
        at ``given_at``, when named: one consent undone); how many were."""
        ...

    def listing(self, limit: int, token: str | None = None) -> Page[ConsentRecord]:
        """Every consent of every employee, by employee then time, ``limit`` at a time;
        ``BadPageToken`` for a token no listing issued."""
        ...


class AuditTrail(Protocol):
    """Reads the audit back: one target's entries over a span of time (the daily report
    counts the day's remote door commands, all under one target)."""

    def between(self, target: str, start: str, end: str) -> list[AuditEntry]:
        """``target``'s entries at ``start`` (UTC ISO-8601, inclusive) up to ``end`` (exclusive),
        oldest first."""
        ...


class ErasureJobs(Protocol):
    """Where erasure jobs and their progress are kept."""

    def create(self, job: ErasureJob) -> bool:
        """Store a new job unless its id exists; True when this call stored it."""
        ...

    def get(self, job_id: str) -> ErasureJob | None:
        """The job, or None."""
        ...

    def save(self, job: ErasureJob) -> None:
        """Replace the stored job with ``job`` (its progress)."""
        ...


class ErasureQueue(Protocol):
    """Hands erasure jobs to the erasure worker."""

    def send(self, job_id: str, delay_seconds: int = 0) -> None:
        """Queue the job (again), to run no earlier than ``delay_seconds`` from now."""
        ...


class HealthJobs(Protocol):
    """Where gallery health jobs are kept, and which one is the latest (at most one runs)."""

    def latest_id(self) -> str | None:
        """The id of the latest job started, or None."""
        ...

    def create(self, job: HealthJob, after: str | None) -> bool:
        """Store ``job`` as the latest, only while the latest is still ``after`` (None: no
        job yet); True when this call stored it."""
        ...

    def get(self, job_id: str) -> HealthJob | None:
        """The job, or None."""
        ...

    def save(self, job: HealthJob, faces_done: int) -> bool:
        """Replace the stored job with ``job`` only while its stored ``faces_done`` is still
        the one given (what the caller read); False when another run moved it meanwhile."""
        ...


class HealthQueue(Protocol):
    """Hands gallery health jobs to the health worker."""

    def send(self, job_id: str) -> None:
        """Queue the job (again): its next slices."""
        ...


class Mailer(Protocol):
    """Sends email (SES)."""

    def send(self, message: EmailMessage) -> str:
        """Send a complete MIME message to its recipients; return the message id."""
        ...


class ReportLedger(Protocol):
    """Which days' reports went out, so a retried or repeated run sends once.

    A claim is a lease: it holds for ``lease_seconds`` (the report function's timeout), after
    which a run that died mid-send or lost the answer no longer holds it and the day may be
    claimed again; ``sent`` and ``release`` act only while their claim is still the day's."""

    def claim(self, day: str, now: datetime, lease_seconds: int) -> str | None:
        """Take the day's send: a claim token, or None when it was sent or is being sent under
        a claim not yet expired at ``now``."""
        ...

    def sent(self, day: str, totals: dict[str, int], token: str) -> bool:
        """Mark the day's report sent, keeping its totals for the next day's comparison;
        False (nothing written) when ``token`` is no longer the day's claim."""
        ...

    def release(self, day: str, reason: str, token: str) -> None:
        """The send failed: let the next run try again (only while ``token`` is the claim)."""
        ...

    def totals(self, day: str) -> dict[str, int] | None:
        """The totals kept with a sent report, or None."""
        ...


class UserPool(Protocol):
    """The Cognito user pool, asked about one access token (adapter: aws/cognito.py)."""

    def current_groups(self, access_token: str) -> frozenset[str]:
        """The token's user's groups now; ``TokenRevoked`` or ``PoolUnavailable`` otherwise."""
        ...


class ScimCredential(Protocol):
    """Where the identity provider's SCIM token is kept: only its SHA-256, never the token
    (adapter: aws/ssm.py)."""

    def digest(self) -> str | None:
        """The stored SHA-256 (hex) of the current token; None before one was issued."""
        ...

    def store(self, digest: str) -> None:
        """Keep ``digest`` as the current token's, replacing the one before (a rotation)."""
        ...
