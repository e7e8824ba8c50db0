"""The report ledger in the audit table: one item per day's report, claimed conditionally."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from collections.abc import Mapping
    from decimal import Decimal

    from mypy_boto3_dynamodb.service_resource import Table

from chalicelib.aws import dynamo

TARGET = "daily-report"


class DynamoReportLedger:
    """Items (target ``daily-report``, entry = the day): SENDING → SENT, or FAILED."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def claim(self, day: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            dynamo.call(
                self._table.put_item,
                Item={
                    "target": TARGET,
                    "entry": day,
                    "state": "SENDING",
                    "at": _now(),
                    "action": "report.send",
                },
                ConditionExpression="attribute_not_exists(entry) OR #state = :failed",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":failed": "FAILED"},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def sent(self, day: str, totals: dict[str, int]) -> None:
        dynamo.call(
            self._table.update_item,
            Key={"target": TARGET, "entry": day},
            UpdateExpression="SET #state = :sent, totals = :totals, sent_at = :at",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={":sent": "SENT", ":totals": totals, ":at": _now()},
        )

    def release(self, day: str, reason: str) -> None:
        dynamo.call(
            self._table.update_item,
            Key={"target": TARGET, "entry": day},
            UpdateExpression="SET #state = :failed, failure = :reason",
            ExpressionAttributeNames={"#state": "state"},
            ExpressionAttributeValues={":failed": "FAILED", ":reason": reason},
        )

    def totals(self, day: str) -> dict[str, int] | None:
        item = dynamo.call(self._table.get_item, Key={"target": TARGET, "entry": day}).get("Item")
        if not item or item.get("state") != "SENT" or "totals" not in item:
            return None
        totals = cast("Mapping[str, Decimal]", item["totals"])  # what sent() stores: status -> count
        return {str(status): int(count) for status, count in totals.items()}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
