"""The daily facilities summary: one local day's scans, aggregated, rendered, mailed once.

The schedule fires hourly; the first run at or after the site's report hour
(``FACEGATE_REPORT_HOUR``, local time, so daylight saving needs no cron edits: an hour the
spring change skips is due at its end, one the autumn change repeats at its first
occurrence) sends that day's email, and a later run that day retries a failed one. A ledger
entry claimed before sending keeps a retried or repeated run from sending twice (the claim
is a lease of ``FACEGATE_REPORT_TIMEOUT_SECONDS``, the function's timeout: a run that died
mid-send cannot hold the day for ever), and
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

    The schedule's run (no ``day``) sends the site's day once its report hour has begun
    (``due_days``): the first hourly run at or after it sends, a later run that day retries
    one that failed. ``day`` given (a manual run) sends that day's report whatever the hour.
    """
    report = settings.report
    if not report.sender or not report.recipients:
        raise ValueError("FACEGATE_REPORT_FROM and FACEGATE_REPORT_TO must be set")
    if day is not None:
        return _send(ports, settings, now, date.fromisoformat(day).isoformat())  # a date, or ValueError
    due = due_days(now, settings)
    if not due:
        local_today = now.astimezone(ZoneInfo(settings.timezone)).date().isoformat()
        return ReportOutcome(local_today, False, f"not {report.hour}:00 local yet")
    outcomes = [_send(ports, settings, now, each) for each in due]
    return outcomes[-1]


def _send(ports: ReportPorts, settings: Settings, now: datetime, day: str) -> ReportOutcome:
    """Claim ``day`` (a lease of the function's timeout), build, mail, and mark it sent."""
    report = settings.report
    claim = ports.ledger.claim(day, now, report.timeout_seconds)
    if claim is None:
        return ReportOutcome(day, False, "already sent")
    try:
        summary = build_summary(day, ports, settings)
        message = compose(summary, report.sender, report.recipients)
        message_id = ports.mailer.send(message)
    except Exception as error:
        log.exception("daily report for %s not sent", day)
        ports.ledger.release(day, f"{type(error).__name__}: {error}"[:300], claim)
        raise
    if not ports.ledger.sent(day, summary.totals, claim):
        # Our claim ran out and another run holds the day: its outcome is the ledger's.
        log.warning("daily report for %s sent after its claim expired", day)
    return ReportOutcome(day, True, "sent", message_id, len(summary.scans))


def report_due_at(day: date, hour: int, zone: ZoneInfo) -> datetime:
    """When ``day``'s report falls due: the first instant at or after ``hour``:00 local, as
    UTC. An hour spring-forward skips is due at the gap's end (02:00 that never was is 03:00);
    an hour fall-back repeats is due at its first occurrence (``fold=0``), once."""
    return datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC)


def due_days(now: datetime, settings: Settings) -> list[str]:
    """The days the scheduled run at ``now`` must send if not sent yet: the site's day once
    its report is due ("since" its hour, not "in" it, so a skipped hour is sent at the first
    run after it). A day is the charge of the runs of the local date its due instant falls on
    (a report hour skipped past midnight makes yesterday today's charge), so no day is missed."""
    zone = ZoneInfo(settings.timezone)
    today = now.astimezone(zone).date()
    days = []
    for day in (today - timedelta(days=1), today):
        due = report_due_at(day, settings.report.hour, zone)
        if due.astimezone(zone).date() == today and now >= due:
            days.append(day.isoformat())
    return days


def latest_due_day(now: datetime, settings: Settings) -> str:
    """Today once its report is due (``report_due_at``), else yesterday: never a day the schedule
    has yet to send (sending today at noon would make the 18:00 run find it "already sent")."""
    zone = ZoneInfo(settings.timezone)
    today = now.astimezone(zone).date()
    due = now >= report_due_at(today, settings.report.hour, zone)
    return (today if due else today - timedelta(days=1)).isoformat()


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
    """An hour of real time after the day's report falls due (a skipped hour counts from its end)."""
    return report_due_at(day, hour, zone) + timedelta(hours=1)


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
