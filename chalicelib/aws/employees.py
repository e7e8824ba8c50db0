"""The employees table as an ``EmployeeDirectory``."""

from __future__ import annotations

from typing import Any

from chalicelib.models import Employee


class DynamoEmployeeDirectory:
    """Employee items keyed by ``employee_id``."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, employee_id: str) -> Employee | None:
        item = self._table.get_item(Key={"employee_id": employee_id}).get("Item")
        if item is None:
            return None
        return Employee(
            employee_id=item["employee_id"],
            name=item["name"],
            active=bool(item.get("active", True)),
            email=item.get("email"),
            department=item.get("department"),
        )

    def put(self, employee: Employee) -> None:
        item = {
            "employee_id": employee.employee_id,
            "name": employee.name,
            "active": employee.active,
            "email": employee.email,
            "department": employee.department,
        }
        self._table.put_item(Item={key: value for key, value in item.items() if value is not None})
