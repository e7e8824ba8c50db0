"""One local day's scans, aggregated for the daily summary: pure, no I/O.

Its own module so that rendering (``report_email``) and reading and sending (``reports``)
both depend on it and not on each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from chalicelib.core.display import display_text
from chalicelib.core.models import Scan, Status
from chalicelib.reporting.retention_due import RetentionDue
from chalicelib.reporting.thumbnails import Thumbnail

# What alerts security. A DENIED names an employee, a door and a rule, so the report lists
# denials in a section of their own; the others are the "events to review".
ALERT_STATUSES = (Status.DENIED, Status.UNKNOWN, Status.MULTIPLE_FACES, Status.LOW_QUALITY, Status.ERROR)


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
    thumbnail: Thumbnail | None = None  # the face, when the photo is there and thumbnails are on


@dataclass(frozen=True)
class Denial:
    """One recognised employee the access policy kept out: who, which door, when, why."""

    time: str  # local HH:MM:SS
    employee_id: str
    name: str
    door_id: str
    camera_id: str
    reason: str
    reason_code: str
    decided_by: str  # the rule that refused (or came nearest), or "holiday YYYY-MM-DD", or ""
    photo_link: str | None


@dataclass(frozen=True)
class DailySummary:
    day: str
    timezone: str
    totals: dict[str, int]
    admitted: list[Admitted]
    alerts: list[Alert]  # every alert but the denials
    denied: list[Denial]
    arrivals_by_hour: list[int]  # AUTHORIZED entries per local hour, 0–23
    previous_totals: dict[str, int] | None
    scans: list[Scan] = field(repr=False)
    local_times: dict[str, datetime] = field(repr=False)  # scan_id → captured_at in ``timezone``
    # The day's remote door commands from the audit: {"unlock": n, "lockdown": n, "release": n}
    door_commands: dict[str, int] = field(default_factory=dict)
    # The day's door events from the door agents, by kind: {"HELD_OPEN": n, "FORCED_OPEN": n, …}
    door_events: dict[str, int] = field(default_factory=dict)
    retention: RetentionDue = field(default_factory=RetentionDue)

    @property
    def door_commands_sent(self) -> int:
        return sum(self.door_commands.values())

    @property
    def door_events_reported(self) -> list[tuple[str, int]]:
        """The kinds of door event that happened, with their counts (none: an empty list)."""
        return [(kind, count) for kind, count in self.door_events.items() if count]

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
    thumbnail: Callable[[Scan], Thumbnail | None] = lambda scan: None,
) -> DailySummary:
    """Aggregate one local day's scans (pure: the caller fetched them).

    Each scan's local time is computed here once and carried in the summary for the renderers.

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
            thumbnail=thumbnail(scan),  # asked in time order: the day's first events get the faces
        )
        for scan in ordered
        if scan.status in ALERT_STATUSES and scan.status is not Status.DENIED
    ]
    denied = [
        _denial(scan, local[scan.scan_id], photo_link(scan))
        for scan in ordered
        if scan.status is Status.DENIED
    ]
    return DailySummary(
        day, timezone, totals, admitted, alerts, denied, arrivals, previous_totals, ordered, local
    )


def _denial(scan: Scan, local: datetime, photo_link: str | None) -> Denial:
    d = scan.decision
    decided_by = d.access_rule or (f"holiday {d.holiday}" if d.holiday else "")
    return Denial(
        time=local.strftime("%H:%M:%S"),
        employee_id=display_text(d.employee_id or "", 64),  # "" once erased
        name=display_text(d.employee_name or "", 200),
        door_id=display_text(d.door_id or scan.camera_id, 64),
        camera_id=display_text(scan.camera_id, 64),
        reason=display_text(d.reason, 300),
        reason_code=display_text(d.reason_code.value if d.reason_code else "", 64),
        decided_by=display_text(decided_by, 80),
        photo_link=photo_link,
    )


def _local(captured_at: str, zone: ZoneInfo) -> datetime:
    return datetime.fromisoformat(captured_at.replace("Z", "+00:00")).astimezone(zone)
