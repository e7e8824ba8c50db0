"""``facegate doors|groups|rules|holidays|access``: the arguments as the API's JSON (no server),
then the issue's example site built with the CLI on the sandbox API and checked with it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from facegate_cli.__main__ import parser
from facegate_cli.commands.access import door_body, group_body
from facegate_cli.commands.rules import holiday_body, rule_body, rule_row
from facegate_cli.errors import UsageError
from tests.cli.conftest import RunCli, ServedSandbox

BUILT_IN = "everyone-everywhere-always"


def _args(*argv: str) -> argparse.Namespace:
    return parser().parse_args(list(argv))


def _json(run: tuple[int, str, str]) -> Any:
    code, out, err = run
    assert code == 0, err
    return json.loads(out)


def _ok(run: tuple[int, str, str]) -> str:
    code, out, err = run
    assert code == 0, out + err
    return out


# The arguments → the API's JSON, without a server.


def test_a_rule_with_every_option_is_the_apis_rule_json() -> None:
    args = _args(
        "rules", "set", "contractor-x", "--grant", "--door", "front-door", "lobby",
        "--employee", "CTR001", "--group", "visitors", "--schedule", "mon-fri 07:00-19:00",
        "--schedule", "sat 09:00-12:00", "--from", "2026-12-01", "--until", "2026-12-30",
        "--description", "Contractor X, until the 30th",
    )  # fmt: skip
    assert rule_body(args) == {
        "effect": "GRANT",
        "doors": ["front-door", "lobby"],
        "groups": ["visitors"],
        "employees": ["CTR001"],
        "schedule": [
            {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "07:00", "end": "19:00"},
            {"days": ["sat"], "start": "09:00", "end": "12:00"},
        ],
        "valid_from": "2026-12-01",
        "valid_until": "2026-12-30",
        "description": "Contractor X, until the 30th",
    }


def test_a_rule_without_a_schedule_or_dates_leaves_them_to_the_api_always() -> None:
    args = _args("rules", "set", "everyone", "--deny", "--door", "*", "--group", "*")
    assert rule_body(args) == {"effect": "DENY", "doors": ["*"], "groups": ["*"]}
    repeated = _args("rules", "set", "r", "--grant", "--door", "a", "--door", "b", "--employee", "E1", "E2")
    assert (rule_body(repeated)["doors"], rule_body(repeated)["employees"]) == (["a", "b"], ["E1", "E2"])


def test_a_rule_for_nobody_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--group"):
        rule_body(_args("rules", "set", "r", "--grant", "--door", "front-door"))


@pytest.mark.parametrize(
    "argv",
    [
        ["rules", "set", "r", "--door", "d", "--group", "g"],  # neither --grant nor --deny
        ["rules", "set", "r", "--grant", "--deny", "--door", "d", "--group", "g"],
        ["rules", "set", "r", "--grant", "--group", "g"],  # no --door
        ["rules", "set", "r", "--grant", "--door", "d", "--group", "g", "--schedule", "weekdays 07:00-19:00"],
        ["rules", "set", "r", "--grant", "--door", "d", "--group", "g", "--until", "30/12/2026"],
        ["rules", "set", "r", "--grant", "--door", "d"],  # nobody
        ["holidays", "set", "2026-12-25"],  # no --name
        ["holidays", "set", "25.12.2026", "--name", "Christmas"],
        ["holidays", "set", "2026-12-25", "--name", "Open day", "--open"],  # open to nobody
        ["holidays", "set", "2026-12-25", "--name", "x", "--group", "staff"],  # --group without --open
        ["holidays", "set", "2026-12-25", "--name", "x", "--open", "--group", "g", "--except-group", "h"],
        ["doors", "set", "server-room"],  # no --name
        ["groups", "add-member", "it"],  # nobody to add
        ["access", "check", "EMP001"],  # no --door
    ],
)
def test_usage_errors_exit_2_before_the_stage_is_looked_up(
    run_cli: RunCli, argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACEGATE_SANDBOX_STATE", str(tmp_path / "no-sandbox.json"))
    code, out, err = run_cli(*argv)
    assert (code, out) == (2, "")
    assert "stage 'sandbox'" not in err  # refused for the arguments, not for the missing stage


def test_the_schedule_error_names_the_shorthand(run_cli: RunCli) -> None:
    code, _, err = run_cli(
        "rules", "set", "r", "--grant", "--door", "d", "--group", "g", "--schedule", "mon-fri 7-19"
    )
    assert code == 2
    assert "argument --schedule: 'mon-fri 7-19': cannot read it; write DAYS HH:MM-HH:MM" in err


def test_holidays_close_every_door_by_default_and_open_only_to_their_groups() -> None:
    assert holiday_body(_args("holidays", "set", "2026-12-25", "--name", "Christmas Day")) == {
        "name": "Christmas Day",
        "effect": "CLOSE",
    }
    closed = _args("holidays", "set", "2026-12-25", "--name", "Christmas Day", "--except-group", "security")
    assert holiday_body(closed) == {"name": "Christmas Day", "effect": "CLOSE", "groups": ["security"]}
    opened = _args(
        "holidays", "set", "2026-11-28", "--name", "Open day", "--open", "--group", "staff", "--door", "lobby"
    )
    assert holiday_body(opened) == {
        "name": "Open day",
        "effect": "OPEN",
        "doors": ["lobby"],
        "groups": ["staff"],
    }


def test_doors_and_groups_are_sent_whole() -> None:
    assert door_body(_args("doors", "set", "lobby", "--name", "Lobby")) == {"name": "Lobby", "cameras": []}
    two = _args(
        "doors", "set", "front-door", "--name", "Front door", "--camera", "fd-in", "--camera", "fd-out"
    )
    assert door_body(two) == {"name": "Front door", "cameras": ["fd-in", "fd-out"]}
    assert group_body(_args("groups", "set", "it", "--name", "IT")) == {"name": "IT"}
    described = _args("groups", "set", "it", "--name", "IT", "--description", "the server people")
    assert group_body(described) == {"name": "IT", "description": "the server people"}


def test_a_rule_row_shows_the_schedule_as_it_was_typed() -> None:
    rule = {
        "rule_id": "staff-front-door",
        "effect": "GRANT",
        "doors": ["front-door"],
        "groups": ["staff"],
        "employees": [],
        "schedule": [{"days": ["mon", "tue", "wed", "thu", "fri"], "start": "07:00", "end": "19:00"}],
    }
    row = rule_row(rule)
    assert (row["doors"], row["groups"], row["employees"]) == ("front-door", "staff", "")
    assert row["schedule"] == "mon-fri 07:00-19:00"
    everywhere = {
        **rule,
        "doors": ["*"],
        "schedule": [
            {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "00:00"}
        ],
    }
    assert (rule_row(everywhere)["doors"], rule_row(everywhere)["schedule"]) == ("*", "always")


# The shared example site (tests/access_site.py, JSON as the API takes it), typed as CLI arguments.
SITE_AS_TYPED = {
    "staff-front-door": ["--grant", "--door", "front-door", "--group", "staff",
                         "--schedule", "mon-fri 07:00-19:00"],
    "it-server-room": ["--grant", "--door", "server-room", "--group", "it"],
    "contractor-x": ["--grant", "--door", "front-door", "--employee", "CON001", "--from", "2026-10-01",
                     "--until", "2026-10-30", "--description", "contractor X, the October refit"],
    "security-everywhere": ["--grant", "--door", "*", "--group", "security"],
}  # fmt: skip
HOLIDAYS_AS_TYPED = {
    "2026-11-26": ["--name", "Thanksgiving", "--except-group", "security"],
    "2026-12-25": ["--name", "Christmas Day", "--door", "*", "--except-group", "security"],
}


def test_the_shared_example_site_typed_at_the_cli_is_the_same_policy() -> None:
    from chalicelib.access.documents import door_from, group_from, holiday_from, rule_from
    from tests import access_site

    assert sorted(SITE_AS_TYPED) == sorted(access_site.RULES)
    for rule_id, argv in SITE_AS_TYPED.items():
        typed = rule_body(_args("rules", "set", rule_id, *argv))
        assert rule_from(rule_id, typed) == rule_from(rule_id, access_site.RULES[rule_id]), rule_id
    assert sorted(HOLIDAYS_AS_TYPED) == sorted(access_site.HOLIDAYS)
    for day, argv in HOLIDAYS_AS_TYPED.items():
        typed = holiday_body(_args("holidays", "set", day, *argv))
        assert holiday_from(day, typed) == holiday_from(day, access_site.HOLIDAYS[day]), day
    front = door_body(_args("doors", "set", "front-door", "--name", "Front door", "--camera", "front-door-in",
                            "front-door-out"))  # fmt: skip
    assert door_from("front-door", front) == door_from("front-door", access_site.DOORS["front-door"])
    it = group_body(_args("groups", "set", "it", "--name", "IT", "--description", "also the server room"))
    assert group_from("it", it) == group_from("it", access_site.GROUPS["it"])


# On the sandbox API, over HTTP.

# The example site of issue 15: staff through the front door 07:00-19:00 on weekdays; IT
# also the server room, always; contractor X the front door until the 30th; nobody on a
# public holiday but security (who may pass every door, always, so also then).
SITE = [
    ("employees", "add", "EMP001", "--name", "Avery Stone"),
    ("employees", "add", "EMP002", "--name", "Jordan Lee"),
    ("employees", "add", "EMP003", "--name", "Sam Rivera"),
    ("employees", "add", "CTR001", "--name", "Contractor X"),
    ("doors", "set", "front-door", "--name", "Front door", "--camera", "front-door-in", "front-door-out"),
    ("doors", "set", "server-room", "--name", "Server room", "--camera", "server-room-cam"),
    ("groups", "set", "staff", "--name", "Staff"),
    ("groups", "set", "it", "--name", "IT", "--description", "the server room's keepers"),
    ("groups", "set", "security", "--name", "Security"),
    ("groups", "add-member", "staff", "EMP001", "EMP002", "EMP003"),
    ("groups", "add-member", "it", "EMP002"),
    ("groups", "add-member", "security", "EMP003"),
    ("rules", "set", "staff-front-door", "--grant", "--door", "front-door", "--group", "staff",
     "--schedule", "mon-fri 07:00-19:00"),
    ("rules", "set", "it-server-room", "--grant", "--door", "server-room", "--group", "it"),
    ("rules", "set", "contractor-x", "--grant", "--door", "front-door", "--employee", "CTR001",
     "--until", "2026-12-30", "--description", "Contractor X, until the 30th"),
    ("rules", "set", "security-everywhere", "--grant", "--door", "*", "--group", "security"),
    ("holidays", "set", "2026-12-25", "--name", "Christmas Day", "--except-group", "security"),
    ("rules", "remove", BUILT_IN),
]  # fmt: skip

FD, SR = "front-door", "server-room"
# (employee, door or camera, local time) → (verdict, rule, holiday, the door it is); GRANTED is allowed
CHECKS = [
    ("EMP001", FD, "2026-03-02T08:00", ("GRANTED", "staff-front-door", None, FD)),  # a Monday
    ("EMP001", "front-door-out", "2026-03-02T18:59", ("GRANTED", "staff-front-door", None, FD)),
    ("EMP001", FD, "2026-03-02T19:30", ("OUTSIDE_SCHEDULE", "staff-front-door", None, FD)),
    ("EMP001", FD, "2026-03-07T10:00", ("OUTSIDE_SCHEDULE", "staff-front-door", None, FD)),  # Saturday
    ("EMP001", SR, "2026-03-02T08:00", ("NO_ACCESS_RULE", None, None, SR)),
    ("EMP002", "server-room-cam", "2026-03-08T03:00", ("GRANTED", "it-server-room", None, SR)),
    ("CTR001", FD, "2026-12-30T23:00", ("GRANTED", "contractor-x", None, FD)),  # until the 30th, inclusive
    ("CTR001", FD, "2026-12-31T09:00", ("PASS_EXPIRED", "contractor-x", None, FD)),
    ("EMP001", FD, "2026-12-25T10:00", ("HOLIDAY_CLOSED", None, "2026-12-25", FD)),
    ("EMP002", SR, "2026-12-25T10:00", ("HOLIDAY_CLOSED", None, "2026-12-25", SR)),
    ("EMP003", SR, "2026-12-25T10:00", ("GRANTED", "security-everywhere", None, SR)),
]


def test_the_example_site_built_with_the_cli_answers_access_checks(
    logged_in: ServedSandbox, run_cli: RunCli
) -> None:
    before = _json(run_cli("--json", "rules", "list"))
    assert [rule["rule_id"] for rule in before] == [BUILT_IN]  # nothing configured: as before
    for command in SITE:
        _ok(run_cli(*command))

    for employee, door, at, expected in CHECKS:
        answer = _json(run_cli("--json", "access", "check", employee, "--door", door, "--at", at))
        assert (answer["verdict"], answer["rule_id"], answer["holiday"], answer["door_id"]) == expected, at
        assert answer["allowed"] is (expected[0] == "GRANTED")
        assert answer["employee_id"] == employee
        assert answer["local_time"].startswith(at)

    code, out, err = run_cli("access", "check", "EMP001", "--door", "front-door", "--at", "2026-03-02T19:30")
    assert (code, err) == (0, "")  # denied is an answer, not a failure
    header, row = out.strip().split("\n")
    assert header.split() == [
        "EMPLOYEE_ID",
        "DOOR_ID",
        "ACCESS",
        "VERDICT",
        "RULE_ID",
        "HOLIDAY",
        "LOCAL_TIME",
        "REASON",
    ]
    assert row.split()[:7] == [
        "EMP001", FD, "denied", "OUTSIDE_SCHEDULE", "staff-front-door", "-", "2026-03-02T19:30:00-06:00"
    ]  # fmt: skip
    out = _ok(
        run_cli("access", "check", "EMP003", "--door", "server-room", "--at", "2026-12-25T10:00:00-06:00")
    )
    assert out.split("\n")[1].split()[2:5] == ["allowed", "GRANTED", "security-everywhere"]


def test_the_example_sites_listings(logged_in: ServedSandbox, run_cli: RunCli) -> None:
    for command in SITE:
        _ok(run_cli(*command))
    out = _ok(run_cli("doors", "list"))
    assert [line.split() for line in out.strip().split("\n")] == [
        ["DOOR_ID", "NAME", "CAMERAS"],
        ["front-door", "Front", "door", "front-door-in,front-door-out"],
        ["server-room", "Server", "room", "server-room-cam"],
    ]
    assert _json(run_cli("--json", "doors", "show", "server-room")) == {
        "door_id": "server-room",
        "name": "Server room",
        "cameras": ["server-room-cam"],
    }
    rules = {line.split()[0]: line for line in _ok(run_cli("rules", "list")).strip().split("\n")[1:]}
    assert sorted(rules) == ["contractor-x", "it-server-room", "security-everywhere", "staff-front-door"]
    assert "mon-fri 07:00-19:00" in rules["staff-front-door"]
    assert rules["security-everywhere"].split()[:5] == ["security-everywhere", "GRANT", "*", "security", "-"]
    contractor = _json(run_cli("--json", "rules", "show", "contractor-x"))
    assert (contractor["employees"], contractor["valid_from"], contractor["valid_until"]) == (
        ["CTR001"], None, "2026-12-30"
    )  # fmt: skip
    assert _json(run_cli("--json", "groups", "show", "staff"))["members"] == ["EMP001", "EMP002", "EMP003"]
    out = _ok(run_cli("groups", "show", "it"))
    assert out.split("\n")[1].split() == ["it", "IT", "the", "server", "room's", "keepers"]
    assert "members: 1\nEMPLOYEE_ID\nEMP002\n" in out
    assert [group["group_id"] for group in _json(run_cli("--json", "groups", "list"))] == [
        "it",
        "security",
        "staff",
    ]
    assert _ok(run_cli("holidays", "list")).split("\n")[1].split() == [
        "2026-12-25", "Christmas", "Day", "CLOSE", "*", "security"
    ]  # fmt: skip


def test_changes_and_refusals(logged_in: ServedSandbox, run_cli: RunCli) -> None:
    for command in SITE:
        _ok(run_cli(*command))
    code, _, err = run_cli("groups", "remove", "it")  # EMP002 is in it, and a rule names it
    assert code == 1 and err.startswith("facegate: the API answered 409: ")
    code, _, err = run_cli("doors", "set", "lobby", "--name", "Lobby", "--camera", "server-room-cam")
    assert code == 1 and "409" in err  # the camera is on the server room's door
    code, out, err = run_cli("groups", "add-member", "it", "NOBODY", "EMP001")
    assert code == 1 and "facegate: NOBODY: the API answered 404: " in err
    assert out.split("\n")[1].split() == ["it", "EMP001", "yes"]  # the others are still added
    assert _json(run_cli("--json", "groups", "remove-member", "it", "EMP001", "EMP002")) == [
        {"group_id": "it", "employee_id": "EMP001", "member": False},
        {"group_id": "it", "employee_id": "EMP002", "member": False},
    ]
    assert _ok(run_cli("rules", "remove", "it-server-room")) == "removed rule it-server-room\n"
    assert _ok(run_cli("groups", "remove", "it")) == "removed group it\n"
    assert _json(run_cli("--json", "holidays", "remove", "2026-12-25")) == {
        "day": "2026-12-25",
        "removed": True,
    }
    assert _json(run_cli("--json", "holidays", "list")) == []
    assert _ok(run_cli("doors", "remove", "server-room")) == "removed door server-room\n"
    code, out, err = run_cli("doors", "show", "server-room")
    assert (code, out) == (1, "") and "404" in err
    answer = _json(
        run_cli(
            "--json", "access", "check", "EMP002", "--door", "server-room-cam", "--at", "2026-03-02T08:00"
        )
    )
    assert (answer["door_id"], answer["verdict"]) == ("server-room-cam", "NO_ACCESS_RULE")  # its own door now

    assert run_cli("access", "check", "NOBODY", "--door", "front-door")[0] == 1  # unknown employee: 404
    assert (
        run_cli("access", "check", "EMP001", "--door", "front-door", "--at", "soon")[0] == 1
    )  # the API's 400
    code, _, err = run_cli("rules", "set", "bad", "--grant", "--door", "no such door!", "--group", "staff")
    assert code == 1 and "400" in err  # the API validates what the CLI passes on
    code, _, err = run_cli("rules", "set", "ghost-hours", "--grant", "--door", "*", "--group", "ghosts")
    assert code == 1 and "409" in err and "group ghosts" in err and "allow_unknown" in err
    code, _, err = run_cli("holidays", "set", "2026-10-31", "--name", "Ghosts", "--except-group", "ghosts")
    assert code == 1 and "409" in err
    allowed = ("--json", "rules", "set", "ghost-hours", "--grant", "--door", "*", "--group", "ghosts")
    assert _json(run_cli(*allowed, "--allow-unknown"))["groups"] == ["ghosts"]
    holiday = ("holidays", "set", "2026-10-31", "--name", "Ghosts", "--except-group", "ghosts")
    assert _ok(run_cli(*holiday, "--allow-unknown"))
