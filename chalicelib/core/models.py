"""The domain's value objects: statuses, faces, matches, decisions, employees and scans."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # Pillow is imported only where pixels are touched
    from collections.abc import Sequence

    from PIL.Image import Image


class Status(enum.StrEnum):
    """A door decision. Only AUTHORIZED (recognised *and* permitted at this door now) opens it."""

    AUTHORIZED = "AUTHORIZED"
    DENIED = "DENIED"  # an active employee, recognised, whom no access rule lets through now
    UNKNOWN = "UNKNOWN"
    NO_FACE = "NO_FACE"
    MULTIPLE_FACES = "MULTIPLE_FACES"
    LOW_QUALITY = "LOW_QUALITY"
    REJECTED = "REJECTED"
    ERROR = "ERROR"

    @property
    def opens_door(self) -> bool:
        return self is Status.AUTHORIZED


class Reason(enum.StrEnum):
    """Why a decision is not AUTHORIZED, as a stable code beside the human text.

    Reason texts never carry an id, a name or an uploaded string: whatever names a person
    lives in structured fields, where erasure can find and remove it.
    """

    BAD_KEY = "BAD_KEY"
    BAD_CAMERA_ID = "BAD_CAMERA_ID"
    TOO_LARGE = "TOO_LARGE"
    UNUSABLE_IMAGE = "UNUSABLE_IMAGE"
    READ_FAILED = "READ_FAILED"
    ENGINE_FAILED = "ENGINE_FAILED"
    DIRECTORY_FAILED = "DIRECTORY_FAILED"
    NO_FACE = "NO_FACE"
    SEVERAL_FACES = "SEVERAL_FACES"
    POOR_FACE = "POOR_FACE"
    NO_MATCH = "NO_MATCH"
    AMBIGUOUS = "AMBIGUOUS"
    NO_EMPLOYEE_RECORD = "NO_EMPLOYEE_RECORD"
    SUSPENDED = "SUSPENDED"
    EMPLOYEE_ERASED = "EMPLOYEE_ERASED"  # the employee was being erased when the scan was recorded
    TOO_LATE = "TOO_LATE"
    NOT_RECORDED = "NOT_RECORDED"
    # DENIED: the access policy's verdicts (``chalicelib.access.policy.Verdict`` has the same values)
    DENY_RULE = "DENY_RULE"
    HOLIDAY_CLOSED = "HOLIDAY_CLOSED"
    OUTSIDE_SCHEDULE = "OUTSIDE_SCHEDULE"
    PASS_EXPIRED = "PASS_EXPIRED"
    PASS_NOT_YET_VALID = "PASS_NOT_YET_VALID"
    NO_ACCESS_RULE = "NO_ACCESS_RULE"
    LOCKDOWN = "LOCKDOWN"  # the door is locked down (POST /doors/{door_id}/lockdown): nobody passes
    UNKNOWN_CAMERA = "UNKNOWN_CAMERA"  # a site policy is in force and no door lists the camera
    ACCESS_FAILED = "ACCESS_FAILED"  # ERROR: the access policy could not be read


@dataclass(frozen=True)
class BoundingBox:
    """A face's box in pixels of the normalised (upright) photo."""

    left: int
    top: int
    width: int
    height: int

    def to_dict(self) -> dict[str, int]:
        return {"left": self.left, "top": self.top, "width": self.width, "height": self.height}


@dataclass(frozen=True)
class DetectedFace:
    """One face an engine found: where it is and how usable it looks."""

    box: BoundingBox
    sharpness: float  # 0–100, one scale for every engine
    # Degrees from facing the camera, left/right and up/down (0 when the engine cannot tell).
    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0  # the eye line's tilt (not a quality problem: alignment undoes it)
    confidence: float = 100.0  # 0–100: the detector's certainty that this is a face

    @property
    def size_px(self) -> int:
        return min(self.box.width, self.box.height)

    @property
    def turn(self) -> float:
        """How far the face is turned from the camera, the larger of yaw and pitch."""
        return max(abs(self.yaw), abs(self.pitch))


