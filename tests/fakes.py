"""In-memory fakes of facegate's ports, for pure tests. Each can be told to fail."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from chalicelib.access.control import CurrentPolicy
from chalicelib.access.documents import document, entry_from
from chalicelib.access.policy import (
    AccessEntry,
    AccessGroup,
    AccessKey,
    AccessSnapshot,
    Door,
    Holiday,
    Lockdown,
    Rule,
    entry_key,
)
from chalicelib.access.ports import MAX_ACCESS_CHANGES
from chalicelib.core.config import ConsentSettings, Policy
from chalicelib.core.errors import BadPageToken, DuplicateFace, NotFound, ObjectGone, UploadTooLarge
from chalicelib.core.health_jobs import HealthCensus, HealthJob, HealthPart
from chalicelib.core.models import (
    AuditEntry,
    ConsentRecord,
    Employee,
    ErasureJob,
    FaceRecord,
    GalleryHealth,
    Match,
    NormalisedImage,
    OutlierFace,
    PendingFace,
    Scan,
    SearchResult,
    Upload,
    gallery_health,
)
from chalicelib.core.ports import FaceChange, Heads, Page, Recorded, StoredFace, StoredObject
from sandbox import memory_faces

T = TypeVar("T")


def _page(items: list[T], limit: int, token: str | None) -> Page[T]:
    """Offset paging with opaque-looking tokens, like the adapters' contract."""
    if token is not None and not (token.startswith("o") and token[1:].isdigit()):
        raise BadPageToken("next_token is not one this API issued")
    start = int(token[1:]) if token else 0
    end = start + limit
    return Page(items[start:end], f"o{end}" if end < len(items) else None)


class Failing:
    """Mixin: set ``fail_with`` to an exception and the next calls raise it."""

    fail_with: Exception | None = None

    def _maybe_fail(self) -> None:
        if self.fail_with is not None:
            raise self.fail_with


class InMemoryImageStore(Failing):
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.versions: dict[tuple[str, str], str] = {}
        self.puts = 0
        self.json_documents: dict[tuple[str, str], dict[str, object]] = {}
        self.write_fails_with: Exception | None = None
        self.metadata: dict[tuple[str, str], dict[str, str]] = {}
        self.deletions: list[tuple[str, str, str | None]] = []  # (bucket, key, version or None)
        self.refusals: dict[str, Exception] = {}  # key → what reading it raises (archived, SSE-C …)
        self.modified: dict[tuple[str, str], datetime] = {}  # S3's LastModified; none unless set

    def read(self, upload: Upload, max_bytes: int) -> StoredObject:
        self._maybe_fail()
        if upload.key in self.refusals:
            raise self.refusals[upload.key]
        if (upload.bucket, upload.key) not in self.objects:
            raise ObjectGone(upload.key)
        data = self.objects[(upload.bucket, upload.key)]
        version = self.version(upload)
        if len(data) > max_bytes:
            raise UploadTooLarge(f"file too large: {len(data)} bytes, limit {max_bytes}", version)
        metadata = dict(self.metadata.get((upload.bucket, upload.key), {}))
        return StoredObject(data, version, metadata, self.modified.get((upload.bucket, upload.key)))

    def version(self, upload: Upload) -> str | None:
        """The event's version, else the key's current one (set by ``put``), as S3 answers."""
        self._maybe_fail()
        if (upload.bucket, upload.key) not in self.objects:
            raise KeyError(upload.key)
        return upload.version_id or self.versions.get((upload.bucket, upload.key))

    def put(self, bucket: str, key: str, data: bytes, metadata: dict[str, str] | None = None) -> str:
        """Store a new version of an object (with its user metadata); return its version id."""
        self.objects[(bucket, key)] = data
        self.metadata[(bucket, key)] = dict(metadata or {})
        self.puts += 1
        version = f"v{self.puts}"
        self.versions[(bucket, key)] = version
        return version

    def write_json(self, bucket: str, key: str, document: dict[str, object]) -> None:
        if self.write_fails_with is not None:
            raise self.write_fails_with
        self.json_documents[(bucket, key)] = json.loads(json.dumps(document))

    def ensure_json(self, bucket: str, key: str, document: dict[str, object]) -> bool:
        if (bucket, key) in self.json_documents:
            return False
        self.write_json(bucket, key, document)
        return True

    def claim(self, bucket: str, key: str) -> bool:
        self._maybe_fail()
        if (bucket, key) in self.objects:
            return False
        self.objects[(bucket, key)] = b""
        return True

    def link(self, bucket: str, key: str, version_id: str | None, expires_in: int) -> str:
        return f"memory://{bucket}/{key}?version={version_id}&expires_in={expires_in}"

    def delete(self, bucket: str, key: str, version_id: str | None = None) -> None:
        self._maybe_fail()
        self.deletions.append((bucket, key, version_id))
        self.objects.pop((bucket, key), None)
        self.json_documents.pop((bucket, key), None)
        self.metadata.pop((bucket, key), None)


