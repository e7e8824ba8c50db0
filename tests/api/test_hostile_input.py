"""Input built to break a parser answers 400, never 500: Unicode digits, huge numbers, deep nesting."""

from __future__ import annotations

import base64
import re
import urllib.parse
from collections.abc import Iterator

import pytest

from chalicelib.core.models import Employee
from sandbox.enroll import enroll_employee
from sandbox.stack import Stack
from tests.api.conftest import Api


@pytest.fixture(scope="module")
def shared_stack(shared_stack: Stack) -> Iterator[Stack]:
    """Every case is refused: one stack for the module, with the employee E1 they all address."""
    enroll_employee(shared_stack, Employee("E1", "Avery Stone"), [])
    yield shared_stack


@pytest.fixture
def stack(read_only_stack: Stack) -> Stack:
    return read_only_stack


DEEP = 100_000
LISTINGS = ["/employees", "/scans", "/employees/E1/scans"]


BAD_LIMITS = ["²", "١٠", "５", "1" * 5000, "0" * 5000 + "5", " 5", "5\n", "+5", "5_0", "0x10"]


@pytest.mark.parametrize("path", LISTINGS)
def test_a_limit_that_is_not_plain_ascii_digits_is_400(api: Api, path: str) -> None:
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
        ("PUT", "/doors/front"),
        ("PUT", "/access-groups/staff"),
        ("PUT", "/access-rules/staff"),
        ("PUT", "/holidays/2026-12-25"),
    ],
)
def test_a_deeply_nested_body_is_400(api: Api, method: str, path: str) -> None:
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
    for token in BAD_TOKENS:
        reply = api.call("GET", f"{path}?next_token={token}")
        assert reply.status == 400, (token[:20], reply.json)
        assert "next_token" in reply.json["message"]


# --- the access policy's routes --------------------------------------------------------------

RULE = {"effect": "GRANT", "doors": ["front"], "groups": ["staff"]}


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/doors/front", {"name": "Front", "cameras": [f"cam-{n}" for n in range(10_000)]}, "at most 32"),
        ("/access-rules/r1", {**RULE, "employees": [f"E{n}" for n in range(100_000)]}, "at most 500"),
        ("/access-rules/r1", {**RULE, "doors": ["front"] * 201}, "at most 200"),
        (
            "/access-rules/r1",
            {**RULE, "schedule": [{"days": ["mon"], "start": "07:00", "end": "08:00"}] * 29},
            "1–28",
        ),
        ("/holidays/2026-12-25", {"name": "X", "groups": ["g"] * 101}, "at most 100"),
        ("/doors/front", {"name": "Front", "cameras": "front-door-in"}, "cameras must be a list"),
        ("/doors/front", {"name": 7}, "name must be"),
        ("/doors/front", {"name": "x" * 121}, "name must be"),
        ("/access-rules/r1", {**RULE, "effect": "ALLOW"}, "effect must be one of GRANT, DENY"),
        ("/access-rules/r1", {**RULE, "effect": ["GRANT"]}, "effect must be one of"),
        ("/access-rules/r1", {**RULE, "groups": [1, 2]}, "groups must be a list"),
        ("/access-rules/r1", {**RULE, "groups": ["../staff"]}, "groups: group id must be"),
        ("/access-rules/r1", {**RULE, "doors": ["../etc"]}, "doors: door id must be"),
        ("/access-rules/r1", {**RULE, "valid_from": 20260101}, "valid_from must be a date"),
        ("/access-rules/r1", {**RULE, "valid_from": "2026-05-01", "valid_until": "2026-04-01"}, "before"),
        (
            "/access-rules/r1",
            {**RULE, "schedule": [{"days": ["mon"], "start": "25:00", "end": "08:00"}]},
            "HH:MM",
        ),
        (
            "/access-rules/r1",
            {**RULE, "schedule": [{"days": ["monday"], "start": "07:00", "end": "08:00"}]},
            "days",
        ),
        ("/access-rules/r1", {"effect": "GRANT", "doors": ["*"]}, "at least one of groups or employees"),
        ("/access-rules/r1", {**RULE, "priority": 1}, "unknown field(s): priority"),
        ("/doors/front", {"name": "Front", "owner": "me"}, "unknown field(s): owner"),
        ("/access-groups/staff", {"name": "Staff", "members": ["E1"]}, "unknown field(s): members"),
        ("/holidays/2026-12-25", {"name": "X", "effect": "SHUT"}, "effect must be one of CLOSE, OPEN"),
        ("/doors/front", {"door_id": "back", "name": "Front"}, "door_id in the body differs from the path"),
        ("/access-groups/staff", {"group_id": "it", "name": "IT"}, "group_id in the body differs"),
        ("/access-rules/r1", {**RULE, "rule_id": "r2"}, "rule_id in the body differs"),
        ("/holidays/2026-12-25", {"day": "2026-12-24", "name": "X"}, "day in the body differs"),
    ],
)
def test_a_hostile_access_document_is_400_and_stores_nothing(
    api: Api, path: str, body: dict[str, object], message: str
) -> None:
    reply = api.call("PUT", path, body)
    assert reply.status == 400, reply.json
    assert message in reply.json["message"], reply.json
    assert api.call("GET", "/access-rules").json["version"] == ""  # nothing was written


