"""Checked DynamoDB calls: a response we cannot trust is an error, never an empty answer.

botocore turns an unparseable body into ``{"message": <body>}``, which would read as
"no item" or "written". Asking for ConsumedCapacity (free) gives every genuine answer a
field to check: its absence means the answer was not DynamoDB's.
"""

from __future__ import annotations

from typing import Any

from chalicelib.errors import MalformedResponse


def call(method: Any, **params: Any) -> dict[str, Any]:
    response: dict[str, Any] = method(ReturnConsumedCapacity="TOTAL", **params)
    if "ConsumedCapacity" not in response:
        raise MalformedResponse(f"unreadable DynamoDB response: {str(response)[:120]!r}")
    return response