@dataclass(frozen=True)
class Match:
    """The closest enrolled employee for a face, on the 0–100 similarity scale, and the face
    model that scored it where an engine has several (the local engine while upgrading)."""

    employee_id: str
    similarity: float
    model: str = ""


@dataclass(frozen=True)
class SearchResult:
    """What an engine saw in a photo.

    ``faces`` is ordered largest first; the engine searched only ``faces[0]`` (the person
    at the door), ``best`` is its closest employee and ``runner_up`` the closest *other*
    employee, for the margin rule.
    """

    faces: list[DetectedFace]
    best: Match | None = None
    runner_up: Match | None = None


@dataclass(frozen=True)
class NormalisedImage:
    """An upload that passed validation: upright 8-bit RGB pixels."""

    pixels: Image
    source_format: str

    @property
    def width(self) -> int:
        return int(self.pixels.width)

    @property
    def height(self) -> int:
        return int(self.pixels.height)


@dataclass(frozen=True)
class FaceRecord:
    """One enrolled photo's face, as the engine stored it."""

    employee_id: str
    face_id: str
    engine: str
    created_at: str

    def to_dict(self) -> dict[str, str]:
        return {
            "employee_id": self.employee_id,
            "face_id": self.face_id,
            "engine": self.engine,
            "created_at": self.created_at,
        }


@dataclass(frozen=True)
class ClosePair:
    """Two employees whose nearest faces score at or above ``recognition.confusable_at``."""

    employee_ids: tuple[str, str]  # in sorted order
    similarity: float


@dataclass(frozen=True)
class OutlierFace:
    """A face that scores below the match threshold against its employee's other faces."""

    employee_id: str
    face_id: str
    similarity: float  # its best score against the employee's other faces


@dataclass(frozen=True)
class GalleryHealth:
    """What an engine's gallery looks like to the door policy (``FaceEngine.gallery_health``)."""

    employees: int  # employees with at least one enrolled face
    faces: int
    threshold: float
    margin: float
    close_pairs: list[ClosePair]  # by similarity, highest first
    single_photo: list[str]  # employees with exactly one face, sorted
    outlier_faces: list[OutlierFace]  # by similarity, lowest first
    # Employees whose faces are all of a model the engine no longer enrolls with (sorted):
    # matched by that model until they have a face of the current one.
    old_model_only: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "employees": self.employees,
            "faces": self.faces,
            "threshold": self.threshold,
            "margin": self.margin,
            "close_pairs": [
                {"employee_ids": list(pair.employee_ids), "similarity": pair.similarity}
                for pair in self.close_pairs
            ],
            "single_photo": list(self.single_photo),
            "outlier_faces": [
                {"employee_id": face.employee_id, "face_id": face.face_id, "similarity": face.similarity}
                for face in self.outlier_faces
            ],
            "old_model_only": list(self.old_model_only),
        }


def gallery_health(
    threshold: float,
    margin: float,
    face_counts: dict[str, int],
    pairs: dict[tuple[str, str], float],
    outliers: list[OutlierFace],
    old_model_only: Sequence[str] = (),
) -> GalleryHealth:
    """The report in its one order, from what an engine measured (pairs: best per pair)."""
    return GalleryHealth(
        employees=len(face_counts),
        faces=sum(face_counts.values()),
        threshold=float(threshold),
        margin=float(margin),
        close_pairs=[
            ClosePair(ids, round(float(score), 2))
            for ids, score in sorted(pairs.items(), key=lambda item: (-item[1], item[0]))
        ],
        single_photo=sorted(employee for employee, count in face_counts.items() if count == 1),
        outlier_faces=sorted(outliers, key=lambda face: (face.similarity, face.employee_id, face.face_id)),
        old_model_only=sorted(old_model_only),
    )