@pytest.mark.parametrize(
    "path",
    [
        "/doors/..",
        "/doors/.",
        "/doors/%2E%2E",
        "/doors/a%20b",
        "/doors/" + "d" * 65,
        "/doors/*",
        "/access-groups/..",
        "/access-groups/a%2Fb",
        "/access-rules/%2E",
        "/access-rules/erasure",  # a reserved id
        "/holidays/25-12-2026",
        "/holidays/2026-12-25T00:00",
        "/access-groups/staff/members/..",
        "/access-groups/../members/E1",
        "/employees/../access?door=front",
    ],
)
def test_an_id_that_is_no_id_is_refused_and_never_stored(api: Api, path: str) -> None:
    statuses = set()
    for method in ("GET", "PUT", "DELETE"):
        reply = api.call(method, path, {"name": "X"})
        statuses.add(reply.status)
        assert reply.status in (400, 405), (method, path, reply.status, reply.json)  # 405: no such route
    assert 400 in statuses
    assert api.call("GET", "/access-rules").json["version"] == ""  # nothing was written


@pytest.mark.parametrize(
    "at",
    ["2026-03-08T02:00", "2026-03-08T02:59:59", "2026-03-08T02:30:00.5"],  # Chicago skips 02:00–03:00
)
def test_an_instant_the_clocks_skip_is_400(api: Api, at: str) -> None:
    reply = api.call("GET", f"/employees/E1/access?door=front&at={at}")
    assert reply.status == 400 and "does not exist" in reply.json["message"], reply.json


@pytest.mark.parametrize(
    "at", ["", "x" * 100_000, "２０２６-03-10T08:00", "2026-03-10T08:00:00.1234567Z", "2026-03-10T08:00Z "]
)
def test_a_hostile_instant_is_400(api: Api, at: str) -> None:
    reply = api.call("GET", f"/employees/E1/access?door=front&at={urllib.parse.quote(at)}")
    assert reply.status == 400 and "at must be" in reply.json["message"], (at[:20], reply.json)


def _body_routes() -> list[tuple[str, str]]:
    """Every route that takes a body, with made-up ids (the body is read before anything else)."""
    from app import app

    ids = {"day": "2026-12-25"}
    # These read no body: a member's PUT, and the SCIM token's issue (which would change the stack).
    bodiless = {"/access-groups/{group_id}/members/{employee_id}", "/scim/token"}
    routes = []
    for path, methods in app.routes.items():
        if path.startswith("/scim/v2"):
            continue  # the SCIM token is checked first; tests/api/test_scim.py sends these with it
        for method in methods:
            if method in {"POST", "PUT", "PATCH"} and path not in bodiless:
                filled = re.sub(r"\{(\w+)\}", lambda part: ids.get(part.group(1), "nobody"), path)
                routes.append((method, filled))
    return routes


DUPLICATED = [
    b'{"effect":"DENY","effect":"GRANT"}',
    b'{"name":"x","name":"x"}',  # the same value twice too
    b'{"schedule":[{"days":["MON"],"days":["SUN"]}]}',  # at any depth
    b'{"a":{"b":{"c":{"d":1,"d":2}}}}',
    b'{"effect":"DENY","eff\\u0065ct":"GRANT"}',  # the same key once its escape is read
    b'[{"x":1,"x":2}]',  # not even an object at the top: the duplicate is refused first
]


@pytest.mark.parametrize(("method", "path"), _body_routes())
def test_a_key_given_twice_in_any_body_is_400(api: Api, method: str, path: str) -> None:
    for raw in DUPLICATED:
        reply = api.call(method, path, raw=raw)
        assert reply.status == 400, (raw, reply.json)
        assert reply.json == {"message": "a JSON object names a key twice"}


NOT_FINITE = [b'{"a":NaN}', b'{"a":[Infinity]}', b'{"a":{"b":-Infinity}}', b'{"a":1e999999}', b'{"a":-1E400}']


@pytest.mark.parametrize(("method", "path"), _body_routes())
def test_a_number_json_has_not_in_any_body_is_400(api: Api, method: str, path: str) -> None:
    """NaN, Infinity and a number past a float's range (json.loads takes them all, B6)."""
    for raw in NOT_FINITE:
        reply = api.call(method, path, raw=raw)
        assert reply.status == 400, (raw, reply.json)
        assert "number" in reply.json["message"], (raw, reply.json)


def _query_routes() -> list[str]:
    from app import app

    return [re.sub(r"\{(\w+)\}", "nobody", path) for path, methods in app.routes.items() if "GET" in methods]


@pytest.mark.parametrize("path", _query_routes())
def test_a_query_parameter_given_twice_is_400_on_every_route(api: Api, path: str) -> None:
    for query in ("status=DENIED&status=AUTHORIZED", "limit=1&limit=1", "x=&x=", "day=2026-01-01&y=1&day=2"):
        reply = api.call("GET", f"{path}?{query}")
        assert reply.status == 400, (path, query, reply.json)
        if path.startswith("/scim/v2"):  # a SCIM error body there, as every SCIM error (B6)
            assert reply.json["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
            assert reply.json["scimType"] == "invalidValue" and reply.json["status"] == "400"
            assert "given more than once" in reply.json["detail"]
            assert reply.headers["Content-Type"] == "application/scim+json"
        else:
            assert "given more than once" in reply.json["message"]
    assert api.call("GET", f"{path}?lim%69t=1&limit=2").status == 400  # encoded: the same name
