"""The scans table as a ``ScanLog``: one item per object version, written conditionally."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from chalicelib.models import Scan


class DynamoScanLog:
    """Scan records keyed by ``scan_id``; GSIs ``by_day`` and ``by_employee`` serve queries."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, scan_id: str) -> Scan | None:
        item = self._table.get_item(Key={"scan_id": scan_id}, ConsistentRead=True).get("Item")
        return None if item is None else Scan.from_dict(_plain(item))

    def record(self, scan: Scan) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._table.put_item(Item=scan_item(scan), ConditionExpression="attribute_not_exists(scan_id)")
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def set_notification(self, scan_id: str, state: str, *, expected: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._table.update_item(
                Key={"scan_id": scan_id},
                UpdateExpression="SET notification = :state",
                ConditionExpression="notification = :expected",
                ExpressionAttributeValues={":state": state, ":expected": expected},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True


def scan_item(scan: Scan) -> dict[str, Any]:
    """The DynamoDB item of a scan: no nulls (they would break the sparse indexes), Decimals."""
    item = {key: value for key, value in scan.to_dict().items() if value is not None}
    if "similarity" in item:
        item["similarity"] = Decimal(str(item["similarity"]))
    item["expires_at"] = scan.expires_at
    item["notification"] = scan.notification
    return item


def _plain(value: Any) -> Any:
    """DynamoDB's Decimals back to ints and floats."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _plain(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_plain(inner) for inner in value]
    return value
