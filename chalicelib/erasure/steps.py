"""The erasure job's steps (see ``chalicelib.erasure.job``): each idempotent, each saving its
progress on the job, each returning False when it stopped early (out of time, or waiting)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.access.policy import AccessKey, Rule, entry_key
from chalicelib.access.ports import MAX_ACCESS_CHANGES, AccessStore
from chalicelib.core.config import Settings
from chalicelib.core.errors import (
    AccessPolicyUnsettled,
    ObjectGone,
    ObjectUnreadable,
    RejectedImage,
    UploadTooLarge,
)
from chalicelib.core.keys import legacy_processed_key, processed_key
from chalicelib.core.models import AuditEntry, ErasureJob, Reason, Scan, Status, Upload
from chalicelib.core.ports import (
    AuditLog,
    ConsentLedger,
    EmployeeDirectory,
    ErasureEngine,
    ErasureJobs,
    ErasureQueue,
    ImageStore,
    PendingFaces,
    ScanLog,
)
from chalicelib.scanning.imaging import normalise

TimeLeft = Callable[[], float]  # seconds this invocation may still run
Clock = Callable[[], datetime]


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
    access: AccessStore
    consents: ConsentLedger  # their consents end with the job (kept, marked: the auditor's proof)
    pending: PendingFaces  # drop-folder photos held for approval (``enrollment.pending``)
    # The local engine's gallery bookkeeping, given the employee id: their id stripped from
    # the change log and the packed snapshot published again without the faces just removed
    # (their embeddings must not wait for the schedule); nothing for Rekognition.
    erase_from_gallery: Callable[[str], object] = lambda employee_id: None
    clock: Clock = lambda: datetime.now(UTC)

    def now(self) -> str:
        return iso(self.clock())

    def log(self, actor: str, action: str, target: str, **details: Any) -> None:
        self.audit.record(AuditEntry(self.now(), actor, action, target, details))


# Statuses whose photo may show the employee without naming them. ERROR too: a photo the
# engine failed on (or decided too late) was never searched to the end.
UNLINKED = frozenset({Status.MULTIPLE_FACES, Status.UNKNOWN, Status.LOW_QUALITY, Status.ERROR})
# The pipeline's reason_code for a scan that named an employee being erased (its guard).
EMPLOYEE_ERASED = Reason.EMPLOYEE_ERASED.value
# Commits the access step may lose in a row before it gives up for this delivery: each lost
# one means an admin's edit landed between its read and its write (milliseconds apart).
ACCESS_ATTEMPTS = 5
PAGE = 25  # scans per page: a page of photo checks stays well inside the safety margin
SAFETY_SECONDS = 90.0  # stop and continue in a new invocation with this much time left


def search(job: ErasureJob, ports: ErasurePorts, settings: Settings, time_left: TimeLeft) -> bool:
    # From the job's first day back over the retention window, plus two days: DynamoDB's
    # TTL and S3's lifecycle remove expired items up to about two days late.
    first = local_day(job.started_at, settings)
    days = [first - timedelta(days=back) for back in range(settings.retention_days + 3)]
    job.days_total = len(days)
    while job.days_searched < len(days):
        day = days[job.days_searched].isoformat()
        page = ports.scans.by_day(day, PAGE, job.search_token)
        for scan in page.items:
            if scan.status in UNLINKED and scan.decision.employee_id != job.employee_id:
                job.photos_checked += 1
                if scan.scan_id not in job.found and _shows(scan, job, ports, settings):
                    job.found.append(scan.scan_id)
        if page.next_token:
            job.search_token = page.next_token
        else:
            job.days_searched, job.search_token = job.days_searched + 1, None
        save(job, ports)
        if time_left() < SAFETY_SECONDS:
            return job.days_searched == len(days)
    return True


def _shows(scan: Scan, job: ErasureJob, ports: ErasurePorts, settings: Settings) -> bool:
    """Does the engine see the employee in the scan's photo? A photo that is gone has nothing
    to erase; one that may not be read for good (archived, SSE-C, a KMS key or a permission we
    lack, a key S3 refuses) or is not an image is one the engine could not see them in either:
    counted on the job, never a failure, or one such upload would block every erasure for the
    retention window. Throttling and 5xx are raised: the queue delivers the job again."""
    upload = Upload(ports.camera_bucket, scan.object_key, scan.object_version, None, scan.captured_at)
    try:
        image = normalise(ports.images.read(upload, settings.limits.max_bytes).data, settings.limits)
    except ObjectGone:
        return False
    except (ObjectUnreadable, UploadTooLarge, RejectedImage):
        job.photos_unreadable += 1
        return False
    return ports.engine.shows_employee(image, job.employee_id)


def recorded_meanwhile(job: ErasureJob, ports: ErasurePorts, settings: Settings, time_left: TimeLeft) -> bool:
    """The photos recorded since the job started and never linked to them (``search`` had
    paged past their day), checked while their faces are still enrolled: those that show
    them are purged as ``unlinked`` purges. A resumed job checks again (no photo is purged
    twice). Every day a scan recorded meanwhile may be filed under (``meanwhile_days``)."""
    for day in meanwhile_days(job, ports, settings):
        for scan in list(_all(lambda token, day=day: ports.scans.by_day(day, PAGE, token))):  # type: ignore[misc]
            if scan.processed_at < job.started_at or scan.status not in UNLINKED:
                continue
            if scan.decision.employee_id == job.employee_id or scan.scan_id in job.found:
                continue
            job.photos_checked += 1
            if _shows(scan, job, ports, settings):
                job.found.append(scan.scan_id)
                _purge(scan.scan_id, job, ports)
        save(job, ports)
        if time_left() < SAFETY_SECONDS:
            return False
    return True


def remove_faces(job: ErasureJob, ports: ErasurePorts) -> bool:
    if job.faces_removed is None:  # counted once: a resumed job finds none left
        job.faces_removed = len(ports.engine.list_faces(job.employee_id))
        save(job, ports)
    ports.engine.remove_faces(job.employee_id)
    ports.erase_from_gallery(job.employee_id)  # idempotent: a resumed job strips and publishes again
    return True


def linked(job: ErasureJob, ports: ErasurePorts, time_left: TimeLeft) -> bool:
    # Collected first: anonymising drops a scan from the index being paged through.
    linked = list(_all(lambda token: ports.scans.by_employee(job.employee_id, 100, token)))
    if job.step == "final":
        # A camera invocation that recorded a scan before the erasure began may write its
        # processed copy (their id and name) after the first sweep deleted it: once settled,
        # every copy of a scan this job touched goes again, in both layouts.
        for key in job.copies + [legacy_processed_key(scan_id) for scan_id in job.anonymised + job.purged]:
            ports.images.delete(ports.camera_bucket, key)
    for count, scan in enumerate(linked):
        _delete_photo(scan, job, ports)
        ports.scans.anonymise(scan.scan_id)
        if scan.scan_id not in job.anonymised:
            job.anonymised.append(scan.scan_id)
        if count % PAGE == PAGE - 1:
            save(job, ports)
            if time_left() < SAFETY_SECONDS:
                return False
    return True


def unlinked(job: ErasureJob, ports: ErasurePorts, time_left: TimeLeft) -> bool:
    for scan_id in [scan_id for scan_id in job.found if scan_id not in job.purged]:
        _purge(scan_id, job, ports)
        if time_left() < SAFETY_SECONDS:
            save(job, ports)
            return False
    return True


def _purge(scan_id: str, job: ErasureJob, ports: ErasurePorts) -> None:
    scan = ports.scans.get(scan_id)
    if scan is not None:
        _delete_photo(scan, job, ports)
        ports.scans.delete(scan_id)
    if scan_id not in job.purged:
        job.purged.append(scan_id)


def _delete_photo(scan: Scan, job: ErasureJob, ports: ErasurePorts) -> None:
    """The camera photo's version and every version of the processed copy, in its day's
    partition and where versions before the partitions wrote it. The partitioned key is kept
    on the job: the final sweep deletes it again after a purged scan's record (and with it
    the day) is gone."""
    ports.images.delete(ports.camera_bucket, scan.object_key, scan.object_version)
    copy = processed_key(scan.scan_id, scan.day)
    if copy not in job.copies:
        job.copies.append(copy)
    for key in (copy, legacy_processed_key(scan.scan_id)):
        ports.images.delete(ports.camera_bucket, key)


def end_consents(job: ErasureJob, ports: ErasurePorts) -> bool:
    """Mark every consent of the employee not yet withdrawn as withdrawn by this job (kept for
    the auditor, never deleted): a consent is one person's, so none may cover whoever is
    given the id next. Run as the job begins and again just before the tombstone lifts (a
    consent written meanwhile by a request that read the employee before the erasure)."""
    ended = ports.consents.withdraw(job.employee_id, ports.now(), f"erasure {job.job_id}")
    if ended:
        ports.log(job.actor, "consent.end", job.employee_id, job_id=job.job_id, ended=ended)
    return True


def purge_pending(job: ErasureJob, ports: ErasurePorts) -> bool:
    """Their drop-folder photos held for approval, every version: approved after the id is
    created again, one would enroll this person's face under someone else. In ``final``,
    after the settle: a drop in flight when the job began may hold one late."""
    purged = ports.pending.purge_employee(job.employee_id)
    if purged:
        ports.log("erasure", "erasure.pending", job.employee_id, job_id=job.job_id, photos=purged)
    return True


def delete_employee(job: ErasureJob, ports: ErasurePorts) -> bool:
    """The tombstone lifts: noted on the job first (a redelivery after this knows the id may
    be someone new's), then deleted only while it is still this job's mark."""
    if not job.tombstone_lifted:
        job.tombstone_lifted = True
        save(job, ports)
    ports.directory.end_erasure(job.employee_id, job.job_id)
    return True


def remove_from_access_rules(job: ErasureJob, ports: ErasurePorts) -> bool:
    """Their id out of every access rule's ``employees`` (a rule that then names no group and
    no employee is deleted), committed at the version read: read again when it moved.

    Their group memberships live on the employee item and went with it. A pristine store
    names no one and stays pristine (a commit would drop the built-in rule)."""
    lost = 0
    while True:  # each commit that lands names them in fewer rules
        snapshot = ports.access.load()
        put, delete = _rules_without(job.employee_id, snapshot.rules)
        if not put and not delete:
            return True
        put = put[:MAX_ACCESS_CHANGES]  # more than one commit holds: the rest next time round
        delete = delete[: MAX_ACCESS_CHANGES - len(put)]
        if not ports.access.commit(snapshot.version, put=put, delete=delete):
            lost += 1
            if lost == ACCESS_ATTEMPTS:  # the queue delivers the job again
                raise AccessPolicyUnsettled(f"the access rules changed under {lost} of its commits")


def _rules_without(employee_id: str, rules: tuple[Rule, ...]) -> tuple[list[Rule], list[AccessKey]]:
    put: list[Rule] = []
    delete: list[AccessKey] = []
    for rule in rules:
        if employee_id in rule.employees:
            kept = replace(rule, employees=rule.employees - {employee_id})
            if kept.groups or kept.employees:
                put.append(kept)
            else:
                delete.append(entry_key(rule))
    return put, delete


def settled(job: ErasureJob, ports: ErasurePorts, settings: Settings) -> bool:
    """Wait, through the queue's delay, until scans in flight have been recorded."""
    now = ports.clock()
    if job.settle_until is None:
        job.state = "SETTLING"
        job.settle_until = iso(now + timedelta(seconds=settings.erasure_settle_seconds))
        save(job, ports)
    remaining = (parse(job.settle_until) - now).total_seconds()
    if remaining <= 0:
        job.state = "RUNNING"
        return True
    # A redelivered or duplicate message sends again: the final sweep runs once, at DONE.
    ports.queue.send(job.job_id, min(900, math.ceil(remaining)))
    return False


