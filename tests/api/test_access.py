"""The access routes over Chalice's HTTP stack: doors, groups and members, rules, holidays, and
GET /employees/{id}/access, with issue 15's example site built over HTTP and queried.

The sandbox's site is in America/Chicago: 2026-03-10 is a Tuesday (CDT, UTC−5), the clocks
skipped 02:00–03:00 on 2026-03-08.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api

BUILT_IN = "everyone-everywhere-always"
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]


def access(api: Api, employee_id: str, door: str, at: str | None = None, token: str = "admins") -> Any:
    query = f"door={door}" + ("" if at is None else f"&at={at}")
    reply = api.call("GET", f"/employees/{employee_id}/access?{query}", token=token)
    assert reply.status == 200, reply.json
    return reply.json


def put(api: Api, path: str, body: dict[str, Any]) -> Any:
    reply = api.call("PUT", path, body)
    assert reply.status == 200, (path, reply.json)
    return reply.json


# --- the issue's example site --------------------------------------------------------------------


def build_example_site(api: Api) -> None:
    """Staff: the front door 07:00–19:00 on weekdays; IT: also the server room, always;
    contractor X: the front door until the 30th; nobody on a public holiday but security."""
    put(api, "/doors/front", {"name": "Front door", "cameras": ["front-door-in", "front-door-out"]})
    put(api, "/doors/server-room", {"name": "Server room", "cameras": ["server-cam"]})
    for group in ("staff", "it", "security"):
        put(api, f"/access-groups/{group}", {"name": group.title()})
    for employee_id, groups in (
        ("EMP001", ["staff"]),
        ("EMP002", ["staff", "it"]),
        ("EMP003", ["security"]),
        ("CON001", []),
    ):
        assert api.create(employee_id).status == 201
        for group in groups:
            put(api, f"/access-groups/{group}/members/{employee_id}", {})
    assert api.call("DELETE", f"/access-rules/{BUILT_IN}").status == 204
    put(
        api,
        "/access-rules/staff-hours",
        {
            "effect": "GRANT",
            "doors": ["front"],
            "groups": ["staff"],
            "schedule": [{"days": WEEKDAYS, "start": "07:00", "end": "19:00"}],
        },
    )
    put(api, "/access-rules/it-server-room", {"effect": "GRANT", "doors": ["server-room"], "groups": ["it"]})
    put(api, "/access-rules/security-always", {"effect": "GRANT", "doors": ["*"], "groups": ["security"]})
    put(
        api,
        "/access-rules/contractor-x",
        {"effect": "GRANT", "doors": ["front"], "employees": ["CON001"], "valid_until": "2026-03-30"},
    )
    put(api, "/holidays/2026-05-25", {"name": "Memorial Day", "effect": "CLOSE", "groups": ["security"]})


def test_the_example_site_answers_as_the_issue_says(api: Api) -> None:
    build_example_site(api)
    morning = access(api, "EMP001", "front-door-in", "2026-03-10T08:00")  # a camera names its door
    assert morning["allowed"] and (morning["verdict"], morning["rule_id"]) == ("GRANTED", "staff-hours")
    assert (morning["door_id"], morning["at"]) == ("front", "2026-03-10T13:00:00Z")
    assert morning["local_time"] == "2026-03-10T08:00:00-05:00"
    evening = access(api, "EMP001", "front", "2026-03-10T20:00")
    assert (evening["allowed"], evening["verdict"]) == (False, "OUTSIDE_SCHEDULE")
    sunday_night = access(api, "EMP002", "server-room", "2026-03-15T03:00")
    assert sunday_night["allowed"] and sunday_night["rule_id"] == "it-server-room"
    assert access(api, "EMP001", "server-cam", "2026-03-15T03:00")["verdict"] == "NO_ACCESS_RULE"
    assert access(api, "CON001", "front", "2026-03-30T23:59")["allowed"]  # until the 30th: inclusive
    expired = access(api, "CON001", "front", "2026-03-31T09:00")
    assert (expired["allowed"], expired["verdict"], expired["rule_id"]) == (
        False,
        "PASS_EXPIRED",
        "contractor-x",
    )
    closed = access(api, "EMP001", "front", "2026-05-25T10:00")  # a Monday, in staff hours
    assert (closed["allowed"], closed["verdict"], closed["holiday"]) == (
        False,
        "HOLIDAY_CLOSED",
        "2026-05-25",
    )
    guard = access(api, "EMP003", "front", "2026-05-25T10:00", token="security")
    assert guard["allowed"] and guard["rule_id"] == "security-always"


# --- at, door and who may ask --------------------------------------------------------------------


def test_at_takes_an_offset_z_or_the_sites_wall_time(api: Api) -> None:
    api.create("EMP001")
    for at, utc in (
        ("2026-03-10T08:00", "2026-03-10T13:00:00Z"),
        ("2026-03-10T08:00:00Z", "2026-03-10T08:00:00Z"),
        ("2026-03-10T08:00:00-05:00", "2026-03-10T13:00:00Z"),
        ("2026-03-10T08:00:00%2B01:00", "2026-03-10T07:00:00Z"),
        ("2026-03-10T08:00:00+01:00", "2026-03-10T07:00:00Z"),  # an unencoded + arrives as a space
        ("2026-11-01T01:30", "2026-11-01T06:30:00Z"),  # the repeated hour: its first time (CDT)
    ):
        assert access(api, "EMP001", "front", at)["at"] == utc, at
    now = access(api, "EMP001", "front")
    assert now["at"].endswith("Z") and now["allowed"] and now["rule_id"] == BUILT_IN


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("door=front&at=2026-03-08T02:30", "does not exist in America/Chicago"),  # the spring gap
        ("door=front&at=tomorrow", "at must be an ISO-8601 time"),
        ("door=front&at=2026-02-30T08:00", "at must be an ISO-8601 time"),
        ("door=front&at=2026-03-10T08:00:00%2B25:00", "at must be an ISO-8601 time"),
        ("door=front&at=0001-01-01T00:00Z", "at must be in the years"),
        ("door=front&at=20260310T0800", "at must be an ISO-8601 time"),
        ("at=2026-03-10T08:00", "door is required"),
        ("door=../etc", "door: door id must be"),
        ("door=*", "door: door id must be"),
    ],
)
def test_a_bad_at_or_door_is_400(api: Api, query: str, message: str) -> None:
    api.create("EMP001")
    reply = api.call("GET", f"/employees/EMP001/access?{query}")
    assert reply.status == 400 and message in reply.json["message"], reply.json


def test_an_unknown_employee_is_404_and_a_suspended_one_is_suspended(api: Api) -> None:
    assert api.call("GET", "/employees/GHOST/access?door=front").status == 404
    api.create("EMP001")
    assert api.call("PATCH", "/employees/EMP001", {"active": False}).status == 200
    answer = access(api, "EMP001", "front", "2026-03-10T08:00")
    assert (answer["allowed"], answer["verdict"], answer["rule_id"]) == (False, "SUSPENDED", None)


def test_security_may_ask_but_not_manage(api: Api) -> None:
    api.create("EMP001")
    assert access(api, "EMP001", "front", token="security")["allowed"]
    rule = {"effect": "GRANT", "doors": ["*"], "groups": ["*"]}
    for method, path, body in (
        ("PUT", "/access-rules/mine", rule),
        ("DELETE", f"/access-rules/{BUILT_IN}", None),
        ("GET", "/access-rules", None),
        ("PUT", "/doors/front", {"name": "Front"}),
        ("GET", "/doors", None),
        ("PUT", "/access-groups/staff", {"name": "Staff"}),
        ("PUT", "/access-groups/staff/members/EMP001", None),
        ("PUT", "/holidays/2026-12-25", {"name": "Christmas"}),
        ("GET", "/holidays", None),
    ):
        assert api.call(method, path, body, token="security").status == 403, (method, path)
    assert api.call("GET", "/access-rules").json["rules"][0]["rule_id"] == BUILT_IN  # unchanged
    assert api.call("GET", "/employees/EMP001/access?door=front", token=None).status == 401


def test_a_rule_change_is_seen_by_the_next_question(api: Api) -> None:
    api.create("EMP001")
    assert access(api, "EMP001", "front", "2026-03-10T08:00")["allowed"]
    put(api, "/access-rules/lockdown", {"effect": "DENY", "doors": ["front"], "employees": ["EMP001"]})
    denied = access(api, "EMP001", "front", "2026-03-10T08:00")
    assert (denied["allowed"], denied["verdict"], denied["rule_id"]) == (False, "DENY_RULE", "lockdown")
    assert access(api, "EMP001", "back", "2026-03-10T08:00")["allowed"]  # another door: the built-in
    assert api.call("DELETE", "/access-rules/lockdown").status == 204
    assert access(api, "EMP001", "front", "2026-03-10T08:00")["allowed"]


# --- each resource: happy path and refusals -----------------------------------------------------


def test_rules_list_the_built_in_one_until_it_is_removed(api: Api) -> None:
    pristine = api.call("GET", "/access-rules").json
    assert pristine["version"] == "" and [rule["rule_id"] for rule in pristine["rules"]] == [BUILT_IN]
    assert api.call("GET", f"/access-rules/{BUILT_IN}").json["groups"] == ["*"]
    put(api, "/doors/front", {"name": "Front door"})  # the first change stores the built-in rule
    stored = api.call("GET", "/access-rules").json
    assert stored["version"] != "" and [rule["rule_id"] for rule in stored["rules"]] == [BUILT_IN]
    night = {
        "effect": "DENY",
        "doors": ["*"],
        "groups": ["*"],
        "schedule": [{"days": ["sat", "sun"], "start": "22:00", "end": "06:00"}],
        "description": "nobody on weekend nights",
    }
    shown = put(api, "/access-rules/weekend-nights", night)
    assert shown == {
        **night,
        "rule_id": "weekend-nights",
        "employees": [],
        "valid_from": None,
        "valid_until": None,
    }
    assert api.call("GET", "/access-rules/weekend-nights").json == shown
    assert [rule["rule_id"] for rule in api.call("GET", "/access-rules").json["rules"]] == [
        BUILT_IN,
        "weekend-nights",
    ]
    assert api.call("DELETE", f"/access-rules/{BUILT_IN}").status == 204
    assert api.call("GET", f"/access-rules/{BUILT_IN}").status == 404
    assert api.call("DELETE", f"/access-rules/{BUILT_IN}").status == 404


def test_removing_the_built_in_rule_first_shuts_every_door(api: Api) -> None:
    api.create("EMP001")
    assert api.call("DELETE", f"/access-rules/{BUILT_IN}").status == 204  # the first change
    after = api.call("GET", "/access-rules").json
    assert after["rules"] == [] and after["version"] != ""
    shut = access(api, "EMP001", "front", "2026-03-10T08:00")
    assert (shut["allowed"], shut["verdict"], shut["rule_id"]) == (False, "NO_ACCESS_RULE", None)


def test_doors_and_their_cameras(api: Api) -> None:
    assert api.call("GET", "/doors").json == {"doors": []}
    front = put(api, "/doors/front", {"name": "Front door", "cameras": ["front-door-out", "front-door-in"]})
    assert front == {"door_id": "front", "name": "Front door", "cameras": ["front-door-in", "front-door-out"]}
    assert api.call("GET", "/doors/front").json == front
    taken = api.call("PUT", "/doors/side", {"name": "Side", "cameras": ["front-door-in"]})
    assert taken.status == 409 and "camera front-door-in is on door front" in taken.json["message"]
    assert api.call("GET", "/doors/side").status == 404
    put(api, "/doors/front", {"door_id": "front", "name": "Front", "cameras": ["front-door-in"]})
    put(api, "/doors/side", {"name": "Side", "cameras": ["front-door-out"]})  # released: now free
    assert [door["door_id"] for door in api.call("GET", "/doors").json["doors"]] == ["front", "side"]
    assert api.call("DELETE", "/doors/side").status == 204
    assert api.call("DELETE", "/doors/side").status == 404
    assert api.call("GET", "/doors/side").status == 404


def test_groups_and_members(api: Api) -> None:
    api.create("EMP001")
    assert api.call("PUT", "/access-groups/staff/members/EMP001").status == 404  # no such group
    assert put(api, "/access-groups/staff", {"name": "Staff", "description": "everyone on payroll"}) == {
        "group_id": "staff",
        "name": "Staff",
        "description": "everyone on payroll",
    }
    assert api.call("PUT", "/access-groups/staff/members/GHOST").status == 404
    joined = api.call("PUT", "/access-groups/staff/members/EMP001")
    assert (joined.status, joined.json) == (
        200,
        {"group_id": "staff", "employee_id": "EMP001", "member": True},
    )
    assert api.call("GET", "/access-groups/staff").json["members"] == ["EMP001"]
    assert api.call("GET", "/employees/EMP001").json["groups"] == ["staff"]
    in_use = api.call("DELETE", "/access-groups/staff")
    assert in_use.status == 409 and "EMP001" in in_use.json["message"]
    assert api.call("DELETE", "/access-groups/staff/members/EMP001").status == 204
    assert api.call("DELETE", "/access-groups/staff/members/EMP001").status == 404
    put(api, "/access-rules/staff", {"effect": "GRANT", "doors": ["*"], "groups": ["staff"]})
    named = api.call("DELETE", "/access-groups/staff")
    assert named.status == 409 and "rule(s): staff" in named.json["message"]
    assert api.call("DELETE", "/access-rules/staff").status == 204
    assert api.call("DELETE", "/access-groups/staff").status == 204
    assert api.call("GET", "/access-groups").json == {"groups": []}
    assert api.call("GET", "/access-groups/staff").status == 404
    assert api.call("DELETE", "/access-groups/staff").status == 404


def test_holidays(api: Api) -> None:
    put(api, "/access-groups/security", {"name": "Security"})
    christmas = put(api, "/holidays/2026-12-25", {"name": "Christmas", "groups": ["security"]})
    assert christmas == {
        "day": "2026-12-25",
        "name": "Christmas",
        "effect": "CLOSE",
        "doors": ["*"],
        "groups": ["security"],
    }
    assert api.call("GET", "/holidays").json == {"holidays": [christmas]}
    assert api.call("PUT", "/holidays/2026-12-26", {"name": "Open day", "effect": "OPEN"}).status == 400
    assert api.call("DELETE", "/holidays/2026-12-25").status == 204
    assert api.call("DELETE", "/holidays/2026-12-25").status == 404
    assert api.call("PUT", "/holidays/2026-02-30", {"name": "Never"}).status == 400


def test_every_change_is_audited_with_its_actor(api: Api) -> None:
    put(api, "/doors/front", {"name": "Front door"})
    put(api, "/access-groups/staff", {"name": "Staff"})
    api.create("EMP001")
    put(api, "/access-groups/staff/members/EMP001", {})
    audit = api.stack.session.client("dynamodb").scan(TableName=api.stack.settings.audit_table)["Items"]
    entries = {(item["target"]["S"], item["action"]["S"]) for item in audit}
    assert {
        ("access/door/front", "access.door.put"),
        ("access/group/staff", "access.group.put"),
        ("EMP001", "access.member.add"),
    } <= entries
    [door] = [item for item in audit if item["action"]["S"] == "access.door.put"]
    assert door["details"]["M"]["default_rule_stored"] == {"BOOL": True}
    assert all(item["actor"]["S"] for item in audit)


def test_a_rule_or_holiday_naming_an_unknown_group_is_409_unless_allow_unknown(api: Api) -> None:
    rule = {"effect": "GRANT", "doors": ["*"], "groups": ["ghosts"], "employees": ["EMP404"]}
    refused = api.call("PUT", "/access-rules/ghost-hours", rule)
    assert refused.status == 409, refused.json
    assert (refused.json["unknown_groups"], refused.json["unknown_employees"]) == (["ghosts"], ["EMP404"])
    assert api.call("GET", "/access-rules/ghost-hours").status == 404
    for flag in ("yes", "1", "True", ""):
        assert api.call("PUT", f"/access-rules/ghost-hours?allow_unknown={flag}", rule).status == 400
    assert api.call("PUT", "/access-rules/ghost-hours?allow_unknown=false", rule).status == 409
    assert api.call("PUT", "/access-rules/ghost-hours?allow_unknown=true", rule).status == 200
    holiday = {"name": "Ghost day", "groups": ["ghosts"]}
    assert api.call("PUT", "/holidays/2026-10-31", holiday).status == 409
    assert api.call("PUT", "/holidays/2026-10-31?allow_unknown=true", holiday).status == 200
