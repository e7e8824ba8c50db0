"""The scans table as a ``ScanLog``: one item per object version, written conditionally."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from chalicelib.aws import dynamo, paging
from chalicelib.core.models import Scan
from chalicelib.core.ports import Page, Recorded

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

_BY_DAY_KEY = frozenset({"scan_id", "day", "captured_at"})
_BY_EMPLOYEE_KEY = frozenset({"scan_id", "employee_id", "captured_at"})


class DynamoScanLog:
    """Scan records keyed by ``scan_id``; GSIs ``by_day`` and ``by_employee`` serve queries."""

    def __init__(self, table: Table, employees_table: str | None = None) -> None:
        self._table = table
        self._employees_table = employees_table  # guards scans that name an employee

    def get(self, scan_id: str) -> Scan | None:
        item = dynamo.call(self._table.get_item, Key={"scan_id": scan_id}, ConsistentRead=True).get("Item")
        return None if item is None else Scan.from_dict(_plain(item))

    def record(self, scan: Scan) -> Recorded:
        from botocore.exceptions import ClientError

        employee_id = scan.decision.employee_id
        if employee_id and self._employees_table:
            return self._record_naming(scan, employee_id)
        try:
            dynamo.call(
                self._table.put_item,
                Item=scan_item(scan),
                ConditionExpression="attribute_not_exists(scan_id)",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return Recorded.DUPLICATE
            raise
        return Recorded.WRITTEN

    def _record_naming(self, scan: Scan, employee_id: str) -> Recorded:
        """Write the scan in one transaction with a check that its employee is still there
        and not being erased: an erasure that starts between the scan's read of the employee
        and this write makes the write fail, never leave their identity behind."""
        from botocore.exceptions import ClientError

        put = {
            "TableName": self._table.name,
            "Item": scan_item(scan),
            "ConditionExpression": "attribute_not_exists(scan_id)",
        }
        employee_present = {
            "TableName": self._employees_table,
            "Key": {"employee_id": employee_id},
            "ConditionExpression": "attribute_exists(employee_id) AND attribute_not_exists(erasure_job)",
        }
        try:
            dynamo.call(
                self._table.meta.client.transact_write_items,
                TransactItems=[{"Put": put}, {"ConditionCheck": employee_present}],
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            codes = [reason.get("Code") for reason in error.response.get("CancellationReasons", [])]
            if codes[:1] == ["ConditionalCheckFailed"]:
                return Recorded.DUPLICATE
            if codes[1:2] == ["ConditionalCheckFailed"]:
                return Recorded.EMPLOYEE_GONE
            raise
        return Recorded.WRITTEN

    def set_notification(self, scan_id: str, state: str, *, expected: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            dynamo.call(
                self._table.update_item,
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

    def by_day(
        self,
        day: str,
        limit: int,
        token: str | None = None,
        *,
        status: str | None = None,
        camera_id: str | None = None,
        reason_code: str | None = None,
    ) -> Page[Scan]:
        from boto3.dynamodb.conditions import Attr, Key

        params = paging.page_params(limit, token, _BY_DAY_KEY)
        params.update(IndexName="by_day", KeyConditionExpression=Key("day").eq(day))
        conditions = []
        if status:
            conditions.append(Attr("status").eq(status))
        if camera_id:
            conditions.append(Attr("camera_id").eq(camera_id))
        if reason_code:
            conditions.append(Attr("reason_code").eq(reason_code))
        if conditions:
            combined: Any = conditions[0]
            for condition in conditions[1:]:
                combined = combined & condition
            params["FilterExpression"] = combined
        return self._page(params)

    def by_employee(self, employee_id: str, limit: int, token: str | None = None) -> Page[Scan]:
        from boto3.dynamodb.conditions import Key

        params = paging.page_params(limit, token, _BY_EMPLOYEE_KEY)
        params.update(
            IndexName="by_employee",
            KeyConditionExpression=Key("employee_id").eq(employee_id),
            ScanIndexForward=False,
        )
        return self._page(params)

    def anonymise(self, scan_id: str) -> None:
        dynamo.call(
            self._table.update_item,
            Key={"scan_id": scan_id},
            UpdateExpression="REMOVE employee_id, employee_name SET erased = :yes",
            ConditionExpression="attribute_exists(scan_id)",
            ExpressionAttributeValues={":yes": True},
        )

    def delete(self, scan_id: str) -> None:
        dynamo.call(self._table.delete_item, Key={"scan_id": scan_id})

    def _page(self, params: dict[str, Any]) -> Page[Scan]:
        page = paging.checked_page(self._table.query, **params)
        items = [Scan.from_dict(_plain(item)) for item in page.get("Items", [])]
        return Page(items, paging.encode(_plain(page.get("LastEvaluatedKey"))))


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
