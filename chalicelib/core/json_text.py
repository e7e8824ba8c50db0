"""JSON text that UTF-8 can always carry, for what leaves the function (SNS, S3 copies)."""

from __future__ import annotations

import json
import math

from chalicelib.core.errors import DuplicateKey, NonFiniteNumber


def utf8_json(document: object, *, sort_keys: bool = False, compact: bool = False) -> str:
    """JSON keeping non-ASCII text as it is, unless a lone surrogate (which UTF-8 cannot
    carry, so a Publish or a put would fail) is stored somewhere: then every non-ASCII
    character is escaped, which is the same JSON to every reader."""
    separators = (",", ":") if compact else None
    text = json.dumps(document, ensure_ascii=False, sort_keys=sort_keys, separators=separators)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(document, ensure_ascii=True, sort_keys=sort_keys, separators=separators)
    return text


def strict_json(data: str | bytes) -> object:
    """``json.loads`` that refuses what plain JSON (RFC 8259) has not and ``json.loads`` takes
    silently, at any depth: an object naming a key twice (the last one would win):
    ``DuplicateKey``; ``NaN``, ``Infinity``, ``-Infinity`` and a number too large for a float
    (``1e999999`` would be ``inf``): ``NonFiniteNumber``; both ``ValueError``. Deep nesting
    still raises ``RecursionError``, bad text ``ValueError``."""
    return json.loads(
        data, object_pairs_hook=_unique_keys, parse_constant=_no_constant, parse_float=_finite_float
    )


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise DuplicateKey("a JSON object names a key twice")
    return document


def _no_constant(name: str) -> object:
    raise NonFiniteNumber(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)  # an exponent past the float's range is inf, never an error
    if not math.isfinite(value):
        raise NonFiniteNumber("a JSON number too large to hold")
    return value
