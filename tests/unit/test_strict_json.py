"""A JSON object naming a key twice is refused wherever facegate parses what others wrote:
``json.loads`` would keep the last (``{"effect":"DENY","effect":"GRANT"}`` read as GRANT)."""

from __future__ import annotations

import base64

import pytest

from chalicelib.aws.paging import decode
from chalicelib.core.errors import BadPageToken, BadRequest, DuplicateKey, NonFiniteNumber
from chalicelib.core.json_text import strict_json
from chalicelib.erasure.messages import erasure_message, job_id_of

TWICE = [
    '{"a":1,"a":2}',
    '{"a":1,"a":1}',
    '{"effect":"DENY","eff\\u0065ct":"GRANT"}',  # the same key once its escapes are read
    '[{"x":{"y":[{"z":1,"z":2}]}}]',  # at any depth, inside arrays too
    '{"a":{},"b":{},"a":{}}',
]


@pytest.mark.parametrize("text", TWICE)
def test_a_key_named_twice_is_refused_at_any_depth(text: str) -> None:
    with pytest.raises(DuplicateKey):
        strict_json(text)
    with pytest.raises(DuplicateKey):
        strict_json(text.encode())
    assert issubclass(DuplicateKey, BadRequest) and issubclass(DuplicateKey, ValueError)


def test_other_json_is_read_as_json_loads_reads_it() -> None:
    assert strict_json('{"a":{"a":1},"b":[{"a":2},{"a":3}],"A":4}') == {
        "a": {"a": 1},
        "b": [{"a": 2}, {"a": 3}],
        "A": 4,
    }


def _token(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_a_page_token_naming_a_key_twice_is_no_token_we_issued() -> None:
    assert decode(_token('{"employee_id":"B"}'), frozenset({"employee_id"})) == {"employee_id": "B"}
    with pytest.raises(BadPageToken):
        decode(_token('{"employee_id":"A","employee_id":"B"}'), frozenset({"employee_id"}))


def test_an_erasure_message_naming_the_job_twice_is_not_one() -> None:
    assert job_id_of(erasure_message("j1")) == "j1"
    with pytest.raises(ValueError, match="twice"):
        job_id_of('{"job_id":"j1","job_id":"j2"}')


@pytest.mark.parametrize(
    "text", ["NaN", "Infinity", "-Infinity", "1e999999", "-1E400", '[1,{"a":[NaN]}]', "123456789e999"]
)
def test_a_number_json_has_not_is_refused_at_any_depth(text: str) -> None:
    """json.loads reads NaN and the infinities, and 1e999999 as inf (B6)."""
    with pytest.raises(NonFiniteNumber):
        strict_json(text)
    assert issubclass(NonFiniteNumber, BadRequest) and issubclass(NonFiniteNumber, ValueError)


def test_large_and_small_finite_numbers_are_read() -> None:
    assert strict_json("[1e308, -1.5e-400, 12345678901234567890, 0.1]") == [
        1e308,
        -0.0,
        12345678901234567890,
        0.1,
    ]
