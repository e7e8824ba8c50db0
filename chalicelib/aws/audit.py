"""The audit table as an ``AuditLog`` and an ``AuditTrail``: keyed by target (an employee, or
``access/…`` for the access policy and door commands), sorted by time (``<at>#<random>``)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from chalicelib.aws import dynamo, paging
from chalicelib.core.models import AuditEntry

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class DynamoAuditLog:
    def __init__(self, table: Table) -> None:
        self._table = table

    def record(self, entry: AuditEntry, unique: str | None = None) -> bool:
        from botocore.exceptions import ClientError

        try:
            dynamo.call(
                self._table.put_item,
                Item={**entry.to_dict(), "entry": f"{entry.at}#{unique or uuid.uuid4().hex[:8]}"},
                ConditionExpression="attribute_not_exists(entry)",
            )
        except ClientError as error:
            if unique is None or error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False  # recorded before: an event delivered twice is one entry
        return True

    def between(self, target: str, start: str, end: str) -> list[AuditEntry]:
        from boto3.dynamodb.conditions import Key

        # An entry is "<at>#<random>": at exactly ``end`` it sorts after ``end`` itself, so
        # BETWEEN (inclusive) leaves it out, and one at exactly ``start`` is in.
        items = paging.all_items(
            self._table.query,
            KeyConditionExpression=Key("target").eq(target) & Key("entry").between(start, end),
            ConsistentRead=True,
        )
        return [
            AuditEntry(
                str(item["at"]), str(item["actor"]), str(item["action"]), target, dict(item["details"])
            )
            for item in items
        ]
