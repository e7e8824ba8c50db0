"""The schedule shorthand of ``facegate rules set --schedule``: ``mon-fri 07:00-19:00``.

A window is its days then a time range: days as names (``mon`` … ``sun``), ranges
(``mon-fri``; ``fri-mon`` wraps round the weekend), lists of both (``sat,sun``,
``mon-wed,fri``) or ``daily``; then ``HH:MM-HH:MM`` on a 24-hour clock. An end that is not
after the start runs past midnight (``22:00-06:00``), ``00:00-00:00`` is the whole day, and
days alone (``sat,sun``) mean the whole of those days. ``always`` is every day, all day.

``window`` turns one into the API's JSON (``{"days": [...], "start", "end"}``) or raises
``ScheduleError`` saying what is wrong; ``shorthand`` is the inverse, for tables. The API
checks the JSON again: this only spares a round trip and gives a message in these terms.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WHOLE_DAY = ("00:00", "00:00")
FORMS = "DAYS HH:MM-HH:MM, DAYS as mon, mon-fri, sat,sun or daily (e.g. 'mon-fri 07:00-19:00')"

_TIME_RANGE = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")
_CONSECUTIVE_FOR_A_RANGE = 3  # mon-wed reads better than mon,tue,wed; sat,sun than sat-sun


class ScheduleError(ValueError):
    """A ``--schedule`` the shorthand cannot read; the message names the problem."""


def window(text: str) -> dict[str, Any]:
    """``"mon-fri 07:00-19:00"`` → ``{"days": ["mon", …, "fri"], "start": "07:00", "end": "19:00"}``."""
    cleaned = " ".join(text.lower().split())
    if cleaned == "always":
        return _document(range(7), *WHOLE_DAY)
    times = _TIME_RANGE.search(cleaned)
    if times is None or times.end() != len(cleaned):
        if any(character.isdigit() for character in cleaned):
            raise ScheduleError(f"{text!r}: cannot read it; write {FORMS}")
        days_part, start, end = cleaned, *WHOLE_DAY
    else:
        days_part = cleaned[: times.start()]
        start, end = _clock(times[1], times[2], text), _clock(times[3], times[4], text)
    return _document(_days(days_part.replace(" ", ""), text), start, end)


def windows(texts: Sequence[str] | None) -> list[dict[str, Any]] | None:
    """Every ``--schedule`` as the API's ``schedule`` list; None (always) when none is given."""
    return None if not texts else [window(text) for text in texts]


def shorthand(document: Mapping[str, Any]) -> str:
    """One window of the API's JSON in the shorthand ``window`` reads (``always`` for 24/7)."""
    days = sorted(DAYS.index(day) for day in document.get("days", []) if day in DAYS)
    start, end = document.get("start", ""), document.get("end", "")
    if len(days) == 7 and (start, end) == WHOLE_DAY:
        return "always"
    named = "daily" if len(days) == 7 else ",".join(_runs(days))
    return named if (start, end) == WHOLE_DAY else f"{named} {start}-{end}"


def _days(raw: str, text: str) -> list[int]:
    if not raw:
        raise ScheduleError(f"{text!r}: no days; write {FORMS}")
    if raw == "daily":
        return list(range(7))
    days: list[int] = []
    for item in raw.split(","):
        first, dash, last = item.partition("-")
        named = [_day(first, text)] if not dash else _range(_day(first, text), _day(last, text))
        for day in named:
            if day in days:
                raise ScheduleError(f"{text!r}: {DAYS[day]} is named twice")
            days.append(day)
    return sorted(days)


def _day(name: str, text: str) -> int:
    if name not in DAYS:
        shown = repr(name) if name else "an empty day"
        raise ScheduleError(f"{text!r}: {shown} is not a day; days are {', '.join(DAYS)} (or daily)")
    return DAYS.index(name)


def _range(first: int, last: int) -> list[int]:
    return [(first + step) % 7 for step in range((last - first) % 7 + 1)]


def _clock(hours: str, minutes: str, text: str) -> str:
    if int(hours) > 23 or int(minutes) > 59:
        raise ScheduleError(
            f"{text!r}: {hours}:{minutes} is not a time of day; times run 00:00-23:59 "
            "(an end of 00:00 is midnight)"
        )
    return f"{int(hours):02d}:{minutes}"


def _document(days: Sequence[int] | range, start: str, end: str) -> dict[str, Any]:
    return {"days": [DAYS[day] for day in days], "start": start, "end": end}


def _runs(days: list[int]) -> list[str]:
    """Sorted day indexes as names, three or more consecutive days as a range."""
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    named = []
    for run in runs:
        if len(run) >= _CONSECUTIVE_FOR_A_RANGE:
            named.append(f"{DAYS[run[0]]}-{DAYS[run[-1]]}")
        else:
            named.extend(DAYS[day] for day in run)
    return named