class InMemoryEmployeeDirectory(Failing):
    def __init__(self, *employees: Employee) -> None:
        self.employees = {e.employee_id: e for e in employees}
        self.erasing: dict[str, str] = {}  # employee id → erasure job id
        self.lookalike_sets: dict[str, set[str]] = {}  # employee id → allowed look-alikes (one side)

    def accepts_scans_of(self, employee_id: str | None) -> bool:
        """What the scan log's guard checks: no employee named, or one not being erased."""
        return employee_id is None or (employee_id in self.employees and employee_id not in self.erasing)

    def get(self, employee_id: str) -> Employee | None:
        self._maybe_fail()
        return None if employee_id in self.erasing else self.employees.get(employee_id)

    def put(self, employee: Employee) -> None:
        self._maybe_fail()
        if employee.employee_id in self.erasing:
            raise NotFound(f"no employee {employee.employee_id}")
        stored = self.employees.get(employee.employee_id)
        if stored is not None:  # as the table does: the clocks ``stamp`` owns stay as stored
            employee = replace(
                employee,
                enrolled_at=stored.enrolled_at,
                last_seen=stored.last_seen,
                created_at=stored.created_at,
            )
        self.employees[employee.employee_id] = employee

    def set_membership(self, employee_id: str, group_id: str, member: bool) -> bool:
        self._maybe_fail()
        employee = self.employees.get(employee_id)
        if employee is None or employee_id in self.erasing:
            return False
        groups = employee.groups | {group_id} if member else employee.groups - {group_id}
        self.employees[employee_id] = replace(employee, groups=frozenset(groups))
        return True

    def members(self, group_id: str) -> list[str]:
        self._maybe_fail()
        return sorted(
            e.employee_id
            for e in self.employees.values()
            if group_id in e.groups and e.employee_id not in self.erasing
        )

    def set_lookalike(self, employee_id: str, other_id: str, allowed: bool) -> bool:
        self._maybe_fail()
        if employee_id not in self.employees or employee_id in self.erasing:
            return False
        others = self.lookalike_sets.setdefault(employee_id, set())
        (others.add if allowed else others.discard)(other_id)
        return True

    def lookalikes(self, employee_id: str) -> frozenset[str]:
        self._maybe_fail()
        if employee_id not in self.employees or employee_id in self.erasing:
            return frozenset()
        return frozenset(self.lookalike_sets.get(employee_id, ()))

    def lookalike_pairs(self) -> list[tuple[str, str]]:
        self._maybe_fail()
        listed = {
            e: set(o) for e, o in self.lookalike_sets.items() if e in self.employees and e not in self.erasing
        }
        return sorted(
            {(min(a, b), max(a, b)) for a, others in listed.items() for b in others if a in listed.get(b, ())}
        )

    def erasure_of(self, employee_id: str) -> str | None:
        self._maybe_fail()
        return self.erasing.get(employee_id) if employee_id in self.employees else None

    def begin_erasure(self, employee_id: str, job_id: str) -> str | None:
        self._maybe_fail()
        if employee_id not in self.employees:
            return None
        if employee_id not in self.erasing:
            self.erasing[employee_id] = job_id
            self.employees[employee_id] = replace(self.employees[employee_id], active=False)
        return self.erasing[employee_id]

    def stamp(self, employee_id: str, clock: str, at: str) -> bool:
        self._maybe_fail()
        employee = self.employees.get(employee_id)
        if clock not in ("enrolled_at", "inactive_since", "last_seen"):
            raise ValueError(f"no retention clock {clock!r}")
        if employee is None or employee_id in self.erasing:
            return False
        current = getattr(employee, clock)
        if clock == "last_seen" and current is not None and current >= at:
            return False
        if clock != "last_seen" and (current is not None or (clock == "inactive_since" and employee.active)):
            return False
        if clock == "enrolled_at":
            self.employees[employee_id] = replace(employee, enrolled_at=at)
        elif clock == "inactive_since":
            self.employees[employee_id] = replace(employee, inactive_since=at)
        else:
            self.employees[employee_id] = replace(employee, last_seen=at)
        return True

    def create(self, employee: Employee) -> bool:
        self._maybe_fail()
        if employee.employee_id in self.employees:
            return False
        self.employees[employee.employee_id] = employee
        return True

    def listing(self, limit: int, token: str | None = None) -> Page[Employee]:
        self._maybe_fail()
        shown = [e for e in self.employees.values() if e.employee_id not in self.erasing]
        return _page(sorted(shown, key=lambda e: e.employee_id), limit, token)

    def delete(self, employee_id: str) -> None:
        self._maybe_fail()
        if employee_id not in self.erasing:  # a tombstone: only end_erasure lifts it
            self._forget(employee_id)

    def _forget(self, employee_id: str) -> None:
        self.employees.pop(employee_id, None)
        self.erasing.pop(employee_id, None)
        self.lookalike_sets.pop(employee_id, None)

    def present(self, employee_ids: Collection[str]) -> frozenset[str]:
        self._maybe_fail()
        return frozenset(e for e in employee_ids if e in self.employees and e not in self.erasing)

    def end_erasure(self, employee_id: str, job_id: str) -> bool:
        self._maybe_fail()
        if employee_id not in self.employees or self.erasing.get(employee_id) != job_id:
            return False
        self._forget(employee_id)
        return True