@dataclass(frozen=True)
class Employee:
    """Someone who may be let in while ``active``."""

    employee_id: str
    name: str
    active: bool = True
    email: str | None = None
    department: str | None = None
    groups: frozenset[str] = frozenset()  # access groups (``chalicelib.access.policy``)
    # The retention clocks (``chalicelib.core.retention``), UTC ISO-8601: since when suspended
    # or deactivated (None while active), their first face, their newest scan the sweep read.
    inactive_since: str | None = None
    enrolled_at: str | None = None
    last_seen: str | None = None
    # When this employee (this lifetime of the id) was created, UTC ISO-8601: a consent given
    # before it, or a drop-folder photo held before it, was another person's (an id erased and
    # created again). None: created before the stamp existed. Stored, never shown (not in
    # ``to_dict``), and no part of equality: two reads of one person's record are equal.
    created_at: str | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "employee_id": self.employee_id,
            "name": self.name,
            "active": self.active,
            "email": self.email,
            "department": self.department,
            "groups": sorted(self.groups),
            "inactive_since": self.inactive_since,
            "enrolled_at": self.enrolled_at,
            "last_seen": self.last_seen,
        }


@dataclass(frozen=True)
class PendingFace:
    """A drop-folder photo held until an admin approves it (``enrollment.pending``): not in
    the gallery, so no scan can match it. Ids and our own words only: the uploader is the
    principal S3 named, the reason one of ``enrollment.pending``'s."""

    pending_id: str
    employee_id: str
    held_at: str  # UTC ISO-8601
    uploader: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "pending_id": self.pending_id,
            "employee_id": self.employee_id,
            "held_at": self.held_at,
            "uploader": self.uploader,
            "reason": self.reason,
        }


CONSENT_METHODS = (
    "paper",
    "e-signature",
    "import",
)  # how consent was given: a form, a signature id, a roster


@dataclass(frozen=True)
class ConsentRecord:
    """One biometric consent given (and perhaps withdrawn) by an employee: no biometric data,
    no name, so it may outlive an erasure as the proof that a face was lawfully held."""

    employee_id: str
    notice_version: str  # the notice they consented to (FACEGATE_CONSENT_NOTICE_VERSION then)
    given_at: str  # UTC ISO-8601, milliseconds: when it was recorded
    method: str  # one of CONSENT_METHODS
    reference: str  # the form's reference, the e-signature id, or the roster's column
    recorded_by: str  # the admin (or uploader) who recorded it
    withdrawn_at: str | None = None
    withdrawn_by: str | None = None

    def covers(self, notice_version: str) -> bool:
        """Whether a new face may be stored on it: not withdrawn, and given to the notice in
        force (a consent to an older notice still covers the faces stored under it)."""
        return self.withdrawn_at is None and self.notice_version == notice_version

    def given_to(self, employee: Employee) -> bool:
        """Whether it was given by this lifetime of the employee's id: at or after their
        creation (an id erased and created again is another person)."""
        return employee.created_at is None or self.given_at >= employee.created_at

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class AuditEntry:
    """One administrative action, for the audit table."""

    at: str  # UTC ISO-8601
    actor: str
    action: str  # e.g. employee.create, employee.erase, face.enroll
    target: str  # the employee id acted upon
    details: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "details": self.details,
        }


@dataclass(frozen=True)
class Decision:
    """What ``decide()`` concluded for one photo."""

    status: Status
    reason: str | None = None
    reason_code: Reason | None = None
    employee_id: str | None = None
    employee_name: str | None = None
    similarity: float | None = None
    faces_in_frame: int = 0
    face_box: BoundingBox | None = None
    # Where the access policy was asked (a recognised active employee): the door, the rule
    # that granted or refused (or came nearest), the holiday that closed or opened it.
    door_id: str | None = None
    access_rule: str | None = None
    holiday: str | None = None


