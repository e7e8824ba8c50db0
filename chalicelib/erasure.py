"""Erasure: every face, photo and named record of an employee, removed by an asynchronous job.

``start_erasure`` (DELETE /employees/{id}) marks the employee (suspended, and absent to
every reader from then on), stores a job and queues it. The erasure worker runs
``run_job`` in steps, each idempotent and saved on the job, so a redelivered message
resumes where the last attempt stopped:

search    photos of the retention window never linked to them (MULTIPLE_FACES, UNKNOWN,
          LOW_QUALITY) in which the engine still sees their face: before the faces go
faces     their faces leave the engine
linked    their scans: photo version and processed copies deleted, identity stripped
unlinked  the photos found by ``search``: photo, processed copies and record deleted
employee  the employee record
settle    wait for scans in flight during the erasure to be recorded (the queue's delay)
final     ``linked`` again, and the scans the pipeline's guard recorded as EMPLOYEE_ERASED
          since the job started are deleted with their photos
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from chalicelib.config import Settings
from chalicelib.errors import NotFound
from chalicelib.imaging import RejectedImage, normalise
from chalicelib.models import AuditEntry, ErasureJob, NormalisedImage, Scan, Status, Upload
from chalicelib.ports import (
    AuditLog,
    EmployeeDirectory,
    ErasureJobs,
    ErasureQueue,
    ImageStore,
    ObjectGone,
    ScanLog,
    UploadTooLarge,
)
from chalicelib.recognition import FaceEngine

Clock = Callable[[], datetime]
TimeLeft = Callable[[], float]  # seconds this invocation may still run

UNLINKED = frozenset({Status.MULTIPLE_FACES, Status.UNKNOWN, Status.LOW_QUALITY})
# The pipeline's reason_code for a scan that named an employee being erased (its guard).
EMPLOYEE_ERASED = "EMPLOYEE_ERASED"
PAGE = 25  # scans per page: a page of photo checks stays well inside the safety margin
SAFETY_SECONDS = 90.0  # stop and continue in a new invocation with this much time left
STEPS = ("search", "faces", "linked", "unlinked", "employee", "settle", "final", "done")


class ErasureEngine(FaceEngine, Protocol):
    """An engine that can also say whether an employee appears anywhere in a photo."""

    def shows_employee(self, image: NormalisedImage, employee_id: str) -> bool:
        """True when any face in ``image`` matches the employee's enrolled faces."""
        ...


@dataclass(frozen=True)
class ErasurePorts:
    directory: EmployeeDirectory
    engine: ErasureEngine
    audit: AuditLog
    scans: ScanLog
    images: ImageStore
    jobs: ErasureJobs
    queue: ErasureQueue
    camera_bucket: str
    processed_prefix: str = "processed/"
    clock: Clock = lambda: datetime.now(UTC)

    def now(self) -> str:
        return _iso(self.clock())

    def log(self, actor: str, action: str, target: str, **details: Any) -> None:
        self.audit.record(AuditEntry(self.now(), actor, action, target, details))


def start_erasure(employee_id: str, ports: ErasurePorts, actor: str) -> ErasureJob:
    """Start erasing an employee, or return the job already erasing them; ``NotFound``."""
    marked = ports.directory.begin_erasure(employee_id, uuid.uuid4().hex)
    if marked is None:
        raise NotFound(f"no employee {employee_id}")
    job = ports.jobs.get(marked)
    if job is None:  # ours, or a start that died between marking and storing its job
        now = ports.now()
        job = ErasureJob(marked, employee_id, actor, started_at=now, updated_at=now)
        if not ports.jobs.create(job):
            return _existing(ports, marked)
        ports.log(actor, "employee.erase.start", employee_id, job_id=marked)
        ports.queue.send(marked)
    elif job.state == "FAILED":  # asking again retries a failed job from where it stopped
        job.state, job.attempts, job.error = "QUEUED", 0, None
        _save(job, ports)
        ports.queue.send(job.job_id)
    elif job.state == "QUEUED":  # the start that stored it may have died before queueing it
        ports.queue.send(job.job_id)
    return job


def job_status(job_id: str, jobs: ErasureJobs) -> dict[str, Any]:
    """What GET /erasures/{id} shows; ``NotFound`` for an unknown job."""
    return public(_existing_in(jobs, job_id))