class InMemoryAccessStore(Failing):
    """The access store's contract in a dict: a version token that every commit replaces."""

    def __init__(self) -> None:
        self.entries: dict[AccessKey, AccessEntry] = {}
        self.current = ""
        self.loads = 0  # how often a container read everything (the cache's cost)
        self.version_reads = 0

    def version(self) -> str:
        self._maybe_fail()
        self.version_reads += 1
        return self.current

    def load(self) -> AccessSnapshot:
        self._maybe_fail()
        self.loads += 1
        by_kind: dict[str, list[AccessEntry]] = {
            "door": [],
            "group": [],
            "rule": [],
            "holiday": [],
            "lockdown": [],
        }
        for (kind, _), entry in sorted(self.entries.items()):
            by_kind[kind].append(entry)
        return AccessSnapshot(
            self.current,
            doors=tuple(entry for entry in by_kind["door"] if isinstance(entry, Door)),
            groups=tuple(entry for entry in by_kind["group"] if isinstance(entry, AccessGroup)),
            rules=tuple(entry for entry in by_kind["rule"] if isinstance(entry, Rule)),
            holidays=tuple(entry for entry in by_kind["holiday"] if isinstance(entry, Holiday)),
            lockdowns=tuple(entry for entry in by_kind["lockdown"] if isinstance(entry, Lockdown)),
        )

    def commit(
        self, expected_version: str, put: Sequence[AccessEntry] = (), delete: Sequence[AccessKey] = ()
    ) -> bool:
        self._maybe_fail()
        if len(set(delete) | {entry_key(entry) for entry in put}) > MAX_ACCESS_CHANGES:
            raise ValueError(f"more than {MAX_ACCESS_CHANGES} access entries in one commit")
        for entry in put:  # stored only if it reads back, as the real store checks
            entry_from(*entry_key(entry), document(entry))
        if expected_version != self.current:
            return False
        for key in delete:
            self.entries.pop(key, None)
        for entry in put:
            self.entries[entry_key(entry)] = entry
        self.current = uuid.uuid4().hex
        return True


