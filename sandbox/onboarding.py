"""The demo's first step: the staff roster imported with the admin CLI, as an admin types it.

The sandbox's API is served on a free loopback port, an ``admin`` user gets a throwaway
password, and ``python -m facegate login`` then ``facegate import`` run as separate
processes against it: the same commands the README gives for a deployed stage.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

from sandbox.stack import PROJECT_DIR, SandboxError, Stack

ADMIN = "demo-admin"
ROSTER_COLUMNS = ("employee_id", "name", "email", "department", "photos")
# Two people enrolled; a group photo and a second id for Avery's face are refused.
DEMO_ROSTER = (
    ("EMP001", "Avery Stone", "avery.stone@example.com", "Facilities", "obama.jpg;obama3.jpg"),
    ("EMP002", "Jordan Lee", "jordan.lee@example.com", "Security", "biden.jpg"),
    ("EMP003", "Sam Rivera", "", "Sales", "group.jpg"),
    ("EMP004", "Avery Stone (again)", "", "Facilities", "obama2.jpg"),
)


def write_roster(path: Path, rows: tuple[tuple[str, ...], ...] = DEMO_ROSTER) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(ROSTER_COLUMNS)
        writer.writerows(rows)
    return path


def import_roster(stack: Stack, photos: Path, folder: Path) -> str:
    """Log in with the CLI and import the demo roster; the import's printed summary."""
    from sandbox.api_server import LocalApi
    from sandbox.serve import write_state
    from sandbox.tokens import create_user

    api = LocalApi(port=0, quiet=True)
    state_file, token_file = folder / "sandbox.json", folder / "tokens.json"
    try:
        write_state(stack, api, state_file)
        env = {
            **os.environ,
            "FACEGATE_SANDBOX_STATE": str(state_file),
            "FACEGATE_TOKEN_FILE": str(token_file),
        }
        password = create_user(stack.cognito, stack.names["user_pool_id"], ADMIN, "admins")
        _facegate(env, "login", "--username", ADMIN, "--password-stdin", stdin=password + "\n")
        roster = write_roster(folder / "roster.csv")
        # A fresh stack each time: an old journal would say everything is already done.
        (folder / "roster.journal.jsonl").unlink(missing_ok=True)
        # One worker: the rows' order decides which of two ids for one face is refused.
        answer = _facegate(env, "import", str(roster), "--photos", str(photos), "--workers", "1", check=False)
        return answer.stdout + answer.stderr
    finally:
        token_file.unlink(missing_ok=True)
        state_file.unlink(missing_ok=True)
        api.stop()


def _facegate(
    env: dict[str, str], *args: str, stdin: str = "", check: bool = True
) -> subprocess.CompletedProcess[str]:
    answer = subprocess.run(
        [sys.executable, "-m", "facegate", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_DIR,
        timeout=300,
    )
    if check and answer.returncode != 0:
        raise SandboxError(f"facegate {args[0]} failed: {answer.stderr.strip() or answer.stdout.strip()}")
    return answer
