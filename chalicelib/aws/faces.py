"""The faces table as the local engine's ``FaceStore``, with the gallery's change log in it.

Items: (employee_id, face_id) with the embedding as bytes, and two kinds of bookkeeping
items under keys no employee id can take (they start with ``#``):

- a head per shard, (``#gallery``, ``#head#NN``): how many changes that shard has logged.
  Employees are spread over ``SHARDS`` shards by a hash of their id; a container reads
  every head with one strongly consistent BatchGetItem before each search.
- a log entry per change, (``#log#NN``, seq as 12 digits): which faces of which employee
  were added or removed (ids only, never an embedding), expiring after ``LOG_DAYS``. The
  entries after a container's heads are read by their keys, so a gap (an expired entry)
  shows as a key not found.

Every change is one transaction: the face item(s), the log entry, and the head moved
from the value read to the next one on condition it still holds. Two changes in one shard
meet on its head: the condition fails for the later one, which reads the head again and
retries; changes in different shards never meet, so concurrent enrollments of different
people are not serialised behind one hot key.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from chalicelib.aws import dynamo, paging
from chalicelib.core.ports import FIRST_MODEL, FaceChange, Heads, StoredFace

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

SHARDS = 16
GALLERY = "#gallery"
HEAD_PREFIX = "#head#"
LOG_PREFIX = "#log#"
# Longer than a snapshot may be stale (they are built every 15 minutes): a container that
# finds the log expired past its snapshot reads the whole gallery instead.
LOG_DAYS = 3
# A head taken by another change is read again this many times (jittered backoff).
HEAD_ATTEMPTS = 8
# What an erased employee's id becomes in the log (no employee id starts with "#").
ERASED_OWNER = "#erased"
HEAD_BACKOFF_SECONDS = 0.01
BATCH_GET_LIMIT = 100


def shard_of(employee_id: str) -> int:
    """The employee's shard: stable across processes (not Python's salted ``hash``)."""
    digest = hashlib.sha256(employee_id.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:4], "big") % SHARDS


def head_key(shard: int) -> dict[str, str]:
    return {"employee_id": GALLERY, "face_id": f"{HEAD_PREFIX}{shard:02d}"}


def log_partition(shard: int) -> str:
    return f"{LOG_PREFIX}{shard:02d}"


def _seq_key(seq: int) -> str:
    return f"{seq:012d}"


class DynamoFaceStore:
    """Embeddings in DynamoDB; never holds images."""

    def __init__(self, table: Table, clock: Any = time.time) -> None:
        self._table = table
        self._name = table.name
        # The resource's client speaks plain Python types, not the AttributeValue maps its
        # stub (DynamoDBClient) describes; no stub says so, hence Any.
        self._client: Any = table.meta.client
        self._clock = clock
        self.conflicts = 0  # changes sent again after meeting another one (for load runs)

    def put(self, face: StoredFace) -> None:
        item = {
            "employee_id": face.employee_id,
            "face_id": face.face_id,
            "embedding": face.embedding,
            "created_at": face.created_at,
            "model": face.model,
        }
        put = {
            "Put": {
                "TableName": self._name,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(face_id)",
            }
        }
        self._change(face.employee_id, [face.face_id], True, [put])

    def delete(self, employee_id: str, face_ids: Sequence[str] | None = None) -> list[str]:
        ids = list(face_ids) if face_ids is not None else self._face_ids(employee_id)
        chunk = dynamo.TRANSACTION_LIMIT - 2  # with the head and the log entry
        for start in range(0, len(ids), chunk):
            some = ids[start : start + chunk]
            deletes = [
                {"Delete": {"TableName": self._name, "Key": {"employee_id": employee_id, "face_id": face_id}}}
                for face_id in some
            ]
            self._change(employee_id, some, False, deletes)
        return ids

    def of_employee(self, employee_id: str) -> list[StoredFace]:
        from boto3.dynamodb.conditions import Key

        # Strongly consistent, like every read that decides what to delete: an eventual one may
        # miss a face enrolled a moment ago, which an erasure would then leave behind.
        items = paging.all_items(
            self._table.query, KeyConditionExpression=Key("employee_id").eq(employee_id), ConsistentRead=True
        )
        return [_stored(item) for item in items]

    def heads(self) -> Heads:
        seqs = [0] * SHARDS
        for item in self._batch_get([head_key(shard) for shard in range(SHARDS)]):
            seqs[int(str(item["face_id"])[len(HEAD_PREFIX) :])] = int(item["seq"])
        return tuple(seqs)

    def changes(self, after: Heads, upto: Heads) -> list[FaceChange] | None:
        if (
            len(after) != SHARDS
            or len(upto) != SHARDS
            or any(b < a for a, b in zip(after, upto, strict=True))
        ):
            return None  # not this store's heads, or heads that went back (a restored table)
        wanted = [(shard, seq) for shard in range(SHARDS) for seq in range(after[shard] + 1, upto[shard] + 1)]
        keys = [{"employee_id": log_partition(shard), "face_id": _seq_key(seq)} for shard, seq in wanted]
        entries = {(str(item["employee_id"]), str(item["face_id"])): item for item in self._batch_get(keys)}
        if len(entries) != len(keys):
            return None  # some entries expired: the log no longer reaches back
        return [_change_of(shard, entries[(log_partition(shard), _seq_key(seq))]) for shard, seq in wanted]

    def faces_of(self, keys: Sequence[tuple[str, str]]) -> list[StoredFace]:
        wanted = [
            {"employee_id": employee_id, "face_id": face_id} for employee_id, face_id in dict.fromkeys(keys)
        ]
        return [_stored(item) for item in self._batch_get(wanted)]

    def load(self, consistent: bool = False) -> list[StoredFace]:
        items = paging.all_items(self._table.scan, ConsistentRead=consistent)
        return [_stored(item) for item in items if not str(item["employee_id"]).startswith("#")]

    def _batch_get(self, keys: list[dict[str, str]]) -> list[dict[str, Any]]:
        """The items of ``keys`` that exist, strongly consistent: by key only, so the cost is
        the keys asked for, never the table's size (moto's Query reads every item)."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            request: dict[str, Any] = {
                self._name: {"Keys": keys[start : start + BATCH_GET_LIMIT], "ConsistentRead": True}
            }
            for attempt in range(HEAD_ATTEMPTS):
                response = dynamo.call(self._client.batch_get_item, RequestItems=request)
                found.extend(response.get("Responses", {}).get(self._name, []))
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(random.uniform(0, HEAD_BACKOFF_SECONDS * 2**attempt))
            else:
                raise RuntimeError("DynamoDB left items unread after every retry")
        return found

    def strip_from_log(self, employee_id: str) -> int:
        """Replace the employee's id in their shard's log entries (erasure): a container
        that replays them still removes the faces (by face id), and finds nothing to add."""
        from boto3.dynamodb.conditions import Attr, Key

        items = paging.all_items(
            self._table.query,
            KeyConditionExpression=Key("employee_id").eq(log_partition(shard_of(employee_id))),
            FilterExpression=Attr("owner").eq(employee_id),
            ProjectionExpression="employee_id, face_id",
            ConsistentRead=True,
        )
        from botocore.exceptions import ClientError

        stripped = 0
        for item in list(items):
            try:
                dynamo.call(
                    self._table.update_item,
                    Key={"employee_id": item["employee_id"], "face_id": item["face_id"]},
                    UpdateExpression="SET #owner = :erased",
                    ConditionExpression="attribute_exists(face_id)",  # never recreate an expired one
                    ExpressionAttributeNames={"#owner": "owner"},
                    ExpressionAttributeValues={":erased": ERASED_OWNER},
                )
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
                continue  # expired meanwhile: nothing left to strip
            stripped += 1
        return stripped

    def _face_ids(self, employee_id: str) -> list[str]:
        from boto3.dynamodb.conditions import Key

        items = paging.all_items(
            self._table.query,
            KeyConditionExpression=Key("employee_id").eq(employee_id),
            ProjectionExpression="face_id",
            ConsistentRead=True,
        )
        return [item["face_id"] for item in items]

    def _change(
        self, employee_id: str, face_ids: list[str], added: bool, items: list[dict[str, Any]]
    ) -> None:
        """``items`` with the shard's next log entry and head, sent again while another
        change takes the head first."""
        from botocore.exceptions import ClientError

        shard = shard_of(employee_id)
        for attempt in range(HEAD_ATTEMPTS):
            seq = self._head(shard)
            try:
                dynamo.transact(
                    self._client.transact_write_items,
                    [*self._next(shard, seq, employee_id, face_ids, added), *items],
                    on_conflict=self._conflicted,
                )
                return
            except ClientError as error:
                codes = dynamo.cancellation_codes(error)
                head_taken = codes[:1] == ["ConditionalCheckFailed"] and set(codes[2:]) <= {"None"}
                if attempt == HEAD_ATTEMPTS - 1 or not head_taken:
                    raise
            self._conflicted()
            time.sleep(random.uniform(0, HEAD_BACKOFF_SECONDS * 2**attempt))

    def _head(self, shard: int) -> int:
        item = dynamo.call(self._table.get_item, Key=head_key(shard), ConsistentRead=True).get("Item")
        return 0 if item is None else int(item["seq"])

    def _next(
        self, shard: int, seq: int, employee_id: str, face_ids: list[str], added: bool
    ) -> list[dict[str, Any]]:
        head: dict[str, Any] = {
            "TableName": self._name,
            "Item": {**head_key(shard), "seq": seq + 1},
        }
        if seq == 0:
            head["ConditionExpression"] = "attribute_not_exists(seq)"
        else:
            head["ConditionExpression"] = "seq = :read"
            head["ExpressionAttributeValues"] = {":read": seq}
        entry = {
            "employee_id": log_partition(shard),
            "face_id": _seq_key(seq + 1),
            "change": "add" if added else "remove",
            "owner": employee_id,
            "faces": face_ids,
            "expires_at": int(self._clock()) + LOG_DAYS * 86_400,
        }
        log = {"TableName": self._name, "Item": entry, "ConditionExpression": "attribute_not_exists(face_id)"}
        return [{"Put": head}, {"Put": log}]

    def _conflicted(self) -> None:
        self.conflicts += 1


def _change_of(shard: int, item: dict[str, Any]) -> FaceChange:
    return FaceChange(
        shard=shard,
        seq=int(item["face_id"]),
        employee_id=str(item["owner"]),
        face_ids=tuple(str(face_id) for face_id in item["faces"]),
        added=item["change"] == "add",
    )


def _stored(item: dict[str, Any]) -> StoredFace:
    return StoredFace(
        employee_id=item["employee_id"],
        face_id=item["face_id"],
        embedding=bytes(item["embedding"]),
        created_at=item.get("created_at", ""),
        model=item.get("model", FIRST_MODEL),
    )