def unconfigured_access(timezone: str = "UTC") -> CurrentPolicy:
    """The access policy of a site that never stored one: every employee, every door, always."""
    return CurrentPolicy(InMemoryAccessStore(), timezone)


class InMemoryScanLog(Failing):
    """Scans; with a ``directory``, a scan naming an employee is written only while that
    employee exists and is not being erased (``directory.erasing``), as the real log checks."""

    def __init__(self, directory: InMemoryEmployeeDirectory | None = None) -> None:
        self.scans: dict[str, Scan] = {}
        self.directory = directory

    def get(self, scan_id: str) -> Scan | None:
        self._maybe_fail()
        return self.scans.get(scan_id)

    def record(self, scan: Scan) -> Recorded:
        self._maybe_fail()
        if scan.scan_id in self.scans:
            return Recorded.DUPLICATE
        if self.directory is not None and not self.directory.accepts_scans_of(scan.decision.employee_id):
            return Recorded.EMPLOYEE_GONE
        self.scans[scan.scan_id] = scan
        return Recorded.WRITTEN

    def set_notification(self, scan_id: str, state: str, *, expected: str) -> bool:
        self._maybe_fail()
        scan = self.scans.get(scan_id)
        if scan is None or scan.notification != expected:
            return False
        self.scans[scan_id] = replace(scan, notification=state)
        return True

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
        self._maybe_fail()
        items = sorted(
            (
                scan
                for scan in self.scans.values()
                if scan.day == day
                and (status is None or scan.status.value == status)
                and (camera_id is None or scan.camera_id == camera_id)
                # the pipeline's Decision.reason_code (the lead's), read where it exists
                and (reason_code is None or scan.decision.reason_code == reason_code)
            ),
            key=lambda scan: scan.captured_at,
        )
        return _page(items, limit, token)

    def by_employee(self, employee_id: str, limit: int, token: str | None = None) -> Page[Scan]:
        self._maybe_fail()
        items = [scan for scan in self.scans.values() if scan.decision.employee_id == employee_id]
        return _page(sorted(items, key=lambda scan: scan.captured_at, reverse=True), limit, token)

    def anonymise(self, scan_id: str) -> None:
        self._maybe_fail()
        scan = self.scans[scan_id]
        self.scans[scan_id] = replace(
            scan, decision=replace(scan.decision, employee_id=None, employee_name=None), erased=True
        )

    def delete(self, scan_id: str) -> None:
        self._maybe_fail()
        self.scans.pop(scan_id, None)


class InMemoryErasureJobs(Failing):
    def __init__(self) -> None:
        self.jobs: dict[str, ErasureJob] = {}
        self.saves = 0

    def create(self, job: ErasureJob) -> bool:
        self._maybe_fail()
        if job.job_id in self.jobs:
            return False
        self.jobs[job.job_id] = copy.deepcopy(job)
        return True

    def get(self, job_id: str) -> ErasureJob | None:
        self._maybe_fail()
        job = self.jobs.get(job_id)
        return None if job is None else copy.deepcopy(job)

    def save(self, job: ErasureJob) -> None:
        self._maybe_fail()
        self.saves += 1
        self.jobs[job.job_id] = copy.deepcopy(job)


class InMemoryErasureQueue(Failing):
    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []

    def send(self, job_id: str, delay_seconds: int = 0) -> None:
        self._maybe_fail()
        self.sent.append((job_id, delay_seconds))