@dataclass(frozen=True)
class Upload:
    """One camera object, as an S3 event names it."""

    bucket: str
    key: str
    version_id: str | None
    sequencer: str | None
    event_time: str  # UTC ISO-8601
    size: int | None = None
    uploader: str | None = None  # the event's userIdentity.principalId: who put the object


@dataclass(frozen=True)
class Scan:
    """The record of one processed upload: the door event."""

    scan_id: str
    camera_id: str
    object_key: str
    object_version: str | None
    captured_at: str
    processed_at: str
    day: str  # the site's local calendar day, YYYY-MM-DD
    decision: Decision
    engine: str
    expires_at: int  # epoch seconds, DynamoDB TTL
    notification: str = "PENDING"  # PENDING → SENT, or FAILED (to retry on redelivery)
    erased: bool = False  # anonymised by an erasure: its photo and copies are deleted

    @property
    def status(self) -> Status:
        return self.decision.status

    @property
    def photo_erased(self) -> bool:
        """The photo is (or is about to be) deleted by an erasure: anonymised by one, or
        recorded by the guard while its employee was being erased (the final sweep purges it)."""
        return self.erased or self.decision.reason_code is Reason.EMPLOYEE_ERASED

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view, the shape of ``processed/<scan-id>.json`` and notifications."""
        d = self.decision
        return {
            "scan_id": self.scan_id,
            "camera_id": self.camera_id,
            "object_key": self.object_key,
            "object_version": self.object_version,
            "captured_at": self.captured_at,
            "processed_at": self.processed_at,
            "day": self.day,
            "status": d.status.value,
            "employee_id": d.employee_id,
            "employee_name": d.employee_name,
            "similarity": d.similarity,
            "faces_in_frame": d.faces_in_frame,
            "face_box": d.face_box.to_dict() if d.face_box else None,
            "reason": d.reason,
            "reason_code": None if d.reason_code is None else d.reason_code.value,
            "door_id": d.door_id,
            "access_rule": d.access_rule,
            "holiday": d.holiday,
            "engine": self.engine,
        }

    @classmethod
    def from_dict(cls, item: dict[str, Any]) -> Scan:
        """The inverse of ``to_dict`` (extra keys such as ``expires_at`` are read when present)."""
        box = item.get("face_box")
        similarity = item.get("similarity")
        decision = Decision(
            status=Status(item["status"]),
            reason=item.get("reason"),
            reason_code=Reason(item["reason_code"]) if item.get("reason_code") else None,
            employee_id=item.get("employee_id"),
            employee_name=item.get("employee_name"),
            similarity=None if similarity is None else float(similarity),
            faces_in_frame=int(item.get("faces_in_frame", 0)),
            face_box=BoundingBox(**{k: int(v) for k, v in box.items()}) if box else None,
            door_id=item.get("door_id"),
            access_rule=item.get("access_rule"),
            holiday=item.get("holiday"),
        )
        return cls(
            scan_id=item["scan_id"],
            camera_id=item["camera_id"],
            object_key=item["object_key"],
            object_version=item.get("object_version"),
            captured_at=item["captured_at"],
            processed_at=item["processed_at"],
            day=item["day"],
            decision=decision,
            engine=item["engine"],
            expires_at=int(item.get("expires_at", 0)),
            notification=item.get("notification", "PENDING"),
            erased=bool(item.get("erased", False)),
        )


@dataclass
class ErasureJob:
    """An employee's erasure, run in steps by the erasure worker; ids only, never names.

    Mutable: the worker moves it along and saves it after every step, so a redelivered
    message resumes where the last attempt stopped.
    """

    job_id: str
    employee_id: str
    actor: str
    started_at: str  # UTC ISO-8601
    state: str = "QUEUED"  # QUEUED → RUNNING → SETTLING → DONE, or FAILED
    step: str = "search"  # search → faces → linked → unlinked → employee → access → settle → final → done
    updated_at: str = ""
    finished_at: str | None = None
    days_total: int = 0
    days_searched: int = 0
    search_token: str | None = None  # the page of the day being searched
    photos_checked: int = 0
    photos_unreadable: int = 0  # of ``photos_checked``: could not be read for good (archived, SSE-C …)
    faces_removed: int | None = None
    found: list[str] = field(default_factory=list)  # unlinked scans that show the employee
    anonymised: list[str] = field(default_factory=list)  # linked scans, identity stripped
    purged: list[str] = field(default_factory=list)  # scans deleted with photo and copies
    in_flight: list[str] = field(default_factory=list)  # of ``purged``: scans the guard stopped
    # the processed copies' keys: a purged record, and with it the day they are filed under, is gone
    copies: list[str] = field(default_factory=list)
    # once DONE: the counts (``erasure.counts``), and the ids and keys above are emptied
    result: dict[str, int] | None = None
    settle_until: str | None = None
    # set (and saved) just before ``final`` lifts the tombstone: from then on the id may be
    # someone new's, and no step of this job touches what is filed under it
    tombstone_lifted: bool = False
    attempts: int = 0
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "employee_id": self.employee_id,
            "actor": self.actor,
            "started_at": self.started_at,
            "state": self.state,
            "step": self.step,
            "updated_at": self.updated_at,
            "finished_at": self.finished_at,
            "days_total": self.days_total,
            "days_searched": self.days_searched,
            "search_token": self.search_token,
            "photos_checked": self.photos_checked,
            "photos_unreadable": self.photos_unreadable,
            "faces_removed": self.faces_removed,
            "found": list(self.found),
            "anonymised": list(self.anonymised),
            "purged": list(self.purged),
            "in_flight": list(self.in_flight),
            "copies": list(self.copies),
            "result": None if self.result is None else dict(self.result),
            "settle_until": self.settle_until,
            "tombstone_lifted": self.tombstone_lifted,
            "attempts": self.attempts,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, item: dict[str, Any]) -> ErasureJob:
        known = {name: item[name] for name in cls.__dataclass_fields__ if name in item}
        for name in ("days_total", "days_searched", "photos_checked", "photos_unreadable", "attempts"):
            known[name] = int(known.get(name, 0))
        known["tombstone_lifted"] = bool(known.get("tombstone_lifted", False))
        if known.get("faces_removed") is not None:
            known["faces_removed"] = int(known["faces_removed"])
        for name in ("found", "anonymised", "purged", "in_flight", "copies"):
            known[name] = [str(value) for value in known.get(name) or []]
        if known.get("result") is not None:
            known["result"] = {str(name): int(value) for name, value in known["result"].items()}
        return cls(**known)


class DoorEventKind(enum.StrEnum):
    """What a door agent reports apart from decisions (``door/ports.py`` keeps the agent's
    copy; a contract test pins the two)."""

    HELD_OPEN = "HELD_OPEN"  # open past its time after a legitimate opening
    FORCED_OPEN = "FORCED_OPEN"  # opened with no unlock and no exit request
    CLOSED = "CLOSED"  # closed again after HELD_OPEN or FORCED_OPEN
    LOCK_FAILED = "LOCK_FAILED"  # the relay errored: the door did not open (or did not lock)
    CAMERA_LOST = "CAMERA_LOST"
    CAMERA_BACK = "CAMERA_BACK"
    SPOOL_DROPPED = "SPOOL_DROPPED"  # photos dropped from the box's full offline spool
    CLOCK_SKEW = "CLOCK_SKEW"  # the box's clock is off AWS's by more than its limit
    CONTACT_FAULT = "CONTACT_FAULT"  # the door contact would not settle (chatter, a cut wire)
    EVENTS_DROPPED = "EVENTS_DROPPED"  # door events lost from the agent's full outbox

    @property
    def alarming(self) -> bool:
        """Security should act (the alarm counts these); CLOSED and CAMERA_BACK only tell."""
        return self not in (DoorEventKind.CLOSED, DoorEventKind.CAMERA_BACK)
