"""The consent ledger in the audit table, under its own reserved target ``consent``.

One item per consent given, keyed ``<employee-id>#<given-at>#<random>`` (employee ids hold
no ``#``), so one employee's history is a key-prefix query and the auditor's export pages
through the one partition in employee order. A withdrawal sets ``withdrawn_at`` and
``withdrawn_by`` on the items not yet withdrawn (conditionally: never twice). IAM lets only
these attributes under ``consent``, and the ordinary audit writes never reach it, so no
audit entry can pose as a consent. Erasure never deletes from this table.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from chalicelib.aws import dynamo, paging
from chalicelib.core.models import ConsentRecord
from chalicelib.core.ports import Page

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

TARGET = "consent"  # a reserved employee id (core/keys.RESERVED_IDS)
_KEY = frozenset({"target", "entry"})
_FIELDS = ("employee_id", "notice_version", "given_at", "method", "reference", "recorded_by")


class DynamoConsentLedger:
    def __init__(self, table: Table) -> None:
        self._table = table

    def history(self, employee_id: str) -> list[ConsentRecord]:
        from boto3.dynamodb.conditions import Key

        items = paging.all_items(
            self._table.query,
            KeyConditionExpression=Key("target").eq(TARGET) & Key("entry").begins_with(f"{employee_id}#"),
            ConsistentRead=True,
        )
        return [_record(item) for item in items]

    def give(self, record: ConsentRecord) -> None:
        entry = f"{record.employee_id}#{record.given_at}#{uuid.uuid4().hex[:8]}"
        item = {name: getattr(record, name) for name in _FIELDS}
        # at, actor and action as every audit item has them: readers of the whole table rely on it.
        audit = {"at": record.given_at, "actor": record.recorded_by, "action": "consent.record"}
        dynamo.call(
            self._table.put_item,
            Item={"target": TARGET, "entry": entry, **audit, **item},
            ConditionExpression="attribute_not_exists(entry)",
        )

    def withdraw(self, employee_id: str, at: str, actor: str, given_at: str | None = None) -> int:
        from boto3.dynamodb.conditions import Attr, Key
        from botocore.exceptions import ClientError

        prefix = f"{employee_id}#" if given_at is None else f"{employee_id}#{given_at}#"
        open_items = paging.all_items(
            self._table.query,
            KeyConditionExpression=Key("target").eq(TARGET) & Key("entry").begins_with(prefix),
            FilterExpression=Attr("withdrawn_at").not_exists(),
            ConsistentRead=True,
        )
        withdrawn = 0
        for item in list(open_items):
            try:
                dynamo.call(
                    self._table.update_item,
                    Key={"target": TARGET, "entry": item["entry"]},
                    UpdateExpression="SET withdrawn_at = :at, withdrawn_by = :by",
                    ConditionExpression="attribute_exists(entry) AND attribute_not_exists(withdrawn_at)",
                    ExpressionAttributeValues={":at": at, ":by": actor},
                )
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                continue  # withdrawn meanwhile by another request: once is enough
            withdrawn += 1
        return withdrawn

    def listing(self, limit: int, token: str | None = None) -> Page[ConsentRecord]:
        from boto3.dynamodb.conditions import Key

        page = paging.checked_page(
            self._table.query,
            KeyConditionExpression=Key("target").eq(TARGET),
            ConsistentRead=True,
            **paging.page_params(limit, token, _KEY),
        )
        items = [_record(item) for item in page.get("Items", [])]
        return Page(items, paging.encode(page.get("LastEvaluatedKey")))


def _record(item: dict[str, Any]) -> ConsentRecord:
    withdrawn_at, withdrawn_by = item.get("withdrawn_at"), item.get("withdrawn_by")
    fields = {name: str(item.get(name, "")) for name in _FIELDS}
    return ConsentRecord(
        **fields,
        withdrawn_at=None if withdrawn_at is None else str(withdrawn_at),
        withdrawn_by=None if withdrawn_by is None else str(withdrawn_by),
    )