class InMemoryHealthJobs(Failing):
    """``HealthJobs``: the jobs, the latest one, and every conditional save refused."""

    def __init__(self) -> None:
        self.jobs: dict[str, HealthJob] = {}
        self.latest: str | None = None
        self.refused_saves = 0

    def latest_id(self) -> str | None:
        self._maybe_fail()
        return self.latest

    def create(self, job: HealthJob, after: str | None) -> bool:
        self._maybe_fail()
        if self.latest != after or job.job_id in self.jobs:
            return False
        self.jobs[job.job_id], self.latest = copy.deepcopy(job), job.job_id
        return True

    def get(self, job_id: str) -> HealthJob | None:
        self._maybe_fail()
        job = self.jobs.get(job_id)
        return None if job is None else copy.deepcopy(job)

    def save(self, job: HealthJob, faces_done: int) -> bool:
        self._maybe_fail()
        stored = self.jobs.get(job.job_id)
        if stored is None or stored.faces_done != faces_done:
            self.refused_saves += 1
            return False
        self.jobs[job.job_id] = copy.deepcopy(job)
        return True


class InMemoryHealthQueue(Failing):
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, job_id: str) -> None:
        self._maybe_fail()
        self.sent.append(job_id)


class InMemoryDoorQueues(Failing):
    """``DoorQueues``: the doors that have a queue (``make door-add``) and what each received."""

    def __init__(self, *doors: str) -> None:
        self.received: dict[str, list[str]] = {door: [] for door in doors}

    def address(self, door_id: str) -> str:
        if door_id not in self.received:
            raise NotFound(f"door {door_id} has no queue: make door-add DOOR={door_id}")
        return door_id

    def send(self, address: str, body: str) -> None:
        self._maybe_fail()
        self.received[address].append(body)


class InMemoryAuditLog(Failing):
    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []
        self.unique: set[tuple[str, str, str]] = set()

    def record(self, entry: AuditEntry, unique: str | None = None) -> bool:
        self._maybe_fail()
        if unique is not None:
            if (entry.target, entry.at, unique) in self.unique:
                return False
            self.unique.add((entry.target, entry.at, unique))
        self.entries.append(entry)
        return True

    def between(self, target: str, start: str, end: str) -> list[AuditEntry]:
        self._maybe_fail()
        found = [e for e in self.entries if e.target == target and start <= e.at < end]
        return sorted(found, key=lambda entry: entry.at)


# The granting ledger's consent: given after any creation a test makes, so it covers every
# lifetime of every id (``ConsentRecord.given_to``).
GRANTED_AT = "9999-12-31T23:59:59.999Z"


class InMemoryConsentLedger(Failing):
    """``ConsentLedger`` in memory; ``InMemoryConsentLedger.granting()`` holds a current
    consent for anyone asked about (the fixtures' one place to give consent cheaply)."""

    def __init__(self, *, grant_all: str | None = None) -> None:
        self.records: list[ConsentRecord] = []
        self.grant_all = grant_all  # a notice version every employee counts as consenting to

    @classmethod
    def granting(cls, notice_version: str = ConsentSettings().notice_version) -> InMemoryConsentLedger:
        return cls(grant_all=notice_version)

    def history(self, employee_id: str) -> list[ConsentRecord]:
        self._maybe_fail()
        found = [record for record in self.records if record.employee_id == employee_id]
        if self.grant_all is not None and not found:
            found = [ConsentRecord(employee_id, self.grant_all, GRANTED_AT, "paper", "F", "t")]
        return sorted(found, key=lambda record: record.given_at)

    def give(self, record: ConsentRecord) -> None:
        self._maybe_fail()
        self.records.append(record)

    def withdraw(self, employee_id: str, at: str, actor: str, given_at: str | None = None) -> int:
        self._maybe_fail()
        open_ones = [
            r
            for r in self.records
            if r.employee_id == employee_id and r.withdrawn_at is None and given_at in (None, r.given_at)
        ]
        for record in open_ones:
            self.records[self.records.index(record)] = replace(record, withdrawn_at=at, withdrawn_by=actor)
        return len(open_ones)

    def listing(self, limit: int, token: str | None = None) -> Page[ConsentRecord]:
        self._maybe_fail()
        ordered = sorted(self.records, key=lambda record: (record.employee_id, record.given_at))
        start = int(token) if token is not None and token.isascii() and token.isdigit() else 0
        if token is not None and str(start) != token:
            raise BadPageToken("next_token is not one this API issued")
        end = start + limit
        return Page(ordered[start:end], str(end) if end < len(ordered) else None)


