"""Who may go where, and when: doors, access groups, rules, holidays, and ``decide_access``.

Pure: no clock, no storage. A face that matched an active employee is let through a door
only when ``decide_access`` allows it at the photo's instant, read in the site's time zone:

0. a lockdown of the door refuses everyone (``Lockdown``: an admin or security locked it down);
1. a DENY rule that applies (subject, door, dates, schedule) refuses: deny beats grant;
2. a holiday that closes the door that day refuses everyone but its exempt groups;
3. a GRANT rule that applies lets them through (the first by rule id names the decision);
4. a holiday that opens the door that day lets its groups through;
5. otherwise the door stays shut, with the nearest miss (outside a rule's schedule, a pass
   expired or not yet valid) named when there is one.

Schedules are weekly windows in local wall time. A window runs from ``start`` on each of its
days to ``end`` the same day, or, when ``end`` is not after ``start``, into the next day
(22:00–06:00 belongs to the evening it starts; 00:00–00:00 is the whole day). Wall time is
what a person reads on the clock at the door, so across DST a 07:00 start is 07:00 in both
seasons, an instant in the spring gap cannot occur, and the repeated autumn hour is inside a
window that covers it both times.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

ANY = "*"  # in a rule's or holiday's doors or groups: every door, every employee
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = date.weekday()
DEFAULT_RULE_ID = "everyone-everywhere-always"
UNKNOWN_CAMERA_REASON = "this camera is on no door of the access policy"


class Effect(enum.StrEnum):
    GRANT = "GRANT"
    DENY = "DENY"


class HolidayEffect(enum.StrEnum):
    CLOSE = "CLOSE"  # the doors are shut that day to all but ``groups``
    OPEN = "OPEN"  # ``groups`` may open the doors all that day


class Verdict(enum.StrEnum):
    """Why ``decide_access`` answered as it did: a stable code beside the text (a refusal's
    value is also its ``models.Reason``)."""

    GRANTED = "GRANTED"
    HOLIDAY_OPEN = "HOLIDAY_OPEN"
    DENY_RULE = "DENY_RULE"
    HOLIDAY_CLOSED = "HOLIDAY_CLOSED"
    OUTSIDE_SCHEDULE = "OUTSIDE_SCHEDULE"
    PASS_EXPIRED = "PASS_EXPIRED"
    PASS_NOT_YET_VALID = "PASS_NOT_YET_VALID"
    NO_RULE = "NO_ACCESS_RULE"
    SUSPENDED = "SUSPENDED"  # only in answers about an employee (the pipeline says UNKNOWN)
    LOCKDOWN = "LOCKDOWN"


@dataclass(frozen=True)
class Window:
    """A weekly window: ``start`` on each of ``days`` (0 = Monday) until ``end`` (see module)."""

    days: frozenset[int]
    start: time
    end: time

    def covers(self, local: datetime) -> bool:
        """Whether wall time ``local`` falls in this window."""
        moment = local.time().replace(tzinfo=None, fold=0)
        today = local.weekday()
        yesterday = (today - 1) % 7
        if self.start < self.end:
            return today in self.days and self.start <= moment < self.end
        # Runs past midnight (start == end: a whole day from start).
        return (today in self.days and moment >= self.start) or (yesterday in self.days and moment < self.end)


ALWAYS = (Window(frozenset(range(7)), time(0), time(0)),)


@dataclass(frozen=True)
class Rule:
    """GRANT or DENY ``groups`` and ``employees`` the ``doors`` during ``windows``.

    ``valid_from`` and ``valid_until`` are local dates, both inclusive (a pass "until the
    30th" opens through the last minute of the 30th).
    """

    rule_id: str
    effect: Effect
    doors: frozenset[str]
    windows: tuple[Window, ...] = ALWAYS
    groups: frozenset[str] = frozenset()
    employees: frozenset[str] = frozenset()
    valid_from: date | None = None
    valid_until: date | None = None
    description: str = ""

    def names(self, employee_id: str, groups: frozenset[str]) -> bool:
        return employee_id in self.employees or ANY in self.groups or bool(self.groups & groups)

    def covers_door(self, door_id: str) -> bool:
        return ANY in self.doors or door_id in self.doors

    def validity(self, day: date) -> Verdict | None:
        """PASS_NOT_YET_VALID or PASS_EXPIRED outside the dates, None inside them."""
        if self.valid_from is not None and day < self.valid_from:
            return Verdict.PASS_NOT_YET_VALID
        if self.valid_until is not None and day > self.valid_until:
            return Verdict.PASS_EXPIRED
        return None

    def in_schedule(self, local: datetime) -> bool:
        return any(window.covers(local) for window in self.windows)


DEFAULT_RULE = Rule(
    DEFAULT_RULE_ID,
    Effect.GRANT,
    doors=frozenset({ANY}),
    groups=frozenset({ANY}),
    description="built in: every active employee, every door, always (remove it to restrict access)",
)


@dataclass(frozen=True)
class Holiday:
    """An exception day in local time: ``CLOSE`` shuts ``doors`` to all but ``groups``;
    ``OPEN`` lets ``groups`` through ``doors`` all day."""

    day: date
    name: str
    effect: HolidayEffect = HolidayEffect.CLOSE
    doors: frozenset[str] = frozenset({ANY})
    groups: frozenset[str] = frozenset()

    def covers_door(self, door_id: str) -> bool:
        return ANY in self.doors or door_id in self.doors

    def names(self, groups: frozenset[str]) -> bool:
        return ANY in self.groups or bool(self.groups & groups)


@dataclass(frozen=True)
class Door:
    """A door and the cameras that watch it (``front-door-in``, ``front-door-out``)."""

    door_id: str
    name: str
    cameras: frozenset[str] = frozenset()


@dataclass(frozen=True)
class AccessGroup:
    """A named set of employees; membership is kept on the employee."""

    group_id: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class Lockdown:
    """A door locked down until released: nobody passes it, whatever the rules say. Stored
    beside the policy so the next scan sees it; ``door_id`` may be a door the policy does not
    list (a camera on no door is a door of its own). ``since`` is UTC ISO-8601; ``actor`` the
    user who locked it down and ``reason`` why (their words: shown to admins, never in a scan)."""

    door_id: str
    since: str
    actor: str
    reason: str


AccessEntry = Door | AccessGroup | Rule | Holiday | Lockdown
AccessKey = tuple[
    str, str
]  # (kind, id): ("door", door_id), ("group", …), ("rule", …), ("holiday", YYYY-MM-DD), ("lockdown", door_id)


def entry_key(entry: AccessEntry) -> AccessKey:
    """Where ``entry`` is stored: its kind and id."""
    if isinstance(entry, Door):
        return ("door", entry.door_id)
    if isinstance(entry, AccessGroup):
        return ("group", entry.group_id)
    if isinstance(entry, Rule):
        return ("rule", entry.rule_id)
    if isinstance(entry, Lockdown):
        return ("lockdown", entry.door_id)
    return ("holiday", entry.day.isoformat())


@dataclass(frozen=True)
class AccessSnapshot:
    """Everything stored, as read at one version. ``version`` is "" while nothing was ever
    stored: such a site has only the built-in ``DEFAULT_RULE`` (upgrades change nothing)."""

    version: str = ""
    doors: tuple[Door, ...] = ()
    groups: tuple[AccessGroup, ...] = ()
    rules: tuple[Rule, ...] = ()
    holidays: tuple[Holiday, ...] = ()
    lockdowns: tuple[Lockdown, ...] = ()

    @property
    def pristine(self) -> bool:
        """Never written: no version and no entry. Entries without a version (the version
        item deleted, a partial copy of the table) are a policy, never the built-in rule."""
        entries = self.doors or self.groups or self.rules or self.holidays or self.lockdowns
        return self.version == "" and not entries

    def effective_rules(self) -> tuple[Rule, ...]:
        return (DEFAULT_RULE,) if self.pristine else self.rules

    def policy(self, timezone: str) -> AccessPolicy:
        return AccessPolicy(
            timezone,
            self.doors,
            self.groups,
            self.effective_rules(),
            self.holidays,
            self.version,
            lockdowns=self.lockdowns,
            in_force=bool(self.doors or self.groups or self.rules),
        )

    def lockdown_of(self, door_id: str) -> Lockdown | None:
        """The door's lockdown, or None when it is not locked down."""
        return _lockdown_of(self.lockdowns, door_id)


@dataclass(frozen=True)
class AccessPolicy:
    """Everything ``decide_access`` reads, as one container caches it (see ``version``)."""

    timezone: str
    doors: tuple[Door, ...] = ()
    groups: tuple[AccessGroup, ...] = ()
    rules: tuple[Rule, ...] = (DEFAULT_RULE,)
    holidays: tuple[Holiday, ...] = ()
    version: str = ""
    lockdowns: tuple[Lockdown, ...] = ()
    # A site policy: some door, group or rule stored. A camera on no door then opens nothing
    # (UNKNOWN_CAMERA); a fresh site keeps every camera a door of its own.
    in_force: bool = False

    def door_of(self, camera_id: str) -> str:
        """The door a camera watches; a camera no door lists is a door of its own."""
        for door in self.doors:
            if camera_id in door.cameras:
                return door.door_id
        return camera_id

    def unknown_camera(self, camera_id: str) -> bool:
        """A camera no door lists, while a site policy is in force: it admits nobody."""
        return self.in_force and not any(camera_id in door.cameras for door in self.doors)

    def lockdown_of(self, door_id: str) -> Lockdown | None:
        """The door's lockdown, or None when it is not locked down."""
        return _lockdown_of(self.lockdowns, door_id)


def _lockdown_of(lockdowns: Iterable[Lockdown], door_id: str) -> Lockdown | None:
    return next((lockdown for lockdown in lockdowns if lockdown.door_id == door_id), None)


@dataclass(frozen=True)
class AccessDecision:
    """``decide_access``'s answer: allowed or not, why, and which rule or holiday said so."""

    allowed: bool
    verdict: Verdict
    reason: str
    door_id: str
    rule_id: str | None = None
    holiday: str | None = None  # the day, YYYY-MM-DD
    local_time: str = ""  # the instant in the site's time zone, ISO-8601 with offset

    def to_dict(self) -> dict[str, object]:
        return {
            "allowed": self.allowed,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "door_id": self.door_id,
            "rule_id": self.rule_id,
            "holiday": self.holiday,
            "local_time": self.local_time,
        }


def decide_access(
    policy: AccessPolicy, employee_id: str, groups: Iterable[str], door_id: str, at: datetime
) -> AccessDecision:
    """May ``employee_id`` (in ``groups``) open ``door_id`` at instant ``at``? See the module."""
    if at.tzinfo is None:
        raise ValueError("decide_access needs an aware instant, not a naive local time")
    local = at.astimezone(ZoneInfo(policy.timezone))
    member_of = frozenset(groups)
    day = local.date()
    answer = _Answer(door_id, local.isoformat(timespec="seconds"))
    if policy.lockdown_of(door_id) is not None:  # before any rule: a lockdown lets nobody through
        return answer.no(Verdict.LOCKDOWN, "door locked down")
    relevant = sorted(
        (rule for rule in policy.rules if rule.covers_door(door_id) and rule.names(employee_id, member_of)),
        key=lambda rule: rule.rule_id,
    )
    applying = [rule for rule in relevant if rule.validity(day) is None and rule.in_schedule(local)]
    for rule in applying:
        if rule.effect is Effect.DENY:
            return answer.no(Verdict.DENY_RULE, "a deny rule covers this door now", rule_id=rule.rule_id)
    today = [holiday for holiday in policy.holidays if holiday.day == day and holiday.covers_door(door_id)]
    for holiday in today:
        if holiday.effect is HolidayEffect.CLOSE and not holiday.names(member_of):
            return answer.no(Verdict.HOLIDAY_CLOSED, "the door is closed for a holiday", holiday=holiday)
    for rule in applying:
        return answer.yes(Verdict.GRANTED, "a grant rule covers this door now", rule_id=rule.rule_id)
    for holiday in today:
        if holiday.effect is HolidayEffect.OPEN and holiday.names(member_of):
            return answer.yes(
                Verdict.HOLIDAY_OPEN, "the door is open for this exception day", holiday=holiday
            )
    return _nearest_miss(answer, [rule for rule in relevant if rule.effect is Effect.GRANT], day, local)


def _nearest_miss(answer: _Answer, grants: list[Rule], day: date, local: datetime) -> AccessDecision:
    """No rule lets them through: name a grant that would have, but for its schedule or dates."""
    for rule in grants:
        if rule.validity(day) is None:  # in its dates, so outside its hours
            return answer.no(Verdict.OUTSIDE_SCHEDULE, "outside the schedule of the rule for this door", rule)
    for rule in grants:
        verdict = rule.validity(day)
        if verdict is Verdict.PASS_EXPIRED:
            return answer.no(verdict, "the temporary pass for this door has expired", rule)
        if verdict is Verdict.PASS_NOT_YET_VALID:
            return answer.no(verdict, "the temporary pass for this door is not valid yet", rule)
    return answer.no(Verdict.NO_RULE, "no rule lets this employee through this door")


@dataclass(frozen=True)
class _Answer:
    door_id: str
    local_time: str

    def yes(
        self, verdict: Verdict, reason: str, *, rule_id: str | None = None, holiday: Holiday | None = None
    ) -> AccessDecision:
        return self._decision(True, verdict, reason, rule_id, holiday)

    def no(
        self,
        verdict: Verdict,
        reason: str,
        rule: Rule | None = None,
        *,
        rule_id: str | None = None,
        holiday: Holiday | None = None,
    ) -> AccessDecision:
        return self._decision(False, verdict, reason, rule_id or (rule.rule_id if rule else None), holiday)

    def _decision(
        self, allowed: bool, verdict: Verdict, reason: str, rule_id: str | None, holiday: Holiday | None
    ) -> AccessDecision:
        return AccessDecision(
            allowed=allowed,
            verdict=verdict,
            reason=reason,
            door_id=self.door_id,
            rule_id=rule_id,
            holiday=None if holiday is None else holiday.day.isoformat(),
            local_time=self.local_time,
        )


def local_instant(day: date, wall: time, timezone: str) -> datetime:
    """The instant a wall clock in ``timezone`` shows ``wall`` on ``day`` (first of two in the
    repeated autumn hour), in UTC; raises ``ValueError`` for a time the spring gap skips.

    UTC because an aware time in the zone itself misbehaves: Python subtracts two of one zone
    on the wall clock (a 23-hour day lasts 24) and compares one in the repeated hour unequal to
    every instant of another zone, itself included (PEP 495).
    """
    zone = ZoneInfo(timezone)
    naive = datetime.combine(day, wall)
    instant = naive.replace(tzinfo=zone).astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != naive:
        raise ValueError(f"{naive.isoformat()} does not exist in {timezone} (the clocks skip it)")
    return instant


def window_days(days: Iterable[int]) -> list[str]:
    return [DAYS[day] for day in sorted(set(days))]
