"""The SCIM filters facegate answers: ``<attribute> eq "<value>"`` on ``userName``,
``externalId`` or ``id``, all three the employee id (docs/scim.md). One fixed-shape regular
expression over a bounded string: no parser, no recursion, nothing a hostile filter can grow.
Anything else is ``invalidFilter`` (400), as RFC 7644 §3.4.2.2 allows for filters a server
does not support.
"""

from __future__ import annotations

import json
import re

from chalicelib.core.errors import ScimRefused

MAX_FILTER = 300
EQUALS = re.compile(r'\s*(userName|externalId|id)\s+eq\s+("(?:[^"\\\x00-\x1f]|\\["\\/bfnrt])*")\s*', re.I)


def filtered_id(raw: str | None) -> str | None:
    """The value a filter asks for (any string: a value no employee id could be matches no
    one), or None without a filter; ``invalidFilter`` otherwise."""
    if raw is None:
        return None
    if len(raw) > MAX_FILTER:
        raise ScimRefused(f"filter over {MAX_FILTER} characters", "invalidFilter")
    match = EQUALS.fullmatch(raw)
    if match is None:
        raise ScimRefused('filter must be userName eq "…", externalId eq "…" or id eq "…"', "invalidFilter")
    return str(json.loads(match.group(2)))  # a JSON string: the pattern admits nothing else
