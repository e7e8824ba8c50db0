"""A rule or holiday naming a group or employee that does not exist is refused (409) unless the
admin says so explicitly, audited: creating that group later must not grant access unseen."""

from __future__ import annotations

from datetime import date

import pytest

from chalicelib.access import admin
from chalicelib.access.admin import AccessPorts
from chalicelib.access.policy import AccessGroup, Effect, Holiday, HolidayEffect, Rule
from chalicelib.core.errors import AccessInUse, UnknownNamed
from chalicelib.core.models import Employee
from tests.fakes import InMemoryAuditLog, InMemoryEmployeeDirectory
from tests.unit.test_access_admin import AT, TZ, RacingStore, audit, staff_hours

ANYWHERE = frozenset({"*"})


@pytest.fixture
def store() -> RacingStore:
    return RacingStore()


@pytest.fixture
def ports(store: RacingStore) -> AccessPorts:
    directory = InMemoryEmployeeDirectory(Employee("EMP001", "Quinn Zebedee"))
    return AccessPorts(store, directory, InMemoryAuditLog(), TZ, clock=lambda: AT)


def actions(ports: AccessPorts) -> list[str]:
    return [action for _, action, _, _ in audit(ports)]


@pytest.mark.parametrize(
    ("groups", "employees", "unknown_groups", "unknown_employees"),
    [
        ({"ghosts"}, set(), ["ghosts"], []),
        ({"staff", "ghosts"}, set(), ["ghosts"], []),  # one known name does not carry the other
        (set(), {"EMP404"}, [], ["EMP404"]),
        (set(), {"EMP001", "EMP404", "EMP405"}, [], ["EMP404", "EMP405"]),
        ({"*", "nobody"}, {"EMP999"}, ["nobody"], ["EMP999"]),
        ({"Staff"}, set(), ["Staff"], []),  # ids are exact: not a case-folded "staff"
    ],
)
def test_a_rule_naming_an_unknown_group_or_employee_is_refused_and_stores_nothing(
    ports: AccessPorts,
    store: RacingStore,
    groups: set[str],
    employees: set[str],
    unknown_groups: list[str],
    unknown_employees: list[str],
) -> None:
    admin.put_group(ports, AccessGroup("staff", "Staff"), "admin")
    for effect in Effect:
        rule = Rule("r1", effect, ANYWHERE, groups=frozenset(groups), employees=frozenset(employees))
        with pytest.raises(UnknownNamed) as refused:
            admin.put_rule(ports, rule, "admin")
        assert refused.value.fields == {
            "unknown_groups": unknown_groups,
            "unknown_employees": unknown_employees,
        }
    assert ("rule", "r1") not in store.entries
    assert actions(ports) == ["access.group.put"]  # nothing for the refused rules


def test_allow_unknown_stores_the_rule_and_audits_the_unknown_names(ports: AccessPorts) -> None:
    rule = Rule("r1", Effect.GRANT, ANYWHERE, groups=frozenset({"ghosts"}), employees=frozenset({"EMP404"}))
    admin.put_rule(ports, rule, "admin", allow_unknown=True)
    assert admin.get_rule(ports, "r1") == rule
    _, action, target, details = audit(ports)[-1]
    assert (action, target) == ("access.rule.put", "access/rule/r1")
    assert {
        "effect": "GRANT",
        "allow_unknown": True,
        "unknown_groups": ["ghosts"],
        "unknown_employees": ["EMP404"],
    }.items() <= details.items()


def test_allow_unknown_on_known_names_audits_nothing_more(ports: AccessPorts) -> None:
    admin.put_rule(ports, staff_hours(groups=ANYWHERE), "admin", allow_unknown=True)
    assert "allow_unknown" not in audit(ports)[-1][3]


def test_a_holiday_naming_an_unknown_group_is_refused_unless_allowed(ports: AccessPorts) -> None:
    for effect in HolidayEffect:
        holiday = Holiday(date(2026, 12, 25), "Christmas", effect, ANYWHERE, frozenset({"ghosts"}))
        with pytest.raises(UnknownNamed, match=r"holiday 2026-12-25 names .*group ghosts"):
            admin.put_holiday(ports, holiday, "admin")
    assert admin.list_holidays(ports) == ()
    admin.put_holiday(ports, holiday, "admin", allow_unknown=True)
    assert admin.list_holidays(ports) == (holiday,)
    assert audit(ports)[-1][3]["unknown_groups"] == ["ghosts"]


def test_a_group_deleted_while_the_rule_is_checked_is_caught_by_the_check_again(
    ports: AccessPorts, store: RacingStore
) -> None:
    admin.put_group(ports, AccessGroup("staff", "Staff"), "admin")
    # Between the rule's read and its commit, another admin deletes the group.
    store.meanwhile.append(
        lambda: super(RacingStore, store).commit(store.current, delete=[("group", "staff")])
    )
    with pytest.raises(UnknownNamed, match="group staff"):
        admin.put_rule(ports, staff_hours(), "admin")
    assert ("rule", "staff-hours") not in store.entries


def test_a_group_a_rule_names_cannot_be_deleted_and_the_rule_then_still_names_it(ports: AccessPorts) -> None:
    admin.put_group(ports, AccessGroup("staff", "Staff"), "admin")
    admin.put_rule(ports, staff_hours(), "admin")
    with pytest.raises(AccessInUse, match="rule"):
        admin.delete_group(ports, "staff", "admin")
    admin.delete_rule(ports, "staff-hours", "admin")
    admin.delete_group(ports, "staff", "admin")
