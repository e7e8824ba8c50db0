"""The employees table as an ``EmployeeDirectory``."""

from __future__ import annotations

import random
import time
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from chalicelib.aws import dynamo, paging
from chalicelib.core.errors import NotFound
from chalicelib.core.models import Employee
from chalicelib.core.ports import Page

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

_KEY = frozenset({"employee_id"})
ERASING = "erasure_job"  # set while an erasure job runs: the employee reads as absent
GROUPS = "access_groups"  # a string set, absent while the employee is in no group
# The retention clocks only ``stamp`` writes (a stale read written back must not move them).
STAMPED = ("enrolled_at", "last_seen")
_STAMP_CONDITIONS = {
    "enrolled_at": "attribute_not_exists(enrolled_at)",
    "inactive_since": "attribute_not_exists(inactive_since) AND active = :no",
    "last_seen": "(attribute_not_exists(last_seen) OR last_seen < :at)",
}
CREATED = "created_at"  # this lifetime of the id began: consents given before it are not theirs
BATCH_GET_LIMIT = 100  # keys per BatchGetItem
BATCH_ATTEMPTS = 5  # reads of the keys DynamoDB left unprocessed (throttled), backing off
BATCH_BACKOFF_SECONDS = 0.05
LOOKALIKES = "lookalikes"  # a string set: employees whose faces may resemble theirs (admins allowed)


