"""The daily report's retention section: what the day's retention sweep erased and who is due
soon, read from its audit entries (``core.retention``). Pure, like ``summary``."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from chalicelib.core import retention
from chalicelib.core.display import display_text
from chalicelib.core.models import AuditEntry


@dataclass(frozen=True)
class RetentionDue:
    """What the day's retention sweep did and found (``core.retention``): erasures it started,
    and who is due within the notice period (``FACEGATE_RETENTION_INACTIVE_DAYS``)."""

    notice_days: int = 0
    erased: list[tuple[str, str]] = field(default_factory=list)  # (employee id, rule)
    due_soon: list[tuple[str, str, str]] = field(default_factory=list)  # (employee id, local day, rule)
    due_soon_total: int = 0  # more than listed when the sweep's entries were cut
    swept: bool = False  # the day's sweep went through every employee


def retention_due(entries: list[AuditEntry], timezone: str, notice_days: int) -> RetentionDue:
    """The day's retention entries (the audit's ``core.retention.TARGET``) as the report shows them."""
    zone = ZoneInfo(timezone)
    erased = [
        (display_text(e.details.get("employee_id"), 64), display_text(e.details.get("rule"), 16))
        for e in entries
        if e.action == retention.ERASE
    ]
    sweeps = [e.details for e in entries if e.action == retention.SWEEP]
    soon: dict[str, tuple[str, str, str]] = {}
    for details in sweeps:
        for due in details.get("due_soon") or []:
            who = display_text(due.get("employee_id"), 64)
            day = retention.parse(str(due.get("due"))).astimezone(zone).date().isoformat()
            soon[who] = (who, day, display_text(due.get("rule"), 16))
    listed = sorted(soon.values(), key=lambda due: (due[1], due[0]))
    total = max(len(listed), sum(int(d.get("due_soon_total") or 0) for d in sweeps))
    swept = any(bool(d.get("done")) for d in sweeps)
    return RetentionDue(notice_days, erased, listed, total, swept)
