"""Drop-folder faces that would widen someone's access wait for an admin (issue 28): held
outside the gallery, approved through the API's own ``add_face``, rejected and purged."""

from __future__ import annotations

import pytest

from chalicelib.access.policy import Effect, Rule
from chalicelib.core.config import ConsentSettings, Policy
from chalicelib.core.errors import DuplicateFace, NotFound, PendingOutdated
from chalicelib.core.keys import enroll_key
from chalicelib.core.models import Employee, Match, PendingFace
from chalicelib.enrollment import pending
from chalicelib.enrollment.drop_folder import admin_message
from chalicelib.enrollment.employees import create_employee
from tests.unit.test_drop_folder import HR, LIMITS, Drop


@pytest.fixture
def drop() -> Drop:
    return Drop()


def _in_group(drop: Drop, employee_id: str, group: str) -> None:
    current = drop.directory.employees[employee_id]
    drop.directory.employees[employee_id] = Employee(employee_id, current.name, groups=frozenset({group}))


def _rule_naming(drop: Drop, employee_id: str) -> None:
    rule = Rule("server-room", Effect.GRANT, doors=frozenset({"server"}), employees=frozenset({employee_id}))
    assert drop.access.commit(drop.access.current, put=[rule])


def test_a_strangers_photo_for_a_faceless_employee_in_a_group_waits_outside_the_gallery(drop: Drop) -> None:
    """The attack: an admin creates EMP010 (no photo) in group `it`; a stranger's photo
    dropped for them must not become their first face."""
    drop.directory.employees["EMP010"] = Employee("EMP010", "Ira Tal", groups=frozenset({"it"}))
    outcome = drop.run(drop.put(enroll_key("EMP010", "x.png")))
    assert not outcome.enrolled and outcome.pending_id is not None
    assert outcome.waits == pending.EXISTING
    assert not drop.engine.faces.get("EMP010")  # no scan can match it: not in the gallery
    assert drop.engine.refuse_ats == []  # the engine never saw it
    [(face, photo)] = drop.pending.held.values()
    assert face.employee_id == "EMP010" and face.uploader == HR and photo
    assert drop.images.objects == {}  # the drop folder's copy is gone as ever
    [(subject, message, attributes)] = drop.admins.published
    assert attributes == {"event": "enrollment.pending", "employee_id": "EMP010"}
    assert "waits for approval" in subject and len(subject) < 100
    assert f"facegate faces approve {outcome.pending_id}" in message
    assert [action for _, action, _ in drop.actions()] == ["face.pending", "enrollment.pending"]


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (lambda drop: None, pending.EXISTING),  # existed, in no group, named by no rule
        (lambda drop: _in_group(drop, "EMP001", "staff"), pending.EXISTING),
        (lambda drop: _rule_naming(drop, "EMP001"), pending.EXISTING),
    ],
)
def test_every_face_of_an_employee_the_drop_did_not_create_waits(
    drop: Drop, setup: object, reason: str
) -> None:
    setup(drop)  # type: ignore[operator]
    outcome = drop.run(drop.put(enroll_key("EMP001", "y.png")))
    assert outcome.pending_id and outcome.waits == reason and not drop.engine.faces.get("EMP001")


def test_a_new_employee_a_rule_names_already_is_created_but_their_face_waits(drop: Drop) -> None:
    _rule_naming(drop, "EMP020")  # a rule written for an id before the employee existed
    outcome = drop.run(drop.put(enroll_key("EMP020", "z.png"), name="Nova Reyes"))
    assert outcome.created and outcome.pending_id and outcome.waits == pending.NAMED_BY_RULE
    assert "EMP020" in drop.directory.employees and not drop.engine.faces.get("EMP020")


def test_a_new_employee_put_in_a_group_before_their_face_lands_waits(drop: Drop) -> None:
    real_create = drop.directory.create

    def create(employee: Employee) -> bool:  # an admin adds them to a group at once
        created = real_create(employee)
        drop.directory.set_membership(employee.employee_id, "it", True)
        return created

    drop.directory.create = create  # type: ignore[method-assign]
    outcome = drop.run(drop.put(enroll_key("EMP021", "z.png"), name="Nova Reyes"))
    assert outcome.pending_id and outcome.waits == pending.IN_GROUPS


def test_a_new_employee_in_no_group_and_named_by_no_rule_is_enrolled_at_once(drop: Drop) -> None:
    _rule_naming(drop, "EMP999")  # rules naming others change nothing
    outcome = drop.run(drop.put(enroll_key("EMP022", "n.png"), name="Nova Reyes"))
    assert outcome.enrolled and outcome.created and not drop.pending.held
    assert len(drop.engine.faces["EMP022"]) == 1


