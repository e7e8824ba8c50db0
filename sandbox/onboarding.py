"""The demo's first steps: the staff roster imported and the doors' rules set with the admin
CLI, as an admin types them.

The sandbox's API is served on a free loopback port, an ``admin`` user gets a throwaway
password, and ``python -m facegate_cli login``, ``facegate import``, ``facegate doors|groups|rules``
run as separate processes against it: the same commands the docs give for a deployed stage.
"""

from __future__ import annotations

import csv
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sandbox.stack import PROJECT_DIR, SandboxError, Stack

ADMIN = "demo-admin"
ROSTER_COLUMNS = (
    "employee_id",
    "name",
    "email",
    "department",
    "photos",
    "consent_method",
    "consent_reference",
)
# Two people enrolled; a group photo and a second id for Avery's face are refused. Each signed
# the biometric notice on paper first, as a real site's staff would (the stages require it).
DEMO_ROSTER = (
    (
        "EMP001",
        "Avery Stone",
        "avery.stone@example.com",
        "Facilities",
        "obama.jpg;obama3.jpg",
        "paper",
        "F-0001",
    ),
    ("EMP002", "Jordan Lee", "jordan.lee@example.com", "Security", "biden.jpg", "paper", "F-0002"),
    ("EMP003", "Sam Rivera", "", "Sales", "group.jpg", "paper", "F-0003"),
    ("EMP004", "Avery Stone (again)", "", "Facilities", "obama2.jpg", "paper", "F-0004"),
)
BUILT_IN_RULE = "everyone-everywhere-always"
# Everyone through the front door, only IT (Jordan) into the server room; always, so the demo
# reads the same at any hour. The built-in rule goes last: nobody is shut out meanwhile.
DEMO_ACCESS = (
    ("doors", "set", "front-door", "--name", "Front door", "--camera", "front-door"),
    ("doors", "set", "server-room", "--name", "Server room", "--camera", "server-room-cam"),
    ("groups", "set", "it", "--name", "IT"),
    ("groups", "add-member", "it", "EMP002"),
    ("rules", "set", "everyone-front-door", "--grant", "--door", "front-door", "--group", "*"),
    ("rules", "set", "it-server-room", "--grant", "--door", "server-room", "--group", "it"),
    ("rules", "remove", BUILT_IN_RULE),
)


def write_roster(path: Path, rows: tuple[tuple[str, ...], ...] = DEMO_ROSTER) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(ROSTER_COLUMNS)
        writer.writerows(rows)
    return path


class AdminCli:
    """``python -m facegate_cli …`` as separate processes, logged in to the sandbox's API."""

    def __init__(self, env: dict[str, str]) -> None:
        self._env = env

    def __call__(self, *args: str, stdin: str = "", check: bool = True) -> subprocess.CompletedProcess[str]:
        answer = subprocess.run(
            [sys.executable, "-m", "facegate_cli", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self._env,
            cwd=PROJECT_DIR,
            timeout=300,
        )
        if check and answer.returncode != 0:
            raise SandboxError(f"facegate {args[0]} failed: {answer.stderr.strip() or answer.stdout.strip()}")
        return answer


@contextmanager
def admin_cli(stack: Stack, folder: Path) -> Iterator[AdminCli]:
    """The sandbox's API served on a free port and ``facegate login`` done as a new admin."""
    from sandbox.api_server import LocalApi
    from sandbox.serve import write_state
    from sandbox.tokens import create_user

    api = LocalApi(port=0, quiet=True)
    state_file, token_file = folder / "sandbox.json", folder / "tokens.json"
    try:
        write_state(stack, api, state_file)
        cli = AdminCli(
            {**os.environ, "FACEGATE_SANDBOX_STATE": str(state_file), "FACEGATE_TOKEN_FILE": str(token_file)}
        )
        password = create_user(stack.cognito, stack.names["user_pool_id"], ADMIN, "admins")
        cli("login", "--username", ADMIN, "--password-stdin", stdin=password + "\n")
        yield cli
    finally:
        token_file.unlink(missing_ok=True)
        state_file.unlink(missing_ok=True)
        api.stop()


def import_roster(cli: AdminCli, photos: Path, folder: Path) -> str:
    """Import the demo roster (written into ``folder``); the import's printed summary."""
    roster = write_roster(folder / "roster.csv")
    # A fresh stack each time: an old journal would say everything is already done.
    (folder / "roster.journal.jsonl").unlink(missing_ok=True)
    # One worker: the rows' order decides which of two ids for one face is refused.
    answer = cli("import", str(roster), "--photos", str(photos), "--workers", "1", check=False)
    return answer.stdout + answer.stderr


def configure_access(cli: AdminCli) -> list[str]:
    """The demo's access policy through the CLI: each command as typed, then the rules."""
    typed = []
    for command in DEMO_ACCESS:
        cli(*command)
        typed.append(shlex.join(["facegate", *command]))
    return [*typed, *cli("rules", "list").stdout.splitlines()]
