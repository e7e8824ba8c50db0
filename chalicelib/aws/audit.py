"""The audit table as an ``AuditLog``: keyed by target employee, sorted by time."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from chalicelib.aws import dynamo
from chalicelib.core.models import AuditEntry

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table


class DynamoAuditLog:
    def __init__(self, table: Table) -> None:
        self._table = table

    def record(self, entry: AuditEntry) -> None:
        dynamo.call(
            self._table.put_item,
            Item={**entry.to_dict(), "entry": f"{entry.at}#{uuid.uuid4().hex[:8]}"},
            ConditionExpression="attribute_not_exists(entry)",
        )