def test_approval_enrolls_through_the_duplicate_guard_and_purges_the_photo(drop: Drop) -> None:
    outcome = drop.run(drop.put(enroll_key("EMP001", "a.png")))
    assert outcome.pending_id
    record = pending.approve(
        outcome.pending_id,
        drop.pending,
        drop.ports.enrollment,
        LIMITS,
        "admin",
        policy=Policy(),
        consent=ConsentSettings(),
    )
    assert drop.engine.faces["EMP001"] == [record.face_id]
    assert drop.engine.refuse_ats and drop.engine.refuse_ats[0] is not None  # the guard was on
    assert drop.pending.held == {} and drop.pending.discarded == [outcome.pending_id]
    assert drop.actions()[-1] == ("admin", "face.pending.approve", "EMP001")
    with pytest.raises(NotFound):  # approved once
        pending.approve(
            outcome.pending_id,
            drop.pending,
            drop.ports.enrollment,
            LIMITS,
            "admin",
            policy=Policy(),
            consent=ConsentSettings(),
        )


def test_a_held_face_the_duplicate_guard_refuses_stays_held(drop: Drop) -> None:
    outcome = drop.run(drop.put(enroll_key("EMP001", "a.png")))
    assert outcome.pending_id
    drop.engine.nearest_other = Match("EMP777", 99.0)
    with pytest.raises(DuplicateFace):
        pending.approve(
            outcome.pending_id,
            drop.pending,
            drop.ports.enrollment,
            LIMITS,
            "admin",
            policy=Policy(),
            consent=ConsentSettings(),
        )
    assert outcome.pending_id in drop.pending.held and not drop.engine.faces.get("EMP001")


def test_rejection_purges_the_photo_and_is_audited(drop: Drop) -> None:
    outcome = drop.run(drop.put(enroll_key("EMP001", "a.png")))
    assert outcome.pending_id
    assert [face.pending_id for face in pending.pending_faces(drop.pending)] == [outcome.pending_id]
    pending.reject(outcome.pending_id, drop.pending, drop.ports.enrollment, LIMITS, "admin")
    assert drop.pending.held == {} and not drop.engine.faces.get("EMP001")
    assert drop.actions()[-1] == ("admin", "face.pending.reject", "EMP001")
    with pytest.raises(NotFound):
        pending.reject(outcome.pending_id, drop.pending, drop.ports.enrollment, LIMITS, "admin")


def test_held_photos_are_bounded(drop: Drop) -> None:
    for number in range(pending.MAX_PENDING):
        drop.pending.held[f"{number:032x}"] = (PendingFace(f"{number:032x}", "EMP001", "t", HR, "r"), b"x")
    outcome = drop.run(drop.put(enroll_key("EMP001", "a.png")))
    assert (
        not outcome.pending_id
        and outcome.reason is not None
        and "wait for approval already" in outcome.reason
    )
    created = drop.run(drop.put(enroll_key("EMP030", "b.png"), name="Held Over"))  # a rule-less new one
    assert created.enrolled  # enrolled at once: the bound never blocks what needs no approval


def test_the_admins_message_says_why_it_waits_on_one_line() -> None:
    from chalicelib.enrollment.drop_folder import DropOutcome

    outcome = DropOutcome("enroll/E/x", "E", pending_id="a" * 32, waits="why\nStatus: AUTHORIZED")
    _, message = admin_message(outcome, HR)
    assert "Why it waits: why\\x0aStatus: AUTHORIZED" in message and "held until approved" in message


def _approve(drop: Drop, pending_id: str) -> object:
    return pending.approve(
        pending_id,
        drop.pending,
        drop.ports.enrollment,
        LIMITS,
        "admin",
        policy=Policy(),
        consent=ConsentSettings(),
    )


@pytest.mark.parametrize(
    "after",
    [
        lambda drop: drop.directory.employees.pop("EMP001"),  # erased
        lambda drop: drop.directory.erasing.update(EMP001="job-1"),  # being erased
        # erased, then the id created again (by the API, SCIM, an import or a drop), a
        # millisecond or a year later
        lambda drop: drop.directory.employees.update(
            EMP001=Employee("EMP001", "Someone Else", created_at="2026-03-10T09:30:00.001Z")
        ),
        lambda drop: drop.directory.employees.update(
            EMP001=Employee("EMP001", "Someone Else", created_at="2027-01-01T00:00:00Z")
        ),
    ],
)
def test_a_photo_held_for_an_earlier_employee_of_the_id_is_never_approved(drop: Drop, after: object) -> None:
    """B2: a held photo shows whoever had the id when it was dropped."""
    outcome = drop.run(drop.put(enroll_key("EMP001", "a.png")))
    assert outcome.pending_id
    after(drop)  # type: ignore[operator]
    with pytest.raises(PendingOutdated):
        _approve(drop, outcome.pending_id)
    assert outcome.pending_id in drop.pending.held and not drop.engine.faces.get("EMP001")
    pending.reject(outcome.pending_id, drop.pending, drop.ports.enrollment, LIMITS, "admin")  # still possible


def test_a_photo_held_after_the_employee_was_created_is_approved(drop: Drop) -> None:
    created = create_employee(Employee("EMP040", "Nova Reyes"), drop.ports.enrollment, "admin")
    assert created.created_at == "2026-03-10T09:30:00.000Z"  # every creation stamps it
    assert drop.directory.employees["EMP040"].created_at == created.created_at
    outcome = drop.run(drop.put(enroll_key("EMP040", "a.png")))  # the same instant: theirs
    assert outcome.pending_id
    _approve(drop, outcome.pending_id)
    assert drop.engine.faces.get("EMP040")
