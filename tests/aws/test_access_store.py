"""DynamoAccessStore against moto: its item layout, a load that a commit lands in the
middle of, and transactions cancelled for a conflict (injected: moto never cancels one so).

The contract shared with the fake is in test_contracts.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib import wiring
from chalicelib.access.policy import AccessGroup, Door
from chalicelib.aws import access
from chalicelib.aws.access import DynamoAccessStore
from chalicelib.aws.dynamo import CONFLICT_ATTEMPTS
from chalicelib.core.errors import AccessPolicyUnsettled, MalformedResponse
from sandbox.stack import Stack
from tests.aws.test_contracts import FRONT, NIGHT_SHIFT, STAFF
from tests.aws.test_dynamo_checked import small_pages
from tests.aws.test_face_store_conflicts import CONDITION, CONFLICT, NONE, Cancelled
from tests.faults import injected


def store(stack: Stack) -> DynamoAccessStore:
    return DynamoAccessStore(wiring.table(stack.settings.access_table))


def raw_items(stack: Stack) -> list[dict[str, Any]]:
    return sorted(
        wiring.table(stack.settings.access_table).scan(ConsistentRead=True)["Items"],
        key=lambda item: (item["kind"], item["entry_id"]),
    )


def test_each_entry_is_its_document_under_kind_and_id_beside_one_version_item(stack: Stack) -> None:
    assert store(stack).commit("", put=[FRONT, NIGHT_SHIFT])
    version, door, rule = raw_items(stack)
    assert version == {"kind": "#version", "entry_id": "#version", "token": store(stack).version()}
    assert door == {
        "kind": "door",
        "entry_id": "front",
        "document": {"door_id": "front", "name": "Front door", "cameras": ["front-door", "lobby-2"]},
    }
    assert rule["kind"] == "rule" and rule["entry_id"] == "night-shift"
    assert rule["document"]["valid_until"] == "2026-03-31" and rule["document"]["employees"] == ["EMP007"]


def test_a_stored_document_the_api_would_refuse_is_an_unreadable_answer(stack: Stack) -> None:
    assert store(stack).commit("", put=[FRONT])
    table = wiring.table(stack.settings.access_table)
    table.put_item(Item={"kind": "door", "entry_id": "back", "document": {"name": "Back", "colour": "red"}})
    with pytest.raises(MalformedResponse, match="door/back"):
        store(stack).load()


@contextmanager
def commits_during_scans(stack: Stack, times: int) -> Iterator[list[str]]:
    """Another writer commits while each of the first ``times`` Scans of the table is read."""
    writer = store(stack)  # its own client: the hook below is on the session's clients
    landed: list[str] = []

    def commit(**_: Any) -> None:
        if len(landed) < times:
            landed.append(f"group-{len(landed)}")
            assert writer.commit(writer.version(), put=[AccessGroup(landed[-1], "Added mid-scan")])

    wiring.reset()  # clients copy their session's hooks when created: build them again
    events = wiring._session().events
    events.register("after-call.dynamodb.Scan", commit)
    try:
        yield landed
    finally:
        events.unregister("after-call.dynamodb.Scan", commit)
        wiring.reset()


def test_a_load_a_commit_lands_in_is_read_again_so_its_version_labels_its_entries(stack: Stack) -> None:
    assert store(stack).commit("", put=[FRONT])
    writer = store(stack)
    with commits_during_scans(stack, times=2) as landed:
        snapshot = store(stack).load()
    assert landed == ["group-0", "group-1"]
    # Labelled with a version before the commits, the cache would keep these entries for good.
    assert snapshot.version == writer.version()
    assert [group.group_id for group in snapshot.groups] == landed


def test_a_load_that_never_settles_fails_rather_than_answer_a_mixture(stack: Stack) -> None:
    assert store(stack).commit("", put=[FRONT])
    with (
        commits_during_scans(stack, times=access.LOAD_ATTEMPTS) as landed,
        pytest.raises(AccessPolicyUnsettled),
    ):
        store(stack).load()
    assert len(landed) == access.LOAD_ATTEMPTS


def test_a_load_reads_every_page(stack: Stack) -> None:
    groups = [AccessGroup(f"group-{n}", f"Group {n}") for n in range(5)]
    assert store(stack).commit("", put=groups)
    with small_pages(2):
        assert store(stack).load().groups == tuple(groups)


def test_a_commit_that_meets_another_transaction_is_sent_again(stack: Stack) -> None:
    with injected(Cancelled([NONE, CONFLICT], times=2)) as fault:
        writer = store(stack)
        assert writer.commit("", put=[STAFF]) is True
    assert fault.attempts == 2 and writer.conflicts == 2
    assert store(stack).load().groups == (STAFF,)


def test_conflicts_are_retried_a_bounded_number_of_times(stack: Stack) -> None:
    with injected(Cancelled([NONE, CONFLICT])) as fault, pytest.raises(ClientError):
        store(stack).commit("", put=[STAFF])
    assert fault.attempts == CONFLICT_ATTEMPTS
    assert store(stack).version() == ""


def test_a_moved_version_is_an_answer_not_retried(stack: Stack) -> None:
    with injected(Cancelled([NONE, CONDITION])) as fault:
        writer = store(stack)
        assert writer.commit("", put=[STAFF]) is False
    assert fault.attempts == 1 and writer.conflicts == 0


def test_a_cancellation_for_an_entry_is_raised_not_read_as_a_moved_version(stack: Stack) -> None:
    # Only the version item carries a condition; anything else failing is not "it moved".
    with injected(Cancelled([CONDITION, NONE])), pytest.raises(ClientError):
        store(stack).commit("", put=[STAFF])


def test_a_delete_of_a_kind_the_store_does_not_hold_is_refused(stack: Stack) -> None:
    with pytest.raises(ValueError, match="#version"):
        store(stack).commit("", delete=[("#version", "#version")])
    assert store(stack).commit("", put=[Door("front", "Front")])
