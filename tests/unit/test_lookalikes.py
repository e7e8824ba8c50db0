"""The duplicate guard's override for genuine look-alikes (issue 28): one named pair,
symmetric, audited, listable, removable, and no one else let through."""

from __future__ import annotations

import pytest

from chalicelib.core.config import ConsentSettings, ImageLimits, Policy
from chalicelib.core.errors import BadRequest, DuplicateFace, NotFound
from chalicelib.core.models import Employee, Match, SearchResult
from chalicelib.enrollment import lookalikes
from chalicelib.enrollment.employees import EnrollmentPorts, add_face
from tests.fakes import (
    InMemoryAuditLog,
    InMemoryConsentLedger,
    InMemoryEmployeeDirectory,
    InMemoryScanLog,
    ScriptedEngine,
)
from tests.images import encoded, two_tone

PHOTO = encoded(two_tone(), "PNG")


class Twins:
    def __init__(self) -> None:
        self.directory = InMemoryEmployeeDirectory(
            Employee("ANN", "Ann Lee"), Employee("BEA", "Bea Lee"), Employee("CAL", "Cal Roe")
        )
        self.engine = ScriptedEngine(SearchResult(faces=[]))
        self.audit = InMemoryAuditLog()
        self.ports = EnrollmentPorts(
            self.directory, self.engine, self.audit, InMemoryScanLog(), InMemoryConsentLedger.granting()
        )

    def enroll(self, employee_id: str, resembles: str) -> str:
        self.engine.nearest_other = Match(resembles, 97.0)
        return add_face(
            employee_id, PHOTO, self.ports, ImageLimits(), "admin", policy=Policy(), consent=ConsentSettings()
        ).face_id


@pytest.fixture
def twins() -> Twins:
    return Twins()


def test_an_allowed_pair_lets_either_twin_resemble_the_other(twins: Twins) -> None:
    with pytest.raises(DuplicateFace):
        twins.enroll("BEA", resembles="ANN")
    assert lookalikes.allow_pair("BEA", "ANN", twins.ports, "admin") == ("ANN", "BEA")
    assert twins.enroll("BEA", resembles="ANN")  # the pair, either order
    assert twins.enroll("ANN", resembles="BEA")  # symmetric
    assert twins.engine.allows[-1] == frozenset({"BEA"})
    actions = [(e.action, e.target, e.details.get("other_employee_id")) for e in twins.audit.entries]
    assert ("face.lookalike.allow", "ANN", "BEA") in actions and (
        "face.lookalike.allow",
        "BEA",
        "ANN",
    ) in actions
    [enrolled] = [e for e in twins.audit.entries if e.action == "face.enroll" and e.target == "ANN"]
    assert enrolled.details["lookalikes_allowed"] == ["BEA"]
    assert lookalikes.allowed_pairs(twins.ports) == [("ANN", "BEA")]


def test_the_pair_lets_through_nobody_else(twins: Twins) -> None:
    lookalikes.allow_pair("ANN", "BEA", twins.ports, "admin")
    with pytest.raises(DuplicateFace):
        twins.enroll("ANN", resembles="CAL")  # a third person is refused as ever
    with pytest.raises(DuplicateFace):
        twins.enroll("CAL", resembles="ANN")  # and nobody outside the pair gets the override
    assert twins.engine.allows[-1] == frozenset()


def test_a_pair_held_by_one_side_only_is_no_pair(twins: Twins) -> None:
    """A half-written pair, or one whose other half was erased, never lets anyone through."""
    twins.directory.set_lookalike("ANN", "BEA", True)
    with pytest.raises(DuplicateFace):
        twins.enroll("ANN", resembles="BEA")
    lookalikes.allow_pair("ANN", "BEA", twins.ports, "admin")
    twins.directory.begin_erasure("BEA", "job1")
    with pytest.raises(DuplicateFace):
        twins.enroll("ANN", resembles="BEA")
    assert lookalikes.allowed_pairs(twins.ports) == []


def test_a_removed_pair_is_refused_again_and_refusals_are_clear(twins: Twins) -> None:
    lookalikes.allow_pair("ANN", "BEA", twins.ports, "admin")
    lookalikes.remove_pair("BEA", "ANN", twins.ports, "admin")
    assert [e.action for e in twins.audit.entries[-2:]] == ["face.lookalike.remove"] * 2
    with pytest.raises(DuplicateFace):
        twins.enroll("ANN", resembles="BEA")
    assert lookalikes.allowed_pairs(twins.ports) == []
    with pytest.raises(NotFound):
        lookalikes.remove_pair("ANN", "BEA", twins.ports, "admin")
    with pytest.raises(NotFound):
        lookalikes.allow_pair("ANN", "NOBODY", twins.ports, "admin")
    assert twins.directory.lookalikes("ANN") == frozenset()  # nothing half-written
    with pytest.raises(BadRequest):
        lookalikes.allow_pair("ANN", "ANN", twins.ports, "admin")
