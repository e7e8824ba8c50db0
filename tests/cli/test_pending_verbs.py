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
