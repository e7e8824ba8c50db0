"""The faces table as the local engine's ``FaceStore``.

Items are (employee_id, face_id) with the embedding as bytes. One extra item,
(``#gallery``, ``#version``), holds a random token that every change replaces in the same
transaction, so a container checks freshness with one consistent GetItem. A token, not a
counter: a counter that restarts (a restored table) could repeat a version a cache holds.

That item is one hot key: DynamoDB cancels a transaction that meets another one on it
(``TransactionCanceledException``, reason ``TransactionConflict``) and the SDK does not
retry that, so ``dynamo.transact`` does, a few times with jittered backoff. A cancellation
for any other reason (a failed condition) is an answer, never retried.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from chalicelib.aws import dynamo, paging
from chalicelib.ports import StoredFace

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

VERSION_KEY = {"employee_id": "#gallery", "face_id": "#version"}


class DynamoFaceStore:
    """Embeddings in DynamoDB; never holds images."""

    def __init__(self, table: Table) -> None:
        self._table = table
        self._name = table.name
        # The resource's client speaks plain Python types, not the AttributeValue maps its
        # stub (DynamoDBClient) describes; no stub says so, hence Any.
        self._client: Any = table.meta.client
        self.conflicts = 0  # transactions sent again after a TransactionConflict (for load runs)

    def put(self, face: StoredFace) -> None:
        item = {
            "employee_id": face.employee_id,
            "face_id": face.face_id,
            "embedding": face.embedding,
            "created_at": face.created_at,
        }
        put = {
            "Put": {
                "TableName": self._name,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(face_id)",
            }
        }
        self._transact([put, self._bump()])

    def delete(self, employee_id: str, face_ids: Sequence[str] | None = None) -> list[str]:
        ids = list(face_ids) if face_ids is not None else self._face_ids(employee_id)
        chunk = dynamo.TRANSACTION_LIMIT - 1
        for start in range(0, len(ids), chunk):
            deletes = [
                {"Delete": {"TableName": self._name, "Key": {"employee_id": employee_id, "face_id": face_id}}}
                for face_id in ids[start : start + chunk]
            ]
            self._transact([*deletes, self._bump()])
        return ids

    def of_employee(self, employee_id: str) -> list[StoredFace]:
        from boto3.dynamodb.conditions import Key

        items = paging.all_items(self._table.query, KeyConditionExpression=Key("employee_id").eq(employee_id))
        return [_stored(item) for item in items]

    def version(self) -> str:
        item = dynamo.call(self._table.get_item, Key=VERSION_KEY, ConsistentRead=True).get("Item")
        return "empty" if item is None else str(item.get("version", "empty"))

    def load(self, consistent: bool = False) -> list[StoredFace]:
        items = paging.all_items(self._table.scan, ConsistentRead=consistent)
        return [_stored(item) for item in items if item["employee_id"] != VERSION_KEY["employee_id"]]

    def _face_ids(self, employee_id: str) -> list[str]:
        from boto3.dynamodb.conditions import Key

        items = paging.all_items(
            self._table.query,
            KeyConditionExpression=Key("employee_id").eq(employee_id),
            ProjectionExpression="face_id",
        )
        return [item["face_id"] for item in items]

    def _transact(self, items: list[dict[str, Any]]) -> None:
        dynamo.transact(self._client.transact_write_items, items, on_conflict=self._conflicted)

    def _conflicted(self) -> None:
        self.conflicts += 1

    def _bump(self) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._name,
                "Key": VERSION_KEY,
                "UpdateExpression": "SET version = :token",
                "ExpressionAttributeValues": {":token": uuid.uuid4().hex},
            }
        }


def _stored(item: dict[str, Any]) -> StoredFace:
    return StoredFace(
        employee_id=item["employee_id"],
        face_id=item["face_id"],
        embedding=bytes(item["embedding"]),
        created_at=item.get("created_at", ""),
    )