def public(job: ErasureJob) -> dict[str, Any]:
    """The job as the API shows it: progress, then what was found and removed (ids only)."""
    return {
        "job_id": job.job_id,
        "employee_id": job.employee_id,
        "status": job.state,
        "step": job.step,
        "started_at": job.started_at,
        "updated_at": job.updated_at,
        "finished_at": job.finished_at,
        "progress": {
            "days_total": job.days_total,
            "days_searched": job.days_searched,
            "photos_checked": job.photos_checked,
        },
        "result": {
            "faces_removed": job.faces_removed or 0,
            "unlinked_photos_found": len(job.found),
            "scans_anonymised": len(job.anonymised),
            "scans_purged": len(job.purged),
            "in_flight_purged": len(job.in_flight),
            "photos_deleted": len(set(job.anonymised) | set(job.purged)),
            "anonymised_scan_ids": list(job.anonymised),
            "purged_scan_ids": list(job.purged),
        },
        "attempts": job.attempts,
        "error": job.error,
    }


def run_job(
    job_id: str,
    ports: ErasurePorts,
    settings: Settings,
    *,
    receive_count: int = 1,
    time_left: TimeLeft | None = None,
) -> ErasureJob | None:
    """Advance a job as far as this invocation allows; on failure record it and re-raise
    (the queue redelivers), and mark the job FAILED on the queue's last delivery."""
    job = ports.jobs.get(job_id)
    if job is None or job.state in ("DONE", "FAILED"):
        return job  # a duplicate or stale message
    try:
        _advance(job, ports, settings, time_left or (lambda: math.inf))
    except Exception as error:
        job.attempts += 1
        job.error = f"{type(error).__name__}: {error}"[:300]
        if receive_count >= settings.erasure_max_receives:
            job.state = "FAILED"
            ports.log(job.actor, "employee.erase.failed", job.employee_id, job_id=job.job_id)
        _save(job, ports)
        raise
    return job


def _advance(job: ErasureJob, ports: ErasurePorts, settings: Settings, time_left: TimeLeft) -> None:
    if job.state == "QUEUED":
        job.state = "RUNNING"
        _save(job, ports)
    work: dict[str, Callable[[], bool]] = {
        "search": lambda: _search(job, ports, settings, time_left),
        "faces": lambda: _remove_faces(job, ports),
        "linked": lambda: _linked(job, ports, time_left),
        "unlinked": lambda: _unlinked(job, ports, time_left),
        "employee": lambda: _delete_employee(job, ports),
        "settle": lambda: _settled(job, ports, settings),
        "final": lambda: _linked(job, ports, time_left) and _in_flight(job, ports, settings, time_left),
    }
    while job.step != "done":
        if not work[job.step]():
            if job.step != "settle":  # out of time: a fresh invocation continues at once
                _save(job, ports)
                ports.queue.send(job.job_id)
            return
        job.step = STEPS[STEPS.index(job.step) + 1]
        job.error = None
        if job.step == "done":
            job.state, job.finished_at = "DONE", ports.now()
        _save(job, ports)
    result = public(job)["result"]
    counts = {name: value for name, value in result.items() if not name.endswith("_ids")}
    ports.log(job.actor, "employee.erase", job.employee_id, job_id=job.job_id, **counts)


def _search(job: ErasureJob, ports: ErasurePorts, settings: Settings, time_left: TimeLeft) -> bool:
    # From the job's first day back over the retention window, plus two days: DynamoDB's
    # TTL and S3's lifecycle remove expired items up to about two days late.
    first = _local_day(job.started_at, settings)
    days = [first - timedelta(days=back) for back in range(settings.retention_days + 3)]
    job.days_total = len(days)
    while job.days_searched < len(days):
        day = days[job.days_searched].isoformat()
        page = ports.scans.by_day(day, PAGE, job.search_token)
        for scan in page.items:
            if scan.status in UNLINKED and scan.decision.employee_id != job.employee_id:
                job.photos_checked += 1
                if scan.scan_id not in job.found and _shows(scan, job.employee_id, ports, settings):
                    job.found.append(scan.scan_id)
        if page.next_token:
            job.search_token = page.next_token
        else:
            job.days_searched, job.search_token = job.days_searched + 1, None
        _save(job, ports)
        if time_left() < SAFETY_SECONDS:
            return job.days_searched == len(days)
    return True


def _shows(scan: Scan, employee_id: str, ports: ErasurePorts, settings: Settings) -> bool:
    upload = Upload(ports.camera_bucket, scan.object_key, scan.object_version, None, scan.captured_at)
    try:
        image = normalise(ports.images.read(upload, settings.limits.max_bytes).data, settings.limits)
    except (ObjectGone, UploadTooLarge, RejectedImage):
        return False  # nothing left to erase, or nothing an engine could have seen
    return ports.engine.shows_employee(image, employee_id)


