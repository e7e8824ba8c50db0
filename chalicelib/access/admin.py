"""Managing who may go where: doors, access groups and their members, rules, holidays, and
``check_access`` ("could this employee open this door at this instant, and by which rule").

Every change reads the stored policy, checks it, and commits against the version it read
(``AccessStore.commit``): when another admin changed the policy meanwhile the commit writes
nothing, and the change is read and checked again, up to ``COMMIT_ATTEMPTS`` times, so a
check can never pass on a policy that is no longer there. A site never written to has only
the built-in ``DEFAULT_RULE``; the first change stores it too (unless it deletes it), so
adding a door does not shut every door.

Audit entries name ``access/<kind>/<id>`` (``access/rule/staff-hours``) as their target: a
``/`` is never in an employee id, so the policy's history cannot mix with an employee's. A
membership is a change to the employee, audited under the employee's id.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.access.naming import refuse_unknown, unknown_names
from chalicelib.access.policy import (
    DEFAULT_RULE,
    AccessDecision,
    AccessEntry,
    AccessGroup,
    AccessKey,
    AccessSnapshot,
    Door,
    Holiday,
    Lockdown,
    Rule,
    Verdict,
    decide_access,
    entry_key,
)
from chalicelib.access.ports import AccessStore
from chalicelib.core.errors import AccessChangedMeanwhile, AccessInUse, NotFound
from chalicelib.core.models import AuditEntry, Employee
from chalicelib.core.ports import AuditLog, EmployeeDirectory

COMMIT_ATTEMPTS = 4
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class AccessPorts:
    """What access management needs (``wiring.api_ports().access``)."""

    store: AccessStore
    directory: EmployeeDirectory
    audit: AuditLog
    timezone: str  # the site's, ``Settings.timezone``
    clock: Clock = lambda: datetime.now(UTC)

    def log(self, actor: str, action: str, target: str, **details: Any) -> None:
        at = self.clock().isoformat(timespec="milliseconds").replace("+00:00", "Z")
        self.audit.record(AuditEntry(at, actor, action, target, details))


@dataclass(frozen=True)
class Change:
    """What one commit writes."""

    put: Sequence[AccessEntry] = ()
    delete: Sequence[AccessKey] = ()


@dataclass(frozen=True)
class Applied:
    """A committed change: the snapshot it was checked against, and the audit's extras."""

    before: AccessSnapshot
    details: dict[str, Any] = field(default_factory=dict)


def audit_target(key: AccessKey) -> str:
    """The audit table's key for a policy entry (see the module)."""
    kind, entry_id = key
    return f"access/{kind}/{entry_id}"


# --- doors -------------------------------------------------------------------------------


def list_doors(ports: AccessPorts) -> tuple[Door, ...]:
    """Every door with its cameras."""
    return ports.store.load().doors


def get_door(ports: AccessPorts, door_id: str) -> Door:
    """The door; ``NotFound`` when none is stored under ``door_id``."""
    return _door(ports.store.load(), door_id)


def put_door(ports: AccessPorts, door: Door, actor: str) -> Door:
    """Create or replace a door; ``AccessInUse`` when one of its cameras is on another door."""

    def plan(snapshot: AccessSnapshot) -> Change:
        for other in snapshot.doors:
            shared = sorted(other.cameras & door.cameras) if other.door_id != door.door_id else []
            if shared:
                raise AccessInUse(f"camera {shared[0]} is on door {other.door_id}")
        return Change(put=(door,))

    _audit_put(ports, actor, door, apply_change(ports, plan), cameras=sorted(door.cameras))
    return door


def delete_door(ports: AccessPorts, door_id: str, actor: str) -> None:
    """Remove a door (its cameras become doors of their own again); ``NotFound`` when absent."""
    done = apply_change(ports, lambda snapshot: Change(delete=(entry_key(_door(snapshot, door_id)),)))
    _audit(ports, actor, "delete", ("door", door_id), done)


# --- groups and members ------------------------------------------------------------------


def list_groups(ports: AccessPorts) -> tuple[AccessGroup, ...]:
    """Every access group (without members: those live on the employees)."""
    return ports.store.load().groups


