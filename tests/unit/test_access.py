"""decide_access(): the issue's site, its weeks across both DST changes, and the rule table.

The site (``tests/access_site.py``) is built from JSON through ``access_documents``, as an
admin's PUTs would build it: staff at the front door 07:00–19:00 on weekdays, IT also in
the server room always, contractor X at the front door until the 30th, nobody on public
holidays but security. It is in Chicago: 2026's clocks skip 02:00–03:00 on 8 March and
repeat 01:00–02:00 on 1 November.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from chalicelib.access.documents import rule_from
from chalicelib.access.policy import (
    DEFAULT_RULE_ID,
    AccessDecision,
    AccessPolicy,
    AccessSnapshot,
    Verdict,
    decide_access,
    local_instant,
)
from tests.access_site import CONTRACTOR, IT, RULES, SECURITY, STAFF, TIMEZONE, local, snapshot

SITE = snapshot().policy(TIMEZONE)
Person = tuple[str, frozenset[str]]


def ask(person: Person, door: str, at: datetime, policy: AccessPolicy = SITE) -> AccessDecision:
    employee_id, groups = person
    return decide_access(policy, employee_id, groups, door, at)


def with_rules(**rules: dict[str, Any]) -> AccessPolicy:
    """A site of only ``rules`` (ids with ``_`` for ``-``), no holidays."""
    return snapshot(rules={rule_id.replace("_", "-"): body for rule_id, body in rules.items()}).policy(
        TIMEZONE
    )


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- the site, as the issue tells it ---------------------------------------------------------


def test_staff_open_the_front_door_on_a_weekday_by_their_rule() -> None:
    decision = ask(STAFF, "front-door", local("2026-06-02", "10:00"))  # a Tuesday
    assert decision.allowed and decision.verdict is Verdict.GRANTED
    assert (decision.door_id, decision.rule_id, decision.holiday) == ("front-door", "staff-front-door", None)
    assert decision.local_time == "2026-06-02T10:00:00-05:00"


def test_staff_are_refused_outside_their_hours_and_at_the_weekend_naming_the_rule() -> None:
    for at in (local("2026-06-02", "06:30"), local("2026-06-02", "20:00"), local("2026-06-06", "10:00")):
        decision = ask(STAFF, "front-door", at)
        assert not decision.allowed
        assert (decision.verdict, decision.rule_id) == (Verdict.OUTSIDE_SCHEDULE, "staff-front-door")


def test_the_schedule_starts_inclusive_and_ends_exclusive() -> None:
    assert not ask(STAFF, "front-door", local("2026-06-02", "06:59:59")).allowed
    assert ask(STAFF, "front-door", local("2026-06-02", "07:00:00")).allowed
    assert ask(STAFF, "front-door", local("2026-06-02", "18:59:59")).allowed
    assert not ask(STAFF, "front-door", local("2026-06-02", "19:00:00")).allowed


def test_staff_have_no_rule_for_the_server_room() -> None:
    decision = ask(STAFF, "server-room", local("2026-06-02", "10:00"))
    assert not decision.allowed
    assert (decision.verdict, decision.rule_id) == (Verdict.NO_RULE, None)
    assert Verdict.NO_RULE.value == "NO_ACCESS_RULE"


def test_it_open_the_server_room_always_and_the_front_door_as_staff() -> None:
    sunday_night = ask(IT, "server-room", local("2026-06-07", "03:00"))
    assert sunday_night.allowed and sunday_night.rule_id == "it-server-room"
    assert ask(IT, "front-door", local("2026-06-02", "10:00")).rule_id == "staff-front-door"
    assert not ask(IT, "front-door", local("2026-06-07", "03:00")).allowed


def test_the_contractors_pass_opens_through_the_last_minute_of_the_30th() -> None:
    decision = ask(CONTRACTOR, "front-door", local("2026-10-30", "23:59"))
    assert decision.allowed and decision.rule_id == "contractor-x"


def test_the_contractors_pass_has_expired_on_the_31st() -> None:
    decision = ask(CONTRACTOR, "front-door", local("2026-10-31", "00:00"))
    assert not decision.allowed
    assert (decision.verdict, decision.rule_id) == (Verdict.PASS_EXPIRED, "contractor-x")


def test_the_contractors_pass_is_not_valid_before_its_first_day() -> None:
    decision = ask(CONTRACTOR, "front-door", local("2026-09-30", "23:59"))
    assert (decision.allowed, decision.verdict) == (False, Verdict.PASS_NOT_YET_VALID)
    assert ask(CONTRACTOR, "front-door", local("2026-10-01", "00:00")).allowed


def test_the_pass_dates_are_local_days_not_utc_days() -> None:
    # 03:30 UTC on 31 October is still the 30th in Chicago: the pass holds.
    assert ask(CONTRACTOR, "front-door", utc("2026-10-31T03:30:00")).allowed
    assert not ask(CONTRACTOR, "front-door", utc("2026-10-31T05:00:00")).allowed


def test_the_contractor_may_not_enter_the_server_room() -> None:
    assert ask(CONTRACTOR, "server-room", local("2026-10-15", "10:00")).verdict is Verdict.NO_RULE


def test_nobody_but_security_on_a_public_holiday() -> None:
    christmas = local("2026-12-25", "10:00")  # a Friday, inside the staff's hours
    for person, door in ((STAFF, "front-door"), (IT, "server-room"), (IT, "front-door")):
        decision = ask(person, door, christmas)
        assert not decision.allowed
        assert (decision.verdict, decision.holiday, decision.rule_id) == (
            Verdict.HOLIDAY_CLOSED,
            "2026-12-25",
            None,
        )
    guard = ask(SECURITY, "server-room", christmas)
    assert guard.allowed and guard.rule_id == "security-everywhere"


def test_a_holiday_is_the_sites_calendar_day() -> None:
    # 05:00 UTC on the 25th is 23:00 on Christmas Eve in Chicago: an ordinary night.
    assert ask(IT, "server-room", utc("2026-12-25T05:00:00")).allowed
    assert not ask(IT, "server-room", utc("2026-12-25T06:00:00")).allowed


def test_a_holidays_exempt_group_still_needs_a_rule() -> None:
    policy = snapshot(holidays={"2026-12-25": {"name": "Christmas Day", "groups": ["staff"]}}).policy(
        TIMEZONE
    )
    assert ask(STAFF, "front-door", local("2026-12-25", "10:00"), policy).rule_id == "staff-front-door"
    late = ask(STAFF, "front-door", local("2026-12-25", "20:00"), policy)
    assert late.verdict is Verdict.OUTSIDE_SCHEDULE


def test_a_holiday_closes_only_its_doors() -> None:
    policy = snapshot(
        holidays={"2026-06-02": {"name": "Server maintenance", "doors": ["server-room"]}}
    ).policy(TIMEZONE)
    assert ask(IT, "server-room", local("2026-06-02", "10:00"), policy).verdict is Verdict.HOLIDAY_CLOSED
    assert ask(IT, "front-door", local("2026-06-02", "10:00"), policy).allowed


def test_an_open_holiday_lets_its_group_in_all_day_and_no_one_else() -> None:
    open_day = {"2026-12-26": {"name": "Year-end inventory", "effect": "OPEN", "groups": ["staff"]}}
    policy = snapshot(holidays=open_day).policy(TIMEZONE)
    saturday = local("2026-12-26", "21:00")
    decision = ask(STAFF, "front-door", saturday, policy)
    assert decision.allowed
    assert (decision.verdict, decision.holiday, decision.rule_id) == (
        Verdict.HOLIDAY_OPEN,
        "2026-12-26",
        None,
    )
    assert not ask(CONTRACTOR, "front-door", saturday, policy).allowed
    assert not ask(STAFF, "front-door", local("2026-12-27", "21:00"), policy).allowed


def test_an_open_holiday_does_not_beat_a_deny_rule() -> None:
    rules = {
        **RULES,
        "no-weekend-staff": {
            "effect": "DENY",
            "doors": ["*"],
            "groups": ["staff"],
            "schedule": [{"days": ["sat", "sun"], "start": "00:00", "end": "00:00"}],
        },
    }
    open_day = {"2026-12-26": {"name": "Year-end inventory", "effect": "OPEN", "groups": ["staff"]}}
    policy = snapshot(rules=rules, holidays=open_day).policy(TIMEZONE)
    decision = ask(STAFF, "front-door", local("2026-12-26", "10:00"), policy)
    assert (decision.allowed, decision.verdict, decision.rule_id) == (
        False,
        Verdict.DENY_RULE,
        "no-weekend-staff",
    )


# --- deny beats grant -------------------------------------------------------------------------

GRANT_STAFF = {"effect": "GRANT", "doors": ["front-door"], "groups": ["staff"]}
DENY_EMP001 = {"effect": "DENY", "doors": ["*"], "employees": ["EMP001"]}


@pytest.mark.parametrize(("grant_id", "deny_id"), [("a-grant", "z-deny"), ("z-grant", "a-deny")])
def test_a_deny_rule_beats_an_overlapping_grant_whatever_the_ids(grant_id: str, deny_id: str) -> None:
    policy = with_rules(**{grant_id: GRANT_STAFF, deny_id: DENY_EMP001})
    decision = ask(STAFF, "front-door", local("2026-06-02", "10:00"), policy)
    assert (decision.allowed, decision.verdict, decision.rule_id) == (False, Verdict.DENY_RULE, deny_id)
    assert ask(IT, "front-door", local("2026-06-02", "10:00"), policy).allowed  # others still pass


def test_a_deny_rule_outside_its_schedule_or_dates_denies_nothing() -> None:
    nights = {**DENY_EMP001, "schedule": [{"days": ["tue"], "start": "22:00", "end": "06:00"}]}
    ended = {**DENY_EMP001, "valid_until": "2026-05-31"}
    policy = with_rules(grant=GRANT_STAFF, deny_nights=nights, deny_ended=ended)
    assert ask(STAFF, "front-door", local("2026-06-02", "10:00"), policy).rule_id == "grant"
    assert ask(STAFF, "front-door", local("2026-06-02", "23:00"), policy).verdict is Verdict.DENY_RULE


def test_the_first_grant_by_rule_id_names_an_allowed_decision() -> None:
    policy = with_rules(b_grant=GRANT_STAFF, a_grant=GRANT_STAFF)
    assert ask(STAFF, "front-door", local("2026-06-02", "10:00"), policy).rule_id == "a-grant"


def test_reasons_name_no_employee_rule_door_or_holiday() -> None:
    rules = {**RULES, "deny-emp001": DENY_EMP001}
    policy = snapshot(rules=rules).policy(TIMEZONE)
    decisions = [
        ask(STAFF, "front-door", local("2026-06-02", "10:00"), policy),  # DENY_RULE
        ask(IT, "server-room", local("2026-12-25", "10:00")),  # HOLIDAY_CLOSED
        ask(IT, "front-door", local("2026-06-06", "10:00")),  # OUTSIDE_SCHEDULE
        ask(CONTRACTOR, "front-door", local("2026-10-31", "10:00")),  # PASS_EXPIRED
        ask(CONTRACTOR, "front-door", local("2026-09-30", "10:00")),  # PASS_NOT_YET_VALID
        ask(CONTRACTOR, "server-room", local("2026-10-15", "10:00")),  # NO_RULE
        ask(IT, "server-room", local("2026-06-02", "10:00")),  # GRANTED
    ]
    assert len({decision.verdict for decision in decisions}) == len(decisions)
    for decision in decisions:
        named = ("EMP001", "EMP002", "CON001", "contractor", "staff", "server", "front", "2026", "christmas")
        for word in named:
            assert word.lower() not in decision.reason.lower(), (decision.verdict, decision.reason)


# --- the built-in rule ------------------------------------------------------------------------


def test_a_site_never_configured_lets_every_active_employee_through_every_door() -> None:
    pristine = AccessSnapshot().policy(TIMEZONE)
    for person in (STAFF, CONTRACTOR, ("EMP999", frozenset[str]())):
        decision = ask(person, "loading-dock", local("2026-12-25", "03:00"), pristine)
        assert decision.allowed and decision.rule_id == DEFAULT_RULE_ID


def test_once_configured_the_built_in_rule_is_only_there_if_stored() -> None:
    assert AccessSnapshot(version="v1").policy(TIMEZONE).rules == ()
    emptied = ask(STAFF, "front-door", local("2026-06-02", "10:00"), AccessSnapshot("v1").policy(TIMEZONE))
    assert (emptied.allowed, emptied.verdict) == (False, Verdict.NO_RULE)
    assert with_rules(staff_front_door=RULES["staff-front-door"]).rules[0].rule_id != DEFAULT_RULE_ID


# --- instants ---------------------------------------------------------------------------------


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        decide_access(SITE, "EMP001", {"staff"}, "front-door", datetime(2026, 6, 2, 10, 0))


def test_an_instant_in_another_zone_is_read_on_the_sites_clock() -> None:
    # 16:30 in Berlin on a June Tuesday is 09:30 in Chicago.
    from zoneinfo import ZoneInfo

    decision = ask(STAFF, "front-door", datetime(2026, 6, 2, 16, 30, tzinfo=ZoneInfo("Europe/Berlin")))
    assert decision.allowed and decision.local_time == "2026-06-02T09:30:00-05:00"


def test_doors_are_found_by_camera_and_an_unmapped_camera_is_its_own_door() -> None:
    assert SITE.door_of("front-door-in") == SITE.door_of("front-door-out") == "front-door"
    assert SITE.door_of("server-room-cam") == "server-room"
    assert SITE.door_of("loading-dock") == "loading-dock"
    assert ask(IT, SITE.door_of("server-room-cam"), local("2026-06-07", "03:00")).allowed


# --- DST in Chicago, 2026 ---------------------------------------------------------------------


def test_opening_hours_are_wall_time_in_both_seasons() -> None:
    # Friday before the spring change (CST, UTC-6) and Monday after it (CDT, UTC-5).
    assert not ask(STAFF, "front-door", utc("2026-03-06T12:59:59")).allowed
    assert ask(STAFF, "front-door", utc("2026-03-06T13:00:00")).allowed
    assert not ask(STAFF, "front-door", utc("2026-03-09T11:59:59")).allowed
    assert ask(STAFF, "front-door", utc("2026-03-09T12:00:00")).allowed
    # Friday before the autumn change (CDT) and Monday after it (CST).
    assert ask(STAFF, "front-door", utc("2026-10-30T12:00:00")).allowed
    assert not ask(STAFF, "front-door", utc("2026-11-02T12:00:00")).allowed
    assert ask(STAFF, "front-door", utc("2026-11-02T13:00:00")).allowed


def test_a_window_starting_in_the_spring_gap_opens_when_the_clocks_resume() -> None:
    night = {
        "effect": "GRANT",
        "doors": ["front-door"],
        "groups": ["staff"],
        "schedule": [{"days": ["sun"], "start": "02:30", "end": "04:00"}],
    }
    policy = with_rules(sunday_night=night)
    before = ask(STAFF, "front-door", utc("2026-03-08T07:59:59"), policy)  # 01:59:59 CST
    assert (before.allowed, before.local_time) == (False, "2026-03-08T01:59:59-06:00")
    resumed = ask(STAFF, "front-door", utc("2026-03-08T08:00:00"), policy)  # 03:00 CDT
    assert (resumed.allowed, resumed.local_time) == (True, "2026-03-08T03:00:00-05:00")
    assert ask(STAFF, "front-door", utc("2026-03-08T08:59:59"), policy).allowed  # 03:59:59
    assert not ask(STAFF, "front-door", utc("2026-03-08T09:00:00"), policy).allowed  # 04:00
    # A week later the same window opens at 02:30 as written.
    assert ask(STAFF, "front-door", local("2026-03-15", "02:30"), policy).allowed
    assert not ask(STAFF, "front-door", local("2026-03-15", "02:29:59"), policy).allowed


def test_the_repeated_autumn_hour_is_inside_a_window_both_times() -> None:
    early = {
        "effect": "GRANT",
        "doors": ["front-door"],
        "groups": ["staff"],
        "schedule": [{"days": ["sun"], "start": "01:00", "end": "02:00"}],
    }
    policy = with_rules(sunday_early=early)
    assert not ask(STAFF, "front-door", utc("2026-11-01T05:59:59"), policy).allowed  # 00:59:59 CDT
    first = ask(STAFF, "front-door", utc("2026-11-01T06:30:00"), policy)
    second = ask(STAFF, "front-door", utc("2026-11-01T07:30:00"), policy)
    assert (first.allowed, first.local_time) == (True, "2026-11-01T01:30:00-05:00")
    assert (second.allowed, second.local_time) == (True, "2026-11-01T01:30:00-06:00")
    assert ask(STAFF, "front-door", utc("2026-11-01T07:59:59"), policy).allowed  # 01:59:59 CST
    assert not ask(STAFF, "front-door", utc("2026-11-01T08:00:00"), policy).allowed  # 02:00 CST


def test_a_whole_day_window_covers_the_short_and_the_long_sunday() -> None:
    sunday = rule_body({"days": ["sun"], "start": "00:00", "end": "00:00"})
    policy = with_rules(sunday=sunday)
    # 8 March has 23 hours, 1 November 25: the window is the local day, however long.
    for day, monday, hours in (("2026-03-08", "2026-03-09", 23), ("2026-11-01", "2026-11-02", 25)):
        start, end = local(day, "00:00"), local(monday, "00:00")
        assert end - start == timedelta(hours=hours)
        assert ask(STAFF, "front-door", start, policy).allowed
        assert ask(STAFF, "front-door", end - timedelta(seconds=1), policy).allowed
        assert not ask(STAFF, "front-door", end, policy).allowed


def test_local_instant_refuses_a_time_the_spring_gap_skips() -> None:
    with pytest.raises(ValueError, match="does not exist"):
        local_instant(date(2026, 3, 8), time(2, 30), TIMEZONE)
    assert local_instant(date(2026, 3, 8), time(3, 0), TIMEZONE) == utc("2026-03-08T08:00:00")
    assert local_instant(date(2026, 3, 8), time(1, 59), TIMEZONE) == utc("2026-03-08T07:59:00")


def test_local_instant_takes_the_first_of_the_repeated_autumn_hour() -> None:
    # In UTC, so that it compares and subtracts as the instant it is: Python compares an
    # aware time in the repeated hour unequal to every instant of another zone (PEP 495) and
    # subtracts two times of one zone on the wall clock.
    assert local_instant(date(2026, 11, 1), time(1, 30), TIMEZONE) == utc("2026-11-01T06:30:00")
    assert local_instant(date(2026, 11, 1), time(2, 0), TIMEZONE) == utc("2026-11-01T08:00:00")


# --- windows past midnight and whole days -----------------------------------------------------


def night_shift(*days: str) -> AccessPolicy:
    window = {"days": list(days), "start": "22:00", "end": "06:00"}
    return with_rules(night=rule_body(window))


def rule_body(*windows: dict[str, Any]) -> dict[str, Any]:
    return {"effect": "GRANT", "doors": ["front-door"], "groups": ["staff"], "schedule": list(windows)}


def test_a_window_past_midnight_belongs_to_the_evening_it_starts() -> None:
    friday_night = night_shift("fri")  # 5 June 2026 is a Friday
    assert not ask(STAFF, "front-door", local("2026-06-05", "21:59:59"), friday_night).allowed
    assert ask(STAFF, "front-door", local("2026-06-05", "22:00"), friday_night).allowed
    assert ask(STAFF, "front-door", local("2026-06-05", "23:00"), friday_night).allowed
    assert ask(STAFF, "front-door", local("2026-06-06", "05:59"), friday_night).allowed
    assert not ask(STAFF, "front-door", local("2026-06-06", "06:00"), friday_night).allowed
    assert not ask(STAFF, "front-door", local("2026-06-06", "23:00"), friday_night).allowed  # Saturday


def test_monday_morning_is_sunday_nights_window() -> None:
    monday_early = local("2026-06-08", "05:00")
    assert not ask(STAFF, "front-door", monday_early, night_shift("fri")).allowed
    assert ask(STAFF, "front-door", monday_early, night_shift("fri", "sun")).allowed


def test_midnight_to_midnight_is_the_whole_day_and_only_that_day() -> None:
    saturday = with_rules(saturday=rule_body({"days": ["sat"], "start": "00:00", "end": "00:00"}))
    assert not ask(STAFF, "front-door", local("2026-06-05", "23:59:59"), saturday).allowed
    assert ask(STAFF, "front-door", local("2026-06-06", "00:00"), saturday).allowed
    assert ask(STAFF, "front-door", local("2026-06-06", "23:59:59"), saturday).allowed
    assert not ask(STAFF, "front-door", local("2026-06-07", "00:00"), saturday).allowed


def test_a_rule_from_json_without_a_schedule_is_always() -> None:
    rule = rule_from("always", {"effect": "GRANT", "doors": ["*"], "groups": ["*"]})
    policy = AccessPolicy(TIMEZONE, rules=(rule,))
    assert ask(("ANYONE", frozenset[str]()), "any-door", local("2026-03-08", "03:00"), policy).allowed