class DynamoEmployeeDirectory:
    """Employee items keyed by ``employee_id``."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def get(self, employee_id: str) -> Employee | None:
        item = dynamo.call(self._table.get_item, Key={"employee_id": employee_id}, ConsistentRead=True).get(
            "Item"
        )
        return None if item is None or ERASING in item else _employee(item)

    def put(self, employee: Employee) -> None:
        # Never over an employee being erased: that would drop the mark (and the
        # pipeline's guard with it) and let them in again. An update of the details only:
        # the access groups are ``set_membership``'s, so a concurrent change keeps both.
        details = {
            key: value
            for key, value in _item(employee).items()
            if key not in (*_KEY, GROUPS, CREATED, *STAMPED)
        }
        cleared = [name for name in ("email", "department", "inactive_since") if name not in details]
        expression = "SET " + ", ".join(f"#{name} = :{name}" for name in details)
        if cleared:
            expression += " REMOVE " + ", ".join(f"#{name}" for name in cleared)
        updated = dynamo.written(
            self._table.update_item,
            Key={"employee_id": employee.employee_id},
            UpdateExpression=expression,
            ExpressionAttributeNames={f"#{name}": name for name in [*details, *cleared]},
            ExpressionAttributeValues={f":{name}": value for name, value in details.items()},
            ConditionExpression=f"attribute_not_exists({ERASING})",
        )
        if not updated:
            raise NotFound(f"no employee {employee.employee_id}")

    def create(self, employee: Employee) -> bool:
        return dynamo.written(
            self._table.put_item,
            Item=_item(employee),
            ConditionExpression="attribute_not_exists(employee_id)",
        )

    def set_membership(self, employee_id: str, group_id: str, member: bool) -> bool:
        return dynamo.written(
            self._table.update_item,
            Key={"employee_id": employee_id},
            UpdateExpression=f"{'ADD' if member else 'DELETE'} {GROUPS} :group",
            ExpressionAttributeValues={":group": {group_id}},
            ConditionExpression=f"attribute_exists(employee_id) AND attribute_not_exists({ERASING})",
        )

    def stamp(self, employee_id: str, clock: str, at: str) -> bool:
        if clock not in _STAMP_CONDITIONS:
            raise ValueError(f"no retention clock {clock!r}")
        values: dict[str, Any] = {":at": at}
        if clock == "inactive_since":
            values[":no"] = False
        return dynamo.written(
            self._table.update_item,
            Key={"employee_id": employee_id},
            UpdateExpression=f"SET {clock} = :at",
            ConditionExpression=f"attribute_exists(employee_id) AND attribute_not_exists({ERASING}) "
            f"AND {_STAMP_CONDITIONS[clock]}",
            ExpressionAttributeValues=values,
        )

    def members(self, group_id: str) -> list[str]:
        from boto3.dynamodb.conditions import Attr

        items = paging.all_items(
            self._table.scan,
            FilterExpression=Attr(GROUPS).contains(group_id) & Attr(ERASING).not_exists(),
            ProjectionExpression="employee_id",
        )
        return sorted(str(item["employee_id"]) for item in items)

    def set_lookalike(self, employee_id: str, other_id: str, allowed: bool) -> bool:
        return dynamo.written(
            self._table.update_item,
            Key={"employee_id": employee_id},
            UpdateExpression=f"{'ADD' if allowed else 'DELETE'} {LOOKALIKES} :other",
            ExpressionAttributeValues={":other": {other_id}},
            ConditionExpression=f"attribute_exists(employee_id) AND attribute_not_exists({ERASING})",
        )

    def lookalikes(self, employee_id: str) -> frozenset[str]:
        item = dynamo.call(self._table.get_item, Key={"employee_id": employee_id}, ConsistentRead=True).get(
            "Item"
        )
        if item is None or ERASING in item:
            return frozenset()
        return frozenset(str(other) for other in item.get(LOOKALIKES, ()))

    def lookalike_pairs(self) -> list[tuple[str, str]]:
        from boto3.dynamodb.conditions import Attr

        items = paging.all_items(
            self._table.scan,
            FilterExpression=Attr(LOOKALIKES).exists() & Attr(ERASING).not_exists(),
            ProjectionExpression=f"employee_id, {LOOKALIKES}",
        )
        listed = {str(item["employee_id"]): {str(other) for other in item[LOOKALIKES]} for item in items}
        return mutual_pairs(listed)

    def erasure_of(self, employee_id: str) -> str | None:
        item = dynamo.call(
            self._table.get_item,
            Key={"employee_id": employee_id},
            ConsistentRead=True,
            ProjectionExpression=f"employee_id, {ERASING}",  # the erasure worker may read no more
        ).get("Item")
        return None if item is None or ERASING not in item else str(item[ERASING])

    def begin_erasure(self, employee_id: str, job_id: str) -> str | None:
        if dynamo.written(
            self._table.update_item,
            Key={"employee_id": employee_id},
            UpdateExpression=f"SET {ERASING} = :job, active = :no",
            ConditionExpression=f"attribute_exists(employee_id) AND attribute_not_exists({ERASING})",
            ExpressionAttributeValues={":job": job_id, ":no": False},
        ):
            return job_id
        item = dynamo.call(self._table.get_item, Key={"employee_id": employee_id}, ConsistentRead=True).get(
            "Item"
        )
        return None if item is None else str(item[ERASING])

    def listing(self, limit: int, token: str | None = None) -> Page[Employee]:
        # The directory is small (one item per person): a paginated Scan is the listing.
        page = paging.checked_page(self._table.scan, **paging.page_params(limit, token, _KEY))
        items = [_employee(item) for item in page.get("Items", []) if ERASING not in item]
        return Page(items, paging.encode(page.get("LastEvaluatedKey")))

    def delete(self, employee_id: str) -> None:
        dynamo.written(  # a marked record stays: only its erasure job ends it
            self._table.delete_item,
            Key={"employee_id": employee_id},
            ConditionExpression=f"attribute_not_exists({ERASING})",
        )

    def present(self, employee_ids: Collection[str]) -> frozenset[str]:
        keys = [{"employee_id": employee_id} for employee_id in dict.fromkeys(employee_ids)]
        found: set[str] = set()
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            request: dict[str, Any] = {
                self._table.name: {
                    "Keys": keys[start : start + BATCH_GET_LIMIT],
                    "ConsistentRead": True,
                    "ProjectionExpression": f"employee_id, {ERASING}",
                }
            }
            for attempt in range(BATCH_ATTEMPTS):
                response = dynamo.call(self._table.meta.client.batch_get_item, RequestItems=request)
                items = response.get("Responses", {}).get(self._table.name, [])
                found.update(str(item["employee_id"]) for item in items if ERASING not in item)
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(random.uniform(0, BATCH_BACKOFF_SECONDS * 2**attempt))
            else:
                raise RuntimeError("DynamoDB left employees unread after every retry")
        return frozenset(found)

    def end_erasure(self, employee_id: str, job_id: str) -> bool:
        return dynamo.written(
            self._table.delete_item,
            Key={"employee_id": employee_id},
            ConditionExpression=f"{ERASING} = :job",
            ExpressionAttributeValues={":job": job_id},
        )


def mutual_pairs(listed: dict[str, set[str]]) -> list[tuple[str, str]]:
    """The pairs both of whose employees list each other, (lower id, higher id), sorted."""
    return sorted(
        {(min(a, b), max(a, b)) for a, others in listed.items() for b in others if a in listed.get(b, ())}
    )


def _item(employee: Employee) -> dict[str, Any]:
    item = {key: value for key, value in employee.to_dict().items() if value is not None and key != "groups"}
    if employee.groups:  # DynamoDB has no empty sets
        item[GROUPS] = set(employee.groups)
    if employee.created_at is not None:  # only ``create`` writes it: ``put`` takes the details
        item[CREATED] = employee.created_at
    return item


def _employee(item: dict[str, Any]) -> Employee:
    return Employee(
        employee_id=item["employee_id"],
        name=item["name"],
        active=bool(item.get("active", True)),
        email=item.get("email"),
        department=item.get("department"),
        groups=frozenset(str(group) for group in item.get(GROUPS, ())),
        inactive_since=item.get("inactive_since"),
        enrolled_at=item.get("enrolled_at"),
        last_seen=item.get("last_seen"),
        created_at=item.get(CREATED),
    )