class RecordingNotifier(Failing):
    def __init__(self) -> None:
        self.published: list[Scan] = []

    def publish(self, scan: Scan) -> None:
        self._maybe_fail()
        self.published.append(scan)


class InMemoryPendingFaces(Failing):
    """Held drop-folder photos in a dict; ``discarded`` records every purge."""

    def __init__(self) -> None:
        self.held: dict[str, tuple[PendingFace, bytes]] = {}
        self.discarded: list[str] = []

    def hold(self, face: PendingFace, photo: bytes) -> None:
        self._maybe_fail()
        self.held[face.pending_id] = (face, photo)

    def count(self, limit: int) -> int:
        self._maybe_fail()
        return min(len(self.held), limit)

    def listing(self, limit: int) -> list[PendingFace]:
        self._maybe_fail()
        faces = sorted((face for face, _ in self.held.values()), key=lambda f: (f.held_at, f.pending_id))
        return faces[:limit]

    def get(self, pending_id: str, max_bytes: int) -> tuple[PendingFace, bytes] | None:
        self._maybe_fail()
        held = self.held.get(pending_id)
        if held is not None and len(held[1]) > max_bytes:
            raise UploadTooLarge("held photo too large", None)
        return held

    def discard(self, pending_id: str) -> None:
        self._maybe_fail()
        self.held.pop(pending_id, None)
        self.discarded.append(pending_id)

    def purge_employee(self, employee_id: str) -> int:
        self._maybe_fail()
        theirs = [
            pending_id for pending_id, (face, _) in self.held.items() if face.employee_id == employee_id
        ]
        for pending_id in theirs:
            self.discard(pending_id)
        return len(theirs)


class InMemoryAdminNotifier(Failing):
    """Keeps what would go to the administrators' topic: (subject, message, attributes)."""

    def __init__(self) -> None:
        self.published: list[tuple[str, str, dict[str, str]]] = []

    def publish(self, subject: str, message: str, attributes: Mapping[str, str]) -> None:
        self._maybe_fail()
        self.published.append((subject, message, dict(attributes)))


class InMemorySigner(Failing):
    """A ``MessageSigner`` (and a door's ``MacVerifier``) with a local HMAC secret."""

    def __init__(self, key_id: str = "alias/in-memory", secret: bytes | None = None) -> None:
        self.key_id = key_id
        self._secret = secret if secret is not None else uuid.uuid4().bytes

    def sign(self, message: bytes) -> bytes:
        self._maybe_fail()
        return hmac.new(self._secret, message, hashlib.sha256).digest()

    def verify(self, message: bytes, mac: bytes) -> bool:
        self._maybe_fail()
        return hmac.compare_digest(self.sign(message), mac)


