"""``facegate faces pending | approve | reject`` on the sandbox API over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import RunCli, ServedSandbox


def test_waiting_photos_are_listed_approved_and_rejected(
    logged_in: ServedSandbox, run_cli: RunCli, photos: Path
) -> None:
    stack = logged_in.stack
    assert run_cli("employees", "add", "EMP010", "--name", "Ira Tal")[0] == 0
    for name in ("a.jpg", "b.jpg"):
        stack.drop("EMP010", name, (photos / "obama.jpg").read_bytes())
    assert all(event.error is None for event in stack.pump(expected=2))
    code, out, err = run_cli("--json", "faces", "pending")
    assert code == 0, err
    first, second = (face["pending_id"] for face in json.loads(out))
    code, out, err = run_cli("faces", "pending")
    assert code == 0 and out.count("EMP010") == 2 and "existed before this drop" in out, err

    code, out, err = run_cli("--json", "faces", "approve", first)
    assert code == 0 and json.loads(out)["employee_id"] == "EMP010", err
    assert run_cli("faces", "reject", second) == (0, f"rejected pending face {second}\n", "")
    code, out, err = run_cli("faces", "approve", second)
    assert code == 1 and err.startswith("facegate: the API answered 404: ")
    assert json.loads(run_cli("--json", "faces", "pending")[1]) == []


def test_a_look_alike_pair_is_allowed_listed_and_removed(logged_in: ServedSandbox, run_cli: RunCli) -> None:
    for employee_id in ("EMP021", "EMP022"):
        assert run_cli("employees", "add", employee_id, "--name", "A Twin")[0] == 0
    assert run_cli("faces", "allow-pair", "EMP022", "EMP021") == (
        0,
        "allowed look-alike pair EMP021 EMP022\n",
        "",
    )
    code, out, err = run_cli("--json", "faces", "allowed-pairs")
    assert code == 0 and json.loads(out) == [{"employee_ids": ["EMP021", "EMP022"]}], err
    assert run_cli("faces", "remove-pair", "EMP021", "EMP022")[0] == 0
    code, _, err = run_cli("faces", "remove-pair", "EMP021", "EMP022")
    assert code == 1 and err.startswith("facegate: the API answered 404: ")
