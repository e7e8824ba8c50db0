"""The report ledger in the audit table: one item per day's report, claimed conditionally.

A claim is a lease with a token: SENDING until ``lease_until`` (epoch seconds), then free to
be taken again, so a run that died mid-send or whose answer was lost cannot hold the day
forever. ``sent`` and ``release`` are conditional on the claim's token: a send that finishes
after its lease ran out and the day was claimed again never marks the newer claim's outcome.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from decimal import Decimal

    from mypy_boto3_dynamodb.service_resource import Table

from chalicelib.aws import dynamo

TARGET = "daily-report"


class DynamoReportLedger:
    """Items (target ``daily-report``, entry = the day): SENDING (a leased claim) → SENT, or FAILED."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def claim(self, day: str, now: datetime, lease_seconds: int) -> str | None:
        token = secrets.token_hex(16)
        moment = int(now.timestamp())
        taken = _unless_refused(
            lambda: dynamo.call(
                self._table.put_item,
                Item={
                    "target": TARGET,
                    "entry": day,
                    "state": "SENDING",
                    "claim": token,
                    "lease_until": moment + lease_seconds,
                    "at": _iso(now),
                    "action": "report.send",
                },
                # A SENDING item without a lease was claimed before leases: stuck, so free.
                ConditionExpression="attribute_not_exists(entry) OR #state = :failed OR "
                "(#state = :sending AND (attribute_not_exists(lease_until) OR lease_until <= :now))",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":failed": "FAILED", ":sending": "SENDING", ":now": moment},
            )
        )
        return token if taken else None

    def sent(self, day: str, totals: dict[str, int], token: str) -> bool:
        return _unless_refused(
            lambda: dynamo.call(
                self._table.update_item,
                Key={"target": TARGET, "entry": day},
                UpdateExpression="SET #state = :sent, totals = :totals, sent_at = :at REMOVE lease_until",
                ConditionExpression="#state = :sending AND claim = :token",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":sent": "SENT",
                    ":totals": totals,
                    ":at": _iso(datetime.now(UTC)),
                    ":sending": "SENDING",
                    ":token": token,
                },
            )
        )

    def release(self, day: str, reason: str, token: str) -> None:
        _unless_refused(
            lambda: dynamo.call(
                self._table.update_item,
                Key={"target": TARGET, "entry": day},
                UpdateExpression="SET #state = :failed, failure = :reason REMOVE lease_until",
                ConditionExpression="#state = :sending AND claim = :token",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={
                    ":failed": "FAILED",
                    ":reason": reason,
                    ":sending": "SENDING",
                    ":token": token,
                },
            )
        )

    def totals(self, day: str) -> dict[str, int] | None:
        item = dynamo.call(self._table.get_item, Key={"target": TARGET, "entry": day}).get("Item")
        if not item or item.get("state") != "SENT" or "totals" not in item:
            return None
        totals = cast("Mapping[str, Decimal]", item["totals"])  # what sent() stores: status -> count
        return {str(status): int(count) for status, count in totals.items()}


def _unless_refused(write: Callable[[], object]) -> bool:
    """The conditional write done: True; False when its condition failed (another claim holds
    the day, or ours is no longer the day's)."""
    from botocore.exceptions import ClientError

    try:
        write()
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