def get_group(ports: AccessPorts, group_id: str) -> tuple[AccessGroup, list[str]]:
    """The group and the ids of its members; ``NotFound`` when there is no such group."""
    group = _group(ports.store.load(), group_id)
    return group, ports.directory.members(group_id)


def put_group(ports: AccessPorts, group: AccessGroup, actor: str) -> AccessGroup:
    """Create or rename a group."""
    _audit_put(ports, actor, group, apply_change(ports, lambda snapshot: Change(put=(group,))))
    return group


def delete_group(ports: AccessPorts, group_id: str, actor: str) -> None:
    """Remove a group; ``AccessInUse`` while members, rules or holidays name it.

    Members are asked again after the commit: one added meanwhile (``add_member`` checks
    the group after its write) puts the group back, and the deletion is refused.
    """

    def plan(snapshot: AccessSnapshot) -> Change:
        group = _group(snapshot, group_id)
        rules = [rule.rule_id for rule in snapshot.rules if group_id in rule.groups]
        holidays = [holiday.day.isoformat() for holiday in snapshot.holidays if group_id in holiday.groups]
        _refuse_named(group_id, "member", ports.directory.members(group_id))
        _refuse_named(group_id, "rule", sorted(rules))
        _refuse_named(group_id, "holiday", sorted(holidays))
        return Change(delete=(entry_key(group),))

    done = apply_change(ports, plan)
    late = ports.directory.members(group_id)
    if late:
        group = _group(done.before, group_id)
        apply_change(
            ports, lambda snapshot: Change() if _has_group(snapshot, group_id) else Change(put=(group,))
        )
        _refuse_named(group_id, "member", late)
    _audit(ports, actor, "delete", ("group", group_id), done)


def _refuse_named(group_id: str, what: str, ids: list[str]) -> None:
    if ids:
        named = ", ".join(ids[:5]) + (", …" if len(ids) > 5 else "")
        raise AccessInUse(f"group {group_id} is still named by {len(ids)} {what}(s): {named}")


def add_member(ports: AccessPorts, group_id: str, employee_id: str, actor: str) -> None:
    """Put the employee into the group; ``NotFound`` for an unknown group or employee.

    The membership is written to the employee, outside the policy's commit, so a group
    deleted meanwhile is looked for again after the write (``delete_group`` checks members
    before its commit): whichever of the two comes second sees the other, and a membership
    of a deleted group is taken back.
    """
    before = ports.store.load()
    _group(before, group_id)
    _employee(ports, employee_id)
    if not ports.directory.set_membership(employee_id, group_id, True):
        raise NotFound(f"no employee {employee_id}")
    if ports.store.version() != before.version and not _has_group(ports.store.load(), group_id):
        ports.directory.set_membership(employee_id, group_id, False)
        raise NotFound(f"no access group {group_id} (deleted meanwhile)")
    ports.log(actor, "access.member.add", employee_id, group_id=group_id)


def remove_member(ports: AccessPorts, group_id: str, employee_id: str, actor: str) -> None:
    """Take the employee out of the group; ``NotFound`` unless they are in it."""
    if group_id not in _employee(ports, employee_id).groups:
        raise NotFound(f"employee {employee_id} is not in access group {group_id}")
    if not ports.directory.set_membership(employee_id, group_id, False):
        raise NotFound(f"no employee {employee_id}")
    ports.log(actor, "access.member.remove", employee_id, group_id=group_id)


# --- rules ---------------------------------------------------------------------------------


def list_rules(ports: AccessPorts) -> tuple[tuple[Rule, ...], str]:
    """The rules in force (the built-in one while nothing was stored) and the version read."""
    snapshot = ports.store.load()
    return snapshot.effective_rules(), snapshot.version


def get_rule(ports: AccessPorts, rule_id: str) -> Rule:
    """The rule; ``NotFound`` when there is none of that id."""
    return _rule(ports.store.load(), rule_id)


def put_rule(ports: AccessPorts, rule: Rule, actor: str, allow_unknown: bool = False) -> Rule:
    """Create or replace a rule; ``UnknownNamed`` when it names a group or employee that does
    not exist, unless ``allow_unknown`` (then audited with the unknown names)."""
    done, unknown = _put_named(ports, rule, allow_unknown)
    _audit_put(ports, actor, rule, done, effect=rule.effect.value, **unknown)
    return rule


