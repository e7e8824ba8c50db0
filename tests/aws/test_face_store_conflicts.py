"""DynamoFaceStore against moto with DynamoDB's transaction conflicts injected.

Every face write also moves its shard's head item: real DynamoDB cancels a transaction
that meets another on it (``TransactionCanceledException`` with a
``TransactionConflict`` reason). moto never does (no ``TransactionConflict`` anywhere in
moto/dynamodb), so the cancellation is injected into the real botocore client, in the
shape botocore's service model gives the exception (``Message``, ``CancellationReasons``
of ``Code``/``Message``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from chalicelib import wiring
from chalicelib.aws.dynamo import CONFLICT_ATTEMPTS
from chalicelib.aws.faces import DynamoFaceStore
from chalicelib.core.ports import StoredFace
from sandbox.stack import Stack
from tests.faults import FaultInjector, _headers, _Raw, injected

FACE = StoredFace("EMP001", "f1", bytes(512), "2026-12-01T00:00:00+00:00")
CONFLICT = {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
NONE = {"Code": "None"}
CONDITION = {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}


class Cancelled(FaultInjector):
    """Cancels the first ``times`` TransactWriteItems calls with the given reasons."""

    def __init__(self, reasons: list[dict[str, str]], times: int | None = None) -> None:
        super().__init__("dynamodb", "TransactWriteItems", "transaction cancelled", times=times)
        self.reasons = reasons

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        if self.times is not None and self.attempts >= self.times:
            return None
        self.attempts += 1
        codes = ", ".join(reason["Code"] for reason in self.reasons)
        body = {
            "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            "Message": f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",  # noqa: E501
            "CancellationReasons": self.reasons,
        }
        payload = json.dumps(body).encode()
        return AWSResponse(request.url, 400, _headers("application/x-amz-json-1.0"), _Raw(payload))


def store(stack: Stack) -> DynamoFaceStore:
    return DynamoFaceStore(wiring.table(stack.settings.faces_table))


def test_a_put_that_meets_another_transaction_is_sent_again(stack: Stack) -> None:
    before = store(stack).heads()
    with injected(Cancelled([NONE, CONFLICT], times=2)) as fault:
        faces = store(stack)
        faces.put(FACE)
    assert fault.attempts == 2
    assert faces.conflicts == 2
    assert store(stack).of_employee("EMP001") == [FACE]
    assert store(stack).heads() != before


def test_a_delete_that_meets_another_transaction_is_sent_again(stack: Stack) -> None:
    store(stack).put(FACE)
    with injected(Cancelled([NONE, CONFLICT], times=1)) as fault:
        faces = store(stack)
        assert faces.delete("EMP001", ["f1"]) == ["f1"]
    assert fault.attempts == 1
    assert store(stack).of_employee("EMP001") == []


def test_conflicts_are_retried_a_bounded_number_of_times(stack: Stack) -> None:
    with injected(Cancelled([NONE, CONFLICT])) as fault, pytest.raises(ClientError) as raised:
        store(stack).put(FACE)
    assert fault.attempts == CONFLICT_ATTEMPTS
    assert raised.value.response["CancellationReasons"][1]["Code"] == "TransactionConflict"
    assert store(stack).of_employee("EMP001") == []


@pytest.mark.parametrize(
    "reasons",
    [[NONE, NONE, CONDITION], [NONE, CONFLICT, CONDITION], [CONDITION, NONE, CONDITION]],
    ids=["face exists", "face exists+conflict", "face exists+head taken"],
)
def test_a_transaction_cancelled_for_another_reason_is_not_retried(
    stack: Stack, reasons: list[dict[str, str]]
) -> None:
    with injected(Cancelled(reasons)) as fault, pytest.raises(ClientError):
        store(stack).put(FACE)
    assert fault.attempts == 1


def test_a_change_whose_head_was_taken_reads_it_again_and_is_logged_once(stack: Stack) -> None:
    # The head item's condition (seq = the value read) failed: another change of the same
    # shard committed in between. Sent again with the next sequence number, not lost.
    with injected(Cancelled([CONDITION, NONE, NONE], times=2)) as fault:
        faces = store(stack)
        faces.put(FACE)
    assert fault.attempts == 2 and faces.conflicts == 2
    heads = faces.heads()
    assert sum(heads) == 1
    changes = faces.changes((0,) * len(heads), heads)
    assert changes is not None and [(c.employee_id, c.face_ids, c.added) for c in changes] == [
        ("EMP001", ("f1",), True)
    ]


def test_moto_s_own_condition_failure_is_not_retried(stack: Stack) -> None:
    faces = store(stack)
    faces.put(FACE)
    with pytest.raises(ClientError) as raised:
        faces.put(FACE)  # same face id: the Put's attribute_not_exists fails
    codes = [reason["Code"] for reason in raised.value.response["CancellationReasons"]]
    assert codes == ["None", "None", "ConditionalCheckFailed"]  # head, log entry, face
    assert faces.conflicts == 0


def test_a_consistent_load_asks_dynamodb_for_a_consistent_scan(stack: Stack) -> None:
    # The duplicate guard's re-check relies on it: an eventually consistent scan may miss
    # a face whose put has already returned.
    faces = store(stack)
    faces.put(FACE)
    sent: list[object] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        sent.append(params.get("ConsistentRead"))

    events = wiring.table(stack.settings.faces_table).meta.client.meta.events
    events.register("provide-client-params.dynamodb.Scan", record)
    try:
        assert faces.load(consistent=True) == [FACE]
        assert faces.load() == [FACE]
    finally:
        events.unregister("provide-client-params.dynamodb.Scan", record)
    assert sent == [True, False]
