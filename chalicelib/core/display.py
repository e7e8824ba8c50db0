"""The one display sanitiser: user-supplied text made safe to show on one line.

Camera ids, object keys, names and reasons reach SNS subjects and texts, log lines, the
daily email and its CSV. A line break there lets an uploader forge lines ("Status:
AUTHORIZED") that a person reading the alert would believe; a bidi override reorders what
they see. Every character of Unicode's control, format, line- and paragraph-separator
and unassigned/private/surrogate categories is shown as its escape instead, so it stays
visible for forensics and can never break or reorder a line.
"""

from __future__ import annotations

import unicodedata

# Cc control, Cf format (bidi overrides, zero-width), Cs surrogate, Co private use,
# Cn unassigned, Zl line separator (U+2028), Zp paragraph separator (U+2029).
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
ELLIPSIS = "…"


def display_text(value: object, limit: int | None = None) -> str:
    """``value`` as one printable line; cut to ``limit`` characters (with an ellipsis)."""
    text = "" if value is None else str(value)
    shown = "".join(_escaped(char) for char in text)
    if limit is not None and len(shown) > limit:
        return shown[: max(limit - 1, 0)] + ELLIPSIS
    return shown


def is_hidden(char: str) -> bool:
    """Whether ``char`` is one that ``display_text`` shows as an escape."""
    return unicodedata.category(char) in _HIDDEN_CATEGORIES


def _escaped(char: str) -> str:
    if not is_hidden(char):
        return char
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
