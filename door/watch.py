"""Whether the door's openings were allowed: a state machine over the door contact and exit button.

``DoorWatch`` has no threads and no clock of its own: every call takes ``now``
(``time.monotonic()`` seconds), and ``door_changed`` and ``tick`` return the events that arise
by then. The agent feeds it the contact and the exit button, tells it when it released the
lock, and ticks it a few times a second; tests say what time it is.

The rules:

- An opening is legitimate within an unlock window (plus ``unlock_grace_seconds``) or within
  ``exit_window_seconds`` after an exit press. The grace also covers the other order: a contact
  report that reaches the watch a moment before the unlock or the press that allowed it.
  Otherwise the opening is FORCED_OPEN, reported as soon as the contact has settled.
- A legitimate opening still open ``held_open_seconds`` later is HELD_OPEN, reported once. While
  the agent keeps the lock released (an unlock longer than that, or unlocks that extend it as
  people keep coming), the open door is what was asked for: HELD_OPEN waits for the release to end.
- Closing after HELD_OPEN or FORCED_OPEN is CLOSED, with how long the door was open.

Debounce: a change of the contact counts only once the contact has stayed in its new position
for ``debounce_seconds``; it is then dated from the moment the contact first left the old one.
So a contact that bounces gives at most one change (and so at most one event) per real change
of the door, and none while it bounces.

A contact fault: a contact that has not settled for ``fault_seconds`` (it chatters, or a cut
wire flaps) is CONTACT_FAULT, reported once, and from then on the door is taken as open since
the contact began to move: an opening no unlock or exit press covered at that moment is
FORCED_OPEN (once), and HELD_OPEN runs as for an open door. Someone forcing the door while the
contact chatters cannot hide behind the chatter. When the contact settles again, the watch goes
back to normal: settled open, the door stays the opening it was taken for (no second event);
settled closed, it closed when the contact last changed (CLOSED if an alarm was on).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from door.ports import DoorEvent, DoorEventKind


@dataclass(frozen=True)
class WatchSettings:
    """The door's timings, in seconds."""

    held_open_seconds: float = 30.0
    exit_window_seconds: float = 5.0  # after an exit (REX) press, the door may open this long
    debounce_seconds: float = 0.2
    unlock_grace_seconds: float = 1.0  # around an unlock window (people are not instant)
    fault_seconds: float = 10.0  # a contact unsettled this long is a fault, and the door taken as open

    def __post_init__(self) -> None:
        names = ("held_open_seconds", "exit_window_seconds", "debounce_seconds", "unlock_grace_seconds")
        for name in (*names, "fault_seconds"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a number of seconds ≥ 0, not {value!r}")
        if self.held_open_seconds == 0:
            raise ValueError("held_open_seconds must be more than 0")
        if self.fault_seconds <= self.debounce_seconds:  # or every change would be a fault
            raise ValueError("fault_seconds must be more than debounce_seconds")


DEFAULT_SETTINGS = WatchSettings()
# Moments this close are the same moment: 10.0 + 0.2 is not quite 10.2 in floating point.
TIME_TOLERANCE = 1e-6


@dataclass(frozen=True)
class DoorState:
    """What the status page shows: open or closed, since when (epoch seconds), the alarm."""

    is_open: bool
    since: float
    alarm: DoorEventKind | None  # FORCED_OPEN or HELD_OPEN until the door closes


@dataclass
class _Window:
    """A stretch of monotonic time in which the door may open."""

    start: float = -math.inf
    end: float = -math.inf

    def extend(self, now: float, end: float) -> None:
        if now > self.end:  # the last one is over: a new window
            self.start = now
        self.end = max(self.end, end)

    def holds(self, moment: float, grace_before: float, grace_after: float) -> bool:
        return self.start - grace_before <= moment <= self.end + grace_after


@dataclass
class _Contact:
    """The door contact as reported (raw) and as believed (settled)."""

    is_open: bool  # settled
    moment: float  # when the settled position began (monotonic)
    raw_open: bool
    raw_since: float  # the last report that changed it
    # When the contact first left the settled position in the current run of reports; None
    # while it rests there. After this moment, where the door is is not known yet.
    unsettled_since: float | None = field(default=None)
    # Unsettled for fault_seconds: reported, and the door taken as open until it settles.
    faulty: bool = False


class DoorWatch:
    """One door's contact and exit button, judged against its unlocks.

    Not thread-safe: the agent calls it from one thread (or under one lock), with the
    ``time.monotonic()`` of each report.

    ``is_open`` is the door at start: a door found open is not an alarm by itself, but
    HELD_OPEN follows if it stays open ``held_open_seconds``.
    """

    def __init__(
        self,
        door_id: str,
        settings: WatchSettings = DEFAULT_SETTINGS,
        *,
        now: float,
        is_open: bool = False,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._door_id = door_id
        self._settings = settings
        self._wall = wall
        self._contact = _Contact(is_open, now, is_open, now)
        self._since_wall = wall()
        self._release = _Window()
        self._released_until = -math.inf  # the unlock's own end, without the grace
        self._exit = _Window()
        self._legitimate = True  # the current opening (when open)
        self._held_reported = False
        self._alarm: DoorEventKind | None = None
        # Events that arose while settling in unlocked(), locked() or exit_pressed(), which
        # return nothing: the next door_changed() or tick() returns them.
        self._held_back: list[DoorEvent] = []

    @property
    def state(self) -> DoorState:
        """The settled position, since when (epoch seconds), and the alarm if one is on."""
        return DoorState(self._contact.is_open, self._since_wall, self._alarm)

    def unlocked(self, now: float, seconds: float) -> None:
        """The agent released the lock for ``seconds``: pass the moment it asked the lock
        (before the relay answered), so that a door pulled while the relay answers is in the
        window. A second unlock within the window extends it."""
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"unlock time must be a number of seconds ≥ 0, not {seconds!r}")
        self._held_back = self._settle(now)  # judge what happened before under the old window
        self._release.extend(now, now + seconds)
        self._released_until = max(self._released_until, now + seconds)

    def locked(self, now: float) -> None:
        """The agent locked again before the window's end (lockdown, or the relay refused the
        unlock): openings from now on are not covered by the unlock."""
        self._held_back = self._settle(now)
        # The grace is for people in the window: after a lock, nothing later is covered.
        self._release.end = min(self._release.end, now - self._settings.unlock_grace_seconds)
        self._released_until = min(self._released_until, now)

    def exit_pressed(self, now: float) -> None:
        """The exit (REX) button was pressed: the door may open for ``exit_window_seconds``."""
        self._held_back = self._settle(now)
        self._exit.extend(now, now + self._settings.exit_window_seconds)

    def door_changed(self, now: float, is_open: bool) -> list[DoorEvent]:
        """The contact reports the door open or closed; the events that arise by ``now``."""
        events = self._settle(now)  # what had settled before this report
        contact = self._contact
        if is_open != contact.raw_open:
            if contact.unsettled_since is None:
                contact.unsettled_since = now
            contact.raw_open, contact.raw_since = is_open, now
            events += self._settle(now)  # at once, when there is no debounce
        return events

    def tick(self, now: float) -> list[DoorEvent]:
        """The events that arise by ``now`` with no new report (a settled contact, HELD_OPEN)."""
        return self._settle(now)

    def _settle(self, now: float) -> list[DoorEvent]:
        contact = self._contact
        events, self._held_back = self._held_back, []
        settled = now + TIME_TOLERANCE >= contact.raw_since + self._settings.debounce_seconds
        if contact.unsettled_since is not None and settled:
            # After a fault the door was taken as open: it is where it settled since the last
            # report. Otherwise the change dates from the first report of the run.
            changed_at = contact.raw_since if contact.faulty else contact.unsettled_since
            contact.unsettled_since, contact.faulty = None, False
            # Back where it was and still: those reports were a bounce. (A HELD_OPEN due before
            # changed_at was reported by the call that began the change, which settled first.)
            if contact.raw_open != contact.is_open:
                events += self._changed(contact.raw_open, changed_at, now)
        elif contact.unsettled_since is not None and not contact.faulty:
            events += self._fault_by(contact.unsettled_since, now)
        # Where the door is after the contact began to move is not known until it settles
        # (or the contact is found faulty, and the door taken as open).
        unknown_since = None if contact.faulty else contact.unsettled_since
        known_until = now if unknown_since is None else unknown_since
        return events + self._held_open_by(known_until, now)

    def _fault_by(self, unsettled_since: float, now: float) -> list[DoorEvent]:
        """CONTACT_FAULT, once, if the contact has been unsettled ``fault_seconds`` by ``now``;
        the door is then taken as open since ``unsettled_since``."""
        fault = self._settings.fault_seconds
        due = unsettled_since + fault
        if now + TIME_TOLERANCE < due:
            return []
        self._contact.faulty = True
        detail = f"the door contact has not settled for {fault:g} s: the door is taken as open"
        events = [self._event(DoorEventKind.CONTACT_FAULT, due, now, detail)]
        if not self._contact.is_open:
            events += self._changed(True, unsettled_since, now)
        return events

    def _changed(self, is_open: bool, moment: float, now: float) -> list[DoorEvent]:
        contact = self._contact
        opened_at = contact.moment
        contact.is_open, contact.moment = is_open, moment
        self._since_wall = self._wall_at(moment, now)
        if contact.is_open:
            self._held_reported = False
            grace = self._settings.unlock_grace_seconds
            self._legitimate = self._release.holds(moment, grace, grace) or self._exit.holds(moment, grace, 0)
            if self._legitimate:
                return []
            self._alarm = DoorEventKind.FORCED_OPEN
            detail = "opened with no unlock and no exit request"
            return [self._event(DoorEventKind.FORCED_OPEN, moment, now, detail)]
        alarm, self._alarm = self._alarm, None
        if alarm is None:
            return []
        open_for = moment - opened_at
        detail = f"closed after {alarm}: open for {open_for:.0f} s"
        return [self._event(DoorEventKind.CLOSED, moment, now, detail, {"open_seconds": round(open_for)})]

    def _held_open_by(self, known_until: float, now: float) -> list[DoorEvent]:
        """HELD_OPEN, once, if it fell due while the door is known to have been open."""
        contact = self._contact
        if not contact.is_open or not self._legitimate or self._held_reported:
            return []
        held = self._settings.held_open_seconds
        due = max(contact.moment + held, self._released_until)
        if due > known_until + TIME_TOLERANCE:
            return []
        self._held_reported = True
        self._alarm = DoorEventKind.HELD_OPEN
        return [self._event(DoorEventKind.HELD_OPEN, due, now, f"open for more than {held:g} s")]

    def _event(
        self,
        kind: DoorEventKind,
        moment: float,
        now: float,
        detail: str,
        counts: dict[str, int] | None = None,
    ) -> DoorEvent:
        return DoorEvent(kind, self._door_id, self._wall_at(moment, now), detail, counts or {})

    def _wall_at(self, moment: float, now: float) -> float:
        # Events are dated when they happened (a forced opening, before the debounce), not when seen.
        return self._wall() - (now - moment)
