"""When a scan is judged: S3's clock for the version read and ours, never the event's.

An S3 event's ``eventTime`` is whatever its sender wrote: whoever may invoke the camera
function or write the failed-scans queue can state it. ``LastModified`` of the version read
is S3's own stamp and the decision time is ours, so the access policy and the 60 s rule read
only those (``docs/decisions/judged-at-last-modified.md``):

- access must hold at *both* instants (``judged_at``): the narrower window, so a schedule end,
  a pass end or a holiday boundary is never stretched by the delay between them;
- freshness is measured from the older of the two (``in_time``), and a ``LastModified`` from
  the future beyond S3's clock skew (or none) fails closed.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from chalicelib.core.local_days import iso_ms
from chalicelib.core.models import Decision, Reason, Status

# A decision reached this long after the photo was stored (a retry, a backlog) never
# opens the door: the person has gone, someone else may be standing there.
MAX_AUTHORIZE_DELAY = timedelta(seconds=60)
MAX_CLOCK_SKEW = timedelta(seconds=5)  # between S3's clock, which stamps the object, and ours
MAX_EVENT_AGE = timedelta(days=15)  # the dead-letter queue keeps an event 14 days, Lambda retries 6 h


def judged_at(stored: datetime | None, now: datetime) -> tuple[datetime, ...]:
    """The instants the access policy must allow: when S3 stored the photo and now (only now
    when S3 gave no time: ``in_time`` then refuses to open the door anyway)."""
    return (now,) if stored is None else tuple(sorted({stored, now}))


def in_time(decision: Decision, stored: datetime | None, now: datetime) -> Decision:
    """An opening decision stands only for a photo S3 stored recently, by S3's
    ``LastModified`` of the version read (a forged or replayed event can carry any
    ``eventTime``, never a fresh ``LastModified``), measured from the older of it and now.
    None, or one later than ours by more than the skew (a clock gone wrong), fails closed."""
    if stored is None:
        reason = "the photo's time cannot be read, so the door is not opened"
    elif stored - now > MAX_CLOCK_SKEW:
        reason = f"the photo's time is in the future ({iso_ms(stored)}), so the door is not opened"
    elif now - min(stored, now) > MAX_AUTHORIZE_DELAY:
        reason = f"decided too late to open the door (photo taken at {iso_ms(stored)})"
    else:
        return decision
    return replace(decision, status=Status.ERROR, reason=reason, reason_code=Reason.TOO_LATE)


def plausible(taken: datetime, now: datetime, timezone: str) -> bool:
    """Whether a stated time can stand on the record: on the site's calendar, not from the future."""
    try:
        taken.astimezone(ZoneInfo(timezone))  # the record's day is on the site's calendar
    except OverflowError:
        return False
    return taken <= now + MAX_CLOCK_SKEW
