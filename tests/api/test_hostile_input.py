"""Input built to break a parser answers 400, never 500: Unicode digits, huge numbers, deep nesting."""

from __future__ import annotations

import base64
import urllib.parse

import pytest

from tests.api.conftest import Api

DEEP = 100_000
LISTINGS = ["/employees", "/scans", "/employees/E1/scans"]


BAD_LIMITS = ["²", "١٠", "５", "1" * 5000, "0" * 5000 + "5", " 5", "5\n", "+5", "5_0", "0x10"]


@pytest.mark.parametrize("path", LISTINGS)
def test_a_limit_that_is_not_plain_ascii_digits_is_400(api: Api, path: str) -> None:
    api.create("E1")
    for limit in BAD_LIMITS:
        reply = api.call("GET", f"{path}?limit={urllib.parse.quote(limit)}")
        assert reply.status == 400, (limit[:20], reply.json)
        assert "limit" in reply.json["message"]
    assert api.call("GET", f"{path}?limit=100").status == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/employees"),
        ("PATCH", "/employees/E1"),
        ("POST", "/employees/E1/faces"),
        ("POST", "/recognize"),
    ],
)
def test_a_deeply_nested_body_is_400(api: Api, method: str, path: str) -> None:
    api.create("E1")
    for opener in (b"[", b'{"a":'):
        reply = api.call(method, path, raw=opener * DEEP)
        assert reply.status == 400, reply.json
        assert reply.json == {"message": "body is not valid JSON"}


BAD_TOKENS = [
    base64.urlsafe_b64encode(b"[" * DEEP).decode(),
    base64.urlsafe_b64encode(b"[" * 1500).decode(),  # under the length bound, still too deep
    base64.urlsafe_b64encode(b"1" * 5000).decode(),
    "A" * 100_000,
]


@pytest.mark.parametrize("path", LISTINGS)
def test_a_hostile_next_token_is_400(api: Api, path: str) -> None:
    api.create("E1")
    for token in BAD_TOKENS:
        reply = api.call("GET", f"{path}?next_token={token}")
        assert reply.status == 400, (token[:20], reply.json)
        assert "next_token" in reply.json["message"]
