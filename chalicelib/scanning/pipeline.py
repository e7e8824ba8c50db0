"""``process_upload``: one camera photo in, one recorded and announced door decision out.

Fail closed: every failure becomes a recorded REJECTED or ERROR scan; nothing but a clean
match of one clear face to an active employee whom the access policy lets through this door
at the photo's instant, decided promptly, is AUTHORIZED (a refusal by the policy is DENIED).
S3 delivers events at least once, so the scan id derives from the object version and the
record is a conditional write: only the invocation that wrote it announces it.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from chalicelib.access.control import CurrentPolicy, admit, at_door
from chalicelib.core.config import Settings
from chalicelib.core.display import display_text
from chalicelib.core.errors import (
    NotificationFailed,
    RecordCopyNotWritten,
    RejectedImage,
    ScanNotRecorded,
)
from chalicelib.core.keys import PROCESSED_PREFIX, CameraKey, camera_of, processed_key
from chalicelib.core.local_days import iso_ms
from chalicelib.core.models import Decision, Reason, Scan, Status, Upload
from chalicelib.core.observability import (
    emit_authorized_unannounced,
    emit_record_copy_failed,
    emit_scan_metrics,
    timed,
)
from chalicelib.core.ports import EmployeeDirectory, FaceEngine, ImageStore, Notifier, Recorded, ScanLog
from chalicelib.scanning.freshness import MAX_EVENT_AGE, in_time, judged_at, plausible
from chalicelib.scanning.imaging import normalise
from chalicelib.scanning.outage import alert_unrecorded, describe
from chalicelib.scanning.reading import fetch
from chalicelib.scanning.recognition import decide

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PipelinePorts:
    images: ImageStore
    engine: FaceEngine
    directory: EmployeeDirectory
    scans: ScanLog
    notifier: Notifier
    access: CurrentPolicy


def scan_id_for(upload: Upload) -> str:
    """The idempotency key: the same object version always gives the same scan id.

    ``upload.version_id`` is the version actually read (or looked up) when there was one,
    so an event with and one without ``versionId`` name the same record; the event's
    sequencer or eTag serve only when the object could not be read at all.
    """
    revision = upload.version_id or upload.sequencer or "unversioned"
    digest = hashlib.sha256(f"{upload.bucket}\n{upload.key}\n{revision}".encode())
    return digest.hexdigest()[:32]


def process_upload(
    upload: Upload,
    ports: PipelinePorts,
    settings: Settings,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Scan | None:
    """Decide, record, announce and publish the result of one upload.

    Returns the scan this call recorded, the earlier record for a redelivered event, or
    None for keys that are our own output. Raises ``ScanNotRecorded`` or
    ``NotificationFailed`` when a retry by Lambda can still make things right.
    """
    started = time.perf_counter()
    if upload.key.startswith(PROCESSED_PREFIX):
        log.warning(
            "ignoring our own output %s: the trigger's prefix filter is wrong", display_text(upload.key)
        )
        return None
    camera = camera_of(upload.key)
    fetched = fetch(upload, camera, ports.images, settings)
    # The identity is the version read, whatever the event carried, so that one version
    # gives one record and erasure can delete exactly this photo.
    upload = replace(upload, version_id=fetched.version_id or upload.version_id)
    scan_id = scan_id_for(upload)
    existing = _recorded(ports.scans, scan_id)
    if existing is not None:
        return _redelivered(existing, upload.bucket, ports, settings)
    # The record's time (and so its day, where erasure, the daily report and retention look for
    # it) is S3's LastModified of the version read, never the event's stated time, which its
    # sender chooses; our clock when S3 gave none, or one from the future (a clock gone wrong).
    received = clock()
    stored = fetched.last_modified
    captured = stored if stored is not None and plausible(stored, received, settings.timezone) else received
    instants = lambda: judged_at(fetched.last_modified, clock())  # noqa: E731 - read once asked
    decision = fetched.refusal or _recognise(
        upload.key, fetched.data or b"", ports, settings, camera_id=camera.camera_id, at=instants
    )
    decision = at_door(decision, camera.camera_id, ports.access)
    decided = clock()  # once: the 60 s rule and the record's processed_at name the same instant
    if decision.status.opens_door:
        decision = in_time(decision, fetched.last_modified, decided)
    scan = _scan(scan_id, upload, camera, decision, captured, settings, ports.engine.name, decided)
    try:
        outcome = ports.scans.record(scan)
        if outcome is Recorded.EMPLOYEE_GONE:  # erased meanwhile: keep the event, not the person
            scan = replace(scan, decision=_without_employee(scan.decision))
            outcome = ports.scans.record(scan)
    except Exception as error:
        log.exception("could not record scan %s", scan_id)
        alert_unrecorded(scan, error, upload.bucket, ports.notifier, ports.images)
        raise ScanNotRecorded(f"scan {scan_id} could not be recorded: {error}") from error
    if outcome is not Recorded.WRITTEN:  # a concurrent delivery of the same event won the write
        return _recorded(ports.scans, scan_id)
    elapsed_ms = (time.perf_counter() - started) * 1000
    emit_scan_metrics(settings.stage, scan.status.value, scan.camera_id, elapsed_ms)
    log.info(
        "scan recorded", extra={"scan_id": scan_id, "status": scan.status.value, "ms": round(elapsed_ms)}
    )
    sent = _announce(scan, ports)
    if not sent and scan.status.opens_door:  # never resent late: only the ops alarm tells anyone
        emit_authorized_unannounced(settings.stage)
    copied = _write_result(scan, upload.bucket, ports.images, settings)
    if not sent and not scan.status.opens_door:
        raise NotificationFailed(f"alert for scan {scan_id} not published; retry will resend it")
    if not copied:
        raise RecordCopyNotWritten(f"processed copy of scan {scan_id} not stored; retry will put it")
    return replace(scan, notification="SENT" if sent else "FAILED")


def _recognise(
    key: str,
    data: bytes,
    ports: PipelinePorts,
    settings: Settings,
    *,
    camera_id: str,
    at: Callable[[], tuple[datetime, ...]],
) -> Decision:
    """Recognise the face and ask the access policy about this door at every instant ``at``
    gives once recognition is done: S3's ``LastModified`` and now (``freshness.judged_at``)."""
    try:
        with timed("decode+normalise"):
            image = normalise(data, settings.limits)
    except RejectedImage as error:
        return Decision(Status.REJECTED, reason=str(error), reason_code=Reason.UNUSABLE_IMAGE)
    try:
        result = ports.engine.search(image)
    except RejectedImage as error:  # the engine's service refused the picture itself
        return Decision(Status.REJECTED, reason=str(error), reason_code=Reason.UNUSABLE_IMAGE)
    except Exception as error:
        log.exception("face engine %s failed on %s", ports.engine.name, display_text(key))
        reason = f"face engine failed: {describe(error)}"
        return Decision(Status.ERROR, reason=reason, reason_code=Reason.ENGINE_FAILED)
    employee = None
    if result.best is not None:
        try:
            employee = ports.directory.get(result.best.employee_id)
        except Exception as error:
            log.exception("employee lookup failed for %s", display_text(key))
            reason = f"employee lookup failed: {describe(error)}"
            return Decision(Status.ERROR, reason=reason, reason_code=Reason.DIRECTORY_FAILED)
    decision = decide(result, employee, settings.policy)
    with timed("access policy"):
        return admit(decision, employee, camera_id, at(), ports.access)


