"""Checked DynamoDB calls: a response we cannot trust is an error, never an empty answer.

botocore turns an unparseable body into ``{"message": <body>}``, which would read as
"no item" or "written". Asking for ConsumedCapacity (free) gives every genuine answer a
field to check: its absence means the answer was not DynamoDB's.

Every DynamoDB call in chalicelib goes through ``call``, directly or through ``written`` (a
conditional write: True or False), or
``paging.checked_page`` / ``paging.all_items`` (one check per page);
tests/aws/test_dynamo_checked.py fails on any other call site. Transactions go through
``transact``, which also resends one cancelled only for a conflict.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.core.errors import MalformedResponse


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


def written(method: Any, **params: Any) -> bool:
    """``call`` of a conditional write: True when written, False when its condition failed
    (DynamoDB's ``ConditionalCheckFailedException``); any other error is raised."""
    from botocore.exceptions import ClientError

    try:
        call(method, **params)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return False
    return True


# One transaction holds at most this many items (DynamoDB's limit).
TRANSACTION_LIMIT = 100
# Conflicts last as long as the other transaction (milliseconds): 6 tries with full jitter
# under 20, 40 … 320 ms spread 8 concurrent writers; after ~0.6 s the caller gets the error.
CONFLICT_ATTEMPTS = 6
CONFLICT_BACKOFF_SECONDS = 0.02


def transact(
    write: Any, items: list[dict[str, Any]], on_conflict: Callable[[], object] = lambda: None
) -> None:
    """``write(TransactItems=items)`` (a client's ``transact_write_items``) through ``call``,
    sent again while DynamoDB cancels it only for a conflict with another transaction
    (``on_conflict`` is told each time); more than ``TRANSACTION_LIMIT`` items: ValueError.

    A version item that every change replaces is a hot key: DynamoDB cancels a transaction
    that meets another one on it (reason ``TransactionConflict``) and the SDK does not retry
    that. A cancelled transaction wrote nothing, so sending the same items again is safe. A
    cancellation for any other reason (a failed condition) is an answer, raised at once.
    """
    import random
    import time

    from botocore.exceptions import ClientError

    if len(items) > TRANSACTION_LIMIT:
        raise ValueError(f"{len(items)} items in one transaction; DynamoDB takes {TRANSACTION_LIMIT}")
    import uuid

    for attempt in range(CONFLICT_ATTEMPTS):
        try:
            # A token per attempt of ours: the SDK's own retries of it (after a timeout, when
            # the first try may have committed) are then idempotent, not a second write that
            # fails its conditions on what the first one wrote.
            call(write, TransactItems=items, ClientRequestToken=uuid.uuid4().hex)
            return
        except ClientError as error:
            if attempt == CONFLICT_ATTEMPTS - 1 or not conflict_only(error):
                raise
        on_conflict()
        time.sleep(random.uniform(0, CONFLICT_BACKOFF_SECONDS * 2**attempt))


def cancellation_codes(error: Any) -> list[str]:
    """Why a transaction was cancelled, one code per item ("None" for an item that was fine);
    empty for any other error."""
    response = error.response
    if response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return []
    return [str(reason.get("Code", "None")) for reason in response.get("CancellationReasons", [])]


def conflict_only(error: Any) -> bool:
    """A transaction cancelled for conflicts and nothing else (the other items say "None")."""
    codes = set(cancellation_codes(error))
    return "TransactionConflict" in codes and codes <= {"TransactionConflict", "None"}
