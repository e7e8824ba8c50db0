"""What the sandbox's pumps report for each event they delivered to a handler."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class HandledEvent:
    """One event as Lambda would have handled it: its keys (or message ids), the last error."""

    keys: list[str]
    error: str | None  # the last attempt's error; None when an attempt succeeded
    attempts: int = 1
    dead_lettered: bool = False
