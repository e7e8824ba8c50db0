"""Generated hostile input (Unicode digits, huge numbers, deep nesting): always a 4xx with a message.

schemathesis (tests/e2e/test_api_sandbox.py) generates from openapi.yaml, which says ``limit`` is
an integer, so it never sends '²' and never nests 100,000 deep; these strategies do.
"""

from __future__ import annotations

import urllib.parse

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import Api

# The app's state is the same before and after every example: reads, and writes that are refused.
EXAMPLES = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

unicode_digits = st.text(st.characters(categories=["Nd", "No", "Nl"]), min_size=1, max_size=8)
long_numbers = st.integers(min_value=4, max_value=6000).map(lambda n: "1" * n)
near_numbers = st.from_regex(r"[ +\-]?[0-9]{1,3}[ _.\n]?[0-9]?", fullmatch=True)
limits = st.one_of(unicode_digits, long_numbers, near_numbers, st.text(max_size=12))


@st.composite
def nested_json(draw: st.DrawFn) -> bytes:
    """``[[[…`` or ``{"a":{"a":…`` a few to 200,000 levels deep, closed or not."""
    depth = draw(st.one_of(st.integers(1, 50), st.integers(900, 3000), st.integers(50_000, 200_000)))
    opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}"), (b'{"image":[', b"]}")]))
    inner = draw(st.sampled_from([b"", b"1", b'"x"', b"null"]))
    closed = draw(st.booleans())
    return opener * depth + inner + (closer * depth if closed else b"")


@EXAMPLES
@given(limit=limits, path=st.sampled_from(["/employees", "/scans", "/employees/E1/scans"]))
def test_any_limit_is_a_page_or_a_400(api: Api, limit: str, path: str) -> None:
    api.create("E1")  # 201 once, then 409
    reply = api.call("GET", f"{path}?limit={urllib.parse.quote(limit)}", token="security")
    in_range = limit.isascii() and limit.isdigit() and len(limit) <= 3 and 1 <= int(limit) <= 100
    assert reply.status == (200 if in_range else 400), (limit[:20], reply.json)


@EXAMPLES
@given(
    body=nested_json(),
    route=st.sampled_from(
        [
            ("POST", "/employees"),
            ("PATCH", "/employees/E1"),
            ("POST", "/employees/E1/faces"),
            ("POST", "/recognize"),
            ("PUT", "/doors/front"),
            ("PUT", "/access-rules/r1"),
        ]
    ),
)
def test_any_nested_body_is_a_4xx(api: Api, body: bytes, route: tuple[str, str]) -> None:
    api.create("E1")
    reply = api.call(*route, raw=body)
    assert 400 <= reply.status < 500, (body[:20], reply.json)
    assert isinstance(reply.json["message"], str)


instants = st.one_of(
    st.text(max_size=40),
    st.from_regex(
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?(Z|[+ -][0-9]{2}:[0-9]{2})?", fullmatch=True
    ),
    st.datetimes().map(lambda moment: moment.isoformat()),
)


@EXAMPLES
@given(at=instants)
def test_any_at_is_an_answer_or_a_400(api: Api, at: str) -> None:
    api.create("E1")
    reply = api.call("GET", f"/employees/E1/access?door=front&at={urllib.parse.quote(at)}", token="security")
    assert reply.status in (200, 400), (at, reply.json)
    assert isinstance(reply.json["at" if reply.status == 200 else "message"], str)
