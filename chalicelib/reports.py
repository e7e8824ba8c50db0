"""The daily facilities summary: one local day's scans, aggregated, rendered, mailed once.

The schedule fires hourly; the run in the site's report hour (``FACEGATE_REPORT_HOUR``,
local time, so daylight saving needs no cron edits) sends that day's email. A ledger
entry claimed before sending keeps a retried or repeated run from sending twice, and
carries the day's totals to the next day's comparison, so the report reads one day of
scans from the ``by_day`` index and nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from chalicelib.config import Settings
from chalicelib.display import display_text
from chalicelib.models import Scan, Status
from chalicelib.ports import ImageStore, Mailer, ReportLedger, ScanLog

log = logging.getLogger(__name__)
ALERT_STATUSES = (Status.UNKNOWN, Status.MULTIPLE_FACES, Status.LOW_QUALITY, Status.ERROR)
PAGE_SIZE = 500


@dataclass(frozen=True)
class Admitted:
    """One employee's entries on the day (local times)."""

    employee_id: str
    name: str
    first: str
    last: str
    count: int


@dataclass(frozen=True)
class Alert:
    """One event security and facilities should look at."""

    time: str  # local HH:MM:SS
    camera_id: str
    status: str
    reason: str
    photo_link: str | None


@dataclass(frozen=True)
class DailySummary:
    day: str
    timezone: str
    totals: dict[str, int]
    admitted: list[Admitted]
    alerts: list[Alert]
    arrivals_by_hour: list[int]  # AUTHORIZED entries per local hour, 0–23
    previous_totals: dict[str, int] | None
    scans: list[Scan] = field(repr=False)

    @property
    def total(self) -> int:
        return sum(self.totals.values())

    def change(self) -> dict[str, int] | None:
        """Per status (and ``TOTAL``), today's count minus the previous day's."""
        if self.previous_totals is None:
            return None
        keys = [status.value for status in Status]
        delta = {key: self.totals.get(key, 0) - self.previous_totals.get(key, 0) for key in keys}
        delta["TOTAL"] = self.total - sum(self.previous_totals.values())
        return delta


def summarise(
    day: str,
    scans: list[Scan],
    timezone: str,
    previous_totals: dict[str, int] | None = None,
    photo_link: Callable[[Scan], str | None] = lambda scan: None,
) -> DailySummary:
    """Aggregate one local day's scans (pure: the caller fetched them).

    Every text shown to a reader (ids, names, camera ids, reasons) is one sanitised line.
    """
    zone = ZoneInfo(timezone)
    ordered = sorted(scans, key=lambda scan: scan.captured_at)
    local = {scan.scan_id: _local(scan.captured_at, zone) for scan in ordered}
    totals = {status.value: 0 for status in Status}
    arrivals = [0] * 24
    entries: dict[str, list[Scan]] = {}
    for scan in ordered:
        totals[scan.status.value] += 1
        if scan.status is Status.AUTHORIZED and scan.decision.employee_id:
            arrivals[local[scan.scan_id].hour] += 1
            entries.setdefault(scan.decision.employee_id, []).append(scan)
    admitted = [
        Admitted(
            employee_id=display_text(employee_id, 64),
            name=display_text(visits[-1].decision.employee_name or employee_id, 200),
            first=local[visits[0].scan_id].strftime("%H:%M:%S"),
            last=local[visits[-1].scan_id].strftime("%H:%M:%S"),
            count=len(visits),
        )
        for employee_id, visits in sorted(entries.items(), key=lambda item: item[1][0].captured_at)
    ]
    alerts = [
        Alert(
            time=local[scan.scan_id].strftime("%H:%M:%S"),
            camera_id=display_text(scan.camera_id, 64),
            status=scan.status.value,
            reason=display_text(scan.decision.reason, 300),
            photo_link=photo_link(scan),
        )
        for scan in ordered
        if scan.status in ALERT_STATUSES
    ]
    return DailySummary(day, timezone, totals, admitted, alerts, arrivals, previous_totals, ordered)


@dataclass(frozen=True)
class ReportPorts:
    scans: ScanLog
    images: ImageStore
    mailer: Mailer
    ledger: ReportLedger
    camera_bucket: str


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
        from chalicelib.report_email import compose

        message = compose(summary, report.sender, report.recipients)
        message_id = ports.mailer.send(message)
    except Exception as error:
        log.exception("daily report for %s not sent", day)
        ports.ledger.release(day, f"{type(error).__name__}: {error}"[:300])
        raise
    ports.ledger.sent(day, summary.totals)
    return ReportOutcome(day, True, "sent", message_id, len(summary.scans))


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
        try:
            return ports.images.link(ports.camera_bucket, scan.object_key, scan.object_version, expires)
        except Exception:  # a missing link must not cost the whole report
            log.exception("no link for %s", display_text(scan.object_key))
            return None

    return summarise(day, scans, settings.timezone, ports.ledger.totals(previous), photo_link)


def _local(captured_at: str, zone: ZoneInfo) -> datetime:
    return datetime.fromisoformat(captured_at.replace("Z", "+00:00")).astimezone(zone)
