"""Times as the records store them: an instant as UTC ISO-8601 with milliseconds (``iso_ms``), and
a site's local day as a span of such instants (what the audit's time-sorted entries are read by)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from chalicelib.core.errors import BadRequest


def utc_span(day: str, timezone: str) -> tuple[str, str]:
    """``day``'s local midnight and the next one (23 or 25 hours apart across a clock change),
    as UTC ISO-8601 with milliseconds: the start inclusive, the end exclusive."""
    zone = ZoneInfo(timezone)
    first = date.fromisoformat(day)
    try:  # the calendar's edges (0001-01-01 east of UTC, 9999-12-31) fall off datetime's range
        start = datetime.combine(first, time(0), tzinfo=zone)
        end = datetime.combine(first + timedelta(days=1), time(0), tzinfo=zone)
        return iso_ms(start), iso_ms(end)
    except OverflowError:
        raise BadRequest(f"day {day} is out of range") from None


def iso_ms(moment: datetime) -> str:
    """``moment`` in UTC as ISO-8601 with milliseconds and ``Z``: "2026-03-08T14:30:00.000Z"."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