def delete_rule(ports: AccessPorts, rule_id: str, actor: str) -> None:
    """Remove a rule (the built-in one too: then only the stored rules let anyone in)."""
    done = apply_change(ports, lambda snapshot: Change(delete=(entry_key(_rule(snapshot, rule_id)),)))
    _audit(ports, actor, "delete", ("rule", rule_id), done)


# --- holidays ------------------------------------------------------------------------------


def list_holidays(ports: AccessPorts) -> tuple[Holiday, ...]:
    """Every holiday, by day."""
    return ports.store.load().holidays


def put_holiday(ports: AccessPorts, holiday: Holiday, actor: str, allow_unknown: bool = False) -> Holiday:
    """Create or replace the holiday of its day; unknown groups as in ``put_rule``."""
    done, unknown = _put_named(ports, holiday, allow_unknown)
    _audit_put(ports, actor, holiday, done, effect=holiday.effect.value, **unknown)
    return holiday


def _put_named(
    ports: AccessPorts, entry: Rule | Holiday, allow_unknown: bool
) -> tuple[Applied, dict[str, Any]]:
    """Commit ``entry``, its named groups checked in the snapshot committed at (``naming``)."""
    unknown: dict[str, Any] = {}

    def plan(snapshot: AccessSnapshot) -> Change:
        groups, employees = unknown_names(snapshot, ports.directory, entry)
        if not allow_unknown:
            refuse_unknown(groups, employees, entry)
        unknown.clear()
        if groups or employees:
            unknown.update(allow_unknown=True, unknown_groups=groups, unknown_employees=employees)
        return Change(put=(entry,))

    return apply_change(ports, plan), unknown


def delete_holiday(ports: AccessPorts, day: str, actor: str) -> None:
    """Remove the holiday of ``day`` (YYYY-MM-DD); ``NotFound`` when there is none."""

    def plan(snapshot: AccessSnapshot) -> Change:
        if not any(holiday.day.isoformat() == day for holiday in snapshot.holidays):
            raise NotFound(f"no holiday on {day}")
        return Change(delete=(("holiday", day),))

    _audit(ports, actor, "delete", ("holiday", day), apply_change(ports, plan))


# --- the question ------------------------------------------------------------------------


def check_access(ports: AccessPorts, employee_id: str, door_or_camera: str, at: datetime) -> AccessDecision:
    """Could the employee open the door (or the camera's door) at the aware instant ``at``,
    and by which rule or holiday? ``NotFound`` for an unknown employee; a suspended one is
    refused as ``SUSPENDED`` whatever the rules say (the door would say UNKNOWN)."""
    employee = _employee(ports, employee_id)
    policy = ports.store.load().policy(ports.timezone)
    door_id = policy.door_of(door_or_camera)
    if not employee.active:
        local = at.astimezone(ZoneInfo(ports.timezone)).isoformat(timespec="seconds")
        return AccessDecision(
            False, Verdict.SUSPENDED, "the employee is suspended", door_id, local_time=local
        )
    return decide_access(policy, employee_id, employee.groups, door_id, at)


# --- helpers -------------------------------------------------------------------------------


def apply_change(ports: AccessPorts, plan: Callable[[AccessSnapshot], Change]) -> Applied:
    """Read, check (``plan`` raises to refuse) and commit, again while the version moved.
    Every change of the policy goes through here (``access.remote``'s lockdowns too)."""
    for _ in range(COMMIT_ATTEMPTS):
        snapshot = ports.store.load()
        change = plan(snapshot)
        if not change.put and not change.delete:  # nothing to write: no new version to reload
            return Applied(snapshot)
        _refuse_door_names(_after(snapshot, change))
        put, details = list(change.put), {}
        written = {entry_key(entry) for entry in put} | set(change.delete)
        if snapshot.pristine and entry_key(DEFAULT_RULE) not in written:
            put.append(DEFAULT_RULE)  # the site's behaviour so far, now stored beside the change
            details = {"default_rule_stored": True}
        if ports.store.commit(snapshot.version, put=put, delete=change.delete):
            return Applied(snapshot, details)
    raise AccessChangedMeanwhile(
        f"the access policy changed {COMMIT_ATTEMPTS} times while this change was checked: "
        "nothing was written, send it again"
    )