def _without_employee(decision: Decision) -> Decision:
    """The decision with nothing left of an employee who is erased or being erased."""
    return replace(
        decision,
        status=Status.UNKNOWN if decision.status.opens_door else decision.status,
        reason="the matched employee is erased or being erased",
        reason_code=Reason.EMPLOYEE_ERASED,
        employee_id=None,
        employee_name=None,
    )


def _scan(
    scan_id: str,
    upload: Upload,
    camera: CameraKey,
    decision: Decision,
    captured: datetime,
    settings: Settings,
    engine: str,
    now: datetime,
) -> Scan:
    local_day = captured.astimezone(ZoneInfo(settings.timezone)).date().isoformat()
    # A photo older than any event can be (a forged year 1) expires as if 15 days old:
    # DynamoDB's TTL ignores items whose time passed more than five years ago.
    kept_from = max(captured, now - MAX_EVENT_AGE)
    return Scan(
        scan_id=scan_id,
        camera_id=camera.camera_id,
        object_key=upload.key,
        object_version=upload.version_id,
        captured_at=iso_ms(captured),
        processed_at=iso_ms(now),
        day=local_day,
        decision=decision,
        engine=engine,
        expires_at=int((kept_from + timedelta(days=settings.retention_days)).timestamp()),
    )


def _announce(scan: Scan, ports: PipelinePorts) -> bool:
    """Publish and remember whether it went out; a failure is logged, not raised here."""
    try:
        ports.notifier.publish(scan)
    except Exception:
        log.exception("could not publish scan %s", scan.scan_id)
        _set_notification(ports.scans, scan.scan_id, "FAILED", expected="PENDING")
        return False
    _set_notification(ports.scans, scan.scan_id, "SENT", expected="PENDING")
    return True


def _redelivered(existing: Scan, bucket: str, ports: PipelinePorts, settings: Settings) -> Scan:
    """A repeated event: put the processed copy where it is missing (the first delivery may have failed to),
    and announce again only an alert whose publication failed before."""
    copied = _write_result(existing, bucket, ports.images, settings, again=True)
    announced = existing
    resend = existing.notification == "FAILED" and not existing.status.opens_door
    # The conditional claim: only the delivery that moves FAILED to PENDING resends it.
    if resend and ports.scans.set_notification(existing.scan_id, "PENDING", expected="FAILED"):
        if not _announce(existing, ports):
            raise NotificationFailed(f"alert for scan {existing.scan_id} still not published")
        announced = replace(existing, notification="SENT")
    if not copied:
        raise RecordCopyNotWritten(f"processed copy of scan {existing.scan_id} still not stored")
    return announced


def _write_result(
    scan: Scan, bucket: str, images: ImageStore, settings: Settings, *, again: bool = False
) -> bool:
    """Put the scan's copy (Athena's row) under its site-local day's partition, where erasure
    finds it from the record; False, counted and logged, when S3 refused it. ``again`` (a
    redelivery): only where no copy is, so a copy that is there gets no new version."""
    key = processed_key(scan.scan_id, scan.day)
    try:
        if again:
            images.ensure_json(bucket, key, scan.to_dict())
        else:
            images.write_json(bucket, key, scan.to_dict())
    except Exception:  # the scan log is the record: the door's decision stands
        log.exception("could not write the processed copy of scan %s", scan.scan_id)
        emit_record_copy_failed(settings.stage)
        return False
    return True


def _recorded(scans: ScanLog, scan_id: str) -> Scan | None:
    try:
        return scans.get(scan_id)
    except Exception:  # the conditional write still guards against duplicates
        log.exception("could not look up scan %s", scan_id)
        return None


def _set_notification(scans: ScanLog, scan_id: str, state: str, *, expected: str) -> None:
    try:
        scans.set_notification(scan_id, state, expected=expected)
    except Exception:
        log.exception("could not mark scan %s as %s", scan_id, state)