def in_flight(job: ErasureJob, ports: ErasurePorts, settings: Settings, time_left: TimeLeft) -> bool:
    """Scans the pipeline's guard anonymised because they named this (or another erased)
    employee: their photos and records go too, whatever day they are filed under
    (``meanwhile_days``)."""
    for day in meanwhile_days(job, ports, settings):
        pages = _all(
            # any status: a match decided too late is an ERROR that named them all the same
            lambda token, day=day: ports.scans.by_day(  # type: ignore[misc]
                day, PAGE, token, reason_code=EMPLOYEE_ERASED
            )
        )
        for scan in list(pages):
            if scan.processed_at >= job.started_at and scan.scan_id not in job.in_flight:
                _purge(scan.scan_id, job, ports)
                job.in_flight.append(scan.scan_id)
        save(job, ports)
        if time_left() < SAFETY_SECONDS:
            return False
    return True


def meanwhile_days(job: ErasureJob, ports: ErasurePorts, settings: Settings) -> list[str]:
    """The days a scan recorded since the job started may be filed under, oldest first. Its
    day is S3's LastModified of the photo (never a time its event states), so a photo stored
    long before the job (a dead letter replayed, an old version's event) is filed under its
    own day: every day ``search`` covers (the retention window, + 2 for the lifecycle's lag:
    no older photo is left to record), to today."""
    first = local_day(job.started_at, settings) - timedelta(days=settings.retention_days + 2)
    last = local_day(ports.now(), settings)
    return [(first + timedelta(days=offset)).isoformat() for offset in range((last - first).days + 1)]


def _all(page_of: Callable[[str | None], Any]) -> Iterator[Scan]:
    token: str | None = None
    while True:
        page = page_of(token)
        yield from page.items
        if page.next_token is None:
            return
        token = page.next_token


def save(job: ErasureJob, ports: ErasurePorts) -> None:
    job.updated_at = ports.now()
    ports.jobs.save(job)


def local_day(iso: str, settings: Settings) -> date:
    return parse(iso).astimezone(ZoneInfo(settings.timezone)).date()


def parse(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
