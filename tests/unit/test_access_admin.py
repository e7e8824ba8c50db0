"""Access management with in-memory ports: checks made on what is stored, redone when another
admin's commit wins the race, the built-in rule kept by the first change, every change audited."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time

import pytest

from chalicelib.access import admin
from chalicelib.access.admin import AccessPorts
from chalicelib.access.policy import (
    DEFAULT_RULE,
    DEFAULT_RULE_ID,
    AccessEntry,
    AccessGroup,
    AccessKey,
    AccessSnapshot,
    Door,
    Effect,
    Holiday,
    HolidayEffect,
    Rule,
    Verdict,
    Window,
)
from chalicelib.core.errors import AccessChangedMeanwhile, AccessInUse, Conflict, NotFound
from chalicelib.core.models import Employee
from tests.fakes import InMemoryAccessStore, InMemoryAuditLog, InMemoryEmployeeDirectory

AT = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
TZ = "Europe/Berlin"
WEEKDAYS = frozenset(range(5))


class RacingStore(InMemoryAccessStore):
    """A store where other admins act between a change's read and its commit: each load
    runs the next of ``meanwhile`` (if any) right after reading."""

    def __init__(self) -> None:
        super().__init__()
        self.meanwhile: list[Callable[[], object]] = []
        self.commits = 0

    def load(self) -> AccessSnapshot:
        snapshot = super().load()
        if self.meanwhile:
            self.meanwhile.pop(0)()
        return snapshot

    def commit(
        self, expected_version: str, put: Sequence[AccessEntry] = (), delete: Sequence[AccessKey] = ()
    ) -> bool:
        self.commits += 1
        return super().commit(expected_version, put, delete)

    def other_admin(self, *put: AccessEntry) -> Callable[[], bool]:
        return lambda: super(RacingStore, self).commit(self.current, put=put)


@pytest.fixture
def store() -> RacingStore:
    return RacingStore()


@pytest.fixture
def ports(store: RacingStore) -> AccessPorts:
    directory = InMemoryEmployeeDirectory(
        Employee("EMP001", "Quinn Zebedee"), Employee("EMP002", "Avery Stone", active=False)
    )
    return AccessPorts(store, directory, InMemoryAuditLog(), TZ, clock=lambda: AT)


def audit(ports: AccessPorts) -> list[tuple[str, str, str, dict[str, object]]]:
    entries = ports.audit.entries  # type: ignore[attr-defined]
    return [(e.actor, e.action, e.target, e.details) for e in entries]


def staff_hours(rule_id: str = "staff-hours", groups: frozenset[str] = frozenset({"staff"})) -> Rule:
    return Rule(rule_id, Effect.GRANT, frozenset({"*"}), (Window(WEEKDAYS, time(7), time(19)),), groups)


def berlin(day: int, hour: int, month: int = 3) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(2026, month, day, hour, tzinfo=ZoneInfo(TZ))


# --- the first change keeps the built-in rule ------------------------------------------------


def test_the_first_change_stores_the_built_in_rule_beside_it(ports: AccessPorts, store: RacingStore) -> None:
    assert admin.list_rules(ports) == ((DEFAULT_RULE,), "")
    admin.put_door(ports, Door("lobby", "Lobby", frozenset({"front-door"})), "admin")
    rules, version = admin.list_rules(ports)
    assert rules == (DEFAULT_RULE,) and version == store.current != ""
    assert admin.check_access(ports, "EMP001", "front-door", AT).allowed  # nobody shut out
    assert audit(ports) == [
        (
            "admin",
            "access.door.put",
            "access/door/lobby",
            {"cameras": ["front-door"], "replaced": False, "default_rule_stored": True},
        )
    ]
    admin.put_group(ports, AccessGroup("staff", "Staff"), "admin")
    assert "default_rule_stored" not in audit(ports)[-1][3]  # only once


def test_deleting_the_built_in_rule_first_stores_nothing_else(ports: AccessPorts, store: RacingStore) -> None:
    assert admin.get_rule(ports, DEFAULT_RULE_ID) == DEFAULT_RULE
    admin.delete_rule(ports, DEFAULT_RULE_ID, "admin")
    assert store.entries == {} and store.current != ""
    assert admin.list_rules(ports)[0] == ()
    decision = admin.check_access(ports, "EMP001", "front-door", AT)
    assert (decision.allowed, decision.verdict) == (False, Verdict.NO_RULE)
    assert audit(ports) == [("admin", "access.rule.delete", f"access/rule/{DEFAULT_RULE_ID}", {})]
    with pytest.raises(NotFound):
        admin.delete_rule(ports, DEFAULT_RULE_ID, "admin")


def test_replacing_the_built_in_rule_first_stores_only_the_replacement(
    ports: AccessPorts, store: RacingStore
) -> None:
    mine = staff_hours(DEFAULT_RULE_ID, groups=frozenset({"*"}))  # "*": a group that always exists
    admin.put_rule(ports, mine, "admin")
    assert list(store.entries.values()) == [mine]
    assert audit(ports)[-1][3] == {"effect": "GRANT", "replaced": True}


# --- checks made again when another admin's commit wins ---------------------------------------


def test_a_lost_race_is_read_and_checked_again(ports: AccessPorts, store: RacingStore) -> None:
    admin.put_door(ports, Door("lobby", "Lobby"), "admin")
    # Between this change's read and its commit, another admin puts camera c1 on the side door.
    store.meanwhile.append(store.other_admin(Door("side", "Side door", frozenset({"c1"}))))
    with pytest.raises(AccessInUse, match="camera c1 is on door side"):
        admin.put_door(ports, Door("lobby", "Lobby", frozenset({"c1"})), "admin")
    assert admin.get_door(ports, "lobby").cameras == frozenset()
    assert store.commits == 2  # the lobby's first, then the one that lost: no third
    assert [action for _, action, _, _ in audit(ports)] == ["access.door.put"]  # the refused one: none


def test_a_lost_race_that_still_passes_is_committed_on_the_new_version(
    ports: AccessPorts, store: RacingStore
) -> None:
    store.meanwhile.append(store.other_admin(Door("side", "Side door", frozenset({"c2"}))))
    admin.put_door(ports, Door("lobby", "Lobby", frozenset({"c1"})), "admin")
    assert {door.door_id for door in admin.list_doors(ports)} == {"lobby", "side"}
    # The other admin's commit made the store non-pristine: the retry does not store the rule.
    assert DEFAULT_RULE not in store.entries.values()
    assert audit(ports)[-1][3] == {"cameras": ["c1"], "replaced": False}


def test_a_policy_that_never_holds_still_is_a_conflict_and_writes_nothing(
    ports: AccessPorts, store: RacingStore
) -> None:
    admin.put_group(ports, AccessGroup("staff", "Staff"), "admin")
    store.meanwhile = [store.other_admin(AccessGroup(f"g{n}", "G")) for n in range(admin.COMMIT_ATTEMPTS)]
    with pytest.raises(AccessChangedMeanwhile) as raised:
        admin.put_rule(ports, staff_hours(), "admin")
    assert isinstance(raised.value, Conflict)  # a 409: sending it again is safe
    assert ("rule", "staff-hours") not in store.entries
    assert store.commits == 1 + admin.COMMIT_ATTEMPTS


# --- doors ---------------------------------------------------------------------------------------


def test_a_camera_is_on_one_door_only(ports: AccessPorts) -> None:
    admin.put_door(ports, Door("lobby", "Lobby", frozenset({"front-door-in", "front-door-out"})), "admin")
    with pytest.raises(AccessInUse, match="camera front-door-out is on door lobby"):
        admin.put_door(ports, Door("side", "Side", frozenset({"front-door-out"})), "admin")
    # The same door may keep or drop its own cameras.
    admin.put_door(ports, Door("lobby", "Main lobby", frozenset({"front-door-in"})), "admin")
    admin.put_door(ports, Door("side", "Side", frozenset({"front-door-out"})), "admin")
    assert audit(ports)[-2][3] == {"cameras": ["front-door-in"], "replaced": True}


def test_a_camera_id_answers_for_its_door(ports: AccessPorts) -> None:
    admin.put_door(ports, Door("server-room", "Server room", frozenset({"cam-7"})), "admin")
    admin.delete_rule(ports, DEFAULT_RULE_ID, "admin")
    admin.put_rule(
        ports, Rule("it", Effect.GRANT, frozenset({"server-room"}), employees=frozenset({"EMP001"})), "admin"
    )
    by_camera = admin.check_access(ports, "EMP001", "cam-7", AT)
    assert (by_camera.allowed, by_camera.door_id, by_camera.rule_id) == (True, "server-room", "it")
    unmapped = admin.check_access(ports, "EMP001", "cam-8", AT)  # a door of its own, no rule
    assert (unmapped.allowed, unmapped.door_id) == (False, "cam-8")


def test_deleting_absent_things_is_not_found(ports: AccessPorts) -> None:
    for delete, entry_id in (
        (admin.delete_door, "nope"),
        (admin.delete_group, "nope"),
        (admin.delete_rule, "nope"),
        (admin.delete_holiday, "2026-12-25"),
    ):
        with pytest.raises(NotFound):
            delete(ports, entry_id, "admin")
    for get in (admin.get_door, admin.get_group, admin.get_rule):
        with pytest.raises(NotFound):
            get(ports, "nope")
    assert audit(ports) == []


def test_delete_door_and_holiday_are_audited(ports: AccessPorts) -> None:
    admin.put_door(ports, Door("lobby", "Lobby"), "admin")
    admin.put_holiday(ports, Holiday(date(2026, 12, 25), "Christmas"), "admin")
    admin.delete_door(ports, "lobby", "admin")
    admin.delete_holiday(ports, "2026-12-25", "admin")
    assert admin.list_doors(ports) == () and admin.list_holidays(ports) == ()
    assert audit(ports)[1:] == [
        ("admin", "access.holiday.put", "access/holiday/2026-12-25", {"effect": "CLOSE", "replaced": False}),
        ("admin", "access.door.delete", "access/door/lobby", {}),
        ("admin", "access.holiday.delete", "access/holiday/2026-12-25", {}),
    ]


# --- groups and members --------------------------------------------------------------------------


def test_members_need_the_group_and_the_employee(ports: AccessPorts) -> None:
    with pytest.raises(NotFound, match="no access group staff"):
        admin.add_member(ports, "staff", "EMP001", "admin")
    admin.put_group(ports, AccessGroup("staff", "Staff"), "admin")
    with pytest.raises(NotFound, match="no employee GHOST"):
        admin.add_member(ports, "staff", "GHOST", "admin")
    admin.add_member(ports, "staff", "EMP001", "admin")
    assert admin.get_group(ports, "staff") == (AccessGroup("staff", "Staff"), ["EMP001"])
    assert audit(ports)[-1] == ("admin", "access.member.add", "EMP001", {"group_id": "staff"})
    admin.remove_member(ports, "staff", "EMP001", "admin")
    assert admin.get_group(ports, "staff")[1] == []
    assert audit(ports)[-1] == ("admin", "access.member.remove", "EMP001", {"group_id": "staff"})
    with pytest.raises(NotFound, match="not in access group staff"):
        admin.remove_member(ports, "staff", "EMP001", "admin")


def test_an_employee_being_erased_cannot_join(ports: AccessPorts) -> None:
    admin.put_group(ports, AccessGroup("staff", "Staff"), "admin")
    directory = ports.directory
    assert isinstance(directory, InMemoryEmployeeDirectory)
    directory.begin_erasure("EMP001", "job-1")
    with pytest.raises(NotFound):
        admin.add_member(ports, "staff", "EMP001", "admin")


def test_a_group_is_not_deleted_while_members_rules_or_holidays_name_it(ports: AccessPorts) -> None:
    admin.put_group(ports, AccessGroup("staff", "Staff"), "admin")
    admin.add_member(ports, "staff", "EMP001", "admin")
    with pytest.raises(AccessInUse, match=r"1 member\(s\): EMP001"):
        admin.delete_group(ports, "staff", "admin")
    admin.remove_member(ports, "staff", "EMP001", "admin")
    admin.put_rule(ports, staff_hours(), "admin")
    with pytest.raises(AccessInUse, match=r"rule\(s\): staff-hours"):
        admin.delete_group(ports, "staff", "admin")
    admin.delete_rule(ports, "staff-hours", "admin")
    admin.put_holiday(ports, Holiday(date(2026, 12, 25), "Christmas", groups=frozenset({"staff"})), "admin")
    with pytest.raises(AccessInUse, match=r"holiday\(s\): 2026-12-25"):
        admin.delete_group(ports, "staff", "admin")
    admin.delete_holiday(ports, "2026-12-25", "admin")
    admin.delete_group(ports, "staff", "admin")
    assert admin.list_groups(ports) == ()
    assert audit(ports)[-1] == ("admin", "access.group.delete", "access/group/staff", {})


class JoiningDirectory(InMemoryEmployeeDirectory):
    """A directory where ``during_members`` runs once, right after a members() read."""

    during_members: Callable[[], object] | None = None
    during_membership: Callable[[], object] | None = None

    def members(self, group_id: str) -> list[str]:
        found = super().members(group_id)
        hook, self.during_members = self.during_members, None
        if hook:
            hook()
        return found

    def set_membership(self, employee_id: str, group_id: str, member: bool) -> bool:
        hook, self.during_membership = self.during_membership, None
        if hook:
            hook()
        return super().set_membership(employee_id, group_id, member)


@pytest.fixture
def joining(store: RacingStore) -> AccessPorts:
    directory = JoiningDirectory(Employee("EMP001", "Quinn Zebedee"))
    ports = AccessPorts(store, directory, InMemoryAuditLog(), TZ, clock=lambda: AT)
    admin.put_group(ports, AccessGroup("staff", "Staff"), "admin")
    return ports


def test_a_member_added_while_the_group_is_deleted_keeps_the_group(joining: AccessPorts) -> None:
    directory = joining.directory
    assert isinstance(directory, JoiningDirectory)
    # delete_group found no members; the employee joins before its commit.
    directory.during_members = lambda: directory.set_membership("EMP001", "staff", True)
    with pytest.raises(AccessInUse, match="EMP001"):
        admin.delete_group(joining, "staff", "admin")
    assert admin.get_group(joining, "staff") == (AccessGroup("staff", "Staff"), ["EMP001"])
    assert [action for _, action, _, _ in audit(joining)] == ["access.group.put"]


def test_a_group_deleted_while_a_member_is_added_takes_the_membership_back(joining: AccessPorts) -> None:
    directory = joining.directory
    assert isinstance(directory, JoiningDirectory)
    # add_member found the group; it is deleted (no members yet) before the membership is written.
    directory.during_membership = lambda: admin.delete_group(joining, "staff", "other-admin")
    with pytest.raises(NotFound, match="deleted meanwhile"):
        admin.add_member(joining, "staff", "EMP001", "admin")
    assert directory.members("staff") == [] and admin.list_groups(joining) == ()
    assert [action for _, action, _, _ in audit(joining)][-1] == "access.group.delete"


# --- check_access ----------------------------------------------------------------------------------


def test_check_access_reads_the_rules_at_the_sites_local_time(ports: AccessPorts) -> None:
    admin.put_group(ports, AccessGroup("staff", "Staff"), "admin")
    admin.add_member(ports, "staff", "EMP001", "admin")
    admin.delete_rule(ports, DEFAULT_RULE_ID, "admin")
    admin.put_rule(ports, staff_hours(), "admin")
    morning = admin.check_access(ports, "EMP001", "front-door", berlin(10, 8))  # Tuesday 08:00
    assert (morning.allowed, morning.verdict, morning.rule_id) == (True, Verdict.GRANTED, "staff-hours")
    assert morning.local_time == "2026-03-10T08:00:00+01:00"
    evening = admin.check_access(ports, "EMP001", "front-door", berlin(10, 20))
    assert (evening.allowed, evening.verdict) == (False, Verdict.OUTSIDE_SCHEDULE)


def test_a_rule_change_is_seen_by_the_next_check(ports: AccessPorts) -> None:
    assert admin.check_access(ports, "EMP001", "front-door", AT).allowed
    admin.put_rule(
        ports,
        Rule("lockdown", Effect.DENY, frozenset({"*"}), groups=frozenset({"*"})),
        "admin",
    )
    decision = admin.check_access(ports, "EMP001", "front-door", AT)
    assert (decision.allowed, decision.verdict, decision.rule_id) == (False, Verdict.DENY_RULE, "lockdown")


def test_a_suspended_employee_is_refused_whatever_the_rules(ports: AccessPorts) -> None:
    decision = admin.check_access(ports, "EMP002", "front-door", AT)
    assert (decision.allowed, decision.verdict, decision.rule_id) == (False, Verdict.SUSPENDED, None)
    assert decision.local_time == "2026-03-10T10:30:00+01:00"


def test_an_unknown_employee_is_not_found(ports: AccessPorts) -> None:
    with pytest.raises(NotFound):
        admin.check_access(ports, "GHOST", "front-door", AT)


def test_holidays_close_and_open(ports: AccessPorts) -> None:
    admin.put_group(ports, AccessGroup("security", "Security"), "admin")
    admin.add_member(ports, "security", "EMP001", "admin")
    christmas = Holiday(date(2026, 12, 25), "Christmas", HolidayEffect.CLOSE, groups=frozenset({"security"}))
    admin.put_holiday(ports, christmas, "admin")
    assert admin.check_access(ports, "EMP001", "front-door", berlin(25, 10, month=12)).allowed
    admin.remove_member(ports, "security", "EMP001", "admin")
    closed = admin.check_access(ports, "EMP001", "front-door", berlin(25, 10, month=12))
    assert (closed.verdict, closed.holiday) == (Verdict.HOLIDAY_CLOSED, "2026-12-25")