def _remove_faces(job: ErasureJob, ports: ErasurePorts) -> bool:
    if job.faces_removed is None:  # counted once: a resumed job finds none left
        job.faces_removed = len(ports.engine.list_faces(job.employee_id))
        _save(job, ports)
    ports.engine.remove_faces(job.employee_id)
    return True


def _linked(job: ErasureJob, ports: ErasurePorts, time_left: TimeLeft) -> bool:
    # Collected first: anonymising drops a scan from the index being paged through.
    linked = list(_all(lambda token: ports.scans.by_employee(job.employee_id, 100, token)))
    for count, scan in enumerate(linked):
        _delete_photo(scan, ports)
        ports.scans.anonymise(scan.scan_id)
        if scan.scan_id not in job.anonymised:
            job.anonymised.append(scan.scan_id)
        if count % PAGE == PAGE - 1:
            _save(job, ports)
            if time_left() < SAFETY_SECONDS:
                return False
    return True


def _unlinked(job: ErasureJob, ports: ErasurePorts, time_left: TimeLeft) -> bool:
    for scan_id in [scan_id for scan_id in job.found if scan_id not in job.purged]:
        _purge(scan_id, job, ports)
        if time_left() < SAFETY_SECONDS:
            _save(job, ports)
            return False
    return True


def _purge(scan_id: str, job: ErasureJob, ports: ErasurePorts) -> None:
    scan = ports.scans.get(scan_id)
    if scan is not None:
        _delete_photo(scan, ports)
        ports.scans.delete(scan_id)
    if scan_id not in job.purged:
        job.purged.append(scan_id)


def _delete_photo(scan: Scan, ports: ErasurePorts) -> None:
    """The camera photo's version and every version of the processed copy."""
    ports.images.delete(ports.camera_bucket, scan.object_key, scan.object_version)
    ports.images.delete(ports.camera_bucket, f"{ports.processed_prefix}{scan.scan_id}.json")


def _delete_employee(job: ErasureJob, ports: ErasurePorts) -> bool:
    ports.directory.delete(job.employee_id)
    return True


def _settled(job: ErasureJob, ports: ErasurePorts, settings: Settings) -> bool:
    """Wait, through the queue's delay, until scans in flight have been recorded."""
    now = ports.clock()
    if job.settle_until is None:
        job.state = "SETTLING"
        job.settle_until = _iso(now + timedelta(seconds=settings.erasure_settle_seconds))
        _save(job, ports)
    remaining = (_parse(job.settle_until) - now).total_seconds()
    if remaining <= 0:
        job.state = "RUNNING"
        return True
    # A redelivered or duplicate message sends again: the final sweep runs once, at DONE.
    ports.queue.send(job.job_id, min(900, math.ceil(remaining)))
    return False


def _in_flight(job: ErasureJob, ports: ErasurePorts, settings: Settings, time_left: TimeLeft) -> bool:
    """Scans the pipeline's guard anonymised because they named this (or another erased)
    employee: their photos and records go too. A scan's day is its capture day, which may
    be the day before the job started."""
    first = _local_day(job.started_at, settings) - timedelta(days=1)
    last = _local_day(ports.now(), settings)
    for offset in range((last - first).days + 1):
        day = (first + timedelta(days=offset)).isoformat()
        pages = _all(
            lambda token, day=day: ports.scans.by_day(  # type: ignore[misc]
                day, PAGE, token, status=Status.UNKNOWN.value, reason_code=EMPLOYEE_ERASED
            )
        )
        for scan in list(pages):
            if scan.processed_at >= job.started_at and scan.scan_id not in job.in_flight:
                _purge(scan.scan_id, job, ports)
                job.in_flight.append(scan.scan_id)
        _save(job, ports)
        if time_left() < SAFETY_SECONDS:
            return False
    return True


def _all(page_of: Callable[[str | None], Any]) -> Iterator[Scan]:
    token: str | None = None
    while True:
        page = page_of(token)
        yield from page.items
        if page.next_token is None:
            return
        token = page.next_token


def _existing(ports: ErasurePorts, job_id: str) -> ErasureJob:
    return _existing_in(ports.jobs, job_id)


def _existing_in(jobs: ErasureJobs, job_id: str) -> ErasureJob:
    job = jobs.get(job_id)
    if job is None:
        raise NotFound(f"no erasure job {job_id}")
    return job


def _save(job: ErasureJob, ports: ErasurePorts) -> None:
    job.updated_at = ports.now()
    ports.jobs.save(job)


def _local_day(iso: str, settings: Settings) -> date:
    return _parse(iso).astimezone(ZoneInfo(settings.timezone)).date()


def _parse(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
