"""Checked DynamoDB calls: a response we cannot trust is an error, never an empty answer.

botocore turns an unparseable body into ``{"message": <body>}``, which would read as
"no item" or "written". Asking for ConsumedCapacity (free) gives every genuine answer a
field to check: its absence means the answer was not DynamoDB's.

Every DynamoDB call in chalicelib goes through ``call``, directly or through
``paging.checked_page`` / ``paging.all_items`` (one check per page);
tests/aws/test_dynamo_checked.py fails on any other call site.
"""

from __future__ import annotations

from typing import Any

from chalicelib.errors import MalformedResponse


def call(method: Any, **params: Any) -> dict[str, Any]:
    """``method(**params)`` asking for ConsumedCapacity; ``MalformedResponse`` without it.

    Only successful answers are checked: an error DynamoDB states (a failed condition, a
    cancelled transaction, throttling) is a ``ClientError`` raised before, for the caller.
    """
    response: dict[str, Any] = method(ReturnConsumedCapacity="TOTAL", **params)
    # Presence, not content: a transaction's answer may carry an empty list (moto's does).
    if "ConsumedCapacity" not in response:
        raise MalformedResponse(f"unreadable DynamoDB response: {str(response)[:120]!r}")
    return response
