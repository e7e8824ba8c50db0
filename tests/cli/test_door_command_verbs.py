"""``facegate doors unlock|lockdown|release|status``: the arguments as the API's JSON (no server),
then the verbs on the sandbox API over HTTP, the commands landing on the door's queue."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from door.commands import message_kind
from facegate_cli.__main__ import parser
from facegate_cli.commands.access import unlock_body
from sandbox.door import door_queue
from tests.cli.conftest import RunCli, ServedSandbox

DOOR = "front-door"


def _args(*argv: str) -> argparse.Namespace:
    return parser().parse_args(list(argv))


def _json(run: tuple[int, str, str]) -> Any:
    code, out, err = run
    assert code == 0, err
    return json.loads(out)


def test_an_unlock_sends_the_reason_and_the_seconds_only_when_given() -> None:
    assert unlock_body(_args("doors", "unlock", DOOR, "--reason", "courier")) == {"reason": "courier"}
    given = _args("doors", "unlock", DOOR, "--reason", "courier", "--seconds", "12")
    assert unlock_body(given) == {"reason": "courier", "seconds": 12}


@pytest.mark.parametrize(
    "argv",
    [
        ["doors", "unlock", DOOR],  # no --reason
        ["doors", "unlock", "--reason", "courier"],  # no door
        ["doors", "unlock", DOOR, "--reason", "courier", "--seconds", "five"],
        ["doors", "unlock", DOOR, "--reason", "courier", "--seconds", "2.5"],
        ["doors", "lockdown", DOOR],
        ["doors", "release", DOOR],
        ["doors", "status"],
    ],
)
def test_usage_errors_exit_2_before_the_stage_is_looked_up(
    run_cli: RunCli, argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACEGATE_SANDBOX_STATE", str(tmp_path / "no-sandbox.json"))
    code, out, err = run_cli(*argv)
    assert (code, out) == (2, "")
    assert "stage 'sandbox'" not in err


def _commands(served: ServedSandbox) -> list[dict[str, Any]]:
    sqs, url = served.stack.session.client("sqs"), door_queue(served.stack, DOOR)
    found = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            if message_kind(message["Body"]) == "command":
                found.append(json.loads(message["Body"])["command"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_unlock_lockdown_status_and_release_on_the_sandbox(logged_in: ServedSandbox, run_cli: RunCli) -> None:
    unlocked = _json(
        run_cli("--json", "doors", "unlock", DOOR, "--reason", "courier at the desk", "--seconds", "9")
    )
    assert (unlocked["door_id"], unlocked["action"], len(unlocked["command_id"])) == (DOOR, "unlock", 32)

    code, out, err = run_cli("doors", "lockdown", DOOR, "--reason", "intruder in the lobby")
    assert code == 0, err
    lines = out.strip().split("\n")
    assert lines[0].split() == ["DOOR_ID", "ACTION", "COMMAND_ID", "EXPIRES_AT"]
    assert lines[1].split()[:2] == [DOOR, "lockdown"]
    assert "lockdown: 1" in out and "intruder in the lobby" in out

    status = _json(run_cli("--json", "doors", "status", DOOR))
    assert (status["locked_down"], status["actor"], status["reason"]) == (
        True,
        "admin",
        "intruder in the lobby",
    )
    code, _, err = run_cli("doors", "unlock", DOOR, "--reason", "let the guard in")
    assert code == 1 and "the API answered 409" in err and "locked down" in err

    released = _json(run_cli("--json", "doors", "release", DOOR, "--reason", "lobby cleared"))
    assert released["action"] == "release" and released["released"]["since"] == status["since"]
    out = run_cli("doors", "release", DOOR, "--reason", "once more, to be sure")[1]
    assert "lockdown: none" in out
    assert _json(run_cli("--json", "doors", "status", DOOR))["locked_down"] is False

    sent = _commands(logged_in)
    assert [(c["action"], c["seconds"], c["actor"]) for c in sent] == [
        ("unlock", 9, "admin"),
        ("lockdown", 0, "admin"),
        ("release", 0, "admin"),
        ("release", 0, "admin"),
    ]


def test_refusals_are_the_apis(logged_in: ServedSandbox, run_cli: RunCli) -> None:
    code, _, err = run_cli("doors", "unlock", "side-door", "--reason", "never added")
    assert code == 1 and "404" in err and "make door-add DOOR=side-door" in err
    code, _, err = run_cli("doors", "unlock", DOOR, "--reason", "ok")  # too short
    assert code == 1 and "400" in err and "reason" in err
    code, _, err = run_cli("doors", "unlock", DOOR, "--reason", "courier", "--seconds", "31")
    assert code == 1 and "400" in err and "seconds" in err
    assert _commands(logged_in) == []