def _after(snapshot: AccessSnapshot, change: Change) -> list[AccessEntry]:
    """Every entry as the policy would hold them once ``change`` is committed."""
    stored: tuple[AccessEntry, ...] = (
        *snapshot.doors,
        *snapshot.effective_rules(),
        *snapshot.holidays,
        *snapshot.lockdowns,
    )
    entries: dict[AccessKey, AccessEntry] = {entry_key(entry): entry for entry in stored}
    for key in change.delete:
        entries.pop(key, None)
    entries.update((entry_key(entry), entry) for entry in change.put)
    return list(entries.values())


def _refuse_door_names(entries: list[AccessEntry]) -> None:
    """A scan is judged as its camera's door, so a camera on a door is no door name of its own:
    ``AccessInUse`` when a door is named like another door's camera, or a rule, holiday or
    lockdown names a camera that is on another door (it would never apply: name the door instead). A door
    listing its own id as a camera is no ambiguity: naming it names the door. Checked on the
    whole policy after a change, so neither order of the writes gets round it."""
    door_of = {
        camera: entry.door_id for entry in entries if isinstance(entry, Door) for camera in entry.cameras
    }
    for entry in entries:
        if isinstance(entry, Door) and door_of.get(entry.door_id, entry.door_id) != entry.door_id:
            raise AccessInUse(f"door {entry.door_id} is a camera of door {door_of[entry.door_id]}")
        if isinstance(entry, Lockdown) and door_of.get(entry.door_id, entry.door_id) != entry.door_id:
            raise AccessInUse(
                f"{entry.door_id} is locked down and a camera of door {door_of[entry.door_id]}: "
                f"lock down door {door_of[entry.door_id]}, or release {entry.door_id} first"
            )
        if isinstance(entry, (Rule, Holiday)):
            for named in sorted(name for name in entry.doors & door_of.keys() if door_of[name] != name):
                kind, entry_id = entry_key(entry)
                raise AccessInUse(
                    f"{kind} {entry_id} names camera {named}, on door {door_of[named]}: name the door"
                )


def _audit(ports: AccessPorts, actor: str, verb: str, key: AccessKey, done: Applied, **extra: Any) -> None:
    """``access.<kind>.<verb>`` on ``access/<kind>/<id>``: ids and codes only, never names."""
    ports.log(actor, f"access.{key[0]}.{verb}", audit_target(key), **extra, **done.details)


def _audit_put(ports: AccessPorts, actor: str, entry: AccessEntry, done: Applied, **extra: Any) -> None:
    before = done.before
    stored: tuple[AccessEntry, ...] = (
        *before.doors,
        *before.groups,
        *before.effective_rules(),
        *before.holidays,
    )
    replaced = entry_key(entry) in {entry_key(other) for other in stored}
    _audit(ports, actor, "put", entry_key(entry), done, replaced=replaced, **extra)


def _employee(ports: AccessPorts, employee_id: str) -> Employee:
    employee = ports.directory.get(employee_id)
    if employee is None:
        raise NotFound(f"no employee {employee_id}")
    return employee


def _door(snapshot: AccessSnapshot, door_id: str) -> Door:
    for door in snapshot.doors:
        if door.door_id == door_id:
            return door
    raise NotFound(f"no door {door_id}")


def _has_group(snapshot: AccessSnapshot, group_id: str) -> bool:
    return any(group.group_id == group_id for group in snapshot.groups)


def _group(snapshot: AccessSnapshot, group_id: str) -> AccessGroup:
    for group in snapshot.groups:
        if group.group_id == group_id:
            return group
    raise NotFound(f"no access group {group_id}")


def _rule(snapshot: AccessSnapshot, rule_id: str) -> Rule:
    for rule in snapshot.effective_rules():
        if rule.rule_id == rule_id:
            return rule
    raise NotFound(f"no access rule {rule_id}")
