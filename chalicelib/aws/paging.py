"""Opaque page tokens over DynamoDB's LastEvaluatedKey."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from typing import Any

from chalicelib.aws import dynamo
from chalicelib.core.errors import BadPageToken
from chalicelib.core.json_text import strict_json

MAX_TOKEN_CHARS = 2048  # ours encode a few key attributes: a few hundred characters


def encode(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    raw = json.dumps(last_key, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(token: str | None, key_names: frozenset[str]) -> dict[str, Any] | None:
    """The start key a token stands for; ``BadPageToken`` unless it has exactly ``key_names``."""
    if token is None:
        return None
    if len(token) > MAX_TOKEN_CHARS:
        raise BadPageToken("next_token is not one this API issued")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        key = strict_json(raw)  # a key named twice is not a token we wrote
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):  # [[[[… deep nesting
        raise BadPageToken("next_token is not one this API issued") from None
    if (
        not isinstance(key, dict)
        or set(key) != key_names
        or not all(isinstance(v, str) for v in key.values())
    ):
        raise BadPageToken("next_token is not one this API issued")
    return key


def page_params(limit: int, token: str | None, key_names: frozenset[str]) -> dict[str, Any]:
    params: dict[str, Any] = {"Limit": limit}
    start = decode(token, key_names)
    if start:
        params["ExclusiveStartKey"] = start
    return params


def checked_page(call: Any, **params: Any) -> dict[str, Any]:
    """One checked query or scan page; a start key DynamoDB refuses is the caller's bad token."""
    from botocore.exceptions import ClientError

    try:
        page = dynamo.call(call, **params)
    except ClientError as error:
        if "ExclusiveStartKey" in params and error.response["Error"]["Code"] == "ValidationException":
            raise BadPageToken("next_token does not belong to this listing") from None
        raise
    return page


def all_items(call: Any, **params: Any) -> Iterator[dict[str, Any]]:
    """Every item of a query or scan, following LastEvaluatedKey.

    Every page is checked: an unreadable one has neither Items nor LastEvaluatedKey, and
    unchecked it would end the listing early, a short answer that reads as complete.
    """
    while True:
        page = dynamo.call(call, **params)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        params["ExclusiveStartKey"] = page["LastEvaluatedKey"]
