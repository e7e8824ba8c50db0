"""JSON text that UTF-8 can always carry, for what leaves the function (SNS, S3 copies)."""

from __future__ import annotations

import json

from chalicelib.core.errors import DuplicateKey


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
    """``json.loads`` that refuses an object naming a key twice, at any depth (``json.loads``
    takes it silently, the last one winning): ``DuplicateKey``, a ``ValueError``. Deep nesting
    still raises ``RecursionError``, bad text ``ValueError``."""
    return json.loads(data, object_pairs_hook=_unique_keys)


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise DuplicateKey("a JSON object names a key twice")
    return document
