"""The daily facilities summary: one local day's scans, aggregated, rendered, mailed once.

The schedule fires hourly; the run in the site's report hour (``FACEGATE_REPORT_HOUR``,
local time, so daylight saving needs no cron edits) sends that day's email. A ledger
entry claimed before sending keeps a retried or repeated run from sending twice, and
carries the day's totals to the next day's comparison, so the report reads one day of
scans from the ``by_day`` index and nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from chalicelib.access.commands import ACTIONS
from chalicelib.access.remote import AUDIT_TARGET
from chalicelib.core.config import Settings
from chalicelib.core.display import display_text
from chalicelib.core.errors import (
    ObjectGone,
    ObjectUnreadable,
    RejectedImage,
    ReportDayRefused,
    UploadTooLarge,
)
from chalicelib.core.local_days import utc_span
from chalicelib.core.models import AuditEntry, DoorEventKind, Reason, Scan, Upload
from chalicelib.core.ports import AuditTrail, ImageStore, Mailer, ReportLedger, ScanLog
from chalicelib.core.retention import TARGET as RETENTION
from chalicelib.doors.events import TARGET as DOOR_EVENTS_TARGET
from chalicelib.reporting.report_email import compose
from chalicelib.reporting.retention_due import retention_due
from chalicelib.reporting.summary import DailySummary, summarise
from chalicelib.reporting.thumbnails import Thumbnail, ThumbnailBudget, face_thumbnail

log = logging.getLogger(__name__)
PAGE_SIZE = 500


@dataclass(frozen=True)
class ReportPorts:
    scans: ScanLog
    images: ImageStore
    mailer: Mailer
    ledger: ReportLedger
    camera_bucket: str
    audit: AuditTrail | None = None  # the day's door commands and door events; None: not counted


@dataclass(frozen=True)
class ReportOutcome:
    day: str
    sent: bool
    reason: str
    message_id: str | None = None
    scans: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            "day": self.day,
            "sent": self.sent,
            "reason": self.reason,
            "message_id": self.message_id,
            "scans": self.scans,
        }


def run_daily_report(
    ports: ReportPorts, settings: Settings, now: datetime, day: str | None = None
) -> ReportOutcome:
    """Send the day's email if it is due and not yet sent; raise if sending fails.

    ``day`` given (a manual run) sends that day's report whatever the hour.
    """
    report = settings.report
    if not report.sender or not report.recipients:
        raise ValueError("FACEGATE_REPORT_FROM and FACEGATE_REPORT_TO must be set")
    local_now = now.astimezone(ZoneInfo(settings.timezone))
    if day is not None:
        day = date.fromisoformat(day).isoformat()  # a manual run's day must be a date
    if day is None:
        if local_now.hour != report.hour:
            return ReportOutcome(local_now.date().isoformat(), False, f"not {report.hour}:00 local yet")
        day = local_now.date().isoformat()
    if not ports.ledger.claim(day):
        return ReportOutcome(day, False, "already sent")
    try:
        summary = build_summary(day, ports, settings)
        message = compose(summary, report.sender, report.recipients)
        message_id = ports.mailer.send(message)
    except Exception as error:
        log.exception("daily report for %s not sent", day)
        ports.ledger.release(day, f"{type(error).__name__}: {error}"[:300])
        raise
    ports.ledger.sent(day, summary.totals)
    return ReportOutcome(day, True, "sent", message_id, len(summary.scans))


def latest_due_day(now: datetime, settings: Settings) -> str:
    """Today once the report hour has come, else yesterday: never a day the schedule has yet
    to send (sending today at noon would make the 18:00 run find it "already sent")."""
    local_now = now.astimezone(ZoneInfo(settings.timezone))
    today = local_now.date()
    return (today if local_now.hour >= settings.report.hour else today - timedelta(days=1)).isoformat()


def report_overdue(ledger: ReportLedger, settings: Settings, now: datetime) -> bool:
    """Whether the latest day whose report was due an hour ago or more went unsent.

    A day's deadline is an hour after its report hour begins, site time: until today's
    deadline the day judged is yesterday (a failure stays visible until a later report
    goes out), from it on, today. The report function emits this as a gauge every hour.
    """
    zone = ZoneInfo(settings.timezone)
    day = now.astimezone(zone).date()
    if now.astimezone(UTC) < _deadline(day, settings.report.hour, zone):
        day -= timedelta(days=1)
    return ledger.totals(day.isoformat()) is None  # the ledger keeps totals only for a sent day


def _deadline(day: date, hour: int, zone: ZoneInfo) -> datetime:
    """An hour of real time after ``hour`` begins on ``day`` (a skipped hour counts from its end)."""
    return datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC) + timedelta(hours=1)


def send_now(ports: ReportPorts, settings: Settings, now: datetime, day: str | None = None) -> ReportOutcome:
    """An admin's "send it now": ``day`` (by default the latest one due), once per day as ever.

    Only days the schedule has had its turn at and whose scans are still kept:
    ``ReportDayRefused`` for a later day (claiming it would stop the scheduled run from
    sending it) or one older than ``retention_days`` (its scans are gone).
    """
    latest = date.fromisoformat(latest_due_day(now, settings))
    wanted = latest if day is None else date.fromisoformat(day)
    earliest = latest - timedelta(days=settings.retention_days)
    if wanted > latest:
        raise ReportDayRefused(f"{wanted} is not due yet: the latest day that may be sent now is {latest}")
    if wanted < earliest:
        raise ReportDayRefused(
            f"{wanted} is older than the {settings.retention_days} days of scans kept (from {earliest})"
        )
    return run_daily_report(ports, settings, now, wanted.isoformat())


def build_summary(day: str, ports: ReportPorts, settings: Settings) -> DailySummary:
    """Read the day from the ``by_day`` index (every page) and the previous day's totals."""
    scans: list[Scan] = []
    token: str | None = None
    while True:
        page = ports.scans.by_day(day, PAGE_SIZE, token)
        scans.extend(page.items)
        if page.next_token is None:
            break
        token = page.next_token
    previous = (date.fromisoformat(day) - timedelta(days=1)).isoformat()
    expires = settings.report.link_days * 86400

    def photo_link(scan: Scan) -> str | None:
        if scan.photo_erased:  # a link to a deleted version, naming the photo: none at all
            return None
        try:
            return ports.images.link(ports.camera_bucket, scan.object_key, scan.object_version, expires)
        except Exception:  # a missing link must not cost the whole report
            log.exception("no link for %s", display_text(scan.object_key))
            return None

    thumbnail = face_thumbnails(ports, settings)
    summary = summarise(day, scans, settings.timezone, ports.ledger.totals(previous), photo_link, thumbnail)
    if ports.audit is None:
        return summary
    return replace(
        summary,
        door_commands=door_commands(ports.audit, day, settings.timezone),
        door_events=door_events(ports.audit, day, settings.timezone),
        retention=retention_due(
            audit_of_day(ports.audit, RETENTION, day, settings.timezone),
            settings.timezone,
            settings.retention.inactive_days,
        ),
    )


