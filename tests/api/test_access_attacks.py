"""An outside attacker's findings on the access routes: each test failed on the code it was
written against (the comment above it says what was wrong).

The sandbox's site is in America/Chicago.
"""

from __future__ import annotations

import urllib.parse

import pytest

from tests.api.conftest import Api

RULE = {"effect": "GRANT", "doors": ["*"], "groups": ["*"]}
# Where each access document carries free text, and a body around it.
TEXT_FIELDS = [
    ("/doors/front", {}, "name"),
    ("/access-groups/staff", {"name": "Staff"}, "description"),
    ("/access-groups/staff", {}, "name"),
    ("/access-rules/r1", RULE, "description"),
    ("/holidays/2026-12-25", {}, "name"),
]


def nothing_stored(api: Api) -> bool:
    return bool(api.call("GET", "/access-rules").json["version"] == "")


# Was a 500: a lone surrogate passed the document checks and failed in DynamoDB's write.
@pytest.mark.parametrize(("path", "body", "field"), TEXT_FIELDS)
def test_a_lone_surrogate_in_free_text_is_400(
    api: Api, path: str, body: dict[str, object], field: str
) -> None:
    reply = api.call("PUT", path, {**body, field: "A\ud800B"})  # json.dumps sends \ud800
    assert reply.status == 400, reply.json
    assert field in reply.json["message"]
    assert nothing_stored(api)


# Was stored: NUL, BEL and a bidi override in names and descriptions (employee names refuse them).
@pytest.mark.parametrize("hidden", ["\u0000", "\u0007", "\u202e", "\n"])
@pytest.mark.parametrize(("path", "body", "field"), TEXT_FIELDS)
def test_control_characters_in_free_text_are_400(
    api: Api, path: str, body: dict[str, object], field: str, hidden: str
) -> None:
    reply = api.call("PUT", path, {**body, field: f"Front{hidden}door"})
    assert reply.status == 400, reply.json
    assert field in reply.json["message"]
    assert nothing_stored(api)


# Was stored under 2026-12-25: the path's day was read by date.fromisoformat (ISO week dates).
@pytest.mark.parametrize("day", ["2026-W52-5", "2026-359"])
def test_a_holiday_day_in_another_notation_is_400(api: Api, day: str) -> None:
    reply = api.call("PUT", f"/holidays/{day}", {"name": "Christmas"})
    assert reply.status == 400, reply.json
    assert nothing_stored(api)
    assert api.call("DELETE", f"/holidays/{day}").status == 400


# Was answered as +01:00: an offset of 60 minutes is no offset.
@pytest.mark.parametrize("at", ["2026-03-10T08:00+00:60", "2026-03-10T08:00-05:99", "2026-03-10T08:00+24:00"])
def test_an_offset_out_of_range_is_400(api: Api, at: str) -> None:
    assert api.create("E1").status == 201
    reply = api.call("GET", f"/employees/E1/access?door=front&at={urllib.parse.quote(at)}")
    assert reply.status == 400 and "at must be" in reply.json["message"], reply.json


# Was accepted: a camera named like another door, after which ?door=front answered for "lobby".
def test_a_camera_named_like_another_door_is_409(api: Api) -> None:
    assert api.call("PUT", "/doors/front", {"name": "Front", "cameras": ["front-door-in"]}).status == 200
    reply = api.call("PUT", "/doors/lobby", {"name": "Lobby", "cameras": ["front"]})
    assert reply.status == 409, reply.json
    assert [door["door_id"] for door in api.call("GET", "/doors").json["doors"]] == ["front"]


# Was accepted: a door named like another door's camera (the camera keeps judging as "front").
def test_a_door_named_like_another_doors_camera_is_409(api: Api) -> None:
    assert api.call("PUT", "/doors/front", {"name": "Front", "cameras": ["front-door-in"]}).status == 200
    reply = api.call("PUT", "/doors/front-door-in", {"name": "Front, inside"})
    assert reply.status == 409, reply.json


# Opened the door: a DENY naming a camera that is on a door never applies (the scan is judged
# as the door), so a wildcard grant lets the denied contractor in. Refuse it or enforce it.
def test_a_deny_rule_naming_a_camera_of_a_door_is_refused_or_enforced(api: Api) -> None:
    assert api.create("CON001").status == 201
    assert api.call("PUT", "/doors/front", {"name": "Front", "cameras": ["front-door-in"]}).status == 200
    deny = {"effect": "DENY", "doors": ["front-door-in"], "employees": ["CON001"]}
    if api.call("PUT", "/access-rules/no-contractor", deny).status == 200:
        answer = api.call("GET", "/employees/CON001/access?door=front-door-in").json
        assert (answer["allowed"], answer["verdict"]) == (False, "DENY_RULE"), answer


# Same hole the other way round: the camera was its own door when the deny was written, then
# an admin put it on a door, and the deny silently stopped applying.
def test_putting_a_denied_camera_on_a_door_is_refused_or_the_deny_still_holds(api: Api) -> None:
    assert api.create("CON001").status == 201
    deny = {"effect": "DENY", "doors": ["garage-cam"], "employees": ["CON001"]}
    assert api.call("PUT", "/access-rules/no-contractor", deny).status == 200
    if api.call("PUT", "/doors/garage", {"name": "Garage", "cameras": ["garage-cam"]}).status == 200:
        answer = api.call("GET", "/employees/CON001/access?door=garage-cam").json
        assert (answer["allowed"], answer["verdict"]) == (False, "DENY_RULE"), answer


# Opened the door on a closing holiday: a holiday naming a camera of a door never closes it.
def test_a_closing_holiday_naming_a_camera_of_a_door_is_refused_or_enforced(api: Api) -> None:
    assert api.create("E1").status == 201
    assert api.call("PUT", "/doors/front", {"name": "Front", "cameras": ["front-door-in"]}).status == 200
    if (
        api.call("PUT", "/holidays/2026-12-25", {"name": "Christmas", "doors": ["front-door-in"]}).status
        == 200
    ):
        answer = api.call("GET", "/employees/E1/access?door=front-door-in&at=2026-12-25T10:00").json
        assert (answer["allowed"], answer["verdict"]) == (False, "HOLIDAY_CLOSED"), answer


# Was 409 ("rule lobby-hours names camera lobby, on door lobby: name the door"): a camera that
# was its own door, given a second camera under its own id, refused the rules naming it, and
# any rule naming such a door afterwards. A door listing its own id is no ambiguity.
def test_a_door_may_keep_its_own_id_among_its_cameras(api: Api) -> None:
    assert api.create("E1").status == 201
    lobby_hours = {"effect": "GRANT", "doors": ["lobby"], "groups": ["*"]}
    assert api.call("PUT", "/access-rules/lobby-hours", lobby_hours).status == 200
    assert api.call("DELETE", "/access-rules/everyone-everywhere-always").status == 204
    reply = api.call("PUT", "/doors/lobby", {"name": "Lobby", "cameras": ["lobby", "lobby-2"]})
    assert reply.status == 200, reply.json
    answer = api.call("GET", "/employees/E1/access?door=lobby-2").json
    assert (answer["allowed"], answer["door_id"], answer["rule_id"]) == (True, "lobby", "lobby-hours"), answer
    deny = {"effect": "DENY", "doors": ["lobby"], "employees": ["E1"]}
    assert api.call("PUT", "/access-rules/no-e1", deny).status == 200
    holiday = {"name": "Christmas", "doors": ["lobby"]}
    assert api.call("PUT", "/holidays/2026-12-25", holiday).status == 200