class ScriptedEngine(Failing):
    """A ``FaceEngine`` that answers every search with the result it was given."""

    name = "scripted"

    def __init__(
        self, result: SearchResult, shows: Callable[[NormalisedImage, str], bool] = lambda *_: False
    ) -> None:
        self.result = result
        self.searches = 0
        self.shows = shows
        self.faces: dict[str, list[str]] = {}  # employee id → face ids
        self.add_fails_with: Exception | None = None  # only add_face raises it (a refused photo)
        # What every enrolled photo scores against another employee (None: nobody close),
        # and the ``refuse_at`` each add_face was given.
        self.nearest_other: Match | None = None
        self.refuse_ats: list[float | None] = []
        # The health job's script: close pairs (found from either employee's faces), outlier
        # faces by face id, faces per slice, and the slices asked for.
        self.close: dict[tuple[str, str], float] = {}
        self.outlying: dict[str, float] = {}
        self.health_slice_faces = 2
        self.health_slices: list[tuple[int, int]] = []
        self.allows: list[frozenset[str]] = []  # the look-alikes each add_face was told to pass

    def shows_employee(self, image: NormalisedImage, employee_id: str) -> bool:
        self._maybe_fail()
        return bool(self.faces.get(employee_id)) and self.shows(image, employee_id)

    def add_face(
        self,
        employee_id: str,
        image: NormalisedImage,
        *,
        refuse_at: float | None = None,
        allow: frozenset[str] = frozenset(),
    ) -> FaceRecord:
        self._maybe_fail()
        if self.add_fails_with is not None:
            raise self.add_fails_with
        self.refuse_ats.append(refuse_at)
        self.allows.append(allow)
        other = self.nearest_other
        close = other is not None and refuse_at is not None and other.similarity >= refuse_at
        if other is not None and close and other.employee_id not in {employee_id, *allow}:
            raise DuplicateFace(other.employee_id, other.similarity)
        face_id = uuid.uuid4().hex
        self.faces.setdefault(employee_id, []).append(face_id)
        return FaceRecord(employee_id, face_id, self.name, "2026-01-01T00:00:00+00:00")

    def search(self, image: NormalisedImage) -> SearchResult:
        self._maybe_fail()
        self.searches += 1
        return self.result

    def list_faces(self, employee_id: str) -> list[FaceRecord]:
        self._maybe_fail()
        return [FaceRecord(employee_id, f, self.name, "") for f in self.faces.get(employee_id, [])]

    def remove_faces(self, employee_id: str, face_ids: Sequence[str] | None = None) -> None:
        self._maybe_fail()
        kept = [f for f in self.faces.get(employee_id, []) if face_ids is not None and f not in face_ids]
        self.faces[employee_id] = kept

    def gallery_health(self, policy: Policy) -> GalleryHealth:
        """Counts from the enrolled faces; the scripted engine knows no similarities."""
        self._maybe_fail()
        counts = {employee: len(ids) for employee, ids in self.faces.items() if ids}
        return gallery_health(policy.match_threshold, policy.match_margin, counts, {}, [])

    def health_census(self, policy: Policy) -> HealthCensus:
        """The faces in (employee, face id) order; ``health_slice_faces`` a slice."""
        self._maybe_fail()
        counts = {employee: len(ids) for employee, ids in self.faces.items() if ids}
        return HealthCensus(sum(counts.values()), self.health_slice_faces, counts)

    def health_slice(self, policy: Policy, start: int, stop: int) -> HealthPart:
        """The scripted ``close`` pairs of each face's employee, the scripted ``outlying`` faces."""
        self._maybe_fail()
        self.health_slices.append((start, stop))
        walk = sorted((employee, face) for employee, ids in self.faces.items() for face in ids)
        pairs: dict[tuple[str, str], float] = {}
        outliers: list[OutlierFace] = []
        for employee, face in walk[start:stop]:
            pairs |= {ids: score for ids, score in self.close.items() if employee in ids}
            if face in self.outlying:
                outliers.append(OutlierFace(employee, face, self.outlying[face]))
        return HealthPart(pairs, outliers)


class InMemoryFaceStore(Failing, memory_faces.InMemoryFaceStore):
    """chalicelib's in-memory store, able to fail, counting gallery loads."""

    def __init__(self) -> None:
        super().__init__()
        self.loads = 0
        self.consistent_loads = 0
        self.head_reads = 0

    def put(self, face: StoredFace) -> None:
        self._maybe_fail()
        super().put(face)

    def delete(self, employee_id: str, face_ids: Sequence[str] | None = None) -> list[str]:
        self._maybe_fail()
        return super().delete(employee_id, face_ids)

    def of_employee(self, employee_id: str) -> list[StoredFace]:
        self._maybe_fail()
        return super().of_employee(employee_id)

    def heads(self) -> Heads:
        self._maybe_fail()
        self.head_reads += 1
        return super().heads()

    def changes(self, after: Heads, upto: Heads) -> list[FaceChange] | None:
        self._maybe_fail()
        return super().changes(after, upto)

    def faces_of(self, keys: Sequence[tuple[str, str]]) -> list[StoredFace]:
        self._maybe_fail()
        return super().faces_of(keys)

    def load(self, consistent: bool = False) -> list[StoredFace]:
        self._maybe_fail()
        self.loads += 1
        self.consistent_loads += consistent
        return super().load(consistent)