def door_commands(audit: AuditTrail, day: str, timezone: str) -> dict[str, int]:
    """How many remote unlocks, lockdowns and releases were sent on the site's local ``day``:
    one Query of the audit's door-command partition (``access.remote.AUDIT_TARGET``)."""
    return _counted(audit_of_day(audit, AUDIT_TARGET, day, timezone), ACTIONS)


def door_events(audit: AuditTrail, day: str, timezone: str) -> dict[str, int]:
    """How many door events of each kind the door agents reported on the local ``day`` (held
    open, forced open, …): one Query of the audit's door-event partition."""
    return _counted(audit_of_day(audit, DOOR_EVENTS_TARGET, day, timezone), [k.value for k in DoorEventKind])


def audit_of_day(audit: AuditTrail, target: str, day: str, timezone: str) -> list[AuditEntry]:
    """``target``'s audit entries of the site's local ``day``."""
    return audit.between(target, *utc_span(day, timezone))


def _counted(entries: list[AuditEntry], names: Iterable[str]) -> dict[str, int]:
    counts = dict.fromkeys(names, 0)
    for entry in entries:
        action = entry.action.removeprefix("door.")
        if action in counts:
            counts[action] += 1
    return counts


def _names_someone(scan: Scan) -> bool:
    """A face the record ties to an employee (an ERROR after a match, a scan of someone being
    erased) is never mailed: the email cannot be recalled, and the record says who it was."""
    d = scan.decision
    return d.employee_id is not None or d.reason_code is Reason.EMPLOYEE_ERASED


def face_thumbnails(ports: ReportPorts, settings: Settings) -> Callable[[Scan], Thumbnail | None]:
    """The face of a scan to review, within one email's budget; None when thumbnails are off,
    the scan has no face box, the budget is spent, or its photo is gone, unreadable or refused
    (the report goes out without it)."""
    budget = ThumbnailBudget()

    def thumbnail(scan: Scan) -> Thumbnail | None:
        box = scan.decision.face_box
        if not settings.report.thumbnails or box is None or budget.spent or _names_someone(scan):
            return None
        photo = Upload(ports.camera_bucket, scan.object_key, scan.object_version, None, scan.captured_at)
        try:
            stored = ports.images.read(photo, settings.limits.max_bytes)
            made = face_thumbnail(stored.data, box, settings.limits)
        except (ObjectGone, ObjectUnreadable, UploadTooLarge, RejectedImage) as error:  # not to show
            log.info("no thumbnail for %s: %s", display_text(scan.object_key), display_text(error))
            return None
        except Exception:
            log.exception("no thumbnail for %s", display_text(scan.object_key))
            return None
        return made if budget.admit(made) else None

    return thumbnail
