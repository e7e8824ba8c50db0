"""access_documents: every refusal names its field, and a document reads back as written.

These are the API's request bodies and the stored items alike, so what is refused here is
refused before it can reach a container, and ``document(x_from(body))`` is what GET answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.access.documents import (
    MAX_CAMERAS,
    MAX_DESCRIPTION,
    MAX_DOORS,
    MAX_EMPLOYEES,
    MAX_GROUPS,
    MAX_NAME,
    MAX_WINDOWS,
    document,
    door_from,
    group_from,
    holiday_from,
    rule_from,
)
from chalicelib.access.policy import (
    ALWAYS,
    ANY,
    DEFAULT_RULE,
    AccessEntry,
    Effect,
    HolidayEffect,
    Window,
)
from chalicelib.core.errors import BadRequest, InvalidAccessDocument
from tests.access_site import DOORS, GROUPS, HOLIDAYS, RULES, entries

Parse = Callable[[str, dict[str, Any]], AccessEntry]
RULE = {"effect": "GRANT", "doors": ["front-door"], "groups": ["staff"]}
WINDOW = {"days": ["mon"], "start": "07:00", "end": "19:00"}


def refused(parse: Parse, entry_id: str, body: Any, *words: str) -> str:
    """Parse ``body`` expecting a 400 whose message holds each of ``words``."""
    with pytest.raises(InvalidAccessDocument) as caught:
        parse(entry_id, body)
    message = str(caught.value)
    for word in words:
        assert word in message, message
    return message


def rule_refused(body: dict[str, Any], *words: str) -> str:
    return refused(rule_from, "r1", body, *words)


def schedule_refused(window: Any, *words: str) -> str:
    return rule_refused({**RULE, "schedule": [window]}, *words)


def test_a_refusal_is_a_bad_request_and_a_value_error() -> None:
    assert issubclass(InvalidAccessDocument, BadRequest)
    assert issubclass(InvalidAccessDocument, ValueError)


# --- fields --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parse", "entry_id", "body"),
    [
        (door_from, "front-door", {"name": "Front", "camera": ["x"]}),
        (group_from, "staff", {"name": "Staff", "members": ["EMP001"]}),
        (rule_from, "r1", {**RULE, "days": ["mon"]}),
        (holiday_from, "2026-12-25", {"name": "Christmas", "open": True}),
    ],
)
def test_an_unknown_field_is_named(parse: Parse, entry_id: str, body: dict[str, Any]) -> None:
    [unknown] = sorted(set(body) - {"name", *RULE})
    refused(parse, entry_id, body, "unknown field", unknown)


@pytest.mark.parametrize("body", [[], "door", None, 3])
def test_a_body_that_is_no_object_is_refused(body: Any) -> None:
    refused(door_from, "front-door", body, "JSON object")


@pytest.mark.parametrize(
    ("parse", "entry_id", "body", "field"),
    [
        (door_from, "front-door", {"door_id": "back-door", "name": "Front"}, "door_id"),
        (group_from, "staff", {"group_id": "it", "name": "Staff"}, "group_id"),
        (rule_from, "r1", {**RULE, "rule_id": "r2"}, "rule_id"),
        (holiday_from, "2026-12-25", {"day": "2026-12-24", "name": "Christmas"}, "day"),
    ],
)
def test_an_id_in_the_body_must_be_the_paths(
    parse: Parse, entry_id: str, body: dict[str, Any], field: str
) -> None:
    refused(parse, entry_id, body, field, "differs from the path")
    parse(entry_id, {**body, field: entry_id})  # the same id is welcome


@pytest.mark.parametrize(
    ("parse", "body", "called"),
    [
        (door_from, {"name": "Front"}, "door id"),
        (group_from, {"name": "Staff"}, "group id"),
        (rule_from, RULE, "rule id"),
    ],
)
@pytest.mark.parametrize("bad_id", ["..", ".", "front door", "a/b", "*", "", "x" * 65, "tür"])
def test_a_bad_id_is_refused_by_name(parse: Parse, body: dict[str, Any], called: str, bad_id: str) -> None:
    refused(parse, bad_id, body, called)


def test_reserved_ids_are_not_groups_or_rules() -> None:
    refused(group_from, "erasure", {"name": "E"}, "group id", "reserved")
    refused(rule_from, "daily-report", RULE, "rule id", "reserved")


@pytest.mark.parametrize(
    "day", ["25-12-2026", "2026-12-32", "2026-02-30", "2026-W52-5", "20261225xx", "２０２６-12-25"]
)
def test_a_holiday_is_a_calendar_day_written_yyyy_mm_dd(day: str) -> None:
    refused(holiday_from, day, {"name": "Christmas"}, "day", "YYYY-MM-DD")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("doors", [".."]),
        ("doors", ["front door"]),
        ("groups", [".."]),
        ("groups", ["a/b"]),
        ("employees", [".."]),
        ("employees", ["*"]),  # a rule for everyone names the group "*"
        ("employees", ["daily-report"]),
    ],
)
def test_a_bad_id_in_a_rules_lists_is_named_with_its_list(field: str, value: list[str]) -> None:
    rule_refused({**RULE, field: value}, field)


@pytest.mark.parametrize("camera", ["..", "*", "front door", "incoming/x", ""])
def test_a_bad_camera_id_is_refused(camera: str) -> None:
    refused(door_from, "front-door", {"name": "Front", "cameras": [camera]}, "cameras", "camera id")


def test_star_means_every_door_and_every_group_where_a_list_allows_it() -> None:
    rule = rule_from("r1", {"effect": "DENY", "doors": ["*"], "groups": ["*"]})
    assert rule.doors == rule.groups == frozenset({ANY})
    holiday = holiday_from("2026-12-26", {"name": "Open day", "effect": "OPEN", "groups": ["*"]})
    assert holiday.doors == holiday.groups == frozenset({ANY})
    refused(door_from, "*", {"name": "Every door"}, "door id")


@pytest.mark.parametrize(
    ("field", "duplicated"), [("doors", "front-door"), ("groups", "staff"), ("employees", "E1")]
)
def test_a_list_naming_an_entry_twice_is_refused(field: str, duplicated: str) -> None:
    rule_refused({**RULE, field: [duplicated, duplicated]}, field, "twice")


def test_a_door_naming_a_camera_twice_is_refused() -> None:
    refused(door_from, "front-door", {"name": "Front", "cameras": ["cam", "cam"]}, "cameras", "twice")


@pytest.mark.parametrize(
    ("field", "most"),
    [("doors", MAX_DOORS), ("groups", MAX_GROUPS), ("employees", MAX_EMPLOYEES)],
)
def test_a_rules_list_has_a_limit(field: str, most: int) -> None:
    values = [f"id-{index}" for index in range(most + 1)]
    rule_refused({**RULE, field: values}, field, f"at most {most}")
    rule_from("r1", {**RULE, field: values[:most]})


def test_a_door_has_at_most_so_many_cameras() -> None:
    cameras = [f"cam-{index}" for index in range(MAX_CAMERAS + 1)]
    refused(
        door_from, "front-door", {"name": "Front", "cameras": cameras}, "cameras", f"at most {MAX_CAMERAS}"
    )


@pytest.mark.parametrize("value", ["front-door", [1], [None], {"front-door": True}])
def test_a_list_of_ids_must_be_a_list_of_strings(value: Any) -> None:
    rule_refused({**RULE, "doors": value}, "doors", "list")


def test_a_rule_needs_its_effect_doors_and_someone() -> None:
    rule_refused({"doors": ["front-door"], "groups": ["staff"]}, "effect", "GRANT, DENY")
    rule_refused({**RULE, "effect": "ALLOW"}, "effect")
    rule_refused({**RULE, "effect": ["GRANT"]}, "effect")
    rule_refused({"effect": "GRANT", "groups": ["staff"]}, "doors", "required")
    rule_refused({**RULE, "doors": []}, "doors", "at least one")
    rule_refused({"effect": "GRANT", "doors": ["front-door"]}, "groups or employees")
    rule_refused({**RULE, "groups": None}, "groups")


@pytest.mark.parametrize(
    ("parse", "entry_id", "body", "field", "most"),
    [
        (door_from, "front-door", {"name": "x" * (MAX_NAME + 1)}, "name", MAX_NAME),
        (door_from, "front-door", {"name": "   "}, "name", MAX_NAME),
        (door_from, "front-door", {}, "name", MAX_NAME),
        (group_from, "staff", {"name": 7}, "name", MAX_NAME),
        (
            group_from,
            "staff",
            {"name": "S", "description": "x" * (MAX_DESCRIPTION + 1)},
            "description",
            MAX_DESCRIPTION,
        ),
        (rule_from, "r1", {**RULE, "description": None}, "description", MAX_DESCRIPTION),
        (holiday_from, "2026-12-25", {"name": ""}, "name", MAX_NAME),
    ],
)
def test_names_and_descriptions_are_bounded_strings(
    parse: Parse, entry_id: str, body: dict[str, Any], field: str, most: int
) -> None:
    refused(parse, entry_id, body, field, f"at most {most}")


# --- schedules -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "clock",
    [
        "24:00",
        "23:60",
        "7:00",
        "07:0",
        "07-00",
        "0700",
        "07:00:00",
        "-1:00",
        "0²:00",
        "０７:００",
        "",
        700,
        None,
    ],
)
def test_a_time_is_hh_mm_on_a_24_hour_clock(clock: Any) -> None:
    schedule_refused({**WINDOW, "start": clock}, "schedule[0].start", "HH:MM")
    schedule_refused({**WINDOW, "end": clock}, "schedule[0].end", "HH:MM")


def test_the_day_ends_at_23_59_and_midnight_is_00_00() -> None:
    rule = rule_from("r1", {**RULE, "schedule": [{"days": ["mon"], "start": "00:00", "end": "23:59"}]})
    assert [window_doc["end"] for window_doc in document(rule)["schedule"]] == ["23:59"]


@pytest.mark.parametrize("days", [[], ["monday"], ["Mon"], "mon", [0], None, ["mon", "mon"]])
def test_days_are_a_list_of_distinct_short_day_names(days: Any) -> None:
    message = schedule_refused({**WINDOW, "days": days}, "schedule[0].days")
    assert "mon, tue, wed, thu, fri, sat, sun" in message or "twice" in message


def test_a_window_names_only_its_days_start_and_end() -> None:
    schedule_refused({**WINDOW, "timezone": "UTC"}, "schedule[0]")
    schedule_refused("mon 07:00-19:00", "schedule[0]")


def test_the_failing_window_is_named_by_its_position() -> None:
    rule_refused({**RULE, "schedule": [WINDOW, {**WINDOW, "end": "24:00"}]}, "schedule[1].end")


@pytest.mark.parametrize("schedule", [[], "always", {"days": ["mon"]}, [WINDOW] * (MAX_WINDOWS + 1)])
def test_a_schedule_is_a_list_of_a_bounded_number_of_windows(schedule: Any) -> None:
    rule_refused({**RULE, "schedule": schedule}, "schedule", f"1–{MAX_WINDOWS}")


def test_no_schedule_means_always_and_reads_back_as_the_whole_week() -> None:
    rule = rule_from("r1", RULE)
    assert rule.windows == ALWAYS
    assert document(rule)["schedule"] == [
        {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "00:00"}
    ]


# --- dates ---------------------------------------------------------------------------------


def test_a_pass_may_not_end_before_it_starts() -> None:
    rule_refused(
        {**RULE, "valid_from": "2026-10-30", "valid_until": "2026-10-01"}, "valid_until", "valid_from"
    )
    one_day = rule_from("r1", {**RULE, "valid_from": "2026-10-30", "valid_until": "2026-10-30"})
    assert one_day.valid_from == one_day.valid_until


@pytest.mark.parametrize("field", ["valid_from", "valid_until"])
@pytest.mark.parametrize(
    "value", ["30/10/2026", "2026-10-32", "2026-W44-5", "2026-10-30T00:00", 20261030, ""]
)
def test_pass_dates_are_yyyy_mm_dd(field: str, value: Any) -> None:
    rule_refused({**RULE, field: value}, field, "YYYY-MM-DD")


# --- holidays ------------------------------------------------------------------------------


def test_a_holiday_closes_every_door_to_everyone_by_default() -> None:
    holiday = holiday_from("2026-12-25", {"name": "Christmas Day"})
    assert (holiday.effect, holiday.doors, holiday.groups) == (
        HolidayEffect.CLOSE,
        frozenset({ANY}),
        frozenset(),
    )


def test_an_open_holiday_names_whom_it_lets_in() -> None:
    refused(holiday_from, "2026-12-26", {"name": "Open day", "effect": "OPEN"}, "OPEN", "groups")
    refused(holiday_from, "2026-12-26", {"name": "Open day", "effect": "open"}, "effect", "CLOSE, OPEN")


# --- documents read back -------------------------------------------------------------------


def test_every_entry_of_the_site_reads_back_as_itself() -> None:
    for entry in entries():
        body = document(entry)
        kind_id = {"door_id", "group_id", "rule_id", "day"} & set(body)
        [id_field] = kind_id
        parse: dict[str, Parse] = {
            "door_id": door_from,
            "group_id": group_from,
            "rule_id": rule_from,
            "day": holiday_from,
        }
        assert parse[id_field](body[id_field], body) == entry
        assert document(parse[id_field](body[id_field], body)) == body


def test_a_documents_lists_are_sorted_so_equal_entries_read_equal() -> None:
    one = rule_from("r1", {**RULE, "doors": ["b", "a"], "groups": ["it", "staff"]})
    other = rule_from("r1", {**RULE, "doors": ["a", "b"], "groups": ["staff", "it"]})
    assert document(one) == document(other)
    assert document(one)["doors"] == ["a", "b"]


def test_a_full_rule_document_is_returned_exactly_as_written() -> None:
    body = {
        "rule_id": "contractor-x",
        "effect": "GRANT",
        "doors": ["front-door"],
        "schedule": [
            {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "07:00", "end": "19:00"},
            {"days": ["sat"], "start": "22:00", "end": "06:00"},
        ],
        "groups": [],
        "employees": ["CON001"],
        "valid_from": "2026-10-01",
        "valid_until": "2026-10-30",
        "description": "contractor X, the October refit",
    }
    rule = rule_from("contractor-x", body)
    assert document(rule) == body
    assert rule.effect is Effect.GRANT
    assert rule.windows[1] == Window(frozenset({5}), rule.windows[1].start, rule.windows[1].end)


def test_the_site_documents_fill_their_defaults_on_the_way_in() -> None:
    assert document(door_from("server-room", DOORS["server-room"]))["cameras"] == ["server-room-cam"]
    assert document(group_from("staff", GROUPS["staff"])) == {
        "group_id": "staff",
        "name": "Staff",
        "description": "",
    }
    assert document(holiday_from("2026-11-26", HOLIDAYS["2026-11-26"])) == {
        "day": "2026-11-26",
        "name": "Thanksgiving",
        "effect": "CLOSE",
        "doors": ["*"],
        "groups": ["security"],
    }
    assert document(rule_from("it-server-room", RULES["it-server-room"]))["valid_until"] is None


def test_the_built_in_rule_reads_back_as_itself() -> None:
    body = document(DEFAULT_RULE)
    assert rule_from(DEFAULT_RULE.rule_id, body) == DEFAULT_RULE
    assert re.fullmatch(r"[a-z-]+", body["rule_id"])
