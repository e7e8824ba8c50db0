"""Lockdowns and remote door commands in pure logic: the policy's first question, the stored
document, the pipeline's DENIED/LOCKDOWN, and the services' order (queue, sign, store, audit,
send) with in-memory fakes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.access import remote
from chalicelib.access.admin import AccessPorts, check_access
from chalicelib.access.commands import unlock_request
from chalicelib.access.documents import document, entry_from, lockdown_from
from chalicelib.access.policy import DEFAULT_RULE, Lockdown, Verdict, decide_access
from chalicelib.access.remote import AUDIT_TARGET, CommandPorts
from chalicelib.core.errors import (
    AccessInUse,
    BadRequest,
    DoorLockedDown,
    InvalidAccessDocument,
    NotFound,
    SigningFailed,
)
from chalicelib.core.models import Reason, Status
from tests.access_site import TIMEZONE, entries, snapshot
from tests.fakes import (
    InMemoryAccessStore,
    InMemoryAuditLog,
    InMemoryDoorQueues,
    InMemoryEmployeeDirectory,
    InMemorySigner,
)
from tests.unit.test_pipeline import World
from tests.unit.test_pipeline_access import JANE, MONDAY_10, scan_at

NOW = datetime(2026, 3, 10, 13, 2, 11, 250_000, tzinfo=UTC)
LOCKED = Lockdown("front-door", "2026-03-10T13:02:11.250Z", "sandbox-security", "intruder in the lobby")


# --- the policy: a lockdown is asked before any rule ------------------------------------------


def test_a_locked_down_door_refuses_everyone_whatever_the_rules() -> None:
    from dataclasses import replace

    site = replace(snapshot().policy(TIMEZONE), lockdowns=(LOCKED,))
    for employee, groups in (("EMP001", {"staff"}), ("SEC001", {"security"})):
        answer = decide_access(site, employee, groups, "front-door", MONDAY_10)
        assert (answer.allowed, answer.verdict, answer.reason) == (
            False,
            Verdict.LOCKDOWN,
            "door locked down",
        )
        assert (answer.rule_id, answer.holiday) == (None, None)
    # the security group passes every door always: not this one, not now; the others as ever
    assert decide_access(site, "SEC001", {"security"}, "server-room", MONDAY_10).allowed
    everyone = replace(snapshot().policy(TIMEZONE), rules=(DEFAULT_RULE,), lockdowns=(LOCKED,))
    assert decide_access(everyone, "EMP001", set(), "front-door", MONDAY_10).verdict is Verdict.LOCKDOWN


def test_a_door_the_policy_does_not_list_can_be_locked_down() -> None:
    from dataclasses import replace

    own = Lockdown("loading-dock", LOCKED.since, LOCKED.actor, LOCKED.reason)
    site = replace(snapshot().policy(TIMEZONE), rules=(DEFAULT_RULE,), lockdowns=(own,))
    assert site.door_of("loading-dock") == "loading-dock"  # a camera on no door: its own door
    assert decide_access(site, "EMP001", set(), "loading-dock", MONDAY_10).verdict is Verdict.LOCKDOWN


def test_lockdown_is_a_reason_code_and_its_text_names_no_one() -> None:
    assert Reason(Verdict.LOCKDOWN.value) is Reason.LOCKDOWN


# --- the pipeline: DENIED, LOCKDOWN for a recognised employee at that door ---------------------


def test_a_scan_at_a_locked_down_door_is_denied_lockdown_and_released_is_admitted_again() -> None:
    world = World(directory=InMemoryEmployeeDirectory(JANE))
    assert world.access_store.commit("", put=[*entries(), LOCKED])
    denied = scan_at(world, MONDAY_10)
    assert (denied.status, denied.decision.reason_code) == (Status.DENIED, Reason.LOCKDOWN)
    assert (denied.decision.door_id, denied.decision.employee_id) == ("front-door", "EMP001")
    assert denied.decision.reason == "door locked down"
    assert world.access_store.commit(world.access_store.current, delete=[("lockdown", "front-door")])
    admitted = scan_at(world, MONDAY_10, version="v2")
    assert admitted.status is Status.AUTHORIZED  # the next scan of the same container sees it


def test_check_access_answers_lockdown_too() -> None:
    store = InMemoryAccessStore()
    assert store.commit("", put=[*entries(), LOCKED])
    ports = AccessPorts(store, InMemoryEmployeeDirectory(JANE), InMemoryAuditLog(), TIMEZONE)
    assert check_access(ports, "EMP001", "front-door-in", MONDAY_10).verdict is Verdict.LOCKDOWN


# --- the stored document ---------------------------------------------------------------------


def test_a_lockdown_document_round_trips() -> None:
    assert document(LOCKED) == {
        "door_id": "front-door",
        "since": "2026-03-10T13:02:11.250Z",
        "actor": "sandbox-security",
        "reason": "intruder in the lobby",
    }
    assert entry_from("lockdown", "front-door", document(LOCKED)) == LOCKED


@pytest.mark.parametrize(
    "changes",
    [
        {"since": "2026-03-10T13:02:11Z"},  # not as written
        {"since": "2026-03-10 13:02:11.250Z"},
        {"since": None},
        {"actor": ""},
        {"actor": "x" * 129},
        {"reason": "no"},
        {"reason": "x" * 201},
        {"reason": "line\nbreak"},
        {"reason": "\u202eright to left"},
        {"door_id": "server-room"},  # not the path's
        {"extra": 1},
    ],
)
def test_a_lockdown_document_is_read_strictly(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidAccessDocument):
        lockdown_from("front-door", {**document(LOCKED), **changes})


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"reason": "  courier  "}, ("courier", 5)),
        ({"reason": "courier", "seconds": 1}, ("courier", 1)),
        ({"reason": "courier", "seconds": 30}, ("courier", 30)),
        ({"reason": "zero\u200dwidth joiner"}, ("zero\u200dwidth joiner", 5)),  # how some scripts write
    ],
)
def test_an_unlock_request_reads_reason_and_seconds(body: dict[str, Any], expected: tuple[str, int]) -> None:
    assert unlock_request(body) == expected


@pytest.mark.parametrize("seconds", [0, 31, True, False, 5.0, "5", None, [5]])
def test_an_unlock_request_refuses_seconds_that_are_not_1_to_30(seconds: object) -> None:
    with pytest.raises(BadRequest, match="seconds"):
        unlock_request({"reason": "courier", "seconds": seconds})


# --- the services, with fakes ---------------------------------------------------------------------


class Site:
    def __init__(self) -> None:
        self.store = InMemoryAccessStore()
        self.audit = InMemoryAuditLog()
        self.queues = InMemoryDoorQueues("front-door", "loading-dock")
        self.key = InMemorySigner(key_id="alias/facegate-test-door-commands")
        access = AccessPorts(self.store, InMemoryEmployeeDirectory(), self.audit, "UTC", clock=lambda: NOW)
        self.ports = CommandPorts(access, self.key, self.queues)

    def sent(self, door: str = "front-door") -> list[dict[str, Any]]:
        return [json.loads(body)["command"] for body in self.queues.received[door]]

    def actions(self) -> list[tuple[str, str, str]]:
        return [(e.action, e.target, e.details["door_id"]) for e in self.audit.entries]


@pytest.fixture
def site() -> Site:
    return Site()


def test_an_unlock_is_audited_then_sent(site: Site) -> None:
    command = remote.unlock(site.ports, "front-door", "alice", "courier", 9)
    [sent] = site.sent()
    assert sent["command_id"] == command.command_id and (sent["seconds"], sent["actor"]) == (9, "alice")
    assert command.to_dict() == {
        "command_id": command.command_id,
        "door_id": "front-door",
        "action": "unlock",
        "expires_at": "2026-03-10T13:02:41.250Z",
    }
    [entry] = site.audit.entries
    assert (entry.actor, entry.action, entry.target, entry.at) == (
        "alice",
        "door.unlock",
        AUDIT_TARGET,
        "2026-03-10T13:02:11.250Z",
    )
    assert entry.details == {
        "door_id": "front-door",
        "reason": "courier",
        "command_id": command.command_id,
        "issued_at": "2026-03-10T13:02:11.250Z",
        "seconds": 9,
    }
    assert site.store.current == ""  # an unlock changes no policy


def test_no_queue_means_nothing_signed_stored_audited_or_sent(site: Site) -> None:
    for call in (
        lambda: remote.unlock(site.ports, "side-door", "alice", "courier", 5),
        lambda: remote.lock_down(site.ports, "side-door", "alice", "fire"),
        lambda: remote.release(site.ports, "side-door", "alice", "fire out"),
    ):
        with pytest.raises(NotFound, match="make door-add DOOR=side-door"):
            call()
    assert (site.audit.entries, site.store.current) == ([], "")


def test_a_command_that_cannot_be_signed_is_neither_stored_audited_nor_sent(site: Site) -> None:
    site.key.fail_with = ConnectionError("KMS unreachable")
    with pytest.raises(SigningFailed):
        remote.lock_down(site.ports, "front-door", "alice", "fire")
    assert (site.audit.entries, site.store.current, site.sent()) == ([], "", [])


def test_a_command_not_sent_is_audited_all_the_same(site: Site) -> None:
    site.queues.fail_with = ConnectionError("SQS unreachable")
    with pytest.raises(ConnectionError):
        remote.unlock(site.ports, "front-door", "alice", "courier", 5)
    assert site.actions() == [("door.unlock", AUDIT_TARGET, "front-door")]  # the id no door received


def test_a_lockdown_is_stored_kept_when_repeated_and_ended_by_a_release(site: Site) -> None:
    _, first = remote.lock_down(site.ports, "front-door", "alice", "intruder")
    assert first == Lockdown("front-door", "2026-03-10T13:02:11.250Z", "alice", "intruder")
    stored = site.store.load()
    assert stored.lockdowns == (first,) and stored.rules == (DEFAULT_RULE,)  # the built-in rule kept
    version = site.store.current
    _, again = remote.lock_down(site.ports, "front-door", "bob", "resend")
    assert again == first and site.store.current == version  # nothing written: no reload anywhere
    with pytest.raises(DoorLockedDown):
        remote.unlock(site.ports, "front-door", "bob", "let the guard in", 5)
    assert remote.lockdown_of(site.ports, "front-door") == first
    assert remote.lockdown_of(site.ports, "loading-dock") is None

    _, ended = remote.release(site.ports, "front-door", "carol", "all clear")
    assert ended == first and site.store.load().lockdowns == ()
    _, none = remote.release(site.ports, "front-door", "carol", "again, door was offline")
    assert none is None
    assert [c["action"] for c in site.sent()] == ["lockdown", "lockdown", "release", "release"]
    assert [(e.action, e.actor) for e in site.audit.entries] == [
        ("door.lockdown", "alice"),
        ("door.lockdown", "bob"),
        ("door.release", "carol"),
        ("door.release", "carol"),
    ]
    details = [e.details for e in site.audit.entries]
    assert (details[0]["already_locked_down"], details[1]["already_locked_down"]) == (False, True)
    assert details[0]["default_rule_stored"] is True
    assert details[2]["was_locked_down"] and details[2]["locked_down_by"] == "alice"
    assert details[3] == {**details[3], "was_locked_down": False}


def test_a_camera_on_another_door_is_no_door_to_lock_down(site: Site) -> None:
    from chalicelib.access.documents import door_from

    dock = door_from("loading-dock", {"name": "Loading dock", "cameras": ["front-door"]})
    assert site.store.commit("", put=[dock, DEFAULT_RULE])
    with pytest.raises(AccessInUse, match="camera of door loading-dock"):
        remote.lock_down(site.ports, "front-door", "alice", "wrong id")
    assert site.audit.entries == [] and site.sent() == []
