"""The ``--schedule`` shorthand read into the API's windows, and written back for tables."""

from __future__ import annotations

import itertools

import pytest

from facegate_cli.schedules import DAYS, ScheduleError, shorthand, window, windows

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


@pytest.mark.parametrize(
    ("text", "days", "start", "end"),
    [
        ("mon-fri 07:00-19:00", WEEKDAYS, "07:00", "19:00"),
        ("sat,sun 10:00-14:00", ["sat", "sun"], "10:00", "14:00"),
        ("daily 22:00-06:00", list(DAYS), "22:00", "06:00"),
        ("mon-wed,fri 7:00-9:30", ["mon", "tue", "wed", "fri"], "07:00", "09:30"),
        ("fri-mon 18:00-08:00", ["mon", "fri", "sat", "sun"], "18:00", "08:00"),  # round the weekend
        ("  Mon - Fri   07:00 - 19:00 ", WEEKDAYS, "07:00", "19:00"),  # spaces and capitals
        ("mon, thu 08:00-09:00", ["mon", "thu"], "08:00", "09:00"),
        ("sat,sun", ["sat", "sun"], "00:00", "00:00"),  # days alone: the whole days
        ("daily 00:00-00:00", list(DAYS), "00:00", "00:00"),
        ("always", list(DAYS), "00:00", "00:00"),
        ("wed", ["wed"], "00:00", "00:00"),
    ],
)
def test_the_shorthand_reads_as_the_apis_window(text: str, days: list[str], start: str, end: str) -> None:
    assert window(text) == {"days": days, "start": start, "end": end}


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("07:00-19:00", "no days"),
        ("", "no days"),
        ("mon-frx 07:00-19:00", "'frx' is not a day"),
        ("monday 07:00-19:00", "'monday' is not a day"),
        ("mon,,tue 07:00-19:00", "an empty day is not a day"),
        ("mon-fri,wed 07:00-19:00", "wed is named twice"),
        ("mon-fri 24:00-06:00", "24:00 is not a time of day"),
        ("mon-fri 07:00-19:60", "19:60 is not a time of day"),
        ("mon-fri 0700-1900", "cannot read it"),
        ("mon-fri 07:00", "cannot read it"),
        ("mon-fri 07:00-19:00 sat", "cannot read it"),
        ("07:00-19:00 mon-fri", "cannot read it"),
    ],
)
def test_bad_shorthand_is_refused_with_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(ScheduleError) as refused:
        window(text)
    assert says in str(refused.value)
    assert repr(text) in str(refused.value)


def test_no_schedule_means_always_and_several_are_kept_in_order() -> None:
    assert windows(None) is None and windows([]) is None
    assert windows(["mon-fri 07:00-19:00", "sat 09:00-12:00"]) == [
        {"days": WEEKDAYS, "start": "07:00", "end": "19:00"},
        {"days": ["sat"], "start": "09:00", "end": "12:00"},
    ]


@pytest.mark.parametrize(
    ("document", "text"),
    [
        ({"days": WEEKDAYS, "start": "07:00", "end": "19:00"}, "mon-fri 07:00-19:00"),
        ({"days": ["sat", "sun"], "start": "00:00", "end": "00:00"}, "sat,sun"),
        ({"days": list(DAYS), "start": "00:00", "end": "00:00"}, "always"),
        ({"days": list(DAYS), "start": "22:00", "end": "06:00"}, "daily 22:00-06:00"),
        (
            {"days": ["mon", "tue", "thu", "fri", "sat"], "start": "08:00", "end": "12:00"},
            "mon,tue,thu-sat 08:00-12:00",
        ),
    ],
)
def test_tables_show_a_window_in_the_shorthand(document: dict[str, object], text: str) -> None:
    assert shorthand(document) == text


def test_every_set_of_days_reads_back_as_itself() -> None:
    for size in range(1, 8):
        for days in itertools.combinations(DAYS, size):
            document = {"days": list(days), "start": "06:30", "end": "18:00"}
            assert window(shorthand(document)) == document, days
